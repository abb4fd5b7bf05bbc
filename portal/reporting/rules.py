"""The vendor's reporting rules: cadences per segment, the key features asked about in check-ins
and the onboarding milestone templates. One write each, for the rules pages."""
from __future__ import annotations

from typing import Any, Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.core.validation import FieldError, ValidationError
from portal.models import Feature, MilestoneTemplate, ReportingCadence, Segment

CADENCE_MONTHS = (1, 2, 3, 4, 6, 12)


def save_cadences(session: Session, values: Mapping[str, Any]) -> None:
    """Months and grace days per segment, from `<segment>_months` and `<segment>_grace`. Never commits."""
    for segment in Segment:
        row = session.get(ReportingCadence, segment) or ReportingCadence(segment=segment)
        row.months, row.grace_days = values[f"{segment.value}_months"], values[f"{segment.value}_grace"]
        session.add(row)
    session.flush()


def features(session: Session) -> list[Feature]:
    return list(session.scalars(select(Feature).order_by(Feature.position, Feature.id)))


def milestone_templates(session: Session) -> list[MilestoneTemplate]:
    return list(session.scalars(select(MilestoneTemplate).order_by(MilestoneTemplate.position, MilestoneTemplate.id)))


def save_rule_item(session: Session, model: type[Feature] | type[MilestoneTemplate], values: Mapping[str, Any],
                   item: Feature | MilestoneTemplate | None) -> Feature | MilestoneTemplate:
    """Create or edit a feature or a milestone template; keys are unique. Raises ValidationError; never commits."""
    key = values.get("key")
    if session.scalar(select(model.id).where(model.key == key, model.id != (item.id if item else None))):
        raise ValidationError([FieldError("key", _l("This key is already used."), key)])
    item = item or model()
    for name, value in values.items():
        if name not in ("csrf_token", "submit") and hasattr(model, name):
            setattr(item, name, value)
    session.add(item)
    session.flush()
    return item
