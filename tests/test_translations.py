"""Japanese translations: complete, compiled, placeholder-safe, and actually served.

The catalog lives in portal/translations/ja/LC_MESSAGES/: messages.po is the source,
messages.mo is the compiled file Flask-Babel loads. Both are committed, so a fresh checkout
needs no build step. After adding or changing a user-facing string, run from the project root:

    # 1. Extract every msgid from portal/**.py and templates/**.html (map: portal/babel.cfg).
    #    -k _l is required: flask_babel.lazy_gettext is imported as _l in forms and labels.
    .venv/bin/pybabel extract -F portal/babel.cfg -k _l -o portal/translations/messages.pot .

    # 2. Merge new and changed msgids into the Japanese catalog. New and changed msgids arrive
    #    with an empty msgstr (without --no-fuzzy-matching, Babel guesses from similar strings
    #    and marks the guess "#, fuzzy"; such guesses are often wrong and are not compiled).
    .venv/bin/pybabel update -i portal/translations/messages.pot -d portal/translations -l ja --no-fuzzy-matching

    # 3. Edit portal/translations/ja/LC_MESSAGES/messages.po: translate every empty msgstr (and
    #    remove any "#, fuzzy" flag once the entry is right). Keep %(name)s-style placeholders
    #    exactly as in the msgid. Plurals: Japanese has one form, so msgstr[0] only
    #    (Plural-Forms: nplurals=1; plural=0;). Style: polite です/ます for messages, short
    #    noun phrases for labels and column headers, the glossary terms already in the file.

    # 4. Compile, and commit the .po, the .pot and the .mo together.
    .venv/bin/pybabel compile -d portal/translations --statistics

This module fails, listing the msgids concerned, when a string in the source has no Japanese
translation, when an entry is fuzzy or empty, when the .mo is older than the .po, or when a
placeholder was lost or altered in translation. User-facing text must be wrapped: _() or
gettext()/ngettext() in templates, _ (gettext) or _l (lazy_gettext) in Python. The language
names "English" and "日本語" are deliberately left untranslated and unwrapped.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages import frontend
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = PROJECT_ROOT / "portal" / "babel.cfg"
CATALOG_DIR = PROJECT_ROOT / "portal" / "translations" / "ja" / "LC_MESSAGES"
PO_FILE = CATALOG_DIR / "messages.po"
MO_FILE = CATALOG_DIR / "messages.mo"

# The same keywords as `pybabel extract -k _l`: Babel's defaults plus lazy_gettext imported as _l.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None}

# printf-style conversions as Python's % operator reads them, including the literal "%%".
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")


def _text(value) -> str | tuple[str, ...]:
    return value if isinstance(value, str) else tuple(value)


def _parse_mapping(fileobj, filename):
    parse = getattr(frontend, "parse_mapping_cfg", None) or frontend.parse_mapping  # Babel < 2.14
    return parse(fileobj, filename=filename)


def extracted_messages() -> dict[tuple[str | None, str | tuple[str, ...]], list[str]]:
    """(context, msgid) -> ["file:line", ...] for every translatable string in the source."""
    with BABEL_CFG.open(encoding="utf-8") as f:
        method_map, options_map = _parse_mapping(f, str(BABEL_CFG))
    found: dict = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(PROJECT_ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.setdefault((context, _text(message)), []).append(f"{filename}:{lineno}")
    return found


def is_translated(message) -> bool:
    strings = [message.string] if isinstance(message.string, str) else list(message.string)
    return bool(strings) and all(s and s.strip() for s in strings)


def translations_of(catalog) -> dict:
    """(context, msgid) -> msgstr of every usable (translated, non-fuzzy) entry."""
    return {
        (m.context, _text(m.id)): _text(m.string)
        for m in catalog
        if m.id and not m.fuzzy and is_translated(m)
    }


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


@pytest.fixture(scope="module")
def catalog():
    with PO_FILE.open("rb") as f:
        return read_po(f, abort_invalid=True)


def gettext_ja(catalog, msgid: str, n: int | None = None) -> str:
    """The Japanese text the app shows for msgid (with %(num)d filled in for plurals)."""
    message = catalog.get(msgid)
    assert message is not None and is_translated(message), f"{msgid!r} is not translated"
    if n is None:
        return message.string
    return message.string[0] % {"num": n}


# --- the catalog ------------------------------------------------------------------------------


def test_the_extraction_finds_the_source():
    """Guards the guard: if babel.cfg stopped matching files, every other check would pass vacuously."""
    messages = extracted_messages()
    files = {where.split(":")[0].replace("\\", "/") for places in messages.values() for where in places}
    assert any(f.startswith("templates/") for f in files), "no msgid extracted from templates/"
    assert any(f.startswith("portal/") for f in files), "no msgid extracted from portal/"
    assert (None, "Keep me logged in on this device") in messages, "_l(...) calls are not extracted"
    assert (None, ("%(num)d account", "%(num)d accounts")) in messages, "ngettext in templates not extracted"


def test_every_source_string_has_a_japanese_translation(catalog):
    missing = []
    for (context, msgid), places in sorted(extracted_messages().items(), key=lambda item: str(item[0])):
        if (msgid[0] if isinstance(msgid, tuple) else msgid) in (None, ""):
            continue
        entry = catalog.get(msgid[0] if isinstance(msgid, tuple) else msgid, context=context)
        if entry is None:
            problem = "not in the .po"
        elif _text(entry.id) != msgid:
            problem = f"the .po has {_text(entry.id)!r} (singular/plural differ)"
        elif entry.fuzzy:
            problem = "fuzzy"
        elif not is_translated(entry):
            problem = "empty msgstr"
        else:
            continue
        missing.append(f"  {msgid!r}: {problem}  [{', '.join(places[:3])}]")
    assert not missing, (
        f"{len(missing)} source string(s) without a Japanese translation "
        "(see this module's docstring for the extract/update/compile commands):\n" + "\n".join(missing)
    )


def test_the_po_has_no_fuzzy_or_empty_entries(catalog):
    assert not catalog.fuzzy, "the whole catalog is marked fuzzy; pybabel compile would skip it"
    assert catalog.num_plurals == 1 and catalog.plural_expr == "0", (
        f"Japanese has one plural form; Plural-Forms is {catalog.plural_forms!r}"
    )
    bad = [f"  {_text(m.id)!r}: {'fuzzy' if m.fuzzy else 'empty msgstr'}"
           for m in catalog if m.id and (m.fuzzy or not is_translated(m))]
    assert not bad, "entries to fix in messages.po:\n" + "\n".join(bad)
    plural_counts = [f"  {_text(m.id)!r}" for m in catalog if m.pluralizable and len(m.string) != 1]
    assert not plural_counts, "plural entries need exactly msgstr[0] in Japanese:\n" + "\n".join(plural_counts)


def test_the_compiled_mo_is_up_to_date(catalog):
    with MO_FILE.open("rb") as f:
        compiled = read_mo(f)
    po_messages, mo_messages = translations_of(catalog), translations_of(compiled)
    stale = sorted(
        str(key[1]) for key in po_messages.keys() | mo_messages.keys() if po_messages.get(key) != mo_messages.get(key)
    )
    assert not stale, (
        "messages.mo does not match messages.po; run "
        "`.venv/bin/pybabel compile -d portal/translations`. Differences:\n" + "\n".join(f"  {s!r}" for s in stale)
    )
    assert compiled.plural_forms == catalog.plural_forms


def test_placeholders_survive_translation(catalog):
    wrong = []
    for m in catalog:
        if not m.id or not is_translated(m):
            continue
        # Japanese uses msgstr[0] for every count, so it must carry the plural msgid's placeholders.
        source = m.id[-1] if m.pluralizable else m.id
        for text in ([m.string] if isinstance(m.string, str) else m.string):
            if placeholders(text) != placeholders(source):
                wrong.append(f"  {source!r}: {placeholders(source)} -> {text!r}: {placeholders(text)}")
            elif "%" in PLACEHOLDER.sub("", text) and "%" not in PLACEHOLDER.sub("", source):
                # Templates %-format every string, so a lone % breaks the page (write %% instead);
                # a msgid with a lone % of its own, e.g. a form label "(%)", is never %-formatted.
                wrong.append(f"  {text!r}: a % that is not a placeholder")
    assert not wrong, "placeholders must match the msgid exactly:\n" + "\n".join(wrong)


# --- the catalog in use -----------------------------------------------------------------------


def test_login_page_follows_the_browser_language(client, catalog):
    html = client.get("/login", headers={"Accept-Language": "ja,en;q=0.8"}).get_data(as_text=True)
    assert '<html lang="ja">' in html
    for msgid in ("Log in", "Keep me logged in on this device", "Password", "Channel Success Portal"):
        assert gettext_ja(catalog, msgid) in html, msgid
    assert "Keep me logged in on this device" not in html

    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.8"}).get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "Keep me logged in on this device" in english
    assert gettext_ja(catalog, "Keep me logged in on this device") not in english


def _accounts_page(browser, db, user, language: str | None, accept_language: str) -> str:
    user.language = language
    db.commit()
    response = browser(user).get("/accounts", headers={"Accept-Language": accept_language})
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("language", "accept_language"),
    [("ja", "en-US,en;q=0.8"), ("ja", "ja"), (None, "ja,en;q=0.8")],
    ids=["ja-profile-english-browser", "ja-profile-japanese-browser", "no-preference-japanese-browser"],
)
def test_accounts_page_in_japanese(browser, db, tenants, catalog, language, accept_language):
    html = _accounts_page(browser, db, tenants.admin_a, language, accept_language)
    assert '<html lang="ja">' in html
    expected = {
        "Accounts": gettext_ja(catalog, "Accounts"),
        "New account": gettext_ja(catalog, "New account"),
        "Renewal": gettext_ja(catalog, "Renewal"),
        "Low touch": gettext_ja(catalog, "Low touch"),  # tenants.account_a's segment
        "Adopted": gettext_ja(catalog, "Adopted"),  # and its lifecycle status
        "Partner admin": gettext_ja(catalog, "Partner admin"),  # the user's role in the top bar
        "%(num)d account": gettext_ja(catalog, "%(num)d account", n=1),
    }
    for msgid, text in expected.items():
        assert text in html, f"{msgid!r} should show as {text!r}"
    assert "Alpha Customer KK" in html
    for english in ("Low touch", "Adopted", "Renewal", "1 account", "Log out"):
        assert english not in html


def test_accounts_page_in_english_despite_a_japanese_browser(browser, db, tenants, catalog):
    html = _accounts_page(browser, db, tenants.admin_a, "en", "ja,en;q=0.8")
    assert '<html lang="en">' in html
    for english in ("Accounts", "Low touch", "Adopted", "Renewal", "1 account", "Partner admin", "Log out"):
        assert english in html
    found = sorted(set(JAPANESE.findall(html)))
    assert not found, f"Japanese text on a page for an English-speaking user: {''.join(found)}"
