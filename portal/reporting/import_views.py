"""Check-in files: upload, preview by row and column, commit all or nothing, and the template."""
from __future__ import annotations

from enum import Enum

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.reporting.cadence import cadence_rules, default_period
from portal.core.exports import table_response
from portal.reporting.imports import (
    ACCOUNT_COLUMNS, COLUMNS, STALLED_AFTER, FileProblem, StalePlan, TakenOver, commit_batch, queue_commit, read_file, stalled,
    store_upload, stored_plan, template_headers,
)
from portal.core.clock import utcnow
from portal.models import IMPORT_JOB_STATUSES, PARTNER_ROLES, Account, Feature, ImportBatch, LifecycleStatus, Partner, User
from portal.reporting import bp
from portal.reporting.forms import ImportForm
from portal.core.scoping import one_or_404, visible_to
from portal.core.web import get_session, roles_required, today

PREVIEW_ROWS = 500
POLL_SECONDS = 1  # how often the page of a file the scheduler is working on reloads itself (a job of the biggest file takes a few seconds)


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
                partner = db.get_one(Partner, current_user.partner_id)
                batch = store_upload(db, partner, current_user, upload.filename, content, sheet, today(),
                                     current_app.config["PORTAL"].import_job_rows)
            except FileProblem as problem:
                db.rollback()
                form.file.errors.append(str(problem.message))
            else:
                db.commit()
                return redirect(url_for("reporting.import_preview", batch_id=batch.id))
    recent = db.scalars(visible_to(current_user, ImportBatch).order_by(ImportBatch.created_at.desc()).limit(10)).all()
    return render_template("reporting/import_upload.html", form=form, recent=recent, limits=_limits()), (400 if form.errors else 200)


def _batch(batch_id: int) -> ImportBatch:
    return one_or_404(get_session(), visible_to(current_user, ImportBatch), batch_id)


@bp.get("/import/<int:batch_id>")
@roles_required(*PARTNER_ROLES)
def import_preview(batch_id: int):
    """The stored plan; while the scheduler works on a big file, its progress (the page reloads itself)."""
    db = get_session()
    batch = _batch(batch_id)
    plan = earlier = None
    if batch.status == "previewed":
        try:
            plan = stored_plan(db, batch, today(), check_ins=False)  # the page shows no figures
        except FileProblem as problem:  # a batch from before rows were kept, and the file no longer reads
            flash(str(problem.message), "error")
            return redirect(url_for("reporting.import_upload"))
        db.commit()  # a batch from before plans were kept keeps the one just made
        earlier = db.scalar(
            visible_to(current_user, ImportBatch)
            .where(ImportBatch.content_sha256 == batch.content_sha256, ImportBatch.status == "committed", ImportBatch.id != batch.id)
            .order_by(ImportBatch.committed_at.desc())
            .limit(1)
        )
    return render_template("reporting/import_preview.html", batch=batch, plan=plan, earlier=earlier, preview_rows=PREVIEW_ROWS,
                           working=batch.status in IMPORT_JOB_STATUSES, poll_seconds=POLL_SECONDS,
                           stalled=stalled(batch, utcnow()), stalled_minutes=int(STALLED_AFTER.total_seconds() // 60))


@bp.post("/import/<int:batch_id>/commit")
@roles_required(*PARTNER_ROLES)
def import_commit(batch_id: int):
    db = get_session()
    batch = _batch(batch_id)
    back = redirect(url_for("reporting.import_preview", batch_id=batch.id))
    if batch.status != "previewed":
        flash(_("This file has already been imported.") if batch.status == "committed"
              else _("This file is being worked on; this page shows how far it has got."), "info")
        return back
    if (batch.row_count or 0) > current_app.config["PORTAL"].import_job_rows:
        queue_commit(db, batch)
        db.commit()
        return back
    try:
        plan = commit_batch(db, batch, today(), current_user)
    except TakenOver:  # another request committed it meanwhile
        flash(_("This file has already been imported."), "info")
        return back
    except StalePlan:
        flash(_("Accounts or check-ins in this file changed after the preview, so nothing was imported. "
                "The preview below is up to date: check it and import again."), "error")
        return back
    if not plan.ok:
        flash(_("Nothing was imported: the file has errors. Correct them and upload it again."), "error")
        return back
    summary = plan.summary()
    flash(_("Imported: %(new)s new check-ins, %(corrected)s corrections, %(accounts)s new accounts; %(same)s rows unchanged.",
            new=summary["new_report"] + summary["create_account"], corrected=summary["correction"],
            accounts=summary["create_account"], same=summary["unchanged"]), "success")
    if summary["account_update"]:
        flash(_("%(num)s accounts updated from the file's account columns.", num=summary["account_update"]), "success")
    return back


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
