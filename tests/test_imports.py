"""Check-in files: upload, preview by row and column, commit all or nothing, encodings, Excel,
Japanese headers, re-uploads and corrections, limits, new accounts, the template, and tenants."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from html.parser import HTMLParser

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from portal.reporting.imports import FileProblem, read_file, template_headers
from portal.models import Account, CheckIn, Feature, ImportBatch, LifecycleStatus, ReportSource, Segment, Sentiment
from tests import factories
from tests.pages import is_login_redirect, parse
from tests.readback import latest, reload

# A full, valid row for partner A's account A-001 (low touch: quarterly periods; 20 seats;
# contract from 2025-04-01), with the headers as the English template writes them.
GOOD = {
    "Reference": "A-001",
    "Customer name": "Alpha Customer KK",
    "Period": "2026-07",
    "Active users": "12",
    "NPS": "9",
    "CSAT": "4",
    "CES": "2",
    "Open tickets": "1",
    "Open escalations": "0",
    "Sentiment (green/yellow/red)": "green",
    "Sentiment reason": "",
    "Outcome progress %": "40",
    "Renewal likelihood": "likely",
    "Expansion opportunity (yen)": "¥1,200,000",
    "Risk type": "",
    "Risk severity": "",
    "feature: Workflow automation": "yes",
    "Note": "Kickoff done",
}
JULY, APRIL = date(2026, 7, 1), date(2026, 4, 1)


def row(changes: dict | None = None, **more) -> dict:
    return {**GOOD, **(changes or {}), **more}


def csv_file(*rows: dict, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_file(headers: list, *rows: list) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for values in rows:
        sheet.append(values)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- reading the pages -------------------------------------------------------------------------


class _Tables(HTMLParser):
    """The body rows of every table, as lists of cell texts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_tbody = False

    def handle_starttag(self, tag, attrs):
        if tag == "tbody":
            self._in_tbody = True
            self.tables.append([])
        elif tag == "tr" and self._in_tbody:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_tbody = False
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@dataclass
class Preview:
    url: str
    html: str
    errors: list[tuple[int, str, str, str]]  # row, column, problem, value in the file
    rows: list[tuple[int, str, str, str, str]]  # row, reference, customer, period, what happens
    account_changes: dict[int, str]  # row -> the account changes it makes, as shown

    @property
    def actions(self) -> list[str]:
        return [r[4] for r in self.rows]

    @property
    def can_commit(self) -> bool:
        return f'action="{self.url}/commit"' in self.html


def read_preview(response, url: str) -> Preview:
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    parser = _Tables()
    parser.feed(html)
    cells = [r for table in parser.tables for r in table]
    errors = [(int(r[0]), r[1], r[2], r[3]) for r in cells if len(r) == 4]
    rows = [(int(r[0]), *r[1:5]) for r in cells if len(r) == 6]
    account_changes = {int(r[0]): r[5] for r in cells if len(r) == 6 and r[5]}
    return Preview(url, html, errors, rows, account_changes)


def upload(b, content: bytes, filename: str = "check-ins.csv"):
    return b.post("/import", data={"file": (io.BytesIO(content), filename)}, content_type="multipart/form-data")


def preview(b, content: bytes, filename: str = "check-ins.csv") -> Preview:
    response = upload(b, content, filename)
    assert response.status_code == 302, parse(response).errors
    assert re.fullmatch(r"/import/\d+", response.location)
    return read_preview(b.get(response.location), response.location)


def commit(b, page: Preview) -> list[str]:
    """Confirm the preview; the flashes shown on the page it leads to."""
    response = b.post(page.url + "/commit")
    assert response.status_code == 302
    assert response.location == page.url
    return parse(b.get(response.location)).flash_texts()


def upload_problem(b, content: bytes, filename: str = "check-ins.csv") -> str:
    """The message next to the file field when the file as a whole is refused."""
    response = upload(b, content, filename)
    assert response.status_code == 400
    return parse(response).errors.get("file", "")


# --- reading the database ----------------------------------------------------------------------


def check_in_count(db, account=None) -> int:
    stmt = select(func.count()).select_from(CheckIn)
    if account is not None:
        stmt = stmt.where(CheckIn.account_id == account.id)
    return latest(db).scalar(stmt)


