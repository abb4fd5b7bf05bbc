"""Renewal outcomes at size: migration 0028's data step (churns and inferred renewals to outcomes),
then the reads that use them — the reseller home's "outcome missing" list (one query), the
retention parts (GRR/NRR/renewal rate) and reporting compliance — with their query counts.

    .venv/bin/python -m bench.outcomes [--accounts 100000] [--url postgresql+psycopg://root@127.0.0.1:5432/postgres]

Without --url, a SQLite file. The population: 20 partners, contracts started over three years,
renewal dates spread over the next year and the last two months, 7 % churned.
"""
from __future__ import annotations

import argparse
import importlib.util
import random
from datetime import datetime, timedelta

from sqlalchemy import event, func, insert, select, text

from bench.aggregation import database
from bench.common import DAY, ROOT, Timer, fixed_clock

PARTNERS = 20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--url", default=None)
    parser.add_argument("--compare", metavar="REV", help="also time REV's retention and compliance (e.g. main: before outcomes)")
    args = parser.parse_args()
    from portal.core import migrate
    from portal.core.db import make_engine
    from portal.models import Account, AccountArr, Partner, RenewalOutcome, make_session_factory  # noqa: F401
    from portal.renewals.services import outcomes_missing
    from portal.scoring import figures

    url, drop = database(args.url)
    try:
        with fixed_clock():
            migrate.upgrade(url, "0027")
            engine = make_engine(url)
            rng = random.Random(17)
            now = datetime(2026, 11, 23)
            with engine.begin() as conn:
                conn.execute(insert(Partner), [{"name": f"P{n}", "code": f"P{n}", "tier": "silver", "status": "active",
                                                "imports_create_accounts": False, "created_at": now, "updated_at": now}
                                               for n in range(PARTNERS)])
                partner_ids = [r[0] for r in conn.execute(text("SELECT id FROM partners ORDER BY id"))]
                rows = []
                for n in range(args.accounts):
                    start = DAY - timedelta(days=rng.randint(30, 3 * 365))
                    renewal = DAY + timedelta(days=rng.randint(-60, 365))
                    churned = rng.random() < 0.07
                    rows.append({"partner_id": partner_ids[n % PARTNERS], "reference": f"R{n}", "name": f"Customer {n}",
                                 "segment": "low_touch", "seats": 10, "arr_jpy": 1_200_000, "contract_start": start,
                                 "renewal_date": renewal, "status": "churned" if churned else "active",
                                 "churned_on": DAY - timedelta(days=rng.randint(1, 300)) if churned else None,
                                 "churn_reason": "Budget cut" if churned else None, "created_at": now, "updated_at": now})
                conn.execute(insert(Account.__table__), rows)
                conn.execute(text("INSERT INTO account_arr_history (account_id, effective_on, arr_jpy) "
                                  "SELECT id, contract_start, arr_jpy FROM accounts"))
            spec = importlib.util.spec_from_file_location("m0028", ROOT / "migrations" / "versions" / "0028_outcomes.py")
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            migrate.upgrade(url, "0028")  # the tables and the data step; timed again alone below
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM renewal_outcomes"))
            with engine.begin() as conn, Timer() as migration:
                module.migrate_data(conn)
            factory = make_session_factory(engine)
            queries = []
            event.listen(engine, "before_cursor_execute", lambda *a, **k: queries.append(1))
            with factory() as session:
                outcomes = session.scalar(select(func.count()).select_from(RenewalOutcome))
                outcomes_missing(session, DAY, partner_ids[1], 5)  # warm: statement compiled, pages cached
                queries.clear()
                with Timer() as home:
                    listed, total = outcomes_missing(session, DAY, partner_ids[0], 5)
                home_queries = len(queries)
                parts = figures.retention(DAY)
                session.execute(select(parts)).all()
                with Timer() as retention:
                    session.execute(select(parts)).all()
                compliance_parts = figures.reporting_compliance(session, DAY)
                session.execute(select(compliance_parts)).all()
                with Timer() as compliance:
                    session.execute(select(compliance_parts)).all()
                before = ""
                if args.compare:
                    import subprocess
                    import types

                    source = subprocess.run(["git", "show", f"{args.compare}:portal/scoring/figures.py"], cwd=ROOT, check=True,
                                            capture_output=True, text=True).stdout
                    old = types.ModuleType("figures_before")
                    exec(compile(source, "figures_before.py", "exec"), old.__dict__)  # noqa: S102  # the code of a revision of this repo
                    timings = []
                    for parts in (old.retention(DAY), old.reporting_compliance(session, DAY)):
                        session.execute(select(parts)).all()
                        with Timer() as timer:
                            session.execute(select(parts)).all()
                        timings.append(timer.seconds * 1000)
                    before = f" ({args.compare}: retention {timings[0]:.0f} ms, compliance {timings[1]:.0f} ms)"
            engine.dispose()
        print(f"{args.accounts:,} accounts ({url.split(':')[0]}): migration data step {migration.seconds:.2f} s -> {outcomes:,} outcomes; "
              f"outcome missing for one partner ({total:,}, first {len(listed)}) {home.seconds * 1000:.1f} ms in {home_queries} query; "
              f"retention parts {retention.seconds * 1000:.0f} ms; reporting compliance {compliance.seconds * 1000:.0f} ms{before}")
    finally:
        drop()


if __name__ == "__main__":
    main()
