"""Log in and out, one's own profile, language and password."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, session as http_session, url_for
from flask_babel import force_locale, gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from portal import LANGUAGES
from portal.audit import services as audit
from portal.auth import bp
from portal.auth import links, reset, throttle, two_factor as totp
from portal.auth.forms import (
    CodeForm, DisableTwoFactorForm, EmailPreferencesForm, ForgotPasswordForm, LoginForm, PasswordForm, ProfileForm,
    ResetPasswordForm,
)
from portal.auth.services import LoginOutcome, check_login, set_password
from portal.core import clock
from portal.core.clock import utcnow
from portal.core.extensions import csrf
from portal.core.validation import ValidationError
from portal.email.outbox import user_from
from portal.models import User
from portal.core.web import get_session


def safe_next(target: str | None) -> str | None:
    """Only a relative path on this site; anything else (other hosts, schemes, //host) is dropped."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("index"))
    form = LoginForm()
    if form.validate_on_submit():
        db = get_session()
        result = check_login(db, form.email.data, form.password.data, address=request.remote_addr,
                             method=current_app.config["PORTAL"].password_hash_method)
        if result.outcome is LoginOutcome.OK and result.user is not None:
            target = safe_next(request.args.get("next")) or url_for("index")
            if result.user.has_two_factor:
                # The password is right; the code comes next. Nothing is logged in until then.
                db.commit()
                http_session[PENDING] = {"token": result.user.session_token, "remember": bool(form.remember.data),
                                         "next": target, "at": int(clock.now().timestamp())}
                return redirect(url_for("auth.login_code"))
            _complete_login(result.user, remember=form.remember.data)
            return redirect(target)
        db.commit()  # the failure counts
        if result.outcome is LoginOutcome.THROTTLED:
            # Said the same way whether the email exists or not: the count is kept per typed email.
            flash(_("Too many failed logins. Wait a few minutes, then try again."), "error")
            return render_template("auth/login.html", form=form), 429
        flash(_("Email or password is incorrect."), "error")
    return render_template("auth/login.html", form=form)


PENDING = "two_factor_pending"
PENDING_MAX_AGE = 300  # seconds between the password and the code


def _complete_login(user: User, *, remember: bool) -> None:
    user.last_login_at = utcnow()
    audit.record_login(get_session(), user.email, user, ok=True)
    get_session().commit()
    login_user(user, remember=remember)


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The second step for people with two-factor sign-in: a code from their app. Wrong codes
    count as failed logins (the same throttle), so six digits cannot be guessed."""
    pending = http_session.get(PENDING)
    db = get_session()
    user = None
    if isinstance(pending, dict) and clock.now().timestamp() - pending.get("at", 0) <= PENDING_MAX_AGE:
        user = db.scalar(select(User).where(User.session_token == str(pending.get("token"))))
    if user is None or not user.is_active or not user.has_two_factor:
        http_session.pop(PENDING, None)
        flash(_("Please log in again."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        if throttle.blocked(db, user.email, request.remote_addr) is not None:
            flash(_("Too many failed logins. Wait a few minutes, then try again."), "error")
            return render_template("auth/login_code.html", form=form), 429
        if totp.verify(user, form.code.data):
            throttle.record_success(db, user.email)
            http_session.pop(PENDING, None)
            _complete_login(user, remember=bool(pending.get("remember")))
            return redirect(safe_next(pending.get("next")) or url_for("index"))
        throttle.record_failure(db, user.email, request.remote_addr)
        db.commit()
        form.code.errors = [_("This code is not right. Use the newest code from your app.")]
    return render_template("auth/login_code.html", form=form), 400 if form.errors else 200


@bp.post("/logout")
@login_required
def logout():
    """Ends the session on the server too: the session token rotates, so a copy of this cookie
    (or of the remember-me cookie) taken before no longer logs anyone in."""
    audit.record_logout(get_session(), current_user)
    current_user.end_sessions()
    get_session().commit()
    logout_user()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/profile/sessions/end")
@login_required
def logout_everywhere():
    """Every session of this person ends, on every device, this one included."""
    audit.record_logout(get_session(), current_user)
    current_user.end_sessions()
    get_session().commit()
    logout_user()
    flash(_("You have been logged out everywhere. Log in again to continue."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    """Always the same answer, whether the email is known or not."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        db = get_session()
        reset.request_reset(current_app._get_current_object(), db, form.email.data)
        db.commit()
        flash(_("If this email belongs to a login, a link to set a new password is on its way. It works for 30 minutes."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    db = get_session()
    user = links.user_for_reset(current_app.config["PORTAL"], db, token)
    if user is None:
        abort(404, description=_("This link has expired or has been used. Ask for a new one on the login page."))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            reset.reset_password(db, user, form.new_password.data, method=current_app.config["PORTAL"].password_hash_method)
        except ValidationError as error:
            db.rollback()
            form.new_password.errors = [str(e) for e in error.errors]
        else:
            db.commit()
            if current_user.is_authenticated:
                logout_user()
            flash(_("Your password has been set. Log in with it."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, user=user), 400 if form.errors else 200


TOTP_PENDING = "totp_pending"
# Pages a vendor admin who must use two-factor sign-in can open before enrolling.
ENROLMENT_ENDPOINTS = {"auth.two_factor", "auth.two_factor_confirm", "auth.logout", "auth.logout_everywhere",
                       "auth.set_language", "static"}


@bp.before_app_request
def require_two_factor():
    """With PORTAL_REQUIRE_ADMIN_2FA, a vendor admin without two-factor goes to enrolment first."""
    if (current_user.is_authenticated and not current_user.has_two_factor
            and totp.required_for(current_user, current_app.config["PORTAL"])
            and request.endpoint not in ENROLMENT_ENDPOINTS):
        flash(_("Set up two-factor sign-in to continue."), "info")
        return redirect(url_for("auth.two_factor"))
    return None


@bp.route("/profile/two-factor", methods=["GET"])
@login_required
def two_factor():
    """Enrolment: a secret for the person's authenticator app (kept in their session until a
    code proves the app has it), or, once on, the way to turn it off."""
    return _two_factor_page(CodeForm(formdata=None), DisableTwoFactorForm(formdata=None))


def _two_factor_page(code_form, disable_form, status=200):
    secret = uri = qr = None
    if not current_user.has_two_factor:
        secret = http_session.get(TOTP_PENDING)
        if not isinstance(secret, str):
            secret = http_session[TOTP_PENDING] = totp.new_secret()
        uri = totp.provisioning_uri(secret, current_user)
        qr = totp.qr_code(uri, _("QR code for your authenticator app"))
    return render_template("auth/two_factor.html", secret=secret, uri=uri, qr=qr, code_form=code_form,
                           disable_form=disable_form), status


@bp.post("/profile/two-factor/confirm")
@login_required
def two_factor_confirm():
    form = CodeForm()
    secret = http_session.get(TOTP_PENDING)
    if form.validate_on_submit() and isinstance(secret, str) and not current_user.has_two_factor:
        if totp.enrol(current_user, secret, form.code.data):
            get_session().commit()
            http_session.pop(TOTP_PENDING, None)
            flash(_("Two-factor sign-in is on. You will be asked for a code at each login."), "success")
            return redirect(url_for("auth.profile"))
        form.code.errors = [_("This code is not right. Use the newest code from your app.")]
    return _two_factor_page(form, DisableTwoFactorForm(formdata=None), 400)


@bp.post("/profile/two-factor/disable")
@login_required
def two_factor_disable():
    form = DisableTwoFactorForm()
    if form.validate_on_submit() and current_user.has_two_factor:
        if totp.required_for(current_user, current_app.config["PORTAL"]):
            flash(_("Vendor admins must keep two-factor sign-in on."), "error")
            return redirect(url_for("auth.two_factor"))
        if current_user.check_password(form.current_password.data):
            user = current_user._get_current_object()
            totp.remove(user)
            get_session().commit()
            login_user(user)  # the session token changed: this session continues, the others end
            flash(_("Two-factor sign-in is off."), "success")
            return redirect(url_for("auth.profile"))
        form.current_password.errors = [_("This is not your current password.")]
    return _two_factor_page(CodeForm(formdata=None), form, 400)


@bp.get("/language/<code>")
def set_language(code: str):
    """Language for visitors who are not logged in (logged-in users set it in their profile)."""
    if code in LANGUAGES:
        http_session["language"] = code
    return redirect(safe_next(request.args.get("next")) or url_for("index"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    db = get_session()
    form = ProfileForm(obj=current_user)
    if request.method == "GET":
        form.language.data = current_user.language or ""
    if form.validate_on_submit():
        current_user.display_name = form.display_name.data.strip()
        current_user.language = form.language.data or None
        db.commit()
        flash(_("Your profile has been saved."), "success")
        return redirect(url_for("auth.profile"))
    return _profile_page(form=form)


@bp.post("/profile/password")
@login_required
def change_password():
    db = get_session()
    form = PasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current_password.data):
            form.current_password.errors.append(_("This is not your current password."))
        else:
            try:
                set_password(current_user._get_current_object(), form.new_password.data,
                             method=current_app.config["PORTAL"].password_hash_method)
            except ValidationError as error:
                form.new_password.errors = [str(e) for e in error.errors]
                db.rollback()
                return _profile_page(password_form=form), 400
            db.commit()
            # The session token changed: other sessions are logged out, this one continues.
            login_user(current_user._get_current_object())
            flash(_("Your password has been changed. Other sessions have been logged out."), "success")
            return redirect(url_for("auth.profile"))
    return _profile_page(password_form=form), 400


@bp.post("/profile/email")
@login_required
def email_preferences():
    form = EmailPreferencesForm(user=current_user)
    if form.validate_on_submit():
        form.save(current_user)
        get_session().commit()
        flash(_("Your email preferences have been saved."), "success")
        return redirect(url_for("auth.profile") + "#email")
    return _profile_page(email_form=form), 400


def _profile_page(form=None, password_form=None, email_form=None):
    return render_template(
        "auth/profile.html",
        form=form or ProfileForm(obj=current_user, formdata=None),
        password_form=password_form or PasswordForm(formdata=None),
        email_form=email_form or EmailPreferencesForm(obj=current_user, formdata=None, user=current_user),
    )


# Links in every email: change preferences or unsubscribe without logging in. The token is the
# user id signed with the secret key (portal/email/outbox.py), so nobody can make one for someone
# else; it expires after 60 days and dies when the person's password changes.

def _user_from_token(token: str) -> User:
    user = user_from(current_app.config["PORTAL"], get_session(), token)
    if user is None:
        abort(404, description=_("This link is not valid. Use the link from your latest email, or log in and open My profile."))
    return user


@bp.route("/email/preferences/<token>", methods=["GET", "POST"])
def email_preferences_by_link(token: str):
    user = _user_from_token(token)
    form = EmailPreferencesForm(obj=user, user=user)
    with force_locale(user.language or current_app.config["PORTAL"].default_language):
        if form.validate_on_submit():
            form.save(user)
            get_session().commit()
            flash(_("Your email preferences have been saved."), "success")
            return redirect(url_for("auth.email_preferences_by_link", token=token))
        return render_template("auth/email_preferences.html", form=form, user=user, token=token)


@bp.route("/email/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click unsubscribe: mail clients POST without a form; the signed token authorises
def unsubscribe(token: str):
    user = _user_from_token(token)
    with force_locale(user.language or current_app.config["PORTAL"].default_language):
        if request.method == "POST":
            user.email_digest = user.email_reminders = user.email_alerts = False
            get_session().commit()
        return render_template("auth/unsubscribe.html", user=user, token=token, done=request.method == "POST")
