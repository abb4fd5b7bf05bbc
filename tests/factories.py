"""Small factories for domain objects; each returns the object, flushed and committed."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

from portal.models import Account, LifecycleStatus, Partner, PartnerTier, Role, Segment, User

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def partner(session, **kw) -> Partner:
    n = next(_seq)
    obj = Partner(name=kw.pop("name", f"Partner {n}"), code=kw.pop("code", f"P{n:04d}"), tier=kw.pop("tier", PartnerTier.SILVER), **kw)
    session.add(obj)
    session.commit()
    return obj


def user(session, role: Role, partner: Partner | None = None, **kw) -> User:
    n = next(_seq)
    password = kw.pop("password", PASSWORD)
    obj = User(
        email=kw.pop("email", f"{role.value}{n}@example.com"),
        display_name=kw.pop("display_name", f"{role.value} {n}"),
        role=role,
        partner=partner,
        **kw,
    )
    obj.set_password(password, "pbkdf2:sha256:1000")
    session.add(obj)
    session.commit()
    return obj


def account(session, partner: Partner, **kw) -> Account:
    n = next(_seq)
    obj = Account(
        partner=partner,
        reference=kw.pop("reference", f"REF-{n:05d}"),
        name=kw.pop("name", f"Customer {n}"),
        segment=kw.pop("segment", Segment.LOW_TOUCH),
        seats=kw.pop("seats", 20),
        arr_jpy=kw.pop("arr_jpy", 1_200_000),
        contract_start=kw.pop("contract_start", date(2025, 4, 1)),
        renewal_date=kw.pop("renewal_date", date(2026, 4, 1)),
        status=kw.pop("status", LifecycleStatus.ACTIVE),
        **kw,
    )
    session.add(obj)
    session.commit()
    return obj


@dataclass
class Tenants:
    vendor_admin: User
    partner_manager: User
    partner_a: Partner
    admin_a: User
    user_a: User
    account_a: Account
    partner_b: Partner
    admin_b: User
    user_b: User
    account_b: Account

    def by_role(self, role: Role) -> User:
        return {
            Role.VENDOR_ADMIN: self.vendor_admin,
            Role.PARTNER_MANAGER: self.partner_manager,
            Role.PARTNER_ADMIN: self.admin_a,
            Role.PARTNER_USER: self.user_a,
        }[role]


def two_tenants(session) -> Tenants:
    manager = user(session, Role.PARTNER_MANAGER)
    a = partner(session, name="Alpha Systems", code="ALPHA", managers=[manager])
    b = partner(session, name="Bravo Networks", code="BRAVO")
    return Tenants(
        vendor_admin=user(session, Role.VENDOR_ADMIN),
        partner_manager=manager,
        partner_a=a,
        admin_a=user(session, Role.PARTNER_ADMIN, a),
        user_a=user(session, Role.PARTNER_USER, a),
        account_a=account(session, a, name="Alpha Customer KK", reference="A-001"),
        partner_b=b,
        admin_b=user(session, Role.PARTNER_ADMIN, b),
        user_b=user(session, Role.PARTNER_USER, b),
        account_b=account(session, b, name="Bravo Secret Customer", reference="B-001"),
    )
