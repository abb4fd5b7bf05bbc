"""The reseller's reporting pages: what is due, check-ins (with their versions), milestones, stakeholders."""
from __future__ import annotations

from itertools import pairwise

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import SelectChoice

from portal.actions import listing
from portal.reporting.cadence import cadence_rules, default_period, owed_first, period_containing
from portal.reporting.checkins import ADOPTION_LABELS, ADOPTION_LEVELS, Outcome, adoption_label, as_input, changed_fields, current_check_in, parse_check_in, submit_check_in
from portal.models import (
    PARTNER_ROLES,
    CheckIn,
    CheckInFeature,
    Feature,
    LifecycleStatus,
    MilestoneTemplate,
    ReportSource,
    Segment,
    Stakeholder,
)
from portal.core import fragments
from portal.core.formatting import local_name
from portal.core.labels import label
from portal.reporting.onboarding import milestone_views, parse_milestone, parse_stakeholder, save_milestone, save_stakeholder
from portal.renewals.services import outcomes_missing
from portal.reporting import bp
from portal.reporting.forms import CheckInForm, MilestoneForm, StakeholderForm
from portal.core.scoping import accounts_visible_to, one_or_404, visible_to
from portal.core.validation import ValidationError
from portal.core.web import attach_errors, get_session, roles_required, today

REPORTERS = PARTNER_ROLES
HOME_ITEMS = 10  # the first of each list; the counts beside them say how many there are
HOME_OWED = 20  # the first check-ins of each table (a large reseller owes thousands), as the scorecard; a link lists them all


@bp.get("/home")
@roles_required(*PARTNER_ROLES)
def home():
    """A reseller's start page: my action items and the team's overdue ones (counted as /actions
    counts them), then check-ins overdue and due, most urgent first. Kept rendered until the
    partner's data changes (portal.core.fragments.page)."""

    def body() -> Markup:
        db = get_session()
        now = today()
        owed = owed_first(db, now, current_user.partner_id, HOME_OWED)
        counts = listing.counts_for(db, current_user, now)
        # The counts are of the same items as the lists: a list counted empty is not read.
        mine = listing.first_items(db, current_user, listing.Filters(tab="mine"), now, HOME_ITEMS) if counts.mine else []
        team_overdue = (listing.first_items(db, current_user, listing.Filters(tab="team", overdue=True), now, HOME_ITEMS)
                        if counts.overdue_team else [])
        missing, missing_total = outcomes_missing(db, now, current_user.partner_id, HOME_ITEMS)
        return Markup(render_template(
            "reporting/_home_body.html", overdue=owed.overdue, due=owed.due, overdue_total=owed.overdue_total,
            due_total=owed.due_total, today=now, counts=counts, mine=mine, team_overdue=team_overdue,
            missing=missing, missing_total=missing_total,
            segment_labels={segment: label(segment) for segment in Segment}))  # once, not once per row

    return render_template("reporting/home.html", body=fragments.page("home", current_user.partner_id, body))


def _reportable_account(account_id: int):
    account = one_or_404(get_session(), accounts_visible_to(current_user), account_id)
    if account.status == LifecycleStatus.CHURNED:
        flash(_("This customer has churned; it takes no more check-ins."), "error")
        return None, redirect(url_for("accounts.account_detail", account_id=account.id))
    return account, None


def _active_features(db) -> list[Feature]:
    return list(db.scalars(select(Feature).where(Feature.active.is_(True)).order_by(Feature.position)))


