"""Reporting by web form: health check-ins (with corrections as versions), milestones, stakeholders.

Every bad value comes back next to its field with everything typed still in the form; another
reseller's accounts and people are missing (404), whatever the URL or the form says.
"""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.core.formatting import local_datetime
from portal.models import (
    ChangeLog, CheckIn, LifecycleStatus, Milestone, MilestoneStatus, ReportSource, RenewalLikelihood,
    RiskType, Sentiment, Severity, Stakeholder, StakeholderRole, VocKind,
)
from tests import factories
from tests.pages import parse
from tests.readback import latest, reload
from tests.reporting_forms import (
    CLOSED_QUARTER, CURRENT_QUARTER, TODAY, check_in_form, milestone_form, milestone_template as template, onboarding_account,
    stakeholder_form,
)


@pytest.fixture(autouse=True)
def _today(today_is):
    today_is(TODAY)


def check_ins(db, account, period_start=date(2026, 7, 1)) -> list[CheckIn]:
    return list(latest(db).scalars(
        select(CheckIn).where(CheckIn.account_id == account.id, CheckIn.period_start == period_start).order_by(CheckIn.version)
    ))


def assert_kept(page, data, *, except_=()):
    """Everything the person typed is in the re-rendered form."""
    for name, value in data.items():
        if name in except_ or name == "csrf_token":
            continue
        if isinstance(value, list):
            assert page.values.get(name) == value, f"{name} not kept"
        else:
            assert page.value(name) == value, f"{name} not kept: {page.value(name)!r} instead of {value!r}"


def flashes_after(b, response) -> list[str]:
    assert response.status_code == 302, response.status_code
    return parse(b.get(response.location)).flash_texts()


# --- a check-in by form --------------------------------------------------------------------


def test_a_full_check_in_is_saved_with_features_risks_and_voice_of_customer(db, browser, tenants):
    account = tenants.account_a
    b = browser(tenants.user_a)
    response = b.post(f"/accounts/{account.id}/check-in", check_in_form())
    assert response.location == f"/accounts/{account.id}"
    assert "Check-in for 2026-07 – 2026-09 saved." in flashes_after(b, response)

    [saved] = check_ins(db, account)
    assert (saved.version, saved.source, saved.submitted_by_id, saved.partner_id) == (
        1, ReportSource.FORM, tenants.user_a.id, tenants.partner_a.id,
    )
    assert (saved.active_users, saved.nps, saved.csat, saved.ces, saved.open_tickets, saved.open_escalations) == (18, 9, 4, 2, 3, 1)
    assert (saved.sentiment, saved.sentiment_reason) == (Sentiment.YELLOW, "An escalation about the slow month-end close")
    assert (saved.outcome_progress, saved.outcome_note) == (60, "Invoice processing down from 10 to 6 days")
    assert (saved.renewal_likelihood, saved.expansion_jpy, saved.note) == (
        RenewalLikelihood.LIKELY, 300_000, "Quarterly review held on site",
    )
    assert {f.key for f in saved.features} == {"workflow", "reports"}
    assert [(r.type, r.severity, r.note) for r in saved.risks] == [
        (RiskType.CHAMPION_LEFT, Severity.HIGH, "The sponsor moves to another division"),
        (RiskType.COMPETITOR, Severity.LOW, None),
    ]
    assert [(v.kind, v.product_area, v.text, v.account_id, v.partner_id) for v in saved.voc_items] == [
        (VocKind.REQUEST, "Reports", "Export to Excel in one click", account.id, tenants.partner_a.id),
        (VocKind.PRAISE, None, "承認フローがとても楽になった", account.id, tenants.partner_a.id),
    ]

    detail = b.get(f"/check-ins/{saved.id}").get_data(as_text=True)
    for shown in ("Workflow automation: Fully used, Reports and dashboards: Fully used", "Champion left", "The sponsor moves to another division",
                  "Export to Excel in one click", "承認フローがとても楽になった", "60%", "¥300,000", "18 / 20"):
        assert shown in detail


def test_full_width_digits_and_thousands_separators_count_as_numbers(db, browser, tenants):
    # What a Japanese input method types, and how people write yen.
    response = browser(tenants.user_a).post(
        f"/accounts/{tenants.account_a.id}/check-in", check_in_form(nps="１０", active_users="１８", expansion_jpy="1,500,000"),
    )
    assert response.status_code == 302
    [saved] = check_ins(db, tenants.account_a)
    assert (saved.nps, saved.active_users, saved.expansion_jpy) == (10, 18, 1_500_000)


