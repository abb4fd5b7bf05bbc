"""Reporting periods and what is due or overdue.

Periods are calendar-aligned to the Japanese fiscal year (April) by default: monthly periods
are months, quarterly ones start in April, July, October and January, half-years in April and
October. Because periods depend only on the segment's cadence and the day, the boundaries
are computed here once per segment, and SQL does the per-account work.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from portal.core import clock
from portal.core.db import UTCDateTime
from portal.models import Account, CheckIn, LifecycleStatus, ReportingCadence, ReportingSettings, Segment

DEFAULT_CADENCES = {Segment.HIGH_TOUCH: 1, Segment.LOW_TOUCH: 3, Segment.TECH_TOUCH: 6}
DEFAULT_GRACE_DAYS = 10
DEFAULT_ADOPTION_AFTER_DAYS = 120
# A current period's check-in is listed as due once its due date is this close.
DUE_SOON_DAYS = 31
FISCAL_YEAR_START_MONTH = 4


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    months: int

    @functools.cached_property  # periods are shared (period_containing): a file's rows format each once
    def key(self) -> str:
        """How people write the period: 2026-10 for a month, 2026-10/3 for a quarter from October."""
        return f"{self.start:%Y-%m}" if self.months == 1 else f"{self.start:%Y-%m}/{self.months}"

    @functools.cached_property
    def label(self) -> str:
        """How pages show it: 2026-10 for a month, 2026-10 – 2026-12 for a quarter."""
        return self.key if self.months == 1 else f"{self.start:%Y-%m} – {self.end:%Y-%m}"

    def due_on(self, grace_days: int) -> date:
        return self.end + timedelta(days=grace_days)

    def previous(self) -> "Period":
        return period_containing(self.start - timedelta(days=1), self.months)

    def next(self) -> "Period":
        return period_containing(self.end + timedelta(days=1), self.months)


@functools.lru_cache(maxsize=4096)  # a file's 10,000 rows name a few periods; each stored plan reads them back
def period_containing(day: date, months: int, fiscal_start: int = FISCAL_YEAR_START_MONTH) -> Period:
    offset = (day.month - fiscal_start) % 12
    start_offset = offset - offset % months
    month_index = fiscal_start - 1 + start_offset
    year = day.year - (1 if day.month < fiscal_start and fiscal_start != 1 else 0)
    start = date(year + month_index // 12, month_index % 12 + 1, 1)
    end_index = month_index + months
    end = date(year + end_index // 12, end_index % 12 + 1, 1) - timedelta(days=1)
    return Period(start=start, end=end, months=months)


@dataclass(frozen=True)
class SegmentRule:
    segment: Segment
    months: int
    grace_days: int


def cadence_rules(session: Session) -> dict[Segment, SegmentRule]:
    """The vendor's cadences, with the defaults for segments it has not set."""
    rules = {s: SegmentRule(s, DEFAULT_CADENCES[s], DEFAULT_GRACE_DAYS) for s in Segment}
    for row in session.scalars(select(ReportingCadence)):
        rules[row.segment] = SegmentRule(row.segment, row.months, row.grace_days)
    return rules


def reporting_settings(session: Session) -> ReportingSettings:
    """The vendor's lifecycle and overdue settings; the defaults (not saved) until it sets them."""
    return session.get(ReportingSettings, 1) or ReportingSettings(
        id=1, adoption_after_days=DEFAULT_ADOPTION_AFTER_DAYS, recovered_after_days=14, reopen_within_days=30)


def owes_period(session: Session, period_ends: dict[Segment, date]):
    """An account owes a check-in for its segment's period ending on `period_ends[segment]` only
    once its contract had started by then and it was in the portal by then: the account was
    created, or had sent a check-in, by the end of that day (the vendor's day). Accounts a first
    import brings in with contracts from years back owe nothing for the years before. The vendor
    may also set a day (the portal's launch, say) before which no period is owed."""
    return _owes(period_ends, reporting_settings(session).overdue_from)


def _owes(period_ends: dict[Segment, date], overdue_from: date | None):
    """`owes_period` with the vendor's start day already read (one read for many periods)."""
    def per_segment(value_of):
        return case(*[(Account.segment == s, value_of(end)) for s, end in period_ends.items()])

    end_moment = per_segment(lambda end: literal(clock.end_of_day(end), UTCDateTime()))
    reported_by_then = select(CheckIn.id).where(CheckIn.account_id == Account.id, CheckIn.submitted_at < end_moment).exists()
    condition = and_(or_(Account.contract_start.is_(None), Account.contract_start <= per_segment(literal)),
                     or_(Account.created_at < end_moment, reported_by_then))
    if overdue_from is not None:
        condition = and_(condition, per_segment(lambda end: literal(end >= overdue_from)))
    return condition


def default_period(rule: SegmentRule, today: date) -> Period:
    """The period a report sent today is for, unless it says: the last one while still in grace, else the current one."""
    current = period_containing(today, rule.months)
    previous = current.previous()
    return previous if today <= previous.due_on(rule.grace_days) else current


@dataclass(frozen=True)
class Obligation:
    """One check-in an account owes: for which period, due when, and how late it is."""

    account_id: int
    account_name: str
    reference: str
    partner_id: int
    segment: Segment
    period: Period
    due_on: date
    days_overdue: int

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0


