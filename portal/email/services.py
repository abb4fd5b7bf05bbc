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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, render_template
from flask_babel import force_locale, get_translations, gettext as _, ngettext
from jinja2 import ext as jinja_i18n
from sqlalchemy import ColumnElement, Integer, String, Subquery, and_, cast, delete, exists, func, literal, null, or_, select, update
from sqlalchemy.orm import Session, aliased, joinedload

from portal.core.db import UTCDateTime, insert_once
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


class Renderer:
    """Renders many emails in one application context, with the link builder made once; each
    message in its recipient's language (force_locale per message). Use inside `with app.app_context()`.

    The templates' _() and ngettext() are handed the language's catalog directly: Flask-Babel's
    own look up the request context and the catalog again on every call, the larger part of
    rendering a thousand emails. They behave the same (Jinja's newstyle gettext)."""

    def __init__(self, app: Flask):
        self.config = app.config["PORTAL"]
        self.link = absolute_links(app, self.config.base_url)
        self._gettext: dict[str, dict[str, Callable]] = {}

    def _catalog(self, language: str) -> dict[str, Callable]:
        """gettext and ngettext for templates in `language` (call under force_locale(language))."""
        if language not in self._gettext:
            translations = get_translations()
            self._gettext[language] = dict(gettext=jinja_i18n._make_new_gettext(translations.ugettext),
                                           ngettext=jinja_i18n._make_new_ngettext(translations.ungettext))
        return self._gettext[language]

    def __call__(self, kind: EmailKind, user: User, data) -> outbox.Rendered:
        language = user.language or self.config.default_language
        with force_locale(language):
            context = dict(
                self._catalog(language),
                user=user, data=data, reasons=health.reasons, figure_names=insights.FIGURE_NAMES, link=self.link,
                preferences_url=outbox.link(self.config, "preferences", user),
                unsubscribe_url=outbox.link(self.config, "unsubscribe", user),
            )
            subject = SUBJECTS[kind](data)
            return outbox.Rendered(
                subject=subject,
                text=render_template(f"email/{kind.value}.txt", subject=subject, **context),
                html=render_template(f"email/{kind.value}.html", subject=subject, **context),
                language=language,
            )


def render(app: Flask, kind: EmailKind, user: User, data) -> outbox.Rendered:
    """Subject, text and HTML in the recipient's language, with absolute links."""
    with app.app_context():
        return Renderer(app)(kind, user, data)


def preview(app: Flask, session: Session, user: User, today: date) -> list[tuple[EmailKind, outbox.Rendered]]:
    """What this person would get this week (and their pending alerts), without queuing anything."""
    week = Week(session, today)
    found = []
    for kind, build, _preference in WEEKLY.get(user.role, []):
        data = build(week, user)
        if data is not None:
            found.append((kind, render(app, kind, user, data)))
    pending = _pending_notifications(session, [user.id])[user.id]
    if pending:
        found.append((EmailKind.ALERT, render(app, EmailKind.ALERT, user, pending)))
    return found


# ---- weekly digests and reminders --------------------------------------------------------

def scorecards_ready(session: Session, day: date) -> bool:
    return aggregation.scorecards_ready(session, day)


# Recipients rendered and written per transaction: a short hold on SQLite's writer lock, and
# one INSERT per chunk instead of one per person.
CHUNK = 200


def queue_weekly(app: Flask, session: Session, now: datetime | None = None, *, force: bool = False) -> int:
    """Queue each person's weekly emails once their hour has come this week.

    Waits (returns 0) until today's aggregation is done, so no digest reports yesterday's
    figures as this week's. force: everyone now, whatever their hour (demo data, tests).
    The week's data is read once for everyone (digests.Week), messages already queued are
    found with one query, and each chunk of recipients is written with one INSERT."""
    config = app.config["PORTAL"]
    now = now or clock.now()
    today = clock.day_of(now, config.default_timezone)
    if not scorecards_ready(session, today):
        log.info("weekly emails wait for the scorecards of %s", today)
        return 0
    week = Week(session, today)
    users = session.scalars(select(User).where(User.active, or_(User.email_digest, User.email_reminders))
                            .order_by(User.id)).all()
    due = [(user, week_key(now.astimezone(user_zone(user)).date())) for user in users if force or digest_due(user, now)]
    weekly_kinds = [kind for wanted in WEEKLY.values() for kind, _build, _pref in wanted]
    already = set(session.execute(select(OutboxMessage.user_id, OutboxMessage.kind, OutboxMessage.period).where(
        OutboxMessage.kind.in_(weekly_kinds), OutboxMessage.period.in_({period for _user, period in due}))).all()) if due else set()
    queued = 0
    with app.app_context():
        render_one = Renderer(app)
        for start in range(0, len(due), CHUNK):
            messages = []
            for user, period in due[start:start + CHUNK]:
                for kind, build, preference in WEEKLY.get(user.role, []):
                    if not getattr(user, preference) or (user.id, kind, period) in already:
                        continue  # the unique key would refuse it anyway: skip the rendering
                    data = build(week, user)
                    if data is not None:
                        messages.append((user, kind, period, render_one(kind, user, data)))
            queued += len(outbox.queue_many(session, messages, clock.as_stored(now)))
            session.commit()
    return queued


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
        # ON CONFLICT: a second process collecting at the same moment adds nothing twice and
        # loses none of the rest (an IntegrityError would have dropped the whole set).
        # (Counted from RETURNING: psycopg reports no rowcount for this statement.)
        added += len(session.execute(insert_once(session, Notification, ["user_id", "dedupe_key"]).from_select(
            ["user_id", "kind", "dedupe_key", "account_id", "action_item_id", "created_at"], new)
            .returning(Notification.id)).all())
        session.commit()
    return added


