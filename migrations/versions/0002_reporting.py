"""reporting check-ins milestones stakeholders api

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:12:34.439454+00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('features',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('name_ja', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_features')),
    sa.UniqueConstraint('key', name=op.f('uq_features_key'))
    )
    op.create_table('milestone_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('name_ja', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('due_after_days', sa.Integer(), nullable=False),
    sa.Column('marks_first_value', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_milestone_templates')),
    sa.UniqueConstraint('key', name=op.f('uq_milestone_templates_key'))
    )
    op.create_table('reporting_cadences',
    sa.Column('segment', sa.Enum('high_touch', 'low_touch', 'tech_touch', name='cadence_segment', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('grace_days', sa.Integer(), nullable=False),
    sa.CheckConstraint('grace_days >= 0 AND grace_days <= 60', name=op.f('ck_reporting_cadences_grace_days_range')),
    sa.CheckConstraint('months IN (1, 2, 3, 4, 6, 12)', name=op.f('ck_reporting_cadences_months_divides_year')),
    sa.PrimaryKeyConstraint('segment', name=op.f('pk_reporting_cadences'))
    )
    op.create_table('idempotency_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response_body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_idempotency_records_partner_id_partners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_records')),
    sa.UniqueConstraint('partner_id', 'key', name=op.f('uq_idempotency_records_partner_id_key'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_tokens_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_api_tokens_partner_id_partners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_partner_id'), ['partner_id'], unique=False)

    op.create_table('import_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('committed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_import_batches_partner_id_partners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_import_batches_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batches'))
    )
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_batches_content_sha256'), ['content_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_batches_partner_id'), ['partner_id'], unique=False)

    op.create_table('milestones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('planned', 'in_progress', 'done', 'blocked', 'skipped', name='milestone_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=True),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_milestones_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_milestones_partner_id_partners'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['template_id'], ['milestone_templates.id'], name=op.f('fk_milestones_template_id_milestone_templates'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_milestones_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_milestones')),
    sa.UniqueConstraint('account_id', 'template_id', name=op.f('uq_milestones_account_id_template_id'))
    )
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_milestones_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_milestones_partner_id'), ['partner_id'], unique=False)

    op.create_table('stakeholders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.Enum('decision_maker', 'administrator', 'end_user', 'other', name='stakeholder_role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('success_note', sa.String(length=300), nullable=True),
    sa.Column('last_contact_on', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_stakeholders_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_stakeholders_partner_id_partners'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stakeholders'))
    )
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stakeholders_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stakeholders_partner_id'), ['partner_id'], unique=False)

    op.create_table('change_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('source', sa.Enum('form', 'file', 'api', name='change_source', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('api_token_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_change_log_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['api_token_id'], ['api_tokens.id'], name=op.f('fk_change_log_api_token_id_api_tokens'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_change_log_partner_id_partners'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_change_log_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_log'))
    )
    with op.batch_alter_table('change_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_log_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_log_partner_id'), ['partner_id'], unique=False)

    op.create_table('check_ins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('form', 'file', 'api', name='report_source', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('api_token_id', sa.Integer(), nullable=True),
    sa.Column('active_users', sa.Integer(), nullable=True),
    sa.Column('nps', sa.Integer(), nullable=True),
    sa.Column('csat', sa.Integer(), nullable=True),
    sa.Column('ces', sa.Integer(), nullable=True),
    sa.Column('open_tickets', sa.Integer(), nullable=False),
    sa.Column('open_escalations', sa.Integer(), nullable=False),
    sa.Column('sentiment', sa.Enum('green', 'yellow', 'red', name='sentiment', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('sentiment_reason', sa.Text(), nullable=True),
    sa.Column('outcome_progress', sa.Integer(), nullable=True),
    sa.Column('outcome_note', sa.Text(), nullable=True),
    sa.Column('renewal_likelihood', sa.Enum('likely', 'unsure', 'unlikely', name='renewal_likelihood', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('expansion_jpy', sa.BigInteger(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint('active_users IS NULL OR active_users >= 0', name=op.f('ck_check_ins_active_users_not_negative')),
    sa.CheckConstraint('ces IS NULL OR (ces BETWEEN 1 AND 7)', name=op.f('ck_check_ins_ces_range')),
    sa.CheckConstraint('csat IS NULL OR (csat BETWEEN 1 AND 5)', name=op.f('ck_check_ins_csat_range')),
    sa.CheckConstraint('expansion_jpy >= 0', name=op.f('ck_check_ins_expansion_not_negative')),
    sa.CheckConstraint('nps IS NULL OR (nps BETWEEN 0 AND 10)', name=op.f('ck_check_ins_nps_range')),
    sa.CheckConstraint('open_tickets >= 0 AND open_escalations >= 0', name=op.f('ck_check_ins_tickets_not_negative')),
    sa.CheckConstraint('outcome_progress IS NULL OR (outcome_progress BETWEEN 0 AND 100)', name=op.f('ck_check_ins_progress_range')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_check_ins_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['api_token_id'], ['api_tokens.id'], name=op.f('fk_check_ins_api_token_id_api_tokens'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_check_ins_partner_id_partners'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_check_ins_submitted_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_ins')),
    sa.UniqueConstraint('account_id', 'period_start', 'version', name=op.f('uq_check_ins_account_id_period_start_version'))
    )
    with op.batch_alter_table('check_ins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_ins_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_check_ins_partner_id'), ['partner_id'], unique=False)

    op.create_table('check_in_features',
    sa.Column('check_in_id', sa.Integer(), nullable=False),
    sa.Column('feature_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['check_in_id'], ['check_ins.id'], name=op.f('fk_check_in_features_check_in_id_check_ins'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['feature_id'], ['features.id'], name=op.f('fk_check_in_features_feature_id_features'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('check_in_id', 'feature_id', name=op.f('pk_check_in_features'))
    )
    op.create_table('check_in_risks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('check_in_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.Enum('budget_cut', 'champion_left', 'competitor', 'low_usage', 'product_gap', 'other', name='risk_type', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('severity', sa.Enum('low', 'medium', 'high', name='risk_severity', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['check_in_id'], ['check_ins.id'], name=op.f('fk_check_in_risks_check_in_id_check_ins'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_in_risks'))
    )
    with op.batch_alter_table('check_in_risks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_in_risks_check_in_id'), ['check_in_id'], unique=False)

    op.create_table('voc_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('check_in_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('request', 'complaint', 'praise', name='voc_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('product_area', sa.String(length=100), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_voc_items_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['check_in_id'], ['check_ins.id'], name=op.f('fk_voc_items_check_in_id_check_ins'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_voc_items_partner_id_partners'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voc_items'))
    )
    with op.batch_alter_table('voc_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voc_items_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voc_items_check_in_id'), ['check_in_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voc_items_partner_id'), ['partner_id'], unique=False)

    # A plain ADD COLUMN: both databases do it in place, keeping the rows.
    op.add_column('partners', sa.Column('imports_create_accounts', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.drop_column('imports_create_accounts')

    with op.batch_alter_table('voc_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voc_items_partner_id'))
        batch_op.drop_index(batch_op.f('ix_voc_items_check_in_id'))
        batch_op.drop_index(batch_op.f('ix_voc_items_account_id'))

    op.drop_table('voc_items')
    with op.batch_alter_table('check_in_risks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_in_risks_check_in_id'))

    op.drop_table('check_in_risks')
    op.drop_table('check_in_features')
    with op.batch_alter_table('check_ins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_ins_partner_id'))
        batch_op.drop_index(batch_op.f('ix_check_ins_account_id'))

    op.drop_table('check_ins')
    with op.batch_alter_table('change_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_log_partner_id'))
        batch_op.drop_index(batch_op.f('ix_change_log_account_id'))

    op.drop_table('change_log')
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stakeholders_partner_id'))
        batch_op.drop_index(batch_op.f('ix_stakeholders_account_id'))

    op.drop_table('stakeholders')
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_milestones_partner_id'))
        batch_op.drop_index(batch_op.f('ix_milestones_account_id'))

    op.drop_table('milestones')
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_batches_partner_id'))
        batch_op.drop_index(batch_op.f('ix_import_batches_content_sha256'))

    op.drop_table('import_batches')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_partner_id'))

    op.drop_table('api_tokens')
    op.drop_table('idempotency_records')
    op.drop_table('reporting_cadences')
    op.drop_table('milestone_templates')
    op.drop_table('features')
