"""Benchmark: the nightly aggregation at growing sizes, with a year of monthly check-ins.

    .venv/bin/python bench/aggregation.py                    # SQLite, 10k and 40k accounts
    .venv/bin/python bench/aggregation.py --sizes 10000 100000 --database-url postgresql+psycopg://root@127.0.0.1:5432/test

Prints, per size: rows generated, seconds for one run, and the time per 1,000 accounts; the
ratio between sizes shows whether the set-based SQL scales linearly (ratio near 1) or worse.
Peak memory of this process is printed too: the job must not load accounts into Python.
"""
from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal.scoring.aggregation import aggregate  # noqa: E402
from portal.core.db import make_engine  # noqa: E402
from portal.core.migrate import upgrade  # noqa: E402
from portal.models import Account, AccountArr, CheckIn, Milestone, Partner, make_session_factory  # noqa: E402
from portal.reporting.reference_data import ensure_defaults  # noqa: E402

DAY = date(2026, 11, 23)
PARTNERS = 50
BATCH = 20_000


def database(url: str | None):
    if not url:
        path = Path(tempfile.mkdtemp()) / "bench.db"
        return f"sqlite:///{path}", lambda: None
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop():
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))

    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False), drop


def fill(session, accounts: int, rng: random.Random) -> int:
    ensure_defaults(session)
    session.execute(insert(Partner), [{"name": f"Partner {n}", "code": f"P{n}", "tier": "silver", "status": "active",
                                       "imports_create_accounts": False, "created_at": datetime.now(), "updated_at": datetime.now()}
                                      for n in range(PARTNERS)])
    partner_ids = [r[0] for r in session.execute(text("SELECT id FROM partners ORDER BY id"))]
    template_ids = [r[0] for r in session.execute(text("SELECT id FROM milestone_templates"))]
    rows = 0
    segments = ["high_touch"] * 2 + ["low_touch"] * 3 + ["tech_touch"] * 5
    for start in range(0, accounts, BATCH):
        chunk = []
        for n in range(start, min(accounts, start + BATCH)):
            contract = DAY - timedelta(days=rng.randint(30, 900))
            chunk.append({"partner_id": rng.choice(partner_ids), "reference": f"R{n}", "name": f"Customer {n}",
                          "segment": segments[n % 10], "seats": rng.choice([10, 50, 200]), "arr_jpy": rng.randint(1, 50) * 100_000,
                          "contract_start": contract, "renewal_date": contract + timedelta(days=365 * 2),
                          "status": "active", "created_at": datetime.now(), "updated_at": datetime.now()})
        session.execute(insert(Account), chunk)
        rows += len(chunk)
    session.commit()
    ids = session.execute(text("SELECT id, partner_id, contract_start FROM accounts")).all()
    check_ins, milestones, arr = [], [], []

    def flush():
        nonlocal rows
        for model, batch in ((CheckIn, check_ins), (Milestone, milestones), (AccountArr, arr)):
            if batch:
                session.execute(insert(model), batch)
                rows += len(batch)
                batch.clear()

    for account_id, partner_id, contract in ids:
        contract = contract if isinstance(contract, date) else date.fromisoformat(contract)
        arr.append({"account_id": account_id, "effective_on": contract, "arr_jpy": 1_000_000})
        for month in range(12):  # a year of monthly check-ins
            period = date(DAY.year - (1 if DAY.month - month - 1 <= 0 else 0), (DAY.month - month - 2) % 12 + 1, 1)
            check_ins.append({"account_id": account_id, "partner_id": partner_id, "period_start": period, "version": 1,
                              "source": "file", "submitted_at": datetime.combine(period + timedelta(days=40), datetime.min.time()),
                              "active_users": rng.randint(0, 10), "nps": rng.randint(0, 10), "open_tickets": 0,
                              "open_escalations": rng.choice([0, 0, 0, 1]), "sentiment": rng.choice(["green", "yellow", "red"]),
                              "expansion_jpy": 0, "outcome_progress": rng.randint(0, 100)})
        for i, template_id in enumerate(template_ids):
            planned = contract + timedelta(days=14 * (i + 1))
            milestones.append({"account_id": account_id, "partner_id": partner_id, "template_id": template_id, "status": "done",
                               "planned_on": planned, "completed_on": planned + timedelta(days=rng.randint(-2, 20)),
                               "updated_at": datetime.now()})
        if len(check_ins) >= BATCH:
            flush()
    flush()
    session.commit()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 40_000])
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: a SQLite file)")
    args = parser.parse_args()
    print(f"{'accounts':>9} {'rows':>10} {'load s':>7} {'run s':>7} {'ms/1k acc':>10} {'ratio':>6}")
    baseline = None
    for size in args.sizes:
        url, drop = database(args.database_url)
        try:
            upgrade(url)
            engine = make_engine(url)
            session = make_session_factory(engine)()
            started = time.perf_counter()
            rows = fill(session, size, random.Random(size))
            # A live database has planner statistics (autovacuum keeps them); fresh bulk data has none.
            session.execute(text("ANALYZE"))
            session.commit()
            loaded = time.perf_counter() - started
            started = time.perf_counter()
            result = aggregate(session, DAY, trigger="cli")
            elapsed = time.perf_counter() - started
            assert result.status == "done", result.error
            per_k = 1000 * elapsed / size * 1000
            baseline = baseline or per_k
            print(f"{size:>9,} {rows:>10,} {loaded:>7.1f} {elapsed:>7.2f} {per_k:>10.1f} {per_k / baseline:>6.2f}")
            session.close()
            engine.dispose()
        finally:
            drop()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak_mb:.0f} MB (includes generating the data)")


if __name__ == "__main__":
    main()
