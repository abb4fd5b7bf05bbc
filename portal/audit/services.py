"""Writing the audit log: `record` is called by the service that makes the change, in its
transaction, so an event exists exactly when the change does (a refused or rolled-back change
leaves none); logins and logouts use `record_login` / `record_logout`.

Nothing here updates or deletes an event (and the database refuses it: see models.py).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Mapping

from flask import has_request_context, request
from sqlalchemy import Select, or_
from sqlalchemy.orm import Session

from portal.audit.models import AuditAction, AuditEvent
from portal.core.scoping import users_manageable_by, visible_to
from portal.models import ApiToken, Partner, User

Actor = User | ApiToken | None


def actor_label(actor: Actor) -> str | None:
    """How the actor reads in the log, as it was at the time."""
    if isinstance(actor, User):
        return f"{actor.display_name} <{actor.email}>"
    if isinstance(actor, ApiToken):
        return f"API token “{actor.name}” ({actor.prefix}…)"
    return None


def _client_address() -> str | None:
    # Read here rather than passed down: the services that record are shared with the CLI and
    # the jobs, which have no request (and no address).
    return (request.remote_addr or None) if has_request_context() else None


def _label(value: str | None) -> str | None:
    """A label as stored: within the column (a typed email may be long; NUL is refused by the request check)."""
    return value[:300] if value else None


def plain(value: Any) -> Any:
    """A value as the detail stores it: enums by their code, sets and lists sorted."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple, set)):
        return sorted(plain(v) for v in value)
    return value


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for the fields that differ (all of them for a new record)."""
    before = before or {}
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def record(session: Session, action: AuditAction, *, actor: Actor, partner_id: int | None = None,
           target: Any = None, target_label: str | None = None, detail: Mapping[str, Any] | None = None,
           actor_fallback: str | None = None) -> AuditEvent:
    """Add one event to the caller's unit of work (never commits). `target` is the record acted
    on (its table names the type); `detail` what changed, as {field: [before, after]}."""
    event = AuditEvent(**event_values(action, actor=actor, partner_id=partner_id, target=target, target_label=target_label,
                                      detail=detail, actor_fallback=actor_fallback))
    session.add(event)
    return event


def event_values(action: AuditAction, *, actor: Actor, partner_id: int | None = None, target: Any = None,
                 target_label: str | None = None, detail: Mapping[str, Any] | None = None,
                 actor_fallback: str | None = None) -> dict[str, Any]:
    """An event's columns, as record adds it: for a writer that inserts many with one statement."""
    return dict(
        action=action,
        actor_id=actor.id if isinstance(actor, User) else None,
        actor_label=_label(actor_label(actor) or actor_fallback),
        partner_id=partner_id,
        target_type=getattr(target, "__tablename__", None),
        target_id=getattr(target, "id", None),
        target_label=_label(target_label),
        detail=json.dumps(detail, ensure_ascii=False, default=str, sort_keys=True) if detail else None,
        client_address=_client_address(),
    )


# --- logins -----------------------------------------------------------------------------------

def record_login(session: Session, email: str, user: User | None, *, ok: bool, reason: str | None = None) -> None:
    """A login or a refused one, in the same transaction as the throttle's count (the caller
    commits it even when the login is refused). `email` is what was typed (kept when it names
    nobody, so that guessing shows in the log)."""
    record(session, AuditAction.LOGIN if ok else AuditAction.LOGIN_FAILED, actor=user,
           actor_fallback=(email or "")[:254], partner_id=user.partner_id if user else None, target=user,
           target_label=user.email if user else None, detail={"reason": reason} if reason else None)


def login_refusal(user: User | None, password_ok: bool) -> str:
    """Why a login was refused, for the log only (the person is told nothing more than "incorrect")."""
    if user is None:
        return "unknown_email"
    return "wrong_password" if not password_ok else "inactive"


THROTTLED = "throttled"


def record_logout(session: Session, user: User) -> None:
    """A logout, committed by the caller with the session token's rotation."""
    record(session, AuditAction.LOGOUT, actor=user, partner_id=user.partner_id, target=user, target_label=user.email)


