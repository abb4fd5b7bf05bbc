"""End-customer accounts: creating, validating, editing, listing, paging and sorting."""
from __future__ import annotations

import random
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.models import Account, ChangeLog, LifecycleStatus, ReportSource, Role, Segment
from tests import factories
from tests.readback import latest, reload
from tests.pages import parse


def account_count(db, partner=None) -> int:
    stmt = select(func.count()).select_from(Account)
    if partner is not None:
        stmt = stmt.where(Account.partner_id == partner.id)
    return latest(db).scalar(stmt)


def form(**overrides):
    data = {
        "reference": "CRM-7781",
        "name": "Nadeshiko Foods KK",
        "industry": "Food",
        "segment": "high_touch",
        "plan": "Enterprise",
        "seats": "250",
        "arr_jpy": "4500000",
        "contract_start": "2025-10-01",
        "renewal_date": "2026-10-01",
        "desired_outcome": "Close the monthly stock count in one day",
        "status": "onboarding",
        "churned_on": "",
        "churn_reason": "",
    }
    data.update(overrides)
    return data


def test_partner_admin_creates_an_account_and_sees_it(db, browser, tenants):
    b = browser(tenants.admin_a)
    response = b.post("/accounts/new", form())
    assert response.status_code == 302
    account = latest(db).scalar(select(Account).where(Account.reference == "CRM-7781"))
    assert account is not None
    assert response.location == f"/accounts/{account.id}"
    assert account.partner_id == tenants.partner_a.id
    assert (account.name, account.segment, account.seats, account.arr_jpy) == (
        "Nadeshiko Foods KK", Segment.HIGH_TOUCH, 250, 4_500_000,
    )
    assert (account.contract_start, account.renewal_date, account.status) == (
        date(2025, 10, 1), date(2026, 10, 1), LifecycleStatus.ONBOARDING,
    )

    detail = b.get(response.location)
    assert detail.status_code == 200
    html = detail.get_data(as_text=True)
    for shown in ("Nadeshiko Foods KK", "CRM-7781", "Close the monthly stock count in one day", "¥4,500,000", "250",
                  "Enterprise", "High touch", "Onboarding"):
        assert shown in html
    assert "Nadeshiko Foods KK" in parse(b.get("/accounts")).rows


def test_vendor_admin_creates_an_account_for_a_chosen_partner(db, browser, tenants):
    b = browser(tenants.vendor_admin)
    response = b.post("/accounts/new", form(partner_id=str(tenants.partner_b.id)))
    assert response.status_code == 302
    account = latest(db).scalar(select(Account).where(Account.reference == "CRM-7781"))
    assert account.partner_id == tenants.partner_b.id
    assert "Nadeshiko Foods KK" in parse(browser(tenants.admin_b).get("/accounts")).rows
    assert "Nadeshiko Foods KK" not in parse(browser(tenants.admin_a).get("/accounts")).rows


INVALID = [
    pytest.param({"reference": "A-001"}, "reference", id="duplicate-reference"),
    pytest.param({"reference": "  A-001 "}, "reference", id="duplicate-reference-with-spaces"),
    pytest.param({"contract_start": "2026-04-01", "renewal_date": "2026-03-31"}, "renewal_date", id="renewal-before-start"),
    pytest.param({"status": "churned", "churned_on": "", "churn_reason": "Budget cut"}, "churned_on", id="churned-without-date"),
    pytest.param({"status": "churned", "churned_on": "2026-01-15", "churn_reason": "  "}, "churn_reason", id="churned-without-reason"),
    pytest.param({"seats": "-5"}, "seats", id="negative-seats"),
    pytest.param({"arr_jpy": "lots"}, "arr_jpy", id="non-numeric-arr"),
    pytest.param({"arr_jpy": "-1"}, "arr_jpy", id="negative-arr"),
    pytest.param({"name": ""}, "name", id="missing-name"),
    pytest.param({"segment": "enterprise"}, "segment", id="unknown-segment"),
    pytest.param({"renewal_date": "2026-02-30"}, "renewal_date", id="impossible-date"),
]


