"""The accounts list that answers "who needs me?": columns, sorting (Japanese names by their
reading), filters, scoping, the "my accounts" start for reseller staff, the CSV export, the
query count, and the form's reading and owner fields."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.models import Account, AccountScore, AggregationDay, Band, ChangeLog, LifecycleStatus, Role, Segment
from portal.core import fragments
from tests import factories
from tests.pages import parse
from tests.readback import latest
from tests.test_review_pages import counted

DAY = date(2026, 11, 23)


@pytest.fixture(autouse=True)
def _day(today_is):
    today_is(DAY)


def scored(db, account, score: int | None, band: Band | None, day: date = DAY) -> None:
    """The account's health on `day`, as the aggregation would have stored it."""
    if db.get(AggregationDay, day) is None:
        db.add(AggregationDay(day=day, status="done", claimed_at=datetime(day.year, day.month, day.day), claim_token="test"))
    db.add(AccountScore(day=day, account_id=account.id, partner_id=account.partner_id, model_version=1, onboarding_phase=False,
                        arr_jpy=account.arr_jpy, renewal_date=account.renewal_date, score=score, band=band))
    db.commit()


def rows(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    return parse(response).rows


def test_japanese_names_sort_by_their_reading_typed_in_any_kana(db, browser, tenants):
    b = browser(tenants.admin_a)
    for n, (name, reading) in enumerate((("山田商事", "ヤマダショウジ"), ("安藤工業", "あんどうこうぎょう"), ("伊藤製作所", "ｲﾄｳｾｲｻｸｼｮ"))):
        assert b.post("/accounts/new", account_form(reference=f"J-{n}", name=name, name_kana=reading)).status_code == 302
    page = parse(b.get("/accounts"))
    assert page.rows[1:] == ["安藤工業", "伊藤製作所", "山田商事"]  # Latin names first, then by reading
    # Shown beside the name with the reference, folded to katakana.
    assert page.asides[1:] == ["アンドウコウギョウ J-1", "イトウセイサクショ J-2", "ヤマダショウジ J-0"]
    assert rows(b.get("/accounts?sort=name&order=desc"))[:3] == ["山田商事", "伊藤製作所", "安藤工業"]
    # The search finds a reading however it is typed.
    assert rows(b.get("/accounts?q=やまだ")) == ["山田商事"]
    assert rows(b.get("/accounts?q=A-001")) == ["Alpha Customer KK"]
    assert rows(b.get("/accounts?q=%25")) == []  # a LIKE wildcard is a character to search for


def test_the_columns_show_band_score_change_check_in_next_due_owner_and_renewal(db, browser, tenants):
    tenants.account_a.owner_id = tenants.user_a.id
    tenants.account_a.renewal_date = DAY + timedelta(days=40)
    db.commit()
    scored(db, tenants.account_a, 72, Band.YELLOW, DAY - timedelta(days=35))
    scored(db, tenants.account_a, 58, Band.RED)
    new = factories.account(db, tenants.partner_a, name="New Customer KK")
    scored(db, new, None, None)
    html = browser(tenants.admin_a).get("/accounts").get_data(as_text=True)
    alpha = html.split("Alpha Customer KK")[1].split("</tr>")[0]
    assert "At risk" in alpha and ">58<" in alpha and "−14" in alpha  # a score change, written as every change is
    assert tenants.user_a.display_name in alpha and "Jan 2, 2027" in alpha
    assert 'class="sparkline"' in alpha
    fresh = html.split("New Customer KK")[1].split("</tr>")[0]
    assert "Not enough data" in fresh and "Nobody yet" in fresh and "Never" in fresh
    assert 'aria-sort="ascending"' in html and '<th scope="col"' in html


def test_every_column_sorts_both_ways_with_empty_values_last(db, browser, tenants):
    a2, a3 = factories.account(db, tenants.partner_a, name="Second KK"), factories.account(db, tenants.partner_a, name="Third KK")
    scored(db, tenants.account_a, 90, Band.GREEN)
    scored(db, a2, 30, Band.RED)
    b = browser(tenants.admin_a)
    assert rows(b.get("/accounts?sort=score")) == ["Second KK", "Alpha Customer KK", "Third KK"]
    assert rows(b.get("/accounts?sort=score&order=desc")) == ["Alpha Customer KK", "Second KK", "Third KK"]
    assert rows(b.get("/accounts?sort=band")) == ["Second KK", "Alpha Customer KK", "Third KK"]
    for key in ("partner", "trend", "last_check_in", "next_due", "owner", "renewal", "reference", "arr"):
        for order in ("asc", "desc"):
            assert sorted(rows(b.get(f"/accounts?sort={key}&order={order}"))) == sorted([a.name for a in (tenants.account_a, a2, a3)])


def test_the_filter_form_sorts_too_for_phones_whose_cards_have_no_column_headings(db, browser, tenants):
    a2 = factories.account(db, tenants.partner_a, name="Second KK")
    scored(db, tenants.account_a, 90, Band.GREEN)
    scored(db, a2, 30, Band.RED)
    b = browser(tenants.admin_a)
    page = b.get("/accounts?sort=score&order=desc").get_data(as_text=True)
    form = parse(page)
    assert (form.value("sort"), form.value("order")) == ("score", "desc")  # the form says how the list is sorted
    offered = re.findall(r'<option value="([a-z_]+)"', page.split('id="sort"')[1].split("</select>")[0])
    headings = re.findall(r"[?&]sort=([a-z_]+)", page.split("<thead>")[1].split("</thead>")[0])
    assert offered == headings  # the same sorts as the headings, in their order
    assert rows(b.get("/accounts?" + "&".join(f"{k}={v}" for k, v in (("sort", "score"), ("order", "asc"))))) == ["Second KK", "Alpha Customer KK"]


def test_filters_by_band_owner_overdue_renewal_segment_and_status(db, browser, tenants):
    factories.account(db, tenants.partner_a, name="Mine KK", owner_id=tenants.user_a.id, renewal_date=DAY + timedelta(days=60))
    red = factories.account(db, tenants.partner_a, name="Red KK", segment=Segment.HIGH_TOUCH)
    # Reported every period it could owe: nothing overdue.
    up_to_date = factories.account(db, tenants.partner_a, name="Up To Date KK", segment=Segment.HIGH_TOUCH)
    for start in (date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)):
        factories.check_in(db, up_to_date, period_start=start)
    scored(db, red, 20, Band.RED)
    scored(db, tenants.account_a, 80, Band.GREEN)
    b = browser(tenants.admin_a)
    assert rows(b.get("/accounts?band=red")) == ["Red KK"]
    assert rows(b.get("/accounts?band=none")) == ["Mine KK", "Up To Date KK"]
    assert rows(b.get("/accounts?owner=none")) == ["Alpha Customer KK", "Red KK", "Up To Date KK"]
    assert rows(b.get(f"/accounts?owner={tenants.user_a.id}")) == ["Mine KK"]
    assert rows(b.get("/accounts?renewing=1")) == ["Mine KK"]
    assert rows(b.get("/accounts?segment=high_touch")) == ["Red KK", "Up To Date KK"]
    assert "Up To Date KK" not in rows(b.get("/accounts?overdue=1"))
    assert "Red KK" in rows(b.get("/accounts?overdue=1"))  # monthly, never reported since 2025
    factories.account(db, tenants.partner_a, name="Gone KK", status=LifecycleStatus.CHURNED, churned_on=date(2026, 1, 1),
                      churn_reason="Budget")
    assert rows(b.get("/accounts?status=churned")) == ["Gone KK"]
    assert "Gone KK" not in rows(b.get("/accounts?overdue=1")) + rows(b.get("/accounts?band=none"))


