"""The accounts list that answers "who needs me?": band, score, its change, last check-in, next
due, owner and renewal for every account a user may see, sorted and filtered in SQL.

One statement serves the page (with its count) and the CSV export, whatever the number of
accounts: the day's score and the one 30 days before are joined, the last check-in is a
correlated MAX, the next due date is a CASE over the reporting cadence. Flask-free.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from portal.accounts.services import kana
from portal.core.lists import Sort, Term, order_by
from portal.core.scoping import accounts_visible_to
from portal.models import Account, AccountScore, Band, CheckIn, LifecycleStatus, Partner, Role, Segment, User
from portal.reporting.cadence import cadence_rules, next_due
from portal.scoring.aggregation import latest_day
from portal.scoring.insights import SNAPSHOT_TOLERANCE_DAYS, weekly_days
from portal.scoring.review import RENEWAL_DAYS

TREND_DAYS = 30  # the score's change is against the newest snapshot at least this long before
SPARKLINE_WEEKS = 12
NOT_SCORED = "none"  # the band filter's value for "not enough data" (no band on the latest day)
OWNER_ME, OWNER_NOBODY, OWNER_ANY = "me", "none", "any"  # "any" chosen on purpose: no "mine" default

_now = aliased(AccountScore, name="score_now")
_then = aliased(AccountScore, name="score_then")
_owner = aliased(User, name="owner")
# Correlated, so that it reads the check-ins of the accounts filtered (by the account_id index), not all of them.
_last_check_in = (select(func.max(CheckIn.submitted_at)).where(CheckIn.account_id == Account.id)
                  .correlate(Account).scalar_subquery())

# Worst first when sorted ascending: what needs someone comes to the top.
_BAND_ORDER = case((_now.band == Band.RED, 0), (_now.band == Band.YELLOW, 1), (_now.band == Band.GREEN, 2), else_=None)
# フリガナ where there is one (kanji order means nothing to a reader), case-blind for Latin names.
SORT_NAME = func.lower(func.coalesce(Account.name_kana, Account.name))


def sorts(next_due_column) -> dict[str, Sort]:
    """The list's sortable columns, by the key the page's links use."""
    return {
        "name": Sort(SORT_NAME, nullable=False),
        "reference": Sort(Account.reference, nullable=False),
        "partner": Sort(Partner.name, nullable=False),
        "band": Sort(_BAND_ORDER),
        "score": Sort(_now.score),
        "trend": Sort(_now.score - _then.score),
        "last_check_in": Sort(_last_check_in),
        "next_due": Sort(next_due_column),
        "owner": Sort(func.lower(_owner.display_name)),
        "renewal": Sort(Account.renewal_date),
        "arr": Sort(Account.arr_jpy, descending=True, nullable=False),
    }


@dataclass
class Filters:
    q: str = ""
    band: str | None = None  # a Band value, or NOT_SCORED
    owner: str | None = None  # OWNER_ME, OWNER_NOBODY or a user id (as text)
    partner_id: int | None = None  # vendor staff only
    segment: Segment | None = None
    status: LifecycleStatus | None = None
    overdue: bool = False  # a check-in is past its due date
    renewing: bool = False  # renewal date within RENEWAL_DAYS from today
    mine: bool = False  # vendor staff: only the partners they manage


@dataclass(frozen=True)
class ScoreDays:
    """The snapshot the list shows, and the one its change is measured against (None: no change)."""

    latest: date | None
    earlier: date | None


def score_days(session: Session) -> ScoreDays:
    latest = latest_day(session)
    if latest is None:
        return ScoreDays(None, None)
    earlier = session.scalar(select(func.max(AccountScore.day)).where(AccountScore.day <= latest - timedelta(days=TREND_DAYS)))
    # A snapshot months older would call a half-year's drift "30 days".
    if earlier is not None and earlier < latest - timedelta(days=TREND_DAYS + SNAPSHOT_TOLERANCE_DAYS):
        earlier = None
    return ScoreDays(latest, earlier)


def defaults_to_mine(session: Session, user: User) -> bool:
    """Reseller staff (not the partner admin) open the list on their own accounts, when they own any:
    that is who they serve. Someone who owns none sees the company's list rather than an empty one."""
    if user.role != Role.PARTNER_USER:
        return False
    return bool(session.scalar(select(exists().where(Account.owner_id == user.id, Account.status != LifecycleStatus.CHURNED))))


