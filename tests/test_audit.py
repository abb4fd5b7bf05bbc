"""The audit log: every audited action writes exactly one event, with who did it and which
partner it concerns, in the change's own transaction (a refused change writes none); the page
filters and exports; a partner admin sees its own partner's events only; the database refuses
to rewrite history."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from portal.core import migrate
from portal.core.db import make_engine
from portal.models import AuditAction, AuditEvent, ChangeLog, Feature, ReportSource, Role, User
from tests import factories
from tests.readback import latest
from tests.test_review_pages import counted

API = "/api/v1"


def marker(db) -> int:
    """The newest event's id: what a test did comes after it."""
    return latest(db).scalar(select(func.max(AuditEvent.id))) or 0


def events_after(db, since: int) -> list[AuditEvent]:
    return list(latest(db).scalars(select(AuditEvent).where(AuditEvent.id > since).order_by(AuditEvent.id)))


def one_event(db, since: int, action: AuditAction, actor: User | None, partner_id: int | None) -> AuditEvent:
    found = events_after(db, since)
    assert [(e.action, e.actor_id, e.partner_id) for e in found] == [(action, actor.id if actor else None, partner_id)]
    return found[0]


def partner_form(**overrides):
    data = {"name": "Alpha Systems", "code": "ALPHA", "tier": "silver", "status": "active"}
    data.update(overrides)
    return data


def user_form(**overrides):
    data = {"email": "hanako@alpha.example", "display_name": "Hanako Yamada", "role": "partner_user", "partner_id": "0",
            "language": "", "active": "y", "password": ""}
    data.update(overrides)
    return data


def existing_user_form(user: User, **overrides):
    return user_form(**{"email": user.email, "display_name": user.display_name, "role": user.role.value,
                        "partner_id": str(user.partner_id or 0), **overrides})


CADENCE = {"high_touch_months": "1", "high_touch_grace": "10", "low_touch_months": "3", "low_touch_grace": "10",
           "tech_touch_months": "6", "tech_touch_grace": "10"}


def weights_form(usage: int = 1, **overrides):
    data = {f"{phase}__{name}": "0" for phase in ("onboarding", "adoption")
            for name in ("usage", "onboarding", "satisfaction", "effort", "sentiment_score", "outcome", "freshness")}
    data.update({"onboarding__usage": str(usage), "adoption__usage": str(usage)})
    data.update(green_min="70", yellow_min="45", min_coverage_pct="60", note="", action="save")
    data.update(overrides)
    return data


# --- logins -------------------------------------------------------------------------------------


def test_a_login_a_refused_login_and_a_logout_are_each_one_event(db, browser, tenants):
    since = marker(db)
    b = browser()
    assert b.login(tenants.user_a.email).status_code == 302
    login = one_event(db, since, AuditAction.LOGIN, tenants.user_a, tenants.partner_a.id)
    assert login.client_address == "127.0.0.1" and tenants.user_a.email in login.actor_label

    since = marker(db)
    assert b.post("/logout").status_code == 302
    one_event(db, since, AuditAction.LOGOUT, tenants.user_a, tenants.partner_a.id)

    since = marker(db)
    assert browser().login(tenants.user_a.email, "not the password").status_code == 200
    refused = one_event(db, since, AuditAction.LOGIN_FAILED, tenants.user_a, tenants.partner_a.id)
    assert refused.changes == {"reason": "wrong_password"}


def test_a_login_with_an_unknown_email_is_logged_as_normalised_and_vendor_wide(db, browser):
    since = marker(db)
    assert browser().login("Nobody@Example.com", "whatever password").status_code == 200
    event = one_event(db, since, AuditAction.LOGIN_FAILED, None, None)
    assert event.actor_label == "nobody@example.com" and event.changes == {"reason": "unknown_email"}


def test_a_deactivated_login_is_refused_and_logged_as_inactive(db, browser, tenants):
    user = latest(db).get(User, tenants.user_b.id)
    user.active = False
    db.commit()
    since = marker(db)
    assert browser().login(tenants.user_b.email).status_code == 200
    assert one_event(db, since, AuditAction.LOGIN_FAILED, tenants.user_b, tenants.partner_b.id).changes == {"reason": "inactive"}


# --- partners, users, tokens, settings ----------------------------------------------------------


