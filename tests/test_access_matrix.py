"""Every role x every route, generated from the app's URL map: a new route without a rule fails.

Each route is requested for the caller's own partner's objects and for another partner's
objects. Partner roles must get 404 for the other partner's objects on every route.
"""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portal.core import clock
from portal.scoring.aggregation import aggregate
from portal.models import ActionStep, ChurnReason, Feature, MilestoneTemplate, OutboxMessage, ProductArea, Role, VocItem, VocKind
from portal.core.permissions import can

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
    "auth.logout_everywhere": ("POST", {ANON: LOGIN, **everyone(302)}),
    "auth.forgot_password": ("GET", {ANON: 200, **everyone(200)}),
    "auth.login_code": ("GET", {ANON: 302, **everyone(302)}),  # no password given first: back to the login
    "auth.two_factor": ("GET", {ANON: LOGIN, **everyone(200)}),
    "auth.two_factor_confirm": ("POST", {ANON: LOGIN, **everyone(400)}),
    "auth.two_factor_disable": ("POST", {ANON: LOGIN, **everyone(400)}),
    "auth.reset_password": ("GET", {ANON: 404, **everyone(404)}),  # the matrix's token is a preference link's
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
    "admin.user_unlock": ("POST", {ANON: LOGIN, VA: 302, PM: 403, PA: 403, PU: 403}),
    "admin.user_two_factor_reset": ("POST", {ANON: LOGIN, VA: 302, PM: 403, PA: 403, PU: 403}),
    "accounts.accounts": ("GET", {ANON: LOGIN, **everyone(200)}),
    "accounts.accounts_export": ("GET", {ANON: LOGIN, **everyone(200)}),
    "accounts.account_detail": ("GET", {ANON: LOGIN, **everyone(200)}),
    "accounts.account_new": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 200, PU: 403}),
    "accounts.account_edit": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 200, PU: 403}),
    # Recording a renewal outcome: reseller staff of the account's partner and vendor staff (tests/test_outcomes.py).
    "renewals.record": ("GET", {ANON: LOGIN, **everyone(200)}),
    "renewals.import_outcomes": ("GET", {ANON: LOGIN, VA: 403, PM: 403, PA: 200, PU: 200}),
    "renewals.outcome_template": ("GET", {ANON: LOGIN, VA: 403, PM: 403, PA: 200, PU: 200}),
    "renewals.churn_reasons": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 403, PU: 403}),
    "renewals.churn_reason_edit": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 403, PU: 403}),
    "reporting.home": ("GET", {ANON: LOGIN, VA: 403, PM: 403, PA: 200, PU: 200}),
    "reporting.check_in": ("GET", {ANON: LOGIN, VA: 403, PM: 403, PA: 200, PU: 200}),
    "reporting.check_in_detail": ("GET", {ANON: LOGIN, **everyone(200)}),
    "reporting.milestone": ("GET", {ANON: LOGIN, VA: 403, PM: 403, PA: 200, PU: 200}),
    "reporting.stakeholder": ("GET", {ANON: LOGIN, VA: 403, PM: 403, PA: 200, PU: 200}),
    "reporting.import_upload": ("GET", {ANON: LOGIN, VA: 403, PM: 403, PA: 200, PU: 200}),
    "reporting.import_preview": ("GET", {ANON: LOGIN, VA: 403, PM: 403, PA: 200, PU: 200}),
    "reporting.import_commit": ("POST", {ANON: LOGIN, VA: 403, PM: 403, PA: 302, PU: 302}),
    "reporting.import_template": ("GET", {ANON: LOGIN, VA: 403, PM: 403, PA: 200, PU: 200}),
    "admin.partner_settings": ("GET", {ANON: LOGIN, VA: 403, PM: 403, PA: 200, PU: 403}),
    "admin.api_token_new": ("POST", {ANON: LOGIN, VA: 403, PM: 403, PA: 400, PU: 403}),
    "admin.api_token_revoke": ("POST", {ANON: LOGIN, VA: 403, PM: 403, PA: 302, PU: 403}),
    "admin.reporting_rules": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 403, PU: 403}),
    "admin.feature_edit": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 403, PU: 403}),
    "admin.milestone_template_edit": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 403, PU: 403}),
    "admin.tier_rules": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 403, PU: 403}),
    "admin.health_model": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 403, PU: 403}),
    "admin.health_model_fit": ("POST", {ANON: LOGIN, VA: 302, PM: 403, PA: 403, PU: 403}),
    "admin.jobs": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 403, PU: 403}),
    "admin.run_aggregation_now": ("POST", {ANON: LOGIN, VA: 302, PM: 302, PA: 403, PU: 403}),
    "scoring.partner_scorecard": ("GET", {ANON: LOGIN, **everyone(200)}),
    "scoring.channel": ("GET", {ANON: LOGIN, VA: 200, PM: 200, PA: 403, PU: 403}),
    "scoring.model_check": ("GET", {ANON: LOGIN, VA: 200, PM: 200, PA: 403, PU: 403}),
    "actions.action_items": ("GET", {ANON: LOGIN, **everyone(200)}),
    "actions.action_item": ("GET", {ANON: LOGIN, **everyone(200)}),
    "actions.action_item_new": ("GET", {ANON: LOGIN, VA: 200, PM: 200, PA: 403, PU: 403}),
    "actions.action_item_status": ("POST", {ANON: LOGIN, **everyone(400)}),
    "actions.action_items_export": ("GET", {ANON: LOGIN, **everyone(200)}),
    # Take, hand on, move the due date: either side on its own items (nothing sent: nobody, no date).
    "actions.action_item_take": ("POST", {ANON: LOGIN, **everyone(302)}),
    "actions.action_item_owner": ("POST", {ANON: LOGIN, **everyone(302)}),
    "actions.action_item_due": ("POST", {ANON: LOGIN, **everyone(302)}),
    "scoring.voc_inbox": ("GET", {ANON: LOGIN, **everyone(200)}),
    "scoring.ranking_export": ("GET", {ANON: LOGIN, VA: 200, PM: 200, PA: 403, PU: 403}),
    "scoring.voc_export": ("GET", {ANON: LOGIN, **everyone(200)}),
    # A customer's voice and the vendor's answer: each side reads its own; vendor staff answer.
    "scoring.voc_item": ("GET", {ANON: LOGIN, **everyone(200)}),
    "scoring.voc_answer": ("POST", {ANON: LOGIN, VA: 302, PM: 302, PA: 403, PU: 403}),  # nothing sent: nothing changes
    "admin.product_areas": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 403, PU: 403}),
    "admin.product_area_edit": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 403, PU: 403}),
    # Playbooks: vendor staff read them, the vendor admin edits them.
    "admin.playbooks": ("GET", {ANON: LOGIN, VA: 200, PM: 200, PA: 403, PU: 403}),
    "admin.playbook_edit": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 403, PU: 403}),
    # Either side ticks an item's steps (nothing sent: refused, 400); another partner's step: 404.
    "actions.action_step": ("POST", {ANON: LOGIN, **everyone(400)}),
    "auth.email_preferences": ("POST", {ANON: LOGIN, **everyone(400)}),
    # Signed links from emails: no login; the token names the person (tests/test_emails.py forges them).
    "auth.email_preferences_by_link": ("GET", {ANON: 200, **everyone(200)}),
    "auth.unsubscribe": ("GET", {ANON: 200, **everyone(200)}),
    "admin.outbox_list": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 403, PU: 403}),
    "admin.outbox_message": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 403, PU: 403}),
    "admin.outbox_retry": ("POST", {ANON: LOGIN, VA: 302, PM: 403, PA: 403, PU: 403}),
    "admin.email_preview": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 403, PU: 403}),
    # An email's HTML for the sandboxed frame on the two pages above (a partner user's reminder).
    "admin.outbox_message_html": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 403, PU: 403}),
    "admin.email_preview_html": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 403, PU: 403}),
    # The audit log: a partner admin's page shows its own partner's events only (tests/test_audit.py).
    "audit.events": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 200, PU: 403}),
    "audit.export": ("GET", {ANON: LOGIN, VA: 200, PM: 403, PA: 200, PU: 403}),
    # One timeline per account: both sides read it and log notes (nothing sent: 400 at the fields);
    # another partner's account is 404 for a reseller, to read and to write (tests/test_timeline.py).
    "timeline.account_timeline": ("GET", {ANON: LOGIN, **everyone(200)}),
    "timeline.note_new": ("POST", {ANON: LOGIN, **everyone(400)}),
}

