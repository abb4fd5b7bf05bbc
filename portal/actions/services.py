"""Action items: alerts turned into work, items a partner manager asks for, and their threads.

Plain functions of a session and data; the pages and the aggregation share them. Validation
returns FieldErrors named after the form fields, so every bad value is reported where it was typed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, false, func, insert, literal, literal_column, select, true, update
from sqlalchemy.orm import Session, aliased

from portal.actions.playbooks import copy_steps
from portal.core import clock
from portal.core.db import UTCDateTime, analyze
from portal.core.clock import utcnow
from portal.core.sqlfunctions import json_object
from portal.models import (
    Account, ActionComment, ActionEvent, ActionEventKind, ActionItem, ActionKind, ActionStatus, Alert, AlertKind,
    OPEN_ACTION_STATUSES, Role, User,
)
from portal.reporting.cadence import reporting_settings
from portal.core.validation import Checks, FieldError, ValidationError, parse_date, whole_number

# How long the reseller has for an item, by what raised it (a renewal plan takes longer).
DUE_DAYS = {
    ActionKind.TURNED_RED: 7,
    ActionKind.RENEWAL_AT_RISK: 14,
    ActionKind.CHECK_IN_OVERDUE: 7,
    ActionKind.REQUEST: 14,
}
MAX_TITLE = 200
MAX_TEXT = 4000
# What an alert asks of the reseller, stored in the item's title (English: the thread's language
# is the people's; the page shows the alert kind translated next to it).
ALERT_TITLES = {
    AlertKind.TURNED_RED: "Account turned red: agree a recovery plan",
    AlertKind.RENEWAL_AT_RISK: "Renewal at risk: confirm the renewal plan",
    AlertKind.CHECK_IN_OVERDUE: "Check-in overdue: please report",
}


# The same titles as the reader sees them: stored in English, shown in the reader's language.
ALERT_TITLES_SHOWN = {
    ALERT_TITLES[AlertKind.TURNED_RED]: _l("Account turned red: agree a recovery plan"),
    ALERT_TITLES[AlertKind.RENEWAL_AT_RISK]: _l("Renewal at risk: confirm the renewal plan"),
    ALERT_TITLES[AlertKind.CHECK_IN_OVERDUE]: _l("Check-in overdue: please report"),
}


def shown_title(item: ActionItem) -> str:
    """An item's title for the reader: an alert's in their language, a person's as written."""
    if item.alert_id is not None and item.title in ALERT_TITLES_SHOWN:
        return str(ALERT_TITLES_SHOWN[item.title])
    return item.title


def partner_admin(partner_id):
    """The partner's partner admin (the earliest active one) as a scalar subquery: the owner of
    whatever the partner has not given to someone."""
    admin = aliased(User)
    return (select(admin.id).where(admin.partner_id == partner_id, admin.role == Role.PARTNER_ADMIN, admin.active.is_(True))
            .order_by(admin.created_at, admin.id).limit(1).scalar_subquery())


def default_owner(account_id, partner_id):
    """Who owns an item nobody was named for: the account's owner (if still active), else the
    partner admin. SQL, so the aggregation sets owners for hundreds of items in one INSERT."""
    account, owner = aliased(Account), aliased(User)
    account_owner = (select(owner.id).join(account, account.owner_id == owner.id)
                     .where(account.id == account_id, owner.active.is_(True)).scalar_subquery())
    return func.coalesce(account_owner, partner_admin(partner_id))


def _due_on(kind_column, day: date):
    """The due date by alert kind (DUE_DAYS), as SQL for the items opened or reopened on `day`."""
    return case(*[(kind_column == kind.value, literal(day + timedelta(days=days)))
                  for kind, days in DUE_DAYS.items() if kind != ActionKind.REQUEST])


def _fresh_alerts(day: date):
    """The day's alerts no item has taken in yet (an item of the account and kind already about
    that occurrence: a rerun of the day changes nothing)."""
    # Two plain NOT EXISTS, not one with an OR: each can be a hash anti-join or an index probe.
    taken = aliased(ActionItem)
    return (select(Alert.id, Alert.account_id, Alert.partner_id, Alert.kind, Alert.subject)
            .where(Alert.raised_on == day,
                   ~exists().where(taken.account_id == Alert.account_id, taken.kind == Alert.kind, taken.subject == Alert.subject),
                   ~exists().where(taken.alert_id == Alert.id)))


def run_moment(day: date):
    """When the aggregation's changes for `day` happen, as a SQL literal: now, or the end of that
    day when a past day is run (a catch-up, the demo's history), so nothing is dated after its day."""
    return literal(min(utcnow(), clock.end_of_day(day) - timedelta(seconds=1)), UTCDateTime())


def _event_rows(items, event: ActionEventKind, data, day: date):
    return select(items.c.id, items.c.account_id, items.c.partner_id, literal(event.value), data, run_moment(day))


EVENT_COLUMNS = ["item_id", "account_id", "partner_id", "event", "data", "at"]


