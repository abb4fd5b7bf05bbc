"""CHECK constraints on the coded text columns (import status, job status and trigger, change
log action, notification kind): the database refuses a value the code does not know.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 19:05:00+00:00
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# table -> [(constraint name, condition)]; names follow the metadata's convention ck_<table>_<name>.
CHECKS = {
    'import_batches': [('status', "status IN ('previewed', 'committed')")],
    'change_log': [('action', "action IN ('create', 'update')")],
    'aggregation_days': [('status', "status IN ('running', 'done', 'failed')")],
    'aggregation_runs': [('status', "status IN ('running', 'done', 'failed', 'skipped')"),
                         ('trigger', "\"trigger\" IN ('schedule', 'cli', 'web')")],
    'notifications': [('kind', "kind IN ('turned_red', 'item_assigned')")],
}


def upgrade() -> None:
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table) as batch:  # SQLite rebuilds the table; PostgreSQL alters it
            for name, condition in checks:
                batch.create_check_constraint(op.f(f'ck_{table}_{name}'), condition)


def downgrade() -> None:
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table) as batch:
            for name, _condition in checks:
                batch.drop_constraint(op.f(f'ck_{table}_{name}'), type_='check')