# --- the records whose changes are audited -----------------------------------------------------

USER_FIELDS = ("email", "display_name", "role", "partner_id", "active", "language")


def user_snapshot(user: User | None) -> dict[str, Any] | None:
    """What a user save may change, before it; None for a new login."""
    if user is None or user.id is None:
        return None
    return {name: plain(getattr(user, name)) for name in USER_FIELDS}


def user_saved(session: Session, user: User, before: dict[str, Any] | None, *, actor: Actor, password_set: bool) -> None:
    """One event for a user save: created, deactivated, reactivated, role changed or updated
    (the first that applies); the detail lists every field that changed. Nothing if none did."""
    detail: dict[str, Any] = changes(before, {name: plain(getattr(user, name)) for name in USER_FIELDS})
    if password_set:
        detail["password"] = [None, "set"] if before is None else ["…", "changed"]
    if before is None:
        action = AuditAction.USER_CREATED
    elif not detail:
        return
    elif "active" in detail:
        action = AuditAction.USER_REACTIVATED if user.active else AuditAction.USER_DEACTIVATED
    elif "role" in detail:
        action = AuditAction.ROLE_CHANGED
    else:
        action = AuditAction.USER_UPDATED
    record(session, action, actor=actor, partner_id=user.partner_id or (before or {}).get("partner_id"), target=user,
           target_label=user.email, detail=detail)


PARTNER_FIELDS = ("name", "code", "tier", "status")


def partner_snapshot(partner: Partner | None) -> dict[str, Any] | None:
    if partner is None or partner.id is None:
        return None
    found = {name: plain(getattr(partner, name)) for name in PARTNER_FIELDS}
    found["managers"] = plain([m.email for m in partner.managers])
    return found


def partner_saved(session: Session, partner: Partner, before: dict[str, Any] | None, *, actor: Actor) -> None:
    """One event for a partner save (tier, status, managers, name, code); nothing if nothing changed."""
    after = partner_snapshot(partner) or {}
    detail = changes(before, after)
    if before is not None and not detail:
        return
    record(session, AuditAction.PARTNER_CREATED if before is None else AuditAction.PARTNER_UPDATED, actor=actor,
           partner_id=partner.id, target=partner, target_label=f"{partner.name} ({partner.code})", detail=detail)


# --- reading the log ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    """What the log page and its export filter on; `start`/`end` are moments (end excluded)."""

    actor_id: int | None = None
    partner_id: int | None = None
    action: AuditAction | None = None
    start: datetime | None = None
    end: datetime | None = None
    text: str = ""


def events_visible_to(user: User, filters: Filters) -> Select:
    """(event, partner name) rows the user may see, newest first: a vendor admin every event, a
    partner admin its own partner's (core.scoping)."""
    stmt = (visible_to(user, AuditEvent).add_columns(Partner.name.label("partner_name"))
            .outerjoin(Partner, Partner.id == AuditEvent.partner_id)
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()))
    if filters.actor_id:
        stmt = stmt.where(AuditEvent.actor_id == filters.actor_id)
    if filters.partner_id and user.is_vendor:
        stmt = stmt.where(AuditEvent.partner_id == filters.partner_id)
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.start:
        stmt = stmt.where(AuditEvent.occurred_at >= filters.start)
    if filters.end:
        stmt = stmt.where(AuditEvent.occurred_at < filters.end)
    if filters.text:
        stmt = stmt.where(or_(*(column.icontains(filters.text, autoescape=True) for column in (
            AuditEvent.actor_label, AuditEvent.target_label, AuditEvent.detail, AuditEvent.client_address))))
    return stmt


def actors_visible_to(session: Session, user: User) -> list:
    """(id, label) of the people a filter may name: everyone for a vendor admin, the partner's
    staff for a partner admin."""
    stmt = users_manageable_by(user).with_only_columns(User.id, User.display_name).order_by(User.display_name, User.id)
    return list(session.execute(stmt).all())
