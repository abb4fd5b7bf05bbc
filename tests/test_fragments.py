"""Parts of the partner scorecard rendered once per snapshot (portal.core.fragments): a kept part
never shows another partner's figures, another viewer's view or another language, and a new
snapshot or a change a user makes (tier rules, the partner's tier or name) shows at once."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from portal.core.fragments import Fragments
from portal.models import PartnerTier
from portal.scoring import tiers
from portal.scoring.aggregation import aggregate
from tests import factories

DAY = date(2026, 11, 23)


@pytest.fixture(autouse=True)
def _day(today_is):
    today_is(DAY)


def live_accounts(html: str) -> int:
    return int(re.search(r'stat__value">(\d+)</span>Live accounts', html).group(1))


def scorecard(person, partner) -> str:
    response = person.get(f"/partners/{partner.id}/scorecard")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_store_keeps_each_key_once_and_forgets_the_oldest_beyond_its_size():
    store, made = Fragments(size=2), []

    def make(value):
        return lambda: made.append(value) or value

    assert [store.get_or_make(k, make(k)) for k in ("a", "b", "a")] == ["a", "b", "a"]
    assert made == ["a", "b"]  # "a" the second time came from the store
    store.get_or_make("c", make("c"))  # "b", the least recently used, goes
    assert len(store) == 2
    store.get_or_make("b", make("b"))
    assert made == ["a", "b", "c", "b"]


def test_each_partner_sees_its_own_figures_whoever_was_shown_first(db, browser, tenants):
    for n in range(3):
        factories.account(db, tenants.partner_b, name=f"Bravo Extra {n}")
    assert aggregate(db, DAY).status == "done"
    vendor = browser(tenants.vendor_admin)
    a, b = live_accounts(scorecard(vendor, tenants.partner_a)), live_accounts(scorecard(vendor, tenants.partner_b))
    assert b == a + 3
    # The resellers after the vendor (same snapshot, same language), each its own partner.
    assert live_accounts(scorecard(browser(tenants.admin_a), tenants.partner_a)) == a
    assert live_accounts(scorecard(browser(tenants.admin_b), tenants.partner_b)) == b
    assert browser(tenants.admin_a).get(f"/partners/{tenants.partner_b.id}/scorecard").status_code == 404


def test_a_new_snapshot_shows_at_once(db, browser, tenants):
    assert aggregate(db, DAY).status == "done"
    vendor = browser(tenants.vendor_admin)
    before = live_accounts(scorecard(vendor, tenants.partner_a))
    factories.account(db, tenants.partner_a, name="Joined Today KK")
    assert live_accounts(scorecard(vendor, tenants.partner_a)) == before  # the figures are the snapshot's
    assert aggregate(db, DAY, force=True).status == "done"  # the same day computed again
    assert live_accounts(scorecard(vendor, tenants.partner_a)) == before + 1
    assert aggregate(db, DAY + timedelta(days=1)).status == "done"  # the next night
    html = scorecard(vendor, tenants.partner_a)
    assert live_accounts(html) == before + 1 and "Nov 24, 2026" in html


def test_tier_changes_show_at_once(db, browser, tenants):
    assert aggregate(db, DAY).status == "done"
    vendor = browser(tenants.vendor_admin)
    html = scorecard(vendor, tenants.partner_a)
    assert "No tier rules yet" in html
    tiers.save_rules(db, {PartnerTier.SILVER: {"average_health": 10.0}, PartnerTier.GOLD: {"average_health": 99.0}})
    db.commit()
    html = scorecard(vendor, tenants.partner_a)
    assert "No tier rules yet" not in html and "needs:" in html
    partner = db.get(type(tenants.partner_a), tenants.partner_a.id)
    partner.tier, partner.name = PartnerTier.GOLD, "Alpha Renamed KK"
    db.commit()
    html = scorecard(vendor, tenants.partner_a)
    assert "Tier: Gold, as assigned by the vendor." in html and "Alpha Renamed KK" in html


def test_the_channel_column_follows_the_viewer_not_who_was_shown_first(db, browser, tenants):
    """With two partners a reseller is not shown the channel-wide optimism rate (it would give
    away the other's); the vendor is, and the vendor's page is rendered first."""
    assert aggregate(db, DAY).status == "done"
    vendor_html = scorecard(browser(tenants.vendor_admin), tenants.partner_a)
    reseller_html = scorecard(browser(tenants.admin_a), tenants.partner_a)

    def optimism(html):
        return html.split("Reseller optimism check</h2>")[1].split("</section>")[0]

    assert '<th scope="col" class="num">Channel</th>' in optimism(vendor_html)
    assert '<th scope="col" class="num">Channel</th>' not in optimism(reseller_html)


def test_each_language_gets_its_own_rendering(db, browser, tenants):
    assert aggregate(db, DAY).status == "done"
    assert "Live accounts" in scorecard(browser(tenants.admin_a), tenants.partner_a)
    tenants.user_a.language = "ja"
    db.merge(tenants.user_a)
    db.commit()
    html = scorecard(browser(tenants.user_a), tenants.partner_a)
    assert "Live accounts" not in html and "契約中アカウント数" in html


def test_the_counts_of_check_ins_owed_follow_a_change_at_once(db, browser, tenants):
    """The home counts what the nightly list holds once per list, and the accounts changed since
    live: a customer who churns after the list leaves the count at the next page."""
    from portal.models import LifecycleStatus, Segment
    from portal.reporting.cadence import store_owed

    late = [factories.account(db, tenants.partner_a, name=f"Never Reports {n}", segment=Segment.HIGH_TOUCH,
                              contract_start=date(2024, 1, 1)) for n in range(3)]
    store_owed(db, DAY)
    db.commit()
    admin = browser(tenants.admin_a)

    def overdue_count() -> int:
        return int(re.search(r'stat__value">(\d+)</span> check-ins? overdue', admin.get("/home").get_data(as_text=True)).group(1))

    before = overdue_count()
    assert before >= 3 and overdue_count() == before
    gone = db.get(type(late[0]), late[0].id)
    gone.status, gone.churned_on, gone.churn_reason = LifecycleStatus.CHURNED, DAY, "Moved away"
    db.commit()
    assert overdue_count() == before - 1
