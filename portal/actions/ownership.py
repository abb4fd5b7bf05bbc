"""Who owns an item and by when: take it, hand it on, move its due date. Each change is
validated here, written once and recorded in the item's history (ActionEvent), so the item's page
and the account's timeline say who changed what and when."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from portal.actions.services import possible_owners, record_event
from portal.core.validation import FieldError, ValidationError, parse_date, whole_number
from portal.models import ActionComment, ActionEvent, ActionEventKind, ActionItem, ActionStatus, OPEN_ACTION_STATUSES, User


def allowed_owner_ids(session: Session, item: ActionItem) -> set[int]:
    """The account's reseller staff and the vendor staff (a reseller can name no other partner's people)."""
    return {u.id for u in possible_owners(session, item.account)}


class ItemClosed(ValidationError):
    """A closed item's owner and due date stay as they were when it closed: reopen it first."""

    def __init__(self, field: str):
        super().__init__([FieldError(field, _l("This item is closed: reopen it to change its owner or due date."))])


def may_take(session: Session, item: ActionItem, user: User) -> bool:
    return (item.status in OPEN_ACTION_STATUSES and item.owner_id != user.id
            and user.id in allowed_owner_ids(session, item))


def assign(session: Session, item: ActionItem, raw_owner: str | None, by: User) -> bool:
    """Make someone from the allowed people the owner ("" or "0": nobody). Returns whether it
    changed. Raises ValidationError (field owner_id), ItemClosed on a closed item."""
    if item.status not in OPEN_ACTION_STATUSES:
        raise ItemClosed("owner_id")
    text = str(raw_owner or "").strip()
    owner_id = None if text in ("", "0") else whole_number(text)
    if text not in ("", "0") and (owner_id is None or owner_id not in allowed_owner_ids(session, item)):
        raise ValidationError([FieldError("owner_id", _l("Choose someone from the list."), text)])
    if owner_id == item.owner_id:
        return False
    record_event(session, item, ActionEventKind.ASSIGNED, by, **{"from": item.owner_id, "to": owner_id})
    item.owner_id = owner_id
    return True


def take(session: Session, item: ActionItem, user: User) -> bool:
    """The user becomes the owner. Raises ValidationError if they may not own it."""
    return assign(session, item, str(user.id), user)


def change_due(session: Session, item: ActionItem, raw_due: str | None, by: User, today: date) -> bool:
    """A new due date (empty: none), not in the past. Raises ValidationError (field due_on),
    ItemClosed on a closed item."""
    if item.status not in OPEN_ACTION_STATUSES:
        raise ItemClosed("due_on")
    text = str(raw_due or "").strip()
    due_on = parse_date(text) if text else None
    if text and due_on is None:
        raise ValidationError([FieldError("due_on", _l("Enter a date like 2026-12-31."), text)])
    if due_on is not None and due_on < today:
        raise ValidationError([FieldError("due_on", _l("The due date is in the past."), text)])
    if due_on == item.due_on:
        return False
    record_event(session, item, ActionEventKind.DUE_CHANGED, by,
                 **{"from": item.due_on.isoformat() if item.due_on else None, "to": due_on.isoformat() if due_on else None})
    item.due_on = due_on
    return True


@dataclass
class HistoryEntry:
    """One line of an item's history: an event or a comment, who and when. `before`/`after` are
    what a change was from and to, ready to show: a person's name, a date or a status."""

    at: datetime
    actor: User | None
    event: ActionEventKind | None  # None: a comment
    data: dict = field(default_factory=dict)
    comment: ActionComment | None = None
    before: Any = None
    after: Any = None


def history(session: Session, item: ActionItem) -> list[HistoryEntry]:
    """The item's events and comments in the order they happened (three queries at most, whatever the length)."""
    events = session.scalars(select(ActionEvent).where(ActionEvent.item_id == item.id)
                             .options(joinedload(ActionEvent.actor)).order_by(ActionEvent.at, ActionEvent.id)).all()
    named = {v for e in events if e.event == ActionEventKind.ASSIGNED for v in (e.data.get("from"), e.data.get("to"))
             if isinstance(v, int)}
    people: dict[int, str] = {row.id: row.display_name for row in session.execute(
        select(User.id, User.display_name).where(User.id.in_(named)))} if named else {}

    def shown(event: ActionEventKind, value: Any) -> Any:
        if value is None:
            return None
        if event == ActionEventKind.ASSIGNED:
            return people.get(value)
        if event == ActionEventKind.DUE_CHANGED:
            return date.fromisoformat(value)
        if event == ActionEventKind.STATUS_CHANGED:
            return ActionStatus(value)
        return value

    entries = [HistoryEntry(e.at, e.actor, e.event, e.data or {}, before=shown(e.event, (e.data or {}).get("from")),
                            after=shown(e.event, (e.data or {}).get("to"))) for e in events]
    entries += [HistoryEntry(c.created_at, c.author, None, comment=c) for c in item.comments]
    return sorted(entries, key=lambda entry: entry.at)
