"""Vendor admins run the partner list and everyone's logins; partner admins their own staff."""
from __future__ import annotations

from sqlalchemy import func, select

from portal.models import Partner, PartnerStatus, PartnerTier, Role, User
from tests import factories
from tests.readback import latest, reload, snapshot
from tests.pages import parse


def partner_form(**overrides):
    data = {"name": "Sakura Cloud Partners", "code": "sakura-02", "tier": "gold", "status": "active"}
    data.update(overrides)
    return data


def user_form(**overrides):
    data = {
        "email": "Hanako.Yamada@Example.COM",
        "display_name": "Hanako Yamada",
        "role": "partner_user",
        "partner_id": "0",
        "language": "ja",
        "active": "y",
        "password": "first password 123",
    }
    data.update(overrides)
    return data


def partner_count(db) -> int:
    return latest(db).scalar(select(func.count()).select_from(Partner))


def user_count(db) -> int:
    return latest(db).scalar(select(func.count()).select_from(User))


# --- partners -------------------------------------------------------------------------------


def test_vendor_admin_creates_a_partner_with_normalised_code_and_managers(db, browser, tenants):
    b = browser(tenants.vendor_admin)
    response = b.post("/partners/new", partner_form(manager_ids=[str(tenants.partner_manager.id)]))
    assert response.status_code == 302
    partner = latest(db).scalar(select(Partner).where(Partner.name == "Sakura Cloud Partners"))
    assert partner is not None
    assert response.location == f"/partners/{partner.id}"
    assert partner.code == "SAKURA-02"
    assert (partner.tier, partner.status) == (PartnerTier.GOLD, PartnerStatus.ACTIVE)
    assert [m.id for m in partner.managers] == [tenants.partner_manager.id]

    html = b.get(response.location).get_data(as_text=True)
    assert "SAKURA-02" in html
    assert tenants.partner_manager.email in html
    assert "Sakura Cloud Partners" in parse(b.get("/partners")).rows
    assert "Sakura Cloud Partners" in parse(browser(tenants.partner_manager).get("/partners?mine=1")).rows


def test_duplicate_partner_code_is_rejected_on_the_field(db, browser, tenants):
    b = browser(tenants.vendor_admin)
    before = partner_count(db)
    response = b.post("/partners/new", partner_form(name="Another Alpha", code="alpha"))
    assert response.status_code == 400
    page = parse(response)
    assert page.errors.get("code") == "Another partner already uses this code."
    assert page.value("name") == "Another Alpha"
    assert partner_count(db) == before

    # Editing B to A's code is rejected too, and B keeps its own.
    response = b.post(f"/partners/{tenants.partner_b.id}/edit", partner_form(name="Bravo Networks", code="Alpha"))
    assert response.status_code == 400
    assert parse(response).errors.get("code")
    assert reload(db, tenants.partner_b).code == "BRAVO"


def test_partner_code_format_is_checked(db, browser, tenants):
    response = browser(tenants.vendor_admin).post("/partners/new", partner_form(code="sakura 02!"))
    assert response.status_code == 400
    assert parse(response).errors.get("code")
    assert latest(db).scalar(select(Partner).where(Partner.name == "Sakura Cloud Partners")) is None


def test_vendor_admin_edits_a_partner_and_reassigns_managers(db, browser, tenants):
    second_manager = factories.user(db, Role.PARTNER_MANAGER)
    b = browser(tenants.vendor_admin)
    partner = tenants.partner_a

    form = parse(b.get(f"/partners/{partner.id}/edit"))
    assert form.value("code") == "ALPHA"
    assert form.values["manager_ids"] == [str(tenants.partner_manager.id)]

    response = b.post(
        f"/partners/{partner.id}/edit",
        partner_form(name="Alpha Systems Holdings", code="ALPHA", tier="platinum", status="suspended",
                     manager_ids=[str(second_manager.id)]),
    )
    assert response.status_code == 302
    after = reload(db, partner)
    assert (after.id, after.name, after.code, after.tier, after.status) == (
        partner.id, "Alpha Systems Holdings", "ALPHA", PartnerTier.PLATINUM, PartnerStatus.SUSPENDED,
    )
    assert [m.id for m in after.managers] == [second_manager.id]
    # The managers' "my partners" follow the assignment.
    assert parse(browser(second_manager).get("/partners?mine=1")).rows == ["Alpha Systems Holdings"]
    assert parse(browser(tenants.partner_manager).get("/partners?mine=1")).rows == []

    # No manager selected: nobody manages it any more.
    response = b.post(f"/partners/{partner.id}/edit", partner_form(name="Alpha Systems Holdings", code="ALPHA"))
    assert response.status_code == 302
    assert reload(db, partner).managers == []


