"""The vendor's playbooks, one per kind of action item: every vendor user reads them (partner
managers explain them to resellers); the vendor admin edits them."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.actions import playbooks as playbook_service
from portal.admin import bp
from portal.admin.forms import PlaybookForm
from portal.core.validation import ValidationError
from portal.core.web import attach_errors, get_session, roles_required
from portal.models import VENDOR_ROLES, ActionKind, Role

BLANK_ROWS = 3  # empty rows under the steps, to add some at once


@bp.get("/rules/playbooks")
@roles_required(*VENDOR_ROLES)
def playbooks():
    return render_template("admin/playbooks.html", playbooks=playbook_service.playbooks(get_session()))


@bp.route("/rules/playbooks/<action_kind>", methods=["GET", "POST"])
@roles_required(Role.VENDOR_ADMIN)
def playbook_edit(action_kind: str):
    try:
        kind = ActionKind(action_kind)
    except ValueError:
        abort(404)
    db = get_session()
    playbook = playbook_service.playbooks(db)[kind]
    steps = playbook.steps if playbook else []
    form = PlaybookForm()
    if form.validate_on_submit():
        try:
            playbook_service.save_playbook(db, kind, [entry.data for entry in form.steps], actor=current_user)
        except ValidationError as error:
            attach_errors(form, error.errors)
        else:
            db.commit()
            flash(_("Playbook saved. Items opened from now on get these steps; items already open keep theirs."), "success")
            return redirect(url_for("admin.playbooks") + f"#{kind.value}")
    elif not form.is_submitted():
        rows = [{"position": str(s.position), "title": s.title, "title_ja": s.title_ja, "note": s.note, "note_ja": s.note_ja}
                for s in steps]
        blank = max(0, min(BLANK_ROWS, playbook_service.MAX_STEPS - len(rows)))
        rows += [{"position": str(len(rows) + n)} for n in range(1, blank + 1)]
        form = PlaybookForm(formdata=None, data={"steps": rows})
    return render_template("admin/playbook_form.html", form=form, kind=kind), (400 if form.errors else 200)
