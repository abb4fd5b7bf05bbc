"""The audit log: one append-only table of who did what, to which partner, from where.

Append-only in the database, not only in the code: a trigger refuses UPDATE and DELETE (and, on
PostgreSQL, TRUNCATE), so not even a bug or a hand-typed statement in the application's own
connection rewrites history. The trigger is created by migration 0010; a later migration that
rebuilds this table in SQLite batch mode must create it again.

There are no foreign keys on purpose: an event outlives what it names, so it keeps the actor's
and the target's label as they were at the time.
"""
from __future__ import annotations

import enum
import json
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Iterator

from sqlalchemy import Integer, String, Text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.clock import utcnow
from portal.core.db import Base, UTCDateTime, enum_column


class AuditAction(str, enum.Enum):
    """What happened. Adding one needs a migration: the column's CHECK lists them all."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    USER_CREATED = "user_created"
    USER_UPDATED = "user_updated"
    ROLE_CHANGED = "role_changed"
    USER_DEACTIVATED = "user_deactivated"
    USER_REACTIVATED = "user_reactivated"
    PARTNER_CREATED = "partner_created"
    PARTNER_UPDATED = "partner_updated"
    PARTNER_SETTINGS_CHANGED = "partner_settings_changed"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    CADENCE_CHANGED = "cadence_changed"
    FEATURE_CREATED = "feature_created"
    FEATURE_UPDATED = "feature_updated"
    MILESTONE_TEMPLATE_CREATED = "milestone_template_created"
    MILESTONE_TEMPLATE_UPDATED = "milestone_template_updated"
    TIER_RULES_CHANGED = "tier_rules_changed"
    HEALTH_MODEL_SAVED = "health_model_saved"
    ACCOUNT_CREATED = "account_created"
    ACCOUNT_UPDATED = "account_updated"
    PRODUCT_AREA_CREATED = "product_area_created"
    PRODUCT_AREA_UPDATED = "product_area_updated"
    PLAYBOOK_SAVED = "playbook_saved"
    CHURN_REASON_SAVED = "churn_reason_saved"


class AuditEvent(Base):
    """One thing someone did. `partner_id` is the partner it concerns (None: vendor-wide), which
    is also what a partner admin may see (core.scoping.visible_to)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # None: the command line, the system, or nobody known (a failed login with an unknown email).
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_label: Mapped[str | None] = mapped_column(String(300))
    partner_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[AuditAction] = mapped_column(enum_column(AuditAction, "action", length=40), index=True)
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[int | None] = mapped_column(Integer)
    target_label: Mapped[str | None] = mapped_column(String(300))
    # {"field": [before, after], ...} (or plain facts such as {"reason": ...}) as JSON text, written
    # with the characters as they are, so that the text filter finds Japanese too.
    detail: Mapped[str | None] = mapped_column(Text)
    client_address: Mapped[str | None] = mapped_column(String(45))

    @property
    def changes(self) -> dict[str, Any]:
        return json.loads(self.detail) if self.detail else {}


# The guard, per database. Migration 0010 holds its own copy of these statements.
APPEND_ONLY_MESSAGE = "audit_events is append-only"
GUARD = {
    "sqlite": (
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
    ),
    "postgresql": (
        "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation'; END $$",
        "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
    ),
}
UNGUARD = {
    "sqlite": ("DROP TRIGGER IF EXISTS audit_events_no_update", "DROP TRIGGER IF EXISTS audit_events_no_delete"),
    "postgresql": ("DROP TRIGGER IF EXISTS audit_events_no_change ON audit_events",
                   "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events"),
}


@contextmanager
def guard_lifted(connection: Connection) -> Iterator[None]:
    """Inside the block, in this transaction only, the table may be emptied: for the tests'
    cleanup between tests, or an operator's deliberate purge (it needs the rights to drop a
    trigger, which the application should not have). The guard is back when the block ends."""
    dialect = connection.dialect.name
    for statement in UNGUARD.get(dialect, ()):
        connection.exec_driver_sql(statement)
    yield
    for statement in GUARD.get(dialect, ()):
        connection.exec_driver_sql(statement)
