"""Date arithmetic that reads the same in SQLAlchemy and runs on SQLite and PostgreSQL alike."""
from __future__ import annotations

from sqlalchemy import Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class days_between(FunctionElement):
    """Whole days from `earlier` to `later` (dates or timestamps; the time of day is ignored)."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_between_default(element, compiler, **kw):
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(CAST({later} AS DATE) - CAST({earlier} AS DATE))"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(julianday(date({later})) - julianday(date({earlier})) AS INTEGER)"


class greatest(FunctionElement):
    """The larger of the arguments: GREATEST on PostgreSQL, the two-argument max() on SQLite."""

    inherit_cache = True
    name = "greatest"

    @property
    def type(self):
        return self.clauses.clauses[-1].type


@compiles(greatest)
def _greatest_default(element, compiler, **kw):
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


@compiles(greatest, "sqlite")
def _greatest_sqlite(element, compiler, **kw):
    return f"max({compiler.process(element.clauses, **kw)})"


class add_days(FunctionElement):
    """A date moved by a whole number of days (negative: earlier)."""

    inherit_cache = True
    name = "add_days"

    @property
    def type(self):
        return self.clauses.clauses[0].type


@compiles(add_days)
def _add_days_default(element, compiler, **kw):
    day, days = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(CAST({day} AS DATE) + CAST({days} AS INTEGER))"


@compiles(add_days, "sqlite")
def _add_days_sqlite(element, compiler, **kw):
    day, days = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"date({day}, printf('%+d days', {days}))"