@bp.route("/accounts/<int:account_id>/check-in", methods=["GET", "POST"])
@roles_required(*REPORTERS)
def check_in(account_id: int):
    db = get_session()
    account, leave = _reportable_account(account_id)
    if leave:
        return leave
    rule = cadence_rules(db)[account.segment]
    now = today()
    current = period_containing(now, rule.months)
    periods = [current.previous(), current]
    chosen = default_period(rule, now)
    if request.args.get("period") in {p.start.isoformat() for p in periods}:
        chosen = next(p for p in periods if p.start.isoformat() == request.args["period"])
    features = _active_features(db)
    form = CheckInForm()
    form.period.choices = [SelectChoice(p.start.isoformat(), p.label) for p in periods]
    existing = current_check_in(db, account.id, chosen.start)
    if request.method == "GET":
        form.period.data = chosen.start.isoformat()
        if existing is not None:
            _fill_form(form, as_input(existing, chosen))
    # Adoption per feature as the form shows it: a level's code, or a percentage the file or API gave.
    if request.method == "POST":
        adoption = {f.key: request.form.get(f"feature_{f.key}", "") for f in features}
    else:
        stored = dict(as_input(existing, chosen).features) if existing else {}
        adoption = {f.key: _level_or_pct(stored.get(f.key)) for f in features}
    if form.validate_on_submit():
        values = {k: v for k, v in form.data.items() if k not in ("csrf_token",)}
        values.update({f"feature_{key}": value for key, value in adoption.items()})
        try:
            data = parse_check_in(values, rule=rule, today=now, seats=account.seats,
                                  contract_start=account.contract_start, features=features)
        except ValidationError as error:
            attach_errors(form, error.errors)
        else:
            result = submit_check_in(db, account, data, source=ReportSource.FORM, user=current_user)
            db.commit()
            message = {
                Outcome.CREATED: _("Check-in for %(period)s saved.", period=data.period.label),
                Outcome.CORRECTED: _("Check-in for %(period)s corrected: version %(version)s now applies; the earlier one is kept.",
                                     period=data.period.label, version=result.check_in.version),
                Outcome.UNCHANGED: _("Nothing changed: the check-in for %(period)s already says this.", period=data.period.label),
            }[result.outcome]
            flash(message, "success" if result.outcome != Outcome.UNCHANGED else "info")
            return redirect(url_for("accounts.account_detail", account_id=account.id))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("reporting/check_in_form.html", form=form, account=account, features=features,
                           adoption=adoption, adoption_levels=ADOPTION_LABELS, existing=existing, period=chosen), status


def _level_or_pct(pct: int | None) -> str:
    if pct is None:
        return ""
    return next((level for level, value in ADOPTION_LEVELS.items() if value == pct), f"{pct}%")


def _fill_form(form: CheckInForm, data) -> None:
    for name in ("active_users", "nps", "nps_score", "csat", "ces", "open_tickets", "open_escalations", "outcome_progress", "expansion_jpy"):
        value = getattr(data, name)
        getattr(form, name).data = "" if value is None else str(value)
    for name in ("sentiment_reason", "outcome_note", "note"):
        getattr(form, name).data = getattr(data, name) or ""
    form.sentiment.data = data.sentiment.value
    form.renewal_likelihood.data = data.renewal_likelihood.value if data.renewal_likelihood else ""
    for entry, risk in zip(form.risks.entries, data.risks, strict=False):  # 3 rows, fewer risks
        entry.form.type.data, entry.form.severity.data, entry.form.note.data = risk.type.value, risk.severity.value, risk.note or ""
    for entry, voc in zip(form.voc.entries, data.voc, strict=False):
        entry.form.kind.data, entry.form.product_area.data, entry.form.text.data = voc.kind.value, voc.product_area or "", voc.text


@bp.get("/check-ins/<int:check_in_id>")
@login_required
def check_in_detail(check_in_id: int):
    """One version of a report, with the versions before and after it and what each changed."""
    db = get_session()
    check_in = one_or_404(db, visible_to(current_user, CheckIn).options(joinedload(CheckIn.account)), check_in_id)
    versions = list(db.scalars(
        select(CheckIn)
        .where(CheckIn.account_id == check_in.account_id, CheckIn.period_start == check_in.period_start)
        .options(joinedload(CheckIn.submitted_by), selectinload(CheckIn.feature_adoptions).joinedload(CheckInFeature.feature),
                 selectinload(CheckIn.risks), selectinload(CheckIn.voc_items))
        .order_by(CheckIn.version)
    ))
    rule = cadence_rules(db)[check_in.account.segment]
    period = period_containing(check_in.period_start, rule.months)
    changes = {}
    for older, newer in pairwise(versions):
        changes[newer.id] = _change_labels(changed_fields(as_input(older, period), as_input(newer, period)))
    return render_template("reporting/check_in_detail.html", check_in=check_in, versions=versions, changes=changes,
                           period=period, latest=versions[-1], adoption_label=adoption_label)


