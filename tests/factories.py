"""Small factories for domain objects; each returns the object, flushed and committed."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from sqlalchemy import select

from portal.api.tokens import issue_token
from portal.models import (
    Account, CheckIn, CheckInFeature, ImportBatch, LifecycleStatus, Milestone, MilestoneStatus, MilestoneTemplate, Partner, PartnerTier,
    ReportSource, Role, Segment, Sentiment, Stakeholder, StakeholderRole, User,
)

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
    """An account that has been in the portal since its contract started (created_at then), unless
    `created_at` says otherwise: periods before an account was in the portal owe no check-in."""
    n = next(_seq)
    contract_start = kw.pop("contract_start", date(2025, 4, 1))
    if contract_start is not None and "created_at" not in kw:
        kw["created_at"] = datetime.combine(contract_start, time(0), tzinfo=timezone.utc)
    obj = Account(
        partner=partner,
        reference=kw.pop("reference", f"REF-{n:05d}"),
        name=kw.pop("name", f"Customer {n}"),
        segment=kw.pop("segment", Segment.LOW_TOUCH),
        seats=kw.pop("seats", 20),
        arr_jpy=kw.pop("arr_jpy", 1_200_000),
        contract_start=contract_start,
        renewal_date=kw.pop("renewal_date", date(2026, 4, 1)),
        status=kw.pop("status", LifecycleStatus.ACTIVE),
        **kw,
    )
    session.add(obj)
    session.commit()
    return obj


def check_in(session, account: Account, **kw) -> CheckIn:
    """`features`: Feature rows in full use; `adoption`: {Feature: adoption 0-100}."""
    adoption = {f: 100 for f in kw.pop("features", [])} | kw.pop("adoption", {})
    kw["feature_adoptions"] = [CheckInFeature(feature=f, adoption_pct=pct) for f, pct in adoption.items()]
    obj = CheckIn(
        account_id=account.id, partner_id=account.partner_id, period_start=kw.pop("period_start", date(2026, 10, 1)),
        source=kw.pop("source", ReportSource.FORM), sentiment=kw.pop("sentiment", Sentiment.GREEN), **kw,
    )
    session.add(obj)
    session.commit()
    return obj


def milestone(session, account: Account, template_key: str, **kw) -> Milestone:
    """The account's record of one onboarding step (by template key); done when it has a completion date."""
    template = session.scalar(select(MilestoneTemplate).where(MilestoneTemplate.key == template_key))
    status = kw.pop("status", MilestoneStatus.DONE if kw.get("completed_on") else MilestoneStatus.PLANNED)
    obj = Milestone(account_id=account.id, partner_id=account.partner_id, template_id=template.id, status=status, **kw)
    session.add(obj)
    session.commit()
    return obj


def stakeholder(session, account: Account, **kw) -> Stakeholder:
    obj = Stakeholder(account_id=account.id, partner_id=account.partner_id, name=kw.pop("name", "Hanako Sato"),
                      role=kw.pop("role", StakeholderRole.DECISION_MAKER), **kw)
    session.add(obj)
    session.commit()
    return obj


def import_batch(session, partner: Partner, content: bytes = "Reference,Sentiment (green/yellow/red)\nX-1,green\n".encode(), **kw) -> ImportBatch:
    import hashlib

    obj = ImportBatch(partner_id=partner.id, filename=kw.pop("filename", "report.csv"), content=content,
                      content_sha256=hashlib.sha256(content).hexdigest(), **kw)
    session.add(obj)
    session.commit()
    return obj


def api_token(session, admin: User, name: str = "CRM sync"):
    """(token, secret) for the admin's partner."""
    token, secret = issue_token(session, admin, name)
    session.commit()
    return token, secret


def action_item(session, account: Account, **kw):
    from portal.models import ActionComment, ActionItem

    obj = ActionItem(account_id=account.id, partner_id=account.partner_id, title=kw.pop("title", "Follow up"), **kw)
    session.add(obj)
    session.flush()
    session.add(ActionComment(item_id=obj.id, partner_id=account.partner_id, body=f"Comment on {obj.title}"))
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
    check_in_a: CheckIn
    check_in_b: CheckIn
    stakeholder_a: Stakeholder
    stakeholder_b: Stakeholder
    batch_a: ImportBatch
    batch_b: ImportBatch
    token_a: object
    token_b: object
    secret_a: str
    secret_b: str
    item_a: object
    item_b: object

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
    admin_a, admin_b = user(session, Role.PARTNER_ADMIN, a), user(session, Role.PARTNER_ADMIN, b)
    account_a = account(session, a, name="Alpha Customer KK", reference="A-001")
    account_b = account(session, b, name="Bravo Secret Customer", reference="B-001")
    token_a, secret_a = api_token(session, admin_a)
    token_b, secret_b = api_token(session, admin_b)
    return Tenants(
        vendor_admin=user(session, Role.VENDOR_ADMIN),
        partner_manager=manager,
        partner_a=a,
        admin_a=admin_a,
        user_a=user(session, Role.PARTNER_USER, a),
        account_a=account_a,
        partner_b=b,
        admin_b=admin_b,
        user_b=user(session, Role.PARTNER_USER, b),
        account_b=account_b,
        check_in_a=check_in(session, account_a),
        check_in_b=check_in(session, account_b),
        stakeholder_a=stakeholder(session, account_a),
        stakeholder_b=stakeholder(session, account_b, name="Bravo Secret Champion"),
        batch_a=import_batch(session, a),
        batch_b=import_batch(session, b),
        token_a=token_a,
        token_b=token_b,
        secret_a=secret_a,
        secret_b=secret_b,
        item_a=action_item(session, account_a, title="Run a training session"),
        item_b=action_item(session, account_b, title="Bravo Secret Plan"),
    )


def outcomes_as_migrated(session) -> None:
    """The renewal outcomes migration 0028 makes of the accounts as they are (churns from the churn
    fields, renewals inferred from a renewal date less a year), replacing any outcome there is: for
    histories built with the accounts' fields alone, as existing data was before outcomes."""
    import importlib.util
    from pathlib import Path

    from sqlalchemy import delete

    from portal.models import RenewalOutcome

    path = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "0028_outcomes.py"
    spec = importlib.util.spec_from_file_location("migration_0028", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    session.execute(delete(RenewalOutcome))
    module.migrate_data(session.connection())
    session.commit()