def versions(db, account, period_start: date) -> list[CheckIn]:
    return latest(db).scalars(
        select(CheckIn).where(CheckIn.account_id == account.id, CheckIn.period_start == period_start).order_by(CheckIn.version)
    ).all()


def batch_count(db) -> int:
    return latest(db).scalar(select(func.count()).select_from(ImportBatch))


def features(db) -> list[Feature]:
    return latest(db).scalars(select(Feature).where(Feature.active.is_(True)).order_by(Feature.position)).all()


# --- a good file -------------------------------------------------------------------------------


def test_good_file_is_previewed_without_saving_then_committed(db, browser, tenants):
    b = browser(tenants.user_a)
    before = check_in_count(db)
    page = preview(b, csv_file(row(Period="2026-04"), row({"NPS": "10", "Risk type": "budget", "Risk severity": "high"})))

    assert page.errors == []
    assert page.rows == [
        (2, "A-001", "Alpha Customer KK", "2026-04 – 2026-06", "New check-in"),
        (3, "A-001", "Alpha Customer KK", "2026-07 – 2026-09", "New check-in"),
    ]
    assert "Read as UTF-8. Nothing has been saved yet." in page.html
    assert "Columns not used" not in page.html
    assert page.can_commit
    assert check_in_count(db) == before

    flashes = commit(b, page)
    assert "Imported: 2 new check-ins, 0 corrections, 0 new accounts; 0 rows unchanged." in flashes
    assert check_in_count(db) == before + 2
    [july] = versions(db, tenants.account_a, JULY)
    assert (july.version, july.source, july.submitted_by_id) == (1, ReportSource.FILE, tenants.user_a.id)
    assert (july.active_users, july.nps, july.csat, july.ces, july.open_tickets, july.open_escalations) == (12, 10, 4, 2, 1, 0)
    assert (july.sentiment, july.outcome_progress, july.expansion_jpy, july.note) == (Sentiment.GREEN, 40, 1_200_000, "Kickoff done")
    assert [f.key for f in july.features] == ["workflow"]
    assert [(r.type.value, r.severity.value) for r in july.risks] == [("budget_cut", "high")]
    assert [v.nps for v in versions(db, tenants.account_a, APRIL)] == [9]

    batch = latest(db).get(ImportBatch, int(page.url.rsplit("/", 1)[1]))
    assert (batch.status, batch.partner_id, batch.user_id) == ("committed", tenants.partner_a.id, tenants.user_a.id)
    # Committing the same batch again is refused and writes nothing.
    assert "This file has already been imported." in commit(b, page)
    assert check_in_count(db) == before + 2


# --- bad values: an error by row and column, and nothing written -------------------------------

