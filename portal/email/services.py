"""The email jobs: weekly digests when each person's chosen hour comes (never before that day's
scorecards exist), alert emails batched to at most one an hour, then delivery.

Each message is rendered once, in the recipient's language, as text and HTML, and queued in
the outbox (portal/outbox.py), which makes it go out once per recipient per period.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit
from typing import Any, Callable
from typing import cast as type_cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, render_template
from flask_babel import force_locale, gettext as _, ngettext
from sqlalchemy import ColumnElement, Integer, String, Subquery, and_, cast, exists, func, insert, literal, null, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, joinedload

from portal.core.db import UTCDateTime
from portal.core import clock
from portal.scoring import aggregation, health
from portal.scoring import insights
from portal.email import outbox
from portal.email.digests import WEEKLY, Week
from portal.models import (
    ActionEvent,
    ActionEventKind,
    ActionItem,
    ActionStatus,
    Alert,
    AlertKind,
    EmailKind,
    Notification,
    OutboxMessage,
    PARTNER_ROLES,
    User,
    partner_managers,
)

log = logging.getLogger(__name__)

ALERT_GAP = timedelta(hours=1)
# Alerts and assignments younger than this are told by email; older ones (a backfill, the
# day the feature was switched on) are not.
NOTIFY_WINDOW = timedelta(days=2)


def user_zone(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.time_zone or clock.vendor_time_zone())
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(clock.vendor_time_zone())


def week_key(day: date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def digest_due(user: User, now: datetime) -> bool:
    """Has this week's digest time (weekday and hour, in the person's zone) arrived?"""
    local = now.astimezone(user_zone(user))
    return (local.weekday(), local.hour) >= (user.digest_weekday, user.digest_hour)


# ---- rendering ---------------------------------------------------------------------------

SUBJECTS = {
    EmailKind.MANAGER_DIGEST: lambda data: _("Your partners this week: %(red)d turned red, %(changed)d changed band",
                                             red=len(data.new_red), changed=len(data.band_changes)),
    EmailKind.PARTNER_DIGEST: lambda data: _("%(partner)s: your scorecard this week", partner=data.partner.name),
    EmailKind.REMINDER: lambda data: ngettext("%(num)d check-in to report", "%(num)d check-ins to report", len(data.owed)),
    EmailKind.ALERT: lambda data: ngettext("%(num)d alert from the channel success portal",
                                           "%(num)d alerts from the channel success portal", len(data)),
    EmailKind.PASSWORD_RESET: lambda data: _("Set a new password for the channel success portal"),
}


def absolute_links(app: Flask, base_url: str) -> Callable[..., str]:
    """link(endpoint, **values): the page's address under PORTAL_BASE_URL, for emails (no request
    to take the host from)."""
    parts = urlsplit(base_url)
    adapter = app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "http")
    return lambda endpoint, **values: adapter.build(endpoint, values, force_external=True)


def render(app: Flask, kind: EmailKind, user: User, data) -> outbox.Rendered:
    """Subject, text and HTML in the recipient's language, with absolute links."""
    config = app.config["PORTAL"]
    language = user.language or config.default_language
    with app.app_context(), force_locale(language):
        context = dict(
            user=user, data=data, reasons=health.reasons, figure_names=insights.FIGURE_NAMES,
            link=absolute_links(app, config.base_url),
            preferences_url=outbox.link(config, "preferences", user),
            unsubscribe_url=outbox.link(config, "unsubscribe", user),
        )
        subject = SUBJECTS[kind](data)
        return outbox.Rendered(
            subject=subject,
            text=render_template(f"email/{kind.value}.txt", subject=subject, **context),
            html=render_template(f"email/{kind.value}.html", subject=subject, **context),
            language=language,
        )


