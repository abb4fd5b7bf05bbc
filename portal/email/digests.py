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
from portal.models import AccountScore, Band, EmailKind, Partner, PartnerScorecard, Role, User, partner_managers
from portal.models import CheckIn, VocItem

DUE_SOON_DAYS = 7
DIGEST_ITEMS = 20  # the first items listed; the count beside them says how many the list at /actions has


class Week:
    """What every digest of one run shares: the scorecard day, the day to compare with, and the
    check-ins owed across the channel (computed once per run, not once per recipient)."""

    def __init__(self, session: Session, today: date):
        self.session = session
        self.today = today
        self.day = latest_day(session)
        self.before = insights.comparison_day(session, self.day) if self.day else None

    @cached_property
    def owed(self) -> dict[int, list[Obligation]]:
        by_partner: dict[int, list[Obligation]] = {}
        for o in obligations(self.session, self.today):
            by_partner.setdefault(o.partner_id, []).append(o)
        return by_partner

    def owed_by(self, partner_id: int) -> list[Obligation]:
        """Overdue and due within a week, most urgent first."""
        return [o for o in self.owed.get(partner_id, []) if (o.due_on - self.today).days <= DUE_SOON_DAYS]


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
    s = week.session
    partners = s.scalars(select(Partner).join(partner_managers, partner_managers.c.partner_id == Partner.id)
                         .where(partner_managers.c.user_id == user.id).order_by(Partner.name)).all()
    if not partners or week.day is None:
        return None
    ids = [p.id for p in partners]
    cards: dict[tuple[int | None, date | None], PartnerScorecard] = {
        (c.partner_id, c.day): c for c in s.scalars(select(PartnerScorecard).where(
            PartnerScorecard.partner_id.in_(ids), PartnerScorecard.day.in_([week.day, week.before or week.day])))}
    now, then = AccountScore, aliased(AccountScore)
    changes = s.execute(
        select(now, then.band, Partner.name)
        .join(Partner, Partner.id == now.partner_id)
        .outerjoin(then, and_(then.account_id == now.account_id, then.day == week.before))
        .where(now.day == week.day, now.partner_id.in_(ids), now.band.is_distinct_from(then.band),
               now.band.is_not(None))
        .options(joinedload(now.account))
        .order_by(Partner.name, now.account_id)
    ).all() if week.before else []
    renewals = list(s.scalars(
        select(AccountScore).where(AccountScore.day == week.day, AccountScore.partner_id.in_(ids),
                                   AccountScore.band.in_([Band.YELLOW, Band.RED]),
                                   AccountScore.renewal_date.between(week.today, week.today + timedelta(days=review.RENEWAL_DAYS)))
        .options(joinedload(AccountScore.account)).order_by(AccountScore.renewal_date)
    ).all())
    counts = listing.counts_for(s, user, week.today)
    items = _items(s, user, listing.Filters(tab="team", overdue=True), week.today)
    return ManagerDigest(
        week=week,
        partners=[(p, cards.get((p.id, week.day)), cards.get((p.id, week.before))) for p in partners],
        band_changes=[BandChange(score.account_id, score.account.name, partner_name, before, score.band, score)
                      for score, before, partner_name in changes],
        renewals=renewals,
        overdue=[(p, [o for o in week.owed.get(p.id, []) if o.overdue]) for p in partners if any(o.overdue for o in week.owed.get(p.id, []))],
        items_past_due=items,
        counts=counts,
    )


def partner_digest(week: Week, user: User) -> PartnerDigest | None:
    """The reseller's shared scorecard in brief, what is due, and what the vendor asked."""
    if user.partner_id is None:
        return None
    s = week.session
    items = _items(s, user, listing.Filters(tab="team"), week.today)
    partner = s.get(Partner, user.partner_id)
    assert partner is not None  # users.partner_id is a foreign key
    return PartnerDigest(
        week=week,
        partner=partner,
        card=insights.scorecard(s, user.partner_id, week.day) if week.day else None,
        previous=insights.scorecard(s, user.partner_id, week.before) if week.before else None,
        benchmark=insights.benchmark(s, user.partner_id, week.day) if week.day else [],
        owed=week.owed_by(user.partner_id),
        items=items,
        counts=listing.counts_for(s, user, week.today),
        answers=product_answers(s, user.partner_id, week.today),
    )


def _items(session: Session, user: User, filters: listing.Filters, today: date) -> list:
    """The first items of the user's list with these filters, in its order."""
    return list(session.execute(listing.item_rows(user, filters, today).limit(DIGEST_ITEMS)).all())


def product_answers(session: Session, partner_id: int, today: date) -> list[VocItem]:
    """The partner's voice-of-the-customer items the vendor answered in the last 7 days, newest first."""
    since = datetime.combine(today - timedelta(days=7), time.min, tzinfo=timezone.utc)
    return list(session.scalars(select(VocItem).options(joinedload(VocItem.check_in).joinedload(CheckIn.account))
                                .where(VocItem.partner_id == partner_id, VocItem.answered_at >= since)
                                .order_by(VocItem.answered_at.desc(), VocItem.id.desc()).limit(20)))


def reminders(week: Week, user: User) -> Reminders | None:
    """Check-ins due in the next 7 days and overdue; None when there is nothing to remind of."""
    if user.partner_id is None:
        return None
    owed = week.owed_by(user.partner_id)
    if not owed:
        return None
    partner = week.session.get(Partner, user.partner_id)
    assert partner is not None  # users.partner_id is a foreign key
    return Reminders(week, partner, owed)


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
