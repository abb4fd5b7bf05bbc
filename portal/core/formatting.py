"""Money and dates the way each user's language writes them."""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import format_date, format_datetime, get_locale


def yen(amount: int | None) -> str:
    if amount is None:
        return "—"
    return f"¥{amount:,}"


def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}%"


def number(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def local_date(value: date | None, fmt: str = "medium") -> str:
    if value is None:
        return "—"
    return format_date(value, fmt)


def local_datetime(value: datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return "—"
    # Stored naive in UTC; flask-babel converts to the configured time zone.
    return format_datetime(value, fmt)


def local_name(item) -> str:
    """A vendor-defined name (key feature, milestone) in the user's language: name_ja or name_en."""
    return item.name_ja if str(get_locale()) == "ja" else item.name_en


__all__ = ["local_name", "yen", "pct", "number", "local_date", "local_datetime", "get_locale"]
