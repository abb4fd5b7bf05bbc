"""Operator commands: `portal …` (or `flask --app app …`): database, users, demo data."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from portal.auth.services import save_user
from portal.core.validation import ValidationError
from portal.core.web import real_app
from portal.models import PARTNER_ROLES, Partner, Role, User, normalise_email


def _session():
    return current_app.extensions["portal.sessionmaker"]()


def _config():
    return current_app.config["PORTAL"]


@click.group("db")
def db_group():
    """Create and upgrade the database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str):
    """Apply migrations up to REVISION (default: the latest)."""
    from portal.core import migrate

    migrate.upgrade(_config().database_url, revision)
    if revision == "head":
        _ensure_reference_data()
    click.echo(f"Database at {_redacted(_config().database_url)} is at revision {revision}.")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str):
    """Revert migrations down to REVISION ('base' empties the database)."""
    from portal.core import migrate

    migrate.downgrade(_config().database_url, revision)
    click.echo(f"Database downgraded to {revision}.")


# The service's field names as this command's options, for its error messages.
OPTIONS = {"email": "--email", "display_name": "--name", "role": "--role", "partner_id": "--partner", "password": "--password"}


@click.group("users")
def users_group():
    """Manage logins."""


@users_group.command("create")
@click.option("--email", required=True)
@click.option("--name", "display_name", required=True, help="Display name.")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--partner", "partner_code", help="Partner code (required for partner roles).")
@click.option("--language", type=click.Choice(["en", "ja"]), default=None)
@click.password_option(help="Password (prompted if not given).")
@with_appcontext
def users_create(email, display_name, role, partner_code, language, password):
    """Create a user who can log in."""
    role = Role(role)
    with _session() as session:
        partner = None
        if role in PARTNER_ROLES:
            if not partner_code:
                raise click.UsageError("--partner is required for partner roles.")
            partner = session.scalar(select(Partner).where(Partner.code == partner_code.strip().upper()))
            if partner is None:
                raise click.UsageError(f"No partner with code {partner_code!r}.")
        elif partner_code:
            raise click.UsageError("Vendor roles do not belong to a partner; drop --partner.")
        values = {"email": email, "display_name": display_name, "role": role.value, "partner_id": partner.id if partner else None,
                  "language": language, "password": password, "active": True}
        try:
            user = save_user(session, values, password_method=_config().password_hash_method)
        except ValidationError as error:
            raise click.UsageError("\n".join(f"{OPTIONS.get(e.field, e.field)}: {e.message}" for e in error.errors)) from None
        session.commit()
        click.echo(f"Created {user.email} ({role.value}{', ' + partner.code if partner else ''}).")


@click.command("demo")
@click.option("--serve", is_flag=True, help="Start the development server afterwards.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def demo(serve: bool, host: str, port: int):
    """Migrate the database, load the demo data (once) and print the demo logins."""
    from portal import demo as demo_data
    from portal.core import migrate

    config = _config()
    migrate.upgrade(config.database_url)
    _ensure_reference_data()
    with _session() as session:
        if demo_data.has_data(session):
            click.echo("The database already has data; demo data not loaded again.")
        else:
            demo_data.load_demo(session, password_method=config.password_hash_method)
            click.echo("Demo data loaded.")
            runs = demo_data.aggregate_history(session, _today())
            click.echo(f"Scorecards computed for {runs} days of history.")
            from portal.email import services as emails

            queued = emails.queue_weekly(real_app(), session, force=True)
            click.echo(f"This week's digests and reminders queued in the outbox: {queued} (vendor admins see them under Outbox).")
    url = f"http://{host}:{port}/"
    click.echo("")
    click.echo(f"  Channel success portal: {url}")
    click.echo(f"  Password for every demo login: {demo_data.DEMO_PASSWORD}")
    for login in demo_data.demo_logins():
        click.echo(f"    {login.role.value:<16} {login.email}{'  (' + login.partner + ')' if login.partner else ''}")
    click.echo("")
    if serve:
        # Flask's app.run() refuses to start from inside a CLI command; werkzeug's server is what it calls.
        from werkzeug.serving import run_simple

        from portal.scheduler import build_scheduler, wake_on_request

        # One process here, so the nightly jobs may run inside it.
        scheduler = build_scheduler(real_app(), blocking=False)
        scheduler.start()
        wake_on_request(real_app(), scheduler)
        run_simple(host, port, real_app(), threaded=True)


def _today():
    return _config().today()


# sysexits' EX_TEMPFAIL: the run did not happen because a live run holds the day; try again later.
EXIT_NOT_RUN = 75


@click.command("aggregate")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="The day to compute (default: today).")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day of a range (with --to).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last day of a range.")
@click.option("--catch-up", is_flag=True, help="Every day missed since the last run, then today (what the scheduler does).")
@with_appcontext
def aggregate_command(day, start, end, catch_up):
    """Compute health scores, scorecards and alerts; a day already done is recomputed and replaced.

    Exits 0 when every day was computed, 1 when a day failed, 75 when a day was not run
    because another live run is working on it."""
    from datetime import timedelta

    from portal.scoring import aggregation

    if (start is None) != (end is None):
        raise click.UsageError("--from and --to go together.")
    if start and day:
        raise click.UsageError("Give either --date or --from/--to, not both.")
    timing = aggregation.Timing.of(_config())
    with _session() as session:
        if catch_up:
            results = aggregation.catch_up(session, _today(), trigger="cli", timing=timing)
        else:
            first, last = (start.date(), end.date()) if start else ((day.date(),) * 2 if day else (_today(),) * 2)
            if last < first:
                raise click.UsageError("--to is before --from.")
            days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
            results = [aggregation.aggregate(session, d, trigger="cli", force=True, timing=timing) for d in days]
    failed = not_run = False
    for result in results:
        if result.status == "done":
            click.echo(f"{result.day}: {result.account_rows} accounts scored, {result.alerts_raised} new alerts.")
        elif result.status == "skipped":
            not_run = True
            click.echo(f"{result.day}: NOT RUN: {result.error}; try again when it has finished.", err=True)
        else:
            failed = True
            click.echo(f"{result.day}: FAILED: {result.error} (the previous scorecards are kept).", err=True)
    if not results:
        click.echo("Nothing to do: every day is up to date.")
    if failed:
        raise SystemExit(1)
    if not_run:
        raise SystemExit(EXIT_NOT_RUN)


