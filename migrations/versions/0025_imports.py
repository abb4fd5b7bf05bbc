"""Import jobs carry a heartbeat: a file whose scheduler process died while planning or
committing it is shown as stalled and taken up again.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 18:45:00+00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('import_batches') as batch:
        batch.add_column(sa.Column('heartbeat_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('import_batches') as batch:
        batch.drop_column('heartbeat_at')