def test_partner_create_and_edit_name_tier_status_and_managers(db, browser, tenants):
    vendor = browser(tenants.vendor_admin)
    since = marker(db)
    assert vendor.post("/partners/new", partner_form(name="Sakura", code="SAKURA", tier="gold")).status_code == 302
    created = events_after(db, since)
    assert [(e.action, e.actor_id) for e in created] == [(AuditAction.PARTNER_CREATED, tenants.vendor_admin.id)]
    assert created[0].changes["tier"] == [None, "gold"]

    since = marker(db)
    response = vendor.post(f"/partners/{tenants.partner_a.id}/edit",
                           partner_form(tier="platinum", status="suspended", manager_ids=[str(tenants.vendor_admin.id)]))
    assert response.status_code == 302
    event = one_event(db, since, AuditAction.PARTNER_UPDATED, tenants.vendor_admin, tenants.partner_a.id)
    assert event.changes == {"tier": ["silver", "platinum"], "status": ["active", "suspended"],
                             "managers": [[tenants.partner_manager.email], [tenants.vendor_admin.email]]}
    assert event.target_label == "Alpha Systems (ALPHA)"

    since = marker(db)
    vendor.post(f"/partners/{tenants.partner_a.id}/edit",
                partner_form(tier="platinum", status="suspended", manager_ids=[str(tenants.vendor_admin.id)]))
    assert events_after(db, since) == []  # saved again unchanged: nothing happened


def test_the_partner_admins_settings_are_audited(db, browser, tenants):
    admin = browser(tenants.admin_a)
    since = marker(db)
    assert admin.post("/company/settings", {"imports_create_accounts": "y"}).status_code == 302
    event = one_event(db, since, AuditAction.PARTNER_SETTINGS_CHANGED, tenants.admin_a, tenants.partner_a.id)
    assert event.changes == {"imports_create_accounts": [False, True]}


def test_user_created_role_changed_deactivated_and_reactivated(db, browser, tenants):
    admin = browser(tenants.admin_a)
    since = marker(db)
    assert admin.post("/users/new", user_form(password="a first password 1")).status_code == 302
    created = one_event(db, since, AuditAction.USER_CREATED, tenants.admin_a, tenants.partner_a.id)
    assert created.target_label == "hanako@alpha.example" and created.changes["password"] == [None, "set"]
    assert "a first password 1" not in (created.detail or "")

    target = tenants.user_a
    steps = [({"role": "partner_admin"}, AuditAction.ROLE_CHANGED, {"role": ["partner_user", "partner_admin"]}),
             ({"role": "partner_admin", "active": ""}, AuditAction.USER_DEACTIVATED, {"active": [True, False]}),
             ({"role": "partner_admin"}, AuditAction.USER_REACTIVATED, {"active": [False, True]}),
             ({"role": "partner_admin", "display_name": "Renamed"}, AuditAction.USER_UPDATED,
              {"display_name": [target.display_name, "Renamed"]})]
    for change, action, detail in steps:
        since = marker(db)
        assert admin.post(f"/users/{target.id}/edit", existing_user_form(target, **change)).status_code == 302
        assert one_event(db, since, action, tenants.admin_a, tenants.partner_a.id).changes == detail


def test_a_user_made_at_the_command_line_is_logged_with_no_actor(db, runner):
    factories.partner(db, code="SAKURA")
    since = marker(db)
    result = runner.invoke(args=["users", "create", "--email", "ops@vendor.example", "--name", "Ops", "--role", "vendor_admin",
                                 "--password", "an operator password"])
    assert result.exit_code == 0, result.output
    event = one_event(db, since, AuditAction.USER_CREATED, None, None)
    assert event.actor_label is None and event.client_address is None


def test_api_tokens_created_and_revoked_name_who_did_it(db, browser, tenants):
    admin = browser(tenants.admin_a)
    since = marker(db)
    assert admin.post("/company/tokens", {"name": "CRM nightly sync"}).status_code == 200
    event = one_event(db, since, AuditAction.TOKEN_CREATED, tenants.admin_a, tenants.partner_a.id)
    assert event.target_label.startswith("CRM nightly sync (csp_")

    since = marker(db)
    assert admin.post(f"/company/tokens/{tenants.token_a.id}/revoke").status_code == 302
    assert one_event(db, since, AuditAction.TOKEN_REVOKED, tenants.admin_a, tenants.partner_a.id).target_id == tenants.token_a.id
    since = marker(db)
    admin.post(f"/company/tokens/{tenants.token_a.id}/revoke")
    assert events_after(db, since) == []  # revoked already


