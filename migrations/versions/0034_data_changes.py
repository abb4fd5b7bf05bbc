"""Data changes: every write to a table the pages read notes whose data it touched (the partner,
or 0 for what every partner's pages show: settings, areas, models, snapshots), by trigger, so
that no writer (form, file, API, CLI, job, a COPY or a hand-written UPDATE) can forget it. A page
kept rendered (portal.core.fragments.page) is kept under the sum of its partners' notes: the
sum grows with every committed write, so a page is never served from before one.

PostgreSQL: one note per partner per statement (statement triggers over the transition
tables, so a 10,000-row COPY adds a handful of rows). SQLite: a note per row written.
`portal.core.changes.compact` folds the notes into one row per partner, keeping the sums.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-04 19:30:00+00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None

# Whose data a row is, as an SQL expression over the row's columns ({r} is the row's prefix).
# The tables of portal.core.changes.UNTRACKED have no trigger; every other table has one.
OWNED = "{r}partner_id"
BY_ACCOUNT = "(SELECT a.partner_id FROM accounts a WHERE a.id = {r}account_id)"
BY_CHECK_IN = "(SELECT c.partner_id FROM check_ins c WHERE c.id = {r}check_in_id)"
EVERYONE = "0"
TRACKED = {
    'account_notes': OWNED, 'account_scores': OWNED, 'accounts': OWNED, 'action_comments': OWNED,
    'action_events': OWNED, 'action_items': OWNED, 'action_steps': OWNED, 'alerts': OWNED, 'change_log': OWNED,
    'check_ins': OWNED, 'import_batches': OWNED, 'milestones': OWNED, 'owed_check_ins': OWNED,
    'partner_managers': OWNED, 'partner_scorecards': OWNED, 'stakeholders': OWNED, 'users': OWNED, 'voc_items': OWNED,
    'partners': "{r}id",
    'account_arr_history': BY_ACCOUNT, 'renewal_outcomes': BY_ACCOUNT, 'notifications': BY_ACCOUNT,
    'check_in_features': BY_CHECK_IN, 'check_in_risks': BY_CHECK_IN,
    'aggregation_days': EVERYONE, 'aggregation_requests': EVERYONE, 'churn_reasons': EVERYONE, 'features': EVERYONE,
    'health_models': EVERYONE, 'milestone_templates': EVERYONE, 'owed_stamps': EVERYONE, 'playbook_steps': EVERYONE,
    'playbooks': EVERYONE, 'product_areas': EVERYONE, 'reporting_cadences': EVERYONE, 'reporting_settings': EVERYONE,
    'tier_rules': EVERYONE,
}
EVENTS = ("insert", "update", "delete")

PG_FUNCTION = """
CREATE FUNCTION note_data_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    EXECUTE format('INSERT INTO data_changes (partner_id) SELECT DISTINCT coalesce(%s, 0) FROM new_rows', TG_ARGV[0]);
  ELSIF TG_OP = 'UPDATE' THEN
    EXECUTE format('INSERT INTO data_changes (partner_id) SELECT coalesce(%1$s, 0) FROM new_rows'
                   ' UNION SELECT coalesce(%1$s, 0) FROM old_rows', TG_ARGV[0]);
  ELSE
    EXECUTE format('INSERT INTO data_changes (partner_id) SELECT DISTINCT coalesce(%s, 0) FROM old_rows', TG_ARGV[0]);
  END IF;
  RETURN NULL;
END $$
"""


def _pg_trigger(table: str, event: str, whose: str) -> str:
    rows = {"insert": "NEW TABLE AS new_rows", "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            "delete": "OLD TABLE AS old_rows"}[event]
    argument = whose.format(r="").replace("'", "''")
    return (f"CREATE TRIGGER data_change_{event}_{table} AFTER {event.upper()} ON {table} REFERENCING {rows} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION note_data_change('{argument}')")


def _sqlite_trigger(table: str, event: str, whose: str) -> str:
    rows = {"insert": ["NEW."], "update": ["NEW.", "OLD."], "delete": ["OLD."]}[event]
    notes = " ".join(f"INSERT INTO data_changes (partner_id, n) VALUES (coalesce({whose.format(r=r)}, 0), 1);" for r in rows)
    return f"CREATE TRIGGER data_change_{event}_{table} AFTER {event.upper()} ON {table} BEGIN {notes} END"


def upgrade() -> None:
    op.create_table(
        'data_changes',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True),
        sa.Column('partner_id', sa.Integer(), nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False, server_default='1'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_changes')),
    )
    op.create_index('ix_data_changes_partner_id', 'data_changes', ['partner_id', 'n'])
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(PG_FUNCTION)
    for table, whose in TRACKED.items():
        for event in EVENTS:
            op.execute(_pg_trigger(table, event, whose) if postgresql else _sqlite_trigger(table, event, whose))


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in TRACKED:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER data_change_{event}_{table}" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION note_data_change()")
    op.drop_index('ix_data_changes_partner_id', table_name='data_changes')
    op.drop_table('data_changes')
