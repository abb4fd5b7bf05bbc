"""The health model: components scored 0-100 in SQL, weighted into a score and a band.

One statement scores every account for a day (`score_select`), so the aggregation, the
admin's preview of a weight change and the tests all run exactly the same arithmetic.
The reasons shown beside a score are derived from the inputs kept with it (`reasons`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l, ngettext
from sqlalchemy import ColumnElement, Float, Integer, and_, case, cast, func, literal, null, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import NamedFromClause

from portal.core.db import UTCDateTime
from portal.core import clock
from portal.reporting.cadence import cadence_rules
from portal.models import (
    Account, Band, CheckIn, Feature, HealthModel, LifecycleStatus, Milestone, MilestoneStatus, MilestoneTemplate, PhaseReason, Sentiment,
    User, check_in_features,
)
from portal.audit import services as audit
from portal.audit.models import AuditAction
from portal.core.formatting import figure, number, pct
from portal.core.sqlfunctions import days_between, greatest, round_half_up

COMPONENTS = ("usage", "onboarding", "satisfaction", "effort", "sentiment_score", "outcome", "freshness")
# Components read from the latest check-in: down-weighted when that check-in is stale.
REPORTED = ("usage", "satisfaction", "effort", "sentiment_score", "outcome")
COMPONENT_LABELS = {
    "usage": _l("Usage"),
    "onboarding": _l("Onboarding"),
    "satisfaction": _l("Satisfaction"),
    "effort": _l("Effort and support"),
    "sentiment_score": _l("Reseller sentiment"),
    "outcome": _l("Outcome progress"),
    "freshness": _l("Data freshness"),
}
# What a reseller reports to give each component data (the health card's "to get a score").
TO_REPORT = {
    "usage": _l("active users in a check-in (and the account's seats)"),
    "onboarding": _l("the onboarding milestones' planned and completion dates"),
    "satisfaction": _l("NPS or CSAT in a check-in"),
    "effort": _l("customer effort (CES), open tickets and escalations in a check-in"),
    "sentiment_score": _l("the reseller's sentiment in a check-in"),
    "outcome": _l("outcome progress in a check-in"),
    "freshness": _l("a check-in for the current period"),
}
PHASES = ("onboarding", "adoption")
DEFAULT_WEIGHTS = {
    "onboarding": {"usage": 15, "onboarding": 40, "satisfaction": 10, "effort": 10, "sentiment_score": 15,
                   "outcome": 5, "freshness": 5},
    "adoption": {"usage": 25, "onboarding": 0, "satisfaction": 20, "effort": 15, "sentiment_score": 15,
                 "outcome": 15, "freshness": 10},
}
# Bands tied to risk (bench/bands.py: 2,000 generated accounts whose churn is drawn from the
# signals, about 22 % overall). At 70 / 45, red held 7-10 % of accounts over four seeds: too few
# to act on, and some of them churning at 60 %+ sat in yellow. Red from below 55 holds 16-19 %
# churning at 55-63 %, yellow (55-69) churns near the average (26-29 %) and green well below
# it (5-7 %): each band reads as "below, about, well above the average risk". Green stays at
# 70: raising it to 75 only moves low-risk accounts into yellow.
DEFAULT_GREEN_MIN, DEFAULT_YELLOW_MIN = 70, 55
# A score needs components carrying at least this share of its phase's weight: one reported
# component of seven is not a health score, however good it is.
DEFAULT_MIN_COVERAGE_PCT = 60
STALE_WEIGHT = 0.5          # a stale check-in's components count half
MILESTONE_GRACE_DAYS = 7    # a milestone done within a week of its plan is on time
SENTIMENT_POINTS = {Sentiment.GREEN: 100, Sentiment.YELLOW: 50, Sentiment.RED: 0}


@dataclass(frozen=True)
class SupportThresholds:
    """Open tickets and escalations per 100 seats: full marks at or below `ok`, none at or above
    `bad`, linear between (vendor-set; an account without seats is judged on its absolute counts)."""

    tickets_ok: float = 5.0
    tickets_bad: float = 20.0
    escalations_ok: float = 0.0
    escalations_bad: float = 2.5

    @classmethod
    def of(cls, row: HealthModel) -> "SupportThresholds":
        return cls(row.tickets_per_100_ok, row.tickets_per_100_bad, row.escalations_per_100_ok, row.escalations_per_100_bad)


@dataclass(frozen=True)
class ModelSpec:
    """A health model as the scoring reads it: weights per phase, the two band thresholds and
    the coverage (% of the phase's weight present) a score needs."""

    version: int
    weights: dict = field(default_factory=lambda: DEFAULT_WEIGHTS)
    green_min: int = DEFAULT_GREEN_MIN
    yellow_min: int = DEFAULT_YELLOW_MIN
    min_coverage_pct: int = DEFAULT_MIN_COVERAGE_PCT
    support: SupportThresholds = SupportThresholds()

    @classmethod
    def of(cls, row: HealthModel) -> "ModelSpec":
        return cls(row.version, row.weights, row.green_min, row.yellow_min, row.min_coverage_pct, SupportThresholds.of(row))

    def phase_weights(self, onboarding_phase: bool) -> dict[str, float]:
        """Each component's weight in the account's phase (zero when the model leaves it out)."""
        weights = self.weights["onboarding" if onboarding_phase else "adoption"]
        return {name: float(weights.get(name, 0) or 0) for name in COMPONENTS}


def current_model(session: Session) -> ModelSpec:
    row = session.scalar(select(HealthModel).order_by(HealthModel.version.desc()).limit(1))
    return ModelSpec.of(row) if row else ModelSpec(version=0)


def model_version(session: Session, version: int) -> ModelSpec:
    """The model a snapshot was scored with (version 0: the built-in defaults)."""
    row = session.scalar(select(HealthModel).where(HealthModel.version == version)) if version else None
    return ModelSpec.of(row) if row else ModelSpec(version=0)


def save_model(session: Session, weights: dict, green_min: int, yellow_min: int, user_id: int | None, note: str | None,
               min_coverage_pct: int = DEFAULT_MIN_COVERAGE_PCT, *, support: SupportThresholds | None = None) -> HealthModel:
    """A new version; the running one stays as it was, for the snapshots that used it. The audit
    log gets who saved it and what differs from the version before. Support thresholds left out
    keep the running version's."""
    previous = current_model(session)
    support = support or previous.support
    version = (session.scalar(select(func.max(HealthModel.version))) or 0) + 1
    row = HealthModel(version=version, weights=weights, green_min=green_min, yellow_min=yellow_min,
                      min_coverage_pct=min_coverage_pct, created_by_id=user_id, note=note,
                      tickets_per_100_ok=support.tickets_ok, tickets_per_100_bad=support.tickets_bad,
                      escalations_per_100_ok=support.escalations_ok, escalations_per_100_bad=support.escalations_bad)
    session.add(row)
    session.flush()
    before = {"green_min": previous.green_min, "yellow_min": previous.yellow_min,
              "min_coverage_pct": previous.min_coverage_pct, "version": previous.version,
              **{f"support.{k}": v for k, v in vars(previous.support).items()}}
    after = {"green_min": green_min, "yellow_min": yellow_min, "min_coverage_pct": min_coverage_pct,
             "version": version, "note": note, **{f"support.{k}": v for k, v in vars(support).items()}}
    for phase in {*previous.weights, *weights}:
        for name in {*previous.weights.get(phase, {}), *weights.get(phase, {})}:
            before[f"{phase}.{name}"] = previous.weights.get(phase, {}).get(name, 0)
            after[f"{phase}.{name}"] = weights.get(phase, {}).get(name, 0)
    audit.record(session, AuditAction.HEALTH_MODEL_SAVED, actor=session.get(User, user_id) if user_id else None,
                 target=row, target_label=f"v{version}", detail=audit.changes(before, after))
    return row


def _pct(numerator, denominator):
    return cast(numerator, Float) * 100.0 / denominator


def _round(expr):
    return cast(round_half_up(expr), Integer)


def _avg_present(*exprs):
    """The average of the expressions that are not NULL (NULL when none is)."""
    total = sum((func.coalesce(e, 0) for e in exprs), literal(0.0))
    count = sum((case((e.is_(None), 0), else_=1) for e in exprs), literal(0))
    return case((count == 0, null()), else_=total / func.nullif(count, 0))


def onboarding_on(day):
    """The account was in onboarding on `day`: it is now, or a rule moved it to adoption after that
    day (portal.accounts.lifecycle); a phase set by hand counts from when it was set only."""
    moved_later = and_(Account.status == LifecycleStatus.ACTIVE, Account.phase_changed_on > day,
                       Account.phase_reason.in_([PhaseReason.GO_LIVE, PhaseReason.DAYS_AFTER_START]))
    return case((or_(Account.status == LifecycleStatus.ONBOARDING, moved_later), True), else_=False)


def inputs_select(session: Session, day: date):
    """Per live account on `day`: what it reported last (as known that day) and its milestones."""
    day_param = literal(day)
    known = CheckIn.submitted_at < literal(clock.end_of_day(day), UTCDateTime())  # the vendor's day, not UTC's
    # Each account's latest check-in as known that day: one probe of the (account_id, period_start,
    # version) unique index per account, read backwards, rather than numbering every check-in ever
    # made. PostgreSQL takes the row in a LATERAL join (a join on the probed id would hash the whole
    # table instead); SQLite, which has no LATERAL, looks the probed id up by primary key.
    newest = (
        select(CheckIn.__table__)
        .where(CheckIn.account_id == Account.id, known, CheckIn.period_start <= day_param)
        .order_by(CheckIn.account_id.desc(), CheckIn.period_start.desc(), CheckIn.version.desc())
        .limit(1)
        .correlate(Account)
    )
    latest: NamedFromClause
    latest_on: ColumnElement[bool]
    if session.get_bind().dialect.name == "postgresql":
        latest, latest_on = newest.lateral("latest"), true()
    else:
        latest = CheckIn.__table__.alias("latest")
        latest_on = latest.c.id == newest.with_only_columns(CheckIn.id).scalar_subquery()
    used = (
        select(check_in_features.c.check_in_id,
               func.sum(case((check_in_features.c.adoption_pct > 0, 1), else_=0)).label("used"),
               func.sum(check_in_features.c.adoption_pct).label("adoption_points"))
        .join(Feature, Feature.id == check_in_features.c.feature_id)
        .where(Feature.active.is_(True))  # counted against the active ones only
        .group_by(check_in_features.c.check_in_id)
        .subquery("used")
    )
    features_total = select(func.count()).select_from(Feature).where(Feature.active.is_(True)).scalar_subquery()
    # A skipped step is finished without a date: never due, never late (as on the account page).
    due = and_(Milestone.planned_on <= day_param, MilestoneTemplate.active.is_(True), Milestone.status != MilestoneStatus.SKIPPED)
    done_by_day = and_(Milestone.completed_on.is_not(None), Milestone.completed_on <= day_param)
    late_days = days_between(day_param, Milestone.planned_on)
    milestones = (
        select(
            Milestone.account_id,
            func.sum(case((due, 1), else_=0)).label("due"),
            func.sum(case((and_(due, done_by_day,
                                days_between(Milestone.completed_on, Milestone.planned_on) <= MILESTONE_GRACE_DAYS), 1),
                          else_=0)).label("on_time"),
            func.max(case((and_(due, ~done_by_day, late_days > MILESTONE_GRACE_DAYS), late_days), else_=null())).label("late_max"),
            # First value: the earliest first-value milestone completed by the day (same pass over the milestones).
            func.min(case((and_(MilestoneTemplate.marks_first_value.is_(True), Milestone.completed_on <= day_param),
                           Milestone.completed_on), else_=null())).label("first_value_on"),
        )
        .join(MilestoneTemplate, MilestoneTemplate.id == Milestone.template_id)
        .group_by(Milestone.account_id)
        .subquery("milestones")
    )
    rules = cadence_rules(session)
    allowed_days = case(*[(Account.segment == s, literal(r.months * 30 + r.grace_days)) for s, r in rules.items()])
    # Before a first report, freshness counts from when the account was in the portal (created), not
    # from a contract start that a first import back-dates by years.
    since_contract, since_created = days_between(day_param, Account.contract_start), days_between(day_param, Account.created_at)
    days_since = case(
        (latest.c.id.is_not(None), days_between(day_param, latest.c.submitted_at)),
        (Account.contract_start.is_(None), null()),
        (since_created < since_contract, since_created),
        else_=since_contract,
    )
    return (
        select(
            Account.id.label("account_id"),
            Account.partner_id,
            onboarding_on(day_param).label("onboarding_phase"),
            Account.arr_jpy,
            Account.renewal_date,
            Account.seats,
            latest.c.id.label("check_in_id"),
            latest.c.active_users,
            case((latest.c.id.is_(None), null()), else_=func.coalesce(used.c.used, 0)).label("features_used"),
            case((latest.c.id.is_(None), null()), else_=features_total).label("features_total"),
            # Average adoption over the active features (unreported ones count as not used); counted
            # when the check-in reported any feature, or gave active users (then none reported is none used).
            case((and_(latest.c.id.is_not(None), features_total > 0,
                       or_(used.c.check_in_id.is_not(None), latest.c.active_users.is_not(None))),
                  cast(func.coalesce(used.c.adoption_points, 0), Float) / features_total),
                 else_=null()).label("feature_adoption_pct"),
            latest.c.nps, latest.c.nps_score, latest.c.csat, latest.c.ces,
            latest.c.open_escalations, latest.c.open_tickets,
            latest.c.sentiment,
            latest.c.outcome_progress,
            case((latest.c.id.is_(None), null()), else_=days_between(day_param, latest.c.submitted_at)).label("days_since_report"),
            days_since.label("days_since"),
            allowed_days.label("allowed_days"),
            func.coalesce(milestones.c.due, 0).label("milestones_due"),
            func.coalesce(milestones.c.on_time, 0).label("milestones_on_time"),
            milestones.c.late_max.label("days_late_max"),
            days_between(milestones.c.first_value_on, Account.contract_start).label("ttfv_days"),
        )
        .select_from(Account)
        .outerjoin(latest, latest_on)
        .outerjoin(used, used.c.check_in_id == latest.c.id)
        .outerjoin(milestones, milestones.c.account_id == Account.id)
        .where(
            or_(Account.churned_on.is_(None), Account.churned_on > day_param),
            or_(Account.contract_start.is_(None), Account.contract_start <= day_param),
        )
    )


def _penalty(load, ok: float, bad: float):
    """0 at or below `ok`, 100 at or above `bad`, linear between."""
    span = max(bad - ok, 0.01)
    return case((load <= ok, 0.0), (load >= bad, 100.0), else_=(load - ok) * (100.0 / span))


def components_select(session: Session, day: date, model: ModelSpec | None = None):
    """The inputs plus each component, 0-100 or NULL when there is nothing to score it on."""
    thresholds = model.support if model else SupportThresholds()
    # OFFSET 0: each input (days since a report, the segment's allowed days...) is computed once,
    # not again inside every component that reads it.
    i = inputs_select(session, day).offset(0).subquery("inputs")
    active_ratio = case(
        (and_(i.c.seats > 0, i.c.active_users.is_not(None)),
         case((i.c.active_users >= i.c.seats, 1.0), else_=cast(i.c.active_users, Float) / i.c.seats)),
        else_=null(),
    )
    adoption = i.c.feature_adoption_pct / 100.0
    usage = case(
        (and_(active_ratio.is_not(None), adoption.is_not(None)), 70 * active_ratio + 30 * adoption),
        (active_ratio.is_not(None), 100 * active_ratio),
        (adoption.is_not(None), 100 * adoption),  # file-only resellers often know adoption, not active users
        else_=null(),
    )
    onboarding = case((i.c.milestones_due > 0, _pct(i.c.milestones_on_time, i.c.milestones_due)), else_=null())
    satisfaction = _avg_present(
        case((i.c.nps.is_not(None), i.c.nps * 10.0),  # one answer 0-10, or a survey's score -100..100
             (i.c.nps_score.is_not(None), (i.c.nps_score + 100) / 2.0), else_=null()),
        case((i.c.csat.is_not(None), (i.c.csat - 1) * 25.0), else_=null()),
    )
    # Load per 100 seats, so a big customer's ten tickets weigh what a small one's one does;
    # without seats the counts themselves are the load (reasons() says so).
    per_100 = case((i.c.seats > 0, i.c.seats / 100.0), else_=1.0)
    tickets_load = func.coalesce(i.c.open_tickets, 0) / per_100
    escalations_load = func.coalesce(i.c.open_escalations, 0) / per_100
    support = case(
        (i.c.check_in_id.is_(None), null()),
        else_=greatest(0.0, 100.0 - _penalty(tickets_load, thresholds.tickets_ok, thresholds.tickets_bad)
                       - _penalty(escalations_load, thresholds.escalations_ok, thresholds.escalations_bad)),
    )
    effort = _avg_present(case((i.c.ces.is_not(None), (7 - i.c.ces) * 100.0 / 6), else_=null()), support)
    sentiment = case(*[(i.c.sentiment == s, literal(p)) for s, p in SENTIMENT_POINTS.items()], else_=null())
    # No report yet: not judged until the first one is owed, then zero.
    freshness = case(
        (i.c.days_since.is_(None), null()),  # no report and no contract start: nothing to measure from
        (i.c.days_since <= i.c.allowed_days, case((i.c.check_in_id.is_(None), null()), else_=100.0)),
        else_=greatest(0.0, 100.0 - 100.0 * (i.c.days_since - i.c.allowed_days) / i.c.allowed_days),
    )
    stale = and_(i.c.check_in_id.is_not(None), i.c.days_since_report > i.c.allowed_days)
    return select(
        i,
        case((stale, True), else_=False).label("stale"),
        _round(usage).label("usage"),
        _round(onboarding).label("onboarding"),
        _round(satisfaction).label("satisfaction"),
        _round(effort).label("effort"),
        sentiment.label("sentiment_score"),
        i.c.outcome_progress.label("outcome"),
        _round(freshness).label("freshness"),
    )


def weighted_score(subquery, model: ModelSpec, components: tuple[str, ...]):
    """Weighted mean of the components present, per the account's phase; stale reports count less."""
    c = subquery.c
    numerator, denominator = [], []
    for name in components:
        weight: ColumnElement[Any] = case(*[(c.onboarding_phase == (phase == "onboarding"),
                                             literal(float(model.weights[phase].get(name, 0))))
                                            for phase in PHASES])
        if name in REPORTED:
            weight = weight * case((c.stale, STALE_WEIGHT), else_=1.0)
        present = c[name].is_not(None)
        numerator.append(case((present, weight * c[name]), else_=0.0))
        denominator.append(case((present, weight), else_=0.0))
    total_weight = sum(denominator[1:], denominator[0])
    return _round(sum(numerator[1:], numerator[0]) / func.nullif(total_weight, 0))  # no weight present: NULL


def coverage(subquery, model: ModelSpec):
    """The share (%, rounded down) of the account's phase weight carried by the components present.

    Nominal weights: a stale report's components count half in the score but are present, not
    missing. Integer arithmetic (weights to hundredths), so 59.9 % is 59 on both databases and
    never passes a 60 % floor."""
    c = subquery.c
    by_phase = []
    for phase in PHASES:
        weights = model.phase_weights(phase == "onboarding")
        total = round(100 * sum(weights.values()))
        present = sum((case((c[name].is_not(None), literal(round(100 * w))), else_=literal(0))
                       for name, w in weights.items() if w), literal(0))
        by_phase.append((c.onboarding_phase == (phase == "onboarding"), present * 100 // total if total else null()))
    return case(*by_phase)


def covered(coverage_pct, model: ModelSpec):
    """Enough of the phase's weight is present for a score."""
    return and_(coverage_pct.is_not(None), coverage_pct >= model.min_coverage_pct)


def gated_score(rows, model: ModelSpec):
    """The score where coverage allows one, else NULL: for rows holding the components (a snapshot)."""
    return case((covered(coverage(rows, model), model), weighted_score(rows, model, COMPONENTS)), else_=null())


def band_of(score, model: ModelSpec):
    return case(
        (score.is_(None), null()),
        (score >= model.green_min, literal(Band.GREEN.value)),
        (score >= model.yellow_min, literal(Band.YELLOW.value)),
        else_=literal(Band.RED.value),
    )


def capped_band(rows, score, model: ModelSpec):
    """The band, kept out of green by an open escalation or a red sentiment (negatives before delight)."""
    negative = or_(rows.c.open_escalations > 0, rows.c.sentiment == Sentiment.RED)
    raw = band_of(score, model)
    capped = and_(negative, raw == Band.GREEN.value)
    return case((capped, literal(Band.YELLOW.value)), else_=raw), capped


def score_select(session: Session, day: date, model: ModelSpec):
    """Every live account's score, band and inputs for `day`, in the columns of AccountScore."""
    # OFFSET 0 keeps PostgreSQL from inlining each layer into the next: otherwise every
    # component expression is recomputed for each of its many uses in the weights and bands.
    c = components_select(session, day, model).offset(0).subquery("components")
    measured = select(c, coverage(c, model).label("coverage_pct")).offset(0).subquery("measured")
    enough = covered(measured.c.coverage_pct, model)  # below it: "Not enough data", no score and no band
    score = case((enough, weighted_score(measured, model, COMPONENTS)), else_=null())
    objective = case((enough, weighted_score(measured, model, tuple(n for n in COMPONENTS if n != "sentiment_score"))),
                     else_=null())
    scored = (select(measured, score.label("score"), objective.label("objective"))
              .offset(0).subquery("scored"))
    band, capped = capped_band(scored, scored.c.score, model)
    columns = [col for col in scored.c if col.name not in ("days_since", "allowed_days", "score", "objective")]
    return select(
        literal(day).label("day"),
        literal(model.version).label("model_version"),
        *columns,
        scored.c.score,
        band.label("band"),
        band_of(scored.c.objective, model).label("objective_band"),
        case((capped, True), else_=False).label("capped"),
    )


def preview(session: Session, day: date, current: ModelSpec, proposed: ModelSpec) -> dict:
    """How many accounts each band would hold under each model, and how many would move."""
    now = score_select(session, day, current).subquery("now")
    then = score_select(session, day, proposed).subquery("then")
    rows = session.execute(
        select(now.c.band.label("before"), then.c.band.label("after"), func.count().label("accounts"),
               func.sum(now.c.arr_jpy).label("arr_jpy"))
        .join(then, then.c.account_id == now.c.account_id)
        .group_by(now.c.band, then.c.band)
    ).all()
    bands = [Band.GREEN.value, Band.YELLOW.value, Band.RED.value, None]
    before = {b: sum(r.accounts for r in rows if r.before == b) for b in bands}
    after = {b: sum(r.accounts for r in rows if r.after == b) for b in bands}
    moved = {(r.before, r.after): r.accounts for r in rows if r.before != r.after}
    return {"before": before, "after": after, "moved": moved, "total": sum(r.accounts for r in rows)}


# --- the health card ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CardComponent:
    name: str
    value: int | None
    share_pct: int  # of the phase's total weight

    @property
    def label(self) -> str:
        return str(COMPONENT_LABELS[self.name])

    @property
    def to_report(self) -> str:
        return str(TO_REPORT[self.name])


@dataclass(frozen=True)
class HealthCard:
    """What the account page says about a score: the weights' phase, the components present and
    missing with their share of the weight, and how far a "Not enough data" account is from a score."""

    onboarding_phase: bool
    scored: bool
    coverage_pct: int | None
    min_coverage_pct: int
    present: list[CardComponent]
    missing: list[CardComponent]

    @property
    def short_by_pct(self) -> int:
        return max(0, self.min_coverage_pct - (self.coverage_pct or 0))


def health_card(s, model: ModelSpec) -> HealthCard:
    """`s` is an AccountScore; `model` the version it was scored with. Components the phase gives
    no weight are neither present nor missing."""
    weights = model.phase_weights(s.onboarding_phase)
    total = sum(weights.values()) or 1.0
    components = [CardComponent(n, getattr(s, n), round(100 * w / total)) for n, w in weights.items() if w]
    return HealthCard(
        onboarding_phase=s.onboarding_phase, scored=s.score is not None, coverage_pct=s.coverage_pct,
        min_coverage_pct=model.min_coverage_pct,
        present=[c for c in components if c.value is not None],
        missing=sorted((c for c in components if c.value is None), key=lambda c: -c.share_pct),
    )


# --- reasons in words --------------------------------------------------------------------------


def reasons(s) -> list[str]:
    """Why the score is what it is, most serious first; `s` is an AccountScore (or a row like it)."""
    out: list[str] = []
    if s.open_escalations:
        out.append(ngettext("%(num)d open escalation", "%(num)d open escalations", s.open_escalations))
    if s.sentiment == Sentiment.RED or s.sentiment == "red":
        out.append(str(_l("Reseller sentiment red")))
    if s.capped:
        out.append(str(_l("Kept out of green by the negatives above")))
    if s.check_in_id is None:
        out.append(str(_l("No check-in yet")))
    elif s.stale:
        out.append(ngettext("No check-in for %(num)d day", "No check-in for %(num)d days", s.days_since_report))
    if s.days_late_max:
        out.append(ngettext("A milestone is %(num)d day late", "A milestone is %(num)d days late", s.days_late_max))
    if s.nps is not None:
        kind = _l("detractor") if s.nps <= 6 else _l("passive") if s.nps <= 8 else _l("promoter")
        out.append(str(_l("NPS %(nps)d: %(kind)s", nps=s.nps, kind=kind)))
    elif s.nps_score is not None:
        out.append(str(_l("NPS score %(score)s", score=figure(s.nps_score, "nps"))))
    if s.csat is not None and s.csat <= 2.5:
        out.append(str(_l("CSAT %(csat)s of 5", csat=number(s.csat, 1))))
    if s.ces is not None and s.ces >= 5:
        out.append(str(_l("Customer effort high (CES %(ces)d of 7)", ces=s.ces)))
    if s.active_users is not None and s.seats:
        share = round(100 * min(s.active_users, s.seats) / s.seats)
        if share < 50:
            out.append(str(_l("Only %(share)d%% of seats active", share=share)))
    if s.feature_adoption_pct is not None and s.feature_adoption_pct < 50:
        out.append(str(_l("Key features %(pct)s adopted (%(used)d of %(total)d in use)",
                          pct=pct(s.feature_adoption_pct, 0), used=s.features_used or 0, total=s.features_total or 0)))
    if s.check_in_id is not None and (s.open_tickets or s.open_escalations):
        if s.seats:
            out.append(str(_l("Support load per 100 seats: %(tickets)s open tickets, %(escalations)s escalations",
                              tickets=number(100 * (s.open_tickets or 0) / s.seats, 1),
                              escalations=number(100 * (s.open_escalations or 0) / s.seats, 1))))
        else:
            out.append(str(_l("Support load judged on absolute counts (no seats known): %(tickets)d open tickets",
                              tickets=s.open_tickets or 0)))
    if s.outcome_progress is not None and s.outcome_progress < 30:
        out.append(str(_l("Outcome %(pct)d%% reached", pct=s.outcome_progress)))
    if s.ttfv_days is not None:
        out.append(ngettext("First value after %(num)d day", "First value after %(num)d days", s.ttfv_days))
    return out
