"""Hostile input gets a clear 4xx, never a 500: JSON nested 100,000 deep, lone surrogates, NUL
characters, numbers of thousands of digits, ids and page numbers past any integer column, on
every kind of API endpoint and in the query strings of the web lists. (In tests the app
re-raises its exceptions, so a 500 would fail these tests with the exception itself.)"""
from __future__ import annotations

import pytest

from tests.readback import reload
from tests.test_api import API, STAKEHOLDER, Api, assert_problem, operation_path, partner_data

WRITES = [
    ("PUT", "/accounts/A-001"),  # an update
    ("PUT", "/accounts/NEW-001"),  # a create
    ("POST", "/accounts/A-001/check-ins"),
    ("PUT", "/accounts/A-001/milestones/kickoff"),
    ("POST", "/accounts/A-001/stakeholders"),
    ("PUT", "/accounts/A-001/stakeholders/{stakeholder_a}"),
]
READS = ["/accounts", "/accounts/A-001", "/accounts/A-001/check-ins", "/accounts/A-001/milestones", "/accounts/A-001/stakeholders"]

DEEP = 100_000
# (name, raw body, status, pointer named in the errors or None)
BODIES = [
    ("arrays nested 100,000 deep", "[" * DEEP + "]" * DEEP, 400, None),
    ("objects nested 100,000 deep", '{"a":' * DEEP + "1" + "}" * DEEP, 400, None),
    ("a value nested 100,000 deep", '{"name": ' + "[" * DEEP + "]" * DEEP + "}", 400, None),
    ("brackets inside a string do not count", '{"note": "' + "[" * DEEP + '", "name": {}}', None, None),
    ("a lone surrogate", '{"name": "Sakura \\ud800", "note": "x"}', 422, "/name"),
    ("a lone surrogate in a key", '{"\\udfff": 1}', 422, "/\\udfff"),
    ("a lone surrogate deep inside", '{"risks": [{"type": "other", "note": "\\udc00"}]}', 422, "/risks/0/note"),
    ("a NUL character", '{"name": "a\\u0000b"}', 422, "/name"),
    ("a NUL character in a list", '{"feature_keys": ["x\\u0000"]}', 422, "/feature_keys/0"),
    ("a number of 5,000 digits", '{"seats": ' + "9" * 5000 + "}", 422, "/seats"),
    ("a negative number of 5,000 digits", '{"seats": -' + "9" * 5000 + "}", 422, "/seats"),
    ("NaN", '{"seats": NaN}', 400, None),
    ("not JSON", '{"seats": ', 400, None),
    ("not an object", "[]", 400, None),
]


@pytest.fixture
def api(client, tenants):
    return Api(client, tenants.secret_a)


@pytest.fixture
def send(client, tenants):
    def send(method, path, raw, content_type="application/json"):
        return client.open(API + operation_path(path, tenants), method=method, data=raw,
                           headers={"Authorization": f"Bearer {tenants.secret_a}", "Content-Type": content_type})
    return send


@pytest.mark.parametrize("method, path", WRITES, ids=[f"{m} {p}" for m, p in WRITES])
@pytest.mark.parametrize("name, raw, status, pointer", BODIES, ids=[b[0] for b in BODIES])
def test_a_hostile_body_is_refused_with_a_pointer_and_writes_nothing(db, tenants, send, method, path, name, raw, status, pointer):
    before = partner_data(db, tenants.partner_a)
    response = send(method, path, raw)
    if status is None:  # a fine body as far as reading goes: the service judges it (NEW-001: may not be created)
        assert response.status_code in (403, 422)
        return
    body = assert_problem(response, status)
    if pointer:
        assert pointer in [e["pointer"] for e in body["errors"]], body
    else:
        assert body["detail"]
    assert partner_data(db, tenants.partner_a) == before


def test_the_body_must_be_utf8_json(send):
    assert_problem(send("PUT", "/accounts/A-001", b'{"name": "\xff"}'), 400)
    assert_problem(send("PUT", "/accounts/A-001", '{"seats": 3}', content_type="text/plain"), 400)


def test_numbers_past_an_integer_column_are_refused_with_its_range(send):
    body = assert_problem(send("POST", "/accounts/A-001/check-ins",
                               '{"period": "2026-04", "sentiment": "green", "open_tickets": 99999999999, "open_escalations": "' + "9" * 5000 + '"}'),
                          422, "open_tickets", "open_escalations")
    messages = {e["field"]: e["message"] for e in body["errors"]}
    assert messages["open_tickets"] == messages["open_escalations"] == "must be a whole number from 0 to 2147483647"
    assert_problem(send("PUT", "/accounts/A-001", '{"arr_jpy": 1e300}'), 422, "arr_jpy")


def test_fine_text_in_any_script_is_taken(send):
    response = send("POST", "/accounts/A-001/stakeholders", '{"name": "田中 健二 😀", "role": "administrator"}')
    assert response.status_code == 201 and response.get_json()["name"] == "田中 健二 😀"


