"""Backtest a health model against what happened: recorded renewal outcomes.

Each outcome is judged by the account's snapshot (AccountScore) taken a lead window before it
was decided (60-120 days by default, vendor-set: the latest snapshot in the window, the freshest
view that still left time to act). That snapshot's components are scored under the model being
tested with the aggregation's own SQL (health.gated_score, health.capped_band), so a proposed
model is scored exactly as it would be once saved. One statement pulls every outcome's row for
any number of models; numpy and scikit-learn turn them into figures.

Inferred outcomes (derived by the migration from a renewal date less a year) are guesses: they
are left out by default and counted, so the page can say how many were not used.

Below MIN_CHURNED churned and MIN_RENEWED renewed outcomes a figure is "not enough outcomes"
(None here), never a number from a handful of cases.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from portal.accounts.models import Account
from portal.renewals.models import OutcomeKind, RenewalOutcome
from portal.scoring.health import COMPONENTS, PHASES, ModelSpec, capped_band, gated_score
from portal.scoring.models import AccountScore, Band
from portal.core.sqlfunctions import add_days
from portal.scoring.aggregation import snapshot_version
from portal.core import fragments

# A figure needs at least this many outcomes of each kind ("not enough outcomes" below).
MIN_CHURNED = 30
MIN_RENEWED = 30
DECILES = 10
BANDS = (Band.GREEN.value, Band.YELLOW.value, Band.RED.value)
SNAPSHOT_COLUMNS = ("onboarding_phase", "stale", "open_escalations", "sentiment", *COMPONENTS)


@dataclass(frozen=True)
class Settings:
    lead_min_days: int = 60
    lead_max_days: int = 120
    include_inferred: bool = False
    red_churn_multiple: float = 3.0

    @classmethod
    def of(cls, config, include_inferred: bool = False) -> "Settings":
        return cls(config.outcome_lead_min_days, config.outcome_lead_max_days, include_inferred,
                   config.fit_red_churn_multiple)


@dataclass
class Sample:
    """One row per outcome that has a snapshot in the lead window; arrays aligned by row."""

    account_id: np.ndarray       # int
    churned: np.ndarray          # 0/1
    onboarding_phase: np.ndarray  # bool
    segment: np.ndarray          # str
    components: np.ndarray       # float, n x len(COMPONENTS), NaN where the snapshot had no data
    stale: np.ndarray            # bool
    scores: list[np.ndarray]     # per model: float, NaN where the model gives no score
    bands: list[np.ndarray]      # per model: str ('' where no band)
    inferred_left_out: int       # inferred outcomes not used
    without_snapshot: int        # outcomes used but with no snapshot in the window

    def __len__(self) -> int:
        return len(self.churned)


def enough(churned: int, renewed: int) -> bool:
    return churned >= MIN_CHURNED and renewed >= MIN_RENEWED


def _windowed(settings: Settings):
    """Each outcome's latest snapshot in the lead window (a window function: one pass, any size)."""
    in_window = and_(
        AccountScore.account_id == RenewalOutcome.account_id,
        AccountScore.day >= add_days(RenewalOutcome.decided_on, -settings.lead_max_days),
        AccountScore.day <= add_days(RenewalOutcome.decided_on, -settings.lead_min_days),
    )
    used = RenewalOutcome.inferred.is_(False) if not settings.include_inferred else RenewalOutcome.id.is_not(None)
    ranked = (
        select(
            RenewalOutcome.id.label("outcome_id"),
            RenewalOutcome.account_id,
            case((RenewalOutcome.kind == OutcomeKind.CHURNED, 1), else_=0).label("churned"),
            Account.segment,
            *[getattr(AccountScore, name).label(name) for name in SNAPSHOT_COLUMNS],
            func.row_number().over(partition_by=RenewalOutcome.id, order_by=AccountScore.day.desc()).label("nth"),
        )
        .join(AccountScore, in_window)
        .join(Account, Account.id == RenewalOutcome.account_id)
        .where(used)
        .subquery("ranked")
    )
    return select(ranked).where(ranked.c.nth == 1).subquery("judged")


def pull(session: Session, settings: Settings, models: list[ModelSpec]) -> Sample:
    """Every usable outcome with its snapshot, scored under each model: two statements (the rows,
    and the counts of outcomes left out), whatever the number of outcomes."""
    judged = _windowed(settings)
    columns: list[Any] = [judged.c.account_id, judged.c.churned, judged.c.segment,
                          *[judged.c[name] for name in ("onboarding_phase", "stale", *COMPONENTS)]]
    for i, model in enumerate(models):
        score = gated_score(judged, model)
        band, _capped = capped_band(judged, score, model)
        columns += [score.label(f"score_{i}"), band.label(f"band_{i}")]
    statement = select(*columns).order_by(judged.c.outcome_id)
    rows = session.execute(statement).all()
    counts = session.execute(select(
        func.count().filter(RenewalOutcome.inferred.is_(True)),
        func.count(),
    )).one()
    inferred_left_out = 0 if settings.include_inferred else int(counts[0] or 0)
    used_total = int(counts[1] or 0) - inferred_left_out
    n = len(rows)
    # Column by column (zip(*rows)), not row by row: a 100k-outcome pull converts in a fraction of the time.
    names = list(statement.selected_columns.keys())
    by_name = dict(zip(names, zip(*rows, strict=True) if rows else [()] * len(names), strict=True))

    def floats(name: str) -> np.ndarray:
        return np.fromiter((np.nan if v is None else v for v in by_name[name]), dtype=float, count=n)

    return Sample(
        account_id=np.array(by_name["account_id"], dtype=np.int64),
        churned=np.array(by_name["churned"], dtype=np.int8),
        onboarding_phase=np.array([bool(v) for v in by_name["onboarding_phase"]], dtype=bool),
        segment=np.array([getattr(v, "value", v) for v in by_name["segment"]], dtype=object),
        components=np.column_stack([floats(name) for name in COMPONENTS]),
        stale=np.array([bool(v) for v in by_name["stale"]], dtype=bool),
        scores=[floats(f"score_{i}") for i in range(len(models))],
        bands=[np.array([v or "" for v in by_name[f"band_{i}"]], dtype=object) for i in range(len(models))],
        inferred_left_out=inferred_left_out,
        without_snapshot=max(0, used_total - n),
    )