def account_rows(session: Session, user: User, today: date, days: ScoreDays, filters: Filters, *,
                 sort: str = "name", descending: bool = False) -> Select:
    """The accounts `user` may see with the list's columns, filtered and sorted: rows of
    (Account, partner_name, owner_name, score, band, change, last_check_in, next_due)."""
    stmt, terms = account_list(session, user, today, days, filters, sort=sort, descending=descending)
    return stmt.order_by(*order_by(terms))


def account_list(session: Session, user: User, today: date, days: ScoreDays, filters: Filters, *,
                 sort: str = "name", descending: bool = False) -> tuple[Select, list[Term]]:
    """account_rows unsorted, and the terms of its order (the page pages by keyset over them)."""
    due = next_due(session, cadence_rules(session), today).label("next_due")
    change = (_now.score - _then.score).label("change")
    stmt = (
        accounts_visible_to(user, mine=filters.mine)
        .add_columns(Partner.name.label("partner_name"), _owner.display_name.label("owner_name"), _now.score, _now.band, change,
                     _last_check_in.label("last_check_in"), due)
        .join(Partner, Partner.id == Account.partner_id)
        .outerjoin(_owner, _owner.id == Account.owner_id)
        .outerjoin(_now, and_(_now.account_id == Account.id, _now.day == days.latest))
        .outerjoin(_then, and_(_then.account_id == Account.id, _then.day == days.earlier))
    )
    if filters.q:
        stmt = stmt.where(or_(Account.name.icontains(filters.q, autoescape=True),
                              Account.name_kana.icontains(kana(filters.q) or "", autoescape=True),
                              Account.reference.icontains(filters.q, autoescape=True)))
    if filters.band == NOT_SCORED:
        stmt = stmt.where(_now.band.is_(None), Account.status != LifecycleStatus.CHURNED)
    elif filters.band:
        stmt = stmt.where(_now.band == Band(filters.band))
    if filters.owner == OWNER_ME:
        stmt = stmt.where(Account.owner_id == user.id)
    elif filters.owner == OWNER_NOBODY:
        stmt = stmt.where(Account.owner_id.is_(None))
    elif filters.owner:
        stmt = stmt.where(Account.owner_id == int(filters.owner))
    if filters.partner_id and user.is_vendor:
        stmt = stmt.where(Account.partner_id == filters.partner_id)
    if filters.segment:
        stmt = stmt.where(Account.segment == filters.segment)
    if filters.status:
        stmt = stmt.where(Account.status == filters.status)
    if filters.overdue:
        stmt = stmt.where(due < today)
    if filters.renewing:
        stmt = stmt.where(Account.renewal_date.between(today, today + timedelta(days=RENEWAL_DAYS)))
    # Within a band, the lowest score first: the band's worst need someone soonest.
    tie_breakers = ([Term(_now.score)] if sort == "band" else []) + [Term(SORT_NAME, nullable=False), Term(Account.id, nullable=False)]
    return stmt, sorts(due)[sort].terms(descending, *tie_breakers)


def sparklines(session: Session, account_ids: list[int], latest: date | None) -> dict[int, list[int | None]]:
    """Weekly scores of the page's accounts (one query), oldest first, a None where a week has no
    score: the rows' small trends, all drawn on the same 0-100 scale."""
    if latest is None or not account_ids:
        return {}
    weeks = weekly_days(latest, SPARKLINE_WEEKS)
    found: dict[int, dict[date, int | None]] = {}
    for account_id, day, score in session.execute(
        select(AccountScore.account_id, AccountScore.day, AccountScore.score)
        .where(AccountScore.account_id.in_(account_ids), AccountScore.day.in_(weeks))
    ):
        found.setdefault(account_id, {})[day] = score
    return {account_id: [scores.get(day) for day in weeks] for account_id, scores in found.items()}


def owner_choices(session: Session, partner_ids: Select | list[int]) -> list:
    """(id, display name, partner name) of the active reseller staff who may own these partners'
    accounts, by partner and name: the owner pickers of the list's filter and the account form."""
    return list(session.execute(
        select(User.id, User.display_name, Partner.name.label("partner_name")).join(Partner, Partner.id == User.partner_id)
        .where(User.partner_id.in_(partner_ids), User.active.is_(True))
        .order_by(Partner.name, func.lower(User.display_name), User.id)
    ).all())
