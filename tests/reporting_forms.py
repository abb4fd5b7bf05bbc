"""Reporting test data: what the forms post (valid as given, for tests that change one value at a
time), an account in onboarding, and milestone templates by key.

The dates fit the day the reporting tests run on (TODAY): tenants.account_a (low touch, so
quarterly, 20 seats) has reported for the current quarter (Oct-Dec: tenants.check_in_a) but not
for the closed one (Jul-Sep).
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.models import Account, LifecycleStatus, MilestoneTemplate, Partner, Segment
from tests import factories

TODAY = date(2026, 11, 20)
CLOSED_QUARTER, CURRENT_QUARTER = "2026-07-01", "2026-10-01"


def _without_none(data: dict, overrides: dict) -> dict:
    """The data with the overrides; an override of None leaves the field out, as an empty radio or box."""
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def check_in_form(**overrides) -> dict:
    return _without_none({
        "period": CLOSED_QUARTER,
        "active_users": "18",
        "feature_workflow": "fully", "feature_reports": "fully",
        "nps": "9",
        "csat": "4",
        "ces": "2",
        "open_tickets": "3",
        "open_escalations": "1",
        "sentiment": "yellow",
        "sentiment_reason": "An escalation about the slow month-end close",
        "outcome_progress": "60",
        "outcome_note": "Invoice processing down from 10 to 6 days",
        "renewal_likelihood": "likely",
        "expansion_jpy": "300000",
        "risks-0-type": "champion_left", "risks-0-severity": "high", "risks-0-note": "The sponsor moves to another division",
        "risks-1-type": "competitor", "risks-1-severity": "low", "risks-1-note": "",
        "voc-0-kind": "request", "voc-0-product_area": "Reports", "voc-0-text": "Export to Excel in one click",
        "voc-1-kind": "praise", "voc-1-product_area": "", "voc-1-text": "承認フローがとても楽になった",
        "note": "Quarterly review held on site",
    }, overrides)


def milestone_form(**overrides) -> dict:
    return _without_none(
        {"status": "done", "planned_on": "2026-09-28", "completed_on": "2026-10-02", "note": "Kickoff with the CFO and IT"},
        overrides,
    )


def stakeholder_form(**overrides) -> dict:
    return _without_none(
        {"name": "Kenji Tanaka", "role": "administrator", "success_note": "Wants fewer manual exports",
         "last_contact_on": "2026-11-18", "active": "y"},
        overrides,
    )


def onboarding_account(db, partner: Partner) -> Account:
    """A customer in onboarding, signed 60 days before TODAY: by the default plan (kickoff 7 days
    after the contract start ... first value 63, go-live 90) four milestones are late."""
    return factories.account(db, partner, reference="A-ONB", name="Onboarding Customer KK", status=LifecycleStatus.ONBOARDING,
                             contract_start=date(2026, 9, 21), segment=Segment.HIGH_TOUCH)


def milestone_template(db, key: str) -> MilestoneTemplate:
    return db.scalar(select(MilestoneTemplate).where(MilestoneTemplate.key == key))
