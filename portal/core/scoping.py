"""Tenant scoping in one place: what each user may see and change.

Views, the API and exports build their queries from these helpers. Vendor roles see every
partner; partner roles see only their own partner's rows. An object outside a user's scope
is reported as missing (404), never as forbidden, so ids cannot be probed.

The aggregation and other set-based SQL do not go through here: they scope by partner
explicitly in their own GROUP BY.
"""
from __future__ import annotations

from typing import Any, Protocol, TypeVar

from flask import abort
from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from portal.models import Account, Partner, Role, User, partner_managers

T = TypeVar("T")


class _PartnerOwned(Protocol):
    """A mapped class with a partner_id column. (Typed Any: mypy matches a protocol member
    against the instance side, an int, while the queries use the class side, the column.)"""

    partner_id: Any


P = TypeVar("P", bound=_PartnerOwned)


def partners_visible_to(user: User, *, mine: bool = False) -> Select[Partner]:
    stmt = select(Partner)
    if not user.is_vendor:
        return stmt.where(Partner.id == user.partner_id)
    if mine:
        stmt = stmt.where(Partner.id.in_(_managed_partner_ids(user)))
    return stmt


def visible_to(user: User, model: type[P], *, mine: bool = False) -> Select[P]:
    """Rows of a partner-owned model (accounts, check-ins, stakeholders... anything with a
    partner_id) that the user may see."""
    stmt = select(model)
    if not user.is_vendor:
        return stmt.where(model.partner_id == user.partner_id)
    if mine:
        stmt = stmt.where(model.partner_id.in_(_managed_partner_ids(user)))
    return stmt


def accounts_visible_to(user: User, *, mine: bool = False) -> Select[Account]:
    return visible_to(user, Account, mine=mine)


def users_manageable_by(user: User) -> Select[User]:
    """Vendor admins manage everyone; partner admins their own partner's staff; others nobody."""
    stmt = select(User)
    if user.role == Role.VENDOR_ADMIN:
        return stmt
    if user.role == Role.PARTNER_ADMIN:
        return stmt.where(User.partner_id == user.partner_id)
    return stmt.where(false())


def roles_assignable_by(user: User) -> list[Role]:
    if user.role == Role.VENDOR_ADMIN:
        return list(Role)
    if user.role == Role.PARTNER_ADMIN:
        return [Role.PARTNER_ADMIN, Role.PARTNER_USER]
    return []


ACCOUNT_EDITORS = (Role.VENDOR_ADMIN, Role.PARTNER_ADMIN)


def one_or_404(session: Session, stmt: Select[T], object_id: int) -> T:
    """The object with this id inside the scoped query, or 404 if it is outside the scope."""
    entity = stmt.column_descriptions[0]["entity"]
    found = session.scalar(stmt.where(entity.id == object_id))
    if found is None:
        abort(404)
    return found


def _managed_partner_ids(user: User):
    return select(partner_managers.c.partner_id).where(partner_managers.c.user_id == user.id)
