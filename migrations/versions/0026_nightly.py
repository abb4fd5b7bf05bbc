"""Nightly run at scale: drop account_scores' index on day alone. The unique (day, account_id)
index starts with the day and serves every look-up by day; the second index only cost the nightly
INSERT of a row per account (100,000 a night at 100k accounts) one more B-tree to keep.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 18:40:00+00:00
"""
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_account_scores_day', table_name='account_scores')


def downgrade() -> None:
    op.create_index('ix_account_scores_day', 'account_scores', ['day'])
