"""Aggregation at scale: an account's score history by (account_id, day), so the nightly run finds
each account's previous band with one index probe however much history is kept (it replaces
the index on account_id alone, which it covers).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 15:30:00+00:00
"""
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_account_scores_account_id_day', 'account_scores', ['account_id', 'day'])
    op.drop_index('ix_account_scores_account_id', table_name='account_scores')


def downgrade() -> None:
    op.create_index('ix_account_scores_account_id', 'account_scores', ['account_id'])
    op.drop_index('ix_account_scores_account_id_day', table_name='account_scores')
