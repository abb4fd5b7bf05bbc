"""Recording an account's renewal outcome from its page (reseller staff of its partner, vendor staff)."""
from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user, login_required
from sqlalchemy import func, select
from wtforms import SelectChoice

from portal.core.scoping import accounts_visible_to, one_or_404
from portal.core.validation import ValidationError
from portal.core.exports import table_response
from portal.core.web import attach_errors, get_session, roles_required, today
from portal.models import PARTNER_ROLES, ChurnReason, LifecycleStatus, OutcomeKind, Partner, RenewalOutcome, ReportSource, Role
from portal.renewals import bp, services
from portal.renewals import imports as outcome_imports
from portal.renewals.forms import ChurnReasonForm, OutcomeFileForm, OutcomeForm
from portal.reporting.imports import FileProblem, read_file

MISSING_ROWS = 20  # the first accounts whose outcome is missing, on the import page
TEMPLATE_ROWS = 20_000  # the template lists them all (the import's row limit)


@bp.route("/accounts/<int:account_id>/outcome", methods=["GET", "POST"])
@login_required
def record(account_id: int):
    db = get_session()
    account = one_or_404(db, accounts_visible_to(current_user), account_id)
    if account.status == LifecycleStatus.CHURNED:
        flash(_("This customer has churned; its outcome is recorded."), "error")
        return redirect(url_for("accounts.account_detail", account_id=account.id))
    reasons = services.active_reasons(db)
    form = OutcomeForm()
    form.reason.choices = [SelectChoice("", _("Choose a reason"))] + [SelectChoice(r.code, services.reason_label(r)) for r in reasons]
    if request.method == "GET":
        form.kind.data = request.args.get("kind") if request.args.get("kind") in {k.value for k in OutcomeKind} else None
        if account.renewal_date:
            form.term_end.data = account.renewal_date.isoformat()
            form.new_renewal_date.data = (account.renewal_date + timedelta(days=365)).isoformat()
        form.arr_jpy.data = str(account.arr_jpy or 0)
    if form.validate_on_submit():
        try:
            outcome = services.record_outcome(db, account, form.values(), source=ReportSource.FORM, user=current_user, reasons=reasons)
        except ValidationError as error:
            attach_errors(form, error.errors)
        else:
            db.commit()
            flash(_("The renewal has been recorded.") if outcome.kind == OutcomeKind.RENEWED
                  else _("The churn has been recorded."), "success")
            return redirect(url_for("accounts.account_detail", account_id=account.id, _anchor="outcomes"))
    return render_template("renewals/outcome_form.html", form=form, account=account, today=today()), 400 if form.errors else 200


@bp.route("/import/outcomes", methods=["GET", "POST"])
@roles_required(*PARTNER_ROLES)
def import_outcomes():
    """A file of renewal outcomes: checked whole, recorded whole or not at all."""
    db = get_session()
    form = OutcomeFileForm()
    result = None
    if form.validate_on_submit():
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            form.file.errors.append(_("Choose a file to upload."))
        else:
            config = current_app.config["PORTAL"]
            try:
                sheet = read_file(upload.read(), upload.filename, max_bytes=config.import_max_bytes, max_rows=config.import_max_rows)
                result = outcome_imports.import_outcomes(db, db.get_one(Partner, current_user.partner_id), sheet, current_user)
            except FileProblem as problem:
                db.rollback()
                form.file.errors.append(str(problem.message))
            else:
                if result.ok:
                    db.commit()
                    flash(ngettext("%(num)d outcome has been recorded.", "%(num)d outcomes have been recorded.", result.recorded), "success")
                    return redirect(url_for("renewals.import_outcomes"))
                db.rollback()
    missing, total = services.outcomes_missing(db, today(), current_user.partner_id, MISSING_ROWS)
    status = 400 if form.errors or (result is not None and not result.ok) else 200
    reasons = [(r.code, services.reason_label(r)) for r in services.active_reasons(db)]
    return render_template("renewals/import.html", form=form, result=result, missing=missing, missing_total=total,
                           reasons=reasons), status


@bp.get("/import/outcomes/template.<fmt>")
@roles_required(*PARTNER_ROLES)
def outcome_template(fmt: str):
    """The file to fill in: one row per account whose outcome is missing, its term end filled in."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    japanese = request.args.get("lang") == "ja"
    db = get_session()
    missing, _total = services.outcomes_missing(db, today(), current_user.partner_id, TEMPLATE_ROWS)
    headers = [ja if japanese else en for en, ja, _others in outcome_imports.OUTCOME_COLUMNS.values()]
    rows = [[a.reference, a.name, None, a.renewal_date, None, None, None, None, None] for a in missing]
    return table_response(headers, rows, f"outcomes-{today():%Y-%m}-{'ja' if japanese else 'en'}", fmt)


@bp.get("/rules/churn-reasons")
@roles_required(Role.VENDOR_ADMIN)
def churn_reasons():
    """The vendor's churn reasons with how many recorded churns name each (vendor admin)."""
    db = get_session()
    counts = dict(db.execute(select(RenewalOutcome.churn_reason_id, func.count()).where(RenewalOutcome.churn_reason_id.is_not(None))
                             .group_by(RenewalOutcome.churn_reason_id)).all())
    return render_template("renewals/reasons.html", reasons=services.all_reasons(db), counts=counts)


@bp.route("/rules/churn-reasons/new", methods=["GET", "POST"], defaults={"reason_id": None})
@bp.route("/rules/churn-reasons/<int:reason_id>", methods=["GET", "POST"])
@roles_required(Role.VENDOR_ADMIN)
def churn_reason_edit(reason_id: int | None):
    db = get_session()
    reason = one_or_404(db, select(ChurnReason), reason_id) if reason_id is not None else None
    form = ChurnReasonForm(obj=reason)
    if form.validate_on_submit():
        try:
            services.keep_reason(db, reason.code if reason else form.code.data or "", form.label_en.data, form.label_ja.data,
                                 form.position.data, form.active.data, actor=current_user, new=reason is None)
        except ValidationError as error:
            attach_errors(form, error.errors)
        else:
            db.commit()
            flash(_("Saved. The outcome form, the file import and the API offer the list as it is now."), "success")
            return redirect(url_for("renewals.churn_reasons"))
    return render_template("renewals/reason_form.html", form=form, reason=reason), (400 if form.errors else 200)
