"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json.

tests/test_api.py checks that every API route is described here and that real responses
match these schemas, so the document cannot drift from the endpoints.
"""
from __future__ import annotations

from portal.accounts.services import MAX_REFERENCE
from portal.core.lists import MAX_ID
from portal.models import LifecycleStatus, MilestoneStatus, OutcomeKind, RenewalLikelihood, RiskType, Segment, Sentiment, Severity, StakeholderRole, VocKind
from portal.models import VocStatus


def _enum(enum_cls, nullable=False):
    values = [m.value for m in enum_cls]
    return {"type": ["string", "null"], "enum": values + [None]} if nullable else {"type": "string", "enum": values}


def _nullable(kind: str, **extra):
    return {"type": [kind, "null"], **extra}


DATE = {"type": "string", "format": "date"}
NULL_DATE = {"type": ["string", "null"], "format": "date"}

ACCOUNT_PROPERTIES = {
    "name": {"type": "string", "maxLength": 200},
    "name_kana": _nullable("string", maxLength=200, description="The name's reading (フリガナ), kept in full-width katakana."),
    "owner_email": _nullable("string", maxLength=254, format="email",
                             description="The owner: the email of an active user of your company; null for none."),
    "industry": _nullable("string", maxLength=100),
    "segment": _enum(Segment),
    "plan": _nullable("string", maxLength=100),
    "seats": {"type": "integer", "minimum": 0},
    "arr_jpy": {"type": "integer", "minimum": 0, "description": "Annual recurring revenue in yen."},
    "contract_start": NULL_DATE,
    "renewal_date": NULL_DATE,
    "desired_outcome": _nullable("string", description="What the customer wants to achieve with the product."),
    "status": _enum(LifecycleStatus),
    "churned_on": NULL_DATE,
    "churn_reason": _nullable("string"),
}

RISK = {"type": "object", "required": ["type", "severity"], "additionalProperties": False,
        "properties": {"type": _enum(RiskType), "severity": _enum(Severity), "note": _nullable("string")}}
VOC_PROPERTIES = {"kind": _enum(VocKind), "text": {"type": "string"}, "product_area": _nullable("string", maxLength=100)}
VOC = {"type": "object", "required": ["kind", "text"], "additionalProperties": False, "properties": VOC_PROPERTIES}
# An item as stored: the vendor's area it matched (null: unassigned, the words kept as written), and the vendor's status and answer.
VOC_ANSWERED = {"type": "object", "required": ["kind", "text", "product_area_key", "status"], "additionalProperties": False,
                "properties": {**VOC_PROPERTIES, "product_area_key": _nullable("string"), "status": _enum(VocStatus),
                               "answer": _nullable("string"), "answered_at": _nullable("string", format="date-time")}}

CHECK_IN_INPUT_PROPERTIES = {
    "period": {"type": ["string", "null"], "description": "A month (2026-10) or a date in the period; default: the period due now."},
    "active_users": _nullable("integer", minimum=0),
    "nps": _nullable("integer", minimum=0, maximum=10, description="One customer's answer, 0-10. Give this or nps_score, not both."),
    "nps_score": _nullable("integer", minimum=-100, maximum=100,
                           description="A survey's NPS, % promoters minus % detractors. Give this or nps, not both."),
    "csat": _nullable("number", minimum=1, maximum=5, description="A survey average such as 4.2; kept to one decimal."),
    "ces": _nullable("integer", minimum=1, maximum=7),
    "open_tickets": {"type": "integer", "minimum": 0},
    "open_escalations": {"type": "integer", "minimum": 0},
    "sentiment": _enum(Sentiment),
    "sentiment_reason": _nullable("string", description="Required when the sentiment is yellow or red."),
    "outcome_progress": _nullable("integer", minimum=0, maximum=100),
    "outcome_note": _nullable("string"),
    "renewal_likelihood": _enum(RenewalLikelihood, nullable=True),
    "expansion_jpy": {"type": "integer", "minimum": 0},
    "note": _nullable("string"),
    "feature_keys": {"type": "array", "items": {"type": "string"}, "description": "Features in use (fully). Or send features."},
    "features": {"type": "object", "description": "Adoption per feature key: a level (not_used, trial, partly, fully) "
                 "or a percentage 0-100. Stored as 0, 25, 50, 100 or the percentage; in responses always the number.",
                 "additionalProperties": {"oneOf": [{"type": "string", "enum": ["not_used", "trial", "partly", "fully"]},
                                                   {"type": "integer", "minimum": 0, "maximum": 100}]}},
    "risks": {"type": "array", "items": RISK, "maxItems": 10},
    "voc": {"type": "array", "items": VOC, "maxItems": 10},
}

OUTCOME_INPUT_PROPERTIES = {
    "kind": _enum(OutcomeKind),
    "term_end": {**NULL_DATE, "description": "The renewal date the term had; default: the account's renewal date."},
    "decided_on": {**NULL_DATE, "description": "Churned: the churn date (required). Renewed: the day it was decided; default the term end."},
    "new_renewal_date": {**NULL_DATE, "description": "Renewed: the end of the new term (required, after the term end)."},
    "arr_jpy": {"type": ["integer", "null"], "minimum": 0, "description": "Renewed: the new ARR in yen; default: the ARR before (flat)."},
    "reason": _nullable("string", description="Churned: a churn reason's code from the vendor's list (price, product_fit, competitor, "
                        "closed_merged, budget, onboarding, other)."),
    "note": _nullable("string", description="What happened, in your own words."),
}

SCHEMAS = {
    "Problem": {
        "type": "object", "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object", "required": ["field", "message", "pointer"],
                                                   "properties": {"field": {"type": "string"}, "message": {"type": "string"},
                                                                  "pointer": {"type": "string", "description":
                                                                              "JSON pointer to the value in the request body, e.g. /risks/0/type"}}}},
        },
    },
    "AccountInput": {"type": "object", "properties": ACCOUNT_PROPERTIES,
                     "description": "name and segment are required to create; on update, fields left out keep their values."},
    "Account": {
        "type": "object", "additionalProperties": False,
        "required": ["reference", *ACCOUNT_PROPERTIES.keys(), "updated_at"],
        "properties": {"reference": {"type": "string"}, **ACCOUNT_PROPERTIES, "updated_at": {"type": "string", "format": "date-time"}},
    },
    "AccountPage": {
        "type": "object", "required": ["items", "page", "per_page", "total"],
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Account"}},
                       "page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"}},
    },
    "CheckInInput": {"type": "object", "required": ["sentiment"], "properties": CHECK_IN_INPUT_PROPERTIES},
    "CheckIn": {
        "type": "object",
        "required": ["id", "period_start", "version", "in_force", "source", "submitted_at", "sentiment", "feature_keys", "features", "risks", "voc"],
        "properties": {
            "id": {"type": "integer"}, "period_start": DATE, "version": {"type": "integer", "minimum": 1},
            "in_force": {"type": "boolean", "description": "False for a version superseded by a later correction."},
            "source": {"type": "string", "enum": ["form", "file", "api"]},
            "submitted_at": {"type": "string", "format": "date-time"},
            **{k: v for k, v in CHECK_IN_INPUT_PROPERTIES.items() if k != "period"},
            "voc": {"type": "array", "items": VOC_ANSWERED},
            "outcome": {"type": "string", "enum": ["created", "corrected", "unchanged"]},
            "changed_fields": {"type": "array", "items": {"type": "string"}},
        },
    },
    "CheckInList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/CheckIn"}}}},
    "MilestoneInput": {
        "type": "object", "required": ["status"],
        "properties": {"status": _enum(MilestoneStatus), "planned_on": NULL_DATE, "completed_on": NULL_DATE, "note": _nullable("string")},
    },
    "Milestone": {
        "type": "object",
        "required": ["key", "name", "name_ja", "status", "planned_on", "completed_on", "note", "days_late", "marks_first_value"],
        "properties": {
            "key": {"type": "string"}, "name": {"type": "string"}, "name_ja": {"type": "string"}, "status": _enum(MilestoneStatus),
            "planned_on": NULL_DATE, "completed_on": NULL_DATE, "note": _nullable("string"),
            "days_late": {"type": "integer", "minimum": 0}, "marks_first_value": {"type": "boolean"},
        },
    },
    "MilestoneList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Milestone"}}}},
    "StakeholderInput": {
        "type": "object", "required": ["name", "role"],
        "properties": {"name": {"type": "string", "maxLength": 120}, "role": _enum(StakeholderRole),
                       "success_note": _nullable("string", maxLength=300), "last_contact_on": NULL_DATE, "active": {"type": "boolean"}},
    },
    "Stakeholder": {
        "type": "object", "required": ["id", "name", "role", "success_note", "last_contact_on", "active"],
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "role": _enum(StakeholderRole),
                       "success_note": _nullable("string"), "last_contact_on": NULL_DATE, "active": {"type": "boolean"}},
    },
    "OutcomeInput": {"type": "object", "required": ["kind"], "properties": OUTCOME_INPUT_PROPERTIES},
    "Outcome": {
        "type": "object", "additionalProperties": False,
        "required": ["id", "kind", "term_end", "decided_on", "new_renewal_date", "arr_before_jpy", "arr_after_jpy", "arr_change", "reason",
                     "note", "inferred"],
        "properties": {
            "id": {"type": "integer"}, "kind": _enum(OutcomeKind), "term_end": DATE, "decided_on": DATE, "new_renewal_date": NULL_DATE,
            "arr_before_jpy": {"type": "integer", "minimum": 0}, "arr_after_jpy": {"type": "integer", "minimum": 0},
            "arr_change": {"type": "string", "enum": ["flat", "expanded", "contracted", "churned"]},
            "reason": _nullable("string"), "note": _nullable("string"),
            "inferred": {"type": "boolean", "description": "Derived from data kept before outcomes were recorded (a renewal date less a year)."},
        },
    },
    "OutcomeList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Outcome"}}}},
    "StakeholderList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Stakeholder"}}}},
}


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name, description):
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


PROBLEM = {"description": "Problem details", "content": {"application/problem+json": {"schema": _ref("Problem")}}}
# 400: a body or an address the API cannot read (not JSON, nested too deep, a NUL character...).
READ_ERRORS = {"400": PROBLEM, "401": PROBLEM, "404": PROBLEM}
ERRORS = {**READ_ERRORS, "422": PROBLEM}
REFERENCE = {"name": "reference", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": MAX_REFERENCE},
             "description": "Your own reference for the customer."}
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "minLength": 1, "maxLength": 200},
               "description": "Send the same key when retrying: the first answer is replayed and nothing is written twice."}


def _write(summary, input_schema, ok: dict, extra_params=()):
    return {"summary": summary, "parameters": [REFERENCE, *extra_params, IDEMPOTENCY],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(input_schema)}}},
            "responses": {**ok, **ERRORS}}


def openapi_document() -> dict:
    milestone_key = {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
    stakeholder_id = {"name": "stakeholder_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Channel Success Portal API", "version": "1.0.0",
                 "description": "For resellers' systems: report on your customers. A token sees only its own partner's accounts."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"token": []}],
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}, "schemas": SCHEMAS},
        "paths": {
            "/accounts": {"get": {"summary": "List your accounts", "parameters": [
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                 "description": "Past the last page: an empty page."},
                {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                {"name": "status", "in": "query", "schema": _enum(LifecycleStatus)}],
                "responses": {"200": _json("AccountPage", "A page of accounts"), "400": PROBLEM, "401": PROBLEM,
                              "422": {**PROBLEM, "description": "A query parameter outside its schema, named in errors"}}}},
            "/accounts/{reference}": {
                "get": {"summary": "One account", "parameters": [REFERENCE], "responses": {"200": _json("Account", "The account"), **READ_ERRORS}},
                "put": _write("Create or update an account by your reference", "AccountInput",
                              {"200": _json("Account", "Updated"), "201": _json("Account", "Created"),
                               "403": {**PROBLEM, "description": "Creating: the partner does not let files and the API create accounts"}}),
            },
            "/accounts/{reference}/check-ins": {
                "get": {"summary": "Check-in history, every version", "parameters": [REFERENCE],
                        "responses": {"200": _json("CheckInList", "Newest period first"), **READ_ERRORS}},
                "post": _write("Submit a check-in; a second one for the same period is a correction (new version)", "CheckInInput",
                               {"201": _json("CheckIn", "Saved (created or corrected)"), "200": _json("CheckIn", "Identical to the version in force: nothing written"),
                                "409": PROBLEM}),
            },
            "/accounts/{reference}/milestones": {
                "get": {"summary": "Onboarding milestones", "parameters": [REFERENCE],
                        "responses": {"200": _json("MilestoneList", "In template order"), **READ_ERRORS}}},
            "/accounts/{reference}/milestones/{key}": {
                "put": _write("Update a milestone", "MilestoneInput", {"200": _json("Milestone", "Saved")}, [milestone_key])},
            "/accounts/{reference}/stakeholders": {
                "get": {"summary": "Stakeholders", "parameters": [REFERENCE],
                        "responses": {"200": _json("StakeholderList", "All stakeholders"), **READ_ERRORS}},
                "post": _write("Add a stakeholder", "StakeholderInput", {"201": _json("Stakeholder", "Added")}),
            },
            "/accounts/{reference}/stakeholders/{stakeholder_id}": {
                "put": _write("Update a stakeholder", "StakeholderInput", {"200": _json("Stakeholder", "Saved")}, [stakeholder_id])},
            "/accounts/{reference}/outcomes": {
                "get": {"summary": "Renewal outcomes, newest term first", "parameters": [REFERENCE],
                        "responses": {"200": _json("OutcomeList", "Recorded and inferred outcomes"), **READ_ERRORS}},
                "post": _write("Record a renewal outcome: renewed (new renewal date and ARR) or churned (date, reason, note)", "OutcomeInput",
                               {"201": _json("Outcome", "Recorded; the account moved to its next term, or churned"),
                                "409": {**PROBLEM, "description": "The account has churned already"}}),
            },
            "/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3.1"}, "400": PROBLEM}}},
        },
    }
