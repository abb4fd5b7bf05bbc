"""Benchmark: the accounts list (one page and its count, sorted and filtered in SQL) at growing sizes.

    .venv/bin/python bench/account_list.py                   # SQLite, 2k and 10k accounts
    .venv/bin/python bench/account_list.py --sizes 10000 --database-url postgresql+psycopg://root@127.0.0.1:5432/test

Fills accounts with a year of monthly check-ins and two score snapshots, then times the page
(count + 25 rows + the page's sparklines) for a few sorts and filters, as a vendor admin sees it.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.aggregation import DAY, database, fill  # noqa: E402
from portal.accounts import listing  # noqa: E402
from portal.core.db import make_engine  # noqa: E402
from portal.core.lists import paginate  # noqa: E402
from portal.core.migrate import upgrade  # noqa: E402
from portal.models import AccountScore, AggregationDay, Role, User, make_session_factory  # noqa: E402

CASES = [("name", {}), ("band", {}), ("next_due", {"overdue": True}), ("trend", {"q": "99"}), ("last_check_in", {"band": "red"})]


def scores(session, rng: random.Random) -> None:
    accounts = session.execute(text("SELECT id, partner_id FROM accounts")).all()
    for day in (DAY - timedelta(days=35), DAY):
        session.add(AggregationDay(day=day, status="done", claimed_at=datetime(2026, 11, 23), claim_token="bench"))
        session.execute(insert(AccountScore), [
            {"day": day, "account_id": a, "partner_id": p, "model_version": 1, "onboarding_phase": False, "arr_jpy": 0,
             "score": s, "band": None if s is None else "green" if s >= 70 else "yellow" if s >= 40 else "red", "capped": False,
             "stale": False, "seats": 0, "milestones_due": 0, "milestones_on_time": 0}
            for a, p in accounts for s in [rng.choice([None, rng.randint(0, 100)])]])
    session.add(User(email="bench@vendor.example", display_name="Bench", role=Role.VENDOR_ADMIN, password_hash="x"))
    session.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--database-url")
    args = parser.parse_args()
    for size in args.sizes:
        url, drop = database(args.database_url)
        try:
            upgrade(url)
            engine = make_engine(url)
            session = make_session_factory(engine)()
            rng = random.Random(size)
            fill(session, size, rng)
            scores(session, rng)
            user = session.scalar(select(User).where(User.email == "bench@vendor.example"))
            days = listing.score_days(session)
            for sort, filters in CASES:
                start = time.perf_counter()
                stmt = listing.account_rows(session, user, DAY, days, listing.Filters(**filters), sort=sort)
                page = paginate(session, stmt, rows=True, per_page=25, page=1)
                listing.sparklines(session, [r.Account.id for r in page.items], days.latest)
                print(f"{size:>7} accounts  sort={sort:<14} {filters!s:<18} {page.total:>6} rows  {time.perf_counter() - start:6.3f} s")
            session.close()
            engine.dispose()
        finally:
            drop()


if __name__ == "__main__":
    main()
