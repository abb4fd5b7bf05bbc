"""The health model: each component worked out by hand from the formula, weights per phase,
missing data left out, stale reports counted half, the cap at yellow, as-of reading of
reports and milestones, model versions, the preview, and the vendor admin's page."""
from __future__ import annotations

import re
from html import unescape
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from portal.scoring.aggregation import aggregate
from portal.scoring.health import DEFAULT_WEIGHTS, ModelSpec, current_model, preview, reasons, save_model, score_select
from portal.models import (
    AccountScore, Feature, HealthModel, LifecycleStatus, MilestoneStatus, MilestoneTemplate, PartnerScorecard, ReportingCadence, Role,
    Segment, Sentiment,
)
from tests import factories
from tests.pages import parse
from tests.readback import latest

DAY = date(2026, 11, 20)


def ago(days: int, hour: int = 9) -> datetime:
    return datetime.combine(DAY - timedelta(days=days), datetime.min.time()).replace(hour=hour)


FRESH = ago(15)  # within every segment's cadence


@pytest.fixture
def partner(db):
    return factories.partner(db)


def customer(db, partner, **kw):
    """An adopted high-touch account: monthly reports, 1 * 30 + 10 grace = 40 days before one is stale."""
    kw.setdefault("segment", Segment.HIGH_TOUCH)
    kw.setdefault("seats", 100)
    kw.setdefault("contract_start", date(2025, 1, 1))
    kw.setdefault("status", LifecycleStatus.ACTIVE)
    return factories.account(db, partner, **kw)


def report(db, account, submitted_at: datetime = FRESH, **kw):
    """A check-in submitted at `submitted_at`, for the month before it unless the period is given."""
    month_before = (submitted_at.date().replace(day=1) - timedelta(days=1)).replace(day=1)
    kw.setdefault("period_start", month_before)
    return factories.check_in(db, account, submitted_at=submitted_at, **kw)


def key_features(db, n: int) -> list[Feature]:
    return list(db.scalars(select(Feature).order_by(Feature.position).limit(n)))


def scores(db, day: date = DAY, model: ModelSpec | None = None) -> dict:
    """Every scored account's row for the day, by account id."""
    return {r.account_id: r for r in latest(db).execute(score_select(db, day, model or current_model(db)))}


def score(db, account, day: date = DAY, model: ModelSpec | None = None):
    return scores(db, day, model)[account.id]


def reasons_of(app, row) -> list[str]:
    with app.test_request_context():
        return reasons(row)


def only(green_min: int = 70, yellow_min: int = 45, **weights) -> ModelSpec:
    """A model with the same weights in both phases (the ones not named are zero)."""
    return ModelSpec(version=99, weights={"onboarding": weights, "adoption": weights}, green_min=green_min, yellow_min=yellow_min)


# --- components, one at a time ----------------------------------------------------------------


@pytest.mark.parametrize("seats, active_users, features_used, usage", [
    (100, 50, 2, 47),       # 70 * 50/100 + 30 * 2/5 = 35 + 12
    (100, 100, 5, 100),
    (100, 150, 0, 70),      # more active users than seats counts as every seat: 70 * 1 + 30 * 0
    (100, 0, 5, 30),
    (100, None, 3, 60),     # no active-user figure: adoption alone, 100 * 3/5
    (0, 10, 2, 40),         # no seats to measure activity against: adoption alone
    (100, None, 0, None),   # neither active users nor any feature reported: no usage component
])
def test_usage_is_seat_activity_and_key_feature_adoption(db, partner, seats, active_users, features_used, usage):
    account = customer(db, partner, seats=seats)
    report(db, account, active_users=active_users, features=key_features(db, features_used))
    row = score(db, account)
    assert row.usage == usage
    assert (row.features_used, row.features_total) == (features_used, 5)


def test_usage_is_seat_activity_alone_when_no_key_feature_is_active(db, partner):
    account = customer(db, partner)
    report(db, account, active_users=45, features=key_features(db, 2))
    db.execute(update(Feature).values(active=False))
    db.commit()
    assert score(db, account).usage == 45  # 100 * 45/100


def test_a_feature_switched_off_later_does_not_push_usage_over_100(db, partner):
    account = customer(db, partner)
    report(db, account, active_users=50, features=key_features(db, 5))
    db.execute(update(Feature).where(Feature.key == "sso").values(active=False))
    db.commit()
    row = score(db, account)
    assert (row.features_used, row.features_total) == (4, 4)
    assert row.usage == 65  # 70 * 0.5 + 30 * 4/4


@pytest.mark.parametrize("nps, csat, satisfaction", [
    (3, None, 30),      # NPS * 10
    (None, 4, 75),      # (CSAT - 1) * 25
    (10, 5, 100),
    (0, 1, 0),
    (3, 4, 53),         # (30 + 75) / 2 = 52.5, rounded half up on both databases
    (None, None, None),
])
def test_satisfaction_is_the_mean_of_nps_and_csat_given(db, partner, nps, csat, satisfaction):
    account = customer(db, partner)
    report(db, account, nps=nps, csat=csat)
    assert score(db, account).satisfaction == satisfaction


