"""Propose health-model weights from recorded outcomes ("Propose weights from outcomes", #17).

The fit keeps the model's form, so the proposal stays explainable and editable: per phase,
non-negative weights summing to 100, the score the weighted mean of the components present
(a stale check-in's components counting half, as in health.weighted_score). It minimises a
logistic loss of churn on that score, P(churn) = sigmoid(a + b * (50 - score) / 10) with b >= 0,
plus an L2 penalty on the weights (with their sum fixed, it pulls them towards equal weights:
a component gets weight only where the outcomes support it). SciPy's SLSQP holds the bounds
and the sum; the gradient is exact, so 100,000 outcomes take seconds.

Band thresholds: yellow_min is the highest score whose red band (below it) churns at
`red_churn_multiple` times the channel's rate or more; green_min the lowest score above it
whose green band churns at half the channel's rate or less (else the current one).

Quality is measured on accounts the fit did not see: k-fold cross-validation grouped by
account (GroupKFold: an account with several outcomes is never in both train and test), the
fitted model's held-out AUC beside the current model's on the same folds. With fewer than
MIN_CHURNED churned or MIN_RENEWED renewed outcomes it refuses (NotEnoughOutcomes).

The result is a draft: the Health model page shows it beside the current model's backtest and
the admin edits, previews and saves it (health.save_model). Nothing is saved here.

SciPy and scikit-learn are imported where they are used: importing them takes a second, which
every process (web worker, CLI command, scheduler) paid at start, fit or no fit.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.core import wakeup
from portal.core.clock import utcnow
from portal.scoring import backtest
from portal.scoring.backtest import MIN_CHURNED, MIN_RENEWED, Settings, enough
from portal.scoring.health import COMPONENTS, PHASES, REPORTED, STALE_WEIGHT, ModelSpec, current_model
from portal.scoring.models import ModelFit

FOLDS = 5
L2 = 0.05           # penalty on the weights' squared distance from equal (weights as shares of 1)
NEUTRAL = 50.0      # the score of a row none of whose components carries weight (it decides nothing)
EPS = 1e-6
FIT_HISTORY_ROWS = 20
STALE_FIT_SECONDS = 3600  # a fit "running" this long died with its process: shown as failed


class NotEnoughOutcomes(ValueError):
    """The fit refuses: too few outcomes to learn from. `counts` is kept with the refusal so the
    page says it in the reader's language (refusal_message)."""

    def __init__(self, churned: int, renewed: int, settings: Settings):
        self.counts = {"churned": churned, "renewed": renewed, "low": settings.lead_min_days,
                       "high": settings.lead_max_days, "minimum": max(MIN_CHURNED, MIN_RENEWED)}
        super().__init__(f"Not enough outcomes to fit: {churned} churned and {renewed} renewed with a snapshot "
                         f"{settings.lead_min_days}-{settings.lead_max_days} days before (at least "
                         f"{self.counts['minimum']} of each are needed).")


def refusal_message(counts: dict) -> str:
    return str(_l("Not enough outcomes to fit: %(churned)d churned and %(renewed)d renewed with a snapshot "
                  "%(low)d–%(high)d days before (at least %(minimum)d of each are needed).", **counts))


@dataclass
class Data:
    """The fit's view of outcomes: component values (0 where missing), how much each counts
    (0 missing, 0.5 stale, 1), churn, phase and account."""

    values: np.ndarray
    present: np.ndarray
    churned: np.ndarray
    onboarding_phase: np.ndarray
    account_id: np.ndarray

    @classmethod
    def of(cls, sample: backtest.Sample) -> "Data":
        missing = np.isnan(sample.components)
        present = np.where(missing, 0.0, 1.0)
        reported = np.array([name in REPORTED for name in COMPONENTS])
        present[np.ix_(sample.stale, reported)] *= STALE_WEIGHT
        return cls(np.where(missing, 0.0, sample.components), present, sample.churned.astype(float),
                   sample.onboarding_phase, sample.account_id)

    def take(self, rows) -> "Data":
        return Data(self.values[rows], self.present[rows], self.churned[rows], self.onboarding_phase[rows], self.account_id[rows])


