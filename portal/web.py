"""Small helpers every view uses: the request's database session, role checks, paging."""
from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from math import ceil
from typing import Any

from flask import abort, current_app, g, request
from flask_login import current_user, login_required
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter

from portal.models import Role


# Ids are INTEGER columns: a larger number cannot match a row, and overflows the database's integer.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` in routes: a number no row can have does not match the route (404, not a 500)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def db_id(value: str) -> int:
    """``type=`` for an id in the query string: a number no row can have counts as absent."""
    number = int(value)
    if not 0 < number <= MAX_ID:
        raise ValueError(value)
    return number


def get_session() -> Session:
    """One session per request, closed at teardown."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["portal.sessionmaker"]()
    return g.db_session


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


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paginate(session: Session, stmt: Select, *, rows: bool = False, per_page: int | None = None) -> Page:
    """Page a statement in SQL: one COUNT and one LIMIT/OFFSET query, whatever the table size.

    ``rows=True`` for statements that select an entity plus extra columns (items are rows).
    """
    per_page = per_page or current_app.config["PORTAL"].page_size
    page = max(1, request.args.get("page", 1, type=int) or 1)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    offset = (page - 1) * per_page
    items = []
    if offset < total:  # past the last page there is nothing to fetch (and a huge offset overflows)
        window = stmt.limit(per_page).offset(offset)
        items = list(session.execute(window).unique().all() if rows else session.scalars(window).unique())
    return Page(items=items, page=page, per_page=per_page, total=total)


def query_args(**changes: Any) -> dict[str, Any]:
    """The current query string with some values changed, for paging and sort links."""
    args = request.args.to_dict()
    args.update({k: v for k, v in changes.items() if v is not None})
    return {k: v for k, v in args.items() if v not in ("", None)}


def today():
    """Today's date where the vendor works (see Config.today)."""
    return current_app.config["PORTAL"].today()


def attach_errors(form, errors) -> None:
    """Put a ValidationError's field errors (portal.validation) next to the form fields they name.

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
