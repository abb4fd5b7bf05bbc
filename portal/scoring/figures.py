"""Every scorecard figure, defined once, as SQL over one day's account scores and the history.

`scorecard_select(day)` gives one row per partner with the columns of PartnerScorecard and
the single channel row (partner_id NULL), in one statement. Each
figure is built by one function below whose docstring says exactly how it is computed.
Everything is grouped by the account's own partner_id, so no partner's accounts reach
another partner's row.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Float, FromClause, Integer, and_, case, cast, exists, func, literal, null, or_, select, union_all, update
from sqlalchemy.orm import Session

from portal.reporting.cadence import cadence_rules, period_containing
from portal.models import Account, AccountArr, AccountScore, Band, CheckIn, LifecycleStatus, OutcomeKind, PartnerScorecard, RenewalOutcome, Sentiment
from portal.core import formatting
from portal.core.sqlfunctions import days_between

YEAR = 365
RENEWAL_WINDOW_DAYS = 90
NPS_PROMOTER, NPS_DETRACTOR = 9, 6


def _key(column, by_partner: bool):
    return (column if by_partner else cast(null(), Integer)).label("partner_id")


def _median(value, key_column, source_where, by_partner: bool, name: str):
    """Median of `value` per key, with window functions (SQLite has no percentile_cont)."""
    partition = [key_column] if by_partner else []
    ranked = (
        select(
            _key(key_column, by_partner),
            value.label("value"),
            func.row_number().over(partition_by=partition, order_by=value).label("rn"),
            func.count().over(partition_by=partition).label("n"),
        )
        .where(source_where, value.is_not(None))
        .subquery(f"{name}_ranked")
    )
    # Floor division: `/` is true division in SQLAlchemy 2, which would miss the lower middle of an even count.
    middle = or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2)
    return (
        select(ranked.c.partner_id, func.avg(cast(ranked.c.value, Float)).label(name))
        .where(middle)
        .group_by(ranked.c.partner_id)
        .subquery(name)
    )


def band_figures(day: date, by_partner: bool):
    """From the day's account scores (live accounts only):

    accounts, arr_jpy: live accounts and their ARR; *_accounts / *_arr_jpy: the same per band
    (unscored: "Not enough data", components short of the model's coverage, counted apart and
    never in a band); average_health: mean score of scored accounts (unscored have no score);
    onboarding_on_time_pct: milestones done within 7 days of plan / milestones due, all accounts;
    nps: % promoters (9-10) minus % detractors (0-6) over the latest NPS answer of each account, an
    account that reports a survey's NPS score (-100..100) counting with that score;
    at_risk_arr_jpy: ARR in yellow and red; renewals_90_<band>: accounts renewing in the next 90 days
    (renewals_90_unscored: those with not enough data).
    """
    s = AccountScore
    by_band = lambda band, then: func.sum(case((s.band == band, then), else_=0))  # noqa: E731
    renewing = and_(s.renewal_date.is_not(None), days_between(s.renewal_date, literal(day)).between(0, RENEWAL_WINDOW_DAYS))
    # Each account's voice on the NPS scale: an answer counts as a promoter (+100), passive (0) or
    # detractor (-100), a reported survey score as itself; their mean is the classic NPS when
    # every account gave an answer, and takes survey scores in rather than leaving them out.
    voice = case((s.nps_score.is_not(None), cast(s.nps_score, Float)),
                 (s.nps >= NPS_PROMOTER, 100.0), (s.nps <= NPS_DETRACTOR, -100.0), (s.nps.is_not(None), 0.0), else_=null())
    return (
        select(
            _key(s.partner_id, by_partner),
            func.count().label("accounts"),
            func.coalesce(func.sum(s.arr_jpy), 0).label("arr_jpy"),
            *[by_band(b, 1).label(f"{b.value}_accounts") for b in Band],
            func.sum(case((s.band.is_(None), 1), else_=0)).label("unscored_accounts"),
            *[by_band(b, s.arr_jpy).label(f"{b.value}_arr_jpy") for b in Band],
            func.sum(case((s.band.is_(None), s.arr_jpy), else_=0)).label("unscored_arr_jpy"),
            func.avg(cast(s.score, Float)).label("average_health"),
            (cast(func.sum(s.milestones_on_time), Float) * 100 / func.nullif(func.sum(s.milestones_due), 0)).label("onboarding_on_time_pct"),
            func.avg(voice).label("nps"),
            func.sum(case((s.band.in_([Band.YELLOW, Band.RED]), s.arr_jpy), else_=0)).label("at_risk_arr_jpy"),
            *[func.sum(case((and_(renewing, s.band == b), 1), else_=0)).label(f"renewals_90_{b.value}") for b in Band],
            func.sum(case((and_(renewing, s.band.is_(None)), 1), else_=0)).label("renewals_90_unscored"),
        )
        .where(s.day == day)
        .group_by(*([s.partner_id] if by_partner else []))
        .subquery("bands")
    )


def median_health(day: date, by_partner: bool):
    """median_health: the median score of the day's scored accounts."""
    return _median(AccountScore.score, AccountScore.partner_id, AccountScore.day == day, by_partner, "median_health")


