"""partners users accounts

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:02:41.629056+00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('partners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('tier', sa.Enum('platinum', 'gold', 'silver', 'registered', name='partner_tier', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('status', sa.Enum('active', 'prospect', 'suspended', 'terminated', name='partner_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partners')),
    sa.UniqueConstraint('code', name=op.f('uq_partners_code'))
    )
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('industry', sa.String(length=100), nullable=True),
    sa.Column('segment', sa.Enum('high_touch', 'low_touch', 'tech_touch', name='account_segment', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('plan', sa.String(length=100), nullable=True),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('arr_jpy', sa.BigInteger(), nullable=False),
    sa.Column('contract_start', sa.Date(), nullable=True),
    sa.Column('renewal_date', sa.Date(), nullable=True),
    sa.Column('desired_outcome', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('onboarding', 'active', 'churned', name='account_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('churned_on', sa.Date(), nullable=True),
    sa.Column('churn_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("(status = 'churned') = (churned_on IS NOT NULL)", name=op.f('ck_accounts_churned_on_iff_churned')),
    sa.CheckConstraint('arr_jpy >= 0', name=op.f('ck_accounts_arr_not_negative')),
    sa.CheckConstraint('seats >= 0', name=op.f('ck_accounts_seats_not_negative')),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_accounts_partner_id_partners'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('partner_id', 'reference', name=op.f('uq_accounts_partner_id_reference'))
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accounts_renewal_date'), ['renewal_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_accounts_segment'), ['segment'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('vendor_admin', 'partner_manager', 'partner_admin', 'partner_user', name='user_role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('session_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("(role IN ('vendor_admin', 'partner_manager') AND partner_id IS NULL) OR (role IN ('partner_admin', 'partner_user') AND partner_id IS NOT NULL)", name=op.f('ck_users_partner_matches_role')),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_users_partner_id_partners'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('session_token', name=op.f('uq_users_session_token'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_partner_id'), ['partner_id'], unique=False)

    op.create_table('partner_managers',
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_partner_managers_partner_id_partners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_partner_managers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('partner_id', 'user_id', name=op.f('pk_partner_managers'))
    )


def downgrade() -> None:
    op.drop_table('partner_managers')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_partner_id'))

    op.drop_table('users')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_segment'))
        batch_op.drop_index(batch_op.f('ix_accounts_renewal_date'))
        batch_op.drop_index(batch_op.f('ix_accounts_partner_id'))

    op.drop_table('accounts')
    op.drop_table('partners')