BAD = [
    pytest.param({"Active users": "twelve"}, "Active users", "Active users must be a whole number, 0 or more", id="not-a-number"),
    pytest.param({"Open tickets": "-2"}, "Open tickets", "Open tickets must be a whole number, 0 or more", id="negative"),
    pytest.param({"NPS": "11"}, "NPS", "NPS must be a whole number from 0 to 10", id="nps-above-10"),
    pytest.param({"NPS": "-1"}, "NPS", "NPS must be a whole number from 0 to 10", id="nps-below-0"),
    pytest.param({"NPS": "8.5"}, "NPS", "NPS must be a whole number from 0 to 10", id="nps-fraction"),
    pytest.param({"CSAT": "0"}, "CSAT", "CSAT must be a number from 1 to 5; decimals allowed", id="csat-below-1"),
    pytest.param({"CSAT": "6"}, "CSAT", "CSAT must be a number from 1 to 5; decimals allowed", id="csat-above-5"),
    pytest.param({"CES": "8"}, "CES", "CES must be a whole number from 1 to 7", id="ces-above-7"),
    pytest.param({"CES": "0"}, "CES", "CES must be a whole number from 1 to 7", id="ces-below-1"),
    pytest.param({"Outcome progress %": "120"}, "Outcome progress %", "must be a whole number from 0 to 100", id="progress-above-100"),
    pytest.param({"Sentiment (green/yellow/red)": "blue"}, "Sentiment (green/yellow/red)", "must be one of: green (緑), yellow (黄), red (赤)", id="bad-sentiment"),
    pytest.param({"Sentiment (green/yellow/red)": ""}, "Sentiment (green/yellow/red)", "Sentiment (green/yellow/red) is required", id="no-sentiment"),
    pytest.param({"Sentiment (green/yellow/red)": "red"}, "Sentiment reason", "is required when the sentiment is yellow or red", id="red-without-reason"),
    pytest.param({"Renewal likelihood": "maybe"}, "Renewal likelihood", "must be one of: likely (高い), unsure (不明), unlikely (低い)", id="bad-renewal"),
    pytest.param({"feature: Workflow automation": "perhaps"}, "feature: Workflow automation", "must be a level (not used, trial, partly, fully), yes/no or a percentage 0–100", id="bad-feature-flag"),
    pytest.param({"Risk type": "budget"}, "Risk severity", "Risk severity is required", id="risk-without-severity"),
    pytest.param({"Period": "2026-13"}, "Period", "Period must be a month like 2026-10 or a date in the period", id="bad-month"),
    pytest.param({"Period": "next month"}, "Period", "must be a month like 2026-10 or a date in the period", id="period-not-a-date"),
    pytest.param({"Period": "2026-02-30"}, "Period", "must be a month like 2026-10 or a date in the period", id="impossible-date"),
    pytest.param({"Period": "2099-01"}, "Period", "is in the future", id="future-period"),
    pytest.param({"Period": "2025-01"}, "Period", "ends before the contract started (2025-04-01)", id="before-contract"),
    pytest.param({"Active users": "21"}, "Active users", "is more than the account's 20 seats", id="more-users-than-seats"),
    pytest.param({"Reference": "Z-999"}, "Reference", "Z-999 is not one of your accounts", id="unknown-reference"),
    pytest.param({"Reference": "  "}, "Reference", "is empty: every row needs the customer's reference", id="no-reference"),
    pytest.param({"Period": "2026-04"}, "Reference", "repeats A-001 for period 2026-04 – 2026-06, already in row 2", id="duplicate-row"),
    pytest.param({"Period": "2026-05-20"}, "Reference", "repeats A-001 for period 2026-04 – 2026-06, already in row 2", id="duplicate-same-quarter"),
]


@pytest.mark.parametrize("changes, column, message", BAD)
def test_bad_value_is_reported_by_row_and_column_and_nothing_is_committed(db, browser, tenants, changes, column, message):
    b = browser(tenants.user_a)
    before = check_in_count(db)
    # Row 2 is good; row 3 (as the reseller sees it in the spreadsheet) has the bad value.
    page = preview(b, csv_file(row(Period="2026-04"), row(changes)))

    assert [(e[0], e[1]) for e in page.errors] == [(3, column)]
    assert message in page.errors[0][2]
    assert page.actions == ["New check-in", "Error"]
    assert "Correct these and upload the file again" in page.html
    assert not page.can_commit

    # Even if confirmed anyway, the good row is not written either: all rows or none.
    assert "Nothing was imported: the file has errors. Correct them and upload it again." in commit(b, page)
    assert check_in_count(db) == before
    assert latest(db).scalar(select(ImportBatch.status).where(ImportBatch.id == int(page.url.rsplit("/", 1)[1]))) == "previewed"


def test_every_bad_cell_of_a_row_is_listed_with_the_value_in_the_file(browser, tenants):
    page = preview(browser(tenants.user_a), csv_file(row({"NPS": "12", "CSAT": "x", "Period": "someday"})))
    assert sorted((e[0], e[1], e[3]) for e in page.errors) == [(2, "CSAT", "x"), (2, "NPS", "12"), (2, "Period", "someday")]


def test_churned_account_takes_no_file_check_ins(db, browser, tenants):
    factories.account(db, tenants.partner_a, reference="A-OLD", status=LifecycleStatus.CHURNED,
                      churned_on=date(2026, 1, 31), churn_reason="Moved away")
    page = preview(browser(tenants.user_a), csv_file(row(Reference="A-OLD")))
    assert [(e[0], e[1]) for e in page.errors] == [(2, "Reference")]
    assert "A-OLD has churned" in page.errors[0][2]


# --- whole-file problems and limits ------------------------------------------------------------

