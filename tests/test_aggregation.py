"""The aggregation job: one run per day, atomic replacement, failures keep the old snapshot,
catch-up after downtime, alerts raised once, the CLI and the job history page."""
from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update

from portal.scoring import aggregation
from portal.core import clock
from portal.scoring.aggregation import aggregate, catch_up, claim, days_to_catch_up
from portal.models import (
    AccountScore, ActionItem, ActionKind, ActionStatus, AggregationDay, AggregationRun, Alert, AlertKind, Band, PartnerScorecard,
    Segment, Sentiment,
)
from tests import factories
from tests.readback import latest

DAY = date(2026, 11, 20)


def count(db, model, *where) -> int:
    return latest(db).scalar(select(func.count()).select_from(model).where(*where))


def scores(db, day=DAY) -> dict[int, tuple]:
    rows = latest(db).scalars(select(AccountScore).where(AccountScore.day == day)).all()
    return {r.account_id: (r.score, r.band) for r in rows}


def red_account(db, partner, **kw):
    """An account whose latest report says it is in trouble: red sentiment, an escalation, low usage."""
    account = factories.account(db, partner, segment=Segment.HIGH_TOUCH, seats=100, contract_start=date(2025, 1, 1), **kw)
    factories.check_in(db, account, period_start=date(2026, 10, 1), submitted_at=datetime(2026, 11, 5, 9),
                       sentiment=Sentiment.RED, sentiment_reason="Budget cut", active_users=5, nps=1, open_escalations=2)
    return account


def green_account(db, partner, **kw):
    account = factories.account(db, partner, segment=Segment.HIGH_TOUCH, seats=100, contract_start=date(2025, 1, 1), **kw)
    factories.check_in(db, account, period_start=date(2026, 10, 1), submitted_at=datetime(2026, 11, 5, 9),
                       sentiment=Sentiment.GREEN, active_users=95, nps=10, csat=5, ces=1, outcome_progress=90)
    return account


def test_a_run_scores_every_live_account_and_writes_partner_and_channel_scorecards(db, tenants):
    red_account(db, tenants.partner_a)
    result = aggregate(db, DAY)
    assert (result.status, result.account_rows) == ("done", 3)
    assert count(db, AccountScore, AccountScore.day == DAY) == 3
    cards = latest(db).scalars(select(PartnerScorecard).where(PartnerScorecard.day == DAY)).all()
    assert sorted((c.partner_id or 0, c.accounts) for c in cards) == [(0, 3), (tenants.partner_a.id, 2), (tenants.partner_b.id, 1)]
    run = latest(db).scalar(select(AggregationRun))
    assert (run.status, run.account_rows, run.day) == ("done", 3, DAY) and run.finished_at >= run.started_at


def test_the_same_day_twice_is_one_run_unless_forced_and_a_forced_rerun_replaces(db, tenants):
    account = red_account(db, tenants.partner_a)
    assert aggregate(db, DAY).status == "done"
    assert aggregate(db, DAY).status == "skipped"  # the scheduler's retry or a second process
    assert count(db, AccountScore, AccountScore.day == DAY) == 3

    # New data for that day, then an operator reruns it: the day's snapshot is replaced, not added to.
    factories.check_in(db, account, period_start=date(2026, 10, 1), version=2, submitted_at=datetime(2026, 11, 6, 9),
                       sentiment=Sentiment.GREEN, active_users=90, nps=9)
    before = scores(db)[account.id]
    assert aggregate(db, DAY, force=True).status == "done"
    assert count(db, AccountScore, AccountScore.day == DAY) == 3
    assert count(db, PartnerScorecard, PartnerScorecard.day == DAY) == 3
    assert scores(db)[account.id] != before


def test_a_failing_run_keeps_the_previous_snapshot_and_records_why(db, tenants):
    red_account(db, tenants.partner_a)
    aggregate(db, DAY)
    kept = scores(db)
    cards = count(db, PartnerScorecard, PartnerScorecard.day == DAY)

    def crash():
        raise RuntimeError("disk full")

    result = aggregate(db, DAY, force=True, fail_with=crash)
    assert result.status == "failed" and "disk full" in result.error
    assert scores(db) == kept
    assert count(db, PartnerScorecard, PartnerScorecard.day == DAY) == cards
    failed = latest(db).scalar(select(AggregationRun).where(AggregationRun.status == "failed"))
    assert "disk full" in failed.error and failed.finished_at is not None
    # A recompute that failed leaves the day done with its previous snapshot.
    assert latest(db).get(AggregationDay, DAY).status == "done"