def preview(app: Flask, session: Session, user: User, today: date) -> list[tuple[EmailKind, outbox.Rendered]]:
    """What this person would get this week (and their pending alerts), without queuing anything."""
    week = Week(session, today)
    found = []
    for kind, build, _preference in WEEKLY.get(user.role, []):
        data = build(week, user)
        if data is not None:
            found.append((kind, render(app, kind, user, data)))
    pending = _pending_notifications(session, user.id)
    if pending:
        found.append((EmailKind.ALERT, render(app, EmailKind.ALERT, user, pending)))
    return found


# ---- weekly digests and reminders --------------------------------------------------------

def scorecards_ready(session: Session, day: date) -> bool:
    return aggregation.scorecards_ready(session, day)


def queue_weekly(app: Flask, session: Session, now: datetime | None = None, *, force: bool = False) -> int:
    """Queue each person's weekly emails once their hour has come this week.

    Waits (returns 0) until today's aggregation is done, so no digest reports yesterday's
    figures as this week's. force: everyone now, whatever their hour (demo data, tests)."""
    config = app.config["PORTAL"]
    now = now or clock.now()
    today = clock.day_of(now, config.default_timezone)
    if not scorecards_ready(session, today):
        log.info("weekly emails wait for the scorecards of %s", today)
        return 0
    week = Week(session, today)
    users = session.scalars(select(User).where(User.active, or_(User.email_digest, User.email_reminders))
                            .order_by(User.id)).all()
    queued = 0
    for user in users:
        if not force and not digest_due(user, now):
            continue
        period = week_key(now.astimezone(user_zone(user)).date())
        for kind, build, preference in WEEKLY.get(user.role, []):
            if not getattr(user, preference) or _already(session, user, kind, period):
                continue
            data = build(week, user)
            if data is not None and outbox.queue(session, user, kind, period, render(app, kind, user, data), clock.as_stored(now)):
                queued += 1
        session.commit()
    return queued


def _already(session: Session, user: User, kind: EmailKind, period: str) -> bool:
    """Skip the rendering when it is there already (the unique key would refuse it anyway)."""
    return session.scalar(select(OutboxMessage.id).where(OutboxMessage.user_id == user.id, OutboxMessage.kind == kind,
                                                         OutboxMessage.period == period)) is not None


# ---- alerts --------------------------------------------------------------------------------

def collect_notifications(session: Session, now: datetime) -> int:
    """Who should hear of what: new red accounts (the partner's managers and staff) and action
    items given to someone by another person or by the portal, new or handed over (the owner).
    Set-wise, once each."""
    since = clock.as_stored(now - NOTIFY_WINDOW)
    alerts_since = clock.day_of(now - NOTIFY_WINDOW)  # raised_on is the vendor's day
    red = select(Alert.id, Alert.account_id, Alert.partner_id).where(Alert.kind == AlertKind.TURNED_RED,
                                                                     Alert.raised_on >= alerts_since).subquery("red")
    managers = select(partner_managers.c.user_id.label("user_id"), red.c.id, red.c.account_id).join(
        red, red.c.partner_id == partner_managers.c.partner_id)
    staff = select(User.id.label("user_id"), red.c.id, red.c.account_id).join(
        red, red.c.partner_id == User.partner_id).where(User.role.in_(PARTNER_ROLES))
    audiences: list[tuple[Subquery, str, Callable[[Any], ColumnElement[str]], bool | None]] = [
        (q.subquery(), "turned_red", lambda c: literal("alert:") + cast(c.id, String), None) for q in (managers, staff)
    ]
    # Handed to them by someone else since: a reassignment is news as much as a new item.
    earlier = aliased(ActionEvent)
    last_assignment = (select(func.max(earlier.id)).where(earlier.item_id == ActionItem.id,
                                                          earlier.event == ActionEventKind.ASSIGNED).scalar_subquery())
    handed_over = exists().where(ActionEvent.id == last_assignment, ActionEvent.at >= since,
                                 ActionEvent.actor_id != ActionItem.owner_id)
    items = select(ActionItem.owner_id.label("user_id"), ActionItem.id, ActionItem.account_id).where(
        ActionItem.owner_id.is_not(None),
        or_(and_(ActionItem.created_at >= since,
                 or_(ActionItem.created_by_id.is_(None), ActionItem.created_by_id != ActionItem.owner_id)),
            handed_over),
        ActionItem.status.in_([ActionStatus.OPEN, ActionStatus.IN_PROGRESS])).subquery("items")
    audiences.append((items, "item_assigned", lambda c: literal("item:") + cast(c.id, String) + literal(":")
                      + cast(c.user_id, String), True))
    added = 0
    for source, kind, key, is_item in audiences:
        dedupe = key(source.c)
        new = (
            select(source.c.user_id, literal(kind), dedupe, source.c.account_id,
                   source.c.id if is_item else cast(null(), Integer), literal(clock.as_stored(now), UTCDateTime()))
            .join(User, and_(User.id == source.c.user_id, User.active, User.email_alerts))
            .where(~exists().where(Notification.user_id == source.c.user_id, Notification.dedupe_key == dedupe))
        )
        try:
            added += type_cast(CursorResult[Any], session.execute(insert(Notification).from_select(
                ["user_id", "kind", "dedupe_key", "account_id", "action_item_id", "created_at"], new))).rowcount
            session.commit()
        except IntegrityError:  # another process inserted the same ones first
            session.rollback()
    return added


