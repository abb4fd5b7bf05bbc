"""Partners (resellers): the list's totals, one partner's breakdown, and one write for the form."""
from __future__ import annotations

from typing import Any, Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from portal.audit import services as audit
from portal.audit.models import AuditAction
from portal.core.scoping import partners_visible_to
from portal.core.validation import FieldError, ValidationError
from portal.models import VENDOR_ROLES, Account, LifecycleStatus, Partner, PartnerStatus, PartnerTier, User


def account_totals():
    """Per-partner account count and ARR of live (not churned) accounts, as a subquery to join."""
    live = Account.status != LifecycleStatus.CHURNED
    return (
        select(
            Account.partner_id,
            func.count().label("accounts"),
            func.coalesce(func.sum(case((live, Account.arr_jpy), else_=0)), 0).label("arr"),
            func.count().filter(live).label("live_accounts"),
        )
        .group_by(Account.partner_id)
        .subquery()
    )


def with_totals(partners_stmt):
    """A statement of partners with each one's live accounts and ARR beside it (one GROUP BY, joined)."""
    totals = account_totals()
    return (partners_stmt
            .add_columns(func.coalesce(totals.c.live_accounts, 0).label("live_accounts"), func.coalesce(totals.c.arr, 0).label("arr"))
            .outerjoin(totals, totals.c.partner_id == Partner.id))


def names(session: Session, user: User, *, mine: bool = False) -> list:
    """(id, name) of the partners the user may see, by name: the pickers and filters of lists and forms."""
    return list(session.execute(partners_visible_to(user, mine=mine).with_only_columns(Partner.id, Partner.name)
                                .order_by(Partner.name)).all())


def breakdown(session: Session, partner_id: int) -> dict:
    """The partner's accounts and ARR by (segment, status), for its page."""
    rows = session.execute(
        select(Account.segment, Account.status, func.count().label("accounts"), func.coalesce(func.sum(Account.arr_jpy), 0).label("arr"))
        .where(Account.partner_id == partner_id)
        .group_by(Account.segment, Account.status)
    ).all()
    return {(row.segment, row.status): row for row in rows}


def vendor_staff(session: Session) -> list[User]:
    """Who may own a partner: active vendor staff."""
    return list(session.scalars(select(User).where(User.role.in_(VENDOR_ROLES), User.active.is_(True)).order_by(User.display_name)))


def save_partner(session: Session, values: Mapping[str, Any], partner: Partner | None = None, *, actor: User | None = None) -> Partner:
    """Create or update a partner; the code is unique. Raises ValidationError; never commits.
    `actor` (None: the command line) is named in the audit log."""
    code = (values.get("code") or "").strip().upper()
    clash = session.scalar(select(Partner.id).where(Partner.code == code, Partner.id != (partner.id if partner else None)))
    if clash:
        raise ValidationError([FieldError("code", _l("Another partner already uses this code."), code)])
    before = audit.partner_snapshot(partner)
    partner = partner or Partner()
    partner.name, partner.code = values["name"].strip(), code
    partner.tier, partner.status = PartnerTier(values["tier"]), PartnerStatus(values["status"])
    manager_ids = values.get("manager_ids") or []
    partner.managers = list(session.scalars(select(User).where(User.id.in_(manager_ids), User.role.in_(VENDOR_ROLES))))
    session.add(partner)
    session.flush()
    audit.partner_saved(session, partner, before, actor=actor)
    return partner


def save_partner_settings(session: Session, partner: Partner, values: Mapping[str, Any], *, actor: User) -> None:
    """The partner admin's own settings (may files and the API create accounts?). Never commits."""
    before = partner.imports_create_accounts
    partner.imports_create_accounts = bool(values.get("imports_create_accounts"))
    if before != partner.imports_create_accounts:
        audit.record(session, AuditAction.PARTNER_SETTINGS_CHANGED, actor=actor, partner_id=partner.id, target=partner,
                     target_label=f"{partner.name} ({partner.code})",
                     detail={"imports_create_accounts": [before, partner.imports_create_accounts]})
