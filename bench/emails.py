"""A week's emails: queue the weekly digests and the alerts (queue_weekly + queue_alerts) beside
one INSERT of the same rendered messages into a scratch table; then deliver the outbox to a
local SMTP server (aiosmtpd) with deliver_due, run after run, until it is empty."""
from __future__ import annotations

import time

from sqlalchemy import text

from bench.common import NOW, Row, Timer, free_port


class Counting:
    """aiosmtpd handler: counts what arrives."""

    def __init__(self):
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        return "250 OK"


def floor(session) -> float:
    rows = session.execute(text("SELECT user_id, kind, period, subject, body_text, body_html FROM outbox_messages")).all()
    session.execute(text("DROP TABLE IF EXISTS bench_outbox_floor"))
    session.execute(text("CREATE TABLE bench_outbox_floor (user_id int, kind text, period text, subject text, body_text text,"
                         " body_html text)"))
    session.commit()
    with Timer() as timer:
        session.connection().connection.cursor().executemany(
            "INSERT INTO bench_outbox_floor VALUES (%s, %s, %s, %s, %s, %s)", [tuple(r) for r in rows])
        session.commit()
    session.execute(text("DROP TABLE bench_outbox_floor"))
    session.commit()
    return timer.seconds


def measure(database_url: str, accounts: int) -> list[Row]:
    from aiosmtpd.controller import Controller

    from portal import create_app
    from portal.core.config import Config
    from portal.email import services
    from portal.email.outbox import deliver_due

    from bench.common import fixed_clock

    handler, port = Counting(), free_port()
    smtp = Controller(handler, hostname="127.0.0.1", port=port)
    smtp.start()
    config = Config.from_env({"PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "bench-" + "x" * 40,
                              "PORTAL_SMTP_HOST": "127.0.0.1", "PORTAL_SMTP_PORT": str(port), "PORTAL_SMTP_SECURITY": "none"})
    app = create_app(config)
    session = app.extensions["portal.sessionmaker"]()
    try:
        with fixed_clock(NOW):
            with app.app_context(), Timer() as weekly:
                queued_weekly = services.queue_weekly(app, session, NOW, force=True)
            with app.app_context(), Timer() as alerts:
                collect = getattr(services, "collect_notifications", None)  # today the job collects before it queues
                if collect:
                    collect(session, NOW)
                queued_alerts = services.queue_alerts(app, session, NOW)
            floor_seconds = floor(session)
            runs, started = 0, time.perf_counter()
            while session.execute(text("SELECT count(*) FROM outbox_messages WHERE status IN ('queued', 'retrying')")).scalar():
                deliver_due(session, config, NOW)
                runs += 1
                if runs > 1000:
                    raise RuntimeError("the outbox does not empty")
            delivery = time.perf_counter() - started
    finally:
        session.close()
        smtp.stop()
    queued = queued_weekly + queued_alerts
    seconds = weekly.seconds + alerts.seconds
    rate = handler.received / delivery if delivery else 0.0
    return [
        Row(f"queue a week's emails ({queued_weekly:,} weekly + {queued_alerts:,} alerts)", accounts, seconds, "s", floor_seconds,
            # The issue's target is the weekly digests' (the alerts are shown beside them, not judged).
            "weekly < 30 s for 1,000 recipients", weekly.seconds < 30 * max(1, queued_weekly) / 1000,
            f"weekly {weekly.seconds:.1f} s, alerts {alerts.seconds:.1f} s; floor: one executemany INSERT of the {queued:,} rendered rows"),
        Row(f"deliver {handler.received:,} to local SMTP", accounts, rate, "msg/s", None, "≥ 20 msg/s end to end",
            rate >= 20, f"{delivery:.1f} s in {runs} deliver_due run(s); a run delivers until nothing is due or its budget is spent, every 5 min in production"),
    ]
