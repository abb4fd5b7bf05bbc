"""One account's timeline: everything that happened to it, newest first, from every source.

The feed is ONE query: a UNION ALL of one SELECT per source with the same columns (when, kind,
what happened, the source row, who did it, a few details), filtered by kind, ordered and paged
in SQL. `present` then loads what the page shows beyond those columns (names, check-in versions
to compare, change-log values, event data) in a fixed number of queries, however long the page.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger, Integer, String, and_, cast, exists, func, literal, null, or_, select, type_coerce, union_all,
)
from sqlalchemy.orm import Session

from portal.actions.resolve import event_resolution
from portal.core.db import UTCDateTime
from portal.core.sqlfunctions import as_moment
from portal.core.formatting import local_date, yen
from portal.core.history import readable
from portal.core.labels import label, label_band, labelled
from portal.core.lists import Page, paginate
from portal.core.validation import Checks
from portal.models import (
    OPEN_ACTION_STATUSES, Account, AccountArr, AccountNote, ActionComment, ActionEvent, ActionEventKind, ActionItem, ActionStatus, ActionStep,
    Alert, AlertKind, ApiToken, ChangeLog, CheckIn, DeliveryStatus, Milestone, MilestoneTemplate, Notification, NoteKind,
    OutboxMessage, RenewalLikelihood, ReportSource, Sentiment, Stakeholder, User,
)
from portal.reporting.cadence import cadence_rules, period_containing
from portal.scoring.models import AccountScore

# The kinds a reader filters by, in the order of the filter.
KINDS: dict[str, Any] = {
    "check_in": _l("Check-ins"),
    "milestone": _l("Milestones"),
    "stakeholder": _l("Stakeholders"),
    "account": _l("Contract and ARR"),
    "health": _l("Health band"),
    "alert": _l("Alerts"),
    "action": _l("Action items"),
    "comment": _l("Comments"),
    "email": _l("Emails"),
    "note": _l("Calls, meetings and notes"),
}
NOTE_KINDS = {NoteKind.CALL: _l("Call"), NoteKind.MEETING: _l("Meeting"), NoteKind.NOTE: _l("Note")}
MAX_PARTICIPANTS = 300
MAX_NOTE = 4000


def _row(at, kind: str, event, source_id, *, dated: bool = False, link_id=None, actor_id=None, token_id=None, via=None,
         text1=None, text2=None, num1=None, num2=None):
    """One source's columns, in the feed's order and types."""
    return (
        type_coerce(at, UTCDateTime()).label("at"),  # a CAST would make it a number on SQLite
        literal(1 if dated else 0, Integer()).label("dated"),
        literal(kind, String()).label("kind"),
        cast(event, String()).label("event"),
        cast(source_id, Integer()).label("source_id"),
        cast(link_id if link_id is not None else null(), Integer()).label("link_id"),
        cast(actor_id if actor_id is not None else null(), Integer()).label("actor_id"),
        cast(token_id if token_id is not None else null(), Integer()).label("token_id"),
        cast(via if via is not None else null(), String()).label("via"),
        cast(text1 if text1 is not None else null(), String()).label("text1"),
        cast(text2 if text2 is not None else null(), String()).label("text2"),
        cast(num1 if num1 is not None else null(), BigInteger()).label("num1"),
        cast(num2 if num2 is not None else null(), BigInteger()).label("num2"),
    )


def _sources(account: Account) -> dict[str, list]:
    """Per kind, the SELECTs that feed it, each scoped to the account and its partner (a row of the
    account's earlier partner, had it moved, is that partner's, not this one's)."""
    a, p = account.id, account.partner_id
    check_ins = select(*_row(CheckIn.submitted_at, "check_in", literal("check_in"), CheckIn.id, actor_id=CheckIn.submitted_by_id,
                             token_id=CheckIn.api_token_id, via=CheckIn.source, num1=CheckIn.version)
                       ).where(CheckIn.account_id == a, CheckIn.partner_id == p)

    def logged(entity: str, *joins, text1=None, text2=None):
        stmt = select(*_row(ChangeLog.changed_at, entity, ChangeLog.action, ChangeLog.id, link_id=ChangeLog.entity_id,
                            actor_id=ChangeLog.user_id, token_id=ChangeLog.api_token_id, via=ChangeLog.source,
                            text1=text1, text2=text2))
        for target, on in joins:
            stmt = stmt.outerjoin(target, on)
        return stmt.where(ChangeLog.account_id == a, ChangeLog.partner_id == p, ChangeLog.entity == entity)

    milestones = logged("milestone", (Milestone, Milestone.id == ChangeLog.entity_id),
                        (MilestoneTemplate, MilestoneTemplate.id == Milestone.template_id),
                        text1=MilestoneTemplate.name_en, text2=MilestoneTemplate.name_ja)
    stakeholders = logged("stakeholder", (Stakeholder, Stakeholder.id == ChangeLog.entity_id), text1=Stakeholder.name)
    account_changes = logged("account")

    arr = select(AccountArr.id, AccountArr.effective_on, AccountArr.arr_jpy,
                 func.lag(AccountArr.arr_jpy).over(partition_by=AccountArr.account_id, order_by=AccountArr.effective_on).label("before")
                 ).where(AccountArr.account_id == a).subquery()
    arr_changes = select(*_row(as_moment(arr.c.effective_on), "account", literal("arr"), arr.c.id, dated=True,
                               num1=arr.c.arr_jpy, num2=arr.c.before)).where(or_(arr.c.before.is_(None), arr.c.before != arr.c.arr_jpy))

    scores = select(AccountScore.id, AccountScore.day, AccountScore.band,
                    func.lag(AccountScore.band).over(partition_by=AccountScore.account_id, order_by=AccountScore.day).label("before"),
                    func.row_number().over(partition_by=AccountScore.account_id, order_by=AccountScore.day).label("n")
                    ).where(AccountScore.account_id == a, AccountScore.partner_id == p).subquery()
    bands = select(*_row(as_moment(scores.c.day), "health", literal("band"), scores.c.id, dated=True,
                         text1=scores.c.band, text2=scores.c.before)).where(
        or_(and_(scores.c.n == 1, scores.c.band.is_not(None)),
            and_(scores.c.n > 1, or_(scores.c.band != scores.c.before, scores.c.band.is_(None) != scores.c.before.is_(None)))))

    alerts = (select(*_row(as_moment(Alert.raised_on), "alert", Alert.kind, Alert.id, dated=True, link_id=ActionItem.id,
                           text1=Alert.subject))
              .outerjoin(ActionItem, ActionItem.alert_id == Alert.id).where(Alert.account_id == a, Alert.partner_id == p))

    def has_event(*kinds: ActionEventKind):
        return exists().where(ActionEvent.item_id == ActionItem.id, ActionEvent.event.in_(kinds))

    mine = and_(ActionItem.account_id == a, ActionItem.partner_id == p)
    opened = select(*_row(ActionItem.created_at, "action", literal("opened"), ActionItem.id, link_id=ActionItem.id,
                          actor_id=ActionItem.created_by_id, text1=ActionItem.title, text2=ActionItem.kind)
                    ).where(mine, ~has_event(ActionEventKind.OPENED))
    closed = select(*_row(ActionItem.closed_at, "action", literal("closed"), ActionItem.id, link_id=ActionItem.id,
                          actor_id=ActionItem.closed_by_id, via=ActionItem.auto_resolution, text1=ActionItem.title,
                          text2=ActionItem.resolution)).where(
        mine, ActionItem.status.not_in(OPEN_ACTION_STATUSES), ActionItem.closed_at.is_not(None),
        ~has_event(ActionEventKind.RESOLVED, ActionEventKind.STATUS_CHANGED))
    events = (select(*_row(ActionEvent.at, "action", ActionEvent.event, ActionEvent.id, link_id=ActionEvent.item_id,
                           actor_id=ActionEvent.actor_id, text1=ActionItem.title, text2=ActionItem.kind))
              .join(ActionItem, ActionItem.id == ActionEvent.item_id).where(ActionEvent.account_id == a, ActionEvent.partner_id == p))
    comments = (select(*_row(ActionComment.created_at, "comment", literal("comment"), ActionComment.id, link_id=ActionComment.item_id,
                             actor_id=ActionComment.author_id, text1=ActionItem.title, text2=ActionComment.body))
                .join(ActionItem, ActionItem.id == ActionComment.item_id).where(mine, ActionComment.partner_id == p))
    emails = (select(*_row(OutboxMessage.sent_at, "email", Notification.kind, Notification.id, link_id=Notification.action_item_id,
                           text1=OutboxMessage.subject, num1=OutboxMessage.user_id))
              .join(OutboxMessage, OutboxMessage.id == Notification.message_id)
              .where(Notification.account_id == a, OutboxMessage.status == DeliveryStatus.SENT, OutboxMessage.sent_at.is_not(None)))
    notes = select(*_row(as_moment(AccountNote.happened_on), "note", AccountNote.kind, AccountNote.id, dated=True,
                         actor_id=AccountNote.author_id, text1=AccountNote.participants, text2=AccountNote.body)
                   ).where(AccountNote.account_id == a, AccountNote.partner_id == p)
    return {"check_in": [check_ins], "milestone": [milestones], "stakeholder": [stakeholders],
            "account": [account_changes, arr_changes], "health": [bands], "alert": [alerts],
            "action": [opened, closed, events], "comment": [comments], "email": [emails], "note": [notes]}


def feed(account: Account, kinds: set[str] | None = None):
    """The account's feed as one statement: newest first (dated entries at their day's start),
    then by kind and source row for a stable order between pages."""
    selects = [s for kind, stmts in _sources(account).items() if not kinds or kind in kinds for s in stmts]
    rows = union_all(*selects).subquery("feed")
    return select(rows).order_by(rows.c.at.desc(), rows.c.kind, rows.c.event, rows.c.source_id.desc())


@dataclass
class Entry:
    """One line of the timeline as the page shows it."""

    at: datetime
    dated: bool  # only the day is known (a note, a snapshot, an alert): show the date, not a time
    kind: str
    title: str
    who: str
    details: list[str] = field(default_factory=list)
    # Where it came from: (endpoint, url arguments, fragment).
    link: tuple[str, dict, str] | None = None
    body: str | None = None
    anchor: str | None = None

    @property
    def day(self) -> date:
        return self.at.date()


def timeline_page(session: Session, account: Account, kinds: set[str] | None = None, *, page: int | None = None,
                  per_page: int | None = None) -> Page:
    """A page of the feed (one count, one page query) with its entries ready to show (`present`)."""
    result = paginate(session, feed(account, kinds), rows=True, page=page, per_page=per_page)
    result.items = present(session, account, result.items)
    return result


def latest(session: Session, account: Account, limit: int = 8) -> list[Entry]:
    """The newest entries, for the account page's card."""
    return present(session, account, list(session.execute(feed(account).limit(limit)).all()))


# --- the second step: what the page shows beyond the feed's columns --------------------------------

CHECK_IN_FIELDS: dict[str, Any] = {
    "sentiment": (_l("Sentiment"), Sentiment), "renewal_likelihood": (_l("Renewal likelihood"), RenewalLikelihood),
    "active_users": (_l("Active users"), None), "nps": (_l("NPS"), None), "nps_score": (_l("NPS"), None),
    "csat": (_l("CSAT"), None), "ces": (_l("CES"), None), "open_tickets": (_l("Open tickets"), None),
    "open_escalations": (_l("Open escalations"), None), "outcome_progress": (_l("Outcome progress"), None),
    "expansion_jpy": (_l("Expansion"), "yen"), "sentiment_reason": (_l("Why this sentiment"), None),
    "outcome_note": (_l("Outcome note"), None), "note": (_l("Note"), None),
}


def _shown(value: Any, kind: Any) -> str:
    if value is None or value == "":
        return "—"
    if kind == "yen":
        return yen(value)
    if isinstance(value, (Sentiment, RenewalLikelihood)):
        return label(value)
    return str(value)


def check_in_changes(before: CheckIn, after: CheckIn) -> list[str]:
    """What a corrected version changed from the one before it ("Sentiment: Green → Red")."""
    shown = []
    for name, (title, kind) in CHECK_IN_FIELDS.items():
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            shown.append(labelled(title, f"{_shown(old, kind)} → {_shown(new, kind)}"))
    return shown


EVENT_TITLES = {
    "opened": _l("Action item opened: %(title)s"),
    "closed": _l("Action item closed: %(title)s"),
    ActionEventKind.OPENED.value: _l("Action item opened: %(title)s"),
    ActionEventKind.ASSIGNED.value: _l("Action item assigned: %(title)s"),
    ActionEventKind.DUE_CHANGED.value: _l("Due date changed: %(title)s"),
    ActionEventKind.STATUS_CHANGED.value: _l("Status changed: %(title)s"),
    ActionEventKind.STEP_DONE.value: _l("Step done: %(title)s"),
    ActionEventKind.STEP_UNDONE.value: _l("Step ticked off again: %(title)s"),
    ActionEventKind.RAISED_AGAIN.value: _l("Raised again: %(title)s"),
    ActionEventKind.RESOLVED.value: _l("Resolved by the portal: %(title)s"),
    ActionEventKind.REOPENED.value: _l("Reopened: %(title)s"),
}
EMAIL_TITLES = {"turned_red": _l("Alert email sent to %(name)s: the account turned red"),
                "item_assigned": _l("Email sent to %(name)s: an action item was assigned")}
ENTITY_TITLES = {
    ("milestone", "create"): _l("Milestone recorded: %(name)s"), ("milestone", "update"): _l("Milestone updated: %(name)s"),
    ("stakeholder", "create"): _l("Stakeholder added: %(name)s"), ("stakeholder", "update"): _l("Stakeholder updated: %(name)s"),
    ("account", "create"): _l("Account created"), ("account", "update"): _l("Account details changed"),
}


def present(session: Session, account: Account, rows: list) -> list[Entry]:
    """Feed rows as entries: what each says, who did it, where it links. The same queries run
    whatever the rows (each loads by the ids of the page's rows), so a page costs the same for
    three entries as for fifty."""
    by_kind: dict[str, list] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row)
    people_ids = {r.actor_id for r in rows if r.actor_id} | {r.num1 for r in by_kind.get("email", []) if r.num1}
    people = {u.id: u for u in session.scalars(select(User).where(User.id.in_(people_ids)))}
    tokens = {t.id: t for t in session.scalars(select(ApiToken).where(ApiToken.id.in_({r.token_id for r in rows if r.token_id}),
                                                                    ApiToken.partner_id == account.partner_id))}
    # Every version of the check-ins' periods: each version is compared with the one before it.
    check_in_ids = [r.source_id for r in by_kind.get("check_in", [])]
    periods = select(CheckIn.period_start).where(CheckIn.id.in_(check_in_ids)).scalar_subquery()
    versions = {(c.period_start, c.version): c for c in session.scalars(
        select(CheckIn).where(CheckIn.account_id == account.id, CheckIn.partner_id == account.partner_id,
                              CheckIn.period_start.in_(periods)))}
    check_ins = {c.id: c for c in versions.values()}
    months = cadence_rules(session)[account.segment].months
    log_ids = [r.source_id for k in ("milestone", "stakeholder", "account") for r in by_kind.get(k, []) if r.event != "arr"]
    logs = {c.id: c for c in session.scalars(select(ChangeLog).where(ChangeLog.id.in_(log_ids), ChangeLog.account_id == account.id))}
    event_ids = [r.source_id for r in by_kind.get("action", []) if r.event not in ("opened", "closed")]
    events = {e.id: e for e in session.scalars(select(ActionEvent).where(ActionEvent.id.in_(event_ids),
                                                                         ActionEvent.account_id == account.id))}
    step_ids = {e.data.get("step_id") for e in events.values() if isinstance(e.data, dict) and e.data.get("step_id")}
    # Assignees named in the events: loaded with the steps' query's sibling below, by id.
    assignee_ids = {e.data.get(k) for e in events.values() if isinstance(e.data, dict) for k in ("from", "to")
                    if e.event == ActionEventKind.ASSIGNED and isinstance(e.data.get(k), int)} - set(people)
    steps = {s.id: s for s in session.scalars(select(ActionStep).where(ActionStep.id.in_(step_ids),
                                                                      ActionStep.partner_id == account.partner_id))}
    people.update({u.id: u for u in session.scalars(select(User).where(User.id.in_(assignee_ids)))})
    japanese = str(get_locale() or "en").startswith("ja")

    def who(row) -> str:
        if row.actor_id and row.actor_id in people:
            name = people[row.actor_id].display_name
            return f"{name} ({label(ReportSource(row.via))})" if row.via in (ReportSource.FILE.value, ReportSource.API.value) else name
        if row.token_id and row.token_id in tokens:
            return str(_l("API token “%(name)s”", name=tokens[row.token_id].name))
        if row.via == ReportSource.FILE.value:
            return str(_l("a file import"))
        if row.via == ReportSource.API.value:
            return str(_l("the API"))
        if row.actor_id:  # a person since removed
            return str(_l("a former user"))
        return str(_l("the portal"))

    entries = []
    to_account = ("accounts.account_detail", {"account_id": account.id}, "")
    for row in rows:
        entry = Entry(at=row.at, dated=bool(row.dated), kind=row.kind, title="", who=who(row))
        if row.kind == "check_in":
            check_in = check_ins.get(row.source_id)
            period = period_containing(check_in.period_start, months).label if check_in else "—"
            entry.title = str(_l("Check-in for %(period)s submitted", period=period) if row.num1 == 1 else
                              _l("Check-in for %(period)s corrected (version %(version)s)", period=period, version=row.num1))
            before = versions.get((check_in.period_start, check_in.version - 1)) if check_in else None
            if check_in and before:
                entry.details = check_in_changes(before, check_in) or [str(_l("Nothing changed in the figures."))]
            elif check_in:
                entry.details = [labelled(_l("Sentiment"), label(check_in.sentiment))]
            entry.link = ("reporting.check_in_detail", {"check_in_id": row.source_id}, "")
        elif row.kind in ("milestone", "stakeholder", "account") and row.event != "arr":
            name = (row.text2 if japanese and row.text2 else row.text1) or "—"
            entry.title = str(ENTITY_TITLES.get((row.kind, row.event), ENTITY_TITLES[(row.kind, "update")]) % {"name": name})
            log = logs.get(row.source_id)
            entry.details = [labelled(c.label, f"{c.before} → {c.after}") for c in readable(row.kind, log.changes)] if log else []
            fragment = {"milestone": "onboarding", "stakeholder": "stakeholders", "account": "contract"}[row.kind]
            entry.link = (*to_account[:2], fragment)
        elif row.kind == "account":  # an ARR from a day on
            entry.title = str(_l("ARR %(arr)s from %(day)s", arr=yen(row.num1), day=local_date(entry.day)))
            entry.details = [str(_l("Before: %(arr)s", arr=yen(row.num2)))] if row.num2 is not None else []
            entry.who = ""
            entry.link = (*to_account[:2], "contract")
        elif row.kind == "health":
            entry.title = (str(_l("Health band: %(band)s", band=label_band(row.text1))) if row.text2 is None and row.text1 else
                           str(_l("Health band changed: %(before)s → %(after)s", before=label_band(row.text2) if row.text2 else _l("Not enough data"),
                                  after=label_band(row.text1) if row.text1 else _l("Not enough data"))))
            entry.link = (*to_account[:2], "health-heading")
        elif row.kind == "alert":
            entry.title = str(_l("Alert: %(kind)s", kind=label(AlertKind(row.event))))
            entry.details = [_alert_subject(AlertKind(row.event), row.text1, months)] if row.text1 else []
            entry.link = ("actions.action_item", {"item_id": row.link_id}, "") if row.link_id else (*to_account[:2], "actions")
        elif row.kind == "action":
            title = _item_title(row.text1)
            entry.title = str(EVENT_TITLES.get(row.event, EVENT_TITLES[ActionEventKind.STATUS_CHANGED.value]) % {"title": title})
            entry.details = _event_details(row, events.get(row.source_id) if row.event not in ("opened", "closed") else None,
                                           steps, people, japanese)
            entry.link = ("actions.action_item", {"item_id": row.link_id}, "")
        elif row.kind == "comment":
            entry.title = str(_l("Comment on: %(title)s", title=_item_title(row.text1)))
            entry.body = row.text2
            entry.link = ("actions.action_item", {"item_id": row.link_id}, "thread")
        elif row.kind == "email":
            recipient = people.get(row.num1)
            title = EMAIL_TITLES.get(row.event, _l("Email sent to %(name)s"))
            entry.title = str(title % {"name": recipient.display_name if recipient else _l("a former user")})
            entry.details = [row.text1] if row.text1 else []
            entry.link = ("actions.action_item", {"item_id": row.link_id}, "") if row.link_id else (*to_account[:2], "health-heading")
        elif row.kind == "note":
            entry.title = str(NOTE_KINDS.get(NoteKind(row.event), NOTE_KINDS[NoteKind.NOTE]))
            entry.details = [str(_l("With: %(people)s", people=row.text1))] if row.text1 else []
            entry.body = row.text2
            entry.anchor = f"note-{row.source_id}"
            entry.link = ("timeline.account_timeline", {"account_id": account.id}, entry.anchor)
        entries.append(entry)
    return entries