def median_ttfv(day: date, by_partner: bool):
    """median_ttfv_days: median days from contract start to the first-value milestone, accounts that reached it."""
    return _median(AccountScore.ttfv_days, AccountScore.partner_id, AccountScore.day == day, by_partner, "median_ttfv_days")


def reporting_compliance(session: Session, day: date):
    """reporting_compliance_pct: of the check-ins owed for periods whose due date (period end plus
    grace days) fell in the last 365 days, the % whose first version arrived by the due date.
    Per partner: the check-ins owed and those on time (`compliance_figure` makes the %).
    An account owes a period if its contract had started by the period's end and it had not
    churned before the period's end.
    Renewal outcomes count too: each contract term that ended in the 365 days to `day` owes one,
    on time once recorded (an inferred outcome, from before outcomes were recorded, counts in
    neither); a live account whose renewal date has passed with no outcome owes one not yet made."""
    rules = cadence_rules(session)
    owed_periods = []
    for segment, rule in rules.items():
        period = period_containing(day, rule.months).previous()
        while period.due_on(rule.grace_days) > day - timedelta(days=YEAR):
            if period.due_on(rule.grace_days) <= day:
                owed_periods.append(select(literal(segment.value).label("segment"), literal(period.start).label("start"),
                                           literal(period.end).label("end"), literal(period.due_on(rule.grace_days)).label("due")))
            period = period.previous()
    if not owed_periods:
        owed_periods.append(select(literal("").label("segment"), literal(day).label("start"), literal(day).label("end"),
                                   literal(day).label("due")).where(literal(False)))
    periods = union_all(*owed_periods).subquery("periods")
    owes = and_(periods.c.segment == Account.segment,
                or_(Account.contract_start.is_(None), Account.contract_start <= periods.c.end),
                or_(Account.churned_on.is_(None), Account.churned_on > periods.c.end))
    # Counted apart and added up: the check-ins owed (accounts by periods) and the first versions
    # (unique per account and period) that came in by the due date. Neither side is held in a
    # hash table the size of everything owed, whose size the planner cannot estimate.
    owed = select(Account.partner_id, literal(0).label("on_time"), literal(1).label("owed")).join(periods, owes)
    on_time = (
        select(Account.partner_id, literal(1).label("on_time"), literal(0).label("owed"))
        .select_from(CheckIn)
        .join(Account, Account.id == CheckIn.account_id)
        .join(periods, and_(owes, periods.c.start == CheckIn.period_start))
        .where(CheckIn.version == 1, days_between(CheckIn.submitted_at, periods.c.due) <= 0)
    )
    o = RenewalOutcome
    year_ago = day - timedelta(days=YEAR)
    recorded = (select(Account.partner_id, literal(1).label("on_time"), literal(1).label("owed"))
                .select_from(o).join(Account, Account.id == o.account_id)
                .where(o.inferred.is_(False), o.term_end > year_ago, o.term_end <= day))
    missing = (select(Account.partner_id, literal(0).label("on_time"), literal(1).label("owed"))
               .where(Account.status != LifecycleStatus.CHURNED, Account.renewal_date > year_ago, Account.renewal_date < day,
                      ~exists().where(o.account_id == Account.id, o.term_end == Account.renewal_date)))
    parts = union_all(owed, on_time, recorded, missing).subquery("owed")
    return (
        select(parts.c.partner_id, func.sum(parts.c.on_time).label("on_time"), func.sum(parts.c.owed).label("owed"))
        .group_by(parts.c.partner_id)
        .cte("compliance_parts")
    )


