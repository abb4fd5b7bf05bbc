"""Log in and out, one's own profile, language and password."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session as http_session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from portal import LANGUAGES
from portal.auth import bp
from portal.auth.forms import LoginForm, PasswordForm, ProfileForm
from portal.db import utcnow
from portal.models import User, normalise_email
from portal.web import get_session

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
            flash(_("Email or password is incorrect."), "error")
        else:
            user.last_login_at = utcnow()
            db.commit()
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")) or url_for("index"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
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
    return render_template("auth/profile.html", form=form, password_form=PasswordForm(formdata=None))


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
    return render_template("auth/profile.html", form=ProfileForm(obj=current_user, formdata=None), password_form=form), 400