def test_a_first_run_that_fails_leaves_the_day_failed_for_the_next_run_to_take(db, tenants):
    red_account(db, tenants.partner_a)

    def crash():
        raise RuntimeError("disk full")

    assert aggregate(db, DAY, fail_with=crash).status == "failed"
    assert count(db, AccountScore) == 0
    assert latest(db).get(AggregationDay, DAY).status == "failed"
    assert aggregate(db, DAY).status == "done"


def test_a_run_killed_midway_is_taken_over_once_its_claim_is_abandoned(db, tenants):
    token = claim(db, DAY)  # a run that claimed the day and then died
    assert token
    assert aggregate(db, DAY).status == "skipped"
    stale = clock.utcnow() - aggregation.DEFAULT_TIMING.stale_after - timedelta(seconds=1)
    db.execute(update(AggregationDay).values(claimed_at=stale, heartbeat_at=stale))
    db.commit()
    assert aggregate(db, DAY).status == "done"


def test_two_concurrent_runs_make_one(app, db, tenants):
    """Two processes (here: threads with their own sessions) start the same day together."""
    for _ in range(5):
        red_account(db, tenants.partner_a)
    make_session = app.extensions["portal.sessionmaker"]
    barrier = threading.Barrier(2)
    results = []

    def run():
        with make_session() as session:
            barrier.wait()
            results.append(aggregate(session, DAY, trigger="schedule").status)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["done", "skipped"]
    assert count(db, AggregationRun) == 1
    assert count(db, AccountScore, AccountScore.day == DAY) == 7


def test_catch_up_runs_every_missed_day_in_order(db, tenants):
    aggregate(db, DAY - timedelta(days=4))
    assert days_to_catch_up(latest(db), DAY) == [DAY - timedelta(days=n) for n in (3, 2, 1, 0)]
    results = catch_up(db, DAY)
    assert [r.day for r in results] == [DAY - timedelta(days=n) for n in (3, 2, 1, 0)]
    assert all(r.status == "done" for r in results)
    assert catch_up(db, DAY) == []  # nothing left
    assert count(db, AggregationRun) == 5


def test_catch_up_on_a_new_portal_starts_today(db, tenants):
    assert days_to_catch_up(db, DAY) == [DAY]


def test_alerts_are_raised_once_however_often_the_job_runs(db, tenants):
    account = red_account(db, tenants.partner_a, renewal_date=DAY + timedelta(days=30))
    aggregate(db, DAY)
    kinds = lambda: sorted(a.kind for a in latest(db).scalars(select(Alert).where(Alert.account_id == account.id)))  # noqa: E731
    assert kinds() == sorted([AlertKind.TURNED_RED, AlertKind.RENEWAL_AT_RISK])
    aggregate(db, DAY, force=True)
    aggregate(db, DAY + timedelta(days=1))
    aggregate(db, DAY + timedelta(days=2))
    assert kinds() == sorted([AlertKind.TURNED_RED, AlertKind.RENEWAL_AT_RISK]), "still red, same renewal: nothing new"


def test_an_account_that_recovers_and_turns_red_again_is_alerted_again(db, tenants):
    account = red_account(db, tenants.partner_a)
    aggregate(db, DAY)
    factories.check_in(db, account, period_start=date(2026, 10, 1), version=2, submitted_at=datetime(2026, 11, 21, 9),
                       sentiment=Sentiment.GREEN, active_users=95, nps=10, csat=5, outcome_progress=90)
    aggregate(db, DAY + timedelta(days=1))
    assert latest(db).scalar(select(AccountScore.band).where(AccountScore.account_id == account.id,
                                                             AccountScore.day == DAY + timedelta(days=1))) != Band.RED
    factories.check_in(db, account, period_start=date(2026, 10, 1), version=3, submitted_at=datetime(2026, 11, 22, 9),
                       sentiment=Sentiment.RED, sentiment_reason="Champion left", active_users=3, nps=0, open_escalations=1)
    aggregate(db, DAY + timedelta(days=2))
    raised = latest(db).scalars(select(Alert.raised_on).where(Alert.account_id == account.id, Alert.kind == AlertKind.TURNED_RED)).all()
    assert sorted(raised) == [DAY, DAY + timedelta(days=2)]


