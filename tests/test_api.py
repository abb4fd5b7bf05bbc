"""The JSON API at /api/v1, as a reseller's system uses it: per-partner tokens, isolation between
partners, validation as problem details, idempotent retries, check-in corrections, and the OpenAPI
document checked against the real routes and responses."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import quote

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select

from portal.api.openapi import openapi_document
from portal.core.clock import utcnow
from portal.core.db import Base
from portal.models import ApiToken, CheckIn, LifecycleStatus, Milestone, MilestoneStatus, PartnerStatus, ReportSource, Stakeholder
from tests import factories
from tests.readback import latest, reload

API = "/api/v1"
NO_TOKEN = object()

# Good bodies, one per write endpoint. A-001 (partner A) is low touch: reports are quarterly, so
# "2026-04" is the quarter April to June 2026, after the contract start and before today.
NEW_ACCOUNT = {"name": "Sakura Logistics KK", "segment": "high_touch", "industry": "Logistics", "seats": 120,
               "arr_jpy": 3_600_000, "contract_start": "2026-01-01", "renewal_date": "2027-01-01",
               "desired_outcome": "Halve invoice processing time", "status": "onboarding"}
CHECK_IN = {"period": "2026-04", "sentiment": "green"}
FULL_CHECK_IN = {
    "period": "2026-04", "active_users": 18, "nps": 9, "csat": 4, "ces": 2, "open_tickets": 3, "open_escalations": 1,
    "sentiment": "yellow", "sentiment_reason": "Champion on leave", "outcome_progress": 40,
    "outcome_note": "Invoices now take 3 days", "renewal_likelihood": "likely", "expansion_jpy": 250_000,
    "note": "Quarterly review done", "feature_keys": ["workflow", "reports"],
    "risks": [{"type": "champion_left", "severity": "medium", "note": "Back in June"}],
    "voc": [{"kind": "request", "text": "Bulk approval", "product_area": "Workflow"}],
}
MILESTONE = {"status": "done", "planned_on": "2025-04-08", "completed_on": "2025-04-10", "note": "Kicked off on site"}
STAKEHOLDER = {"name": "Kenji Tanaka", "role": "administrator", "success_note": "Wants fewer manual steps",
               "last_contact_on": "2026-09-30", "active": True}
# A-001's term ending on its renewal date (2026-04-01), renewed for a year with more ARR; a churn.
OUTCOME = {"kind": "renewed", "new_renewal_date": "2027-04-01", "arr_jpy": 1_500_000, "note": "Added 10 seats"}
CHURN = {"kind": "churned", "decided_on": "2026-03-31", "reason": "budget", "note": "Budget cut"}


# --- helpers -------------------------------------------------------------------------------------


class Api:
    """A reseller's system calling /api/v1 with one token."""

    def __init__(self, client, secret):
        self.client = client
        self.secret = secret

    def call(self, method: str, path: str, body=None, *, secret=None, headers=None, **kwargs):
        secret = self.secret if secret is None else secret
        sent = {} if secret is NO_TOKEN else {"Authorization": f"Bearer {secret}"}
        sent.update(headers or {})
        if body is not None:
            kwargs["json"] = body
        return self.client.open(API + path, method=method.upper(), headers=sent, **kwargs)

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, body, **kwargs):
        return self.call("POST", path, body, **kwargs)

    def put(self, path, body, **kwargs):
        return self.call("PUT", path, body, **kwargs)


@pytest.fixture
def api(client, db, tenants):
    """Partner A's system; its partner admin lets files and the API create accounts
    (tests/test_hostile_input.py checks the refusal when not)."""
    tenants.partner_a.imports_create_accounts = True
    db.commit()
    return Api(client, tenants.secret_a)


def case_ids(cases) -> list[str]:
    return [f"{method} {path}" for method, path, *_ in cases]


