"""What an attacker tries against the logins (issue 13): a cookie kept after logout, guessing
passwords, telling known emails from unknown ones, staff of a suspended partner, weak passwords,
a short secret key."""
from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from sqlalchemy import func, select

from portal.auth import services as auth_services, throttle
from portal.core.config import Config
from portal.models import LoginThrottle, PartnerStatus, Role
from tests import factories
from tests.pages import is_login_redirect, logged_in, parse
from tests.readback import latest, reload

LOGIN_ERROR = "Email or password is incorrect."
THROTTLED = "Too many failed logins. Wait a few minutes, then try again."
STRONG = "plum orbit cactus lantern"




def stolen_cookies(b, app):
    """Another client holding a copy of this browser's cookies (as an attacker who copied them)."""
    thief = app.test_client()
    for name in ("session", "remember_token"):
        cookie = b.client.get_cookie(name)
        if cookie is not None:
            thief.set_cookie(name, cookie.value)
    return thief


def remembered_login(app, user):
    b = factories_browser(app)
    token = b.token()
    response = b.client.post("/login", data={"email": user.email, "password": factories.PASSWORD, "remember": "y",
                                             "csrf_token": token})
    assert response.status_code == 302
    return b, response


def factories_browser(app):
    from tests.conftest import Browser

    return Browser(app)


# --- 1. logout ends the session on the server ------------------------------------------------


def test_a_cookie_copied_before_logout_opens_nothing_after_it(app, db, browser, tenants):
    b = browser(tenants.admin_a)
    thief = stolen_cookies(b, app)
    assert thief.get("/profile").status_code == 200  # the copy works while the session lives
    from tests.conftest import csrf_token

    token = csrf_token(thief, "/company/settings")
    assert is_login_redirect(b.post("/logout"))
    assert is_login_redirect(thief.get("/profile"))
    # Nor can it make an API token, even with the form's CSRF token: the post lands on the login page.
    assert is_login_redirect(thief.post("/company/tokens", data={"name": "stolen", "csrf_token": token}))
    from portal.models import ApiToken

    assert latest(db).scalar(select(func.count()).select_from(ApiToken).where(ApiToken.name == "stolen")) == 0


def test_remember_me_cookie_is_short_lived_lax_httponly_and_dies_at_logout(app, db, tenants):
    b, response = remembered_login(app, tenants.user_a)
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token="))
    assert "HttpOnly" in header and "SameSite=Lax" in header
    cookie = b.client.get_cookie("remember_token")
    assert cookie is not None and cookie.expires is not None
    from portal.core import clock

    assert timedelta(days=13) < cookie.expires - clock.now() <= timedelta(days=14, minutes=1)
    # The remember-me cookie alone (no session) logs in, until the logout.
    only_remember = app.test_client()
    only_remember.set_cookie("remember_token", cookie.value)
    assert only_remember.get("/profile").status_code == 200
    b.post("/logout")
    again = app.test_client()
    again.set_cookie("remember_token", cookie.value)
    assert is_login_redirect(again.get("/profile"))


def test_session_cookie_is_lax_and_secure_in_production(app):
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    production = Config.from_env({"PORTAL_ENV": "production", "PORTAL_SECRET_KEY": "x" * 32,
                                  "PORTAL_DATABASE_URL": "sqlite://"})
    assert production.session_cookie_secure is True
    assert production.remember_days == 14


def test_log_out_everywhere_ends_every_session_of_that_person_only(app, db, browser, tenants):
    here, elsewhere, colleague = browser(tenants.user_a), browser(tenants.user_a), browser(tenants.admin_a)
    assert "Log out everywhere" in here.get("/profile").get_data(as_text=True)
    response = here.post("/profile/sessions/end")
    assert is_login_redirect(response)
    assert not logged_in(here)
    assert not logged_in(elsewhere)
    assert logged_in(colleague)
    assert here.login(tenants.user_a.email).status_code == 302  # logging in again works


def test_log_out_everywhere_needs_csrf(browser, tenants):
    b = browser(tenants.user_a)
    assert b.post("/profile/sessions/end", csrf=False).status_code == 400
    assert logged_in(b)


# --- 2. throttling ----------------------------------------------------------------------------