def test_the_next_due_date_follows_the_cadence(db, browser, tenants):
    monthly = factories.account(db, tenants.partner_a, name="Monthly KK", segment=Segment.HIGH_TOUCH)
    html = browser(tenants.admin_a).get("/accounts?sort=next_due").get_data(as_text=True)
    # On 23 November, with monthly reports and 10 grace days, October was due on 10 November.
    row = html.split("Monthly KK")[1].split("</tr>")[0]
    assert "Nov 10, 2026" in row and "Overdue" in row
    for start in (date(2026, 10, 1), date(2026, 11, 1)):
        factories.check_in(db, monthly, period_start=start)
    row = browser(tenants.admin_a).get("/accounts").get_data(as_text=True).split("Monthly KK")[1].split("</tr>")[0]
    assert "Jan 10, 2027" in row and "Overdue" not in row  # November's is in; December's is due next


def test_the_next_due_date_follows_a_new_cadence_start_day_and_day_at_once(db, browser, tenants, today_is):
    """The next-due expression is built once per process for its inputs (cadence._next_due):
    each of them changes the date shown on the next request (fails with one left out of the key)."""
    from portal.models import ReportingCadence, ReportingSettings

    factories.account(db, tenants.partner_a, name="Monthly KK", segment=Segment.HIGH_TOUCH, contract_start=date(2024, 1, 1))

    def due() -> str:
        row = browser(tenants.admin_a).get("/accounts").get_data(as_text=True).split("Monthly KK")[1].split("</tr>")[0]
        return re.findall(r"[A-Z][a-z]{2} \d+, \d{4}", row)[-2]  # next due, then the renewal date

    assert due() == "Nov 10, 2026"  # October's, overdue since 10 November
    db.merge(ReportingCadence(segment=Segment.HIGH_TOUCH, months=1, grace_days=20))
    db.commit()
    assert due() == "Nov 20, 2026"  # the grace days
    db.merge(ReportingSettings(id=1, overdue_from=date(2026, 11, 1)))
    db.commit()
    assert due() == "Dec 20, 2026"  # October is before the vendor's start day: November's next
    db.merge(ReportingSettings(id=1, overdue_from=None))
    db.commit()
    assert due() == "Nov 20, 2026"
    today_is(date(2026, 12, 25))
    assert due() == "Dec 20, 2026"  # a month on: November's is the one overdue now


