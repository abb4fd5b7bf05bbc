"""Action items: the list (mine, my partners', everything I may see), one item with its thread,
and a partner manager's new item on an account. Scoped like everything else: a reseller
reaches only its own partner's items and comments."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload, selectinload

from portal.accounts import partners as partner_service
from portal.actions import listing, ownership, services as actions
from portal.core.exports import table_response
from portal.core.labels import choices, label, labeller
from portal.core.lists import InvalidArgument, ListArgs, paginate
from portal.models import VENDOR_ROLES, ActionComment, ActionItem, ActionKind, ActionStatus, ActionStep, OPEN_ACTION_STATUSES, User
from portal.actions import bp
from portal.actions.resolve import raised_summary
from portal.actions.forms import ActionItemForm, CommentForm, DueForm, OwnerForm, StatusForm, TakeForm
from portal.core.scoping import accounts_visible_to, one_or_404, visible_to
from portal.core.validation import ValidationError
from portal.core.web import attach_errors, get_session, roles_required, today


def _list_request(db) -> tuple[listing.Filters, listing.Counts]:
    """The list's tab and filters as the request asks (bad filter values answer 400 naming them).
    Without a tab the list opens where the user has work (see listing.default_tab)."""
    args = ListArgs()
    counts = listing.counts_for(db, current_user, today())
    tabs = listing.tabs_for(current_user)
    legacy = args.text("view")  # the old links: ?view=mine|open|overdue|closed
    tab = args.one_of("tab", tabs, "") or ("team" if args.text("tab") == "all" else "")  # a reseller's "all" is its team
    if not tab:
        tab = "mine" if legacy == "mine" else (tabs[-1] if legacy else listing.default_tab(current_user, counts))
    owner = args.text("owner")
    if owner not in ("", listing.OWNER_ME, listing.OWNER_NOBODY):
        owner = str(args.id("owner"))
    status = args.text("status") or ("closed" if legacy == "closed" else "open")
    if status not in listing.STATUSES:
        raise InvalidArgument("status", _("one of %(options)s", options=", ".join(listing.STATUSES)), status)
    filters = listing.Filters(
        tab=tab, partner_id=args.id("partner_id") if current_user.is_vendor else None, owner=owner or None,
        kind=args.choice("kind", ActionKind), status=status, overdue=args.flag("overdue") or legacy == "overdue",
        q=args.text("q")[:200])
    return filters, counts


@bp.get("/actions")
@login_required
def action_items():
    db = get_session()
    filters, counts = _list_request(db)
    # By id first: the steps' correlated counts are worked out for the page's items only.
    page = paginate(db, listing.item_rows(current_user, filters, today()), rows=True, per_page=listing.PER_PAGE,
                    key=ActionItem.id, bounded=True)
    return render_template(
        "actions/action_items.html", page=page, filters=filters, counts=counts, tabs=listing.tabs_for(current_user),
        partners=partner_service.names(db, current_user) if current_user.is_vendor else [],
        owners=listing.owner_choices(db, current_user, filters), kind_choices=choices(ActionKind), today=today())


@bp.get("/actions.csv")
@login_required
def action_items_export():
    """The filtered list, in the list's order, every page of it."""
    db = get_session()
    filters, _counts = _list_request(db)
    rows = db.execute(listing.item_rows(current_user, filters, today())).all()
    vendor = current_user.is_vendor
    headers = [_("Item"), _("Account")] + ([_("Partner")] if vendor else []) + [
        _("Kind"), _("Owner"), _("Due"), _("Overdue"), _("Steps done"), _("Steps"), _("Status")]
    named, yes, no = labeller(), _("Yes"), _("No")
    table = [[actions.shown_title(r.ActionItem), r.account_name] + ([r.partner_name] if vendor else []) + [
        named(r.ActionItem.kind), r.owner_name, r.ActionItem.due_on, yes if r.overdue else no,
        r.steps_done, r.steps_total, named(r.ActionItem.status)] for r in rows]
    return table_response(headers, table, "action-items", "csv")


@bp.route("/accounts/<int:account_id>/actions/new", methods=["GET", "POST"])
@roles_required(*VENDOR_ROLES)
def action_item_new(account_id: int):
    db = get_session()
    account = one_or_404(db, accounts_visible_to(current_user), account_id)
    owners = actions.possible_owners(db, account)
    form = ActionItemForm()
    form.owner_id.choices = [("0", _("Nobody yet"))] + [(str(u.id), _owner_label(u)) for u in owners]
    if form.validate_on_submit():
        try:
            data = actions.parse_item(form.data, {u.id for u in owners}, today())
        except ValidationError as error:
            attach_errors(form, error.errors)
        else:
            item = actions.create_item(db, account, data, current_user)
            db.commit()
            flash(_("Action item created."), "success")
            return redirect(url_for("actions.action_item", item_id=item.id))
    return render_template("actions/action_item_form.html", form=form, account=account), (400 if form.errors else 200)


def _owner_label(user) -> str:
    return f"{user.display_name} ({user.partner.name})" if user.partner else f"{user.display_name} ({_('vendor')})"