def fail(b, email, times=1):
    for _ in range(times):
        response = b.login(email, "not the password")
    return response


def test_five_wrong_passwords_lock_the_email_even_for_the_right_one(db, browser, tenants, clock):
    email = tenants.user_a.email
    b = browser()
    for _ in range(throttle.ACCOUNT_LOCK_AFTER):
        fail(b, email)
        clock.shift(timedelta(seconds=10))  # past each growing delay
    response = b.login(email)  # the right password, now refused
    assert response.status_code == 429
    assert parse(response).flash_texts("error") == [THROTTLED]
    assert not logged_in(b)
    # 15 minutes later the lock is over.
    clock.shift(timedelta(minutes=15))
    assert b.login(email).status_code == 302


def test_tries_right_after_a_few_failures_wait_longer_each_time(db, browser, tenants, clock):
    email = tenants.user_a.email
    b = browser()
    fail(b, email, throttle.FREE_TRIES)  # typos cost nothing
    assert fail(b, email).status_code == 200  # the third failure is checked, and sets a delay
    assert b.login(email).status_code == 429  # at once: refused, not checked
    clock.shift(timedelta(seconds=2))
    assert b.login(email).status_code == 302


def test_the_lock_doubles_at_each_further_round(db, clock):
    moment = clock.now()
    first = throttle.blocked_until_after(throttle.ThrottleScope.ACCOUNT, 5, moment)
    second = throttle.blocked_until_after(throttle.ThrottleScope.ACCOUNT, 10, moment)
    assert first is not None and second is not None
    assert first - moment == timedelta(minutes=15)
    assert second - moment == timedelta(minutes=30)
    assert throttle.blocked_until_after(throttle.ThrottleScope.ACCOUNT, 500, moment) - moment == throttle.MAX_LOCK


def test_unknown_and_known_emails_are_throttled_alike(db, browser, tenants, clock):
    b = browser()
    answers = {}
    for email in (tenants.user_a.email, "nobody@example.com"):
        for _ in range(throttle.ACCOUNT_LOCK_AFTER):
            fail(b, email)
            clock.shift(timedelta(seconds=10))
        response = fail(b, email)
        answers[email] = (response.status_code, parse(response).flash_texts("error"))
    assert answers[tenants.user_a.email] == answers["nobody@example.com"] == (429, [THROTTLED])


def test_one_address_guessing_many_emails_is_locked(db, browser, tenants, clock):
    b = browser()
    for n in range(throttle.ADDRESS_LOCK_AFTER):
        fail(b, f"guess{n}@example.com")
    # Another person's right password from the same address now waits too.
    assert b.login(tenants.admin_b.email).status_code == 429
    clock.shift(timedelta(minutes=16))
    assert b.login(tenants.admin_b.email).status_code == 302


def test_counts_are_in_the_database_and_a_success_clears_the_emails(db, browser, tenants):
    b = browser()
    fail(b, tenants.user_a.email, 2)
    rows = {(r.scope.value, r.key): r.failures for r in latest(db).scalars(select(LoginThrottle))}
    assert rows[("account", tenants.user_a.email)] == 2
    assert rows[("address", "127.0.0.1")] == 2
    assert b.login(tenants.user_a.email).status_code == 302
    assert latest(db).scalar(select(LoginThrottle).where(LoginThrottle.key == tenants.user_a.email)) is None


def test_a_vendor_admin_unlocks_a_locked_user(db, browser, tenants, clock):
    email = tenants.user_a.email
    for _ in range(throttle.ACCOUNT_LOCK_AFTER):
        fail(browser(), email)
        clock.shift(timedelta(seconds=10))
    admin = browser(tenants.vendor_admin)
    edit = admin.get(f"/users/{tenants.user_a.id}/edit").get_data(as_text=True)
    assert "Unlock login" in edit
    # A partner admin sees no such button and cannot post it.
    assert "Unlock login" not in browser(tenants.admin_a).get(f"/users/{tenants.user_a.id}/edit").get_data(as_text=True)
    assert browser(tenants.admin_a).post(f"/users/{tenants.user_a.id}/unlock").status_code == 403
    assert browser().login(email).status_code == 429
    assert admin.post(f"/users/{tenants.user_a.id}/unlock").status_code == 302
    assert browser().login(email).status_code == 302
    assert "Unlock login" not in admin.get(f"/users/{tenants.user_a.id}/edit").get_data(as_text=True)