INVALID_CHECK_INS = [
    pytest.param({"nps": "11"}, "nps", "from 0 to 10", id="nps-above-10"),
    pytest.param({"nps": "-1"}, "nps", "from 0 to 10", id="nps-negative"),
    pytest.param({"nps": "nine"}, "nps", "from 0 to 10", id="nps-not-a-number"),
    pytest.param({"nps": "7.5"}, "nps", "whole number", id="nps-fraction"),
    pytest.param({"csat": "0"}, "csat", "from 1 to 5", id="csat-below-1"),
    pytest.param({"csat": "6"}, "csat", "from 1 to 5", id="csat-above-5"),
    pytest.param({"ces": "0"}, "ces", "from 1 to 7", id="ces-below-1"),
    pytest.param({"ces": "8"}, "ces", "from 1 to 7", id="ces-above-7"),
    pytest.param({"active_users": "21"}, "active_users", "20 seats", id="active-users-above-seats"),
    pytest.param({"active_users": "-1"}, "active_users", "0 or more", id="active-users-negative"),
    pytest.param({"outcome_progress": "101"}, "outcome_progress", "from 0 to 100", id="progress-above-100"),
    pytest.param({"outcome_progress": "-5"}, "outcome_progress", "from 0 to 100", id="progress-negative"),
    pytest.param({"open_tickets": "-2"}, "open_tickets", "0 or more", id="negative-tickets"),
    pytest.param({"expansion_jpy": "a lot"}, "expansion_jpy", "whole number", id="expansion-not-a-number"),
    pytest.param({"sentiment": None}, "sentiment", "required", id="sentiment-missing"),
    pytest.param({"sentiment": "red", "sentiment_reason": ""}, "sentiment_reason", "say why", id="red-without-reason"),
    pytest.param({"sentiment": "yellow", "sentiment_reason": "   "}, "sentiment_reason", "say why", id="yellow-blank-reason"),
    pytest.param({"risks-1-severity": ""}, "risks-1-severity", "required", id="risk-without-severity"),
    pytest.param({"voc-0-text": ""}, "voc-0-text", "required", id="voice-of-customer-without-text"),
    pytest.param({"period": "2027-01-01"}, "period", "Not a valid choice", id="period-not-offered"),
]


@pytest.mark.parametrize("overrides, field, message", INVALID_CHECK_INS)
def test_a_bad_value_comes_back_next_to_its_field_with_the_form_still_filled(db, browser, tenants, overrides, field, message):
    data = check_in_form(**overrides)
    response = browser(tenants.user_a).post(f"/accounts/{tenants.account_a.id}/check-in", data)
    assert response.status_code == 400
    assert "Please correct the highlighted fields." in response.get_data(as_text=True)
    page = parse(response)
    assert set(page.errors) == {field}, page.errors
    assert message in page.errors[field]
    # A period we do not offer cannot be shown as chosen; everything else is as typed.
    assert_kept(page, data, except_={"period"} if field == "period" else ())
    assert check_ins(db, tenants.account_a) == []


def test_green_needs_no_reason(db, browser, tenants):
    data = check_in_form(sentiment="green", sentiment_reason="")
    response = browser(tenants.user_a).post(f"/accounts/{tenants.account_a.id}/check-in", data)
    assert response.status_code == 302
    assert check_ins(db, tenants.account_a)[0].sentiment == Sentiment.GREEN


def test_every_bad_field_is_reported_at_once(browser, tenants):
    data = check_in_form(nps="11", csat="6", ces="8", outcome_progress="101", sentiment="red", sentiment_reason="")
    page = parse(browser(tenants.user_a).post(f"/accounts/{tenants.account_a.id}/check-in", data))
    assert set(page.errors) == {"nps", "csat", "ces", "outcome_progress", "sentiment_reason"}


def test_no_period_before_the_contract_started(db, browser, tenants):
    # The contract starts inside the current quarter: the closed quarter is offered, but owed nothing.
    account = factories.account(db, tenants.partner_a, reference="A-NEW", contract_start=date(2026, 10, 15))
    response = browser(tenants.user_a).post(f"/accounts/{account.id}/check-in", check_in_form())
    assert response.status_code == 400
    assert "before the contract started" in parse(response).errors["period"]
    assert check_ins(db, account) == []


