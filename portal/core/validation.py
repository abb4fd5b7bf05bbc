"""Validation shared by every write: one way to check values and one error to report them.

A service checks the values it is given (strings from a form or a file, JSON values from the
API) with `Checks`, which gathers every bad field in one pass, and raises one
`ValidationError` carrying `FieldError`s named after the fields. Each caller shows them its own
way: next to the form field (portal.core.web.attach_errors), by CSV row and column (imports), or as
problem+json with a pointer (API).
"""
from __future__ import annotations

import enum
import functools
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Mapping, TypeVar

from flask_babel import lazy_gettext as _l


MAX_TEXT = 2000
MAX_INTEGER = 2**31 - 1  # an INTEGER column's largest value (PostgreSQL)

YES = {"1", "yes", "y", "true", "x", "✓", "✔", "○", "◯", "〇", "はい", "済", "済み", "あり", "有り", "有"}
NO = {"0", "no", "n", "false", "", "-", "×", "✕", "いいえ", "未", "未済", "なし", "無し", "無"}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    value: Any = None
    pointer: str | None = None  # RFC 6901, when the field name cannot say it (portal.core.inputs)

    def __str__(self) -> str:
        return str(self.message)


class ValidationError(Exception):
    """Some values are not valid; `errors` says which field and why (every one found, not the first)."""

    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def normalised(value: Any) -> str:
    # NFKC folds full-width digits and letters (１２, ＧＲＥＥＮ) that Japanese input methods produce.
    return unicodedata.normalize("NFKC", str(value)).strip()


T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def _kept(check: F) -> F:
    """A field check whose answer (value and errors) for a raw value is kept in the Checks' memo,
    when it has one: a file's rows repeat the same few values in most columns."""
    @functools.wraps(check)
    def checked(self: "Checks", values: Mapping, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.memo is None:
            return check(self, values, name, *args, **kwargs)
        raw = values.get(name)
        key = (check, id(self.aliases), name, raw.__class__, raw, args, *kwargs.items())  # a call site names its keywords in one order
        return self.kept(key, lambda: check(self, values, name, *args, **kwargs))
    return checked  # type: ignore[return-value]


class Checks:
    """Gathers errors while checking a record, so one pass reports every bad field.
    `memo`: a dict shared by the Checks of many records of one kind (a file's rows), so that a
    value seen before is not checked again; the same value gives the same errors."""

    def __init__(self, aliases: Mapping[type[enum.Enum], Mapping[str, str]] | None = None, memo: dict | None = None) -> None:
        self.errors: list[FieldError] = []
        self.aliases = aliases or {}  # other words accepted for coded values, per enum
        self.memo = memo

    def kept(self, key: tuple, compute: Callable[[], T]) -> T:
        """compute(), or what it gave (and the errors it found) for the same key before."""
        if self.memo is None:
            return compute()
        try:
            found = self.memo.get(key)
        except TypeError:  # an unhashable value (a list or an object): checked every time
            return compute()
        if found is None:
            before = len(self.errors)
            found = self.memo[key] = (compute(), self.errors[before:])
        else:
            self.errors.extend(found[1])
        return found[0]

    def fail(self, name: str, message, value=None) -> None:
        self.errors.append(FieldError(name, message, value))

    def failed(self, name: str) -> bool:
        return any(e.field == name for e in self.errors)

    def done(self) -> None:
        """Raise the errors found, if any."""
        if self.errors:
            raise ValidationError(self.errors)

    @_kept
    def date(self, values: Mapping, name: str, *, required=False) -> date | None:
        raw = values.get(name)
        if blank(raw):
            if required:
                self.fail(name, _l("is required"))
            return None
        day = parse_date(raw)
        if day is None:
            self.fail(name, _l("must be a date like 2026/11/01"), raw)
        return day

    @_kept
    def integer(self, values: Mapping, name: str, low: int | None = 0, high: int | None = None, *, required=False, default=None):
        raw = values.get(name)
        if blank(raw):
            if required:
                self.fail(name, _l("is required"))
            return default
        if isinstance(raw, bool):
            number = None
        elif isinstance(raw, int):
            number = raw
        elif isinstance(raw, float) and raw.is_integer():
            number = int(raw)  # Excel stores every number as a float
        else:
            number = whole_number(number_text(raw))
        top = MAX_INTEGER if high is None else high  # past MAX_INTEGER an INTEGER column overflows in PostgreSQL
        if number is None or (low is not None and number < low) or number > top:
            if high is None and (number is None or number <= top):
                self.fail(name, _l("must be a whole number, %(low)s or more", low=low), raw)
            else:
                self.fail(name, _l("must be a whole number from %(low)s to %(high)s", low=low, high=top), raw)
            return default
        return number

    @_kept
    def percent(self, values: Mapping, name: str, low: int = 0, high: int = 100):
        """A whole percentage, as a spreadsheet holds it: 80, "80%", "８０％", or 0.8 (a cell
        formatted as a percentage stores the fraction)."""
        raw = values.get(name)
        if isinstance(raw, float) and 0 < raw < 1 and abs(raw * 100 - round(raw * 100)) < 1e-9:
            raw = round(raw * 100)  # 0.29 * 100 is 28.999999999999996
        elif isinstance(raw, str):
            text = normalised(raw)
            raw = text[:-1].strip() if text.endswith("%") else text
        return self.integer({name: raw}, name, low, high)
    @_kept
    def decimal(self, values: Mapping, name: str, low: float, high: float, places: int = 1) -> float | None:
        """A decimal such as a survey average: "4.2", "４．２" or 4.2, rounded half up to `places`."""
        raw = values.get(name)
        if blank(raw):
            return None
        number: Decimal | None = None
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            number = Decimal(str(raw)) if math.isfinite(raw) else None
        elif isinstance(raw, str):
            text = normalised(raw)
            number = Decimal(text) if re.fullmatch(r"-?[0-9]{1,12}(\.[0-9]{1,12})?", text) else None
        if number is not None and abs(number) >= 10**12:
            number = None  # far out of any range; quantize would overflow the decimal context
        if number is not None:
            number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if number is None or not low <= number <= high:
            self.fail(name, _l("must be a number from %(low)s to %(high)s; decimals allowed", low=low, high=high), raw)
            return None
        return float(number)

    @_kept
    def choice(self, values: Mapping, name: str, enum_cls: type[enum.Enum], *, required=False):
        raw = values.get(name)
        if blank(raw):
            if required:
                self.fail(name, _l("is required"))
            return None
        text = normalised(raw).lower().replace(" ", "_").replace("-", "_")
        text = self.aliases.get(enum_cls, {}).get(text, text)
        try:
            return enum_cls(text)
        except ValueError:
            self.fail(name, _l("must be one of: %(options)s", options=self.options(enum_cls)), raw)
            return None

    def options(self, enum_cls: type[enum.Enum]) -> str:
        """The values a choice takes, each with its first Japanese word when it has one
        ("green (緑), yellow (黄), red (赤)"): a sheet headed 所感（緑/黄/赤） is answered in its own words."""
        japanese: dict[str, str] = {}
        for word, value in self.aliases.get(enum_cls, {}).items():
            if not word.isascii():
                japanese.setdefault(value, word)
        return ", ".join(f"{m.value} ({japanese[m.value]})" if m.value in japanese else m.value for m in enum_cls)

    @_kept
    def text(self, values: Mapping, name: str, *, max_length: int = MAX_TEXT, required=False) -> str | None:
        raw = values.get(name)
        if blank(raw):
            if required:
                self.fail(name, _l("is required"))
            return None
        if isinstance(raw, (dict, list, tuple, set, bool)):  # JSON structures: not text, however printed
            self.fail(name, _l("must be text"), raw)
            return None
        text = str(raw).strip()
        if len(text) > max_length:
            self.fail(name, _l("is too long: at most %(max)s characters", max=max_length), f"{text[:20]}…")
            return None
        return text

    def flag(self, values: Mapping, name: str) -> bool:
        raw = values.get(name)
        if isinstance(raw, bool):
            return raw
        text = normalised(raw if raw is not None else "").lower()
        if text in YES:
            return True
        if text in NO:
            return False
        self.fail(name, _l("must be yes or no"), raw)
        return False


def whole_number(text: str) -> int | None:
    """A whole number in ASCII digits with an optional minus (not "²" or "١", which str.isdigit
    accepts); None for anything else. Past 30 significant digits it stands for "far too large"
    (or small) without converting: Python refuses to convert over 4,300 digits."""
    if not re.fullmatch(r"-?[0-9]+", text):
        return None
    digits = text.lstrip("-").lstrip("0") or "0"
    number = int(digits) if len(digits) <= 30 else 10**30
    return -number if text.startswith("-") else number


def number_text(raw: Any) -> str:
    """A number as a Japanese spreadsheet writes it, reduced to plain digits for whole_number:
    full-width digits (NFKC), thousands commas, ¥ or ￥ before and 円 after, ▲ or △ for minus
    (accounting style) and a zero fraction ("12.0", which Excel text exports write)."""
    text = normalised(raw).replace(",", "").replace(" ", "").replace("\u2212", "-")
    if text[:1] in ("▲", "△"):
        text = "-" + text[1:]
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)  # -¥500 as well as ¥-500
    text = text.removeprefix("¥").removeprefix("JPY").removesuffix("円")
    return sign + re.sub(r"\.0+$", "", text)


