"""Logins: one write, with its rules, for the user form (vendor admin, partner admin) and the CLI;
checking a login (throttled, same time whether the email exists or not); the password rules."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from portal.auth import throttle
from portal.audit import services as audit
from portal.core.scoping import roles_assignable_by
from portal.core.validation import Checks, FieldError, ValidationError
from portal.models import PARTNER_ROLES, Partner, Role, User, normalise_email

PASSWORD_MIN_LENGTH = 10
# zxcvbn's 0–4 guessability score; 3 is "safely unguessable: moderate protection from offline attacks".
PASSWORD_MIN_SCORE = 3


def password_problem(password: str, *, email: str = "", name: str = ""):
    """Why this password is refused (a translatable message), or None. Too short, guessable
    (zxcvbn score below 3, with the person's email and name as known words), or containing the
    person's email, its local part or their name."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return _l("Use at least %(min)d characters.", min=PASSWORD_MIN_LENGTH)
    lowered = password.lower()
    personal = [w for w in (email.lower(), email.lower().split("@")[0], name.lower().strip()) if len(w) >= 3]
    if any(word in lowered for word in personal):
        return _l("Do not use your email address or name in your password.")
    # zxcvbn's cost grows with the length; beyond 100 characters a password is not guessable anyway.
    if zxcvbn(password[:100], user_inputs=personal)["score"] < PASSWORD_MIN_SCORE:
        return _l("This password is too easy to guess. Use a few unrelated words, or a longer password.")
    return None


def set_password(user: User, password: str, *, method: str, field: str = "new_password") -> None:
    """The one way a password is set (own profile, the user form, the CLI, a reset): the rules
    above, then a new hash and a new session token, which ends every other session."""
    problem = password_problem(password, email=user.email or "", name=user.display_name or "")
    if problem is not None:
        raise ValidationError([FieldError(field, problem)])
    user.set_password(password, method)


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    """A hash made like real ones (same scheme and cost), checked when the email is unknown so
    that both failures take the same time."""
    return generate_password_hash("not-a-password", method=method)


class LoginOutcome(enum.Enum):
    OK = "ok"
    WRONG = "wrong"          # unknown email, wrong password or an inactive login: one answer
    THROTTLED = "throttled"  # too many failures for this email or from this address


@dataclass
class LoginResult:
    outcome: LoginOutcome
    user: User | None = None


def check_login(session: Session, email: str, password: str, *, address: str | None, method: str) -> LoginResult:
    """Check a login attempt. Throttled first (nothing is checked while blocked); an unknown email
    is checked against a dummy hash of the same scheme, so it takes as long as a wrong password.
    Counts the failure, or clears the count (for a person with two-factor sign-in, only once
    the code is right too: portal.auth.views.login_code); never commits."""
    email = normalise_email(email)  # a NUL never gets here: the request check refuses it (core.inputs)
    if throttle.blocked(session, email, address) is not None:
        audit.record_login(session, email, None, ok=False, reason=audit.THROTTLED)
        return LoginResult(LoginOutcome.THROTTLED)
    user = session.scalar(select(User).options(joinedload(User.partner)).where(User.email == email))
    password_ok = check_password_hash(user.password_hash if user is not None else _dummy_hash(method), password)
    if user is None or not password_ok or not user.is_active:
        throttle.record_failure(session, email, address)
        audit.record_login(session, email, user, ok=False, reason=audit.login_refusal(user, password_ok))
        return LoginResult(LoginOutcome.WRONG)
    if not user.has_two_factor:
        throttle.record_success(session, email)
    return LoginResult(LoginOutcome.OK, user)


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
    existing = session.scalar(select(User).where(User.email == email, User.id != (user.id if user else None)))
    if existing is not None:
        # A partner admin must not learn that an email is in use at another partner (or by the
        # vendor): the same refusal as for any unusable address, without "already exists".
        if actor is None or actor.is_vendor or existing.partner_id == actor.partner_id:
            c.fail("email", _l("A user with this email already exists."), email)
        else:
            c.fail("email", _l("This email cannot be used. Ask the vendor if you think it should be."), email)
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
    elif password and (problem := password_problem(password, email=email, name=display_name or "")) is not None:
        c.fail("password", problem)
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
        set_password(user, password, method=password_method, field="password")
    elif user.id is not None and not active:
        user.end_sessions()
    session.add(user)
    session.flush()
    audit.user_saved(session, user, before, actor=actor, password_set=bool(password))
    return user