def test_a_nul_byte_in_the_email_is_a_clear_400_not_an_error(db, browser, tenants):
    """The request check refuses NUL in any form (PostgreSQL stores none) before the login runs."""
    b = browser()
    response = b.login(tenants.user_a.email + "\x00")
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
    assert b.post("/password/forgot", {"email": "a\x00b@example.com"}).status_code == 400


# --- 3. no telling which emails exist ---------------------------------------------------------


def test_unknown_email_checks_a_hash_made_like_real_ones(app, db, browser, tenants):
    """Both failures cost one real hash check, so they take the same time."""
    app.config["PORTAL"].password_hash_method = "scrypt"
    real_check = auth_services.check_password_hash
    with mock.patch.object(auth_services, "check_password_hash", side_effect=real_check) as check:
        response = browser().login("nobody@example.com", "some guess")
    assert parse(response).flash_texts("error") == [LOGIN_ERROR]
    (hashed, password), _kw = check.call_args
    assert password == "some guess"
    assert hashed.startswith("scrypt:") and hashed.split("$")[0] == auth_services._dummy_hash("scrypt").split("$")[0]


def test_partner_admin_cannot_learn_that_an_email_is_used_elsewhere(db, browser, tenants):
    b = browser(tenants.admin_a)
    values = {"display_name": "Probe", "role": Role.PARTNER_USER.value, "partner_id": tenants.partner_a.id,
              "language": "", "password": STRONG, "active": "y"}
    elsewhere = b.post("/users/new", {**values, "email": tenants.admin_b.email})
    assert elsewhere.status_code == 400
    error = parse(elsewhere).errors.get("email")
    assert error and "exists" not in error
    vendor = b.post("/users/new", {**values, "email": tenants.vendor_admin.email})
    assert parse(vendor).errors.get("email") == error  # the vendor's staff: the same answer
    # Within one's own partner the usual answer stays (that person is on one's own user list).
    own = b.post("/users/new", {**values, "email": tenants.user_a.email})
    assert parse(own).errors.get("email") == "A user with this email already exists."


# --- 4. suspended partners and deactivated people --------------------------------------------


@pytest.mark.parametrize("status", [PartnerStatus.SUSPENDED, PartnerStatus.TERMINATED])
def test_staff_of_a_suspended_partner_are_shut_out(app, db, browser, tenants, status):
    open_session = browser(tenants.admin_a)
    partner = reload(db, tenants.partner_a)
    partner.status = status
    db.commit()
    assert not logged_in(open_session)
    response = browser().login(tenants.user_a.email)
    assert parse(response).flash_texts("error") == [LOGIN_ERROR]
    api = app.test_client().get("/api/v1/accounts", headers={"Authorization": f"Bearer {tenants.secret_a}"})
    assert api.status_code == 401
    # The other partner carries on.
    assert browser().login(tenants.user_b.email).status_code == 302


def test_a_deactivated_person_loses_sessions_and_the_tokens_they_made(app, db, browser, tenants):
    open_session = browser(tenants.admin_a)
    api = app.test_client()
    headers = {"Authorization": f"Bearer {tenants.secret_a}"}
    assert api.get("/api/v1/accounts", headers=headers).status_code == 200
    user = reload(db, tenants.admin_a)
    user.active = False
    db.commit()
    assert not logged_in(open_session)
    assert api.get("/api/v1/accounts", headers=headers).status_code == 401
    assert api.get("/api/v1/accounts", headers={"Authorization": f"Bearer {tenants.secret_b}"}).status_code == 200


# --- 5. password strength ---------------------------------------------------------------------


@pytest.mark.parametrize("password", ["aaaaaaaaaa", "password123", "qwertyuiop12"])
def test_guessable_passwords_are_refused(password):
    assert auth_services.password_problem(password, email="yumi@example.com", name="Yumi Tanaka") is not None


def test_own_email_or_name_in_the_password_is_refused():
    email, name = "yumi.tanaka@example.com", "Yumi Tanaka"
    for password in (email, "yumi.tanaka-secret-42", "Yumi Tanaka 2026!!"):
        assert str(auth_services.password_problem(password, email=email, name=name)) == \
            "Do not use your email address or name in your password."
    assert auth_services.password_problem(STRONG, email=email, name=name) is None