def assert_problem(response, status: int, *fields: str) -> dict:
    """RFC 9457 problem details with this status, naming at least these fields in `errors`."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"]
    named = {e["field"] for e in body.get("errors", [])}
    assert set(fields) <= named, f"expected errors on {fields}, got {body}"
    return body


def partner_data(db, partner) -> dict[str, list[tuple]]:
    """Every row the partner owns in every table with a partner_id (its tokens' last use aside),
    to show that a request wrote nothing."""
    session = latest(db)
    return {
        table.name: [tuple(row) for row in session.execute(
            select(table).where(table.c.partner_id == partner.id).order_by(*table.primary_key.columns))]
        for table in Base.metadata.sorted_tables
        if "partner_id" in table.c and table.name != ApiToken.__tablename__
    }


def database_contains(db, text: str) -> bool:
    session = latest(db)
    return any(text in str(value) for table in Base.metadata.sorted_tables
               for row in session.execute(select(table)) for value in row)


# --- authentication ------------------------------------------------------------------------------

# Every API operation but the public OpenAPI document, as (method, path, body) for partner A's data.
OPERATIONS = [
    ("GET", "/accounts", None),
    ("GET", "/accounts/A-001", None),
    ("PUT", "/accounts/A-001", {"seats": 30}),
    ("GET", "/accounts/A-001/check-ins", None),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN),
    ("GET", "/accounts/A-001/milestones", None),
    ("PUT", "/accounts/A-001/milestones/kickoff", MILESTONE),
    ("GET", "/accounts/A-001/stakeholders", None),
    ("POST", "/accounts/A-001/stakeholders", STAKEHOLDER),
    ("PUT", "/accounts/A-001/stakeholders/{stakeholder_a}", STAKEHOLDER),
    ("GET", "/accounts/A-001/outcomes", None),
    ("POST", "/accounts/A-001/outcomes", OUTCOME),
]


def operation_path(path: str, tenants) -> str:
    return path.format(stakeholder_a=tenants.stakeholder_a.id, stakeholder_b=tenants.stakeholder_b.id)


@pytest.mark.parametrize("method, path, body", OPERATIONS, ids=case_ids(OPERATIONS))
def test_every_operation_needs_a_token_and_writes_nothing_without_one(db, api, tenants, method, path, body):
    before = partner_data(db, tenants.partner_a)
    response = api.call(method, operation_path(path, tenants), body, secret=NO_TOKEN)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert partner_data(db, tenants.partner_a) == before


@pytest.mark.parametrize("authorization", [
    "",
    "Bearer",
    "Bearer ",
    "Bearer csp_not-a-real-token",
    "Bearer {secret}x",
    "Bearer {secret_lacking_prefix}",
    "Token {secret}",
    "Basic dXNlcjpwYXNzd29yZA==",
    "{secret}",
])
def test_a_malformed_or_unknown_token_is_refused(api, tenants, authorization):
    header = authorization.format(secret=tenants.secret_a, secret_lacking_prefix=tenants.secret_a.removeprefix("csp_"))
    response = api.get("/accounts", secret=NO_TOKEN, headers={"Authorization": header})
    body = assert_problem(response, 401)
    assert "Bearer" in body["detail"]


def test_the_bearer_scheme_is_case_insensitive(api, tenants):
    response = api.get("/accounts", secret=NO_TOKEN, headers={"Authorization": f"bearer {tenants.secret_a}"})
    assert response.status_code == 200


def test_a_token_revoked_on_the_company_page_stops_working(api, browser, tenants):
    assert api.get("/accounts").status_code == 200

    revoked = browser(tenants.admin_a).post(f"/company/tokens/{tenants.token_a.id}/revoke")
    assert revoked.status_code == 302

    assert_problem(api.get("/accounts"), 401)
    assert_problem(api.post("/accounts/A-001/stakeholders", STAKEHOLDER), 401)
    assert api.get("/accounts", secret=tenants.secret_b).status_code == 200  # other partners' tokens live on


def test_a_partner_admin_cannot_revoke_another_partners_token(api, db, browser, tenants):
    response = browser(tenants.admin_b).post(f"/company/tokens/{tenants.token_a.id}/revoke")
    assert response.status_code == 404
    assert reload(db, tenants.token_a).revoked_at is None
    assert api.get("/accounts").status_code == 200


def test_a_token_with_revoked_at_set_is_refused(api, db, tenants):
    token = db.get(ApiToken, tenants.token_a.id)
    token.revoked_at = utcnow()
    db.commit()
    assert_problem(api.get("/accounts/A-001"), 401)


@pytest.mark.parametrize("status", [PartnerStatus.SUSPENDED, PartnerStatus.TERMINATED])
def test_tokens_of_a_suspended_or_terminated_partner_are_refused(api, db, tenants, status):
    db.get(type(tenants.partner_a), tenants.partner_a.id).status = status
    db.commit()
    assert_problem(api.get("/accounts"), 401)


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/accounts", None),
    ("GET", "/accounts/NO-SUCH-REF", None),  # a 404 is still a use of the token
    ("POST", "/accounts/A-001/check-ins", {"sentiment": "blue"}),  # so is a rejected write
], ids=["read", "not-found", "rejected-write"])
def test_a_tokens_last_use_is_recorded(api, db, tenants, method, path, body):
    assert tenants.token_a.last_used_at is None
    started = utcnow() - timedelta(seconds=1)
    api.call(method, path, body)
    last_used = reload(db, tenants.token_a).last_used_at
    assert last_used is not None and started <= last_used <= utcnow()
    assert reload(db, tenants.token_b).last_used_at is None


def test_a_tokens_last_use_is_written_once_a_minute_not_on_every_call(api, db, tenants, clock):
    # "Last used" is shown to the minute: an integration's reads are not each a write too.
    api.call("GET", "/accounts")
    first = reload(db, tenants.token_a).last_used_at
    clock.shift(timedelta(seconds=20))
    api.call("GET", "/accounts")
    assert reload(db, tenants.token_a).last_used_at == first
    clock.shift(timedelta(minutes=2))
    api.call("GET", "/accounts")
    assert reload(db, tenants.token_a).last_used_at >= first + timedelta(minutes=2)


def test_a_partner_admin_makes_a_token_that_is_shown_once_and_not_stored(db, client, browser, tenants):
    admin = browser(tenants.admin_a)
    page = admin.post("/company/tokens", {"name": "CRM nightly sync"})
    assert page.status_code == 200
    match = re.search(r'id="new-token">([^<]+)</code>', page.get_data(as_text=True))
    assert match, "the new secret is not on the page"
    secret = match.group(1)

    accounts = Api(client, secret).get("/accounts")
    assert accounts.status_code == 200
    assert [a["reference"] for a in accounts.get_json()["items"]] == ["A-001"]

    token = latest(db).scalar(select(ApiToken).where(ApiToken.name == "CRM nightly sync"))
    assert (token.partner_id, token.created_by_id, token.revoked_at) == (tenants.partner_a.id, tenants.admin_a.id, None)
    assert not database_contains(db, secret)
    assert secret not in admin.get("/company/settings").get_data(as_text=True)


# --- isolation between partners ------------------------------------------------------------------

# Partner B's account and stakeholder, addressed with partner A's token.
B_OPERATIONS = [
    ("GET", "/accounts/B-001", None),
    ("GET", "/accounts/B-001/check-ins", None),
    ("POST", "/accounts/B-001/check-ins", CHECK_IN),
    ("GET", "/accounts/B-001/milestones", None),
    ("PUT", "/accounts/B-001/milestones/kickoff", MILESTONE),
    ("GET", "/accounts/B-001/stakeholders", None),
    ("POST", "/accounts/B-001/stakeholders", STAKEHOLDER),
    ("PUT", "/accounts/B-001/stakeholders/{stakeholder_b}", STAKEHOLDER),
    ("PUT", "/accounts/A-001/stakeholders/{stakeholder_b}", STAKEHOLDER),  # B's person under A's own account
    ("GET", "/accounts/B-001/outcomes", None),
    ("POST", "/accounts/B-001/outcomes", OUTCOME),
    ("POST", "/accounts/B-001/outcomes", CHURN),
]


@pytest.mark.parametrize("method, path, body", B_OPERATIONS, ids=case_ids(B_OPERATIONS))
@pytest.mark.parametrize("idempotency_key", [None, "retry-1"])
def test_another_partners_data_is_not_found_and_not_changed(db, api, tenants, method, path, body, idempotency_key):
    before = partner_data(db, tenants.partner_b)
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    response = api.call(method, operation_path(path, tenants), body, headers=headers)
    assert_problem(response, 404)
    assert "Bravo" not in response.get_data(as_text=True)
    assert partner_data(db, tenants.partner_b) == before


def test_putting_another_partners_reference_makes_an_account_of_ones_own(db, api, tenants):
    """References are each reseller's own: A's B-001 is a new account of A's, B's stays as it was."""
    before = partner_data(db, tenants.partner_b)
    response = api.put("/accounts/B-001", NEW_ACCOUNT)
    assert response.status_code == 201
    assert response.get_json()["name"] == NEW_ACCOUNT["name"]
    assert partner_data(db, tenants.partner_b) == before
    assert api.get("/accounts/B-001").get_json()["name"] == NEW_ACCOUNT["name"]
    assert Api(api.client, tenants.secret_b).get("/accounts/B-001").get_json()["name"] == "Bravo Secret Customer"


@pytest.mark.parametrize("side", ["a", "b"])
def test_lists_hold_only_the_tokens_own_partners_data(client, tenants, side):
    own = {"a": (tenants.secret_a, "A-001", tenants.check_in_a, tenants.stakeholder_a),
           "b": (tenants.secret_b, "B-001", tenants.check_in_b, tenants.stakeholder_b)}
    secret, reference, check_in, stakeholder = own[side]
    system = Api(client, secret)

    accounts = system.get("/accounts?per_page=200").get_json()
    assert [a["reference"] for a in accounts["items"]] == [reference]
    assert accounts["total"] == 1
    assert [c["id"] for c in system.get(f"/accounts/{reference}/check-ins").get_json()["items"]] == [check_in.id]
    assert [s["id"] for s in system.get(f"/accounts/{reference}/stakeholders").get_json()["items"]] == [stakeholder.id]


@pytest.mark.parametrize("query, references, total", [
    ("", ["A-001", "A-002", "A-003", "A-004"], 4),
    ("?per_page=2", ["A-001", "A-002"], 4),
    ("?per_page=2&page=2", ["A-003", "A-004"], 4),
    ("?per_page=2&page=3", [], 4),
    ("?status=churned", ["A-004"], 1),
    ("?status=onboarding&per_page=1&page=2", ["A-003"], 2),
])
def test_the_account_list_pages_and_filters(api, db, tenants, query, references, total):
    factories.account(db, tenants.partner_a, reference="A-002", status=LifecycleStatus.ONBOARDING)
    factories.account(db, tenants.partner_a, reference="A-003", status=LifecycleStatus.ONBOARDING)
    factories.account(db, tenants.partner_a, reference="A-004", status=LifecycleStatus.CHURNED,
                      churned_on=date(2026, 3, 31), churn_reason="Budget cut")
    body = api.get("/accounts" + query).get_json()
    assert [a["reference"] for a in body["items"]] == references
    assert body["total"] == total


@pytest.mark.parametrize("query, name", [("?page=99999999999999999999", "page"), ("?page=abc", "page"), ("?page=0", "page"),
                                         ("?per_page=99999999999999999999", "per_page"), ("?per_page=-5", "per_page"),
                                         ("?per_page=201", "per_page"), ("?status=", "status")])
def test_nonsense_page_numbers_are_a_problem_naming_the_parameter_instead_of_a_crash(api, query, name):
    """The document gives each parameter's range; a program sending another value hears which."""
    assert_problem(api.get("/accounts" + query), 422, name)


def test_an_unknown_status_filter_is_a_problem_not_a_crash(api):
    assert_problem(api.get("/accounts?status=dormant"), 422, "status")


# --- good submissions ----------------------------------------------------------------------------


def test_put_creates_an_account_then_updates_only_the_fields_sent(api, db, tenants):
    created = api.put("/accounts/CRM-7781", NEW_ACCOUNT)
    assert created.status_code == 201
    assert created.get_json() | {"updated_at": None} == NEW_ACCOUNT | {
        "reference": "CRM-7781", "plan": None, "churned_on": None, "churn_reason": None, "updated_at": None,
        "name_kana": None, "owner_email": tenants.admin_a.email}, "no owner named: the partner admin owns it"

    updated = api.put("/accounts/CRM-7781", {"seats": 150, "status": "active"})
    assert updated.status_code == 200
    assert updated.get_json() | {"updated_at": None} == created.get_json() | {"seats": 150, "status": "active", "updated_at": None}
    assert api.get("/accounts/CRM-7781").get_json() == updated.get_json()


def test_a_churned_account_takes_no_more_check_ins(api, db, tenants):
    churned = api.put("/accounts/A-001", {"status": "churned", "churned_on": "2026-09-30", "churn_reason": "Moved to a competitor"})
    assert churned.status_code == 200
    assert churned.get_json()["status"] == "churned"

    before = partner_data(db, tenants.partner_a)
    assert_problem(api.post("/accounts/A-001/check-ins", CHECK_IN), 409)
    assert partner_data(db, tenants.partner_a) == before


def as_stored(check_in: dict) -> dict:
    """A check-in as the API returns it, without what only the POST answer says; features as a set."""
    kept = {k: v for k, v in check_in.items() if k not in ("period", "outcome", "changed_fields")}
    return kept | {"feature_keys": set(check_in["feature_keys"])}


def test_a_check_in_is_saved_with_every_field(api, db, tenants):
    response = api.post("/accounts/A-001/check-ins", FULL_CHECK_IN)
    assert response.status_code == 201
    body = response.get_json()
    # Each voice item comes back with the vendor's side too: the area it matched, the status and the answer.
    assert [(v.pop("product_area_key"), v.pop("status"), v.pop("answer"), v.pop("answered_at")) for v in body["voc"]] == [
        ("workflow", "new", None, None)]
    assert {k: v for k, v in as_stored(body).items() if k in FULL_CHECK_IN} == as_stored(FULL_CHECK_IN)
    assert (body["period_start"], body["version"], body["in_force"], body["source"], body["outcome"]) == (
        "2026-04-01", 1, True, "api", "created")

    listed = api.get("/accounts/A-001/check-ins").get_json()["items"]
    assert [c["id"] for c in listed] == [tenants.check_in_a.id, body["id"]]  # newest period first
    for item in listed[1]["voc"]:
        del item["product_area_key"], item["status"], item["answer"], item["answered_at"]
    assert as_stored(listed[1]) == as_stored(body)
    stored = latest(db).get(CheckIn, body["id"])
    assert (stored.source, stored.api_token_id, stored.partner_id) == (ReportSource.API, tenants.token_a.id, tenants.partner_a.id)


def test_a_correction_is_version_2_and_keeps_version_1(api, db, tenants):
    first = api.post("/accounts/A-001/check-ins", FULL_CHECK_IN)
    # Another day in the same quarter names the same period.
    correction = api.post("/accounts/A-001/check-ins", FULL_CHECK_IN | {"period": "2026-05-20", "nps": 6})
    assert (first.status_code, correction.status_code) == (201, 201)
    body = correction.get_json()
    assert (body["version"], body["in_force"], body["outcome"], body["changed_fields"], body["nps"]) == (2, True, "corrected", ["nps"], 6)

    history = [(c["period_start"], c["version"], c["in_force"], c["nps"]) for c in api.get("/accounts/A-001/check-ins").get_json()["items"]]
    assert history == [("2026-10-01", 1, True, None), ("2026-04-01", 2, True, 6), ("2026-04-01", 1, False, 9)]
    stored = latest(db).scalars(select(CheckIn).where(CheckIn.account_id == tenants.account_a.id, CheckIn.period_start == date(2026, 4, 1))
                                .order_by(CheckIn.version))
    assert [(c.version, c.nps) for c in stored] == [(1, 9), (2, 6)]


def test_resending_the_check_in_in_force_writes_nothing(api, db, tenants):
    first = api.post("/accounts/A-001/check-ins", FULL_CHECK_IN)
    before = partner_data(db, tenants.partner_a)
    again = api.post("/accounts/A-001/check-ins", FULL_CHECK_IN)
    assert again.status_code == 200
    assert (again.get_json()["id"], again.get_json()["outcome"]) == (first.get_json()["id"], "unchanged")
    assert partner_data(db, tenants.partner_a) == before


def test_a_milestone_is_updated(api, db, tenants):
    response = api.put("/accounts/A-001/milestones/kickoff", MILESTONE)
    assert response.status_code == 200
    assert response.get_json() == {"key": "kickoff", "name": "Kickoff", "name_ja": "キックオフ", "status": "done",
                                   "planned_on": "2025-04-08", "completed_on": "2025-04-10", "note": "Kicked off on site",
                                   "days_late": 2, "marks_first_value": False}
    listed = api.get("/accounts/A-001/milestones").get_json()["items"]
    assert listed[0] == response.get_json()
    assert [m["status"] for m in listed[1:]] == ["planned"] * (len(listed) - 1)
    stored = latest(db).scalar(select(Milestone).where(Milestone.account_id == tenants.account_a.id))
    assert (stored.status, stored.completed_on) == (MilestoneStatus.DONE, date(2025, 4, 10))


def test_a_stakeholder_is_added_then_updated(api, db, tenants):
    added = api.post("/accounts/A-001/stakeholders", STAKEHOLDER)
    assert added.status_code == 201
    person = added.get_json()
    assert person == STAKEHOLDER | {"id": person["id"]}

    updated = api.put(f"/accounts/A-001/stakeholders/{person['id']}", STAKEHOLDER | {"role": "decision_maker", "active": False})
    assert updated.status_code == 200
    assert updated.get_json() == person | {"role": "decision_maker", "active": False}

    listed = api.get("/accounts/A-001/stakeholders").get_json()["items"]
    assert [p["id"] for p in listed] == [tenants.stakeholder_a.id, person["id"]]
    assert latest(db).get(Stakeholder, person["id"]).active is False


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/accounts/NO-SUCH-REF", None),
    ("PUT", "/accounts/A-001/milestones/no_such_step", MILESTONE),
    ("PUT", "/accounts/A-001/stakeholders/999999", STAKEHOLDER),
    ("GET", "/accounts/A-001/stakeholders/not-a-number", None),  # no route at all
    ("GET", "/no-such-endpoint", None),
])
def test_what_does_not_exist_is_a_404_problem(api, method, path, body):
    assert_problem(api.call(method, path, body), 404)


