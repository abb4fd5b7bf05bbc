"""What each weekly email says, as data: the partner manager's digest, the partner admin's
digest and the partner user's reminders. Rendering (language, links) is in portal/emails.py.

Everything is read from the latest scorecard day and compared with the snapshot a week
before, the same numbers the pages show.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property
from typing import Callable

from flask_babel import lazy_gettext as _l

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased, joinedload

from portal.actions import listing
from portal.scoring import insights, review
from portal.scoring.aggregation import latest_day
from portal.reporting.cadence import Obligation, obligations
from portal.reporting import voc
from portal.models import AccountScore, Band, EmailKind, Partner, PartnerScorecard, Role, User, partner_managers
from portal.models import CheckIn, VocItem

DUE_SOON_DAYS = 7
DIGEST_ITEMS = 20  # the first items listed; the count beside them says how many the list at /actions has


class Week:
    """What every digest of one run shares, read once for the whole channel rather than once
    per recipient: the scorecard day and the day to compare with, the partners and their
    scorecards, benchmarks, band changes, renewals, product answers, check-ins owed and open
    items. Each digest picks its partners' share; the queries do not grow with the recipients."""

    def __init__(self, session: Session, today: date):
        self.session = session
        self.today = today
        self.day = latest_day(session)
        self.before = insights.comparison_day(session, self.day) if self.day else None
        self._team_items: dict[int, list] = {}

    @cached_property
    def owed(self) -> dict[int, list[Obligation]]:
        by_partner: dict[int, list[Obligation]] = {}
        for o in obligations(self.session, self.today):
            by_partner.setdefault(o.partner_id, []).append(o)
        return by_partner

    def owed_by(self, partner_id: int) -> list[Obligation]:
        """Overdue and due within a week, most urgent first."""
        return [o for o in self.owed.get(partner_id, []) if (o.due_on - self.today).days <= DUE_SOON_DAYS]

    @cached_property
    def partners(self) -> dict[int, Partner]:
        return {p.id: p for p in self.session.scalars(select(Partner))}

    @cached_property
    def managed(self) -> dict[int, list[Partner]]:
        """The partners each manager owns, by name."""
        found: dict[int, list[Partner]] = {}
        for user_id, partner_id in self.session.execute(select(partner_managers.c.user_id, partner_managers.c.partner_id)):
            found.setdefault(user_id, []).append(self.partners[partner_id])
        return {user_id: sorted(partners, key=lambda p: p.name) for user_id, partners in found.items()}

    @cached_property
    def cards(self) -> dict[tuple[int | None, date | None], PartnerScorecard]:
        if self.day is None:
            return {}
        days = [self.day] + ([self.before] if self.before else [])
        return {(c.partner_id, c.day): c for c in self.session.scalars(
            select(PartnerScorecard).where(PartnerScorecard.partner_id.is_not(None), PartnerScorecard.day.in_(days)))}

    @cached_property
    def benchmarks(self) -> dict[int, list[insights.Benchmark]]:
        return insights.benchmarks(self.session, self.day) if self.day else {}

    def benchmark(self, partner_id: int) -> list[insights.Benchmark]:
        if self.day is None:
            return []
        # A partner without a scorecard that day has every figure withheld, as insights.benchmark says.
        return self.benchmarks.get(partner_id) or insights.benchmark(self.session, partner_id, self.day)

    @cached_property
    def band_changes(self) -> dict[int, list[BandChange]]:
        """Accounts whose band differs from the week before, by partner."""
        if self.day is None or self.before is None:
            return {}
        now, then = AccountScore, aliased(AccountScore)
        found: dict[int, list[BandChange]] = {}
        for score, before, partner_name in self.session.execute(
                select(now, then.band, Partner.name)
                .join(Partner, Partner.id == now.partner_id)
                .outerjoin(then, and_(then.account_id == now.account_id, then.day == self.before))
                .where(now.day == self.day, now.band.is_distinct_from(then.band), now.band.is_not(None))
                .options(joinedload(now.account))
                .order_by(Partner.name, now.account_id)):
            found.setdefault(score.partner_id, []).append(
                BandChange(score.account_id, score.account.name, partner_name, before, score.band, score))
        return found

    @cached_property
    def renewals(self) -> list[AccountScore]:
        """Yellow and red accounts renewing in the next RENEWAL_DAYS, soonest first."""
        if self.day is None:
            return []
        return list(self.session.scalars(
            select(AccountScore).where(AccountScore.day == self.day, AccountScore.band.in_([Band.YELLOW, Band.RED]),
                                       AccountScore.renewal_date.between(self.today, self.today + timedelta(days=review.RENEWAL_DAYS)))
            .options(joinedload(AccountScore.account)).order_by(AccountScore.renewal_date, AccountScore.account_id)))

    @cached_property
    def answers(self) -> dict[int, list[VocItem]]:
        found: dict[int, list[VocItem]] = {}
        for v in product_answers(self.session, None, self.today):
            if len(found.setdefault(v.partner_id, [])) < DIGEST_ITEMS:
                found[v.partner_id].append(v)
        return found

    @cached_property
    def counts(self) -> listing.ChannelCounts:
        return listing.channel_counts(self.session, self.today)

    def team_items(self, user: User) -> list:
        """A reseller's team list (the same for everyone at the partner): read once per partner."""
        assert user.partner_id is not None
        if user.partner_id not in self._team_items:
            self._team_items[user.partner_id] = _items(self.session, user, listing.Filters(tab="team"), self.today)
        return self._team_items[user.partner_id]