@pytest.mark.parametrize("ces, escalations, tickets, effort", [
    # 100 seats, so counts are the load per 100 seats; defaults: tickets 5 -> 20, escalations 0 -> 2.5
    (7, 1, 0, 30),      # CES: (7 - 7) * 100/6 = 0; support: 100 - 100 * 1/2.5 = 60; mean 30
    (1, 0, 0, 100),
    (4, 0, 6, 72),      # CES: 3 * 100/6 = 50; support: 100 - 100 * (6 - 5)/15 = 93.3; mean 71.7
    (None, 0, 5, 100),  # up to five tickets per 100 seats are free
    (None, 1, 4, 60),   # 100 - 40
    (None, 3, 0, 0),    # 100 - 120, floored at 0
])
def test_effort_combines_ces_with_open_escalations_and_tickets(db, partner, ces, escalations, tickets, effort):
    account = customer(db, partner)
    report(db, account, ces=ces, open_escalations=escalations, open_tickets=tickets)
    assert score(db, account).effort == effort


@pytest.mark.parametrize("sentiment, points", [(Sentiment.GREEN, 100), (Sentiment.YELLOW, 50), (Sentiment.RED, 0)])
def test_reseller_sentiment_points(db, partner, sentiment, points):
    account = customer(db, partner)
    report(db, account, sentiment=sentiment)
    assert score(db, account).sentiment_score == points


@pytest.mark.parametrize("progress", [0, 40, 100, None])
def test_outcome_is_the_reported_progress(db, partner, progress):
    account = customer(db, partner)
    report(db, account, outcome_progress=progress)
    assert score(db, account).outcome == progress


@pytest.mark.parametrize("segment, days_old, freshness, stale", [
    (Segment.HIGH_TOUCH, 15, 100, False),
    (Segment.HIGH_TOUCH, 40, 100, False),   # monthly: 30 + 10 grace days
    (Segment.HIGH_TOUCH, 50, 75, True),     # 100 - 100 * (50 - 40) / 40
    (Segment.HIGH_TOUCH, 60, 50, True),
    (Segment.HIGH_TOUCH, 95, 0, True),      # 100 - 100 * 55/40 is below zero
    (Segment.LOW_TOUCH, 95, 100, False),    # quarterly: 90 + 10
    (Segment.LOW_TOUCH, 130, 70, True),     # 100 - 100 * 30/100
    (Segment.TECH_TOUCH, 190, 100, False),  # half-yearly: 180 + 10
])
def test_freshness_and_staleness_follow_the_segment_cadence(db, partner, segment, days_old, freshness, stale):
    account = customer(db, partner, segment=segment)
    report(db, account, submitted_at=ago(days_old))
    row = score(db, account)
    assert (row.freshness, row.stale, row.days_since_report) == (freshness, stale, days_old)


def test_freshness_uses_the_vendors_cadence_setting(db, partner):
    db.execute(update(ReportingCadence).where(ReportingCadence.segment == Segment.HIGH_TOUCH).values(grace_days=0))
    db.commit()
    account = customer(db, partner)
    report(db, account, submitted_at=ago(45))
    row = score(db, account)
    assert (row.freshness, row.stale) == (50, True)  # 100 - 100 * (45 - 30) / 30


def test_a_stale_check_in_is_flagged_in_the_reasons(app, db, partner):
    account = customer(db, partner)
    report(db, account, submitted_at=ago(95))
    assert "No check-in for 95 days" in reasons_of(app, score(db, account))


# --- milestones -----------------------------------------------------------------------------


def onboarding_account(db, partner):
    return customer(db, partner, status=LifecycleStatus.ONBOARDING, contract_start=DAY - timedelta(days=90))


def test_onboarding_counts_due_milestones_done_within_a_week_of_plan(app, db, partner):
    account = onboarding_account(db, partner)
    factories.milestone(db, account, "kickoff", planned_on=DAY - timedelta(days=60), completed_on=DAY - timedelta(days=53))
    factories.milestone(db, account, "success_plan", planned_on=DAY - timedelta(days=45), completed_on=DAY - timedelta(days=50))
    factories.milestone(db, account, "technical_setup", planned_on=DAY - timedelta(days=30))
    factories.milestone(db, account, "user_training", planned_on=DAY + timedelta(days=5))  # not due yet
    row = score(db, account)
    assert (row.milestones_due, row.milestones_on_time, row.days_late_max) == (3, 2, 30)
    assert row.onboarding == 67  # 2 of 3
    assert "A milestone is 30 days late" in reasons_of(app, row)


@pytest.mark.parametrize("planned_days_ago, completed_days_ago, status, due, on_time, days_late_max", [
    (20, 12, None, 1, 0, None),                     # done 8 days after plan: late, though finished
    (7, None, None, 1, 0, None),                    # open a week past plan: not on time, not yet called late
    (8, None, None, 1, 0, 8),
    (20, -2, MilestoneStatus.DONE, 1, 0, 20),       # done after the day: still open on the day
    (30, None, MilestoneStatus.SKIPPED, 0, 0, None),  # skipped: neither due nor late
])
def test_milestone_timing(db, partner, planned_days_ago, completed_days_ago, status, due, on_time, days_late_max):
    account = onboarding_account(db, partner)
    completed_on = DAY - timedelta(days=completed_days_ago) if completed_days_ago is not None else None
    kw = {"status": status} if status else {}
    factories.milestone(db, account, "kickoff", planned_on=DAY - timedelta(days=planned_days_ago), completed_on=completed_on, **kw)
    row = score(db, account)
    assert (row.milestones_due, row.milestones_on_time, row.days_late_max) == (due, on_time, days_late_max)
    assert row.onboarding == (0 if due else None)


