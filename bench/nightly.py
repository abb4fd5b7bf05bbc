"""The nightly aggregation beside its floor: one hand-written SQL pass that reads the same inputs and
writes the same rows into the same tables (same indexes, foreign keys and checks), then rolls back.
Each aggregate() runs in a child process so its peak memory is its own.

The floor writes, under a day no run uses (FLOOR_DAY):
- account_scores: one row per live account, every column, from each account's latest check-in
  known by the vendor's end of day, its features, its milestones with their templates and its
  first-value milestone (components are one plain expression each: no rules for stale reports,
  coverage or capped bands; the model's arithmetic is what the real run pays for above this);
- partner_scorecards: a row per partner and the channel's, every figure: band counts and ARR, mean
  and median health, median time to first value, onboarding on time, NPS, renewals in 90 days,
  reporting compliance over a year of owed periods, and retention from the ARR history;
- alerts: turned red against each account's previous snapshot, renewal at risk, and overdue
  check-ins for each segment's last closed period.
It leaves out what the real run also does: the lifecycle moves before scoring and the action
items after it (bench/aggregation_days.py lists those statements' times apart).
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from datetime import date, timedelta

from sqlalchemy import text

from bench.common import DAY, NOW, ROOT, Row, Timer, median
from portal.core.clock import end_of_day

FLOOR_DAY = "1900-01-01"
FLOOR = [
    f"""
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
           CASE WHEN c.id IS NOT NULL THEN greatest(0, 100 - 100.0 * c.open_escalations * 100 / greatest(a.seats, 1)
                                                          - 5.0 * c.open_tickets * 100 / greatest(a.seats, 1)) END AS effort_c,
           CASE WHEN c.id IS NOT NULL THEN 100 END AS freshness_c,
           CASE c.sentiment WHEN 'green' THEN 100 WHEN 'yellow' THEN 50 WHEN 'red' THEN 0 END AS sentiment_c
    FROM accounts a LEFT JOIN latest c ON c.account_id = a.id LEFT JOIN used u ON u.check_in_id = c.id
    LEFT JOIN m ON m.account_id = a.id
    WHERE (a.churned_on IS NULL OR a.churned_on > :day) AND (a.contract_start IS NULL OR a.contract_start <= :day)),
scored AS (
    SELECT s.*, round((coalesce(usage_c, 0) * 25 + coalesce(satisfaction_c, 0) * 20 + coalesce(effort_c, 0) * 15
                       + coalesce(sentiment_c, 0) * 15 + coalesce(outcome_progress, 0) * 15 + coalesce(freshness_c, 0) * 10)
                      / nullif(25 * (usage_c IS NOT NULL)::int + 20 * (satisfaction_c IS NOT NULL)::int + 15 * (effort_c IS NOT NULL)::int
                               + 15 * (sentiment_c IS NOT NULL)::int + 15 * (outcome_progress IS NOT NULL)::int
                               + 10 * (freshness_c IS NOT NULL)::int, 0)) AS score
    FROM s)
SELECT DATE '{FLOOR_DAY}', id, partner_id, 0, status = 'onboarding', arr_jpy, renewal_date, score,
       CASE WHEN score >= 70 THEN 'green' WHEN score >= 55 THEN 'yellow' WHEN score IS NOT NULL THEN 'red' END,
       CASE WHEN score >= 70 THEN 'green' WHEN score >= 55 THEN 'yellow' WHEN score IS NOT NULL THEN 'red' END, false,
       coalesce(:day - submitted_at::date > 120, false), round(usage_c), round(onboarding_c), round(satisfaction_c), round(effort_c), sentiment_c,
       outcome_progress, freshness_c, check_in_id, seats, active_users, used, 5, nps, csat, ces, open_escalations, open_tickets,
       sentiment, outcome_progress, :day - submitted_at::date, coalesce(due, 0), coalesce(on_time, 0), late_max,
       first_value - contract_start, 100, points / 5.0, nps_score
FROM scored""",
    f"""
INSERT INTO partner_scorecards (day, partner_id, accounts, arr_jpy, green_accounts, yellow_accounts, red_accounts,
    unscored_accounts, green_arr_jpy, yellow_arr_jpy, red_arr_jpy, unscored_arr_jpy, average_health, median_health,
    onboarding_on_time_pct, median_ttfv_days, nps, at_risk_arr_jpy, renewals_90_green, renewals_90_yellow, renewals_90_red,
    renewals_90_unscored, reporting_compliance_pct, renewal_rate_pct, grr_pct, nrr_pct, churned_arr_jpy)
