"""The voice of the customer: the vendor's product areas (English and Japanese names and
aliases), each item's matched area beside the words the reseller wrote, and the vendor's status
and answer that the reseller reads. Existing items are matched to the starting areas by their
written area; the written words stay. The audit log learns the product area events.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 09:00:00+00:00
"""
import unicodedata

from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

STATUSES = ('new', 'acknowledged', 'planned', 'shipped', 'declined')
OLD_ACTIONS = ('login', 'login_failed', 'logout', 'user_created', 'user_updated', 'role_changed', 'user_deactivated',
               'user_reactivated', 'partner_created', 'partner_updated', 'partner_settings_changed', 'token_created',
               'token_revoked', 'cadence_changed', 'feature_created', 'feature_updated', 'milestone_template_created',
               'milestone_template_updated', 'tier_rules_changed', 'health_model_saved', 'account_created', 'account_updated')
NEW_ACTIONS = OLD_ACTIONS + ('product_area_created', 'product_area_updated')

# The starting areas as portal/reporting/reference_data.py had them (a migration keeps its own copy).
AREAS = [
    ("reports", "Reports and dashboards", "レポート・ダッシュボード", ["Reports", "Dashboards", "レポート", "ダッシュボード", "帳票"]),
    ("workflow", "Workflow", "ワークフロー", ["Approvals", "承認", "承認フロー"]),
    ("mobile", "Mobile app", "モバイルアプリ", ["Mobile", "モバイル", "スマホ", "スマートフォン"]),
    ("integrations", "Integrations", "外部サービス連携", ["Integration", "API", "連携"]),
    ("security", "Security and sign-in", "セキュリティ・ログイン", ["Security", "SSO", "セキュリティ", "シングルサインオン", "ログイン"]),
    ("administration", "Administration and settings", "管理・設定", ["Admin", "Settings", "管理", "設定"]),
]

# The audit log's append-only guard (as migration 0010 made it): rebuilding the table on SQLite drops it.
MESSAGE = "audit_events is append-only"
SQLITE_GUARD = (
    f"CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
)


def _key(text):
    katakana = {code: code + 0x60 for code in range(0x3041, 0x3097)}
    return " ".join(unicodedata.normalize("NFKC", text).casefold().translate(katakana).split())


def _audit_actions(actions) -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    with op.batch_alter_table('audit_events') as batch:
        batch.drop_constraint(op.f('ck_audit_events_action'), type_='check')
        batch.create_check_constraint(op.f('ck_audit_events_action'), f"action IN {actions!r}")
    if sqlite:
        for statement in SQLITE_GUARD:
            op.execute(statement)


def upgrade() -> None:
    areas = op.create_table(
        'product_areas',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=40), nullable=False),
        sa.Column('name_en', sa.String(length=100), nullable=False),
        sa.Column('name_ja', sa.String(length=100), nullable=False),
        sa.Column('aliases', sa.JSON(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_product_areas')),
        sa.UniqueConstraint('key', name=op.f('uq_product_areas_key')),
    )
    with op.batch_alter_table('voc_items') as batch:
        batch.add_column(sa.Column('product_area_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('status', sa.String(length=20), server_default='new', nullable=False))
        batch.create_check_constraint(op.f('ck_voc_items_voc_status'), f"status IN {STATUSES!r}")
        batch.add_column(sa.Column('answer', sa.Text(), nullable=True))
        batch.add_column(sa.Column('answered_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('answered_by_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f('fk_voc_items_product_area_id_product_areas'), 'product_areas', ['product_area_id'], ['id'],
                                 ondelete='RESTRICT')
        batch.create_foreign_key(batch.f('fk_voc_items_answered_by_id_users'), 'users', ['answered_by_id'], ['id'], ondelete='SET NULL')
        batch.create_index(batch.f('ix_voc_items_product_area_id'), ['product_area_id'], unique=False)
        batch.create_index(batch.f('ix_voc_items_status'), ['status'], unique=False)
    _audit_actions(NEW_ACTIONS)

    op.bulk_insert(areas, [{"id": n + 1, "key": key, "name_en": en, "name_ja": ja, "aliases": aliases, "active": True, "position": n}
                           for n, (key, en, ja, aliases) in enumerate(AREAS)])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("SELECT setval(pg_get_serial_sequence('product_areas', 'id'), (SELECT MAX(id) FROM product_areas))")
    # Existing items: matched by the words they were written with (one UPDATE per distinct text).
    by_word = {_key(word): n + 1 for n, (key, en, ja, aliases) in enumerate(AREAS) for word in (key, en, ja, *aliases)}
    bind = op.get_bind()
    written = bind.execute(sa.text("SELECT DISTINCT product_area FROM voc_items WHERE product_area IS NOT NULL")).scalars().all()
    for text in written:
        if (area_id := by_word.get(_key(text))) is not None:
            bind.execute(sa.text("UPDATE voc_items SET product_area_id = :area WHERE product_area = :text"), {"area": area_id, "text": text})


def downgrade() -> None:
    # The audit log is append-only: with product area events in it, the old CHECK refuses the downgrade.
    _audit_actions(OLD_ACTIONS)
    with op.batch_alter_table('voc_items') as batch:
        batch.drop_constraint(op.f('ck_voc_items_voc_status'), type_='check')
        batch.drop_index(batch.f('ix_voc_items_status'))
        batch.drop_index(batch.f('ix_voc_items_product_area_id'))
        batch.drop_constraint(batch.f('fk_voc_items_answered_by_id_users'), type_='foreignkey')
        batch.drop_constraint(batch.f('fk_voc_items_product_area_id_product_areas'), type_='foreignkey')
        batch.drop_column('answered_by_id')
        batch.drop_column('answered_at')
        batch.drop_column('answer')
        batch.drop_column('status')
        batch.drop_column('product_area_id')
    op.drop_table('product_areas')