def test_a_second_run_of_the_same_day_raises_no_alert_again_and_keeps_one_open_item(db, tenants):
    account = red_account(db, tenants.partner_a, renewal_date=DAY + timedelta(days=30))
    first = aggregate(db, DAY)
    assert first.alerts_raised == count(db, Alert, Alert.raised_on == DAY) == 2 + count(
        db, Alert, Alert.kind == AlertKind.CHECK_IN_OVERDUE)
    again = aggregate(db, DAY, force=True)
    assert (again.status, again.alerts_raised) == ("done", 0)
    assert count(db, Alert, Alert.account_id == account.id, Alert.kind == AlertKind.TURNED_RED) == 1
    items = latest(db).scalars(select(ActionItem).where(ActionItem.account_id == account.id,
                                                        ActionItem.kind == ActionKind.TURNED_RED)).all()
    assert [(i.status, i.raised_count) for i in items] == [(ActionStatus.OPEN, 1)]


def test_the_previous_band_is_the_accounts_last_snapshot_when_days_are_missing(db, tenants):
    account = red_account(db, tenants.partner_a)
    aggregate(db, DAY)
    aggregate(db, DAY + timedelta(days=5))  # four nights without a run: still red since DAY
    assert turned_red_days(db, account) == [DAY]

    # Out of red on a snapshot before a gap, red after it: turned red.
    factories.check_in(db, account, period_start=date(2026, 10, 1), version=2, submitted_at=datetime(2026, 11, 26, 9),
                       sentiment=Sentiment.GREEN, active_users=95, nps=10, csat=5, outcome_progress=90)
    aggregate(db, DAY + timedelta(days=6))
    factories.check_in(db, account, period_start=date(2026, 10, 1), version=3, submitted_at=datetime(2026, 11, 27, 9),
                       sentiment=Sentiment.RED, sentiment_reason="Champion left", active_users=3, nps=0, open_escalations=1)
    aggregate(db, DAY + timedelta(days=10))
    assert turned_red_days(db, account) == [DAY, DAY + timedelta(days=10)]


def test_after_history_is_pruned_the_oldest_snapshot_kept_is_the_previous_one(db, tenants):
    account = red_account(db, tenants.partner_a)
    for n in range(3):
        aggregate(db, DAY + timedelta(days=n))
    db.execute(delete(AccountScore).where(AccountScore.day < DAY + timedelta(days=2)))
    db.commit()
    aggregate(db, DAY + timedelta(days=3))
    assert turned_red_days(db, account) == [DAY], "red on the snapshot kept: not turned red again"


def test_two_runs_raising_the_same_alerts_at_once_insert_them_once(app, db, tenants):
    """A forced recompute and another writer raising the day's alerts in overlapping transactions:
    the second waits for the first's rows on the unique key and adds none (no error, no copy)."""
    for _ in range(3):
        red_account(db, tenants.partner_a)
    aggregate(db, DAY)
    db.execute(delete(Alert))
    db.commit()
    make_session = app.extensions["portal.sessionmaker"]
    raised, started = [], threading.Event()

    def second():
        with make_session() as session:
            started.set()
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})  # as a run does
            raised.append(aggregation.raise_alerts(session, DAY))
            session.commit()

    with make_session() as first:
        first.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        raised.append(aggregation.raise_alerts(first, DAY))
        thread = threading.Thread(target=second)
        thread.start()
        started.wait(10)
        time.sleep(0.5)  # the second is now waiting on the first's rows (or lock)
        first.commit()
    thread.join(timeout=60)
    assert raised[1] == 0 and raised[0] == count(db, Alert) == 3 + count(db, Alert, Alert.kind != AlertKind.TURNED_RED)


def turned_red_days(db, account) -> list[date]:
    return sorted(latest(db).scalars(select(Alert.raised_on).where(Alert.account_id == account.id,
                                                                   Alert.kind == AlertKind.TURNED_RED)))


