"""Renewal outcomes recorded as events (renewed or churned at the end of a contract term), with
the vendor-kept list of churn reasons. The backtests and the fitted health model learn from them.

Existing data moves over without loss: each churned account's churn (its date, and its reason
text as the note, the listed reason it names or "other") becomes a churn outcome for the term
ending on its renewal date (or its churn date); each live account whose renewal date less a year
has passed (after its contract start), the renewal the model check used to infer, becomes a
renewed outcome marked inferred, with the ARR it had before that day and has now (when the
contract had started a whole term, 11 months or more, before that day).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 21:30:00+00:00
"""
import sqlalchemy as sa
from alembic import op

from portal.core import clock

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
    reasons = sa.table('churn_reasons', sa.column('id', sa.Integer), sa.column('code', sa.String), sa.column('label_en', sa.String),
                       sa.column('label_ja', sa.String), sa.column('position', sa.Integer), sa.column('active', sa.Boolean))
    op.bulk_insert(reasons, [{"id": n + 1, "code": code, "label_en": en, "label_ja": ja, "position": n, "active": True}
                             for n, (code, en, ja) in enumerate(REASONS)])
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("SELECT setval(pg_get_serial_sequence('churn_reasons', 'id'), (SELECT MAX(id) FROM churn_reasons))")
    migrate_data(bind)


# The vendor's churn reasons to start with (code, English, Japanese); the vendor keeps the list.
REASONS = (
    ("price", "Price", "価格"),
    ("product_fit", "Product fit", "製品の適合"),
    ("competitor", "Switched to a competitor", "競合製品へ移行"),
    ("closed_merged", "Company closed or merged", "廃業・合併"),
    ("budget", "Budget", "予算削減"),
    ("onboarding", "Poor onboarding", "導入支援の不足"),
    ("other", "Other", "その他"),
)


def migrate_data(bind) -> None:
    """Today's churn fields and inferred renewals as outcomes, set-based (two INSERT ... SELECT)."""
    sqlite = bind.dialect.name == 'sqlite'
    today, now = clock.today(), clock.utcnow().replace(tzinfo=None)
    # SQLite keeps days and moments as ISO text (as SQLAlchemy writes them); its driver's own adapters are deprecated.
    params = {"today": today.isoformat(), "now": now.isoformat(sep=" ")} if sqlite else {"today": today, "now": now}
    anniversary = "date(a.renewal_date, '-365 days')" if sqlite else "(a.renewal_date - 365)"
    # The term that ended then was a whole one: the contract had started at least 11 months before
    # (a first term a little short of a year is co-terming; one of a few weeks is no term at all).
    term_start = "date(a.renewal_date, '-700 days')" if sqlite else "(a.renewal_date - 700)"
    # A churn's listed reason: the one its text names (code or label, whole, any case), else "other".
    reason = ("COALESCE((SELECT r.id FROM churn_reasons r WHERE lower(trim(a.churn_reason)) IN (r.code, lower(r.label_en))"
              " OR trim(a.churn_reason) = r.label_ja ORDER BY r.position LIMIT 1),"
              " (SELECT r.id FROM churn_reasons r WHERE r.code = 'other'))")
    bind.execute(sa.text(
        "INSERT INTO renewal_outcomes (account_id, term_end, kind, decided_on, new_renewal_date, arr_before_jpy, arr_after_jpy,"
        " churn_reason_id, note, inferred, recorded_by_id, created_at)"
        f" SELECT a.id, COALESCE(a.renewal_date, a.churned_on), 'churned', a.churned_on, NULL, a.arr_jpy, 0, {reason},"
        " a.churn_reason, FALSE, NULL, :now FROM accounts a WHERE a.status = 'churned' AND a.churned_on IS NOT NULL"), params)
    # The ARR an inferred renewal had before: the account's ARR history before that day, else its ARR now.
    before = (f"COALESCE((SELECT h.arr_jpy FROM account_arr_history h WHERE h.account_id = a.id AND h.effective_on < {anniversary}"
              " ORDER BY h.effective_on DESC LIMIT 1), a.arr_jpy)")
    bind.execute(sa.text(
        "INSERT INTO renewal_outcomes (account_id, term_end, kind, decided_on, new_renewal_date, arr_before_jpy, arr_after_jpy,"
        " churn_reason_id, note, inferred, recorded_by_id, created_at)"
        f" SELECT a.id, {anniversary}, 'renewed', {anniversary}, a.renewal_date, {before}, a.arr_jpy, NULL, NULL, TRUE, NULL, :now"
        f" FROM accounts a WHERE a.status <> 'churned' AND a.renewal_date IS NOT NULL AND {anniversary} <= :today"
        f" AND a.contract_start IS NOT NULL AND a.contract_start <= {term_start}"), params)


def downgrade() -> None:
    op.drop_index('ix_renewal_outcomes_decided_on', table_name='renewal_outcomes')
    op.drop_index('ix_renewal_outcomes_account_id', table_name='renewal_outcomes')
    op.drop_table('renewal_outcomes')
    op.drop_table('churn_reasons')