def test_a_wrong_method_is_a_405_problem(api):
    response = api.call("DELETE", "/accounts/A-001")
    assert_problem(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "PUT"}


# --- bad values ----------------------------------------------------------------------------------

BAD_VALUES = [
    # check-ins: ranges, types, choices, dates, required and conditional fields
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"nps": 11}, "nps"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"nps": -1}, "nps"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"csat": 0}, "csat"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"csat": 6}, "csat"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"ces": 0}, "ces"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"ces": 8}, "ces"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"outcome_progress": 101}, "outcome_progress"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"open_tickets": -3}, "open_tickets"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"active_users": 21}, "active_users"),  # A-001 has 20 seats
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"nps": "seven"}, "nps"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"nps": 7.5}, "nps"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"nps": True}, "nps"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"csat": [4]}, "csat"),
    ("POST", "/accounts/A-001/check-ins", {"period": "2026-04"}, "sentiment"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"sentiment": "blue"}, "sentiment"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"sentiment": "red"}, "sentiment_reason"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"renewal_likelihood": "maybe"}, "renewal_likelihood"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"period": "2026-13"}, "period"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"period": "last quarter"}, "period"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"period": "2099-01"}, "period"),  # future
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"period": "2024-04"}, "period"),  # before the contract
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"feature_keys": ["workflow", "teleport"]}, "feature_keys"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"feature_keys": "workflow"}, "feature_keys"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"risks": [{"type": "fire", "severity": "high"}]}, "risks[0].type"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"risks": [{"type": "budget_cut"}]}, "risks[0].severity"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"risks": "budget_cut"}, "risks"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"voc": [{"kind": "praise"}]}, "voc[0].text"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"voc": ["Great"]}, "voc[0]"),
    ("POST", "/accounts/A-001/check-ins", CHECK_IN | {"risks": [{"type": "other", "severity": "low"}] * 11}, "risks"),
    # accounts
    ("PUT", "/accounts/CRM-1", {"name": "No segment yet"}, "segment"),
    ("PUT", "/accounts/CRM-1", NEW_ACCOUNT | {"segment": "vip"}, "segment"),
    ("PUT", "/accounts/CRM-1", NEW_ACCOUNT | {"name": "x" * 201}, "name"),
    ("PUT", "/accounts/A-001", {"name": ""}, "name"),
    ("PUT", "/accounts/A-001", {"seats": -5}, "seats"),
    ("PUT", "/accounts/A-001", {"arr_jpy": "a lot"}, "arr_jpy"),
    ("PUT", "/accounts/A-001", {"contract_start": "2026-02-30"}, "contract_start"),
    ("PUT", "/accounts/A-001", {"renewal_date": "2024-01-01"}, "renewal_date"),  # before the contract start
    ("PUT", "/accounts/A-001", {"status": "dormant"}, "status"),
    ("PUT", "/accounts/A-001", {"status": "churned", "churn_reason": "Budget"}, "churned_on"),
    ("PUT", "/accounts/A-001", {"status": "churned", "churned_on": "2026-09-30"}, "churn_reason"),
    ("PUT", "/accounts/%20A-001", NEW_ACCOUNT, "reference"),
    ("PUT", "/accounts/" + "R" * 65, NEW_ACCOUNT, "reference"),
    # milestones
    ("PUT", "/accounts/A-001/milestones/kickoff", {"note": "no status"}, "status"),
    ("PUT", "/accounts/A-001/milestones/kickoff", MILESTONE | {"status": "finished"}, "status"),
    ("PUT", "/accounts/A-001/milestones/kickoff", MILESTONE | {"completed_on": None}, "completed_on"),
    ("PUT", "/accounts/A-001/milestones/kickoff", MILESTONE | {"completed_on": "2099-01-01"}, "completed_on"),
    ("PUT", "/accounts/A-001/milestones/kickoff", MILESTONE | {"planned_on": "next week"}, "planned_on"),
    # stakeholders
    ("POST", "/accounts/A-001/stakeholders", STAKEHOLDER | {"name": None}, "name"),
    ("POST", "/accounts/A-001/stakeholders", STAKEHOLDER | {"role": "ceo"}, "role"),
    ("POST", "/accounts/A-001/stakeholders", STAKEHOLDER | {"last_contact_on": "30/09/2026"}, "last_contact_on"),
    ("POST", "/accounts/A-001/stakeholders", STAKEHOLDER | {"last_contact_on": "2099-01-01"}, "last_contact_on"),
    ("POST", "/accounts/A-001/stakeholders", STAKEHOLDER | {"active": "maybe"}, "active"),
    ("PUT", "/accounts/A-001/stakeholders/{stakeholder_a}", STAKEHOLDER | {"success_note": "x" * 301}, "success_note"),
]


