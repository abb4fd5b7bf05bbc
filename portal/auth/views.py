"""Log in and out, one's own profile, language and password."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, session as http_session, url_for
from flask_babel import force_locale, gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from portal import LANGUAGES
from portal.audit import services as audit
from portal.auth import bp
from portal.auth.forms import EmailPreferencesForm, LoginForm, PasswordForm, ProfileForm
from portal.core.clock import utcnow
from portal.core.extensions import csrf
from portal.email.outbox import user_id_from
from portal.models import User, normalise_email
from portal.core.web import get_session

# Checked against when the email is unknown, so both failures take the same time.
_DUMMY_HASH = generate_password_hash("not-a-password", method="pbkdf2:sha256:1000")


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
        user = db.scalar(select(User).where(User.email == normalise_email(form.email.data)))
        password_ok = (
            user.check_password(form.password.data)
            if user is not None
            else check_password_hash(_DUMMY_HASH, form.password.data) and False
        )
        if user is None or not password_ok or not user.is_active:
            audit.record_login(db, form.email.data, user, ok=False, reason=audit.login_refusal(user, password_ok))
            flash(_("Email or password is incorrect."), "error")
        else:
            user.last_login_at = utcnow()
            audit.record_login(db, form.email.data, user, ok=True)
            db.commit()
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")) or url_for("index"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    audit.record_logout(get_session(), current_user)
    logout_user()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


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
            current_user.set_password(form.new_password.data, current_app.config["PORTAL"].password_hash_method)
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
# user id signed with the secret key (portal/outbox.py), so nobody can make one for someone else.

def _user_from_token(token: str) -> User:
    user_id = user_id_from(current_app.config["PORTAL"], token)
    user = get_session().get(User, user_id) if user_id is not None else None
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
