"""Signals as resellers have them: CSAT as a survey average, NPS as an answer or a score, feature
adoption in levels or percentages, support load per 100 seats. Each through the form, the file
and the API (one service path), the component arithmetic, the reasons, and the database rules."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.core.validation import Checks
from portal.models import CheckIn, CheckInFeature, Feature, HealthModel
from portal.scoring.health import ModelSpec, SupportThresholds, current_model
from tests import factories
from tests.pages import parse
from tests.readback import latest
from tests.reporting_forms import CLOSED_QUARTER, TODAY, check_in_form
from tests.test_health import customer, key_features, only, reasons_of, report, score
from tests.test_imports import commit, csv_file, preview, row

API = "/api/v1"


@pytest.fixture
def partner(db):
    return factories.partner(db)


def checked(values: dict, *args):
    c = Checks()
    value = c.decimal(values, "csat", *args)
    return value, [e.field for e in c.errors]


@pytest.mark.parametrize("raw, expected", [
    ("4.2", 4.2), ("４．２", 4.2), (4.2, 4.2), (4, 4.0), ("5", 5.0), (" 1.0 ", 1.0),
    ("4.25", 4.3), ("4.24", 4.2),  # one decimal kept, rounded half up
    ("", None), (None, None),
])
def test_a_decimal_reads_what_a_survey_average_looks_like(raw, expected):
    assert checked({"csat": raw}, 1, 5, 1) == (expected, [])


@pytest.mark.parametrize("raw", ["0.9", "5.1", "four", "4,2", "1e1", True, float("nan"), 10**40, "4.2.1", [4]])
def test_a_decimal_out_of_range_or_unreadable_names_the_field(raw):
    assert checked({"csat": raw}, 1, 5, 1) == (None, ["csat"])


# --- one service path: form, file, API --------------------------------------------------------


def latest_check_in(db, account, period_start: date = date(2026, 7, 1)) -> CheckIn:
    return latest(db).scalars(select(CheckIn).where(CheckIn.account_id == account.id, CheckIn.period_start == period_start)
                              .order_by(CheckIn.version.desc())).first()


def adoption(check_in: CheckIn) -> dict[str, int]:
    return {a.feature.key: a.adoption_pct for a in check_in.feature_adoptions}


def test_the_form_takes_a_decimal_csat_an_nps_score_and_adoption_levels(db, browser, tenants, today_is):
    today_is(TODAY)  # the form's closed quarter is a fixed one
    account = tenants.account_a
    b = browser(tenants.user_a)
    url = f"/accounts/{account.id}/check-in"
    data = check_in_form(nps="", nps_score="-20", csat="４．２", feature_workflow="trial", feature_reports="partly",
                         feature_mobile="not_used")
    assert b.post(url, data).status_code == 302
    saved = latest_check_in(db, account)
    assert (saved.nps, saved.nps_score, saved.csat) == (None, -20, 4.2)
    assert adoption(saved) == {"workflow": 25, "reports": 50, "mobile": 0}

    page = parse(b.get(f"{url}?period={CLOSED_QUARTER}"))
    assert (page.value("csat"), page.value("nps_score"), page.value("feature_workflow"), page.value("feature_mobile"),
            page.value("feature_sso")) == ("4.2", "-20", "trial", "not_used", None)  # none selected: "Not reported"
    detail = b.get(f"/check-ins/{saved.id}").get_data(as_text=True)
    assert "Workflow automation: Trial, Reports and dashboards: Partly used, Mobile app: Not used" in detail
    assert "score −20" in detail and "4.2" in detail


def test_the_form_refuses_both_nps_kinds_next_to_the_score_field(db, browser, tenants, today_is):
    today_is(TODAY)
    b = browser(tenants.user_a)
    response = b.post(f"/accounts/{tenants.account_a.id}/check-in", check_in_form(nps="9", nps_score="40"))
    assert response.status_code == 400
    assert "not both" in parse(response).errors["nps_score"]
    assert latest(db).scalar(select(CheckIn.id).where(CheckIn.account_id == tenants.account_a.id,
                                                      CheckIn.period_start == date(2026, 7, 1))) is None


def test_the_file_takes_levels_in_english_and_japanese_yes_no_and_percentages(db, browser, tenants):
    b = browser(tenants.user_a)
    headers = {"NPS": "", "NPSスコア（-100〜100）": "35", "CSAT": "3.6", "feature: Workflow automation": "一部",
               "feature: Reports and dashboards": "80%", "機能: モバイルアプリ": "試用", "feature: Integrations": "no",
               "feature: Single sign-on": "fully"}
    page = preview(b, csv_file(row(headers)))
    assert page.errors == [] and page.can_commit
    commit(b, page)
    saved = latest_check_in(db, tenants.account_a)
    assert (saved.nps, saved.nps_score, saved.csat) == (None, 35, 3.6)
    assert adoption(saved) == {"workflow": 50, "reports": 80, "mobile": 25, "integrations": 0, "sso": 100}


def test_the_file_names_row_and_column_of_a_bad_level_or_both_nps_kinds(db, browser, tenants):
    b = browser(tenants.user_a)
    page = preview(b, csv_file(row({"NPS score": "-30", "feature: Workflow automation": "sometimes", "CSAT": "4.2"})))
    problems = {(r, column): problem for r, column, problem, _value in page.errors}
    assert "not both" in problems[(2, "NPS score")]
    assert "must be a level" in problems[(2, "feature: Workflow automation")]
    assert not page.can_commit  # the row also gives the NPS answer (9): two NPS kinds


def api_post(client, tenants, body: dict):
    return client.post(f"{API}/accounts/A-001/check-ins", json=body, headers={"Authorization": f"Bearer {tenants.secret_a}"})


def test_the_api_takes_features_as_levels_or_percentages_and_feature_keys_as_fully(db, client, tenants):
    body = {"period": "2026-04", "sentiment": "green", "csat": 4.2, "nps_score": 30,
            "features": {"workflow": "trial", "reports": 80, "mobile": "not_used"}}
    response = api_post(client, tenants, body)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert (answer["csat"], answer["nps"], answer["nps_score"]) == (4.2, None, 30)
    assert answer["features"] == {"workflow": 25, "reports": 80, "mobile": 0}
    assert answer["feature_keys"] == ["workflow", "reports"]

    again = api_post(client, tenants, body | {"features": None, "feature_keys": ["sso"]}).get_json()
    assert (again["outcome"], again["features"], again["changed_fields"]) == ("corrected", {"sso": 100}, ["features"])


@pytest.mark.parametrize("change, pointer", [
    ({"nps": 9, "nps_score": 30}, "/nps_score"),
    ({"csat": 5.5}, "/csat"),
    ({"csat": "four"}, "/csat"),
    ({"features": {"workflow": "sometimes"}}, "/features/workflow"),
    ({"features": {"workflow": 120}}, "/features/workflow"),
    ({"features": {"nosuch": "fully"}}, "/features"),
    ({"features": ["workflow"]}, "/features"),
    ({"features": {"workflow": "fully"}, "feature_keys": ["reports"]}, "/feature_keys"),
])
def test_the_api_points_at_the_bad_signal(db, client, tenants, change, pointer):
    response = api_post(client, tenants, {"period": "2026-04", "sentiment": "green"} | change)
    assert response.status_code == 422
    assert pointer in [e["pointer"] for e in response.get_json()["errors"]]


# --- the components --------------------------------------------------------------------------


@pytest.mark.parametrize("fields, satisfaction", [
    ({"nps_score": -100}, 0), ({"nps_score": 0}, 50), ({"nps_score": 40}, 70), ({"nps_score": 100}, 100),
    ({"nps": 7}, 70),                      # the 0-10 answer maps the same way: 7 * 10
    ({"csat": 4.2}, 80),                   # (4.2 - 1) * 25
    ({"csat": 2.4, "nps_score": 20}, 48),  # mean of 35 and 60 = 47.5, rounded half up
])
def test_satisfaction_maps_either_nps_and_a_decimal_csat_to_0_100(db, partner, fields, satisfaction):
    account = customer(db, partner)
    report(db, account, **fields)
    assert score(db, account).satisfaction == satisfaction


def test_the_database_takes_one_nps_kind_only(db, partner):
    account = customer(db, partner)
    with pytest.raises(IntegrityError):
        report(db, account, nps=9, nps_score=40)
    db.rollback()
    with pytest.raises(IntegrityError):
        report(db, account, nps_score=101)
    db.rollback()


@pytest.mark.parametrize("seats, tickets, escalations, support", [
    (400, 20, 0, 100),   # 5 per 100 seats: free
    (400, 50, 0, 50),    # 12.5 per 100: 100 - 100 * 7.5/15
    (400, 80, 0, 0),     # 20 per 100: no marks
    (40, 8, 0, 0),       # the same 20 per 100 for a small customer
    (400, 0, 2, 80),     # 0.5 escalations per 100: 100 - 100 * 0.5/2.5
    (0, 6, 0, 93),       # no seats: the counts themselves, 100 - 100 * 1/15
])
def test_support_load_is_per_100_seats(db, partner, seats, tickets, escalations, support):
    account = customer(db, partner, seats=seats)
    report(db, account, open_tickets=tickets, open_escalations=escalations)
    assert score(db, account, model=only(effort=1)).effort == support


def test_support_thresholds_are_the_vendors(db, partner):
    account = customer(db, partner, seats=200)
    report(db, account, open_tickets=20)  # 10 per 100 seats
    strict = ModelSpec(version=99, weights=only(effort=1).weights, support=SupportThresholds(2, 12, 0, 1))
    assert score(db, account, model=only(effort=1)).effort == 67   # 100 - 100 * 5/15
    assert score(db, account, model=strict).effort == 20           # 100 - 100 * 8/10


def test_adoption_counts_without_active_users(db, partner):
    account = customer(db, partner)
    features = key_features(db, 3)
    report(db, account, adoption={features[0]: 100, features[1]: 50, features[2]: 25})
    row_ = score(db, account)
    assert (row_.usage, row_.feature_adoption_pct, row_.features_used) == (35, 35.0, 3)  # (100 + 50 + 25) / 5 features


def test_with_active_users_adoption_levels_weigh_in(db, partner):
    account = customer(db, partner, seats=100)
    features = key_features(db, 2)
    report(db, account, active_users=50, adoption={features[0]: 100, features[1]: 25})
    assert score(db, account).usage == 43  # 70 * 0.5 + 30 * (125 / 500) = 35 + 7.5 = 42.5, rounded half up


# --- reasons ---------------------------------------------------------------------------------


def test_reasons_name_the_decimal_csat_the_nps_score_adoption_and_support_load(app, db, partner):
    account = customer(db, partner, seats=200)
    features = key_features(db, 2)
    report(db, account, csat=2.4, nps_score=-40, open_tickets=25, adoption={features[0]: 25, features[1]: 50})
    shown = reasons_of(app, score(db, account))
    assert "CSAT 2.4 of 5" in shown
    assert "NPS score −40" in shown
    assert "Key features 15% adopted (2 of 5 in use)" in shown
    assert "Support load per 100 seats: 12.5 open tickets, 0.0 escalations" in shown


def test_without_seats_the_reasons_say_support_is_judged_on_counts(app, db, partner):
    account = customer(db, partner, seats=0)
    report(db, account, open_tickets=7)
    assert "Support load judged on absolute counts (no seats known): 7 open tickets" in reasons_of(app, score(db, account))


# --- the vendor admin's page -------------------------------------------------------------------


def test_the_vendor_admin_sets_support_thresholds(db, browser, tenants):
    admin = browser(tenants.vendor_admin)
    form = parse(admin.get("/health-model"))
    assert (form.value("tickets_ok"), form.value("tickets_bad")) == ("5.0", "20.0")
    data = {name: values[0] for name, values in form.values.items() if values}
    data.update(tickets_ok="3", tickets_bad="12", escalations_ok="0", escalations_bad="1.5", action="save")
    assert admin.post("/health-model", data=data).status_code == 302
    saved = current_model(latest(db))
    assert saved.support == SupportThresholds(3, 12, 0, 1.5)

    data.update(tickets_ok="12", tickets_bad="12")
    response = admin.post("/health-model", data=data)
    assert response.status_code == 400
    assert "must be above its full-marks value" in response.get_data(as_text=True)
    assert latest(db).scalars(select(HealthModel)).all()[-1].tickets_per_100_bad == 12


def test_old_feature_rows_read_as_fully_used(db, partner):
    """Rows written before levels have the column's default: in use meant fully."""
    account = customer(db, partner)
    check_in = report(db, account)
    feature = db.scalar(select(Feature).where(Feature.key == "workflow"))
    db.execute(CheckInFeature.__table__.insert().values(check_in_id=check_in.id, feature_id=feature.id))
    db.commit()
    assert latest(db).scalar(select(CheckInFeature.adoption_pct)) == 100