@pytest.mark.parametrize("method, path, body, bad_field", BAD_VALUES,
                         ids=[f"{m} {p.split('/')[-1][:12]} {f}" for m, p, _b, f in BAD_VALUES])
def test_a_bad_value_is_a_422_naming_the_field_and_writes_nothing(db, api, tenants, method, path, body, bad_field):
    before = partner_data(db, tenants.partner_a)
    response = api.call(method, operation_path(path, tenants), body)
    assert_problem(response, 422, bad_field)
    assert partner_data(db, tenants.partner_a) == before


@pytest.mark.parametrize("body", [
    CHECK_IN | {"feature_keys": 5},
    CHECK_IN | {"feature_keys": [["workflow"]]},
    CHECK_IN | {"note": {"text": "hello"}},
], ids=["feature_keys-number", "feature_keys-nested-list", "note-object"])
def test_a_value_of_the_wrong_json_type_is_a_422(api, body):
    (field,) = body.keys() - CHECK_IN.keys()
    problem = assert_problem(api.post("/accounts/A-001/check-ins", body), 422)
    assert [e["field"] for e in problem["errors"]] == [field]


def test_every_bad_field_is_reported_at_once(api):
    body = assert_problem(api.post("/accounts/A-001/check-ins", {"nps": 11, "csat": 9, "ces": "hard"}), 422)
    assert {e["field"] for e in body["errors"]} == {"nps", "csat", "ces", "sentiment"}


