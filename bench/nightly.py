"""The nightly aggregation beside its floor: one hand-written SQL pass that reads the same inputs
(latest check-in per account, milestones, ARR) and writes one score row per account and one row
per partner into scratch tables. Each aggregate() runs in a child process so its peak memory is its own."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from datetime import date, timedelta

from sqlalchemy import text

from bench.common import DAY, NOW, ROOT, Row, Timer, median

FLOOR = [
    "DROP TABLE IF EXISTS bench_floor_scores, bench_floor_partners",
    "CREATE TABLE bench_floor_scores (account_id int PRIMARY KEY, partner_id int, day date, score int, band text)",
    "CREATE TABLE bench_floor_partners (partner_id int PRIMARY KEY, day date, accounts int, red int, average numeric, arr bigint)",
    """INSERT INTO bench_floor_scores
       WITH latest AS (SELECT DISTINCT ON (account_id) account_id, active_users, nps, open_tickets, open_escalations, sentiment,
                              outcome_progress
                       FROM check_ins WHERE submitted_at < :end ORDER BY account_id, period_start DESC, version DESC),
            steps AS (SELECT account_id, count(*) FILTER (WHERE status = 'done') AS done, count(*) AS total
                      FROM milestones GROUP BY account_id)
       SELECT a.id, a.partner_id, :day, s.score,
              CASE WHEN s.score IS NULL THEN NULL WHEN s.score >= 70 THEN 'green' WHEN s.score >= 55 THEN 'yellow' ELSE 'red' END
       FROM accounts a LEFT JOIN latest l ON l.account_id = a.id LEFT JOIN steps m ON m.account_id = a.id
       CROSS JOIN LATERAL (SELECT round(0.3 * LEAST(100, 100.0 * l.active_users / NULLIF(a.seats, 0)) + 2 * l.nps
                                        + 0.15 * CASE l.sentiment WHEN 'green' THEN 100 WHEN 'yellow' THEN 50 ELSE 0 END
                                        + 0.15 * 100.0 * m.done / NULLIF(m.total, 0) + 0.1 * l.outcome_progress
                                        - 5 * l.open_escalations)::int AS score) s
       WHERE a.status != 'churned'""",
    """INSERT INTO bench_floor_partners
       SELECT s.partner_id, :day, count(*), count(*) FILTER (WHERE band = 'red'), avg(score), sum(a.arr_jpy)
       FROM bench_floor_scores s JOIN accounts a ON a.id = s.account_id GROUP BY s.partner_id""",
]


def floor(session, day: date) -> float:
    with Timer() as timer:
        for statement in FLOOR:
            session.execute(text(statement), {"day": day, "end": NOW.replace(tzinfo=None) + timedelta(days=1)})
        session.commit()
    return timer.seconds


def run_child(database_url: str, day: date, force: bool) -> dict:
    """aggregate() in a fresh process: its seconds, status and peak memory."""
    out = subprocess.run([sys.executable, "-m", "bench.nightly", database_url, day.isoformat(), "1" if force else "0"],
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(session, database_url: str, accounts: int, repeat: int) -> list[Row]:
    runs, floors = [], []
    for _ in range(repeat):  # interleaved: floor, then the portal's run of the same day
        floors.append(floor(session, DAY))
        runs.append(run_child(database_url, DAY, force=True))
    seconds = median([r["seconds"] for r in runs])
    floor_seconds = median(floors)
    rows = [Row("nightly aggregation (same day again)", accounts, seconds, "s", floor_seconds, "≤ 2× floor, < 30 s",
                seconds <= 2 * floor_seconds and seconds < 30,
                f"peak memory {max(r['peak_mb'] for r in runs):.0f} MB (process)",
                {"runs": runs, "floors": floors})]
    new_day = run_child(database_url, DAY + timedelta(days=1), force=False)
    rows.append(Row("… first run of a new day", accounts, new_day["seconds"], "s", floor_seconds, "≤ 2× floor, < 30 s",
                    new_day["seconds"] <= 2 * floor_seconds and new_day["seconds"] < 30,
                    f"{new_day['status']}, peak memory {new_day['peak_mb']:.0f} MB (process)", {"run": new_day}))
    return rows


def child(database_url: str, day: str, force: str) -> None:
    from portal.core.db import make_engine
    from portal.models import make_session_factory
    from portal.scoring.aggregation import aggregate

    from bench.common import fixed_clock

    session = make_session_factory(make_engine(database_url))()
    the_day = date.fromisoformat(day)
    with fixed_clock(NOW + (the_day - DAY)), Timer() as timer:
        result = aggregate(session, the_day, trigger="cli", force=force == "1")
    print(json.dumps({"seconds": timer.seconds, "status": result.status, "error": getattr(result, "error", None),
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    child(*sys.argv[1:4])