# --- the vendor's rules ---------------------------------------------------------------------------


def test_rule_changes_are_vendor_wide_events(db, browser, tenants):
    vendor = browser(tenants.vendor_admin)
    va = tenants.vendor_admin
    since = marker(db)
    assert vendor.post("/rules", dict(CADENCE, low_touch_months="1")).status_code == 302
    assert one_event(db, since, AuditAction.CADENCE_CHANGED, va, None).changes["low_touch_months"][1] == 1

    since = marker(db)
    feature = {"key": "audit_trail", "name_en": "Reports", "name_ja": "レポート", "position": "3", "active": "y"}
    assert vendor.post("/rules/features/new", feature).status_code == 302
    assert one_event(db, since, AuditAction.FEATURE_CREATED, va, None).target_label == "audit_trail"
    feature_id = latest(db).scalar(select(Feature.id).where(Feature.key == "audit_trail"))
    since = marker(db)
    assert vendor.post(f"/rules/features/{feature_id}", dict(feature, name_en="Dashboards")).status_code == 302
    assert one_event(db, since, AuditAction.FEATURE_UPDATED, va, None).changes == {"name_en": ["Reports", "Dashboards"]}

    since = marker(db)
    template = {"key": "audit_review", "name_en": "Go live", "name_ja": "本番稼働", "position": "9", "due_after_days": "30", "active": "y"}
    assert vendor.post("/rules/milestones/new", template).status_code == 302
    one_event(db, since, AuditAction.MILESTONE_TEMPLATE_CREATED, va, None)

    since = marker(db)
    blank = {f"{t}__{f}": "" for t in ("platinum", "gold", "silver")
             for f in ("accounts", "arr_jpy", "average_health", "reporting_compliance_pct", "renewal_rate_pct", "nrr_pct")}
    assert vendor.post("/rules/tiers", dict(blank, gold__accounts="5")).status_code == 302
    assert one_event(db, since, AuditAction.TIER_RULES_CHANGED, va, None).changes == {"gold.accounts": [None, 5.0]}

    since = marker(db)
    assert vendor.post("/health-model", weights_form(note="Usage only", min_coverage_pct="50")).status_code == 302
    model = one_event(db, since, AuditAction.HEALTH_MODEL_SAVED, va, None)
    assert model.changes["note"] == [None, "Usage only"] and model.changes["version"] == [0, 1]
    assert model.changes["min_coverage_pct"] == [60, 50]


@pytest.mark.parametrize("url, data", [
    ("/partners/new", partner_form(code="BRAVO")),                             # the code is taken
    ("/users/new", user_form(partner_id="{a}", password="short")),              # too short a password
    ("/rules/features/new", {"key": "bad key!", "name_en": "x", "name_ja": "x"}),
    ("/rules/tiers", {"gold__accounts": "-1"}),
    ("/health-model", weights_form(usage=0)),                                   # a set without weights
    ("/accounts/{account}/edit", {"reference": "A-001", "name": "", "segment": "low_touch", "status": "active"}),
], ids=["partner", "user", "feature", "tiers", "health-model", "account"])
def test_a_refused_change_writes_no_event(db, browser, tenants, url, data):
    vendor = browser(tenants.vendor_admin)
    since = marker(db)
    data = {k: v.format(a=tenants.partner_a.id) if isinstance(v, str) else v for k, v in data.items()}
    response = vendor.post(url.format(account=tenants.account_a.id), data)
    assert response.status_code == 400
    assert events_after(db, since) == []


# --- accounts: the web form and the API alike -----------------------------------------------------


def test_web_and_api_account_edits_write_the_change_log_and_one_event_each(db, browser, client, tenants):
    admin = browser(tenants.admin_a)
    since = marker(db)
    form = {"reference": "A-001", "name": "Alpha Customer Holdings", "segment": "low_touch", "status": "active", "seats": "80",
            "arr_jpy": "1200000", "contract_start": "2025-04-01", "renewal_date": "2026-04-01"}
    assert admin.post(f"/accounts/{tenants.account_a.id}/edit", form).status_code == 302
    event = one_event(db, since, AuditAction.ACCOUNT_UPDATED, tenants.admin_a, tenants.partner_a.id)
    assert event.changes["name"] == ["Alpha Customer KK", "Alpha Customer Holdings"] and event.changes["via"] == "form"
    [log] = latest(db).scalars(select(ChangeLog).where(ChangeLog.account_id == tenants.account_a.id))
    assert (log.source, log.user_id) == (ReportSource.FORM, tenants.admin_a.id)

    tenants.partner_a.imports_create_accounts = True  # the partner lets the API create accounts
    db.commit()
    since = marker(db)
    response = client.put(f"{API}/accounts/NEW-1", json={"name": "New Customer", "segment": "tech_touch"},
                          headers={"Authorization": f"Bearer {tenants.secret_a}"})
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    created = one_event(db, since, AuditAction.ACCOUNT_CREATED, None, tenants.partner_a.id)
    assert created.actor_label.startswith("API token “CRM sync”") and created.changes["via"] == "api"