@pytest.mark.parametrize("day, proposed", [(date(2026, 10, 10), CLOSED_QUARTER), (date(2026, 10, 11), CURRENT_QUARTER)],
                         ids=["within-grace-days", "after-grace-days"])
def test_the_form_proposes_the_closed_period_until_its_grace_days_are_over(browser, tenants, today_is, day, proposed):
    today_is(day)
    page = parse(browser(tenants.user_a).get(f"/accounts/{tenants.account_a.id}/check-in"))
    assert page.value("period") == proposed


def test_a_churned_customer_takes_no_check_in(db, browser, tenants):
    account = factories.account(db, tenants.partner_a, reference="A-GONE", status=LifecycleStatus.CHURNED,
                                churned_on=date(2026, 9, 30), churn_reason="Budget cut")
    b = browser(tenants.user_a)
    response = b.post(f"/accounts/{account.id}/check-in", check_in_form())
    assert response.location == f"/accounts/{account.id}"
    assert "This customer has churned; it takes no more check-ins." in flashes_after(b, response)
    assert check_ins(db, account) == []


# --- corrections are new versions ----------------------------------------------------------


def history(html: str) -> list[str]:
    """The text of each entry in a check-in's "History of this report"."""
    timeline = html.split('<ol class="timeline">')[1].split("</ol>")[0]
    return [words(re.sub(r"<[^>]+>", " ", item)) for item in re.findall(r"<li[^>]*>(.*?)</li>", timeline, re.S)]


def words(text: str) -> str:
    return " ".join(text.split())  # also folds the narrow no-break space in "8:49 PM"


def test_a_correction_is_version_2_and_version_1_stays(app, db, browser, tenants):
    account = tenants.account_a
    url = f"/accounts/{account.id}/check-in"
    reporter, corrector = browser(tenants.user_a), browser(tenants.admin_a)
    assert reporter.post(url, check_in_form()).status_code == 302

    # The form for that period opens with what is in force, and says a change adds a version.
    page_before = reporter.get(f"{url}?period={CLOSED_QUARTER}")
    form = parse(page_before)
    assert (form.value("nps"), form.value("sentiment"), form.value("feature_workflow"), form.value("feature_reports"),
            form.value("risks-0-type")) == ("9", "yellow", "fully", "fully", "champion_left")
    assert "A check-in for this period exists (version 1" in page_before.get_data(as_text=True)

    corrected = check_in_form(nps="6", sentiment="red", sentiment_reason="The sponsor has left", feature_reports="")
    response = corrector.post(url, corrected)
    assert "Check-in for 2026-07 – 2026-09 corrected: version 2 now applies; the earlier one is kept." in flashes_after(corrector, response)

    first, second = check_ins(db, account)
    assert (first.version, first.nps, first.sentiment, first.submitted_by_id) == (1, 9, Sentiment.YELLOW, tenants.user_a.id)
    assert {f.key for f in first.features} == {"workflow", "reports"}
    assert (second.version, second.nps, second.sentiment, second.submitted_by_id) == (2, 6, Sentiment.RED, tenants.admin_a.id)
    assert {f.key for f in second.features} == {"workflow"}
    # The voice of the customer is not counted twice: each version keeps its own items.
    assert len(first.voc_items) == len(second.voc_items) == 2

    html = reporter.get(f"/check-ins/{second.id}").get_data(as_text=True)
    assert "Version 2, in force" in html
    with app.test_request_context():
        when = [local_datetime(c.submitted_at) for c in (first, second)]  # the one format for a moment
    # Who changed what and when.
    assert history(html) == [
        words(f"Version 1 · {when[0]} · {tenants.user_a.display_name} · Web form"),
        words(f"Version 2 · {when[1]} · {tenants.admin_a.display_name} · Web form Changed: Sentiment, Key features in use, NPS"),
    ]

    old = reporter.get(f"/check-ins/{first.id}").get_data(as_text=True)
    assert "Version 1, superseded by version 2" in old
    assert "An escalation about the slow month-end close" in old and "The sponsor has left" not in old

    assert "2 versions" in reporter.get(f"/accounts/{account.id}").get_data(as_text=True)


