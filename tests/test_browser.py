"""Browser tests: Playwright driving Debian's Chromium (never a downloaded browser) against
the app served on loopback. Without Chromium they are skipped with a message; in CI
(CI=true, where .ci/run installs it) a missing Chromium is a failure."""
from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest

from portal.scoring.aggregation import aggregate
from tests import factories
from tests.conftest import CHROMIUM

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")

if not CHROMIUM:
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI: Chromium is missing; .ci/run installs it with apt-get install -y chromium")
    pytest.skip("SKIPPED browser tests: no Chromium (apt-get install -y chromium, or set PORTAL_CHROMIUM)",
                allow_module_level=True)


# Console errors of every page the current test opened: the Content-Security-Policy reports each
# inline script or style it refused there ("Refused to apply inline style ...").
CONSOLE_ERRORS: list[str] = []


@pytest.fixture(autouse=True)
def no_csp_violations():
    CONSOLE_ERRORS.clear()
    yield
    assert [text for text in CONSOLE_ERRORS if "Content Security Policy" in text] == []


def log_in(chromium, live_url, user, width=1280, scripts=True):
    page = chromium.new_context(viewport={"width": width, "height": 900}, java_script_enabled=scripts).new_page()
    page.on("console", lambda message: CONSOLE_ERRORS.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_url}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/(home|partners|channel)"))
    return page


def test_a_reseller_reports_a_check_in_from_a_phone_and_sees_its_scorecard(app, db, chromium, live_url, tenants):
    page = log_in(chromium, live_url, tenants.user_a, width=390)
    page.goto(f"{live_url}/accounts/{tenants.account_a.id}/check-in")
    page.get_by_label("Active users").fill("15")
    page.get_by_label("NPS (0–10)").fill("11")
    page.get_by_label("Yellow", exact=True).check()
    page.get_by_role("button", name="Save check-in").click()
    # The bad NPS comes back next to its field, with what was typed kept.
    assert "must be a whole number from 0 to 10" in page.locator("#nps-error").inner_text()
    assert page.get_by_label("Active users").input_value() == "15"
    page.get_by_label("NPS (0–10)").fill("8")
    page.get_by_label("Why?").fill("Usage is flat since the reorganisation")
    page.get_by_role("button", name="Save check-in").click()
    assert page.locator(".flashes").inner_text().startswith("Check-in for")  # saved, or a correction of the fixture's

    # The nightly aggregation, run as the scheduler would.
    assert aggregate(db, app.config["PORTAL"].today()).status == "done"
    page.get_by_text("Menu").click()
    page.get_by_role("link", name="Scorecard").click()
    assert f"Scorecard: {tenants.partner_a.name}" in page.locator("h1").inner_text()
    assert tenants.partner_b.name not in page.content()


def test_a_manager_refreshes_asks_for_action_and_the_reseller_answers(app, db, chromium, live_url, tenants):
    from portal.scheduler import run_requested

    manager = log_in(chromium, live_url, tenants.partner_manager)
    manager.goto(f"{live_url}/channel")
    manager.get_by_role("button", name="Refresh scorecards now").click()
    assert "queued" in manager.locator(".flashes").inner_text()  # for the scheduler process, not run in the request
    run_requested(app)  # what the scheduler does within seconds
    manager.reload()
    manager.get_by_role("link", name=tenants.partner_a.name).first.click()
    assert f"Scorecard: {tenants.partner_a.name}" in manager.locator("h1").inner_text()

    manager.goto(f"{live_url}/accounts/{tenants.account_a.id}")
    manager.get_by_role("link", name="New action item").click()
    manager.get_by_label("What needs doing").fill("Please run a training session")
    manager.get_by_label("Owner").select_option(value=str(tenants.user_a.id))
    manager.get_by_label("Due date").fill("2099-03-31")
    manager.get_by_role("button", name="Create action item").click()
    assert "Please run a training session" in manager.locator("h1").inner_text()

    reseller = log_in(chromium, live_url, tenants.user_a)
    reseller.get_by_role("link", name="Please run a training session").click()
    reseller.get_by_label("Comment").fill("Booked for 3 December")
    reseller.get_by_role("button", name="Add comment").click()
    assert "Booked for 3 December" in reseller.locator("#thread").inner_text()

    manager.reload()
    assert "Booked for 3 December" in manager.locator("#thread").inner_text()


