"""Renewal outcomes from a file (CSV or Excel, headers in English or Japanese): read by the check-in
import's reader (its limits, encodings and Excel dates), every row checked by record_outcome's
rules before anything is written, errors named by row and column; a file with any error writes
nothing. The accounts, their decided terms and the reasons are read once for the whole file."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.core import clock
from portal.core.db import among
from portal.core.validation import Checks, ValidationError
from portal.models import Account, Partner, ReportSource, User
from portal.renewals import services
from portal.reporting.imports import FileProblem, RowError, Sheet, _normalise_header

# field -> (English header, Japanese header, other spellings)
OUTCOME_COLUMNS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "reference": ("Reference", "管理番号", ("your reference", "customer reference", "ref", "顧客番号", "貴社管理番号")),
    "account_name": ("Customer name", "顧客名", ("name", "account name", "会社名")),
    "kind": ("Outcome (renewed/churned)", "結果（更新/解約）", ("outcome", "result", "結果")),
    "term_end": ("Term end", "契約期間の終了日", ("renewal date", "更新日", "契約終了日")),
    "decided_on": ("Renewed or churned on", "更新日または解約日", ("churned on", "decided on", "解約日", "決定日")),
    "new_renewal_date": ("New renewal date", "次回更新日", ("next renewal date", "新しい更新日")),
    "arr_jpy": ("New ARR (yen)", "更新後の年間契約額（円）", ("new arr", "arr", "年間契約額", "更新後ARR")),
    "reason": ("Churn reason", "解約理由", ("reason", "理由")),
    "note": ("Note", "メモ", ("comment", "備考")),
}
KIND_ALIASES = {"更新": "renewed", "継続": "renewed", "renewal": "renewed", "解約": "churned", "churn": "churned"}


@dataclass
class OutcomeImport:
    rows: int = 0
    recorded: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _lookup() -> dict[str, str]:
    return {_normalise_header(name): key for key, (en, ja, others) in OUTCOME_COLUMNS.items() for name in (key, en, ja, *others)}


def import_outcomes(session: Session, partner: Partner, sheet: Sheet, user: User) -> OutcomeImport:
    """Check every row, then record them all, or nothing when a row has an error. Never commits."""
    lookup = _lookup()
    columns = [lookup.get(_normalise_header(h)) for h in sheet.headers]
    header_for = {key: header for header, key in zip(sheet.headers, columns, strict=True) if key}
    missing = [OUTCOME_COLUMNS[k] for k in ("reference", "kind") if k not in header_for]
    if missing:
        raise FileProblem(_l("Required columns are missing: %(names)s.", names=", ".join(f"“{en}” / “{ja}”" for en, ja, _ in missing)))
    japanese = any(OUTCOME_COLUMNS[key][1] == header for key, header in header_for.items())
    result = OutcomeImport(rows=len(sheet.rows))

    def column(key: str) -> str:
        en, ja, _others = OUTCOME_COLUMNS[key]
        return header_for.get(key) or (ja if japanese else en)

    records = []
    for number, values in sheet.rows:
        record = {key: values[i] if i < len(values) else None for i, key in enumerate(columns) if key}
        kind = record.get("kind")
        if isinstance(kind, str):
            record["kind"] = KIND_ALIASES.get(kind.strip().lower(), kind)
        records.append((number, record))
    references = sorted({str(r.get("reference") or "").strip() for _, r in records})
    accounts = {a.reference: a for a in session.scalars(select(Account).where(
        Account.partner_id == partner.id, among(session, Account.reference, references)))}  # the partner's own: scoping
    decided = services.decided_terms(session, [a.id for a in accounts.values()])
    reasons = services.active_reasons(session)
    today = clock.today()
    planned: list[tuple[Account, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for number, record in records:
        reference = str(record.get("reference") or "").strip()
        account = accounts.get(reference)
        if account is None:
            result.errors.append(RowError(number, column("reference"), str(_l("No account of yours has this reference.")), reference))
            continue
        if reference in seen:
            result.errors.append(RowError(number, column("reference"), str(_l("Row %(row)s already records an outcome for this account.",
                                                                                   row=seen[reference])), reference))
            continue
        seen[reference] = number
        try:
            services.check_outcome(record, account, reasons, today, decided.get(account.id, set()), Checks())
        except ValidationError as invalid:
            result.errors += [RowError(number, column(e.field if e.field in OUTCOME_COLUMNS else "kind"), str(e.message), e.value)
                              for e in invalid.errors]
            continue
        planned.append((account, record))
    if result.errors:
        return result
    # Every row checked above; written together (the same statements for 10 rows as for 10,000).
    result.recorded = len(services.record_outcomes(session, partner.id, planned, source=ReportSource.FILE, user=user,
                                                   reasons=reasons, decided=decided))
    return result
