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
from sqlalchemy import Select, and_, false, func, or_, select, tuple_
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
class Term:
    """One term of a list's order: empty values last in both directions. `nullable=False` for a
    column that is never empty (the keyset condition is then a plain row comparison, which an
    index on the columns answers)."""

    column: Any
    descending: bool = False
    nullable: bool = True

    def clause(self, backwards: bool = False) -> Any:
        """The ORDER BY clause; backwards: the reverse order (empty values first)."""
        column = self.column.desc() if self.descending != backwards else self.column.asc()
        return column.nulls_first() if backwards else column.nulls_last()

    def beyond(self, value: Any, backwards: bool = False) -> Any:
        """SQL: the row's value comes strictly after `value` in this order (before it, backwards)."""
        if value is None:
            return self.column.is_not(None) if backwards else false()
        later = (self.column < value) if self.descending != backwards else (self.column > value)
        return or_(later, self.column.is_(None)) if self.nullable and not backwards else later


@dataclass(frozen=True)
class Sort:
    """A sortable column: the SQL expression and the direction a click first sorts it in
    (largest, latest, worst first where that is what people look for)."""

    column: Any
    descending: bool = False
    nullable: bool = True

    def terms(self, descending: bool, *tie_breakers: Term) -> list[Term]:
        """The list's order: this column, then the tie breakers (stable pages; the last is unique)."""
        return [Term(self.column, descending, self.nullable), *(t for t in tie_breakers if t.column is not self.column)]


def order_by(terms: list[Term]) -> list[Any]:
    return [term.clause() for term in terms]


def beyond(terms: list[Term], values: Any, backwards: bool = False) -> Any:
    """SQL: the row comes after the row whose order values are `values` (before it, backwards).
    Terms that are never empty and run one way are one row comparison, (a, b) > (x, y), which an
    index on (a, b) answers by starting there; otherwise the lexicographic OR of its steps."""
    if not any(t.nullable for t in terms) and len({t.descending for t in terms}) == 1:
        left, right = tuple_(*(t.column for t in terms)), tuple_(*values)
        return (left < right) if terms[0].descending != backwards else (left > right)
    steps = []
    for n, (term, value) in enumerate(zip(terms, values, strict=True)):
        same = [t.column.is_(None) if v is None else t.column == v for t, v in zip(terms[:n], values[:n], strict=True)]
        steps.append(and_(*same, term.beyond(value, backwards)))
    return or_(*steps)


# A bounded count stops counting here (or just past the page asked for): "more than 1,000"
# is as useful to a reader as the exact number, and costs a fixed amount however big the list.
COUNT_CAP = 1000


def count_bound(page: int, per_page: int) -> int:
    """How far a bounded count counts: COUNT_CAP, or the end of the page asked for if later."""
    return max(COUNT_CAP, page * per_page)


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int
    capped: bool = False  # there are more than `total` rows (a bounded count stopped there)
    # Keyset pages (paginate_keyset): the keys the Previous and Next links start from; None: no such page.
    keyset: bool = False
    first_key: Any = None
    next_key: Any = None

    @property
    def pages(self) -> int:
        """The number of pages; when capped, the whole pages the bound fills (there are more),
        or this page's number when further in (a keyset page knows whether it is the last)."""
        if not self.capped:
            return max(1, ceil(self.total / self.per_page))
        return self.page if self.keyset and self.next_key is None else max(1, self.total // self.per_page, self.page)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        if self.keyset:
            return self.next_key is not None
        return self.page < self.pages or self.capped


def paginate(session: Session, stmt: Select, *, rows: bool = False, per_page: int | None = None, page: int | None = None,
             total: int | None = None, capped: bool = False, key: Any = None, bounded: bool = False) -> Page:
    """Page a statement in SQL: one COUNT and one LIMIT/OFFSET query, whatever the table size.

    ``rows=True`` for statements that select an entity plus extra columns (items are rows);
    ``total`` when the caller has counted the rows already (no COUNT then), ``capped`` if that
    count was bounded and stopped there.
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
    if total is None:
        counted = (stmt.with_only_columns(key) if key is not None else stmt).order_by(None)
        bound = count_bound(page, per_page) if bounded else None
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


def paginate_keyset(session: Session, stmt: Select, terms: list[Term], key: Any, *, per_page: int | None = None) -> Page:
    """Page a statement by keyset: ?after=<key> is the page after the row with that key (the
    Next link), ?before=<key> the page before it (Previous), each read from where the order
    reaches that row (one query for its order values) instead of counting off every row an OFFSET
    skips. ?page=N without a cursor (the first page, old links) is an OFFSET page. The page number
    the links carry is only shown; the count is bounded (COUNT_CAP) wherever the page is.
    ``key``: the unique column that ends `terms` (the items are rows, as paginate's rows=True)."""
    args = ListArgs()
    per_page = per_page or current_app.config["PORTAL"].page_size
    page = args.page()
    backwards = "after" not in request.args and "before" in request.args
    cursor = args.id("before" if backwards else "after")
    values = None
    if cursor is not None:  # a key no row (of this list) has any more: the page by number instead
        values = session.execute(stmt.with_only_columns(*(t.column for t in terms)).where(key == cursor).order_by(None)).first()
    bound = count_bound(1 if values is not None else page, per_page)
    counted = session.scalar(select(func.count()).select_from(stmt.with_only_columns(key).order_by(None).limit(bound + 1).subquery())) or 0
    total, capped = min(counted, bound), counted > bound
    window = stmt.with_only_columns(key).order_by(*(t.clause(backwards and values is not None) for t in terms)).limit(per_page + 1)
    keys: list[Any] = []
    if values is not None:
        keys = list(session.scalars(window.where(beyond(terms, values, backwards))))
    elif (page - 1) * per_page < total:  # past the last page there is nothing to fetch (and a huge offset overflows)
        keys = list(session.scalars(window.offset((page - 1) * per_page)))
    more = len(keys) > per_page
    keys = keys[:per_page]
    if values is not None and backwards:
        keys.reverse()
        page = page if more else 1  # reached the start: this is the first page, whatever the link said
    rows = session.execute(stmt.where(key.in_(keys)).order_by(*order_by(terms))).unique().all() if keys else []
    following = (more or backwards) and bool(keys)
    return Page(items=list(rows), page=page, per_page=per_page, total=total, capped=capped, keyset=True,
                first_key=keys[0] if keys else None, next_key=keys[-1] if following else None)


def query_args(**changes: Any) -> dict[str, Any]:
    """The current query string with some values changed, for paging and sort links. A link that
    starts the paging over (page='': a new sort, filter or export) drops a keyset cursor too."""
    args = request.args.to_dict()
    if changes.get("page") == "":
        args = {k: v for k, v in args.items() if k not in ("after", "before")}
    args.update({k: v for k, v in changes.items() if v is not None})
    return {k: v for k, v in args.items() if v not in ("", None)}