def test_messages_are_english_whatever_the_callers_language(api):
    response = api.post("/accounts/A-001/check-ins", CHECK_IN | {"nps": 11}, headers={"Accept-Language": "ja"})
    assert assert_problem(response, 422, "nps")["errors"] == [{"field": "nps", "message": "must be a whole number from 0 to 10",
                                                               "pointer": "/nps"}]


def test_each_bad_field_has_a_json_pointer_into_the_body(api):
    bad_risk = CHECK_IN | {"risks": [{"type": "budget_cut", "severity": "high"}, {"type": "meteor", "severity": "high"}]}
    errors = assert_problem(api.post("/accounts/A-001/check-ins", bad_risk), 422, "risks[1].type")["errors"]
    assert [(e["field"], e["pointer"]) for e in errors] == [("risks[1].type", "/risks/1/type")]


@pytest.mark.parametrize("kwargs", [
    {"data": "{not json", "content_type": "application/json"},
    {"data": '["a", "list"]', "content_type": "application/json"},
    {"data": "sentiment=green", "content_type": "application/x-www-form-urlencoded"},
    {},
], ids=["broken-json", "json-list", "form-encoded", "no-body"])
@pytest.mark.parametrize("method, path", [
    ("PUT", "/accounts/A-001"),
    ("POST", "/accounts/A-001/check-ins"),
    ("PUT", "/accounts/A-001/milestones/kickoff"),
    ("POST", "/accounts/A-001/stakeholders"),
])
def test_a_body_that_is_not_a_json_object_is_a_400(db, api, tenants, method, path, kwargs):
    before = partner_data(db, tenants.partner_a)
    assert_problem(api.call(method, path, **kwargs), 400)
    assert partner_data(db, tenants.partner_a) == before


