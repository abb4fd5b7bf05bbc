"""Check-in files: a whole period for many accounts at once, previewed, then committed whole.

Reads CSV in UTF-8 (with or without BOM) or Shift_JIS (CP932), detected without asking, and
Excel .xlsx. Headers may be English or Japanese. Rows are matched to accounts by the
reseller's own reference. `preview` says what each row would do and lists every error by
row and column; `commit` writes all rows in one transaction or none. A row identical to the
report in force is skipped, so the same file uploaded twice changes nothing.
"""
from __future__ import annotations

import csv
import hashlib
import io
import logging
import math
import re
import unicodedata
import zipfile
import gc
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any, Callable, Iterator, Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from portal.accounts.services import ACCOUNT_FIELDS, check_account, create_accounts, logged_values, reference_error, update_accounts
from portal.core import wakeup
from portal.core.clock import utcnow
from portal.core.db import among, writer_session
from portal.core.history import readable
from portal.reporting.cadence import cadence_rules
from portal.reporting.checkins import CheckInInput, Outcome, current_check_ins, outcome_against, parse_check_in, submit_check_ins
from portal.models import Account, Feature, ImportBatch, LifecycleStatus, Partner, ReportSource, Segment, User
from portal.core.validation import Checks, ValidationError, blank

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_ROWS = 20_000  # twice the 10,000-row files resellers send; a file over PORTAL_IMPORT_JOB_ROWS is planned by a job
DEFAULT_MAX_COLUMNS = 200
PROGRESS_EVERY = 2000  # rows planned between two reports of progress (a big file is planned as a job; 2,000 rows take ~0.1 s)
# A job whose scheduler process has not reported for this long is stalled (the process died: it
# reports every PROGRESS_EVERY rows while planning; a commit of 20,000 rows takes well under a minute).
STALLED_AFTER = timedelta(minutes=5)
EXCEL = "Excel"  # a Sheet's encoding when it was read from an .xlsx file
XLSX_EXPANSION = 8  # an .xlsx may unpack to 8 times the upload limit (real ones unpack 5-10 times)

# canonical field -> (English header, Japanese header, other accepted spellings)
COLUMNS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "reference": ("Reference", "管理番号", ("your reference", "customer reference", "ref", "顧客番号", "参照番号", "貴社管理番号")),
    "account_name": ("Customer name", "顧客名", ("name", "account", "account name", "会社名")),
    "segment": ("Segment", "セグメント", ()),
    "period": ("Period", "対象期間", ("month", "対象月", "期間")),
    "active_users": ("Active users", "アクティブユーザー数", ("active", "利用者数")),
    "nps": ("NPS", "NPS", ("nps answer", "nps (0-10)", "NPS（0〜10）")),
    "nps_score": ("NPS score (-100 to 100)", "NPSスコア（-100〜100）", ("nps score", "NPSスコア")),
    "csat": ("CSAT (1.0-5.0)", "顧客満足度（CSAT 1.0〜5.0）", ("csat", "顧客満足度", "顧客満足度（CSAT）")),
    "ces": ("CES", "顧客努力指標（CES）", ("顧客努力指標",)),
    "open_tickets": ("Open tickets", "未解決の問い合わせ数", ("tickets", "未解決チケット数")),
    "open_escalations": ("Open escalations", "未解決のエスカレーション数", ("escalations", "エスカレーション数")),
    "sentiment": ("Sentiment (green/yellow/red)", "所感（緑/黄/赤）", ("sentiment", "所感", "パートナー所感")),
    "sentiment_reason": ("Sentiment reason", "所感の理由", ("reason", "理由")),
    "outcome_progress": ("Outcome progress %", "成果の進捗率（%）", ("outcome progress", "progress", "進捗率", "成果の進捗")),
    "outcome_note": ("Outcome note", "成果のメモ", ("進捗メモ",)),
    "renewal_likelihood": ("Renewal likelihood", "更新見込み", ("renewal",)),
    "expansion_jpy": ("Expansion opportunity (yen)", "拡大機会（円）", ("expansion", "拡大機会", "アップセル見込み額")),
    "risk_type": ("Risk type", "リスクの種類", ("risk", "リスク")),
    "risk_severity": ("Risk severity", "リスクの深刻度", ("severity", "深刻度")),
    "risk_note": ("Risk note", "リスクのメモ", ()),
    "voc_kind": ("Customer voice type", "顧客の声の種類", ("voc type",)),
    "voc_text": ("Customer voice", "顧客の声", ("voc",)),
    "voc_product_area": ("Product area", "製品領域", ()),
    "note": ("Note", "備考", ("notes", "メモ")),
    # The account's own fields: a blank cell leaves the account's value as it is.
    "name_kana": ("Name reading (furigana)", "フリガナ", ("furigana", "kana", "読み", "ふりがな", "顧客名フリガナ")),
    "owner_email": ("Owner (email)", "担当者（メールアドレス）", ("owner", "担当者", "担当者メール", "担当者メールアドレス")),
    "plan": ("Plan", "プラン", ("契約プラン",)),
    "seats": ("Seats", "ライセンス数", ("licenses", "契約席数", "席数", "契約ライセンス数")),
    "arr_jpy": ("ARR (yen)", "年間契約額（円）", ("arr", "年間契約額", "年額")),
    "status": ("Status (onboarding/active/churned)", "ステータス（導入中/活用中/解約）", ("lifecycle status", "ステータス", "状態")),
    "contract_start": ("Contract start", "契約開始日", ("start date", "開始日")),
    "renewal_date": ("Renewal date", "契約更新日", ("renewal on", "更新日")),
    "churned_on": ("Churned on", "解約日", ()),
    "churn_reason": ("Churn reason", "解約理由", ()),
}
# Columns that change the account, not the check-in (the segment also names a new account's).
ACCOUNT_COLUMNS = ("name_kana", "owner_email", "segment", "plan", "seats", "arr_jpy", "status", "contract_start", "renewal_date",
                   "churned_on", "churn_reason")
