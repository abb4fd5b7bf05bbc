"""JSON shapes of the API; the OpenAPI document (openapi.py) describes exactly these."""
from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from portal.core.clock import as_stored
from portal.models import Account, CheckIn, RenewalOutcome, Stakeholder
from portal.reporting.onboarding import MilestoneView


def plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return as_stored(value).replace(microsecond=0, tzinfo=None).isoformat() + "Z"  # UTC, as 2026-12-02T09:30:00Z
    if isinstance(value, date):
        return value.isoformat()
    return value


def account_json(account: Account) -> dict:
    return {
        "reference": account.reference,
        "name": account.name,
        "name_kana": account.name_kana,
        "owner_email": account.owner.email if account.owner else None,
        "industry": account.industry,
        "segment": plain(account.segment),
        "plan": account.plan,
        "seats": account.seats,
        "arr_jpy": account.arr_jpy,
        "contract_start": plain(account.contract_start),
        "renewal_date": plain(account.renewal_date),
        "desired_outcome": account.desired_outcome,
        "status": plain(account.status),
        "churned_on": plain(account.churned_on),
        "churn_reason": account.churn_reason,
        "updated_at": plain(account.updated_at),
    }


def check_in_json(check_in: CheckIn, *, in_force: bool) -> dict:
    adoptions = sorted(check_in.feature_adoptions, key=lambda a: a.feature.position)  # the vendor's order
    return {
        "id": check_in.id,
        "period_start": plain(check_in.period_start),
        "version": check_in.version,
        "in_force": in_force,
        "source": plain(check_in.source),
        "submitted_at": plain(check_in.submitted_at),
        "active_users": check_in.active_users,
        "nps": check_in.nps,
        "nps_score": check_in.nps_score,
        "csat": check_in.csat,
        "ces": check_in.ces,
        "open_tickets": check_in.open_tickets,
        "open_escalations": check_in.open_escalations,
        "sentiment": plain(check_in.sentiment),
        "sentiment_reason": check_in.sentiment_reason,
        "outcome_progress": check_in.outcome_progress,
        "outcome_note": check_in.outcome_note,
        "renewal_likelihood": plain(check_in.renewal_likelihood),
        "expansion_jpy": check_in.expansion_jpy,
        "note": check_in.note,
        "feature_keys": [a.feature.key for a in adoptions if a.adoption_pct > 0],
        "features": {a.feature.key: a.adoption_pct for a in adoptions},
        "risks": [{"type": plain(r.type), "severity": plain(r.severity), "note": r.note} for r in check_in.risks],
        "voc": [{"kind": plain(v.kind), "text": v.text, "product_area": v.product_area, "product_area_key": v.area.key if v.area else None,
                 "status": plain(v.status), "answer": v.answer, "answered_at": plain(v.answered_at)} for v in check_in.voc_items],
    }


def milestone_json(view: MilestoneView) -> dict:
    return {
        "key": view.template.key,
        "name": view.template.name_en,
        "name_ja": view.template.name_ja,
        "status": plain(view.status),
        "planned_on": plain(view.planned_on),
        "completed_on": plain(view.completed_on),
        "note": view.note,
        "days_late": view.days_late,
        "marks_first_value": view.template.marks_first_value,
    }


def stakeholder_json(person: Stakeholder) -> dict:
    return {
        "id": person.id,
        "name": person.name,
        "role": plain(person.role),
        "success_note": person.success_note,
        "last_contact_on": plain(person.last_contact_on),
        "active": person.active,
    }


def outcome_json(outcome: RenewalOutcome) -> dict:
    from portal.renewals.services import change_label

    return {
        "id": outcome.id,
        "kind": plain(outcome.kind),
        "term_end": plain(outcome.term_end),
        "decided_on": plain(outcome.decided_on),
        "new_renewal_date": plain(outcome.new_renewal_date),
        "arr_before_jpy": outcome.arr_before_jpy,
        "arr_after_jpy": outcome.arr_after_jpy,
        "arr_change": change_label(outcome),
        "reason": outcome.churn_reason.code if outcome.churn_reason else None,
        "note": outcome.note,
        "inferred": outcome.inferred,
    }
