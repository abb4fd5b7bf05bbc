"""Logins: one write, with its rules, for the user form (vendor admin, partner admin) and the CLI."""
from __future__ import annotations

from typing import Any, Mapping

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit import services as audit
from portal.core.scoping import roles_assignable_by
from portal.core.validation import Checks
from portal.models import PARTNER_ROLES, Partner, Role, User, normalise_email

PASSWORD_MIN_LENGTH = 10


def save_user(session: Session, values: Mapping[str, Any], *, user: User | None = None, actor: User | None = None,
              password_method: str) -> User:
    """Create or update a login. `actor` is who does it (None: an operator at the command line).
    Raises ValidationError with every problem found; never commits."""
    c = Checks()
    display_name = c.text(values, "display_name", max_length=120, required=True)
    email = normalise_email(values.get("email") or "")
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        c.fail("email", _l("Enter a valid email address."), email)
    if session.scalar(select(User.id).where(User.email == email, User.id != (user.id if user else None))):
        c.fail("email", _l("A user with this email already exists."), email)
    role = c.choice(values, "role", Role, required=True)
    if role is not None and actor is not None and role not in roles_assignable_by(actor):
        c.fail("role", _l("Choose a role from the list."), role.value)
    partner_id = values.get("partner_id") or None
    if role in PARTNER_ROLES and not partner_id:
        c.fail("partner_id", _l("Choose the partner this person works for."))
    elif role is not None and role.is_vendor and partner_id:
        c.fail("partner_id", _l("Vendor staff do not belong to a partner; leave this empty."))
    elif partner_id and (session.get(Partner, partner_id) is None
                         or (actor is not None and not actor.is_vendor and partner_id != actor.partner_id)):
        c.fail("partner_id", _l("Choose the partner this person works for."))
    password = values.get("password") or ""
    if user is None and not password:
        c.fail("password", _l("Set a first password; the user can change it in their profile."))
    elif password and len(password) < PASSWORD_MIN_LENGTH:
        c.fail("password", _l("Use at least %(min)d characters.", min=PASSWORD_MIN_LENGTH))
    active = bool(values.get("active", True))
    if user is not None and actor is not None and user.id == actor.id and (not active or role != actor.role):
        c.fail("role", _l("You cannot change your own role or deactivate yourself."))
    c.done()
    assert display_name is not None  # required: done() raised otherwise
    before = audit.user_snapshot(user)
    user = user or User()
    user.email, user.display_name, user.role = email, display_name, role
    user.partner_id, user.language, user.active = partner_id, values.get("language") or None, active
    if password:
        user.set_password(password, password_method)
    session.add(user)
    session.flush()
    audit.user_saved(session, user, before, actor=actor, password_set=bool(password))
    return user