def _pending_notifications(session: Session, user_ids: list[int]) -> dict[int, list[Notification]]:
    """Each person's notifications no alert email has told yet, oldest first."""
    found: dict[int, list[Notification]] = {user_id: [] for user_id in user_ids}
    for n in session.scalars(select(Notification).where(Notification.user_id.in_(user_ids), Notification.message_id.is_(None))
                             .options(joinedload(Notification.account), joinedload(Notification.action_item))
                             .order_by(Notification.id)).all():
        found[n.user_id].append(n)
    return found


def queue_alerts(app: Flask, session: Session, now: datetime | None = None) -> int:
    """One email per person with everything pending, unless they had one in the last hour.

    Set-wise per chunk of people: their notifications in one query, their emails in one
    INSERT, the notifications given to their emails in one UPDATE. A notification another
    process batched meanwhile makes that person's email go away (it is that process's to tell)."""
    now = now or clock.now()
    last_alert = (select(OutboxMessage.user_id, func.max(OutboxMessage.created_at).label("at"))
                  .where(OutboxMessage.kind == EmailKind.ALERT).group_by(OutboxMessage.user_id).subquery())
    waiting = session.scalars(
        select(User).where(User.active, User.email_alerts,
                           exists().where(Notification.user_id == User.id, Notification.message_id.is_(None)))
        .outerjoin(last_alert, last_alert.c.user_id == User.id)
        .where(or_(last_alert.c.at.is_(None), last_alert.c.at <= clock.as_stored(now - ALERT_GAP)))
        .order_by(User.id)
    ).all()
    period = clock.as_stored(now).isoformat(timespec="minutes")
    queued = 0
    with app.app_context():
        render_one = Renderer(app)
        for start in range(0, len(waiting), CHUNK):
            people = waiting[start:start + CHUNK]
            pending = _pending_notifications(session, [u.id for u in people])
            told = {u.id: pending[u.id] for u in people if pending[u.id]}
            new = outbox.queue_many(session, [(u, EmailKind.ALERT, period, render_one(EmailKind.ALERT, u, told[u.id]))
                                              for u in people if u.id in told], clock.as_stored(now))
            queued += len(new) - _take(session, period, {message_id: told[user_id] for user_id, message_id in new.items()})
            session.commit()
    return queued


def _take(session: Session, period: str, messages: dict[int, list[Notification]]) -> int:
    """Give each new alert email (by id) the notifications it tells, those no other email took,
    in one UPDATE; an email that could not take all of its own is withdrawn. Returns how many were."""
    if not messages:
        return 0
    own_email = (select(OutboxMessage.id).where(OutboxMessage.user_id == Notification.user_id,
                                                OutboxMessage.kind == EmailKind.ALERT, OutboxMessage.period == period)
                 .scalar_subquery())
    session.execute(update(Notification).where(Notification.message_id.is_(None), Notification.id.in_(
        [n.id for told in messages.values() for n in told])).values(message_id=own_email)
        .execution_options(synchronize_session=False))
    taken = dict(session.execute(select(Notification.message_id, func.count()).where(
        Notification.message_id.in_(messages)).group_by(Notification.message_id)).all())
    short = [message_id for message_id, told in messages.items() if taken.get(message_id, 0) != len(told)]
    if short:
        session.execute(update(Notification).where(Notification.message_id.in_(short)).values(message_id=None)
                        .execution_options(synchronize_session=False))
        session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(short)))
    return len(short)


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
