"""Security headers on every response, set in one place.

The Content-Security-Policy allows no inline script or style: a stored script that slipped
past escaping would not run, and a page cannot be framed (clickjacking). Templates keep their
scripts in static/js and their styles in static/css (tests/test_security_headers.py checks);
values a script needs travel in data- attributes or ``<script type="application/json">``
blocks, which browsers never execute. A view that must show foreign HTML (an email, with
its inline styles) gives its own, narrower policy with ``sandboxed_html``.
"""
from __future__ import annotations

from flask import Flask, Response, current_app

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
))

# For an email's HTML shown inside the portal: its inline styles apply, nothing runs, it loads
# nothing from elsewhere (remote images would tell the sender that someone looked), forms go
# nowhere, and only the portal's own pages may frame it.
SANDBOXED_HTML_POLICY = "; ".join((
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    "img-src data:",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'self'",
    "sandbox",
))

HSTS = "max-age=31536000; includeSubDomains"


def sandboxed_html(html: str) -> Response:
    """A response showing untrusted-for-scripts HTML (an email) under SANDBOXED_HTML_POLICY."""
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = SANDBOXED_HTML_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        if current_app.config["PORTAL"].environment == "production":
            # Only where the portal is served over HTTPS: a browser that saw this header refuses
            # plain HTTP to the host for a year.
            headers["Strict-Transport-Security"] = HSTS
        return response
