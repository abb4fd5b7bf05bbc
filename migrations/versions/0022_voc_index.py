"""Pages at scale (2): a covering index on check_ins (id, account_id, period_start, version,
submitted_at), so the VoC inbox joins its items to their check-ins, checks "is a newer version in
force" and sorts by submission from indexes alone instead of a sequential scan of every check-in.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 16:40:00+00:00
"""
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_check_ins_id_version', 'check_ins', ['id', 'account_id', 'period_start', 'version', 'submitted_at'])


def downgrade() -> None:
    op.drop_index('ix_check_ins_id_version', table_name='check_ins')
