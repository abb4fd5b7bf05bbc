"""Aggregation claims carry a heartbeat and the time of the day's snapshot; "Run now" requests
are queued for the scheduler process.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 06:10:00+00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('aggregation_days') as batch:
        batch.add_column(sa.Column('heartbeat_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('snapshot_at', sa.DateTime(), nullable=True))
    # A day done before this revision has its snapshot from its (last) claim.
    op.execute("UPDATE aggregation_days SET snapshot_at = claimed_at WHERE status = 'done'")
    op.create_table(
        'aggregation_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('run_id', sa.Integer(), nullable=True),
        sa.Column('message', sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_aggregation_requests_status')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_aggregation_requests_requested_by_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['run_id'], ['aggregation_runs.id'], name=op.f('fk_aggregation_requests_run_id_aggregation_runs'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_aggregation_requests')),
    )
    op.create_index(op.f('ix_aggregation_requests_status'), 'aggregation_requests', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_aggregation_requests_status'), table_name='aggregation_requests')
    op.drop_table('aggregation_requests')
    with op.batch_alter_table('aggregation_days') as batch:
        batch.drop_column('snapshot_at')
        batch.drop_column('heartbeat_at')
