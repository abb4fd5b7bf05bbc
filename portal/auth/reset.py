"""Password reset by email: asked for on the login page, sent through the outbox in the
person's language, a signed link good for 30 minutes and one use (portal.auth.links)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.auth import links, throttle
from portal.auth.services import set_password
from portal.core.clock import utcnow
from portal.email import outbox
from portal.email.services import absolute_links, render
from portal.models import EmailKind, User, normalise_email


@dataclass
class ResetEmail:
    url: str
    minutes: int


def request_reset(app: Flask, session: Session, email: str) -> None:
    """Queue a reset link if the email belongs to an active login; otherwise do nothing. The
    caller answers the same either way. At most one per person per minute (the outbox's unique
    recipient, kind and period), so the form cannot flood someone's inbox. Never commits."""
    email = normalise_email(email)
    user = session.scalar(select(User).where(User.email == email))
    deliver = user is not None and user.is_active
    if user is None:
        # The same work for an unknown email (a message rendered, then dropped), so the answer
        # does not come back faster for emails that have no login.
        user = User(email=email[:254], display_name="", password_hash="", session_token="")
    config = app.config["PORTAL"]
    url = absolute_links(app, config.base_url)("auth.reset_password", token=links.reset_token(config, user))
    data = ResetEmail(url=url, minutes=int(links.RESET_MAX_AGE.total_seconds() // 60))
    message = render(app, EmailKind.PASSWORD_RESET, user, data)
    if deliver:
        outbox.queue(session, user, EmailKind.PASSWORD_RESET, utcnow().strftime("reset %Y-%m-%dT%H:%M"), message)


def reset_password(session: Session, user: User, password: str, *, method: str) -> None:
    """Set the new password (the strength rules; a new session token ends every session and
    the link itself) and lift a lock from failed logins. Never commits."""
    set_password(user, password, method=method)
    throttle.unlock(session, user.email)