def scores(weights: np.ndarray, values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """The model's score (before rounding) for each row: the weighted mean of the components present."""
    denominator = present @ weights
    numerator = (present * values) @ weights
    return (numerator + EPS * NEUTRAL) / (denominator + EPS)


def model_scores(spec: ModelSpec, data: Data) -> np.ndarray:
    out = np.empty(len(data.churned))
    for phase in PHASES:
        rows = data.onboarding_phase == (phase == "onboarding")
        weights = np.array([spec.phase_weights(phase == "onboarding")[name] for name in COMPONENTS])
        out[rows] = scores(weights, data.values[rows], data.present[rows])
    return out


def _objective(theta: np.ndarray, weighted: np.ndarray, present: np.ndarray, y: np.ndarray):
    """Logistic loss (+ L2) of the score's weights, with its gradient. `weighted` is present × values,
    computed once per fit: the gradient is two matrix-vector products, no rows × components arrays
    per evaluation (a fit at 100k outcomes evaluates this some 60 times per phase and fold)."""
    from scipy.special import expit

    k = weighted.shape[1]
    w, a, b = theta[:k], theta[k], theta[k + 1]
    denominator = present @ w + EPS
    s = (weighted @ w + EPS * NEUTRAL) / denominator
    x = (NEUTRAL - s) / 10.0
    z = a + b * x
    loss = np.mean(np.logaddexp(0.0, z) - y * z) + L2 * np.sum((w - 1.0 / k) ** 2)
    g = (expit(z) - y) / len(y)  # dLoss/dz per row
    h = g / denominator          # ds/dw_j = (weighted_j - s × present_j) / denominator
    grad_w = -(b / 10.0) * (h @ weighted - (h * s) @ present) + 2 * L2 * (w - 1.0 / k)
    return loss, np.concatenate([grad_w, [g.sum(), g @ x]])


def fit_weights(values: np.ndarray, present: np.ndarray, churned: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Weights (shares summing to 1, each >= 0) for one phase's outcomes."""
    k = values.shape[1]
    w0 = np.full(k, 1.0 / k) if start is None or not start.sum() else start / start.sum()
    theta0 = np.concatenate([w0, [0.0, 1.0]])
    bounds = [(0.0, 1.0)] * k + [(None, None), (0.0, None)]
    constraint = {"type": "eq", "fun": lambda t: np.sum(t[:k]) - 1.0, "jac": lambda t: np.concatenate([np.ones(k), [0.0, 0.0]])}
    present = np.ascontiguousarray(present, dtype=float)
    from scipy.optimize import minimize

    result = minimize(_objective, theta0, args=(present * values, present, churned.astype(float)), jac=True, method="SLSQP",
                      bounds=bounds, constraints=[constraint], options={"maxiter": 200, "ftol": 1e-9})
    w = np.clip(result.x[:k], 0.0, None)
    return w / w.sum() if w.sum() else np.full(k, 1.0 / k)


def whole_percent(shares: np.ndarray) -> dict[str, int]:
    """Shares as whole weights summing to 100 (largest remainders get the leftover points)."""
    raw = shares * 100
    out = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - out))[: 100 - out.sum()]:
        out[i] += 1
    return {name: int(v) for name, v in zip(COMPONENTS, out, strict=True)}


