"""Security headers on every response, and templates the strict Content-Security-Policy can
serve: no inline script, style or event handler anywhere a browser renders the portal's pages.
Emails keep their inline styles (mail clients ignore stylesheets) and are shown in the portal
only from a route with a sandboxed policy of their own."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal.core.config import PROJECT_ROOT
from portal.email.outbox import Rendered, queue
from portal.models import EmailKind
from portal.scoring.aggregation import aggregate

TEMPLATES = PROJECT_ROOT / "templates"
SERVED_TEMPLATES = sorted(p for p in TEMPLATES.rglob("*.html") if p.parent.name != "email")

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.I)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
JAVASCRIPT_URL = re.compile(r"javascript:", re.I)


def inline_code(source: str) -> list[str]:
    """What the CSP would block in a template: scripts without src (JSON data blocks are never
    executed, so they are allowed), style blocks and attributes, on*= handlers, javascript: URLs."""
    found = []
    for match in SCRIPT_TAG.finditer(source):
        attrs = match.group(1)
        if "src=" not in attrs and 'type="application/json"' not in attrs:
            found.append(match.group(0))
    found += [m.group(0) for m in INLINE_STYLE.finditer(source)]
    found += [m.group(0) for m in EVENT_HANDLER.finditer(source)]
    found += [m.group(0) for m in JAVASCRIPT_URL.finditer(source)]
    return found


def test_the_scanner_finds_each_kind_of_inline_code():
    assert inline_code('<script>alert(1)</script><script src="/static/js/x.js"></script>') == ["<script>"]
    assert inline_code('<script type="application/json" class="chart__data">{}</script>') == []
    assert len(inline_code('<style>p{}</style><p style="color: red">')) == 2
    assert len(inline_code('<button onclick="go()">')) == 1
    assert len(inline_code('<a href="javascript:go()">')) == 1
    assert inline_code('<form method="post" action="/x" data-upload-progress>') == []


@pytest.mark.parametrize("template", SERVED_TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_has_inline_script_style_or_handlers(template: Path):
    assert inline_code(template.read_text(encoding="utf-8")) == []


def assert_security_headers(response, csp_starts="default-src 'self'"):
    headers = response.headers
    assert headers["Content-Security-Policy"].startswith(csp_starts), response.request.path
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] in ("DENY", "SAMEORIGIN")


def test_every_kind_of_response_carries_the_headers(client, browser, tenants):
    admin = browser(tenants.admin_a)
    responses = [
        client.get("/login"),  # a page
        client.get("/"),  # a redirect
        client.get("/static/css/portal.css"),  # a static file
        client.get("/no-such-page"),  # an error page
        admin.get(f"/accounts/{tenants.account_a.id}"),  # a logged-in page with charts
        client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {tenants.secret_a}"}),  # the API
        client.get("/api/v1/accounts"),  # an API problem
    ]
    for response in responses:
        assert_security_headers(response)
    policy = responses[0].headers["Content-Security-Policy"]
    for directive in ("script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'",
                      "base-uri 'none'", "form-action 'self'", "img-src 'self' data:"):
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert responses[0].headers["X-Frame-Options"] == "DENY"


def test_hsts_only_in_production(app, client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    app.config["PORTAL"].environment = "production"  # the fixture restores it
    assert client.get("/login").headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_an_emails_html_is_shown_from_a_sandboxed_route_with_its_inline_styles(app, db, browser, tenants):
    html = '<body style="margin:0"><p style="color:#1b2430">Hello</p><script>alert(1)</script></body>'
    message = queue(db, tenants.admin_a, EmailKind.PARTNER_DIGEST, "2026-W40",
                    Rendered(subject="Your scorecard", text="Hello", html=html, language="en"))
    db.commit()
    admin = browser(tenants.vendor_admin)
    page = admin.get(f"/outbox/{message.id}").get_data(as_text=True)
    assert "srcdoc" not in page
    assert f'sandbox src="/outbox/{message.id}/html"' in page

    frame = admin.get(f"/outbox/{message.id}/html")
    assert frame.status_code == 200 and frame.get_data(as_text=True) == html
    policy = frame.headers["Content-Security-Policy"]
    assert "style-src 'unsafe-inline'" in policy and "sandbox" in policy and "frame-ancestors 'self'" in policy
    assert "script-src" not in policy and "default-src 'none'" in policy  # scripts fall back to none
    assert frame.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert frame.headers["X-Content-Type-Options"] == "nosniff"
    assert browser(tenants.admin_a).get(f"/outbox/{message.id}/html").status_code == 403


def test_the_email_preview_frames_each_email_from_its_own_route(app, db, browser, tenants):
    assert aggregate(db, app.config["PORTAL"].today()).status == "done"
    admin = browser(tenants.vendor_admin)
    page = admin.get(f"/users/{tenants.partner_manager.id}/emails").get_data(as_text=True)
    sources = re.findall(r'<iframe[^>]* src="([^"]+)"', page)
    assert sources == [f"/users/{tenants.partner_manager.id}/emails/manager_digest.html"]
    for src in sources:
        frame = admin.get(src)
        assert frame.status_code == 200 and "sandbox" in frame.headers["Content-Security-Policy"]
        assert tenants.partner_a.name in frame.get_data(as_text=True)
    assert admin.get(f"/users/{tenants.partner_manager.id}/emails/no_such_kind.html").status_code == 404
    assert browser(tenants.partner_manager).get(f"/users/{tenants.partner_manager.id}/emails/alert.html").status_code == 403
