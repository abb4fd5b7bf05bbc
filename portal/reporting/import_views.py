"""Check-in files: upload, preview by row and column, commit all or nothing, and the template."""
from __future__ import annotations

import hashlib
from enum import Enum

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.reporting.cadence import cadence_rules, default_period
from portal.core.clock import utcnow
from portal.core.exports import table_response
from portal.reporting.imports import ACCOUNT_COLUMNS, COLUMNS, FileProblem, Sheet, commit_import, plan_import, read_file, template_headers
from portal.models import PARTNER_ROLES, Account, Feature, ImportBatch, LifecycleStatus, Partner, User
from portal.reporting import bp
from portal.reporting.forms import ImportForm
from portal.core.scoping import one_or_404, visible_to
from portal.core.web import get_session, roles_required, today

PREVIEW_ROWS = 500


def _limits():
    config = current_app.config["PORTAL"]
    return {"max_bytes": config.import_max_bytes, "max_rows": config.import_max_rows}


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*PARTNER_ROLES)
def import_upload():
    db = get_session()
    form = ImportForm()
    if form.validate_on_submit():
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            form.file.errors.append(_("Choose a file to upload."))
        else:
            content = upload.read()
            try:
                sheet = read_file(content, upload.filename, **_limits())
                partner = db.get(Partner, current_user.partner_id)
                plan = plan_import(db, partner, sheet, today())
            except FileProblem as problem:
                form.file.errors.append(str(problem.message))
            else:
                batch = ImportBatch(partner_id=current_user.partner_id, user_id=current_user.id, filename=upload.filename[:255],
                                    content_sha256=hashlib.sha256(content).hexdigest(), content=content,
                                    sheet=sheet.to_json(), summary=plan.summary())
                db.add(batch)
                db.commit()
                return redirect(url_for("reporting.import_preview", batch_id=batch.id))
    recent = db.scalars(visible_to(current_user, ImportBatch).order_by(ImportBatch.created_at.desc()).limit(10)).all()
    return render_template("reporting/import_upload.html", form=form, recent=recent, limits=_limits()), (400 if form.errors else 200)


def _batch_and_plan(batch_id: int):
    db = get_session()
    batch = one_or_404(db, visible_to(current_user, ImportBatch), batch_id)
    partner = db.get(Partner, batch.partner_id)
    if batch.sheet is not None:
        return db, batch, partner, Sheet.from_json(batch.sheet)  # parsed once, at upload
    try:
        sheet = read_file(batch.content, batch.filename, **_limits())
    except FileProblem as problem:  # e.g. the limits were lowered after the upload
        flash(str(problem.message), "error")
        abort(redirect(url_for("reporting.import_upload")))
    return db, batch, partner, sheet


@bp.get("/import/<int:batch_id>")
@roles_required(*PARTNER_ROLES)
def import_preview(batch_id: int):
    db, batch, partner, sheet = _batch_and_plan(batch_id)
    plan = plan_import(db, partner, sheet, today()) if batch.status == "previewed" else None
    earlier = None
    if batch.status == "previewed":
        earlier = db.scalar(
            visible_to(current_user, ImportBatch)
            .where(ImportBatch.content_sha256 == batch.content_sha256, ImportBatch.status == "committed", ImportBatch.id != batch.id)
            .order_by(ImportBatch.committed_at.desc())
            .limit(1)
        )
    return render_template("reporting/import_preview.html", batch=batch, plan=plan, earlier=earlier, preview_rows=PREVIEW_ROWS)


@bp.post("/import/<int:batch_id>/commit")
@roles_required(*PARTNER_ROLES)
def import_commit(batch_id: int):
    db, batch, partner, sheet = _batch_and_plan(batch_id)
    if batch.status != "previewed":
        flash(_("This file has already been imported."), "info")
        return redirect(url_for("reporting.import_preview", batch_id=batch.id))
    plan = commit_import(db, partner, sheet, today(), current_user)
    if not plan.ok:
        flash(_("Nothing was imported: the file has errors. Correct them and upload it again."), "error")
        return redirect(url_for("reporting.import_preview", batch_id=batch.id))
    batch = db.get(ImportBatch, batch_id)
    batch.status, batch.committed_at, batch.summary = "committed", utcnow(), plan.summary()
    db.commit()
    summary = plan.summary()
    flash(_("Imported: %(new)s new check-ins, %(corrected)s corrections, %(accounts)s new accounts; %(same)s rows unchanged.",
            new=summary["new_report"] + summary["create_account"], corrected=summary["correction"],
            accounts=summary["create_account"], same=summary["unchanged"]), "success")
    if summary["account_update"]:
        flash(_("%(num)s accounts updated from the file's account columns.", num=summary["account_update"]), "success")
    return redirect(url_for("reporting.import_preview", batch_id=batch.id))


@bp.get("/import/template.<fmt>")
@roles_required(*PARTNER_ROLES)
def import_template(fmt: str):
    """The file to fill in: headers in the chosen language, one row per live account, period pre-filled."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    language = request.args.get("lang", "en")
    db = get_session()
    features = list(db.scalars(select(Feature).where(Feature.active.is_(True)).order_by(Feature.position)))
    headers = template_headers(features, language)
    rules = cadence_rules(db)
    now = today()
    accounts = db.execute(
        visible_to(current_user, Account)
        .with_only_columns(Account.reference, Account.name, Account.segment, Account.name_kana, Account.plan, Account.seats,
                           Account.arr_jpy, Account.status, Account.contract_start, Account.renewal_date, User.email.label("owner_email"))
        .outerjoin_from(Account, User, Account.owner_id == User.id)
        .where(Account.status != LifecycleStatus.CHURNED)
        .order_by(Account.reference)
    ).all()
    # The account columns hold the account's values as they are: a file-only reseller sees them and edits in place.
    rows = [[_template_value(a, key, rules, now) for key in COLUMNS] for a in accounts]
    return table_response(headers, rows, f"check-ins-{now:%Y-%m}-{language}", fmt)


def _template_value(account, key: str, rules, now):
    """A template cell: the period due, the account's reference, name and own columns; check-in columns empty."""
    if key == "period":
        return default_period(rules[account.segment], now).start.strftime("%Y-%m")
    if key not in ("reference", "account_name", *ACCOUNT_COLUMNS):
        return None
    value = getattr(account, "name" if key == "account_name" else key, None)  # a live account has no churn columns
    return value.value if isinstance(value, Enum) else value