def test_partner_users_cannot_be_made_managers(db, browser, tenants):
    b = browser(tenants.vendor_admin)
    response = b.post(f"/partners/{tenants.partner_b.id}/edit",
                      partner_form(name="Bravo Networks", code="BRAVO", manager_ids=[str(tenants.admin_b.id)]))
    assert response.status_code == 400
    assert parse(response).errors.get("manager_ids")
    assert reload(db, tenants.partner_b).managers == []


# --- users ----------------------------------------------------------------------------------


def test_vendor_admin_creates_a_partner_user_who_can_log_in(db, browser, tenants):
    b = browser(tenants.vendor_admin)
    response = b.post("/users/new", user_form(partner_id=str(tenants.partner_b.id)))
    assert response.status_code == 302
    user = latest(db).scalar(select(User).where(User.email == "hanako.yamada@example.com"))
    assert user is not None
    assert (user.role, user.partner_id, user.language, user.active) == (Role.PARTNER_USER, tenants.partner_b.id, "ja", True)
    assert "Hanako Yamada" in parse(b.get("/users")).rows

    newcomer = browser()
    assert newcomer.login("hanako.yamada@example.com", "first password 123").status_code == 302
    # ...and sees partner B's accounts, not A's.
    assert parse(newcomer.get("/accounts")).rows == [tenants.account_b.name]


def test_vendor_admin_creates_vendor_staff(db, browser, tenants):
    b = browser(tenants.vendor_admin)
    response = b.post("/users/new", user_form(email="kenji@vendor.example", role="partner_manager", partner_id="0"))
    assert response.status_code == 302
    user = latest(db).scalar(select(User).where(User.email == "kenji@vendor.example"))
    assert (user.role, user.partner_id) == (Role.PARTNER_MANAGER, None)
    assert browser().login("kenji@vendor.example", "first password 123").status_code == 302


def test_partner_role_without_partner_is_a_field_error(db, browser, tenants):
    before = user_count(db)
    response = browser(tenants.vendor_admin).post("/users/new", user_form(partner_id="0"))
    assert response.status_code == 400
    page = parse(response)
    assert page.errors.get("partner_id") == "Choose the partner this person works for."
    assert page.value("email") == "Hanako.Yamada@Example.COM"
    assert page.value("display_name") == "Hanako Yamada"
    assert user_count(db) == before


def test_vendor_role_with_partner_is_a_field_error(db, browser, tenants):
    before = user_count(db)
    response = browser(tenants.vendor_admin).post(
        "/users/new", user_form(role="vendor_admin", partner_id=str(tenants.partner_a.id))
    )
    assert response.status_code == 400
    assert parse(response).errors.get("partner_id") == "Vendor staff do not belong to a partner; leave this empty."
    assert user_count(db) == before


def test_duplicate_email_is_a_field_error_whatever_the_case(db, browser, tenants):
    before = user_count(db)
    b = browser(tenants.vendor_admin)
    response = b.post("/users/new", user_form(email=tenants.user_b.email.upper(), partner_id=str(tenants.partner_a.id)))
    assert response.status_code == 400
    assert parse(response).errors.get("email") == "A user with this email already exists."
    assert user_count(db) == before

    # Renaming someone to an existing email, too.
    email_before = tenants.user_a.email
    response = b.post(
        f"/users/{tenants.user_a.id}/edit",
        user_form(email=tenants.admin_a.email.title(), display_name=tenants.user_a.display_name,
                  partner_id=str(tenants.partner_a.id), password=""),
    )
    assert response.status_code == 400
    assert parse(response).errors.get("email")
    assert reload(db, tenants.user_a).email == email_before


