"""Coverage before a score: the health model's minimum share of weight a score needs, each
account score's coverage, so pages can say "Not enough data" and what is missing, and the
scorecards' ARR and renewals of such accounts, counted apart from the bands.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 08:45:00+00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('health_models') as batch:
        batch.add_column(sa.Column('min_coverage_pct', sa.Integer(), server_default='60', nullable=False))
    with op.batch_alter_table('account_scores') as batch:
        batch.add_column(sa.Column('coverage_pct', sa.Integer(), nullable=True))
    with op.batch_alter_table('partner_scorecards') as batch:
        batch.add_column(sa.Column('unscored_arr_jpy', sa.BigInteger(), server_default='0', nullable=False))
        batch.add_column(sa.Column('renewals_90_unscored', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('partner_scorecards') as batch:
        batch.drop_column('renewals_90_unscored')
        batch.drop_column('unscored_arr_jpy')
    with op.batch_alter_table('account_scores') as batch:
        batch.drop_column('coverage_pct')
    with op.batch_alter_table('health_models') as batch:
        batch.drop_column('min_coverage_pct')
