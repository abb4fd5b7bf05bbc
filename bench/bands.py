"""Benchmark: do the health bands rank churn risk?

    .venv/bin/python bench/bands.py                       # 2,000 accounts, seed 14, SQLite file
    .venv/bin/python bench/bands.py --accounts 5000 --seed 7
    .venv/bin/python bench/bands.py --green-min 75 --yellow-min 55 --min-coverage 60   # try other settings
    .venv/bin/python bench/bands.py --database-url postgresql+psycopg://root@127.0.0.1:5432/test

Generates a population of B2B accounts (seeded, so every run gives the same one) whose churn
over the coming year is drawn from the signals a reseller reports: seat usage, key features in
use, open escalations, support load per 100 seats, CSAT, NPS, customer effort, the reseller's
sentiment, outcome progress and milestone lateness (`churn_probability`). Some accounts report
only part of it or report late, as real ones do. The accounts go into a fresh database by
direct inserts; the real `score_select` scores them with the current health model (the
built-in defaults unless overridden on the command line).

Prints per band: accounts, share of accounts, churned, churn rate ("Not enough data" apart),
then the checks as PASS/FAIL lines, each figure beside its floor and their ratio:
    churn rate yellow vs green, red vs yellow (ratio must be above 1: churn rises band by band)
    red share of all the accounts (floor 10 %)
and a last line on the cap rule: the accounts an open escalation or red sentiment keeps out of
green, and their churn rate beside green's. Exit status 1 when a check fails.

The generator is one function per step (`draw`, `churn_probability`, `check_in_row`) so a
change of what a check-in holds (CSAT as a decimal, feature levels, NPS as a score) changes
only `check_in_row`.
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.aggregation import database  # noqa: E402  (one way to get a scratch database)
from portal.core.db import make_engine  # noqa: E402
from portal.scoring.health import ModelSpec, current_model, score_select  # noqa: E402
from portal.models import (  # noqa: E402
    Account, AccountArr, CheckIn, Feature, Milestone, MilestoneTemplate, Partner, check_in_features,
)
from portal.reporting.reference_data import ensure_defaults  # noqa: E402

DAY = date(2026, 11, 20)
PARTNERS = 20
RED_SHARE_FLOOR = 0.10
BANDS = ("green", "yellow", "red", None)
CADENCE_DAYS = {"high_touch": 40, "low_touch": 100, "tech_touch": 190}  # months * 30 + 10 grace days


@dataclass(frozen=True)
class Signals:
    """What is true of one account on DAY, in the reseller's terms (whether reported or not)."""

    segment: str
    onboarding: bool
    seats: int
    usage_ratio: float        # active users / seats
    features_used: int        # of the five default key features
    escalations: int
    tickets_per_100_seats: float
    csat: float               # survey average, 1.0-5.0
    nps: int                  # a 0-10 answer
    ces: int                  # 1 (easy) - 7 (hard)
    sentiment: str            # the reseller's own green / yellow / red
    outcome: int              # outcome progress, %
    days_late: int            # the worst open milestone's lateness (onboarding accounts)
    reports: str              # full | partial (no surveys, no outcome) | thin (sentiment only) | stale


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def draw(rng: random.Random) -> Signals:
    """One account: a hidden health h ~ N(0, 1) drives every signal, each with much noise of its
    own (a survey answer says little alone). The marginals follow what resellers report: most
    seats half used, a few open tickets, escalations rare, CSAT around 4, NPS around 7, and a
    sentiment that leans green (the reseller sees the relationship, not the usage data)."""
    h = rng.gauss(0, 1)
    onboarding = rng.random() < 0.2
    seats = rng.choice([10, 25, 50, 100, 300])
    sentiment_view = 0.6 * h + rng.gauss(0, 0.8)
    return Signals(
        segment=rng.choices(["high_touch", "low_touch", "tech_touch"], weights=[2, 3, 5])[0],
        onboarding=onboarding,
        seats=seats,
        usage_ratio=_clip(0.55 + 0.15 * h + rng.gauss(0, 0.18), 0, 1),
        features_used=int(_clip(round(2.5 + 0.8 * h + rng.gauss(0, 1.1)), 0, 5)),
        escalations=int(rng.random() < 1 / (1 + math.exp(3.0 + 1.0 * h))) + int(rng.random() < 1 / (1 + math.exp(4.5 + 1.0 * h))),
        tickets_per_100_seats=max(0.0, rng.gauss(3 - 1.2 * h, 2.0)),
        csat=round(_clip(3.9 + 0.3 * h + rng.gauss(0, 0.5), 1, 5), 1),
        nps=int(_clip(round(7.2 + 0.9 * h + rng.gauss(0, 1.5)), 0, 10)),
        ces=int(_clip(round(3.0 - 0.6 * h + rng.gauss(0, 1.1)), 1, 7)),
        sentiment="green" if sentiment_view > -0.3 else "yellow" if sentiment_view > -1.3 else "red",
        outcome=int(_clip(round(55 + 12 * h + rng.gauss(0, 20)), 0, 100)),
        days_late=int(max(0, rng.gauss(4 - 8 * h, 8))) if onboarding else 0,
        reports=rng.choices(["full", "partial", "thin", "stale"], weights=[70, 15, 7, 8])[0],
    )