# --- idempotent retries --------------------------------------------------------------------------

WRITES = [
    ("PUT", "/accounts/CRM-7781", NEW_ACCOUNT),
    ("PUT", "/accounts/A-001", {"seats": 30}),
    ("POST", "/accounts/A-001/check-ins", FULL_CHECK_IN),
    ("PUT", "/accounts/A-001/milestones/kickoff", MILESTONE),
    ("POST", "/accounts/A-001/stakeholders", STAKEHOLDER),
    ("PUT", "/accounts/A-001/stakeholders/{stakeholder_a}", STAKEHOLDER),
]


@pytest.mark.parametrize("method, path, body", WRITES, ids=case_ids(WRITES))
def test_a_retry_with_the_same_key_replays_the_answer_and_writes_nothing(db, api, tenants, method, path, body):
    path = operation_path(path, tenants)
    key = {"Idempotency-Key": "sync-2026-11-23-0001"}
    first = api.call(method, path, body, headers=key)
    assert first.status_code in (200, 201)
    after_first = partner_data(db, tenants.partner_a)

    retry = api.call(method, path, body, headers=key)
    assert (retry.status_code, retry.get_json()) == (first.status_code, first.get_json())
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert partner_data(db, tenants.partner_a) == after_first


def test_a_retried_post_without_a_key_is_a_second_request(api, db, tenants):
    """What the key is for: without one, a retried stakeholder POST adds the person twice."""
    first, second = (api.post("/accounts/A-001/stakeholders", STAKEHOLDER) for _ in range(2))
    assert first.get_json()["id"] != second.get_json()["id"]
    assert "Idempotent-Replayed" not in second.headers


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/accounts/A-001/stakeholders", STAKEHOLDER | {"name": "Someone Else"}),  # another body
    ("POST", "/accounts/A-001/check-ins", CHECK_IN),  # another endpoint
], ids=["other-body", "other-endpoint"])
def test_the_same_key_for_a_different_request_is_a_422(db, api, tenants, method, path, body):
    key = {"Idempotency-Key": "k-1"}
    assert api.post("/accounts/A-001/stakeholders", STAKEHOLDER, headers=key).status_code == 201
    before = partner_data(db, tenants.partner_a)
    problem = assert_problem(api.call(method, path, body, headers=key), 422)
    assert "Idempotency-Key" in problem["detail"]
    assert partner_data(db, tenants.partner_a) == before