def test_sending_the_same_check_in_again_creates_nothing(db, browser, tenants):
    b = browser(tenants.user_a)
    url = f"/accounts/{tenants.account_a.id}/check-in"
    b.post(url, check_in_form())
    response = b.post(url, check_in_form())
    assert "Nothing changed: the check-in for 2026-07 – 2026-09 already says this." in flashes_after(b, response)
    assert [c.version for c in check_ins(db, tenants.account_a)] == [1]


def test_a_correction_can_remove_risks_and_features(db, browser, tenants):
    b = browser(tenants.user_a)
    url = f"/accounts/{tenants.account_a.id}/check-in"
    b.post(url, check_in_form())
    no_risks = {f"risks-{i}-{name}": "" for i in range(2) for name in ("type", "severity", "note")}
    response = b.post(url, check_in_form(feature_workflow=None, feature_reports="", **no_risks))
    assert response.status_code == 302
    first, second = check_ins(db, tenants.account_a)
    assert (len(first.risks), len(first.features)) == (2, 2)
    assert (second.risks, second.features) == ([], [])


# --- milestones ----------------------------------------------------------------------------


@pytest.fixture
def onboarding(db, tenants):
    return onboarding_account(db, tenants.partner_a)


def recent_changes(html: str) -> list[str]:
    """What the account page's timeline says was changed in milestones and stakeholders, newest
    first: the entry's title and its changes (without who and when)."""
    entries = re.findall(r'<li[^>]*class="timeline__entry timeline__entry--(?:milestone|stakeholder)">(.*?)</li>', html, re.S)
    return [words(re.sub(r"<[^>]+>", " ", entry.split("</p>", 1)[1].replace("<br>", "; "))) for entry in entries]


def late_rows(html: str) -> list[str]:
    """Milestones the account page marks as late."""
    return re.findall(r'<tr class="row--late">\s*<th scope="row"[^>]*>([^<]+?)\s*<', html)


def test_a_milestone_is_saved_and_logged(db, browser, tenants, onboarding):
    kickoff = template(db, "kickoff")
    b = browser(tenants.user_a)
    response = b.post(f"/accounts/{onboarding.id}/milestones/{kickoff.id}", milestone_form())
    assert response.location == f"/accounts/{onboarding.id}#onboarding"
    assert "Milestone “Kickoff” saved." in flashes_after(b, response)
    saved = latest(db).scalar(select(Milestone).where(Milestone.account_id == onboarding.id))
    assert (saved.template_id, saved.status, saved.planned_on, saved.completed_on, saved.note, saved.updated_by_id) == (
        kickoff.id, MilestoneStatus.DONE, date(2026, 9, 28), date(2026, 10, 2), "Kickoff with the CFO and IT", tenants.user_a.id,
    )
    [log] = latest(db).scalars(select(ChangeLog).where(ChangeLog.entity == "milestone"))
    assert (log.entity_id, log.action, log.user_id, log.source) == (saved.id, "create", tenants.user_a.id, ReportSource.FORM)
    assert log.changes["status"] == [None, "done"]
    assert recent_changes(b.get(f"/accounts/{onboarding.id}").get_data(as_text=True)) == [
        "Milestone recorded: Kickoff Status: — → Done; Planned date: — → Sep 28, 2026; Actual date: — → Oct 2, 2026; "
        "Note: — → Kickoff with the CFO and IT",
    ]

    # The form opens again with what was saved.
    page = parse(b.get(f"/accounts/{onboarding.id}/milestones/{kickoff.id}"))
    assert (page.value("status"), page.value("planned_on"), page.value("completed_on"), page.value("note")) == (
        "done", "2026-09-28", "2026-10-02", "Kickoff with the CFO and IT",
    )


INVALID_MILESTONES = [
    pytest.param({"completed_on": ""}, "completed_on", "is required when the milestone is done", id="done-without-date"),
    pytest.param({"completed_on": "2026-11-21"}, "completed_on", "in the future", id="done-tomorrow"),
    pytest.param({"completed_on": "last week"}, "completed_on", "must be a date", id="unreadable-actual-date"),
    pytest.param({"planned_on": "2026-02-30"}, "planned_on", "must be a date", id="impossible-planned-date"),
    pytest.param({"status": "finished"}, "status", "must be one of", id="unknown-status"),
]


