"""A partner's open action items in the lists' order (partial index): the partner scorecard and
the reseller home read their first 20 and count them from it (#16).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-04 14:40:00+00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

OPEN = "status IN ('open', 'in_progress')"


def upgrade() -> None:
    op.create_index('ix_action_items_open_partner_due', 'action_items', ['partner_id', 'due_on', 'id', 'owner_id'],
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade() -> None:
    op.drop_index('ix_action_items_open_partner_due', table_name='action_items')
