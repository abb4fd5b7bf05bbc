"""Ticking an action item's steps off: either side (vendor staff, or the item's partner's users)
may, on an open item; each tick is recorded with who and when."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.actions import bp
from portal.actions import playbooks
from portal.actions.views import _item_or_404, _render_item
from portal.core.scoping import one_or_404
from portal.core.validation import ValidationError
from portal.core.web import get_session
from portal.models import ActionStep

DONE = {"1": True, "0": False}


@bp.post("/actions/<int:item_id>/steps/<int:step_id>")
@login_required
def action_step(item_id: int, step_id: int):
    """done=1 ticks the step, done=0 undoes it; another item's step is not found."""
    db = get_session()
    item = _item_or_404(db, item_id)
    step = one_or_404(db, select(ActionStep).where(ActionStep.item_id == item.id), step_id)
    done = DONE.get(request.form.get("done", ""))
    if done is None:
        return _refused(item, _("Choose whether the step is done."), 400)
    try:
        changed = playbooks.mark_step(db, item, step, done, current_user)
    except ValidationError as error:
        return _refused(item, str(error.errors[0].message), 409)
    db.commit()
    if changed:
        flash(_("Step done.") if done else _("Step marked as not done."), "success")
    return redirect(url_for("actions.action_item", item_id=item.id) + "#steps")


def _refused(item, message: str, code: int):
    """The item's page again, with why the tick was refused."""
    flash(message, "error")
    return _render_item(get_session(), item, code=code)