@click.command("scheduler")
@with_appcontext
def scheduler_command():
    """Run the scheduled jobs in this process (production: one such process, next to gunicorn)."""
    from portal.scheduler import EMAIL_EVERY_MINUTES, REQUESTS_EVERY_SECONDS, build_scheduler, wake_on_request

    scheduler = build_scheduler(real_app(), blocking=True)
    wake_on_request(real_app(), scheduler)  # work queued on the web starts at once (PostgreSQL)
    click.echo(f"Scheduler started: aggregation at '{_config().aggregation_cron}' ({_config().default_timezone}), "
               f"emails every {EMAIL_EVERY_MINUTES} minutes, 'Run now' requests and dead runs' days every "
               f"{REQUESTS_EVERY_SECONDS} seconds. Ctrl+C stops it.")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


@click.group("digest")
def digest_group():
    """Email digests, reminders and alerts."""


@digest_group.command("preview")
@click.option("--user", "email", required=True, help="The recipient's login email.")
@click.option("--html", is_flag=True, help="Print the HTML part instead of the text.")
@with_appcontext
def digest_preview(email: str, html: bool):
    """Print what this person would get this week (nothing is queued or sent)."""
    from portal.email import services as emails

    with _session() as session:
        user = session.scalar(select(User).where(User.email == normalise_email(email)))
        if user is None:
            raise click.BadParameter(f"no user with the email {email}", param_hint="--user")
        found = emails.preview(real_app(), session, user, _today())
        if not found:
            click.echo(f"Nothing for {user.email} this week (role {user.role.value}).")
        for kind, message in found:
            click.echo(f"=== {kind.value} · To: {user.email} · Subject: {message.subject}")
            click.echo(message.html if html else message.text)


@digest_group.command("run")
@with_appcontext
def digest_run():
    """What the scheduler does every few minutes: batch alerts, queue weekly emails whose hour
    has come (after today's aggregation), deliver the outbox."""
    from portal.email import services as emails
    from portal.core.db import writer_session

    with writer_session(current_app.extensions["portal.sessionmaker"]) as session:
        result = emails.run(real_app(), session)
    click.echo(f"Alerts queued: {result.alerts}; weekly emails queued: {result.weekly}; "
               + (f"sent: {result.sent}, failed (will retry): {result.failed}." if result.smtp
                  else "no SMTP server configured (PORTAL_SMTP_HOST): messages stay in the outbox."))


@click.group("model")
def model_group():
    """The health model: propose weights from recorded outcomes."""


EXIT_REFUSED = 2


@model_group.command("fit")
@click.option("--phase", type=click.Choice(["onboarding", "adoption"]), default=None,
              help="Fit one phase's weights only (the other keeps the current ones).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole proposal and backtests as JSON.")