def test_profile_change_refuses_a_weak_password(db, browser, tenants):
    user = tenants.user_a
    before = user.password_hash
    b = browser(user)
    response = b.post("/profile/password", {"current_password": factories.PASSWORD, "new_password": user.email,
                                            "confirm_password": user.email})
    assert response.status_code == 400
    assert parse(response).errors.get("new_password")
    assert reload(db, user).password_hash == before
    assert logged_in(b)


def test_user_form_refuses_a_weak_first_password(db, browser, tenants):
    b = browser(tenants.vendor_admin)
    response = b.post("/users/new", {"display_name": "Weak", "email": "weak@example.com", "role": Role.PARTNER_USER.value,
                                     "partner_id": tenants.partner_a.id, "language": "", "password": "aaaaaaaaaa",
                                     "active": "y"})
    assert response.status_code == 400
    assert parse(response).errors.get("password")


def test_cli_refuses_a_weak_password(runner, db):
    result = runner.invoke(args=["users", "create", "--email", "ops@vendor.example", "--name", "Ops", "--role",
                                 "vendor_admin", "--password", "aaaaaaaaaa"])
    assert result.exit_code != 0
    assert "password" in result.output.lower()


# --- 6. the secret key ------------------------------------------------------------------------


def test_a_short_secret_key_is_refused_in_production():
    with pytest.raises(RuntimeError, match="PORTAL_SECRET_KEY is too short"):
        Config.from_env({"PORTAL_ENV": "production", "PORTAL_SECRET_KEY": "x", "PORTAL_DATABASE_URL": "sqlite://"})
    # Development keeps working with anything (the generated key is long anyway).
    assert Config.from_env({"PORTAL_SECRET_KEY": "x", "PORTAL_DATABASE_URL": "sqlite://"}).secret_key == "x"


# --- 7. password reset by email, and links that die ------------------------------------------


def reset_emails(db, user):
    from portal.models import EmailKind, OutboxMessage

    return list(latest(db).scalars(select(OutboxMessage).where(OutboxMessage.user_id == user.id,
                                                              OutboxMessage.kind == EmailKind.PASSWORD_RESET)))


def reset_path(app, message) -> str:
    import re

    url = re.search(r"https?://\S+/password/reset/\S+", message.body_text).group(0)
    return url.removeprefix(app.config["PORTAL"].base_url)


def ask_for_reset(browser, email):
    b = browser()
    response = b.post("/password/forgot", {"email": email})
    assert response.status_code == 302 and response.location.endswith("/login")
    return parse(b.get("/login")).flash_texts("info")


def test_forgot_password_answers_the_same_and_mails_only_real_active_logins(db, browser, tenants):
    assert "Forgot password?" in browser().get("/login").get_data(as_text=True)
    known = ask_for_reset(browser, tenants.user_a.email.upper())
    unknown = ask_for_reset(browser, "nobody@example.com")
    assert known == unknown and len(known) == 1
    assert len(reset_emails(db, tenants.user_a)) == 1
    from portal.models import OutboxMessage

    assert latest(db).scalar(select(func.count()).select_from(OutboxMessage)) == 1
    inactive = reload(db, tenants.user_b)
    inactive.active = False
    db.commit()
    assert ask_for_reset(browser, tenants.user_b.email) == known
    assert reset_emails(db, tenants.user_b) == []


def test_an_unknown_email_costs_the_same_work_as_a_known_one(app, db, browser, tenants):
    """Both render the message (the slow part); only the known one is queued."""
    from portal.auth import reset

    with mock.patch.object(reset, "render", wraps=reset.render) as rendered:
        ask_for_reset(browser, "nobody@example.com")
        ask_for_reset(browser, tenants.user_a.email)
    assert rendered.call_count == 2
    assert len(reset_emails(db, tenants.user_a)) == 1


def test_the_reset_email_is_in_the_persons_language(db, browser, tenants):
    user = reload(db, tenants.user_a)
    user.language = "ja"
    db.commit()
    ask_for_reset(browser, user.email)
    (message,) = reset_emails(db, user)
    assert message.language == "ja"
    assert "新しいパスワード" in message.subject


