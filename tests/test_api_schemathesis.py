"""Schemathesis against the OpenAPI document the app serves: every operation, with generated
valid (positive) and invalid (negative) requests made with a live token, answers without a
server error and as the document says (status codes, content types, headers, bodies).

Deterministic (derandomized, no example database) and bounded (MAX_EXAMPLES per operation and
mode) so that the module runs in seconds; raise MAX_EXAMPLES locally to dig deeper. (The
schemathesis pytest plugin's lazy fixtures do not run on pytest 9, so each operation is a
plain parametrized test driving Hypothesis with the operation's strategy.)
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from portal.api.openapi import openapi_document

MAX_EXAMPLES = 15
# Each operation with valid requests, and with invalid ones where it takes any input at all.
CASES = [(method.upper(), path, mode) for path, methods in openapi_document()["paths"].items() for method, spec in methods.items()
         for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if mode == GenerationMode.POSITIVE or spec.get("parameters") or spec.get("requestBody")]

CONFIG = {"checks": {
    # A valid request may still break a rule no schema can state (a create needs a name and a
    # segment, a check-in's period must follow the contract start, an Idempotency-Key reused
    # with another body): 422, with the field named.
    "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422"]},
}}


@pytest.fixture
def api_schema(app, db, tenants):
    """The served document, called through the app's WSGI interface as partner A's system
    (whose partner admin lets the API create accounts, so creates are exercised too)."""
    tenants.partner_a.imports_create_accounts = True
    db.commit()
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=schemathesis.Config.from_dict(CONFIG))


@pytest.mark.parametrize("method, path, mode", CASES, ids=[f"{m} {p} {mode.value}" for m, p, mode in CASES])
def test_every_operation_answers_as_documented_and_never_with_a_server_error(api_schema, tenants, method, path, mode):
    auth = {"Authorization": f"Bearer {tenants.secret_a}"}
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode, headers=auth))
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    def call(case):
        case.call_and_validate(headers=auth)

    call()
