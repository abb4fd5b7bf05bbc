"""Logging in and out, the `next` redirect, CSRF, one's own profile and password."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import select

from portal.models import PartnerStatus, Role, User
from tests import factories
from tests.readback import latest, reload, snapshot
from tests.pages import is_login_redirect, logged_in, parse

NEW_PASSWORD = "a brand new passphrase"
LOGIN_ERROR = "Email or password is incorrect."




# --- logging in ----------------------------------------------------------------------------


def test_login_redirects_to_start_page_and_records_the_login(db, browser, tenants):
    b = browser()
    response = b.login(tenants.admin_a.email)
    assert response.status_code == 302
    assert response.location == "/"
    assert logged_in(b)
    assert reload(db, tenants.admin_a).last_login_at is not None
    # The start page sends each side to a home page it can open: vendor staff to the channel's scorecard.
    home = b.get("/")
    assert home.status_code == 302 and not home.location.endswith("/login")
    assert b.get(home.location).status_code == 200
    assert browser(tenants.vendor_admin).get("/").location.endswith("/channel")


def test_wrong_email_and_wrong_password_look_the_same_and_write_nothing(db, browser, tenants):
    user = tenants.admin_a
    before = (user.password_hash, user.session_token)

    b1 = browser()
    wrong_email = b1.login("nobody@example.com")
    b2 = browser()
    wrong_password = b2.login(user.email, password="not the password")

    for response, b in ((wrong_email, b1), (wrong_password, b2)):
        assert response.status_code == 200
        assert not logged_in(b)
    assert parse(wrong_email).flash_texts("error") == [LOGIN_ERROR]
    assert parse(wrong_password).flash_texts("error") == parse(wrong_email).flash_texts("error")

    user = reload(db, user)
    assert user.last_login_at is None
    assert (user.password_hash, user.session_token) == before
    assert latest(db).scalar(select(User).where(User.email == "nobody@example.com")) is None


def test_email_is_case_insensitive(browser, tenants):
    b = browser()
    response = b.login("  " + tenants.admin_a.email.upper() + " ")
    assert response.status_code == 302
    assert logged_in(b)


def test_inactive_user_cannot_log_in(db, browser):
    partner = factories.partner(db)
    user = factories.user(db, Role.PARTNER_USER, partner, active=False)
    b = browser()
    response = b.login(user.email)
    assert response.status_code == 200
    assert parse(response).flash_texts("error") == [LOGIN_ERROR]
    assert not logged_in(b)
    assert reload(db, user).last_login_at is None


def test_user_of_terminated_partner_cannot_log_in(db, browser, tenants):
    # Logs in fine while the partner is active...
    assert browser().login(tenants.user_a.email).status_code == 302
    partner = reload(db, tenants.partner_a)
    partner.status = PartnerStatus.TERMINATED
    db.commit()
    b = browser()
    response = b.login(tenants.user_a.email)
    assert response.status_code == 200
    assert parse(response).flash_texts("error") == [LOGIN_ERROR]
    assert not logged_in(b)
    # ...and the other partner's people are not affected.
    assert browser().login(tenants.user_b.email).status_code == 302


def test_terminating_a_partner_ends_its_users_open_sessions(db, browser, tenants):
    b = browser(tenants.admin_a)
    assert logged_in(b)
    partner = reload(db, tenants.partner_a)
    partner.status = PartnerStatus.TERMINATED
    db.commit()
    assert not logged_in(b)


# --- next -----------------------------------------------------------------------------------


def test_next_relative_path_is_followed(browser, tenants):
    target = "/accounts?segment=high_touch&sort=arr"
    response = browser().login(tenants.admin_a.email, next_url=quote(target, safe=""))
    assert response.status_code == 302
    assert response.location == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/\t/evil.example",
    ],
)
def test_next_to_another_site_is_ignored(browser, tenants, target):
    response = browser().login(tenants.admin_a.email, next_url=quote(target, safe=""))
    assert response.status_code == 302
    assert response.location == "/"


def test_language_switch_next_is_also_checked(browser):
    b = browser()
    assert b.get("/language/ja?next=" + quote("/login", safe="")).location == "/login"
    assert b.get("/language/ja?next=" + quote("//evil.example", safe="")).location == "/"


# --- CSRF and logout ------------------------------------------------------------------------


def test_post_without_csrf_token_is_rejected_and_changes_nothing(db, browser, tenants):
    user = tenants.admin_a
    b = browser(user)
    response = b.post("/profile", {"display_name": "Hijacked", "language": "ja"}, csrf=False)
    assert response.status_code == 400
    user = reload(db, user)
    assert user.display_name != "Hijacked"
    assert user.language is None

    bad_token = b.post("/profile", {"display_name": "Hijacked", "language": "", "csrf_token": "forged"}, csrf=False)
    assert bad_token.status_code == 400
    assert reload(db, user).display_name != "Hijacked"


def test_login_without_csrf_token_is_rejected(browser, tenants):
    b = browser()
    response = b.post("/login", {"email": tenants.admin_a.email, "password": factories.PASSWORD}, csrf=False)
    assert response.status_code == 400
    assert not logged_in(b)


def test_logout_is_post_only(browser, tenants):
    b = browser(tenants.user_a)
    assert b.get("/logout").status_code == 405
    assert logged_in(b)
    response = b.post("/logout")
    assert is_login_redirect(response)
    assert not logged_in(b)


def test_logout_without_csrf_token_is_rejected(browser, tenants):
    b = browser(tenants.user_a)
    assert b.post("/logout", csrf=False).status_code == 400
    assert logged_in(b)


# --- password -------------------------------------------------------------------------------


def change_password(b, current, new=NEW_PASSWORD, confirm=None):
    return b.post(
        "/profile/password",
        {"current_password": current, "new_password": new, "confirm_password": new if confirm is None else confirm},
    )


def test_wrong_current_password_is_reported_on_that_field(db, browser, tenants):
    user = tenants.user_a
    before = snapshot(user, "password_hash", "session_token")
    b = browser(user)
    response = change_password(b, "not my password")
    assert response.status_code == 400
    page = parse(response)
    assert page.errors.get("current_password") == "This is not your current password."
    assert snapshot(reload(db, user), "password_hash", "session_token") == before
    assert logged_in(b)
    assert browser().login(user.email, NEW_PASSWORD).status_code == 200  # not changed


@pytest.mark.parametrize(
    "new, confirm, field",
    [("short", "short", "new_password"), (NEW_PASSWORD, NEW_PASSWORD + "x", "confirm_password")],
)
def test_new_password_must_be_long_enough_and_repeated(db, browser, tenants, new, confirm, field):
    user = tenants.user_a
    before = snapshot(user, "password_hash")
    b = browser(user)
    response = change_password(b, factories.PASSWORD, new, confirm)
    assert response.status_code == 400
    assert parse(response).errors.get(field)
    assert snapshot(reload(db, user), "password_hash") == before
    assert browser().login(user.email, new).status_code == 200


def test_password_change_keeps_this_session_and_ends_the_others(db, browser, tenants):
    user = tenants.user_a
    here = browser(user)
    elsewhere = browser(user)
    assert logged_in(elsewhere)

    response = change_password(here, factories.PASSWORD)
    assert response.status_code == 302
    assert response.location.endswith("/profile")

    # This browser keeps working, including posting forms.
    assert logged_in(here)
    assert here.post("/profile", {"display_name": "Still Here", "language": ""}).status_code == 302
    assert reload(db, user).display_name == "Still Here"

    # The other browser is logged out: its next request goes to the login page.
    assert is_login_redirect(elsewhere.get("/accounts"))

    assert browser().login(user.email, factories.PASSWORD).status_code == 200
    fresh = browser()
    assert fresh.login(user.email, NEW_PASSWORD).status_code == 302
    assert logged_in(fresh)


# --- profile --------------------------------------------------------------------------------


def test_profile_saves_display_name_and_language(db, browser, tenants):
    user = tenants.user_a
    b = browser(user)
    response = b.post("/profile", {"display_name": "  Yumi Tanaka  ", "language": "ja"})
    assert response.status_code == 302
    user = reload(db, user)
    assert user.display_name == "Yumi Tanaka"
    assert user.language == "ja"

    page = b.get("/profile").get_data(as_text=True)
    assert '<html lang="ja">' in page  # the user's language now drives the pages
    assert parse(page).value("language") == "ja"
    assert parse(page).value("display_name") == "Yumi Tanaka"

    # Back to "same as my browser".
    assert b.post("/profile", {"display_name": "Yumi Tanaka", "language": ""}).status_code == 302
    assert reload(db, user).language is None
    assert '<html lang="en">' in b.get("/profile", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_profile_requires_a_display_name(db, browser, tenants):
    user = tenants.user_a
    before = snapshot(user, "display_name", "language")
    b = browser(user)
    response = b.post("/profile", {"display_name": "   ", "language": "en"})
    assert response.status_code != 302
    assert parse(response).errors.get("display_name")
    assert snapshot(reload(db, user), "display_name", "language") == before