WITH periods AS (  -- each segment's periods (fiscal year from April) due in the last year
    SELECT c.segment, m::date AS start, (m + make_interval(months => c.months))::date - 1 + c.grace_days AS due,
           (m + make_interval(months => c.months))::date - 1 AS "end"
    FROM reporting_cadences c,
         generate_series(date_trunc('month', CAST(:day AS date)) - interval '18 months', CAST(:day AS date), interval '1 month') m
    WHERE (extract(month FROM m)::int + 8) % c.months = 0),
compliance AS (
    SELECT a.partner_id, count(*) AS owed, count(ci.id) AS on_time
    FROM accounts a
    JOIN periods p ON p.segment = a.segment AND p.due > CAST(:day AS date) - 365 AND p.due <= :day
                  AND (a.contract_start IS NULL OR a.contract_start <= p."end") AND (a.churned_on IS NULL OR a.churned_on > p."end")
    LEFT JOIN check_ins ci ON ci.account_id = a.id AND ci.period_start = p.start AND ci.version = 1 AND ci.submitted_at::date <= p.due
    GROUP BY GROUPING SETS ((a.partner_id), ())),
arr AS (
    SELECT a.partner_id, a.churned_on,
           (SELECT h.arr_jpy FROM account_arr_history h WHERE h.account_id = a.id AND h.effective_on <= CAST(:day AS date) - 365
            ORDER BY h.effective_on DESC LIMIT 1) AS then_arr,
           (SELECT h.arr_jpy FROM account_arr_history h WHERE h.account_id = a.id AND h.effective_on <= :day
            ORDER BY h.effective_on DESC LIMIT 1) AS now_arr
    FROM accounts a),
retention AS (
    SELECT partner_id,
           sum(least(CASE WHEN churned_on <= :day THEN 0 ELSE coalesce(now_arr, 0) END, then_arr)) FILTER (WHERE cohort) AS kept,
           sum(then_arr) FILTER (WHERE cohort) AS cohort_arr,
           sum(CASE WHEN churned_on <= :day THEN 0 ELSE coalesce(now_arr, 0) END) FILTER (WHERE cohort) AS cohort_now,
           count(*) FILTER (WHERE cohort AND (churned_on IS NULL OR churned_on > :day)) AS renewed,
           count(*) FILTER (WHERE cohort) AS cohort,
           coalesce(sum(now_arr) FILTER (WHERE churned_on <= :day AND churned_on > CAST(:day AS date) - 365), 0) AS churned_arr
    FROM (SELECT *, then_arr > 0 AND (churned_on IS NULL OR churned_on > CAST(:day AS date) - 365) AS cohort FROM arr) x
    GROUP BY GROUPING SETS ((partner_id), ())),
bands AS (
    SELECT partner_id, count(*) AS accounts, coalesce(sum(arr_jpy), 0) AS arr_jpy,
           count(*) FILTER (WHERE band = 'green') AS green, count(*) FILTER (WHERE band = 'yellow') AS yellow,
           count(*) FILTER (WHERE band = 'red') AS red, count(*) FILTER (WHERE band IS NULL) AS unscored,
           coalesce(sum(arr_jpy) FILTER (WHERE band = 'green'), 0) AS green_arr,
           coalesce(sum(arr_jpy) FILTER (WHERE band = 'yellow'), 0) AS yellow_arr,
           coalesce(sum(arr_jpy) FILTER (WHERE band = 'red'), 0) AS red_arr,
           coalesce(sum(arr_jpy) FILTER (WHERE band IS NULL), 0) AS unscored_arr,
           avg(score) AS average, percentile_cont(0.5) WITHIN GROUP (ORDER BY score) AS median,
           100.0 * sum(milestones_on_time) / nullif(sum(milestones_due), 0) AS on_time,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY ttfv_days) AS ttfv,
           avg(CASE WHEN nps_score IS NOT NULL THEN nps_score WHEN nps >= 9 THEN 100 WHEN nps <= 6 THEN -100 WHEN nps IS NOT NULL THEN 0 END) AS nps,
           coalesce(sum(arr_jpy) FILTER (WHERE band IN ('yellow', 'red')), 0) AS at_risk,
           count(*) FILTER (WHERE renewal_date - CAST(:day AS date) BETWEEN 0 AND 90 AND band = 'green') AS r_green,
           count(*) FILTER (WHERE renewal_date - CAST(:day AS date) BETWEEN 0 AND 90 AND band = 'yellow') AS r_yellow,
           count(*) FILTER (WHERE renewal_date - CAST(:day AS date) BETWEEN 0 AND 90 AND band = 'red') AS r_red,
           count(*) FILTER (WHERE renewal_date - CAST(:day AS date) BETWEEN 0 AND 90 AND band IS NULL) AS r_unscored
    FROM account_scores WHERE day = DATE '{FLOOR_DAY}'
    GROUP BY GROUPING SETS ((partner_id), ()))
