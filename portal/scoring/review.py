"""The review pages' queries (partner scorecard, channel ranking, health model history, job
history), beside the scoring they read; the views only call these and render."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from portal.core.scoping import partners_visible_to, visible_to
from portal.models import (
    Account, AccountScore, AggregationRun, Alert, Band, HealthModel, Partner, PartnerScorecard, PartnerTier, User,
)

# "Renewals in the next 90 days" on the scorecard and in the digests.
RENEWAL_DAYS = 90
RANKING_TREND_DAYS = 91
ALERT_DAYS, ALERT_ROWS = 30, 20
JOB_HISTORY_ROWS, MODEL_VERSIONS = 60, 20

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


def recent_alerts(session: Session, user: User, partner_id: int, day: date) -> list[Alert]:
    return list(session.scalars(
        visible_to(user, Alert).where(Alert.partner_id == partner_id, Alert.raised_on > day - timedelta(days=ALERT_DAYS))
        .options(joinedload(Alert.account)).order_by(Alert.raised_on.desc(), Alert.id.desc()).limit(ALERT_ROWS)
    ))


def renewals(session: Session, partner_id: int, day: date, today: date) -> list:
    """The partner's accounts renewing from today to RENEWAL_DAYS ahead, with their band on `day`."""
    return list(session.execute(
        select(AccountScore.account_id, AccountScore.renewal_date, AccountScore.band, AccountScore.arr_jpy, Account.name)
        .join(Account, Account.id == AccountScore.account_id)
        .where(AccountScore.day == day, AccountScore.partner_id == partner_id, AccountScore.renewal_date >= today,
               AccountScore.renewal_date <= today + timedelta(days=RENEWAL_DAYS))
        .order_by(AccountScore.renewal_date, Account.name)
    ).all())


def ranking(session: Session, user: User, day: date, *, sort: str, descending: bool, tier: PartnerTier | None,
            band: Band | None, mine: bool) -> list:
    """The partners with their day's figures, filtered and sorted in SQL: (partner, scorecard) rows."""
    column = RANKING_SORTS[sort][0]
    stmt = (partners_visible_to(user, mine=mine)
            .add_columns(PartnerScorecard)
            .join(PartnerScorecard, PartnerScorecard.partner_id == Partner.id)
            .where(PartnerScorecard.day == day))
    if tier:
        stmt = stmt.where(Partner.tier == tier)
    if band:  # partners with accounts in that band
        stmt = stmt.where(getattr(PartnerScorecard, f"{band.value}_accounts") > 0)
    ordered = column.desc().nulls_last() if descending else column.asc().nulls_last()
    return list(session.execute(stmt.order_by(ordered, Partner.name)).all())


def ranking_trends(session: Session, day: date) -> dict[int, list]:
    """Every partner's average health over the last RANKING_TREND_DAYS, in one query (the rows' small trends)."""
    trends: dict[int, list] = {}
    for partner_id, value in session.execute(
        select(PartnerScorecard.partner_id, PartnerScorecard.average_health)
        .where(PartnerScorecard.partner_id.is_not(None), PartnerScorecard.day > day - timedelta(days=RANKING_TREND_DAYS))
        .order_by(PartnerScorecard.day)
    ):
        assert partner_id is not None  # the query keeps the partners' rows only
        trends.setdefault(partner_id, []).append(value)
    return trends


def model_versions(session: Session) -> list[HealthModel]:
    return list(session.scalars(select(HealthModel).options(joinedload(HealthModel.created_by))
                                .order_by(HealthModel.version.desc()).limit(MODEL_VERSIONS)))


def job_history(session: Session) -> list[AggregationRun]:
    return list(session.scalars(select(AggregationRun).order_by(AggregationRun.started_at.desc(), AggregationRun.id.desc())
                                .limit(JOB_HISTORY_ROWS)))
