"""A trigram index for the voice-of-the-customer search on PostgreSQL (ILIKE '%word%' then reads
the index instead of every item's text).

The pg_trgm extension is created in the public schema (a schema of its own would take the
extension with it when dropped); without the privilege to create it, or without the extension
in the server, the search keeps working without the index. SQLite gets a plain index of the
same name (its LIKE cannot use one; it keeps the schema the same as the models').

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 16:00:00+00:00
"""
import logging

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

INDEX = 'ix_voc_items_text_trgm'
log = logging.getLogger(__name__)


def _trigram_opclass(bind) -> str | None:
    """The schema-qualified gin_trgm_ops, after making sure pg_trgm is there; None when it cannot be."""
    try:
        with bind.begin_nested():
            bind.execute(text('CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public'))
    except DBAPIError as error:
        log.warning('pg_trgm is not available (%s): the voice-of-the-customer search runs without an index', error.orig)
    found = bind.execute(text(
        "SELECT n.nspname FROM pg_opclass c JOIN pg_namespace n ON n.oid = c.opcnamespace "
        "JOIN pg_am a ON a.oid = c.opcmethod WHERE c.opcname = 'gin_trgm_ops' AND a.amname = 'gin'")).scalar()
    return f'"{found}".gin_trgm_ops' if found else None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        opclass = _trigram_opclass(bind)
        if opclass:
            op.execute(f'CREATE INDEX {INDEX} ON voc_items USING gin (text {opclass})')
    else:
        op.create_index(INDEX, 'voc_items', ['text'])


def downgrade() -> None:
    # The extension stays: other databases' objects in this server may use it.
    op.execute(f'DROP INDEX IF EXISTS {INDEX}')
