"""Words shown for stored codes (roles, tiers, segments...), in the user's language."""
from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice

from portal.models import LifecycleStatus, PartnerStatus, PartnerTier, Role, Segment

LABELS: dict[enum.Enum, str] = {
    Role.VENDOR_ADMIN: _l("Vendor admin"),
    Role.PARTNER_MANAGER: _l("Partner manager"),
    Role.PARTNER_ADMIN: _l("Partner admin"),
    Role.PARTNER_USER: _l("Partner user"),
    PartnerTier.PLATINUM: _l("Platinum"),
    PartnerTier.GOLD: _l("Gold"),
    PartnerTier.SILVER: _l("Silver"),
    PartnerTier.REGISTERED: _l("Registered"),
    PartnerStatus.ACTIVE: _l("Active"),
    PartnerStatus.PROSPECT: _l("Prospect"),
    PartnerStatus.SUSPENDED: _l("Suspended"),
    PartnerStatus.TERMINATED: _l("Terminated"),
    Segment.HIGH_TOUCH: _l("High touch"),
    Segment.LOW_TOUCH: _l("Low touch"),
    Segment.TECH_TOUCH: _l("Tech touch"),
    LifecycleStatus.ONBOARDING: _l("Onboarding"),
    LifecycleStatus.ACTIVE: _l("Adopted"),
    LifecycleStatus.CHURNED: _l("Churned"),
}


def label(value: enum.Enum | None) -> str:
    if value is None:
        return "—"
    return str(LABELS.get(value, value.value))


def choices(enum_cls: type[enum.Enum], members=None) -> list[SelectChoice]:
    """Options for a select field or filter; labels are resolved lazily, per request language."""
    return [SelectChoice(m.value, LABELS[m]) for m in (members or enum_cls)]
