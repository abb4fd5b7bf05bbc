"""Churn reasons kept from the Reporting rules pages: the audit log learns the vendor admin's
changes to the list (the table came with 0028).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-04 13:30:00+00:00
"""
from alembic import op

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

OLD_ACTIONS = ('login', 'login_failed', 'logout', 'user_created', 'user_updated', 'role_changed', 'user_deactivated',
               'user_reactivated', 'partner_created', 'partner_updated', 'partner_settings_changed', 'token_created',
               'token_revoked', 'cadence_changed', 'feature_created', 'feature_updated', 'milestone_template_created',
               'milestone_template_updated', 'tier_rules_changed', 'health_model_saved', 'account_created', 'account_updated',
               'product_area_created', 'product_area_updated', 'playbook_saved')
NEW_ACTIONS = OLD_ACTIONS + ('churn_reason_saved',)

# The audit log's append-only guard (as migration 0010 made it): rebuilding the table on SQLite drops it.
MESSAGE = "audit_events is append-only"
SQLITE_GUARD = (
    f"CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
)


def _audit_actions(actions) -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    with op.batch_alter_table('audit_events') as batch:
        batch.drop_constraint(op.f('ck_audit_events_action'), type_='check')
        batch.create_check_constraint(op.f('ck_audit_events_action'), f"action IN {actions!r}")
    if sqlite:
        for statement in SQLITE_GUARD:
            op.execute(statement)


def upgrade() -> None:
    _audit_actions(NEW_ACTIONS)


def downgrade() -> None:
    # The audit log is append-only: with churn reason events in it, the old CHECK refuses the downgrade.
    _audit_actions(OLD_ACTIONS)