def test_an_overdue_check_in_is_alerted_once_per_period(db, tenants):
    late = factories.account(db, tenants.partner_a, segment=Segment.HIGH_TOUCH, contract_start=date(2025, 1, 1))
    aggregate(db, DAY)
    aggregate(db, DAY + timedelta(days=1))
    overdue = latest(db).scalars(select(Alert).where(Alert.account_id == late.id, Alert.kind == AlertKind.CHECK_IN_OVERDUE)).all()
    # High touch is monthly with 10 days' grace: on Nov 20 October (due Nov 10) is overdue.
    assert [a.subject for a in overdue] == ["2026-10-01"]


def test_alerts_belong_to_the_account_s_own_partner(db, tenants):
    red_account(db, tenants.partner_b)
    aggregate(db, DAY)
    for alert in latest(db).scalars(select(Alert)):
        assert alert.partner_id == latest(db).get(type(tenants.account_a), alert.account_id).partner_id


# --- operator and admin ---------------------------------------------------------------------


def test_cli_aggregates_a_date_and_a_range(runner, db, tenants):
    result = runner.invoke(args=["aggregate", "--date", "2026-11-20"])
    assert result.exit_code == 0, result.output
    assert "2026-11-20: 2 accounts scored" in result.output
    result = runner.invoke(args=["aggregate", "--from", "2026-11-18", "--to", "2026-11-20"])
    assert result.exit_code == 0 and result.output.count("accounts scored") == 3
    assert count(db, AccountScore) == 6  # the rerun of the 20th replaced its snapshot


@pytest.mark.parametrize("args, message", [
    (["--from", "2026-11-18"], "--from and --to go together"),
    (["--from", "2026-11-20", "--to", "2026-11-18"], "--to is before --from"),
    (["--date", "20-11-2026"], "Invalid value for '--date'"),
])
def test_cli_rejects_bad_dates_clearly(runner, db, args, message):
    result = runner.invoke(args=["aggregate", *args])
    assert result.exit_code != 0 and message in result.output


def test_cli_reports_a_failed_day_and_exits_non_zero(runner, db, tenants, monkeypatch):
    def broken(*_args, **_kw):
        raise RuntimeError("figures exploded")

    monkeypatch.setattr(aggregation, "scorecard_select", broken)
    result = runner.invoke(args=["aggregate", "--date", "2026-11-20"])
    assert result.exit_code == 1
    assert "FAILED" in result.output and "figures exploded" in result.output
    assert count(db, AccountScore) == 0


def test_the_job_history_page_shows_runs_and_the_admin_can_run_now(db, browser, tenants):
    aggregate(db, DAY)
    admin = browser(tenants.vendor_admin)
    page = admin.get("/jobs").get_data(as_text=True)
    assert "Job history" in page and "done" in page
    response = admin.post("/jobs/run")
    assert response.status_code == 302
    assert count(db, AggregationRun, AggregationRun.trigger == "web") == 0  # queued, not run inside the request
    assert "queued: waiting for the scheduler" in admin.get("/jobs").get_data(as_text=True)


def test_the_scheduler_defines_its_jobs_in_code_with_ids_and_coalescing(app):
    from portal.scheduler import build_scheduler

    scheduler = build_scheduler(app, blocking=False)
    scheduler.start(paused=True)  # defaults are applied when the scheduler starts; paused, nothing runs
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"aggregation", "aggregation-catch-up", "emails", "requested-runs", "import-jobs", "model-fits",
                             "data-changes"}
        assert str(jobs["requested-runs"].trigger) == "interval[0:00:10]"
        assert str(jobs["import-jobs"].trigger) == "interval[0:00:03]" and jobs["import-jobs"].max_instances == 1
        assert str(jobs["model-fits"].trigger) == "interval[0:00:10]"
        assert jobs["emails"].max_instances == 1 and str(jobs["emails"].trigger) == "interval[0:05:00]"
        assert jobs["aggregation"].coalesce and jobs["aggregation"].max_instances == 1
        assert str(jobs["aggregation"].trigger) == "cron[month='*', day='*', day_of_week='*', hour='2', minute='0']"
    finally:
        scheduler.shutdown(wait=False)