@pytest.mark.parametrize("overrides, field", INVALID)
def test_invalid_account_comes_back_filled_with_the_error_on_the_field(db, browser, tenants, overrides, field):
    b = browser(tenants.admin_a)
    before = account_count(db)
    data = form(**overrides)
    response = b.post("/accounts/new", data)
    assert response.status_code == 400
    page = parse(response)
    assert page.errors.get(field), f"no error next to {field}: {page.errors}"
    assert set(page.errors) == {field}
    # What the person typed is still there.
    for name in ("reference", "name", "industry", "plan", "seats", "arr_jpy", "contract_start", "renewal_date",
                 "desired_outcome", "status"):
        assert page.value(name) == data[name], f"{name} not kept"
    assert account_count(db) == before


def test_churned_account_needs_date_and_reason_then_saves(db, browser, tenants):
    b = browser(tenants.admin_a)
    page = parse(b.post("/accounts/new", form(status="churned")))
    assert page.errors.keys() == {"churned_on", "churn_reason"}
    response = b.post("/accounts/new", form(status="churned", churned_on="2026-01-15", churn_reason="Moved to a competitor"))
    assert response.status_code == 302
    account = latest(db).scalar(select(Account).where(Account.reference == "CRM-7781"))
    assert (account.status, account.churned_on, account.churn_reason) == (
        LifecycleStatus.CHURNED, date(2026, 1, 15), "Moved to a competitor",
    )


def test_same_reference_is_allowed_at_another_partner(db, browser, tenants):
    # A-001 is partner A's reference; partner B may use it for its own customer.
    response = browser(tenants.admin_b).post("/accounts/new", form(reference="A-001"))
    assert response.status_code == 302
    refs = latest(db).execute(select(Account.partner_id).where(Account.reference == "A-001")).scalars().all()
    assert sorted(refs) == sorted([tenants.partner_a.id, tenants.partner_b.id])


def test_editing_keeps_the_account_and_its_reference_check_ignores_itself(db, browser, tenants):
    account = tenants.account_a
    b = browser(tenants.admin_a)
    assert b.get(f"/accounts/{account.id}/edit").status_code == 200
    before = account_count(db)
    response = b.post(
        f"/accounts/{account.id}/edit",
        form(reference="A-001", name="Alpha Customer Holdings", seats="80", arr_jpy="1920000", status="active"),
    )
    assert response.status_code == 302
    assert response.location == f"/accounts/{account.id}"
    assert account_count(db) == before
    after = reload(db, account)
    assert (after.id, after.partner_id, after.reference) == (account.id, tenants.partner_a.id, "A-001")
    assert (after.name, after.seats, after.arr_jpy) == ("Alpha Customer Holdings", 80, 1_920_000)
    assert "Alpha Customer Holdings" in b.get(f"/accounts/{account.id}").get_data(as_text=True)


def test_web_edits_write_the_change_log_like_the_api_does(db, browser, tenants):
    account = tenants.account_a
    b = browser(tenants.admin_a)
    response = b.post(f"/accounts/{account.id}/edit", form(reference="A-001", name="Alpha Customer Holdings", seats="80"))
    assert response.status_code == 302
    entries = latest(db).scalars(select(ChangeLog).where(ChangeLog.entity == "account", ChangeLog.entity_id == account.id)).all()
    assert [(e.action, e.source, e.user_id) for e in entries] == [("update", ReportSource.FORM, tenants.admin_a.id)]
    assert entries[0].changes["name"] == ["Alpha Customer KK", "Alpha Customer Holdings"]
    assert entries[0].changes["seats"] == [20, 80]
    # The account page lists the change with who made it.
    page = b.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert "Alpha Customer Holdings" in page and tenants.admin_a.display_name in page
    # Saving the same values again logs nothing.
    b.post(f"/accounts/{account.id}/edit", form(reference="A-001", name="Alpha Customer Holdings", seats="80"))
    assert latest(db).scalar(select(func.count()).select_from(ChangeLog).where(ChangeLog.entity_id == account.id,
                                                                               ChangeLog.entity == "account")) == 1


