"""Action items that close their own loop: a kind and an occurrence per item (one open item per
account and alert kind), playbooks and their steps, a recorded history of each item, notes on the
account timeline, and the vendor's recovery and reopen windows.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 12:36:36.603268+00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('playbooks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('turned_red', 'renewal_at_risk', 'check_in_overdue', 'request', name='playbook_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_playbooks_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_playbooks')),
    sa.UniqueConstraint('kind', name=op.f('uq_playbooks_kind'))
    )
    op.create_table('account_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('call', 'meeting', 'note', name='note_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('happened_on', sa.Date(), nullable=False),
    sa.Column('participants', sa.String(length=300), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_account_notes_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_account_notes_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_account_notes_partner_id_partners'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_notes'))
    )
    with op.batch_alter_table('account_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_notes_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_notes_partner_id'), ['partner_id'], unique=False)

    op.create_table('playbook_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('playbook_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('title_ja', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('note_ja', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['playbook_id'], ['playbooks.id'], name=op.f('fk_playbook_steps_playbook_id_playbooks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_playbook_steps')),
    sa.UniqueConstraint('playbook_id', 'position', name=op.f('uq_playbook_steps_playbook_id_position'))
    )
    with op.batch_alter_table('playbook_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_playbook_steps_playbook_id'), ['playbook_id'], unique=False)

    op.create_table('action_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('event', sa.Enum('opened', 'assigned', 'due_changed', 'status_changed', 'step_done', 'step_undone', 'raised_again', 'resolved', 'reopened', name='action_event_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_action_events_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_action_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['item_id'], ['action_items.id'], name=op.f('fk_action_events_item_id_action_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_action_events_partner_id_partners'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_events'))
    )
    with op.batch_alter_table('action_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_events_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_events_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_events_partner_id'), ['partner_id'], unique=False)

    op.create_table('action_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('title_ja', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('note_ja', sa.Text(), nullable=True),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['done_by_id'], ['users.id'], name=op.f('fk_action_steps_done_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['item_id'], ['action_items.id'], name=op.f('fk_action_steps_item_id_action_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_action_steps_partner_id_partners'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_steps')),
    sa.UniqueConstraint('item_id', 'position', name=op.f('uq_action_steps_item_id_position'))
    )
    with op.batch_alter_table('action_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_steps_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_steps_partner_id'), ['partner_id'], unique=False)

    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Enum('turned_red', 'renewal_at_risk', 'check_in_overdue', 'request', name='action_kind', native_enum=False, create_constraint=True, length=20), server_default='request', nullable=False))
        batch_op.add_column(sa.Column('subject', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('raised_count', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('last_raised_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('auto_resolution', sa.Enum('check_in_received', 'recovered', 'renewed', 'churned', name='auto_resolution', native_enum=False, create_constraint=True, length=20), nullable=True))
        batch_op.add_column(sa.Column('resolution_params', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('closed_by_id', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(batch_op.f('ck_action_items_raised_count_positive'), 'raised_count >= 1')
        batch_op.create_index('ix_action_items_status_due_on', ['status', 'due_on'], unique=False)

    # Items raised from alerts take their alert's kind and occurrence.
    op.execute("""UPDATE action_items SET
        kind = (SELECT alerts.kind FROM alerts WHERE alerts.id = action_items.alert_id),
        subject = (SELECT alerts.subject FROM alerts WHERE alerts.id = action_items.alert_id),
        last_raised_on = (SELECT alerts.raised_on FROM alerts WHERE alerts.id = action_items.alert_id)
        WHERE alert_id IS NOT NULL""")
    # Before "one open item per account and kind": a second open item for the same account and
    # kind is counted on the first and cancelled, saying where it went.
    op.execute("""UPDATE action_items SET raised_count = (
            SELECT count(*) FROM action_items AS same WHERE same.account_id = action_items.account_id
            AND same.kind = action_items.kind AND same.status IN ('open', 'in_progress'))
        WHERE kind != 'request' AND status IN ('open', 'in_progress') AND id = (
            SELECT min(first.id) FROM action_items AS first WHERE first.account_id = action_items.account_id
            AND first.kind = action_items.kind AND first.status IN ('open', 'in_progress'))""")
    op.execute("""UPDATE action_items SET status = 'cancelled', closed_at = CURRENT_TIMESTAMP,
            resolution = 'Raised again while an earlier item for the same account was open: counted on that item.'
        WHERE kind != 'request' AND status IN ('open', 'in_progress') AND id > (
            SELECT min(first.id) FROM action_items AS first WHERE first.account_id = action_items.account_id
            AND first.kind = action_items.kind AND first.status IN ('open', 'in_progress'))""")

    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.create_index('uq_action_items_open_alert_kind', ['account_id', 'kind'], unique=True, sqlite_where=sa.text("status IN ('open', 'in_progress') AND kind != 'request'"), postgresql_where=sa.text("status IN ('open', 'in_progress') AND kind != 'request'"))
        batch_op.create_foreign_key(batch_op.f('fk_action_items_closed_by_id_users'), 'users', ['closed_by_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('reporting_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recovered_after_days', sa.Integer(), server_default='14', nullable=False))
        batch_op.add_column(sa.Column('reopen_within_days', sa.Integer(), server_default='30', nullable=False))
        batch_op.create_check_constraint(batch_op.f('ck_reporting_settings_recovered_after_days_range'),
                                         'recovered_after_days BETWEEN 1 AND 365')
        batch_op.create_check_constraint(batch_op.f('ck_reporting_settings_reopen_within_days_range'),
                                         'reopen_within_days BETWEEN 0 AND 365')



def downgrade() -> None:
    with op.batch_alter_table('reporting_settings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_reporting_settings_reopen_within_days_range'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_reporting_settings_recovered_after_days_range'), type_='check')
        batch_op.drop_column('reopen_within_days')
        batch_op.drop_column('recovered_after_days')

    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_action_items_closed_by_id_users'), type_='foreignkey')
        batch_op.drop_index('uq_action_items_open_alert_kind', sqlite_where=sa.text("status IN ('open', 'in_progress') AND kind != 'request'"), postgresql_where=sa.text("status IN ('open', 'in_progress') AND kind != 'request'"))
        batch_op.drop_index('ix_action_items_status_due_on')
        batch_op.drop_constraint(batch_op.f('ck_action_items_raised_count_positive'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_action_items_action_kind'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_action_items_auto_resolution'), type_='check')
        batch_op.drop_column('closed_by_id')
        batch_op.drop_column('resolution_params')
        batch_op.drop_column('auto_resolution')
        batch_op.drop_column('last_raised_on')
        batch_op.drop_column('raised_count')
        batch_op.drop_column('subject')
        batch_op.drop_column('kind')

    with op.batch_alter_table('action_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_steps_partner_id'))
        batch_op.drop_index(batch_op.f('ix_action_steps_item_id'))

    op.drop_table('action_steps')
    with op.batch_alter_table('action_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_events_partner_id'))
        batch_op.drop_index(batch_op.f('ix_action_events_item_id'))
        batch_op.drop_index(batch_op.f('ix_action_events_account_id'))

    op.drop_table('action_events')
    with op.batch_alter_table('playbook_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_playbook_steps_playbook_id'))

    op.drop_table('playbook_steps')
    with op.batch_alter_table('account_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_notes_partner_id'))
        batch_op.drop_index(batch_op.f('ix_account_notes_account_id'))

    op.drop_table('account_notes')
    op.drop_table('playbooks')