def periods_owed(rule: SegmentRule, today: date) -> list[Period]:
    """The periods a check-in may still be owed for today: the current one, and back from it to
    the latest one past its due date (so at most three: current, one in grace, one overdue).

    On 2 December with monthly reports and 10 grace days, November is in grace and October is
    overdue: an account that reported neither owes both."""
    period = period_containing(today, rule.months)
    found = [period]
    while period.due_on(rule.grace_days) >= today:
        period = period.previous()
        found.append(period)
    return found


def _owed_steps(session: Session, today: date, *, partner_id: int | None = None, account_id: int | None = None):
    """Per step back through `periods_owed`: the periods (with their rules) by segment, and the
    statement of the live accounts that owe them. Due dates are known per segment and step, so
    a segment whose current period is not due soon is left out before anything is read."""
    rules = cadence_rules(session)
    owed = {segment: periods_owed(rule, today) for segment, rule in rules.items()}
    for step in range(max(len(periods) for periods in owed.values())):
        periods = {segment: (owed[segment][step], rules[segment]) for segment in owed if step < len(owed[segment])
                   and (step > 0 or (owed[segment][0].due_on(rules[segment].grace_days) - today).days <= DUE_SOON_DAYS)}
        if not periods:
            continue
        period_start = case(*[(Account.segment == s, literal(p.start)) for s, (p, _) in periods.items()])
        reported = select(CheckIn.id).where(CheckIn.account_id == Account.id, CheckIn.period_start == period_start).exists()
        stmt = select(Account.id, Account.name, Account.reference, Account.partner_id, Account.segment).where(
            Account.segment.in_(list(periods)),
            Account.status != LifecycleStatus.CHURNED,
            owes_period(session, {s: p.end for s, (p, _) in periods.items()}),
            ~reported,
        )
        if partner_id is not None:
            stmt = stmt.where(Account.partner_id == partner_id)
        if account_id is not None:
            stmt = stmt.where(Account.id == account_id)
        yield periods, stmt


def _obligation(row, periods, today: date) -> Obligation:
    period, rule = periods[row.segment]
    due = period.due_on(rule.grace_days)
    return Obligation(row.id, row.name, row.reference, row.partner_id, row.segment, period, due, max(0, (today - due).days))


def _urgency(o: Obligation):
    return (-o.days_overdue, o.due_on, o.account_name)


def obligations(session: Session, today: date, *, partner_id: int | None = None, account_id: int | None = None) -> list[Obligation]:
    """Check-ins owed by live accounts, most urgent first (overdue by days late, then due soonest).

    Per segment, the periods of `periods_owed`: the current one is listed once its due date is
    near, earlier ones always (overdue once their grace days have passed). An account owes a
    period only if its contract had started by the period's end. One query per step back.
    """
    found = [_obligation(row, periods, today)
             for periods, stmt in _owed_steps(session, today, partner_id=partner_id, account_id=account_id)
             for row in session.execute(stmt)]
    return sorted(found, key=_urgency)


@dataclass
class OwedFirst:
    """The first overdue and due check-ins of a partner, with how many there are of each."""

    overdue: list[Obligation]
    overdue_total: int
    due: list[Obligation]
    due_total: int


def owed_first(session: Session, today: date, partner_id: int, limit: int) -> OwedFirst:
    """`obligations` for a page that lists the first `limit` of each kind and counts the rest: the
    counts by GROUP BY and only `limit` rows read per step and kind, so a reseller with thousands
    of accounts owing costs what a small one does (at most three queries per step back)."""
    result = OwedFirst([], 0, [], 0)
    for periods, stmt in _owed_steps(session, today, partner_id=partner_id):
        late = {s: (p, r) for s, (p, r) in periods.items() if p.due_on(r.grace_days) < today}
        for segment, count in session.execute(stmt.with_only_columns(Account.segment, func.count()).group_by(Account.segment)):
            if segment in late:
                result.overdue_total += count
            else:
                result.due_total += count
        on_time = {s: v for s, v in periods.items() if s not in late}
        for chosen, into in ((late, result.overdue), (on_time, result.due)):
            if not chosen:
                continue
            due_on = case(*[(Account.segment == s, literal(p.due_on(r.grace_days))) for s, (p, r) in chosen.items()])
            rows = session.execute(stmt.where(Account.segment.in_(list(chosen)))
                                   .order_by(due_on, Account.name, Account.id).limit(limit))
            into += [_obligation(row, chosen, today) for row in rows]
    result.overdue = sorted(result.overdue, key=_urgency)[:limit]
    result.due = sorted(result.due, key=_urgency)[:limit]
    return result


def next_due(session: Session, rules: dict[Segment, SegmentRule], today: date):
    """The due date of the check-in an account owes next, as one SQL expression (lists sort and
    filter by it; "overdue" is a next due date before today): the oldest of `periods_owed` that
    it owes (`owes_period`, as `obligations` and the overdue alerts decide) and has not reported,
    else the next period's. NULL for churned accounts."""
    overdue_from = reporting_settings(session).overdue_from
    whens = []
    for segment, rule in rules.items():
        periods = periods_owed(rule, today)
        owed = [(and_(_owes({segment: p.end}, overdue_from),
                      ~select(CheckIn.id).where(CheckIn.account_id == Account.id, CheckIn.period_start == p.start).exists()),
                 literal(p.due_on(rule.grace_days)))
                for p in reversed(periods)]  # oldest first
        whens.append((and_(Account.segment == segment, Account.status != LifecycleStatus.CHURNED),
                      case(*owed, else_=literal(periods[0].next().due_on(rule.grace_days)))))
    return case(*whens, else_=None)
