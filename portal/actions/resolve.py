"""Items that close themselves: after scoring, the aggregation closes each open alert item whose
condition has cleared, so a queue only holds work that is still real.

Each condition is one set of open items chosen in SQL; for it, one INSERT ... SELECT writes the
"resolved" entries to the items' history and one UPDATE closes them with the outcome
(auto_resolution), its details (resolution_params) and an English `resolution` text. Pages show
the outcome in the reader's language with `shown_resolution`. The thread stays with the item.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, case, cast, exists, func, insert, literal, literal_column, or_, select, update
from sqlalchemy.orm import Session, aliased

from portal.actions.services import run_moment
from portal.core.formatting import local_date
from portal.core.sqlfunctions import add_days, add_months, iso_day, json_object
from portal.models import (
    Account, AccountScore, ActionEvent, ActionEventKind, ActionItem, ActionKind, ActionStatus, AutoResolution, Band, CheckIn,
    LifecycleStatus, OPEN_ACTION_STATUSES,
)
from portal.reporting.cadence import cadence_rules, period_containing, reporting_settings

# The stored English text of each outcome (the item's `resolution`, NOT NULL once closed) ...
RESOLUTION_TEXTS = {
    AutoResolution.CHECK_IN_RECEIVED: "Check-in for %(period)s received on %(received_on)s",
    AutoResolution.RECOVERED: "Recovered: out of red since %(since)s",
    AutoResolution.RENEWED: "Renewal recorded: the next renewal is on %(renewal_date)s",
    AutoResolution.CHURNED: "The account churned on %(churned_on)s",
}
# ... and the same, translated for the reader (the msgids are the texts above).
SHOWN_TEXTS = {
    AutoResolution.CHECK_IN_RECEIVED: _l("Check-in for %(period)s received on %(received_on)s"),
    AutoResolution.RECOVERED: _l("Recovered: out of red since %(since)s"),
    AutoResolution.RENEWED: _l("Renewal recorded: the next renewal is on %(renewal_date)s"),
    AutoResolution.CHURNED: _l("The account churned on %(churned_on)s"),
}
DATE_PARAMS = ("received_on", "since", "renewal_date", "churned_on")


def resolve_items(session: Session, day: date) -> None:
    """Close the open alert items whose condition has cleared on `day` (after the day's scores)."""
    _close_churned(session, day)
    _close_received_check_ins(session, day)
    _close_recovered(session, day)
    _close_renewed(session, day)


def _account(column):
    """A column of the item's account, correlated to the item being checked."""
    return select(column).where(Account.id == ActionItem.account_id).scalar_subquery()


def _english(kind: AutoResolution, **values):
    """The outcome's English text built by the database from `values` (SQL expressions)."""
    text = RESOLUTION_TEXTS[kind]
    parts: list = []
    rest = text
    while "%(" in rest:
        head, _, tail = rest.partition("%(")
        name, _, rest = tail.partition(")s")
        parts += [literal(head, String), values[name]] if head else [values[name]]
    if rest:
        parts.append(literal(rest, String))
    expression = parts[0]
    for part in parts[1:]:
        expression = expression + part
    return expression


def _close(session: Session, day: date, kind: AutoResolution, where, **params) -> None:
    """Close the open items matching `where` with outcome `kind`: history first, then the items."""
    chosen = and_(ActionItem.status.in_(OPEN_ACTION_STATUSES), where)
    pairs: list[Any] = []
    for name, value in params.items():
        pairs += [literal_column(f"'{name}'"), value]
    data = json_object(literal_column("'auto_resolution'"), literal(kind.value, String), *pairs)
    now = run_moment(day)
    session.execute(insert(ActionEvent).from_select(
        ["item_id", "account_id", "partner_id", "event", "data", "at"],
        select(ActionItem.id, ActionItem.account_id, ActionItem.partner_id, literal(ActionEventKind.RESOLVED.value),
               data, now).where(chosen)))
    session.execute(
        update(ActionItem).where(chosen)
        .values(status=ActionStatus.DONE, auto_resolution=kind, resolution_params=json_object(*pairs),
                resolution=_english(kind, **params), closed_at=now, closed_by_id=None)
        .execution_options(synchronize_session=False))


def _close_churned(session: Session, day: date) -> None:
    """A churned account's alert items close with that outcome: nothing left to chase."""
    churned_on = iso_day(func.coalesce(_account(Account.churned_on), literal(day)))
    _close(session, day, AutoResolution.CHURNED,
           and_(ActionItem.kind != ActionKind.REQUEST, _account(Account.status) == LifecycleStatus.CHURNED.value),
           churned_on=churned_on)


def _close_received_check_ins(session: Session, day: date) -> None:
    """An overdue check-in's item closes once a check-in for its period (the subject) exists."""
    # The subject (the period's first day) as a date, not the check-ins' dates as text: one probe of
    # the check-ins' (account, period) index per open item instead of a pass over every check-in.
    same_period = and_(CheckIn.account_id == ActionItem.account_id, CheckIn.period_start == add_days(ActionItem.subject, literal(0)))
    received = select(func.min(CheckIn.submitted_at)).where(same_period).scalar_subquery()
    months = case(*[(_account(Account.segment) == segment.value, literal(rule.months))
                    for segment, rule in cadence_rules(session).items()], else_=literal(3))
    period_end = add_days(add_months(ActionItem.subject, months), literal(-1))
    label = case((months == 1, func.substr(ActionItem.subject, 1, 7)),
                 else_=func.substr(ActionItem.subject, 1, 7) + literal(" – ", String) + func.substr(cast(period_end, String), 1, 7))
    _close(session, day, AutoResolution.CHECK_IN_RECEIVED,
           and_(ActionItem.kind == ActionKind.CHECK_IN_OVERDUE, exists().where(same_period)),
           period=label, period_start=ActionItem.subject, months=months, received_on=iso_day(received))


def _close_recovered(session: Session, day: date) -> None:
    """A red account's item closes once the account has been out of red for the vendor's number
    of consecutive days (from the daily snapshots), scored today and not red."""
    days = reporting_settings(session).recovered_after_days
    red, after = aliased(AccountScore), aliased(AccountScore)
    # Both correlated to the item, so the last red day is looked up once per closing item (one
    # pass over its history), not once per snapshot of the account as a nested correlation did.
    last_red = (select(func.max(red.day))
                .where(red.account_id == ActionItem.account_id, red.day <= day, red.band == Band.RED)
                .correlate(ActionItem).scalar_subquery())
    since = (select(func.min(after.day))
             .where(after.account_id == ActionItem.account_id, after.day <= day,
                    or_(last_red.is_(None), after.day > last_red))
             .correlate(ActionItem).scalar_subquery())
    scored_today = exists().where(AccountScore.account_id == ActionItem.account_id, AccountScore.day == day,
                                  AccountScore.band.in_([Band.GREEN, Band.YELLOW]))
    # `since` <= first_day, read from the last `days` days only (its cost must not grow with the
    # history kept): no red after first_day, and the account's latest snapshot on or before
    # first_day is out of red (then the first one after its last red day is too).
    first_day = day - timedelta(days=days - 1)
    red_lately = exists().where(AccountScore.account_id == ActionItem.account_id, AccountScore.day > first_day,
                                AccountScore.day <= day, AccountScore.band == Band.RED)
    out_of_red_then = (select(case((AccountScore.band == Band.RED, 0), else_=1))
                       .where(AccountScore.account_id == ActionItem.account_id, AccountScore.day <= first_day)
                       .order_by(AccountScore.day.desc()).limit(1).scalar_subquery())
    _close(session, day, AutoResolution.RECOVERED,
           and_(ActionItem.kind == ActionKind.TURNED_RED, scored_today, ~red_lately, out_of_red_then == 1),
           since=iso_day(since), days=literal(days))


def _close_renewed(session: Session, day: date) -> None:
    """A renewal item closes once the renewal is recorded: the account's renewal date has moved
    past the one the item was about (its subject)."""
    renewal = _account(Account.renewal_date)
    _close(session, day, AutoResolution.RENEWED,
           and_(ActionItem.kind == ActionKind.RENEWAL_AT_RISK, ActionItem.subject.is_not(None), iso_day(renewal) > ActionItem.subject),
           renewal_date=iso_day(renewal), previous_renewal=ActionItem.subject)


def shown_resolution(item: ActionItem) -> str | None:
    """The item's resolution for the reader: an automatic outcome in their language with its
    dates formatted for them; a person's note as written."""
    if item.auto_resolution is None or not item.resolution_params:
        return item.resolution
    return resolution_text(item.auto_resolution, item.resolution_params) or item.resolution


def event_resolution(data: dict) -> str | None:
    """A RESOLVED event's outcome for the reader (its data holds the kind and the values)."""
    kind = data.get("auto_resolution") if isinstance(data, dict) else None
    return resolution_text(AutoResolution(kind), data) if kind in AutoResolution._value2member_map_ else None


def resolution_text(kind: AutoResolution, params: dict) -> str | None:
    """An automatic outcome in the reader's language from its stored values (the item's
    resolution_params, or its RESOLVED event's data on the timeline); None if they do not fit."""
    values = {}
    for name, value in params.items():
        if name in DATE_PARAMS and value:
            try:
                values[name] = local_date(date.fromisoformat(str(value)[:10]))
            except ValueError:
                values[name] = str(value)
        else:
            values[name] = value
    if kind == AutoResolution.CHECK_IN_RECEIVED and params.get("period_start"):
        try:
            values["period"] = period_containing(date.fromisoformat(params["period_start"]),
                                                 int(params.get("months") or 1)).label
        except (TypeError, ValueError):
            pass
    try:
        return str(SHOWN_TEXTS[kind]) % values
    except (KeyError, TypeError, ValueError):
        return None


def raised_summary(session: Session, item: ActionItem, today: date) -> str:
    """One line for the item's page on how its alert keeps firing: "Raised 3 times; still red
    after 14 days" (empty when there is nothing to say). One query, for a red account's state."""
    parts = []
    if item.raised_count > 1:
        parts.append(ngettext("Raised %(num)d time", "Raised %(num)d times", item.raised_count))
    if item.status in OPEN_ACTION_STATUSES and item.kind == ActionKind.TURNED_RED and item.subject:
        band = session.scalar(select(AccountScore.band).where(AccountScore.account_id == item.account_id)
                              .order_by(AccountScore.day.desc()).limit(1))
        try:
            days = (today - date.fromisoformat(item.subject)).days
        except ValueError:
            days = 0
        if band == Band.RED and days > 0:
            parts.append(ngettext("still red after %(num)d day", "still red after %(num)d days", days))
    return gettext("; ").join(parts) if len(parts) > 1 else "".join(parts)