def test_a_milestone_of_an_inactive_template_is_not_due(db, partner):
    account = onboarding_account(db, partner)
    factories.milestone(db, account, "kickoff", planned_on=DAY - timedelta(days=30))
    db.execute(update(MilestoneTemplate).where(MilestoneTemplate.key == "kickoff").values(active=False))
    db.commit()
    row = score(db, account)
    assert (row.milestones_due, row.onboarding, row.days_late_max) == (0, None, None)


@pytest.mark.parametrize("completed_on, ttfv_days", [(date(2025, 3, 12), 70), (DAY + timedelta(days=1), None)])
def test_time_to_first_value_counts_from_contract_start(app, db, partner, completed_on, ttfv_days):
    account = customer(db, partner, contract_start=date(2025, 1, 1))
    factories.milestone(db, account, "first_value", planned_on=date(2025, 3, 5), completed_on=completed_on)
    row = score(db, account)
    assert row.ttfv_days == ttfv_days
    assert ("First value after 70 days" in reasons_of(app, row)) is (ttfv_days == 70)


# --- the weighted score ---------------------------------------------------------------------


def steady(db, partner, submitted_at=FRESH, **kw):
    """Usage 70 (all seats active, no key feature), satisfaction 80 (NPS 8), effort 100, sentiment 50
    (yellow), outcome 60, no milestones (onboarding left out)."""
    account = customer(db, partner, **kw)
    report(db, account, submitted_at=submitted_at, active_users=100, nps=8, sentiment=Sentiment.YELLOW, outcome_progress=60)
    return account


def test_adopted_accounts_use_the_adoption_weights(db, partner):
    row = score(db, steady(db, partner))
    assert (row.usage, row.onboarding, row.satisfaction, row.effort, row.sentiment_score, row.outcome, row.freshness) == (
        70, None, 80, 100, 50, 60, 100)
    # (25*70 + 20*80 + 15*100 + 15*50 + 15*60 + 10*100) / 100 = 7500 / 100
    assert (row.score, row.band, row.capped) == (75, "green", False)
    # without sentiment: (7500 - 750) / 85 = 79.4
    assert row.objective_band == "green"


def test_onboarding_accounts_use_the_onboarding_weights(db, partner):
    row = score(db, steady(db, partner, status=LifecycleStatus.ONBOARDING))
    assert row.onboarding_phase
    # onboarding (weight 40) has no data: (15*70 + 10*80 + 10*100 + 15*50 + 5*60 + 5*100) / 60 = 4400 / 60
    assert (row.score, row.band) == (73, "green")


def test_a_stale_check_in_counts_half(db, partner):
    row = score(db, steady(db, partner, submitted_at=ago(95)))
    assert (row.stale, row.freshness) == (True, 0)
    # reported components at half weight, freshness (0) in full:
    # (12.5*70 + 10*80 + 7.5*100 + 7.5*50 + 7.5*60 + 10*0) / 55 = 3250 / 55 = 59.1 (65 at full weight)
    assert (row.score, row.band) == (59, "yellow")


def test_a_component_without_data_is_left_out_of_the_score(db, partner):
    account = customer(db, partner)
    report(db, account, active_users=100, sentiment=Sentiment.YELLOW)
    row = score(db, account)
    assert (row.satisfaction, row.outcome) == (None, None)
    # usage 70, effort 100, sentiment 50, freshness 100: 65 of the adoption set's 100
    assert row.coverage_pct == 65
    assert row.score == 77  # (25*70 + 15*100 + 15*50 + 10*100) / 65 = 76.9


@pytest.mark.parametrize("contract_days_ago, freshness, score_, band", [
    (30, None, None, None),  # the first report is not owed yet: nothing to score
    (60, 50, None, None),    # 20 days past the 40 allowed: freshness 50 alone is 10 % of the weight, not a score
])
def test_an_account_without_a_check_in_is_judged_on_freshness_once_a_report_is_owed(app, db, partner, contract_days_ago, freshness, score_, band):
    account = customer(db, partner, contract_start=DAY - timedelta(days=contract_days_ago))
    row = score(db, account)
    assert (row.check_in_id, row.freshness, row.score, row.band) == (None, freshness, score_, band)
    assert reasons_of(app, row) == ["No check-in yet"]


def test_an_account_without_contract_start_or_check_in_is_not_scored(db, partner):
    row = score(db, customer(db, partner, contract_start=None))
    assert (row.freshness, row.score, row.band) == (None, None, None)


@pytest.mark.parametrize("active_users, escalations, sentiment, score_, band, capped", [
    (100, 0, Sentiment.GREEN, 70, "green", False),
    (100, 0, Sentiment.YELLOW, 70, "green", False),
    (100, 1, Sentiment.GREEN, 70, "yellow", True),
    (100, 0, Sentiment.RED, 70, "yellow", True),
    (50, 1, Sentiment.RED, 35, "red", False),  # the cap only ever lowers green
])
def test_an_open_escalation_or_red_sentiment_caps_the_band_at_yellow(app, db, partner, active_users, escalations, sentiment, score_, band, capped):
    account = customer(db, partner)
    report(db, account, active_users=active_users, open_escalations=escalations, sentiment=sentiment)
    row = score(db, account, model=only(usage=1))
    assert (row.score, row.band, row.capped) == (score_, band, capped)
    assert ("Kept out of green by the negatives above" in reasons_of(app, row)) is capped