# Japanese words a sheet uses for the account's coded values.
ACCOUNT_ALIASES: dict[type[Enum], dict[str, str]] = {
    Segment: {"ハイタッチ": "high_touch", "ロータッチ": "low_touch", "テックタッチ": "tech_touch",
              "high": "high_touch", "low": "low_touch", "tech": "tech_touch"},
    LifecycleStatus: {"導入中": "onboarding", "オンボーディング": "onboarding", "活用中": "active", "利用中": "active",
                      "稼働中": "active", "adopted": "active", "adoption": "active", "解約": "churned", "解約済": "churned",
                      "解約済み": "churned"},
}
FEATURE_PREFIXES = ("feature:", "機能:")


def _normalise_header(text: Any) -> str:
    text = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    text = re.sub(r"\s+|_", "", text).replace("〜", "~")  # Shift_JIS turns the wave dash into ～ (NFKC: ~)
    return text


def _header_lookup(features: list[Feature]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for key, (en, ja, others) in COLUMNS.items():
        for name in (key, en, ja, *others):
            lookup[_normalise_header(name)] = key
            lookup[_normalise_header(re.sub(r"[（(].*[)）]$", "", name))] = key
    for feature in features:
        for name in (feature.key, feature.name_en, feature.name_ja):
            for prefix in ("", *FEATURE_PREFIXES):
                lookup[_normalise_header(prefix + name)] = f"feature_{feature.key}"
    return lookup


def template_headers(features: list[Feature], language: str) -> list[str]:
    index = 1 if language == "ja" else 0
    headers = [ja if index else en for en, ja, _others in COLUMNS.values()]
    for feature in features:
        headers.append(f"{FEATURE_PREFIXES[index]} {feature.name_ja if index else feature.name_en}")
    return headers


class FileProblem(Exception):
    """The file as a whole cannot be read (encoding, format, size, headers)."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


# --- reading ---------------------------------------------------------------------------------


@dataclass
class Sheet:
    headers: list[str]
    rows: list[tuple[int, list[Any]]]  # (row number as the reseller sees it, values)
    encoding: str

    def to_json(self) -> dict:
        """The rows as JSON, dates tagged so that they come back as dates (Excel cells)."""
        return {"headers": self.headers, "encoding": self.encoding,
                "rows": [[number, [_cell_to_json(v) for v in values]] for number, values in self.rows]}

    @classmethod
    def from_json(cls, data: dict) -> "Sheet":
        return cls(headers=list(data["headers"]), encoding=data["encoding"],
                   rows=[(number, [_cell_from_json(v) for v in values]) for number, values in data["rows"]])


def _cell_to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _cell_from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if "datetime" in value:
            return datetime.fromisoformat(value["datetime"])
        return date.fromisoformat(value["date"])
    return value


def read_file(content: bytes, filename: str, *, max_bytes: int = DEFAULT_MAX_BYTES, max_rows: int = DEFAULT_MAX_ROWS,
              max_columns: int = DEFAULT_MAX_COLUMNS) -> Sheet:
    """The header and data rows of a file, read row by row and stopped at the first limit it breaks,
    so a hostile file costs no more than a file at the limits."""
    with _collector_paused():
        return _read_file(content, filename, max_bytes=max_bytes, max_rows=max_rows, max_columns=max_columns)


def _read_file(content: bytes, filename: str, *, max_bytes: int, max_rows: int, max_columns: int) -> Sheet:
    if len(content) > max_bytes:
        raise FileProblem(_l("The file is %(size)s KB; the limit is %(limit)s KB. Split it into smaller files.",
                             size=-(-len(content) // 1024), limit=max_bytes // 1024))  # rounded up: never "5120 KB; the limit is 5120 KB"
    if not content.strip():
        raise FileProblem(_l("The file is empty."))
    lower = filename.lower()
    limits = Limits(max_rows, max_columns, max_bytes * XLSX_EXPANSION)
    if content[:4] == b"PK\x03\x04" or lower.endswith(".xlsx"):
        return _read_xlsx(content, limits)
    if lower.endswith(".xls") or content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FileProblem(_l("Old Excel files (.xls) cannot be read. Save the sheet as .xlsx or CSV and upload again."))
    return _read_csv(content, limits)


@dataclass(frozen=True)
class Limits:
    rows: int
    columns: int
    unzipped_bytes: int


class _Collector:
    """Keeps the non-empty rows: the first is the header; stops at the row and column limits."""

    def __init__(self, limits: Limits, encoding: str):
        self.limits, self.encoding = limits, encoding
        self.header: list[Any] | None = None
        self.rows: list[tuple[int, list[Any]]] = []

    def add(self, number: int, values: list[Any]) -> None:
        if len(values) > self.limits.columns:
            while values and values[-1] in (None, ""):
                values = values[:-1]  # trailing empty cells (Excel's formatting reach) do not count
            if len(values) > self.limits.columns:
                raise FileProblem(_l("Row %(row)s has %(columns)s columns; the limit is %(limit)s.",
                                     row=number, columns=len(values), limit=self.limits.columns))
        if not any(v not in (None, "") and str(v).strip() for v in values):
            return  # empty lines are skipped; the first non-empty line is the header row
        if self.header is None:
            self.header = values
            return
        if len(self.rows) == self.limits.rows:
            raise FileProblem(_l("The file has more than %(limit)s rows. Split it into smaller files.", limit=self.limits.rows))
        self.rows.append((number, values))

    def sheet(self) -> Sheet:
        if self.header is None:
            raise FileProblem(_l("The file is empty."))
        if not self.rows:
            raise FileProblem(_l("The file has a header row but no data rows."))
        return Sheet(headers=["" if h is None else str(h).strip() for h in self.header], rows=self.rows, encoding=self.encoding)


def _decode(content: bytes) -> tuple[str, str]:
    unreadable = FileProblem(_l("The file is not readable text: save it as CSV in UTF-8 or Shift_JIS, or as .xlsx."))
    if content.startswith(b"\xef\xbb\xbf"):
        try:
            return content[3:].decode("utf-8"), "UTF-8 (BOM)"
        except UnicodeDecodeError:
            raise unreadable from None
    try:
        return content.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp932"), "Shift_JIS"
    except UnicodeDecodeError:
        raise unreadable from None


def _read_csv(content: bytes, limits: Limits) -> Sheet:
    text, encoding = _decode(content)
    nul = text.find("\x00")
    if nul >= 0:  # PostgreSQL stores no NUL character, and no spreadsheet writes one
        raise FileProblem(_l("Line %(row)s holds a NUL character: this is not a CSV file a spreadsheet wrote.",
                             row=text.count("\n", 0, nul) + 1))
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    collector = _Collector(limits, encoding)
    try:
        for values in reader:
            collector.add(reader.line_num, values)
    except csv.Error as error:
        raise FileProblem(_l("Line %(row)s cannot be read as CSV (%(reason)s): a cell is too long or a quote is not closed.",
                             row=reader.line_num, reason=str(error))) from None
    return collector.sheet()


def _read_xlsx(content: bytes, limits: Limits) -> Sheet:
    """Read with openpyxl in read-only mode (XML parsed through defusedxml once it is installed),
    after checking what the archive unpacks to and how wide the first sheet's rows are."""
    from openpyxl import load_workbook

    unreadable = FileProblem(_l("The Excel file could not be opened. Save it again as .xlsx and upload it."))
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise unreadable from None
    if unzipped > limits.unzipped_bytes:
        raise FileProblem(_l("The Excel file unpacks to %(size)s MB; the limit is %(limit)s MB. Split it into smaller files.",
                             size=-(-unzipped // 2**20), limit=limits.unzipped_bytes // 2**20))
    collector = _Collector(limits, EXCEL)
    try:
        _check_row_widths(archive, _first_sheet_path(archive), limits)
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        try:
            if not workbook.worksheets:
                raise FileProblem(_l("The Excel file has no sheet."))
            worksheet = workbook.worksheets[0]
            for number, values in enumerate(worksheet.iter_rows(values_only=True, max_col=limits.columns + 1), start=1):
                collector.add(number, list(values))
        finally:
            workbook.close()
    except FileProblem:
        raise
    except Exception:  # openpyxl raises many kinds for a damaged file (zip, XML, KeyError, TypeError ...)
        log.info("unreadable xlsx upload", exc_info=True)
        raise unreadable from None
    return collector.sheet()


def _first_sheet_path(archive: zipfile.ZipFile) -> str:
    """The part holding the workbook's first sheet (the one the import reads), from
    xl/workbook.xml and its relationships; "" when the workbook names none."""
    from defusedxml.ElementTree import fromstring

    relationship = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    sheets = [e for e in fromstring(archive.read("xl/workbook.xml")).iter() if e.tag.rpartition("}")[2] == "sheet"]
    if not sheets:
        return ""
    targets = {e.get("Id"): e.get("Target", "") for e in fromstring(archive.read("xl/_rels/workbook.xml.rels")).iter()}
    target = targets.get(sheets[0].get(relationship), "")
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}" if target else ""


def _check_row_widths(archive: zipfile.ZipFile, path: str, limits: Limits) -> None:
    """Count the cells of each row while streaming the sheet's XML, before openpyxl opens the
    file: it builds a whole row before it can be cut to the column limit (and its loading
    alone takes seconds on one row of a million cells)."""
    if not path or path not in archive.namelist():
        return
    from defusedxml.ElementTree import iterparse

    row_number, cells, filled, row_has_value = 0, 0, 0, False
    for event, element in iterparse(archive.open(path), events=("start", "end")):
        tag = element.tag.rpartition("}")[2]
        if event == "start" and tag == "row":
            row_number, cells, row_has_value = row_number + 1, 0, False
        elif event == "start" and tag == "c":
            cells += 1
            if cells > limits.columns * 4:  # generous: empty formatted cells are dropped later
                raise FileProblem(_l("Row %(row)s has more than %(limit)s columns.", row=row_number, limit=limits.columns))
        elif event == "start" and tag in ("v", "is") and not row_has_value:
            row_has_value, filled = True, filled + 1
            if filled > limits.rows + 1:  # the header and the data rows (empty formatted rows do not count)
                raise FileProblem(_l("The file has more than %(limit)s rows. Split it into smaller files.", limit=limits.rows))
        elif event == "end" and tag in ("c", "row"):
            element.clear()


# --- preview and commit ----------------------------------------------------------------------


@dataclass
class RowError:
    row: int
    column: str  # the header as written in the file
    message: str
    value: Any = None


@dataclass
class RowPlan:
    row: int
    reference: str
    account_name: str
    action: str  # create_account | new_report | correction | unchanged | error
    period_key: str = ""
    data: CheckInInput | None = None
    account: Any = None  # the account's row as planned (id, status, its fields), not serialised
    new_account: dict | None = None
    account_values: dict = field(default_factory=dict)  # the account cells this row fills in (an existing account)
    account_changes: dict = field(default_factory=dict)  # field -> [before, after], as the change log keeps them
    version: int = 0  # the version in force for the row's account and period when planned (0: none)

    @property
    def changes_account(self) -> bool:
        return bool(self.account_changes) and self.action != "error"

    def readable_changes(self):
        return readable("account", self.account_changes)

    def to_json(self) -> list:
        """The row as a compact JSON list (a plan of 10,000 rows is stored with the upload and read
        back by the preview and the commit)."""
        new = self.new_account and self.new_account | {"values": _values_to_json(self.new_account["values"])}
        return [self.row, self.reference, self.account_name, self.action, self.period_key, self.data.to_row() if self.data else None,
                new, _values_to_json(self.account_values) if self.account_values else None, self.account_changes or None,
                self.version]

    @classmethod
    def from_json(cls, data: list | dict, periods: dict | None = None, *, check_ins: bool = True) -> "RowPlan":
        if isinstance(data, dict):  # a plan stored before plans were kept as lists
            return cls._from_dict(data)
        row, reference, account_name, action, period_key, check_in, new, account_values, account_changes, version = data
        if new:
            new = new | {"values": _values_from_json(new["values"])}
        return cls(row=row, reference=reference, account_name=account_name, action=action, period_key=period_key,
                   data=CheckInInput.from_row(check_in, periods) if check_in and check_ins else None, new_account=new,
                   account_values=_values_from_json(account_values) if account_values else {},
                   account_changes=account_changes or {}, version=version)

    @classmethod
    def _from_dict(cls, data: dict) -> "RowPlan":
        new = data["new_account"] and data["new_account"] | {"values": _values_from_json(data["new_account"]["values"])}
        return cls(row=data["row"], reference=data["reference"], account_name=data["account_name"], action=data["action"],
                   period_key=data["period_key"], data=CheckInInput.from_json(data["data"]) if data["data"] else None,
                   new_account=new, account_values=_values_from_json(data["account_values"]),
                   account_changes=data["account_changes"], version=data["version"])


def _values_to_json(values: dict) -> dict:
    return {key: _cell_to_json(value) for key, value in values.items()}


def _values_from_json(values: dict) -> dict:
    return {key: _cell_from_json(value) for key, value in values.items()}


def _json_value(value: Any) -> Any:
    """A value in the file as an error shows it, kept as JSON."""
    value = _cell_to_json(value)
    return value if value is None or isinstance(value, (str, int, float, bool, dict)) else str(value)


@dataclass
class ImportPlan:
    """What a file would do, row by row. Stored with the upload (to_json), so that the preview
    and the commit read it instead of planning again; `today` and `accounts` (reference -> the
    account's updated_at, None for an account the file creates) with each row's `version` say
    what it was planned against, so that the commit can tell whether it is still true."""

    encoding: str
    rows: list[RowPlan] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    today: date | None = None
    accounts: dict[str, str | None] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"encoding": self.encoding, "today": self.today.isoformat() if self.today else None, "accounts": self.accounts,
                "ignored_columns": self.ignored_columns, "rows": [r.to_json() for r in self.rows],
                "errors": [[e.row, e.column, str(e.message), _json_value(e.value)] for e in self.errors]}

    @classmethod
    def from_json(cls, data: dict, *, check_ins: bool = True) -> "ImportPlan":
        """check_ins=False: the rows without their check-in values (`data` None), for a page that
        shows what each row does but none of its figures (the preview: half its time went to them)."""
        periods: dict = {}  # shared by the rows: most name one period
        return cls(encoding=data["encoding"], today=date.fromisoformat(data["today"]) if data["today"] else None,
                   accounts=data["accounts"], ignored_columns=data["ignored_columns"],
                   rows=[RowPlan.from_json(r, periods, check_ins=check_ins) for r in data["rows"]],
                   errors=[RowError(row, column, message, _cell_from_json(value)) for row, column, message, value in data["errors"]])

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    def accounts_updated(self) -> int:
        """Existing accounts whose fields the file changes."""
        return len({r.reference for r in self.rows if r.changes_account and r.new_account is None})

    def rows_to_write(self) -> int:
        return sum(1 for r in self.rows if r.action not in ("unchanged", "account_only") or r.changes_account)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict[str, int]:
        return ({a: self.count(a) for a in ("create_account", "new_report", "correction", "unchanged", "account_only")}
                | {"account_update": self.accounts_updated(), "errors": len(self.errors), "rows": len(self.rows)})


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while a file is planned or committed. A file of 10,000 rows
    keeps a few million objects alive until the work ends (cells, parsed rows, accounts, versions
    in force), and the collector scanned them again and again without finding garbage: a quarter
    of the time. Reference counting still frees everything the work drops; the collector runs
    again afterwards. (Process-wide: a job thread beside it goes without for those seconds.)"""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def plan_import(session: Session, partner: Partner, sheet: Sheet, today: date,
                progress: Callable[[int], None] | None = None) -> ImportPlan:
    """What each row would do, and every error by row and column, in as many queries for 10,000
    rows as for 10. Writes nothing. `progress` hears how many rows are planned, now and then."""
    with _collector_paused():
        return _plan_import(session, partner, sheet, today, progress)


def _plan_import(session: Session, partner: Partner, sheet: Sheet, today: date,
                 progress: Callable[[int], None] | None) -> ImportPlan:
    features = list(session.scalars(select(Feature).where(Feature.active.is_(True)).order_by(Feature.position)))
    lookup = _header_lookup(features)
    columns: list[str | None] = []
    plan = ImportPlan(encoding=sheet.encoding, today=today)
    seen_keys: dict[str, str] = {}
    for header in sheet.headers:
        key = lookup.get(_normalise_header(header))
        if key is None or key in seen_keys.values():
            if header:
                plan.ignored_columns.append(header)
            columns.append(None)
        else:
            columns.append(key)
            seen_keys[header] = key
    header_for = {key: header for header, key in seen_keys.items()}
    in_file = [f for f in features if f"feature_{f.key}" in header_for]  # the features a row may report: those with a column
    missing = [COLUMNS[k] for k in ("reference", "sentiment") if k not in header_for]
    if missing:
        names = ", ".join(f"“{en}” / “{ja}”" for en, ja, _ in missing)
        raise FileProblem(_l("Required columns are missing: %(names)s. Download the template to see the expected headers.", names=names))

    references = {str(_cell(values, columns, "reference") or "").strip() for _, values in sheet.rows}
    # Rows, not ORM objects: the plan reads the accounts' fields and never writes them.
    accounts = {a.reference: a for a in session.execute(
        select(Account.id, Account.reference, Account.updated_at, *(getattr(Account, name) for name in ACCOUNT_FIELDS))
        .where(Account.partner_id == partner.id, among(session, Account.reference, sorted(references))))}
    users = session.execute(select(User.id, User.email, User.active).where(User.partner_id == partner.id)).all()
    owners = {u.email.lower(): u.id for u in users if u.active}  # whom the file may name as owner: the partner's own staff
    emails = {u.id: u.email for u in users}
    rules = cadence_rules(session)
    first_row_for: dict[tuple[str, date], int] = {}
    new_accounts: dict[str, dict] = {}  # reference -> the account the file creates (several periods may name it)
    edits: dict[str, AccountEdit] = {}  # reference -> the account as the rows so far leave it
    memo: dict = {}  # the check-in values checked so far, shared by the rows (parse_check_in)

    # A column the file lacks (a churned account's date) is named in the language of the file's headers.
    japanese = any(COLUMNS[key][1] == header and COLUMNS[key][0] != header for header, key in seen_keys.items() if key in COLUMNS)

    def error(row: int, key: str, message, value=None):
        names = COLUMNS.get(key, (key, key))
        plan.errors.append(RowError(row, header_for.get(key, names[1] if japanese else names[0]), message, value))

    for done, (row_number, values) in enumerate(sheet.rows):
        if progress is not None and done and done % PROGRESS_EVERY == 0:
            progress(done)
        record = {key: values[i] if i < len(values) else None for i, key in enumerate(columns) if key}
        reference = str(record.get("reference") or "").strip()
        name = str(record.get("account_name") or "").strip()
        row = RowPlan(row=row_number, reference=reference, account_name=name, action="error")
        plan.rows.append(row)
        before = len(plan.errors)
        account = accounts.get(reference)
        if not reference:
            error(row_number, "reference", _l("is empty: every row needs the customer's reference"))
            continue
        if account is None:
            if reference not in new_accounts:
                segment = _new_account_segment(record, partner, reference, error, row_number)
                if segment is None:
                    continue
                if not name:
                    error(row_number, "account_name", _l("is required to create the new account %(ref)s", ref=reference))
                    continue
                bad_reference = reference_error(reference)
                if bad_reference:
                    error(row_number, "reference", bad_reference.message, bad_reference.value)
                    continue
                base = {"name": name, "segment": segment.value, "status": LifecycleStatus.ONBOARDING.value}
                checked = _plan_account(row, record, None, base, edits, owners, emails, error)
                if checked is None:
                    continue
                new_accounts[reference] = {"reference": reference, "name": name, "values": row.account_values, "row": row_number}
                row.account_values = {}
            else:
                checked = _plan_account(row, record, None, {}, edits, owners, emails, error) or edits[reference].checked
            row.new_account = new_accounts[reference]
            row.account_name = row.new_account["name"]
        else:
            if account.status == LifecycleStatus.CHURNED:
                error(row_number, "reference", _l("%(ref)s has churned; churned accounts take no more check-ins", ref=reference))
                continue
            row.account, row.account_name = account, account.name
            # With errors in the account's own cells, the row's check-in is still checked (against
            # the account as it stands), so that one upload lists every error of the row.
            checked = _plan_account(row, record, account, {}, edits, owners, emails, error) or _as_it_stands(account, edits.get(reference))
        if account is not None and not _reports_check_in(record):
            # Only account columns filled in (the template as downloaded, or seats brought up to date):
            # the account is kept current and no check-in is asked for.
            row.action = "account_only" if len(plan.errors) == before else "error"
            continue
        rule, seats, contract_start = rules[checked["segment"]], checked["seats"], checked["contract_start"]
        try:
            data = parse_check_in(record, rule=rule, today=today, seats=seats, contract_start=contract_start, features=in_file,
                                  memo=memo)
        except ValidationError as invalid:
            for fe in invalid.errors:
                error(row_number, fe.field, fe.message, fe.value)
            continue
        row.data, row.period_key = data, data.period.label
        duplicate_of = first_row_for.setdefault((reference, data.period.start), row_number)
        if duplicate_of != row_number:
            error(row_number, "reference", _l("repeats %(ref)s for period %(period)s, already in row %(row)s", ref=reference, period=data.period.label, row=duplicate_of))
            continue
        if len(plan.errors) > before:
            continue
        if account is None:
            # The first row naming a new reference creates the account; later rows (other periods) report on it.
            assert row.new_account is not None  # set above for a reference without an account
            row.action = "create_account" if row.new_account["row"] == row_number else "new_report"
        else:
            row.action = "planned"
    # The versions in force for every existing account's period, in one query.
    planned = [r for r in plan.rows if r.action == "planned"]
    in_force = current_check_ins(session, {(r.account.id, r.data.period.start) for r in planned if r.account and r.data})
    for row in planned:
        assert row.account is not None and row.data is not None  # planned rows are an existing account's check-in
        outcome, existing = outcome_against(in_force.get((row.account.id, row.data.period.start)), row.data)
        row.action = {Outcome.CREATED: "new_report", Outcome.CORRECTED: "correction", Outcome.UNCHANGED: "unchanged"}[outcome]
        row.version = existing.version if existing else 0
    plan.accounts = {ref: _as_of(accounts.get(ref)) for ref in {r.reference for r in plan.rows if r.action != "error"}}
    return plan


def _as_of(account: Any) -> str | None:
    """When the account was last changed, as the plan keeps it (None: the file creates it)."""
    return account.updated_at.isoformat() if account is not None else None


def _as_it_stands(account: Any, edit: "AccountEdit | None") -> Mapping:
    """An existing account as the rows before this one leave it (as stored if none changed it)."""
    return edit.checked if edit else account._mapping


def _reports_check_in(record: Mapping[str, Any]) -> bool:
    """Whether a row says anything about a check-in (beyond the account it names and the period)."""
    return any(not blank(value) for key, value in record.items()
               if key not in ACCOUNT_COLUMNS and key not in ("reference", "account_name", "period"))


@dataclass
class AccountEdit:
    rows: dict  # column -> the first row that gave it
    values: dict  # what the rows so far give, as check_account takes it
    checked: dict  # the account as they leave it


def _plan_account(row: RowPlan, record: dict, account: Any, base: dict, edits: dict[str, AccountEdit],
                  owners: Mapping[str, int], emails: Mapping[int, str], error) -> Mapping | None:
    """The account as this row leaves it, checked by the account service as the form's values are
    (its Japanese words for segment and status accepted), or None after reporting the row's errors.
    Sets the row's account changes (for the preview) and the values to save (for the commit).
    A blank cell leaves the account's value as it is; two rows of one account must not disagree."""
    cells = {key: record[key] for key in ACCOUNT_COLUMNS if key in record and not blank(record[key])}
    if base:
        cells.pop("segment", None)  # a new account's segment is read with its creation
    edit = edits.get(row.reference)
    if edit:
        before: Mapping | None = edit.checked
    else:
        before = account._mapping if account else None  # the account's row: its fields by name
    if not cells and not base:
        return before  # nothing to change: the account as it is (its stored values are not checked again)
    values = (edit.values if edit else base) | cells
    try:
        checked = check_account(values, account, Checks(ACCOUNT_ALIASES), owners=owners)
    except ValidationError as invalid:
        for fe in invalid.errors:
            error(row.row, _column(fe.field), fe.message, fe.value)
        return None
    if edit:  # two rows of one account must not disagree on a value
        clashes = [key for key in cells if key in edit.rows and checked[_service_field(key)] != edit.checked[_service_field(key)]]
        for key in clashes:
            error(row.row, key, _l("differs from row %(row)s, which gives this account another value", row=edit.rows[key]), cells[key])
        if clashes:
            return None
    after_logged = logged_values(_Values(checked), emails.get)  # the file names owners by email
    before_logged = logged_values(_Values(before), emails.get) if before else {}
    given = {"owner" if key == "owner_email" else key for key in (cells | base)}
    row.account_changes = {key: [before_logged.get(key), value] for key, value in after_logged.items()
                           if before_logged.get(key) != value and (before is not None or key in given)}
    row.account_values = {_service_field(key): _as_input(checked[_service_field(key)]) for key in (base | cells)}
    edits[row.reference] = AccountEdit({key: row.row for key in (base | cells)} | (edit.rows if edit else {}), values, checked)
    return checked


def _service_field(column: str) -> str:
    return "owner_id" if column == "owner_email" else column


def _column(field_name: str) -> str:
    """The file's column for a field the account service names."""
    return {"name": "account_name", "owner_id": "owner_email"}.get(field_name, field_name)


def _as_input(value: Any) -> Any:
    """A checked value as the account service takes it again (an enum by its value)."""
    return value.value if isinstance(value, Enum) else value


class _Values:
    """A mapping read as attributes, for history.snapshot."""

    def __init__(self, values: Mapping[str, Any]):
        self.values = values

    def __getattr__(self, name: str) -> Any:
        return self.values.get(name)


def _cell(values, columns, key):
    try:
        return values[columns.index(key)]
    except (ValueError, IndexError):
        return None


def _new_account_segment(record, partner: Partner, reference: str, error, row_number) -> Segment | None:
    if not partner.imports_create_accounts:
        error(row_number, "reference", _l("%(ref)s is not one of your accounts. Add it first, or have a partner admin turn on “%(setting)s” in Settings.",
                                        ref=reference, setting=_l("Files and the API may create accounts")))
        return None
    raw = unicodedata.normalize("NFKC", str(record.get("segment") or "")).strip().lower().replace(" ", "_")
    try:
        return Segment(ACCOUNT_ALIASES[Segment].get(raw, raw))
    except ValueError:
        error(row_number, "segment", _l("is needed to create the new account %(ref)s: high_touch, low_touch or tech_touch", ref=reference), record.get("segment"))
        return None


class TakenOver(Exception):
    """The batch was committed, or taken up by another scheduler, while this commit ran: it
    wrote nothing (its transaction is rolled back)."""


class StalePlan(Exception):
    """Accounts or check-ins the file names changed after it was planned (someone reported in
    between), or the day changed: nothing was written, and `plan` is the file planned again."""

    def __init__(self, plan: ImportPlan):
        super().__init__("the import's plan is out of date")
        self.plan = plan


def commit_import(session: Session, partner: Partner, sheet: Sheet | Callable[[], Sheet], today: date, user: User,
                  plan: ImportPlan | None = None, batch: ImportBatch | None = None, claim: Claim | None = None) -> ImportPlan:
    """Write every row in one transaction; nothing at all if any row has an error. `plan` is the
    stored plan (planned now when not given). It is checked first, with the two queries the
    writing needs anyway, against what may have changed since: raises StalePlan (after planning
    the file again) if anything did. The accounts go through the account service with its change
    log; the check-ins through submit_check_ins, one statement per table. `batch` is marked
    committed in the same transaction, if it is still as `claim` (by default: as now) says; else
    TakenOver and nothing is written. `sheet` may be a function giving it: it is read only to plan
    the file (no stored plan, or a stale one)."""
    with _collector_paused():
        return _commit_import(session, partner, sheet, today, user, plan, batch, claim or (Claim.of(batch) if batch else None))


def _commit_import(session: Session, partner: Partner, sheet: Sheet | Callable[[], Sheet], today: date, user: User,
                   plan: ImportPlan | None, batch: ImportBatch | None, claim: Claim | None) -> ImportPlan:
    if plan is None:
        plan = plan_import(session, partner, _read_sheet(sheet), today)
    if not plan.ok:
        session.rollback()
        return plan
    try:
        # The named accounts as light rows (what the check and the check-ins need); ORM objects
        # only for those whose own columns the file changes, for the account service.
        named = (Account.partner_id == partner.id, among(session, Account.reference, sorted(plan.accounts)))
        accounts: dict[str, Any] = {a.reference: a for a in session.execute(
            select(Account.id, Account.reference, Account.partner_id, Account.updated_at).where(*named))}
        edited = {r.reference for r in plan.rows if r.account_values and r.reference in accounts}
        if edited:
            accounts |= {a.reference: a for a in session.scalars(
                select(Account).where(Account.partner_id == partner.id, among(session, Account.reference, sorted(edited)))
                .execution_options(populate_existing=True))}
        planned = [r for r in plan.rows if r.data is not None and r.reference in accounts]
        in_force = current_check_ins(session, {(accounts[r.reference].id, r.data.period.start) for r in planned if r.data},
                                     values=False)  # the plan compared the values; the staleness check needs the versions
        if (plan.today != today or plan.accounts != {ref: _as_of(accounts.get(ref)) for ref in plan.accounts}
                or any(r.version != _version(in_force.get((accounts[r.reference].id, r.data.period.start))) for r in planned if r.data)):
            session.rollback()
            raise StalePlan(plan_import(session, partner, _read_sheet(sheet), today))
        reports: list[tuple[Any, CheckInInput]] = []  # an Account or its light row: submit_check_ins reads id and partner_id
        outcomes: list[Outcome] = []
        updates: list[tuple[Account, dict]] = []  # the account columns of existing accounts, in row order
        # The accounts the file creates, all at once, in the order of their first rows.
        creating = {row.reference: row.new_account for row in plan.rows if row.reference not in accounts}
        assert all(creating.values())  # a planned row without an account creates one
        created = create_accounts(session, partner.id, [(new["reference"], new["values"]) for new in creating.values() if new],
                                  source=ReportSource.FILE, user=user)
        accounts |= {account.reference: account for account in created}
        for row in plan.rows:
            account = accounts[row.reference]
            if row.new_account is not None and row.new_account["row"] == row.row:
                pass  # the row that created it, with its account columns
            elif row.account_values:  # the account's own columns, through the account service and its change log
                updates.append((account, row.account_values))
            if row.action in ("create_account", "new_report", "correction"):
                assert row.data is not None  # a planned row without errors has its check-in
                reports.append((account, row.data))
                outcomes.append(Outcome.CORRECTED if row.action == "correction" else Outcome.CREATED)
        update_accounts(session, partner.id, updates, source=ReportSource.FILE, user=user)
        # The plan is not stale, so its outcomes hold: they are not compared again.
        submit_check_ins(session, reports, source=ReportSource.FILE, user=user, in_force=in_force, outcomes=outcomes)
        if batch is not None and claim is not None:  # only if the batch is still as this commit found it: never written twice
            marked = session.execute(update(ImportBatch).where(ImportBatch.id == batch.id, *claim.holds())
                                     .values(status="committed", committed_at=utcnow(), summary=plan.summary(), error=None)
                                     .execution_options(synchronize_session=False))
            if marked.rowcount != 1:  # type: ignore[attr-defined]
                raise TakenOver()
        session.commit()
    except Exception:
        session.rollback()
        raise
    return plan


def _read_sheet(sheet: Sheet | Callable[[], Sheet]) -> Sheet:
    return sheet if isinstance(sheet, Sheet) else sheet()


@dataclass(frozen=True)
class Claim:
    """A batch's status and heartbeat as a worker found them: it writes the batch only while they
    still hold, so a batch committed or taken up by another meanwhile is not written twice."""

    status: str
    heartbeat_at: datetime | None

    @classmethod
    def of(cls, batch: Any) -> "Claim":
        return cls(batch.status, batch.heartbeat_at)

    def holds(self) -> tuple:
        return (ImportBatch.status == self.status,
                ImportBatch.heartbeat_at.is_(None) if self.heartbeat_at is None else ImportBatch.heartbeat_at == self.heartbeat_at)


def stalled(batch: ImportBatch, now: datetime) -> bool:
    """Whether a job's scheduler process has gone silent (died) while planning or committing it."""
    return batch.status in ("planning", "committing") and (batch.heartbeat_at is None or batch.heartbeat_at < now - STALLED_AFTER)


def _version(check_in) -> int:
    return check_in.version if check_in is not None else 0


# --- the upload as a batch, and big files as jobs --------------------------------------------


def store_upload(session: Session, partner: Partner, user: User, filename: str, content: bytes, sheet: Sheet,
                 today: date, job_rows: int) -> ImportBatch:
    """Keep an uploaded file with its plan. A file of more than `job_rows` rows is not planned in
    the request: it waits, "queued", for the scheduler process (run_import_jobs). Flushed, not committed."""
    with _collector_paused():  # the rows as JSON and the plan: tens of thousands of objects kept until stored
        return _store_upload(session, partner, user, filename, content, sheet, today, job_rows)


def _store_upload(session: Session, partner: Partner, user: User, filename: str, content: bytes, sheet: Sheet,
                  today: date, job_rows: int) -> ImportBatch:
    # The rows as read are kept for an Excel file only: reading a CSV file again costs less than
    # storing and loading its rows as JSON (10,000 rows: 0.03 s against 0.1-0.3 s).
    batch = ImportBatch(partner_id=partner.id, user_id=user.id, filename=filename[:255],
                        content_sha256=hashlib.sha256(content).hexdigest(), content=content,
                        sheet=sheet.to_json() if sheet.encoding == EXCEL else None,
                        row_count=len(sheet.rows), status="queued")
    if len(sheet.rows) <= job_rows:
        keep_plan(batch, plan_import(session, partner, sheet, today))
    else:
        wakeup.wake(session, "import-jobs")
    session.add(batch)
    session.flush()
    return batch


def queue_commit(session: Session, batch: ImportBatch) -> None:
    """A big file's commit, confirmed on its preview, waits for the scheduler process (which is
    woken for it). The caller commits."""
    batch.status, batch.rows_planned = "commit_queued", 0
    wakeup.wake(session, "import-jobs")


def keep_plan(batch: ImportBatch, plan: ImportPlan) -> None:
    """The plan stored with the upload, for the preview and the commit to read."""
    for name, value in _plan_values(plan).items():
        setattr(batch, name, value)


def _plan_values(plan: ImportPlan) -> dict[str, Any]:
    with _collector_paused():
        stored = plan.to_json()
    return {"plan": stored, "summary": plan.summary(), "status": "previewed", "rows_planned": len(plan.rows)}


def stored_plan(session: Session, batch: ImportBatch, today: date, *, check_ins: bool = True) -> ImportPlan:
    """The plan kept with the batch (a batch from before plans were kept is planned now, once);
    check_ins=False: without the rows' check-in values (ImportPlan.from_json)."""
    # The collector paused from the column's loading on: a plan of 10,000 rows is some 400,000
    # objects as JSON, then 200,000 as the plan, and the collector scanning them took longer
    # than reading them (0.1 s -> up to 0.7 s for the plan's JSON alone).
    with _collector_paused():
        if batch.plan is None:
            keep_plan(batch, plan_import(session, session.get_one(Partner, batch.partner_id), batch_sheet(batch), today))
        assert batch.plan is not None
        return ImportPlan.from_json(batch.plan, check_ins=check_ins)


def batch_sheet(batch: ImportBatch) -> Sheet:
    """The rows as read at upload: kept for an Excel file, a CSV file read again (without limits:
    it was read within them at upload)."""
    with _collector_paused():  # as for the plan: the column's JSON is some 100,000 objects
        if batch.sheet is not None:
            return Sheet.from_json(batch.sheet)
    return read_file(batch.content, batch.filename, max_bytes=len(batch.content), max_rows=2**31)


def commit_batch(session: Session, batch: ImportBatch, today: date, user: User) -> ImportPlan:
    """Commit a previewed batch from its stored plan and mark it committed, in one transaction.
    Raises StalePlan after keeping the new plan (committed: the preview shows it), or TakenOver
    when the batch changed meanwhile (committed by another): then nothing is written."""
    claim = Claim.of(batch)
    partner = session.get_one(Partner, batch.partner_id)
    try:  # the rows as uploaded are read only if the plan must be made again
        plan = commit_import(session, partner, lambda: batch_sheet(batch), today, user, plan=stored_plan(session, batch, today), batch=batch, claim=claim)
    except StalePlan as stale:
        kept = session.execute(update(ImportBatch).where(ImportBatch.id == batch.id, *claim.holds())
                               .values(**_plan_values(stale.plan)).execution_options(synchronize_session=False))
        session.commit()
        if kept.rowcount != 1:  # type: ignore[attr-defined]
            raise TakenOver() from None
        raise
    return plan


def run_import_jobs(sessions: sessionmaker[Session], today: date, locale_for=lambda user: nullcontext()) -> list[int]:
    """Plan and commit the big files waiting for the scheduler process, oldest first; the ids
    worked on. Each batch is claimed first (queued -> planning, commit_queued -> committing, with
    a heartbeat) so that two schedulers never work on one; a stalled one (its process died) is
    claimed again. A commit marks its batch committed only if the batch is still as it claimed
    it, so a file taken up again is never written twice. A batch that fails is marked "failed"
    with the error, and its commit wrote nothing. `locale_for(user)`: the language of the plan's errors."""
    done: list[int] = []
    while True:
        with sessions() as session:
            now = utcnow()
            row = session.execute(select(ImportBatch.id, ImportBatch.status, ImportBatch.heartbeat_at).where(or_(
                ImportBatch.status.in_(("queued", "commit_queued")),
                ImportBatch.status.in_(("planning", "committing")) & or_(ImportBatch.heartbeat_at.is_(None),
                                                                          ImportBatch.heartbeat_at < now - STALLED_AFTER)))
                                  .order_by(ImportBatch.id).limit(1)).first()
            session.commit()
            if row is None:
                return done
            if row.status in ("planning", "committing"):
                log.warning("import %s: its scheduler went silent while %s; taken up again", row.id, row.status)
            working = "planning" if row.status in ("queued", "planning") else "committing"
            claimed = session.execute(update(ImportBatch).where(ImportBatch.id == row.id, *Claim.of(row).holds())
                                      .values(status=working, heartbeat_at=now).execution_options(synchronize_session=False))
            session.commit()
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue  # another scheduler took it
        # The commit reads then writes in one transaction: on SQLite it takes the write lock first.
        with (sessions() if working == "planning" else writer_session(sessions)) as session:
            batch = session.get_one(ImportBatch, row.id)
            user = session.get(User, batch.user_id) if batch.user_id else None
            try:
                with locale_for(user):
                    if working == "planning":
                        _plan_job(session, sessions, batch, today)
                    elif user is None:
                        raise RuntimeError("the user who uploaded the file no longer exists")
                    elif not commit_batch(session, batch, today, user).ok:
                        raise RuntimeError(str(_l("Nothing was imported: the file has errors. Correct them and upload it again.")))
            except StalePlan:
                log.info("import %s changed since its preview: planned again", row.id)
            except TakenOver:
                log.info("import %s was taken up by another scheduler: this commit wrote nothing", row.id)
            except Exception as error:
                session.rollback()
                log.exception("import %s failed", row.id)
                message = error.message if isinstance(error, FileProblem) else error
                session.execute(update(ImportBatch).where(ImportBatch.id == row.id).values(status="failed", error=str(message)[:2000]))
                session.commit()
        done.append(row.id)


def _plan_job(session: Session, sessions: sessionmaker[Session], batch: ImportBatch, today: date) -> None:
    """Plan a queued file, telling the page how far it has got through a session of its own."""
    def progress(rows: int) -> None:
        with sessions() as other:
            other.execute(update(ImportBatch).where(ImportBatch.id == batch.id).values(rows_planned=rows, heartbeat_at=utcnow()))
            other.commit()

    plan = plan_import(session, session.get_one(Partner, batch.partner_id), batch_sheet(batch), today, progress)
    session.commit()  # the planning only read: end its transaction before writing (SQLite's write lock)
    keep_plan(batch, plan)
    session.commit()
