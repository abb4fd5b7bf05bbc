"""One number, one form: a figure is rounded and written once (portal/core/formatting.py, the
kinds in portal/scoring/figures.py), so the scorecard, the benchmark, the export and the digest
email show the same NPS and the same percentage; a change is the difference of the figures as
shown, coloured in the figure's own direction; moments are in the reader's zone and language."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, time, timedelta
from html import unescape

import pytest
from sqlalchemy import update

from portal.core import formatting
from portal.email import digests
from portal.email.outbox import Rendered, queue
from portal.email.services import render
from portal.models import EmailKind, PartnerScorecard
from portal.scoring import figures
from portal.scoring.aggregation import aggregate
from tests import factories


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture
def awkward(app, db, tenants):
    """Partner A's scorecards with figures that need rounding: NPS −6.67 now (−10.4 a week
    before), reporting compliance 66.666 %, more ARR at risk than a week before."""
    today = app.config["PORTAL"].today()
    before = today - timedelta(days=7)
    for day in (before, today):
        assert aggregate(db, day).status == "done"
    for day, nps, at_risk in ((today, -6.666, 2_000_000), (before, -10.4, 1_500_000)):
        db.execute(update(PartnerScorecard).where(PartnerScorecard.partner_id == tenants.partner_a.id, PartnerScorecard.day == day)
                   .values(nps=nps, reporting_compliance_pct=66.666, at_risk_arr_jpy=at_risk))
    db.commit()
    return today


def test_the_same_nps_and_percentage_on_the_scorecard_the_benchmark_the_export_and_the_digest(app, db, browser, tenants, awkward):
    page = text_of(browser(tenants.admin_a).get(f"/partners/{tenants.partner_a.id}/scorecard").get_data(as_text=True))
    # The figures table and the benchmark table, each: "NPS −7", never −6.7 in one of them.
    assert page.count("NPS −7") == 2 and "6.7" not in page.replace("66.7", "")
    assert page.count("Reporting compliance 66.7%") == 2

    export = browser(tenants.vendor_admin).get("/channel/partners.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(export)))
    row = next(r for r in rows if r["Partner"] == tenants.partner_a.name)
    assert row["NPS"] == "-7" and row["Reporting compliance"] == "66.7"  # numbers, rounded as shown

    with app.test_request_context():
        data = digests.partner_digest(digests.Week(db, awkward), tenants.admin_a)
        email = render(app, EmailKind.PARTNER_DIGEST, tenants.admin_a, data)
    # −10 a week before, −7 now: the change is +3 (as shown), good news, in green.
    assert "- NPS: −7 (+3)" in email.text
    assert "- Reporting compliance: 66.7%" in email.text
    assert "−7" in email.html and 'color:#166534;">(+3)' in email.html
    # More ARR at risk is bad news, in red.
    assert 'color:#991b1b;">(+¥500,000)' in email.html


def test_a_change_is_the_difference_of_the_shown_figures_and_good_or_bad_in_the_figures_direction(app):
    with app.test_request_context():
        # 9.4 → 13.1 shows as 9 → 13: the change reads +4, not +3.7.
        assert (figures.shown(9.4, "average_health"), figures.shown(13.1, "average_health")) == ("9", "13")
        assert figures.shown_change(13.1, 9.4, "average_health") == formatting.Change(4, "+4", "good")
        # Churned ARR going up is bad; at-risk ARR going down is good.
        assert figures.shown_change(3_000_000, 1_000_000, "churned_arr_jpy").tone == "bad"
        assert figures.shown_change(1_000_000, 3_000_000, "at_risk_arr_jpy") == formatting.Change(-2_000_000, "−¥2,000,000", "good")
        # A percentage changes in points; figures that read the same show no change.
        assert figures.shown_change(66.66, 65.0, "renewal_rate_pct").text == "+1.7 pt"
        assert figures.shown_change(66.66, 66.65, "renewal_rate_pct") is None
        assert figures.shown_change(None, 3, "nps") is None
        # NPS: whole, signed, a real minus; exports keep the rounded number.
        assert [figures.shown(v, "nps") for v in (-6.67, 0, 12.5, None)] == ["−7", "0", "+13", "—"]
        assert figures.exported(-6.67, "nps") == -7 and figures.exported(66.666, "grr_pct") == 66.7
        assert figures.shown(55.5, "median_ttfv_days") == "56 days"


def test_the_channel_movers_change_matches_the_figures_it_sits_beside(app, db, browser, tenants, awkward):
    before = awkward - timedelta(days=7)
    for day, health in ((before, 9.4), (awkward, 13.1)):
        db.execute(update(PartnerScorecard).where(PartnerScorecard.partner_id == tenants.partner_a.id, PartnerScorecard.day == day)
                   .values(average_health=health))
    db.commit()
    page = text_of(browser(tenants.vendor_admin).get("/channel").get_data(as_text=True))
    assert f"{tenants.partner_a.name} : 9 → 13 ( +4 (better) )" in page


def test_a_partner_whose_average_reads_the_same_is_not_a_mover(app, db, browser, tenants, awkward):
    before = awkward - timedelta(days=7)
    for day, health in ((before, 66.2), (awkward, 65.8)):  # both show 66
        db.execute(update(PartnerScorecard).where(PartnerScorecard.partner_id == tenants.partner_a.id, PartnerScorecard.day == day)
                   .values(average_health=health))
    db.commit()
    page = text_of(browser(tenants.vendor_admin).get("/channel").get_data(as_text=True))
    assert "66 → 66" not in page and "( )" not in page


@pytest.mark.parametrize("language, shown", [("en", "Dec 2, 2026, 9:15 PM"), ("ja", "2026/12/02 21:15")])
def test_moments_show_in_the_readers_zone_and_language_in_one_format(app, db, browser, tenants, language, shown):
    """An alert email's key holds the stored UTC minute; the outbox shows it, and when it was
    queued, in the reader's zone (Tokyo, UTC+9) and language, never as raw ISO."""
    tenants.vendor_admin.language, tenants.vendor_admin.time_zone = language, "Asia/Tokyo"
    message = queue(db, tenants.admin_a, EmailKind.ALERT, "2026-12-02T12:15",
                    Rendered(subject="Alert", text="x", html="<p>x</p>", language="en"),
                    now=datetime(2026, 12, 2, 12, 15))
    db.commit()
    page = text_of(browser(tenants.vendor_admin).get(f"/outbox/{message.id}").get_data(as_text=True))
    assert "2026-12-02T12:15" not in page
    assert page.count(shown) == 2  # the period key and the time it was queued


