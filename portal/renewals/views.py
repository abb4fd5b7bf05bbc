"""Recording an account's renewal outcome from its page (reseller staff of its partner, vendor staff)."""
from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from portal.core.scoping import accounts_visible_to, one_or_404
from portal.core.validation import ValidationError
from portal.core.web import attach_errors, get_session, today
from portal.models import LifecycleStatus, OutcomeKind, ReportSource
from portal.renewals import bp, services
from portal.renewals.forms import OutcomeForm


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
