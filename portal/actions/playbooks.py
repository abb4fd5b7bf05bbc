"""Playbooks: the vendor's ordered steps per kind of item. A new item copies the steps current
when it opens, so editing a playbook never rewrites work already under way."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, delete, insert, select
from sqlalchemy.orm import Session, selectinload

from portal.audit import services as audit
from portal.audit.models import AuditAction
from portal.core.clock import utcnow
from portal.core.validation import Checks, FieldError, ValidationError, blank, normalised, whole_number
from portal.models import (
    ActionEventKind, ActionItem, ActionKind, ActionStep, OPEN_ACTION_STATUSES, Playbook, PlaybookStep, User,
)

MAX_STEPS = 10
MAX_TITLE = 200
MAX_NOTE = 2000
STEP_FIELDS = ("title", "title_ja", "note", "note_ja")
REMOVE = {"y", "yes", "on", "1", "true"}  # a ticked "Remove" box, as a form or a test sends it


def copy_steps(session: Session, item_ids: Select) -> None:
    """Give each item in `item_ids` (a select of action item ids) its kind's playbook steps, in
    one statement however many items (the aggregation opens them by the hundred)."""
    steps = (
        select(ActionItem.id, ActionItem.partner_id, PlaybookStep.position, PlaybookStep.title, PlaybookStep.title_ja,
               PlaybookStep.note, PlaybookStep.note_ja)
        .join(Playbook, Playbook.kind == ActionItem.kind)
        .join(PlaybookStep, PlaybookStep.playbook_id == Playbook.id)
        .where(ActionItem.id.in_(item_ids))
    )
    session.execute(insert(ActionStep).from_select(
        ["item_id", "partner_id", "position", "title", "title_ja", "note", "note_ja"], steps))


def playbooks(session: Session) -> dict[ActionKind, Playbook | None]:
    """Every kind's playbook (None: no steps yet), in the order the pages list the kinds."""
    found = {p.kind: p for p in session.scalars(select(Playbook).options(selectinload(Playbook.steps)))}
    return {kind: found.get(kind) for kind in ActionKind}


@dataclass(frozen=True)
class StepInput:
    title: str
    title_ja: str | None
    note: str | None
    note_ja: str | None


def parse_steps(rows: Sequence[Mapping[str, Any]]) -> list[StepInput]:
    """The steps as the form sends them, one row each (title, title_ja, note, note_ja, position,
    remove). Blank and removed rows drop out; the rest go in order of position, ties in row order.
    Errors are named steps[row].field. Raises ValidationError."""
    c = Checks()
    kept: list[tuple[int, int, StepInput]] = []
    for n, row in enumerate(rows):
        name = f"steps[{n}]."
        if row.get("remove") is True or str(row.get("remove") or "").strip().lower() in REMOVE:
            continue
        if all(blank(row.get(f)) for f in STEP_FIELDS):
            continue  # an empty row left for adding a step
        values = {f"{name}{f}": row.get(f) for f in (*STEP_FIELDS, "position")}
        title = c.text(values, f"{name}title", max_length=MAX_TITLE)
        title_ja = c.text(values, f"{name}title_ja", max_length=MAX_TITLE)
        note = c.text(values, f"{name}note", max_length=MAX_NOTE)
        note_ja = c.text(values, f"{name}note_ja", max_length=MAX_NOTE)
        if title is None and not c.failed(f"{name}title"):
            c.fail(f"{name}title", _l("Give the step a title in English; the Japanese one is optional."))
        raw_position = row.get("position")
        position = n + 1
        if not blank(raw_position):
            number = whole_number(normalised(raw_position))  # full-width ２ from a Japanese input method too
            if number is None or not 1 <= number <= 99:
                c.fail(f"{name}position", _l("Enter a number from 1 to 99."), raw_position)
            else:
                position = number
        if len(kept) == MAX_STEPS:
            c.fail(f"{name}title", _l("A playbook has at most %(max)s steps: remove one first.", max=MAX_STEPS))
        kept.append((position, n, StepInput(title or "", title_ja, note, note_ja)))
    c.done()
    return [step for _position, _row, step in sorted(kept, key=lambda k: (k[0], k[1]))]


def save_playbook(session: Session, kind: ActionKind, rows: Sequence[Mapping[str, Any]], *, actor: User) -> Playbook:
    """Replace `kind`'s steps with the rows (vendor admin), audited. Items already open keep the
    steps they copied. Raises ValidationError; never commits."""
    steps = parse_steps(rows)
    playbook = session.scalar(select(Playbook).where(Playbook.kind == kind).options(selectinload(Playbook.steps)))
    before = [_step_detail(s) for s in playbook.steps] if playbook is not None else []
    after = [asdict(s) for s in steps]
    if playbook is None:
        playbook = Playbook(kind=kind)
        session.add(playbook)
        session.flush()
    elif before == after:
        return playbook
    # Out with the old rows first: positions are unique per playbook.
    session.execute(delete(PlaybookStep).where(PlaybookStep.playbook_id == playbook.id))
    session.expire(playbook, ["steps"])
    session.add_all(PlaybookStep(playbook_id=playbook.id, position=n, **asdict(s)) for n, s in enumerate(steps, start=1))
    playbook.updated_at, playbook.updated_by_id = utcnow(), actor.id
    session.flush()
    audit.record(session, AuditAction.PLAYBOOK_SAVED, actor=actor, target=playbook, target_label=kind.value,
                 detail={"steps": [[_step_line(s) for s in before], [_step_line(s) for s in after]]})
    return playbook


def _step_detail(step: PlaybookStep) -> dict[str, str | None]:
    return {f: getattr(step, f) for f in STEP_FIELDS}


def _step_line(step: Mapping[str, str | None]) -> str:
    """A step as the audit log shows it: both languages of its title, then of its note."""
    line = " / ".join(t for t in (step["title"], step["title_ja"]) if t)
    note = " / ".join(t for t in (step["note"], step["note_ja"]) if t)
    return f"{line} ({note})" if note else line


def mark_step(session: Session, item: ActionItem, step: ActionStep, done: bool, user: User) -> bool:
    """Tick a step off (or undo it) on an open item, recording who and when in the step and in
    the item's history. False when it already was so (a second click changes nothing). Raises
    ValidationError on a closed item."""
    from portal.actions.services import record_event

    if item.status not in OPEN_ACTION_STATUSES:
        raise ValidationError([FieldError("done", _l("This item is closed: reopen it before ticking its steps."))])
    if (step.done_at is not None) == done:
        return False
    step.done_at, step.done_by_id = (utcnow(), user.id) if done else (None, None)
    record_event(session, item, ActionEventKind.STEP_DONE if done else ActionEventKind.STEP_UNDONE, actor=user,
                 step_id=step.id, position=step.position)
    session.flush()
    return True