# --- the page, its filters and its export ----------------------------------------------------------


def export_rows(b, query: str = "") -> list[list[str]]:
    response = b.get(f"/audit.csv{query}")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_the_page_lists_events_newest_first_and_filters(db, browser, tenants, clock):
    clock.move_to(datetime(2026, 11, 2, 12, 0))
    browser().login(tenants.admin_b.email, "wrong password here")
    clock.move_to(datetime(2026, 11, 20, 12, 0))
    vendor = browser(tenants.vendor_admin)
    vendor.post(f"/partners/{tenants.partner_a.id}/edit", partner_form(tier="gold", manager_ids=[str(tenants.partner_manager.id)]))
    page = vendor.get("/audit")
    assert page.status_code == 200
    body = page.get_data(as_text=True).split("<tbody>")[1]
    assert "Partner edited" in body and "Login refused" in body and "Silver → Gold" in body
    assert body.index("Partner edited") < body.index("Login refused")  # newest first

    def actions(query):
        return [row[3] for row in export_rows(vendor, query)[1:]]

    assert set(actions("?action=login_failed")) == {"Login refused"}
    assert set(actions(f"?partner_id={tenants.partner_b.id}&action=login_failed")) == {"Login refused"}
    assert actions(f"?partner_id={tenants.partner_a.id}&action=login_failed") == []
    assert actions(f"?actor_id={tenants.vendor_admin.id}") == ["Partner edited", "Logged in"]
    assert actions("?from=2026-11-01&to=2026-11-02") == ["Login refused"]
    assert "Login refused" not in actions("?from=2026-11-03")
    assert actions("?q=alpha systems") == ["Partner edited"]
    assert vendor.get("/audit?q=alpha systems").get_data(as_text=True).count("Partner edited") >= 1


@pytest.mark.parametrize("query", ["action=bogus", "from=yesterday", "to=2026-13-01", "actor_id=abc", "partner_id=-3"])
def test_a_bad_filter_is_a_400_naming_it(browser, tenants, query):
    assert browser(tenants.vendor_admin).get(f"/audit?{query}").status_code == 400
    assert browser(tenants.vendor_admin).get(f"/audit.csv?{query}").status_code == 400


def test_a_partner_admin_sees_its_own_partners_events_only(db, browser, tenants):
    browser(tenants.admin_b).post("/company/tokens", {"name": "Bravo secret sync"})
    browser(tenants.vendor_admin).post("/rules", dict(CADENCE, low_touch_months="1"))
    browser(tenants.admin_a).post("/company/tokens", {"name": "Alpha sync"})
    admin_a = browser(tenants.admin_a)
    for query in ("", f"?partner_id={tenants.partner_b.id}", f"?actor_id={tenants.admin_b.id}", "?q=Bravo"):
        body = admin_a.get(f"/audit{query}").get_data(as_text=True)
        assert "Alpha sync" in body or query
        body = body.split("<tbody>")[1]
        assert "Bravo secret sync" not in body and tenants.admin_b.email not in body and "Reporting cadence changed" not in body
        rows = export_rows(admin_a, query)[1:]
        assert all("Bravo" not in cell and tenants.admin_b.email not in cell for row in rows for cell in row)
    rows = export_rows(admin_a)[1:]
    assert {row[2] for row in rows} == {tenants.partner_a.name}
    assert "Alpha sync (csp_" in " ".join(row[4] for row in rows)
    expected = latest(db).scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.partner_id == tenants.partner_a.id))
    assert len(rows) == expected


