"""Partner tiers by thresholds: which tier a scorecard qualifies for, what the next one needs,
the admin's thresholds page, the reseller's progress and the vendor's list of movers."""
from __future__ import annotations

import re

from types import SimpleNamespace

from sqlalchemy import select

from portal.core import clock
from portal.scoring import tiers
from portal.scoring.aggregation import aggregate
from portal.models import PartnerTier, TierRule
from tests import factories
from tests.pages import parse
from tests.readback import latest

THRESHOLDS = {
    PartnerTier.PLATINUM: {"accounts": 50, "average_health": 80},
    PartnerTier.GOLD: {"accounts": 10, "average_health": 60},
    PartnerTier.SILVER: {"accounts": 1},
}


def card(**figures):
    values = dict.fromkeys(tiers.TIER_FIGURES)
    values.update(figures)
    return SimpleNamespace(**values)


def test_the_best_tier_whose_every_threshold_is_met_and_what_the_next_needs():
    progress = tiers.progress(card(accounts=12, average_health=65.0), THRESHOLDS)
    assert (progress.qualifies_for, progress.next_tier) == (PartnerTier.GOLD, PartnerTier.PLATINUM)
    assert [(g.figure, g.minimum, g.value, g.met) for g in progress.gaps] == [
        ("accounts", 50, 12, False), ("average_health", 80, 65.0, False)]
    # One threshold short of gold: silver, and gold's list says which one.
    short = tiers.progress(card(accounts=12, average_health=55.0), THRESHOLDS)
    assert (short.qualifies_for, short.next_tier) == (PartnerTier.SILVER, PartnerTier.GOLD)
    assert [g.met for g in short.gaps] == [True, False]
    # No data for a figure never meets it; no thresholds at all: registered, nothing to reach.
    assert tiers.qualifying_tier(card(accounts=None), THRESHOLDS) == PartnerTier.REGISTERED
    assert tiers.progress(card(accounts=99), {}).next_tier is None
    assert tiers.progress(card(accounts=99, average_health=99.0), THRESHOLDS).next_tier is None


def form(**values):
    data = {f"{t.value}__{f}": "" for t in tiers.RANKED_TIERS for f in tiers.TIER_FIGURES}
    data.update(values)
    return data


def test_the_admin_sets_thresholds_and_resellers_see_their_progress(db, browser, tenants):
    admin = browser(tenants.vendor_admin)
    response = admin.post("/rules/tiers", form(gold__accounts="1", gold__average_health="1", platinum__accounts="100"))
    assert response.status_code == 302
    saved = {(r.tier, r.figure, r.minimum) for r in latest(db).scalars(select(TierRule))}
    assert saved == {(PartnerTier.GOLD, "accounts", 1.0), (PartnerTier.GOLD, "average_health", 1.0),
                     (PartnerTier.PLATINUM, "accounts", 100.0)}
    # enough data for a score (the fixture's check-in holds a sentiment alone: "Not enough data")
    factories.check_in(db, tenants.account_a, period_start=tenants.check_in_a.period_start, version=2,
                       active_users=10, nps=8, outcome_progress=50)
    assert aggregate(db, clock.today()).status == "done"

    page = browser(tenants.user_a).get(f"/partners/{tenants.partner_a.id}/scorecard").get_data(as_text=True)
    assert "Tier: Silver, as assigned by the vendor. The scorecard meets Gold, above the tier held" in words(page)
    assert "Platinum needs:" in words(page) and "For Platinum" in page
    movers = admin.get("/rules/tiers").get_data(as_text=True)
    assert tenants.partner_a.name in movers and "holds Silver; the scorecard meets Gold" in movers


def test_a_negative_or_unreadable_threshold_is_refused_at_its_box(db, browser, tenants):
    admin = browser(tenants.vendor_admin)
    for bad in ("-5", "lots"):
        response = admin.post("/rules/tiers", form(gold__nrr_pct=bad))
        assert response.status_code == 400
        assert parse(response).errors.get("gold__nrr_pct")
    assert latest(db).scalars(select(TierRule)).all() == []


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_with_no_thresholds_saved_nobody_seems_demoted(db, browser, tenants):
    tenants.partner_a.tier = PartnerTier.GOLD
    db.commit()
    assert aggregate(db, clock.today()).status == "done"
    page = words(browser(tenants.user_a).get(f"/partners/{tenants.partner_a.id}/scorecard").get_data(as_text=True))
    assert "Tier: Gold, as assigned by the vendor. No tier rules yet" in page
    assert "Registered" not in page and "No higher tier" not in page
    admin_page = words(browser(tenants.vendor_admin).get("/rules/tiers").get_data(as_text=True))
    assert "No tier rules yet" in admin_page and "holds Gold" not in admin_page
    assert tiers.movers(db, clock.today()) == []
    assert tiers.progress(card(accounts=9), {}, held=PartnerTier.GOLD).standing == "no_rules"


def test_a_partner_below_its_tier_sees_what_keeping_it_needs():
    below = tiers.progress(card(accounts=12, average_health=55.0), THRESHOLDS, held=PartnerTier.GOLD)
    assert (below.standing, below.qualifies_for, below.target) == ("below", PartnerTier.SILVER, PartnerTier.GOLD)
    assert [(g.figure, g.met) for g in below.gaps] == [("accounts", True), ("average_health", False)]
    level = tiers.progress(card(accounts=12, average_health=65.0), THRESHOLDS, held=PartnerTier.GOLD)
    assert (level.standing, level.target) == ("meets", PartnerTier.PLATINUM)
    above = tiers.progress(card(accounts=12, average_health=65.0), THRESHOLDS, held=PartnerTier.SILVER)
    assert (above.standing, above.target) == ("above", PartnerTier.PLATINUM)


def test_the_below_case_reads_to_keep_the_held_tier(db, browser, tenants):
    admin = browser(tenants.vendor_admin)
    admin.post("/rules/tiers", form(silver__accounts="1", gold__accounts="50"))
    tenants.partner_a.tier = PartnerTier.GOLD
    db.commit()
    assert aggregate(db, clock.today()).status == "done"
    page = words(browser(tenants.user_a).get(f"/partners/{tenants.partner_a.id}/scorecard").get_data(as_text=True))
    assert "The scorecard meets Silver, below the tier held" in page and "To keep Gold, the scorecard needs:" in page


def test_the_threshold_table_has_tiers_as_columns_and_figures_as_rows(browser, tenants):
    html = browser(tenants.vendor_admin).get("/rules/tiers").get_data(as_text=True)
    table = html.split('class="table-wrap tier-table"')[1].split("</table>")[0]
    head = re.findall(r'<th scope="col">([^<]+)</th>', table)
    assert head == ["Figure", "Platinum", "Gold", "Silver"]
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", table, re.S)
    assert len(rows) == len(tiers.TIER_FIGURES)
    # One plain cell per tier: a cell that is itself a flex box ("field") would break the table's columns.
    assert all(row.count("<td>") == 3 and '<td class="field' not in row for row in rows)
