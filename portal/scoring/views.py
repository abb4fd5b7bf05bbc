"""Scorecards: a partner's (shared by the vendor and that reseller), the channel's, the model check."""
from __future__ import annotations

from datetime import date
from typing import NamedTuple

from flask import abort, render_template, request
from markupsafe import Markup
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.actions import listing as action_listing
from portal.scoring import insights
from portal.scoring import figures, tiers
from portal.scoring.aggregation import latest_day, snapshot_version
from portal.scoring.health import current_model
from portal.core.labels import choices, label
from portal.reporting.cadence import owed_first
from portal.models import (
    VENDOR_ROLES, ActionItem, Band, PartnerTier,
)
from portal.core import fragments
from portal.core.exports import table_response
from portal.scoring import bp, ranking_cells, review
from portal.core.scoping import one_or_404, partners_visible_to, visible_to
from portal.core.lists import ListArgs
from portal.core.web import get_session, roles_required, today

SCORECARD_ITEMS = 20  # the first open items on the scorecard, as many as its other lists; a link lists them all
# The first renewals and overdue check-ins on the scorecard (a large reseller has thousands);
# a link opens the accounts list filtered the same way.
SCORECARD_ROWS = 20

class SnapshotParts(NamedTuple):
    """The scorecard's parts read only from the snapshots, rendered (portal.core.fragments)."""

    top: Markup  # headline, figures, benchmark, trend, tier progress
    optimism: Markup
    before: date | None  # the day the headline's changes are against (said in the page's head)


def _snapshot_parts(db, partner, day: date, stamp: tuple | None) -> SnapshotParts | None:
    """Rendered once per (snapshot, partner, its name and tier, tier rules, vendor or not,
    language): none of it changes until the next nightly run, or a change of what is in the key."""
    rules = tiers.rules(db)

    def make() -> SnapshotParts | None:
        card = insights.scorecard(db, partner.id, day)
        if card is None:
            return None
        # What the headline's changes are against, as on the channel's page and in the weekly email.
        previous = insights.previous_scorecard(db, partner.id, day)
        context = dict(
            partner=partner, card=card, day=day, previous=previous,
            tier=tiers.progress(card, rules, held=partner.tier), tier_figures=tiers.TIER_FIGURES,
            trend=insights.scorecard_trend(db, partner.id, day),
            benchmark=insights.benchmark(db, partner.id, day),
            optimism=insights.optimism_check(db, partner.id, day),
            # The channel-wide rate only, never another partner's: the yardstick for the reseller's own,
            # shown to a reseller only when there are enough partners to keep the others anonymous.
            channel_optimism=(insights.optimism_check(db, None, day)
                              if current_user.is_vendor or insights.enough_partners_to_compare(db, day) else None),
            figure_names=insights.FIGURE_NAMES, min_partners=insights.BENCHMARK_MIN_PARTNERS,
        )
        return SnapshotParts(Markup(render_template("scoring/_partner_top.html", **context)),
                             Markup(render_template("scoring/_partner_optimism.html", **context)),
                             previous.day if previous else None)

    rules_key = tuple(sorted((tier.value, tuple(sorted(minimums.items()))) for tier, minimums in rules.items()))
    return fragments.cached("scorecard", (partner.id, partner.name, partner.tier, rules_key, current_user.is_vendor,
                                          day, stamp), make)


@bp.get("/partners/<int:partner_id>/scorecard")
@login_required
def partner_scorecard(partner_id: int):
    """The snapshot's parts come rendered from portal.core.fragments; what a user changes during
    the day (open items, overdue check-ins, renewals, alerts with their accounts) is read when the
    partner's data changed, the page kept whole in between (portal.core.fragments.page)."""
    db = get_session()
    partner = one_or_404(db, partners_visible_to(current_user), partner_id)

    def body() -> Markup:
        day, stamp = snapshot_version(db)
        snapshot = _snapshot_parts(db, partner, day, stamp) if day else None
        alerts: list = []
        renewals: list = []
        renewals_total = 0
        if day and snapshot:
            alerts = review.recent_alerts(db, current_user, partner.id, day)
            renewals, renewals_total = review.renewals(db, partner.id, day, today(), SCORECARD_ROWS, stamp=stamp)
        owed = owed_first(db, today(), partner.id, SCORECARD_ROWS, due_rows=False)  # the scorecard lists the overdue only
        # The accounts list with the partner's accounts (a reseller's list has only its own).
        accounts_args = {"partner_id": partner.id} if current_user.is_vendor else {}
        open_rows, open_total = action_listing.first_open(
            db, visible_to(current_user, ActionItem).where(ActionItem.partner_id == partner.id), today(), SCORECARD_ITEMS)
        return Markup(render_template(
            "scoring/_partner_body.html",
            partner=partner,
            snapshot=snapshot,
            card=snapshot is not None,
            renewals=renewals,
            renewals_total=renewals_total,
            overdue=owed.overdue,
            overdue_total=owed.overdue_total,
            accounts_args=accounts_args,
            open_rows=open_rows,
            open_total=open_total,
            today=today(),
            day=day,
            alerts=alerts,
        ))

    return render_template("scoring/partner.html", partner=partner, body=fragments.page("scorecard", partner.id, body))


