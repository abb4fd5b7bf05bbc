"""Playbooks: the vendor's ordered steps per kind of item. A new item copies the steps current
when it opens, so editing a playbook never rewrites work already under way."""
from __future__ import annotations

from sqlalchemy import Select, insert, select
from sqlalchemy.orm import Session

from portal.models import ActionItem, ActionStep, Playbook, PlaybookStep


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
