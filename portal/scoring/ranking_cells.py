"""The channel ranking's figure cells, rendered once per snapshot rather than on every request.

A ranking row is the partner (name, tier: read live on each request, an admin may rename a
partner at any moment) and nine cells worked out from the partner's scorecards alone: the day's
figures, the band bar and the 13-week sparkline. Those change only when a snapshot is written, so
they are kept in portal.core.fragments under the snapshot's stamp (aggregation.snapshot_version:
a new run, "Refresh scorecards now" or a recompute of an older day changes it). Channel pages
are vendor staff's only, and vendor staff see every partner: the cells hold nothing one viewer
may see and another may not. Only the partners a page shows and not yet kept are rendered (one
query for their scorecards, one for their trends).
"""
from __future__ import annotations

from datetime import date

from flask import get_template_attribute
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.core import fragments
from portal.models import PartnerScorecard
from portal.scoring import review


def ranking_cells(session: Session, day: date, stamp: tuple | None, partner_ids: list[int]) -> dict[int, Markup]:
    """The figure cells of these partners' rows on `day` (a partner without a scorecard that day has none)."""
    def render(missing: list[int]) -> dict[int, Markup]:
        cards: dict[int, PartnerScorecard] = {card.partner_id: card for card in session.scalars(  # type: ignore[misc]
            select(PartnerScorecard).where(PartnerScorecard.day == day, PartnerScorecard.partner_id.in_(missing)))}
        trends = review.ranking_trends(session, day, list(cards))
        cells = get_template_attribute("scoring/_ranking_cells.html", "cells")
        return {partner_id: Markup(cells(card, trends.get(partner_id, []))) for partner_id, card in cards.items()}

    return fragments.cached_each("ranking-cells", (day, stamp), partner_ids, render)
