"""What a reseller must report and when: the home page, the vendor's reporting rules, and every
reporting page in English and Japanese."""
from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from portal.models import CheckIn, Feature, LifecycleStatus, MilestoneTemplate, ReportingCadence, Segment, VocItem, VocKind
from tests import factories
from tests.pages import parse
from tests.readback import latest, reload
from tests.reporting_forms import TODAY, check_in_form, milestone_form, milestone_template, onboarding_account, stakeholder_form
from tests.test_translations import JAPANESE, catalog, gettext_ja  # noqa: F401 (catalog is a fixture)


def owed(html: str, section: str) -> list[tuple[str, str, str]]:
    """(customer, period, due) per row of the home page's "overdue" or "due" table, top to bottom."""
    overdue, due = html.split('id="due-heading"')
    table = re.search(r"<tbody>(.*?)</tbody>", overdue if section == "overdue" else due, re.S)
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", table[1] if table else "", re.S):
        cells = [" ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        rows.append((cells[0], cells[3], cells[4]))
    return rows


def set_cadence(db, segment: Segment, months: int, grace_days: int) -> None:
    row = db.get(ReportingCadence, segment)
    row.months, row.grace_days = months, grace_days
    db.commit()


# --- the reseller's home page ----------------------------------------------------------------


@pytest.fixture
def portfolio(db, tenants, today_is):
    """Partner A's customers on 2026-12-25, with 5 grace days for high touch and 20 for low touch.

    Closed periods: Nov (high touch, due Dec 5), Jul-Sep (low touch, due Oct 20), Apr-Sep (tech
    touch, due Oct 10). Current: Dec (due Jan 5), Oct-Dec (due Jan 20), Oct-Mar (due Apr 10: too
    far ahead to list).
    """
    today_is(date(2026, 12, 25))
    set_cadence(db, Segment.HIGH_TOUCH, 1, 5)
    set_cadence(db, Segment.LOW_TOUCH, 3, 20)
    a = tenants.partner_a
    kaede = factories.account(db, a, name="Kaede Clinic", segment=Segment.LOW_TOUCH)
    factories.check_in(db, kaede, period_start=date(2026, 7, 1))
    factories.account(db, a, name="Sakura Startup", segment=Segment.HIGH_TOUCH, contract_start=date(2026, 12, 10))
    factories.account(db, a, name="Momiji Retail", segment=Segment.HIGH_TOUCH, status=LifecycleStatus.CHURNED,
                      churned_on=date(2026, 6, 30), churn_reason="Closed the business")
    return {  # customers that have never reported
        "hikari": factories.account(db, a, name="Hikari Trading", segment=Segment.HIGH_TOUCH),
        "tsubaki": factories.account(db, a, name="Tsubaki Cloud", segment=Segment.TECH_TOUCH),
    }


def test_home_lists_overdue_and_due_check_ins_most_urgent_first(browser, tenants, portfolio):
    html = browser(tenants.user_a).get("/home").get_data(as_text=True)
    assert owed(html, "overdue") == [
        ("Tsubaki Cloud", "2026-04 – 2026-09", "Oct 10, 2026 76 days late"),
        ("Alpha Customer KK", "2026-07 – 2026-09", "Oct 20, 2026 66 days late"),  # account_a reported Oct-Dec, not Jul-Sep
        ("Hikari Trading", "2026-11", "Dec 5, 2026 20 days late"),
    ]
    # Sakura Startup signed in December: it owes nothing for November. Churned customers owe nothing.
    assert owed(html, "due") == [
        ("Hikari Trading", "2026-12", "Jan 5, 2027"),
        ("Sakura Startup", "2026-12", "Jan 5, 2027"),
        ("Kaede Clinic", "2026-10 – 2026-12", "Jan 20, 2027"),
    ]
    assert tenants.account_b.name not in html


@pytest.mark.parametrize("limit", [1, 2, 50])
def test_the_first_check_ins_owed_are_the_head_of_the_whole_list(db, tenants, portfolio, limit):
    """The home and the scorecard read only the first rows and the counts (a reseller may owe
    thousands): the same rows, in the same order, and the same totals as the whole list."""
    from portal.reporting.cadence import obligations, owed_first

    day = date(2026, 12, 25)
    whole = obligations(db, day, partner_id=tenants.partner_a.id)
    overdue, due = [o for o in whole if o.overdue], [o for o in whole if not o.overdue]
    assert len(overdue) == len(due) == 3  # as the home page test lists them
    first = owed_first(db, day, tenants.partner_a.id, limit)
    assert (first.overdue, first.overdue_total) == (overdue[:limit], 3)
    assert (first.due, first.due_total) == (due[:limit], 3)


def test_the_nightly_list_of_what_is_owed_reads_as_the_whole_list_and_follows_changes_at_once(db, tenants, portfolio):
    """The home and the scorecard read the check-ins owed as the nightly run listed them, with the
    accounts changed since worked out live: a check-in just sent, a new customer and a churned one
    count at once, and a day with other periods than the list's is worked out live."""
    from portal.models import OwedCheckIn
    from portal.reporting.cadence import obligations, owed_first, store_owed

    def as_listed(day):
        whole = obligations(db, day, partner_id=tenants.partner_a.id)
        overdue, due = [o for o in whole if o.overdue], [o for o in whole if not o.overdue]
        first = owed_first(db, day, tenants.partner_a.id, 2)
        assert (first.overdue, first.overdue_total, first.due, first.due_total) == (overdue[:2], len(overdue), due[:2], len(due))

    day = date(2026, 12, 25)
    store_owed(db, day)
    db.commit()
    assert db.scalar(select(func.count()).select_from(OwedCheckIn)) == 7  # partner A's six and partner B's one
    as_listed(day)
    factories.check_in(db, portfolio["tsubaki"], period_start=date(2026, 4, 1))
    factories.account(db, tenants.partner_a, name="Aoi Foods", segment=Segment.HIGH_TOUCH)
    hikari = portfolio["hikari"]
    hikari.status, hikari.churned_on, hikari.churn_reason = LifecycleStatus.CHURNED, date(2026, 12, 20), "Moved away"
    db.commit()
    as_listed(day)
    as_listed(date(2027, 1, 6))  # December is overdue now: other periods than the list's


def test_an_account_moved_to_another_partner_leaves_the_nightly_list_at_once(app, db, browser, tenants, portfolio):
    """The vendor admin moves an account to another reseller after the nightly list: the old
    reseller neither lists nor counts it any more (its name is the other reseller's now), the new
    one owes it, before the next night."""
    from portal.accounts.services import save_account
    from portal.models import ReportSource
    from portal.reporting.cadence import obligations, owed_first, store_owed

    day = date(2026, 12, 25)
    store_owed(db, day)
    db.commit()
    hikari = portfolio["hikari"]
    factories.action_item(db, hikari, title="Call Hikari about the renewal")
    voice = factories.check_in(db, hikari, period_start=date(2026, 10, 1))
    db.add(VocItem(check_in_id=voice.id, account_id=hikari.id, partner_id=hikari.partner_id, kind=VocKind.REQUEST, text="Hikari wants SSO"))
    db.commit()
    with app.app_context():  # as a page reads it: the list's counts kept for the process
        before = owed_first(db, day, tenants.partner_a.id, 50)
        assert hikari.name in [o.account_name for o in before.overdue + before.due]
        save_account(db, tenants.partner_b.id, hikari.reference, {"name": hikari.name}, account=hikari,
                     source=ReportSource.FORM, user=tenants.vendor_admin)
        db.commit()
        for partner in (tenants.partner_a, tenants.partner_b):
            whole = obligations(db, day, partner_id=partner.id)
            first = owed_first(db, day, partner.id, 50)
            assert (first.overdue, first.overdue_total, first.due, first.due_total) == (
                [o for o in whole if o.overdue], sum(o.overdue for o in whole),
                [o for o in whole if not o.overdue], sum(not o.overdue for o in whole))
    # Everything the account carries goes with it: the old reseller sees none of it, the new one all.
    for user, sees in ((tenants.admin_a, False), (tenants.admin_b, True)):
        b = browser(user)
        for page in ("/home", "/actions?tab=team", "/voice-of-customer") + (() if sees else (f"/partners/{user.partner_id}/scorecard",)):
            html = b.get(page).get_data(as_text=True)
            assert (hikari.name in html or "Hikari wants SSO" in html) is sees, (user.email, page)
    assert set(latest(db).scalars(select(CheckIn.partner_id).where(CheckIn.account_id == hikari.id))) == {tenants.partner_b.id}


def test_each_reseller_sees_only_its_own_obligations(browser, tenants, portfolio):
    html = browser(tenants.admin_b).get("/home").get_data(as_text=True)
    assert owed(html, "overdue") == [("Bravo Secret Customer", "2026-07 – 2026-09", "Oct 20, 2026 66 days late")]
    assert owed(html, "due") == []
    assert "No check-in is due in the next month." in html


def test_reporting_from_the_home_page_takes_the_customer_off_the_list(db, browser, tenants, portfolio):
    b = browser(tenants.user_a)
    tsubaki = portfolio["tsubaki"]
    link = f"/accounts/{tsubaki.id}/check-in?period=2026-04-01"
    assert f'href="{link}"' in b.get("/home").get_data(as_text=True)
    assert parse(b.get(link)).value("period") == "2026-04-01"  # the overdue period, not the current one
    # Tsubaki Cloud has 20 seats too, and nothing else in the form is specific to a customer.
    response = b.post(link, check_in_form(period="2026-04-01"))
    assert response.location == f"/accounts/{tsubaki.id}"
    html = b.get("/home").get_data(as_text=True)
    assert [row[0] for row in owed(html, "overdue")] == ["Alpha Customer KK", "Hikari Trading"]


def test_the_account_page_says_what_is_owed(browser, tenants, portfolio):
    page = parse(browser(tenants.user_a).get(f"/accounts/{portfolio['hikari'].id}"))
    # Its term ended on its renewal date (2026-04-01) with no outcome recorded: that is owed too.
    assert page.flash_texts("error") == ["The term ended on Apr 1, 2026 and no outcome is recorded: did the customer renew or churn? "
                                         "Record the outcome", "The check-in for 2026-11 is overdue since Dec 5, 2026."]
    assert page.flash_texts("info") == ["The check-in for 2026-12 is due by Jan 5, 2027."]


# --- the vendor's reporting rules ------------------------------------------------------------


def cadence_form(**overrides):
    data = {"high_touch_months": "1", "high_touch_grace": "10", "low_touch_months": "3", "low_touch_grace": "10",
            "tech_touch_months": "6", "tech_touch_grace": "10"}
    data.update(overrides)
    return data


def cadences(db) -> dict:
    return {row.segment: (row.months, row.grace_days) for row in latest(db).scalars(select(ReportingCadence))}


def test_the_rules_page_shows_the_default_cadences(browser, tenants):
    page = parse(browser(tenants.vendor_admin).get("/rules"))
    assert {name: page.value(name) for name in cadence_form()} == cadence_form()


def test_a_cadence_change_changes_what_is_due(db, browser, tenants, today_is):
    today_is(TODAY)
    reseller = browser(tenants.user_a)
    before = reseller.get("/home").get_data(as_text=True)
    assert owed(before, "overdue") == [("Alpha Customer KK", "2026-07 – 2026-09", "Oct 10, 2026 41 days late")]
    assert owed(before, "due") == []

    vendor = browser(tenants.vendor_admin)
    response = vendor.post("/rules", cadence_form(low_touch_months="1", low_touch_grace="5"))
    assert response.location == "/rules"
    assert "Reporting rules saved: what is due, when an account moves to adoption and when action items close themselves follow them from now on." in parse(vendor.get("/rules")).flash_texts()
    assert cadences(db)[Segment.LOW_TOUCH] == (1, 5)

    # Monthly now: October is reported (tenants.check_in_a starts on Oct 1), November is due.
    after = reseller.get("/home").get_data(as_text=True)
    assert owed(after, "overdue") == []
    assert owed(after, "due") == [("Alpha Customer KK", "2026-11", "Dec 5, 2026")]
    assert "reports monthly" in reseller.get(f"/accounts/{tenants.account_a.id}").get_data(as_text=True)


@pytest.mark.parametrize("overrides, field", [
    pytest.param({"low_touch_grace": "61"}, "low_touch_grace", id="grace-over-60"),
    pytest.param({"high_touch_grace": "-1"}, "high_touch_grace", id="negative-grace"),
    pytest.param({"tech_touch_grace": "ten"}, "tech_touch_grace", id="grace-not-a-number"),
    pytest.param({"low_touch_months": "5"}, "low_touch_months", id="months-not-offered"),
])
def test_a_bad_cadence_is_rejected_and_nothing_changes(db, browser, tenants, overrides, field):
    before = cadences(db)
    data = cadence_form(high_touch_months="2", **overrides)
    response = browser(tenants.vendor_admin).post("/rules", data)
    assert response.status_code == 400
    page = parse(response)
    assert set(page.errors) == {field}
    assert page.value("high_touch_months") == "2"
    assert cadences(db) == before


def feature_form(**overrides):
    data = {"key": "ai_assist", "name_en": "AI assistant", "name_ja": "AIアシスタント", "position": "9", "active": "y"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_a_new_key_feature_is_asked_in_check_ins(db, browser, tenants):
    response = browser(tenants.vendor_admin).post("/rules/features/new", feature_form())
    assert response.location == "/rules"
    feature = latest(db).scalar(select(Feature).where(Feature.key == "ai_assist"))
    assert (feature.name_en, feature.name_ja, feature.position, feature.active) == ("AI assistant", "AIアシスタント", 9, True)
    form = browser(tenants.user_a).get(f"/accounts/{tenants.account_a.id}/check-in").get_data(as_text=True)
    assert 'name="feature_ai_assist"' in form and "AI assistant" in form


def test_a_feature_no_longer_asked_leaves_the_check_in_form(db, browser, tenants):
    mobile = latest(db).scalar(select(Feature).where(Feature.key == "mobile"))
    url = f"/rules/features/{mobile.id}"
    vendor = browser(tenants.vendor_admin)
    assert parse(vendor.get(url)).value("name_en") == "Mobile app"
    # An unticked box is not sent.
    assert vendor.post(url, feature_form(key="mobile", name_en="Mobile app", name_ja="モバイルアプリ", active=None)).status_code == 302
    assert reload(db, mobile).active is False
    form = browser(tenants.user_a).get(f"/accounts/{tenants.account_a.id}/check-in").get_data(as_text=True)
    assert 'name="feature_mobile"' not in form and 'name="feature_workflow"' in form


@pytest.mark.parametrize("model, url, key, message", [
    pytest.param(Feature, "/rules/features/new", "workflow", "This key is already used.", id="feature-key-taken"),
    pytest.param(Feature, "/rules/features/new", "AI Assist", "lower-case", id="feature-key-malformed"),
    pytest.param(MilestoneTemplate, "/rules/milestones/new", "kickoff", "This key is already used.", id="milestone-key-taken"),
    pytest.param(MilestoneTemplate, "/rules/milestones/new", "AI Assist", "lower-case", id="milestone-key-malformed"),
])
def test_a_rule_item_needs_a_free_well_formed_key(db, browser, tenants, model, url, key, message):
    response = browser(tenants.vendor_admin).post(url, feature_form(key=key, due_after_days="30"))
    assert response.status_code == 400
    page = parse(response)
    assert set(page.errors) == {"key"} and message in page.errors["key"]
    assert (page.value("key"), page.value("name_en"), page.value("name_ja")) == (key, "AI assistant", "AIアシスタント")
    assert latest(db).scalar(select(model).where(model.name_en == "AI assistant")) is None


def test_a_new_milestone_is_planned_for_onboarding_customers(db, browser, tenants, today_is):
    today_is(TODAY)
    account = onboarding_account(db, tenants.partner_a)
    data = feature_form(key="exec_review", name_en="Executive review", name_ja="経営層レビュー", position="10", due_after_days="100")
    assert browser(tenants.vendor_admin).post("/rules/milestones/new", data).location == "/rules"
    html = browser(tenants.user_a).get(f"/accounts/{account.id}").get_data(as_text=True)
    assert re.search(r"Executive review</th>\s*<td[^>]*>.*?</td>\s*<td[^>]*>Dec 30, 2026</td>", html, re.S)  # Sep 21 + 100 days
    assert "0 of 7 milestones done" in html


def test_a_milestone_no_longer_used_leaves_onboarding(db, browser, tenants, today_is):
    today_is(TODAY)
    account = onboarding_account(db, tenants.partner_a)
    go_live = milestone_template(db, "go_live")
    data = feature_form(key="go_live", name_en="Go-live", name_ja="本稼働", position="5", due_after_days="90", active=None)
    assert browser(tenants.vendor_admin).post(f"/rules/milestones/{go_live.id}", data).status_code == 302
    reseller = browser(tenants.user_a)
    assert "0 of 5 milestones done" in reseller.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert reseller.get(f"/accounts/{account.id}/milestones/{go_live.id}").status_code == 404


# --- every reporting page in English and Japanese --------------------------------------------


@pytest.fixture
def scene(db, browser, tenants, today_is):
    """Something on every page: a corrected check-in; a customer in onboarding with late milestones,
    a milestone reached and a stakeholder added."""
    today_is(TODAY)
    factories.check_in(db, tenants.account_a, period_start=date(2026, 7, 1), nps=9, submitted_by_id=tenants.user_a.id)
    corrected = factories.check_in(db, tenants.account_a, period_start=date(2026, 7, 1), version=2, nps=6,
                                   sentiment_reason="Budget review", submitted_by_id=tenants.admin_a.id)
    onboarding, kickoff = onboarding_account(db, tenants.partner_a), milestone_template(db, "kickoff")
    reporter = browser(tenants.user_a)
    assert reporter.post(f"/accounts/{onboarding.id}/milestones/{kickoff.id}", milestone_form()).status_code == 302
    assert reporter.post(f"/accounts/{onboarding.id}/stakeholders/new", stakeholder_form()).status_code == 302
    return {"corrected": corrected, "onboarding": onboarding, "kickoff": kickoff,
            "feature": latest(db).scalar(select(Feature).where(Feature.key == "sso"))}


# (who, method, url, form data, a msgid the page shows in the user's language)
PAGES = [
    pytest.param("user_a", "GET", lambda t, s: "/home", None, "What to report", id="home"),
    pytest.param("user_a", "GET", lambda t, s: f"/accounts/{t.account_a.id}/check-in", None, "Health check-in", id="check-in-form"),
    pytest.param("user_a", "POST", lambda t, s: f"/accounts/{t.account_a.id}/check-in",
                 check_in_form(nps="11", sentiment="red", sentiment_reason="", outcome_note="", note="", **{
                     "risks-0-note": "", "voc-0-text": "", "voc-0-product_area": "", "voc-1-kind": ""}),
                 "Please correct the highlighted fields.", id="check-in-form-with-errors"),
    pytest.param("user_a", "GET", lambda t, s: f"/check-ins/{s['corrected'].id}", None, "History of this report", id="check-in-detail"),
    pytest.param("user_a", "GET", lambda t, s: f"/accounts/{s['onboarding'].id}", None, "Full timeline",
                 id="account-in-onboarding"),
    pytest.param("user_a", "GET", lambda t, s: f"/accounts/{s['onboarding'].id}/milestones/{s['kickoff'].id}", None,
                 "Save milestone", id="milestone-form"),
    pytest.param("user_a", "POST", lambda t, s: f"/accounts/{s['onboarding'].id}/milestones/{s['kickoff'].id}",
                 milestone_form(completed_on="", note=""), "Please correct the highlighted fields.", id="milestone-form-with-errors"),
    pytest.param("user_a", "GET", lambda t, s: f"/accounts/{t.account_a.id}/stakeholders/new", None, "New stakeholder",
                 id="stakeholder-form"),
    pytest.param("user_a", "POST", lambda t, s: f"/accounts/{t.account_a.id}/stakeholders/{t.stakeholder_a.id}",
                 stakeholder_form(name="", success_note="", last_contact_on="2026-12-01"), "Please correct the highlighted fields.",
                 id="stakeholder-form-with-errors"),
    pytest.param("vendor_admin", "GET", lambda t, s: "/rules", None, "Cadence by segment", id="rules"),
    pytest.param("vendor_admin", "POST", lambda t, s: "/rules", cadence_form(low_touch_grace="61"),
                 "Please correct the highlighted fields.", id="rules-with-errors"),
    pytest.param("vendor_admin", "GET", lambda t, s: "/rules/features/new", None, "Key feature", id="new-feature"),
    pytest.param("vendor_admin", "GET", lambda t, s: f"/rules/features/{s['feature'].id}", None, "Asked in check-ins",
                 id="feature"),
    pytest.param("vendor_admin", "GET", lambda t, s: "/rules/milestones/new", None, "Onboarding milestone", id="new-milestone"),
    pytest.param("vendor_admin", "GET", lambda t, s: f"/rules/milestones/{s['kickoff'].id}", None,
                 "Reaching it is the customer's first value", id="milestone"),
    pytest.param("admin_a", "GET", lambda t, s: "/company/settings", None, "Reporting settings", id="company-settings"),
    pytest.param("user_a", "GET", lambda t, s: "/actions?tab=team&status=all", None, "My team", id="action-items"),
    pytest.param("user_a", "GET", lambda t, s: "/actions?tab=mine&kind=request&overdue=1", None,
                 "No action item matches these filters.", id="action-items-none"),
    pytest.param("user_a", "GET", lambda t, s: f"/actions/{t.item_a.id}", None, "Take it", id="action-item"),
    pytest.param("user_a", "POST", lambda t, s: f"/actions/{t.item_a.id}/due", {"due_on": "2020-01-01"},
                 "The due date is in the past.", id="action-item-due-with-errors"),
]

# Words that are the same in both languages.
SAME_IN_BOTH = {"NPS", "CSAT", "CES", "API", "ARR", "CRM", "Web", "CSV"}


def page_for(browser, db, tenants, scene, who, method, url, data, language):
    user = getattr(tenants, who)
    user.language = language
    db.commit()
    b = browser(user)
    url = url(tenants, scene)
    response = b.get(url) if method == "GET" else b.post(url, data)
    assert response.status_code == (200 if method == "GET" else 400), url
    return response.get_data(as_text=True)


def visible_text(html: str) -> str:
    """What a person reads: text and labels, without the data typed into fields or shown as code."""
    html = re.sub(r"<(script|style|code|textarea)\b[^>]*>.*?</\1>", " ", html, flags=re.S)
    labels = re.findall(r'\s(?:aria-label|title|placeholder|alt)="([^"]*)"', html)
    text = unescape(re.sub(r"<[^>]+>", " ", html) + " " + " ".join(labels))
    return re.sub(r"(?<!\w)/[\w/.-]+", " ", text)  # paths shown as link text


def data_shown(tenants, scene) -> list[str]:
    """Names people typed in, which no translation changes."""
    people = [tenants.user_a, tenants.admin_a, tenants.vendor_admin, tenants.partner_manager]
    return ([u.display_name for u in people] + [tenants.partner_a.name, tenants.account_a.name, scene["onboarding"].name,
            tenants.stakeholder_a.name, tenants.token_a.name, f"Comment on {tenants.item_a.title}", tenants.item_a.title, scene["corrected"].sentiment_reason, milestone_form()["note"],
            stakeholder_form()["name"], stakeholder_form()["success_note"]])


@pytest.mark.parametrize("who, method, url, data, msgid", PAGES)
def test_reporting_page_in_japanese(browser, db, tenants, scene, catalog, who, method, url, data, msgid):  # noqa: F811
    html = page_for(browser, db, tenants, scene, who, method, url, data, "ja")
    assert '<html lang="ja">' in html
    assert gettext_ja(catalog, msgid) in unescape(html)
    text = visible_text(html)
    for name in data_shown(tenants, scene):
        text = text.replace(name, " ")
    english = sorted(set(re.findall(r"[A-Za-z]{2,}", text)) - SAME_IN_BOTH)
    assert english == [], f"untranslated English on the page: {english}"


@pytest.mark.parametrize("who, method, url, data, msgid", PAGES)
def test_reporting_page_in_english(browser, db, tenants, scene, who, method, url, data, msgid):
    html = page_for(browser, db, tenants, scene, who, method, url, data, "en")
    assert '<html lang="en">' in html
    assert msgid in unescape(html)
    japanese = sorted(set(JAPANESE.findall(visible_text(html))))
    assert japanese == [], f"Japanese on a page for an English-speaking user: {''.join(japanese)}"


def test_a_moved_account_leaves_the_counts_kept_for_the_snapshot_at_once(app, db, tenants, today_is):
    """The day's snapshot moves its scores with the account, and its stamp moves too: the
    renewals count kept for the old partner's scorecard is counted again, not served stale."""
    from portal.accounts.services import save_account
    from portal.models import ReportSource
    from portal.scoring import review
    from portal.scoring.aggregation import aggregate, snapshot_version

    today = date(2026, 11, 20)
    today_is(today)
    moving = factories.account(db, tenants.partner_a, name="Renews Soon", renewal_date=today + timedelta(days=30),
                               contract_start=today - timedelta(days=300))
    factories.account(db, tenants.partner_a, name="Renews Later", renewal_date=today + timedelta(days=60),
                      contract_start=today - timedelta(days=300))
    assert aggregate(db, today).status == "done"

    def renewing(partner) -> int:
        day, stamp = snapshot_version(db)
        return review.renewals(db, partner.id, day, today, limit=1, stamp=stamp)[1]

    with app.app_context():  # as the scorecard reads it: the count kept for the snapshot
        before_a, before_b = renewing(tenants.partner_a), renewing(tenants.partner_b)
        save_account(db, tenants.partner_b.id, moving.reference, {"name": moving.name}, account=moving,
                     source=ReportSource.FORM, user=tenants.vendor_admin)
        db.commit()
        assert (renewing(tenants.partner_a), renewing(tenants.partner_b)) == (before_a - 1, before_b + 1)
