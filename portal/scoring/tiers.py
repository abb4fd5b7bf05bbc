"""Partner tiers by thresholds on scorecard figures: which tier a partner qualifies for and
what it still needs for the next one. The vendor admin sets the thresholds; figures come from
the partner's latest scorecard (portal/figures.py defines each)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.audit import services as audit
from portal.audit.models import AuditAction
from portal.models import Partner, PartnerScorecard, PartnerTier, TierRule, User

# Best first; "registered" needs nothing.
RANKED_TIERS = (PartnerTier.PLATINUM, PartnerTier.GOLD, PartnerTier.SILVER)
TIER_FIGURES = {
    "accounts": _l("Live accounts"),
    "arr_jpy": _l("ARR (yen)"),
    "average_health": _l("Average health"),
    "reporting_compliance_pct": _l("Reporting compliance (%)"),
    "renewal_rate_pct": _l("Renewal rate (12 months, %)"),
    "nrr_pct": _l("Net revenue retention (%)"),
}


def rules(session: Session) -> dict[PartnerTier, dict[str, float]]:
    found: dict[PartnerTier, dict[str, float]] = {tier: {} for tier in RANKED_TIERS}
    for rule in session.scalars(select(TierRule)):
        found.setdefault(rule.tier, {})[rule.figure] = rule.minimum
    return found


def save_rules(session: Session, thresholds: dict[PartnerTier, dict[str, float | None]], *, actor: User | None = None) -> None:
    """Replace every threshold; the audit log gets what changed. Never commits."""
    before = {f"{tier.value}.{figure}": minimum for tier, figures in rules(session).items() for figure, minimum in figures.items()}
    session.execute(delete(TierRule))
    after = {}
    for tier, figures in thresholds.items():
        for figure, minimum in figures.items():
            if minimum is not None:
                session.add(TierRule(tier=tier, figure=figure, minimum=minimum))
                after[f"{tier.value}.{figure}"] = minimum
    detail = audit.changes(before, after) | {name: [minimum, None] for name, minimum in before.items() if name not in after}
    if detail:
        audit.record(session, AuditAction.TIER_RULES_CHANGED, actor=actor, detail=detail)


@dataclass(frozen=True)
class Gap:
    figure: str
    minimum: float
    value: float | None

    @property
    def met(self) -> bool:
        return self.value is not None and self.value >= self.minimum


@dataclass(frozen=True)
class TierProgress:
    """Where a partner stands: the tier it holds (the vendor assigns it) beside the one its
    scorecard meets, and the thresholds of the tier that matters next."""

    qualifies_for: PartnerTier      # the best tier whose every threshold is met
    next_tier: PartnerTier | None   # the one above it, if any has thresholds
    gaps: list[Gap]                 # the thresholds of `target`, met or not
    held: PartnerTier | None = None  # the tier the vendor assigned
    has_rules: bool = True          # the vendor has saved any threshold at all
    target: PartnerTier | None = None  # the tier whose thresholds `gaps` lists

    @property
    def standing(self) -> str:
        """no_rules | meets (the held tier) | above (meets a better one) | below (would not keep the held one)."""
        if not self.has_rules:
            return "no_rules"
        if self.held is None or self.held == self.qualifies_for:
            return "meets"
        return "above" if rank(self.qualifies_for) < rank(self.held) else "below"


def rank(tier: PartnerTier) -> int:
    """0 for the best tier; registered last."""
    return RANKED_TIERS.index(tier) if tier in RANKED_TIERS else len(RANKED_TIERS)


def qualifying_tier(card: PartnerScorecard | None, thresholds: dict[PartnerTier, dict[str, float]]) -> PartnerTier:
    for tier in RANKED_TIERS:
        needs = thresholds.get(tier) or {}
        if needs and card is not None and all(Gap(f, m, getattr(card, f)).met for f, m in needs.items()):
            return tier
    return PartnerTier.REGISTERED


def progress(card: PartnerScorecard | None, thresholds: dict[PartnerTier, dict[str, float]],
             held: PartnerTier | None = None) -> TierProgress:
    """The tier met, and what comes next: for a partner whose scorecard falls short of the tier it
    holds, what keeping that tier needs; otherwise what the next tier up needs."""
    current = qualifying_tier(card, thresholds)
    above = [t for t in RANKED_TIERS if thresholds.get(t)]
    above = above[: above.index(current)] if current in above else above
    next_tier = above[-1] if above else None
    target = held if held is not None and rank(held) < rank(current) and thresholds.get(held) else next_tier
    needs = thresholds.get(target) if target is not None else None
    gaps = [Gap(f, m, getattr(card, f) if card else None) for f, m in (needs or {}).items()]
    has_rules = any(thresholds.get(t) for t in RANKED_TIERS)
    return TierProgress(current, next_tier, gaps, held, has_rules, target)


def movers(session: Session, day: date) -> list[tuple[Partner, PartnerTier | None]]:
    """Partners whose scorecard on `day` qualifies for another tier than the one they hold
    (none while no threshold is saved: every partner would seem to fall to registered)."""
    thresholds = rules(session)
    if not any(thresholds.values()):
        return []
    found: list[tuple[Partner, PartnerTier | None]] = []
    for partner, card in session.execute(select(Partner, PartnerScorecard).join(PartnerScorecard, PartnerScorecard.partner_id == Partner.id)
                                         .where(PartnerScorecard.day == day).order_by(Partner.name)):
        qualifies = qualifying_tier(card, thresholds)
        if qualifies != partner.tier:
            found.append((partner, qualifies))
    return found