def test_a_reset_link_sets_the_password_once_and_ends_every_session(app, db, browser, tenants):
    user = tenants.user_a
    open_session = browser(user)
    ask_for_reset(browser, user.email)
    path = reset_path(app, reset_emails(db, user)[0])
    b = browser()
    assert b.get(path).status_code == 200
    weak = b.post(path, {"new_password": "aaaaaaaaaa", "confirm_password": "aaaaaaaaaa"})
    assert weak.status_code == 400 and parse(weak).errors.get("new_password")
    response = b.post(path, {"new_password": STRONG, "confirm_password": STRONG})
    assert response.status_code == 302 and response.location.endswith("/login")
    assert not logged_in(open_session)
    assert browser().login(user.email, STRONG).status_code == 302
    # Used: the link no longer works.
    assert browser().get(path).status_code == 404


def test_a_reset_link_dies_after_30_minutes_and_when_the_password_changes(app, db, browser, tenants, clock):
    user = tenants.user_a
    ask_for_reset(browser, user.email)
    path = reset_path(app, reset_emails(db, user)[0])
    clock.shift(timedelta(minutes=31))
    assert browser().get(path).status_code == 404
    clock.shift(timedelta(minutes=1))
    ask_for_reset(browser, user.email)
    fresh = reset_path(app, sorted(reset_emails(db, user), key=lambda m: m.id)[-1])
    assert browser().get(fresh).status_code == 200
    b = browser(user)
    b.post("/profile/password", {"current_password": factories.PASSWORD, "new_password": STRONG, "confirm_password": STRONG})
    assert browser().get(fresh).status_code == 404


def test_a_reset_link_lifts_a_lock(app, db, browser, tenants, clock):
    user = tenants.user_a
    for _ in range(throttle.ACCOUNT_LOCK_AFTER):
        fail(browser(), user.email)
        clock.shift(timedelta(seconds=10))
    ask_for_reset(browser, user.email)
    path = reset_path(app, reset_emails(db, user)[0])
    browser().post(path, {"new_password": STRONG, "confirm_password": STRONG})
    assert browser().login(user.email, STRONG).status_code == 302


def test_preference_links_expire_and_die_with_a_password_change(app, db, browser, tenants, client, clock):
    from portal.email import outbox

    config = app.config["PORTAL"]
    path = outbox.link(config, "preferences", tenants.user_a).removeprefix(config.base_url)
    assert client.get(path).status_code == 200
    clock.shift(timedelta(days=61))
    assert client.get(path).status_code == 404
    path = outbox.link(config, "preferences", reload(db, tenants.user_a)).removeprefix(config.base_url)
    assert client.get(path).status_code == 200
    b = browser(tenants.user_a)
    b.post("/profile/password", {"current_password": factories.PASSWORD, "new_password": STRONG, "confirm_password": STRONG})
    assert client.get(path).status_code == 404


# --- 8. two-factor sign-in (TOTP) -------------------------------------------------------------


def code_now(secret, offset=0):
    import pyotp

    from portal.core import clock as portal_clock

    return pyotp.TOTP(secret).at(portal_clock.now(), counter_offset=offset)


def enrol(b):
    """Turn two-factor on through My profile; returns the secret the app would hold."""
    import re

    page = b.get("/profile/two-factor").get_data(as_text=True)
    secret = re.search(r"<dt>Key</dt><dd><code>([A-Z2-7]+)</code>", page).group(1)
    assert "otpauth://totp/" in page
    assert '<svg' in page and 'class="segno"' in page  # the QR code, made on the server
    response = b.post("/profile/two-factor/confirm", {"code": code_now(secret)})
    assert response.status_code == 302
    return secret


def test_enrolment_needs_a_right_code_from_the_app(db, browser, tenants):
    b = browser(tenants.user_a)
    b.get("/profile/two-factor")
    assert b.post("/profile/two-factor/confirm", {"code": "000000"}).status_code == 400
    assert reload(db, tenants.user_a).totp_secret is None
    secret = enrol(b)
    assert reload(db, tenants.user_a).totp_secret == secret