def test_a_new_account_from_the_form_is_logged_as_created(db, browser, tenants):
    assert browser(tenants.admin_a).post("/accounts/new", form()).status_code == 302
    account = latest(db).scalar(select(Account).where(Account.reference == "CRM-7781"))
    entry = latest(db).scalar(select(ChangeLog).where(ChangeLog.entity == "account", ChangeLog.entity_id == account.id))
    assert (entry.action, entry.source, entry.partner_id) == ("create", ReportSource.FORM, tenants.partner_a.id)
    assert entry.changes["name"] == [None, "Nadeshiko Foods KK"]


def test_edit_form_shows_the_stored_values(browser, tenants):
    page = parse(browser(tenants.admin_a).get(f"/accounts/{tenants.account_a.id}/edit"))
    assert page.value("reference") == "A-001"
    assert page.value("name") == "Alpha Customer KK"
    assert page.value("segment") == "low_touch"
    assert page.value("status") == "active"
    assert page.value("renewal_date") == "2026-04-01"


def test_editing_to_another_accounts_reference_is_rejected(db, browser, tenants):
    other = factories.account(db, tenants.partner_a, reference="A-002", name="Second Alpha Customer")
    b = browser(tenants.admin_a)
    response = b.post(f"/accounts/{other.id}/edit", form(reference="A-001", name="Second Alpha Customer"))
    assert response.status_code == 400
    assert parse(response).errors.get("reference")
    assert reload(db, other).reference == "A-002"


def test_un_churning_clears_the_churn_fields(db, browser, tenants):
    account = factories.account(
        db, tenants.partner_a, reference="A-009", status=LifecycleStatus.CHURNED,
        churned_on=date(2026, 1, 31), churn_reason="Budget cut",
    )
    response = browser(tenants.admin_a).post(
        f"/accounts/{account.id}/edit",
        form(reference="A-009", status="active", churned_on="2026-01-31", churn_reason="Budget cut"),
    )
    assert response.status_code == 302
    after = reload(db, account)
    assert (after.status, after.churned_on, after.churn_reason) == (LifecycleStatus.ACTIVE, None, None)


# --- listing, paging, sorting -------------------------------------------------------------


@pytest.fixture
def many_accounts(app, db):
    """A partner with page_size + 4 accounts whose ARR order differs from their name order."""
    per_page = app.config["PORTAL"].page_size
    partner = factories.partner(db, name="Paging Partner", code="PAGING")
    admin = factories.user(db, Role.PARTNER_ADMIN, partner)
    n = per_page + 4
    arrs = list(range(1, n + 1))
    random.Random(7).shuffle(arrs)
    accounts = [
        factories.account(db, partner, name=f"Customer {i:03d}", reference=f"PG-{i:03d}", arr_jpy=arr * 10_000,
                          segment=Segment.HIGH_TOUCH if i % 3 == 0 else Segment.LOW_TOUCH)
        for i, arr in enumerate(arrs)
    ]
    return per_page, admin, accounts


def test_paging_by_name(browser, many_accounts):
    per_page, admin, accounts = many_accounts
    b = browser(admin)
    by_name = sorted(a.name for a in accounts)
    first = b.get("/accounts")
    assert f"{len(accounts)} accounts" in first.get_data(as_text=True)
    assert parse(first).rows == by_name[:per_page]
    second = b.get("/accounts?page=2")
    assert parse(second).rows == by_name[per_page:]
    assert "Page 2 of 2" in second.get_data(as_text=True)
    # A new sort starts over: the column headers' links drop the cursor.
    assert "after=" not in re.search(r"<thead>.*</thead>", second.get_data(as_text=True), re.S).group(0)
    # Past the end: nothing, rather than an error or page 1 again.
    assert parse(b.get("/accounts?page=3")).rows == []


def test_sort_by_arr_largest_first_across_pages(browser, many_accounts):
    per_page, admin, accounts = many_accounts
    b = browser(admin)
    by_arr = [a.name for a in sorted(accounts, key=lambda a: -a.arr_jpy)]
    assert by_arr != sorted(by_arr)  # the orders really differ
    assert parse(b.get("/accounts?sort=arr")).rows == by_arr[:per_page]
    assert parse(b.get("/accounts?sort=arr&page=2")).rows == by_arr[per_page:]


