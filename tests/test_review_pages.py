"""The vendor's review pages: the partner ranking (sorted and filtered in SQL, exported), and
a query count that does not grow with the data on every list page."""
from __future__ import annotations

import csv
import io
import re
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import event

from portal.scoring.aggregation import aggregate
from portal.models import PartnerTier, Sentiment, VocItem, VocKind
from portal.core import fragments
from tests import factories
from tests.pages import parse

DAY = date(2026, 11, 23)  # a Monday; the accounts' contract and renewal dates are set around it


@pytest.fixture(autouse=True)
def _day(today_is):
    today_is(DAY)


def ranked_names(html: str) -> list[str]:
    body = html.split('id="ranking"')[1].split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r'/scorecard">([^<]+)</a>', body)


@pytest.fixture
def channel(db, tenants):
    """Three partners of different size and health, aggregated for today."""
    c = factories.partner(db, name="Charlie Works", code="CHARLIE", tier=PartnerTier.GOLD)
    for n in range(3):
        factories.account(db, c, arr_jpy=10_000_000, name=f"Charlie {n}")
    factories.check_in(db, tenants.account_b, sentiment=Sentiment.RED, sentiment_reason="Budget", nps=0, version=2)
    assert aggregate(db, DAY).status == "done"
    return c


def test_the_ranking_sorts_in_both_directions_and_filters_by_tier(db, browser, tenants, channel):
    vendor = browser(tenants.vendor_admin)
    by_arr = ranked_names(vendor.get("/channel?sort=arr").get_data(as_text=True))
    assert by_arr[0] == "Charlie Works"
    by_name = ranked_names(vendor.get("/channel?sort=name").get_data(as_text=True))
    assert by_name == sorted(by_name)
    assert ranked_names(vendor.get("/channel?sort=name&order=desc").get_data(as_text=True)) == sorted(by_name, reverse=True)
    assert ranked_names(vendor.get("/channel?tier=gold").get_data(as_text=True)) == ["Charlie Works"]
    # Phones show the ranking as cards, without headings: the filter form sorts too, as the headings do.
    page = vendor.get("/channel?sort=arr&order=asc").get_data(as_text=True)
    offered = re.findall(r'<option value="([a-z_]+)"', page.split('id="sort"')[1].split("</select>")[0])
    assert offered == re.findall(r"[?&]sort=([a-z_]+)", page.split('table--ranking')[1].split("</thead>")[0])
    assert (parse(page).value("sort"), parse(page).value("order")) == ("arr", "asc")
    assert "Bravo Networks" in ranked_names(vendor.get("/channel?band=red").get_data(as_text=True))


def test_my_partners_shows_only_the_partners_a_manager_owns(db, browser, tenants, channel):
    names = ranked_names(browser(tenants.partner_manager).get("/channel?mine=1").get_data(as_text=True))
    assert names == [tenants.partner_a.name]


def test_the_ranking_exports_as_shown(db, browser, tenants, channel):
    vendor = browser(tenants.vendor_admin)
    rows = list(csv.reader(io.StringIO(vendor.get("/channel/partners.csv?sort=arr").get_data().decode("utf-8-sig"))))
    assert rows[0][:3] == ["Partner", "Tier", "Live accounts"]
    assert [r[0] for r in rows[1:]] == ranked_names(vendor.get("/channel?sort=arr").get_data(as_text=True))
    sheet = load_workbook(io.BytesIO(vendor.get("/channel/partners.xlsx?tier=gold").get_data())).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["Charlie Works"]
    assert browser(tenants.admin_a).get("/channel/partners.csv").status_code == 403


@contextmanager
def counted(app):
    engine = app.extensions["portal.engine"]
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def grow(db, tenants, n: int):
    """n more accounts per partner, each with a check-in, a voice item and an action item."""
    for partner in (tenants.partner_a, tenants.partner_b):
        for _ in range(n):
            account = factories.account(db, partner)
            check_in = factories.check_in(db, account, sentiment=Sentiment.RED, sentiment_reason="Low use")
            db.add(VocItem(check_in_id=check_in.id, account_id=account.id, partner_id=partner.id, kind=VocKind.REQUEST, text="More"))
            factories.action_item(db, account, owner_id=tenants.user_a.id if partner is tenants.partner_a else None)
    db.commit()
    aggregate(db, DAY, force=True)