# An Excel date serial counts days from 1899-12-30 (Excel's 1900 leap-year bug included); only
# serials of 1950 to 2100 are taken as dates, so a year or a count typed in a date column is refused.
EXCEL_EPOCH = date(1899, 12, 30)
EXCEL_SERIALS = range((date(1950, 1, 1) - EXCEL_EPOCH).days, (date(2101, 1, 1) - EXCEL_EPOCH).days)


def excel_serial_date(raw: Any) -> date | None:
    """The date an Excel serial stands for (46327, 46327.0 or "46327" when a date cell was
    exported as a number); None for anything else. A time of day in the fraction is dropped."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, float) and raw == raw and abs(raw) < 10**7:  # not NaN, not infinite
        serial: int | None = int(raw)
    elif isinstance(raw, int):
        serial = raw
    else:
        match = re.fullmatch(r"([0-9]{5})(\.[0-9]*)?", normalised(raw))
        serial = int(match[1]) if match else None
    if serial is None or serial not in EXCEL_SERIALS:
        return None
    return EXCEL_EPOCH + timedelta(days=serial)


def parse_date(raw: Any) -> date | None:
    """A date from ISO text, 2026/10/31, 2026年10月31日, an Excel/JSON date value or an Excel
    date serial; None if unreadable."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, (int, float)) or re.fullmatch(r"[0-9０-９]{5}([.．][0-9０-９]*)?", str(raw).strip()):
        return excel_serial_date(raw)
    text = normalised(raw)
    # A time after the date (a spreadsheet's "2026/11/01 0:00:00") does not change the day.
    match = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?", text)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
