"""The action-item lists and their counts, in one place: /actions, its CSV, the tab labels, a
reseller's home, the weekly digests, the account page and the partner scorecard all read these,
so a count on one page is the length of the list on another.

Tabs: "mine" (owned by me), "team" (a reseller: its partner's items; vendor staff: the partners
they manage) and "all" (vendor staff: every partner). Scoped by portal.core.scoping like every list.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from portal.core.scoping import partners_visible_to, visible_to
from portal.models import (
    OPEN_ACTION_STATUSES, Account, ActionItem, ActionKind, ActionStatus, ActionStep, Partner, User,
)

TABS = ("mine", "team", "all")
STATUSES = ("open", "in_progress", "closed", "all")
OWNER_ME, OWNER_NOBODY = "me", "none"
PER_PAGE = 50
# The item's owner beside it (with_details). Made once: a new alias each request cost the page
# its columns' adaptation again (about 1.5 ms a list).
_owner = aliased(User, name="item_owner")


@dataclass(frozen=True)
class Filters:
    tab: str = "mine"
    partner_id: int | None = None  # vendor staff only
    owner: str | None = None  # OWNER_ME, OWNER_NOBODY or a user id (as text)
    kind: ActionKind | None = None
    status: str = "open"
    overdue: bool = False
    q: str = ""


@dataclass(frozen=True)
class Counts:
    """Open items: mine, my team's, everything I may see; and the overdue ones among them."""

    mine: int
    team: int
    all: int
    overdue_mine: int
    overdue_team: int

    def tab(self, name: str) -> int:
        return {"mine": self.mine, "team": self.team, "all": self.all}[name]


def tabs_for(user: User) -> tuple[str, ...]:
    """Resellers have no "all": their team is everything they may see."""
    return TABS if user.is_vendor else TABS[:2]


def is_open() -> ColumnElement[bool]:
    return ActionItem.status.in_(OPEN_ACTION_STATUSES)


def is_overdue(today: date) -> ColumnElement[bool]:
    return and_(is_open(), ActionItem.due_on < today)


def _in_tab(user: User, tab: str) -> ColumnElement[bool]:
    if tab == "mine":
        return ActionItem.owner_id == user.id
    if tab == "team" and user.is_vendor:
        return ActionItem.partner_id.in_(partners_visible_to(user, mine=True).with_only_columns(Partner.id))
    return true()  # a reseller's team, and "all": everything visible_to lets through


def _conditions(user: User, filters: Filters, today: date) -> list[ColumnElement[bool]]:
    found = [_in_tab(user, filters.tab)]
    if filters.partner_id is not None and user.is_vendor:
        found.append(ActionItem.partner_id == filters.partner_id)
    if filters.owner == OWNER_ME:
        found.append(ActionItem.owner_id == user.id)
    elif filters.owner == OWNER_NOBODY:
        found.append(ActionItem.owner_id.is_(None))
    elif filters.owner:
        found.append(ActionItem.owner_id == int(filters.owner))
    if filters.kind is not None:
        found.append(ActionItem.kind == filters.kind)
    if filters.status == "open":
        found.append(is_open())
    elif filters.status == "in_progress":
        found.append(ActionItem.status == ActionStatus.IN_PROGRESS)
    elif filters.status == "closed":
        found.append(ActionItem.status.not_in(OPEN_ACTION_STATUSES))
    if filters.overdue:
        found.append(is_overdue(today))
    if filters.q:
        found.append(or_(ActionItem.title.icontains(filters.q, autoescape=True),
                         Account.name.icontains(filters.q, autoescape=True)))
    return found


def _steps(counted) -> ColumnElement[int]:
    """The item's steps counted (all, or the done ones), correlated to the item: worked out for
    the page's rows only, not by grouping every step of every item for each page."""
    return select(func.count(counted)).where(ActionStep.item_id == ActionItem.id).scalar_subquery()


def with_details(stmt: Select, today: date) -> Select:
    """An item query with what every list shows beside the item: account, partner, owner, steps
    done, whether it is overdue; sorted overdue first, then by due date (none last), then id."""
    return (stmt.add_columns(Account.name.label("account_name"), Partner.name.label("partner_name"),
                             _owner.display_name.label("owner_name"),
                             _steps(ActionStep.done_at).label("steps_done"),
                             _steps(ActionStep.id).label("steps_total"),
                             case((is_overdue(today), True), else_=False).label("overdue"))
            .join(Account, Account.id == ActionItem.account_id)
            .join(Partner, Partner.id == ActionItem.partner_id)
            .outerjoin(_owner, _owner.id == ActionItem.owner_id)
            .order_by(*_order(today)))


def _order(today: date) -> tuple:
    """The lists' order: overdue first, then by due date (none last), then id."""
    return case((is_overdue(today), 0), else_=1), ActionItem.due_on.is_(None), ActionItem.due_on, ActionItem.id


