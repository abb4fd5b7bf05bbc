"""Scorecards: a partner's (shared by the vendor and that reseller), the channel's, the model check."""
from __future__ import annotations

from datetime import timedelta

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.actions import services as actions
from portal.scoring import insights
from portal.scoring import tiers
from portal.scoring.aggregation import latest_day
from portal.scoring.health import current_model
from portal.core.labels import choices, label
from portal.reporting.cadence import obligations
from portal.models import (
    VENDOR_ROLES, Account, AccountScore, ActionItem, Alert, Band, Partner, PartnerScorecard, PartnerTier,
)
from portal.core.exports import table_response
from portal.scoring import bp
from portal.core.scoping import one_or_404, partners_visible_to, visible_to
from portal.core.lists import ListArgs
from portal.core.web import get_session, roles_required, today

RENEWAL_DAYS = 90


@bp.get("/partners/<int:partner_id>/scorecard")
@login_required
def partner_scorecard(partner_id: int):
    db = get_session()
    partner = one_or_404(db, partners_visible_to(current_user), partner_id)
    day = latest_day(db)
    alerts = []
    if day:
        alerts = db.scalars(
            visible_to(current_user, Alert).where(Alert.partner_id == partner.id, Alert.raised_on > day - timedelta(days=30))
            .options(joinedload(Alert.account)).order_by(Alert.raised_on.desc(), Alert.id.desc()).limit(20)
        ).all()
    card = insights.scorecard(db, partner.id, day) if day else None
    renewals = []
    if day:
        renewals = db.execute(
            select(AccountScore.account_id, AccountScore.renewal_date, AccountScore.band, AccountScore.arr_jpy, Account.name)
            .join(Account, Account.id == AccountScore.account_id)
            .where(AccountScore.day == day, AccountScore.partner_id == partner.id, AccountScore.renewal_date >= today(),
                   AccountScore.renewal_date <= today() + timedelta(days=RENEWAL_DAYS))
            .order_by(AccountScore.renewal_date, Account.name)
        ).all()
    overdue = [o for o in obligations(db, today(), partner_id=partner.id) if o.overdue]
    items = db.scalars(actions.open_items(visible_to(current_user, ActionItem).where(ActionItem.partner_id == partner.id)).limit(50)).all()
    return render_template(
        "scoring/partner.html",
        partner=partner,
        tier=tiers.progress(card, tiers.rules(db)),
        tier_figures=tiers.TIER_FIGURES,
        renewals=renewals,
        overdue=overdue,
        items=items,
        today=today(),
        day=day,
        card=card,
        trend=insights.scorecard_trend(db, partner.id, day) if day else [],
        benchmark=insights.benchmark(db, partner.id, day),
        optimism=insights.optimism_check(db, partner.id, day),
        # The channel-wide rate only, never another partner's: the yardstick for the reseller's own,
        # shown to a reseller only when there are enough partners to keep the others anonymous.
        channel_optimism=(insights.optimism_check(db, None, day)
                          if current_user.is_vendor or insights.enough_partners_to_compare(db, day) else None),
        alerts=alerts,
        figure_names=insights.FIGURE_NAMES,
        min_partners=insights.BENCHMARK_MIN_PARTNERS,
    )


# Sortable columns of the partner ranking: (scorecard column, largest first by default).
RANKING_SORTS = {
    "health": (PartnerScorecard.average_health, True),
    "accounts": (PartnerScorecard.accounts, True),
    "arr": (PartnerScorecard.arr_jpy, True),
    "at_risk": (PartnerScorecard.at_risk_arr_jpy, True),
    "compliance": (PartnerScorecard.reporting_compliance_pct, True),
    "nrr": (PartnerScorecard.nrr_pct, True),
    "renewal": (PartnerScorecard.renewal_rate_pct, True),
    "name": (Partner.name, False),
}
RANKING_TREND_DAYS = 91


def _ranking(db, day):
    """The partners with their day's figures, filtered and sorted in SQL per the request
    (the filters are read, and refused when bad, even on a day without scorecards)."""
    args = ListArgs()
    sort = args.one_of("sort", RANKING_SORTS, "health")
    column, descending = RANKING_SORTS[sort]
    if args.one_of("order", ("asc", "desc"), "") in ("asc", "desc"):
        descending = args.text("order") == "desc"
    tier, band = args.choice("tier", PartnerTier), args.choice("band", Band)
    if day is None:
        return [], sort, descending
    stmt = (partners_visible_to(current_user, mine=args.flag("mine"))
            .add_columns(PartnerScorecard)
            .join(PartnerScorecard, PartnerScorecard.partner_id == Partner.id)
            .where(PartnerScorecard.day == day))
    if tier:
        stmt = stmt.where(Partner.tier == tier)
    if band:  # partners with accounts in that band
        stmt = stmt.where(getattr(PartnerScorecard, f"{band.value}_accounts") > 0)
    ordered = column.desc().nulls_last() if descending else column.asc().nulls_last()
    return db.execute(stmt.order_by(ordered, Partner.name)).all(), sort, descending


@bp.get("/channel")
@roles_required(*VENDOR_ROLES)
def channel():
    db = get_session()
    day = latest_day(db)
    partners, sort, descending = _ranking(db, day)
    trends = {}
    if day:  # one query for every row's small trend
        for partner_id, value in db.execute(
            select(PartnerScorecard.partner_id, PartnerScorecard.average_health)
            .where(PartnerScorecard.partner_id.is_not(None), PartnerScorecard.day > day - timedelta(days=RANKING_TREND_DAYS))
            .order_by(PartnerScorecard.day)
        ):
            trends.setdefault(partner_id, []).append(value)
    before = insights.comparison_day(db, day) if day else None
    return render_template(
        "scoring/channel.html",
        day=day,
        before=before,
        previous=insights.scorecard(db, None, before) if before else None,
        movers=insights.movers(db, day, before) if before else [],
        card=insights.scorecard(db, None, day),
        trend=insights.scorecard_trend(db, None, day) if day else [],
        partners=partners,
        trends=trends,
        sort=sort,
        descending=descending,
        tiers=choices(PartnerTier),
        bands=choices(Band),
        args=request.args,
        optimism=insights.optimism_check(db, None, day),
    )


@bp.get("/channel/partners.<fmt>")
@roles_required(*VENDOR_ROLES)
def ranking_export(fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    db = get_session()
    day = latest_day(db)
    partners = _ranking(db, day)[0]
    headers = [_("Partner"), _("Tier"), _("Live accounts"), "ARR", _("Average health"), _("Healthy"), _("Needs attention"),
               _("At risk"), _("ARR needing attention or at risk"), _("Reporting compliance"), _("Renewal rate (12 months)"),
               "GRR", "NRR", "NPS"]
    rows = [[p.name, label(p.tier), s.accounts, s.arr_jpy, _round(s.average_health), s.green_accounts, s.yellow_accounts,
             s.red_accounts, s.at_risk_arr_jpy, _round(s.reporting_compliance_pct), _round(s.renewal_rate_pct),
             _round(s.grr_pct), _round(s.nrr_pct), _round(s.nps)] for p, s in partners]
    return table_response(headers, rows, f"partners-{day or 'none'}", fmt)


def _round(value):
    return None if value is None else round(value, 1)


@bp.get("/model-check")
@roles_required(*VENDOR_ROLES)
def model_check():
    db = get_session()
    day = latest_day(db)
    model = current_model(db)
    return render_template("scoring/model_check.html", day=day, model=model,
                           rows=insights.model_check(db, day) if day else [])
