"""Lifecycle that moves: an account's phase change (when, why), the go-live milestone flag, the
vendor's lifecycle and overdue settings, and change-log entries made by the portal's own rules.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 08:45:00+00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

PHASE_REASONS = "('go_live', 'days_after_start', 'set_by_reseller')"


def upgrade() -> None:
    op.create_table(
        'reporting_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('adoption_after_days', sa.Integer(), nullable=True),
        sa.Column('overdue_from', sa.Date(), nullable=True),
        sa.CheckConstraint('id = 1', name=op.f('ck_reporting_settings_single_row')),
        sa.CheckConstraint('adoption_after_days IS NULL OR adoption_after_days BETWEEN 1 AND 3650',
                           name=op.f('ck_reporting_settings_adoption_after_days_range')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reporting_settings')),
    )
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('phase_changed_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('phase_reason', sa.String(length=20), nullable=True))
        batch.create_check_constraint(op.f('ck_accounts_phase_reason'), f"phase_reason IN {PHASE_REASONS}")
    with op.batch_alter_table('milestone_templates') as batch:
        batch.add_column(sa.Column('marks_go_live', sa.Boolean(), server_default=sa.false(), nullable=False))
    # The default template's go-live step (portal.reporting.onboarding.DEFAULT_MILESTONES) marks it.
    op.execute("UPDATE milestone_templates SET marks_go_live = TRUE WHERE key = 'go_live'")
    with op.batch_alter_table('change_log') as batch:
        batch.alter_column('source', existing_type=sa.String(length=20), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM change_log WHERE source IS NULL")
    with op.batch_alter_table('change_log') as batch:
        batch.alter_column('source', existing_type=sa.String(length=20), nullable=False)
    with op.batch_alter_table('milestone_templates') as batch:
        batch.drop_column('marks_go_live')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_constraint(op.f('ck_accounts_phase_reason'), type_='check')
        batch.drop_column('phase_reason')
        batch.drop_column('phase_changed_on')
    op.drop_table('reporting_settings')