# What a changed value is called on the check-in page, in the page's order: its own row labels
# (a reason or a note shows in the row of the value it explains).
CHANGE_LABELS = {
    "sentiment": _l("Sentiment"), "sentiment_reason": _l("Sentiment"),
    "active_users": _l("Active users"), "features": _l("Key features in use"),
    "nps": "NPS", "nps_score": "NPS", "csat": "CSAT", "ces": "CES",
    "open_tickets": _l("Open support tickets"), "open_escalations": _l("Open escalations"),
    "outcome_progress": _l("Outcome progress"), "outcome_note": _l("Outcome progress"),
    "renewal_likelihood": _l("Renewal likelihood"), "expansion_jpy": _l("Expansion opportunity"),
    "note": _l("Other notes"), "risks": _l("Risks"), "voc": _l("Voice of the customer"),
}


def _change_labels(fields: list[str]) -> list[str]:
    order = list(CHANGE_LABELS)
    ranked = sorted(fields, key=lambda name: order.index(name) if name in order else len(order))
    return list(dict.fromkeys(str(CHANGE_LABELS.get(name, name)) for name in ranked))


@bp.route("/accounts/<int:account_id>/milestones/<int:template_id>", methods=["GET", "POST"])
@roles_required(*REPORTERS)
def milestone(account_id: int, template_id: int):
    db = get_session()
    account = one_or_404(db, accounts_visible_to(current_user), account_id)
    template = one_or_404(db, select(MilestoneTemplate).where(MilestoneTemplate.active.is_(True)), template_id)
    view = next(v for v in milestone_views(db, account, today()) if v.template.id == template.id)
    form = MilestoneForm()
    if request.method == "GET":
        form.status.data = view.status.value
        form.planned_on.data = view.planned_on.isoformat() if view.planned_on else ""
        form.completed_on.data = view.completed_on.isoformat() if view.completed_on else ""
        form.note.data = view.note or ""
    if form.validate_on_submit():
        try:
            values = parse_milestone(form.data, today())
        except ValidationError as error:
            attach_errors(form, error.errors)
        else:
            save_milestone(db, account, template, values, source=ReportSource.FORM, user=current_user)
            db.commit()
            flash(_("Milestone “%(name)s” saved.", name=local_name(template)), "success")
            return redirect(url_for("accounts.account_detail", account_id=account.id) + "#onboarding")
    return render_template("reporting/milestone_form.html", form=form, account=account, template=template, view=view), (400 if form.errors else 200)


@bp.route("/accounts/<int:account_id>/stakeholders/new", methods=["GET", "POST"], defaults={"stakeholder_id": None})
@bp.route("/accounts/<int:account_id>/stakeholders/<int:stakeholder_id>", methods=["GET", "POST"])
@roles_required(*REPORTERS)
def stakeholder(account_id: int, stakeholder_id: int | None):
    db = get_session()
    account = one_or_404(db, accounts_visible_to(current_user), account_id)
    person = None
    if stakeholder_id is not None:
        person = one_or_404(db, select(Stakeholder).where(Stakeholder.account_id == account.id), stakeholder_id)
    form = StakeholderForm(obj=person)
    if request.method == "GET" and person is not None:
        form.role.data = person.role.value
        form.last_contact_on.data = person.last_contact_on.isoformat() if person.last_contact_on else ""
    if form.validate_on_submit():
        try:
            values = parse_stakeholder(form.data, today())
        except ValidationError as error:
            attach_errors(form, error.errors)
        else:
            save_stakeholder(db, account, person, values, source=ReportSource.FORM, user=current_user)
            db.commit()
            flash(_("Stakeholder %(name)s saved.", name=values["name"]), "success")
            return redirect(url_for("accounts.account_detail", account_id=account.id) + "#stakeholders")
    return render_template("reporting/stakeholder_form.html", form=form, account=account, person=person), (400 if form.errors else 200)