def test_trends_are_charts_drawn_by_the_vendored_library_with_the_numbers_as_a_table(app, db, chromium, live_url, tenants):
    today = app.config["PORTAL"].today()
    # enough data for account A to have a score (the fixture's check-in holds a sentiment alone)
    factories.check_in(db, tenants.account_a, period_start=tenants.check_in_a.period_start, version=2,
                       active_users=10, nps=8, outcome_progress=50)
    for day in (today - timedelta(days=7), today):
        assert aggregate(db, day).status == "done"
    scorecard = f"{live_url}/partners/{tenants.partner_a.id}/scorecard"

    page = log_in(chromium, live_url, tenants.admin_a)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(scorecard)
    # Two charts: the 0-100 average on a score axis, the account counts by band on their own.
    charts = page.locator("figure[data-chart=trend]")
    assert charts.count() == 2
    axes = [charts.nth(i).locator("canvas").evaluate("c => Object.keys(Chart.getChart(c).scales).filter(k => k !== 'x')")
            for i in range(2)]
    assert axes == [["score"], ["count"]]
    trend = charts.first
    assert trend.locator("canvas").bounding_box()["height"] > 100
    assert not trend.locator("details").evaluate("d => d.open")  # folded behind "Show as table"
    trend.get_by_text("Show as table").click()
    assert len(trend.locator("tbody tr").all()) == 2  # one row per week
    page.goto(f"{live_url}/accounts/{tenants.account_a.id}")
    for kind in ("trend", "timeline"):
        assert page.locator(f"figure[data-chart={kind}] canvas").bounding_box()["height"] > 100
    # The timeline's axis names the year and spans the milestones, first to last.
    ticks = page.locator("figure[data-chart=timeline] canvas").evaluate(
        "c => Chart.getChart(c).scales.x.ticks.map(t => String(t.label))")
    years = [re.search(r"\b(19|20)\d\d\b", t) for t in ticks]
    assert ticks and all(years), ticks  # every tick says its year
    assert [int(y[0]) for y in years] == sorted(int(y[0]) for y in years)  # and runs forward
    assert errors == []

    # Without scripts the same numbers are a table, open.
    plain = log_in(chromium, live_url, tenants.admin_a, scripts=False)
    plain.goto(scorecard)
    assert plain.locator("figure[data-chart=trend] canvas").first.is_hidden()
    assert plain.locator("figure[data-chart=trend] tbody tr").first.is_visible()


def test_an_email_in_the_outbox_shows_with_its_own_styles_in_a_sandboxed_frame(db, chromium, live_url, tenants):
    from portal.email.outbox import Rendered, queue
    from portal.models import EmailKind

    html = '<body style="margin:0;background:#f5f7fa"><p id="hello" style="color:#1d4ed8">Hello</p></body>'
    message = queue(db, tenants.admin_a, EmailKind.PARTNER_DIGEST, "2026-W40",
                    Rendered(subject="Your scorecard", text="Hello", html=html, language="en"))
    db.commit()
    page = log_in(chromium, live_url, tenants.vendor_admin)
    page.goto(f"{live_url}/outbox/{message.id}")
    frame = page.frame_locator("iframe.email-frame")
    assert frame.locator("#hello").inner_text() == "Hello"
    assert frame.locator("#hello").evaluate("p => getComputedStyle(p).color") == "rgb(29, 78, 216)"


def test_bars_are_drawn_without_style_attributes(app, db, chromium, live_url, tenants):
    assert aggregate(db, app.config["PORTAL"].today()).status == "done"
    page = log_in(chromium, live_url, tenants.partner_manager)
    page.goto(f"{live_url}/channel")
    bar = page.locator("svg.bandbar").first
    assert bar.bounding_box()["width"] > 50
    assert bar.locator("rect").first.bounding_box()["width"] > 0
    page.goto(f"{live_url}/accounts/{tenants.account_a.id}")
    assert page.locator("svg.meter--wide").bounding_box()["width"] > 300


