"""End-customer accounts: the reseller's list, detail and edit pages (vendor staff see all)."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from markupsafe import Markup
from flask_babel import get_timezone, gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import SelectChoice

from portal.accounts import partners as partner_service
from portal.actions import listing as action_listing
from portal.scoring import health
from portal.scoring import insights
from portal.timeline import services as account_timeline
from portal.accounts.services import save_account
from portal.renewals import services as renewals
from portal.core.labels import choices
from portal.reporting.cadence import cadence_rules, obligations, period_containing
from portal.core import fragments
from portal.core.clock import day_of
from portal.core.formatting import local_name
from portal.models import (
    Account, ActionItem, Band, Partner, CheckIn, LifecycleStatus, MilestoneStatus, ReportSource, Segment,
    Stakeholder,
)
from portal.reporting.onboarding import milestone_views, summarise
from portal.accounts import bp
from portal.accounts.forms import AccountForm
from portal.core.scoping import ACCOUNT_EDITORS, accounts_visible_to, one_or_404, partners_visible_to, visible_to
from portal.core.validation import ValidationError
from portal.core.lists import InvalidArgument, ListArgs, paginate_keyset
from portal.core.exports import table_response
from portal.core.labels import labeller
from portal.accounts import listing
from portal.accounts.listing import owner_choices
from portal.core.web import attach_errors, get_session, roles_required, today

ACCOUNT_ITEMS = 20  # the first open items on the account page; a link lists them all


def _list_request(db) -> tuple[listing.Filters, str, bool]:
    """The list's filters and sort as the request asks (bad filter values answer 400 naming them).
    Reseller staff who own accounts start on theirs; any owner choice, "all" included, is kept."""
    args = ListArgs()
    owner = args.text("owner")
    if owner == listing.OWNER_ANY:
        owner = ""
    elif owner not in ("", listing.OWNER_ME, listing.OWNER_NOBODY):
        owner = str(args.id("owner"))
    elif "owner" not in request.args and listing.defaults_to_mine(db, current_user):
        owner = listing.OWNER_ME
    band = args.text("band")
    options = [b.value for b in Band] + [listing.NOT_SCORED]
    if band and band not in options:
        raise InvalidArgument("band", _("one of %(options)s", options=", ".join(options)), band)
    filters = listing.Filters(
        q=args.text("q"), band=band or None, owner=owner or None,
        partner_id=args.id("partner_id") if current_user.is_vendor else None,
        segment=args.choice("segment", Segment), status=args.choice("status", LifecycleStatus),
        overdue=args.flag("overdue"), renewing=args.flag("renewing"), mine=args.flag("mine"))
    sort, descending = args.sort(listing.sorts(None), "name")
    return filters, sort, descending


@bp.get("/accounts")
@login_required
def accounts():
    """The list, kept rendered until the data of the partners it lists changes (portal.core.fragments.page)."""
    filters, sort, descending = _list_request(get_session())  # a bad filter is refused before anything is kept

    def body() -> Markup:
        db = get_session()
        days = listing.score_days(db)
        stmt, terms = listing.account_list(db, current_user, today(), days, filters, sort=sort, descending=descending)
        page = paginate_keyset(db, stmt, terms, Account.id)
        if current_user.is_vendor:
            partners = partner_service.names(db, current_user, mine=filters.mine)
            owners = listing.owner_choices(db, [filters.partner_id]) if filters.partner_id else []
        else:
            partners, owners = [], listing.owner_choices(db, [current_user.partner_id])
        sparklines = listing.sparklines(db, [row.Account.id for row in page.items], days.latest)
        return Markup(render_template(
            "accounts/_accounts_body.html",
            page=page,
            filters=filters,
            sort=sort,
            descending=descending,
            days=days,
            row_html=_rows(page.items, sparklines),
            partners=partners,
            owners=owners,
            band_choices=choices(Band),
            segment_choices=choices(Segment),
            status_choices=choices(LifecycleStatus),
            today=today(),
        ))

    partner_id = None if current_user.is_vendor else current_user.partner_id
    return render_template("accounts/accounts.html", body=fragments.page("accounts", partner_id, body))


def _row_key(row, sparkline: list) -> tuple:
    """Everything an accounts list row shows (templates/accounts/_account_rows.html): the key
    it is kept under, so a rename, a new score, check-in or owner shows at once."""
    account = row.Account
    return (account.id, account.name, account.name_kana, account.reference, account.status, account.renewal_date,
            row.partner_name, row.band, row.score, row.change, row.last_check_in, row.next_due, row.owner_name, tuple(sparkline))


def _rows(rows: list, sparklines: dict) -> dict[int, Any]:
    """The page's rows rendered, by account id: each kept per process (portal.core.fragments) under
    everything it shows, the viewer's kind (vendor staff see the partner column), today (the
    overdue mark) and the language and zone; a row not kept is rendered on its own."""
    keys = {row.Account.id: _row_key(row, sparklines.get(row.Account.id, [])) for row in rows}
    by_id = {row.Account.id: row for row in rows}
    now = today()

    def make(missing: list) -> dict:
        return {key: Markup(render_template("accounts/_account_rows.html", rows=[by_id[key[0]]], sparklines=sparklines, today=now))
                for key in missing}

    made = fragments.cached_each("account_row", (current_user.is_vendor, now, request.script_root), list(keys.values()), make)
    return {account_id: made[key] for account_id, key in keys.items()}


@bp.get("/accounts.csv")
@login_required
def accounts_export():
    """The filtered list, in the list's order, every page of it."""
    db = get_session()
    filters, sort, descending = _list_request(db)
    days = listing.score_days(db)
    listed = listing.account_rows(db, current_user, today(), days, filters, sort=sort, descending=descending)
    # The account's columns the file shows rather than the Account objects the page uses: building
    # 100,000 of them was a third of the export's time.
    figures = [c for c in listed.selected_columns if c.key in ("partner_name", "owner_name", "score", "band", "change",
                                                               "last_check_in", "next_due")]
    rows = db.execute(listed.with_only_columns(Account.reference, Account.name, Account.name_kana, Account.segment, Account.status,
                                               Account.renewal_date, Account.arr_jpy, *figures)).all()
    vendor, named, not_enough, zone = current_user.is_vendor, labeller(), _("Not enough data"), str(get_timezone())
    headers = [_("Reference"), _("Customer"), _("Name reading (furigana)")] + ([_("Partner")] if vendor else []) + [
        _("Segment"), _("Lifecycle status"), _("Health band"), _("Health score"), _("Change in 30 days"), _("Last check-in"),
        _("Next check-in due"), _("Owner"), _("Renewal date"), "ARR"]
    table = [
        [r.reference, r.name, r.name_kana] + ([r.partner_name] if vendor else []) + [
            named(r.segment), named(r.status),
            named(r.band) if r.band else (not_enough if r.status != LifecycleStatus.CHURNED else None),
            r.score, r.change, day_of(r.last_check_in, zone) if r.last_check_in else None, r.next_due,
            r.owner_name, r.renewal_date, r.arr_jpy]
        for r in rows]
    return table_response(headers, table, "accounts", "csv")