# --- figures ------------------------------------------------------------------------------------


def auc(churned: np.ndarray, score: np.ndarray) -> float | None:
    """ROC AUC of the score against churn, a lower score meaning churn: 0.5 is a coin, 1.0 perfect.
    None below the minimum outcomes of each kind."""
    present = ~np.isnan(score)
    y, s = churned[present], score[present]
    churns = int(y.sum())
    if not enough(churns, len(y) - churns):
        return None
    from sklearn.metrics import roc_auc_score  # here, not at the top: a second to import, which every process paid at start

    return float(roc_auc_score(y, -s))


def rate(churned: np.ndarray) -> float | None:
    return float(churned.mean() * 100) if len(churned) else None


def headline(churned: np.ndarray, score: np.ndarray, band: np.ndarray) -> dict:
    """Outcomes, churned, AUC and the red band's lift for one group of outcomes."""
    scored = ~np.isnan(score)
    y = churned[scored]
    churns = int(y.sum())
    ok = enough(churns, len(y) - churns)
    overall = rate(y)
    red = churned[band == Band.RED.value]
    red_rate = rate(red)
    return {
        "outcomes": int(len(y)), "churned": churns, "renewed": int(len(y) - churns), "enough": ok,
        "unscored": int((~scored).sum()),
        "churn_rate_pct": overall if ok else None,
        "auc": auc(churned, score),
        "red_lift": (red_rate / overall) if ok and red_rate is not None and overall else None,
    }


def calibration(churned: np.ndarray, score: np.ndarray) -> list[dict]:
    """Churn rate by score decile (lowest scores first): a well-ranked model falls steadily."""
    scored = ~np.isnan(score)
    y, s = churned[scored], score[scored]
    if not enough(int(y.sum()), int(len(y) - y.sum())):
        return []
    order = np.argsort(s, kind="stable")
    out = []
    for part in np.array_split(order, DECILES):
        if len(part):
            out.append({"low": float(s[part].min()), "high": float(s[part].max()), "outcomes": int(len(part)),
                        "churn_rate_pct": rate(y[part])})
    return out


def report(sample: Sample, index: int) -> dict:
    """The backtest of model `index` of the sample: plain values, kept as JSON in the fit history."""
    score, band, y = sample.scores[index], sample.bands[index], sample.churned
    bands = []
    for name in (*BANDS, ""):
        in_band = y[band == name]
        bands.append({"band": name or None, "outcomes": int(len(in_band)), "churned": int(in_band.sum()),
                      "churn_rate_pct": rate(in_band)})
    components = {}
    for j, name in enumerate(COMPONENTS):
        components[name] = auc(y, sample.components[:, j])
    by_phase = {phase: headline(y[mask], score[mask], band[mask])
                for phase, mask in ((p, sample.onboarding_phase == (p == "onboarding")) for p in PHASES)}
    by_segment = {segment: headline(y[sample.segment == segment], score[sample.segment == segment],
                                    band[sample.segment == segment])
                  for segment in sorted(set(sample.segment.tolist()))}
    return {
        **headline(y, score, band),
        "bands": bands,
        "calibration": calibration(y, score),
        "components": components,
        "by_phase": by_phase,
        "by_segment": by_segment,
        "inferred_left_out": sample.inferred_left_out,
        "without_snapshot": sample.without_snapshot,
    }


def backtest(session: Session, settings: Settings, models: list[ModelSpec]) -> list[dict]:
    """Each model's backtest on the same outcomes and snapshots."""
    sample = pull(session, settings, models)
    return [report(sample, i) for i in range(len(models))]


def running(session: Session, settings: Settings, model: ModelSpec) -> dict:
    """The running model's backtest, for the Health model page: made once per process until a
    snapshot is taken, an outcome is recorded or taken back, or the model or settings change
    (each in the key; one small query reads the outcomes' stamp)."""
    _day, snapshots = snapshot_version(session)
    outcomes = tuple(session.execute(select(func.count(), func.max(RenewalOutcome.id))).one())
    return fragments.kept("backtest.running", (model.version, snapshots, outcomes, settings),
                          lambda: backtest(session, settings, [model])[0])
