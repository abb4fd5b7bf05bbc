"""Accounts by the reseller's reference: validation and upsert shared by the API (and the file import)."""
from __future__ import annotations

from enum import Enum
from typing import Any, Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.checkins import FieldError, _Collector, parse_date
from portal.history import record_change, snapshot
from portal.models import Account, ApiToken, LifecycleStatus, Partner, ReportSource, Segment, User

ACCOUNT_FIELDS = ("name", "industry", "segment", "plan", "seats", "arr_jpy", "contract_start", "renewal_date",
                  "desired_outcome", "status", "churned_on", "churn_reason")


def parse_account(values: Mapping[str, Any], existing: Account | None) -> tuple[dict | None, list[FieldError]]:
    """Validate the fields given; on an update, fields left out keep their current values."""
    c = _Collector()
    merged: dict[str, Any] = {}
    for name in ACCOUNT_FIELDS:
        if name in values:
            merged[name] = values[name]
        elif existing is not None:
            current = getattr(existing, name)
            # As a client would send it: an enum member's str() is "Segment.LOW_TOUCH", which is no valid choice.
            merged[name] = current.value if isinstance(current, Enum) else current
    result: dict[str, Any] = {}
    result["name"] = c.text(merged, "name", max_length=200, required=True)
    result["industry"] = c.text(merged, "industry", max_length=100)
    result["plan"] = c.text(merged, "plan", max_length=100)
    result["desired_outcome"] = c.text(merged, "desired_outcome")
    result["churn_reason"] = c.text(merged, "churn_reason")
    result["segment"] = c.choice(merged, "segment", Segment, required=True)
    result["status"] = c.choice(merged, "status", LifecycleStatus) or LifecycleStatus.ONBOARDING
    result["seats"] = c.integer(merged, "seats", 0, 1_000_000, default=0)
    result["arr_jpy"] = c.integer(merged, "arr_jpy", 0, 10**13, default=0)
    for name in ("contract_start", "renewal_date", "churned_on"):
        raw = merged.get(name)
        result[name] = parse_date(raw) if raw not in (None, "") else None
        if raw not in (None, "") and result[name] is None:
            c.fail(name, _l("must be a date like 2026-10-31"), raw)
    if result["contract_start"] and result["renewal_date"] and result["renewal_date"] < result["contract_start"]:
        c.fail("renewal_date", _l("must not be before the contract start"), merged.get("renewal_date"))
    if result["status"] == LifecycleStatus.CHURNED:
        if result["churned_on"] is None and not any(e.field == "churned_on" for e in c.errors):
            c.fail("churned_on", _l("is required for a churned account"))
        if not result["churn_reason"]:
            c.fail("churn_reason", _l("is required for a churned account: say why"))
    else:
        result["churned_on"] = result["churn_reason"] = None
    return (None, c.errors) if c.errors else (result, [])


def upsert_account(
    session: Session, partner: Partner, reference: str, values: dict, *,
    source: ReportSource, user: User | None = None, token: ApiToken | None = None,
) -> tuple[Account, bool]:
    """Create or update the partner's account with this reference; (account, created)."""
    account = session.scalar(select(Account).where(Account.partner_id == partner.id, Account.reference == reference))
    created = account is None
    before = None if created else snapshot(account, ACCOUNT_FIELDS)
    if created:
        account = Account(partner_id=partner.id, reference=reference)
        session.add(account)
    for name, value in values.items():
        setattr(account, name, value)
    session.flush()
    record_change(session, entity="account", entity_id=account.id, partner_id=partner.id, account_id=account.id,
                  before=before, after=snapshot(account, ACCOUNT_FIELDS), source=source, user=user, token=token)
    return account, created


def valid_reference(reference: str) -> bool:
    return 0 < len(reference.strip()) <= 64 and reference == reference.strip()