def test_new_user_needs_a_first_password(db, browser, tenants):
    before = user_count(db)
    response = browser(tenants.admin_a).post("/users/new", user_form(password=""))
    assert response.status_code == 400
    assert parse(response).errors.get("password")
    assert user_count(db) == before


def test_short_password_is_rejected(db, browser, tenants):
    response = browser(tenants.admin_a).post("/users/new", user_form(password="short"))
    assert response.status_code == 400
    assert parse(response).errors.get("password")
    assert latest(db).scalar(select(User).where(User.email == "hanako.yamada@example.com")) is None


def test_editing_a_user_without_password_keeps_the_password(db, browser, tenants):
    target = tenants.user_a
    hash_before = target.password_hash
    b = browser(tenants.admin_a)
    form = parse(b.get(f"/users/{target.id}/edit"))
    assert form.value("email") == target.email
    assert form.value("role") == "partner_user"
    response = b.post(
        f"/users/{target.id}/edit",
        user_form(email=target.email, display_name="Renamed Person", role="partner_admin", password="", language=""),
    )
    assert response.status_code == 302
    after = reload(db, target)
    assert (after.display_name, after.role, after.password_hash) == ("Renamed Person", Role.PARTNER_ADMIN, hash_before)
    assert browser().login(target.email).status_code == 302


def test_admin_can_deactivate_someone_else_who_then_cannot_log_in(db, browser, tenants):
    target = tenants.user_a
    their_browser = browser(target)
    response = browser(tenants.admin_a).post(
        f"/users/{target.id}/edit",
        user_form(email=target.email, display_name=target.display_name, active="", password=""),
    )
    assert response.status_code == 302
    assert reload(db, target).active is False
    assert their_browser.get("/profile").status_code == 302  # logged out
    assert browser().login(target.email).status_code == 200


def test_admins_cannot_deactivate_themselves_or_change_their_own_role(db, browser, tenants):
    cases = [
        (tenants.vendor_admin, {"role": "vendor_admin", "partner_id": "0", "active": ""}),
        (tenants.vendor_admin, {"role": "partner_manager", "partner_id": "0"}),
        (tenants.admin_a, {"role": "partner_admin", "active": ""}),
        (tenants.admin_a, {"role": "partner_user"}),
    ]
    for admin, changes in cases:
        before = snapshot(admin, "role", "active", "display_name")
        assert before[1] is True and before[2] != "Changed Name"
        b = browser(admin)
        response = b.post(
            f"/users/{admin.id}/edit",
            user_form(email=admin.email, display_name="Changed Name", password="", **changes),
        )
        assert response.status_code == 400, changes
        assert parse(response).errors.get("role") == "You cannot change your own role or deactivate yourself."
        assert snapshot(reload(db, admin), "role", "active", "display_name") == before
        assert b.get("/profile").status_code == 200

    # Editing one's own name, keeping role and active, is fine.
    b = browser(tenants.admin_a)
    response = b.post(
        f"/users/{tenants.admin_a.id}/edit",
        user_form(email=tenants.admin_a.email, display_name="Alpha Boss", role="partner_admin", password=""),
    )
    assert response.status_code == 302
    assert reload(db, tenants.admin_a).display_name == "Alpha Boss"


def test_partner_admin_creates_staff_for_own_partner_who_can_log_in(db, browser, tenants):
    b = browser(tenants.admin_a)
    response = b.post("/users/new", user_form(role="partner_admin"))
    assert response.status_code == 302
    user = latest(db).scalar(select(User).where(User.email == "hanako.yamada@example.com"))
    assert (user.role, user.partner_id) == (Role.PARTNER_ADMIN, tenants.partner_a.id)
    newcomer = browser()
    assert newcomer.login("HANAKO.YAMADA@example.com", "first password 123").status_code == 302
    assert parse(newcomer.get("/accounts")).rows == [tenants.account_a.name]
