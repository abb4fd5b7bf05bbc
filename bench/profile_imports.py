"""Benchmark: a check-in file of many rows planned and committed, at the service level.

    createdb -h 127.0.0.1 -U root imports_bench
    .venv/bin/python -m bench.profile_imports --rows 10000 --accounts 20000 \
        --database-url postgresql+psycopg://root@127.0.0.1:5432/imports_bench

On an empty database, generates accounts with bench/aggregation.py's fill() (a year of monthly check-ins each), gives
one partner `--rows` of them, and writes a file with one row per account of that partner:
a new or corrected check-in for the current period. Times, with the statements each issues:
plan (the upload, kept as JSON), preview (the stored plan read back), commit (from the stored
plan), then the same file again (every row unchanged).
The database is left as the run leaves it: to run again on the same data, generate into one
database and clone it for each run (`createdb -T imports_bench imports_bench_run`).
Timings on a shared machine are noisy: run it more than once.
"""
from __future__ import annotations

import argparse
import csv
import io
import random
import resource
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.aggregation import DAY, database, fill  # noqa: E402
from portal.core.db import make_engine  # noqa: E402
from portal.core.migrate import upgrade  # noqa: E402
from portal.models import ImportBatch, Partner, Role, User, make_session_factory  # noqa: E402
from portal.reporting import imports  # noqa: E402


@contextmanager
def measured(engine, label: str):
    statements = []
    listener = lambda *_a: statements.append(1)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        event.remove(engine, "before_cursor_execute", listener)
        print(f"{label:<28} {elapsed:>8.2f} s {len(statements):>8,} statements", flush=True)


def check_in_file(references: list[str], rng: random.Random) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Reference", "Period", "Active users", "NPS", "Open tickets", "Sentiment (green/yellow/red)",
                     "Sentiment reason", "Product area", "Customer voice type", "Customer voice"])
    for n, reference in enumerate(references):
        sentiment = rng.choice(["green", "green", "yellow"])
        voc = n % 5 == 0
        writer.writerow([reference, f"{DAY:%Y-%m}", rng.randint(0, 10), rng.randint(0, 10), rng.randint(0, 3), sentiment,
                         "slow replies" if sentiment != "green" else "", "Reports" if voc else "", "request" if voc else "",
                         "Wants a CSV export" if voc else ""])
    return out.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: a SQLite file)")
    args = parser.parse_args()
    url, drop = database(args.database_url)
    url = args.database_url or url
    try:
        upgrade(url)
        engine = make_engine(url)
        session = make_session_factory(engine)()
        if session.scalar(text("SELECT count(*) FROM accounts")) == 0:
            generate(session, args)
        big = session.scalar(text("SELECT min(id) FROM partners"))
        partner = session.get(Partner, big)
        user = session.scalar(select(User).where(User.email == "bench@example.com"))
        references = list(session.scalars(text("SELECT reference FROM accounts WHERE partner_id = :p ORDER BY id"), {"p": big}))
        content = check_in_file(references, random.Random(1))
        sheet = imports.read_file(content, "bench.csv", max_rows=len(references), max_bytes=len(content) + 1)
        for attempt in ("first upload", "same file again"):
            with measured(engine, f"plan ({attempt})"):
                batch = ImportBatch()
                imports.keep_plan(batch, imports.plan_import(session, partner, sheet, DAY))
                stored = batch.plan
            session.rollback()
            with measured(engine, f"preview ({attempt})"):
                plan = imports.ImportPlan.from_json(stored)
            assert plan.ok, plan.errors[:3]
            print("   ", plan.summary(), flush=True)
            with measured(engine, f"commit ({attempt})"):
                plan = imports.commit_import(session, partner, sheet, DAY, user, plan=plan)
            assert plan.ok, plan.errors[:3]
        session.close()
        engine.dispose()
    finally:
        if not args.database_url:
            drop()
    print(f"peak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def generate(session, args) -> None:
    """The accounts; one partner (the lowest id) serves exactly --rows of them."""
    started = time.perf_counter()
    fill(session, args.accounts, random.Random(args.accounts))
    big = session.scalar(text("SELECT min(id) FROM partners"))
    first = "(SELECT id FROM accounts ORDER BY id LIMIT :n)"
    for table in ("accounts", "check_ins", "milestones"):
        column = "id" if table == "accounts" else "account_id"
        session.execute(text(f"UPDATE {table} SET partner_id = CASE WHEN {column} IN {first} THEN :p "
                             f"WHEN partner_id = :p THEN :p + 1 ELSE partner_id END"), {"p": big, "n": args.rows})
    session.add(User(partner_id=big, email="bench@example.com", display_name="Bench", role=Role.PARTNER_USER,
                     password_hash="x", language="en"))
    session.commit()
    session.execute(text("ANALYZE"))
    session.commit()
    print(f"generated {args.accounts:,} accounts in {time.perf_counter() - started:.1f} s; the file: {args.rows:,} rows", flush=True)


if __name__ == "__main__":
    main()