def test_the_negatives_lead_the_reasons(app, db, partner):
    account = customer(db, partner)
    report(db, account, active_users=100, open_escalations=2, sentiment=Sentiment.RED)
    row = score(db, account, model=only(usage=1))
    assert reasons_of(app, row)[:3] == ["2 open escalations", "Reseller sentiment red", "Kept out of green by the negatives above"]


@pytest.mark.parametrize("active_users, sentiment, score_, band, objective_band", [
    (100, Sentiment.RED, 35, "red", "green"),     # usage 70, sentiment 0: the reseller is gloomier than the data
    (0, Sentiment.GREEN, 50, "yellow", "red"),    # usage 0, sentiment 100: the reseller is the optimist
])
def test_the_objective_band_leaves_reseller_sentiment_out(db, partner, active_users, sentiment, score_, band, objective_band):
    account = customer(db, partner)
    report(db, account, active_users=active_users, sentiment=sentiment)
    row = score(db, account, model=only(usage=1, sentiment_score=1))
    assert (row.score, row.band, row.objective_band) == (score_, band, objective_band)


def test_every_reason_in_order(app, db, partner):
    account = customer(db, partner, status=LifecycleStatus.ONBOARDING, contract_start=date(2026, 6, 1))
    report(db, account, submitted_at=ago(95), active_users=30, features=key_features(db, 1), nps=3, csat=2, ces=7,
           open_escalations=1, sentiment=Sentiment.RED, outcome_progress=20)
    factories.milestone(db, account, "kickoff", planned_on=DAY - timedelta(days=30))
    factories.milestone(db, account, "first_value", planned_on=date(2026, 8, 3), completed_on=date(2026, 8, 9))
    assert reasons_of(app, score(db, account)) == [
        "1 open escalation",
        "Reseller sentiment red",
        "No check-in for 95 days",
        "A milestone is 30 days late",
        "NPS 3: detractor",
        "CSAT 2.0 of 5",
        "Customer effort high (CES 7 of 7)",
        "Only 30% of seats active",
        "Key features 20% adopted (1 of 5 in use)",
        "Support load per 100 seats: 0.0 open tickets, 1.0 escalations",
        "Outcome 20% reached",
        "First value after 69 days",
    ]


@pytest.mark.parametrize("fields, expected, shown", [
    ({"nps": 6}, "NPS 6: detractor", True),
    ({"nps": 7}, "NPS 7: passive", True),
    ({"nps": 8}, "NPS 8: passive", True),
    ({"nps": 9}, "NPS 9: promoter", True),
    ({"csat": 2}, "CSAT 2.0 of 5", True),
    ({"csat": 2.5}, "CSAT 2.5 of 5", True),
    ({"csat": 2.6}, "CSAT 2.6 of 5", False),
    ({"ces": 4}, "Customer effort high (CES 4 of 7)", False),
    ({"ces": 5}, "Customer effort high (CES 5 of 7)", True),
    ({"active_users": 49}, "Only 49% of seats active", True),
    ({"active_users": 50}, "Only 50% of seats active", False),
    ({"outcome_progress": 29}, "Outcome 29% reached", True),
    ({"outcome_progress": 30}, "Outcome 30% reached", False),
])
def test_reason_thresholds(app, db, partner, fields, expected, shown):
    account = customer(db, partner)
    report(db, account, **fields)
    assert (expected in reasons_of(app, score(db, account))) is shown


# --- what is read as of the day -------------------------------------------------------------


@pytest.mark.parametrize("submitted_at, used", [  # stored in UTC; the day is Tokyo's (UTC+9)
    (datetime(2026, 11, 20, 14, 59), True),  # 23:59 on the 20th in Tokyo
    (datetime(2026, 11, 20, 15, 0), False),  # already the 21st in Tokyo, though the 20th in UTC
])
def test_a_check_in_submitted_after_the_day_is_not_used_for_it(db, partner, submitted_at, used):
    account = customer(db, partner)
    october = report(db, account, period_start=date(2026, 10, 1), submitted_at=ago(15), nps=8)
    november = report(db, account, period_start=date(2026, 11, 1), submitted_at=submitted_at, nps=2)
    row = score(db, account)
    assert (row.check_in_id, row.nps) == ((november.id, 2) if used else (october.id, 8))
    later = score(db, account, day=date(2026, 11, 21))
    assert (later.check_in_id, later.nps) == (november.id, 2)


def test_the_newest_version_of_a_period_known_on_the_day_is_used(db, partner):
    account = customer(db, partner)
    first = report(db, account, period_start=date(2026, 10, 1), submitted_at=ago(15), nps=3)
    correction = report(db, account, period_start=date(2026, 10, 1), version=2, submitted_at=datetime(2026, 11, 23, 10), nps=9)
    row = score(db, account)
    assert (row.check_in_id, row.nps, row.satisfaction) == (first.id, 3, 30)
    row = score(db, account, day=date(2026, 11, 23))
    assert (row.check_in_id, row.nps, row.satisfaction) == (correction.id, 9, 90)


def test_a_late_correction_of_an_older_period_does_not_displace_the_newer_period(db, partner):
    account = customer(db, partner)
    october = report(db, account, period_start=date(2026, 10, 1), submitted_at=ago(15), nps=8)
    report(db, account, period_start=date(2026, 9, 1), version=2, submitted_at=ago(2), nps=1)
    assert score(db, account).check_in_id == october.id


