"""Partners (vendor side) and user management (vendor admin for everyone, partner admin for its own staff)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user, login_required
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from portal.accounts import partners as partner_service
from portal.admin import bp
from portal.auth import services as auth_services, throttle, two_factor
from portal.admin.forms import (
    ApiTokenForm,
    CadenceForm,
    FeatureForm,
    MilestoneTemplateForm,
    PartnerForm,
    PartnerSettingsForm,
    UserForm,
)
from portal.reporting.cadence import cadence_rules, reporting_settings
from portal.api import tokens as api_tokens
from portal.reporting import rules
from portal.models import (
    VENDOR_ROLES,
    ApiToken,
    Feature,
    MilestoneTemplate,
    LifecycleStatus,
    Partner,
    PartnerStatus,
    PartnerTier,
    Role,
    Segment,
    User,
)
from portal.core.scoping import one_or_404, partners_visible_to, roles_assignable_by, users_manageable_by, visible_to
from portal.core.labels import choices
from portal.core.lists import ListArgs, paginate
from portal.core.validation import ValidationError
from portal.core.web import attach_errors, get_session, roles_required


@bp.get("/partners")
@roles_required(*VENDOR_ROLES)
def partners():
    db = get_session()
    args = ListArgs()
    mine, q, tier, status = args.flag("mine"), args.text("q"), args.choice("tier", PartnerTier), args.choice("status", PartnerStatus)
    stmt = partner_service.with_totals(partners_visible_to(current_user, mine=mine)).options(selectinload(Partner.managers)).order_by(Partner.name)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Partner.name.ilike(like), Partner.code.ilike(like)))
    if tier:
        stmt = stmt.where(Partner.tier == tier)
    if status:
        stmt = stmt.where(Partner.status == status)
    page = paginate(db, stmt, rows=True)
    return render_template(
        "admin/partners.html",
        page=page,
        q=q,
        mine=mine,
        tier=tier.value if tier else "",
        status=status.value if status else "",
        tier_choices=choices(PartnerTier),
        status_choices=choices(PartnerStatus),
    )


@bp.get("/partners/<int:partner_id>")
@login_required
def partner_detail(partner_id: int):
    db = get_session()
    partner = one_or_404(
        db,
        partners_visible_to(current_user).options(selectinload(Partner.managers), selectinload(Partner.users)),
        partner_id,
    )
    table = partner_service.breakdown(db, partner.id)
    return render_template(
        "admin/partner_detail.html",
        partner=partner,
        table=table,
        segments=list(Segment),
        statuses=list(LifecycleStatus),
        users=sorted(partner.users, key=lambda u: (u.role.value, u.display_name)),
    )


def _manager_choices(db):
    return [SelectChoice(u.id, f"{u.display_name} <{u.email}>") for u in partner_service.vendor_staff(db)]


def _save_partner(db, form: PartnerForm, partner: Partner | None) -> Partner | None:
    try:
        partner = partner_service.save_partner(db, form.data, partner, actor=current_user)
    except ValidationError as error:
        attach_errors(form, error.errors)
        return None
    db.commit()
    return partner


@bp.route("/partners/new", methods=["GET", "POST"])
@roles_required(Role.VENDOR_ADMIN)
def partner_new():
    db = get_session()
    form = PartnerForm()
    form.manager_ids.choices = _manager_choices(db)
    if form.validate_on_submit() and (partner := _save_partner(db, form, None)):
        flash(_("Partner %(name)s has been created.", name=partner.name), "success")
        return redirect(url_for("admin.partner_detail", partner_id=partner.id))
    return render_template("admin/partner_form.html", form=form, partner=None), 400 if form.errors else 200


@bp.route("/partners/<int:partner_id>/edit", methods=["GET", "POST"])
@roles_required(Role.VENDOR_ADMIN)
def partner_edit(partner_id: int):
    db = get_session()
    partner = one_or_404(db, partners_visible_to(current_user), partner_id)
    form = PartnerForm(obj=partner)
    form.manager_ids.choices = _manager_choices(db)
    if request.method == "GET":
        form.tier.data = partner.tier.value
        form.status.data = partner.status.value
        form.manager_ids.data = [u.id for u in partner.managers]
    if form.validate_on_submit() and _save_partner(db, form, partner):
        flash(_("Partner %(name)s has been saved.", name=partner.name), "success")
        return redirect(url_for("admin.partner_detail", partner_id=partner.id))
    return render_template("admin/partner_form.html", form=form, partner=partner), 400 if form.errors else 200


# --- users -----------------------------------------------------------------------------------


@bp.get("/users")
@roles_required(Role.VENDOR_ADMIN, Role.PARTNER_ADMIN)
def users():
    db = get_session()
    args = ListArgs()
    q, role, partner_id = args.text("q"), args.choice("role", Role, roles_assignable_by(current_user)), args.id("partner_id")
    stmt = users_manageable_by(current_user).options(selectinload(User.partner)).order_by(User.display_name)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(User.display_name.ilike(like), User.email.ilike(like)))
    if role:
        stmt = stmt.where(User.role == role)
    if partner_id and current_user.is_vendor:
        stmt = stmt.where(User.partner_id == partner_id)
    page = paginate(db, stmt)
    partners = partner_service.names(db, current_user) if current_user.is_vendor else []
    return render_template(
        "admin/users.html",
        page=page,
        q=q,
        role=role.value if role else "",
        partner_id=partner_id,
        partners=partners,
        role_choices=choices(Role, roles_assignable_by(current_user)),
    )


def _prepare_user_form(db, form: UserForm) -> None:
    form.role.choices = choices(Role, roles_assignable_by(current_user))
    if current_user.is_vendor:
        partners = partner_service.names(db, current_user)
        form.partner_id.choices = [SelectChoice(0, _("— none (vendor staff) —"))] + [SelectChoice(p.id, p.name) for p in partners]
    else:
        # A partner admin only ever adds staff to its own partner.
        form.partner_id.choices = [SelectChoice(current_user.partner_id, current_user.partner.name)]
        if request.method == "GET" or form.partner_id.data != current_user.partner_id:
            form.partner_id.data = current_user.partner_id


def _save_user(db, form: UserForm, user: User | None) -> User | None:
    try:
        user = auth_services.save_user(db, form.data, user=user, actor=current_user,
                                       password_method=current_app.config["PORTAL"].password_hash_method)
    except ValidationError as error:
        attach_errors(form, error.errors)
        return None
    db.commit()
    return user


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.VENDOR_ADMIN, Role.PARTNER_ADMIN)
def user_new():
    db = get_session()
    form = UserForm()
    _prepare_user_form(db, form)
    if request.method == "GET":
        form.partner_id.data = request.args.get("partner_id", type=int) or form.partner_id.data or 0
        form.role.data = Role.PARTNER_USER.value
    if form.validate_on_submit() and (user := _save_user(db, form, None)):
        flash(_("%(name)s can now log in as %(email)s.", name=user.display_name, email=user.email), "success")
        return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None), 400 if form.errors else 200


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@roles_required(Role.VENDOR_ADMIN, Role.PARTNER_ADMIN)
def user_edit(user_id: int):
    db = get_session()
    user = one_or_404(db, users_manageable_by(current_user), user_id)
    if user.role not in roles_assignable_by(current_user):
        abort(404)
    form = UserForm(obj=user)
    _prepare_user_form(db, form)
    if request.method == "GET":
        form.role.data = user.role.value
        form.partner_id.data = user.partner_id or 0
        form.language.data = user.language or ""
    if form.validate_on_submit() and _save_user(db, form, user):
        flash(_("%(name)s has been saved.", name=user.display_name), "success")
        return redirect(url_for("admin.users"))
    locked = current_user.role == Role.VENDOR_ADMIN and throttle.is_locked(db, user.email)
    return render_template("admin/user_form.html", form=form, user=user, locked=locked), 400 if form.errors else 200


@bp.post("/users/<int:user_id>/unlock")
@roles_required(Role.VENDOR_ADMIN)
def user_unlock(user_id: int):
    """Lets a person locked out by failed logins try again now (after they called the vendor)."""
    db = get_session()
    user = one_or_404(db, users_manageable_by(current_user), user_id)
    throttle.unlock(db, user.email)
    db.commit()
    flash(_("%(name)s can log in again.", name=user.display_name), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.post("/users/<int:user_id>/two-factor/reset")
@roles_required(Role.VENDOR_ADMIN)
def user_two_factor_reset(user_id: int):
    """Turns off another person's two-factor sign-in (a lost phone); they log in with the
    password and may enrol again. Their sessions end."""
    db = get_session()
    user = one_or_404(db, users_manageable_by(current_user), user_id)
    if user.id == current_user.id:
        abort(400, description=_("Turn your own two-factor sign-in off on My profile."))
    two_factor.remove(user)
    db.commit()
    flash(_("Two-factor sign-in of %(name)s has been reset.", name=user.display_name), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


# --- the reseller's own settings and API tokens (partner admin) -----------------------------


@bp.route("/company/settings", methods=["GET", "POST"])
@roles_required(Role.PARTNER_ADMIN)
def partner_settings():
    db = get_session()
    partner = db.get(Partner, current_user.partner_id)
    form = PartnerSettingsForm(obj=partner)
    if form.validate_on_submit():
        partner_service.save_partner_settings(db, partner, form.data, actor=current_user)
        db.commit()
        flash(_("Settings saved."), "success")
        return redirect(url_for("admin.partner_settings"))
    tokens = api_tokens.tokens_of(db, current_user)
    return render_template("admin/partner_settings.html", form=form, token_form=ApiTokenForm(formdata=None), tokens=tokens, new_secret=None)


@bp.post("/company/tokens")
@roles_required(Role.PARTNER_ADMIN)
def api_token_new():
    db = get_session()
    form = ApiTokenForm()
    new_secret = None
    if form.validate_on_submit():
        _token, new_secret = api_tokens.issue_token(db, current_user, form.name.data.strip())
        db.commit()
    partner = db.get(Partner, current_user.partner_id)
    tokens = api_tokens.tokens_of(db, current_user)
    # The secret is shown on this response only; it is stored as a hash.
    return render_template("admin/partner_settings.html", form=PartnerSettingsForm(obj=partner, formdata=None), token_form=form,
                           tokens=tokens, new_secret=new_secret), (400 if form.errors else 200)


@bp.post("/company/tokens/<int:token_id>/revoke")
@roles_required(Role.PARTNER_ADMIN)
def api_token_revoke(token_id: int):
    db = get_session()
    token = one_or_404(db, visible_to(current_user, ApiToken), token_id)
    if api_tokens.revoke(db, token, actor=current_user):
        db.commit()
        flash(_("Token “%(name)s” revoked: it no longer works.", name=token.name), "success")
    return redirect(url_for("admin.partner_settings"))


# --- reporting rules (vendor admin) ---------------------------------------------------------

@bp.route("/rules", methods=["GET", "POST"])
@roles_required(Role.VENDOR_ADMIN)
def reporting_rules():
    db = get_session()
    current = cadence_rules(db)
    form = CadenceForm()
    # "monthly" on its own: Japanese has one plural form, and 「1か月ごと」 reads oddly for 「毎月」.
    month_choices = [SelectChoice(m, _("monthly") if m == 1 else ngettext("every month", "every %(num)d months", m)) for m in rules.CADENCE_MONTHS]
    for segment in Segment:
        getattr(form, f"{segment.value}_months").choices = month_choices
        if request.method == "GET":
            getattr(form, f"{segment.value}_months").data = current[segment].months
            getattr(form, f"{segment.value}_grace").data = current[segment].grace_days
    if request.method == "GET":
        saved = reporting_settings(db)
        form.adoption_after_days.data, form.overdue_from.data = saved.adoption_after_days, saved.overdue_from
        form.recovered_after_days.data, form.reopen_within_days.data = saved.recovered_after_days, saved.reopen_within_days
    if form.validate_on_submit():
        rules.save_cadences(db, form.data, actor=current_user)
        rules.save_reporting_settings(db, form.data, actor=current_user)
        db.commit()
        flash(_("Reporting rules saved: what is due, when an account moves to adoption and when action items close themselves follow them from now on."), "success")
        return redirect(url_for("admin.reporting_rules"))
    return render_template("admin/reporting_rules.html", form=form, features=rules.features(db), templates=rules.milestone_templates(db),
                           segments=list(Segment)), (400 if form.errors else 200)


def _edit_rule_item(model, form_class, item_id, heading):
    """Create or edit a feature or milestone template: same form shape, same key uniqueness rule."""
    db = get_session()
    item = one_or_404(db, select(model), item_id) if item_id is not None else None
    form = form_class(obj=item)
    if form.validate_on_submit():
        try:
            rules.save_rule_item(db, model, form.data, item, actor=current_user)
        except ValidationError as error:
            attach_errors(form, error.errors)
        else:
            db.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("admin.reporting_rules"))
    return render_template("admin/rule_item_form.html", form=form, item=item, heading=heading), (400 if form.errors else 200)


@bp.route("/rules/features/new", methods=["GET", "POST"], defaults={"feature_id": None})
@bp.route("/rules/features/<int:feature_id>", methods=["GET", "POST"])
@roles_required(Role.VENDOR_ADMIN)
def feature_edit(feature_id: int | None):
    return _edit_rule_item(Feature, FeatureForm, feature_id, _("Key feature"))


@bp.route("/rules/milestones/new", methods=["GET", "POST"], defaults={"template_id": None})
@bp.route("/rules/milestones/<int:template_id>", methods=["GET", "POST"])
@roles_required(Role.VENDOR_ADMIN)
def milestone_template_edit(template_id: int | None):
    return _edit_rule_item(MilestoneTemplate, MilestoneTemplateForm, template_id, _("Onboarding milestone"))
