"""The portal's one clock: every "now" and "today" of the web app, the CLI, the scheduler and
the jobs comes from here, and nothing else in the portal reads the system date.

Two rules live here:
- moments are aware, in UTC (the columns store them as naive UTC: portal.core.db.UTCDateTime);
- "today" is a day where the vendor works (Asia/Tokyo unless PORTAL_DEFAULT_TIMEZONE says
  otherwise), never the server's UTC date: Monday 00:30 in Tokyo is still Sunday in UTC.

Tests move this clock with time-machine, which moves all of Python's clocks at once.
"""
from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

DEFAULT_TIME_ZONE = "Asia/Tokyo"


def vendor_time_zone() -> str:
    """The vendor's zone, as configured (Config.default_timezone reads the same variable)."""
    return os.environ.get("PORTAL_DEFAULT_TIMEZONE") or DEFAULT_TIME_ZONE


def now() -> datetime:
    """This moment, aware, in UTC."""
    return datetime.now(timezone.utc)


def utcnow() -> datetime:
    """This moment, aware, in UTC (the name the models' defaults use)."""
    return now()


def as_stored(moment: datetime) -> datetime:
    """Any moment in UTC, aware; a naive one is taken as UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def local_now(time_zone: str | None = None) -> datetime:
    """This moment on the wall clock of a zone (the vendor's by default)."""
    return now().astimezone(ZoneInfo(time_zone or vendor_time_zone()))


def day_of(moment: datetime, time_zone: str | None = None) -> date:
    """The date a moment falls on in a zone (the vendor's by default); naive moments are UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(ZoneInfo(time_zone or vendor_time_zone())).date()


def today(time_zone: str | None = None) -> date:
    """Today's date in a zone: the vendor's by default (Tokyo's day, not the server's)."""
    return day_of(now(), time_zone)


def end_of_day(day: date, time_zone: str | None = None) -> datetime:
    """The moment (in UTC) a vendor's day ends: what was known "by that day" came before it."""
    midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(time_zone or vendor_time_zone()))
    return as_stored(midnight)
