"""An uploaded file's rows are stored parsed, once, so its preview and commit do not parse the
file again (an .xlsx can take seconds to read).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:30:00+00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('import_batches') as batch:
        batch.add_column(sa.Column('sheet', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('import_batches') as batch:
        batch.drop_column('sheet')