def churn_probability(s: Signals) -> float:
    """The benchmark's truth: churn within a year, logistic in the signals (about 20 % overall).
    Low usage and open escalations weigh most, then support load, surveys and lateness."""
    logit = (-2.1
             + 4.0 * (0.55 - s.usage_ratio)
             + 0.25 * (2.5 - s.features_used)
             + 1.0 * s.escalations
             + 0.12 * (s.tickets_per_100_seats - 3)
             + 0.5 * (3.9 - s.csat)
             + 0.15 * (7.2 - s.nps)
             + 0.15 * (s.ces - 3)
             + {"green": -0.2, "yellow": 0.2, "red": 0.7}[s.sentiment]
             + 0.015 * (55 - s.outcome)
             + 0.03 * s.days_late)
    return 1 / (1 + math.exp(-logit))


def check_in_row(s: Signals) -> dict:
    """The latest check-in as today's columns hold it; what the account's reporting leaves out is None."""
    row = {
        "active_users": round(s.usage_ratio * s.seats),
        "nps": s.nps, "csat": round(s.csat), "ces": s.ces,  # CSAT: a whole number in today's column
        "open_escalations": s.escalations,
        "open_tickets": round(s.tickets_per_100_seats * s.seats / 100),
        "sentiment": s.sentiment,
        "outcome_progress": s.outcome,
    }
    if s.reports in ("partial", "thin"):
        row.update(nps=None, csat=None, ces=None, outcome_progress=None)
    if s.reports == "thin":
        row.update(active_users=None)
    return row


