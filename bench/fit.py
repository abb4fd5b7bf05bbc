"""The health model's fit (#17) on a generated population whose churn depends on known components.

`generate` writes accounts, one snapshot each 90 days before its outcome, and the outcome
(renewed or churned), churn drawn from a logistic of usage (strong), satisfaction (medium) and
effort (weak); the other components are noise. A tenth of the accounts have a second outcome a
year earlier (so the grouped folds matter). The tests use it small; `python -m bench fit` at
10k and 100k measures the default and fitted models' held-out AUC, the band churn rates and the
fit time (target: under 30 s at 100k), each size in its own database bench_fit_{size}.
"""
from __future__ import annotations

import argparse
import time
from datetime import date, datetime, timedelta, timezone

import numpy as np
from sqlalchemy import insert

from portal.accounts.models import Account, LifecycleStatus, Partner, PartnerTier, Segment
from portal.renewals.models import OutcomeKind, RenewalOutcome
from portal.scoring.health import COMPONENTS, ModelSpec, capped_band, gated_score  # noqa: F401  (the same scoring)
from portal.scoring.models import AccountScore

DECIDED_ON = date(2026, 10, 1)
LEAD_DAYS = 90
# Churn's log-odds per point of each component (below 50 raises it): the fit should find this order.
STRENGTHS = {"usage": 0.05, "satisfaction": 0.03, "effort": 0.015}
BASE_LOG_ODDS = -1.6   # about 25 % churn overall
MISSING = 0.15         # share of each component left unreported
SEGMENTS = (Segment.HIGH_TOUCH, Segment.LOW_TOUCH, Segment.TECH_TOUCH)
BATCH = 5000


def draw(accounts: int, seed: int = 1, strengths: dict | None = None) -> dict:
    """The population as arrays (components NaN where missing; churned 0/1), before any database."""
    strengths = STRENGTHS if strengths is None else strengths
    rng = np.random.default_rng(seed)
    k = len(COMPONENTS)
    values = np.round(rng.uniform(0, 100, (accounts, k)))
    values[rng.random((accounts, k)) < MISSING] = np.nan
    log_odds = np.full(accounts, BASE_LOG_ODDS)
    for name, strength in strengths.items():
        x = values[:, COMPONENTS.index(name)]
        log_odds += -strength * (np.where(np.isnan(x), 50.0, x) - 50.0)
    churned = (rng.random(accounts) < 1 / (1 + np.exp(-log_odds))).astype(int)
    return {"values": values, "churned": churned, "onboarding": rng.random(accounts) < 0.3,
            "segment": rng.integers(0, len(SEGMENTS), accounts), "earlier": rng.random(accounts) < 0.1,
            "earlier_churned": (rng.random(accounts) < 0.15).astype(int)}