def _item_or_404(db, item_id: int) -> ActionItem:
    return one_or_404(db, visible_to(current_user, ActionItem).options(
        joinedload(ActionItem.account), joinedload(ActionItem.owner), joinedload(ActionItem.created_by),
        selectinload(ActionItem.comments).joinedload(ActionComment.author),
        selectinload(ActionItem.steps).joinedload(ActionStep.done_by).joinedload(User.partner)), item_id)


@bp.route("/actions/<int:item_id>", methods=["GET", "POST"])
@login_required
def action_item(item_id: int):
    """The item and its thread; POST adds a comment (either side may)."""
    db = get_session()
    item = _item_or_404(db, item_id)
    comment_form, status_form = CommentForm(), StatusForm(formdata=None, status=item.status.value)
    if comment_form.validate_on_submit():
        try:
            actions.add_comment(db, item, comment_form.body.data, current_user)
        except ValidationError as error:
            attach_errors(comment_form, error.errors)
        else:
            db.commit()
            flash(_("Comment added."), "success")
            return redirect(url_for("actions.action_item", item_id=item.id) + "#thread")
    return _render_item(db, item, comment_form=comment_form, status_form=status_form)


@bp.post("/actions/<int:item_id>/status")
@login_required
def action_item_status(item_id: int):
    db = get_session()
    item = _item_or_404(db, item_id)
    status_form = StatusForm()
    if status_form.validate_on_submit():
        try:
            status = ActionStatus(status_form.status.data)
        except ValueError:
            status_form.status.errors.append(_("Choose a status from the list."))
        else:
            try:
                actions.change_status(db, item, status, status_form.resolution.data, current_user)
            except ValidationError as error:
                attach_errors(status_form, error.errors)
            else:
                db.commit()
                flash(_("Status changed to %(status)s.", status=label(status)), "success")
                return redirect(url_for("actions.action_item", item_id=item.id))
    return _render_item(db, item, status_form=status_form)


@bp.post("/actions/<int:item_id>/take")
@login_required
def action_item_take(item_id: int):
    """The current user becomes the owner (one of the allowed people only)."""
    db = get_session()
    item = _item_or_404(db, item_id)
    if TakeForm().validate_on_submit():
        try:
            ownership.take(db, item, current_user)
        except ownership.ItemClosed as closed:
            return _refuse_closed(db, item, closed)
        except ValidationError:
            flash(_("You cannot own this item: it belongs to another partner's people."), "error")
            return _render_item(db, item, code=403)
        db.commit()
        flash(_("You own this item now."), "success")
    return redirect(url_for("actions.action_item", item_id=item.id))


@bp.post("/actions/<int:item_id>/owner")
@login_required
def action_item_owner(item_id: int):
    """Hand the item to someone among the allowed people (or to nobody)."""
    return _change_item(item_id, OwnerForm(), "owner_form", _("Owner changed."),
                        lambda db, item, form: ownership.assign(db, item, form.owner_id.data, current_user))


@bp.post("/actions/<int:item_id>/due")
@login_required
def action_item_due(item_id: int):
    return _change_item(item_id, DueForm(), "due_form", _("Due date changed."),
                        lambda db, item, form: ownership.change_due(db, item, form.due_on.data, current_user, today()))


def _change_item(item_id: int, form, form_name: str, done: str, change):
    """One owner or due-date change: `change(db, item, form)` validates, writes and records it
    (True if something changed); its errors come back at the form's field, a closed item is a 409."""
    db = get_session()
    item = _item_or_404(db, item_id)
    if form.validate_on_submit():
        try:
            changed = change(db, item, form)
        except ownership.ItemClosed as closed:
            return _refuse_closed(db, item, closed)
        except ValidationError as error:
            attach_errors(form, error.errors)
        else:
            db.commit()
            if changed:
                flash(done, "success")
            return redirect(url_for("actions.action_item", item_id=item.id))
    return _render_item(db, item, **{form_name: form})


def _refuse_closed(db, item, closed: ValidationError):
    """409: the item closed (perhaps by the nightly run) since the page was opened."""
    flash(str(closed.errors[0].message), "error")
    return _render_item(db, item, code=409)


def _render_item(db, item, *, comment_form=None, status_form=None, owner_form=None, due_form=None, code=None):
    """The item page; forms given were submitted (and are shown with their errors)."""
    comment_form = comment_form or CommentForm(formdata=None)
    status_form = status_form or StatusForm(formdata=None, status=item.status.value)
    owners = actions.possible_owners(db, item.account)
    owner_form = owner_form or OwnerForm(formdata=None, owner_id=str(item.owner_id or 0))
    owner_form.owner_id.choices = [("0", _("Nobody yet"))] + [(str(u.id), _owner_label(u)) for u in owners]
    due_form = due_form or DueForm(formdata=None, due_on=item.due_on.isoformat() if item.due_on else "")
    forms = (comment_form, status_form, owner_form, due_form)
    code = code or (400 if any(f.errors for f in forms) else 200)
    return render_template("actions/action_item.html", item=item, comment_form=comment_form, status_form=status_form,
                           owner_form=owner_form, due_form=due_form, take_form=TakeForm(formdata=None),
                           may_take=item.status in OPEN_ACTION_STATUSES and item.owner_id != current_user.id
                           and any(u.id == current_user.id for u in owners),
                           history=ownership.history(db, item), overdue=actions.is_overdue(item, today()),
                           raised=raised_summary(db, item, today())), code
