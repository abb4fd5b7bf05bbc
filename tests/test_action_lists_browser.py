"""The action list in a browser: a reseller on a phone finds the team's overdue item, takes it,
and the item's history says so; the list and the item page fit 390 px and read in Japanese."""
from __future__ import annotations

import os
from datetime import date, timedelta

from tests import factories
from tests.test_browser import log_in, no_csp_violations  # noqa: F401 (fixture)

DAY = date(2026, 12, 3)
SHOTS = os.environ.get("PORTAL_SCREENSHOTS")  # a folder: save what each step looked like, to read


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_reseller_takes_an_overdue_item_from_a_phone(db, chromium, live_url, tenants, today_is):
    today_is(DAY)
    late = factories.action_item(db, tenants.account_a, title="Check-in overdue: please report", due_on=DAY - timedelta(days=4))
    for n in range(3):
        factories.action_item(db, tenants.account_a, title=f"Later item {n}", due_on=DAY + timedelta(days=n + 1))
    page = log_in(chromium, live_url, tenants.user_a, width=390)
    assert "1 action item overdue" in " ".join(page.locator(".stats").inner_text().split())
    shot(page, "home-390")
    page.goto(f"{live_url}/actions?tab=team")
    assert fits(page)
    shot(page, "actions-390")
    first_row = page.locator("tbody tr").first
    assert "Check-in overdue: please report" in first_row.inner_text() and "Overdue" in first_row.inner_text()
    first_row.get_by_role("link", name="Check-in overdue: please report").click()
    page.get_by_role("button", name="Take it").click()
    assert "You own this item now." in page.locator("main").inner_text()
    assert "Took the item" in page.locator("#thread").inner_text()
    assert fits(page)
    shot(page, "item-390")
    page.goto(f"{live_url}/actions?tab=mine")
    assert page.locator("tbody tr").count() == 1 and "Mine (1)" in page.locator("nav.segmented").inner_text()
    assert late.id


def test_the_vendors_list_at_1280_and_in_japanese(db, chromium, live_url, tenants, today_is):
    today_is(DAY)
    for n in range(55):
        factories.action_item(db, tenants.account_b if n % 2 else tenants.account_a, title=f"Item {n}",
                              due_on=DAY + timedelta(days=n - 10), owner_id=tenants.user_a.id if n % 3 == 0 else None)
    tenants.vendor_admin.language = "ja"
    db.commit()
    page = log_in(chromium, live_url, tenants.vendor_admin)
    page.goto(f"{live_url}/actions?tab=all")
    text = page.locator("main").inner_text()
    assert "57件中 1–50件を表示" in text and "期限超過" in text
    shot(page, "actions-1280-ja")
    page.goto(f"{live_url}/actions?tab=all&page=2")
    assert "57件中 51–57件を表示" in page.locator("main").inner_text()
