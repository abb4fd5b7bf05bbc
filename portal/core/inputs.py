"""What a request sends, read once with limits, so hostile input is a clear 400 or 422 and
never a server error.

- A JSON body (the API): nested at most MAX_DEPTH deep (checked before parsing: Python's
  parser would hit its recursion limit, a 500), numbers of at most MAX_DIGITS digits (Python
  refuses to convert longer ones), and no string or key with a lone surrogate ("\\ud800":
  not encodable, so the database driver fails) or a NUL character (PostgreSQL refuses it).
  Each bad value is reported with a JSON pointer to it.
- The address, the query string and a plain (urlencoded) form, on every page and the API: no
  NUL character. (Multipart uploads are read by the import, which judges its files itself.)
Ids and page numbers in query strings are read by portal.core.lists.ListArgs.
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterator

from flask import Flask, abort, request
from flask_babel import gettext as _

from portal.core.lists import InvalidArgument
from portal.core.validation import FieldError

MAX_DEPTH = 64  # the deepest real body (a check-in's risks) is 3
MAX_DIGITS = 64  # no field takes a number anywhere near this long

# A JSON string, unrolled so that long strings cost no backtracking; and the brackets outside strings.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")


class BadBody(Exception):
    """A body that cannot be taken: 400 when it is not a JSON object at all, 422 naming each bad value."""

    def __init__(self, status: int, detail: str, errors: list[FieldError] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []


class _LongNumber(str):
    """A number with more digits than MAX_DIGITS, kept as its text until it is reported."""


def _number(text: str) -> int | _LongNumber:
    return int(text) if len(text.lstrip("-")) <= MAX_DIGITS else _LongNumber(text)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


def nesting_depth(text: str, limit: int) -> int:
    """How deep the body's arrays and objects nest, counting stops past `limit`. Brackets inside
    strings do not count (a malformed string only makes the parser refuse the body later)."""
    depth = deepest = 0
    for bracket in _BRACKET.finditer(_STRING.sub('""', text)):
        if bracket.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        else:
            depth -= 1
    return deepest


def json_object(data: bytes) -> dict[str, Any]:
    """The body as a JSON object, or BadBody saying what is wrong with it."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadBody(400, f"The body is not UTF-8 text (byte {error.start}).") from None
    if nesting_depth(text, MAX_DEPTH) > MAX_DEPTH:
        raise BadBody(400, f"The body nests arrays and objects more than {MAX_DEPTH} levels deep.")
    try:
        value = json.loads(text, parse_int=_number, parse_constant=_refuse_constant)
    except ValueError as error:  # json.JSONDecodeError is one
        raise BadBody(400, f"The body is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise BadBody(400, "The body must be a JSON object (Content-Type: application/json).")
    errors = list(_bad_values(value, []))
    if errors:
        raise BadBody(422, "Some values cannot be stored; see errors.", errors)
    return value


def _bad_values(value: Any, path: list[str | int]) -> Iterator[FieldError]:
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _bad_text(key)
            if problem:
                yield _error(path + [key], f"this key {problem}")
            yield from _bad_values(item, path + [key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _bad_values(item, path + [index])
    elif isinstance(value, _LongNumber):
        yield _error(path, f"is a number with more than {MAX_DIGITS} digits")
    elif isinstance(value, str):
        problem = _bad_text(value)
        if problem:
            yield _error(path, problem)


def _bad_text(text: str) -> str | None:
    if "\x00" in text:
        return "must not contain the NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain a lone surrogate such as \\ud800 (not a character)"
    return None


def _error(path: list[str | int], message: str) -> FieldError:
    """A FieldError named like the services name fields (risks[0].type), with its exact RFC 6901 pointer."""
    shown = [_printable(p) for p in path]
    field = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(shown)) or "body"
    pointer = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in shown)
    return FieldError(field, message, pointer=pointer)


def _printable(part: str | int) -> str | int:
    """A key as it can be shown: lone surrogates and NUL as escapes."""
    if isinstance(part, int):
        return part
    return part.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")


def register_input_checks(app: Flask) -> None:
    @app.before_request
    def refuse_nul_characters() -> None:
        """PostgreSQL refuses NUL in text: a NUL in the path, the query string or a form field would
        reach it as a search, a filter, a reference or a value, and fail there (a 500)."""
        if "\x00" in request.path:
            abort(400, description=_("The address contains the NUL character."))
        for name, value in request.args.items(multi=True):
            if "\x00" in name or "\x00" in value:
                raise InvalidArgument(name.replace("\x00", "\\0"), _("must not contain the NUL character"), value.replace("\x00", "\\0"))
        if request.mimetype == "application/x-www-form-urlencoded":
            if any("\x00" in name or "\x00" in value for name, value in request.form.items(multi=True)):
                abort(400, description=_("The form contains the NUL character; nothing was saved."))
