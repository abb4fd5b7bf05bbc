"""Accounts by the reseller's reference: one validation and one write, with its change log, for
the web form, the file import and the API alike."""
from __future__ import annotations

import unicodedata
from enum import Enum
from typing import Any, Callable, Mapping, Sequence, cast

from flask_babel import lazy_gettext as _l
from types import SimpleNamespace

from sqlalchemy import Table, bindparam, insert, literal, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from portal.accounts import lifecycle
from portal.actions.services import partner_admin
from portal.audit import services as audit
from portal.core import clock
from portal.audit.models import AuditAction, AuditEvent
from portal.core.db import among
from portal.core.history import change_entry, record_change, snapshot
from portal.core.lists import MAX_ID
from portal.accounts.models import record_arr
from portal.models import (
    Account, AccountNote, AccountScore, ActionComment, ActionEvent, ActionItem, ActionStep, Alert, ApiToken, ChangeLog, CheckIn,
    LifecycleStatus, Milestone, Partner, ReportSource, Segment, Stakeholder, User, VocItem,
)
from portal.core.validation import Checks, FieldError
from portal.renewals.churn import ChurnDetail, StatusChange, sync_churns
from portal.reporting.cadence import forget_owed
from portal.scoring.aggregation import snapshot_rewritten

ACCOUNT_FIELDS = ("name", "name_kana", "industry", "segment", "plan", "seats", "arr_jpy", "contract_start", "renewal_date",
                  "desired_outcome", "status", "churned_on", "churn_reason", "owner_id")
# What the change log keeps of an account: its fields and when and why its phase last changed.
HISTORY_FIELDS = ACCOUNT_FIELDS + ("phase_changed_on", "phase_reason")
MAX_REFERENCE = 64
OWNER_REFUSED = _l("must be an active user of the partner that serves this customer")


def kana(text: str | None) -> str | None:
    """A reading as Japanese systems keep フリガナ: full-width katakana (half-width ｶﾅ and hiragana
    are folded), so that readings typed either way sort and match together."""
    if text is None:
        return None
    folded = unicodedata.normalize("NFKC", text)
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in folded)


def partner_owners(session: Session, partner_id: int | None) -> dict[str, int]:
    """The partner's active users by email (lower case): who may own its accounts, in one query
    (a file names owners by email on every row)."""
    rows = session.execute(select(User.email, User.id).where(User.partner_id == partner_id, User.active.is_(True)))
    return {email.lower(): user_id for email, user_id in rows}


