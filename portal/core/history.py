"""The change log: who changed what and when, for records that are edited in place."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portal.core.formatting import local_date, yen
from portal.core.labels import label
from portal.models import (
    ApiToken, ChangeLog, LifecycleStatus, MilestoneStatus, OutcomeKind, PhaseReason, ReportSource, Segment, StakeholderRole, User,
)
from portal.models import VocStatus


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: _plain(getattr(obj, name)) for name in fields}


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def record_change(
    session: Session,
    *,
    entity: str,
    entity_id: int,
    partner_id: int,
    account_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    source: ReportSource,
    user: User | None = None,
    token: ApiToken | None = None,
) -> ChangeLog | None:
    """Log the fields that differ; nothing when nothing changed."""
    values = change_entry(entity=entity, entity_id=entity_id, partner_id=partner_id, account_id=account_id, before=before,
                          after=after, source=source, user=user, token=token)
    if values is None:
        return None
    entry = ChangeLog(**values)
    session.add(entry)
    return entry


def change_entry(*, entity: str, entity_id: int, partner_id: int, account_id: int | None, before: dict[str, Any] | None,
                 after: dict[str, Any], source: ReportSource, user: User | None = None,
                 token: ApiToken | None = None) -> dict[str, Any] | None:
    """A change log entry's columns for the fields that differ (None when nothing changed): what
    record_change adds, for a writer that inserts many entries with one statement."""
    before = before or {}
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    if not changes:
        return None
    return dict(entity=entity, entity_id=entity_id, partner_id=partner_id, account_id=account_id,
                action="create" if not before else "update", changes=changes, source=source,
                user_id=user.id if user else None, api_token_id=token.id if token else None)


# --- the log as people read it ----------------------------------------------------------------

TEXT, NUMBER, YEN, DATE, FLAG = "text", "number", "yen", "date", "flag"

# Per entity, in the order of its form: field -> (the form's label, how its stored value reads).
FIELDS: dict[str, dict[str, tuple[Any, Any]]] = {
    "milestone": {
        "status": (_l("Status"), MilestoneStatus), "planned_on": (_l("Planned date"), DATE),
        "completed_on": (_l("Actual date"), DATE), "note": (_l("Note"), TEXT),
    },
    "stakeholder": {
        "name": (_l("Name"), TEXT), "role": (_l("Role"), StakeholderRole),
        "success_note": (_l("Their own success, in a line"), TEXT), "last_contact_on": (_l("Last contact"), DATE),
        "active": (_l("Still involved"), FLAG),
    },
    "voc_item": {
        "status": (_l("Status"), VocStatus), "answer": (_l("Answer to the reseller"), TEXT), "product_area": (_l("Product area"), TEXT),
    },
    "account": {
        "name": (_l("Customer name"), TEXT), "name_kana": (_l("Name reading (furigana)"), TEXT), "industry": (_l("Industry"), TEXT),
        "segment": (_l("Segment"), Segment), "plan": (_l("Plan"), TEXT), "seats": (_l("Seats"), NUMBER), "arr_jpy": (_l("ARR"), YEN),
        "contract_start": (_l("Contract start"), DATE), "renewal_date": (_l("Renewal date"), DATE),
        "desired_outcome": (_l("Desired outcome"), TEXT), "status": (_l("Lifecycle status"), LifecycleStatus),
        "churned_on": (_l("Churned on"), DATE), "churn_reason": (_l("Churn reason"), TEXT), "owner": (_l("Owner"), TEXT),
        "phase_changed_on": (_l("Phase changed on"), DATE), "phase_reason": (_l("Why the phase changed"), PhaseReason),
    },
    "outcome": {
        "kind": (_l("Outcome"), OutcomeKind), "term_end": (_l("Term end"), DATE), "decided_on": (_l("Decided on"), DATE),
        "new_renewal_date": (_l("New renewal date"), DATE), "arr_before_jpy": (_l("ARR before"), YEN),
        "arr_after_jpy": (_l("ARR after"), YEN), "churn_reason": (_l("Churn reason"), TEXT), "note": (_l("Note"), TEXT),
    },
}


@dataclass(frozen=True)
class FieldChange:
    label: str
    before: str
    after: str


def readable_changes(entry: ChangeLog) -> list[FieldChange]:
    """The entry's changes with the forms' labels and values as the pages show them, in form order."""
    return readable(entry.entity, entry.changes)


def readable(entity: str, changes: dict[str, list[Any]]) -> list[FieldChange]:
    """Changes (field -> [before, after], as the log keeps them) as readable_changes shows them;
    also for changes not yet made (an import's preview)."""
    fields = FIELDS.get(entity, {})
    order = list(fields)
    names = sorted(changes, key=lambda name: order.index(name) if name in order else len(order))
    result = []
    for name in names:
        title, kind = fields.get(name, (name, TEXT))
        before, after = changes[name]
        result.append(FieldChange(str(title), _shown(before, kind), _shown(after, kind)))
    return result


def _shown(value: Any, kind: Any) -> str:
    if value is None or value == "":
        return "—"
    if kind == FLAG:
        return "✓" if value else "✗"
    if kind == DATE:
        return local_date(date.fromisoformat(value))
    if kind == YEN:
        return yen(value)
    if kind == NUMBER:
        return f"{value:,}"
    if isinstance(kind, type) and issubclass(kind, Enum) and value in kind._value2member_map_:
        return label(kind(value))
    return str(value)
