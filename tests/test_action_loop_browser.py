"""The loop in a browser: a reseller takes the overdue-check-in item, reports the check-in, does
nothing else; the next nightly run closes the item with its resolution, and the partner manager
sees it on the item and on the account's timeline."""
from __future__ import annotations

from datetime import date, timedelta

from portal.models import ActionItem, ActionKind, ActionStatus, AutoResolution, Segment
from portal.scoring.aggregation import aggregate
from sqlalchemy import select
from tests import factories
from tests.test_browser import log_in, no_csp_violations  # noqa: F401 (fixture)

DAY = date(2026, 12, 3)


def test_a_reported_check_in_closes_its_item_at_the_next_nightly_run(db, chromium, live_url, tenants, today_is):
    today_is(DAY)
    account = factories.account(db, tenants.partner_a, name="Kobe Logistics", segment=Segment.LOW_TOUCH,
                                contract_start=date(2025, 1, 1), owner_id=tenants.admin_a.id)
    factories.check_in(db, account, period_start=date(2026, 4, 1))
    assert aggregate(db, DAY).status == "done"
    item = db.scalars(select(ActionItem).where(ActionItem.account_id == account.id,
                                               ActionItem.kind == ActionKind.CHECK_IN_OVERDUE)).one()
    assert item.subject == "2026-07-01" and item.owner_id == tenants.admin_a.id

    reseller = log_in(chromium, live_url, tenants.user_a, width=390)
    reseller.goto(f"{live_url}/actions?tab=team&kind=check_in_overdue")
    reseller.locator("tbody tr", has_text="Kobe Logistics").get_by_role("link", name="Check-in overdue: please report").click()
    reseller.get_by_role("button", name="Take it").click()
    assert "You own this item now." in reseller.locator("main").inner_text()
    reseller.get_by_role("link", name="Report the check-in").click()
    reseller.get_by_label("Active users").fill("12")
    reseller.get_by_label("Green", exact=True).check()
    reseller.get_by_role("button", name="Save check-in").click()
    assert reseller.locator(".flashes").inner_text().startswith("Check-in for 2026-07 – 2026-09")
    db.expire_all()
    assert db.get(ActionItem, item.id).status == ActionStatus.OPEN  # nothing closes it but the nightly run
    db.commit()

    today_is(DAY + timedelta(days=1))
    assert aggregate(db, DAY + timedelta(days=1)).status == "done"
    db.expire_all()
    closed = db.get(ActionItem, item.id)
    assert (closed.status, closed.auto_resolution, closed.owner_id) == (
        ActionStatus.DONE, AutoResolution.CHECK_IN_RECEIVED, tenants.user_a.id)

    manager = log_in(chromium, live_url, tenants.partner_manager)
    manager.goto(f"{live_url}/actions/{item.id}")
    resolution = f"Check-in for 2026-07 – 2026-09 received on {DAY:%b} {DAY.day}, {DAY.year}"
    assert resolution in manager.locator("main").inner_text()
    manager.goto(f"{live_url}/accounts/{account.id}/timeline")
    feed = manager.locator("main").inner_text()
    # Newest first: the portal closing the item, the reseller's check-in, the reseller taking the item.
    closing = feed.index(resolution)
    report = feed.index("Check-in for 2026-07 – 2026-09 submitted")
    taking = feed.index(f"{tenants.admin_a.display_name} → {tenants.user_a.display_name}")
    assert closing < report < taking
    assert "Period: 2026-07 – 2026-09" in feed  # the alert, as the pages write a period