def test_a_kept_row_follows_every_value_it_shows_the_viewer_the_language_and_the_day(db, browser, tenants, today_is):
    """Rows are kept rendered per process (accounts.views._rows) under everything they show: each
    change below shows on the next request (fails with any of them left out of the key)."""
    account = factories.account(db, tenants.partner_a, name="Kept Row KK", segment=Segment.HIGH_TOUCH,
                                contract_start=date(2024, 1, 1), renewal_date=date(2027, 3, 31))

    def row(user=tenants.admin_a, url="/accounts") -> str:
        html = browser(user).get(url).get_data(as_text=True)
        return html.split(f'href="/accounts/{account.id}"')[1].split("</tr>")[0]

    first = row()
    assert "Kept Row KK" in first and "Overdue" in first and "Nobody yet" in first and "Mar 31, 2027" in first
    assert row() == first  # kept
    for field, value, shown in (("name", "Renamed Row KK", "Renamed Row KK"), ("name_kana", "リネーム", "リネーム"),
                                ("reference", "REF-NEW", "REF-NEW"), ("owner_id", tenants.user_a.id, tenants.user_a.display_name),
                                ("renewal_date", date(2027, 4, 30), "Apr 30, 2027")):
        setattr(account, field, value)
        db.commit()
        assert shown in row(), field
    scored(db, account, 42, Band.RED)
    assert "42" in row() and "band--red" in row()
    factories.check_in(db, account, period_start=date(2026, 7, 1))  # an old period: the next due date stays
    assert "Never" not in row()
    factories.check_in(db, account, period_start=date(2026, 10, 1))
    factories.check_in(db, account, period_start=date(2026, 11, 1))
    assert "Overdue" not in row()  # a check-in shows at once
    assert tenants.partner_a.name in row(tenants.vendor_admin, f"/accounts?partner_id={tenants.partner_a.id}")
    assert tenants.partner_a.name not in row()  # the reseller's rows have no partner column
    tenants.admin_a.language = "ja"
    db.commit()
    japanese = row()
    assert 'data-label="担当者"' in japanese and "2027/04/30" in japanese
    tenants.admin_a.language = "en"
    db.commit()
    today_is(date(2027, 2, 1))
    assert "Overdue" in row()  # December's report is overdue by then


