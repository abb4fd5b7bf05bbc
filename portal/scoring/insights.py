"""Reading the snapshots: trends, the channel benchmark, the optimism check and the model check.

Plain functions of a session; the pages, the API and the digests share them. Every query
names the partner it is for, because snapshots are read without the ORM's scoping.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from portal.scoring import figures
from portal.scoring.aggregation import latest_day
from portal.scoring.health import ModelSpec, capped_band, gated_score
from portal.models import AccountScore, Band, OutcomeKind, Partner, PartnerScorecard, RenewalOutcome
from portal.core.sqlfunctions import days_between

# The main figures a reseller sees its channel percentile for; higher is better for all.
BENCHMARK_FIGURES = ("average_health", "onboarding_on_time_pct", "reporting_compliance_pct", "nps",
                     "renewal_rate_pct", "nrr_pct")
FIGURE_NAMES = {
    "average_health": _l("Average health"),
    "onboarding_on_time_pct": _l("Onboarding milestones on time"),
    "reporting_compliance_pct": _l("Reporting compliance"),
    "nps": "NPS",
    "renewal_rate_pct": _l("Renewal rate (12 months)"),
    "nrr_pct": _l("Net revenue retention"),
}
# Fewer partners than this with a figure and the channel median (or the channel-wide optimism
# rate) would let a reseller work out the others' own figures: withheld then.
BENCHMARK_MIN_PARTNERS = 5
MODEL_CHECK_LEAD_DAYS = 90
SNAPSHOT_TOLERANCE_DAYS = 30  # weekly or missed snapshots: take the newest within a month before


def scorecard(session: Session, partner_id: int | None, day: date | None = None) -> PartnerScorecard | None:
    """The partner's (None: the channel's) scorecard on `day`, default the latest."""
    day = day or latest_day(session)
    if day is None:
        return None
    where = PartnerScorecard.partner_id == partner_id if partner_id is not None else PartnerScorecard.partner_id.is_(None)
    return session.scalar(select(PartnerScorecard).where(PartnerScorecard.day == day, where))


COMPARE_DAYS = 7  # "the change against the previous period": a week, the digest's rhythm


def comparison_day(session: Session, day: date, days: int = COMPARE_DAYS) -> date | None:
    """The newest snapshot day at least `days` before `day` (snapshots may have gaps)."""
    return session.scalar(select(func.max(PartnerScorecard.day)).where(PartnerScorecard.day <= day - timedelta(days=days)))


def previous_scorecard(session: Session, partner_id: int | None, day: date, days: int = COMPARE_DAYS) -> PartnerScorecard | None:
    """The partner's (None: the channel's) newest scorecard at least `days` before `day`, what a
    page's changes are against: comparison_day and that day's scorecard in one query."""
    where = PartnerScorecard.partner_id == partner_id if partner_id is not None else PartnerScorecard.partner_id.is_(None)
    return session.scalar(select(PartnerScorecard).where(where, PartnerScorecard.day <= day - timedelta(days=days))
                          .order_by(PartnerScorecard.day.desc()).limit(1))


@dataclass(frozen=True)
class Mover:
    partner_id: int
    name: str
    before: float
    now: float

    @property
    def change(self) -> float:
        return self.now - self.before


def movers(session: Session, day: date, before: date, limit: int = 5) -> list[Mover]:
    """The partners whose average health changed most between two snapshot days, either way."""
    then = aliased(PartnerScorecard)
    now = aliased(PartnerScorecard)
    change = now.average_health - then.average_health
    rows = session.execute(
        select(Partner.id, Partner.name, then.average_health, now.average_health)
        .join(now, now.partner_id == Partner.id).join(then, then.partner_id == Partner.id)
        .where(now.day == day, then.day == before, change.is_not(None))
        .order_by(func.abs(change).desc(), Partner.name).limit(limit)
    ).all()
    # The query keeps only rows whose change is not NULL, so both averages are present.
    # A partner whose average reads the same on both days (66.2 and 65.8 both show 66) has not moved.
    return [Mover(partner_id, name, then_health, now_health) for partner_id, name, then_health, now_health in rows
            if then_health is not None and now_health is not None
            and figures.shown_change(now_health, then_health, "average_health") is not None]


TREND_WEEKS = 26


def weekly_days(last: date, weeks: int = TREND_WEEKS) -> list[date]:
    """The snapshot days a trend shows: `last` and the same weekday back `weeks` weeks.

    Weekly points keep a half-year chart and its table readable (27 rows, not 182)."""
    return [last - timedelta(weeks=n) for n in range(weeks, -1, -1)]


def scorecard_trend(session: Session, partner_id: int | None, last: date) -> list[PartnerScorecard]:
    """A partner's weekly scorecards up to `last` (partner_id None: the channel's)."""
    where = PartnerScorecard.partner_id == partner_id if partner_id is not None else PartnerScorecard.partner_id.is_(None)
    return list(session.scalars(select(PartnerScorecard).where(where, PartnerScorecard.day.in_(weekly_days(last)))
                                .order_by(PartnerScorecard.day)))


@dataclass(frozen=True)
class WeekScore:
    day: date
    score: int | None  # None: no score that week, drawn as a gap (never as 0)
    band: Band | None


def account_trend(session: Session, account_id: int, last: date) -> list[WeekScore]:
    """An account's weekly scores up to `last`, one entry per week from its first scored week,
    weeks without a score included as gaps so the chart's weeks are evenly spaced."""
    found = {s.day: s for s in session.scalars(select(AccountScore).where(
        AccountScore.account_id == account_id, AccountScore.day.in_(weekly_days(last))))}
    days = [d for d in weekly_days(last) if found and d >= min(found)]
    return [WeekScore(d, found[d].score if d in found else None, found[d].band if d in found else None) for d in days]


