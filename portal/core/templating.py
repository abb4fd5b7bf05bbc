"""Translation calls for the templates that cost what a translation costs.

Jinja's i18n extension (installed by Flask-Babel, newstyle) makes `_`, `gettext` and `ngettext`
context functions. Jinja hands a context function a *new* context, a copy of every global and
template variable, on each call made inside a loop with a `{% set %}` or inside a block after a
`{% set %}`: a list of 50 rows with six labels each copied that dictionary 300 times a request,
most of a page's rendering time. The translation needs none of those variables, only whether
the output is autoescaped, so these take the evaluation context instead (never copied); the
text, the escaping of the variables and the format are the same as the extension's.
"""
from __future__ import annotations

from typing import Any, Iterable

from flask import Flask
from flask_babel import get_translations
from jinja2 import Environment, pass_environment, pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup, escape

from portal.core import fragments


@pass_eval_context
def gettext(eval_ctx: EvalContext, string: str, **variables: Any) -> str:
    text = get_translations().ugettext(string)
    if eval_ctx.autoescape:
        text = Markup(text)
    return text % variables  # always a format, as the extension's newstyle gettext: "%%" is "%"


@pass_eval_context
def ngettext(eval_ctx: EvalContext, singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    text = get_translations().ungettext(singular, plural, num)
    if eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


@pass_eval_context
def pgettext(eval_ctx: EvalContext, context: str, string: str, **variables: Any) -> str:
    variables.setdefault("context", context)
    text = get_translations().upgettext(context, string)
    if eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


@pass_eval_context
def npgettext(eval_ctx: EvalContext, context: str, singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("context", context)
    variables.setdefault("num", num)
    text = get_translations().unpgettext(context, singular, plural, num)
    if eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


def install(app: Flask) -> None:
    """Replace the i18n extension's template callables (after Flask-Babel installed them) and add select_options."""
    app.jinja_env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext, pgettext=pgettext, npgettext=npgettext,
                                 select_options=select_options)


@pass_environment
def select_options(env: Environment, options: Iterable[Any], selected: Any, value: str | None = "value",
                   label: str | None = "label") -> Markup:
    """The <option>s of _macros.html's filter_select, as its loop wrote them: a list of every
    partner (hundreds) cost a macro loop of several template calls per option on each request.
    A long list is rendered once per process for its (value, text) pairs and choice: the key is
    everything the markup shows (portal.core.fragments.kept), so a renamed partner shows at once."""
    chosen = None if selected is None else str(selected)
    pairs = tuple((_field(env, option, value) if value else option, _field(env, option, label) if label else option)
                  for option in options)
    if len(pairs) < KEEP_OPTIONS:
        return _options(pairs, chosen)
    try:
        key = (pairs, chosen)
        hash(key)
    except TypeError:  # a value that cannot be a key (a lazy text): rendered each time
        return _options(pairs, chosen)
    return fragments.kept("select_options", key, lambda: _options(pairs, chosen))


KEEP_OPTIONS = 50  # shorter lists cost less to render than to keep


def _field(env: Environment, option: Any, name: str) -> Any:
    """option.name for rows and objects (an attribute read; Jinja's getitem tries option[name]
    first, which costs an exception per option on a row), option[name] for dicts."""
    return option[name] if isinstance(option, dict) else env.getattr(option, name)


def _options(pairs: tuple, chosen: str | None) -> Markup:
    return Markup("".join(f'\n      <option value="{escape(v)}" {"selected" if chosen is not None and str(v) == chosen else ""}>{escape(text)}</option>'
                          for v, text in pairs))