@pytest.mark.parametrize("churned_on, scored", [
    (DAY - timedelta(days=1), False),
    (DAY, False),
    (DAY + timedelta(days=1), True),  # churned later: still a customer on the day
])
def test_churned_accounts_are_not_scored_from_their_churn_date(db, partner, churned_on, scored):
    account = customer(db, partner, status=LifecycleStatus.CHURNED, churned_on=churned_on, churn_reason="Budget")
    report(db, account)
    assert (account.id in scores(db)) is scored


def test_an_account_whose_contract_has_not_started_is_not_scored(db, partner):
    account = customer(db, partner, contract_start=DAY + timedelta(days=1))
    assert account.id not in scores(db)


def test_accounts_of_two_partners_are_scored_independently(db, tenants):
    mine = customer(db, tenants.partner_a, reference="SAME-1")
    theirs = customer(db, tenants.partner_b, reference="SAME-1")
    report(db, mine, nps=10, active_users=100)
    report(db, theirs, nps=2, active_users=10, open_escalations=1)
    rows = scores(db)
    assert (rows[mine.id].partner_id, rows[mine.id].satisfaction, rows[mine.id].usage, rows[mine.id].effort) == (
        tenants.partner_a.id, 100, 70, 100)
    assert (rows[theirs.id].partner_id, rows[theirs.id].satisfaction, rows[theirs.id].usage, rows[theirs.id].effort) == (
        tenants.partner_b.id, 20, 7, 60)


# --- model versions and the preview ---------------------------------------------------------


def test_the_built_in_model_is_version_0(db):
    model = current_model(db)
    assert (model.version, model.weights, model.green_min, model.yellow_min, model.min_coverage_pct) == (
        0, DEFAULT_WEIGHTS, 70, 55, 60)


def test_saving_makes_a_new_version_and_the_newest_is_current(db):
    first = save_model(db, {"onboarding": {"usage": 1}, "adoption": {"usage": 1}}, 80, 50, None, "Usage only")
    second = save_model(db, {"onboarding": {"outcome": 1}, "adoption": {"outcome": 1}}, 60, 30, None, None)
    db.commit()
    assert (first.version, second.version) == (1, 2)
    model = current_model(db)
    assert (model.version, model.weights, model.green_min, model.yellow_min) == (2, second.weights, 60, 30)
    assert latest(db).scalars(select(HealthModel.version).order_by(HealthModel.version)).all() == [1, 2]


def three_bands_and_an_unscored(db, partner):
    """Usage 70, 56 and 35 (active users 100, 80 and 50 of 100 seats) and one without an active-user figure."""
    accounts = [customer(db, partner, arr_jpy=1_000_000) for _ in range(4)]
    for account, active_users in zip(accounts, (100, 80, 50, None), strict=True):
        report(db, account, active_users=active_users)
    return accounts


def test_preview_counts_band_moves(db, partner):
    three_bands_and_an_unscored(db, partner)
    result = preview(db, DAY, only(usage=1), only(usage=1, green_min=55, yellow_min=30))
    assert result["before"] == {"green": 1, "yellow": 1, "red": 1, None: 1}
    assert result["after"] == {"green": 2, "yellow": 1, "red": 0, None: 1}
    assert result["moved"] == {("yellow", "green"): 1, ("red", "yellow"): 1}
    assert result["total"] == 4


# --- the admin page -------------------------------------------------------------------------


USAGE_ONLY = {"onboarding": {"usage": 1}, "adoption": {"usage": 100}}


def model_form(weights=DEFAULT_WEIGHTS, green_min=70, yellow_min=45, **overrides) -> dict:
    data = {f"{phase}__{name}": str(weights[phase].get(name, 0)) for phase in ("onboarding", "adoption")
            for name in DEFAULT_WEIGHTS["adoption"]}
    data.update(green_min=str(green_min), yellow_min=str(yellow_min), min_coverage_pct="60", note="", action="preview")
    data.update(overrides)
    return data


def model_count(db) -> int:
    return latest(db).scalar(select(func.count()).select_from(HealthModel))