def _open_order() -> tuple:
    """_order among open items only: an open item is overdue exactly when its due date is before
    today, so by due date (none last) then id is the same order, and the one the partial index
    ix_action_items_open_partner_due keeps (no sort of a big reseller's thousands of items)."""
    return ActionItem.due_on.asc().nulls_last(), ActionItem.id


def _first(session: Session, first: Select, today: date, limit: int, *, open_only: bool = False) -> list:
    """with_details for the first `limit` of `first`'s items (a select of ActionItem): sorted and
    cut among the items alone, then the details joined for those only. Joined first, each of a
    big reseller's thousands of items met the accounts before the sort (20-30 ms at 100k).
    open_only: `first` selects open items only (their order needs no date)."""
    ids = first.with_only_columns(ActionItem.id).order_by(*(_open_order() if open_only else _order(today))).limit(limit)
    return list(session.execute(with_details(select(ActionItem).where(ActionItem.id.in_(ids)), today)).all())


def first_items(session: Session, user: User, filters: Filters, today: date, limit: int) -> list:
    """item_rows' first `limit` rows: the reseller's home and the digests."""
    first = visible_to(user, ActionItem).where(*_conditions(user, filters, today))
    if filters.q:  # the search reads the account's name
        first = first.join(Account, Account.id == ActionItem.account_id)
    return _first(session, first, today, limit, open_only=filters.status in ("open", "in_progress") or filters.overdue)


def item_rows(user: User, filters: Filters, today: date) -> Select:
    """The list's statement (rows: ActionItem, account_name, partner_name, owner_name, steps_done,
    steps_total, overdue): page it or read it all for the export."""
    stmt = with_details(visible_to(user, ActionItem), today)
    return stmt.where(*_conditions(user, filters, today))


def counts_for(session: Session, user: User, today: date) -> Counts:
    """One query: the numbers beside the tabs, on a reseller's home and in the digests."""
    mine, team = _in_tab(user, "mine"), _in_tab(user, "team")
    overdue = ActionItem.due_on < today

    def count(*conditions):
        return func.count(case((and_(*conditions), 1)))

    row = session.execute(visible_to(user, ActionItem).where(is_open()).with_only_columns(
        count(mine), count(team), func.count(), count(mine, overdue), count(team, overdue))).one()
    return Counts(*(int(n or 0) for n in row))


@dataclass(frozen=True)
class ChannelCounts:
    """Open and overdue items by (partner, owner) for the whole channel, read in one query, so
    the weekly digests give each person the numbers counts_for gives them without a query each."""

    rows: list[tuple[int, int | None, int, int]]  # partner_id, owner_id, open, overdue

    def of(self, user: User, managed: set[int] | None = None) -> Counts:
        """counts_for(user): a reseller sees its partner's items; vendor staff every partner's,
        their team being the partners they manage (`managed`)."""
        visible = [r for r in self.rows if user.is_vendor or r[0] == user.partner_id]
        team = visible if not user.is_vendor else [r for r in visible if r[0] in (managed or set())]
        mine = [r for r in visible if r[1] == user.id]
        return Counts(sum(r[2] for r in mine), sum(r[2] for r in team), sum(r[2] for r in visible),
                      sum(r[3] for r in mine), sum(r[3] for r in team))


def channel_counts(session: Session, today: date) -> ChannelCounts:
    rows = session.execute(select(ActionItem.partner_id, ActionItem.owner_id, func.count(),
                                  func.count(case((ActionItem.due_on < today, 1))))
                           .where(is_open()).group_by(ActionItem.partner_id, ActionItem.owner_id)).all()
    return ChannelCounts([(partner_id, owner_id, int(n), int(late)) for partner_id, owner_id, n, late in rows])


def default_tab(user: User, counts: Counts) -> str:
    """Where a list opens: my items when I have some, else my team's, else (vendor) all."""
    for tab in tabs_for(user):
        if counts.tab(tab):
            return tab
    return "mine"


def owner_choices(session: Session, user: User, filters: Filters) -> list:
    """(id, display_name) of everyone owning an item in this tab: the owner filter's options."""
    owned = (visible_to(user, ActionItem).where(_in_tab(user, filters.tab), ActionItem.owner_id.is_not(None))
             .with_only_columns(ActionItem.owner_id))
    if filters.partner_id is not None and user.is_vendor:
        owned = owned.where(ActionItem.partner_id == filters.partner_id)
    return list(session.execute(select(User.id, User.display_name).where(User.id.in_(owned))
                                .order_by(func.lower(User.display_name), User.id)).all())


def first_open(session: Session, stmt: Select, today: date, limit: int) -> tuple[list, int]:
    """The first `limit` open items among `stmt`'s (a scoped select of ActionItem), with details,
    and how many there are: the account page and the partner scorecard (two queries)."""
    total = session.scalar(stmt.where(is_open()).with_only_columns(func.count()).order_by(None)) or 0
    return _first(session, stmt.where(is_open()), today, limit, open_only=True), total