def test_the_migration_keeps_reports_across_down_and_up(fresh_database_factory):
    """Down to 0015 (before the signals) and up again: a CSAT survives as a number, an NPS score becomes the nearest
    answer, and a feature in use comes back fully adopted (the column's default)."""
    from sqlalchemy.orm import Session

    from portal.core import migrate
    from portal.core.db import make_engine
    from portal.reporting.reference_data import ensure_defaults

    with fresh_database_factory() as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                ensure_defaults(session)
                account = factories.account(session, factories.partner(session))
                workflow = session.scalar(select(Feature).where(Feature.key == "workflow"))
                ids = [factories.check_in(session, account, period_start=date(2026, 7, 1), csat=4.0, nps_score=40,
                                          adoption={workflow: 50}).id,
                       factories.check_in(session, account, period_start=date(2026, 4, 1), csat=3.6).id]
            migrate.downgrade(url, "0015")
            migrate.upgrade(url)
            with Session(engine) as session:
                july, april = (session.get(CheckIn, i) for i in ids)
                assert (july.csat, july.nps, july.nps_score, adoption(july)) == (4.0, 7, None, {"workflow": 100})
                assert april.csat == 4.0  # a whole number before 0016
        finally:
            engine.dispose()


def test_the_scorecard_nps_counts_answers_and_survey_scores_alike(db, partner, today_is):
    """One promoter (+100), one detractor (-100) and a survey's NPS score of +40: the mean, +13.3,
    not the +0 of the two answers alone, which left the survey out."""
    from portal.models import PartnerScorecard
    from portal.scoring.aggregation import aggregate
    from tests.test_health import DAY

    today_is(DAY)
    for fields in ({"nps": 9}, {"nps": 3}, {"nps_score": 40}):
        report(db, customer(db, partner), sentiment="green", **fields)
    assert aggregate(db, DAY).status == "done"
    card = latest(db).scalar(select(PartnerScorecard).where(PartnerScorecard.day == DAY, PartnerScorecard.partner_id == partner.id))
    assert card.nps == pytest.approx(40 / 3)