def compliance_figure(parts):
    """The % from the summed parts (per partner, or summed again for the channel: integers, so
    the channel's figure is exactly what one pass over all accounts gives)."""
    return (cast(parts.c.on_time, Float) * 100 / parts.c.owed).label("reporting_compliance_pct")


def _arr_as_of(when: date, name: str):
    """Each account's ARR on a date: its latest ARR history row from that date or before."""
    ranked = (
        select(AccountArr.account_id, AccountArr.arr_jpy,
               func.row_number().over(partition_by=AccountArr.account_id, order_by=AccountArr.effective_on.desc()).label("rn"))
        .where(AccountArr.effective_on <= when)
        .subquery(f"{name}_ranked")
    )
    return select(ranked.c.account_id, ranked.c.arr_jpy).where(ranked.c.rn == 1).subquery(name)


def retention(day: date):
    """Trailing 12 months, over the renewal outcomes decided in the 365 days to `day` (recorded,
    and those inferred before outcomes were recorded; portal.renewals):

    grr_pct: sum of min(ARR after, ARR before) / sum of ARR before (a churn keeps 0);
    nrr_pct: sum of ARR after / sum of ARR before (expansion counts);
    renewal_rate_pct: renewed outcomes / all outcomes;
    churned_arr_jpy: ARR before churning of the churn outcomes.
    Per partner: the sums these are made of (`retention_figures` makes them). Terms still open
    (no outcome yet, see "outcome missing") count in none of them: no guess.
    """
    o = RenewalOutcome
    year_ago = day - timedelta(days=YEAR)
    churned = o.kind == OutcomeKind.CHURNED
    return (
        select(
            Account.partner_id,
            func.sum(case((o.arr_after_jpy < o.arr_before_jpy, o.arr_after_jpy), else_=o.arr_before_jpy)).label("kept_arr"),
            func.sum(o.arr_before_jpy).label("cohort_arr"),
            func.sum(o.arr_after_jpy).label("cohort_arr_now"),
            func.sum(case((churned, 0), else_=1)).label("renewed"),
            func.count().label("cohort"),
            func.sum(case((churned, o.arr_before_jpy), else_=0)).label("churned_arr"),
        )
        .select_from(o)
        .join(Account, Account.id == o.account_id)
        .where(o.decided_on > year_ago, o.decided_on <= day)
        .group_by(Account.partner_id)
        .cte("retention_parts")
    )


def retention_figures(parts):
    """The retention figures from the summed parts (per partner, or summed again for the channel)."""
    c = parts.c
    return [
        (cast(c.kept_arr, Float) * 100 / func.nullif(c.cohort_arr, 0)).label("grr_pct"),
        (cast(c.cohort_arr_now, Float) * 100 / func.nullif(c.cohort_arr, 0)).label("nrr_pct"),
        (cast(c.renewed, Float) * 100 / func.nullif(c.cohort, 0)).label("renewal_rate_pct"),
        func.coalesce(c.churned_arr, 0).label("churned_arr_jpy"),
    ]


