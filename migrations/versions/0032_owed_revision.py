"""The nightly list of check-ins owed learns a revision, raised when an account moves to another
partner between two runs, so that no count kept for the old partner outlives the move.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-04 14:50:00+00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('owed_stamps') as batch:
        batch.add_column(sa.Column('revision', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('owed_stamps') as batch:
        batch.drop_column('revision')
