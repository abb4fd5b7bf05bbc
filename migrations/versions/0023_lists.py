"""Lists at scale: the accounts list's name order, lower(coalesce(name_kana, name)) then id, as an
index (its Next link reads from the previous page's last account onward instead of counting off
every account before it), and check_ins (submitted_at, id), the VoC inbox's newest-first order
(its first page walks the newest check-ins and stops after a page instead of sorting every item).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 18:45:00+00:00
"""
from alembic import op
from sqlalchemy import text

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':  # SQLite cannot reflect an index on an expression
        op.create_index('ix_accounts_sort_name', 'accounts', [text('lower(coalesce(name_kana, name))'), 'id'])
    op.create_index('ix_check_ins_submitted_at_id', 'check_ins', ['submitted_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_check_ins_submitted_at_id', table_name='check_ins')
    op.execute('DROP INDEX IF EXISTS ix_accounts_sort_name')