# The JSON API authenticates by token, not by login: tests/test_api.py covers it.
IGNORED = {"static"} | {rule for rule in ("api.get_account", "api.list_accounts", "api.list_check_ins", "api.list_milestones",
                                          "api.list_stakeholders", "api.openapi", "api.post_check_in", "api.post_stakeholder",
                                          "api.put_account", "api.put_milestone", "api.put_stakeholder",
                                          "api.list_outcomes", "api.post_outcome")}


def test_every_route_has_a_rule(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - IGNORED
    assert endpoints - RULES.keys() == set(), "routes without an access rule in RULES"
    assert RULES.keys() - endpoints == set(), "rules for routes that no longer exist"


def _url(app, endpoint, objects):
    # The most specific rule of an endpoint (an edit form rather than its "new" twin).
    rule = max((r for r in app.url_map.iter_rules() if r.endpoint == endpoint), key=lambda r: len(r.arguments))
    values = {}
    for arg in rule.arguments:
        values[arg] = objects[arg] if arg in objects else GLOBAL_ARGS[arg](app)
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values), bool(rule.arguments & objects.keys())


def _first_id(model):
    def lookup(app):
        with app.extensions["portal.sessionmaker"]() as session:
            return session.scalar(select(model.id).order_by(model.id).limit(1))
    return lookup


