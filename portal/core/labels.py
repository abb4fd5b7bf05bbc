"""Words shown for stored codes (roles, tiers, segments...), in the user's language."""
from __future__ import annotations

import enum
import functools
from typing import Any, Callable

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice

from portal.models import (
    ActionKind,
    ActionStatus,
    DeliveryStatus,
    EmailKind,
    AlertKind,
    Band,
    LifecycleStatus,
    PhaseReason,
    MilestoneStatus,
    PartnerStatus,
    PartnerTier,
    RenewalLikelihood,
    ReportSource,
    RiskType,
    Role,
    Segment,
    Sentiment,
    Severity,
    StakeholderRole,
    VocKind,
)
from portal.models import OutcomeKind, VocStatus

# One table per enum: the enums are str-based, so members of two enums can compare equal.
LABELS: dict[type[enum.Enum], dict[enum.Enum, str]] = {
    Role: {
        Role.VENDOR_ADMIN: _l("Vendor admin"),
        Role.PARTNER_MANAGER: _l("Partner manager"),
        Role.PARTNER_ADMIN: _l("Partner admin"),
        Role.PARTNER_USER: _l("Partner user"),
    },
    PartnerTier: {
        PartnerTier.PLATINUM: _l("Platinum"),
        PartnerTier.GOLD: _l("Gold"),
        PartnerTier.SILVER: _l("Silver"),
        PartnerTier.REGISTERED: _l("Registered"),
    },
    PartnerStatus: {
        PartnerStatus.ACTIVE: _l("Active"),
        PartnerStatus.PROSPECT: _l("Prospect"),
        PartnerStatus.SUSPENDED: _l("Suspended"),
        PartnerStatus.TERMINATED: _l("Terminated"),
    },
    Segment: {
        Segment.HIGH_TOUCH: _l("High touch"),
        Segment.LOW_TOUCH: _l("Low touch"),
        Segment.TECH_TOUCH: _l("Tech touch"),
    },
    LifecycleStatus: {
        LifecycleStatus.ONBOARDING: _l("Onboarding"),
        LifecycleStatus.ACTIVE: _l("Adopted"),
        LifecycleStatus.CHURNED: _l("Churned"),
    },
    OutcomeKind: {
        OutcomeKind.RENEWED: _l("Renewed"),
        OutcomeKind.CHURNED: _l("Churned"),
    },
    PhaseReason: {
        PhaseReason.GO_LIVE: _l("Go-live milestone done"),
        PhaseReason.DAYS_AFTER_START: _l("Days after contract start passed"),
        PhaseReason.SET_BY_RESELLER: _l("Set by the reseller"),
    },
    Sentiment: {Sentiment.GREEN: _l("Green"), Sentiment.YELLOW: _l("Yellow"), Sentiment.RED: _l("Red")},
    ActionStatus: {
        ActionStatus.OPEN: _l("Open"),
        ActionStatus.IN_PROGRESS: _l("In progress"),
        ActionStatus.DONE: _l("Done"),
        ActionStatus.CANCELLED: _l("Cancelled"),
    },
    ActionKind: {
        ActionKind.TURNED_RED: _l("Turned red"),
        ActionKind.RENEWAL_AT_RISK: _l("Renewal at risk"),
        ActionKind.CHECK_IN_OVERDUE: _l("Check-in overdue"),
        ActionKind.REQUEST: _l("Manual request"),
    },
    Band: {Band.GREEN: _l("Healthy"), Band.YELLOW: _l("Needs attention"), Band.RED: _l("At risk")},
    AlertKind: {
        AlertKind.TURNED_RED: _l("Turned red"),
        AlertKind.RENEWAL_AT_RISK: _l("Renewal at risk"),
        AlertKind.CHECK_IN_OVERDUE: _l("Check-in overdue"),
    },
    RenewalLikelihood: {
        RenewalLikelihood.LIKELY: _l("Likely to renew"),
        RenewalLikelihood.UNSURE: _l("Unsure"),
        RenewalLikelihood.UNLIKELY: _l("Unlikely to renew"),
    },
    RiskType: {
        RiskType.BUDGET_CUT: _l("Budget cut"),
        RiskType.CHAMPION_LEFT: _l("Champion left"),
        RiskType.COMPETITOR: _l("Competitor"),
        RiskType.LOW_USAGE: _l("Low usage"),
        RiskType.PRODUCT_GAP: _l("Product gap"),
        RiskType.OTHER: _l("Other"),
    },
    Severity: {Severity.LOW: _l("Low"), Severity.MEDIUM: _l("Medium"), Severity.HIGH: _l("High")},
    VocKind: {VocKind.REQUEST: _l("Request"), VocKind.COMPLAINT: _l("Complaint"), VocKind.PRAISE: _l("Praise")},
    VocStatus: {
        VocStatus.NEW: _l("New"),
        VocStatus.ACKNOWLEDGED: _l("Acknowledged"),
        VocStatus.PLANNED: _l("Planned for a release"),
        VocStatus.SHIPPED: _l("Shipped"),
        VocStatus.DECLINED: _l("Declined"),
    },
    StakeholderRole: {
        StakeholderRole.DECISION_MAKER: _l("Decision maker"),
        StakeholderRole.ADMINISTRATOR: _l("Administrator"),
        StakeholderRole.END_USER: _l("End user"),
        StakeholderRole.OTHER: _l("Other"),
    },
    MilestoneStatus: {
        MilestoneStatus.PLANNED: _l("Planned"),
        MilestoneStatus.IN_PROGRESS: _l("In progress"),
        MilestoneStatus.DONE: _l("Done"),
        MilestoneStatus.BLOCKED: _l("Blocked"),
        MilestoneStatus.SKIPPED: _l("Skipped"),
    },
    EmailKind: {
        EmailKind.MANAGER_DIGEST: _l("Partner manager digest"),
        EmailKind.PARTNER_DIGEST: _l("Partner admin digest"),
        EmailKind.REMINDER: _l("Check-in reminder"),
        EmailKind.ALERT: _l("Alert"),
        EmailKind.PASSWORD_RESET: _l("Password reset"),
    },
    DeliveryStatus: {
        DeliveryStatus.QUEUED: _l("Queued"),
        DeliveryStatus.SENDING: _l("Sending"),
        DeliveryStatus.RETRYING: _l("Waiting to retry"),
        DeliveryStatus.SENT: _l("Sent"),
        DeliveryStatus.FAILED: _l("Failed"),
    },
    ReportSource: {ReportSource.FORM: _l("Web form"), ReportSource.FILE: _l("File upload"), ReportSource.API: _l("API")},
}


def labelled(name: Any, value: Any) -> str:
    """A name and its value as one phrase ("Sentiment: Green", 「所感：緑」): the one pattern the
    templates use too, so that Japanese gets its full-width colon everywhere."""
    return str(_l("%(name)s: %(value)s", name=name, value=value))


def label(value: enum.Enum | None) -> str:
    if value is None:
        return "—"
    return str(LABELS.get(type(value), {}).get(value, value.value))


def labeller() -> Callable[[enum.Enum | None], str]:
    """label() for the many rows of one export, in one language: each value translated once (a
    translation look-up costs some 30 µs; 300,000 of them were most of a 100,000-account export)."""
    return functools.cache(label)


def label_band(value: str | None) -> str:
    """A band stored or computed as plain text ('green'...)."""
    return label(Band(value)) if value else "—"


def choices(enum_cls: type[enum.Enum], members=None) -> list[SelectChoice]:
    """Options for a select field or filter; labels are resolved lazily, per request language."""
    return [SelectChoice(m.value, LABELS[enum_cls][m]) for m in (members or enum_cls)]
