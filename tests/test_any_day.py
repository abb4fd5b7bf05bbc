"""Date rules at awkward moments. Each test runs once at every moment of
conftest.AWKWARD_MOMENTS (the end of a month and of a year, 29 February, Monday 00:30 in Tokyo
while UTC is still on Sunday, a day of ISO week 53) with its data built around that day, so
the rules hold whatever day the portal runs on. Expected values are worked out here from the
calendar, not with the portal's own helpers."""
from __future__ import annotations

import re
import socket
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from portal.core import clock as portal_clock
from portal.email import services as emails
from portal.email import outbox
from portal.scoring.aggregation import aggregate
from portal.models import AccountScore, DeliveryStatus, EmailKind, OutboxMessage, Segment
from tests import factories
from tests.pages import parse

GRACE = timedelta(days=10)  # the default grace days of every cadence
ISO_WEEK_IN_TOKYO = {  # the calendar's answer for each awkward moment, Tokyo's date
    date(2027, 4, 30): "2027-W17", date(2026, 12, 31): "2026-W53", date(2028, 2, 29): "2028-W09",
    date(2027, 3, 1): "2027-W09", date(2027, 1, 1): "2026-W53",
}


def month_start(day: date, back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def month_end(start: date) -> date:
    return month_start(start, -1) - timedelta(days=1)


def section(html: str, heading_id: str) -> str:
    return html.split(f'id="{heading_id}"')[1].split("</section>")[0]


def test_today_is_tokyos_day_and_moments_are_stored_in_utc(any_moment, app):
    assert app.config["PORTAL"].today() == any_moment.date() == portal_clock.today()
    utc = any_moment.astimezone(timezone.utc)
    assert portal_clock.today("UTC") == utc.date()  # Monday 00:30 in Tokyo: still Sunday in UTC
    assert abs(portal_clock.utcnow() - utc) < timedelta(seconds=30) and portal_clock.utcnow().utcoffset() == timedelta(0)


def test_an_account_owes_each_month_back_to_the_latest_one_past_its_due_date(any_moment, db, browser, tenants):
    today = any_moment.date()
    # Monthly reports: the latest month whose last day plus the grace days is behind us.
    back = next(n for n in range(1, 4) if month_end(month_start(today, n)) + GRACE < today)
    late_month = month_start(today, back)
    days_late = (today - (month_end(late_month) + GRACE)).days
    factories.account(db, tenants.partner_a, name="Never Reports KK", segment=Segment.HIGH_TOUCH,
                              contract_start=today - timedelta(days=700), renewal_date=today + timedelta(days=300))
    diligent = factories.account(db, tenants.partner_a, name="Always Reports KK", segment=Segment.HIGH_TOUCH,
                                 contract_start=today - timedelta(days=700), renewal_date=today + timedelta(days=300))
    for n in range(1, back + 1):  # every closed month it could still owe
        factories.check_in(db, diligent, period_start=month_start(today, n))

    html = browser(tenants.user_a).get("/home").get_data(as_text=True)
    overdue = section(html, "overdue-heading")
    row = re.search(r"Never Reports KK.*?</tr>", overdue, re.S).group(0)
    assert f"{late_month:%Y-%m}" in row and f"{days_late} day" in row
    assert "Always Reports KK" not in overdue
    if back == 2:  # the month after it is still in its grace days: due, not late
        assert f"{month_start(today, 1):%Y-%m}" in re.search(r"Never Reports KK.*?</tr>", section(html, "due-heading"), re.S).group(0)


def test_the_check_in_form_proposes_the_quarter_in_grace_or_else_the_current_one(any_moment, browser, tenants):
    today = any_moment.date()
    current = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)  # fiscal quarters from April are calendar ones
    closed = month_start(current, 3)
    expected = closed if today <= current - timedelta(days=1) + GRACE else current
    page = parse(browser(tenants.user_a).get(f"/accounts/{tenants.account_a.id}/check-in"))
    assert page.value("period") == expected.isoformat()


