"""Check-in files at channel scale: the plan is stored with the upload (the preview and the
commit read it), and a big file is planned and committed as a job with its progress and error.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 15:40:00+00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

OLD_STATUSES = ('previewed', 'committed')
NEW_STATUSES = ('queued', 'planning', 'previewed', 'commit_queued', 'committing', 'committed', 'failed')


def upgrade() -> None:
    with op.batch_alter_table('import_batches') as batch:
        batch.add_column(sa.Column('plan', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('row_count', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('rows_planned', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('error', sa.Text(), nullable=True))
        batch.drop_constraint(op.f('ck_import_batches_status'), type_='check')
        batch.create_check_constraint(op.f('ck_import_batches_status'), f"status IN {NEW_STATUSES!r}")


def downgrade() -> None:
    # A batch still being worked on (or failed) has no place in the old statuses: it is dropped.
    op.execute(sa.text(f"DELETE FROM import_batches WHERE status NOT IN {OLD_STATUSES!r}"))
    with op.batch_alter_table('import_batches') as batch:
        batch.drop_constraint(op.f('ck_import_batches_status'), type_='check')
        batch.create_check_constraint(op.f('ck_import_batches_status'), f"status IN {OLD_STATUSES!r}")
        batch.drop_column('error')
        batch.drop_column('rows_planned')
        batch.drop_column('row_count')
        batch.drop_column('plan')
