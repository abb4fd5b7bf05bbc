"""Action items: the list (mine, my partners', everything I may see), one item with its thread,
and a partner manager's new item on an account. Scoped like everything else: a reseller
reaches only its own partner's items and comments."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func
from sqlalchemy.orm import joinedload, selectinload

from portal.actions import services as actions
from portal.core.labels import label
from portal.models import VENDOR_ROLES, ActionComment, ActionItem, ActionStatus, ActionStep, OPEN_ACTION_STATUSES, User
from portal.actions import bp
from portal.actions.forms import ActionItemForm, CommentForm, StatusForm
from portal.core.scoping import accounts_visible_to, one_or_404, visible_to
from portal.core.validation import ValidationError
from portal.core.web import attach_errors, get_session, roles_required, today

LIST_LIMIT = 200
VIEWS = ("mine", "open", "overdue", "closed")


@bp.get("/actions")
@login_required
def action_items():
    db = get_session()
    view = request.args.get("view", "mine") if request.args.get("view") in VIEWS else "mine"
    now = today()
    stmt = visible_to(current_user, ActionItem, mine=current_user.is_vendor and request.args.get("partners") == "mine")
    if view == "closed":
        stmt = (stmt.where(ActionItem.status.not_in(OPEN_ACTION_STATUSES))
                .options(joinedload(ActionItem.account), joinedload(ActionItem.owner)).order_by(ActionItem.closed_at.desc()))
    else:
        stmt = actions.open_items(stmt)
        if view == "mine":
            stmt = stmt.where(ActionItem.owner_id == current_user.id)
        elif view == "overdue":
            stmt = stmt.where(ActionItem.due_on < now)
    open_count = db.scalar(visible_to(current_user, ActionItem).with_only_columns(func.count())
                           .where(ActionItem.status.in_(OPEN_ACTION_STATUSES)))
    items = db.scalars(stmt.limit(LIST_LIMIT)).all()
    return render_template("actions/action_items.html", items=items, view=view, views=VIEWS, today=now, open_count=open_count)


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
    return _render_item(item, comment_form, status_form)


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
                actions.change_status(db, item, status, status_form.resolution.data)
            except ValidationError as error:
                attach_errors(status_form, error.errors)
            else:
                db.commit()
                flash(_("Status changed to %(status)s.", status=label(status)), "success")
                return redirect(url_for("actions.action_item", item_id=item.id))
    return _render_item(item, CommentForm(formdata=None), status_form)


def _render_item(item, comment_form, status_form):
    code = 400 if comment_form.errors or status_form.errors else 200
    return render_template("actions/action_item.html", item=item, comment_form=comment_form, status_form=status_form,
                           overdue=actions.is_overdue(item, today())), code
