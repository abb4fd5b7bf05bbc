"""Benchmark: a week's emails at channel scale, queued and then delivered to a local SMTP server.

    .venv/bin/python bench/profile_emails.py --database-url postgresql+psycopg://root@127.0.0.1:5432/wt_email_bench

Generates accounts (bench/aggregation.py's fill), `--users` recipients with every email on
(partner managers owning several partners, partner admins and partner users, half of them
reading Japanese), scorecards for two Mondays a week apart and turned-red alerts, then times:
collecting the notifications, queueing the alert emails, queueing the weekly emails, and
delivering the whole outbox to an aiosmtpd server on loopback (`pip install -e '.[bench]'`).
`--keep SCHEMA` keeps (and on the next run reuses) the generated data.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, event, func, insert, select, text, update
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.aggregation import DAY, database, fill  # noqa: E402
from portal import create_app  # noqa: E402
from portal.core.config import Config  # noqa: E402
from portal.core.db import make_engine  # noqa: E402
from portal.core.migrate import upgrade  # noqa: E402
from portal.email import outbox, services as emails  # noqa: E402
from portal.models import (  # noqa: E402
    ActionItem, Alert, AlertKind, Notification, OutboxMessage, Partner, Role, User, make_session_factory, partner_managers,
)
from portal.scoring.aggregation import aggregate  # noqa: E402

NOW = datetime.combine(DAY, datetime.min.time(), tzinfo=ZoneInfo("Asia/Tokyo")).replace(hour=9)
RED_PER_PARTNER = 20


def add_people(session, users: int, rng: random.Random) -> None:
    partners = session.scalars(select(Partner.id).order_by(Partner.id)).all()
    managers = max(1, users // 50)
    rows = []
    for n in range(users):
        role = Role.PARTNER_MANAGER if n < managers else (Role.PARTNER_ADMIN if n % 2 else Role.PARTNER_USER)
        rows.append({"email": f"person{n}@bench.example", "display_name": f"Person {n}", "password_hash": "x",
                     "role": role, "partner_id": None if role == Role.PARTNER_MANAGER else partners[n % len(partners)],
                     "language": "ja" if n % 2 else "en", "session_token": f"t{n}", "active": True,
                     "created_at": datetime.now(timezone.utc)})
    session.execute(insert(User), rows)
    manager_ids = session.scalars(select(User.id).where(User.role == Role.PARTNER_MANAGER).order_by(User.id)).all()
    session.execute(insert(partner_managers), [{"partner_id": p, "user_id": manager_ids[i % len(manager_ids)]}
                                               for i, p in enumerate(partners)])
    # Action items: a few per partner, owned by its staff, some past due.
    staff = session.execute(select(User.id, User.partner_id).where(User.partner_id.is_not(None))).all()
    accounts = dict(session.execute(select(func.min(text("accounts.id")), text("accounts.partner_id"))
                                    .select_from(text("accounts")).group_by(text("accounts.partner_id"))).all())
    by_partner = {p: a for a, p in accounts.items()}
    session.execute(insert(ActionItem), [
        {"account_id": by_partner[partner_id], "partner_id": partner_id, "title": f"Follow up {i}", "owner_id": user_id,
         "due_on": DAY + timedelta(days=rng.randint(-10, 10)), "created_at": datetime.now(timezone.utc)}
        for i, (user_id, partner_id) in enumerate(staff) if partner_id in by_partner])
    # Accounts turned red this week: what the alert emails tell.
    red = session.execute(text("SELECT id, partner_id FROM accounts")).all()
    rng.shuffle(red)
    per: dict[int, int] = {}
    alerts = []
    for account_id, partner_id in red:
        if per.get(partner_id, 0) < RED_PER_PARTNER:
            per[partner_id] = per.get(partner_id, 0) + 1
            alerts.append({"kind": AlertKind.TURNED_RED, "account_id": account_id, "partner_id": partner_id,
                           "subject": "red", "raised_on": DAY})
    session.execute(insert(Alert), alerts)
    session.commit()


def reset(session) -> None:
    """Forget the emails of an earlier run, so queueing starts from scratch."""
    session.execute(update(Notification).values(message_id=None))
    session.execute(delete(Notification))
    session.execute(delete(OutboxMessage))
    session.commit()


class Counter:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="PostgreSQL (or sqlite:///file) URL")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--keep", metavar="SCHEMA", help="keep the generated data in this schema and reuse it next time")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the queueing")
    parser.add_argument("--queue-only", action="store_true", help="queue, do not deliver")
    args = parser.parse_args()

    if args.keep:
        admin = make_engine(args.database_url)
        with admin.begin() as conn:
            fresh = not conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": args.keep}).first()
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{args.keep}"'))
        url = make_url(args.database_url).update_query_dict({"options": f"-csearch_path={args.keep}"}).render_as_string(False)
        drop = lambda: None  # noqa: E731
    else:
        url, drop = database(args.database_url)
        fresh = True
    try:
        if fresh:
            upgrade(url)
        engine = make_engine(url)
        session = make_session_factory(engine)()
        if fresh:
            started = time.perf_counter()
            fill(session, args.accounts, random.Random(args.accounts))
            add_people(session, args.users, random.Random(1))
            for day in (DAY - timedelta(days=7), DAY):
                assert aggregate(session, day, trigger="cli").status == "done"
            session.execute(text("ANALYZE"))
            session.commit()
            print(f"generated {args.accounts:,} accounts, {args.users:,} people in {time.perf_counter() - started:.0f} s")
        reset(session)

        config = Config.for_testing(url, Path("/tmp/bench-emails"), secret_key="bench")
        app = create_app(config)
        statements = [0]
        event.listen(engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))

        def timed(name, work):
            statements[0] = 0
            started = time.perf_counter()
            result = work()
            print(f"{name:<28} {time.perf_counter() - started:8.2f} s  {statements[0]:>7,} statements  -> {result}")
            return result

        def queue_all():
            timed("collect_notifications", lambda: emails.collect_notifications(session, NOW))
            timed("queue_alerts", lambda: emails.queue_alerts(app, session, NOW))
            timed("queue_weekly (force)", lambda: emails.queue_weekly(app, session, NOW, force=True))

        started = time.perf_counter()
        if args.profile:
            import cProfile
            import pstats
            profile = cProfile.Profile()
            profile.runcall(queue_all)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        else:
            queue_all()
        print(f"{'queued in all':<28} {time.perf_counter() - started:8.2f} s")

        if args.queue_only:
            return
        from aiosmtpd.controller import Controller
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        handler = Counter()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            config.smtp_host, config.smtp_port, config.smtp_security = "127.0.0.1", port, "none"
            total = session.scalar(select(func.count()).select_from(OutboxMessage))
            runs, started = 0, time.perf_counter()
            while handler.count < total and runs < 100:
                runs += 1
                outbox.deliver_due(session, config, emails.clock.as_stored(NOW))
            elapsed = time.perf_counter() - started
            every = 60 * 5  # the scheduler's interval (portal/scheduler.py)
            print(f"delivered {handler.count:,} of {total:,} in {runs} run(s), {elapsed:.1f} s sending: "
                  f"{handler.count / elapsed:.1f} msg/s while sending; with a run every {every // 60} min the last "
                  f"goes out after ~{(runs - 1) * every / 60 + elapsed / 60:.1f} min "
                  f"({handler.count / ((runs - 1) * every + elapsed):.1f} msg/s end to end)")
        finally:
            controller.stop()
        session.close()
        engine.dispose()
    finally:
        drop()


if __name__ == "__main__":
    main()