def preview_table(html: str) -> dict[str, tuple[int, int]]:
    section = html.split('id="preview"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r'band--(\w+)">.*?</th><td class="num">(\d+)</td><td class="num">(\d+)</td>', section)
    return {band: (int(now), int(then)) for band, now, then in rows}


def test_the_page_shows_the_current_weights(db, browser, tenants):
    admin = browser(tenants.vendor_admin)
    page = parse(admin.get("/health-model"))
    assert (page.value("adoption__usage"), page.value("onboarding__onboarding"), page.value("green_min")) == ("25", "40", "70")
    save_model(db, {"onboarding": {"usage": 7}, "adoption": {"outcome": 9}}, 80, 50, tenants.vendor_admin.id, None)
    db.commit()
    page = parse(admin.get("/health-model"))
    assert (page.value("onboarding__usage"), page.value("adoption__outcome"), page.value("adoption__usage")) == ("7", "9", "0")
    assert (page.value("green_min"), page.value("yellow_min")) == ("80", "50")


@pytest.mark.parametrize("role", [Role.PARTNER_MANAGER, Role.PARTNER_ADMIN, Role.PARTNER_USER])
def test_only_the_vendor_admin_may_change_the_model(db, browser, tenants, role):
    response = browser(tenants.by_role(role)).post("/health-model", data=model_form(USAGE_ONLY, action="save"))
    assert response.status_code == 403
    assert model_count(db) == 0


def test_preview_on_the_page_shows_the_effect_and_saves_nothing(db, browser, tenants, partner, today_is):
    today_is(DAY)
    # the tenants' own accounts reported "now", after DAY: unscored on DAY under a usage-only model
    save_model(db, USAGE_ONLY, 70, 45, None, None)
    db.commit()
    three_bands_and_an_unscored(db, partner)
    response = browser(tenants.vendor_admin).post("/health-model",
                                                  data=model_form(USAGE_ONLY, green_min=55, yellow_min=30, action="preview"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert preview_table(html) == {"green": (1, 2), "yellow": (1, 1), "red": (1, 0)}
    assert "2 accounts would change band." in html
    assert model_count(db) == 1


def test_preview_after_an_aggregation_shows_the_model_check(db, browser, tenants, partner, today_is):
    today_is(DAY)
    three_bands_and_an_unscored(db, partner)
    assert aggregate(db, DAY).status == "done"
    response = browser(tenants.vendor_admin).post("/health-model", data=model_form(USAGE_ONLY, action="preview"))
    assert response.status_code == 200
    assert "Model check with these settings" in response.get_data(as_text=True)
    assert model_count(db) == 0


def test_saving_on_the_page_makes_the_version_the_next_aggregation_uses(db, browser, tenants, partner):
    account = customer(db, partner)
    report(db, account, active_users=50)  # usage 35, effort 100, sentiment 100, freshness 100
    assert aggregate(db, DAY).status == "done"
    before = latest(db).scalar(select(AccountScore).where(AccountScore.account_id == account.id))
    # (25*35 + 15*100 + 15*100 + 10*100) / 65 = 4875 / 65
    assert (before.model_version, before.score, before.band) == (0, 75, "green")
    admin = browser(tenants.vendor_admin)
    assert "the built-in model ·" in admin.get(f"/accounts/{account.id}").get_data(as_text=True)  # not "model version 0"

    response = admin.post("/health-model", data=model_form(USAGE_ONLY, note=" Usage only ", action="save"))
    assert response.status_code == 302
    assert "Health model version 1 saved: the next aggregation uses it." in parse(admin.get("/health-model")).flash_texts("success")
    saved = latest(db).scalar(select(HealthModel))
    assert (saved.version, saved.green_min, saved.yellow_min, saved.note, saved.created_by_id) == (
        1, 70, 45, "Usage only", tenants.vendor_admin.id)
    assert saved.weights["adoption"]["usage"] == 100 and sum(saved.weights["adoption"].values()) == 100

    assert aggregate(db, DAY, force=True).status == "done"
    after = latest(db).scalar(select(AccountScore).where(AccountScore.account_id == account.id))
    assert (after.model_version, after.score, after.band) == (1, 35, "red")
    assert "model version 1 ·" in admin.get(f"/accounts/{account.id}").get_data(as_text=True)

    admin.post("/health-model", data=model_form(action="save"))
    assert latest(db).scalars(select(HealthModel.version).order_by(HealthModel.version)).all() == [1, 2]


@pytest.mark.parametrize("overrides, field, message", [
    ({"yellow_min": "70"}, "yellow_min", "Must be below the green threshold."),
    ({"yellow_min": "80"}, "yellow_min", "Must be below the green threshold."),
    ({"adoption__usage": "101"}, "adoption__usage", "Number must be between 0 and 100."),
    ({"onboarding__effort": "-1"}, "onboarding__effort", "Number must be between 0 and 100."),
])
@pytest.mark.parametrize("action", ["save", "preview"])
def test_invalid_settings_come_back_with_the_error_at_the_field(db, browser, tenants, overrides, field, message, action):
    response = browser(tenants.vendor_admin).post("/health-model", data=model_form(action=action, **overrides))
    assert response.status_code == 400
    page = parse(response)
    assert page.errors == {field: message}
    assert page.value(field) == overrides[field]
    assert model_count(db) == 0


@pytest.mark.parametrize("phase", ["onboarding", "adoption"])
def test_a_set_with_every_weight_zero_is_refused(db, browser, tenants, phase):
    weights = {**DEFAULT_WEIGHTS, phase: {}}
    response = browser(tenants.vendor_admin).post("/health-model", data=model_form(weights, action="save"))
    assert response.status_code == 400
    assert parse(response).flash_texts("error") == ["Each set needs at least one weight above zero."]
    assert model_count(db) == 0


# --- coverage before a score ------------------------------------------------------------------


@pytest.mark.parametrize("status", [LifecycleStatus.ACTIVE, LifecycleStatus.ONBOARDING])
def test_one_glowing_component_of_seven_is_not_enough_data(db, partner, status):
    """The issue's new account: sentiment green (100) and nothing else is not "100 Healthy"."""
    account = customer(db, partner, status=status, contract_start=DAY - timedelta(days=20))
    report(db, account, sentiment=Sentiment.GREEN)
    row = score(db, account)
    assert row.sentiment_score == 100
    assert row.coverage_pct is not None and row.coverage_pct < 60
    assert (row.score, row.band, row.objective_band, row.capped) == (None, None, None, False)


@pytest.mark.parametrize("min_coverage, scored", [(60, True), (61, False)])
def test_coverage_is_the_share_of_the_phase_weight_present(db, partner, min_coverage, scored):
    account = customer(db, partner)
    report(db, account, active_users=100)  # usage present, outcome not
    model = ModelSpec(version=99, weights={"onboarding": {"outcome": 1}, "adoption": {"usage": 3, "outcome": 2}},
                      min_coverage_pct=min_coverage)
    row = score(db, account, model=model)
    assert row.coverage_pct == 60
    assert (row.score, row.band) == ((70, "green") if scored else (None, None))


def test_coverage_is_rounded_down_so_a_share_just_short_never_passes(db, partner):
    account = customer(db, partner)
    report(db, account, active_users=100)
    model = ModelSpec(version=99, weights={"onboarding": {"usage": 1}, "adoption": {"usage": 1999, "outcome": 1334}},
                      min_coverage_pct=60)
    row = score(db, account, model=model)  # 1999 / 3333 = 59.98 %
    assert (row.coverage_pct, row.score, row.band) == (59, None, None)


def test_the_phase_decides_which_weights_coverage_is_counted_against(db, partner):
    account = customer(db, partner, status=LifecycleStatus.ONBOARDING)
    report(db, account, active_users=100)
    model = ModelSpec(version=99, weights={"onboarding": {"usage": 1, "onboarding": 3}, "adoption": {"usage": 1}})
    assert (score(db, account, model=model).coverage_pct, score(db, account, model=model).band) == (25, None)
    account.status = LifecycleStatus.ACTIVE
    db.commit()
    assert (score(db, account, model=model).coverage_pct, score(db, account, model=model).band) == (100, "green")


def test_a_stale_report_counts_half_in_the_score_but_is_not_missing(db, partner):
    row = score(db, steady(db, partner, submitted_at=ago(95)))
    assert (row.stale, row.coverage_pct, row.score) == (True, 100, 59)


REPORTABLE = {"active_users": 100, "nps": 10, "ces": 1, "outcome_progress": 100}


@pytest.mark.parametrize("given", [
    (), ("active_users",), ("nps",), ("outcome_progress",), ("ces", "nps"), ("active_users", "nps"),
    ("active_users", "outcome_progress"), ("nps", "outcome_progress"), ("active_users", "nps", "outcome_progress"),
    tuple(REPORTABLE),
])
@pytest.mark.parametrize("status", [LifecycleStatus.ACTIVE, LifecycleStatus.ONBOARDING])
def test_a_coverage_short_account_is_never_green(db, partner, given, status):
    """Every figure reported is at its best, so only coverage can keep an account from green."""
    account = customer(db, partner, status=status)
    report(db, account, sentiment=Sentiment.GREEN, **{k: REPORTABLE[k] for k in given})
    row = score(db, account)
    if row.coverage_pct >= 60:
        assert row.band == "green"
    else:
        assert (row.score, row.band, row.objective_band) == (None, None, None)


def test_a_threshold_change_shows_in_the_preview(db, partner):
    thin = customer(db, partner)
    report(db, thin, sentiment=Sentiment.GREEN)  # sentiment, effort and freshness: 40 % of the adoption set
    full = steady(db, partner)                   # 75, green
    now = current_model(db)
    result = preview(db, DAY, now, ModelSpec(version=1, min_coverage_pct=40))
    assert (score(db, thin).coverage_pct, score(db, full).band) == (40, "green")
    assert result["before"] == {"green": 1, "yellow": 0, "red": 0, None: 1}
    assert result["after"] == {"green": 2, "yellow": 0, "red": 0, None: 0}
    assert result["moved"] == {(None, "green"): 1}


def test_the_coverage_threshold_is_previewed_saved_and_versioned_on_the_page(db, browser, tenants, partner, today_is):
    today_is(DAY)
    thin = customer(db, partner)
    report(db, thin, sentiment=Sentiment.GREEN)
    admin = browser(tenants.vendor_admin)
    assert parse(admin.get("/health-model")).value("min_coverage_pct") == "60"
    response = admin.post("/health-model", data=model_form(min_coverage_pct="40", action="preview"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert preview_table(html)["green"] == (0, 1)
    # the tenants' own accounts reported after DAY: not enough data under either threshold
    short = re.search(r'Not enough data</span></th><td class="num">(\d+)</td><td class="num">(\d+)</td>', html)
    assert short and int(short.group(1)) - int(short.group(2)) == 1
    assert model_count(db) == 0

    assert admin.post("/health-model", data=model_form(min_coverage_pct="40", action="save")).status_code == 302
    assert latest(db).scalar(select(HealthModel.min_coverage_pct)) == 40
    assert parse(admin.get("/health-model")).value("min_coverage_pct") == "40"
    assert aggregate(db, DAY).status == "done"
    stored = latest(db).scalar(select(AccountScore).where(AccountScore.account_id == thin.id))
    assert (stored.coverage_pct, stored.band) == (40, "green")


@pytest.mark.parametrize("value, message", [("101", "Number must be between 0 and 100."), ("", "This field is required.")])
def test_the_coverage_threshold_is_checked_at_its_field(db, browser, tenants, value, message):
    response = browser(tenants.vendor_admin).post("/health-model", data=model_form(min_coverage_pct=value, action="save"))
    assert response.status_code == 400
    assert parse(response).errors == {"min_coverage_pct": message}
    assert model_count(db) == 0


# --- the health card on the account page ------------------------------------------------------


def health_section(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", html.split('id="health-heading"', 1)[1].split("</section>", 1)[0]))


@pytest.mark.parametrize("who", ["vendor_admin", "user_a"])
def test_the_card_of_an_account_short_of_data_says_what_to_report(db, browser, tenants, today_is, who):
    today_is(DAY)
    account = customer(db, tenants.partner_a, contract_start=DAY - timedelta(days=20))
    report(db, account, sentiment=Sentiment.GREEN)
    assert aggregate(db, DAY).status == "done"
    card = health_section(browser(getattr(tenants, who)).get(f"/accounts/{account.id}").get_data(as_text=True))
    assert "Not enough data" in card and "health__score" not in card and "Healthy" not in card
    assert "a score needs 60%" in card
    assert "Usage (25% of the weight): active users in a check-in (and the account's seats)" in card
    assert "Satisfaction (20% of the weight): NPS or CSAT in a check-in" in card
    assert "Outcome progress (15% of the weight): outcome progress in a check-in" in card
    assert "Scored with the adoption weights" in card
    # what is there is listed with its freshness
    assert "Reseller sentiment" in card and "from the check-in for 2026-10, reported Nov 5, 2026 (15 days old)." in card
    assert "15% of the weight · from the check-in of Nov 5, 2026" in card
    assert "No score in the last six months." in card


def test_the_card_of_a_scored_account_lists_components_with_their_freshness_and_the_missing_ones(db, browser, tenants, today_is):
    today_is(DAY)
    account = customer(db, tenants.partner_a)
    report(db, account, submitted_at=ago(50), active_users=100, nps=8)  # 50 days old: stale for monthly reporting
    assert aggregate(db, DAY).status == "done"
    card = health_section(browser(tenants.user_a).get(f"/accounts/{account.id}").get_data(as_text=True))
    row = latest(db).scalar(select(AccountScore).where(AccountScore.account_id == account.id))
    assert row.score is not None and f'<span class="health__score">{row.score}</span>' in card
    assert "Data reported: 85% of the weight; a score needs 60%." in card
    assert "Not enough data" not in card
    assert ("from the check-in for 2026-09, reported Oct 1, 2026 (50 days old). It is older than the reporting cadence,"
            " so they count half.") in card
    assert "25% of the weight · from the check-in of Oct 1, 2026 · counts half" in card
    assert "last check-in 50 days before this score" in card
    missing = card.split("Missing</h3>", 1)[1]
    assert "Outcome progress (15% of the weight)" in missing and "Usage" not in missing


def test_the_card_of_an_onboarding_account_says_so_and_dates_its_milestones(db, browser, tenants, today_is):
    today_is(DAY)
    account = customer(db, tenants.partner_a, status=LifecycleStatus.ONBOARDING, contract_start=DAY - timedelta(days=90))
    report(db, account, active_users=80, nps=9, outcome_progress=40)
    factories.milestone(db, account, "kickoff", planned_on=DAY - timedelta(days=60), completed_on=DAY - timedelta(days=58))
    factories.milestone(db, account, "technical_setup", planned_on=DAY - timedelta(days=30))
    assert aggregate(db, DAY).status == "done"
    card = health_section(browser(tenants.vendor_admin).get(f"/accounts/{account.id}").get_data(as_text=True))
    assert "Scored with the onboarding weights: the account is in onboarding." in card
    assert "40% of the weight · milestones as of Nov 20, 2026: 1 of 2 due on time" in card


def test_the_card_reads_in_japanese(db, browser, tenants, today_is):
    today_is(DAY)
    account = customer(db, tenants.partner_a, contract_start=DAY - timedelta(days=20))
    report(db, account, sentiment=Sentiment.GREEN)
    assert aggregate(db, DAY).status == "done"
    tenants.user_a.language = "ja"
    db.commit()
    card = health_section(browser(tenants.user_a).get(f"/accounts/{account.id}").get_data(as_text=True))
    assert "データ不足" in card and "スコアを出すにはデータが足りません" in card
    assert "利用状況（重みの 25%）：ヘルスチェックでアクティブユーザー数を報告してください" in card


def test_an_account_short_of_data_is_counted_apart_in_every_scorecard_figure(db, partner, today_is):
    today_is(DAY)
    steady(db, partner, arr_jpy=2_000_000)  # 75, green
    thin = customer(db, partner, arr_jpy=5_000_000, renewal_date=DAY + timedelta(days=30))
    report(db, thin, sentiment=Sentiment.GREEN)  # would be 100 from sentiment, effort and freshness alone
    assert aggregate(db, DAY).status == "done"
    card = latest(db).scalar(select(PartnerScorecard).where(PartnerScorecard.day == DAY, PartnerScorecard.partner_id == partner.id))
    assert (card.accounts, card.green_accounts, card.yellow_accounts, card.red_accounts, card.unscored_accounts) == (2, 1, 0, 0, 1)
    assert (card.average_health, card.median_health) == (75.0, 75.0)
    assert (card.arr_jpy, card.green_arr_jpy, card.unscored_arr_jpy, card.at_risk_arr_jpy) == (7_000_000, 2_000_000, 5_000_000, 0)
    assert (card.renewals_90_green, card.renewals_90_unscored) == (0, 1)