@click.option("--include-inferred", is_flag=True, help="Also learn from inferred outcomes (left out by default).")
@with_appcontext
def model_fit(phase, as_json, include_inferred):
    """Propose weights and band thresholds from recorded renewal outcomes, with the held-out AUC of
    the proposal and of the current model and both backtests. Nothing is saved as a model: the
    proposal appears on the Health model page, where an admin edits and saves it. Recorded in the
    job history. Exits 2 when there are too few outcomes to fit."""
    import json

    from portal.scoring import backtest, fit

    settings = backtest.Settings.of(_config(), include_inferred=include_inferred)
    with _session() as session:
        row = fit.run_now(session, settings, None, phase)
        if as_json:
            click.echo(json.dumps({"fit": row.id, "status": row.status, "message": row.message, **(row.result or {})},
                                  indent=2, ensure_ascii=False))
        elif row.status == "done":
            result = row.result or {}
            cv = result["cv"]
            click.echo(f"Fit {row.id}: {result['outcomes']} outcomes ({result['churned']} churned), "
                       f"{result['seconds']} s.")
            click.echo(f"Held-out AUC over {cv['folds']} folds grouped by account: current model "
                       f"{cv['current_auc']:.3f}, proposal {cv['fitted_auc']:.3f}.")
            for name in ("onboarding", "adoption"):
                kept = result["kept"].get(name)
                weights = ", ".join(f"{k} {v}" for k, v in result["weights"][name].items())
                click.echo(f"{name}: {weights}" + (f" (kept: {kept})" if kept else ""))
            click.echo(f"Bands: green from {result['green_min']}, yellow from {result['yellow_min']} "
                       f"(now {result['current_green_min']} / {result['current_yellow_min']}).")
            click.echo("Review, edit and save it on the Health model page.")
    if row.status == "refused":
        click.echo(row.message, err=True)
        raise SystemExit(EXIT_REFUSED)
    if row.status == "failed":
        click.echo(f"FAILED: {row.message}", err=True)
        raise SystemExit(1)


def _ensure_reference_data() -> None:
    """Default milestones, features and cadences for a new portal; leaves edited ones alone."""
    from portal.reporting.reference_data import ensure_defaults

    with _session() as session:
        ensure_defaults(session)


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.group("outcome")
def outcome_group():
    """Renewal outcomes."""


@outcome_group.command("record")
@click.option("--partner", "partner_code", required=True, help="The partner's code.")
@click.option("--reference", required=True, help="The partner's reference for the customer.")
@click.option("--kind", type=click.Choice(["renewed", "churned"]), required=True)
@click.option("--term-end", "term_end", help="The renewal date the term had (default: the account's).")
@click.option("--on", "decided_on", help="Churned: the churn date. Renewed: the day it was decided.")
@click.option("--new-renewal-date", "new_renewal_date", help="Renewed: the end of the new term.")
@click.option("--arr", "arr_jpy", help="Renewed: the new ARR in yen (default: unchanged).")
@click.option("--reason", help="Churned: a churn reason's code.")
@click.option("--note")
@with_appcontext
def outcome_record(partner_code, reference, **values):
    """Record one account's renewal outcome, as the form, the file and the API do."""
    from portal.models import Account, ReportSource
    from portal.renewals.services import record_outcome

    with _session() as session:
        account = session.scalar(select(Account).join(Partner).where(Partner.code == partner_code.strip().upper(),
                                                                     Account.reference == reference))
        if account is None:
            raise click.UsageError(f"No account {reference!r} of partner {partner_code!r}.")
        try:
            outcome = record_outcome(session, account, {k: v for k, v in values.items() if v is not None}, source=ReportSource.FORM)
        except ValidationError as error:
            raise click.UsageError("\n".join(f"--{e.field.replace('_', '-')}: {e.message}" for e in error.errors)) from None
        session.commit()
        click.echo(f"Recorded: {account.reference} {outcome.kind.value} (term ending {outcome.term_end.isoformat()}).")


@outcome_group.command("reasons")
@with_appcontext
def outcome_reasons():
    """The vendor's churn reasons, in the order the form offers them (retired ones marked)."""
    from portal.renewals.services import all_reasons

    with _session() as session:
        for r in all_reasons(session):
            click.echo(f"{r.position:>4}  {r.code:<24} {r.label_en} / {r.label_ja}{'' if r.active else '  (retired)'}")


@outcome_group.command("reason")
@click.argument("code")
@click.option("--en", "label_en", help="The English label (required for a new reason).")
@click.option("--ja", "label_ja", help="The Japanese label (required for a new reason).")
@click.option("--position", type=int, help="Where the form lists it (lower first).")
@click.option("--retire/--offer", "retire", default=None, help="Stop offering it (outcomes that name it keep it), or offer it again.")
@with_appcontext
def outcome_reason(code, label_en, label_ja, position, retire):
    """Add a churn reason to the list or change one."""
    from portal.renewals.services import keep_reason

    with _session() as session:
        try:
            reason = keep_reason(session, code, label_en, label_ja, position, None if retire is None else not retire)
        except ValidationError as error:
            raise click.UsageError("\n".join(f"{e.field.replace('_', '-')}: {e.message}" for e in error.errors)) from None
        session.commit()
        click.echo(f"Churn reason {reason.code}: {reason.label_en} / {reason.label_ja}{'' if reason.active else ' (retired)'}.")


def register(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(users_group)
    app.cli.add_command(demo)
    app.cli.add_command(aggregate_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(digest_group)
    app.cli.add_command(outcome_group)
    app.cli.add_command(model_group)


def _create_app():
    from portal import create_app

    return create_app()


cli = FlaskGroup(create_app=_create_app, help="Channel success portal operator commands.")
