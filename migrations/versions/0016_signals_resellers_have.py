"""Signals as resellers have them: CSAT as a decimal average, NPS as an answer or a score,
feature adoption in levels or percentages, and support-load thresholds per 100 seats.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 09:30:00+00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('check_ins') as batch:
        batch.alter_column('csat', existing_type=sa.Integer(), type_=sa.Float(), existing_nullable=True,
                           postgresql_using='csat::double precision')
        batch.add_column(sa.Column('nps_score', sa.Integer(), nullable=True))
        batch.create_check_constraint(batch.f('ck_check_ins_nps_score_range'), 'nps_score IS NULL OR (nps_score BETWEEN -100 AND 100)')
        batch.create_check_constraint(batch.f('ck_check_ins_nps_answer_or_score'), 'nps IS NULL OR nps_score IS NULL')
    with op.batch_alter_table('check_in_features') as batch:
        # Reports from before levels said "in use": fully adopted.
        batch.add_column(sa.Column('adoption_pct', sa.Integer(), nullable=False, server_default='100'))
        batch.create_check_constraint(batch.f('ck_check_in_features_adoption_pct_range'), 'adoption_pct BETWEEN 0 AND 100')
    with op.batch_alter_table('account_scores') as batch:
        batch.alter_column('csat', existing_type=sa.Integer(), type_=sa.Float(), existing_nullable=True,
                           postgresql_using='csat::double precision')
        batch.add_column(sa.Column('feature_adoption_pct', sa.Float(), nullable=True))
        batch.add_column(sa.Column('nps_score', sa.Integer(), nullable=True))
    with op.batch_alter_table('health_models') as batch:
        batch.add_column(sa.Column('tickets_per_100_ok', sa.Float(), nullable=False, server_default='5'))
        batch.add_column(sa.Column('tickets_per_100_bad', sa.Float(), nullable=False, server_default='20'))
        batch.add_column(sa.Column('escalations_per_100_ok', sa.Float(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('escalations_per_100_bad', sa.Float(), nullable=False, server_default='2.5'))


def downgrade() -> None:
    with op.batch_alter_table('health_models') as batch:
        batch.drop_column('escalations_per_100_bad')
        batch.drop_column('escalations_per_100_ok')
        batch.drop_column('tickets_per_100_bad')
        batch.drop_column('tickets_per_100_ok')
    op.execute('UPDATE account_scores SET csat = round(csat)')
    with op.batch_alter_table('account_scores') as batch:
        batch.drop_column('nps_score')
        batch.drop_column('feature_adoption_pct')
        batch.alter_column('csat', existing_type=sa.Float(), type_=sa.Integer(), existing_nullable=True,
                           postgresql_using='round(csat)::integer')
    op.execute('DELETE FROM check_in_features WHERE adoption_pct = 0')  # "not used" was never stored before levels
    with op.batch_alter_table('check_in_features') as batch:
        batch.drop_constraint(batch.f('ck_check_in_features_adoption_pct_range'), type_='check')
        batch.drop_column('adoption_pct')
    op.execute('UPDATE check_ins SET csat = round(csat)')
    op.execute('UPDATE check_ins SET nps = round((nps_score + 100) / 20.0), nps_score = NULL WHERE nps_score IS NOT NULL AND nps IS NULL')
    with op.batch_alter_table('check_ins') as batch:
        batch.drop_constraint(batch.f('ck_check_ins_nps_answer_or_score'), type_='check')
        batch.drop_constraint(batch.f('ck_check_ins_nps_score_range'), type_='check')
        batch.drop_column('nps_score')
        batch.alter_column('csat', existing_type=sa.Float(), type_=sa.Integer(), existing_nullable=True,
                           postgresql_using='round(csat)::integer')