def sparkline_heights(app, values) -> list[float]:
    with app.test_request_context():
        macro = app.jinja_env.get_template("scoring/_figures.html").module.sparkline
        svg = str(macro(values, "trend", 72, 28))
    points = re.search(r'<polyline[^>]* points="([^"]*)"', svg).group(1).split()
    return [float(p.split(",")[1]) for p in points]


def test_ranking_sparklines_share_one_0_to_100_scale(app):
    # A 2-point wobble moves the line under a pixel; 0 and 100 sit at the bottom and the top.
    wobble = sparkline_heights(app, [50, 52, 50])
    assert abs(wobble[0] - wobble[1]) < 1
    assert sparkline_heights(app, [0, 100]) == [26.0, 2.0]
    assert sparkline_heights(app, [20, 22]) != sparkline_heights(app, [70, 72])  # not each on its own range


def test_a_week_without_an_account_score_is_a_gap_in_its_trend_not_a_zero(app, db, tenants):
    from portal.scoring import insights

    today = app.config["PORTAL"].today()
    # enough data for account A to have a score (the fixture's check-in holds a sentiment alone)
    factories.check_in(db, tenants.account_a, period_start=tenants.check_in_a.period_start, version=2,
                       active_users=10, nps=8, outcome_progress=50,
                       submitted_at=datetime.combine(today - timedelta(days=30), time(9)))
    db.commit()
    for day in (today - timedelta(days=14), today):  # no run the week between
        assert aggregate(db, day).status == "done"
    trend = insights.account_trend(db, tenants.account_a.id, today)
    assert [w.day for w in trend] == [today - timedelta(days=14), today - timedelta(days=7), today]
    assert trend[1].score is None and trend[1].band is None
    assert trend[0].score is not None and trend[2].score is not None


def test_every_page_links_a_favicon_that_exists(browser):
    client = browser()
    page = client.get("/login").get_data(as_text=True)
    href = re.search(r'<link rel="icon" href="([^"]+)"', page).group(1)
    icon = client.get(href)
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
