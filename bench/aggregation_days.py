"""Benchmark: the nightly aggregation day after day, with score history, beside its floor.

    .venv/bin/python bench/aggregation_days.py --accounts 100000 --days 3 --history 0 \
        --database-url postgresql+psycopg://root@127.0.0.1:5432/wt_aggregation_bench

Keeps its data in a schema named after the size (`agg_<accounts>`, `--fresh` builds it anew), so
the runs can go on day after day as the scheduler's would: each run is the FIRST run of a new day
(no ANALYZE in between but what the job does itself). `--history N` first adds N days of score
history before the first day (copied from a scored day by SQL, with a turned-red alert for 2 % of
the accounts each day), to show whether the cost grows with the history kept.

Per run it prints the total, the slowest statements (time summed per statement text) and the
floor (FLOOR below: a hand-written pass over the same inputs writing the same rows, rolled back).
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
from portal.core.clock import end_of_day  # noqa: E402
from portal.core.db import make_engine  # noqa: E402
from portal.core.migrate import upgrade  # noqa: E402
from portal.models import make_session_factory  # noqa: E402
from portal.scoring.aggregation import aggregate  # noqa: E402

# The floor: what a hand-written pass costs that reads the same inputs as the score statement
# (each live account's latest check-in known by the vendor's end of day, its features, its
# milestones with their templates, its first-value milestone) and writes the same rows: one per
# live account, every column of account_scores filled, into account_scores itself (same indexes,
# same foreign keys) under a day no run uses, then the per-partner figures from those rows; all
# rolled back. Its components are one plain expression each, no rules for stale reports,
# coverage or capped bands: the model's arithmetic is what the real run pays for above this.
FLOOR_DAY = "1900-01-01"
FLOOR = f"""
INSERT INTO account_scores (day, account_id, partner_id, model_version, onboarding_phase, arr_jpy, renewal_date, score,
    band, objective_band, capped, stale, usage, onboarding, satisfaction, effort, sentiment_score, outcome, freshness,
    check_in_id, seats, active_users, features_used, features_total, nps, csat, ces, open_escalations, open_tickets,
    sentiment, outcome_progress, days_since_report, milestones_due, milestones_on_time, days_late_max, ttfv_days,
    coverage_pct, feature_adoption_pct, nps_score)
WITH latest AS (
    SELECT DISTINCT ON (account_id) * FROM check_ins
    WHERE period_start <= :day AND submitted_at < :known
    ORDER BY account_id, period_start DESC, version DESC),
used AS (
    SELECT f.check_in_id, count(*) FILTER (WHERE f.adoption_pct > 0) AS used, sum(f.adoption_pct) AS points
    FROM check_in_features f JOIN features ft ON ft.id = f.feature_id AND ft.active GROUP BY f.check_in_id),
m AS (
    SELECT account_id,
           count(*) FILTER (WHERE planned_on <= :day AND t.active AND status <> 'skipped') AS due,
           count(*) FILTER (WHERE planned_on <= :day AND t.active AND status <> 'skipped'
                            AND completed_on <= :day AND completed_on - planned_on <= 7) AS on_time,
           max(:day - planned_on) FILTER (WHERE planned_on <= :day AND t.active AND status <> 'skipped'
                                          AND (completed_on IS NULL OR completed_on > :day) AND :day - planned_on > 7) AS late_max,
           min(completed_on) FILTER (WHERE t.marks_first_value AND completed_on <= :day) AS first_value
    FROM milestones JOIN milestone_templates t ON t.id = milestones.template_id GROUP BY account_id),
s AS (
    SELECT a.*, c.id AS check_in_id, c.active_users, c.nps, c.nps_score, c.csat, c.ces, c.open_escalations, c.open_tickets,
           c.sentiment, c.outcome_progress, c.submitted_at, u.used, u.points, m.due, m.on_time, m.late_max, m.first_value,
           least(c.active_users::float / nullif(a.seats, 0), 1) * 100 AS usage_c,
           100.0 * m.on_time / nullif(m.due, 0) AS onboarding_c, c.nps * 10.0 AS satisfaction_c,
           (7 - c.ces) * 100.0 / 6 AS effort_c, CASE c.sentiment WHEN 'green' THEN 100 WHEN 'yellow' THEN 50 WHEN 'red' THEN 0 END AS sentiment_c
    FROM accounts a LEFT JOIN latest c ON c.account_id = a.id LEFT JOIN used u ON u.check_in_id = c.id
    LEFT JOIN m ON m.account_id = a.id
    WHERE (a.churned_on IS NULL OR a.churned_on > :day) AND (a.contract_start IS NULL OR a.contract_start <= :day)),
scored AS (
    SELECT s.*, round((coalesce(usage_c, 0) * 25 + coalesce(onboarding_c, 0) * 10 + coalesce(satisfaction_c, 0) * 20
                       + coalesce(effort_c, 0) * 15 + coalesce(sentiment_c, 0) * 15 + coalesce(outcome_progress, 0) * 15) / 100) AS score
    FROM s)
SELECT DATE '{FLOOR_DAY}', id, partner_id, 0, status = 'onboarding', arr_jpy, renewal_date, score,
       CASE WHEN score >= 70 THEN 'green' WHEN score >= 55 THEN 'yellow' ELSE 'red' END,
       CASE WHEN score >= 70 THEN 'green' WHEN score >= 55 THEN 'yellow' ELSE 'red' END, false,
       :day - submitted_at::date > 120, round(usage_c), round(onboarding_c), round(satisfaction_c), round(effort_c), sentiment_c,
       outcome_progress, 100, check_in_id, seats, active_users, used, 5, nps, csat, ces, open_escalations, open_tickets,
       sentiment, outcome_progress, :day - submitted_at::date, coalesce(due, 0), coalesce(on_time, 0), late_max,
       first_value - contract_start, 100, points / 5.0, nps_score
FROM scored;
SELECT partner_id, count(*) AS accounts, sum(arr_jpy) AS arr, avg(score) AS average,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY score) AS median, sum(CASE WHEN score < 55 THEN arr_jpy ELSE 0 END) AS at_risk
FROM account_scores WHERE day = DATE '{FLOOR_DAY}' GROUP BY partner_id
"""


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


def floor(session, day) -> float:
    """Seconds for the hand-written pass (FLOOR), rolled back so the portal's data stays as it was."""
    started = time.perf_counter()
    for statement in FLOOR.split(";"):
        if statement.strip():
            result = session.execute(text(statement), {"day": day, "known": end_of_day(day)})
            if result.returns_rows:
                result.all()
    elapsed = time.perf_counter() - started
    session.rollback()
    return elapsed


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