def populate(session: Session, accounts: int, seed: int) -> dict[int, bool]:
    """Partners, accounts, one latest check-in each (with its key features) and milestones, by
    direct inserts; returns whether each account churns (drawn from `churn_probability`)."""
    rng = random.Random(seed)
    ensure_defaults(session)
    stamp = datetime.combine(DAY - timedelta(days=1000), time(9))
    first = session.scalar(select(Partner.id).order_by(Partner.id.desc()).limit(1)) or 0
    session.execute(insert(Partner), [{"name": f"Bench partner {first + n}", "code": f"BENCH{first + n}", "tier": "silver",
                                       "status": "active", "imports_create_accounts": False, "created_at": stamp,
                                       "updated_at": stamp} for n in range(PARTNERS)])
    partner_ids = list(session.scalars(select(Partner.id).order_by(Partner.id.desc()).limit(PARTNERS)))
    features = list(session.scalars(select(Feature.id).where(Feature.active.is_(True)).order_by(Feature.position)))
    templates = session.execute(select(MilestoneTemplate.id, MilestoneTemplate.due_after_days)
                                .where(MilestoneTemplate.active.is_(True)).order_by(MilestoneTemplate.position)).all()
    people = [draw(rng) for _ in range(accounts)]
    tag = uuid.uuid4().hex[:6]
    rows = []
    for n, s in enumerate(people):
        contract = DAY - timedelta(days=rng.randint(30, 150) if s.onboarding else rng.randint(200, 900))
        rows.append({"partner_id": rng.choice(partner_ids), "reference": f"B{tag}-{n}", "name": f"Bench customer {n}",
                     "segment": s.segment, "seats": s.seats, "arr_jpy": s.seats * 60_000, "contract_start": contract,
                     "renewal_date": contract + timedelta(days=365 * (1 + (DAY - contract).days // 365)),
                     "status": "onboarding" if s.onboarding else "active", "created_at": stamp, "updated_at": stamp})
    session.execute(insert(Account), rows)
    ids = list(session.scalars(select(Account.id).where(Account.reference.like(f"B{tag}-%")).order_by(Account.id)))
    by_reference = dict(session.execute(select(Account.reference, Account.id).where(Account.id.in_(ids))).all())
    account_ids = [by_reference[f"B{tag}-{n}"] for n in range(accounts)]
    check_ins, milestones, arr = [], [], []
    for account_id, row, s in zip(account_ids, rows, people, strict=True):
        partner_id, contract = row["partner_id"], row["contract_start"]
        arr.append({"account_id": account_id, "effective_on": contract, "arr_jpy": row["arr_jpy"]})
        allowed = CADENCE_DAYS[s.segment]
        age = rng.randint(int(allowed * 1.3), int(allowed * 2.5)) if s.reports == "stale" else rng.randint(3, allowed - 5)
        age = min(age, (DAY - contract).days - 1)
        submitted = datetime.combine(DAY - timedelta(days=age), time(3))
        period = (submitted.date().replace(day=1) - timedelta(days=1)).replace(day=1)
        check_ins.append({"account_id": account_id, "partner_id": partner_id, "period_start": period, "version": 1,
                          "source": "api", "submitted_at": submitted, "expansion_jpy": 0, **check_in_row(s)})
        for template_id, due_after in templates:
            planned = contract + timedelta(days=due_after)
            if planned > DAY:
                continue
            late = max(0, round(rng.gauss(s.days_late, 5))) if s.onboarding else rng.choice([0, 0, 0, 3, 12])
            done_on = planned + timedelta(days=late)
            open_ = s.onboarding and done_on > DAY - timedelta(days=1)
            milestones.append({"account_id": account_id, "partner_id": partner_id, "template_id": template_id,
                               "status": "planned" if open_ else "done", "planned_on": planned,
                               "completed_on": None if open_ else done_on, "updated_at": stamp})
    session.execute(insert(CheckIn), check_ins)
    session.execute(insert(AccountArr), arr)
    if milestones:
        session.execute(insert(Milestone), milestones)
    check_in_ids = dict(session.execute(select(CheckIn.account_id, CheckIn.id).where(CheckIn.account_id.in_(account_ids))).all())
    used = [{"check_in_id": check_in_ids[a], "feature_id": f} for a, s in zip(account_ids, people, strict=True)
            if s.reports != "thin" for f in features[:s.features_used]]
    if used:
        session.execute(insert(check_in_features), used)
    session.commit()
    return {a: rng.random() < churn_probability(s) for a, s in zip(account_ids, people, strict=True)}


@dataclass(frozen=True)
class BandRow:
    band: str | None
    accounts: int
    share: float        # of all accounts
    churned: int

    @property
    def churn_rate(self) -> float | None:
        return self.churned / self.accounts if self.accounts else None


def churn_by_band(session: Session, model: ModelSpec, churns: dict[int, bool], day: date = DAY) -> dict[str | None, BandRow]:
    """Each band's accounts and how many of them churn, as the real scoring bands them on `day`."""
    scored = score_select(session, day, model).subquery("scored")
    bands = dict(session.execute(select(scored.c.account_id, scored.c.band).where(scored.c.account_id.in_(list(churns)))).all())
    total = len(bands)
    out = {}
    for band in BANDS:
        members = [a for a, b in bands.items() if (b.value if hasattr(b, "value") else b) == band]
        out[band] = BandRow(band, len(members), len(members) / total if total else 0.0, sum(churns[a] for a in members))
    return out


def capped_churn(session: Session, model: ModelSpec, churns: dict[int, bool], day: date = DAY) -> BandRow:
    """The accounts whose score is green but an open escalation or red sentiment keeps in yellow:
    the cap is tied to risk when they churn more than green does."""
    scored = score_select(session, day, model).subquery("scored")
    members = list(session.scalars(select(scored.c.account_id).where(scored.c.capped.is_(True),
                                                                     scored.c.account_id.in_(list(churns)))))
    return BandRow("capped", len(members), len(members) / len(churns) if churns else 0.0, sum(churns[a] for a in members))


@dataclass(frozen=True)
class Check:
    name: str
    figure: float | None
    floor: float | None
    strict: bool  # the figure must be above its floor, not merely reach it

    @property
    def ratio(self) -> float | None:
        if self.figure is None or not self.floor:
            return None
        return self.figure / self.floor

    @property
    def passed(self) -> bool:
        if self.figure is None or self.floor is None:
            return False
        return self.figure > self.floor if self.strict else self.figure >= self.floor


def checks(rows: dict[str | None, BandRow]) -> list[Check]:
    """Churn rises green -> yellow -> red, and red holds at least 10 % of all the accounts
    ("Not enough data" included: a model cannot meet the floor by leaving accounts unscored)."""
    return [
        Check("churn rate yellow vs green", rows["yellow"].churn_rate, rows["green"].churn_rate, strict=True),
        Check("churn rate red vs yellow", rows["red"].churn_rate, rows["yellow"].churn_rate, strict=True),
        Check("red share of accounts", rows["red"].share, RED_SHARE_FLOOR, strict=False),
    ]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def report(rows: dict[str | None, BandRow], results: list[Check]) -> str:
    lines = [f"{'band':<16} {'accounts':>8} {'share':>7} {'churned':>8} {'churn rate':>10}"]
    for band in BANDS:
        r = rows[band]
        lines.append(f"{band or 'not enough data':<16} {r.accounts:>8,} {_pct(r.share):>7} {r.churned:>8,} {_pct(r.churn_rate):>10}")
    total, churned = sum(r.accounts for r in rows.values()), sum(r.churned for r in rows.values())
    lines.append(f"{'all':<16} {total:>8,} {_pct(1.0 if total else None):>7} {churned:>8,} {_pct(churned / total if total else None):>10}")
    for c in results:
        ratio = "—" if c.ratio is None else f"{c.ratio:.2f}"
        lines.append(f"{'PASS' if c.passed else 'FAIL'} {c.name}: {_pct(c.figure)} vs floor {_pct(c.floor)}"
                     f" (ratio {ratio}, {'above' if c.strict else 'at least'} 1.00)")
    return "\n".join(lines)


def main() -> int:
    from portal.core.migrate import upgrade
    from portal.models import make_session_factory

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--green-min", type=int)
    parser.add_argument("--yellow-min", type=int)
    parser.add_argument("--min-coverage", type=int)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: a SQLite file)")
    args = parser.parse_args()
    url, drop = database(args.database_url)
    try:
        upgrade(url)
        engine = make_engine(url)
        session = make_session_factory(engine)()
        churns = populate(session, args.accounts, args.seed)
        model = current_model(session)
        overrides = {k: v for k, v in (("green_min", args.green_min), ("yellow_min", args.yellow_min),
                                       ("min_coverage_pct", args.min_coverage)) if v is not None}
        model = replace(model, **overrides)
        print(f"{args.accounts:,} accounts, seed {args.seed}, day {DAY}; model v{model.version}: green from {model.green_min},"
              f" yellow from {model.yellow_min}, score needs {model.min_coverage_pct}% of the weight")
        rows = churn_by_band(session, model, churns)
        results = checks(rows)
        print(report(rows, results))
        capped = capped_churn(session, model, churns)
        print(f"(of yellow: {capped.accounts:,} kept out of green by an escalation or red sentiment,"
              f" churn rate {_pct(capped.churn_rate)} against green's {_pct(rows['green'].churn_rate)})")
        session.close()
        engine.dispose()
        return 0 if all(c.passed for c in results) else 1
    finally:
        drop()


if __name__ == "__main__":
    sys.exit(main())
