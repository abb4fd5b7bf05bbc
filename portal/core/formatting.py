"""Figures, money and dates the way each user's language writes them: the one place a number is
rounded and written, so a page, an export and an email never show the same figure two ways.

A figure has a kind (portal/scoring/figures.py says which figure is which):
count and score are whole numbers, NPS a whole number with its sign (+12, −7), a percentage has
one decimal and "%", yen is "¥1,234,567" in every language (Japanese business documents write
it so too), days are whole days. A change is the difference of the two figures as shown, so
"62 → 66" always reads "+4", never "+3.6".
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_date as babel_format_date, get_datetime_format
from flask_babel import format_date, format_datetime, get_locale, ngettext

MINUS = "\u2212"  # the typographic minus: "−7", not a hyphen


@dataclass(frozen=True)
class Kind:
    digits: int = 0  # decimals shown, and kept in exports
    unit: str = ""  # "%", "¥" or "days"
    signed: bool = False  # "+12" for positives (NPS)


KINDS: dict[str, Kind] = {
    "count": Kind(),
    "score": Kind(),
    "nps": Kind(signed=True),
    "pct": Kind(1, "%"),
    "yen": Kind(unit="¥"),
    "days": Kind(unit="days"),
}


def rounded(value: float | int | Decimal | None, kind: str) -> int | float | None:
    """The value as shown, as a number (exports keep numbers): half away from zero, like people round."""
    if value is None:
        return None
    digits = KINDS[kind].digits
    exact = Decimal(str(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return int(exact) if digits == 0 else float(exact)


def _magnitude(value: int | float, kind: str) -> str:
    k = KINDS[kind]
    digits = f"{abs(value):,.{k.digits}f}"
    if k.unit == "%":
        return digits + "%"
    if k.unit == "¥":
        return "¥" + digits
    if k.unit == "days":
        return ngettext("%(num)d day", "%(num)d days", int(abs(value)))
    return digits


def figure(value: float | int | Decimal | None, kind: str) -> str:
    """A figure of a kind as every page, export header and email writes it; "—" when unknown."""
    shown = rounded(value, kind)
    if shown is None:
        return "—"
    sign = MINUS if shown < 0 else ("+" if shown > 0 and KINDS[kind].signed else "")
    return sign + _magnitude(shown, kind)


@dataclass(frozen=True)
class Change:
    """A change between two shown figures: its text ("+4", "−1.2 pt") and whether it is good news."""
    delta: int | float
    text: str
    tone: str  # "good", "bad" or "neutral"


def change(now, before, kind: str, better: int = 1) -> Change | None:
    """now − before, both as shown; None when either is unknown or they read the same.
    better: +1 when up is good, −1 when up is bad (churned ARR), 0 when neither."""
    a, b = rounded(now, kind), rounded(before, kind)
    if a is None or b is None:
        return None
    delta = rounded(Decimal(str(a)) - Decimal(str(b)), kind)
    if not delta:
        return None
    assert delta is not None
    text = ("+" if delta > 0 else MINUS) + _magnitude(delta, kind)
    if KINDS[kind].unit == "%":
        text = text[:-1] + " pt"  # a change of a percentage is in points
    tone = "neutral" if better == 0 else ("good" if delta * better > 0 else "bad")
    return Change(delta, text, tone)


def yen(amount: int | None) -> str:
    return figure(amount, "yen")


def pct(value: float | None, digits: int = 1) -> str:
    """A percentage; scorecard figures use one decimal (the "pct" kind), a model's weight shares may ask for none."""
    if digits == KINDS["pct"].digits or value is None:
        return figure(value, "pct")
    return number(value, digits) + "%"


def number(value: float | None, digits: int = 0) -> str:
    """A plain number that is not a scorecard figure (a weight, a threshold), with the same minus."""
    if value is None:
        return "—"
    return (MINUS if value < 0 else "") + f"{abs(value):,.{digits}f}"


def local_date(value: date | None, fmt: str = "medium") -> str:
    if value is None:
        return "—"
    if type(value) is date:  # a date reads the same in every zone: written once per language
        return _date_in(value, fmt, str(get_locale()))
    return format_date(value, fmt)


@functools.lru_cache(maxsize=4096)
def _date_in(value: date, fmt: str, locale: str) -> str:
    """A list shows the same few due dates on many rows: babel parses the pattern on every call."""
    return babel_format_date(value, fmt, locale=locale)


def local_datetime(value: datetime | None) -> str:
    """A moment in the reader's zone and language, one format everywhere: the medium date and the
    short time ("Dec 2, 2026, 9:21 PM", "2026/12/02 21:21")."""
    if value is None:
        return "—"
    locale = get_locale()
    pattern = (str(get_datetime_format("medium", locale=locale))
               .replace("{1}", locale.date_formats["medium"].pattern)
               .replace("{0}", locale.time_formats["short"].pattern))
    # Stored naive in UTC; flask-babel converts to the reader's time zone.
    return format_datetime(value, pattern)


def stored_moment(text: str | None) -> str:
    """A key that ends in a stored UTC moment ("2026-12-02T12:15", "reset 2026-12-02T12:15"), with
    the moment in the reader's zone; other keys (a period "2026-11") as they are."""
    if not text:
        return "—"
    head, _, last = text.rpartition(" ")
    if "T" in last:
        try:
            moment = datetime.fromisoformat(last)
        except ValueError:
            return text
        return f"{head} {local_datetime(moment)}".strip()
    return text


def sparkline_points(values: list[float | int | None], width: int, height: int) -> str:
    """The polyline points of a small trend on the 0-100 scale every sparkline shares, None
    values left out as gaps; "" when fewer than two points have a value (nothing to draw).
    Worked out here rather than in a template loop: a ranking or a list draws hundreds of them."""
    if sum(v is not None for v in values) < 2:
        return ""
    step = width / (len(values) - 1)
    return " ".join(f"{i * step:.1f},{height - 2 - v / 100 * (height - 4):.1f}" for i, v in enumerate(values) if v is not None)


def band_segments(card) -> list[tuple[str, int, int]]:
    """The stacked bar of a scorecard's accounts by band: (band, x, width) for each band with
    accounts, in the order green, yellow, red, not enough data. Worked out here rather than in a
    template loop: the ranking draws one per partner."""
    segments, at = [], 0
    for key, count in (("green", card.green_accounts), ("yellow", card.yellow_accounts), ("red", card.red_accounts),
                       ("none", card.unscored_accounts)):
        if count:
            segments.append((key, at, count))
            at += count
    return segments


def local_name(item) -> str:
    """A vendor-defined name (key feature, milestone) in the user's language: name_ja or name_en."""
    return item.name_ja if str(get_locale()) == "ja" else item.name_en


__all__ = ["local_name", "sparkline_points", "band_segments", "yen", "pct", "number", "figure", "change", "rounded", "local_date", "local_datetime",
           "stored_moment", "get_locale"]