@bp.get("/accounts/<int:account_id>")
@login_required
def account_detail(account_id: int):
    db = get_session()
    account = one_or_404(db, accounts_visible_to(current_user).options(joinedload(Account.partner), joinedload(Account.owner)), account_id)
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
        owed=obligations(db, now, account_id=account.id),
        recent_entries=account_timeline.latest(db, account),
        rule=cadence_rules(db)[account.segment],
        outcomes=renewals.history(db, account.id),
        outcome_missing=account.status != LifecycleStatus.CHURNED and account.renewal_date is not None and account.renewal_date < now,
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
    open_rows, open_total = action_listing.first_open(db, visible_to(current_user, ActionItem).where(ActionItem.account_id == account.id),
                                                      now, ACCOUNT_ITEMS)
    scored_from = db.get(CheckIn, score.check_in_id) if score and score.check_in_id else None
    return {
        "now": now,
        "open_rows": open_rows,
        "open_total": open_total,
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


def _prepare_account_form(db, form: AccountForm, account: Account | None = None) -> None:
    if current_user.is_vendor:
        partners = partner_service.names(db, current_user)
        form.partner_id.choices = [SelectChoice(0, _("Choose a partner"))] + [SelectChoice(p.id, p.name) for p in partners]
    else:
        form.partner_id.choices = [SelectChoice(current_user.partner_id, current_user.partner.name)]
        form.partner_id.data = current_user.partner_id
    _prepare_owner_choices(db, form, account)


def _prepare_owner_choices(db, form: AccountForm, account: Account | None) -> None:
    """The partner's active staff; a vendor adding an account picks among each partner's, grouped.
    An owner who has since left stays listed, so saving other fields does not drop them unseen."""
    if account is not None:
        partner_ids: Any = [account.partner_id]
    elif current_user.is_vendor:
        partner_ids = partners_visible_to(current_user).with_only_columns(Partner.id)
    else:
        partner_ids = [current_user.partner_id]
    people = owner_choices(db, partner_ids)
    if account is not None and account.owner is not None and all(p.id != account.owner_id for p in people):
        people.append(SimpleNamespace(id=account.owner_id, display_name=account.owner.display_name, partner_name=""))
    grouped = account is None and current_user.is_vendor
    form.owner_id.choices = [SelectChoice("", _("Nobody yet"))] + [
        SelectChoice(str(p.id), p.display_name, optgroup=p.partner_name if grouped else None) for p in people]


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
    _prepare_account_form(db, form, account)
    if request.method == "GET":
        form.fill(account)
    if form.validate_on_submit() and _save_account(db, form, account):
        flash(_("Account %(name)s has been saved.", name=account.name), "success")
        return redirect(url_for("accounts.account_detail", account_id=account.id))
    return render_template("accounts/account_form.html", form=form, account=account), 400 if form.errors else 200