FILE_PROBLEMS = [
    pytest.param(b"", "x.csv", "The file is empty.", id="empty"),
    pytest.param(b"\r\n \r\n", "x.csv", "The file is empty.", id="blank-lines"),
    pytest.param(b"Reference,Sentiment\r\n", "x.csv", "The file has a header row but no data rows.", id="header-only"),
    pytest.param(b"Reference,NPS\r\nA-001,9\r\n", "x.csv", "Required columns are missing: \u201cSentiment (green/yellow/red)\u201d", id="no-sentiment-column"),
    pytest.param(b"Customer name,Sentiment\r\nAlpha,green\r\n", "x.csv", "Required columns are missing: \u201cReference\u201d", id="no-reference-column"),
    pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old.xls", "Old Excel files (.xls) cannot be read", id="old-excel"),
    pytest.param(b"Reference,Sentiment\r\nA-001,green\r\n", "renamed.xlsx", "The Excel file could not be opened", id="csv-named-xlsx"),
    pytest.param(b"Reference,Sentiment\r\nA-001,\x81 \r\n", "x.csv", "The file is not readable text", id="not-text"),
    pytest.param(b"\xef\xbb\xbfReference,Sentiment\r\nA-001,\x81 \r\n", "x.csv", "The file is not readable text", id="bom-then-not-text"),
]


@pytest.mark.parametrize("content, filename, message", FILE_PROBLEMS)
def test_file_that_cannot_be_read_is_refused_with_a_clear_message(db, browser, tenants, content, filename, message):
    before = batch_count(db)
    assert message in upload_problem(browser(tenants.user_a), content, filename)
    assert batch_count(db) == before


