"""The vendor admin's outbox (what was queued, sent, failed and why) and a preview of any
person's emails, so a newcomer without an SMTP server still sees what the portal sends."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal import LANGUAGE_NAMES
from portal.email import services as emails
from portal.email import outbox
from portal.admin import bp
from portal.auth.forms import WEEKDAYS
from portal.core.labels import choices
from portal.models import DeliveryStatus, EmailKind, OutboxMessage, Role, User
from portal.core.lists import ListArgs, paginate
from portal.core.security import sandboxed_html
from portal.core.web import get_session, real_app, roles_required, today


@bp.get("/outbox")
@roles_required(Role.VENDOR_ADMIN)
def outbox_list():
    db = get_session()
    stmt = select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    args = ListArgs()
    status, kind, q = args.choice("status", DeliveryStatus), args.choice("kind", EmailKind), args.text("q")
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    if kind:
        stmt = stmt.where(OutboxMessage.kind == kind)
    if q:
        stmt = stmt.where(OutboxMessage.to_address.contains(q.lower(), autoescape=True))
    counts = dict(db.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return render_template("admin/outbox.html", page=paginate(db, stmt), counts=counts, args=request.args,
                           statuses=choices(DeliveryStatus), kinds=choices(EmailKind),
                           smtp=current_app.config["PORTAL"].smtp_host)


@bp.get("/outbox/<int:message_id>")
@roles_required(Role.VENDOR_ADMIN)
def outbox_message(message_id: int):
    message = get_session().get(OutboxMessage, message_id) or abort(404)
    return render_template("admin/outbox_message.html", message=message, smtp=current_app.config["PORTAL"].smtp_host,
                           language=LANGUAGE_NAMES.get(message.language, message.language))


@bp.get("/outbox/<int:message_id>/html")
@roles_required(Role.VENDOR_ADMIN)
def outbox_message_html(message_id: int):
    """The message's HTML part for the page's sandboxed frame: an email's inline styles need a
    policy of their own (a srcdoc frame would inherit the portal's, which allows none)."""
    message = get_session().get(OutboxMessage, message_id) or abort(404)
    return sandboxed_html(message.body_html)


@bp.post("/outbox/<int:message_id>/retry")
@roles_required(Role.VENDOR_ADMIN)
def outbox_retry(message_id: int):
    db = get_session()
    message = db.get(OutboxMessage, message_id) or abort(404)
    if message.status == DeliveryStatus.SENT:
        flash(_("This message was sent already; it is not sent twice."), "error")
    else:
        outbox.retry_now(db, message)
        flash(_("Queued again: the sender job delivers it within a few minutes."), "success")
    return redirect(url_for("admin.outbox_message", message_id=message.id))


@bp.get("/users/<int:user_id>/emails")
@roles_required(Role.VENDOR_ADMIN)
def email_preview(user_id: int):
    db = get_session()
    user = db.get(User, user_id) or abort(404)
    found = emails.preview(real_app(), db, user, today())
    return render_template("admin/email_preview.html", user=user, found=found, weekdays=WEEKDAYS)


@bp.get("/users/<int:user_id>/emails/<kind>.html")
@roles_required(Role.VENDOR_ADMIN)
def email_preview_html(user_id: int, kind: str):
    """One previewed email's HTML part for the preview page's sandboxed frame (see outbox_message_html)."""
    db = get_session()
    user = db.get(User, user_id) or abort(404)
    for found_kind, message in emails.preview(real_app(), db, user, today()):
        if found_kind.value == kind:
            return sandboxed_html(message.html)
    abort(404)