def test_the_export_in_csv_and_excel_shows_times_in_the_viewers_time_zone(db, browser, tenants, clock):
    clock.move_to(datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc))
    vendor = browser(tenants.vendor_admin)  # logs in at 09:00 UTC
    rows = export_rows(vendor, "?action=login")
    assert rows[0] == ["When", "Who", "Partner", "Action", "Concerning", "What changed", "Address"]
    assert rows[1][0].startswith("2026-12-01 18:0")  # Tokyo
    assert rows[1][1] == f"{tenants.vendor_admin.display_name} <{tenants.vendor_admin.email}>"
    user = latest(db).get(User, tenants.vendor_admin.id)
    user.time_zone = "America/New_York"
    db.commit()
    sheet = load_workbook(io.BytesIO(vendor.get("/audit.xlsx?action=login").get_data())).active
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert values[0][0].startswith("2026-12-01 04:0") and values[0][3] == "Logged in"
    assert vendor.get("/audit.pdf").status_code == 404


def test_action_names_are_translated(db, browser, tenants):
    user = latest(db).get(User, tenants.vendor_admin.id)
    user.language = "ja"
    db.commit()
    body = browser(tenants.vendor_admin).get("/audit").get_data(as_text=True)
    assert "監査ログ" in body and "ログイン" in body


def test_the_page_makes_as_many_queries_for_many_events_as_for_few(app, db, browser, tenants):
    for who in (tenants.vendor_admin, tenants.admin_a):
        person = browser(who)
        counts = []
        for n in (2, 20):
            for _ in range(n):
                person.post("/company/tokens" if who.role == Role.PARTNER_ADMIN else "/rules",
                            {"name": "sync"} if who.role == Role.PARTNER_ADMIN else dict(CADENCE, low_touch_grace=str(n + _)))
            person.get("/audit")
            with counted(app) as statements:
                assert person.get("/audit").status_code == 200
            counts.append(len(statements))
        assert counts[0] == counts[1], f"{who.role}: {counts}"


# --- the database keeps history -------------------------------------------------------------------


def _refused(db, statement: str):
    with pytest.raises(IntegrityError):
        db.execute(text(statement))
        db.flush()
    db.rollback()


def test_the_database_refuses_to_update_or_delete_an_event(db, browser, tenants):
    browser(tenants.user_a)
    count = latest(db).scalar(select(func.count()).select_from(AuditEvent))
    assert count > 0
    _refused(db, "UPDATE audit_events SET actor_label = 'someone else'")
    _refused(db, "DELETE FROM audit_events")
    if db.bind.dialect.name == "postgresql":
        _refused(db, "TRUNCATE audit_events")
    assert latest(db).scalar(select(func.count()).select_from(AuditEvent)) == count
    assert "someone else" not in {e.actor_label for e in latest(db).scalars(select(AuditEvent))}


def test_the_migration_itself_installs_the_guard_and_the_action_check(fresh_database_factory):
    with fresh_database_factory() as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        try:
            insert = ("INSERT INTO audit_events (occurred_at, action, actor_label) "
                      "VALUES ('2026-12-01 00:00:00', :action, 'x')")
            with engine.begin() as conn:
                conn.execute(text(insert), {"action": "login"})
            for statement in ("UPDATE audit_events SET actor_label = 'y'", "DELETE FROM audit_events"):
                with pytest.raises(IntegrityError), engine.begin() as conn:
                    conn.execute(text(statement))
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(text(insert), {"action": "rewrote_history"})
            with engine.connect() as conn:
                assert conn.execute(text("SELECT actor_label FROM audit_events")).scalars().all() == ["x"]
        finally:
            engine.dispose()


def test_the_detail_is_json_with_characters_as_typed(db, browser, tenants):
    vendor = browser(tenants.vendor_admin)
    since = marker(db)
    vendor.post(f"/partners/{tenants.partner_b.id}/edit", partner_form(name="ブラボー", code="BRAVO"))
    [event] = events_after(db, since)
    assert "ブラボー" in event.detail and json.loads(event.detail)["name"] == ["Bravo Networks", "ブラボー"]
    assert vendor.get("/audit?q=ブラボー").get_data(as_text=True).count("Partner edited") >= 1


def test_events_are_stamped_by_the_portal_clock(db, browser, tenants, clock):
    moment = clock.move_to(datetime(2027, 3, 1, 0, 30))
    since = marker(db)
    browser(tenants.user_a)
    [event] = events_after(db, since)
    assert abs(event.occurred_at - moment) < timedelta(minutes=1)
