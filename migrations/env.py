"""Alembic environment: the same database URL the app reads, the models' metadata for autogenerate."""
from logging.config import fileConfig

from alembic import context

from portal import models  # noqa: F401  (registers the tables)
from portal.core.config import Config
from portal.core.db import Base, make_engine

config = context.config
if config.config_file_name and config.cmd_opts is not None:  # the plain alembic CLI
    fileConfig(config.config_file_name, disable_existing_loggers=False)

url = config.get_main_option("sqlalchemy.url") or Config.from_env().database_url
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    if connection.dialect.name == "sqlite":
        # Batch mode rebuilds a table to alter it on SQLite; with foreign keys on, dropping the
        # old copy of a referenced table would fail. SQLite only honours this outside a transaction.
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    # Batch mode lets the same migration alter tables on SQLite.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