@pytest.mark.parametrize("overrides, field, message", INVALID_MILESTONES)
def test_a_bad_milestone_comes_back_with_the_error_and_the_values(db, browser, tenants, onboarding, overrides, field, message):
    data = milestone_form(**overrides)
    response = browser(tenants.user_a).post(f"/accounts/{onboarding.id}/milestones/{template(db, 'kickoff').id}", data)
    assert response.status_code == 400
    page = parse(response)
    assert set(page.errors) == {field}
    assert message in page.errors[field]
    assert_kept(page, data, except_={"status"} if field == "status" else ())
    assert latest(db).scalar(select(func.count()).select_from(Milestone)) == 0


def test_late_milestones_stand_out_and_time_to_first_value_shows(db, browser, tenants, onboarding):
    b = browser(tenants.user_a)
    account_page = f"/accounts/{onboarding.id}"
    html = b.get(account_page).get_data(as_text=True)
    assert late_rows(html) == ["Kickoff", "Success plan and desired outcome agreed", "Technical setup", "User training"]
    assert "4 late" in html and "no first value yet" in html
    assert "53 days late" in html  # kickoff, planned for 2026-09-28

    b.post(f"{account_page}/milestones/{template(db, 'kickoff').id}", milestone_form(completed_on="2026-09-28"))
    b.post(f"{account_page}/milestones/{template(db, 'first_value').id}",
           milestone_form(planned_on="2026-11-23", completed_on="2026-11-10"))
    html = b.get(account_page).get_data(as_text=True)
    assert late_rows(html) == ["Success plan and desired outcome agreed", "Technical setup", "User training"]
    assert "3 late" in html
    assert "first value after 50 days" in html  # 2026-09-21 to 2026-11-10

    form = b.get(f"{account_page}/milestones/{template(db, 'success_plan').id}").get_data(as_text=True)
    assert "39 days past the planned date." in form


def test_customers_adopted_before_the_portal_have_no_late_milestones(browser, tenants):
    # account_a is active, signed in 2025, and has no milestone records: unknown, not late.
    html = browser(tenants.user_a).get(f"/accounts/{tenants.account_a.id}").get_data(as_text=True)
    assert late_rows(html) == []
    assert "late" not in html.split('id="onboarding-heading"')[1].split("</p>")[0]


# --- stakeholders --------------------------------------------------------------------------


def test_a_new_stakeholder_is_saved_and_listed(db, browser, tenants):
    account = tenants.account_a
    b = browser(tenants.user_a)
    response = b.post(f"/accounts/{account.id}/stakeholders/new", stakeholder_form())
    assert response.location == f"/accounts/{account.id}#stakeholders"
    assert "Stakeholder Kenji Tanaka saved." in flashes_after(b, response)
    person = latest(db).scalar(select(Stakeholder).where(Stakeholder.name == "Kenji Tanaka"))
    assert (person.account_id, person.partner_id, person.role, person.success_note, person.last_contact_on, person.active) == (
        account.id, tenants.partner_a.id, StakeholderRole.ADMINISTRATOR, "Wants fewer manual exports", date(2026, 11, 18), True,
    )
    [log] = latest(db).scalars(select(ChangeLog).where(ChangeLog.entity == "stakeholder"))
    assert (log.entity_id, log.action, log.user_id) == (person.id, "create", tenants.user_a.id)
    assert "Wants fewer manual exports" in b.get(f"/accounts/{account.id}").get_data(as_text=True)


