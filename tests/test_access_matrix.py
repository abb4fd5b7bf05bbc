"""Every role x every route, generated from the app's URL map: a new route without a rule fails.

Each route is requested for the caller's own partner's objects and for another partner's
objects. Partner roles must get 404 for the other partner's objects on every route.
"""
from __future__ import annotations

import pytest

from portal.models import Role

ANON = "anonymous"
VA, PM, PA, PU = Role.VENDOR_ADMIN, Role.PARTNER_MANAGER, Role.PARTNER_ADMIN, Role.PARTNER_USER
LOGIN = "login"  # a redirect to the login page


def everyone(status):
    return {VA: status, PM: status, PA: status, PU: status}


# endpoint -> (method, {caller: expected status for the caller's own partner's objects})
RULES: dict[str, tuple[str, dict]] = {
    "index": ("GET", {ANON: LOGIN, **everyone(302)}),
    "auth.login": ("GET", {ANON: 200, **everyone(302)}),
    "auth.logout": ("POST", {ANON: LOGIN, **everyone(302)}),
    "auth.set_language": ("GET", {ANON: 302, **everyone(302)}),
    "auth.profile": ("GET", {ANON: LOGIN, **everyone(200)}),
    "auth.change_password": ("POST", {ANON: LOGIN, **everyone(400)}),
    "admin.partners": ("GET", {ANON: LOGIN, VA: 200, PM: 200, PA: 403, PU: 403}),
    "admin.partner_detail": ("GET", {ANON: LOGIN, **everyone(200)}),
    "admin.partner_new": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 403, PU: 403}),
    "admin.partner_edit": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 403, PU: 403}),
    "admin.users": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 200, PU: 403}),
    "admin.user_new": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 200, PU: 403}),
    "admin.user_edit": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 200, PU: 403}),
    "reporting.accounts": ("GET", {ANON: LOGIN, **everyone(200)}),
    "reporting.account_detail": ("GET", {ANON: LOGIN, **everyone(200)}),
    "reporting.account_new": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 200, PU: 403}),
    "reporting.account_edit": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 200, PU: 403}),
}

IGNORED = {"static"}


def test_every_route_has_a_rule(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - IGNORED
    assert endpoints - RULES.keys() == set(), "routes without an access rule in RULES"
    assert RULES.keys() - endpoints == set(), "rules for routes that no longer exist"


def _url(app, endpoint, objects):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {}
    for arg in rule.arguments:
        values[arg] = {"partner_id": objects["partner"].id, "account_id": objects["account"].id,
                       "user_id": objects["user"].id, "code": "ja"}[arg]
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values), bool(rule.arguments - {"code"})


def _objects(tenants, side):
    if side == "own":
        return {"partner": tenants.partner_a, "account": tenants.account_a, "user": tenants.user_a}
    return {"partner": tenants.partner_b, "account": tenants.account_b, "user": tenants.user_b}


@pytest.mark.parametrize("caller", [ANON, VA, PM, PA, PU], ids=lambda c: getattr(c, "value", c))
def test_role_route_matrix(app, browser, tenants, caller):
    b = browser(None if caller == ANON else tenants.by_role(caller))
    failures = []
    # Logging out last keeps the session for the other routes.
    for endpoint, (method, expected) in sorted(RULES.items(), key=lambda item: item[0] == "auth.logout"):
        for side in ("own", "other"):
            url, has_ids = _url(app, endpoint, _objects(tenants, side))
            if side == "other" and not has_ids:
                continue
            want = expected[caller]
            if side == "other" and caller in (PA, PU) and want not in (403, LOGIN):
                want = 404  # another partner's id: reported as missing, never shown
            response = b.get(url) if method == "GET" else b.post(url, data={})
            got = response.status_code
            if want == LOGIN:
                ok = got == 302 and "/login" in response.location
            else:
                ok = got == want
            if not ok:
                failures.append(f"{getattr(caller, 'value', caller)} {method} {url}: expected {want}, got {got}")
            if caller in (PA, PU) and got == 200:
                body = response.get_data(as_text=True)
                if tenants.account_b.name in body or tenants.partner_b.name in body:
                    failures.append(f"{caller} {url}: shows the other partner's data")
    assert failures == []
