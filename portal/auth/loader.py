"""Flask-Login's user loader: the session cookie holds the user's session token, not its id."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.models import User
from portal.core.web import get_session


def load_user(session_token: str) -> User | None:
    user = get_session().scalar(
        select(User).options(joinedload(User.partner)).where(User.session_token == session_token)
    )
    if user is None or not user.is_active:
        return None
    return user
