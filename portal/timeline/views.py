"""The account timeline: the full feed with its kind filter and pages, and the note form at its
top. Both sides see the same feed, scoped like the account page (another partner's account: 404)."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.core.lists import InvalidArgument, ListArgs
from portal.core.scoping import accounts_visible_to, one_or_404
from portal.core.validation import ValidationError
from portal.core.web import attach_errors, get_session, today
from portal.timeline import bp
from portal.timeline import services as timeline
from portal.timeline.forms import NoteForm

PER_PAGE = 25


def _note_form() -> NoteForm:
    form = NoteForm()
    form.kind.choices = [(kind.value, str(text)) for kind, text in timeline.NOTE_KINDS.items()]
    if not form.is_submitted():
        form.happened_on.data = today().isoformat()
    return form


def _render(account, form, status: int = 200):
    db = get_session()
    kind = ListArgs().text("kind")
    if kind and kind not in timeline.KINDS:
        raise InvalidArgument("kind", _("one of %(options)s", options=", ".join(timeline.KINDS)), kind)
    page = timeline.timeline_page(db, account, {kind} if kind else None, page=ListArgs().page(), per_page=PER_PAGE)
    kinds = [{"value": key, "label": text} for key, text in timeline.KINDS.items()]
    return render_template("timeline/timeline.html", account=account, page=page, kinds=kinds, kind=kind, form=form,
                           today=today()), status


@bp.get("/accounts/<int:account_id>/timeline")
@login_required
def account_timeline(account_id: int):
    account = one_or_404(get_session(), accounts_visible_to(current_user), account_id)
    return _render(account, _note_form())


@bp.post("/accounts/<int:account_id>/timeline/notes")
@login_required
def note_new(account_id: int):
    """Either side logs a call, meeting or note; errors go next to the fields (400)."""
    db = get_session()
    account = one_or_404(db, accounts_visible_to(current_user), account_id)
    form = _note_form()
    if form.validate_on_submit():
        try:
            note = timeline.add_note(db, account, form.data, current_user, today())
        except ValidationError as error:
            attach_errors(form, error.errors)
        else:
            db.commit()
            flash(_("Note added to the timeline."), "success")
            return redirect(url_for("timeline.account_timeline", account_id=account.id) + f"#note-{note.id}")
    return _render(account, form, 400)
