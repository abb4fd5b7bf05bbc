"""The partner and channel scorecard figures (portal/figures.py) and the read-side checks
(portal/insights.py), each asserted against numbers worked out by hand in the comments.

To make the health numbers easy to work out, the tests install a health model that scores
an account by its outcome progress alone (weight 100 in both phases, bands 70 / 45): the
score of an account is the outcome_progress of its latest check-in, and an account with no
outcome reported is unscored. The health formula itself is tested elsewhere; here only what
the figures make of the scores matters.

Every account is tech touch (half-yearly reporting, 10 days' grace), so on DAY = 2026-11-20
an account owes at most two check-ins:
    H1 = 2025-10-01 .. 2026-03-31, due 2026-04-10
    H2 = 2026-04-01 .. 2026-09-30, due 2026-10-10
(H0 = Apr-Sep 2025 was due 2025-10-10, more than 365 days before DAY; Oct 2026 - Mar 2027 is
not due yet.) The 12-month window for retention starts a year before: 2025-11-20.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time
from html import unescape

import pytest
from sqlalchemy import delete, select, update

from portal.scoring.aggregation import aggregate
from portal.scoring.figures import FIGURE_COLUMNS, OPTIMISM_COLUMNS
from portal.scoring.health import ModelSpec, save_model
from portal.scoring import insights
from portal.scoring.insights import benchmark, model_check, optimism_check
from portal.models import AccountArr, LifecycleStatus, PartnerScorecard, Role, Segment, Sentiment
from tests import factories
from tests.readback import latest

DAY = date(2026, 11, 20)
H1, H2, NEXT_HALF = date(2025, 10, 1), date(2026, 4, 1), date(2026, 10, 1)
OUTCOME_ONLY = {"onboarding": {"outcome": 100}, "adoption": {"outcome": 100}}

GREEN, YELLOW, RED = Sentiment.GREEN, Sentiment.YELLOW, Sentiment.RED


# --- building a hand-made history ----------------------------------------------------------------


@pytest.fixture
def outcome_model(db):
    """Score = the latest outcome progress; green from 70, yellow from 45."""
    save_model(db, OUTCOME_ONLY, 70, 45, None, "tests: score is outcome progress")
    db.commit()


def account(db, partner, *, start, arr, renewal=None, history=None, churned_on=None, **kw):
    """A tech-touch account; `history` replaces the ARR history recorded at creation."""
    if churned_on is not None:
        kw.update(status=LifecycleStatus.CHURNED, churned_on=churned_on)
    obj = factories.account(db, partner, segment=Segment.TECH_TOUCH, contract_start=start, arr_jpy=arr,
                            renewal_date=renewal or date(2027, 6, 30), **kw)
    if history is not None:
        db.execute(delete(AccountArr).where(AccountArr.account_id == obj.id))
        db.add_all(AccountArr(account_id=obj.id, effective_on=on, arr_jpy=amount) for on, amount in history)
        db.commit()
    return obj


def report(db, account, period, submitted, *, outcome=None, nps=None, sentiment=GREEN, version=1, at=time(9)):
    return factories.check_in(db, account, period_start=period, version=version, submitted_at=datetime.combine(submitted, at),
                              outcome_progress=outcome, nps=nps, sentiment=sentiment)


def milestone(db, account, key, planned, done=None):
    return factories.milestone(db, account, key, planned_on=planned, completed_on=done)


def build_a(db, partner):
    """Partner A: five live accounts and one churned.

    account  start       ARR now     ARR history                    latest report (H2 unless said)  renewal
    A1       2024-04-01  2,500,000   2,000,000; 2,500,000 from 26-04  outcome 90 nps 9, green         2027-02-18 (in 90 days)
    A2       2024-12-01    800,000   1,000,000;   800,000 from 26-06  outcome 50 nps 7, green         2026-12-01 (in 11 days)
    A3       2025-01-01  1,000,000   1,000,000, churned 2026-08-31   (H1) outcome 75, green          2026-12-15 (churned)
    A4       2026-01-15  3,000,000   3,000,000                       outcome 20 nps 6, green         2027-01-15 (in 56 days)
    A5       2026-09-01    600,000   onboarding                      (Oct 2026 half) nps 10, no outcome  2027-09-01
    A6       2026-02-01  1,200,000   1,200,000                       H2 v2: outcome 70 nps 8, green  2027-02-19 (in 91 days)
    """
    a1 = account(db, partner, start=date(2024, 4, 1), arr=2_500_000, renewal=date(2027, 2, 18),
                 history=[(date(2024, 4, 1), 2_000_000), (date(2026, 4, 1), 2_500_000)])
    report(db, a1, H1, date(2026, 4, 5), outcome=80, nps=10)            # on time
    report(db, a1, H2, date(2026, 10, 5), outcome=90, nps=9)            # on time
    milestone(db, a1, "first_value", date(2024, 6, 1), date(2024, 6, 10))  # 9 days late; TTFV 70

    a2 = account(db, partner, start=date(2024, 12, 1), arr=800_000, renewal=date(2026, 12, 1),
                 history=[(date(2024, 12, 1), 1_000_000), (date(2026, 6, 1), 800_000)])
    report(db, a2, H1, date(2026, 4, 20), outcome=40, nps=3)            # 10 days late
    report(db, a2, H2, date(2026, 10, 10), outcome=50, nps=7, at=time(18))  # on the due date: on time
    milestone(db, a2, "first_value", date(2025, 2, 2), date(2025, 1, 20))   # early; TTFV 50

    a3 = account(db, partner, start=date(2025, 1, 1), arr=1_000_000, renewal=date(2026, 12, 15), churned_on=date(2026, 8, 31))
    report(db, a3, H1, date(2026, 4, 1), outcome=75, nps=10)            # on time; H2 not owed (churned before it ended)
    milestone(db, a3, "first_value", date(2025, 3, 1), date(2025, 5, 1))    # churned: counts nowhere (TTFV would be 120)

    a4 = account(db, partner, start=date(2026, 1, 15), arr=3_000_000, renewal=date(2027, 1, 15))
    # H1 owed (the contract started before it ended) and never sent
    report(db, a4, H2, date(2026, 10, 1), outcome=20, nps=6)            # on time
    milestone(db, a4, "first_value", date(2026, 3, 19), date(2026, 3, 1))   # early; TTFV 45

    a5 = account(db, partner, start=date(2026, 9, 1), arr=600_000, renewal=date(2027, 9, 1), status=LifecycleStatus.ONBOARDING)
    # H2 owed (the contract started on 09-01, before it ended) and never sent; this report is for the next half
    report(db, a5, NEXT_HALF, date(2026, 11, 10), nps=10, sentiment=YELLOW)
    milestone(db, a5, "kickoff", date(2026, 9, 8), date(2026, 9, 10))          # 2 days late: on time
    milestone(db, a5, "success_plan", date(2026, 9, 22), date(2026, 10, 5))    # 13 days late
    milestone(db, a5, "technical_setup", date(2026, 10, 6))                    # due, not done
    milestone(db, a5, "user_training", date(2026, 10, 20), date(2026, 10, 27))  # 7 days late: still on time
    milestone(db, a5, "first_value", date(2026, 11, 3), date(2026, 11, 1))     # early; TTFV 61
    milestone(db, a5, "go_live", date(2026, 11, 30))                           # not due yet

    a6 = account(db, partner, start=date(2026, 2, 1), arr=1_200_000, renewal=date(2027, 2, 19))
    report(db, a6, H1, date(2026, 4, 10), outcome=65, at=time(23, 30))  # late evening of the due date: on time
    report(db, a6, H2, date(2026, 10, 15), outcome=60, nps=2)           # 5 days late
    report(db, a6, H2, date(2026, 10, 20), outcome=70, nps=8, version=2)  # the correction in force; not a first version
    return {"a1": a1, "a2": a2, "a3": a3, "a4": a4, "a5": a5, "a6": a6}


# Partner A on DAY, by hand:
#   live: A1 A2 A4 A5 A6 -> 5 accounts, ARR 2.5M + 0.8M + 3.0M + 0.6M + 1.2M = 8,100,000
#   scores: A1 90 green, A6 70 green (the threshold), A2 50 yellow, A4 20 red, A5 unscored ("Not enough data", 600,000)
#     green ARR 2.5M + 1.2M = 3,700,000; yellow 800,000; red 3,000,000; at risk 3,800,000
#     average (90 + 70 + 50 + 20) / 4 = 57.5; median of 20 50 70 90 (even) = (50 + 70) / 2 = 60
#   onboarding: due A1 1, A2 1, A4 1, A5 5 (go-live not due) = 8; on time A2, A4, A5 kickoff,
#     training, first value = 5 -> 62.5 %
#   TTFV of live accounts: 45 50 61 70 -> (50 + 61) / 2 = 55.5 days (A3's 120 does not count)
#   compliance: owed A1 2, A2 2, A3 1, A4 2, A5 1, A6 2 = 10; first versions by the due date:
#     A1 2, A2 1, A3 1, A4 1, A5 0, A6 1 = 6 -> 60 %
#   NPS: latest answers A1 9 (promoter), A2 7, A4 6 (detractor), A5 10 (promoter), A6 8
#     -> (2 - 1) / 5 = 20
#   retention, cohort live with ARR on 2025-11-20: A1 2.0M, A2 1.0M, A3 1.0M = 4,000,000
#     GRR (2.0M + 0.8M + 0) / 4.0M = 70 %; NRR (2.5M + 0.8M + 0) / 4.0M = 82.5 %
#     renewal rate 2 of 3 = 66.67 %; churned ARR 1,000,000 (A3)
#   renewals within 0..90 days: A1 green (90 days), A2 yellow, A4 red; A6 at 91 days and
#     churned A3 do not count
A_FIGURES = dict(
    accounts=5, arr_jpy=8_100_000, green_accounts=2, yellow_accounts=1, red_accounts=1, unscored_accounts=1,
    green_arr_jpy=3_700_000, yellow_arr_jpy=800_000, red_arr_jpy=3_000_000, average_health=57.5, median_health=60.0,
    onboarding_on_time_pct=62.5, median_ttfv_days=55.5, reporting_compliance_pct=60.0, nps=20.0,
    renewal_rate_pct=200 / 3, grr_pct=70.0, nrr_pct=82.5, churned_arr_jpy=1_000_000, at_risk_arr_jpy=3_800_000,
    renewals_90_green=1, renewals_90_yellow=1, renewals_90_red=1, unscored_arr_jpy=600_000, renewals_90_unscored=0,
)


def build_b(db, partner):
    """Partner B, the extreme one: big money, a huge expansion, a 50M churn, perfect reporting.

    account  start       ARR now      ARR history                    latest report (H2)              renewal
    B1       2024-04-01  30,000,000   10M; 30M from 2026-05-01       outcome 100 nps 10, green       2026-12-20 (30 days)
    B2       2024-04-01   5,000,000   5M                             outcome 45 nps 0, red sentiment 2026-12-10 (20 days)
    B3       2026-03-01   7,000,000   7M                             outcome 0 nps 9, yellow         2027-03-01 (101 days)
    B4       2024-04-01  50,000,000   50M, churned 2026-10-01        outcome 95, green               -
    """
    b1 = account(db, partner, start=date(2024, 4, 1), arr=30_000_000, renewal=date(2026, 12, 20), name="Bravo Secret One KK",
                 history=[(date(2024, 4, 1), 10_000_000), (date(2026, 5, 1), 30_000_000)])
    report(db, b1, H1, date(2026, 4, 1), outcome=95, nps=10)
    report(db, b1, H2, date(2026, 10, 1), outcome=100, nps=10)
    milestone(db, b1, "first_value", date(2024, 4, 15), date(2024, 4, 11))   # on time; TTFV 10
    b2 = account(db, partner, start=date(2024, 4, 1), arr=5_000_000, renewal=date(2026, 12, 10), name="Bravo Secret Two KK")
    report(db, b2, H1, date(2026, 4, 2), outcome=50, nps=1)
    report(db, b2, H2, date(2026, 10, 2), outcome=45, nps=0, sentiment=RED)
    milestone(db, b2, "first_value", date(2024, 5, 1), date(2024, 10, 18))   # late; TTFV 200
    b3 = account(db, partner, start=date(2026, 3, 1), arr=7_000_000, renewal=date(2027, 3, 1), name="Bravo Secret Three KK")
    report(db, b3, H1, date(2026, 3, 20), outcome=10, nps=9)
    report(db, b3, H2, date(2026, 10, 3), outcome=0, nps=9, sentiment=YELLOW)
    milestone(db, b3, "first_value", date(2026, 3, 25), date(2026, 3, 21))   # on time; TTFV 20
    b4 = account(db, partner, start=date(2024, 4, 1), arr=50_000_000, churned_on=date(2026, 10, 1), name="Bravo Secret Four KK")
    report(db, b4, H1, date(2026, 4, 1), outcome=95)
    report(db, b4, H2, date(2026, 9, 25), outcome=95)                  # owed: churned after H2 ended
    return {"b1": b1, "b2": b2, "b3": b3, "b4": b4}


# Partner B on DAY, by hand:
#   live B1 B2 B3: 3 accounts, ARR 42,000,000; B1 100 green (30M), B2 45 yellow (the threshold, 5M),
#     B3 0 red (7M); at risk 12,000,000
#   average (100 + 45 + 0) / 3 = 48.33; median of 0 45 100 (odd) = 45
#   onboarding 2 of 3 on time = 66.67 %; TTFV 10 20 200 -> median 20
#   compliance 8 of 8 (B4 owes H2: it churned the day after H2 ended) = 100 %
#   NPS: 10 and 9 promoters, 0 detractor -> (2 - 1) / 3 = 33.33
#   cohort B1 10M, B2 5M, B4 50M = 65M: GRR (10M + 5M + 0) / 65M = 23.08 %; NRR (30M + 5M) / 65M = 53.85 %
#   renewal rate 2 of 3; churned ARR 50,000,000; renewals: B1 green, B2 yellow (B3 is 101 days out)
B_FIGURES = dict(
    accounts=3, arr_jpy=42_000_000, green_accounts=1, yellow_accounts=1, red_accounts=1, unscored_accounts=0,
    green_arr_jpy=30_000_000, yellow_arr_jpy=5_000_000, red_arr_jpy=7_000_000, average_health=145 / 3, median_health=45.0,
    onboarding_on_time_pct=200 / 3, median_ttfv_days=20.0, reporting_compliance_pct=100.0, nps=100 / 3,
    renewal_rate_pct=200 / 3, grr_pct=1500 / 65, nrr_pct=3500 / 65, churned_arr_jpy=50_000_000, at_risk_arr_jpy=12_000_000,
    renewals_90_green=1, renewals_90_yellow=1, renewals_90_red=0, unscored_arr_jpy=0, renewals_90_unscored=0,
)

# The channel with A and B, by hand (the same definitions over all accounts, not an average of partners):
#   8 accounts, ARR 50,100,000; green 3 (33.7M), yellow 2 (5.8M), red 2 (10M), unscored 1; at risk 15.8M
#   scores 0 20 45 50 70 90 100: average 375 / 7 = 53.57, median 50
#   onboarding (5 + 2) / (8 + 3) = 63.64 %; TTFV 10 20 45 50 61 70 200 -> 50
#   compliance (6 + 8) / (10 + 8) = 77.78 %; NPS (4 promoters - 2 detractors) / 8 answers = 25
#   cohort 4M + 65M = 69M: GRR (2.8M + 15M) / 69M = 25.80 %; NRR (3.3M + 35M) / 69M = 55.51 %
#   renewal rate 4 of 6; churned ARR 51M; renewals green 2, yellow 2, red 1
CHANNEL_AB_FIGURES = dict(
    accounts=8, arr_jpy=50_100_000, green_accounts=3, yellow_accounts=2, red_accounts=2, unscored_accounts=1,
    green_arr_jpy=33_700_000, yellow_arr_jpy=5_800_000, red_arr_jpy=10_000_000, average_health=375 / 7, median_health=50.0,
    onboarding_on_time_pct=700 / 11, median_ttfv_days=50.0, reporting_compliance_pct=1400 / 18, nps=25.0,
    renewal_rate_pct=400 / 6, grr_pct=1780 / 69, nrr_pct=3830 / 69, churned_arr_jpy=51_000_000, at_risk_arr_jpy=15_800_000,
    renewals_90_green=2, renewals_90_yellow=2, renewals_90_red=1, unscored_arr_jpy=600_000, renewals_90_unscored=0,
)


def build_c(db, partner):
    """Partner C: one steady account, reports on time, never asked NPS, no milestones.

    C1 2024-04-01, ARR 2,000,000 throughout, outcome 80 -> average 80, compliance 100 %,
    onboarding and NPS with nothing to count (None), GRR = NRR = renewal rate = 100 %.
    """
    c1 = account(db, partner, start=date(2024, 4, 1), arr=2_000_000, renewal=date(2027, 6, 1))
    report(db, c1, H1, date(2026, 4, 1), outcome=75)
    report(db, c1, H2, date(2026, 10, 1), outcome=80)
    return {"c1": c1}


def card(db, partner_id, day=DAY) -> PartnerScorecard:
    where = PartnerScorecard.partner_id == partner_id if partner_id is not None else PartnerScorecard.partner_id.is_(None)
    rows = latest(db).scalars(select(PartnerScorecard).where(PartnerScorecard.day == day, where)).all()
    assert len(rows) == 1, f"{len(rows)} scorecards for partner {partner_id} on {day}"
    return rows[0]


def figures(row) -> dict:
    return {name: getattr(row, name) for name in FIGURE_COLUMNS}


def expect(expected: dict) -> dict:
    """Whole figures exactly, shares and averages to 1e-9."""
    return {k: (pytest.approx(v, rel=1e-9) if isinstance(v, float) else v) for k, v in expected.items()}


def run(db, day=DAY):
    factories.outcomes_as_migrated(db)  # the renewals and churns these histories describe, as outcomes
    result = aggregate(db, day, force=True)
    assert result.status == "done", result.error


# --- the figures ---------------------------------------------------------------------------------


def test_every_figure_of_a_partner_and_of_the_channel_matches_the_hand_computed_example(db, outcome_model):
    a = factories.partner(db, name="Alpha Systems")
    build_a(db, a)
    run(db)
    assert figures(card(db, a.id)) == expect(A_FIGURES)
    # One partner: the channel row is the same figures over the same accounts.
    assert figures(card(db, None)) == expect(A_FIGURES)


def test_no_figure_of_one_partner_leaks_into_anothers_scorecard(db, outcome_model):
    a, b = factories.partner(db, name="Alpha Systems"), factories.partner(db, name="Bravo Networks")
    build_a(db, a)
    run(db)
    alone = figures(card(db, a.id))
    assert alone == expect(A_FIGURES)

    # B arrives with extreme values on every figure; A's row is recomputed from scratch.
    build_b(db, b)
    run(db)
    assert figures(card(db, a.id)) == alone
    assert figures(card(db, b.id)) == expect(B_FIGURES)
    assert figures(card(db, None)) == expect(CHANNEL_AB_FIGURES)
    assert len(latest(db).scalars(select(PartnerScorecard).where(PartnerScorecard.day == DAY)).all()) == 3


def test_a_partner_with_nothing_to_count_gets_none_not_zero(db, outcome_model):
    c = factories.partner(db)
    build_c(db, c)
    run(db)
    row = figures(card(db, c.id))
    assert (row["accounts"], row["arr_jpy"], row["average_health"], row["median_health"]) == (1, 2_000_000, 80.0, 80.0)
    assert (row["onboarding_on_time_pct"], row["median_ttfv_days"], row["nps"]) == (None, None, None)
    assert (row["reporting_compliance_pct"], row["grr_pct"], row["nrr_pct"], row["renewal_rate_pct"]) == (100.0, 100.0, 100.0, 100.0)
    assert (row["churned_arr_jpy"], row["at_risk_arr_jpy"], row["renewals_90_green"]) == (0, 0, 0)


# --- the channel benchmark -----------------------------------------------------------------------


def test_benchmark_percentiles_and_channel_medians_among_three_partners(db, outcome_model, monkeypatch):
    # The arithmetic, with the anonymity threshold lowered to these three partners.
    monkeypatch.setattr(insights, "BENCHMARK_MIN_PARTNERS", 2)
    a, b, c = (factories.partner(db, name=n) for n in ("Alpha Systems", "Bravo Networks", "Charlie Works"))
    build_a(db, a)
    build_b(db, b)
    build_c(db, c)
    run(db)
    # figure                A       B       C      median of the partners with a value
    # average_health        57.5    48.33   80     57.5
    # onboarding_on_time    62.5    66.67   None   (62.5 + 66.67) / 2 = 64.58
    # reporting_compliance  60      100     100    100
    # nps                   20      33.33   None   (20 + 33.33) / 2 = 26.67
    # renewal_rate          66.67   66.67   100    66.67
    # nrr                   82.5    53.85   100    82.5
    # Percentile: the share of the *other partners with a value* this one is ahead of (ties are
    # not ahead); a partner without a value has none and does not count for the others.
    expected = {
        a.id: {"average_health": 50, "onboarding_on_time_pct": 0, "reporting_compliance_pct": 0, "nps": 0,
               "renewal_rate_pct": 0, "nrr_pct": 50},
        b.id: {"average_health": 0, "onboarding_on_time_pct": 100, "reporting_compliance_pct": 50, "nps": 100,
               "renewal_rate_pct": 0, "nrr_pct": 0},
        c.id: {"average_health": 100, "onboarding_on_time_pct": None, "reporting_compliance_pct": 50, "nps": None,
               "renewal_rate_pct": 100, "nrr_pct": 100},
    }
    medians = {"average_health": 57.5, "onboarding_on_time_pct": (62.5 + 200 / 3) / 2, "reporting_compliance_pct": 100.0,
               "nps": (20 + 100 / 3) / 2, "renewal_rate_pct": 200 / 3, "nrr_pct": 82.5}
    own = {a.id: A_FIGURES, b.id: B_FIGURES, c.id: {"average_health": 80.0, "onboarding_on_time_pct": None,
                                                     "reporting_compliance_pct": 100.0, "nps": None,
                                                     "renewal_rate_pct": 100.0, "nrr_pct": 100.0}}
    for partner_id, percentiles in expected.items():
        rows = benchmark(latest(db), partner_id, DAY)
        assert [r.figure for r in rows] == list(percentiles)
        assert {r.figure: r.percentile for r in rows} == percentiles, partner_id
        assert {r.figure: r.channel_median for r in rows} == expect(medians)
        assert {r.figure: r.value for r in rows} == expect({f: own[partner_id][f] for f in percentiles})
    # The day defaults to the latest aggregated one.
    assert benchmark(latest(db), a.id) == benchmark(latest(db), a.id, DAY)


# --- the optimism check --------------------------------------------------------------------------


def test_optimism_check_compares_reported_green_with_the_objective_band_and_with_churn(db, outcome_model):
    p, q = factories.partner(db), factories.partner(db)
    # Snapshots: S0 2025-09-01, S1 2026-03-01, S2 2026-08-01 and DAY. The objective band is the
    # outcome band here (the model has no other component than outcome).
    live = {}
    for name, sentiment, outcome in (("p1", GREEN, 30), ("p2", GREEN, 60), ("p3", GREEN, 85), ("p4", RED, 90)):
        live[name] = account(db, p, start=date(2025, 4, 1), arr=1_000_000)
        report(db, live[name], H2, date(2026, 10, 1), outcome=outcome, sentiment=sentiment)
    # p5: red in January, green in July, churned 2026-09-15: last snapshot before (S2) green.
    p5 = account(db, p, start=date(2025, 4, 1), arr=1_000_000, churned_on=date(2026, 9, 15))
    report(db, p5, H1, date(2026, 1, 10), outcome=30, sentiment=RED)
    report(db, p5, H2, date(2026, 7, 1), outcome=30, sentiment=GREEN)
    # p6: green in August 2025 (S0), red in January (S1), churned 2026-06-01: the newest snapshot, S1, is red.
    p6 = account(db, p, start=date(2025, 4, 1), arr=1_000_000, churned_on=date(2026, 6, 1))
    report(db, p6, date(2025, 4, 1), date(2025, 8, 20), outcome=80, sentiment=GREEN)
    report(db, p6, H1, date(2026, 1, 15), outcome=80, sentiment=RED)
    # p7: green, churned 2025-10-01, more than a year before DAY: out of the window.
    p7 = account(db, p, start=date(2025, 4, 1), arr=1_000_000, churned_on=date(2025, 10, 1))
    report(db, p7, date(2025, 4, 1), date(2025, 8, 15), outcome=80, sentiment=GREEN)
    # p8: churned 2026-04-15 without ever reporting: no sentiment to judge, not counted.
    account(db, p, start=date(2025, 4, 1), arr=1_000_000, churned_on=date(2026, 4, 15))
    # Partner Q: one live account reported green but objectively red, one churn after a green report.
    q1 = account(db, q, start=date(2025, 4, 1), arr=1_000_000)
    report(db, q1, H2, date(2026, 10, 1), outcome=10, sentiment=GREEN)
    q2 = account(db, q, start=date(2025, 4, 1), arr=1_000_000, churned_on=date(2026, 10, 1))
    report(db, q2, H2, date(2026, 7, 1), outcome=90, sentiment=GREEN)
    for day in (date(2025, 9, 1), date(2026, 3, 1), date(2026, 8, 1), DAY):
        run(db, day)

    # P on DAY: green reports p1 (objectively red), p2 (yellow), p3 (green) -> 3, 1 red, 2 not green
    # = 66.7 %; p4 is reported red. Churned in the year with a report before: p5 (green), p6 (red)
    # -> 2, 1 green = 50 %.
    mine = optimism_check(latest(db), p.id, DAY)
    assert (mine.green_reports, mine.green_but_red, mine.green_but_not_green, mine.churned, mine.churned_while_green) == (3, 1, 2, 2, 1)
    assert (mine.overstated_pct, mine.churned_while_green_pct) == (66.7, 50.0)
    # Q alone: 1 green report, objectively red; 1 churn, green before it.
    theirs = optimism_check(latest(db), q.id, DAY)
    assert (theirs.green_reports, theirs.green_but_red, theirs.green_but_not_green, theirs.churned, theirs.churned_while_green) == (1, 1, 1, 1, 1)
    assert (theirs.overstated_pct, theirs.churned_while_green_pct) == (100.0, 100.0)
    # The channel: 4 green reports, 2 red, 3 not green = 75 %; 3 churns, 2 green = 66.7 %.
    channel = optimism_check(latest(db), None)  # the latest day is DAY
    assert (channel.green_reports, channel.green_but_red, channel.green_but_not_green, channel.churned, channel.churned_while_green) == (4, 2, 3, 3, 2)
    assert (channel.overstated_pct, channel.churned_while_green_pct) == (75.0, 66.7)
    # A snapshot written before the nightly run stored these counts is counted when read: the same numbers.
    stored = [optimism_check(latest(db), partner_id, DAY) for partner_id in (p.id, q.id, None)]
    db.execute(update(PartnerScorecard).values({name: None for name in OPTIMISM_COLUMNS}))
    db.commit()
    assert [optimism_check(latest(db), partner_id, DAY) for partner_id in (p.id, q.id, None)] == stored


# --- the model check -----------------------------------------------------------------------------


@pytest.fixture
def outcome_history(db, outcome_model):
    """Renewals and churns in the year to DAY, with snapshots on S0 2025-06-15, S1 2026-03-01,
    S1b 2026-03-15, S2 2026-04-01, S3 2026-05-01, S4 2026-06-01 (plus DAY itself).

    The band that counts is the newest snapshot 90 to 120 days before the outcome:
    account  outcome                    window                    snapshot  outcome then  band
    M1       renewed 2026-07-01         2026-03-03..2026-04-02    S2 (91)   80 (S1b: 20)  green
    M2       churned 2026-08-01         2026-04-03..2026-05-03    S3 (92)   30            red (its June report came later)
    M3       churned 2026-09-01         2026-05-04..2026-06-03    S4 (92)   75            green
    M4       renewed 2026-08-15         2026-04-17..2026-05-17    S3 (106)  60            yellow
    M5       renewed 2026-06-20         2026-02-20..2026-03-22    S1b (97)  10            red (S2, 80 days, is green but too close)
    M9       renewed 2026-07-01         as M1                     S2        no report     None
    M6       churned 2026-10-15         2026-06-17..2026-07-17    none      -             not counted
    M7       renews 2026-12-01          after DAY                                         not counted
    M8       churned 2025-10-01         more than a year before DAY                       not counted
    """
    m = factories.partner(db)
    jan = date(2026, 1, 10)
    m1 = account(db, m, start=date(2025, 7, 1), arr=1_000_000, renewal=date(2027, 7, 1))
    report(db, m1, H1, jan, outcome=20)
    report(db, m1, H1, date(2026, 3, 20), outcome=80, version=2)
    m2 = account(db, m, start=date(2025, 4, 1), arr=1_000_000, churned_on=date(2026, 8, 1))
    report(db, m2, H1, jan, outcome=30)
    report(db, m2, H2, date(2026, 6, 15), outcome=90)
    m3 = account(db, m, start=date(2025, 4, 1), arr=1_000_000, churned_on=date(2026, 9, 1))
    report(db, m3, H1, jan, outcome=75)
    m4 = account(db, m, start=date(2025, 8, 15), arr=1_000_000, renewal=date(2027, 8, 15))
    report(db, m4, H1, jan, outcome=60)
    m5 = account(db, m, start=date(2025, 6, 20), arr=1_000_000, renewal=date(2027, 6, 20))
    report(db, m5, H1, jan, outcome=10)
    report(db, m5, H1, date(2026, 3, 25), outcome=95, version=2)
    account(db, m, start=date(2025, 7, 1), arr=1_000_000, renewal=date(2027, 7, 1))  # M9, never reported
    m6 = account(db, m, start=date(2025, 4, 1), arr=1_000_000, churned_on=date(2026, 10, 15))
    report(db, m6, H1, jan, outcome=50)
    m7 = account(db, m, start=date(2025, 12, 1), arr=1_000_000, renewal=date(2027, 12, 1))
    report(db, m7, H1, jan, outcome=90)
    m8 = account(db, m, start=date(2025, 4, 1), arr=1_000_000, churned_on=date(2025, 10, 1))
    report(db, m8, date(2025, 4, 1), date(2025, 5, 1), outcome=90)
    for day in (date(2025, 6, 15), date(2026, 3, 1), date(2026, 3, 15), date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1), DAY):
        run(db, day)


def rows_of(rows):
    return [(r.band, r.accounts, r.renewed, r.churned, r.renewal_rate) for r in rows]


def test_model_check_counts_outcomes_by_the_band_90_to_120_days_before(db, outcome_history):
    # green: M1 renewed, M3 churned; yellow: M4 renewed; red: M2 churned, M5 renewed; none: M9 renewed.
    assert rows_of(model_check(latest(db), DAY)) == [
        ("green", 2, 1, 1, 50.0), ("yellow", 1, 1, 0, 100.0), ("red", 2, 1, 1, 50.0), (None, 1, 1, 0, 100.0),
    ]


def test_model_check_with_a_proposed_model_rebands_the_same_snapshots(db, outcome_history):
    # Same outcome-only weights, green from 78 and yellow from 25: M1 80 green; M3 75, M4 60,
    # M2 30 yellow; M5 10 red; M9 still unscored.
    proposed = ModelSpec(version=99, weights=OUTCOME_ONLY, green_min=78, yellow_min=25)
    assert rows_of(model_check(latest(db), DAY, proposed)) == [
        ("green", 1, 1, 0, 100.0), ("yellow", 3, 1, 2, 33.3), ("red", 1, 1, 0, 100.0), (None, 1, 1, 0, 100.0),
    ]


# --- the partner scorecard page ------------------------------------------------------------------


ROW_RE = re.compile(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', re.S)
CELL_RE = re.compile(r"<td[^>]*>(.*?)</td>", re.S)


def table_rows(html: str) -> list[tuple[str, list[str]]]:
    """(row header, cell texts) of every table row with a row header, in page order."""
    text = lambda fragment: " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())  # noqa: E731
    return [(text(head), [text(cell) for cell in CELL_RE.findall(cells)]) for head, cells in ROW_RE.findall(html)]


def test_the_scorecard_page_shows_a_reseller_its_own_numbers_and_nothing_of_another(db, browser, outcome_model):
    a, b = factories.partner(db, name="Alpha Systems"), factories.partner(db, name="Bravo Networks")
    build_a(db, a)
    build_b(db, b)
    run(db)
    user_a = factories.user(db, Role.PARTNER_USER, a)
    reseller = browser(user_a)

    page = reseller.get(f"/partners/{a.id}/scorecard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Scorecard: Alpha Systems" in html
    assert "¥8,100,000" in html and "¥3,800,000" in html  # headline: ARR, ARR needing attention or at risk
    rows = table_rows(html)
    # The figures table: A_FIGURES as the page writes them.
    assert rows[:12] == [
        # Each band's figure names its band (for screen readers; the badge's colour and shape for the eye).
        ("Accounts by band", ["Healthy: 2 Needs attention: 1 At risk: 1 · 1 with not enough data"]),
        ("ARR by band", ["Healthy: ¥3,700,000 Needs attention: ¥800,000 At risk: ¥3,000,000 · not enough data ¥600,000"]),
        ("Median health", ["60"]),
        ("Onboarding milestones on time", ["62.5%"]),
        ("Median time to first value", ["56 days"]),  # 55.5 rounded
        ("Reporting compliance", ["60.0%"]),
        ("NPS", ["+20"]),  # NPS carries its sign
        ("Renewal rate (12 months)", ["66.7%"]),
        ("Gross revenue retention", ["70.0%"]),
        ("Net revenue retention", ["82.5%"]),
        ("Churned ARR (12 months)", ["¥1,000,000"]),
        ("Renewals in the next 90 days", ["Healthy: 1 Needs attention: 1 At risk: 1"]),
    ]
    # The benchmark: A's own values; with two partners the channel median (the mean of A and B)
    # and the percentile would give B's figures away, so they are withheld.
    assert rows[12:18] == [
        ("Average health", ["58", "—", "—"]),  # 57.5, written as everywhere else
        ("Onboarding milestones on time", ["62.5%", "—", "—"]),
        ("Reporting compliance", ["60.0%", "—", "—"]),
        ("NPS", ["+20", "—", "—"]),
        ("Renewal rate (12 months)", ["66.7%", "—", "—"]),
        ("Net revenue retention", ["82.5%", "—", "—"]),
    ]
    # The optimism check, A alone (the channel column would be A plus B): green reports A1 A2 A4 A6;
    # objectively not green A2, A4: 2 / 4; no snapshot before any churn.
    assert rows[18:23] == [
        ("Accounts reported green", ["4"]),
        ("… of which the objective figures say yellow or red", ["50.0%"]),
        ("… of which the objective figures say red", ["1"]),
        ("Churned in 12 months", ["0"]),
        ("… last reported green before churning", ["—"]),
    ]
    # Nothing of B: not its name, its accounts' names (B has alerts too), nor its own figures.
    for other in ("Bravo", "¥42,000,000", "¥50,000,000", "¥12,000,000", "¥30,000,000", "23.1%", "53.8%", "48.3", "33.3"):
        assert other not in html, other

    other_page = reseller.get(f"/partners/{b.id}/scorecard")
    assert other_page.status_code == 404
    assert "Bravo" not in other_page.get_data(as_text=True)