@dataclass
class BandChange:
    account_id: int
    account_name: str
    partner_name: str
    before: Band | None
    now: Band | None
    score: AccountScore


@dataclass
class ManagerDigest:
    week: Week
    partners: list[tuple[Partner, PartnerScorecard | None, PartnerScorecard | None]]
    band_changes: list[BandChange]
    renewals: list[AccountScore]
    overdue: list[tuple[Partner, list[Obligation]]]
    # The first of the overdue items on the manager's team; counts.overdue_team is how many /actions lists.
    items_past_due: list
    counts: listing.Counts

    @property
    def new_red(self) -> list[BandChange]:
        return [c for c in self.band_changes if c.now == Band.RED]


@dataclass
class PartnerDigest:
    week: Week
    partner: Partner
    card: PartnerScorecard | None
    previous: PartnerScorecard | None
    benchmark: list[insights.Benchmark]
    owed: list[Obligation]
    # The first of the team's open items (rows of actions.listing), counted in `counts` as /actions counts them.
    items: list
    counts: listing.Counts
    # The vendor's product answers of the last week to what the reseller's customers said.
    answers: list[VocItem] = field(default_factory=list)

    @property
    def figures(self) -> list[tuple[str, float | None, float | None, str]]:
        """The scorecard in brief: (name, now, a week before, figure) for both parts of the email;
        the figure (a scorecard column) says how it is written (portal/scoring/figures.py)."""
        now, before = self.card, self.previous
        return [(name, getattr(now, attr), getattr(before, attr) if before else None, attr)
                for name, attr in PARTNER_FIGURES]


# The partner digest's figures: name and scorecard attribute.
PARTNER_FIGURES = [
    (_l("Live accounts"), "accounts"),
    ("ARR", "arr_jpy"),
    (_l("Average health"), "average_health"),
    (_l("ARR needing attention or at risk"), "at_risk_arr_jpy"),
    (_l("Reporting compliance"), "reporting_compliance_pct"),
    (_l("Renewal rate (12 months)"), "renewal_rate_pct"),
    ("NRR", "nrr_pct"),
    ("NPS", "nps"),
]


@dataclass
class Reminders:
    week: Week
    partner: Partner
    owed: list[Obligation] = field(default_factory=list)

    @property
    def overdue(self) -> list[Obligation]:
        return [o for o in self.owed if o.overdue]

    @property
    def due_soon(self) -> list[Obligation]:
        return [o for o in self.owed if not o.overdue]