def _pending_notifications(session: Session, user_id: int) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.user_id == user_id, Notification.message_id.is_(None))
                                .options(joinedload(Notification.account), joinedload(Notification.action_item))
                                .order_by(Notification.id)).all())


def queue_alerts(app: Flask, session: Session, now: datetime | None = None) -> int:
    """One email per person with everything pending, unless they had one in the last hour."""
    now = now or clock.now()
    last_alert = (select(OutboxMessage.user_id, func.max(OutboxMessage.created_at).label("at"))
                  .where(OutboxMessage.kind == EmailKind.ALERT).group_by(OutboxMessage.user_id).subquery())
    waiting = session.scalars(
        select(User).where(User.active, User.email_alerts,
                           exists().where(Notification.user_id == User.id, Notification.message_id.is_(None)))
        .outerjoin(last_alert, last_alert.c.user_id == User.id)
        .where(or_(last_alert.c.at.is_(None), last_alert.c.at <= clock.as_stored(now - ALERT_GAP)))
    ).all()
    queued = 0
    for user in waiting:
        pending = _pending_notifications(session, user.id)
        message = outbox.queue(session, user, EmailKind.ALERT, clock.as_stored(now).isoformat(timespec="minutes"),
                               render(app, EmailKind.ALERT, user, pending), clock.as_stored(now))
        ids = [n.id for n in pending]
        taken = message and type_cast(CursorResult[Any], session.execute(
            update(Notification).where(Notification.id.in_(ids), Notification.message_id.is_(None))
            .values(message_id=message.id).execution_options(synchronize_session=False))).rowcount
        if taken != len(ids):  # another process batched some of them: leave it to that one
            session.rollback()
            continue
        session.commit()
        queued += 1
    return queued


# ---- the job -------------------------------------------------------------------------------

@dataclass
class EmailRun:
    notifications: int
    alerts: int
    weekly: int
    sent: int
    failed: int
    smtp: bool


def run(app: Flask, session: Session, now: datetime | None = None) -> EmailRun:
    """What the scheduler does every few minutes and after each aggregation."""
    now = now or clock.now()
    notifications = collect_notifications(session, now)
    alerts = queue_alerts(app, session, now)
    weekly = queue_weekly(app, session, now)
    delivered = outbox.deliver_due(session, app.config["PORTAL"], clock.as_stored(now))
    return EmailRun(notifications, alerts, weekly, delivered.sent, delivered.failed, not delivered.skipped)