def test_upload_without_a_file_asks_for_one(browser, tenants):
    response = browser(tenants.user_a).post("/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert parse(response).errors["file"] == "Choose a file to upload."


def test_read_file_limits_size_and_rows():
    content = csv_file(*[row(Reference=f"R-{n}") for n in range(3)])
    assert len(read_file(content, "x.csv", max_rows=3).rows) == 3
    with pytest.raises(FileProblem, match=r"The file has more than 2 rows\. Split it into smaller files\."):
        read_file(content, "x.csv", max_rows=2)
    assert len(read_file(content, "x.csv", max_bytes=len(content)).rows) == 3
    # Just over the limit: the sizes in the message must differ, or it reads as a contradiction.
    big = content + b" " * (2048 - len(content) + 1)
    with pytest.raises(FileProblem, match=r"The file is 3 KB; the limit is 2 KB\. Split it into smaller files\."):
        read_file(big, "x.csv", max_bytes=2048)


def test_the_default_limits_take_a_10000_row_file_and_refuse_one_over_20000_rows():
    header = b"Reference,Period,Active users,NPS,Sentiment (green/yellow/red),Sentiment reason,Note\n"
    line = b"CUST-%05d,2026-10,12,8,yellow,Fewer logins since the reorganisation,bench row\n"
    assert len(read_file(header + b"".join(line % n for n in range(10_000)), "big.csv").rows) == 10_000
    with pytest.raises(FileProblem, match=r"^The file has more than 20000 rows\. Split it into smaller files\.$"):
        read_file(header + b"".join(line % n for n in range(20_001)), "bigger.csv")


@pytest.mark.parametrize("setting, value, message", [
    pytest.param("import_max_rows", 1, "The file has more than 1 rows. Split it into smaller files.", id="rows"),
    pytest.param("import_max_bytes", 1024, "The file is 2 KB; the limit is 1 KB. Split it into smaller files.", id="bytes"),
])
def test_upload_over_the_configured_limits_is_refused(app, db, browser, tenants, setting, value, message):
    setattr(app.config["PORTAL"], setting, value)
    b = browser(tenants.user_a)
    content = csv_file(row(Period="2026-04", Note="x" * 700), row(Note="y" * 700))
    assert 1024 < len(content) <= 2048
    before = batch_count(db)
    assert upload_problem(b, content) == message
    assert batch_count(db) == before


# --- encodings, Excel and Japanese headers -----------------------------------------------------


def japanese_file(db, encoding: str) -> bytes:
    headers = template_headers(features(db), "ja")
    values = {"管理番号": "A-001", "顧客名": "アルファ顧客", "対象期間": "2026年7月", "アクティブユーザー数": "１２",
              "NPS": "8", "所感（緑/黄/赤）": "黄", "所感の理由": "問い合わせ対応が遅いとの声", "機能: ワークフロー自動化": "はい"}
    assert set(values) <= set(headers), "the Japanese template headers changed"
    return csv_file({h: values.get(h, "") for h in headers}, encoding=encoding)


@pytest.mark.parametrize("encoding, shown", [("cp932", "Shift_JIS"), ("utf-8-sig", "UTF-8 (BOM)"), ("utf-8", "UTF-8")])
def test_japanese_csv_in_any_encoding_is_read_without_asking(db, browser, tenants, encoding, shown):
    b = browser(tenants.user_a)
    content = japanese_file(db, encoding)
    if encoding == "cp932":
        with pytest.raises(UnicodeDecodeError):
            content.decode("utf-8")  # a real Shift_JIS file, not UTF-8 in disguise
    page = preview(b, content)
    assert f"Read as {shown}." in page.html
    assert page.errors == []
    assert page.rows == [(2, "A-001", "Alpha Customer KK", "2026-07 – 2026-09", "New check-in")]
    assert "Columns not used" not in page.html

    commit(b, page)
    [stored] = versions(db, tenants.account_a, JULY)
    assert (stored.sentiment, stored.sentiment_reason, stored.active_users, stored.nps) == (
        Sentiment.YELLOW, "問い合わせ対応が遅いとの声", 12, 8)
    assert [f.key for f in stored.features] == ["workflow"]


def test_excel_file_with_typed_cells_is_read(db, browser, tenants):
    b = browser(tenants.user_a)
    content = xlsx_file(
        ["Reference", "期間", "NPS", "CSAT", "Active users", "所感", "Expansion opportunity (yen)", "Scratch column"],
        [None],  # an empty line before the data keeps the row numbers of the sheet
        ["A-001", datetime(2026, 7, 15), 9, 4.0, 12, "Green", 300000, "ignore me"],
        ["A-001", "2026-04", 11, 4, 12, "green", 0, ""],
    )
    page = preview(b, content, "check-ins.xlsx")
    assert "Read as Excel." in page.html
    assert "Columns not used: Scratch column" in page.html
    assert [(e[0], e[1]) for e in page.errors] == [(4, "NPS")]
    assert page.rows[0] == (3, "A-001", "Alpha Customer KK", "2026-07 – 2026-09", "New check-in")

    fixed = xlsx_file(["Reference", "期間", "NPS", "CSAT", "Active users", "所感", "Expansion opportunity (yen)"],
                      ["A-001", datetime(2026, 7, 15), 9, 4.0, 12, "Green", 300000])
    page = preview(b, fixed, "check-ins.xlsx")
    assert page.errors == []
    commit(b, page)
    [stored] = versions(db, tenants.account_a, JULY)
    assert (stored.nps, stored.csat, stored.active_users, stored.sentiment, stored.expansion_jpy) == (9, 4, 12, Sentiment.GREEN, 300_000)


# --- the same file twice, and corrections ------------------------------------------------------


def test_same_file_uploaded_twice_changes_nothing_the_second_time(db, browser, tenants):
    b = browser(tenants.user_a)
    content = csv_file(row(Period="2026-04"), row())
    commit(b, preview(b, content))
    stored = check_in_count(db)
    ids = [c.id for c in versions(db, tenants.account_a, JULY)]

    again = preview(b, content)
    assert "The same file was imported on" in again.html
    assert again.actions == ["Unchanged, skipped", "Unchanged, skipped"]
    assert "Nothing to import: every row matches what the portal already holds." in again.html
    assert "Imported: 0 new check-ins, 0 corrections, 0 new accounts; 2 rows unchanged." in commit(b, again)
    assert check_in_count(db) == stored
    assert [c.id for c in versions(db, tenants.account_a, JULY)] == ids


def test_changed_value_in_a_reupload_is_a_new_version_and_the_old_one_is_kept(db, browser, tenants):
    b = browser(tenants.user_a)
    commit(b, preview(b, csv_file(row(Period="2026-04"), row({"NPS": "7"}))))

    page = preview(b, csv_file(row(Period="2026-04"), row({"NPS": "9", "Note": "Recounted"})))
    assert "The same file was imported on" not in page.html
    assert page.actions == ["Unchanged, skipped", "Correction (new version)"]
    assert "Imported: 0 new check-ins, 1 corrections, 0 new accounts; 1 rows unchanged." in commit(b, page)

    old, new = versions(db, tenants.account_a, JULY)
    assert (old.version, old.nps, old.note) == (1, 7, "Kickoff done")
    assert (new.version, new.nps, new.note) == (2, 9, "Recounted")
    assert [c.version for c in versions(db, tenants.account_a, APRIL)] == [1]


# --- new accounts ------------------------------------------------------------------------------

NEW = {"Reference": "N-100", "Customer name": "Newco KK", "Segment": "high_touch", "Period": "2026-10",
       "Sentiment (green/yellow/red)": "green"}


def test_unknown_reference_creates_no_account_unless_the_partner_allows_it(db, browser, tenants):
    b = browser(tenants.user_a)
    page = preview(b, csv_file(NEW))
    assert [(e[0], e[1]) for e in page.errors] == [(2, "Reference")]
    assert "N-100 is not one of your accounts" in page.errors[0][2]
    assert "“Files and the API may create accounts” in Settings" in page.errors[0][2]  # where to turn it on

    tenants.partner_a.imports_create_accounts = True
    db.commit()
    page = preview(b, csv_file(NEW, {**NEW, "Period": "2026-09", "Sentiment (green/yellow/red)": "yellow"}))
    assert page.errors == [(3, "Sentiment reason", "Sentiment reason is required when the sentiment is yellow or red: say why", "")]
    page = preview(b, csv_file(NEW, {**NEW, "Period": "2026-09"}))  # monthly periods: high touch
    assert page.errors == []
    # Two periods for the same new customer: the account is created once, by the first row.
    assert page.rows == [(2, "N-100", "Newco KK", "2026-10", "New account and check-in"),
                         (3, "N-100", "Newco KK", "2026-09", "New check-in")]
    assert "Imported: 2 new check-ins, 0 corrections, 1 new accounts; 0 rows unchanged." in commit(b, page)

    account = latest(db).scalar(select(Account).where(Account.reference == "N-100"))
    assert (account.partner_id, account.name, account.segment, account.status) == (
        tenants.partner_a.id, "Newco KK", Segment.HIGH_TOUCH, LifecycleStatus.ONBOARDING)
    assert [c.period_start for c in latest(db).scalars(select(CheckIn).where(CheckIn.account_id == account.id).order_by(CheckIn.period_start))] == [
        date(2026, 9, 1), date(2026, 10, 1)]


@pytest.mark.parametrize("changes, column, message", [
    pytest.param({"Segment": ""}, "Segment", "is needed to create the new account N-100", id="no-segment"),
    pytest.param({"Segment": "enterprise"}, "Segment", "high_touch, low_touch or tech_touch", id="bad-segment"),
    pytest.param({"Customer name": ""}, "Customer name", "is required to create the new account N-100", id="no-name"),
])
def test_new_account_needs_a_name_and_a_segment(db, browser, tenants, changes, column, message):
    tenants.partner_a.imports_create_accounts = True
    db.commit()
    page = preview(browser(tenants.user_a), csv_file({**NEW, **changes}))
    assert [(e[0], e[1]) for e in page.errors] == [(2, column)]
    assert message in page.errors[0][2]


# --- partners stay apart -----------------------------------------------------------------------


@pytest.mark.parametrize("creates_accounts", [False, True], ids=["create-off", "create-on"])
def test_file_naming_another_partners_reference_never_touches_that_account(db, browser, tenants, creates_accounts):
    tenants.partner_a.imports_create_accounts = creates_accounts
    db.commit()
    b = browser(tenants.user_a)
    before_b = check_in_count(db, tenants.account_b)
    page = preview(b, csv_file({**NEW, "Reference": "B-001", "Customer name": "Bravo Secret Customer"}))
    assert "Bravo Networks" not in page.html
    if not creates_accounts:
        assert [(e[0], e[1]) for e in page.errors] == [(2, "Reference")]
        assert "B-001 is not one of your accounts" in page.errors[0][2]
    else:
        # B-001 is just a new reference for partner A: its own account, not partner B's.
        assert page.actions == ["New account and check-in"]
        commit(b, page)
        created = latest(db).scalar(select(Account).where(Account.reference == "B-001", Account.partner_id == tenants.partner_a.id))
        assert created is not None and created.id != tenants.account_b.id
    assert check_in_count(db, tenants.account_b) == before_b
    assert reload(db, tenants.account_b).partner_id == tenants.partner_b.id


def test_partner_cannot_see_or_commit_another_partners_batch(db, browser, tenants):
    own = browser(tenants.user_b)
    page = preview(own, csv_file(row(Reference="B-001")))
    assert page.can_commit
    before = check_in_count(db, tenants.account_b)

    other = browser(tenants.admin_a)
    assert other.get(page.url).status_code == 404
    assert other.post(page.url + "/commit").status_code == 404
    assert check_in_count(db, tenants.account_b) == before
    assert latest(db).scalar(select(ImportBatch.status).where(ImportBatch.id == int(page.url.rsplit("/", 1)[1]))) == "previewed"
    assert "Bravo" not in other.get("/import").get_data(as_text=True)


@pytest.mark.parametrize("who", ["vendor_admin", "partner_manager"])
def test_vendor_staff_do_not_upload_files(browser, tenants, who):
    b = browser(getattr(tenants, who))
    assert b.get("/import").status_code == 403
    assert upload(b, csv_file(row())).status_code == 403
    assert b.get("/import/template.csv").status_code == 403


def test_logged_out_visitor_is_sent_to_log_in(browser, tenants):
    assert is_login_redirect(browser().get("/import"))
    assert is_login_redirect(browser().get(f"/import/{tenants.batch_a.id}"))


# --- the template ------------------------------------------------------------------------------


SENTIMENT_HEADER = {"en": "Sentiment (green/yellow/red)", "ja": "所感（緑/黄/赤）"}


def fill_in_sentiment(records: list[list], sentiment_column: int, value: str) -> list[list]:
    header, *rows = records
    filled = []
    for r in rows:
        r = r + [""] * (len(header) - len(r))  # the CSV template leaves the columns to fill in out
        r[sentiment_column] = value
        filled.append(r)
    return [header] + filled


@pytest.mark.parametrize("lang, sentiment", [("en", "green"), ("ja", "緑")])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_downloaded_template_reuploads_cleanly(db, browser, tenants, lang, sentiment, fmt):
    factories.account(db, tenants.partner_a, reference="A-002", name="Second Customer", segment=Segment.HIGH_TOUCH)
    b = browser(tenants.user_a)
    response = b.get(f"/import/template.{fmt}?lang={lang}")
    assert response.status_code == 200
    assert f"-{lang}.{fmt}" in response.headers["Content-Disposition"]
    content = response.get_data()
    if fmt == "csv":
        assert content.startswith(b"\xef\xbb\xbf")
        records = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    else:
        records = [list(r) for r in load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True)]
    headers = template_headers(features(db), lang)
    assert records[0] == headers
    assert [r[0] for r in records[1:]] == ["A-001", "A-002"]  # partner A's accounts only

    filled = fill_in_sentiment(records, headers.index(SENTIMENT_HEADER[lang]), sentiment)
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows(filled)
        content = out.getvalue().encode("utf-8-sig")
    else:
        content = xlsx_file(*filled)
    page = preview(b, content, f"filled.{fmt}")
    assert page.errors == []
    assert "Columns not used" not in page.html
    assert [r[1] for r in page.rows] == ["A-001", "A-002"]
    assert "Error" not in page.actions
    assert page.can_commit


