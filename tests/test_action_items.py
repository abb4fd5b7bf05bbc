"""Action items: alerts become items once; a partner manager asks, the reseller answers and
closes with a resolution; bad input is refused by field; no partner reaches another's items."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.scoring.aggregation import aggregate
from portal.models import ActionComment, ActionItem, ActionStatus, Alert, Segment, Sentiment
from tests import factories
from tests.pages import parse
from tests.readback import latest, reload

DAY = date(2026, 11, 20)


def items(db, **where):
    stmt = select(ActionItem).filter_by(**where).order_by(ActionItem.id)
    return latest(db).scalars(stmt).all()


def new_item(**overrides):
    data = {"title": "Please run a training session", "details": "Ten new users since October",
            "owner_id": "0", "due_on": "2099-01-31"}
    data.update(overrides)
    return data


def test_each_new_alert_becomes_one_open_item_due_a_week_later(db, tenants):
    account = factories.account(db, tenants.partner_a, segment=Segment.HIGH_TOUCH, contract_start=date(2025, 1, 1))
    factories.check_in(db, account, period_start=date(2026, 10, 1), submitted_at=datetime(2026, 11, 5, 9),
                       sentiment=Sentiment.RED, sentiment_reason="Budget cut", active_users=2, nps=0, open_escalations=1)
    aggregate(db, DAY)
    alerts = latest(db).scalars(select(Alert).where(Alert.account_id == account.id)).all()
    raised = items(db, account_id=account.id)
    assert alerts and sorted(i.alert_id for i in raised) == sorted(a.id for a in alerts)
    assert {(i.status, i.due_on, i.partner_id) for i in raised} == {(ActionStatus.OPEN, DAY + timedelta(days=7), tenants.partner_a.id)}
    aggregate(db, DAY, force=True)
    aggregate(db, DAY + timedelta(days=1))
    assert len(items(db, account_id=account.id)) == len(raised), "a rerun or the next night adds no duplicate"


def test_a_partner_manager_asks_and_the_reseller_answers_and_closes(db, browser, tenants):
    manager, reseller = browser(tenants.partner_manager), browser(tenants.user_a)
    response = manager.post(f"/accounts/{tenants.account_a.id}/actions/new",
                            new_item(owner_id=str(tenants.user_a.id)))
    assert response.status_code == 302
    (item,) = items(db, title="Please run a training session")
    assert (item.owner_id, item.due_on, item.created_by_id) == (tenants.user_a.id, date(2099, 1, 31), tenants.partner_manager.id)

    # The reseller sees it on the home page and in "mine", and answers in the thread.
    assert "Please run a training session" in reseller.get("/home").get_data(as_text=True)
    assert "Please run a training session" in reseller.get("/actions?view=mine").get_data(as_text=True)
    assert reseller.post(f"/actions/{item.id}", {"body": "Booked for 3 December"}).status_code == 302
    thread = manager.get(f"/actions/{item.id}").get_data(as_text=True)
    assert "Booked for 3 December" in thread and tenants.user_a.display_name in thread

    # Closing needs a resolution note: refused with the error next to it, then accepted.
    refused = reseller.post(f"/actions/{item.id}/status", {"status": "done", "resolution": ""})
    assert refused.status_code == 400
    assert parse(refused).errors.get("resolution")
    assert reload(db, item).status == ActionStatus.OPEN
    assert reseller.post(f"/actions/{item.id}/status", {"status": "done", "resolution": "Training held, 12 attended"}).status_code == 302
    closed = reload(db, item)
    assert (closed.status, closed.resolution) == (ActionStatus.DONE, "Training held, 12 attended") and closed.closed_at
    assert "Please run a training session" not in reseller.get("/home").get_data(as_text=True)
    assert "Please run a training session" in reseller.get("/actions?view=closed").get_data(as_text=True)


@pytest.mark.parametrize("field, value", [
    ("title", ""),
    ("title", "x" * 201),
    ("due_on", "2020-01-01"),
    ("due_on", "next week"),
    ("owner_id", "999999"),
])
def test_a_bad_item_is_refused_at_its_field_and_nothing_is_created(db, browser, tenants, field, value):
    before = len(items(db))
    response = browser(tenants.partner_manager).post(f"/accounts/{tenants.account_a.id}/actions/new", new_item(**{field: value}))
    assert response.status_code == 400
    assert parse(response).errors.get(field), parse(response).errors
    assert len(items(db)) == before


def test_the_owner_must_work_for_the_account_s_partner_or_the_vendor(db, browser, tenants):
    response = browser(tenants.partner_manager).post(f"/accounts/{tenants.account_a.id}/actions/new",
                                                     new_item(owner_id=str(tenants.user_b.id)))
    assert response.status_code == 400 and parse(response).errors.get("owner_id")


def test_an_empty_comment_is_refused(db, browser, tenants):
    response = browser(tenants.user_a).post(f"/actions/{tenants.item_a.id}", {"body": "  "})
    assert response.status_code == 400 and parse(response).errors.get("body")


def test_no_reseller_reaches_another_resellers_items_or_comments(db, browser, tenants):
    other = browser(tenants.admin_b)
    item = tenants.item_a
    comments = lambda: latest(db).scalar(select(func.count()).select_from(ActionComment))  # noqa: E731
    before = comments()
    assert other.get(f"/actions/{item.id}").status_code == 404
    assert other.post(f"/actions/{item.id}", {"body": "sneaky"}).status_code == 404
    assert other.post(f"/actions/{item.id}/status", {"status": "cancelled", "resolution": "sneaky"}).status_code == 404
    assert comments() == before and reload(db, item).status == ActionStatus.OPEN
    listing = other.get("/actions?view=open").get_data(as_text=True)
    assert "Run a training session" not in listing and "Bravo Secret Plan" in listing
    # Resellers do not create items; partner managers do, only on accounts that exist for them.
    assert browser(tenants.admin_a).get(f"/accounts/{tenants.account_a.id}/actions/new").status_code == 403


def test_overdue_items_stand_out(db, browser, tenants):
    factories.action_item(db, tenants.account_a, title="Late thing", due_on=date(2020, 1, 1))
    page = browser(tenants.vendor_admin).get("/actions?view=overdue").get_data(as_text=True)
    assert "Late thing" in page and "row--late" in page
    assert "Run a training session" not in page  # no due date: never overdue


def test_an_alerts_item_reads_in_the_readers_language_a_persons_item_as_written(db, browser, tenants):
    account = factories.account(db, tenants.partner_a, segment=Segment.HIGH_TOUCH, contract_start=date(2025, 1, 1))
    factories.check_in(db, account, period_start=date(2026, 10, 1), submitted_at=datetime(2026, 11, 5, 9),
                       sentiment=Sentiment.RED, sentiment_reason="Budget cut", active_users=2, nps=0, open_escalations=1)
    aggregate(db, DAY)
    red = latest(db).scalar(select(ActionItem).where(ActionItem.account_id == account.id,
                                                     ActionItem.title.startswith("Account turned red")))
    tenants.user_a.language = "ja"
    db.commit()
    reseller = browser(tenants.user_a)
    page = reseller.get(f"/actions/{red.id}").get_data(as_text=True)
    assert "<h1>顧客が危険に転じました：回復計画を合意してください</h1>" in page
    assert "Account turned red" not in page
    assert f"<h1>{tenants.item_a.title}</h1>" in reseller.get(f"/actions/{tenants.item_a.id}").get_data(as_text=True)  # as typed
