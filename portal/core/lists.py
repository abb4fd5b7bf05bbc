"""Lists, for the pages and the API alike: one way to read filter, sort and page parameters,
and to page a statement in SQL.

A filter value that names nothing (an unknown status, a partner id that is not a number)
answers 400 naming the parameter, never a silently ignored filter and never a 500. Page numbers
are forgiving: not a number or below 1 means the first page, past the end an empty page.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from math import ceil
from typing import Any, Mapping, NoReturn, TypeVar

from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest

from portal.core.validation import FieldError, whole_number

# Ids are INTEGER columns: a larger number cannot match a row, and overflows the database's integer.
MAX_ID = 2**31 - 1
NO_ROW = -1  # an id no row has, within the column's range
E = TypeVar("E", bound=enum.Enum)


def db_id(value: str) -> int:
    """``type=`` for an id: a number no row can have raises ValueError (counts as absent)."""
    number = int(value)
    if not 0 < number <= MAX_ID:
        raise ValueError(value)
    return number


class InvalidArgument(BadRequest):
    """A list parameter that names nothing: 400 on a page, problem details naming it in the API."""

    def __init__(self, name: str, hint: str, value: str):
        super().__init__(_("The filter %(name)s=%(value)s is not valid: %(hint)s", name=name, value=value[:40], hint=hint))
        self.errors = [FieldError(name, hint, value)]


class ListArgs:
    """The request's list parameters, typed. Bad values raise InvalidArgument naming the parameter."""

    def __init__(self, args: Mapping[str, str] | None = None):
        self.args = request.args if args is None else args

    def _bad(self, name: str, hint: str) -> NoReturn:
        raise InvalidArgument(name, hint, self.args.get(name, ""))

    def text(self, name: str) -> str:
        return (self.args.get(name) or "").strip()

    def flag(self, name: str) -> bool:
        return self.args.get(name) == "1"

    def choice(self, name: str, enum_cls: type[E], allowed: list[E] | None = None) -> E | None:
        raw = self.text(name)
        if not raw:
            return None
        options = allowed if allowed is not None else list(enum_cls)
        found = next((member for member in options if member.value == raw), None)
        if found is None:
            self._bad(name, _("one of %(options)s", options=", ".join(m.value for m in options)))
        return found

    def id(self, name: str) -> int | None:
        """An id filter. A number larger than any id is kept as one that matches nothing
        (NO_ROW: binding the number itself would overflow the INTEGER column)."""
        raw = self.text(name)
        if not raw:
            return None
        number = whole_number(raw)
        if number is None or number <= 0:
            self._bad(name, _("a positive whole number"))
        return number if number <= MAX_ID else NO_ROW

    def one_of(self, name: str, options, default: str) -> str:
        """A sort key or a view name: unknown values fall back to the default (links never break)."""
        value = self.args.get(name)
        return value if value is not None and value in options else default

    def number(self, name: str, default: int, low: int, high: int) -> int:
        """A count such as per_page: forgiving, kept within [low, high]."""
        number = whole_number(self.args.get(name, ""))
        return default if number is None else min(high, max(low, number))

    def sort(self, sorts: Mapping[str, "Sort"], default: str) -> tuple[str, bool]:
        """?sort=<key>&order=asc|desc: the key (unknown keys fall back to the default) and whether
        it runs descending (without an order, the column's natural direction)."""
        key = self.one_of("sort", sorts, default)
        order = self.one_of("order", ("asc", "desc"), "")
        return key, (order == "desc") if order else sorts[key].descending

    def page(self) -> int:
        return self.number("page", 1, 1, 10**12)

    def bounded(self, name: str, default: int, low: int, high: int) -> int:
        """A count as a program sends it (the API): absent means the default, anything but a whole
        number within [low, high] raises InvalidArgument (the OpenAPI document states the range)."""
        if name not in self.args:
            return default
        number = whole_number(self.args[name])
        if number is None or not low <= number <= high:
            self._bad(name, _("a whole number from %(low)s to %(high)s", low=low, high=high))
        return number

    def present_choice(self, name: str, enum_cls: type[E]) -> E | None:
        """Like choice, but a parameter sent empty is invalid too (the API; a web filter form sends
        empty values for "all")."""
        if name in self.args and not self.text(name):
            self._bad(name, _("one of %(options)s", options=", ".join(m.value for m in enum_cls)))
        return self.choice(name, enum_cls)


@dataclass(frozen=True)
class Sort:
    """A sortable column: the SQL expression and the direction a click first sorts it in
    (largest, latest, worst first where that is what people look for)."""

    column: Any
    descending: bool = False

    def order_by(self, descending: bool, *tie_breakers: Any) -> list[Any]:
        """ORDER BY terms with empty values last in both directions, then the tie breakers (stable pages)."""
        column = self.column.desc() if descending else self.column.asc()
        return [column.nulls_last(), *tie_breakers]


# A bounded count stops counting here (or just past the page asked for): "more than 1,000"
# is as useful to a reader as the exact number, and costs a fixed amount however big the list.
COUNT_CAP = 1000


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int
    capped: bool = False  # there are more than `total` rows (a bounded count stopped there)

    @property
    def pages(self) -> int:
        """The number of pages; when capped, the whole pages the bound fills (there are more)."""
        return max(1, self.total // self.per_page if self.capped else ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages or self.capped


def paginate(session: Session, stmt: Select, *, rows: bool = False, per_page: int | None = None, page: int | None = None,
             total: int | None = None, key: Any = None, bounded: bool = False) -> Page:
    """Page a statement in SQL: one COUNT and one LIMIT/OFFSET query, whatever the table size.

    ``rows=True`` for statements that select an entity plus extra columns (items are rows);
    ``total`` when the caller has counted the rows already (no COUNT then).
    ``key`` (a unique column, the last tie breaker of the ORDER BY): the page's keys are found
    first with a statement that selects only the key, then the page's rows by key. A statement
    whose columns are costly (correlated subqueries) then works them out for the page's rows
    only, not for every row an OFFSET skips.
    ``bounded=True``: count no further than COUNT_CAP rows (or the end of the page asked for, if
    later); past it the page is ``capped`` ("more than N") and always has a next page.
    """
    per_page = per_page or current_app.config["PORTAL"].page_size
    page = page or ListArgs().page()
    offset = (page - 1) * per_page
    capped = False
    if total is None:
        counted = (stmt.with_only_columns(key) if key is not None else stmt).order_by(None)
        bound = max(COUNT_CAP, offset + per_page) if bounded else None
        if bound is not None:
            counted = counted.limit(bound + 1)
        total = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
        if bound is not None and total > bound:
            total, capped = bound, True
    items: list[Any] = []
    if offset < total:  # past the last page there is nothing to fetch (and a huge offset overflows)
        window = stmt.limit(per_page).offset(offset)
        if key is not None:
            keys = list(session.scalars(window.with_only_columns(key)))
            window = stmt.where(key.in_(keys))
        items = list(session.execute(window).unique().all() if rows else session.scalars(window).unique())
    return Page(items=items, page=page, per_page=per_page, total=total, capped=capped)


def query_args(**changes: Any) -> dict[str, Any]:
    """The current query string with some values changed, for paging and sort links."""
    args = request.args.to_dict()
    args.update({k: v for k, v in changes.items() if v is not None})
    return {k: v for k, v in args.items() if v not in ("", None)}
