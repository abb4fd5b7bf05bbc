"""Tenant isolation by POST and in lists: a reseller never reads or changes another reseller's data.

The access matrix covers GET of every route; these tests tamper with forms and query strings.
"""
from __future__ import annotations

from sqlalchemy import func, select

from portal.models import Account, Partner, Role, User
from tests import factories
from tests.readback import latest, reload, snapshot
from tests.pages import parse


def account_form(**overrides):
    data = {
        "reference": "X-100",
        "name": "Tampered Customer KK",
        "industry": "Retail",
        "segment": "high_touch",
        "plan": "Business",
        "seats": "50",
        "arr_jpy": "5000000",
        "contract_start": "2025-04-01",
        "renewal_date": "2026-04-01",
        "desired_outcome": "",
        "status": "active",
        "churned_on": "",
        "churn_reason": "",
    }
    data.update(overrides)
    return data


def user_form(**overrides):
    data = {
        "email": "new.person@example.com",
        "display_name": "New Person",
        "role": "partner_user",
        "language": "",
        "active": "y",
        "password": "a long enough password",
    }
    data.update(overrides)
    return data


# --- accounts by POST -----------------------------------------------------------------------


def test_partner_admin_cannot_edit_another_partners_account(db, browser, tenants):
    b = browser(tenants.admin_a)
    before = reload(db, tenants.account_b)
    snapshot = (before.name, before.reference, before.arr_jpy, before.partner_id, before.updated_at)

    response = b.post(
        f"/accounts/{tenants.account_b.id}/edit",
        account_form(reference=before.reference, name="Overwritten by A", partner_id=tenants.partner_a.id),
    )
    assert response.status_code == 404
    assert tenants.account_b.name not in response.get_data(as_text=True)
    after = reload(db, tenants.account_b)
    assert (after.name, after.reference, after.arr_jpy, after.partner_id, after.updated_at) == snapshot


def test_partner_admin_cannot_move_own_account_to_another_partner(db, browser, tenants):
    b = browser(tenants.admin_a)
    response = b.post(
        f"/accounts/{tenants.account_a.id}/edit",
        account_form(reference="A-001", name="Renamed", partner_id=tenants.partner_b.id),
    )
    assert response.status_code == 302
    account = reload(db, tenants.account_a)
    assert account.name == "Renamed"
    assert account.partner_id == tenants.partner_a.id


def test_tampered_partner_id_on_account_create_lands_in_own_partner(db, browser, tenants):
    b = browser(tenants.admin_a)
    response = b.post("/accounts/new", account_form(partner_id=str(tenants.partner_b.id)))
    assert response.status_code in (302, 400)
    created = latest(db).scalars(select(Account).where(Account.reference == "X-100")).all()
    assert all(a.partner_id == tenants.partner_a.id for a in created)
    if response.status_code == 302:  # accepted: then it is A's account
        assert [a.partner_id for a in created] == [tenants.partner_a.id]
    assert latest(db).scalar(select(func.count()).select_from(Account).where(Account.partner_id == tenants.partner_b.id)) == 1


def test_partner_user_and_partner_manager_cannot_post_accounts(db, browser, tenants):
    for person in (tenants.user_a, tenants.partner_manager):
        b = browser(person)
        assert b.post("/accounts/new", account_form(partner_id=tenants.partner_a.id)).status_code == 403
        response = b.post(f"/accounts/{tenants.account_a.id}/edit", account_form(reference="A-001", name="Changed"))
        assert response.status_code == 403
    assert latest(db).scalar(select(func.count()).select_from(Account)) == 2
    assert reload(db, tenants.account_a).name == "Alpha Customer KK"


# --- users by POST --------------------------------------------------------------------------


def test_partner_admin_cannot_edit_another_partners_user(db, browser, tenants):
    b = browser(tenants.admin_a)
    target = tenants.user_b
    fields = ("display_name", "active", "password_hash", "partner_id", "role")
    before = snapshot(target, *fields)
    response = b.post(
        f"/users/{target.id}/edit",
        user_form(email=target.email, display_name="Taken Over", active="", password="taken over password"),
    )
    assert response.status_code == 404
    assert snapshot(reload(db, target), *fields) == before
    assert browser().login(target.email).status_code == 302  # still active, same password


def test_partner_admin_cannot_edit_vendor_users(db, browser, tenants):
    b = browser(tenants.admin_a)
    for target in (tenants.vendor_admin, tenants.partner_manager):
        fields = ("display_name", "role", "partner_id", "password_hash")
        before = snapshot(target, *fields)
        assert b.get(f"/users/{target.id}/edit").status_code == 404
        response = b.post(
            f"/users/{target.id}/edit",
            user_form(email=target.email, display_name="Demoted", role="partner_user", password="taken over password"),
        )
        assert response.status_code == 404
        assert snapshot(reload(db, target), *fields) == before
        assert reload(db, target).role in (Role.VENDOR_ADMIN, Role.PARTNER_MANAGER)


def test_partner_admin_cannot_assign_vendor_roles(db, browser, tenants):
    b = browser(tenants.admin_a)
    for role in ("vendor_admin", "partner_manager"):
        response = b.post("/users/new", user_form(email=f"sneaky-{role}@example.com", role=role))
        assert response.status_code == 400
        assert parse(response).errors.get("role")
        assert latest(db).scalar(select(User).where(User.email == f"sneaky-{role}@example.com")) is None

        response = b.post(
            f"/users/{tenants.user_a.id}/edit",
            user_form(email=tenants.user_a.email, display_name=tenants.user_a.display_name, role=role, password=""),
        )
        assert response.status_code == 400
        assert parse(response).errors.get("role")
        assert reload(db, tenants.user_a).role == Role.PARTNER_USER