@pytest.mark.parametrize("role", ["vendor_admin", "admin_a"])
def test_every_page_without_arguments_renders_under_the_content_security_policy(app, db, chromium, live_url, tenants, role):
    """Each page a person can open from the menu, in a real browser: the CSP refuses nothing
    (the autouse fixture above fails the test on any violation) and the stylesheet applies."""
    assert aggregate(db, app.config["PORTAL"].today()).status == "done"
    paths = sorted({rule.rule for rule in app.url_map.iter_rules()
                    if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(("/api/", "/static/"))
                    and "." not in rule.rule and rule.endpoint != "auth.logout"})
    assert len(paths) > 10
    page = log_in(chromium, live_url, getattr(tenants, role))
    for path in paths:
        page.goto(live_url + path)
        assert page.locator("body").evaluate("b => getComputedStyle(b).margin") == "0px", path  # portal.css applied


def test_on_a_phone_every_stop_of_the_keyboard_is_on_screen(db, chromium, live_url, tenants):
    """Tables turn into cards on a phone; their header row (with its sort links) must not keep
    taking keyboard focus somewhere off-screen, where nobody sees where they are."""
    page = log_in(chromium, live_url, tenants.partner_manager, width=390)
    page.goto(f"{live_url}/accounts")
    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        box = page.evaluate("(() => { const r = document.activeElement.getBoundingClientRect();"
                            " return [document.activeElement.textContent.trim().slice(0, 30), r.right, r.left]; })()")
        seen.append(box)
    off_screen = [text for text, right, left in seen if right <= 0 or left >= 390]
    assert off_screen == []


def test_on_a_phone_the_tables_inside_cards_fit_their_card(app, db, chromium, live_url, tenants):
    """A table inside a card (milestones, renewal outcomes, the scorecard's benchmark and
    renewals, a partner's accounts by segment) turns into one block per row on a phone, as the
    page-wide lists do, instead of hiding its last columns behind a sideways scroll."""
    today = app.config["PORTAL"].today()
    tenants.account_a.renewal_date = today + timedelta(days=30)
    factories.check_in(db, tenants.account_a, period_start=tenants.check_in_a.period_start, version=2,
                       active_users=10, nps=8, outcome_progress=50)
    assert aggregate(db, today).status == "done"
    pages = {tenants.partner_manager: [f"/accounts/{tenants.account_a.id}", f"/partners/{tenants.partner_a.id}/scorecard",
                                       f"/partners/{tenants.partner_a.id}"]}
    for user, paths in pages.items():
        page = log_in(chromium, live_url, user, width=390)
        for path in paths:
            page.goto(live_url + path)
            tables = page.locator(".card table")
            assert tables.count() > 0, path
            wide = page.evaluate("""[...document.querySelectorAll('.card table')]
                .filter(t => t.offsetParent !== null && t.closest('details:not([open])') === null)
                .filter(t => t.getBoundingClientRect().right > t.closest('.card').getBoundingClientRect().right + 1)
                .map(t => t.querySelector('th, caption')?.textContent.trim().slice(0, 40))""")
            assert wide == [], path
            # Each row still says what its figures are: the column's name stands beside each value.
            assert page.locator(".card table.table--cards td[data-label]").count() > 0, path


def test_on_a_phone_each_import_error_is_a_card_whose_message_reads_across_it(app, db, chromium, live_url, tenants):
    """A reseller who uploads a file from a phone reads what to correct: each error is one card
    (row, column, value each beside its name) with its message across the card's width, not a
    four-column table squeezed to a few characters a line."""
    page = log_in(chromium, live_url, tenants.admin_a, width=390)
    page.goto(f"{live_url}/import")
    content = ("Reference,Period,Active users,NPS,Sentiment (green/yellow/red)\n"
               f"{tenants.account_a.reference},,abc,11,blue\n").encode()
    page.set_input_files("input[type=file]", files=[{"name": "phone.csv", "mimeType": "text/csv", "buffer": content}])
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_url(re.compile(r"/import/\d+$"))
    errors = page.locator("table.import-errors tbody tr")
    assert errors.count() == 3  # active users, NPS, sentiment
    widths = page.evaluate("""[...document.querySelectorAll('table.import-errors tbody tr')].map(row => [
        row.querySelector('.import-errors__problem').getBoundingClientRect().width, row.getBoundingClientRect().width])""")
    assert all(message >= 0.9 * card for message, card in widths), widths
    assert "must be one of: green (緑), yellow (黄), red (赤)" in errors.nth(2).inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