def test_login_asks_for_the_code_after_the_password(db, browser, tenants, clock):
    user = tenants.user_a
    secret = enrol(browser(user))
    b = browser()
    response = b.login(user.email, next_url="%2Faccounts")
    assert response.status_code == 302 and response.location.endswith("/login/code")
    assert not logged_in(b)  # the password alone logs nobody in
    assert b.post("/login/code", {"code": "123456" if code_now(secret) != "123456" else "654321"}).status_code == 400
    assert not logged_in(b)
    clock.shift(timedelta(seconds=31))  # a new code
    response = b.post("/login/code", {"code": code_now(secret)})
    assert response.status_code == 302 and response.location == "/accounts"
    assert logged_in(b)
    # The same code again (someone looking over the shoulder) does not log in a second time.
    other = browser()
    other.login(user.email)
    assert other.post("/login/code", {"code": code_now(secret)}).status_code == 400


def test_wrong_codes_count_as_failed_logins(db, browser, tenants, clock):
    user = tenants.user_a
    enrol(browser(user))
    b = browser()
    b.login(user.email)
    for _ in range(throttle.ACCOUNT_LOCK_AFTER):
        b.post("/login/code", {"code": "000000"})
        clock.shift(timedelta(seconds=10))
    # Locked: entering the password again does not reset the count.
    assert b.login(user.email).status_code == 429


def test_a_pending_code_step_expires(db, browser, tenants, clock):
    user = tenants.user_a
    secret = enrol(browser(user))
    b = browser()
    b.login(user.email)
    clock.shift(timedelta(minutes=6))
    response = b.post("/login/code", {"code": code_now(secret)})
    assert response.status_code == 302 and response.location.endswith("/login")
    assert not logged_in(b)


def test_turning_two_factor_off_needs_the_password(db, browser, tenants, clock):
    user = tenants.user_a
    b = browser(user)
    secret = enrol(b)
    assert b.post("/profile/two-factor/disable", {"current_password": "wrong one"}).status_code == 400
    assert reload(db, user).totp_secret == secret
    assert b.post("/profile/two-factor/disable", {"current_password": factories.PASSWORD}).status_code == 302
    assert reload(db, user).totp_secret is None
    assert browser().login(user.email).status_code == 302 and logged_in(b)


def test_vendor_admins_must_enrol_when_required(app, db, browser, tenants):
    app.config["PORTAL"].require_admin_2fa = True
    b = browser(tenants.vendor_admin)
    response = b.get("/partners")
    assert response.status_code == 302 and response.location.endswith("/profile/two-factor")
    from tests.conftest import csrf_token

    b._token = csrf_token(b.client, "/profile/two-factor")  # /profile too waits for the enrolment
    enrol(b)
    assert b.get("/partners").status_code == 200
    # Other roles are not forced.
    assert browser(tenants.partner_manager).get("/partners").status_code == 200


def test_a_vendor_admin_resets_someones_two_factor(db, browser, tenants):
    user = tenants.admin_a
    user_browser = browser(user)
    enrol(user_browser)
    admin = browser(tenants.vendor_admin)
    assert "Reset two-factor sign-in" in admin.get(f"/users/{user.id}/edit").get_data(as_text=True)
    assert browser(tenants.admin_b).post(f"/users/{user.id}/two-factor/reset").status_code == 403
    assert admin.post(f"/users/{user.id}/two-factor/reset").status_code == 302
    assert reload(db, user).totp_secret is None
    assert not logged_in(user_browser)
    assert browser().login(user.email).status_code == 302  # the password alone again


def test_behind_a_proxy_failures_count_per_forwarded_address(database_url, tmp_path, db, tenants):
    """PORTAL_PROXY_COUNT=1: the address is the client's (X-Forwarded-For), not the proxy's."""
    from portal import create_app
    from tests.conftest import csrf_token

    app = create_app(Config.for_testing(database_url, instance_path=tmp_path, proxy_count=1))
    try:
        client = app.test_client()
        token = csrf_token(client)
        client.post("/login", data={"email": tenants.user_a.email, "password": "wrong", "csrf_token": token},
                    headers={"X-Forwarded-For": "203.0.113.7"})
        keys = {(r.scope.value, r.key) for r in latest(db).scalars(select(LoginThrottle))}
        assert ("address", "203.0.113.7") in keys and ("address", "127.0.0.1") not in keys
    finally:
        app.extensions["portal.engine"].dispose()
