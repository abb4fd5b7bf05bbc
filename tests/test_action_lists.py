"""The action-item lists: tabs, filters, order, paging and export; taking, handing on and moving
an item's due date (each recorded); and every count (tabs, home, digests) equal to its list."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from portal.scoring.aggregation import aggregate
from portal.email.digests import Week, manager_digest, partner_digest
from portal.models import ActionEvent, ActionEventKind, ActionKind, ActionStatus, ActionStep
from tests import factories
from tests.pages import parse
from tests.readback import latest, reload
from tests.test_review_pages import counted

DAY = date(2026, 12, 3)


@pytest.fixture
def day(today_is):
    today_is(DAY)
    return DAY


def item(db, account, title, **kw):
    return factories.action_item(db, account, title=title, **kw)


def listed(response) -> list[str]:
    assert response.status_code == 200
    return parse(response).rows


@pytest.fixture
def work(db, tenants, day):
    """Items on both partners: owned, unowned, overdue, without a date, closed, of each kind."""
    a, b = tenants.account_a, tenants.account_b
    found = {
        "late_mine": item(db, a, "Late mine", owner_id=tenants.user_a.id, due_on=DAY - timedelta(days=3),
                          kind=ActionKind.CHECK_IN_OVERDUE),
        "late_nobody": item(db, a, "Late nobody", due_on=DAY - timedelta(days=10), kind=ActionKind.TURNED_RED),
        "soon_mine": item(db, a, "Soon mine", owner_id=tenants.user_a.id, due_on=DAY + timedelta(days=2)),
        "undated_admin": item(db, a, "Undated admin", owner_id=tenants.admin_a.id),
        "later_manager": item(db, a, "Later manager", owner_id=tenants.partner_manager.id, due_on=DAY + timedelta(days=9),
                              status=ActionStatus.IN_PROGRESS),
        "closed_mine": item(db, a, "Closed mine", owner_id=tenants.user_a.id, due_on=DAY - timedelta(days=30),
                            status=ActionStatus.DONE, resolution="Done"),
        "bravo_late": item(db, b, "Bravo late", owner_id=tenants.user_b.id, due_on=DAY - timedelta(days=1)),
    }
    db.add_all([ActionStep(item_id=found["late_mine"].id, partner_id=a.partner_id, position=n, title=f"Step {n}",
                           done_at=datetime(2026, 12, 2, 9, tzinfo=timezone.utc) if n == 1 else None) for n in (1, 2, 3)])
    db.commit()
    return found


def test_each_tab_lists_what_its_name_says_overdue_first_then_by_due_date(browser, tenants, work):
    reseller = browser(tenants.user_a)
    assert listed(reseller.get("/actions?tab=mine")) == ["Late mine", "Soon mine"]
    # Team: the partner's open items; overdue first (the older first), then by due date, no date last.
    team = ["Late nobody", "Late mine", "Soon mine", "Later manager", "Run a training session", "Undated admin"]
    assert listed(reseller.get("/actions?tab=team")) == team
    assert listed(reseller.get("/actions?tab=all")) == team, "a reseller has no 'all': its team is everything it sees"
    manager = browser(tenants.partner_manager)
    assert listed(manager.get("/actions?tab=mine")) == ["Later manager"]
    assert listed(manager.get("/actions?tab=team")) == team, "the partners they manage (Alpha only)"
    assert listed(browser(tenants.vendor_admin).get("/actions?tab=all")) == [
        "Late nobody", "Late mine", "Bravo late", "Soon mine", "Later manager", "Run a training session", "Bravo Secret Plan",
        "Undated admin"]


def test_a_list_opens_where_the_user_has_work(browser, tenants, work):
    assert listed(browser(tenants.user_a).get("/actions")) == ["Late mine", "Soon mine"]
    assert listed(browser(tenants.user_b).get("/actions"))[0] == "Bravo late"
    assert "Late nobody" in listed(browser(tenants.vendor_admin).get("/actions")), "owns nothing, manages nothing: all"


@pytest.mark.parametrize("query, expected", [
    ("owner=none", ["Late nobody", "Run a training session"]),
    ("owner=me", ["Late mine", "Soon mine"]),
    ("kind=turned_red", ["Late nobody"]),
    ("status=in_progress", ["Later manager"]),
    ("status=closed", ["Closed mine"]),
    ("overdue=1", ["Late nobody", "Late mine"]),
    ("q=undated", ["Undated admin"]),
    ("owner=none&overdue=1&kind=turned_red", ["Late nobody"]),
    ("q=" + "Alpha", None),  # the account's name: every open item of the account
    ("q=100%25", []),
])
def test_filters_narrow_the_team_list(browser, tenants, work, query, expected):
    rows = listed(browser(tenants.user_a).get(f"/actions?tab=team&{query}"))
    if expected is None:
        assert len(rows) == 6
    else:
        assert rows == expected


def test_the_owner_filter_by_id_and_the_vendors_partner_filter(browser, tenants, work):
    vendor = browser(tenants.vendor_admin)
    assert listed(vendor.get(f"/actions?tab=all&owner={tenants.user_a.id}")) == ["Late mine", "Soon mine"]
    assert listed(vendor.get(f"/actions?tab=all&partner_id={tenants.partner_b.id}")) == ["Bravo late", "Bravo Secret Plan"]
    # A reseller's partner filter is ignored: it only ever sees its own partner's items.
    assert "Bravo late" not in listed(browser(tenants.user_a).get(f"/actions?tab=team&partner_id={tenants.partner_b.id}"))


@pytest.mark.parametrize("query", ["kind=nonsense", "status=whatever", "owner=abc", "partner_id=-1"])
def test_a_filter_that_names_nothing_is_a_400(browser, tenants, work, query):
    response = browser(tenants.vendor_admin).get(f"/actions?{query}")
    assert response.status_code == 400


def test_the_list_shows_partner_kind_owner_and_steps_done(browser, tenants, work):
    html = browser(tenants.vendor_admin).get("/actions?tab=all&q=Late+mine").get_data(as_text=True)
    row = re.search(r"Late mine</a>.*?</tr>", html, re.S).group(0)
    assert tenants.partner_a.name in row and "Check-in overdue" in row and tenants.user_a.display_name in row
    assert "1 of 3" in row and "Overdue" in row
    assert 'data-label="Partner"' in html
    assert 'data-label="Partner"' not in browser(tenants.user_a).get("/actions?tab=team").get_data(as_text=True)


def test_the_list_pages_in_sql_and_keeps_the_filters(db, browser, tenants, day):
    for n in range(120):
        item(db, tenants.account_a, f"Item {n:03d}", due_on=DAY + timedelta(days=n))
    reseller = browser(tenants.user_a)
    first = reseller.get("/actions?tab=team&q=Item").get_data(as_text=True)
    assert "Showing 1–50 of 120" in first
    assert parse(first).rows == [f"Item {n:03d}" for n in range(50)]
    assert "page=2" in first and "q=Item" in re.search(r'href="([^"]*page=2[^"]*)"', first).group(1)
    last = reseller.get("/actions?tab=team&q=Item&page=3").get_data(as_text=True)
    assert "Showing 101–120 of 120" in last and parse(last).rows[-1] == "Item 119"


def test_a_list_over_the_count_cap_says_more_than_and_its_last_page_the_exact_total(db, browser, tenants, day, monkeypatch):
    from portal.core import lists
    monkeypatch.setattr(lists, "COUNT_CAP", 60)
    for n in range(120):
        item(db, tenants.account_a, f"Item {n:03d}", due_on=DAY + timedelta(days=n))
    reseller = browser(tenants.user_a)
    first = reseller.get("/actions?tab=team&q=Item").get_data(as_text=True)
    assert "Showing 1–50 of more than 60" in first and "Page 1 of more than 1" in first and 'rel="next"' in first
    second = reseller.get("/actions?tab=team&q=Item&page=2").get_data(as_text=True)
    assert "Showing 51–100 of more than 100" in second and "Page 2 of more than 2" in second and parse(second).rows[0] == "Item 050"
    last = reseller.get("/actions?tab=team&q=Item&page=3").get_data(as_text=True)
    assert "Showing 101–120 of 120" in last and 'rel="next"' not in last and parse(last).rows[-1] == "Item 119"


def test_the_export_is_the_filtered_list_scoped_and_safe(db, browser, tenants, work):
    item(db, tenants.account_a, "=HYPERLINK(\"http://evil\")", owner_id=tenants.user_a.id, due_on=DAY)
    body = browser(tenants.user_a).get("/actions.csv?tab=team&owner=me").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:3] == ["Item", "Account", "Kind"], "no partner column for a reseller"
    assert [r[0] for r in rows[1:]] == ["Late mine", "'=HYPERLINK(\"http://evil\")", "Soon mine"]
    assert rows[1][5:8] == ["Yes", "1", "3"]
    everything = browser(tenants.user_a).get("/actions.csv?tab=all&status=all").get_data().decode("utf-8-sig")
    assert "Bravo" not in everything
    vendor = list(csv.reader(io.StringIO(browser(tenants.vendor_admin).get("/actions.csv?tab=all").get_data().decode("utf-8-sig"))))
    assert vendor[0][2] == "Partner" and {tenants.partner_b.name} <= {r[2] for r in vendor[1:]}


@pytest.mark.parametrize("who, url", [
    ("vendor_admin", "/actions?tab=all"), ("partner_manager", "/actions?tab=team&overdue=1"),
    ("user_a", "/actions?tab=team&q=a"), ("admin_a", "/actions.csv?tab=team&status=all"), ("user_a", "/home"),
])
def test_lists_issue_as_many_queries_for_10_items_as_for_many(app, db, browser, tenants, day, who, url):
    person = browser(getattr(tenants, who))
    counts = []
    for n in (10, 70):
        for partner_account in (tenants.account_a, tenants.account_b):
            for i in range(n):
                found = item(db, partner_account, f"Grown {i}", owner_id=tenants.user_a.id if i % 2 else None,
                             due_on=DAY + timedelta(days=i - 5))
                db.add(ActionStep(item_id=found.id, partner_id=partner_account.partner_id, position=1, title="Call"))
        db.commit()
        person.get(url)
        with counted(app) as statements:
            assert person.get(url).status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], f"{url}: {counts[0]} queries with 10 items, {counts[1]} with many"


# --- Counts equal lists -------------------------------------------------------------------


def tab_count(html: str, name: str) -> int:
    return int(re.search(rf">{name} \((\d+)\)</a>", html).group(1))


def test_home_counts_what_the_lists_show_and_never_says_well_done_beside_open_work(browser, tenants, work):
    reseller = browser(tenants.user_a)
    home = reseller.get("/home").get_data(as_text=True)
    lists = reseller.get("/actions?tab=team").get_data(as_text=True)
    mine = listed(reseller.get("/actions?tab=mine"))
    late = listed(reseller.get("/actions?tab=team&overdue=1"))
    assert tab_count(lists, "Mine") == len(mine) == 2 and tab_count(lists, "My team") == 6
    assert re.search(rf'<span class="stat__value">{len(late)}</span> action items overdue', home)
    assert re.search(rf'<span class="stat__value">{len(mine)}</span> open action items of yours', home)
    assert "Well done" not in home
    yours = home.split('id="items-heading"')[1].split("</section>")[0]
    assert "Late mine" in yours and "Soon mine" in yours
    assert "Late nobody" not in yours, "an item nobody owns is not listed as yours"
    late_section = home.split('id="late-items-heading"')[1].split("</section>")[0]
    assert "Late nobody" in late_section and "Late mine" in late_section


def test_digests_count_what_the_lists_show(app, db, browser, tenants, work):
    assert aggregate(db, DAY).status == "done"  # digests need a scorecard day (its alerts may raise more items)
    with app.test_request_context():
        week = Week(latest(db), DAY)
        manager = manager_digest(week, tenants.partner_manager)
        partner = partner_digest(week, tenants.user_a)
    assert manager is not None and partner is not None
    reseller = browser(tenants.user_a)
    team, mine = listed(reseller.get("/actions?tab=team")), listed(reseller.get("/actions?tab=mine"))
    late = listed(reseller.get("/actions?tab=team&overdue=1"))
    assert [r.ActionItem.title for r in partner.items] == team
    assert (partner.counts.team, partner.counts.mine, partner.counts.overdue_team) == (len(team), len(mine), len(late))
    assert late and mine
    managed_late = listed(browser(tenants.partner_manager).get("/actions?tab=team&overdue=1"))
    assert [r.ActionItem.title for r in manager.items_past_due] == managed_late == late
    assert manager.counts.overdue_team == len(managed_late) and "Bravo late" not in managed_late


# --- Taking, handing on, moving the due date -------------------------------------------


def events(db, found, kind):
    return latest(db).scalars(select(ActionEvent).where(ActionEvent.item_id == found.id, ActionEvent.event == kind)
                              .order_by(ActionEvent.id)).all()


def test_a_reseller_takes_an_item_and_the_history_says_so(db, browser, tenants, work):
    late = work["late_nobody"]
    reseller = browser(tenants.user_a)
    assert "Take it" in reseller.get(f"/actions/{late.id}").get_data(as_text=True)
    assert reseller.post(f"/actions/{late.id}/take").status_code == 302
    assert reload(db, late).owner_id == tenants.user_a.id
    (taken,) = events(db, late, ActionEventKind.ASSIGNED)
    assert (taken.actor_id, taken.data) == (tenants.user_a.id, {"from": None, "to": tenants.user_a.id})
    assert "Late nobody" in listed(reseller.get("/actions?tab=mine"))
    page = reseller.get(f"/actions/{late.id}").get_data(as_text=True)
    assert "Took the item" in page and "Take it" not in page


def test_handing_on_is_limited_to_the_allowed_people_and_recorded(db, browser, tenants, work):
    late = work["late_mine"]
    reseller = browser(tenants.user_a)
    refused = reseller.post(f"/actions/{late.id}/owner", {"owner_id": str(tenants.user_b.id)})
    assert refused.status_code == 400 and parse(refused).errors.get("owner_id")
    assert reload(db, late).owner_id == tenants.user_a.id
    assert reseller.post(f"/actions/{late.id}/owner", {"owner_id": str(tenants.partner_manager.id)}).status_code == 302
    assert reseller.post(f"/actions/{late.id}/owner", {"owner_id": str(tenants.admin_a.id)}).status_code == 302
    assert reload(db, late).owner_id == tenants.admin_a.id
    assert [e.data for e in events(db, late, ActionEventKind.ASSIGNED)] == [
        {"from": tenants.user_a.id, "to": tenants.partner_manager.id},
        {"from": tenants.partner_manager.id, "to": tenants.admin_a.id}]
    page = browser(tenants.partner_manager).get(f"/actions/{late.id}").get_data(as_text=True)
    assert f"Owner changed from {tenants.partner_manager.display_name} to {tenants.admin_a.display_name}" in page


def test_the_due_date_moves_forward_only_and_is_recorded(db, browser, tenants, work):
    soon = work["soon_mine"]
    reseller = browser(tenants.user_a)
    refused = reseller.post(f"/actions/{soon.id}/due", {"due_on": (DAY - timedelta(days=1)).isoformat()})
    assert refused.status_code == 400 and parse(refused).errors.get("due_on")
    assert reseller.post(f"/actions/{soon.id}/due", {"due_on": "not a date"}).status_code == 400
    assert reseller.post(f"/actions/{soon.id}/due", {"due_on": "2026-12-24"}).status_code == 302
    assert reload(db, soon).due_on == date(2026, 12, 24)
    (moved,) = events(db, soon, ActionEventKind.DUE_CHANGED)
    assert moved.data == {"from": "2026-12-05", "to": "2026-12-24"} and moved.actor_id == tenants.user_a.id


def test_a_status_change_is_recorded_and_names_who_closed(db, browser, tenants, work):
    soon = work["soon_mine"]
    reseller = browser(tenants.user_a)
    assert reseller.post(f"/actions/{soon.id}/status", {"status": "done", "resolution": "Called them"}).status_code == 302
    assert reload(db, soon).closed_by_id == tenants.user_a.id
    (changed,) = events(db, soon, ActionEventKind.STATUS_CHANGED)
    assert changed.data == {"from": "open", "to": "done"}
    assert "Status changed from Open to Done" in reseller.get(f"/actions/{soon.id}").get_data(as_text=True)


@pytest.mark.parametrize("who", ["user_a", "admin_a"])
def test_a_reseller_cannot_touch_another_partners_item(db, browser, tenants, work, who):
    bravo = work["bravo_late"]
    other = browser(getattr(tenants, who))
    assert other.get(f"/actions/{bravo.id}").status_code == 404
    assert other.post(f"/actions/{bravo.id}/take").status_code == 404
    assert other.post(f"/actions/{bravo.id}/owner", {"owner_id": str(tenants.user_a.id)}).status_code == 404
    assert other.post(f"/actions/{bravo.id}/due", {"due_on": "2026-12-31"}).status_code == 404
    after = reload(db, bravo)
    assert (after.owner_id, after.due_on) == (tenants.user_b.id, DAY - timedelta(days=1))
    assert events(db, bravo, ActionEventKind.ASSIGNED) == []


# --- The account page and the scorecard ---------------------------------------------------


def test_account_page_and_scorecard_list_open_items_with_owner_and_steps(db, browser, tenants, work):
    assert aggregate(db, DAY).status == "done"  # the scorecard page needs its figures
    reseller = browser(tenants.user_a)
    account = reseller.get(f"/accounts/{tenants.account_a.id}").get_data(as_text=True)
    card = account.split('id="actions"')[1].split("</section>")[0]
    assert "Late mine" in card and tenants.user_a.display_name in card and "Steps done: 1 of 3" in card
    assert "Closed mine" not in card
    scorecard = reseller.get(f"/partners/{tenants.partner_a.id}/scorecard").get_data(as_text=True)
    assert "Late nobody" in scorecard and "Steps done: 1 of 3" in scorecard and "Bravo" not in scorecard


def test_a_closed_item_keeps_its_owner_and_due_date_until_it_is_reopened(db, browser, tenants, work):
    late = work["late_nobody"]
    reseller = browser(tenants.user_a)
    assert reseller.post(f"/actions/{late.id}/status", {"status": "done", "resolution": "Called the customer"}).status_code == 302
    page = reseller.get(f"/actions/{late.id}").get_data(as_text=True)
    assert "Take it" not in page and "Change owner" not in page and "reopen it" in page
    for path, form in (("take", {}), ("owner", {"owner_id": str(tenants.user_a.id)}), ("due", {"due_on": "2026-12-24"})):
        refused = reseller.post(f"/actions/{late.id}/{path}", form)
        assert refused.status_code == 409 and "This item is closed" in refused.get_data(as_text=True)
    after = reload(db, late)
    assert (after.owner_id, after.due_on) == (late.owner_id, late.due_on)
    assert events(db, late, ActionEventKind.ASSIGNED) == [] and events(db, late, ActionEventKind.DUE_CHANGED) == []


def test_the_first_open_items_keep_the_lists_order_however_they_are_read(db, tenants, day):
    """The scorecard and the home read a partner's first open items by due date (the partial index's
    order) instead of the lists' "overdue first": for open items it is the same order, overdue
    first, then by due date, undated last, then id, and closed items are not among them."""
    from portal.actions import listing
    from portal.models import ActionItem

    a = tenants.account_a
    dues = [DAY + timedelta(days=5), None, DAY - timedelta(days=30), DAY, None, DAY - timedelta(days=1), DAY + timedelta(days=5)]
    made = [item(db, a, f"item {i}", due_on=due) for i, due in enumerate(dues)]
    item(db, a, "closed, overdue", due_on=DAY - timedelta(days=90), status=ActionStatus.DONE, resolution="fixed")
    db.commit()
    scoped = select(ActionItem).where(ActionItem.partner_id == tenants.partner_a.id)
    open_items = [i for i in latest(db).scalars(scoped) if i.status in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)]
    assert {i.id for i in made} <= {i.id for i in open_items}
    expected = sorted(open_items, key=lambda i: (not (i.due_on is not None and i.due_on < DAY), i.due_on is None, i.due_on or DAY, i.id))
    rows, total = listing.first_open(db, scoped, DAY, 20)
    assert [row[0].title for row in rows] == [i.title for i in expected] and total == len(open_items)
    home = listing.first_items(db, tenants.admin_a, listing.Filters(tab="team"), DAY, 20)
    assert [row[0].title for row in home] == [i.title for i in expected]
    overdue = listing.first_items(db, tenants.admin_a, listing.Filters(tab="team", overdue=True), DAY, 20)
    assert [row[0].title for row in overdue] == [i.title for i in expected if i.due_on is not None and i.due_on < DAY]
    assert [row[0].title for row in overdue][:2] == ["item 2", "item 5"]
