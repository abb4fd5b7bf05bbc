"""Job history of the health model's fits (#17): each "Propose weights from outcomes", its
proposal and backtests, or why it refused.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 22:00:00+00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'model_fits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('trigger', sa.String(length=20), nullable=False),
        sa.Column('phase', sa.String(length=20), nullable=True),
        sa.Column('model_version', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('outcomes', sa.Integer(), nullable=True),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('message', sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'refused', 'failed')", name=op.f('ck_model_fits_status')),
        sa.CheckConstraint("\"trigger\" IN ('cli', 'web')", name=op.f('ck_model_fits_trigger')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_model_fits_requested_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_model_fits')),
    )
    op.create_index(op.f('ix_model_fits_status'), 'model_fits', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_model_fits_status'), table_name='model_fits')
    op.drop_table('model_fits')