def test_template_headers_name_every_column_in_both_languages(db):
    en, ja = template_headers(features(db), "en"), template_headers(features(db), "ja")
    assert len(en) == len(ja) == len(set(en)) == len(set(ja))
    assert SENTIMENT_HEADER["en"] in en and SENTIMENT_HEADER["ja"] in ja
    assert "feature: Workflow automation" in en and "機能: ワークフロー自動化" in ja


# --- the preview page in Japanese --------------------------------------------------------------


@pytest.mark.parametrize("how", ["profile", "switch"])
def test_preview_is_shown_in_japanese(db, browser, tenants, how):
    if how == "profile":
        tenants.user_a.language = "ja"
        db.commit()
    b = browser(tenants.user_a)
    if how == "switch":
        b.get("/language/ja")
    page = preview(b, csv_file(row(Period="2026-04"), row({"NPS": "11"})))
    assert "まだ何も保存されていません" in page.html
    assert "以下のエラーを修正して、ファイルをもう一度アップロードしてください" in page.html
    assert page.errors[0][:2] == (3, "NPS")
    assert "0〜10の整数で入力してください" in page.errors[0][2]
    assert page.actions == ["新規ヘルスチェック", "エラー"]


# ---- hostile files: each is refused quickly with a clear message, never a 500 ----------------

