"""Small helpers every view uses: the request's database session, role checks, form errors (lists: portal.core.lists)."""
from __future__ import annotations

from functools import wraps

from collections.abc import Callable

from flask import Flask, abort, current_app, g, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter

from portal.core.lists import MAX_ID
from portal.models import Role


class IdConverter(IntegerConverter):
    """``<int:...>`` in routes: a number no row can have does not match the route (404, not a 500)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def real_app() -> Flask:
    """The application object behind ``current_app`` (to hand to code that outlives the context)."""
    return current_app._get_current_object()  # type: ignore[attr-defined]


def get_session() -> Session:
    """One session per request, closed at teardown."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["portal.sessionmaker"]()
    return g.db_session


ROW_MARKER = 987_654_321  # an id no row has, replaced by each row's own


def row_url(endpoint: str, key: str, **values) -> Callable[[int], str]:
    """url_for once for a list's rows: the URL of `endpoint` with the id `key` filled per row
    (`row_url("accounts.account_detail", "account_id")(7)` is "/accounts/7"). A list of a hundred
    rows asked url_for hundreds of times, each about as long as rendering the row."""
    values[key] = ROW_MARKER
    head, _marker, tail = url_for(endpoint, **values).partition(str(ROW_MARKER))
    return lambda value: f"{head}{int(value)}{tail}"


def roles_required(*roles: Role):
    """Log-in required; a role outside ``roles`` gets 403 (the page exists, but not for you)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles
        return wrapped

    return decorator


def today():
    """Today's date where the vendor works (see Config.today)."""
    return current_app.config["PORTAL"].today()


def attach_errors(form, errors) -> None:
    """Put a ValidationError's field errors (portal.core.validation) next to the form fields they name.

    Names like ``risks[1].type`` address a field inside a FieldList of FormFields.
    """
    import re

    for error in errors:
        target = form
        lists = []  # the FieldLists on the way to the field
        for part in re.findall(r"[A-Za-z_]+|\[\d+\]", error.field):
            if part.startswith("["):
                entries = getattr(target, "entries", [])
                index = int(part[1:-1])
                lists.append(target)
                target = entries[index].form if index < len(entries) else None
            else:
                target = getattr(target, part, None) if target is not None else None
        if target is not None and hasattr(target, "errors") and isinstance(target.errors, list):
            target.errors.append(str(error.message))
            # A FieldList holds its entries' errors as they were when it was validated; without a
            # refresh, form.errors misses this one (a 200 and no "please correct" notice).
            for field_list in reversed(lists):
                entry_errors = [entry.errors for entry in field_list.entries]
                field_list.errors = entry_errors if any(entry_errors) else []
        else:
            form.form_errors.append(f"{error.field}: {error.message}")