@pytest.mark.parametrize("page", ["99999999999999999999", "9" * 5000, "-99999999999999999999", "²", "0x10", ""])
def test_a_page_number_outside_the_documented_range_is_a_problem_naming_it(api, page):
    body = assert_problem(api.get(f"/accounts?page={page}&per_page={page}"), 422, "page")
    assert [e["pointer"] for e in body["errors"]] == ["/page"]
    assert "9" * 50 not in body["errors"][0]["message"]  # the value is not echoed whole


def test_the_last_documented_page_is_an_empty_page(api):
    assert api.get("/accounts?page=2147483647&per_page=200").get_json()["items"] == []


@pytest.mark.parametrize("path", READS)
def test_a_nul_in_the_address_or_the_query_is_a_400(api, path):
    assert_problem(api.get(path + "?status=%00"), 400)
    assert_problem(api.get(path + "?x%00=1"), 400)
    assert_problem(api.get(path.replace("/accounts", "/accounts%00")), 400)


def test_a_nul_in_a_reference_writes_nothing(db, api, tenants):
    before = partner_data(db, tenants.partner_a)
    assert_problem(api.put("/accounts/A%00002", {"name": "x"}), 400)
    assert partner_data(db, tenants.partner_a) == before


@pytest.mark.parametrize("number", ["99999999999999999999", "9" * 5000])
def test_an_id_past_any_row_is_not_found(api, number):
    assert_problem(api.put(f"/accounts/A-001/stakeholders/{number}", STAKEHOLDER), 404)


# --- the web --------------------------------------------------------------------------------------

WEB_LISTS = ["/accounts", "/partners", "/users", "/outbox", "/actions", "/voice-of-customer", "/channel"]


@pytest.mark.parametrize("path", WEB_LISTS)
@pytest.mark.parametrize("page", ["99999999999999999999", "9" * 5000, "²"])
def test_web_lists_take_any_page_number(browser, tenants, path, page):
    assert browser(tenants.vendor_admin).get(f"{path}?page={page}").status_code == 200


@pytest.mark.parametrize("path", ["/accounts", "/users", "/voice-of-customer", "/voice-of-customer.csv"])
def test_web_filters_take_an_id_past_any_row_and_name_a_bad_one(browser, tenants, path):
    admin = browser(tenants.vendor_admin)
    for number in ("99999999999999999999", "9" * 5000, "000000000000000000001"):
        assert admin.get(f"{path}?partner_id={number}").status_code == 200
    bad = admin.get(f"{path}?partner_id=²")
    assert bad.status_code == 400 and "partner_id" in bad.get_data(as_text=True)


def test_web_pages_refuse_a_nul_in_the_query_or_the_address(browser, tenants):
    admin = browser(tenants.vendor_admin)
    bad = admin.get("/accounts?q=a%00b")
    assert bad.status_code == 400 and "NUL" in bad.get_data(as_text=True)
    assert admin.get("/accounts/1%00").status_code in (400, 404)
    assert admin.get("/users/new?partner_id=99999999999999999999").status_code == 200


# --- policy: who may create accounts ----------------------------------------------------------------

def test_the_api_creates_no_account_unless_the_partner_allows_it(db, client, tenants):
    """The partner setting "Files and the API may create accounts" (off by default) holds for the
    API as it does for file imports; updates of existing accounts go on."""
    from tests.test_api import NEW_ACCOUNT

    api = Api(client, tenants.secret_a)
    assert not tenants.partner_a.imports_create_accounts
    before = partner_data(db, tenants.partner_a)
    body = assert_problem(api.put("/accounts/CRM-7781", NEW_ACCOUNT), 403)
    assert "not allowed files and the API to create accounts" in body["detail"]
    assert partner_data(db, tenants.partner_a) == before
    assert api.put("/accounts/A-001", {"seats": 30}).status_code == 200

    reload(db, tenants.partner_a).imports_create_accounts = True
    db.commit()
    assert api.put("/accounts/CRM-7781", NEW_ACCOUNT).status_code == 201


def test_a_nul_in_the_idempotency_key_is_a_400_and_writes_nothing(db, api, tenants):
    """The key is stored as text (a real server may pass the header on; PostgreSQL would refuse it)."""
    before = partner_data(db, tenants.partner_a)
    assert_problem(api.post("/accounts/A-001/stakeholders", STAKEHOLDER, headers={"Idempotency-Key": "a\x00b"}), 400)
    assert partner_data(db, tenants.partner_a) == before


def test_a_nul_in_a_web_form_is_a_400_and_saves_nothing(db, browser, tenants):
    admin = browser(tenants.admin_a)
    response = admin.post(f"/accounts/{tenants.account_a.id}/edit", data={
        "name": "Alpha\x00", "reference": "A-001", "segment": "high_touch", "status": "active", "seats": "10", "arr_jpy": "0"})
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
    assert reload(db, tenants.account_a).name == "Alpha Customer KK"


@pytest.mark.parametrize("owner", ["²", "9" * 5000, "99999999999999999999"])
def test_an_action_items_owner_that_is_no_number_or_no_one_is_named_not_a_crash(browser, tenants, owner):
    manager = browser(tenants.partner_manager)
    response = manager.post(f"/accounts/{tenants.account_a.id}/actions/new",
                            data={"title": "Train the team", "owner_id": owner, "due_on": "2099-01-01"})
    assert response.status_code == 400 and "Choose someone from the list." in response.get_data(as_text=True)
