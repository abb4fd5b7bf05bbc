"""The vendor's reporting rules: cadences per segment, the key features asked about in check-ins
and the onboarding milestone templates. One write each, for the rules pages."""
from __future__ import annotations

from typing import Any, Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit import services as audit
from portal.audit.models import AuditAction
from portal.core.validation import FieldError, ValidationError
from portal.models import Feature, MilestoneTemplate, ReportingCadence, ReportingSettings, Segment, User
from portal.reporting.cadence import reporting_settings

CADENCE_MONTHS = (1, 2, 3, 4, 6, 12)


def save_cadences(session: Session, values: Mapping[str, Any], *, actor: User | None = None) -> None:
    """Months and grace days per segment, from `<segment>_months` and `<segment>_grace`. Never commits."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for segment in Segment:
        row = session.get(ReportingCadence, segment) or ReportingCadence(segment=segment)
        before.update({f"{segment.value}_months": row.months, f"{segment.value}_grace": row.grace_days})
        row.months, row.grace_days = values[f"{segment.value}_months"], values[f"{segment.value}_grace"]
        after.update({f"{segment.value}_months": row.months, f"{segment.value}_grace": row.grace_days})
        session.add(row)
    session.flush()
    if detail := audit.changes(before, after):
        audit.record(session, AuditAction.CADENCE_CHANGED, actor=actor, detail=detail)


def save_reporting_settings(session: Session, values: Mapping[str, Any], *, actor: User | None = None) -> None:
    """The lifecycle rule's days, the day overdue counting starts, and when action items close as
    recovered or reopen. Values left out keep what is saved. Never commits."""
    row = session.get(ReportingSettings, 1) or reporting_settings(session)
    names = ("adoption_after_days", "overdue_from", "recovered_after_days", "reopen_within_days")
    before = {name: audit.plain(getattr(row, name)) for name in names}
    row.adoption_after_days, row.overdue_from = values.get("adoption_after_days"), values.get("overdue_from")
    for name in ("recovered_after_days", "reopen_within_days"):
        if values.get(name) is not None:
            setattr(row, name, values[name])
    session.add(row)
    session.flush()
    if detail := audit.changes(before, {name: audit.plain(getattr(row, name)) for name in names}):
        audit.record(session, AuditAction.CADENCE_CHANGED, actor=actor, detail=detail)


def features(session: Session) -> list[Feature]:
    return list(session.scalars(select(Feature).order_by(Feature.position, Feature.id)))


def milestone_templates(session: Session) -> list[MilestoneTemplate]:
    return list(session.scalars(select(MilestoneTemplate).order_by(MilestoneTemplate.position, MilestoneTemplate.id)))


RULE_ITEM_ACTIONS = {
    (Feature, True): AuditAction.FEATURE_CREATED, (Feature, False): AuditAction.FEATURE_UPDATED,
    (MilestoneTemplate, True): AuditAction.MILESTONE_TEMPLATE_CREATED, (MilestoneTemplate, False): AuditAction.MILESTONE_TEMPLATE_UPDATED,
}


def save_rule_item(session: Session, model: type[Feature] | type[MilestoneTemplate], values: Mapping[str, Any],
                   item: Feature | MilestoneTemplate | None, *, actor: User | None = None) -> Feature | MilestoneTemplate:
    """Create or edit a feature or a milestone template; keys are unique. Raises ValidationError; never commits."""
    key = values.get("key")
    if session.scalar(select(model.id).where(model.key == key, model.id != (item.id if item else None))):
        raise ValidationError([FieldError("key", _l("This key is already used."), key)])
    fields = [name for name in values if name not in ("csrf_token", "submit") and hasattr(model, name)]
    before = {name: audit.plain(getattr(item, name)) for name in fields} if item is not None else None
    item = item or model()
    for name in fields:
        setattr(item, name, values[name])
    session.add(item)
    session.flush()
    detail = audit.changes(before, {name: audit.plain(getattr(item, name)) for name in fields})
    if before is None or detail:
        audit.record(session, RULE_ITEM_ACTIONS[(model, before is None)], actor=actor, target=item, target_label=item.key, detail=detail)
    return item
