"""Scheduled jobs, defined in code with explicit ids.

Production runs `portal scheduler` as its own process: APScheduler 3 keeps its jobs in the
process that started it and cannot share a job store between gunicorn workers, so the web
workers never start one. Double runs are harmless anyway: each run claims its day in the
database (portal/scoring/aggregation.py), and a dead run's claim is taken over once its
heartbeat is stale. "Run now" on the web queues a request that `run_requested` picks up; a big check-in file
waits, queued, for `run_imports`. The development server (`portal demo --serve`) runs the
same jobs in a background thread. Emails are safe to run twice too: the outbox's unique
(recipient, kind, period) and the row claims in portal/outbox.py.
"""
from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from apscheduler.triggers.interval import IntervalTrigger

from flask_babel import force_locale

from portal.core import changes, clock, wakeup
from portal.reporting import imports
from portal.email import services as emails
from portal.scoring import aggregation
from portal.core.db import writer_session

log = logging.getLogger(__name__)
EMAIL_EVERY_MINUTES = 5
# How soon a "Run now" from the web, or a day whose run died, is picked up.
REQUESTS_EVERY_SECONDS = 10
# How soon a big check-in file uploaded on the web is planned, or committed once confirmed.
IMPORTS_EVERY_SECONDS = 3
# How often the data-change notes are folded (portal.core.changes): a page's stamp stays a short read.
COMPACT_EVERY_MINUTES = 5


def run_aggregation(app) -> None:
    """The nightly job: every day missed since the last run, then today; then the emails, so
    a digest waiting for today's scorecards goes out as soon as they exist."""
    config, sessionmaker = app.config["PORTAL"], app.extensions["portal.sessionmaker"]
    with sessionmaker() as session:
        for result in aggregation.catch_up(session, config.today(), trigger="schedule", timing=aggregation.Timing.of(config)):
            log.info("aggregation %s: %s", result.day, result.status)
    run_emails(app)


def run_requested(app) -> None:
    """Every few seconds: take over days whose run died (no heartbeat), then run the "Run now"
    requests queued from the web. Emails follow a finished run, as after the nightly one."""
    config, sessionmaker = app.config["PORTAL"], app.extensions["portal.sessionmaker"]
    timing = aggregation.Timing.of(config)
    ran = False
    with sessionmaker() as session:
        for day in aggregation.abandoned_days(session, timing):
            result = aggregation.aggregate(session, day, trigger="schedule", timing=timing)
            log.info("aggregation %s taken over from a dead run: %s", day, result.status)
            ran = ran or result.status == "done"
        for request in aggregation.run_requests(session, timing):
            log.info("aggregation %s requested from the web: %s", request.day, request.status)
            ran = ran or request.status == "done"
    if ran:
        run_emails(app)


def run_fits(app) -> None:
    """Every few seconds: the fits queued from the Health model page ("Propose weights from outcomes")."""
    from portal.scoring import backtest, fit

    config, sessionmaker = app.config["PORTAL"], app.extensions["portal.sessionmaker"]
    with sessionmaker() as session:
        for row in fit.run_queued(session, backtest.Settings.of(config)):
            log.info("model fit %s: %s", row.id, row.status)


def run_imports(app) -> None:
    """Every few seconds: plan and commit the big check-in files uploaded on the web, each in the
    language of the person who uploaded it (the plan's errors are kept in words)."""
    config, sessionmaker = app.config["PORTAL"], app.extensions["portal.sessionmaker"]

    def language(user):
        return force_locale((user.language if user is not None else None) or config.default_language)

    with app.app_context():
        for batch_id in imports.run_import_jobs(sessionmaker, config.today(), locale_for=language):
            log.info("check-in file %s: worked on", batch_id)


def run_emails(app) -> None:
    """Alerts batched, weekly emails whose hour has come, delivery with retries."""
    with writer_session(app.extensions["portal.sessionmaker"]) as session:
        result = emails.run(app, session)
        log.info("emails: %s", result)


def run_compact(app) -> None:
    """Every few minutes: fold the data-change notes into one row per partner (stamps unchanged)."""
    with app.extensions["portal.sessionmaker"]() as session:
        removed = changes.compact(session)
        log.debug("data changes: %d notes folded", removed)


def build_scheduler(app, *, blocking: bool):
    config = app.config["PORTAL"]
    scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_class(
        timezone=config.default_timezone,
        # One run at a time; runs missed while the process was down collapse into one.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 6 * 3600},
    )
    args = (app,)
    scheduler.add_job(run_aggregation, CronTrigger.from_crontab(config.aggregation_cron, timezone=config.default_timezone),
                      args=args, id="aggregation", name="Nightly aggregation", replace_existing=True)
    # Catch up at start too: after downtime the scorecards should not wait for the next night.
    scheduler.add_job(run_aggregation, args=args, id="aggregation-catch-up", name="Catch-up at start",
                      next_run_time=clock.now(), replace_existing=True)
    scheduler.add_job(run_emails, IntervalTrigger(minutes=EMAIL_EVERY_MINUTES), args=args, id="emails",
                      name="Emails: alerts, weekly digests, delivery", replace_existing=True)
    scheduler.add_job(run_requested, IntervalTrigger(seconds=REQUESTS_EVERY_SECONDS), args=args, id="requested-runs",
                      name="Run now requests and dead runs' days", replace_existing=True)
    scheduler.add_job(run_fits, IntervalTrigger(seconds=REQUESTS_EVERY_SECONDS), args=args, id="model-fits",
                      name="Health model fits requested from the web", replace_existing=True)
    scheduler.add_job(run_imports, IntervalTrigger(seconds=IMPORTS_EVERY_SECONDS), args=args, id="import-jobs",
                      name="Big check-in files: plan and commit", replace_existing=True)
    scheduler.add_job(run_compact, IntervalTrigger(minutes=COMPACT_EVERY_MINUTES), args=args, id="data-changes",
                      name="Data-change notes folded", replace_existing=True)
    return scheduler


# The jobs the web queues work for: woken at once on PostgreSQL (portal.core.wakeup).
WOKEN_JOBS = ("import-jobs", "model-fits", "requested-runs")


def wake_on_request(app, scheduler):
    """Run a job now when the web announces work for it (PostgreSQL's NOTIFY), instead of at its
    next tick; the ticks stay, for SQLite and for work queued while this process was down.
    Returns the event that stops listening (None on SQLite)."""

    def on_wake(job_id: str) -> None:
        if job_id in WOKEN_JOBS:
            scheduler.modify_job(job_id, next_run_time=clock.now())

    return wakeup.start_listening(app.config["PORTAL"].database_url, on_wake)