def test_a_reseller_sees_only_its_own_accounts_whatever_the_filters_say(db, browser, tenants):
    tenants.account_b.owner_id = tenants.user_b.id
    db.commit()
    b = browser(tenants.admin_a)
    for url in ("/accounts", f"/accounts?partner_id={tenants.partner_b.id}", f"/accounts?owner={tenants.user_b.id}",
                "/accounts?q=Bravo", "/accounts?sort=partner"):
        assert rows(b.get(url)) in ([], ["Alpha Customer KK"])
        assert "Bravo" not in b.get(url.replace("/accounts", "/accounts.csv")).get_data().decode("utf-8-sig")
    vendor = browser(tenants.vendor_admin)
    assert rows(vendor.get(f"/accounts?partner_id={tenants.partner_b.id}")) == ["Bravo Secret Customer"]
    assert rows(browser(tenants.partner_manager).get("/accounts?mine=1")) == ["Alpha Customer KK"]


def test_reseller_staff_start_on_their_own_accounts_when_they_have_some(db, browser, tenants):
    b = browser(tenants.user_a)
    assert rows(b.get("/accounts")) == ["Alpha Customer KK"]  # owns none yet: the company's list
    factories.account(db, tenants.partner_a, name="Mine KK", owner_id=tenants.user_a.id)
    assert rows(b.get("/accounts")) == ["Mine KK"]
    assert "Show everyone" in b.get("/accounts").get_data(as_text=True)
    assert rows(b.get("/accounts?owner=any")) == ["Alpha Customer KK", "Mine KK"]
    assert rows(browser(tenants.admin_a).get("/accounts")) == ["Alpha Customer KK", "Mine KK"]  # the admin sees all


@pytest.mark.parametrize("url, parameter", [("/accounts?band=purple", "band"), ("/accounts?owner=boss", "owner"),
                                            ("/accounts.csv?segment=big", "segment")])
def test_a_filter_that_names_nothing_is_refused_naming_it(browser, tenants, url, parameter):
    response = browser(tenants.admin_a).get(url)
    assert response.status_code == 400
    assert parameter in response.get_data(as_text=True)


def test_the_export_holds_the_filtered_list_in_its_order(db, browser, tenants):
    factories.account(db, tenants.partner_a, name="=HYPERLINK(\"x\")", name_kana="ゼット", owner_id=tenants.user_a.id)
    scored(db, tenants.account_a, 64, Band.YELLOW)
    vendor = browser(tenants.vendor_admin)
    table = list(csv.reader(io.StringIO(vendor.get("/accounts.csv?sort=name&order=desc").get_data().decode("utf-8-sig"))))
    header = table[0]
    assert header[:4] == ["Reference", "Customer", "Name reading (furigana)", "Partner"]
    names = [r[1] for r in table[1:]]
    assert names == ["'=HYPERLINK(\"x\")", "Bravo Secret Customer", "Alpha Customer KK"]
    alpha = dict(zip(header, table[3], strict=True))
    assert (alpha["Health band"], alpha["Health score"]) == ("Needs attention", "64")
    only_mine = list(csv.reader(io.StringIO(browser(tenants.user_a).get("/accounts.csv").get_data().decode("utf-8-sig"))))
    assert [r[1] for r in only_mine[1:]] == ["'=HYPERLINK(\"x\")"]


def grow(db, tenants, n: int) -> None:
    """n more accounts per partner, each scored twice, reported and owned."""
    for partner, owner in ((tenants.partner_a, tenants.user_a), (tenants.partner_b, tenants.user_b)):
        for i in range(n):
            account = factories.account(db, partner, name_kana=f"カ{i:04d}", owner_id=owner.id if i % 2 else None)
            factories.check_in(db, account)
            scored(db, account, 40 + i % 50, Band.YELLOW, DAY - timedelta(days=30))
            scored(db, account, 30 + i % 60, Band.RED if i % 3 else None)


