"""Benchmark: the heavy pages, one request at a time, on a kept database.

    .venv/bin/python bench/profile_pages.py setup --accounts 100000 --database-url postgresql+psycopg://root@127.0.0.1:5432/wt_pages_100k
    .venv/bin/python bench/profile_pages.py time --database-url postgresql+psycopg://root@127.0.0.1:5432/wt_pages_100k [--explain] [--profile PAGE]

`setup` fills an empty database with bench/aggregation.py's generator (500 partners, one of
them holding a tenth of the accounts: "the largest partner"), runs the aggregation once,
copies the day's snapshot back over 26 weeks (trends and sparklines have a history), adds a
voice-of-the-customer item to every fifth account and the logins the pages are timed as.
`time` requests each page through the Flask test client (after one warm-up request) and prints
the median milliseconds of a few requests, the CPU milliseconds of this process (rendering, ORM;
not the database's), the SQL statements and the time spent in SQL. With --generated it reads a
database left by `python -m bench generate` instead (its logins, the pages bench/pages.py loads):

    .venv/bin/python bench/profile_pages.py time --generated --database-url postgresql+psycopg://root@127.0.0.1:5432/bench_100000
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import time_machine
from sqlalchemy import event, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench.aggregation as generator  # noqa: E402
from portal.core.db import make_engine  # noqa: E402
from portal.core.migrate import upgrade  # noqa: E402
from portal.models import Role, User, VocItem, make_session_factory  # noqa: E402
from portal.scoring.aggregation import aggregate  # noqa: E402

DAY = generator.DAY
PARTNERS = 500
HISTORY_WEEKS = 26
LOGINS = {
    "manager": ("bench-manager@vendor.example", Role.PARTNER_MANAGER),
    "admin": ("bench-admin@vendor.example", Role.VENDOR_ADMIN),
    "reseller": ("bench-reseller@big.example", Role.PARTNER_ADMIN),
}
WORDS = ["export to CSV fails on large reports", "dashboard is slow", "love the new workflow", "need SSO",
         "billing page confusing", "帳票の出力が遅い", "mobile app crashes", "please add an Excel export", "great support"]


def setup(url: str, accounts: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    session = make_session_factory(engine)()
    rng = random.Random(accounts)
    generator.PARTNERS = PARTNERS
    started = time.perf_counter()
    generator.fill(session, accounts, rng)
    big = session.scalar(text("SELECT min(id) FROM partners"))
    for table in ("accounts", "check_ins", "milestones"):  # the largest partner: a tenth of the accounts
        column = "id" if table == "accounts" else "account_id"
        session.execute(text(f"UPDATE {table} SET partner_id = :big WHERE {column} % 10 = 0"), {"big": big})
    session.commit()
    session.execute(text("ANALYZE"))
    session.commit()
    print(f"filled {accounts:,} accounts in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    with time_machine.travel(datetime(DAY.year, DAY.month, DAY.day, 3), tick=True):
        result = aggregate(session, DAY, trigger="cli")
    assert result.status == "done", result.error
    print(f"aggregated in {time.perf_counter() - started:.0f} s")
    # History: the day's snapshot copied back (weekly for 26 weeks, daily for the ranking's 91 days).
    days = sorted({DAY - timedelta(weeks=w) for w in range(1, HISTORY_WEEKS + 1)}
                  | {DAY - timedelta(days=d) for d in range(1, 92)})
    score_columns = [r[0] for r in session.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'account_scores' AND table_schema = current_schema()"))
        if r[0] not in ("id", "day")] if engine.dialect.name == "postgresql" else None
    card_columns = [r[0] for r in session.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'partner_scorecards' AND table_schema = current_schema()"))
        if r[0] not in ("id", "day", "average_health")]
    for d in days:
        session.execute(text(f"INSERT INTO partner_scorecards (day, average_health, {', '.join(card_columns)}) "
                             f"SELECT :d, average_health + (random() * 10 - 5), {', '.join(card_columns)} "
                             "FROM partner_scorecards WHERE day = :day"), {"d": d, "day": DAY})
        session.execute(text("INSERT INTO aggregation_days (day, status, claimed_at, claim_token) VALUES (:d, 'done', :now, 'bench')"),
                        {"d": d, "now": datetime(2026, 11, 1)})
        if (DAY - d).days % 7 == 0 and (DAY - d).days <= 12 * 7:  # the accounts list's sparkline weeks
            session.execute(text(f"INSERT INTO account_scores (day, {', '.join(score_columns)}) "
                                 f"SELECT :d, {', '.join(score_columns)} FROM account_scores WHERE day = :day"), {"d": d, "day": DAY})
    session.commit()
    check_ins = session.execute(text(
        "SELECT max(id), account_id, partner_id FROM check_ins WHERE account_id % 5 = 0 GROUP BY account_id, partner_id")).all()
    session.execute(insert(VocItem), [
        {"check_in_id": c, "account_id": a, "partner_id": p, "kind": rng.choice(["request", "complaint", "praise"]),
         "product_area": None, "text": f"{rng.choice(WORDS)} ({a})"} for c, a, p in check_ins])
    for email, role in LOGINS.values():
        session.add(User(email=email, display_name=email.split("@")[0], role=role, password_hash="x",
                         partner_id=big if not role.is_vendor else None))
    session.flush()
    manager = session.scalar(select(User.id).where(User.email == LOGINS["manager"][0]))
    session.execute(text("INSERT INTO partner_managers (partner_id, user_id) SELECT id, :m FROM partners WHERE id % 5 = 0"),
                    {"m": manager})
    session.commit()
    session.execute(text("ANALYZE"))
    session.commit()
    print(f"history, VoC items and logins added; {len(check_ins):,} VoC items")


def pages(session) -> list[tuple[str, str]]:
    big = session.scalar(text("SELECT min(id) FROM partners"))
    some = session.scalar(text("SELECT max(id) FROM accounts WHERE partner_id = :p"), {"p": big})
    return [
        ("manager", "/channel"),
        ("manager", f"/partners/{big}/scorecard"),
        ("manager", "/voice-of-customer?q=export"),
        ("manager", "/voice-of-customer"),
        ("reseller", "/home"),
        ("reseller", "/accounts"),
        ("admin", "/accounts?page=300"), ("admin", "/accounts?page=2000"),
        ("admin", "/accounts"),
        ("reseller", "/api/v1/accounts"),
        ("manager", f"/accounts/{some}"),
        ("manager", "/actions?tab=all"),
    ]


def generated_pages(session) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The logins and the pages of bench/pages.py on a `bench generate` database."""
    from bench.generate import MANAGER, VENDOR_ADMIN, admin_email

    largest = session.scalar(text("SELECT id FROM partners WHERE code = 'P1'"))
    accounts = session.scalar(text("SELECT count(*) FROM accounts"))
    from portal.core.config import Config

    per_page = Config.from_env(dict(os.environ)).page_size  # the portal's page size, as the server has it
    page = max(2, int(accounts * 0.8 / per_page))
    before = session.scalar(text("SELECT id FROM accounts ORDER BY lower(coalesce(name_kana, name)), id OFFSET :n LIMIT 1"),
                            {"n": (page - 1) * per_page - 1})
    logins = {"manager": MANAGER, "admin": VENDOR_ADMIN, "reseller": admin_email(1)}
    return logins, [
        ("manager", "/_bench/layout"),
        ("manager", "/channel"),
        ("manager", f"/partners/{largest}/scorecard"),
        ("manager", "/voice-of-customer?q=export"),
        ("reseller", "/home"),
        ("admin", f"/accounts?page={page}&after={before}"),
        ("reseller", "/api/v1/accounts?page=2"),
    ]


