"""End-customer accounts: the reseller's list, detail and edit pages (vendor staff see all)."""
from __future__ import annotations


from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import SelectChoice

from portal.accounts import partners as partner_service
from portal.actions import services as actions
from portal.scoring import health
from portal.scoring import insights
from portal.accounts.services import save_account
from portal.core.labels import choices
from portal.reporting.cadence import cadence_rules, obligations, period_containing
from portal.core.formatting import local_name
from portal.models import (
    Account, ActionItem, ChangeLog, CheckIn, LifecycleStatus, MilestoneStatus, ReportSource, Segment,
    Stakeholder,
)
from portal.core.history import readable_changes
from portal.reporting.onboarding import milestone_views, summarise
from portal.accounts import bp
from portal.accounts.forms import AccountForm
from portal.core.scoping import ACCOUNT_EDITORS, accounts_visible_to, one_or_404
from portal.core.validation import ValidationError
from portal.core.lists import ListArgs, paginate
from portal.core.web import attach_errors, get_session, roles_required, today

SORTS = {
    "name": (Account.name, Account.id),
    "reference": (Account.reference, Account.id),
    "renewal": (Account.renewal_date.is_(None), Account.renewal_date, Account.id),
    "arr": (Account.arr_jpy.desc(), Account.id),
}


@bp.get("/accounts")
@login_required
def accounts():
    db = get_session()
    args = ListArgs()
    q, segment, status = args.text("q"), args.choice("segment", Segment), args.choice("status", LifecycleStatus)
    partner_id, mine, sort = args.id("partner_id"), args.flag("mine"), args.one_of("sort", SORTS, "name")
    stmt = accounts_visible_to(current_user, mine=mine).options(joinedload(Account.partner))
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Account.name.ilike(like), Account.reference.ilike(like)))
    if segment:
        stmt = stmt.where(Account.segment == segment)
    if status:
        stmt = stmt.where(Account.status == status)
    if partner_id and current_user.is_vendor:
        stmt = stmt.where(Account.partner_id == partner_id)
    stmt = stmt.order_by(*SORTS[sort])
    page = paginate(db, stmt)
    partners = partner_service.names(db, current_user, mine=mine) if current_user.is_vendor else []
    return render_template(
        "accounts/accounts.html",
        page=page,
        q=q,
        segment=segment.value if segment else "",
        status=status.value if status else "",
        partner_id=partner_id,
        mine=mine,
        sort=sort,
        partners=partners,
        segment_choices=choices(Segment),
        status_choices=choices(LifecycleStatus),
    )


@bp.get("/accounts/<int:account_id>")
@login_required
def account_detail(account_id: int):
    db = get_session()
    account = one_or_404(db, accounts_visible_to(current_user).options(joinedload(Account.partner)), account_id)
    now = today()
    check_ins = list(db.scalars(
        select(CheckIn)
        .where(CheckIn.account_id == account.id)
        .options(joinedload(CheckIn.submitted_by), selectinload(CheckIn.risks), selectinload(CheckIn.voc_items))
        .order_by(CheckIn.period_start.desc(), CheckIn.version.desc())
    ))
    # The version in force per period is the first of each period in this order.
    in_force = [c for i, c in enumerate(check_ins) if i == 0 or check_ins[i - 1].period_start != c.period_start]
    versions = {c.period_start: sum(1 for x in check_ins if x.period_start == c.period_start) for c in in_force}
    milestones = milestone_views(db, account, now)
    stakeholders = db.scalars(select(Stakeholder).where(Stakeholder.account_id == account.id)
                              .order_by(Stakeholder.active.desc(), Stakeholder.name)).all()
    changes = db.scalars(select(ChangeLog).where(ChangeLog.account_id == account.id).options(joinedload(ChangeLog.user))
                         .order_by(ChangeLog.changed_at.desc(), ChangeLog.id.desc()).limit(15)).all()
    return render_template(
        "accounts/account_detail.html",
        account=account,
        in_force=in_force,
        versions=versions,
        latest=in_force[0] if in_force else None,
        milestones=milestones,
        onboarding=summarise(account, milestones),
        timeline=_timeline(milestones, now),
        stakeholders=stakeholders,
        changes=[(c, readable_changes(c)) for c in changes],
        # What a change log entry is about: the milestone or the person, by the record's id.
        milestone_templates={m.record.id: m.template for m in milestones if m.record},
        people={s.id: s for s in stakeholders},
        owed=obligations(db, now, account_id=account.id),
        rule=cadence_rules(db)[account.segment],
        **_health(db, account, now),
    )


