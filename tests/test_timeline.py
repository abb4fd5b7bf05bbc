"""One timeline per account: every source shows up once, in its words, linked to its source,
newest first, filtered by kind, paged in SQL at a constant query count; notes either side logs."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from portal.core.history import record_change
from portal.models import (
    AccountArr, AccountNote, ActionEvent, ActionEventKind, ActionItem, ActionStatus, ActionStep, Alert, AlertKind, Band,
    ChangeLog, DeliveryStatus, EmailKind, Milestone, MilestoneStatus, MilestoneTemplate, NoteKind, Notification, OutboxMessage,
    ReportSource, Sentiment,
)
from portal.scoring.models import AccountScore
from tests import factories
from tests.readback import latest
from tests.test_review_pages import counted

DAY = date(2026, 12, 3)


def moment(day: int, hour: int = 3) -> datetime:
    """A moment in December 2026 (UTC): noon in Tokyo at hour 3."""
    return datetime(2026, 12, day, hour, 0, tzinfo=timezone.utc)


@pytest.fixture
def pinned(today_is):
    """The portal's today is DAY before any data is made."""
    today_is(DAY)


def score(db, account, day: date, band: Band | None):
    db.add(AccountScore(day=day, account_id=account.id, partner_id=account.partner_id, model_version=1, onboarding_phase=False,
                        arr_jpy=account.arr_jpy, score=80 if band == Band.GREEN else 20 if band else None, band=band))


def sent_email(db, account, user, kind: str, subject: str, at: datetime, *, status=DeliveryStatus.SENT, item=None):
    message = OutboxMessage(user_id=user.id, to_address=user.email, kind=EmailKind.ALERT, period=f"{at.isoformat()}-{kind}",
                            language="en", subject=subject, body_text="", body_html="", status=status,
                            sent_at=at if status == DeliveryStatus.SENT else None)
    db.add(message)
    db.flush()
    db.add(Notification(user_id=user.id, kind=kind, dedupe_key=f"{kind}-{message.id}", account_id=account.id,
                        action_item_id=item.id if item else None, message_id=message.id))


def every_source(db, tenants):
    """One of each kind on account A (dated from Dec 1 to Dec 3), and the same on B as secrets."""
    a = tenants.account_a
    # Check-ins: version 1 (the fixture's, submitted Dec 1) and a correction on Dec 2.
    tenants.check_in_a.submitted_at = moment(1, 1)
    tenants.check_in_a.submitted_by_id = tenants.user_a.id
    corrected = factories.check_in(db, a, version=2, sentiment=Sentiment.RED, active_users=12, submitted_by_id=tenants.user_a.id,
                                   submitted_at=moment(2, 1))
    template = db.scalar(select(MilestoneTemplate).order_by(MilestoneTemplate.position).limit(1))
    milestone = Milestone(account_id=a.id, partner_id=a.partner_id, template_id=template.id, status=MilestoneStatus.DONE,
                          completed_on=date(2026, 12, 1))
    db.add(milestone)
    db.flush()
    for entity, entity_id, before, after, who, token, at in (
        ("milestone", milestone.id, {"status": "planned"}, {"status": "done"}, tenants.user_a, None, moment(1, 2)),
        ("stakeholder", tenants.stakeholder_a.id, None, {"name": "Hanako Sato"}, None, tenants.token_a, moment(1, 4)),
        ("account", a.id, {"renewal_date": "2026-04-01"}, {"renewal_date": "2027-04-01"}, tenants.vendor_admin, None, moment(1, 5)),
    ):
        entry = record_change(db, entity=entity, entity_id=entity_id, partner_id=a.partner_id, account_id=a.id, before=before,
                              after=after, source=ReportSource.API if token else ReportSource.FORM, user=who, token=token)
        entry.changed_at = at
    db.add(AccountArr(account_id=a.id, effective_on=date(2026, 12, 2), arr_jpy=1_500_000))
    score(db, a, date(2026, 11, 30), Band.GREEN)
    score(db, a, date(2026, 12, 1), Band.GREEN)
    score(db, a, date(2026, 12, 2), Band.RED)
    alert = Alert(kind=AlertKind.TURNED_RED, account_id=a.id, partner_id=a.partner_id, subject="2026-12-02", raised_on=date(2026, 12, 2))
    db.add(alert)
    db.flush()
    item = ActionItem(account_id=a.id, partner_id=a.partner_id, alert_id=alert.id, kind="turned_red",
                      title="Account turned red: agree a recovery plan", created_at=moment(2, 5), status=ActionStatus.OPEN)
    db.add(item)
    db.flush()
    step = ActionStep(item_id=item.id, partner_id=a.partner_id, position=1, title="Call the champion", title_ja="チャンピオンに電話する")
    db.add(step)
    db.flush()
    for event, actor, data, at in (
        (ActionEventKind.ASSIGNED, tenants.partner_manager, {"from": None, "to": tenants.user_a.id}, moment(2, 6)),
        (ActionEventKind.STEP_DONE, tenants.user_a, {"step_id": step.id, "position": 1}, moment(2, 7)),
    ):
        db.add(ActionEvent(item_id=item.id, account_id=a.id, partner_id=a.partner_id, actor_id=actor.id, event=event, data=data, at=at))
    # The fixture's item: opened Dec 1, its comment Dec 2, closed by the admin on Dec 3.
    tenants.item_a.created_at = moment(1, 6)
    tenants.item_a.comments[0].created_at = moment(2, 8)
    tenants.item_a.comments[0].author_id = tenants.admin_a.id
    tenants.item_a.status, tenants.item_a.resolution = ActionStatus.DONE, "Training held on 2 Dec"
    tenants.item_a.closed_at, tenants.item_a.closed_by_id = moment(3, 1), tenants.admin_a.id
    sent_email(db, a, tenants.user_a, "turned_red", "Alpha Customer KK turned red", moment(2, 9), item=item)
    sent_email(db, a, tenants.user_a, "item_assigned", "Never sent", moment(2, 10), status=DeliveryStatus.FAILED)
    db.add(AccountNote(account_id=a.id, partner_id=a.partner_id, kind=NoteKind.CALL, happened_on=date(2026, 12, 3),
                       participants="Tanaka (customer IT)", body="Agreed a recovery plan by Dec 20", author_id=tenants.partner_manager.id))
    # The other partner's account: the same kinds, all of them secret to partner A.
    b = tenants.account_b
    score(db, b, date(2026, 12, 2), Band.RED)
    db.add(AccountNote(account_id=b.id, partner_id=b.partner_id, kind=NoteKind.NOTE, happened_on=date(2026, 12, 2),
                       body="Bravo Secret Plan note", author_id=tenants.admin_b.id))
    db.commit()
    return item, corrected