def items_from_alerts(session: Session, day: date) -> None:
    """Turn the day's new alerts into work, in a few statements however many: an open item of
    the account and kind is raised again (count and subject updated), else one closed within the
    vendor's reopen window reopens, else a new item opens with its owner by rule, its due date by
    kind and its playbook's steps. Each change is written to the items' history."""
    window = reporting_settings(session).reopen_within_days
    fresh = _fresh_alerts(day).subquery("fresh")
    nothing = literal(None)

    # 1. Raised again while open: one item, counted.
    again = (select(ActionItem.id, ActionItem.account_id, ActionItem.partner_id, fresh.c.subject,
                    (ActionItem.raised_count + 1).label("count"))
             .join(fresh, and_(fresh.c.account_id == ActionItem.account_id, fresh.c.kind == ActionItem.kind))
             .where(ActionItem.status.in_(OPEN_ACTION_STATUSES), ActionItem.kind != ActionKind.REQUEST)).subquery("again")
    session.execute(insert(ActionEvent).from_select(EVENT_COLUMNS, _event_rows(
        again, ActionEventKind.RAISED_AGAIN, json_object(literal_column("'subject'"), again.c.subject,
                                                         literal_column("'count'"), again.c.count), day)))
    alert_now = _fresh_alerts(day).where(Alert.account_id == ActionItem.account_id, Alert.kind == ActionItem.kind)
    session.execute(
        update(ActionItem)
        .where(ActionItem.status.in_(OPEN_ACTION_STATUSES), ActionItem.kind != ActionKind.REQUEST, alert_now.exists())
        .values(raised_count=ActionItem.raised_count + 1, last_raised_on=day,
                subject=alert_now.with_only_columns(Alert.subject).scalar_subquery())
        .execution_options(synchronize_session=False))

    # 2. Back within the window: the latest closed item of the account and kind reopens (a window
    # of 0 days: never).
    later = aliased(ActionItem)
    reopenable = and_(
        true() if window > 0 else false(), ActionItem.status.not_in(OPEN_ACTION_STATUSES), ActionItem.kind != ActionKind.REQUEST,
        ActionItem.closed_at >= literal(clock.end_of_day(day - timedelta(days=window + 1)), UTCDateTime()),
        ~exists().where(later.account_id == ActionItem.account_id, later.kind == ActionItem.kind, later.id > ActionItem.id),
        alert_now.exists())
    back = (select(ActionItem.id, ActionItem.account_id, ActionItem.partner_id, fresh.c.subject,
                   (ActionItem.raised_count + 1).label("count"))
            .join(fresh, and_(fresh.c.account_id == ActionItem.account_id, fresh.c.kind == ActionItem.kind))
            .where(reopenable)).subquery("back")
    session.execute(insert(ActionEvent).from_select(EVENT_COLUMNS, _event_rows(
        back, ActionEventKind.REOPENED, json_object(literal_column("'subject'"), back.c.subject,
                                                    literal_column("'count'"), back.c.count), day)))
    session.execute(
        update(ActionItem).where(reopenable)
        .values(status=ActionStatus.OPEN, resolution=nothing, auto_resolution=nothing, resolution_params=nothing,
                closed_at=nothing, closed_by_id=nothing, raised_count=ActionItem.raised_count + 1, last_raised_on=day,
                due_on=_due_on(ActionItem.kind, day), subject=alert_now.with_only_columns(Alert.subject).scalar_subquery())
        .execution_options(synchronize_session=False))

    # 3. Otherwise a new item: owner by rule, due by kind, the playbook's steps, an "opened" entry.
    open_same = exists().where(ActionItem.account_id == fresh.c.account_id, ActionItem.kind == fresh.c.kind,
                               ActionItem.status.in_(OPEN_ACTION_STATUSES))
    # Sorted in a subquery (items open in alert order): the sort reads every alert, and so runs
    # the checks against the items above, before the first item is written. Checked row by row
    # as they are written, a plan that takes the items for few (the first run after a bulk load)
    # scans them once per alert as this statement adds to them: over 30 minutes at 1M accounts.
    unopened = select(fresh).where(~open_same).order_by(fresh.c.id).subquery("unopened")
    title = case(*[(unopened.c.kind == kind, literal(text)) for kind, text in ALERT_TITLES.items()])
    new = select(unopened.c.account_id, unopened.c.partner_id, unopened.c.id, unopened.c.kind, unopened.c.subject,
                 literal(day), title, default_owner(unopened.c.account_id, unopened.c.partner_id),
                 _due_on(unopened.c.kind, day), literal(ActionStatus.OPEN.value), run_moment(day))
    session.execute(insert(ActionItem).from_select(
        ["account_id", "partner_id", "alert_id", "kind", "subject", "last_raised_on", "title", "owner_id", "due_on", "status",
         "created_at"], new))
    analyze(session, ActionItem)  # the steps and history below join the items just opened
    opened = select(ActionItem.id).where(
        ActionItem.alert_id.in_(select(Alert.id).where(Alert.raised_on == day)),
        ~exists().where(ActionEvent.item_id == ActionItem.id))
    copy_steps(session, opened)
    items = select(ActionItem.id, ActionItem.account_id, ActionItem.partner_id, ActionItem.subject).where(
        ActionItem.id.in_(opened)).subquery("opened")
    session.execute(insert(ActionEvent).from_select(EVENT_COLUMNS, _event_rows(
        items, ActionEventKind.OPENED, json_object(literal_column("'subject'"), items.c.subject), day)))