def _timeline(milestones, today) -> dict:
    """What the milestone timeline chart draws; the milestone table shows the same dates."""
    return {"today": today.isoformat(), "milestones": [
        {"name": local_name(m.template), "planned": m.planned_on.isoformat(), "late": m.late,
         "done": m.completed_on.isoformat() if m.status == MilestoneStatus.DONE and m.completed_on else None}
        for m in milestones if m.planned_on]}


def _health(db, account: Account, now) -> dict:
    score = insights.latest_account_score(db, account.id)
    open_items = db.scalars(actions.open_items(select(ActionItem).where(ActionItem.account_id == account.id))).all()
    scored_from = db.get(CheckIn, score.check_in_id) if score and score.check_in_id else None
    return {
        "now": now,
        "open_items": open_items,
        "score": score,
        "card": health.health_card(score, health.model_version(db, score.model_version)) if score else None,
        "scored_from": scored_from,
        "scored_from_period": period_containing(scored_from.period_start, cadence_rules(db)[account.segment].months)
        if scored_from else None,
        "trend": insights.account_trend(db, account.id, score.day) if score else [],
        "reasons": health.reasons(score) if score else [],
        "components": health.COMPONENTS,
        "component_labels": health.COMPONENT_LABELS,
    }


def _prepare_account_form(db, form: AccountForm) -> None:
    if current_user.is_vendor:
        partners = partner_service.names(db, current_user)
        form.partner_id.choices = [SelectChoice(0, _("Choose a partner"))] + [SelectChoice(p.id, p.name) for p in partners]
    else:
        form.partner_id.choices = [SelectChoice(current_user.partner_id, current_user.partner.name)]
        form.partner_id.data = current_user.partner_id


def _save_account(db, form: AccountForm, account: Account | None) -> Account | None:
    """The service checks and writes (with the change log); its errors go next to the fields."""
    partner_id = form.partner_id.data if current_user.is_vendor else current_user.partner_id
    try:
        account, _created = save_account(db, partner_id, (form.reference.data or "").strip(), form.values(), account=account,
                                         source=ReportSource.FORM, user=current_user)
    except ValidationError as error:
        attach_errors(form, error.errors)
        return None
    db.commit()
    return account


@bp.route("/accounts/new", methods=["GET", "POST"])
@roles_required(*ACCOUNT_EDITORS)
def account_new():
    db = get_session()
    form = AccountForm()
    _prepare_account_form(db, form)
    if request.method == "GET" and current_user.is_vendor:
        form.partner_id.data = request.args.get("partner_id", type=int) or 0
    if form.validate_on_submit() and (account := _save_account(db, form, None)):
        flash(_("Account %(name)s has been created.", name=account.name), "success")
        return redirect(url_for("accounts.account_detail", account_id=account.id))
    return render_template("accounts/account_form.html", form=form, account=None), 400 if form.errors else 200


@bp.route("/accounts/<int:account_id>/edit", methods=["GET", "POST"])
@roles_required(*ACCOUNT_EDITORS)
def account_edit(account_id: int):
    db = get_session()
    account = one_or_404(db, accounts_visible_to(current_user), account_id)
    form = AccountForm()
    _prepare_account_form(db, form)
    if request.method == "GET":
        form.fill(account)
    if form.validate_on_submit() and _save_account(db, form, account):
        flash(_("Account %(name)s has been saved.", name=account.name), "success")
        return redirect(url_for("accounts.account_detail", account_id=account.id))
    return render_template("accounts/account_form.html", form=form, account=account), 400 if form.errors else 200
