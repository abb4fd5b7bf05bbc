"""The change log: who changed what and when, for records that are edited in place."""
from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from portal.models import ApiToken, ChangeLog, ReportSource, User


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
    before = before or {}
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    if not changes:
        return None
    entry = ChangeLog(
        entity=entity, entity_id=entity_id, partner_id=partner_id, account_id=account_id,
        action="create" if not before else "update", changes=changes, source=source,
        user_id=user.id if user else None, api_token_id=token.id if token else None,
    )
    session.add(entry)
    return entry