def _xlsx_with_sheet_xml(sheet_xml: bytes) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["Reference", "Sentiment"])
    source = io.BytesIO()
    workbook.save(source)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source.getvalue())) as original, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in original.infolist():
            data = original.read(info.filename)
            copy.writestr(info.filename, sheet_xml if info.filename == "xl/worksheets/sheet1.xml" else data)
    return out.getvalue()


SHEET_HEAD = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'


@pytest.mark.parametrize("content, filename, message", [
    pytest.param(b"Reference,Sentiment\n" + b"x" * 140_000 + b",green\n", "big-cell.csv", "Line 2 cannot be read as CSV", id="cell-over-csv-limit"),
    pytest.param(b"Reference,Sentiment\nA-1,gr\x00een\n", "nul.csv", "Line 2 holds a NUL character", id="nul"),
    pytest.param(b"Reference,Sentiment" + b",x" * 300_000 + b"\nA-1,green\n", "wide.csv", "Row 1 has 300002 columns; the limit is 200", id="million-columns-csv"),
    pytest.param(_xlsx_with_sheet_xml(SHEET_HEAD + b'<row r="1">' + b"<c><v>1</v></c>" * 1_000_000 + b"</row></sheetData></worksheet>"),
                 "wide.xlsx", "Row 1 has more than 200 columns", id="million-cells-xlsx"),
    pytest.param(_xlsx_with_sheet_xml(SHEET_HEAD + b"".join(b'<row r="%d"><c t="inlineStr"><is><t>R</t></is></c><c t="inlineStr"><is><t>green</t></is></c></row>' % n
                                                            for n in range(1, 100_001)) + b"</sheetData></worksheet>"),
                 "tall.xlsx", "more than 20000 rows", id="100k-rows-xlsx"),
    pytest.param(_xlsx_with_sheet_xml(b"<worksheet><sheetData><row>"), "broken.xlsx", "could not be opened", id="broken-xml"),
    pytest.param(_xlsx_with_sheet_xml(SHEET_HEAD + b'<row r="1"><c t="inlineStr"><is><t>' + b"a" * 60_000_000 + b"</t></is></c></row></sheetData></worksheet>"),
                 "bomb.xlsx", "unpacks to 58 MB; the limit is 40 MB", id="zip-bomb"),
])
def test_hostile_files_are_refused_with_a_reason(content, filename, message):
    with pytest.raises(FileProblem) as refused:
        read_file(content, filename)
    assert message in str(refused.value.message)


