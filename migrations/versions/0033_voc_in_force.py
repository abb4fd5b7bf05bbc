"""Voice-of-customer items learn whether they are in force: false once a correction of their
check-in is written. The inbox filters on it instead of an anti-join per item.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-04 16:00:00+00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('voc_items') as batch:
        batch.add_column(sa.Column('in_force', sa.Boolean(), nullable=False, server_default=sa.true()))
    op.execute("UPDATE voc_items SET in_force = false WHERE check_in_id IN ("
               " SELECT c.id FROM check_ins c WHERE EXISTS (SELECT 1 FROM check_ins n WHERE n.account_id = c.account_id"
               " AND n.period_start = c.period_start AND n.version > c.version))")


def downgrade() -> None:
    with op.batch_alter_table('voc_items') as batch:
        batch.drop_column('in_force')
