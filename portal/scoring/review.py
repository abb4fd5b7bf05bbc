"""The review pages' queries (partner scorecard, channel ranking, health model history, job
history), beside the scoring they read; the views only call these and render."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, joinedload

from portal.core import fragments
from portal.core.scoping import partners_visible_to, visible_to
from portal.scoring.insights import weekly_days
from portal.models import (
    Account, AccountScore, AggregationDay, AggregationRun, Alert, Band, HealthModel, Partner, PartnerScorecard, PartnerTier, User,
)

# "Renewals in the next 90 days" on the scorecard and in the digests.
RENEWAL_DAYS = 90
RANKING_TREND_WEEKS = 13  # the ranking's small trends: a quarter, one point a week
RANKING_ROWS = 50  # the ranking page shows this many partners; a link shows them all
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


def recent_alerts(session: Session, user: User, partner_id: int, day: date) -> list:
    """The partner's latest alerts, rows of (kind, account_id, account_name, raised_on): the
    columns the scorecard shows, not whole alerts and accounts (ORM entities cost more to load)."""
    return list(session.execute(
        visible_to(user, Alert).with_only_columns(Alert.kind, Alert.account_id, Account.name.label("account_name"), Alert.raised_on)
        .join(Account, Account.id == Alert.account_id)
        .where(Alert.partner_id == partner_id, Alert.raised_on > day - timedelta(days=ALERT_DAYS))
        .order_by(Alert.raised_on.desc(), Alert.id.desc()).limit(ALERT_ROWS)
    ).all())


def renewals(session: Session, partner_id: int, day: date, today: date, limit: int | None = None,
             stamp: tuple | None = None) -> tuple[list, int]:
    """The partner's accounts renewing from today to RENEWAL_DAYS ahead, with their band on `day`:
    the first `limit` by date (None: all) and how many there are. Two short reads of the
    (day, partner_id, renewal_date) index: the count from the index alone, and the first rows in
    date order, so only those are joined to their accounts (a large reseller renews thousands)."""
    window = and_(AccountScore.day == day, AccountScore.partner_id == partner_id, AccountScore.renewal_date >= today,
                  AccountScore.renewal_date <= today + timedelta(days=RENEWAL_DAYS))
    rows = session.execute(
        select(AccountScore.account_id, AccountScore.renewal_date, AccountScore.band, AccountScore.arr_jpy, Account.name)
        .join(Account, Account.id == AccountScore.account_id).where(window)
        .order_by(AccountScore.renewal_date, Account.name, Account.id).limit(limit)
    ).all()
    # The count reads only the day's snapshot (thousands of rows for a large reseller): once per snapshot and today.
    # stamp: snapshot_version's, when the caller has read it (the latest day's).
    stamp = stamp or tuple(session.execute(select(AggregationDay.snapshot_at, AggregationDay.claim_token)
                                           .where(AggregationDay.day == day)).first() or ())
    total = fragments.kept("renewals_total", (partner_id, day, stamp, today), lambda: session.execute(
        select(func.count()).select_from(AccountScore).where(window)).scalar_one())
    return list(rows), total


def ranking(session: Session, user: User, day: date, *, sort: str, descending: bool, tier: PartnerTier | None,
            band: Band | None, mine: bool, limit: int | None = None, cards: bool = True) -> tuple[list, int]:
    """The partners with their day's figures, filtered and sorted in SQL: the first `limit`
    (partner, scorecard) rows (None: all) and how many partners match, in one query.
    cards=False: (partner, None) rows where the partner is a plain row of id, name and tier (the
    channel page takes the figures from ranking_cells)."""
    column = RANKING_SORTS[sort][0]
    stmt: Select = (partners_visible_to(user, mine=mine)
            .join(PartnerScorecard, PartnerScorecard.partner_id == Partner.id)
            .where(PartnerScorecard.day == day))
    stmt = stmt.add_columns(PartnerScorecard) if cards else stmt.with_only_columns(Partner.id, Partner.name, Partner.tier)
    if tier:
        stmt = stmt.where(Partner.tier == tier)
    if band:  # partners with accounts in that band
        stmt = stmt.where(getattr(PartnerScorecard, f"{band.value}_accounts") > 0)
    ordered = column.desc().nulls_last() if descending else column.asc().nulls_last()
    stmt = stmt.add_columns(func.count().over().label("matching")).order_by(ordered, Partner.name, Partner.id).limit(limit)
    rows = session.execute(stmt).all()
    if not cards:
        return [(row, None) for row in rows], (rows[0].matching if rows else 0)
    return [(row[0], row[1]) for row in rows], (rows[0].matching if rows else 0)


def ranking_trends(session: Session, day: date, partner_ids: list[int]) -> dict[int, list]:
    """The partners' weekly average health over the last RANKING_TREND_WEEKS, oldest first, None
    for a week without a figure (a gap, like the accounts' sparklines), in one query for the rows shown."""
    weeks = weekly_days(day, RANKING_TREND_WEEKS)
    found: dict[int | None, dict[date, float | None]] = {}
    for partner_id, on, value in session.execute(
        select(PartnerScorecard.partner_id, PartnerScorecard.day, PartnerScorecard.average_health)
        .where(PartnerScorecard.partner_id.in_(partner_ids), PartnerScorecard.day.in_(weeks))
    ):
        found.setdefault(partner_id, {})[on] = value
    return {partner_id: [values.get(week) for week in weeks] for partner_id, values in found.items() if partner_id is not None}


def model_versions(session: Session) -> list[HealthModel]:
    return list(session.scalars(select(HealthModel).options(joinedload(HealthModel.created_by))
                                .order_by(HealthModel.version.desc()).limit(MODEL_VERSIONS)))


def job_history(session: Session) -> list[AggregationRun]:
    return list(session.scalars(select(AggregationRun).order_by(AggregationRun.started_at.desc(), AggregationRun.id.desc())
                                .limit(JOB_HISTORY_ROWS)))