PAGES = [
    ("vendor_admin", "/channel"),
    ("vendor_admin", "/channel?all=1"),
    ("vendor_admin", "/voice-of-customer?q=More&kind=request"),
    ("vendor_admin", "/accounts?sort=next_due"),
    ("vendor_admin", "/actions?view=open"),
    ("vendor_admin", "/voice-of-customer"),
    ("user_a", "/voice-of-customer"),
    ("vendor_admin", "/accounts"),
    ("partner_manager", "/partners"),
    ("user_a", "/home"),
    ("user_a", "/actions?view=mine"),
    ("vendor_admin", "/actions?tab=all"),
    ("user_a", "/accounts"),
    ("user_a", "partner_scorecard"),
    ("user_a", "account_detail"),
]


@pytest.mark.parametrize("who, url", PAGES, ids=[p[1] for p in PAGES])
def test_a_page_issues_as_many_queries_for_a_large_data_set_as_for_a_small_one(app, db, browser, tenants, who, url):
    person = browser(getattr(tenants, who))
    url = {"partner_scorecard": f"/partners/{tenants.partner_a.id}/scorecard",
           "account_detail": f"/accounts/{tenants.account_a.id}"}.get(url, url)
    counts = []
    for n in (2, 12):
        grow(db, tenants, n)
        person.get(url)  # warm: caches, session
        fragments.pages(app).clear()  # the page itself rendered again, not served kept
        with counted(app) as statements:
            assert person.get(url).status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], f"{url}: {counts[0]} queries with the small data set, {counts[1]} with the large one"


def test_the_partner_scorecard_lists_renewals_items_and_overdue_check_ins_of_that_partner_only(db, browser, tenants):
    from datetime import timedelta

    from portal.models import Segment

    soon = factories.account(db, tenants.partner_a, name="Renews Soon KK", renewal_date=DAY + timedelta(days=30))
    factories.account(db, tenants.partner_a, name="Renews Later KK", renewal_date=DAY + timedelta(days=200))
    factories.account(db, tenants.partner_b, name="Bravo Renews Soon", renewal_date=DAY + timedelta(days=30))
    factories.account(db, tenants.partner_a, name="Never Reports KK", segment=Segment.HIGH_TOUCH, contract_start=date(2024, 1, 1))
    factories.action_item(db, soon, title="Confirm the renewal plan")
    assert aggregate(db, DAY).status == "done"
    html = browser(tenants.user_a).get(f"/partners/{tenants.partner_a.id}/scorecard").get_data(as_text=True)
    renewals = html.split("Renewals in the next 90 days</h2>")[1].split("</section>")[0]
    assert "Renews Soon KK" in renewals and "Renews Later KK" not in renewals
    assert "Confirm the renewal plan" in html and "Run a training session" in html
    overdue = html.split("Overdue check-ins</h2>")[1].split("</section>")[0]
    assert "Never Reports KK" in overdue
    assert "Bravo" not in html
    # The alerts list (rows of the alert and its account's name): this partner's, latest first.
    from portal.models import Alert, AlertKind

    bravo = factories.account(db, tenants.partner_b, name="Bravo Alerted KK")
    for account, raised in ((soon, DAY - timedelta(days=3)), (bravo, DAY - timedelta(days=1)), (soon, DAY - timedelta(days=40))):
        db.add(Alert(kind=AlertKind.TURNED_RED, account_id=account.id, partner_id=account.partner_id, subject=str(raised), raised_on=raised))
    db.commit()
    for person in (browser(tenants.user_a), browser(tenants.partner_manager)):
        html = person.get(f"/partners/{tenants.partner_a.id}/scorecard").get_data(as_text=True)
        alerts = html.split("Alerts in the last 30 days</h2>")[1].split("</section>")[0]
        shown = re.findall(r'<a href="/accounts/(\d+)">([^<]+)</a> · ([^<]+)</li>', alerts)
        assert (str(soon.id), "Renews Soon KK", "Nov 20, 2026") in shown
        assert "Bravo" not in alerts and "Oct 14, 2026" not in alerts
        assert shown == sorted(shown, key=lambda a: datetime.strptime(a[2], "%b %d, %Y"), reverse=True)