def _alert_subject(kind: AlertKind, subject: str, months: int) -> str:
    """Which occurrence an alert is about, as the pages write it: the period, the red day, the renewal."""
    try:
        day = date.fromisoformat(subject)
    except ValueError:
        return subject
    if kind == AlertKind.CHECK_IN_OVERDUE:
        return str(_l("Period: %(period)s", period=period_containing(day, months).label))
    if kind == AlertKind.RENEWAL_AT_RISK:
        return str(_l("Renewal on %(day)s", day=local_date(day)))
    return local_date(day)


def _item_title(title: str | None) -> str:
    from portal.actions.services import ALERT_TITLES_SHOWN

    return str(ALERT_TITLES_SHOWN.get(title or "", title or "—"))


def _event_details(row, event: ActionEvent | None, steps: dict, people: dict, japanese: bool) -> list[str]:
    if row.event == "closed":
        return [row.text2] if row.text2 else []
    if event is None or not isinstance(event.data, dict):
        return []
    data = event.data
    if event.event in (ActionEventKind.STEP_DONE, ActionEventKind.STEP_UNDONE):
        step = steps.get(data.get("step_id"))
        return [(step.title_ja if japanese and step.title_ja else step.title)] if step else []
    if event.event == ActionEventKind.ASSIGNED:
        def name(user_id):
            return people[user_id].display_name if user_id in people else _l("Nobody yet")
        return [f"{name(data.get('from'))} → {name(data.get('to'))}"]
    if event.event == ActionEventKind.DUE_CHANGED:
        def day(value):
            return local_date(date.fromisoformat(value)) if value else "—"
        return [f"{day(data.get('from'))} → {day(data.get('to'))}"]
    if event.event == ActionEventKind.STATUS_CHANGED:
        def status(value):
            return label(ActionStatus(value)) if value in ActionStatus._value2member_map_ else "—"
        return [f"{status(data.get('from'))} → {status(data.get('to'))}"]
    if event.event == ActionEventKind.RESOLVED:
        text = event_resolution(data)
        return [text] if text else []
    if event.event == ActionEventKind.RAISED_AGAIN and data.get("count"):
        return [str(_l("Raised %(count)s times", count=data["count"]))]
    return []


# --- notes ------------------------------------------------------------------------------------------

def add_note(session: Session, account: Account, values: dict, user: User, today: date) -> AccountNote:
    """A call, meeting or note either side logs: a kind from the list, a day not in the future
    (today when left out), who took part (optional), and the text. Raises ValidationError."""
    c = Checks()
    kind = c.choice(values, "kind", NoteKind) or NoteKind.NOTE
    happened_on = c.date(values, "happened_on")
    if happened_on is None and not c.failed("happened_on"):
        happened_on = today
    elif happened_on is not None and happened_on > today:
        c.fail("happened_on", _l("is in the future"), values.get("happened_on"))
    participants = c.text(values, "participants", max_length=MAX_PARTICIPANTS)
    body = c.text(values, "body", max_length=MAX_NOTE, required=True)
    c.done()
    note = AccountNote(account_id=account.id, partner_id=account.partner_id, kind=kind, happened_on=happened_on,
                       participants=participants, body=body or "", author_id=user.id)
    session.add(note)
    session.flush()
    return note


__all__ = ["KINDS", "NOTE_KINDS", "Entry", "add_note", "feed", "latest", "present", "timeline_page"]