def test_renewals_in_the_next_90_days_are_counted_from_today(any_moment, db, browser, tenants):
    today = any_moment.date()
    for name, days in (("Renews Today", 0), ("Renews Day 90", 90), ("Renews Day 91", 91), ("Renewed Yesterday", -1)):
        factories.account(db, tenants.partner_a, name=name, renewal_date=today + timedelta(days=days),
                          contract_start=today - timedelta(days=300))
    assert aggregate(db, today).status == "done"
    html = browser(tenants.admin_a).get(f"/partners/{tenants.partner_a.id}/scorecard").get_data(as_text=True)
    renewals = html.split("Renewals in the next 90 days</h2>")[1].split("</section>")[0]
    assert "Renews Today" in renewals and "Renews Day 90" in renewals
    assert "Renews Day 91" not in renewals and "Renewed Yesterday" not in renewals


def test_weekly_emails_go_once_per_iso_week_of_each_persons_zone(any_moment, app, db, clock, tenants):
    assert aggregate(db, any_moment.date()).status == "done"
    tokyo, utc = tenants.admin_a, tenants.admin_b
    for user, zone in ((tokyo, "Asia/Tokyo"), (utc, "UTC")):
        user.digest_weekday, user.digest_hour, user.time_zone = 0, 0, zone  # from Monday 00:00: always due
    db.commit()
    assert emails.queue_weekly(app, db) >= 2

    def periods(user):
        return db.scalars(select(OutboxMessage.period).where(OutboxMessage.user_id == user.id,
                                                             OutboxMessage.kind == EmailKind.PARTNER_DIGEST)).all()

    assert periods(tokyo) == [ISO_WEEK_IN_TOKYO[any_moment.date()]]
    year, week, _ = any_moment.astimezone(timezone.utc).date().isocalendar()
    assert periods(utc) == [f"{year}-W{week:02d}"]  # on a Tokyo Monday 00:30, UTC's week is the one before
    assert emails.queue_weekly(app, db) == 0  # again in the same week: nothing new

    clock.shift(timedelta(days=7))
    assert aggregate(db, clock.today()).status == "done"
    assert emails.queue_weekly(app, db) >= 2
    assert len(set(periods(tokyo))) == 2 and len(set(periods(utc))) == 2


def test_a_check_in_counts_from_the_tokyo_day_it_was_sent(any_moment, db, clock, tenants):
    today = any_moment.date()
    account = factories.account(db, tenants.partner_a, segment=Segment.HIGH_TOUCH, contract_start=today - timedelta(days=400),
                                renewal_date=today + timedelta(days=300))
    period = month_start(today, 1)
    clock.move_to(datetime.combine(today, datetime.max.time().replace(microsecond=0)))  # 23:59:59 in Tokyo
    first = factories.check_in(db, account, period_start=period, nps=9, submitted_at=portal_clock.utcnow())
    clock.shift(timedelta(seconds=2))  # 00:00:01 the next day in Tokyo (15:00 UTC)
    correction = factories.check_in(db, account, period_start=period, version=2, nps=3, submitted_at=portal_clock.utcnow())

    def scored(day):
        assert aggregate(db, day).status == "done"
        db.expire_all()
        return db.scalar(select(AccountScore.check_in_id).where(AccountScore.account_id == account.id, AccountScore.day == day))

    assert scored(today) == first.id
    assert scored(today + timedelta(days=1)) == correction.id


def test_a_failed_email_waits_for_its_backoff_by_the_portals_clock(any_moment, app, db, clock, tenants):
    with socket.socket() as s:  # a port nothing listens on: every attempt is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = app.config["PORTAL"]
    config.smtp_host, config.smtp_port, config.smtp_security = "127.0.0.1", port, "none"
    outbox.queue(db, tenants.admin_a, EmailKind.REMINDER, "test", outbox.Rendered("Subject", "Text", "<p>HTML</p>", "en"))
    db.commit()

    def attempt():
        outbox.deliver_due(db, config)
        db.expire_all()
        return db.scalar(select(OutboxMessage))

    first = attempt()
    assert (first.status, first.attempts) == (DeliveryStatus.RETRYING, 1)
    assert first.next_attempt_at - portal_clock.utcnow() <= outbox.FIRST_RETRY
    clock.shift(outbox.FIRST_RETRY - timedelta(seconds=30))
    assert attempt().attempts == 1  # not yet
    clock.shift(timedelta(seconds=31))
    second = attempt()
    assert second.attempts == 2 and second.next_attempt_at - portal_clock.utcnow() > outbox.FIRST_RETRY