def test_a_key_is_not_used_up_by_a_rejected_request(api):
    key = {"Idempotency-Key": "k-1"}
    assert_problem(api.post("/accounts/A-001/stakeholders", STAKEHOLDER | {"role": "ceo"}, headers=key), 422)
    fixed = api.post("/accounts/A-001/stakeholders", STAKEHOLDER, headers=key)
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed.headers


def test_keys_are_per_partner(client, tenants):
    key = {"Idempotency-Key": "nightly-1"}
    a = Api(client, tenants.secret_a).post("/accounts/A-001/stakeholders", STAKEHOLDER, headers=key)
    b = Api(client, tenants.secret_b).post("/accounts/B-001/stakeholders", STAKEHOLDER, headers=key)
    assert (a.status_code, b.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in b.headers
    assert a.get_json()["id"] != b.get_json()["id"]


@pytest.mark.parametrize("key", ["", "k" * 201])
def test_an_empty_or_overlong_key_is_a_400(db, api, tenants, key):
    before = partner_data(db, tenants.partner_a)
    assert_problem(api.post("/accounts/A-001/stakeholders", STAKEHOLDER, headers={"Idempotency-Key": key}), 400)
    assert partner_data(db, tenants.partner_a) == before


# --- the OpenAPI document ------------------------------------------------------------------------

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
DOCUMENT_URI = "urn:portal:openapi"


def date_time(value) -> bool:
    """RFC 3339 date-time (jsonschema checks this format only with an extra package installed)."""
    if not isinstance(value, str):
        return True
    return re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value) is not None


FORMATS = FormatChecker(formats=("date",))
FORMATS.checks("date-time")(date_time)


@pytest.fixture(scope="module")
def document():
    return openapi_document()


def pointer(*parts: str) -> str:
    """A URI fragment (JSON pointer) to a place in the document."""
    return "#" + "".join("/" + quote(p.replace("~", "~0").replace("/", "~1"), safe="") for p in parts)


def validate_response(document: dict, template: str, response) -> None:
    """The response is documented for its path, method, status and media type, and matches that schema."""
    method = response.request.method.lower()
    responses = document["paths"][template][method]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method.upper()} {template} answered {status}, not documented"
    content = responses[status]["content"]
    assert response.mimetype in content, f"{response.mimetype} not documented for {status}"
    registry = Registry().with_resource(DOCUMENT_URI, DRAFT202012.create_resource(document))
    schema = {"$ref": DOCUMENT_URI + pointer("paths", template, method, "responses", status, "content", response.mimetype, "schema")}
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in Draft202012Validator(schema, registry=registry, format_checker=FORMATS).iter_errors(response.get_json())]
    assert not errors, errors


@dataclass
class Call:
    """One real request, for checking its response against the document."""

    method: str
    template: str
    status: int
    body: object = None
    reference: str = "A-001"
    secret: object = None
    kwargs: dict = field(default_factory=dict)

    def __str__(self):
        return f"{self.method} {self.template} {self.status}"