@pytest.mark.parametrize("who, url", [
    ("vendor_admin", "/accounts?sort=trend"), ("vendor_admin", "/accounts?overdue=1&sort=next_due&band=red"),
    ("user_a", "/accounts?owner=any&sort=last_check_in"), ("user_a", "/accounts"), ("admin_a", "/accounts.csv?sort=owner"),
])
def test_the_list_issues_as_many_queries_for_10_accounts_as_for_many(app, db, browser, tenants, who, url):
    person = browser(getattr(tenants, who))
    counts = []
    for n in (10, 60):
        grow(db, tenants, n)
        person.get(url)
        fragments.pages(app).clear()  # the page itself rendered again, not served kept
        with counted(app) as statements:
            assert person.get(url).status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], f"{url}: {counts[0]} queries with 10 accounts, {counts[1]} with many"


def account_form(**overrides) -> dict:
    data = {"reference": "CRM-9", "name": "なでしこ食品株式会社", "name_kana": "なでしこしょくひん", "segment": "low_touch",
            "seats": "10", "arr_jpy": "0", "status": "active", "owner_id": ""}
    data.update(overrides)
    return data


def test_the_form_keeps_the_reading_in_katakana_and_an_owner_of_the_partner(db, browser, tenants):
    b = browser(tenants.admin_a)
    form_page = b.get("/accounts/new").get_data(as_text=True)
    assert tenants.user_a.display_name in form_page and tenants.user_b.display_name not in form_page
    response = b.post("/accounts/new", account_form(owner_id=str(tenants.user_a.id)))
    assert response.status_code == 302
    account = latest(db).scalar(select(Account).where(Account.reference == "CRM-9"))
    assert (account.name_kana, account.owner_id) == ("ナデシコショクヒン", tenants.user_a.id)
    assert parse(b.get(f"/accounts/{account.id}/edit")).value("owner_id") == str(tenants.user_a.id)
    detail = b.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert "ナデシコショクヒン" in detail and f"Owner: {tenants.user_a.display_name}" in detail

    refused = b.post(f"/accounts/{account.id}/edit", account_form(owner_id=str(tenants.user_b.id)))
    assert refused.status_code == 400
    assert "active user of the partner" in parse(refused).errors["owner_id"]
    assert latest(db).get(Account, account.id).owner_id == tenants.user_a.id

    assert b.post(f"/accounts/{account.id}/edit", account_form(owner_id=str(tenants.admin_a.id))).status_code == 302
    entry = latest(db).scalars(select(ChangeLog).where(ChangeLog.account_id == account.id).order_by(ChangeLog.id.desc())).first()
    assert entry.changes["owner"] == [tenants.user_a.display_name, tenants.admin_a.display_name]


def test_a_vendor_picks_the_owner_among_the_partners_staff(db, browser, tenants):
    b = browser(tenants.vendor_admin)
    page = b.get("/accounts/new").get_data(as_text=True)
    assert f'<optgroup label="{tenants.partner_a.name}">' in page
    response = b.post("/accounts/new", account_form(partner_id=str(tenants.partner_b.id), owner_id=str(tenants.user_a.id)))
    assert response.status_code == 400 and "owner_id" in parse(response).errors
    inactive = factories.user(db, Role.PARTNER_USER, tenants.partner_b, active=False)
    response = b.post("/accounts/new", account_form(partner_id=str(tenants.partner_b.id), owner_id=str(inactive.id)))
    assert response.status_code == 400
    response = b.post("/accounts/new", account_form(partner_id=str(tenants.partner_b.id), owner_id=str(tenants.user_b.id)))
    assert response.status_code == 302