def latest_account_score(session: Session, account_id: int) -> AccountScore | None:
    return session.scalar(select(AccountScore).where(AccountScore.account_id == account_id)
                          .order_by(AccountScore.day.desc()).limit(1))


@dataclass(frozen=True)
class Benchmark:
    figure: str
    value: float | None
    channel_median: float | None
    percentile: int | None  # 0-100: share of partners this one is ahead of


def benchmark(session: Session, partner_id: int, day: date | None = None) -> list[Benchmark]:
    """The partner's percentile among all partners on each main figure, and the channel median.

    Only figures and ranks leave this function, never another partner's name or values; with
    fewer than BENCHMARK_MIN_PARTNERS partners having a figure, its median and rank are withheld.
    """
    return benchmarks(session, day, partner_id).get(partner_id, [])


def benchmarks(session: Session, day: date | None = None, partner_id: int | None = None) -> dict[int, list[Benchmark]]:
    """benchmark() for every partner at once (partner_id: only that one), in the same few
    queries: the weekly digests of every reseller share them."""
    day = day or latest_day(session)
    if day is None:
        return {}
    s = PartnerScorecard
    # Ranked among the partners that have the figure: partners without it (NULL) sort first on
    # SQLite and last on PostgreSQL, and would otherwise shift or dilute everyone's rank.
    ranked = select(
        s.partner_id,
        *[getattr(s, f).label(f) for f in BENCHMARK_FIGURES],
        *[case((getattr(s, f).is_(None), None),
               else_=func.percent_rank().over(partition_by=getattr(s, f).is_(None), order_by=getattr(s, f)))
          .label(f"{f}_rank") for f in BENCHMARK_FIGURES],
    ).where(s.day == day, s.partner_id.is_not(None)).subquery("ranked")
    rows = select(ranked) if partner_id is None else select(ranked).where(ranked.c.partner_id == partner_id)
    found = {row.partner_id: row for row in session.execute(rows)}
    medians = {}
    for figure in BENCHMARK_FIGURES:
        values = session.scalars(select(getattr(s, figure)).where(s.day == day, s.partner_id.is_not(None),
                                                                  getattr(s, figure).is_not(None))
                                 .order_by(getattr(s, figure))).all()
        n = len(values)
        medians[figure] = None if not n else (values[(n - 1) // 2] + values[n // 2]) / 2
        if n < BENCHMARK_MIN_PARTNERS:
            medians[figure] = None

    def of(mine) -> list[Benchmark]:
        return [
            Benchmark(f, getattr(mine, f) if mine else None, medians[f],
                      round(100 * getattr(mine, f"{f}_rank"))
                      if mine and getattr(mine, f"{f}_rank") is not None and medians[f] is not None else None)
            for f in BENCHMARK_FIGURES
        ]

    wanted = found.keys() if partner_id is None else [partner_id]
    return {pid: of(found.get(pid)) for pid in wanted}


def enough_partners_to_compare(session: Session, day: date | None) -> bool:
    """Whether channel-wide rates can be shown to a reseller without revealing another partner."""
    if day is None:
        return False
    count = session.execute(select(func.count()).select_from(PartnerScorecard)
                            .where(PartnerScorecard.day == day, PartnerScorecard.partner_id.is_not(None))).scalar_one()
    return count >= BENCHMARK_MIN_PARTNERS


@dataclass(frozen=True)
class OptimismCheck:
    """How far a reseller's own sentiment runs ahead of what the objective components say."""

    green_reports: int
    green_but_red: int          # reported green, objectively red
    green_but_not_green: int    # reported green, objectively yellow or red
    churned: int                # accounts churned in the last 365 days with a snapshot before
    churned_while_green: int    # ... whose last report before churning was green

    def share(self, part: int, whole: int) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    @property
    def overstated_pct(self) -> float | None:
        return self.share(self.green_but_not_green, self.green_reports)

    @property
    def churned_while_green_pct(self) -> float | None:
        return self.share(self.churned_while_green, self.churned)


def optimism_check(session: Session, partner_id: int | None, day: date | None = None,
                   card: PartnerScorecard | None = None) -> OptimismCheck | None:
    """For one partner (None: the whole channel), on the latest snapshot and the last year's churn:
    the counts the nightly run stored on the scorecard (`card`, when the caller has read it), or
    counted now for a snapshot written without them."""
    day = day or latest_day(session)
    if day is None:
        return None
    if card is not None:
        stored: Any = tuple(getattr(card, name) for name in figures.OPTIMISM_COLUMNS)
    else:
        row = (PartnerScorecard.partner_id == partner_id) if partner_id is not None else PartnerScorecard.partner_id.is_(None)
        stored = session.execute(select(*[getattr(PartnerScorecard, name) for name in figures.OPTIMISM_COLUMNS])
                                 .where(PartnerScorecard.day == day, row)).first()
    if stored is None or stored[0] is None:
        parts = figures.optimism_parts(day, partner_id is not None, partner_id)
        stored = session.execute(select(*[parts.c[name] for name in figures.OPTIMISM_COLUMNS])).first()
    return OptimismCheck(*stored) if stored else OptimismCheck(0, 0, 0, 0, 0)


@dataclass(frozen=True)
class ModelCheckRow:
    band: str | None
    accounts: int
    renewed: int
    churned: int

    @property
    def renewal_rate(self) -> float | None:
        return round(100 * self.renewed / self.accounts, 1) if self.accounts else None


def model_check(session: Session, day: date, model: ModelSpec | None = None) -> list[ModelCheckRow]:
    """Renewal outcomes decided in the last 365 days by the band each account had 90 days before.

    The outcomes are the recorded ones (portal.renewals), and those inferred before outcomes were
    recorded (a renewal date less a year), on the day each was decided. The band is the one in the
    newest snapshot from 90 to 120 days before; with `model`, the band that model gives to that
    snapshot's components.
    """
    o = RenewalOutcome
    outcomes = (
        select(o.account_id, o.decided_on.label("on"), case((o.kind == OutcomeKind.RENEWED, 1), else_=0).label("renewed"))
        .where(o.decided_on <= day, o.decided_on > day - timedelta(days=365))
        .subquery("outcomes")
    )
    s = AccountScore
    lead = days_between(outcomes.c.on, s.day)
    before = (
        select(outcomes.c.account_id, outcomes.c.renewed, s,
               func.row_number().over(partition_by=outcomes.c.account_id, order_by=s.day.desc()).label("rn"))
        .join(s, s.account_id == outcomes.c.account_id)
        .where(lead >= MODEL_CHECK_LEAD_DAYS, lead <= MODEL_CHECK_LEAD_DAYS + SNAPSHOT_TOLERANCE_DAYS)
        .subquery("before")
    )
    if model is None:
        band = before.c.band
    else:
        band, _capped = capped_band(before, gated_score(before, model), model)
    rows = session.execute(
        select(band.label("band"), func.count().label("accounts"), func.sum(before.c.renewed).label("renewed"))
        .where(before.c.rn == 1).group_by(band)
    ).all()
    order = {Band.GREEN.value: 0, Band.YELLOW.value: 1, Band.RED.value: 2, None: 3}
    result = [ModelCheckRow(_band_value(r.band), r.accounts, int(r.renewed or 0), r.accounts - int(r.renewed or 0)) for r in rows]
    return sorted(result, key=lambda r: order[r.band])


def _band_value(band) -> str | None:
    return band.value if isinstance(band, Band) else band
