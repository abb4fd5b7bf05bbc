"""The /api/v1 endpoints. A token sees and changes only its own partner's accounts.

Writes run through `write`, which commits the change and the Idempotency-Key record in one
transaction, so a retried request with the same key replays the first answer instead of
reporting twice.
"""
from __future__ import annotations

import hashlib
from functools import wraps

from flask import Response, g, jsonify, request
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.accounts.services import AccountCreationRefused, save_account
from portal.api import bp
from portal.api.openapi import openapi_document
from portal.api.serializers import account_json, check_in_json, milestone_json, outcome_json, stakeholder_json
from portal.api.tokens import authenticate
from portal.reporting.cadence import cadence_rules
from portal.reporting.checkins import Outcome, parse_check_in, submit_check_in
from portal.models import (
    Account,
    CheckIn,
    CheckInFeature,
    Feature,
    IdempotencyRecord,
    LifecycleStatus,
    MilestoneTemplate,
    ReportSource,
    Stakeholder,
)
from portal.renewals import services as renewals
from portal.reporting.onboarding import milestone_views, parse_milestone, parse_stakeholder, save_milestone, save_stakeholder
from portal.core.lists import MAX_ID, InvalidArgument, ListArgs, paginate
from portal.core.errors import http_problem, problem
from portal.core.inputs import BadBody, json_object
from portal.core.validation import ValidationError
from portal.core.web import get_session, today

MAX_PER_PAGE = 200
MAX_PAGE = MAX_ID  # past the last page is an empty page; past this, a mistake (the document says both)


class ApiError(Exception):
    def __init__(self, response: Response):
        self.response = response


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    return error.response


bp.register_error_handler(404, http_problem)
bp.register_error_handler(405, http_problem)