FIGURE_COLUMNS = (
    "accounts", "arr_jpy", "green_accounts", "yellow_accounts", "red_accounts", "unscored_accounts",
    "green_arr_jpy", "yellow_arr_jpy", "red_arr_jpy", "average_health", "median_health", "onboarding_on_time_pct",
    "median_ttfv_days", "reporting_compliance_pct", "nps", "renewal_rate_pct", "grr_pct", "nrr_pct",
    "churned_arr_jpy", "at_risk_arr_jpy", "renewals_90_green", "renewals_90_yellow", "renewals_90_red",
    "unscored_arr_jpy", "renewals_90_unscored",
)
ZERO_WHEN_MISSING = {"accounts", "arr_jpy", "green_accounts", "yellow_accounts", "red_accounts", "unscored_accounts",
                     "green_arr_jpy", "yellow_arr_jpy", "red_arr_jpy", "churned_arr_jpy", "at_risk_arr_jpy",
                     "renewals_90_green", "renewals_90_yellow", "renewals_90_red", "unscored_arr_jpy", "renewals_90_unscored"}


# Which kind of figure each is (portal/core/formatting.py writes each kind one way) and which way
# is good: +1 when a rise is good news, -1 when it is bad (more churned ARR), 0 when neither.
FIGURE_KINDS: dict[str, tuple[str, int]] = {
    "accounts": ("count", 1), "arr_jpy": ("yen", 1),
    "green_accounts": ("count", 1), "yellow_accounts": ("count", -1), "red_accounts": ("count", -1),
    "unscored_accounts": ("count", -1),
    "green_arr_jpy": ("yen", 1), "yellow_arr_jpy": ("yen", -1), "red_arr_jpy": ("yen", -1),
    "average_health": ("score", 1), "median_health": ("score", 1), "onboarding_on_time_pct": ("pct", 1),
    "median_ttfv_days": ("days", -1), "reporting_compliance_pct": ("pct", 1), "nps": ("nps", 1),
    "renewal_rate_pct": ("pct", 1), "grr_pct": ("pct", 1), "nrr_pct": ("pct", 1),
    "churned_arr_jpy": ("yen", -1), "at_risk_arr_jpy": ("yen", -1),
    "renewals_90_green": ("count", 0), "renewals_90_yellow": ("count", 0), "renewals_90_red": ("count", 0),
    "unscored_arr_jpy": ("yen", -1), "renewals_90_unscored": ("count", 0),
    # Not scorecard columns, shown beside them: a channel percentile, an account's score.
    "percentile": ("count", 1), "score": ("score", 1),
}


def shown(value, figure: str) -> str:
    """The figure as every page and email writes it (Jinja filter `figure`)."""
    return formatting.figure(value, FIGURE_KINDS[figure][0])


def exported(value, figure: str) -> int | float | None:
    """The figure as a number for CSV and Excel, rounded as the pages show it."""
    return formatting.rounded(value, FIGURE_KINDS[figure][0])


def shown_change(now, before, figure: str) -> formatting.Change | None:
    """The change between two shown values, good or bad in the figure's own direction."""
    kind, better = FIGURE_KINDS[figure]
    return formatting.change(now, before, kind, better)


def _summed(parts, name: str):
    """The per-partner parts added up into the channel's one row."""
    return select(*[func.sum(column).label(column.name) for column in parts.c if column.name != "partner_id"]).subquery(name)


def scorecard_select(session: Session, day: date):
    """One row per partner that has accounts, and the channel row (partner_id NULL), in
    PartnerScorecard's columns. Compliance and retention read the accounts' history once, per
    partner; the channel row adds those sums up rather than reading it all again. The band
    figures and medians come from the day's scores for each row (a median is no sum)."""
    compliance, kept = reporting_compliance(session, day), retention(day)
    rows = []
    for by_partner in (True, False):
        keys = select(_key(Account.partner_id, by_partner)).distinct().subquery("keys")
        compliance_row = compliance if by_partner else _summed(compliance, "compliance_all")
        retention_row = kept if by_partner else _summed(kept, "retention_all")
        parts = [band_figures(day, by_partner), median_health(day, by_partner), median_ttfv(day, by_partner)]
        by_name = {column.name: column for part in parts for column in part.c if column.name != "partner_id"}
        by_name["reporting_compliance_pct"] = compliance_figure(compliance_row)
        by_name.update((column.name, column) for column in retention_figures(retention_row))
        columns = [
            (func.coalesce(by_name[name], 0) if name in ZERO_WHEN_MISSING else by_name[name]).label(name) for name in FIGURE_COLUMNS
        ]
        joined: FromClause = keys
        for part in parts:
            joined = joined.outerjoin(part, (part.c.partner_id == keys.c.partner_id) if by_partner else literal(True))
        for part in (compliance_row, retention_row):
            joined = joined.outerjoin(part, (part.c.partner_id == keys.c.partner_id) if by_partner else literal(True))
        rows.append(select(literal(day).label("day"), keys.c.partner_id, *columns).select_from(joined))
    return union_all(*rows)


