"""python -m bench all --accounts 10000,100000 [--quick] [--duration S] [--repeat N]

Subcommands: all | generate | import | aggregate | pages | email; `fit` (bench/fit.py) measures
the health model's fit on its own generated databases bench_fit_{size}. Each size gets its own
PostgreSQL database (--database-url, {size} filled in), dropped and created by the tool; the
measurement subcommands reuse the database `generate` left (run `generate` first, or `all`).
The table goes to the screen and to bench/results/latest.md and latest.json.
"""
from __future__ import annotations

import argparse
import platform
import sys
from datetime import datetime, timezone

from bench.common import DAY, DEFAULT_URL, Row, Timer, database_url, drop, fixed_clock, recreate
from bench import report

STEPS = ("generate", "pages", "import", "email", "aggregate")  # pages first: they read the data as generated


def generate_step(url: str, accounts: int) -> list[Row]:
    from portal.core.migrate import upgrade

    from bench.generate import generate
    from bench.nightly import run_child

    recreate(url)
    upgrade(url)
    session = session_for(url)
    with Timer() as timer:
        counts = generate(session, accounts)
    session.close()
    with fixed_clock():
        first = run_child(url, DAY, force=False)
    assert first["status"] == "done", first
    settle(url)
    made = ", ".join(f"{v:,} {k}" for k, v in counts.items())
    return [Row("generate the data (set-based SQL)", accounts, timer.seconds, "s", note=made),
            Row("… first aggregation after the bulk load", accounts, first["seconds"], "s",
                note=f"peak memory {first['peak_mb']:.0f} MB (process)")]


def settle(url: str) -> None:
    """VACUUM ANALYZE after the bulk load and the first run, as autovacuum would on a live
    database (it is off on this machine): without the visibility map no index-only scan pays
    off, and the pages would be read as a database that never settled."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


def session_for(url: str):
    from portal.core.db import make_engine
    from portal.models import make_session_factory

    return make_session_factory(make_engine(url))()


def run(step: str, url: str, accounts: int, args) -> list[Row]:
    if step == "generate":
        return generate_step(url, accounts)
    session = session_for(url)
    try:
        if step == "aggregate":
            from bench import nightly

            return nightly.measure(session, url, accounts, args.repeat)
        if step == "email":
            from bench import emails

            return emails.measure(url, accounts)
        from bench.server import Server

        with Server(url, workers=2, timeout=args.timeout) as server:
            if step == "pages":
                from bench import pages

                return pages.measure(session, server, accounts, args.duration, args.repeat)
            from bench import imports

            return imports.measure(session, server, accounts, rows=args.import_rows, unchanged=args.import_rows // 2)
    finally:
        session.close()


def main(argv: list[str] | None = None) -> int:
    if (argv if argv is not None else sys.argv[1:])[:1] == ["fit"]:
        # The health model's fit (#17): its own databases bench_fit_{size} and its own report.
        from bench import fit

        fit.main((argv if argv is not None else sys.argv[1:])[1:])
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("all",) + STEPS)
    parser.add_argument("--accounts", default="10000,100000", help="sizes, comma-separated (default 10000,100000)")
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"PostgreSQL URL; {{size}} is the size (default {DEFAULT_URL})")
    parser.add_argument("--duration", type=float, default=20, help="seconds of load per page and round (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each measurement (default 3)")
    parser.add_argument("--import-rows", type=int, default=10_000, help="rows of the import file (default 10,000)")
    parser.add_argument("--timeout", type=int, default=1800,
                        help="gunicorn worker timeout, s (default 1800 so slow requests are measured; rows over 30 s say so)")
    parser.add_argument("--quick", action="store_true", help="5 s per page, one round")
    parser.add_argument("--keep", action="store_true", help="keep the databases after `all`")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.repeat = min(args.duration, 5), 1
    sizes = [int(s.replace("_", "")) for s in args.accounts.split(",") if s.strip()]
    steps = STEPS if args.command == "all" else (args.command,)
    rows: list[Row] = []
    for accounts in sizes:
        url = database_url(args.database_url, accounts)
        for step in steps:
            print(f"[bench] {accounts:,} accounts: {step}…", file=sys.stderr, flush=True)
            found = run(step, url, accounts, args)
            rows += found
            print(report.text_table(found), file=sys.stderr, flush=True)
        if args.command == "all" and not args.keep:
            drop(url)
    header = (f"bench {args.command} --accounts {args.accounts} --duration {args.duration:g} --repeat {args.repeat}, "
              f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, PostgreSQL")
    print(header)
    print(report.text_table(rows))
    print(f"\nwritten to {report.write(rows, header)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