def generate(session, accounts: int, seed: int = 1, strengths: dict | None = None) -> dict:
    """Write the population (bulk inserts in batches) and commit; returns the drawn arrays."""
    population = draw(accounts, seed, strengths)
    partner = Partner(name=f"Fit bench {seed}", code=f"FIT-{seed}", tier=PartnerTier.SILVER)
    session.add(partner)
    session.flush()
    created = datetime(2024, 1, 1, tzinfo=timezone.utc)
    ids = np.zeros(accounts, dtype=np.int64)
    for start in range(0, accounts, BATCH):
        rows = range(start, min(start + BATCH, accounts))
        ids[start:start + len(rows)] = session.scalars(insert(Account).returning(Account.id, sort_by_parameter_order=True), [
            {"partner_id": partner.id, "reference": f"FIT-{seed}-{i}", "name": f"Fit customer {i}",
             "segment": SEGMENTS[population["segment"][i]], "seats": 50, "arr_jpy": 1_000_000,
             "status": LifecycleStatus.ONBOARDING if population["onboarding"][i] else LifecycleStatus.ACTIVE,
             "renewal_date": DECIDED_ON + timedelta(days=365), "created_at": created, "updated_at": created}
            for i in rows]).all()
        snapshots, outcomes = [], []
        for i in rows:
            for earlier in ((False, True) if population["earlier"][i] else (False,)):
                decided = DECIDED_ON - timedelta(days=365 if earlier else 0)
                churned = population["earlier_churned"][i] if earlier else population["churned"][i]
                snapshot = {"day": decided - timedelta(days=LEAD_DAYS), "account_id": int(ids[i]), "partner_id": partner.id,
                            "model_version": 0, "onboarding_phase": bool(population["onboarding"][i]), "arr_jpy": 1_000_000,
                            "seats": 50, "capped": False, "stale": False, "milestones_due": 0, "milestones_on_time": 0}
                for j, name in enumerate(COMPONENTS):
                    value = population["values"][i, j]
                    snapshot[name] = None if np.isnan(value) else int(value)
                snapshots.append(snapshot)
                outcomes.append({"account_id": int(ids[i]), "term_end": decided, "decided_on": decided,
                                 "kind": OutcomeKind.CHURNED if churned else OutcomeKind.RENEWED,
                                 "new_renewal_date": None if churned else decided + timedelta(days=365),
                                 "arr_before_jpy": 1_000_000, "arr_after_jpy": 0 if churned else 1_000_000,
                                 "inferred": False})
        session.execute(insert(AccountScore), snapshots)
        session.execute(insert(RenewalOutcome), outcomes)
    session.commit()
    return population


def measure(url: str, accounts: int, seed: int = 1) -> dict:
    """Generate into its own database (recreated), then fit once as the job does; plain figures."""
    from bench.common import recreate
    from bench.__main__ import session_for
    from portal.core.migrate import upgrade
    from portal.scoring import backtest, fit

    recreate(url)
    upgrade(url)
    session = session_for(url)
    started = time.perf_counter()
    generate(session, accounts, seed)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    result = fit.propose(session, backtest.Settings())
    seconds = time.perf_counter() - started
    session.close()
    before, after = result["backtest"]["current"], result["backtest"]["proposed"]
    return {
        "accounts": accounts, "outcomes": result["outcomes"], "churned": result["churned"],
        "generate_s": round(generated, 1), "fit_s": round(seconds, 1),
        "held_out_auc_default": round(result["cv"]["current_auc"], 3),
        "held_out_auc_fitted": round(result["cv"]["fitted_auc"], 3),
        "bands_default": {b["band"] or "none": (b["outcomes"], round(b["churn_rate_pct"] or 0, 1)) for b in before["bands"]},
        "bands_fitted": {b["band"] or "none": (b["outcomes"], round(b["churn_rate_pct"] or 0, 1)) for b in after["bands"]},
        "thresholds_fitted": (result["green_min"], result["yellow_min"]),
        "weights_fitted": result["weights"],
    }


def main(argv: list[str] | None = None) -> None:
    from bench.common import DEFAULT_URL

    parser = argparse.ArgumentParser(prog="python -m bench fit")
    parser.add_argument("--accounts", default="10000,100000")
    parser.add_argument("--database-url", default=DEFAULT_URL.replace("bench_{size}", "bench_fit_{size}"))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    for size in (int(s) for s in args.accounts.split(",")):
        url = args.database_url.format(size=size)
        assert "bench_fit_" in url, "the fit bench only recreates bench_fit_* databases"
        figures = measure(url, size, args.seed)
        print(f"== {size:,} accounts: {figures['outcomes']:,} outcomes, {figures['churned']:,} churned; "
              f"generated in {figures['generate_s']} s")
        print(f"   fit (SQL pull, 5-fold grouped CV, final fit, both backtests): {figures['fit_s']} s")
        print(f"   held-out AUC: default {figures['held_out_auc_default']}, fitted {figures['held_out_auc_fitted']}")
        print(f"   bands default (outcomes, churn %): {figures['bands_default']}")
        print(f"   bands fitted  (outcomes, churn %): {figures['bands_fitted']}  thresholds green/yellow {figures['thresholds_fitted']}")
        print(f"   fitted weights: {figures['weights_fitted']}")


if __name__ == "__main__":
    main()
