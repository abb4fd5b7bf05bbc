"""Reading rendered pages the way a person does: form values, field errors, flashes, table rows.

Standard library only (html.parser), so the tests need nothing beyond the app's own dependencies.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Page:
    values: dict[str, list[str]] = field(default_factory=dict)  # form field name -> submitted values
    errors: dict[str, str] = field(default_factory=dict)  # field id -> error text next to it
    flashes: list[tuple[str, str]] = field(default_factory=list)  # (category, text)
    rows: list[str] = field(default_factory=list)  # text of each table row header (first column), without its asides
    asides: list[str] = field(default_factory=list)  # per row header, the text it shows beside the name (class "aside")
    title: str = ""

    def value(self, name: str) -> str | None:
        found = self.values.get(name)
        return found[0] if found else None

    def flash_texts(self, category: str | None = None) -> list[str]:
        return [text for cat, text in self.flashes if category is None or cat == category]


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._capture: tuple[str, str] | None = None  # (kind, key) of the element whose text we collect
        self._text: list[str] = []
        self._select: str | None = None
        self._option: dict | None = None
        self._in_tbody = False
        self._aside: list[str] | None = None  # the text of a row header's aside (a name's reading), while inside it

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind == "password":
                return
            self.page.values.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "textarea" and a.get("name"):
            self._start("textarea", a["name"])
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self.page.values.setdefault(a["name"], [])
        elif tag == "option" and self._select is not None:
            if "selected" in a:
                self.page.values[self._select].append(a.get("value", ""))
        elif tag == "p" and "error" in classes and a.get("id", "").endswith("-error"):
            self._start("error", a["id"][: -len("-error")])
        elif tag == "p" and "flash" in classes:
            category = next((c.split("--", 1)[1] for c in classes if c.startswith("flash--")), "")
            self._start("flash", category)
        elif tag == "tbody":
            self._in_tbody = True
        elif tag == "th" and self._in_tbody and a.get("scope") == "row":
            self._start("row", "")
            self.page.asides.append("")
        elif tag == "span" and "aside" in classes and self._capture == ("row", ""):
            self._aside = []
        elif tag == "title":
            self._start("title", "")

    def handle_endtag(self, tag):
        if tag == "span" and self._aside is not None:
            self.page.asides[-1] = " ".join([self.page.asides[-1], "".join(self._aside).strip()]).strip()
            self._aside = None
            return
        if tag == "select":
            self._select = None
        elif tag == "tbody":
            self._in_tbody = False
        if self._capture is None:
            return
        kind, key = self._capture
        closes = {"textarea": "textarea", "error": "p", "flash": "p", "row": "th", "title": "title"}[kind]
        if tag != closes:
            return
        text = " ".join("".join(self._text).split())
        if kind == "textarea":
            raw = "".join(self._text)
            # Browsers drop one newline right after <textarea>, as the HTML spec says.
            raw = raw[2:] if raw.startswith("\r\n") else raw[1:] if raw.startswith("\n") else raw
            self.page.values.setdefault(key, []).append(raw)
        elif kind == "error":
            self.page.errors[key] = text
        elif kind == "flash":
            self.page.flashes.append((key, text))
        elif kind == "row":
            self.page.rows.append(text)
        elif kind == "title":
            self.page.title = text
        self._capture = None
        self._text = []

    def handle_data(self, data):
        if self._aside is not None:
            self._aside.append(data)
        elif self._capture is not None:
            self._text.append(data)

    def _start(self, kind, key):
        self._capture = (kind, key)
        self._text = []


def parse(response_or_html) -> Page:
    html = response_or_html if isinstance(response_or_html, str) else response_or_html.get_data(as_text=True)
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.page


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response.location.split("?")[0].endswith("/login")


def logged_in(b) -> bool:
    """Does this browser's session still open My profile?"""
    response = b.get("/profile")
    if response.status_code == 200:
        return True
    assert is_login_redirect(response)
    return False