def entries(html: str) -> list[str]:
    """The timeline's entries as text, in page order."""
    found = re.findall(r'<li[^>]*class="timeline__entry[^"]*"[^>]*>(.*?)</li>', html, flags=re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", e)).strip() for e in found]


def test_every_source_shows_up_in_its_words_newest_first(db, pinned, browser, tenants):
    item, corrected = every_source(db, tenants)
    body = browser(tenants.user_a).get(f"/accounts/{tenants.account_a.id}/timeline").get_data(as_text=True)
    shown = entries(body)
    # Newest first; a dated entry (a note, an alert, a snapshot, an ARR) sorts at its day's start (UTC).
    expected_order = [
        "Action item closed: Run a training session",   # Dec 3 01:00 UTC
        "Call With: Tanaka",                             # Dec 3
        "Alert email sent to",                           # Dec 2 09:00 (the failed one is not there)
        "Comment on: Run a training session",            # Dec 2 08:00
        "Step done: Account turned red",                 # Dec 2 07:00
        "Action item assigned: Account turned red",      # Dec 2 06:00
        "Action item opened: Account turned red",        # Dec 2 05:00
        "Check-in for 2026-10 – 2026-12 corrected (version 2)",    # Dec 2 01:00
        "ARR ¥1,500,000 from Dec 2, 2026",               # Dec 2
        "Alert: Turned red",                             # Dec 2
        "Health band changed: Healthy → At risk",        # Dec 2
        "Action item opened: Run a training session",    # Dec 1 06:00
        "Account details changed",                       # Dec 1 05:00
        "Stakeholder added: Hanako Sato",                # Dec 1 04:00
        "Milestone updated: ",                           # Dec 1 02:00
        "Check-in for 2026-10 – 2026-12 submitted",                # Dec 1 01:00
        "Health band: Healthy",                          # Nov 30: the first snapshot with a band
        "ARR ¥1,200,000 from Apr 1, 2025",               # the contract start
    ]
    positions = []
    for words in expected_order:
        hits = [i for i, e in enumerate(shown) if words in e]
        assert len(hits) == 1, f"{words!r} on the timeline {len(hits)} times: {shown}"
        positions.append(hits[0])
    assert positions == list(range(len(shown)))
    assert "Never sent" not in body and "Bravo Secret" not in body
    text = "\n".join(shown)
    # What changed, and who did it.
    assert "Sentiment: Green → Red" in text and "Active users: — → 12" in text
    assert "Renewal date: Apr 1, 2026 → Apr 1, 2027" in text
    assert f"{tenants.vendor_admin.display_name}" in text
    assert "API token “CRM sync”" in text  # the stakeholder came through the API
    assert "the portal" in text  # the band change and the alert
    assert f"{tenants.user_a.display_name} → " not in text and f"Nobody yet → {tenants.user_a.display_name}" in text
    assert "Call the champion" in text and "Training held on 2 Dec" in text
    assert "With: Tanaka (customer IT)" in text and "Agreed a recovery plan by Dec 20" in text
    assert "Before: ¥1,200,000" in text
    # Links to each source.
    assert f'href="/check-ins/{corrected.id}"' in body
    assert f'href="/actions/{item.id}"' in body and f'href="/actions/{tenants.item_a.id}#thread"' in body
    assert f'href="/accounts/{tenants.account_a.id}#onboarding"' in body
    assert f'href="/accounts/{tenants.account_a.id}#stakeholders"' in body
    assert f'href="/accounts/{tenants.account_a.id}#contract"' in body
    assert f'href="/accounts/{tenants.account_a.id}#health-heading"' in body


def test_both_sides_see_the_same_feed_and_the_account_page_shows_the_latest(db, pinned, browser, tenants):
    every_source(db, tenants)
    url = f"/accounts/{tenants.account_a.id}/timeline"
    seen = [entries(browser(who).get(url).get_data(as_text=True)) for who in (tenants.user_a, tenants.partner_manager)]
    assert seen[0] == seen[1]
    page = browser(tenants.admin_a).get(f"/accounts/{tenants.account_a.id}").get_data(as_text=True)
    card = entries(page)
    assert len(card) == 8 and card == seen[0][:8]
    assert f'href="{url}"' in page


def test_the_kind_filter_keeps_one_kind(db, pinned, browser, tenants):
    every_source(db, tenants)
    person = browser(tenants.partner_manager)
    url = f"/accounts/{tenants.account_a.id}/timeline"
    shown = entries(person.get(url + "?kind=action").get_data(as_text=True))
    assert len(shown) == 5 and all("Action item" in e or "Step done" in e for e in shown)
    shown = entries(person.get(url + "?kind=account").get_data(as_text=True))
    assert [("ARR" in e, "Account details changed" in e) for e in shown] == [(True, False), (False, True), (True, False)]
    assert person.get(url + "?kind=nonsense").status_code == 400


def test_pages_of_the_feed_follow_on_without_gaps(db, pinned, browser, tenants):
    a = tenants.account_a
    for n in range(30):
        db.add(AccountNote(account_id=a.id, partner_id=a.partner_id, kind=NoteKind.NOTE, happened_on=DAY - timedelta(days=n),
                           body=f"Note number {n}", author_id=tenants.user_a.id))
    db.commit()
    person = browser(tenants.user_a)
    url = f"/accounts/{a.id}/timeline?kind=note"
    first, second = (entries(person.get(f"{url}&page={p}").get_data(as_text=True)) for p in (1, 2))
    assert len(first) == 25 and len(second) == 5
    numbers = [int(re.search(r"Note number (\d+)", e).group(1)) for e in first + second]
    assert numbers == list(range(30))
    assert 'rel="next"' in person.get(url).get_data(as_text=True)


def test_the_page_costs_as_many_queries_for_many_entries_as_for_few(app, db, pinned, browser, tenants):
    every_source(db, tenants)
    person = browser(tenants.user_a)
    urls = (f"/accounts/{tenants.account_a.id}/timeline", f"/accounts/{tenants.account_a.id}",
            f"/accounts/{tenants.account_a.id}/timeline?kind=action")

    def count() -> list[int]:
        counts = []
        for url in urls:
            person.get(url)
            with counted(app) as statements:
                assert person.get(url).status_code == 200
            counts.append(len(statements))
        return counts

    few = count()
    for i in range(30):  # corrections, items with comments, steps and events, notes: more than a page
        factories.check_in(db, tenants.account_a, period_start=date(2024 + i // 12, 1 + i % 12, 1), version=1)
        factories.check_in(db, tenants.account_a, period_start=date(2024 + i // 12, 1 + i % 12, 1), version=2, sentiment=Sentiment.RED)
        item = factories.action_item(db, tenants.account_a, title=f"Item {i}")
        step = ActionStep(item_id=item.id, partner_id=item.partner_id, position=1, title=f"Step {i}")
        db.add(step)
        db.flush()
        db.add(ActionEvent(item_id=item.id, account_id=item.account_id, partner_id=item.partner_id, actor_id=tenants.admin_a.id,
                           event=ActionEventKind.STEP_DONE, data={"step_id": step.id}))
        db.add(AccountNote(account_id=item.account_id, partner_id=item.partner_id, happened_on=DAY, body=f"Note {i}",
                           author_id=tenants.user_a.id))
        db.commit()
    assert count() == few


# --- notes ----------------------------------------------------------------------------------------


def test_either_side_logs_a_note_that_appears_on_the_timeline(db, pinned, browser, tenants):
    url = f"/accounts/{tenants.account_a.id}/timeline"
    for who, kind, text in ((tenants.user_a, "call", "Called about the renewal"), (tenants.partner_manager, "meeting", "QBR held")):
        response = browser(who).post(url + "/notes", {"kind": kind, "happened_on": "2026-12-02", "participants": "Sato", "body": text})
        assert response.status_code == 302
    notes = latest(db).scalars(select(AccountNote).order_by(AccountNote.id)).all()
    assert [(n.kind, n.happened_on, n.author_id, n.partner_id) for n in notes] == [
        (NoteKind.CALL, date(2026, 12, 2), tenants.user_a.id, tenants.partner_a.id),
        (NoteKind.MEETING, date(2026, 12, 2), tenants.partner_manager.id, tenants.partner_a.id)]
    body = browser(tenants.admin_a).get(url).get_data(as_text=True)
    assert "Called about the renewal" in body and "QBR held" in body and "Meeting" in body


def test_a_note_without_a_date_is_dated_today(db, pinned, browser, tenants):
    response = browser(tenants.user_a).post(f"/accounts/{tenants.account_a.id}/timeline/notes", {"kind": "note", "body": "Quick word"})
    assert response.status_code == 302
    assert latest(db).scalar(select(AccountNote.happened_on)) == DAY


@pytest.mark.parametrize("values, field, message", [
    ({"kind": "note", "happened_on": "2026-12-03", "body": ""}, "body", "is required"),
    ({"kind": "note", "happened_on": "2026-12-04", "body": "Later"}, "happened_on", "is in the future"),
    ({"kind": "note", "happened_on": "tomorrow-ish", "body": "When?"}, "happened_on", "must be a date"),
    ({"kind": "lunch", "body": "Sushi"}, "kind", "must be one of"),
    ({"kind": "note", "participants": "x" * 301, "body": "Many"}, "participants", "is too long"),
])
def test_a_bad_note_is_refused_with_a_message_at_its_field(db, pinned, browser, tenants, values, field, message):
    response = browser(tenants.user_a).post(f"/accounts/{tenants.account_a.id}/timeline/notes", values)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert re.search(rf'id="{field}-error">[^<]*{re.escape(message)}', body), body[:2000]
    assert latest(db).scalar(select(AccountNote.id)) is None


def test_the_note_form_works_in_japanese(db, pinned, browser, tenants):
    tenants.user_a.language = "ja"
    db.commit()
    every_source(db, tenants)
    person = browser(tenants.user_a)
    response = person.post(f"/accounts/{tenants.account_a.id}/timeline/notes", {"kind": "note", "happened_on": "2026-12-04", "body": "x"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "タイムライン" in body
    page = person.get(f"/accounts/{tenants.account_a.id}/timeline").get_data(as_text=True)
    assert "チャンピオンに電話する" in page and "2026/12/02" in page


def test_a_reseller_never_sees_or_writes_on_another_partners_timeline(db, pinned, browser, tenants):
    every_source(db, tenants)
    person = browser(tenants.user_a)
    url = f"/accounts/{tenants.account_b.id}/timeline"
    assert person.get(url).status_code == 404
    assert person.post(url + "/notes", {"kind": "note", "body": "Sneaky"}).status_code == 404
    assert latest(db).scalar(select(AccountNote.id).where(AccountNote.body == "Sneaky")) is None
    assert browser(tenants.vendor_admin).get(url).status_code == 200
    assert "Bravo Secret Plan note" in browser(tenants.vendor_admin).get(url).get_data(as_text=True)


def test_a_check_in_that_moved_partners_stays_with_its_partner(db, pinned, browser, tenants):
    """Rows of another partner on the same account id (an account that changed hands) stay hidden."""
    every_source(db, tenants)
    db.add(ChangeLog(partner_id=tenants.partner_b.id, account_id=tenants.account_a.id, entity="account", entity_id=tenants.account_a.id,
                     action="update", changes={"name": ["Bravo Secret Customer", "Alpha Customer KK"]}, source=ReportSource.FORM))
    db.commit()
    body = browser(tenants.user_a).get(f"/accounts/{tenants.account_a.id}/timeline").get_data(as_text=True)
    assert "Bravo Secret" not in body
