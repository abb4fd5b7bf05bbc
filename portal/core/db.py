"""Engine and session factory shared by the web app, the CLI and the scheduler process."""
from __future__ import annotations

import enum

from datetime import date, datetime, timezone

import orjson
from sqlalchemy import DateTime, Enum, MetaData, TypeDecorator, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Named constraints, so that migrations can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def enum_column(enum_cls: type[enum.Enum], name: str, length: int = 20) -> Enum:
    """Enums are stored as their value in a VARCHAR with a CHECK, portable across SQLite and PostgreSQL."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class UTCDateTime(TypeDecorator):
    """A moment: stored as naive UTC (SQLite has no zones, and the PostgreSQL columns are
    TIMESTAMP WITHOUT TIME ZONE), always read back aware, in UTC. A naive value given is taken as UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return value.replace(tzinfo=timezone.utc) if value is not None else None


def _json_dumps(value) -> str:
    """JSON columns written with orjson: an import's stored plan (10,000 rows, 2.6 MB) in 0.01 s
    instead of 0.05 s, and read back in a fifth of the json module's time."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, **kwargs) -> Engine:
    kwargs.setdefault("json_serializer", _json_dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):
            # pysqlite starts transactions only before DML, so DDL (a migration) and reads would
            # run outside them; take over and BEGIN ourselves, as SQLAlchemy's docs recommend.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # With WAL, NORMAL cannot corrupt the file and commits skip an fsync (SQLite's advice).
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            # A transaction that reads and then writes must take the write lock up front
            # (execution option sqlite_begin="IMMEDIATE"): otherwise a writer that commits in
            # between makes its first write fail at once with "database is locked".
            connection.exec_driver_sql(f"BEGIN {connection.get_execution_options().get('sqlite_begin', '')}".strip())

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def writer_session(factory: sessionmaker[Session]) -> Session:
    """A session for a job whose transactions read then write (the email job): on SQLite each
    transaction takes the write lock first, so two such jobs wait for each other instead of one
    failing with "database is locked". Transactions must stay short: commit before slow work."""
    engine = factory.kw["bind"]
    return factory(bind=engine.execution_options(sqlite_begin="IMMEDIATE"))


def insert_once(session: Session, model, key: list[str]):
    """INSERT … ON CONFLICT (key) DO NOTHING on either database: a row whose unique key is taken is
    left out, and a second process inserting the same row at the same time adds nothing either."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model).on_conflict_do_nothing(index_elements=key)


def among(session: Session, column, values: list):
    """column IN values; on PostgreSQL as one array parameter (= ANY), not thousands of them
    (psycopg rewrites a statement's placeholders in Python, which for 10,000 takes a while)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import any_

        return column == any_(pg_array(values, column.type, session.get_bind().dialect))
    return column.in_(values)


def pg_array(values: list, item_type, dialect=None):
    """A PostgreSQL array parameter of the column type `item_type` (its bind processing applied,
    with `dialect`). Ints, dates and strings go as one text literal, cast: psycopg checks and
    dumps a list element by element (0.02 s for 10,000 ids, and a statement may send several),
    where joining them takes a millisecond."""
    from sqlalchemy import bindparam, cast
    from sqlalchemy.dialects.postgresql import ARRAY
    from sqlalchemy.types import String

    process = item_type._cached_bind_processor(dialect) if dialect is not None else None
    given = [process(v) for v in values] if process else values
    kinds = {type(v) for v in given}
    if kinds <= {int, date}:
        literal = "{" + ",".join(map(str, given)) + "}"
    elif kinds <= {str}:
        literal = "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in given) + "}"
    else:  # anything else (None, moments, floats) as psycopg dumps it
        return bindparam(None, values, type_=ARRAY(item_type))
    return cast(bindparam(None, literal, type_=String), ARRAY(item_type))


def new_ids(session: Session, table, count: int) -> list[int] | None:
    """`count` ids taken from a PostgreSQL table's sequence in one query, so that its rows go in
    with insert_many (one INSERT … SELECT FROM unnest) rather than INSERT … RETURNING pages of tens
    of thousands of placeholders, which psycopg parses in Python. None on SQLite: the caller uses
    RETURNING there (SQLite hands out ids only as it inserts)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    # The sequence looked up once (a sub-select), not once per id, and the ids sent back as one
    # array: 10,000 ids in 8 ms rather than 36.
    return session.scalar(text("SELECT array_agg(nextval((SELECT pg_get_serial_sequence(:table, 'id'))::regclass))"
                               " FROM generate_series(1, :n)"), {"table": table.name, "n": count}) or []


def insert_many(session: Session, table, rows: list[dict]) -> None:
    """Many rows (all with the same keys) in one statement. On PostgreSQL, one COPY … FROM STDIN
    in the session's transaction: psycopg writes the rows in C, where INSERT … SELECT FROM unnest
    (its arrays built in Python) took a second for 10,000 check-ins. Each value goes through its
    column type's bind processing first (enums by value, moments as naive UTC), as an INSERT's
    would. The row-by-row executemany stays on SQLite. COPY is not seen by SQLAlchemy's
    statement events: callers count it as the one statement it is."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(table.insert(), rows)
        return
    dialect = session.get_bind().dialect
    names = list(rows[0])
    processors = [(name, table.c[name].type._cached_bind_processor(dialect)) for name in names]
    plain = [name for name, process in processors if process is None]
    processed = [(name, process) for name, process in processors if process is not None]
    driver = session.connection().connection.driver_connection  # psycopg's own connection, in the session's transaction
    assert driver is not None
    cursor = driver.cursor()
    try:
        with cursor.copy(f"COPY {table.name} ({', '.join(plain + [name for name, _ in processed])}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[name] for name in plain] + [process(row[name]) for name, process in processed])
    finally:
        cursor.close()


def analyze(session: Session, *models) -> None:
    """Planner statistics for the rows just written (PostgreSQL): without them the statements
    after it plan the new rows as absent and probe an index once per row (the first run after a
    bulk load opened 71k action items in 254 s that way). ANALYZE runs inside the transaction and
    sees its rows; autovacuum would only come by after the commit."""
    if session.get_bind().dialect.name == "postgresql":
        for model in models:
            session.execute(text(f"ANALYZE {model.__tablename__}"))
