"""Log in and out, one's own profile, language and password."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, session as http_session, url_for
from flask_babel import force_locale, gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal import LANGUAGES
from portal.auth import bp
from portal.auth import links, reset
from portal.auth.forms import (
    EmailPreferencesForm, ForgotPasswordForm, LoginForm, PasswordForm, ProfileForm, ResetPasswordForm,
)
from portal.auth.services import LoginOutcome, check_login, set_password
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
            result.user.last_login_at = utcnow()
            db.commit()
            login_user(result.user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")) or url_for("index"))
        db.commit()  # the failure counts
        if result.outcome is LoginOutcome.THROTTLED:
            # Said the same way whether the email exists or not: the count is kept per typed email.
            flash(_("Too many failed logins. Wait a few minutes, then try again."), "error")
            return render_template("auth/login.html", form=form), 429
        flash(_("Email or password is incorrect."), "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """Ends the session on the server too: the session token rotates, so a copy of this cookie
    (or of the remember-me cookie) taken before no longer logs anyone in."""
    current_user.end_sessions()
    get_session().commit()
    logout_user()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/profile/sessions/end")
@login_required
def logout_everywhere():
    """Every session of this person ends, on every device, this one included."""
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
