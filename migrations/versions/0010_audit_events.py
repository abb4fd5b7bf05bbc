"""The audit log: one append-only table; a trigger refuses UPDATE and DELETE (and TRUNCATE on
PostgreSQL), so history cannot be rewritten through the application's connection.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 06:00:00+00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

ACTIONS = ('login', 'login_failed', 'logout', 'user_created', 'user_updated', 'role_changed', 'user_deactivated',
           'user_reactivated', 'partner_created', 'partner_updated', 'partner_settings_changed', 'token_created',
           'token_revoked', 'cadence_changed', 'feature_created', 'feature_updated', 'milestone_template_created',
           'milestone_template_updated', 'tier_rules_changed', 'health_model_saved', 'account_created', 'account_updated')

# The same statements as portal/audit/models.py GUARD (a migration keeps its own copy: it must not change later).
MESSAGE = "audit_events is append-only"
GUARD = {
    'sqlite': (
        f"CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
        f"CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    ),
    'postgresql': (
        "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation'; END $$",
        "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
    ),
}


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=300), nullable=True),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.Enum(*ACTIONS, name='action', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('target_type', sa.String(length=40), nullable=True),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('target_label', sa.String(length=300), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('client_address', sa.String(length=45), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_partner_id'), ['partner_id'], unique=False)
    for statement in GUARD.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_table('audit_events')  # its triggers go with it
    if dialect == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
