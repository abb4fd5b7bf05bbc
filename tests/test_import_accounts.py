"""The account's own columns in a check-in file and in the API (seats, ARR, plan, segment, status,
contract start, renewal date, owner by email, フリガナ), through the one account service with its
change log; and what a Japanese spreadsheet holds (¥ and 円 amounts, full-width digits, 80%,
2026/11/01 and 2026年11月1日, Excel date serials, 12.0, はい/いいえ), each read or refused with
a message naming row and column."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from hypothesis import given, settings, strategies as st
from sqlalchemy import func, select

from portal.core.validation import Checks, parse_date
from portal.models import Account, ChangeLog, CheckIn, LifecycleStatus, ReportSource, Role, Segment
from portal.audit.models import AuditAction, AuditEvent
from portal.accounts.models import AccountArr
from portal.reporting.imports import StalePlan, commit_import, read_file, plan_import
from tests import factories
from tests.readback import latest
from tests.test_api import Api, assert_problem
from tests.test_imports import JULY, check_in_count, commit, csv_file, preview, row, versions, xlsx_file
from tests.test_review_pages import counted

# --- the shared reader: each quirk parses ---------------------------------------------------------


@pytest.mark.parametrize("text, number", [
    ("¥1,200,000", 1_200_000), ("￥1,200,000", 1_200_000), ("1,200,000円", 1_200_000), ("１，２００，０００", 1_200_000),
    ("￥１２００円", 1200), ("-¥500", -500), ("¥-500", -500), ("▲500円", -500), ("△500", -500), ("12.0", 12), ("0.0", 0), ("１２．０", 12), (" 30 ", 30), (12.0, 12),
])
def test_a_whole_number_is_read_as_a_japanese_spreadsheet_writes_it(text, number):
    checks = Checks()
    assert checks.integer({"n": text}, "n", None) == number
    assert checks.errors == []


@pytest.mark.parametrize("text", ["12.5", "1.2万", "twelve", "1e5", "¥", "12,5.0.0", "--5", "¥¥5", "5円円"])
def test_a_number_that_is_not_whole_is_refused(text):
    checks = Checks()
    assert checks.integer({"n": text}, "n", 0) is None
    assert [(e.field, str(e.message)) for e in checks.errors] == [("n", "must be a whole number, 0 or more")]


@pytest.mark.parametrize("value, percent", [("80%", 80), ("８０％", 80), ("80 %", 80), ("80", 80), (0.8, 80), (0.29, 29), (0.07, 7), (80, 80), ("0%", 0)])
def test_a_percentage_is_read_with_or_without_its_sign(value, percent):
    checks = Checks()
    assert checks.percent({"p": value}, "p") == percent
    assert checks.errors == []


@pytest.mark.parametrize("value", ["120%", "-5%", "8O%", "half"])
def test_a_percentage_out_of_range_or_unreadable_is_refused(value):
    checks = Checks()
    assert checks.percent({"p": value}, "p") is None
    assert [str(e.message) for e in checks.errors] == ["must be a whole number from 0 to 100"]


@pytest.mark.parametrize("value", [
    "2026/11/01", "2026/11/1", "2026年11月1日", "２０２６年１１月１日", "2026-11-01", "2026.11.01", "2026/11/01 0:00:00",
    46327, 46327.0, "46327", "４６３２７", "46327.75",
])
def test_a_date_is_read_in_every_spreadsheet_form(value):
    assert parse_date(value) == date(2026, 11, 1)


@pytest.mark.parametrize("value", ["2026", 2026, "2026/13/01", "2026年2月30日", "11/01/2026", "next week", 99999999, True, "1e5"])
def test_a_date_that_cannot_be_read_says_how_to_write_one(value):
    checks = Checks()
    assert checks.date({"d": value}, "d") is None
    assert [str(e.message) for e in checks.errors] == ["must be a date like 2026/11/01"]


@pytest.mark.parametrize("word, meaning", [
    ("はい", True), ("いいえ", False), ("○", True), ("〇", True), ("×", False), ("済", True), ("未", False),
    ("有", True), ("無", False), ("あり", True), ("なし", False), ("済み", True), ("ＹＥＳ", True),
])
def test_japanese_yes_and_no_words_are_read(word, meaning):
    checks = Checks()
    assert checks.flag({"f": word}, "f") is meaning
    assert checks.errors == []


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.one_of(st.none(), st.text(max_size=20), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                 st.text(alphabet="0123456789０１２３４５６７８９,.%％¥￥円▲△年月日/- ", max_size=14)))
def test_the_readers_refuse_or_accept_anything_but_never_crash(value):
    checks = Checks()
    checks.integer({"n": value}, "n", 0)
    checks.percent({"p": value}, "p")
    checks.date({"d": value}, "d")
    checks.flag({"f": value}, "f")
    assert all(e.field and str(e.message) for e in checks.errors)


# --- account columns through the file --------------------------------------------------------------

ACCOUNT_CELLS = {
    "Seats": "３０", "ARR (yen)": "¥1,500,000", "Plan": "Enterprise", "Segment": "ハイタッチ",
    "Status (onboarding/active/churned)": "導入中", "Contract start": "2025/03/01", "Renewal date": "2027年3月31日",
    "Name reading (furigana)": "あるふぁ",
}


def account_row(owner: str = "", **cells) -> dict:
    return row(ACCOUNT_CELLS | {"Owner (email)": owner} | cells)


def changes_of(db, account) -> list[ChangeLog]:
    return latest(db).scalars(select(ChangeLog).where(ChangeLog.entity == "account", ChangeLog.entity_id == account.id)
                              .order_by(ChangeLog.id)).all()


def test_account_columns_update_the_account_with_its_change_log(db, browser, tenants):
    b = browser(tenants.user_a)
    logged_before = len(changes_of(db, tenants.account_a))
    page = preview(b, csv_file(account_row(owner=tenants.admin_a.email.upper())))

    assert page.errors == []
    assert page.actions == ["New check-in"]
    shown = page.account_changes[2]
    for change in ("Seats 20 → 30", "ARR ¥1,200,000 → ¥1,500,000", "Plan — → Enterprise", "Segment Low touch → High touch",
                   "Lifecycle status Adopted → Onboarding", "Name reading (furigana) — → アルファ", tenants.admin_a.email):
        assert change in shown
    assert "accounts updated" in page.html
    assert latest(db).get(Account, tenants.account_a.id).seats == 20  # a preview writes nothing

    flashes = commit(b, page)
    assert "1 accounts updated from the file's account columns." in flashes
    account = latest(db).get(Account, tenants.account_a.id)
    assert (account.seats, account.arr_jpy, account.plan, account.segment, account.status) == (
        30, 1_500_000, "Enterprise", Segment.HIGH_TOUCH, LifecycleStatus.ONBOARDING)
    assert (account.contract_start, account.renewal_date, account.owner_id, account.name_kana) == (
        date(2025, 3, 1), date(2027, 3, 31), tenants.admin_a.id, "アルファ")
    assert account.name == "Alpha Customer KK"  # the name column names the account; it does not rename it
    entries = changes_of(db, account)
    assert len(entries) == logged_before + 1
    assert entries[-1].source == ReportSource.FILE and entries[-1].user_id == tenants.user_a.id
    assert entries[-1].changes["seats"] == [20, 30]
    assert entries[-1].changes["owner"][1] == tenants.admin_a.display_name
    [july] = versions(db, tenants.account_a, JULY)
    assert july.source == ReportSource.FILE


def test_blank_account_cells_leave_the_account_as_it_is(db, browser, tenants):
    b = browser(tenants.user_a)
    commit(b, preview(b, csv_file(account_row(owner=tenants.user_a.email))))
    logged = len(changes_of(db, tenants.account_a))
    blank = {column: "" for column in [*ACCOUNT_CELLS, "Owner (email)"]}
    page = preview(b, csv_file(row(blank, NPS="7")))
    assert page.errors == [] and page.account_changes == {}
    commit(b, page)
    account = latest(db).get(Account, tenants.account_a.id)
    assert (account.seats, account.arr_jpy, account.owner_id, account.name_kana) == (30, 1_500_000, tenants.user_a.id, "アルファ")
    assert len(changes_of(db, account)) == logged


def test_the_same_account_file_twice_changes_the_account_once(db, browser, tenants):
    b = browser(tenants.user_a)
    content = csv_file(account_row())
    commit(b, preview(b, content))
    logged = len(changes_of(db, tenants.account_a))
    again = preview(b, content)
    assert again.actions == ["Unchanged, skipped"] and again.account_changes == {}
    commit(b, again)
    assert len(changes_of(db, tenants.account_a)) == logged


def test_account_columns_alone_change_the_account_when_the_check_in_is_unchanged(db, browser, tenants):
    b = browser(tenants.user_a)
    commit(b, preview(b, csv_file(row())))
    page = preview(b, csv_file(row({"Seats": "25"})))
    assert page.actions == ["Unchanged, skipped"]
    assert "Seats 20 → 25" in page.account_changes[2]
    assert "Import 1 row<" in page.html
    commit(b, page)
    assert latest(db).get(Account, tenants.account_a.id).seats == 25
    assert len(versions(db, tenants.account_a, JULY)) == 1


def test_excel_date_cells_and_serials_are_read_in_account_columns(db, browser, tenants):
    b = browser(tenants.user_a)
    headers = ["Reference", "Period", "Sentiment (green/yellow/red)", "Contract start", "Renewal date", "Seats", "ARR (yen)"]
    page = preview(b, xlsx_file(headers, ["A-001", "2026-07", "緑", date(2025, 3, 1), 46327, 30.0, "1,200,000円"]), "accounts.xlsx")
    assert page.errors == []
    commit(b, page)
    account = latest(db).get(Account, tenants.account_a.id)
    assert (account.contract_start, account.renewal_date, account.seats, account.arr_jpy) == (
        date(2025, 3, 1), date(2026, 11, 1), 30, 1_200_000)


BAD_ACCOUNT_CELLS = [
    pytest.param({"Contract start": "2025/13/01"}, "Contract start", "Contract start must be a date like 2026/11/01", id="bad-date"),
    pytest.param({"Renewal date": "2024/01/01"}, "Renewal date", "must not be before the contract start", id="renewal-before-start"),
    pytest.param({"Seats": "12.5"}, "Seats", "Seats must be a whole number from 0 to 1000000", id="fractional-seats"),
    pytest.param({"ARR (yen)": "1.2万円"}, "ARR (yen)", "must be a whole number from 0 to", id="arr-in-man"),
    pytest.param({"Status (onboarding/active/churned)": "paused"}, "Status (onboarding/active/churned)",
                 "must be one of: onboarding (導入中), active (活用中), churned (解約)", id="bad-status"),
    pytest.param({"Status (onboarding/active/churned)": "解約", "Churn reason": "Budget"}, "Churned on",
                 "is required for a churned account", id="churned-without-date"),
    pytest.param({"Owner (email)": "nobody@example.com"}, "Owner (email)",
                 "must be the email of an active user of the partner that serves this customer", id="unknown-owner"),
    pytest.param({"Segment": "enterprise"}, "Segment", "must be one of: high_touch (ハイタッチ), low_touch (ロータッチ), tech_touch (テックタッチ)", id="bad-segment"),
]


@pytest.mark.parametrize("cells, column, message", BAD_ACCOUNT_CELLS)
def test_a_bad_account_cell_is_reported_by_row_and_column_and_nothing_is_written(db, browser, tenants, cells, column, message):
    b = browser(tenants.user_a)
    logged, reports = len(changes_of(db, tenants.account_a)), check_in_count(db)
    # Row 2 changes the account well; row 3 (another period) has the bad cell.
    columns = {column: "" for column in [*ACCOUNT_CELLS, "Owner (email)", "Churned on", "Churn reason"]} | {"Seats": "30"}
    page = preview(b, csv_file(row(columns, Period="2026-04"), row(columns | cells)))
    assert [(e[0], e[1]) for e in page.errors] == [(3, column)]
    assert message in page.errors[0][2]
    assert not page.can_commit
    commit(b, page)
    assert latest(db).get(Account, tenants.account_a.id).seats == 20
    assert (len(changes_of(db, tenants.account_a)), check_in_count(db)) == (logged, reports)


def test_a_row_with_a_bad_account_cell_still_has_its_check_in_checked(db, browser, tenants):
    """One upload lists every error of a row: the account's and the check-in's alike."""
    page = preview(browser(tenants.user_a), csv_file(row({"Seats": "-3", "NPS": "11", "Active users": "many"})))
    assert sorted((e[0], e[1]) for e in page.errors) == [(2, "Active users"), (2, "NPS"), (2, "Seats")]
    assert not page.can_commit


def test_two_rows_of_one_account_must_not_disagree(db, browser, tenants):
    page = preview(browser(tenants.user_a), csv_file(row({"Seats": "30", "Period": "2026-04"}), row({"Seats": "３０"}),
                                                     row({"Seats": "40", "Period": "2026-01"})))
    assert [(e[0], e[1]) for e in page.errors] == [(4, "Seats")]
    assert "differs from row 2" in page.errors[0][2]


def test_a_reseller_cannot_make_another_partners_user_or_an_inactive_user_the_owner(db, browser, tenants):
    gone = factories.user(db, Role.PARTNER_USER, tenants.partner_a)
    gone.active = False
    db.commit()
    b = browser(tenants.user_a)
    for email in (tenants.admin_b.email, tenants.user_b.email, gone.email):
        page = preview(b, csv_file(row({"Owner (email)": email})))
        assert [(e[0], e[1], e[3]) for e in page.errors] == [(2, "Owner (email)", email)]
        commit(b, page)
    assert latest(db).get(Account, tenants.account_a.id).owner_id is None


def test_a_file_cannot_touch_another_partners_account_through_its_account_columns(db, browser, tenants):
    page = preview(browser(tenants.user_a), csv_file(row({"Reference": "B-001", "Seats": "999", "Owner (email)": tenants.user_a.email})))
    assert [(e[0], e[1]) for e in page.errors] == [(2, "Reference")]
    assert latest(db).get(Account, tenants.account_b.id).seats != 999


def test_a_new_account_takes_its_account_columns_when_created(db, browser, tenants):
    tenants.partner_a.imports_create_accounts = True
    db.commit()
    b = browser(tenants.user_a)
    page = preview(b, csv_file(row({"Reference": "A-NEW", "Customer name": "新規顧客株式会社", "Segment": "テックタッチ", "Seats": "50",
                                    "Owner (email)": tenants.user_a.email, "Name reading (furigana)": "しんきこきゃく",
                                    "Contract start": "2025年4月1日"})))
    assert page.errors == [] and page.actions == ["New account and check-in"]
    assert "Seats — → 50" in page.account_changes[2]
    commit(b, page)
    account = latest(db).scalar(select(Account).where(Account.reference == "A-NEW"))
    assert (account.segment, account.seats, account.owner_id, account.name_kana, account.status) == (
        Segment.TECH_TOUCH, 50, tenants.user_a.id, "シンキコキャク", LifecycleStatus.ONBOARDING)


def test_an_error_in_japanese_names_the_column_in_good_japanese(db, browser, tenants):
    tenants.user_a.language = "ja"
    db.commit()
    b = browser(tenants.user_a)
    page = preview(b, csv_file({"管理番号": "A-001", "対象期間": "2026-07", "所感（緑/黄/赤）": "緑", "契約開始日": "2025年13月1日",
                                "契約席数": "３０.５", "担当者（メールアドレス）": tenants.user_b.email}))
    page_churned = preview(b, csv_file({"管理番号": "A-001", "対象期間": "2026-07", "所感（緑/黄/赤）": "緑", "ステータス": "解約済み",
                                        "解約理由": "予算削減"}))
    assert [(e[0], e[1], e[2]) for e in page_churned.errors] == [(2, "解約日", "「解約日」列：解約済みの顧客アカウントでは必須です")]
    problems = {e[1]: e[2] for e in page.errors}
    assert problems["契約開始日"] == "「契約開始日」列：日付として読めません（例：2026/11/01）"
    assert problems["契約席数"] == "「契約席数」列：0〜1000000の整数で入力してください"
    assert problems["担当者（メールアドレス）"].startswith("「担当者（メールアドレス）」列：")
    assert all(e[0] == 2 for e in page.errors)


def test_a_file_changing_accounts_costs_as_many_queries_for_many_rows_as_for_few_to_plan_and_to_commit(app, db, tenants):
    plans, commits = [], []
    for n in (3, 30):
        rows, accounts = [], []
        for _ in range(n):
            account = factories.account(db, tenants.partner_a)
            factories.check_in(db, account)
            accounts.append(account)
            rows.append(row({"Reference": account.reference, "Seats": "25", "ARR (yen)": "¥1,000,000",
                             "Owner (email)": tenants.user_a.email, "Contract start": "2025/04/01"}))
        db.commit()
        sheet = read_file(csv_file(*rows), "accounts.csv")
        with counted(app) as statements:
            plan = plan_import(db, tenants.partner_a, sheet, date(2026, 11, 20))
        assert plan.ok and plan.accounts_updated() == n, plan.errors[:3]
        plans.append(len(statements))
        db.rollback()
        with counted(app) as statements:
            commit_import(db, tenants.partner_a, sheet, date(2026, 11, 20), tenants.user_a, plan=plan)
        commits.append(len(statements))
        for account in accounts:  # each account changed, with its change log entry and audit event
            assert latest(db).get(Account, account.id).seats == 25
            [entry] = [e for e in changes_of(db, account) if e.source == ReportSource.FILE]
            assert entry.changes["seats"][1] == 25 and entry.changes["owner"][1] == tenants.user_a.display_name
            assert latest(db).scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.target_type == "accounts", AuditEvent.target_id == account.id,
                AuditEvent.action == AuditAction.ACCOUNT_UPDATED)) == 1
    assert plans[0] == plans[1], f"planning: {plans[0]} queries for 3 rows, {plans[1]} for 30"
    assert commits[0] == commits[1], f"committing: {commits[0]} queries for 3 rows, {commits[1]} for 30"


def test_a_file_creating_accounts_costs_as_many_queries_for_many_as_for_few_and_logs_each_as_the_form_would(app, db, tenants):
    tenants.partner_a.imports_create_accounts = True
    db.commit()
    commits = []
    for n in (3, 30):
        rows = []
        for i in range(n):
            new = {"Reference": f"NEW{n}-{i:03d}", "Customer name": f"Newco {n}-{i}", "Segment": "low_touch",
                   "ARR (yen)": "¥1,200,000", "Contract start": "2025/04/01"}
            # Half name their owner; the others get the partner admin. A second row reports another period.
            rows.append(row(new, **{"Owner (email)": tenants.user_a.email if i % 2 else ""}))
            rows.append(row({**new, "Period": "2026-04", "ARR (yen)": "", "Contract start": "", "Owner (email)": ""}))
        sheet = read_file(csv_file(*rows), "new.csv")
        plan = plan_import(db, tenants.partner_a, sheet, date(2026, 11, 20))
        assert plan.ok and plan.count("create_account") == n, plan.errors[:3]
        db.rollback()
        with counted(app) as statements:
            commit_import(db, tenants.partner_a, sheet, date(2026, 11, 20), tenants.user_a, plan=plan)
        commits.append(len(statements))
        for i in range(n):
            account = latest(db).scalar(select(Account).where(Account.reference == f"NEW{n}-{i:03d}"))
            assert (account.partner_id, account.name, account.segment, account.status, account.arr_jpy) == (
                tenants.partner_a.id, f"Newco {n}-{i}", Segment.LOW_TOUCH, LifecycleStatus.ONBOARDING, 1_200_000)
            assert account.owner_id == (tenants.user_a.id if i % 2 else tenants.admin_a.id)
            [entry] = changes_of(db, account)
            assert (entry.action, entry.source, entry.user_id) == ("create", ReportSource.FILE, tenants.user_a.id)
            assert entry.changes["name"] == [None, f"Newco {n}-{i}"] and entry.changes["arr_jpy"] == [None, 1_200_000]
            assert latest(db).scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.target_type == "accounts", AuditEvent.target_id == account.id,
                AuditEvent.action == AuditAction.ACCOUNT_CREATED)) == 1
            assert latest(db).scalars(select(AccountArr.arr_jpy).where(AccountArr.account_id == account.id)).all() == [1_200_000]
            assert len(latest(db).scalars(select(CheckIn.id).where(CheckIn.account_id == account.id)).all()) == 2
    assert commits[0] == commits[1], f"committing: {commits[0]} queries for 3 new accounts, {commits[1]} for 30"


def test_a_file_whose_new_reference_was_taken_meanwhile_writes_nothing(app, db, tenants):
    tenants.partner_a.imports_create_accounts = True
    db.commit()
    sheet = read_file(csv_file(row({"Reference": "LATE-1", "Customer name": "Late KK", "Segment": "low_touch"}),
                               row({"Reference": "LATE-2", "Customer name": "Later KK", "Segment": "low_touch"})), "new.csv")
    plan = plan_import(db, tenants.partner_a, sheet, date(2026, 11, 20))
    assert plan.ok and plan.count("create_account") == 2
    db.rollback()
    factories.account(db, tenants.partner_a, reference="LATE-2")  # a colleague adds it on the form meanwhile
    db.commit()
    before = check_in_count(db)
    with pytest.raises(StalePlan):
        commit_import(db, tenants.partner_a, sheet, date(2026, 11, 20), tenants.user_a, plan=plan)
    assert latest(db).scalar(select(Account.id).where(Account.reference == "LATE-1")) is None
    assert check_in_count(db) == before


# --- account fields through the API ------------------------------------------------------------------


@pytest.fixture
def api(client, db, tenants):
    return Api(client, tenants.secret_a)


def test_the_api_sets_the_owner_by_email_and_the_reading_with_the_change_log(api, db, tenants):
    response = api.put("/accounts/A-001", {"owner_email": tenants.user_a.email, "name_kana": "あるふぁ", "seats": 40,
                                           "renewal_date": "2027/03/31"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["owner_email"], body["name_kana"], body["seats"], body["renewal_date"]) == (
        tenants.user_a.email, "アルファ", 40, "2027-03-31")
    assert api.get("/accounts").get_json()["items"][0]["owner_email"] == tenants.user_a.email
    entry = changes_of(db, tenants.account_a)[-1]
    assert entry.source == ReportSource.API and entry.changes["owner"] == [None, tenants.user_a.display_name]

    cleared = api.put("/accounts/A-001", {"owner_email": None})
    assert cleared.status_code == 200 and cleared.get_json()["owner_email"] is None


@pytest.mark.parametrize("owner", ["b", "nobody@example.com", 42])
def test_the_api_refuses_an_owner_outside_the_partner_with_a_pointer(api, db, tenants, owner):
    email = tenants.user_b.email if owner == "b" else owner
    problem = assert_problem(api.put("/accounts/A-001", {"owner_email": email, "seats": 5}), 422, "owner_email")
    assert [e["pointer"] for e in problem["errors"]] == ["/owner_email"]
    account = latest(db).get(Account, tenants.account_a.id)
    assert (account.owner_id, account.seats) == (None, 20)


def test_the_openapi_document_describes_the_account_fields(api):
    document = api.get("/openapi.json").get_json()
    for schema in ("Account", "AccountInput"):
        properties = document["components"]["schemas"][schema]["properties"]
        assert {"owner_email", "name_kana", "seats", "arr_jpy", "status", "contract_start", "renewal_date"} <= set(properties)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_template_holds_each_accounts_values_and_reuploads_without_changing_them(db, browser, tenants, fmt):
    b = browser(tenants.user_a)
    account = tenants.account_a
    account.owner_id, account.name_kana, account.plan = tenants.user_a.id, "アルファ", "Standard"
    db.commit()
    content = b.get(f"/import/template.{fmt}?lang=ja").get_data()
    if fmt == "csv":
        records = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    else:
        records = [["" if v is None else v for v in r] for r in load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True)]
    cells = dict(zip(records[0], records[1], strict=False))  # a row stops at its last filled cell
    assert (cells["フリガナ"], cells["担当者（メールアドレス）"], cells["プラン"], str(cells["ライセンス数"])) == (
        "アルファ", tenants.user_a.email, "Standard", "20")
    assert str(cells["契約開始日"]).startswith("2025-04-01")
    records[1][records[0].index("所感（緑/黄/赤）")] = "緑"
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out).writerows(records)
        upload_content = out.getvalue().encode("utf-8")
    else:
        upload_content = xlsx_file(*records)
    page = preview(b, upload_content, f"filled.{fmt}")
    assert page.errors == [] and page.account_changes == {}


def test_the_template_as_downloaded_uploads_without_errors_and_a_seats_change_alone_updates_the_account(db, browser, tenants):
    """A file-only reseller brings seats up to date without reporting a check-in: a row with only
    account columns filled in keeps the account current and asks for no sentiment."""
    b = browser(tenants.user_a)
    records = list(csv.reader(io.StringIO(b.get("/import/template.csv").get_data().decode("utf-8-sig"))))
    as_downloaded = preview(b, "\n".join(",".join(f'"{c}"' for c in r) for r in records).encode("utf-8"), "template.csv")
    assert as_downloaded.errors == [] and set(as_downloaded.actions) == {"Account details only, no check-in"}
    assert "Nothing to import: every row matches what the portal already holds." in as_downloaded.html
    assert as_downloaded.account_changes == {}

    seats = records[0].index("Seats")
    row_of_a = next(i for i, r in enumerate(records) if r and r[0] == tenants.account_a.reference)
    records[row_of_a][seats] = "25"
    page = preview(b, "\n".join(",".join(f'"{c}"' for c in r) for r in records).encode("utf-8"), "template.csv")
    assert page.errors == [] and "Seats 20 → 25" in page.account_changes[row_of_a + 1]
    checked_in_before = latest(db).scalar(select(func.count()).select_from(CheckIn))
    commit(b, page)
    assert latest(db).get(Account, tenants.account_a.id).seats == 25
    assert latest(db).scalar(select(func.count()).select_from(CheckIn)) == checked_in_before


def test_a_churn_in_the_account_columns_records_its_churn_outcome(db, browser, tenants):
    # One churn path: a file's status column churns the account as the outcome form does, outcome and all.
    from portal.models import ChurnReason, OutcomeKind, RenewalOutcome

    b = browser(tenants.user_a)
    page = preview(b, csv_file(row({"Status (onboarding/active/churned)": "解約", "Churned on": "2026/06/30",
                                    "Churn reason": "Switched to a competitor"})))
    assert page.errors == []
    commit(b, page)
    [outcome] = latest(db).scalars(select(RenewalOutcome).where(RenewalOutcome.account_id == tenants.account_a.id)).all()
    assert (outcome.kind, outcome.decided_on, outcome.term_end, outcome.note) == (
        OutcomeKind.CHURNED, date(2026, 6, 30), date(2026, 4, 1), "Switched to a competitor")
    assert latest(db).get(ChurnReason, outcome.churn_reason_id).code == "competitor"
    assert latest(db).get(Account, tenants.account_a.id).status == LifecycleStatus.CHURNED