@pytest.mark.parametrize("sort", ["name", "band", "arr", "renewal"])
def test_walking_every_page_shows_every_visible_account_once_even_with_ties(app, db, browser, tenants, sort):
    # Same names, bands and ARR: only the id breaks the ties, so a page must not repeat or skip one.
    app.config["PORTAL"].page_size = 3
    for n in range(8):
        account = factories.account(db, tenants.partner_a, name="Same Name KK", reference=f"TIE-{n}", arr_jpy=1_000_000)
        scored(db, account, 40, Band.RED)
    factories.account(db, tenants.partner_b, name="Same Name KK", reference="TIE-B")  # another reseller's
    b = browser(tenants.admin_a)
    visible = db.scalars(select(Account.reference).where(Account.partner_id == tenants.partner_a.id)).all()
    seen = []
    for page in range(1, len(visible) // 3 + 3):
        html = b.get(f"/accounts?sort={sort}&owner=any&page={page}").get_data(as_text=True)
        seen += re.findall(r'class="account-name__ref aside">([^<]+)</span>', html)
    assert sorted(seen) == sorted(visible)
    assert "TIE-B" not in seen


@pytest.mark.parametrize("sort", ["name", "name&order=desc", "score", "band&order=desc", "arr"])
def test_following_next_and_previous_links_shows_every_account_once_with_ties_and_empty_scores(app, db, browser, tenants, sort):
    # The links page by keyset (from the last or first row shown): ties, empty scores and either
    # direction must neither repeat nor skip an account, and Previous must retrace the same pages.
    app.config["PORTAL"].page_size = 3
    for n in range(8):
        account = factories.account(db, tenants.partner_a, name="Same Name KK" if n % 2 else f"Name {n % 3}", reference=f"TIE-{n}")
        if n % 3:
            scored(db, account, 40 + n % 2, Band.RED)
    factories.account(db, tenants.partner_b, name="Same Name KK", reference="TIE-B")  # another reseller's
    b = browser(tenants.admin_a)
    visible = db.scalars(select(Account.reference).where(Account.partner_id == tenants.partner_a.id)).all()
    pages, url = [], f"/accounts?sort={sort}&owner=any"
    while url:
        html = b.get(url).get_data(as_text=True)
        pages.append(re.findall(r'class="account-name__ref aside">([^<]+)</span>', html))
        found = re.search(r'href="([^"]+)" rel="next"', html)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert sorted(sum(pages, [])) == sorted(visible) and "TIE-B" not in sum(pages, [])
    assert f"Page {len(pages)} of {len(pages)}" in html
    back = []
    while found := re.search(r'href="([^"]+)" rel="prev"', html):
        html = b.get(found.group(1).replace("&amp;", "&")).get_data(as_text=True)
        back.insert(0, re.findall(r'class="account-name__ref aside">([^<]+)</span>', html))
    assert back == pages[:-1]


def test_a_list_longer_than_the_count_cap_says_more_than_and_still_pages_through_everything(app, db, browser, tenants, monkeypatch):
    # The count stops at the cap (a fixed cost however many accounts): the pager says "more than"
    # until the reader reaches the end, and walking the pages still shows every account once.
    from portal.core import lists
    monkeypatch.setattr(lists, "COUNT_CAP", 4)
    app.config["PORTAL"].page_size = 3
    for n in range(8):
        factories.account(db, tenants.partner_a, name=f"Capped {n}", reference=f"CAP-{n}")
    b = browser(tenants.admin_a)
    visible = db.scalars(select(Account.reference).where(Account.partner_id == tenants.partner_a.id)).all()
    assert len(visible) > 6  # more than the cap, and more than two pages
    first = b.get("/accounts?owner=any").get_data(as_text=True)
    assert "More than 4 accounts" in first and "Page 1 of more than 1" in first
    assert 'rel="next"' in first
    seen, page = [], 1
    while True:
        html = b.get(f"/accounts?owner=any&page={page}").get_data(as_text=True)
        seen += re.findall(r'class="account-name__ref aside">([^<]+)</span>', html)
        if 'rel="next"' not in html:
            break
        page += 1
    assert sorted(seen) == sorted(visible)
    pages = -(-len(visible) // 3)
    assert page == pages and f"Page {pages} of {pages}" in html and f"{len(visible)} accounts" in html
    tenants.admin_a.language = "ja"
    db.commit()
    japanese = b.get("/accounts?owner=any").get_data(as_text=True)
    assert "顧客アカウント 4件超" in japanese and "1 / 1 超 ページ" in japanese


def test_a_page_past_the_end_says_so_and_leads_back_to_the_first(db, browser, tenants):
    b = browser(tenants.vendor_admin)
    page = b.get("/accounts?page=99").get_data(as_text=True)
    assert "This page is past the end of the list." in page and "No account matches" not in page
    first = re.search(r'href="([^"]+)">Back to the first page<', page).group(1)
    assert "page=99" not in first and rows(b.get(first.replace("&amp;", "&")))