def test_tampered_partner_id_on_user_create_lands_in_own_partner(db, browser, tenants):
    b = browser(tenants.admin_a)
    response = b.post("/users/new", user_form(partner_id=str(tenants.partner_b.id)))
    assert response.status_code == 302
    created = latest(db).scalar(select(User).where(User.email == "new.person@example.com"))
    assert created is not None
    assert created.partner_id == tenants.partner_a.id
    assert created.role == Role.PARTNER_USER


def test_tampered_partner_id_on_user_edit_keeps_own_partner(db, browser, tenants):
    b = browser(tenants.admin_a)
    target = tenants.user_a
    response = b.post(
        f"/users/{target.id}/edit",
        user_form(email=target.email, display_name="Moved?", partner_id=str(tenants.partner_b.id), password=""),
    )
    assert response.status_code == 302
    after = reload(db, target)
    assert after.display_name == "Moved?"
    assert after.partner_id == tenants.partner_a.id


# --- lists ----------------------------------------------------------------------------------


def test_account_list_and_search_show_only_own_partner(db, browser, tenants):
    factories.account(db, tenants.partner_b, name="Bravo Second Customer", reference="B-002")
    b = browser(tenants.admin_a)

    rows = parse(b.get("/accounts")).rows
    assert rows == [tenants.account_a.name]

    assert parse(b.get("/accounts?q=Bravo")).rows == []
    assert parse(b.get("/accounts?q=B-00")).rows == []
    # The search works: it finds own rows.
    assert parse(b.get("/accounts?q=Alpha")).rows == [tenants.account_a.name]

    # Vendor staff searching the same thing do see the other partner (the search is not just broken).
    assert set(parse(browser(tenants.vendor_admin).get("/accounts?q=Bravo")).rows) == {
        tenants.account_b.name, "Bravo Second Customer",
    }


def test_partner_id_filter_is_ignored_for_partner_roles(browser, tenants):
    for person in (tenants.admin_a, tenants.user_a):
        response = browser(person).get(f"/accounts?partner_id={tenants.partner_b.id}")
        assert response.status_code == 200
        assert parse(response).rows == [tenants.account_a.name]
        assert tenants.partner_b.name not in response.get_data(as_text=True)

    vendor = parse(browser(tenants.vendor_admin).get(f"/accounts?partner_id={tenants.partner_b.id}")).rows
    assert vendor == [tenants.account_b.name]


def test_partner_admin_user_list_shows_only_own_staff(browser, tenants):
    page = browser(tenants.admin_a).get("/users").get_data(as_text=True)
    rows = parse(page).rows
    assert sorted(rows) == sorted([tenants.admin_a.display_name, tenants.user_a.display_name])
    for other in (tenants.admin_b, tenants.user_b, tenants.vendor_admin, tenants.partner_manager):
        assert other.email not in page
    rows = parse(browser(tenants.admin_a).get(f"/users?partner_id={tenants.partner_b.id}")).rows
    assert tenants.user_b.display_name not in rows


def test_partner_manager_mine_filter_shows_only_managed_partners(db, browser, tenants):
    other_manager = factories.user(db, Role.PARTNER_MANAGER)
    charlie = factories.partner(db, name="Charlie Cloud", code="CHARLIE", managers=[other_manager])
    factories.account(db, charlie, name="Charlie Customer", reference="C-001")
    b = browser(tenants.partner_manager)

    everyone = parse(b.get("/partners")).rows
    assert sorted(everyone) == sorted(["Alpha Systems", "Bravo Networks", "Charlie Cloud"])
    assert parse(b.get("/partners?mine=1")).rows == ["Alpha Systems"]

    all_accounts = parse(b.get("/accounts")).rows
    assert sorted(all_accounts) == sorted([tenants.account_a.name, tenants.account_b.name, "Charlie Customer"])
    assert parse(b.get("/accounts?mine=1")).rows == [tenants.account_a.name]

    # The other manager's "mine" is theirs.
    assert parse(browser(other_manager).get("/partners?mine=1")).rows == ["Charlie Cloud"]


def test_partner_manager_cannot_post_partner_edit(db, browser, tenants):
    b = browser(tenants.partner_manager)
    partner = tenants.partner_a
    fields = ("name", "code", "tier", "status")
    before = snapshot(partner, *fields)
    response = b.post(
        f"/partners/{partner.id}/edit",
        {"name": "Renamed by manager", "code": "HIJACK", "tier": "platinum", "status": "terminated"},
    )
    assert response.status_code == 403
    assert snapshot(reload(db, partner), *fields) == before
    assert before[1] == "ALPHA"
    assert b.post("/partners/new", {"name": "New", "code": "NEW", "tier": "gold", "status": "active"}).status_code == 403
    assert latest(db).scalar(select(Partner).where(Partner.code == "NEW")) is None


def test_ids_no_row_can_have_are_missing_not_errors(browser, tenants):
    """An id beyond the database's integer range is just another id that does not exist."""
    huge = 10**20
    for person in (tenants.vendor_admin, tenants.admin_a):
        b = browser(person)
        for url in (f"/accounts/{huge}", f"/accounts/{huge}/edit", f"/partners/{huge}", f"/users/{huge}/edit"):
            assert b.get(url).status_code == 404, url
        assert b.post(f"/accounts/{huge}/edit", account_form()).status_code == 404
