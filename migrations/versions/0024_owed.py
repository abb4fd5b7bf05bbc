"""Pages at scale (3): the check-ins owed, as the nightly run lists them (owed_check_ins, in
due-date order per partner) with the stamp saying for which periods (owed_stamps), so the home
page and the scorecard read a partner's first overdue and due check-ins from an index; and an
index of each partner's accounts by last edit, to find those changed since that list; and the
day's scores by partner and renewal date, for the scorecard's first renewals and their count;
and a partner's alerts by day, for its latest ones.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 18:40:00+00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('owed_check_ins',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('account_name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_owed_check_ins_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'period_start', name=op.f('pk_owed_check_ins'))
    )
    op.create_index('ix_owed_check_ins_partner_id_due_on', 'owed_check_ins', ['partner_id', 'due_on', 'account_name', 'account_id'])
    op.create_index('ix_accounts_partner_id_updated_at', 'accounts', ['partner_id', 'updated_at'])
    op.create_index('ix_account_scores_day_partner_id_renewal_date', 'account_scores', ['day', 'partner_id', 'renewal_date'])
    op.create_index('ix_alerts_partner_id_raised_on', 'alerts', ['partner_id', 'raised_on', 'id'])
    op.create_table('owed_stamps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('periods', sa.Text(), nullable=False),
    sa.Column('last_check_in_id', sa.Integer(), nullable=False),
    sa.Column('last_account_id', sa.Integer(), nullable=False),
    sa.Column('listed_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_owed_stamps_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_owed_stamps'))
    )


def downgrade() -> None:
    op.drop_table('owed_stamps')
    op.drop_index('ix_owed_check_ins_partner_id_due_on', table_name='owed_check_ins')
    op.drop_table('owed_check_ins')
    op.drop_index('ix_alerts_partner_id_raised_on', table_name='alerts')
    op.drop_index('ix_account_scores_day_partner_id_renewal_date', table_name='account_scores')
    op.drop_index('ix_accounts_partner_id_updated_at', table_name='accounts')