CALLS = [
    Call("GET", "/accounts", 200),
    Call("GET", "/accounts", 401, secret=NO_TOKEN),
    Call("GET", "/accounts/{reference}", 200),
    Call("GET", "/accounts/{reference}", 200, reference="C-001"),  # churned: churn fields filled
    Call("GET", "/accounts/{reference}", 404, reference="B-001"),
    Call("PUT", "/accounts/{reference}", 201, NEW_ACCOUNT, reference="CRM-7781"),
    Call("PUT", "/accounts/{reference}", 200, {"seats": 30}),
    Call("PUT", "/accounts/{reference}", 422, {"seats": -1}),
    Call("PUT", "/accounts/{reference}", 400, kwargs={"data": "[]", "content_type": "application/json"}),
    Call("PUT", "/accounts/{reference}", 401, {"seats": 30}, secret=NO_TOKEN),
    Call("GET", "/accounts/{reference}/check-ins", 200),
    Call("GET", "/accounts/{reference}/check-ins", 404, reference="B-001"),
    Call("POST", "/accounts/{reference}/check-ins", 201, FULL_CHECK_IN | {"nps": 3}),
    Call("POST", "/accounts/{reference}/check-ins", 200, FULL_CHECK_IN),  # identical: unchanged
    Call("POST", "/accounts/{reference}/check-ins", 409, CHECK_IN, reference="C-001"),
    Call("POST", "/accounts/{reference}/check-ins", 422, CHECK_IN | {"nps": 11}),
    Call("GET", "/accounts/{reference}/milestones", 200),
    Call("GET", "/accounts/{reference}/milestones", 200, reference="C-001"),  # never reported: default plan
    Call("PUT", "/accounts/{reference}/milestones/{key}", 200, MILESTONE | {"status": "blocked", "note": None}),
    Call("PUT", "/accounts/{reference}/milestones/{key}", 422, {"status": "finished"}),
    Call("GET", "/accounts/{reference}/stakeholders", 200),
    Call("POST", "/accounts/{reference}/stakeholders", 201, STAKEHOLDER),
    Call("POST", "/accounts/{reference}/stakeholders", 404, STAKEHOLDER, reference="B-001"),
    Call("PUT", "/accounts/{reference}/stakeholders/{stakeholder_id}", 200, STAKEHOLDER | {"success_note": None}),
    Call("PUT", "/accounts/{reference}/stakeholders/{stakeholder_id}", 422, STAKEHOLDER | {"role": "ceo"}),
    Call("GET", "/accounts/{reference}/outcomes", 200),
    Call("POST", "/accounts/{reference}/outcomes", 201, OUTCOME),
    Call("POST", "/accounts/{reference}/outcomes", 422, OUTCOME | {"new_renewal_date": "2026-01-01"}),
    Call("POST", "/accounts/{reference}/outcomes", 409, CHURN, reference="C-001"),
]


@pytest.fixture
def reported(api, db, tenants):
    """Partner A with a full check-in and a milestone on A-001, and a churned account C-001."""
    assert api.post("/accounts/A-001/check-ins", FULL_CHECK_IN).status_code == 201
    assert api.put("/accounts/A-001/milestones/kickoff", MILESTONE).status_code == 200
    factories.account(db, tenants.partner_a, reference="C-001", status=LifecycleStatus.CHURNED,
                      churned_on=date(2026, 3, 31), churn_reason="Budget cut", contract_start=None, renewal_date=None)
    return tenants


@pytest.mark.parametrize("call", CALLS, ids=str)
def test_real_responses_match_the_documented_schemas(document, api, reported, call):
    path = call.template.format(reference=call.reference, key="kickoff", stakeholder_id=reported.stakeholder_a.id)
    response = api.call(call.method, path, call.body, secret=call.secret, **call.kwargs)
    assert response.status_code == call.status, response.get_data(as_text=True)
    validate_response(document, call.template, response)


def test_the_calls_above_cover_every_documented_success(document):
    documented = {(template, method.upper(), int(status))
                  for template, operations in document["paths"].items() if template != "/openapi.json"
                  for method, operation in operations.items()
                  for status in operation["responses"] if status.startswith("2")}
    assert documented == {(c.template, c.method, c.status) for c in CALLS if c.status < 300}


def api_routes(app) -> set[tuple[str, str]]:
    """(path as the document writes it, method) for every route under /api/v1."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API + "/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix(API))
            routes |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_the_document_describes_exactly_the_real_routes(app, document):
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": API}]
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations if method in HTTP_METHODS}
    assert documented == api_routes(app)


def test_every_path_parameter_is_declared(document):
    for path, operations in document["paths"].items():
        in_path = set(re.findall(r"{([^}]+)}", path))
        for method, operation in operations.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == in_path, f"{method.upper()} {path}"


@pytest.mark.parametrize("name", sorted(openapi_document()["components"]["schemas"]))
def test_every_schema_is_valid_json_schema(document, name):
    Draft202012Validator.check_schema(document["components"]["schemas"][name])


@pytest.mark.parametrize("schema, body", [
    ("AccountInput", NEW_ACCOUNT), ("CheckInInput", FULL_CHECK_IN), ("MilestoneInput", MILESTONE), ("StakeholderInput", STAKEHOLDER),
    ("OutcomeInput", OUTCOME), ("OutcomeInput", CHURN),
])
def test_the_bodies_the_api_accepts_here_match_the_documented_input_schemas(document, schema, body):
    registry = Registry().with_resource(DOCUMENT_URI, DRAFT202012.create_resource(document))
    validator = Draft202012Validator({"$ref": DOCUMENT_URI + pointer("components", "schemas", schema)}, registry=registry, format_checker=FORMATS)
    assert [e.message for e in validator.iter_errors(body)] == []


def test_the_document_is_served_without_a_token(client, document):
    response = client.get(API + "/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == document