def test_an_xlsx_with_an_entity_bomb_is_refused():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            + SHEET_HEAD[len(b'<?xml version="1.0"?>'):] + b'<row r="1"><c t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>')
    with pytest.raises(FileProblem, match="could not be opened"):
        read_file(_xlsx_with_sheet_xml(bomb), "lol.xlsx")


def test_an_upload_over_the_request_limit_is_refused_before_it_is_read(app, db, browser, tenants):
    b = browser(tenants.user_a)
    response = upload(b, b"x" * (app.config["PORTAL"].import_max_bytes + 100 * 1024), "big.csv")
    assert response.status_code == 413 and "Split the file" in response.get_data(as_text=True)


def test_a_file_is_parsed_once_at_upload_then_previewed_and_committed_from_its_stored_rows(db, browser, tenants, monkeypatch):
    from portal.reporting import import_views

    b = browser(tenants.user_a)
    headers = list(GOOD)
    content = xlsx_file(headers, [datetime(2026, 7, 15) if h == "Period" else GOOD[h] for h in headers])
    page = preview(b, content, "check-ins.xlsx")

    def no_second_parse(*_args, **_kwargs):
        raise AssertionError("the file was parsed again")

    monkeypatch.setattr(import_views, "read_file", no_second_parse)
    assert "2026-07" in b.get(page.url).get_data(as_text=True)  # the Excel date came back as a date
    commit(b, page)
    assert latest(db).scalar(select(CheckIn).where(CheckIn.account_id == tenants.account_a.id)
                             .order_by(CheckIn.id.desc()).limit(1)).period_start == JULY