SELECT DATE '{FLOOR_DAY}', b.partner_id, b.accounts, b.arr_jpy, b.green, b.yellow, b.red, b.unscored, b.green_arr, b.yellow_arr,
       b.red_arr, b.unscored_arr, b.average, b.median, b.on_time, b.ttfv, b.nps, b.at_risk, b.r_green, b.r_yellow, b.r_red,
       b.r_unscored, 100.0 * c.on_time / nullif(c.owed, 0), 100.0 * r.renewed / nullif(r.cohort, 0),
       100.0 * r.kept / nullif(r.cohort_arr, 0), 100.0 * r.cohort_now / nullif(r.cohort_arr, 0), coalesce(r.churned_arr, 0)
FROM bands b
LEFT JOIN compliance c ON c.partner_id IS NOT DISTINCT FROM b.partner_id
LEFT JOIN retention r ON r.partner_id IS NOT DISTINCT FROM b.partner_id""",
    f"""
INSERT INTO alerts (kind, account_id, partner_id, subject, raised_on, created_at)
WITH last_closed AS (  -- each segment's latest period past its due date
    SELECT DISTINCT ON (c.segment) c.segment, m::date AS start, (m + make_interval(months => c.months))::date - 1 AS "end"
    FROM reporting_cadences c,
         generate_series(date_trunc('month', CAST(:day AS date)) - interval '12 months', CAST(:day AS date), interval '1 month') m
    WHERE (extract(month FROM m)::int + 8) % c.months = 0
      AND (m + make_interval(months => c.months))::date - 1 + c.grace_days < :day
    ORDER BY c.segment, m DESC)
SELECT 'turned_red', s.account_id, s.partner_id, :day_text, DATE '{FLOOR_DAY}', :now
FROM account_scores s  -- against the previous run's day (the real run looks further back for an account it lacks)
LEFT JOIN account_scores p ON p.account_id = s.account_id
     AND p.day = (SELECT max(day) FROM account_scores WHERE day < :day AND day > DATE '{FLOOR_DAY}')
WHERE s.day = DATE '{FLOOR_DAY}' AND s.band = 'red' AND p.band IS DISTINCT FROM 'red'
UNION ALL
SELECT 'renewal_at_risk', account_id, partner_id, renewal_date::text, DATE '{FLOOR_DAY}', :now
FROM account_scores
WHERE day = DATE '{FLOOR_DAY}' AND band IN ('yellow', 'red') AND renewal_date - CAST(:day AS date) BETWEEN 0 AND 90
UNION ALL
SELECT 'check_in_overdue', a.id, a.partner_id, p.start::text, DATE '{FLOOR_DAY}', :now
FROM accounts a JOIN last_closed p ON p.segment = a.segment
WHERE a.status <> 'churned' AND (a.contract_start IS NULL OR a.contract_start <= p."end")
  AND NOT EXISTS (SELECT 1 FROM check_ins ci WHERE ci.account_id = a.id AND ci.period_start = p.start)
ON CONFLICT DO NOTHING""",
]


def floor(session, day: date) -> float:
    """Seconds for the hand-written pass (FLOOR), rolled back so the portal's data stays as it was."""
    params = {"day": day, "day_text": day.isoformat(), "known": end_of_day(day), "now": NOW.replace(tzinfo=None)}
    with Timer() as timer:
        session.execute(text("SET LOCAL jit = off"))  # as the real run does
        for statement in FLOOR:
            session.execute(text(statement), params)
    session.rollback()
    # The rolled-back rows are dead index entries at the oldest day: vacuumed (outside the timing)
    # so the real run's probes of account_scores do not walk them.
    with session.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM account_scores, partner_scorecards, alerts"))
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
