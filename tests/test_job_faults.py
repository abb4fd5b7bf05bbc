"""Fault tests for the aggregation job: a killed run is detected by its stale heartbeat and
taken over in seconds (not hours), the CLI says with its exit code when it did not run, a
recompute that dies keeps the day's previous scorecards, and "Run now" on the web queues the
run for the scheduler process instead of running it inside the request."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from portal.core import clock as portal_clock
from portal.email import services as emails
from portal.models import AccountScore, AggregationDay, AggregationRequest, AggregationRun, OutboxMessage
from portal.scheduler import run_requested
from portal.scoring import aggregation
from portal.scoring.aggregation import DEFAULT_TIMING, aggregate, claim
from tests.readback import latest
from tests.test_aggregation import count, red_account, scores

DAY = date(2026, 11, 20)
EXIT_NOT_RUN = 75


def die_silently(db, day=DAY, seconds_ago=None):
    """A run that claimed the day and was killed: its heartbeat stopped `seconds_ago`."""
    assert claim(db, day)
    db.add(AggregationRun(day=day, trigger="schedule", started_at=portal_clock.utcnow(), status="running"))
    db.commit()
    if seconds_ago is not None:
        then = portal_clock.utcnow() - timedelta(seconds=seconds_ago)
        db.execute(update(AggregationDay).where(AggregationDay.day == day).values(claimed_at=then, heartbeat_at=then))
        db.commit()


def test_a_killed_run_is_shown_abandoned_and_taken_over_within_the_stale_limit_not_hours(app, db, tenants, browser, today_is):
    today_is(DAY)
    red_account(db, tenants.partner_a)
    die_silently(db)
    assert aggregate(db, DAY).status == "skipped"  # while its heartbeat is fresh, it may be alive
    assert "running" in browser(tenants.vendor_admin).get("/jobs").get_data(as_text=True)

    stale = DEFAULT_TIMING.stale_after + timedelta(seconds=1)
    latest(db).execute(update(AggregationDay).values(heartbeat_at=portal_clock.utcnow() - stale, claimed_at=portal_clock.utcnow() - stale))
    db.commit()
    page = browser(tenants.vendor_admin).get("/jobs").get_data(as_text=True)
    assert "abandoned" in page and "no heartbeat" in page
    # The scheduler's every-10-seconds job finds the dead run's day and takes it over.
    run_requested(app)
    assert latest(db).get(AggregationDay, DAY).status == "done" and count(db, AccountScore, AccountScore.day == DAY) == 3
    runs = latest(db).scalars(select(AggregationRun).order_by(AggregationRun.id)).all()
    assert [(r.status, r.trigger) for r in runs] == [("failed", "schedule"), ("done", "schedule")]
    assert runs[0].error == aggregation.ABANDONED


def test_the_cli_exits_75_when_a_live_run_holds_the_day_and_0_once_it_is_dead(runner, db, tenants):
    die_silently(db, seconds_ago=5)
    held = runner.invoke(args=["aggregate", "--date", DAY.isoformat()])
    assert held.exit_code == EXIT_NOT_RUN
    assert "NOT RUN: another run is working on this day (its last heartbeat 5 s ago)" in held.output
    assert count(db, AccountScore) == 0

    die_silently(db, DAY - timedelta(days=1), seconds_ago=DEFAULT_TIMING.stale_after.total_seconds() + 1)
    taken = runner.invoke(args=["aggregate", "--date", (DAY - timedelta(days=1)).isoformat()])
    assert taken.exit_code == 0 and "accounts scored" in taken.output


def test_the_stale_limit_is_configurable(app, db, tenants):
    app.config["PORTAL"].job_stale_seconds = 5
    die_silently(db, seconds_ago=6)
    assert aggregate(db, DAY, timing=aggregation.Timing.of(app.config["PORTAL"])).status == "done"


def test_a_recompute_that_dies_midway_keeps_the_old_scorecards_and_the_day_done_and_digests_still_go(
        app, db, tenants, clock):
    monday = clock.move_to(datetime(2026, 11, 23, 9, 0))  # Tokyo, after the default digest hour
    today = monday.date()
    red_account(db, tenants.partner_a)
    assert aggregate(db, today).status == "done"
    kept = scores(db, today)

    def crash():
        raise RuntimeError("the database went away")

    result = aggregate(db, today, force=True, fail_with=crash)  # after the snapshot was rewritten, before commit
    assert result.status == "failed" and "went away" in result.error
    assert scores(db, today) == kept
    assert latest(db).get(AggregationDay, today).status == "done"

    # Killed during a recompute (its claim left running): the day's scorecards are still there.
    assert claim(db, today, force=True)
    assert aggregation.scorecards_ready(db, today) and aggregation.latest_day(db) == today
    assert emails.queue_weekly(app, db, monday) >= 3  # weekly digests do not wait on a dead run


def test_weekly_digests_waiting_for_a_dead_first_run_go_out_once_the_scheduler_takes_it_over(app, db, tenants, clock):
    monday = clock.move_to(datetime(2026, 11, 23, 9, 0))
    die_silently(db, monday.date(), seconds_ago=DEFAULT_TIMING.stale_after.total_seconds() + 1)
    assert emails.queue_weekly(app, db, monday) == 0  # no scorecards for today yet
    run_requested(app)  # takes the day over, then runs the email job as after the nightly run
    assert count(db, OutboxMessage) >= 3


def test_run_now_queues_a_request_the_schedulers_job_picks_up_and_the_page_shows_its_progress(app, db, tenants, browser, today_is):
    today_is(DAY)
    red_account(db, tenants.partner_a)
    admin = browser(tenants.vendor_admin)
    assert admin.post("/jobs/run").status_code == 302
    assert admin.post("/jobs/run").status_code == 302  # a second click while it waits adds nothing
    [queued] = latest(db).scalars(select(AggregationRequest)).all()
    assert (queued.status, queued.day, queued.requested_by_id) == ("queued", DAY, tenants.vendor_admin.id)
    assert count(db, AggregationRun) == 0
    page = admin.get("/jobs").get_data(as_text=True)
    assert "queued: waiting for the scheduler" in page and 'http-equiv="refresh"' in page

    run_requested(app)  # what the scheduler process does every few seconds
    request = latest(db).get(AggregationRequest, queued.id)
    assert request.status == "done" and request.finished_at is not None
    run = db.get(AggregationRun, request.run_id)
    assert (run.trigger, run.status, run.account_rows) == ("web", "done", 3)
    page = admin.get("/jobs").get_data(as_text=True)
    assert "queued: waiting" not in page and 'http-equiv="refresh"' not in page

    # A partner manager's "Refresh scorecards now" on the channel page queues one as well.
    manager = browser(tenants.partner_manager)
    response = manager.post("/jobs/run")
    assert response.status_code == 302 and response.location.endswith("/channel")
    assert latest(db).scalar(select(AggregationRequest).where(AggregationRequest.status == "queued")).requested_by_id == tenants.partner_manager.id


def test_a_request_whose_day_a_live_run_holds_waits_for_it(app, db, tenants, today_is):
    today_is(DAY)
    die_silently(db, seconds_ago=1)
    request, new = aggregation.request_run(db, DAY, tenants.vendor_admin.id)
    db.commit()
    run_requested(app)
    request = latest(db).get(AggregationRequest, request.id)
    assert request.status == "queued" and "another run is working on this day" in request.message


def test_a_run_killed_with_sigkill_in_another_process_is_taken_over(app, db, tenants, clock, tmp_path):
    """The real thing: a separate process claims the day, starts writing the snapshot, and is
    killed with SIGKILL; the next run takes the day over once the heartbeat is stale."""
    red_account(db, tenants.partner_a)
    script = textwrap.dedent(f"""
        import sys, time
        from portal import create_app
        from portal.core.config import Config
        from portal.scoring.aggregation import aggregate
        from datetime import date
        app = create_app(Config.for_testing({app.config["PORTAL"].database_url!r}, instance_path={str(tmp_path)!r}))
        def hang():
            print("working", flush=True)
            time.sleep(60)
        with app.extensions["portal.sessionmaker"]() as session:
            aggregate(session, date.fromisoformat({DAY.isoformat()!r}), fail_with=hang)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "working"
    finally:
        process.kill()  # SIGKILL: no except, no finally runs in it
        process.wait(timeout=10)
    day = latest(db).get(AggregationDay, DAY)
    assert day.status == "running" and count(db, AccountScore) == 0  # its snapshot was never committed
    clock.move_to(day.heartbeat_at + DEFAULT_TIMING.stale_after + timedelta(seconds=1))
    assert aggregate(db, DAY).status == "done"
    assert count(db, AccountScore, AccountScore.day == DAY) == 3


@pytest.mark.skipif("sqlite" in __import__("os").environ.get("PORTAL_TEST_DATABASE_URL", "sqlite"),
                    reason="no heartbeat thread on SQLite: the run's write lock keeps others out")
def test_a_long_run_keeps_its_claim_alive_with_heartbeats(app, db, tenants):
    import threading

    engine = app.extensions["portal.engine"]
    seen = threading.Event()

    def wait_for_a_heartbeat():
        for _ in range(200):
            with engine.connect() as connection:
                row = connection.execute(select(AggregationDay.claimed_at, AggregationDay.heartbeat_at)
                                         .where(AggregationDay.day == DAY)).one()
            if row.heartbeat_at > row.claimed_at:
                seen.set()
                return
            seen.wait(0.02)

    timing = aggregation.Timing(heartbeat_every=timedelta(milliseconds=20), stale_after=timedelta(seconds=60))
    assert aggregate(db, DAY, fail_with=wait_for_a_heartbeat, timing=timing).status == "done"
    assert seen.is_set()
