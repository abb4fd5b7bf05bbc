"""Benchmark: the nightly aggregation day after day, with score history, beside its floor.

    .venv/bin/python bench/aggregation_days.py --accounts 100000 --days 3 --history 0 \
        --database-url postgresql+psycopg://root@127.0.0.1:5432/wt_aggregation_bench

Keeps its data in a schema named after the size (`agg_<accounts>`, `--fresh` builds it anew), so
the runs can go on day after day as the scheduler's would: each run is the FIRST run of a new day
(no ANALYZE in between but what the job does itself). `--history N` first adds N days of score
history before the first day (copied from a scored day by SQL, with a turned-red alert for 2 % of
the accounts each day), to show whether the cost grows with the history kept.

Per run it prints the total, the slowest statements (time summed per statement text) and the
floor (bench.nightly.floor: a hand-written pass over the same inputs writing the same rows, rolled back).
"""
from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.aggregation import DAY, fill  # noqa: E402
from bench.nightly import floor  # noqa: E402
from portal.core.db import make_engine  # noqa: E402
from portal.core.migrate import upgrade  # noqa: E402
from portal.models import make_session_factory  # noqa: E402
from portal.scoring.aggregation import aggregate  # noqa: E402

class StatementTimes:
    """Seconds per statement text (first 90 characters), for the run's profile."""

    def __init__(self, engine):
        self.times: dict[str, float] = defaultdict(float)
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.times[f"{_caller():<45} {' '.join(statement.split())[:60]}"] += (
            time.perf_counter() - conn.info.pop("started", time.perf_counter()))

    def top(self, n: int = 10) -> list[tuple[str, float]]:
        out = sorted(self.times.items(), key=lambda kv: -kv[1])[:n]
        self.times.clear()
        return out


def _caller() -> str:
    """The portal functions the statement came from, innermost two."""
    names, frame = [], sys._getframe(2)
    while frame and len(names) < 2:
        if "/portal/" in frame.f_code.co_filename and "/core/" not in frame.f_code.co_filename:
            names.append(frame.f_code.co_name)
        frame = frame.f_back
    return "<".join(names)


def add_history(session, days: int, first_day) -> None:
    """`days` days of scores before `first_day`, copied from its scores, and 2 % turned red each day."""
    columns = [r[0] for r in session.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'account_scores' AND column_name NOT IN ('id', 'day') ORDER BY ordinal_position"))]
    listed = ", ".join(columns)
    # Copied from a temporary table: a self-join would rescan the growing table once per day.
    session.execute(text(f"CREATE TEMP TABLE day_scores AS SELECT {listed} FROM account_scores WHERE day = :first"),
                    {"first": first_day})
    session.execute(text(f"""
        INSERT INTO account_scores (day, {listed})
        SELECT d::date, {listed} FROM generate_series(CAST(:first AS date) - :days, CAST(:first AS date) - 1,
                                                      interval '1 day') d CROSS JOIN day_scores"""),
                    {"first": first_day, "days": days})
    session.execute(text("DROP TABLE day_scores"))
    session.execute(text("""
        INSERT INTO alerts (kind, account_id, partner_id, subject, raised_on, created_at)
        SELECT 'turned_red', a.id, a.partner_id, to_char(d, 'YYYY-MM-DD'), d::date, now()
        FROM accounts a, generate_series(CAST(:first AS date) - :days, CAST(:first AS date) - 1, interval '1 day') d
        WHERE (a.id * 7919 + extract(doy FROM d)::int) % 50 = 0
        ON CONFLICT DO NOTHING"""), {"first": first_day, "days": days})
    session.execute(text("""
        INSERT INTO aggregation_days (day, status, claimed_at, heartbeat_at, snapshot_at, claim_token)
        SELECT d::date, 'done', now(), now(), now(), 'history'
        FROM generate_series(CAST(:first AS date) - :days, CAST(:first AS date) - 1, interval '1 day') d
        ON CONFLICT DO NOTHING"""), {"first": first_day, "days": days})
    session.commit()
    session.execute(text("ANALYZE"))
    session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=3, help="runs, one per new day")
    parser.add_argument("--history", type=int, default=0, help="days of score history to add first")
    parser.add_argument("--start", default=None, help="first day to run (default: the day after the last one run)")
    parser.add_argument("--fresh", action="store_true", help="drop and build the schema anew")
    parser.add_argument("--explain-over-ms", type=int, default=0, help="auto_explain statements slower than this")
    parser.add_argument("--database-url", required=True, help="PostgreSQL URL")
    args = parser.parse_args()
    schema = f"agg_{args.accounts}"
    admin = make_engine(args.database_url)
    with admin.begin() as conn:
        if args.fresh:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        exists = conn.execute(text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"), {"s": schema}).first()
        if not exists:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(args.database_url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    upgrade(url)
    engine = make_engine(url)
    session = make_session_factory(engine)()
    if not exists:
        started = time.perf_counter()
        rows = fill(session, args.accounts, random.Random(args.accounts))
        session.execute(text("ANALYZE"))
        session.commit()
        print(f"generated {rows:,} rows in {time.perf_counter() - started:.0f} s")
    last = session.execute(text("SELECT max(day) FROM aggregation_days WHERE claim_token <> 'history'")).scalar()
    day = DAY if last is None else last + timedelta(days=1)
    if args.start:
        from datetime import date
        day = date.fromisoformat(args.start)
    if args.history:
        if last is None:
            raise SystemExit("run one day first: the history is copied from a scored day")
        started = time.perf_counter()
        first = session.execute(text("SELECT min(day) FROM aggregation_days WHERE claim_token <> 'history'")).scalar()
        add_history(session, args.history, first)
        print(f"added {args.history} days of history before {first} in {time.perf_counter() - started:.0f} s")
    history = session.execute(text("SELECT count(DISTINCT day) FROM account_scores")).scalar()
    times = StatementTimes(engine)
    if args.explain_over_ms:
        @event.listens_for(engine, "connect")
        def _explain(dbapi_connection, record):  # plans of the slow statements, in the server's log
            with dbapi_connection.cursor() as cursor:
                cursor.execute("LOAD 'auto_explain'")
                cursor.execute(f"SET auto_explain.log_min_duration = {args.explain_over_ms}")
                cursor.execute("SET auto_explain.log_analyze = on")
                cursor.execute("SET auto_explain.log_buffers = on")
            dbapi_connection.commit()
        engine.dispose()
        session.close()
        session = make_session_factory(engine)()
    for _ in range(args.days):
        times.top()  # forget the previous day's floor
        started = time.perf_counter()
        result = aggregate(session, day, trigger="cli", force=True)
        elapsed = time.perf_counter() - started
        assert result.status == "done", result.error
        profile = times.top()
        base = floor(session, day)
        print(f"\n{schema} {day}: {elapsed:.1f} s, floor {base:.1f} s, ratio {elapsed / base:.1f}  "
              f"({result.account_rows:,} accounts, {result.alerts_raised:,} alerts, {history} days of scores before)")
        for statement, seconds in profile:
            print(f"  {seconds:7.2f} s  {statement}")
        day += timedelta(days=1)
        history += 1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
