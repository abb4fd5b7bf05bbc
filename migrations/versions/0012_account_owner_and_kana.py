"""An account's owner at the reseller and the reading (フリガナ) of its name, for lists that
answer "who needs me?" and sort Japanese names as Japanese systems do.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 08:30:00+00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('name_kana', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f('fk_accounts_owner_id_users'), 'users', ['owner_id'], ['id'], ondelete='SET NULL')
        batch.create_index(batch.f('ix_accounts_owner_id'), ['owner_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.drop_index(batch.f('ix_accounts_owner_id'))
        batch.drop_constraint(batch.f('fk_accounts_owner_id_users'), type_='foreignkey')
        batch.drop_column('owner_id')
        batch.drop_column('name_kana')