def _outbox_message(app):
    """A queued email to the first user (made here: the fixtures send none)."""
    from portal.email import outbox
    from portal.models import EmailKind, User

    with app.extensions["portal.sessionmaker"]() as session:
        user = session.scalar(select(User).order_by(User.id).limit(1))
        message = outbox.queue(session, user, EmailKind.ALERT, "matrix", outbox.Rendered("Subject", "text", "<p>html</p>", "en"))
        session.commit()
        return message.id if message else session.scalar(select(OutboxMessage.id).where(OutboxMessage.period == "matrix"))


def _email_link_token(app):
    from portal.models import User
    from portal.email.outbox import link

    with app.extensions["portal.sessionmaker"]() as session:
        return link(app.config["PORTAL"], "preferences", session.scalar(select(User).order_by(User.id).limit(1))).rsplit("/", 1)[1]


# Arguments that name vendor-wide things, the same for every partner.
GLOBAL_ARGS = {"code": lambda app: "ja", "fmt": lambda app: "csv", "kind": lambda app: "reminder", "message_id": _outbox_message, "token": _email_link_token,
               "template_id": _first_id(MilestoneTemplate), "feature_id": _first_id(Feature), "area_id": _first_id(ProductArea),
               "reason_id": _first_id(ChurnReason),
               "action_kind": lambda app: "turned_red"}


def _objects(tenants, side):
    """Ids of one partner's objects, by URL argument name."""
    s = "a" if side == "own" else "b"
    pick = lambda name: getattr(tenants, f"{name}_{s}")  # noqa: E731
    return {"partner_id": getattr(tenants, "partner_" + s).id, "account_id": pick("account").id, "user_id": pick("user").id,
            "check_in_id": pick("check_in").id, "stakeholder_id": pick("stakeholder").id, "batch_id": pick("batch").id,
            "token_id": pick("token").id, "item_id": pick("item").id, "voc_id": pick("voc").id,
            "step_id": pick("step").id}


@pytest.mark.parametrize("caller", [ANON, VA, PM, PA, PU], ids=lambda c: getattr(c, "value", c))
def test_role_route_matrix(app, db, browser, tenants, caller, today_is):
    # A day on which the partner user's check-in is due, so their reminder email exists to preview.
    today_is(date(2026, 12, 3))
    # Scorecards, scores and alerts exist, so a page that leaked them would show it.
    assert aggregate(db, clock.today()).status == "done"
    for side, text in (("a", "Alpha wants Excel export"), ("b", "Bravo Secret Plan for reports")):
        check_in = getattr(tenants, f"check_in_{side}")
        voc = VocItem(check_in_id=check_in.id, account_id=check_in.account_id, partner_id=check_in.partner_id, kind=VocKind.REQUEST, text=text)
        db.add(voc)
        db.commit()
        setattr(tenants, f"voc_{side}", voc)
        item = getattr(tenants, f"item_{side}")
        step = ActionStep(item_id=item.id, partner_id=item.partner_id, position=1, title=f"{item.title}: first step")
        db.add(step)
        db.commit()
        setattr(tenants, f"step_{side}", step)
    b = browser(None if caller == ANON else tenants.by_role(caller))
    failures = []
    # Logging out last keeps the session for the other routes.
    for endpoint, (method, expected) in sorted(RULES.items(), key=lambda item: item[0] in ("auth.logout", "auth.logout_everywhere")):
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
                if any(secret in body for secret in (tenants.account_b.name, tenants.partner_b.name, tenants.stakeholder_b.name, "Bravo Secret Plan")):
                    failures.append(f"{caller} {url}: shows the other partner's data")
    assert failures == []


@pytest.mark.parametrize("caller", [VA, PM, PA, PU], ids=lambda c: c.value)
def test_can_answers_as_the_routes_do(app, tenants, caller):
    """Menus, buttons and emails ask `can`; it must say no exactly where the route says 403."""
    user = tenants.by_role(caller)
    with app.test_request_context():
        wrong = [endpoint for endpoint, (_method, expected) in RULES.items() if can(endpoint, user) != (expected[caller] != 403)]
    assert wrong == []
