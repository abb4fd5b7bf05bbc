"""Pages at scale (3): the optimism check's five counts stored on each scorecard row by the
nightly run, so the channel page and the scorecards stop counting the day's scores and a year
of churn per request (~100 ms at 100k accounts). NULL on the snapshots written before: those
are counted when read, until the next run.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 18:30:00+00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

COLUMNS = ('optimism_green_reports', 'optimism_green_but_red', 'optimism_green_but_not_green',
           'optimism_churned', 'optimism_churned_while_green')


def upgrade() -> None:
    with op.batch_alter_table('partner_scorecards') as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('partner_scorecards') as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