def check_account(values: Mapping[str, Any], existing: Account | None = None, checks: Checks | None = None, *,
                  session: Session | None = None, partner_id: int | None = None,
                  owners: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The account's fields, checked; on an update, fields left out keep their current values.
    The owner is checked against `partner_id`'s staff when a session is given (save_account does).
    A file and the API may name the owner by `owner_email` instead of `owner_id`: looked up in
    `owners` (partner_owners), or in the partner's users when a session is given.
    Raises ValidationError (with `checks`' earlier errors too, when given)."""
    c = checks or Checks()
    merged: dict[str, Any] = {}
    for name in ACCOUNT_FIELDS:
        if name in values:
            merged[name] = values[name]
        elif existing is not None:
            current = getattr(existing, name)
            # As a client would send it: an enum member's str() is "Segment.LOW_TOUCH", which is no valid choice.
            merged[name] = current.value if isinstance(current, Enum) else current
    if "owner_email" in values:
        merged["owner_id"] = _owner_by_email(c, values["owner_email"], owners if owners is not None
                                             else partner_owners(session, partner_id) if session is not None else {})
    result: dict[str, Any] = {}
    result["name"] = c.text(merged, "name", max_length=200, required=True)
    result["name_kana"] = kana(c.text(merged, "name_kana", max_length=200))
    result["industry"] = c.text(merged, "industry", max_length=100)
    result["plan"] = c.text(merged, "plan", max_length=100)
    result["desired_outcome"] = c.text(merged, "desired_outcome")
    result["churn_reason"] = c.text(merged, "churn_reason")
    result["segment"] = c.choice(merged, "segment", Segment, required=True)
    result["status"] = c.choice(merged, "status", LifecycleStatus) or LifecycleStatus.ONBOARDING
    result["seats"] = c.integer(merged, "seats", 0, 1_000_000, default=0)
    result["arr_jpy"] = c.integer(merged, "arr_jpy", 0, 10**13, default=0)
    for name in ("contract_start", "renewal_date", "churned_on"):
        result[name] = c.date(merged, name)
    result["owner_id"] = c.integer(merged, "owner_id", 1, MAX_ID)
    if session is not None and result["owner_id"] and (
            existing is None or result["owner_id"] != existing.owner_id or partner_id != existing.partner_id):
        if not session.scalar(select(User.id).where(User.id == result["owner_id"], User.partner_id == partner_id, User.active.is_(True))):
            c.fail("owner_id", OWNER_REFUSED, merged.get("owner_id"))
    if result["contract_start"] and result["renewal_date"] and result["renewal_date"] < result["contract_start"]:
        c.fail("renewal_date", _l("must not be before the contract start"), merged.get("renewal_date"))
    if result["status"] == LifecycleStatus.CHURNED:
        if result["churned_on"] is None and not c.failed("churned_on"):
            c.fail("churned_on", _l("is required for a churned account"))
        if not result["churn_reason"]:
            c.fail("churn_reason", _l("is required for a churned account: say why"))
    else:
        result["churned_on"] = result["churn_reason"] = None
    c.done()
    return result


def _owner_by_email(c: Checks, raw: Any, owners: Mapping[str, int]) -> int | None:
    """The user an email names among `owners`; None (no owner) for a blank one."""
    email = c.text({"owner_email": raw}, "owner_email", max_length=254)
    if email is None:
        return None
    owner_id = owners.get(email.lower())
    if owner_id is None:
        c.fail("owner_email", _l("must be the email of an active user of the partner that serves this customer"), raw)
    return owner_id


class AccountCreationRefused(Exception):
    """A file or the API would create an account, and the partner's settings do not allow it
    ("Files and the API may create accounts", off by default): a reseller's system must not
    add customers the partner admin has not agreed to."""

    def __init__(self) -> None:
        super().__init__(str(_l("Your partner admin has not allowed files and the API to create accounts "
                                "(Company settings); add the account on the portal first.")))


# Where an account comes from without a person choosing to add it on the portal.
AUTOMATED_SOURCES = (ReportSource.FILE, ReportSource.API)


def reference_error(reference: Any) -> FieldError | None:
    """The reseller's own id for the customer: 1 to 64 characters, no surrounding spaces."""
    if not isinstance(reference, str) or not 0 < len(reference.strip()) <= MAX_REFERENCE or reference != reference.strip():
        return FieldError("reference", _l("must be 1 to 64 characters without surrounding spaces"), reference)
    return None


def find_account(session: Session, partner_id: int, reference: str) -> Account | None:
    return session.scalar(select(Account).where(Account.partner_id == partner_id, Account.reference == reference))


def save_account(
    session: Session, partner_id: int | None, reference: Any, values: Mapping[str, Any], *, account: Account | None = None,
    upsert: bool = False, source: ReportSource, user: User | None = None, token: ApiToken | None = None,
    churn: ChurnDetail | None = None,
) -> tuple[Account, bool]:
    """Create an account, or update `account`, and log the change; (account, created).
    upsert: the partner's account with this reference is the one to update, if there is one (the API's PUT).
    An account that becomes churned gets its churn outcome (portal.renewals.churn; `churn`: the
    reason and text a recorded outcome gives), one taken back from churned loses it.
    Raises ValidationError, or AccountCreationRefused (a file or the API creating an account
    the partner's settings do not allow); never commits."""
    c = Checks()
    partner = session.get(Partner, partner_id) if partner_id else None
    if partner is None:
        c.fail("partner_id", _l("Choose the partner that serves this customer."))
    bad_reference = reference_error(reference)
    if bad_reference:
        c.errors.append(bad_reference)
    elif partner_id:
        if account is None and upsert:
            account = find_account(session, partner_id, reference)
        clash = session.scalar(select(Account.id).where(
            Account.partner_id == partner_id, Account.reference == reference, Account.id != (account.id if account else None)))
        if clash:
            c.fail("reference", _l("This partner already has an account with reference %(ref)s.", ref=reference), reference)
    if not c.errors and account is None and source in AUTOMATED_SOURCES and partner is not None and not partner.imports_create_accounts:
        raise AccountCreationRefused()
    checked = check_account(values, account, c, session=session, partner_id=partner_id)  # raises with every error found so far
    assert partner_id is not None
    created = account is None or account.id is None
    before = None if created or account is None else _logged(session, account)
    status_before = account.status if account is not None and not created else None
    was = (account.churned_on, account.arr_jpy or 0, account.renewal_date) if account is not None and not created else (None, 0, None)
    moved = account is not None and not created and account.partner_id != partner_id
    if account is None:
        account = Account()
    account.partner_id, account.reference = partner_id, reference
    for name, value in checked.items():
        setattr(account, name, value)
    if created and account.owner_id is None:
        # Every account has someone on the reseller side: the partner admin until someone else is named.
        account.owner_id = session.scalar(select(partner_admin(literal(partner_id))))
    lifecycle.note_phase_set(account, status_before, clock.today())
    session.add(account)
    session.flush()
    sync_churns(session, [StatusChange(account, status_before, *was)], source=source, user=user, token=token,
                details={account.id: churn} if churn else None)
    if moved:
        _move_rows(session, account.id, partner_id)
    entry = record_change(session, entity="account", entity_id=account.id, partner_id=partner_id, account_id=account.id,
                          before=before, after=_logged(session, account), source=source, user=user, token=token)
    if entry is not None:
        audit.record(session, AuditAction.ACCOUNT_CREATED if created else AuditAction.ACCOUNT_UPDATED, actor=user or token,
                     partner_id=partner_id, target=account, target_label=f"{account.name} ({account.reference})",
                     detail=entry.changes | {"via": source.value})
    return account, created


# What an account carries with it to another partner: every row that names the partner beside the
# account (for scoping), by the account, or by its action items. History stays where it happened
# (the change log, the audit log, import batches, the partners' scorecards of past days).
_BY_ACCOUNT = (AccountNote, ActionItem, ActionEvent, Alert, CheckIn, Milestone, Stakeholder, VocItem, AccountScore)
_BY_ITEM = (ActionComment, ActionStep)


def _move_rows(session: Session, account_id: int, partner_id: int) -> None:
    """An account moved to another partner takes its check-ins, customer voice, milestones,
    stakeholders, notes, action items and their comments and steps, alerts and scores with it:
    the old reseller no longer sees any of them, the new one does, at once (one UPDATE a table).
    The nightly list of check-ins owed forgets it (reporting.cadence.forget_owed), and the
    snapshot's stamp moves (its scores changed partner: counts kept for it are made again)."""
    for table in _BY_ACCOUNT:
        session.execute(update(table).where(table.account_id == account_id).values(partner_id=partner_id)
                        .execution_options(synchronize_session=False))
    items = select(ActionItem.id).where(ActionItem.account_id == account_id).scalar_subquery()
    for by_item in _BY_ITEM:
        session.execute(update(by_item).where(by_item.item_id.in_(items)).values(partner_id=partner_id)
                        .execution_options(synchronize_session=False))
    forget_owed(session, [account_id])
    snapshot_rewritten(session)


def create_accounts(session: Session, partner_id: int, new: Sequence[tuple[str, Mapping[str, Any]]], *,
                    source: ReportSource, user: User | None = None) -> list[Account]:
    """save_account for many new accounts of one partner (those a file creates), in order: the same
    checks, defaults, change log entries and audit events, in as many statements for 1,000
    accounts as for one (the partner, its staff, references already taken and the default owner
    one query each; the accounts and their first ARR rows in the ORM's batched INSERTs; the
    entries and events one statement each). Raises ValidationError, or AccountCreationRefused
    (a file or the API, and the partner's settings do not allow it); never commits."""
    if not new:
        return []
    c = Checks()
    partner = session.get(Partner, partner_id)
    if partner is None:
        c.fail("partner_id", _l("Choose the partner that serves this customer."))
        c.done()
    assert partner is not None
    for reference, _values in new:
        bad_reference = reference_error(reference)
        if bad_reference:
            c.errors.append(bad_reference)
    c.done()
    taken = set(session.scalars(select(Account.reference).where(
        Account.partner_id == partner_id, among(session, Account.reference, sorted({reference for reference, _ in new})))))
    for reference, _values in new:
        if reference in taken:
            c.fail("reference", _l("This partner already has an account with reference %(ref)s.", ref=reference), reference)
    c.done()
    if source in AUTOMATED_SOURCES and not partner.imports_create_accounts:
        raise AccountCreationRefused()
    staff = session.execute(select(User.id, User.email, User.display_name, User.active).where(User.partner_id == partner_id)).all()
    owners = {u.email.lower(): u.id for u in staff if u.active}
    may_own = set(owners.values())
    admin = session.scalar(select(partner_admin(literal(partner_id))))
    today, now = clock.today(), clock.utcnow()
    rows = []
    for reference, values in new:
        checked = check_account(values, None, c, owners=owners)  # the owner is checked against `may_own`, not one query each
        if checked["owner_id"] and checked["owner_id"] not in may_own:
            c.fail("owner_id", OWNER_REFUSED, values.get("owner_id"))
            c.done()
        if checked["owner_id"] is None:  # every account has someone on the reseller side: the partner admin until someone else is named
            checked["owner_id"] = admin
        phase = SimpleNamespace(status=checked["status"], phase_changed_on=None, phase_reason=None)
        lifecycle.note_phase_set(phase, None, today)  # type: ignore[arg-type]  # reads the status, sets the phase fields
        rows.append({"partner_id": partner_id, "reference": reference, **checked, "phase_changed_on": phase.phase_changed_on,
                     "phase_reason": phase.phase_reason, "created_at": now, "updated_at": now})
    # One INSERT … RETURNING (no ORM objects: the ORM would insert them one by one on SQLite), then
    # the accounts read back as objects in one query, for the writers after it (update_accounts).
    table = cast(Table, Account.__table__)
    id_of = {r.reference: r.id for r in session.execute(insert(table).returning(table.c.id, table.c.reference), rows)}
    loaded = {a.id: a for a in session.scalars(select(Account).where(among(session, Account.id, sorted(id_of.values()))))}
    accounts = [loaded[id_of[reference]] for reference, _values in new]
    record_arr(session, [(account, account.contract_start or today) for account in accounts])  # its first ARR, as the ORM's hook adds it
    names = {u.id: u.display_name for u in staff}
    missing = {a.owner_id for a in accounts if a.owner_id and a.owner_id not in names}
    if missing:  # the default owner may be staff of no partner (a vendor admin)
        names |= dict(session.execute(select(User.id, User.display_name).where(User.id.in_(missing))).tuples().all())
    entries, events = [], []
    for account in accounts:
        entry = change_entry(entity="account", entity_id=account.id, partner_id=partner_id, account_id=account.id, before=None,
                             after=logged_values(account, names.get), source=source, user=user)
        if entry is not None:
            entries.append(entry)
            events.append(audit.event_values(AuditAction.ACCOUNT_CREATED, actor=user, partner_id=partner_id, target=account,
                                             target_label=f"{account.name} ({account.reference})",
                                             detail=entry["changes"] | {"via": source.value}))
    for model, written in ((ChangeLog, entries), (AuditEvent, events)):
        if written:
            session.execute(insert(model), written)  # one executemany, no ORM objects
    return accounts


def update_accounts(session: Session, partner_id: int, changes: Sequence[tuple[Account, Mapping[str, Any]]], *,
                    source: ReportSource, user: User | None = None, token: ApiToken | None = None,
                    churns: Mapping[int, ChurnDetail] | None = None) -> None:
    """save_account for many of one partner's existing accounts (a file's account columns), in
    order: the same checks, change log entries and audit events, in as many statements for 1,000
    accounts as for one (the owners in one query; the accounts, their ARR history, entries and
    events one statement each). `churns`: by account id, what recorded churn outcomes say (reason,
    text, term). Raises ValidationError; never commits."""
    if not changes:
        return
    users = session.execute(select(User.id, User.display_name, User.partner_id, User.active).where(
        User.id.in_({a.owner_id for a, _ in changes if a.owner_id} | {v["owner_id"] for _, v in changes if v.get("owner_id")})
        | ((User.partner_id == partner_id) & User.active.is_(True)))).all()
    names = {u.id: u.display_name for u in users}  # the change log names owners
    may_own = {u.id for u in users if u.partner_id == partner_id and u.active}
    today, now = clock.today(), clock.utcnow()
    entries, events, rows, arr_changed, statuses = [], [], [], [], []
    for account, values in changes:
        c = Checks()
        checked = check_account(values, account, c)  # the owner is checked here against `may_own`, not one query each
        if checked["owner_id"] and checked["owner_id"] != account.owner_id and checked["owner_id"] not in may_own:
            c.fail("owner_id", OWNER_REFUSED, values.get("owner_id"))
            c.done()
        before, status_before, arr_before = logged_values(account, names.get), account.status, account.arr_jpy
        statuses.append(StatusChange(account, status_before, account.churned_on, arr_before or 0, account.renewal_date))
        after = SimpleNamespace(**{name: getattr(account, name) for name in HISTORY_FIELDS} | checked)
        lifecycle.note_phase_set(after, status_before, today)  # type: ignore[arg-type]  # reads and sets the phase fields
        for name in HISTORY_FIELDS:  # the account as written below, without history for the ORM to flush row by row
            set_committed_value(account, name, getattr(after, name))
        rows.append({"_id": account.id, "updated_at": now, **{name: getattr(after, name) for name in HISTORY_FIELDS}})
        if account.arr_jpy != arr_before:
            arr_changed.append((account, today))
        entry = change_entry(entity="account", entity_id=account.id, partner_id=partner_id, account_id=account.id,
                             before=before, after=logged_values(account, names.get), source=source, user=user, token=token)
        if entry is not None:
            entries.append(entry)
            events.append(audit.event_values(AuditAction.ACCOUNT_UPDATED, actor=user or token, partner_id=partner_id, target=account,
                                             target_label=f"{account.name} ({account.reference})",
                                             detail=entry["changes"] | {"via": source.value}))
    table = cast(Table, Account.__table__)
    session.execute(table.update().where(table.c.id == bindparam("_id")), rows)  # one executemany, whatever each row changes
    record_arr(session, arr_changed)
    session.flush()
    sync_churns(session, statuses, source=source, user=user, token=token, details=churns)
    for model, written in ((ChangeLog, entries), (AuditEvent, events)):
        if written:
            session.execute(insert(model), written)  # one executemany, no ORM objects (they would be inserted one by one)


def _logged(session: Session, account: Account) -> dict[str, Any]:
    """The account as its change log keeps it: the owner by name (an id means nothing to a reader)."""
    def owner_name(owner_id: int) -> str | None:
        owner = session.get(User, owner_id)
        return owner.display_name if owner else None

    return logged_values(account, owner_name)


def logged_values(account: Any, owner_label: Callable[[int], str | None]) -> dict[str, Any]:
    """An account (or anything with its attributes) as the change log keeps it, the owner shown
    by `owner_label` instead of an id: the change log and an import's preview of a change alike."""
    values = snapshot(account, HISTORY_FIELDS)
    owner_id = values.pop("owner_id")
    values["owner"] = owner_label(owner_id) if owner_id else None
    return values
