"""Date arithmetic that reads the same in SQLAlchemy and runs on SQLite and PostgreSQL alike."""
from __future__ import annotations

from sqlalchemy import DateTime, Integer, String, cast, func
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


class round_half_up(FunctionElement):
    """Rounded to a whole number, halves up (for the non-negative values scored here) on both databases.

    PostgreSQL's round() on a double rounds halves to even (52.5 -> 52) where SQLite's rounds them
    up (53), so the same data would score differently; FLOOR(x + 0.5) is what SQLite's round() does.
    """

    inherit_cache = True
    name = "round_half_up"

    @property
    def type(self):
        return self.clauses.clauses[0].type


@compiles(round_half_up)
def _round_half_up_default(element, compiler, **kw):
    return f"FLOOR(({compiler.process(element.clauses, **kw)}) + 0.5)"


@compiles(round_half_up, "sqlite")
def _round_half_up_sqlite(element, compiler, **kw):
    return f"round({compiler.process(element.clauses, **kw)})"


class json_object(FunctionElement):
    """A JSON object from alternating keys and values, built by the database (json_build_object on
    PostgreSQL, json_object on SQLite), so INSERT ... SELECT can fill a JSON column."""

    inherit_cache = True
    name = "json_object"

    @property
    def type(self):
        from sqlalchemy import JSON
        return JSON()


@compiles(json_object)
def _json_object_default(element, compiler, **kw):
    return f"json_build_object({compiler.process(element.clauses, **kw)})"


@compiles(json_object, "sqlite")
def _json_object_sqlite(element, compiler, **kw):
    return f"json_object({compiler.process(element.clauses, **kw)})"


class add_months(FunctionElement):
    """A date moved by a whole number of months (the first of a month stays the first)."""

    inherit_cache = True
    name = "add_months"

    @property
    def type(self):
        return self.clauses.clauses[0].type


@compiles(add_months)
def _add_months_default(element, compiler, **kw):
    day, months = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(CAST({day} AS DATE) + make_interval(months => CAST({months} AS INTEGER)) AS DATE)"


@compiles(add_months, "sqlite")
def _add_months_sqlite(element, compiler, **kw):
    day, months = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"date({day}, printf('%+d months', {months}))"


class as_moment(FunctionElement):
    """A day as a moment (its midnight), so that dated and timed entries sort in one column."""

    type = DateTime()
    inherit_cache = True
    name = "as_moment"


@compiles(as_moment)
def _as_moment_default(element, compiler, **kw):
    return f"CAST({compiler.process(element.clauses, **kw)} AS TIMESTAMP)"


@compiles(as_moment, "sqlite")
def _as_moment_sqlite(element, compiler, **kw):
    return f"datetime({compiler.process(element.clauses, **kw)})"


def iso_day(column):
    """A date (or a moment's day) as 'YYYY-MM-DD' text on both databases: how alert subjects
    and outcome values store days."""
    return func.substr(cast(column, String), 1, 10)
