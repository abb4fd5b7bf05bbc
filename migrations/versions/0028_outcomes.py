"""Renewal outcomes recorded as events (renewed or churned at the end of a contract term), with
the vendor-kept list of churn reasons. The backtests and the fitted health model learn from them.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 21:30:00+00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'churn_reasons',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('label_en', sa.String(length=120), nullable=False),
        sa.Column('label_ja', sa.String(length=120), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code'),
    )
    op.create_table(
        'renewal_outcomes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('term_end', sa.Date(), nullable=False),
        sa.Column('kind', sa.Enum('renewed', 'churned', name='outcome_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
        sa.Column('decided_on', sa.Date(), nullable=False),
        sa.Column('new_renewal_date', sa.Date(), nullable=True),
        sa.Column('arr_before_jpy', sa.BigInteger(), nullable=False),
        sa.Column('arr_after_jpy', sa.BigInteger(), nullable=False),
        sa.Column('churn_reason_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('inferred', sa.Boolean(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind = 'churned' OR new_renewal_date IS NOT NULL OR inferred", name='renewal_has_next_date'),
        sa.CheckConstraint("kind = 'renewed' OR arr_after_jpy = 0", name='churn_leaves_no_arr'),
        sa.CheckConstraint('arr_before_jpy >= 0 AND arr_after_jpy >= 0', name='outcome_arr_not_negative'),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['churn_reason_id'], ['churn_reasons.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_id', 'term_end'),
    )
    op.create_index('ix_renewal_outcomes_account_id', 'renewal_outcomes', ['account_id'])
    op.create_index('ix_renewal_outcomes_decided_on', 'renewal_outcomes', ['decided_on'])


def downgrade() -> None:
    op.drop_index('ix_renewal_outcomes_decided_on', table_name='renewal_outcomes')
    op.drop_index('ix_renewal_outcomes_account_id', table_name='renewal_outcomes')
    op.drop_table('renewal_outcomes')
    op.drop_table('churn_reasons')