def timed(url: str, explain: bool, profile: str | None, repeat: int, only: str | None, generated: bool = False) -> None:
    from portal import create_app
    from portal.api.tokens import issue_token
    from portal.core.config import Config

    if generated:  # the app gunicorn serves in the bench, with its /_bench/layout page
        os.environ.update(PORTAL_DATABASE_URL=url, PORTAL_SECRET_KEY="bench-" + "x" * 40, PORTAL_ENV="production",
                          PORTAL_SECURE_COOKIES="0")
        from bench import wsgi

        app = wsgi.app
    else:
        app = create_app(Config.from_env({**os.environ, "PORTAL_DATABASE_URL": url}))
    app.login_manager.session_protection = None  # the session is set by hand below, without a login request
    statements: list[tuple[str, float]] = []
    started_at: dict = {}

    def before(conn, cursor, statement, parameters, context, executemany):
        started_at[id(cursor)] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, time.perf_counter() - started_at.pop(id(cursor), time.perf_counter())))

    from sqlalchemy.engine import Engine
    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    with app.app_context():
        from portal.core.web import get_session
        session = get_session()
        if generated:
            logins, todo = generated_pages(session)
        else:
            logins, todo = {k: e for k, (e, _r) in LOGINS.items()}, pages(session)
        users = {k: session.scalar(select(User).where(User.email == e)) for k, e in logins.items()}
        secret = issue_token(session, users["reseller"], "bench")[1]
        session.commit()
    print(f"{'page':<42} {'who':<9} {'ms p50':>7} {'cpu ms':>7} {'sql ms':>7} {'stmts':>6}")
    moment = datetime(2026, 11, 23, 1) if generated else datetime(DAY.year, DAY.month, DAY.day, 3)
    with time_machine.travel(moment, tick=True):
        for who, path in todo:
            if only and only not in path:
                continue
            client = app.test_client()
            with client.session_transaction() as s:
                s["_user_id"] = users[who].session_token
                s["_fresh"] = True
            headers = {"Authorization": f"Bearer {secret}"} if path.startswith("/api") else {}
            response = client.get(path, headers=headers)
            if response.status_code != 200:
                print(f"{path:<42} {who:<9} HTTP {response.status_code}")
                continue
            times, cpu, sql = [], [], []
            for _ in range(repeat):
                statements.clear()
                start, cpu_start = time.perf_counter(), time.process_time()
                if profile and profile in path:
                    profiler = cProfile.Profile()
                    profiler.enable()
                    client.get(path, headers=headers)
                    profiler.disable()
                else:
                    client.get(path, headers=headers)
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - cpu_start)
                sql.append(sum(t for _s, t in statements))
            print(f"{path[:42]:<42} {who:<9} {1000 * statistics.median(times):7.1f} {1000 * statistics.median(cpu):7.1f} "
                  f"{1000 * statistics.median(sql):7.1f} {len(statements):6}")
            if explain:
                for statement, seconds in sorted(statements, key=lambda s: -s[1])[:3]:
                    print(f"   {1000 * seconds:7.1f} ms  {' '.join(statement.split())[:300]}")
            if profile and profile in path:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["setup", "time"])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--explain", action="store_true", help="print the three slowest statements of each page")
    parser.add_argument("--profile", help="cProfile the pages whose path contains this")
    parser.add_argument("--only", help="only the pages whose path contains this")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--generated", action="store_true", help="a database left by `python -m bench generate`")
    args = parser.parse_args()
    if args.command == "setup":
        setup(args.database_url, args.accounts)
    else:
        timed(args.database_url, args.explain, args.profile, args.repeat, args.only, args.generated)


if __name__ == "__main__":
    main()