def test_the_channel_overview_shows_changes_against_a_week_before_and_the_movers(db, browser, tenants):
    from datetime import timedelta

    week_ago = DAY - timedelta(days=7)
    alpha = factories.account(db, tenants.partner_a, arr_jpy=5_000_000, contract_start=date(2024, 1, 1))
    # a full report before the week began, so alpha has a score to move from (not "Not enough data")
    factories.check_in(db, alpha, nps=9, active_users=20, outcome_progress=80, period_start=date(2026, 7, 1),
                       submitted_at=datetime(2026, 10, 5, 9))
    assert aggregate(db, week_ago).status == "done"
    factories.check_in(db, alpha, sentiment=Sentiment.RED, sentiment_reason="Budget", nps=0, active_users=0,
                       open_escalations=2, period_start=date(2026, 10, 1))
    assert aggregate(db, DAY).status == "done"
    html = browser(tenants.partner_manager).get("/channel").get_data(as_text=True)
    assert "Changes are against" in html
    moved = html.split("Partners that moved most</h2>")[1].split("</ul>")[0]
    assert tenants.partner_a.name in moved and "→" in moved
    # The partner's own scorecard shows its changes against the same week, to its manager and to the reseller.
    for who in (tenants.partner_manager, tenants.admin_a):
        page = browser(who).get(f"/partners/{tenants.partner_a.id}/scorecard").get_data(as_text=True)
        assert "Changes are against" in page
        health = page.split('<span class="stat__value">')[3].split("</p>")[0]
        assert "Average health" in health and 'class="change change--bad"' in health


def trend_rows(html: str) -> list[str]:
    """The 'Week ending' column of the trend table (the chart's fallback)."""
    table = html.split('data-chart="trend"')[1].split("</figure>")[0]
    return re.findall(r'<tr><th scope="row">([^<]+)</th>', table)


def test_trends_show_one_point_a_week_up_to_the_latest_scorecard(db, browser, tenants):
    days = [DAY - timedelta(days=n) for n in (14, 10, 7, 0)]
    # enough data for account A to have a score (the fixture's check-in holds a sentiment alone)
    factories.check_in(db, tenants.account_a, period_start=tenants.check_in_a.period_start, version=2,
                       active_users=10, nps=8, outcome_progress=50, submitted_at=datetime(2026, 11, 1, 9))
    for day in days:
        assert aggregate(db, day).status == "done"
    weekly = [f"{d:%b} {d.day}, {d.year}" for d in (days[0], days[2], days[3])]  # not the day 10 days back
    vendor = browser(tenants.vendor_admin)
    assert trend_rows(vendor.get("/channel").get_data(as_text=True)) == weekly
    assert trend_rows(browser(tenants.admin_a).get(f"/partners/{tenants.partner_a.id}/scorecard").get_data(as_text=True)) == weekly
    assert trend_rows(vendor.get(f"/accounts/{tenants.account_a.id}").get_data(as_text=True)) == weekly


def test_the_ranking_shows_its_first_partners_and_all_of_them_on_request(db, browser, tenants, channel, monkeypatch):
    from portal.scoring import review

    monkeypatch.setattr(review, "RANKING_ROWS", 2)
    vendor = browser(tenants.vendor_admin)
    everyone = ranked_names(vendor.get("/channel?sort=name&all=1").get_data(as_text=True))
    assert len(everyone) == 3
    html = vendor.get("/channel?sort=name&tier=&band=").get_data(as_text=True)
    assert ranked_names(html) == everyone[:2]
    assert "The first 2 of 3 partners in this order." in html
    assert 'href="/channel?sort=name&amp;tier=&amp;band=&amp;all=1#ranking"' in html
    assert "The first" not in vendor.get("/channel?sort=name&tier=gold").get_data(as_text=True)  # one partner matches


def test_the_scorecard_lists_its_first_renewals_and_links_to_all_of_them(db, browser, tenants, monkeypatch):
    from portal.scoring import views

    monkeypatch.setattr(views, "SCORECARD_ROWS", 1)
    for n in (10, 20):
        factories.account(db, tenants.partner_a, name=f"Renews in {n} days", renewal_date=DAY + timedelta(days=n))
    assert aggregate(db, DAY).status == "done"
    html = browser(tenants.vendor_admin).get(f"/partners/{tenants.partner_a.id}/scorecard").get_data(as_text=True)
    renewals = html.split("Renewals in the next 90 days</h2>")[1].split("</section>")[0]
    assert "Renews in 10 days" in renewals and "Renews in 20 days" not in renewals
    assert f'href="/accounts?renewing=1&amp;sort=renewal&amp;partner_id={tenants.partner_a.id}"' in renewals
    assert "See all 2 renewing accounts" in renewals