def _ranking(db, day, limit: int | None = None, cards: bool = True):
    """The ranking as the request asks for it (filters are read, and refused when bad, even on a
    day without scorecards): the first `limit` rows (None: all), the number matching, the sort."""
    args = ListArgs()
    sort = args.one_of("sort", review.RANKING_SORTS, "health")
    descending = review.RANKING_SORTS[sort][1]
    if args.one_of("order", ("asc", "desc"), "") in ("asc", "desc"):
        descending = args.text("order") == "desc"
    tier, band = args.choice("tier", PartnerTier), args.choice("band", Band)
    if day is None:
        return [], 0, sort, descending
    rows, matching = review.ranking(db, current_user, day, sort=sort, descending=descending, tier=tier, band=band,
                                    mine=args.flag("mine"), limit=limit, cards=cards)
    return rows, matching, sort, descending


@bp.get("/channel")
@roles_required(*VENDOR_ROLES)
def channel():
    """The channel's scorecard and ranking, kept rendered until any partner's data changes
    (portal.core.fragments.page)."""

    def body() -> Markup:
        db = get_session()
        day, stamp = snapshot_version(db)
        # A few hundred rows with their trends cost more to render than all the rest of the page:
        # the first RANKING_ROWS in the chosen order, and the whole list on request (?all=1).
        show_all = ListArgs().flag("all")
        partners, matching, sort, descending = _ranking(db, day, None if show_all else review.RANKING_ROWS, cards=False)
        # The rows' figures, sparklines and band bars: rendered once per snapshot (ranking_cells).
        cells = ranking_cells.ranking_cells(db, day, stamp, [p.id for p, _s in partners]) if day else {}
        # The channel's weekly scorecards end with the day's own: the headline needs no query of its own.
        trend = insights.scorecard_trend(db, None, day) if day else []
        card = trend[-1] if trend and trend[-1].day == day else None
        previous = insights.previous_scorecard(db, None, day) if day else None
        before = previous.day if previous else None
        return Markup(render_template(
            "scoring/_channel_body.html",
            day=day,
            before=before,
            previous=previous,
            movers=insights.movers(db, day, before) if day and before else [],
            card=card,
            trend=trend,
            partners=partners,
            matching=matching,
            cells=cells,
            sort=sort,
            descending=descending,
            tiers=choices(PartnerTier),
            tier_labels={tier: label(tier) for tier in PartnerTier},  # once, not once per row
            bands=choices(Band),
            args=request.args,
            optimism=insights.optimism_check(db, None, day, card),
        ))

    return render_template("scoring/channel.html", body=fragments.page("channel", None, body))


@bp.get("/channel/partners.<fmt>")
@roles_required(*VENDOR_ROLES)
def ranking_export(fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    db = get_session()
    day = latest_day(db)
    partners = _ranking(db, day)[0]  # every matching partner
    headers = [_("Partner"), _("Tier"), _("Live accounts"), "ARR", _("Average health"), _("Healthy"), _("Needs attention"),
               _("At risk"), _("Not enough data"), _("ARR needing attention or at risk"), _("Reporting compliance"), _("Renewal rate (12 months)"),
               "GRR", "NRR", "NPS"]
    columns = ("accounts", "arr_jpy", "average_health", "green_accounts", "yellow_accounts", "red_accounts",
               "unscored_accounts", "at_risk_arr_jpy", "reporting_compliance_pct", "renewal_rate_pct", "grr_pct", "nrr_pct", "nps")
    # Rounded as the pages show them (figures.exported), so the file and the page agree.
    rows = [[p.name, label(p.tier), *[figures.exported(getattr(s, c), c) for c in columns]] for p, s in partners]
    return table_response(headers, rows, f"partners-{day or 'none'}", fmt)


@bp.get("/model-check")
@roles_required(*VENDOR_ROLES)
def model_check():
    db = get_session()
    day = latest_day(db)
    model = current_model(db)
    return render_template("scoring/model_check.html", day=day, model=model,
                           rows=insights.model_check(db, day) if day else [])
