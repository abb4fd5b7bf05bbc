"""Who may open which page, decided once: each view declares its roles (web.roles_required),
and templates, emails and the access-matrix test read the same declaration through `can`
instead of comparing role names.

What a user may *see* inside a page (which partners' rows) is scoping's business
(portal/scoping.py); this module answers only "may this person use this page or action?".
"""
from __future__ import annotations

from flask import current_app
from flask_login import current_user

from portal.models import Role, User


def roles_for(endpoint: str) -> tuple[Role, ...] | None:
    """The roles a view admits; None when any logged-in user may use it."""
    view = current_app.view_functions[endpoint]
    return getattr(view, "allowed_roles", None)


def can(endpoint: str, user: User | None = None) -> bool:
    """May `user` (by default the logged-in one) use the page or action behind `endpoint`?"""
    user = user if user is not None else current_user
    if user is None or not user.is_authenticated:
        return False
    roles = roles_for(endpoint)
    return roles is None or user.role in roles
