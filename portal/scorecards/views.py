"""Scorecards: a partner's (shared by the vendor and that reseller), the channel's, the model check."""
from __future__ import annotations

from datetime import timedelta

from flask import render_template
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal import insights
from portal.aggregation import latest_day
from portal.health import current_model
from portal.models import VENDOR_ROLES, Alert, Partner, PartnerScorecard
from portal.scorecards import bp
from portal.scoping import one_or_404, partners_visible_to, visible_to
from portal.web import get_session, roles_required

TREND_DAYS = 182


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
    return render_template(
        "scorecards/partner.html",
        partner=partner,
        day=day,
        card=insights.scorecard(db, partner.id, day),
        trend=insights.scorecard_trend(db, partner.id, day - timedelta(days=TREND_DAYS)) if day else [],
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


@bp.get("/channel")
@roles_required(*VENDOR_ROLES)
def channel():
    db = get_session()
    day = latest_day(db)
    partners = []
    if day:
        partners = db.execute(
            select(Partner, PartnerScorecard).join(PartnerScorecard, PartnerScorecard.partner_id == Partner.id)
            .where(PartnerScorecard.day == day).order_by(PartnerScorecard.average_health.desc().nulls_last(), Partner.name)
        ).all()
    return render_template(
        "scorecards/channel.html",
        day=day,
        card=insights.scorecard(db, None, day),
        trend=insights.scorecard_trend(db, None, day - timedelta(days=TREND_DAYS)) if day else [],
        partners=partners,
        optimism=insights.optimism_check(db, None, day),
    )


@bp.get("/model-check")
@roles_required(*VENDOR_ROLES)
def model_check():
    db = get_session()
    day = latest_day(db)
    model = current_model(db)
    return render_template("scorecards/model_check.html", day=day, model=model,
                           rows=insights.model_check(db, day) if day else [])