def folds(account_id: np.ndarray, k: int = FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """k (train, test) row splits, grouped by account: one account's outcomes all on one side."""
    k = min(k, len(np.unique(account_id)))
    from sklearn.model_selection import GroupKFold

    return list(GroupKFold(n_splits=k).split(np.zeros(len(account_id)), groups=account_id))


def _fit_phases(data: Data, current: ModelSpec, phases: tuple[str, ...]) -> tuple[dict, dict]:
    """Weights per phase (fitted for `phases` with enough outcomes, else the current ones) and
    the phases kept with the reason."""
    weights, kept = {}, {}
    for phase in PHASES:
        now = np.array([current.phase_weights(phase == "onboarding")[n] for n in COMPONENTS])
        rows = data.onboarding_phase == (phase == "onboarding")
        y = data.churned[rows]
        if phase not in phases:
            weights[phase], kept[phase] = now / now.sum(), "not asked"
        elif not enough(int(y.sum()), int(len(y) - y.sum())):
            weights[phase], kept[phase] = now / now.sum(), "not enough outcomes"
        else:
            weights[phase] = fit_weights(data.values[rows], data.present[rows], y, start=now)
    return weights, kept


def _spec(current: ModelSpec, weights: dict, green_min: int, yellow_min: int) -> ModelSpec:
    return ModelSpec(version=current.version + 1, weights={p: whole_percent(w) for p, w in weights.items()},
                     green_min=green_min, yellow_min=yellow_min, min_coverage_pct=current.min_coverage_pct,
                     support=current.support)


def _scores_with(weights: dict, data: Data) -> np.ndarray:
    out = np.empty(len(data.churned))
    for phase in PHASES:
        rows = data.onboarding_phase == (phase == "onboarding")
        out[rows] = scores(weights[phase], data.values[rows], data.present[rows])
    return out


def choose_bands(score: np.ndarray, churned: np.ndarray, multiple: float, current: ModelSpec) -> tuple[int, int]:
    """(green_min, yellow_min) for the fitted scores; see the module's docstring."""
    s, y = np.round(score), churned
    overall = y.mean()
    yellow = None
    for t in range(99, 0, -1):  # the largest red band still churning at the target multiple
        red = y[s < t]
        if len(red) >= MIN_CHURNED and red.mean() >= multiple * overall:
            yellow = t
            break
    if yellow is None:  # no band reaches the target: the threshold of the riskiest tenth
        yellow = int(np.quantile(s, 0.1)) + 1
    green = None
    for t in range(yellow + 1, 101):
        top = y[s >= t]
        if len(top) >= MIN_RENEWED and top.mean() <= overall / 2:
            green = t
            break
    if green is None:
        green = max(current.green_min, yellow + 1)
    return min(green, 100), yellow


def cross_validate(data: Data, current: ModelSpec, phases: tuple[str, ...]) -> dict:
    """Held-out AUC of the fitted and the current model on the same grouped folds."""
    from sklearn.metrics import roc_auc_score

    per_fold = []
    held_out_fitted, held_out_current, held_out_y = [], [], []
    for train, test in folds(data.account_id):
        weights, _kept = _fit_phases(data.take(train), current, phases)
        fitted = _scores_with(weights, data.take(test))
        now = model_scores(current, data.take(test))
        y = data.churned[test]
        held_out_fitted.append(fitted)
        held_out_current.append(now)
        held_out_y.append(y)
        both = len(set(y.tolist())) == 2
        per_fold.append({"outcomes": int(len(y)), "current_auc": float(roc_auc_score(y, -now)) if both else None,
                         "fitted_auc": float(roc_auc_score(y, -fitted)) if both else None})
    y_all = np.concatenate(held_out_y)
    return {
        "folds": len(per_fold),
        "per_fold": per_fold,
        "current_auc": float(roc_auc_score(y_all, -np.concatenate(held_out_current))),
        "fitted_auc": float(roc_auc_score(y_all, -np.concatenate(held_out_fitted))),
    }


def propose(session: Session, settings: Settings, phase: str | None = None) -> dict:
    """Fit, cross-validate and backtest: the proposal as plain values (JSON for the job history).
    Raises NotEnoughOutcomes with a message for people."""
    started = time.perf_counter()
    current = current_model(session)
    phases = (phase,) if phase else PHASES
    sample = backtest.pull(session, settings, [current])
    data = Data.of(sample)
    churns = int(data.churned.sum())
    renewals = len(data.churned) - churns
    if phase:
        rows = data.onboarding_phase == (phase == "onboarding")
        churns, renewals = int(data.churned[rows].sum()), int(rows.sum()) - int(data.churned[rows].sum())
    if not enough(churns, renewals):
        raise NotEnoughOutcomes(churns, renewals, settings)
    cv = cross_validate(data, current, phases)
    weights, kept = _fit_phases(data, current, phases)
    green_min, yellow_min = choose_bands(_scores_with(weights, data), data.churned, settings.red_churn_multiple, current)
    proposed = _spec(current, weights, green_min, yellow_min)
    before, after = backtest.backtest(session, settings, [current, proposed])
    return {
        "model_version": current.version,
        "phase": phase,
        "outcomes": int(len(data.churned)),
        "churned": int(data.churned.sum()),
        "weights": proposed.weights,
        "current_weights": {p: {n: int(current.phase_weights(p == "onboarding")[n]) for n in COMPONENTS} for p in PHASES},
        "green_min": green_min, "yellow_min": yellow_min,
        "current_green_min": current.green_min, "current_yellow_min": current.yellow_min,
        "kept": kept,
        "red_churn_multiple": settings.red_churn_multiple,
        "lead_days": [settings.lead_min_days, settings.lead_max_days],
        "cv": cv,
        "backtest": {"current": before, "proposed": after},
        "seconds": round(time.perf_counter() - started, 2),
    }


# --- the job ------------------------------------------------------------------------------------


def request_fit(session: Session, user_id: int | None, phase: str | None) -> tuple[ModelFit, bool]:
    """Queue a fit for the scheduler process unless one is waiting or running. The caller commits."""
    waiting = session.scalar(select(ModelFit).where(ModelFit.status.in_(["queued", "running"]))
                             .order_by(ModelFit.id).limit(1))
    if waiting is not None and not _dead(waiting):
        return waiting, False
    row = ModelFit(status="queued", trigger="web", phase=phase, model_version=current_model(session).version,
                   requested_by_id=user_id, requested_at=utcnow())
    session.add(row)
    session.flush()
    wakeup.wake(session, "model-fits")
    return row, True


def _dead(row: ModelFit) -> bool:
    return row.status == "running" and row.started_at is not None and \
        (utcnow() - row.started_at).total_seconds() > STALE_FIT_SECONDS


def run(session: Session, row: ModelFit, settings: Settings) -> ModelFit:
    """Run one fit row to its end (done, refused or failed) and commit."""
    try:
        result = propose(session, settings, row.phase)
    except NotEnoughOutcomes as refusal:
        session.rollback()
        row.status, row.message, row.result = "refused", str(refusal), {"refused": refusal.counts}
    except Exception as error:  # noqa: BLE001 (the job history says why; the scheduler carries on)
        session.rollback()
        row.status, row.message = "failed", f"{type(error).__name__}: {error}"
    else:
        row.status, row.result, row.outcomes = "done", result, result["outcomes"]
        row.model_version = result["model_version"]
    row.finished_at = utcnow()
    session.commit()
    return row


def run_now(session: Session, settings: Settings, user_id: int | None, phase: str | None) -> ModelFit:
    """The CLI's fit: recorded in the job history like the web's, run in this process."""
    row = ModelFit(status="running", trigger="cli", phase=phase, model_version=current_model(session).version,
                   requested_by_id=user_id, requested_at=utcnow(), started_at=utcnow())
    session.add(row)
    session.commit()
    return run(session, row, settings)


def run_queued(session: Session, settings: Settings) -> list[ModelFit]:
    """The scheduler's look every few seconds: take each queued fit (claimed by an UPDATE, so two
    scheduler processes never run the same one) and run it."""
    done: list[ModelFit] = []
    for stale in session.scalars(select(ModelFit).where(ModelFit.status == "running")):
        if _dead(stale):
            stale.status, stale.message, stale.finished_at = "failed", "The fit stopped without finishing.", utcnow()
    session.commit()
    while True:
        fit_id = session.scalar(select(ModelFit.id).where(ModelFit.status == "queued").order_by(ModelFit.id).limit(1))
        if fit_id is None:
            return done
        taken = session.execute(update(ModelFit).where(ModelFit.id == fit_id, ModelFit.status == "queued")
                                .values(status="running", started_at=utcnow()).execution_options(synchronize_session=False))
        session.commit()
        if getattr(taken, "rowcount", 0) != 1:
            continue
        row = session.get(ModelFit, fit_id)
        assert row is not None
        session.refresh(row)
        done.append(run(session, row, settings))


def history(session: Session, limit: int = FIT_HISTORY_ROWS) -> list[ModelFit]:
    return list(session.scalars(select(ModelFit).order_by(ModelFit.id.desc()).limit(limit)))


def latest_done(session: Session) -> ModelFit | None:
    return session.scalar(select(ModelFit).where(ModelFit.status == "done").order_by(ModelFit.id.desc()).limit(1))