def token_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        token = authenticate(get_session(), secret.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            response = problem(401, "Unauthorized", "Send a live API token: Authorization: Bearer csp_…")
            response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
            return response
        # Record the use now: a request that then fails (404, 422) rolls back its own work, not this.
        get_session().commit()
        g.api_token = token
        # Error messages in English, whatever the caller's browser says.
        with force_locale("en"):
            return view(*args, **kwargs)

    return wrapped


def _body() -> dict:
    """The request's JSON object, read with the limits of portal.core.inputs (depth, digits, text)."""
    if not request.is_json:
        raise ApiError(problem(400, "Bad Request", "The body must be a JSON object (Content-Type: application/json)."))
    try:
        return json_object(request.get_data(cache=True))
    except BadBody as bad:
        title = "Bad Request" if bad.status == 400 else "Unprocessable Content"
        raise ApiError(problem(bad.status, title, bad.detail, bad.errors)) from None


def write(view):
    """Commit a write with its Idempotency-Key record; replay the stored answer on a retry."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        db = get_session()
        token = g.api_token
        key = request.headers.get("Idempotency-Key")
        fingerprint = hashlib.sha256(request.method.encode() + request.path.encode() + request.get_data()).hexdigest()
        if key is not None:
            if not 0 < len(key) <= 200 or "\x00" in key:  # stored as text: PostgreSQL refuses NUL
                return problem(400, "Bad Request", "Idempotency-Key must be 1 to 200 characters, without NUL.")
            earlier = db.scalar(select(IdempotencyRecord).where(IdempotencyRecord.partner_id == token.partner_id, IdempotencyRecord.key == key))
            if earlier is not None:
                return _replay(earlier, fingerprint)
        try:
            response = view(*args, **kwargs)
        except ValidationError as error:
            response = _invalid(error.errors)
        if response.status_code >= 400:
            db.rollback()
            return response
        if key is not None:
            db.add(IdempotencyRecord(partner_id=token.partner_id, key=key, request_hash=fingerprint,
                                     status_code=response.status_code, response_body=response.get_data(as_text=True)))
        try:
            db.commit()
        except IntegrityError:
            # The same key was committed by a concurrent request a moment ago: answer as it did.
            db.rollback()
            earlier = db.scalar(select(IdempotencyRecord).where(IdempotencyRecord.partner_id == token.partner_id, IdempotencyRecord.key == key))
            if earlier is None:
                raise
            return _replay(earlier, fingerprint)
        return response

    return wrapped


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.request_hash != fingerprint:
        return problem(422, "Unprocessable Content", "This Idempotency-Key was already used for a different request.")
    response = Response(record.response_body, status=record.status_code, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _account(reference: str) -> Account:
    account = get_session().scalar(
        select(Account).where(Account.partner_id == g.api_token.partner_id, Account.reference == reference)
    )
    if account is None:
        raise ApiError(problem(404, "Not Found", f"No account with reference {reference!r} for this partner."))
    return account


def _written(body: dict, created: bool) -> Response:
    """A write's answer: 201 when it made something new, 200 when it changed (or kept) what was there."""
    response = jsonify(body)
    response.status_code = 201 if created else 200
    return response


def _invalid(errors) -> Response:
    return problem(422, "Unprocessable Content", "Some fields are not valid; see errors.", errors)


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.get("/accounts")
@token_required
def list_accounts():
    args = ListArgs()
    try:
        status = args.present_choice("status", LifecycleStatus)
        page, per_page = args.bounded("page", 1, 1, MAX_PAGE), args.bounded("per_page", 50, 1, MAX_PER_PAGE)
    except InvalidArgument as invalid:
        return _invalid(invalid.errors)
    stmt = (select(Account).where(Account.partner_id == g.api_token.partner_id).options(selectinload(Account.owner))
            .order_by(Account.reference))
    if status:
        stmt = stmt.where(Account.status == status)
    found = paginate(get_session(), stmt, per_page=per_page, page=page)
    return jsonify({"items": [account_json(a) for a in found.items], "page": found.page, "per_page": found.per_page,
                    "total": found.total})


@bp.get("/accounts/<reference>")
@token_required
def get_account(reference: str):
    return jsonify(account_json(_account(reference)))


@bp.put("/accounts/<reference>")
@token_required
@write
def put_account(reference: str):
    token = g.api_token
    try:
        account, created = save_account(get_session(), token.partner_id, reference, _body(), upsert=True,
                                        source=ReportSource.API, token=token)
    except AccountCreationRefused as refused:
        return problem(403, "Forbidden", str(refused))
    return _written(account_json(account), created)


@bp.get("/accounts/<reference>/check-ins")
@token_required
def list_check_ins(reference: str):
    db = get_session()
    account = _account(reference)
    rows = list(db.scalars(
        select(CheckIn).where(CheckIn.account_id == account.id)
        .options(selectinload(CheckIn.feature_adoptions).joinedload(CheckInFeature.feature), selectinload(CheckIn.risks),
                 selectinload(CheckIn.voc_items))
        .order_by(CheckIn.period_start.desc(), CheckIn.version.desc())
    ))
    items = [check_in_json(c, in_force=(i == 0 or rows[i - 1].period_start != c.period_start)) for i, c in enumerate(rows)]
    return jsonify({"items": items})


@bp.post("/accounts/<reference>/check-ins")
@token_required
@write
def post_check_in(reference: str):
    db = get_session()
    account = _account(reference)
    if account.status == LifecycleStatus.CHURNED:
        return problem(409, "Conflict", "This account has churned; it takes no more check-ins.")
    features = list(db.scalars(select(Feature).where(Feature.active.is_(True))))
    data = parse_check_in(_body(), rule=cadence_rules(db)[account.segment], today=today(), seats=account.seats,
                          contract_start=account.contract_start, features=features)
    result = submit_check_in(db, account, data, source=ReportSource.API, token=g.api_token)
    body = check_in_json(result.check_in, in_force=True) | {"outcome": result.outcome.value, "changed_fields": result.changed_fields}
    return _written(body, result.outcome != Outcome.UNCHANGED)


@bp.get("/accounts/<reference>/milestones")
@token_required
def list_milestones(reference: str):
    db = get_session()
    account = _account(reference)
    views = milestone_views(db, account, today())
    return jsonify({"items": [milestone_json(v) for v in views]})


@bp.put("/accounts/<reference>/milestones/<key>")
@token_required
@write
def put_milestone(reference: str, key: str):
    db = get_session()
    account = _account(reference)
    template = db.scalar(select(MilestoneTemplate).where(MilestoneTemplate.key == key, MilestoneTemplate.active.is_(True)))
    if template is None:
        return problem(404, "Not Found", f"No milestone {key!r}; GET the account's milestones for the keys.")
    values = parse_milestone(_body(), today())
    save_milestone(db, account, template, values, source=ReportSource.API, token=g.api_token)
    view = next(v for v in milestone_views(db, account, today()) if v.template.id == template.id)
    return jsonify(milestone_json(view))


@bp.get("/accounts/<reference>/stakeholders")
@token_required
def list_stakeholders(reference: str):
    db = get_session()
    account = _account(reference)
    people = db.scalars(select(Stakeholder).where(Stakeholder.account_id == account.id).order_by(Stakeholder.id))
    return jsonify({"items": [stakeholder_json(p) for p in people]})


@bp.post("/accounts/<reference>/stakeholders")
@token_required
@write
def post_stakeholder(reference: str):
    return _save_stakeholder(reference, None)


@bp.put("/accounts/<reference>/stakeholders/<int:stakeholder_id>")
@token_required
@write
def put_stakeholder(reference: str, stakeholder_id: int):
    return _save_stakeholder(reference, stakeholder_id)


def _save_stakeholder(reference: str, stakeholder_id: int | None):
    db = get_session()
    account = _account(reference)
    person = None
    if stakeholder_id is not None:
        person = db.scalar(select(Stakeholder).where(Stakeholder.account_id == account.id, Stakeholder.id == stakeholder_id))
        if person is None:
            return problem(404, "Not Found", f"No stakeholder {stakeholder_id} on account {reference!r}.")
    values = parse_stakeholder(_body(), today())
    person = save_stakeholder(db, account, person, values, source=ReportSource.API, token=g.api_token)
    return _written(stakeholder_json(person), stakeholder_id is None)


@bp.get("/accounts/<reference>/outcomes")
@token_required
def list_outcomes(reference: str):
    account = _account(reference)
    return jsonify({"items": [outcome_json(o) for o in renewals.history(get_session(), account.id)]})


@bp.post("/accounts/<reference>/outcomes")
@token_required
@write
def post_outcome(reference: str):
    account = _account(reference)
    if account.status == LifecycleStatus.CHURNED:
        return problem(409, "Conflict", "This account has churned; its outcome is recorded.")
    outcome = renewals.record_outcome(get_session(), account, _body(), source=ReportSource.API, token=g.api_token)
    return _written(outcome_json(outcome), True)