def record_event(session: Session, item: ActionItem, event: ActionEventKind, actor: User | None = None,
                 **data) -> ActionEvent:
    """Write one change to the item's history (actor None: the portal's aggregation); the item's
    page and the account's timeline read these."""
    entry = ActionEvent(item_id=item.id, account_id=item.account_id, partner_id=item.partner_id,
                        actor_id=actor.id if actor else None, event=event, data=data)
    session.add(entry)
    return entry


@dataclass
class ItemInput:
    title: str
    details: str | None
    owner_id: int | None
    due_on: date | None


def parse_item(values: dict, owners: set[int], today: date) -> ItemInput:
    """Title required; owner one of the people who may own it; due date not in the past.
    Raises ValidationError."""
    c = Checks()
    title = c.text(values, "title", max_length=MAX_TITLE, required=True)
    details = c.text(values, "details", max_length=MAX_TEXT)
    raw_owner = values.get("owner_id")
    owner_id = whole_number(str(raw_owner or "")) or None  # anything but a listed id is no one on the list
    if owner_id is not None and owner_id not in owners or (raw_owner not in (None, "", 0, "0") and owner_id is None):
        c.fail("owner_id", _l("Choose someone from the list."))
    raw_due = values.get("due_on")
    due_on = parse_date(raw_due) if raw_due not in (None, "") else None
    if raw_due not in (None, "") and due_on is None:
        c.fail("due_on", _l("Enter a date like 2026-12-31."), raw_due)
    elif due_on is not None and due_on < today:
        c.fail("due_on", _l("The due date is in the past."), raw_due)
    c.done()
    return ItemInput(title or "", details, owner_id, due_on)


def possible_owners(session: Session, account: Account) -> list[User]:
    """The account's reseller staff and the vendor staff: the two sides of the loop."""
    return list(session.scalars(
        select(User).where(User.active.is_(True),
                           (User.partner_id == account.partner_id) | User.role.in_([Role.VENDOR_ADMIN, Role.PARTNER_MANAGER]))
        .order_by(User.partner_id.is_(None), User.display_name)
    ))


def create_item(session: Session, account: Account, data: ItemInput, user: User) -> ActionItem:
    """A person's request on an account, due in two weeks unless they say. "Nobody" means the same owner an alert's item would get
    (the account's owner, else the partner admin): an item without an owner is one nobody reads."""
    owner_id = data.owner_id
    if owner_id is None:
        owner_id = session.scalar(select(default_owner(literal(account.id), literal(account.partner_id))))
    due_on = data.due_on or clock.today() + timedelta(days=DUE_DAYS[ActionKind.REQUEST])
    item = ActionItem(account_id=account.id, partner_id=account.partner_id, title=data.title, details=data.details,
                      owner_id=owner_id, due_on=due_on, created_by_id=user.id)
    session.add(item)
    session.flush()
    copy_steps(session, select(ActionItem.id).where(ActionItem.id == item.id))  # the playbook as it is today
    record_event(session, item, ActionEventKind.OPENED, user)
    return item


def add_comment(session: Session, item: ActionItem, body: str, user: User) -> ActionComment:
    """Either side's comment on the item's thread. Raises ValidationError."""
    c = Checks()
    text = c.text({"body": body}, "body", max_length=MAX_TEXT, required=True)
    c.done()
    comment = ActionComment(item_id=item.id, partner_id=item.partner_id, author_id=user.id, body=text)
    session.add(comment)
    session.flush()
    return comment


def change_status(session: Session, item: ActionItem, status: ActionStatus, resolution: str | None,
                  user: User | None = None) -> None:
    """Closing (done or cancelled) needs a resolution note; reopening clears it. A change is recorded
    in the item's history (STATUS_CHANGED) and a person's closing names them. Raises ValidationError."""
    resolution = (resolution or "").strip() or None
    before = item.status
    item.auto_resolution, item.resolution_params = None, None  # a person's status, not the portal's outcome
    if status in OPEN_ACTION_STATUSES:
        item.status, item.resolution, item.closed_at, item.closed_by_id = status, None, None, None
    elif not resolution:
        raise ValidationError([FieldError("resolution", _l("Say how it was resolved before closing the item."))])
    else:
        item.status, item.resolution, item.closed_at = status, resolution, utcnow()
        item.closed_by_id = user.id if user else None
    if status != before:
        record_event(session, item, ActionEventKind.STATUS_CHANGED, user, **{"from": before.value, "to": status.value})


def is_overdue(item: ActionItem, today: date) -> bool:
    return item.status in OPEN_ACTION_STATUSES and item.due_on is not None and item.due_on < today

