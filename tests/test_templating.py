"""The templates' translation calls and filter options (portal/core/templating.py): the same text,
language and escaping as Jinja's i18n extension gave, inside loops and blocks with `{% set %}`
(where the extension's calls copied the whole context each time)."""
from __future__ import annotations

from types import SimpleNamespace

from flask import render_template_string
from markupsafe import Markup

IN_A_LOOP = """{% set label = _("Partner") %}{% for n in names %}{% set shown = n ~ "!" %}
[{{ _("Computed for %(day)s.", day=shown) }}|{{ ngettext("%(num)d account", "%(num)d accounts", 2) }}|{{ label }}|{{ gettext("100%%") }}]
{%- endfor %}"""


def render(app, language: str, source: str, **context) -> str:
    with app.test_request_context("/", headers={"Accept-Language": language}):
        return render_template_string(source, **context)


def test_translations_in_loops_follow_the_language_and_escape_what_they_format(app):
    english = render(app, "en", IN_A_LOOP, names=["<b>A</b>", "B"])
    assert "[Computed for &lt;b&gt;A&lt;/b&gt;!.|2 accounts|Partner|100%]" in english
    assert "[Computed for B!.|2 accounts|Partner|100%]" in english
    japanese = render(app, "ja", IN_A_LOOP, names=["<b>A</b>"])
    assert "[&lt;b&gt;A&lt;/b&gt;! 時点の集計です。|顧客アカウント 2件|パートナー|100%]" in japanese


def test_translations_outside_autoescaping_are_plain_text(app):
    with app.test_request_context("/", headers={"Accept-Language": "ja"}):
        text = app.jinja_env.from_string('{% autoescape false %}{{ _("Computed for %(day)s.", day="<i>") }}{% endautoescape %}').render()
    assert text == "<i> 時点の集計です。"
    assert not isinstance(text, Markup)


FILTER = """{% from "_macros.html" import filter_select %}{{ filter_select("partner_id", "Partner", partners, selected, "All partners", value='id', label='name') }}"""


def test_filter_options_mark_the_chosen_one_and_escape_names(app):
    partners = [SimpleNamespace(id=1, name="Alpha & <Co>"), SimpleNamespace(id=12, name="Beta")]
    html = render(app, "en", FILTER, partners=partners, selected="12")
    assert '<option value="">All partners</option>' in html
    assert '<option value="1" >Alpha &amp; &lt;Co&gt;</option>' in html
    assert '<option value="12" selected>Beta</option>' in html
    assert "selected" not in render(app, "en", FILTER, partners=partners, selected=None)
    assert '<option value="1" selected>' in render(app, "en", FILTER, partners=partners, selected=1)


def test_a_long_list_of_options_is_kept_by_every_name_and_the_choice(app):
    """A long list (every partner) is rendered once per process for its (value, text) pairs and
    choice (portal.core.fragments.kept): a renamed partner or another choice shows at once, and
    dict options (value, label) the same as rows."""
    from portal.core import fragments
    from portal.core.templating import KEEP_OPTIONS

    partners = [SimpleNamespace(id=n, name=f"Partner {n}") for n in range(KEEP_OPTIONS + 5)]
    first = render(app, "en", FILTER, partners=partners, selected="3")
    assert '<option value="3" selected>Partner 3</option>' in first and first.count("selected") == 1
    assert render(app, "en", FILTER, partners=partners, selected="3") == first
    assert len(fragments.of(app)) == 1  # kept once
    partners[3] = SimpleNamespace(id=3, name="Renamed <3>")
    assert '<option value="3" selected>Renamed &lt;3&gt;</option>' in render(app, "en", FILTER, partners=partners, selected="3")
    other = render(app, "en", FILTER, partners=partners, selected="4")
    assert '<option value="4" selected>Partner 4</option>' in other and '<option value="3" >Renamed' in other
    partners[5] = SimpleNamespace(id=55, name="Partner 5")
    assert '<option value="55" >Partner 5</option>' in render(app, "en", FILTER, partners=partners, selected=None)
    as_dicts = [{"id": p.id, "name": p.name} for p in partners]
    assert render(app, "en", FILTER, partners=as_dicts, selected="4") == render(app, "en", FILTER, partners=partners, selected="4")