# The optimism check's counts (portal.scoring.insights.OptimismCheck), stored on each scorecard row.
OPTIMISM_COLUMNS = ("optimism_green_reports", "optimism_green_but_red", "optimism_green_but_not_green",
                    "optimism_churned", "optimism_churned_while_green")


def optimism_parts(day: date, by_partner: bool, partner_id: int | None = None):
    """The optimism check's counts, one row per partner (by_partner) or one for the channel:
    green_reports: accounts reported green on `day`; green_but_red / green_but_not_green: of
    those, objectively red / yellow or red; churned: accounts churned in the 365 days to `day`
    with a reported sentiment before churning; churned_while_green: those whose last sentiment
    before churning was green. partner_id: that partner's row only."""
    s = AccountScore
    scope = [s.partner_id == partner_id] if partner_id is not None else []
    zero = literal(0)
    now = (
        select(_key(s.partner_id, by_partner), func.count().label("green_reports"),
               func.sum(case((s.objective_band == Band.RED, 1), else_=0)).label("green_but_red"),
               func.sum(case((s.objective_band.in_([Band.RED, Band.YELLOW]), 1), else_=0)).label("green_but_not_green"),
               zero.label("churned"), zero.label("churned_while_green"))
        .where(s.day == day, s.sentiment == Sentiment.GREEN, *scope)
        .group_by(*([s.partner_id] if by_partner else []))
    )
    last_before_churn = (
        select(s.partner_id, s.sentiment,
               func.row_number().over(partition_by=[s.partner_id, s.account_id] if by_partner else [s.account_id],
                                      order_by=s.day.desc()).label("rn"))
        .join(Account, Account.id == s.account_id)
        .where(Account.churned_on.is_not(None), Account.churned_on <= day, Account.churned_on > day - timedelta(days=YEAR),
               s.day < Account.churned_on, s.sentiment.is_not(None), *scope)
        .subquery("last_before_churn")
    )
    churn = (
        select(_key(last_before_churn.c.partner_id, by_partner), zero, zero, zero, func.count(),
               func.sum(case((last_before_churn.c.sentiment == Sentiment.GREEN, 1), else_=0)))
        .where(last_before_churn.c.rn == 1)
        .group_by(*([last_before_churn.c.partner_id] if by_partner else []))
    )
    both = union_all(now, churn).subquery("optimism_both")
    counts = [func.coalesce(func.sum(getattr(both.c, name.removeprefix("optimism_"))), 0).label(name) for name in OPTIMISM_COLUMNS]
    return select(both.c.partner_id, *counts).group_by(both.c.partner_id).subquery("optimism_parts")


def store_optimism(session: Session, day: date) -> None:
    """The day's scorecard rows get their optimism counts (zero where there is nothing to
    count), so the channel page and the scorecards read five stored numbers instead of counting
    the day's scores and a year of churn on every request."""
    card = PartnerScorecard
    session.execute(update(card).where(card.day == day).values({name: 0 for name in OPTIMISM_COLUMNS}))
    for by_partner in (True, False):
        parts = optimism_parts(day, by_partner)
        # The channel's row and part both have partner_id NULL (IS NOT DISTINCT FROM joins them).
        row = (card.partner_id == parts.c.partner_id) if by_partner else card.partner_id.is_not_distinct_from(parts.c.partner_id)
        session.execute(update(card).where(card.day == day, row).values({name: parts.c[name] for name in OPTIMISM_COLUMNS}))
