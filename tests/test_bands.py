"""Bands tied to risk: on a generated population whose churn is drawn from the reported signals
(bench/bands.py, seeded), the default model's churn rate rises green -> yellow -> red and red
holds at least 10 % of the accounts. The full-size run is `python bench/bands.py`."""
from __future__ import annotations

from dataclasses import replace

import pytest

from bench import bands
from portal.scoring.health import current_model


@pytest.fixture
def population(db):
    return bands.populate(db, 300, seed=14)


def test_churn_rises_band_by_band_and_red_holds_a_tenth_of_the_accounts(db, population):
    rows = bands.churn_by_band(db, current_model(db), population)
    green, yellow, red = (rows[b].churn_rate for b in ("green", "yellow", "red"))
    assert green is not None and yellow is not None and red is not None
    assert green < yellow < red, bands.report(rows, bands.checks(rows))
    assert rows["red"].share >= bands.RED_SHARE_FLOOR
    assert all(c.passed for c in bands.checks(rows))
    assert sum(r.accounts for r in rows.values()) == 300


def test_the_check_fails_for_bands_not_tied_to_risk(db, population):
    """Green from a score of 1 (yellow only where an escalation or red sentiment caps it): no red."""
    rows = bands.churn_by_band(db, replace(current_model(db), green_min=1, yellow_min=0), population)
    results = {c.name: c for c in bands.checks(rows)}
    assert rows["red"].accounts == 0
    assert not results["red share of accounts"].passed
    assert not results["churn rate red vs yellow"].passed
    assert "FAIL red share of accounts: 0.0% vs floor 10.0% (ratio 0.00, at least 1.00)" in bands.report(rows, bands.checks(rows))


def test_accounts_short_of_data_are_counted_apart_not_green(db, population):
    rows = bands.churn_by_band(db, current_model(db), population)
    everything = bands.churn_by_band(db, replace(current_model(db), min_coverage_pct=0), population)
    assert rows[None].accounts > 0 and everything[None].accounts == 0
    assert everything["green"].accounts > rows["green"].accounts