def test_sparkline_points_leave_weeks_without_a_figure_out_as_gaps():
    from portal.core.formatting import sparkline_points

    assert sparkline_points([None, 50, None, 100, None], 40, 12) == "10.0,6.0 30.0,2.0"
    assert sparkline_points([None, 50, None], 40, 12) == ""  # one point draws nothing


def ranking_row(html: str, name: str) -> str:
    body = html.split('id="ranking"')[1].split("<tbody>")[1].split("</tbody>")[0]
    return next(row for row in body.split("<tr>") if f">{name}</a>" in row)


def live_accounts(row: str) -> str:
    return re.search(r'<td class="num" data-label="[^"]+">(\d+)</td>', row).group(1)


def test_the_ranking_rows_follow_each_new_snapshot_and_partner_edits_at_once(db, browser, tenants, channel):
    """The rows' figures are kept per snapshot (portal/scoring/ranking_cells.py, in portal.core.fragments): a new run of the
    day, "Refresh scorecards now" or a rename is on the next page view, never the old figures."""
    vendor = browser(tenants.vendor_admin)
    assert live_accounts(ranking_row(vendor.get("/channel?sort=name").get_data(as_text=True), "Charlie Works")) == "3"
    for n in range(2):
        factories.account(db, channel, arr_jpy=10_000_000, name=f"Charlie new {n}")
    assert aggregate(db, DAY, force=True).status == "done"
    assert live_accounts(ranking_row(vendor.get("/channel?sort=name").get_data(as_text=True), "Charlie Works")) == "5"
    # Sorted another way, or by the other worker's cached rows: the same figures.
    assert live_accounts(ranking_row(vendor.get("/channel?sort=arr").get_data(as_text=True), "Charlie Works")) == "5"
    channel.name, channel.tier = "Charlie Renamed", PartnerTier.SILVER
    db.commit()
    row = ranking_row(vendor.get("/channel?sort=name").get_data(as_text=True), "Charlie Renamed")
    assert live_accounts(row) == "5" and "tag--silver" in row
    assert "Charlie Works" not in vendor.get("/channel?sort=name").get_data(as_text=True)


def test_the_ranking_rows_are_in_each_reader_s_language(db, browser, tenants, channel):
    vendor = browser(tenants.vendor_admin)
    assert 'data-label="Live accounts"' in ranking_row(vendor.get("/channel").get_data(as_text=True), "Charlie Works")
    tenants.partner_manager.language = "ja"
    db.commit()
    row = ranking_row(browser(tenants.partner_manager).get("/channel").get_data(as_text=True), "Charlie Works")
    assert 'data-label="契約中アカウント数"' in row and 'data-label="Live accounts"' not in row
    assert 'data-label="Live accounts"' in ranking_row(vendor.get("/channel").get_data(as_text=True), "Charlie Works")


def test_the_navigation_marks_the_one_section_a_page_belongs_to(db, browser, tenants):
    """A page deep inside a section (a check-in, an account's timeline) keeps its section marked,
    and the company's settings mark Settings alone, not Our company as well."""
    def current(client, url: str) -> list[str]:
        html = client.get(url).get_data(as_text=True)
        return re.findall(r'<a href="[^"]*" aria-current="page">([^<]+)</a>', html.split("</nav>")[0])

    admin = browser(tenants.admin_a)
    assert current(admin, "/company/settings") == ["Settings"]
    assert current(admin, f"/partners/{tenants.partner_a.id}") == ["Our company"]
    assert current(admin, f"/check-ins/{tenants.check_in_a.id}") == ["Accounts"]
    assert current(admin, f"/accounts/{tenants.account_a.id}/timeline") == ["Accounts"]
    assert current(admin, "/import/outcomes") == ["Upload"]
    assert current(browser(tenants.partner_manager), f"/accounts/{tenants.account_a.id}/timeline") == ["Accounts"]
    # Another partner's scorecard is not found: the page marks no section it did not show.
    assert current(admin, f"/partners/{tenants.partner_b.id}/scorecard") == []
