"""Action items: alerts turned into work, items a partner manager asks for, and their threads.

Plain functions of a session and data; the pages and the aggregation share them. Validation
returns FieldErrors named after the form fields, so every bad value is reported where it was typed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, exists, insert, literal, select
from sqlalchemy.orm import Session, joinedload

from portal.core.db import UTCDateTime
from portal.core.clock import utcnow
from portal.models import (
    Account, ActionComment, ActionEvent, ActionEventKind, ActionItem, ActionStatus, Alert, AlertKind, OPEN_ACTION_STATUSES,
    Role, User,
)
from portal.core.validation import Checks, FieldError, ValidationError, parse_date, whole_number

ALERT_ITEM_DUE_DAYS = 7
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


def items_from_alerts(session: Session, day: date) -> None:
    """One open item per new alert of the day, due a week later, for the reseller to pick up;
    none while an item of the same kind is open on the account."""
    title = case(*[(Alert.kind == kind, literal(text)) for kind, text in ALERT_TITLES.items()])
    already = exists().where(ActionItem.alert_id == Alert.id)
    open_same = exists().where(ActionItem.account_id == Alert.account_id, ActionItem.kind == Alert.kind,
                               ActionItem.status.in_(OPEN_ACTION_STATUSES))
    new = select(Alert.account_id, Alert.partner_id, Alert.id, Alert.kind, Alert.subject, Alert.raised_on, title,
                 literal(day + timedelta(days=ALERT_ITEM_DUE_DAYS)), literal(ActionStatus.OPEN.value),
                 literal(utcnow(), UTCDateTime())).where(Alert.raised_on == day, ~already, ~open_same)
    session.execute(insert(ActionItem).from_select(
        ["account_id", "partner_id", "alert_id", "kind", "subject", "last_raised_on", "title", "due_on", "status",
         "created_at"], new))


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
    item = ActionItem(account_id=account.id, partner_id=account.partner_id, title=data.title, details=data.details,
                      owner_id=data.owner_id, due_on=data.due_on, created_by_id=user.id)
    session.add(item)
    session.flush()
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


def open_items(stmt):
    """The open ones among `stmt`'s items, soonest due first, with account and owner loaded."""
    return (stmt.where(ActionItem.status.in_(OPEN_ACTION_STATUSES))
            .options(joinedload(ActionItem.account), joinedload(ActionItem.owner))
            .order_by(ActionItem.due_on.is_(None), ActionItem.due_on, ActionItem.id))
