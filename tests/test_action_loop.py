"""Action items close their own loop: an owner and a due date by rule, one item per account and
alert kind however often its rule fires, a closed item reopening when its alert returns soon,
and the aggregation closing each item whose condition has cleared (only that item)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import delete, select

from portal.actions.resolve import resolve_items, shown_resolution
from portal.actions.services import ItemInput, create_item, items_from_alerts
from portal.models import (
    AccountScore, ActionEvent, ActionEventKind, ActionItem, ActionKind, ActionStatus, Alert, AlertKind, AuditEvent, AutoResolution,
    Band, LifecycleStatus, ReportingSettings, Role, Segment,
)
from portal.scoring.aggregation import aggregate
from tests import factories
from tests.test_review_pages import counted
from tests.readback import latest, reload

DAY = date(2026, 11, 20)


@pytest.fixture(autouse=True)
def a_day_in_the_spring(today_is):
    """Every night these tests run is in the past: the items are dated on their night."""
    today_is(date(2027, 3, 1))


def raise_alert(db, account, kind: AlertKind, subject: str, day: date = DAY) -> None:
    """The alert the nightly rules would raise, and the items step of that night."""
    db.add(Alert(kind=kind, account_id=account.id, partner_id=account.partner_id, subject=subject, raised_on=day))
    db.flush()
    items_from_alerts(db, day)
    db.commit()


def scored(db, account, day: date, band: Band) -> None:
    db.add(AccountScore(day=day, account_id=account.id, partner_id=account.partner_id, model_version=1,
                        onboarding_phase=False, arr_jpy=account.arr_jpy, band=band))
    db.commit()


def resolve(db, day: date) -> None:
    resolve_items(db, day)
    db.commit()


def alert_items(db, account, kind: ActionKind | None = None):
    stmt = select(ActionItem).where(ActionItem.account_id == account.id, ActionItem.kind != ActionKind.REQUEST)
    if kind is not None:
        stmt = stmt.where(ActionItem.kind == kind)
    return latest(db).scalars(stmt.order_by(ActionItem.id)).all()


def events(db, item) -> list[ActionEventKind]:
    return list(latest(db).scalars(select(ActionEvent.event).where(ActionEvent.item_id == item.id).order_by(ActionEvent.id)))


def settings(db, **values) -> None:
    db.merge(ReportingSettings(id=1, **values))
    db.commit()


# ---- owner and due date by rule -------------------------------------------------------------

def test_an_alert_item_goes_to_the_accounts_owner_else_the_partner_admin(db, tenants):
    owned = factories.account(db, tenants.partner_a, owner_id=tenants.user_a.id)
    unowned = factories.account(db, tenants.partner_a)
    # The earliest active partner admin: a deactivated first admin is passed over.
    tenants.admin_a.active = False
    db.commit()
    second_admin = factories.user(db, Role.PARTNER_ADMIN, tenants.partner_a)
    factories.user(db, Role.PARTNER_ADMIN, tenants.partner_a)
    raise_alert(db, owned, AlertKind.TURNED_RED, DAY.isoformat())
    raise_alert(db, unowned, AlertKind.TURNED_RED, DAY.isoformat())
    assert [i.owner_id for i in alert_items(db, owned)] == [tenants.user_a.id]
    assert [i.owner_id for i in alert_items(db, unowned)] == [second_admin.id]


def test_a_partner_managers_item_for_nobody_goes_to_the_same_owner(db, tenants):
    account = factories.account(db, tenants.partner_b, owner_id=tenants.user_b.id)
    item = create_item(db, account, ItemInput("Call the champion", None, None, None), tenants.partner_manager)
    named = create_item(db, account, ItemInput("Plan a workshop", None, tenants.admin_b.id, None), tenants.partner_manager)
    db.commit()
    assert (reload(db, item).owner_id, reload(db, named).owner_id) == (tenants.user_b.id, tenants.admin_b.id)


def test_an_account_created_without_an_owner_is_the_partner_admins(db, browser, tenants):
    response = browser(tenants.admin_b).post("/accounts/new", {
        "reference": "B-777", "name": "Owned By Default KK", "segment": "low_touch", "seats": "10", "arr_jpy": "100000",
        "status": "active"})
    assert response.status_code == 302, response.get_data(as_text=True)
    from portal.models import Account
    account = latest(db).scalar(select(Account).where(Account.reference == "B-777"))
    assert account.owner_id == tenants.admin_b.id


def test_the_due_date_follows_the_kind(db, tenants):
    account = factories.account(db, tenants.partner_a)
    raise_alert(db, account, AlertKind.TURNED_RED, DAY.isoformat())
    raise_alert(db, account, AlertKind.RENEWAL_AT_RISK, "2027-01-31")
    raise_alert(db, account, AlertKind.CHECK_IN_OVERDUE, "2026-07-01")
    due = {i.kind: i.due_on - DAY for i in alert_items(db, account)}
    assert due == {ActionKind.TURNED_RED: timedelta(days=7), ActionKind.RENEWAL_AT_RISK: timedelta(days=14),
                   ActionKind.CHECK_IN_OVERDUE: timedelta(days=7)}


# ---- one item per account and kind ----------------------------------------------------------

def test_a_rule_that_fires_again_updates_the_open_item(db, tenants):
    account = factories.account(db, tenants.partner_a)
    raise_alert(db, account, AlertKind.CHECK_IN_OVERDUE, "2026-04-01", DAY)
    (item,) = alert_items(db, account)
    raise_alert(db, account, AlertKind.CHECK_IN_OVERDUE, "2026-07-01", DAY + timedelta(days=1))
    raise_alert(db, account, AlertKind.CHECK_IN_OVERDUE, "2026-10-01", DAY + timedelta(days=2))
    items_from_alerts(db, DAY + timedelta(days=2))  # the night run again: nothing more
    db.commit()
    (again,) = alert_items(db, account)
    assert again.id == item.id
    assert (again.raised_count, again.subject, again.last_raised_on) == (3, "2026-10-01", DAY + timedelta(days=2))
    assert events(db, item) == [ActionEventKind.OPENED, ActionEventKind.RAISED_AGAIN, ActionEventKind.RAISED_AGAIN]
    last = latest(db).scalars(select(ActionEvent.data).where(ActionEvent.item_id == item.id).order_by(ActionEvent.id.desc())).first()
    assert last == {"subject": "2026-10-01", "count": 3}


def test_a_closed_item_reopens_within_the_window_and_a_new_one_opens_after_it(db, tenants):
    settings(db, reopen_within_days=30, recovered_after_days=3)
    account = factories.account(db, tenants.partner_a)
    scored(db, account, DAY, Band.RED)
    raise_alert(db, account, AlertKind.TURNED_RED, DAY.isoformat())
    for n in range(1, 4):
        scored(db, account, DAY + timedelta(days=n), Band.YELLOW)
    resolve(db, DAY + timedelta(days=3))
    (item,) = alert_items(db, account)
    assert item.status == ActionStatus.DONE and item.auto_resolution == AutoResolution.RECOVERED

    red_again = DAY + timedelta(days=10)
    scored(db, account, red_again, Band.RED)
    raise_alert(db, account, AlertKind.TURNED_RED, red_again.isoformat(), red_again)
    (reopened,) = alert_items(db, account)
    assert reopened.id == item.id
    assert (reopened.status, reopened.resolution, reopened.auto_resolution, reopened.closed_at) == (ActionStatus.OPEN, None, None, None)
    assert (reopened.raised_count, reopened.subject, reopened.due_on) == (2, red_again.isoformat(), red_again + timedelta(days=7))
    assert events(db, item)[-1] == ActionEventKind.REOPENED

    # Closed again, and the alert returns after the window: a new item.
    for n in range(1, 4):
        scored(db, account, red_again + timedelta(days=n), Band.GREEN)
    resolve(db, red_again + timedelta(days=3))
    much_later = red_again + timedelta(days=3 + 31)
    raise_alert(db, account, AlertKind.TURNED_RED, much_later.isoformat(), much_later)
    first, second = alert_items(db, account)
    assert (first.id, first.status) == (item.id, ActionStatus.DONE)
    assert (second.status, second.raised_count, events(db, second)) == (ActionStatus.OPEN, 1, [ActionEventKind.OPENED])


def test_a_reopen_window_of_zero_days_always_opens_a_new_item(db, tenants):
    settings(db, reopen_within_days=0)
    account = factories.account(db, tenants.partner_a, segment=Segment.LOW_TOUCH)
    raise_alert(db, account, AlertKind.CHECK_IN_OVERDUE, "2026-07-01")
    factories.check_in(db, account, period_start=date(2026, 7, 1))
    resolve(db, DAY)
    raise_alert(db, account, AlertKind.CHECK_IN_OVERDUE, "2026-10-01")
    assert [(i.status, i.subject) for i in alert_items(db, account)] == [
        (ActionStatus.DONE, "2026-07-01"), (ActionStatus.OPEN, "2026-10-01")]


# ---- clearing conditions --------------------------------------------------------------------

def test_an_overdue_check_in_item_closes_when_that_check_in_arrives_and_only_it(app, db, tenants):
    account = factories.account(db, tenants.partner_a, segment=Segment.LOW_TOUCH)
    other = factories.account(db, tenants.partner_a, segment=Segment.LOW_TOUCH)
    for a in (account, other):
        raise_alert(db, a, AlertKind.CHECK_IN_OVERDUE, "2026-07-01")
    raise_alert(db, account, AlertKind.TURNED_RED, DAY.isoformat())
    factories.check_in(db, account, period_start=date(2026, 10, 1))  # another period: not this item's
    resolve(db, DAY)
    assert {i.status for i in alert_items(db, account)} == {ActionStatus.OPEN}

    factories.check_in(db, account, period_start=date(2026, 7, 1), submitted_at=datetime(2026, 11, 21, 3))
    resolve(db, DAY + timedelta(days=1))
    closed = alert_items(db, account, ActionKind.CHECK_IN_OVERDUE)[0]
    assert (closed.status, closed.auto_resolution, closed.closed_by_id) == (ActionStatus.DONE, AutoResolution.CHECK_IN_RECEIVED, None)
    assert closed.resolution == "Check-in for 2026-07 – 2026-09 received on 2026-11-21"
    assert events(db, closed)[-1] == ActionEventKind.RESOLVED
    assert alert_items(db, account, ActionKind.TURNED_RED)[0].status == ActionStatus.OPEN, "another kind stays open"
    assert alert_items(db, other)[0].status == ActionStatus.OPEN, "another account's stays open"
    with app.test_request_context(), force_locale("ja"):
        assert shown_resolution(closed) == "2026-07 – 2026-09 のヘルスチェックを 2026/11/21 に受領しました"
    with app.test_request_context(), force_locale("en"):
        assert shown_resolution(closed) == "Check-in for 2026-07 – 2026-09 received on Nov 21, 2026"


def test_a_red_accounts_item_closes_after_the_vendors_days_out_of_red(db, tenants):
    settings(db, recovered_after_days=14)
    account = factories.account(db, tenants.partner_a)
    still_red = factories.account(db, tenants.partner_a)
    for a in (account, still_red):
        scored(db, a, DAY, Band.RED)
        raise_alert(db, a, AlertKind.TURNED_RED, DAY.isoformat())
    for n in range(1, 14):
        scored(db, account, DAY + timedelta(days=n), Band.GREEN if n % 2 else Band.YELLOW)
        scored(db, still_red, DAY + timedelta(days=n), Band.RED if n == 13 else Band.GREEN)
    resolve(db, DAY + timedelta(days=13))
    assert alert_items(db, account)[0].status == ActionStatus.OPEN, "13 days out of red: not yet"
    scored(db, account, DAY + timedelta(days=14), Band.GREEN)
    scored(db, still_red, DAY + timedelta(days=14), Band.GREEN)
    resolve(db, DAY + timedelta(days=14))
    (item,) = alert_items(db, account)
    assert (item.status, item.auto_resolution, item.resolution_params) == (
        ActionStatus.DONE, AutoResolution.RECOVERED, {"since": "2026-11-21", "days": 14})
    assert item.resolution == "Recovered: out of red since 2026-11-21"
    assert alert_items(db, still_red)[0].status == ActionStatus.OPEN


def test_recovery_counts_from_the_first_snapshot_out_of_red_across_missing_days_and_pruned_history(db, tenants):
    settings(db, recovered_after_days=5)
    gap, pruned, red_in_gap = (factories.account(db, tenants.partner_a) for _ in range(3))
    for a in (gap, pruned, red_in_gap):
        scored(db, a, DAY, Band.RED)
        raise_alert(db, a, AlertKind.TURNED_RED, DAY.isoformat())
        scored(db, a, DAY + timedelta(days=1), Band.YELLOW)  # then no snapshot for a week
    scored(db, red_in_gap, DAY + timedelta(days=6), Band.RED)
    db.execute(delete(AccountScore).where(AccountScore.account_id == pruned.id, AccountScore.day <= DAY))
    db.commit()
    for a in (gap, pruned, red_in_gap):
        scored(db, a, DAY + timedelta(days=8), Band.GREEN)
    resolve(db, DAY + timedelta(days=8))
    for a in (gap, pruned):
        (item,) = alert_items(db, a)
        assert (item.status, item.resolution_params) == (ActionStatus.DONE, {"since": "2026-11-21", "days": 5})
    assert alert_items(db, red_in_gap)[0].status == ActionStatus.OPEN, "red two days ago"


def test_a_renewal_item_closes_when_the_renewal_is_recorded_or_the_account_churns(db, tenants):
    renewed = factories.account(db, tenants.partner_a, renewal_date=date(2027, 1, 31))
    churned = factories.account(db, tenants.partner_a, renewal_date=date(2027, 1, 31))
    waiting = factories.account(db, tenants.partner_a, renewal_date=date(2027, 1, 31))
    for a in (renewed, churned, waiting):
        raise_alert(db, a, AlertKind.RENEWAL_AT_RISK, "2027-01-31")
    raise_alert(db, churned, AlertKind.CHECK_IN_OVERDUE, "2026-07-01")
    raise_alert(db, waiting, AlertKind.CHECK_IN_OVERDUE, "2026-07-01")
    renewed.renewal_date = date(2028, 1, 31)
    churned.status, churned.churned_on = LifecycleStatus.CHURNED, date(2026, 11, 25)
    db.commit()
    resolve(db, DAY + timedelta(days=6))
    (item,) = alert_items(db, renewed)
    assert (item.status, item.auto_resolution, item.resolution) == (
        ActionStatus.DONE, AutoResolution.RENEWED, "Renewal recorded: the next renewal is on 2028-01-31")
    assert {(i.kind, i.auto_resolution, i.resolution) for i in alert_items(db, churned)} == {
        (ActionKind.RENEWAL_AT_RISK, AutoResolution.CHURNED, "The account churned on 2026-11-25"),
        (ActionKind.CHECK_IN_OVERDUE, AutoResolution.CHURNED, "The account churned on 2026-11-25")}
    assert {i.status for i in alert_items(db, waiting)} == {ActionStatus.OPEN}


def test_the_nightly_run_closes_an_item_once_its_check_in_arrives(db, browser, tenants):
    account = factories.account(db, tenants.partner_a, segment=Segment.HIGH_TOUCH, contract_start=date(2025, 1, 1),
                                owner_id=tenants.user_a.id)
    factories.check_in(db, account, period_start=date(2026, 4, 1))
    aggregate(db, DAY)
    (item,) = alert_items(db, account, ActionKind.CHECK_IN_OVERDUE)
    assert (item.owner_id, item.status) == (tenants.user_a.id, ActionStatus.OPEN)
    factories.check_in(db, account, period_start=date.fromisoformat(item.subject), submitted_at=datetime(2026, 11, 21, 1))
    aggregate(db, DAY + timedelta(days=1))
    closed = reload(db, item)
    assert closed.status == ActionStatus.DONE and closed.auto_resolution == AutoResolution.CHECK_IN_RECEIVED
    page = browser(tenants.partner_manager).get(f"/actions/{item.id}").get_data(as_text=True)
    assert "received on Nov 21, 2026" in page


def test_the_item_page_says_how_often_its_alert_was_raised(db, browser, tenants):
    account = factories.account(db, tenants.partner_a)
    for n, subject in enumerate(("2026-04-01", "2026-07-01", "2026-10-01")):
        raise_alert(db, account, AlertKind.CHECK_IN_OVERDUE, subject, DAY + timedelta(days=n))
    (item,) = alert_items(db, account)
    page = browser(tenants.admin_a).get(f"/actions/{item.id}").get_data(as_text=True)
    assert "Raised 3 times" in page


def test_a_red_accounts_item_says_how_long_it_has_been_red(db, browser, tenants, today_is):
    red, recovering = factories.account(db, tenants.partner_a), factories.account(db, tenants.partner_a)
    for account in (red, recovering):
        scored(db, account, DAY, Band.RED)
        raise_alert(db, account, AlertKind.TURNED_RED, DAY.isoformat())
        scored(db, account, DAY + timedelta(days=3), Band.YELLOW)
        scored(db, account, DAY + timedelta(days=5), Band.RED)
        raise_alert(db, account, AlertKind.TURNED_RED, (DAY + timedelta(days=5)).isoformat(), DAY + timedelta(days=5))
    scored(db, recovering, DAY + timedelta(days=19), Band.GREEN)
    today_is(DAY + timedelta(days=19))
    (item,), (other,) = alert_items(db, red), alert_items(db, recovering)
    reseller = browser(tenants.admin_a)
    assert "Raised 2 times; still red after 14 days" in reseller.get(f"/actions/{item.id}").get_data(as_text=True)
    page = reseller.get(f"/actions/{other.id}").get_data(as_text=True)
    assert "Raised 2 times" in page and "still red" not in page


def test_a_person_reopening_an_item_closed_by_the_portal_clears_its_outcome(db, tenants):
    from portal.actions.services import change_status

    account = factories.account(db, tenants.partner_a, renewal_date=date(2028, 1, 31))
    raise_alert(db, account, AlertKind.RENEWAL_AT_RISK, "2027-01-31")
    resolve(db, DAY)
    (item,) = alert_items(db, account)
    assert item.auto_resolution == AutoResolution.RENEWED
    change_status(db, item, ActionStatus.OPEN, None)
    db.commit()
    item = reload(db, item)
    assert (item.status, item.resolution, item.auto_resolution, item.resolution_params) == (ActionStatus.OPEN, None, None, None)


# ---- the vendor's settings ------------------------------------------------------------------

CADENCE = {f"{s.value}_{k}": v for s in Segment for k, v in (("months", "3"), ("grace", "10"))}


def test_the_rules_page_sets_the_recovery_and_reopen_windows(db, browser, tenants):
    vendor = browser(tenants.vendor_admin)
    response = vendor.post("/rules", CADENCE | {"recovered_after_days": "0", "reopen_within_days": "400"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Number must be between 1 and 365." in text and "Number must be between 0 and 365." in text
    assert latest(db).get(ReportingSettings, 1) is None
    response = vendor.post("/rules", CADENCE | {"recovered_after_days": "21", "reopen_within_days": "0"})
    assert response.status_code == 302
    saved = latest(db).get(ReportingSettings, 1)
    assert (saved.recovered_after_days, saved.reopen_within_days) == (21, 0)
    audit = latest(db).scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert audit.changes["recovered_after_days"] == [14, 21] and audit.changes["reopen_within_days"] == [30, 0]


# ---- set-based --------------------------------------------------------------------------------

def test_the_loop_takes_as_many_statements_for_many_accounts_as_for_one(app, db, tenants):
    def night(n: int, day: date) -> int:
        accounts = [factories.account(db, tenants.partner_a) for _ in range(n)]
        for a in accounts:
            db.add(Alert(kind=AlertKind.CHECK_IN_OVERDUE, account_id=a.id, partner_id=a.partner_id, subject="2026-07-01",
                         raised_on=day))
            factories.check_in(db, a, period_start=date(2026, 4, 1))
        db.commit()
        with counted(app) as statements:
            resolve_items(db, day)
            items_from_alerts(db, day)
        db.commit()
        return len(statements)

    assert night(1, DAY) == night(8, DAY + timedelta(days=1))


# ---- the demo's story -------------------------------------------------------------------------

def test_the_demo_owns_every_account_and_most_old_items_are_closed(db, today_is):
    from sqlalchemy import func

    from portal import demo
    from portal.core import clock
    from portal.models import Account, CheckIn, User

    today = date(2026, 12, 3)
    today_is(today)
    demo.load_demo(db, password_method="pbkdf2:sha256:1000", today=today, accounts_per_partner=10)
    demo.aggregate_history(db, today, weeks=12)
    db = latest(db)
    owners = {u.id: (u.partner_id, u.role) for u in db.scalars(select(User))}
    accounts = db.scalars(select(Account)).all()
    assert all(a.owner_id and owners[a.owner_id][0] == a.partner_id for a in accounts), "every account has a reseller owner"
    assert {owners[a.owner_id][1] for a in accounts} == {Role.PARTNER_ADMIN, Role.PARTNER_USER}
    items = db.scalars(select(ActionItem)).all()
    open_items = [i for i in items if i.status in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)]
    by_portal = [i for i in items if i.auto_resolution is not None]
    by_people = [i for i in items if i.status == ActionStatus.DONE and i.auto_resolution is None]
    assert {i.auto_resolution for i in by_portal} >= {AutoResolution.CHECK_IN_RECEIVED, AutoResolution.RECOVERED}
    assert by_people and all(i.resolution and i.closed_by_id for i in by_people)
    assert 0 < len(open_items) < len(by_portal) + len(by_people)
    assert any(i.due_on < today for i in open_items), "a few open and overdue"
    assert all(i.owner_id for i in items)
    end = clock.end_of_day(today)
    assert db.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.submitted_at >= end)) == 0
    assert db.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.period_start < date(2000, 1, 1))) == 0
    assert not [i for i in items if i.created_at >= end or (i.closed_at and i.closed_at >= end)]
    assert db.scalar(select(func.count()).select_from(ActionEvent).where(ActionEvent.at >= end)) == 0