def test_page_links_keep_filters_and_sort(browser, many_accounts):
    per_page, admin, accounts = many_accounts
    b = browser(admin)
    html = b.get("/accounts?sort=arr").get_data(as_text=True)
    # The Next link starts from the page's last account (a keyset cursor), sort kept.
    link = re.search(r'href="(/accounts\?sort=arr&amp;page=2&amp;after=\d+)" rel="next"', html)
    assert link
    second = b.get(link.group(1).replace("&amp;", "&"))
    assert parse(second).rows == [a.name for a in sorted(accounts, key=lambda a: -a.arr_jpy)][per_page:]
    assert "Page 2 of 2" in second.get_data(as_text=True)
    # A new sort starts over: the column headers' links drop the cursor.
    assert "after=" not in re.search(r"<thead>.*</thead>", second.get_data(as_text=True), re.S).group(0)
    back = re.search(r'href="([^"]+)" rel="prev"', second.get_data(as_text=True)).group(1).replace("&amp;", "&")
    assert parse(b.get(back)).rows == parse(b.get("/accounts?sort=arr")).rows


def test_segment_filter(browser, many_accounts):
    _per_page, admin, accounts = many_accounts
    rows = parse(browser(admin).get("/accounts?segment=high_touch")).rows
    expected = sorted(a.name for a in accounts if a.segment == Segment.HIGH_TOUCH)
    assert rows == expected
    assert 0 < len(rows) < len(accounts)


def test_page_size_comes_from_the_config(app, browser, many_accounts):
    _per_page, admin, accounts = many_accounts
    app.config["PORTAL"].page_size = 10
    rows = parse(browser(admin).get("/accounts?page=2")).rows
    assert rows == sorted(a.name for a in accounts)[10:20]


def test_nonsense_page_and_partner_numbers_do_not_break_the_list(browser, tenants):
    b = browser(tenants.vendor_admin)
    for url in ("/accounts?page=99999999999999999999", "/accounts?page=abc", "/accounts?page=-3",
                "/accounts?partner_id=99999999999999999999", "/partners?page=99999999999999999999",
                "/users?page=99999999999999999999", "/users?partner_id=99999999999999999999"):
        assert b.get(url).status_code == 200, url
    assert parse(b.get("/accounts?page=99999999999999999999")).rows == []
    # Not a number, or below 1: the first page.
    first = parse(b.get("/accounts")).rows
    assert first and parse(b.get("/accounts?page=abc")).rows == first
    assert parse(b.get("/accounts?page=-3")).rows == first


@pytest.mark.parametrize("url, parameter", [
    ("/accounts?segment=enterprise", "segment"), ("/accounts?status=asleep", "status"), ("/accounts?partner_id=abc", "partner_id"),
    ("/partners?tier=diamond", "tier"), ("/users?role=superuser", "role"), ("/outbox?status=lost", "status"),
    ("/voice-of-customer?kind=rumour", "kind"), ("/voice-of-customer?partner_id=-1", "partner_id"),
    ("/channel?band=purple", "band"), ("/channel/partners.csv?tier=diamond", "tier"),
])
def test_a_filter_that_names_nothing_is_refused_with_the_parameter_named(browser, tenants, url, parameter):
    response = browser(tenants.vendor_admin).get(url)
    assert response.status_code == 400, url
    assert f"{parameter}=" in response.get_data(as_text=True)


def test_a_partner_admin_cannot_filter_users_by_a_role_it_cannot_give(browser, tenants):
    assert browser(tenants.admin_a).get("/users?role=vendor_admin").status_code == 400
    assert browser(tenants.admin_a).get("/users?role=partner_user").status_code == 200


def test_a_partner_id_beyond_any_id_finds_nothing(browser, tenants):
    assert parse(browser(tenants.vendor_admin).get("/accounts?partner_id=99999999999999999999")).rows == []
    assert parse(browser(tenants.vendor_admin).get(f"/accounts?partner_id={tenants.partner_a.id}")).rows == [tenants.account_a.name]
