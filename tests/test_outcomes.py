"""Renewal outcomes recorded (issue #17): by the account page's form, a file and the API, through
one service; scoped to the reseller's own accounts; churns made any way are one path; the data
migration; "outcome missing"; retention read from outcomes."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portal.models import (
    Account, AccountArr, AuditEvent, ChangeLog, ChurnReason, LifecycleStatus, OutcomeKind, RenewalOutcome, ReportSource,
)
from portal.renewals import services
from portal.core.validation import ValidationError
from tests import factories
from tests.readback import latest, reload

TODAY = date(2026, 12, 3)


@pytest.fixture(autouse=True)
def _today(today_is):
    today_is(TODAY)


def outcomes_of(db, account) -> list[RenewalOutcome]:
    return list(latest(db).scalars(select(RenewalOutcome).where(RenewalOutcome.account_id == account.id).order_by(RenewalOutcome.term_end)))


def reason_id(db, code: str) -> int:
    return latest(db).scalar(select(ChurnReason.id).where(ChurnReason.code == code))


# ---- the form on the account page -------------------------------------------------------------

def test_partner_user_records_a_renewal_and_the_account_moves_to_its_next_term(db, browser, tenants):
    account = tenants.account_a  # renewal date 2026-04-01 (past), ARR 1,200,000
    b = browser(tenants.user_a)
    page = b.get(f"/accounts/{account.id}")
    assert "no outcome is recorded" in page.get_data(as_text=True)
    response = b.post(f"/accounts/{account.id}/outcome", {"kind": "renewed", "term_end": "2026-04-01", "decided_on": "",
                                                          "new_renewal_date": "2027-04-01", "arr_jpy": "1500000", "note": "Added seats"})
    assert response.status_code == 302, response.get_data(as_text=True)
    [outcome] = outcomes_of(db, account)
    assert (outcome.kind, outcome.term_end, outcome.decided_on, outcome.new_renewal_date) == (
        OutcomeKind.RENEWED, date(2026, 4, 1), date(2026, 4, 1), date(2027, 4, 1))
    assert (outcome.arr_before_jpy, outcome.arr_after_jpy, outcome.inferred, outcome.recorded_by_id) == (
        1_200_000, 1_500_000, False, tenants.user_a.id)
    assert services.change_label(outcome) == "expanded"
    account = reload(db, account)
    assert (account.renewal_date, account.arr_jpy, account.status) == (date(2027, 4, 1), 1_500_000, LifecycleStatus.ACTIVE)
    # The ARR history has the new ARR (its event), the change log both the account's move and the outcome.
    assert db.scalar(select(AccountArr.arr_jpy).where(AccountArr.account_id == account.id, AccountArr.effective_on == TODAY)) == 1_500_000
    entities = set(db.scalars(select(ChangeLog.entity).where(ChangeLog.account_id == account.id)))
    assert {"account", "outcome"} <= entities
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.target_id == account.id, AuditEvent.action == "account_updated"))
    html = b.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert "Renewal outcomes" in html and "Expanded" in html and "no outcome is recorded" not in html


def test_recording_a_churn_puts_the_account_in_the_churned_state(db, browser, tenants):
    account = tenants.account_a
    b = browser(tenants.admin_a)
    response = b.post(f"/accounts/{account.id}/outcome", {"kind": "churned", "term_end": "2026-04-01", "decided_on": "2026-03-31",
                                                          "reason": "competitor", "note": "Moved to a cheaper tool"})
    assert response.status_code == 302, response.get_data(as_text=True)
    account = reload(db, account)
    assert (account.status, account.churned_on, account.churn_reason) == (LifecycleStatus.CHURNED, date(2026, 3, 31), "Moved to a cheaper tool")
    [outcome] = outcomes_of(db, account)
    assert (outcome.kind, outcome.term_end, outcome.decided_on, outcome.arr_before_jpy, outcome.arr_after_jpy) == (
        OutcomeKind.CHURNED, date(2026, 4, 1), date(2026, 3, 31), 1_200_000, 0)
    assert (outcome.churn_reason_id, outcome.note) == (reason_id(db, "competitor"), "Moved to a cheaper tool")


def test_the_form_names_the_bad_fields(db, browser, tenants):
    account = tenants.account_a
    b = browser(tenants.user_a)
    response = b.post(f"/accounts/{account.id}/outcome", {"kind": "renewed", "term_end": "2026-04-01", "new_renewal_date": "2026-03-01",
                                                          "arr_jpy": "-5"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="new_renewal_date-error"' in html and 'id="arr_jpy-error"' in html
    response = b.post(f"/accounts/{account.id}/outcome", {"kind": "churned", "decided_on": "2027-01-01", "reason": "moon"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="reason-error"' in html and 'id="decided_on-error"' in html
    assert outcomes_of(db, account) == []
    assert reload(db, account).status == LifecycleStatus.ACTIVE


def test_the_form_in_japanese(db, browser, tenants):
    b = browser(tenants.user_a)
    b.get("/language/ja")
    html = b.get(f"/accounts/{tenants.account_a.id}/outcome").get_data(as_text=True)
    assert "更新結果を記録" in html and "競合製品へ移行" in html


def test_a_reseller_cannot_record_for_another_partners_account(db, browser, tenants):
    for user in (tenants.admin_a, tenants.user_a):
        b = browser(user)
        assert b.get(f"/accounts/{tenants.account_b.id}/outcome").status_code == 404
        response = b.post(f"/accounts/{tenants.account_b.id}/outcome", {"kind": "churned", "decided_on": "2026-03-31", "reason": "price"})
        assert response.status_code == 404
    assert outcomes_of(db, tenants.account_b) == []
    assert reload(db, tenants.account_b).status == LifecycleStatus.ACTIVE


def test_vendor_staff_record_for_any_partner(db, browser, tenants):
    b = browser(tenants.partner_manager)
    response = b.post(f"/accounts/{tenants.account_a.id}/outcome", {"kind": "renewed", "new_renewal_date": "2027-04-01", "arr_jpy": "1200000"})
    assert response.status_code == 302
    [outcome] = outcomes_of(db, tenants.account_a)
    assert services.change_label(outcome) == "flat"


def test_one_outcome_per_term(db, tenants):
    account = tenants.account_a
    services.record_outcome(db, account, {"kind": "renewed", "new_renewal_date": "2027-04-01"}, source=ReportSource.FORM)
    db.commit()
    with pytest.raises(ValidationError) as error:
        services.record_outcome(db, account, {"kind": "renewed", "term_end": "2026-04-01", "new_renewal_date": "2028-04-01"},
                                source=ReportSource.FORM)
    assert [e.field for e in error.value.errors] == ["term_end"]


# ---- one churn path -----------------------------------------------------------------------------

def test_churning_by_the_account_form_records_the_churn_outcome_and_taking_it_back_removes_it(db, browser, tenants):
    from tests.test_accounts import form

    account = tenants.account_a
    b = browser(tenants.admin_a)
    values = form(reference=account.reference, name=account.name, segment="low_touch", arr_jpy="1200000",
                  contract_start="2025-04-01", renewal_date="2026-04-01", status="churned", churned_on="2026-04-02",
                  churn_reason="Budget")
    assert b.post(f"/accounts/{account.id}/edit", values).status_code == 302
    [outcome] = outcomes_of(db, account)
    assert (outcome.kind, outcome.term_end, outcome.decided_on, outcome.churn_reason_id, outcome.note) == (
        OutcomeKind.CHURNED, date(2026, 4, 1), date(2026, 4, 2), reason_id(db, "budget"), "Budget")
    values.update(status="active", churned_on="", churn_reason="")
    assert b.post(f"/accounts/{account.id}/edit", values).status_code == 302
    assert outcomes_of(db, account) == []


def test_recorded_churn_closes_the_accounts_alert_items_on_the_nightly_run(db, tenants):
    from portal.actions.resolve import resolve_items
    from portal.models import ActionKind, ActionStatus

    item = factories.action_item(db, tenants.account_a, title="Customer turned red", kind=ActionKind.TURNED_RED)
    services.record_outcome(db, tenants.account_a, {"kind": "churned", "decided_on": "2026-11-30", "reason": "price"},
                            source=ReportSource.FORM)
    db.commit()
    resolve_items(db, TODAY)
    db.commit()
    item = reload(db, item)
    assert item.status == ActionStatus.DONE and "churned on 2026-11-30" in (item.resolution or "")


# ---- the API --------------------------------------------------------------------------------------

def api_post(client, secret, path, body):
    return client.post(f"/api/v1{path}", json=body, headers={"Authorization": f"Bearer {secret}"})


def test_the_api_records_a_renewal_and_lists_it(db, client, tenants):
    response = api_post(client, tenants.secret_a, "/accounts/A-001/outcomes",
                        {"kind": "renewed", "new_renewal_date": "2027-04-01", "arr_jpy": 1_000_000})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["kind"], body["term_end"], body["arr_before_jpy"], body["arr_after_jpy"], body["arr_change"], body["inferred"]) == (
        "renewed", "2026-04-01", 1_200_000, 1_000_000, "contracted", False)
    account = reload(db, tenants.account_a)
    assert (account.renewal_date, account.arr_jpy) == (date(2027, 4, 1), 1_000_000)
    listed = client.get("/api/v1/accounts/A-001/outcomes", headers={"Authorization": f"Bearer {tenants.secret_a}"}).get_json()
    assert [o["id"] for o in listed["items"]] == [body["id"]]
    entry = latest(db).scalar(select(ChangeLog).where(ChangeLog.entity == "outcome"))
    assert (entry.source, entry.api_token_id) == (ReportSource.API, tenants.token_a.id)


def test_the_api_names_each_bad_value_by_its_pointer_and_writes_nothing(db, client, tenants):
    response = api_post(client, tenants.secret_a, "/accounts/A-001/outcomes", {"kind": "churned", "decided_on": "someday", "reason": "moon"})
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.get_json()["errors"]}
    assert pointers == {"/decided_on", "/reason"}
    assert outcomes_of(db, tenants.account_a) == []
    response = api_post(client, tenants.secret_a, "/accounts/A-001/outcomes", {"kind": "maybe"})
    assert response.status_code == 422 and [e["pointer"] for e in response.get_json()["errors"]] == ["/kind"]


def test_the_api_cannot_record_for_another_partners_account(db, client, tenants):
    response = api_post(client, tenants.secret_a, "/accounts/B-001/outcomes", {"kind": "churned", "decided_on": "2026-03-31", "reason": "price"})
    assert response.status_code == 404
    assert outcomes_of(db, tenants.account_b) == [] and reload(db, tenants.account_b).status == LifecycleStatus.ACTIVE


# ---- the file ---------------------------------------------------------------------------------------

def upload(b, text: str, name: str = "outcomes.csv"):
    import io

    return b.post("/import/outcomes", {"file": (io.BytesIO(text.encode("utf-8")), name)}, content_type="multipart/form-data")


def test_a_file_records_renewals_and_churns(db, browser, tenants):
    other = factories.account(db, tenants.partner_a, reference="A-002", renewal_date=date(2026, 6, 30), arr_jpy=800_000)
    b = browser(tenants.user_a)
    assert "A-002" in b.get("/import/outcomes").get_data(as_text=True)  # outcome missing, listed
    response = upload(b, "管理番号,結果（更新/解約）,次回更新日,更新後の年間契約額（円）,更新日または解約日,解約理由,メモ\n"
                         "A-001,更新,2027/04/01,\"1,300,000\",,,\n"
                         "A-002,解約,,,2026/06/30,予算削減,部署ごと廃止\n")
    assert response.status_code == 302, response.get_data(as_text=True)
    [renewed] = outcomes_of(db, tenants.account_a)
    assert (renewed.kind, renewed.new_renewal_date, renewed.arr_after_jpy) == (OutcomeKind.RENEWED, date(2027, 4, 1), 1_300_000)
    [churned] = outcomes_of(db, other)
    assert (churned.kind, churned.churn_reason_id, churned.note, churned.term_end) == (
        OutcomeKind.CHURNED, reason_id(db, "budget"), "部署ごと廃止", date(2026, 6, 30))
    assert reload(db, other).status == LifecycleStatus.CHURNED
    assert {e.source for e in latest(db).scalars(select(ChangeLog).where(ChangeLog.entity == "outcome"))} == {ReportSource.FILE}


def test_a_file_with_an_error_records_nothing_and_names_row_and_column(db, browser, tenants):
    b = browser(tenants.user_a)
    response = upload(b, "Reference,Outcome (renewed/churned),New renewal date,Churn reason\n"
                         "A-001,renewed,2027-04-01,\n"
                         "B-001,churned,,price\n"
                         "A-001,churned,,nonsense\n")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Nothing was recorded" in html
    # Partner B's account is not one of partner A's: not found, not recorded; the repeated row is named.
    assert "No account of yours has this reference." in html and "Row 2 already records an outcome" in html
    assert outcomes_of(db, tenants.account_a) == [] and outcomes_of(db, tenants.account_b) == []
    assert reload(db, tenants.account_a).renewal_date == date(2026, 4, 1)
    response = upload(b, "Reference,Outcome (renewed/churned),Renewed or churned on,Churn reason\nA-001,churned,2026-13-01,moon\n")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<td data-label=\"Column\">Renewed or churned on</td>" in html and "<td data-label=\"Column\">Churn reason</td>" in html
    assert outcomes_of(db, tenants.account_a) == []


def test_a_file_without_the_required_columns_is_refused(db, browser, tenants):
    response = upload(browser(tenants.user_a), "Customer name,Note\nAlpha,hello\n")
    assert response.status_code == 400 and "Required columns are missing" in response.get_data(as_text=True)


# ---- outcome missing --------------------------------------------------------------------------------

def test_the_reseller_home_lists_the_outcomes_missing_with_links(db, browser, tenants):
    future = factories.account(db, tenants.partner_a, reference="A-003", name="Renews Later KK", renewal_date=date(2027, 2, 1))
    html = browser(tenants.user_a).get("/home").get_data(as_text=True)
    assert "Outcome missing" in html and f"/accounts/{tenants.account_a.id}/outcome" in html
    assert f"/accounts/{future.id}/outcome" not in html and "Bravo" not in html
    services.record_outcome(db, tenants.account_a, {"kind": "renewed", "new_renewal_date": "2027-04-01"}, source=ReportSource.FORM)
    db.commit()
    assert services.outcomes_missing(latest(db), TODAY, tenants.partner_a.id, 10) == ([], 0)


# ---- the data migration ---------------------------------------------------------------------------

def test_the_migration_turns_churns_into_outcomes_and_marks_inferred_renewals(fresh_database_factory):
    from sqlalchemy.orm import Session

    from portal.core import migrate
    from portal.core.db import make_engine
    from portal.models import Partner, Segment

    with fresh_database_factory() as url:
        migrate.upgrade(url, "0027")
        engine = make_engine(url)
        try:
            with Session(engine) as session:  # a plain session: no ARR event, the rows as old data had them
                partner = Partner(name="Old Data KK", code="OLD")
                kw = dict(partner=partner, segment=Segment.LOW_TOUCH, seats=10)
                churned = Account(reference="C", name="Churned", arr_jpy=900_000, contract_start=date(2024, 4, 1),
                                  renewal_date=date(2026, 4, 1), status=LifecycleStatus.CHURNED, churned_on=date(2026, 3, 20),
                                  churn_reason="予算削減", **kw)
                vague = Account(reference="V", name="Vague", arr_jpy=500_000, contract_start=date(2024, 4, 1), renewal_date=None,
                                status=LifecycleStatus.CHURNED, churned_on=date(2025, 9, 1), churn_reason="They left", **kw)
                renewed = Account(reference="R", name="Renewed", arr_jpy=1_500_000, contract_start=date(2024, 5, 1),
                                  renewal_date=date(2027, 5, 1), status=LifecycleStatus.ACTIVE, **kw)
                first_term = Account(reference="F", name="First term", arr_jpy=700_000, contract_start=date(2026, 2, 1),
                                     renewal_date=date(2027, 2, 15), status=LifecycleStatus.ACTIVE, **kw)
                session.add_all([churned, vague, renewed, first_term])
                session.flush()
                session.add_all([AccountArr(account_id=renewed.id, effective_on=date(2024, 5, 1), arr_jpy=1_000_000),
                                 AccountArr(account_id=renewed.id, effective_on=date(2026, 6, 1), arr_jpy=1_500_000)])
                session.commit()
                ids = {a.reference: a.id for a in (churned, vague, renewed, first_term)}
            migrate.upgrade(url)
            with Session(engine) as session:
                rows = {r.account_id: r for r in session.scalars(select(RenewalOutcome))}
                reasons = {r.id: r.code for r in session.scalars(select(ChurnReason))}
        finally:
            engine.dispose()
    assert set(reasons.values()) == {"price", "product_fit", "competitor", "closed_merged", "budget", "onboarding", "other"}
    c, v, r = rows[ids["C"]], rows[ids["V"]], rows[ids["R"]]
    assert ids["F"] not in rows  # its first term has not ended: nothing to infer
    assert (c.kind, c.term_end, c.decided_on, c.arr_before_jpy, c.arr_after_jpy, reasons[c.churn_reason_id], c.note, c.inferred) == (
        OutcomeKind.CHURNED, date(2026, 4, 1), date(2026, 3, 20), 900_000, 0, "budget", "予算削減", False)
    assert (v.term_end, reasons[v.churn_reason_id], v.note) == (date(2025, 9, 1), "other", "They left")
    assert (r.kind, r.term_end, r.new_renewal_date, r.arr_before_jpy, r.arr_after_jpy, r.inferred) == (
        OutcomeKind.RENEWED, date(2026, 5, 1), date(2027, 5, 1), 1_000_000, 1_500_000, True)


# ---- retention and compliance from outcomes ---------------------------------------------------------

def scorecard(db, partner):
    from portal.models import PartnerScorecard
    from portal.scoring.aggregation import aggregate

    assert aggregate(db, TODAY, force=True).status == "done"
    return latest(db).scalar(select(PartnerScorecard).where(PartnerScorecard.day == TODAY, PartnerScorecard.partner_id == partner.id))


def test_grr_nrr_and_renewal_rate_come_from_the_recorded_outcomes(db, tenants):
    gone = factories.account(db, tenants.partner_a, reference="A-002", arr_jpy=800_000, renewal_date=date(2026, 6, 1))
    shrunk = factories.account(db, tenants.partner_a, reference="A-003", arr_jpy=1_000_000, renewal_date=date(2026, 9, 1))
    factories.account(db, tenants.partner_a, reference="A-004", arr_jpy=5_000_000, renewal_date=date(2026, 10, 1))  # missing: no guess
    for account, values in ((tenants.account_a, {"kind": "renewed", "new_renewal_date": "2027-04-01", "arr_jpy": "1500000"}),
                            (gone, {"kind": "churned", "decided_on": "2026-05-20", "reason": "price"}),
                            (shrunk, {"kind": "renewed", "new_renewal_date": "2027-09-01", "arr_jpy": "600000"})):
        services.record_outcome(db, account, values, source=ReportSource.FORM)
    db.commit()
    card = scorecard(db, tenants.partner_a)
    # ARR before 1.2M + 0.8M + 1.0M = 3.0M; kept 1.2M + 0 + 0.6M = 1.8M; after 1.5M + 0 + 0.6M = 2.1M.
    assert (card.grr_pct, card.nrr_pct) == (pytest.approx(60.0), pytest.approx(70.0))
    assert (card.renewal_rate_pct, card.churned_arr_jpy) == (pytest.approx(200 / 3), 800_000)
    b_card = scorecard(db, tenants.partner_b)  # partner B recorded nothing: "not enough data", not 100 %
    assert (b_card.grr_pct, b_card.nrr_pct, b_card.renewal_rate_pct) == (None, None, None)


def test_an_outcome_missing_counts_against_reporting_compliance_until_recorded(db, tenants):
    from portal.scoring.figures import reporting_compliance

    def parts():
        cte = reporting_compliance(latest(db), TODAY)
        return latest(db).execute(select(cte.c.on_time, cte.c.owed).where(cte.c.partner_id == tenants.partner_a.id)).one()

    on_time, owed = parts()
    services.record_outcome(db, tenants.account_a, {"kind": "renewed", "new_renewal_date": "2027-04-01"}, source=ReportSource.FORM)
    db.commit()
    assert parts() == (on_time + 1, owed)  # the same term owed, now recorded


def test_the_cli_records_an_outcome_through_the_same_service(db, runner, tenants):
    result = runner.invoke(args=["outcome", "record", "--partner", "alpha", "--reference", "A-001", "--kind", "churned",
                                 "--on", "2026-03-31", "--reason", "closed_merged", "--note", "Acquired"])
    assert result.exit_code == 0, result.output
    [outcome] = outcomes_of(db, tenants.account_a)
    assert (outcome.kind, outcome.churn_reason_id, outcome.note) == (OutcomeKind.CHURNED, reason_id(db, "closed_merged"), "Acquired")
    result = runner.invoke(args=["outcome", "record", "--partner", "BRAVO", "--reference", "B-001", "--kind", "renewed"])
    assert result.exit_code != 0 and "--new-renewal-date: is required" in result.output


def test_recording_an_earlier_term_late_leaves_the_account_on_its_current_term(db, tenants):
    account = tenants.account_a  # renews 2026-04-01 at 1,200,000
    services.record_outcome(db, account, {"kind": "renewed", "term_end": "2025-04-01", "new_renewal_date": "2026-04-01",
                                          "arr_jpy": "1000000"}, source=ReportSource.FORM)
    db.commit()
    account = reload(db, account)
    assert (account.renewal_date, account.arr_jpy) == (date(2026, 4, 1), 1_200_000)
    [outcome] = outcomes_of(db, account)
    assert (outcome.term_end, outcome.arr_after_jpy) == (date(2025, 4, 1), 1_000_000)


def test_the_vendor_keeps_the_churn_reason_list_from_the_cli(db, runner, browser, tenants):
    result = runner.invoke(args=["outcome", "reason", "security_review", "--en", "Failed a security review", "--ja", "セキュリティ審査で不合格"])
    assert result.exit_code == 0, result.output
    page = browser(tenants.user_a).get(f"/accounts/{tenants.account_a.id}/outcome").get_data(as_text=True)
    assert 'value="security_review"' in page and "Failed a security review" in page  # offered on the form
    assert "security_review" in runner.invoke(args=["outcome", "reasons"]).output

    # A reason recorded, then retired: no longer offered or accepted, the recorded outcome keeps it.
    services.record_outcome(db, tenants.account_a, {"kind": "churned", "decided_on": "2026-03-31", "reason": "security_review"},
                            source=ReportSource.FORM)
    db.commit()
    assert runner.invoke(args=["outcome", "reason", "security_review", "--retire"]).exit_code == 0
    assert 'value="security_review"' not in browser(tenants.user_b).get(f"/accounts/{tenants.account_b.id}/outcome").get_data(as_text=True)
    with pytest.raises(ValidationError) as refused:
        services.record_outcome(db, tenants.account_b, {"kind": "churned", "decided_on": "2026-03-31", "reason": "security_review"},
                                source=ReportSource.FORM)
    assert [e.field for e in refused.value.errors] == ["reason"]
    db.rollback()
    assert outcomes_of(db, tenants.account_a)[0].churn_reason_id == reason_id(db, "security_review")

    # A new reason needs both labels; a code is a short slug.
    result = runner.invoke(args=["outcome", "reason", "vague"])
    assert result.exit_code != 0 and "label-en: is required for a new reason" in result.output
    result = runner.invoke(args=["outcome", "reason", "Bad Code!", "--en", "x", "--ja", "x"])
    assert result.exit_code != 0 and "code: must be 2-40 lower-case letters" in result.output


def test_the_vendor_admin_keeps_the_churn_reason_list_on_its_page(db, browser, tenants):
    from tests.pages import parse

    b = browser(tenants.vendor_admin)
    assert "Churn reasons" in b.get("/rules").get_data(as_text=True)  # found from the Reporting rules page
    added = b.post("/rules/churn-reasons/new", {"code": "security_review", "label_en": "Failed a security review",
                                                 "label_ja": "セキュリティ審査で不合格", "position": "", "active": "y"})
    assert added.status_code == 302, added.get_data(as_text=True)
    reason = latest(db).scalar(select(ChurnReason).where(ChurnReason.code == "security_review"))
    assert reason.active and reason.position > 0  # listed last
    listing = b.get("/rules/churn-reasons").get_data(as_text=True)
    assert "Failed a security review" in listing and "セキュリティ審査で不合格" in listing
    edit = f'href="/rules/churn-reasons/{reason.id}">'
    assert edit + "Failed a security review<" in listing and edit + "セキュリティ審査" not in listing
    tenants.vendor_admin.language = "ja"
    db.commit()
    assert edit + "セキュリティ審査で不合格<" in b.get("/rules/churn-reasons").get_data(as_text=True)  # the reader's own label links
    tenants.vendor_admin.language = "en"
    db.commit()
    assert 'value="security_review"' in browser(tenants.user_a).get(f"/accounts/{tenants.account_a.id}/outcome").get_data(as_text=True)

    # "Add" never changes an existing reason; the field says why, and nothing is written.
    taken = parse(b.post("/rules/churn-reasons/new", {"code": "security_review", "label_en": "Other", "label_ja": "他"}))
    assert "already used" in taken.errors["code"]
    assert latest(db).scalar(select(ChurnReason.label_en).where(ChurnReason.id == reason.id)) == "Failed a security review"
    blank = parse(b.post(f"/rules/churn-reasons/{reason.id}", {"label_en": "x", "label_ja": "x", "position": "-3", "active": "y"}))
    assert "0 to 9999" in blank.errors["position"]

    # Retired from the page: no longer offered; the audit log says who changed what.
    retired = b.post(f"/rules/churn-reasons/{reason.id}", {"label_en": "Security review failed", "label_ja": "セキュリティ審査で不合格",
                                                          "position": "5"})
    assert retired.status_code == 302
    reason = reload(db, reason)
    assert (reason.label_en, reason.position, reason.active) == ("Security review failed", 5, False)
    assert 'value="security_review"' not in browser(tenants.user_a).get(f"/accounts/{tenants.account_a.id}/outcome").get_data(as_text=True)
    events = latest(db).scalars(select(AuditEvent).where(AuditEvent.action == "churn_reason_saved", AuditEvent.target_id == reason.id)
                                .order_by(AuditEvent.id)).all()
    assert [e.actor_id for e in events] == [tenants.vendor_admin.id] * 2
    assert '"offered": [true, false]' in events[1].detail and '"label_en": ["Failed a security review", "Security review failed"]' in events[1].detail


def test_a_file_records_as_many_outcomes_in_as_many_statements_for_many_rows_as_for_few(app, db, tenants):
    from portal.reporting.imports import read_file
    from portal.renewals.imports import import_outcomes
    from tests.test_review_pages import counted

    statements_for = []
    for n in (4, 40):
        accounts = [factories.account(db, tenants.partner_a, renewal_date=date(2026, 3, 1), arr_jpy=500_000) for _ in range(n)]
        db.commit()
        lines = ["Reference,Outcome (renewed/churned),New renewal date,New ARR (yen),Renewed or churned on,Churn reason"]
        lines += [f"{a.reference},renewed,2027-03-01,600000,," if i % 2 else f"{a.reference},churned,,,2026-03-01,price"
                  for i, a in enumerate(accounts)]
        sheet = read_file("\n".join(lines).encode("utf-8"), "outcomes.csv")
        db.refresh(tenants.user_a)  # loaded, as a signed-in request has it
        with counted(app) as statements:
            result = import_outcomes(db, tenants.partner_a, sheet, tenants.user_a)
        db.commit()
        assert result.ok and result.recorded == n, result.errors[:3]
        statements_for.append(len(statements))
        for i, account in enumerate(accounts):  # each written as the form writes one, with its change log
            [outcome] = outcomes_of(db, account)
            account = reload(db, account)
            if i % 2:
                assert (outcome.kind, outcome.arr_before_jpy, outcome.arr_after_jpy) == (OutcomeKind.RENEWED, 500_000, 600_000)
                assert (account.renewal_date, account.arr_jpy) == (date(2027, 3, 1), 600_000)
            else:
                assert (outcome.kind, outcome.churn_reason_id) == (OutcomeKind.CHURNED, reason_id(db, "price"))
                assert account.status == LifecycleStatus.CHURNED
            assert latest(db).scalar(select(ChangeLog).where(ChangeLog.entity == "outcome", ChangeLog.entity_id == outcome.id)) is not None
    assert statements_for[0] == statements_for[1]