def test_editing_a_stakeholder_keeps_the_person_and_logs_what_changed(db, browser, tenants):
    person = tenants.stakeholder_a
    b = browser(tenants.admin_a)
    url = f"/accounts/{tenants.account_a.id}/stakeholders/{person.id}"
    page = parse(b.get(url))
    assert (page.value("name"), page.value("role"), page.value("active")) == ("Hanako Sato", "decision_maker", "y")

    # An unticked box is not sent: she is no longer involved.
    response = b.post(url, stakeholder_form(name="Hanako Sato", role="end_user", active=None))
    assert response.status_code == 302
    after = reload(db, person)
    assert (after.id, after.name, after.role, after.active, after.last_contact_on) == (
        person.id, "Hanako Sato", StakeholderRole.END_USER, False, date(2026, 11, 18),
    )
    [log] = latest(db).scalars(select(ChangeLog).where(ChangeLog.entity == "stakeholder"))
    assert (log.action, log.user_id) == ("update", tenants.admin_a.id)
    assert log.changes["role"] == ["decision_maker", "end_user"]
    assert log.changes["active"] == [True, False]
    assert "name" not in log.changes
    html = b.get(f"/accounts/{tenants.account_a.id}").get_data(as_text=True)
    assert "no longer involved" in html
    assert recent_changes(html) == [
        "Stakeholder updated: Hanako Sato Role: Decision maker → End user; Their own success, in a line: — → Wants fewer "
        "manual exports; Last contact: — → Nov 18, 2026; Still involved: ✓ → ✗",
    ]


INVALID_STAKEHOLDERS = [
    pytest.param({"name": "  "}, "name", "required", id="no-name"),
    pytest.param({"name": "N" * 121}, "name", "too long", id="name-too-long"),
    pytest.param({"role": "ceo"}, "role", "must be one of", id="unknown-role"),
    pytest.param({"last_contact_on": "18/11/2026"}, "last_contact_on", "must be a date", id="unreadable-date"),
    pytest.param({"last_contact_on": "2026-11-21"}, "last_contact_on", "in the future", id="contact-tomorrow"),
]


@pytest.mark.parametrize("overrides, field, message", INVALID_STAKEHOLDERS)
def test_a_bad_stakeholder_comes_back_with_the_error_and_the_values(db, browser, tenants, overrides, field, message):
    data = stakeholder_form(**overrides)
    response = browser(tenants.user_a).post(f"/accounts/{tenants.account_a.id}/stakeholders/new", data)
    assert response.status_code == 400
    page = parse(response)
    assert set(page.errors) == {field}
    assert message in page.errors[field]
    assert_kept(page, data, except_={"role"} if field == "role" else ())
    assert latest(db).scalar(select(func.count()).select_from(Stakeholder)) == 2  # the two from the tenants fixture


# --- another reseller's customers ----------------------------------------------------------


def reporting_state(db) -> tuple:
    """Everything reported for both resellers, to compare before and after a request."""
    db = latest(db)
    rows = []
    for model in (CheckIn, Milestone, Stakeholder, ChangeLog):
        rows.append(db.execute(select(model.partner_id, func.count()).group_by(model.partner_id).order_by(model.partner_id)).all())
    people = db.execute(select(Stakeholder.id, Stakeholder.name, Stakeholder.role, Stakeholder.active).order_by(Stakeholder.id)).all()
    return tuple(map(tuple, rows)) + (tuple(people),)


CROSS_PARTNER = [
    pytest.param(lambda t, kickoff: (f"/accounts/{t.account_b.id}/check-in", check_in_form(period=CURRENT_QUARTER)),
                 id="check-in-for-Bs-account"),
    pytest.param(lambda t, kickoff: (f"/accounts/{t.account_b.id}/milestones/{kickoff}", milestone_form()),
                 id="milestone-of-Bs-account"),
    pytest.param(lambda t, kickoff: (f"/accounts/{t.account_b.id}/stakeholders/new", stakeholder_form()),
                 id="new-stakeholder-on-Bs-account"),
    pytest.param(lambda t, kickoff: (f"/accounts/{t.account_b.id}/stakeholders/{t.stakeholder_b.id}", stakeholder_form()),
                 id="Bs-stakeholder-on-Bs-account"),
    pytest.param(lambda t, kickoff: (f"/accounts/{t.account_a.id}/stakeholders/{t.stakeholder_b.id}", stakeholder_form()),
                 id="Bs-stakeholder-through-As-account"),
]


@pytest.mark.parametrize("request_for", CROSS_PARTNER)
@pytest.mark.parametrize("role", ["user_a", "admin_a"])
def test_posting_to_another_resellers_customer_is_a_404_and_changes_nothing(db, browser, tenants, request_for, role):
    url, data = request_for(tenants, template(db, "kickoff").id)
    before = reporting_state(db)
    response = browser(getattr(tenants, role)).post(url, data)
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert tenants.account_b.name not in body and tenants.stakeholder_b.name not in body
    assert reporting_state(db) == before
