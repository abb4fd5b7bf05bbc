"""login throttles: failed logins counted per typed email and per client address; the
password reset email kind in the outbox; two-factor (TOTP) columns on users

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 06:10:00+00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_throttles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.Enum('account', 'address', name='throttle_scope', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('key', sa.String(length=254), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(), nullable=False),
    sa.Column('blocked_until', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_throttles')),
    sa.UniqueConstraint('scope', 'key', name=op.f('uq_login_throttles_scope_key'))
    )
    _email_kinds(KINDS + ["'password_reset'"])
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_secret')
    op.execute("DELETE FROM outbox_messages WHERE kind = 'password_reset'")
    _email_kinds(KINDS)
    op.drop_table('login_throttles')


KINDS = ["'manager_digest'", "'partner_digest'", "'reminder'", "'alert'"]


def _email_kinds(kinds: list[str]) -> None:
    with op.batch_alter_table('outbox_messages') as batch:  # SQLite rebuilds the table; PostgreSQL alters it
        batch.drop_constraint(op.f('ck_outbox_messages_email_kind'), type_='check')
        batch.create_check_constraint(op.f('ck_outbox_messages_email_kind'), f"kind IN ({', '.join(kinds)})")