def manager_digest(week: Week, user: User) -> ManagerDigest | None:
    """For the partners this manager owns; None when they own none or nothing is scored yet."""
    partners = week.managed.get(user.id, [])
    if not partners or week.day is None:
        return None
    ids = {p.id for p in partners}
    changes = sorted((c for p in partners for c in week.band_changes.get(p.id, [])),
                     key=lambda c: (c.partner_name, c.account_id))
    return ManagerDigest(
        week=week,
        partners=[(p, week.cards.get((p.id, week.day)), week.cards.get((p.id, week.before))) for p in partners],
        band_changes=changes,
        renewals=[r for r in week.renewals if r.partner_id in ids],
        overdue=[(p, [o for o in week.owed.get(p.id, []) if o.overdue]) for p in partners if any(o.overdue for o in week.owed.get(p.id, []))],
        items_past_due=_items(week.session, user, listing.Filters(tab="team", overdue=True), week.today),
        counts=week.counts.of(user, ids),
    )


def partner_digest(week: Week, user: User) -> PartnerDigest | None:
    """The reseller's shared scorecard in brief, what is due, and what the vendor asked."""
    if user.partner_id is None:
        return None
    return PartnerDigest(
        week=week,
        partner=week.partners[user.partner_id],  # users.partner_id is a foreign key
        card=week.cards.get((user.partner_id, week.day)),
        previous=week.cards.get((user.partner_id, week.before)) if week.before else None,
        benchmark=week.benchmark(user.partner_id),
        owed=week.owed_by(user.partner_id),
        items=week.team_items(user),
        counts=week.counts.of(user),
        answers=week.answers.get(user.partner_id, []),
    )


def _items(session: Session, user: User, filters: listing.Filters, today: date) -> list:
    """The first items of the user's list with these filters, in its order."""
    return listing.first_items(session, user, filters, today, DIGEST_ITEMS)


def product_answers(session: Session, partner_id: int | None, today: date) -> list[VocItem]:
    """The partner's (None: every partner's) voice-of-the-customer items the vendor answered in
    the last 7 days, newest first; the first DIGEST_ITEMS of one partner's. In force only: a
    corrected check-in repeats the items it keeps, with their answers, and one answer is news once."""
    since = datetime.combine(today - timedelta(days=7), time.min, tzinfo=timezone.utc)
    stmt = (select(VocItem).options(joinedload(VocItem.check_in).joinedload(CheckIn.account))
            .where(VocItem.answered_at >= since, voc.in_force()).order_by(VocItem.answered_at.desc(), VocItem.id.desc()))
    if partner_id is not None:
        stmt = stmt.where(VocItem.partner_id == partner_id).limit(DIGEST_ITEMS)
    return list(session.scalars(stmt))


def reminders(week: Week, user: User) -> Reminders | None:
    """Check-ins due in the next 7 days and overdue; None when there is nothing to remind of."""
    if user.partner_id is None:
        return None
    owed = week.owed_by(user.partner_id)
    if not owed:
        return None
    return Reminders(week, week.partners[user.partner_id], owed)  # users.partner_id is a foreign key


# What a weekly email says for one person, or None when there is nothing to send.
WeeklyBuild = Callable[[Week, User], "ManagerDigest | PartnerDigest | Reminders | None"]

# Which weekly emails each role gets, and the preference that turns each off.
WEEKLY: dict[Role, list[tuple[EmailKind, WeeklyBuild, str]]] = {
    Role.PARTNER_MANAGER: [(EmailKind.MANAGER_DIGEST, manager_digest, "email_digest")],
    Role.VENDOR_ADMIN: [(EmailKind.MANAGER_DIGEST, manager_digest, "email_digest")],
    Role.PARTNER_ADMIN: [(EmailKind.PARTNER_DIGEST, partner_digest, "email_digest")],  # it says what is due
    Role.PARTNER_USER: [(EmailKind.REMINDER, reminders, "email_reminders")],
}


def weekly_kinds(user) -> dict:
    """The weekly emails this person's role gets, by the preference that turns each on or off."""
    return {preference: kind for kind, _build, preference in WEEKLY.get(user.role, [])}
