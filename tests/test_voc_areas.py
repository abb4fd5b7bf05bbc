"""Product areas: what a reseller writes (form, file, API, in English or Japanese, any case or
width) lands in the vendor's area; unknown words are kept as written and shown as Unassigned
until the vendor maps them; existing items were matched by the migration."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from portal.core import migrate
from portal.core.db import make_engine
from portal.models import ProductArea, VocItem
from portal.reporting.voc import AreaMatcher, parse_aliases
from tests.pages import parse
from tests.readback import latest
from tests.reporting_forms import TODAY, check_in_form


@pytest.mark.parametrize("written, key", [
    ("Reports", "reports"), ("REPORTS", "reports"), ("ＲＥＰＯＲＴＳ", "reports"), ("レポート", "reports"), ("ﾚﾎﾟｰﾄ", "reports"), ("れぽーと", "reports"),
    ("  dashboards ", "reports"), ("帳票", "reports"), ("レポート・ダッシュボード", "reports"), ("モバイル", "mobile"),
    ("Mobile app", "mobile"), ("ｗｏｒｋｆｌｏｗ", "workflow"), ("承認フロー", "workflow"), ("Billing", None), ("", None),
])
def test_an_area_is_matched_on_names_and_aliases_in_either_language_whatever_the_case_or_width(db, written, key):
    area = AreaMatcher.load(db).match(written)
    assert (area.key if area else None) == key


def test_aliases_are_read_as_a_person_types_them():
    assert parse_aliases("Dashboards, 帳票、ＤＡＳＨＢＯＡＲＤＳ\n  month  end ;") == ["Dashboards", "帳票", "month end"]


def items(db) -> list[tuple]:
    return [(v.text, v.product_area, v.area.key if v.area else None)
            for v in latest(db).scalars(select(VocItem).order_by(VocItem.id))]


def test_the_check_in_form_matches_japanese_and_keeps_unknown_words_as_written(db, browser, tenants, today_is):
    today_is(TODAY)
    form = check_in_form(**{"voc-0-product_area": "ﾚﾎﾟｰﾄ", "voc-1-product_area": "請求書まわり"})
    assert browser(tenants.user_a).post(f"/accounts/{tenants.account_a.id}/check-in", form).status_code == 302
    assert items(db) == [("Export to Excel in one click", "ﾚﾎﾟｰﾄ", "reports"), ("承認フローがとても楽になった", "請求書まわり", None)]


def test_the_api_matches_the_area_accepts_one_it_does_not_know_and_reads_the_vendor_s_answer(db, client, browser, tenants, today_is):
    from tests.test_api import CHECK_IN, Api

    today_is(TODAY)
    api = Api(client, tenants.secret_a)
    body = CHECK_IN | {"voc": [{"kind": "request", "text": "Bulk approval", "product_area": "ＷＯＲＫＦＬＯＷ"},
                               {"kind": "complaint", "text": "Invoices are late", "product_area": "Billing"}]}
    response = api.post("/accounts/A-001/check-ins", body)
    assert response.status_code == 201, response.get_json()
    assert items(db) == [("Bulk approval", "ＷＯＲＫＦＬＯＷ", "workflow"), ("Invoices are late", "Billing", None)]
    assert [(v["product_area_key"], v["status"]) for v in response.get_json()["voc"]] == [("workflow", "new"), (None, "new")]

    item = latest(db).scalar(select(VocItem).where(VocItem.text == "Bulk approval"))
    vendor = browser(tenants.vendor_admin)
    answered = vendor.post(f"/voice-of-customer/{item.id}", {"status": "planned", "answer": "In the June release", "product_area_id": str(item.product_area_id)})
    assert answered.status_code == 302
    [listed] = [c for c in api.get("/accounts/A-001/check-ins").get_json()["items"] if c["voc"]]
    assert (listed["voc"][0]["status"], listed["voc"][0]["answer"]) == ("planned", "In the June release")


def test_the_file_import_matches_the_area(db, browser, tenants, today_is):
    from tests.test_imports import commit, csv_file, preview, row

    today_is(TODAY)
    b = browser(tenants.user_a)
    page = preview(b, csv_file(row({"Customer voice type": "要望", "Customer voice": "帳票をPDFで", "Product area": "レポート"})))
    assert page.errors == []
    commit(b, page)
    assert items(db) == [("帳票をPDFで", "レポート", "reports")]


def test_an_alias_added_by_the_vendor_maps_the_unassigned_items_written_that_way(db, browser, tenants, today_is):
    today_is(TODAY)
    form = check_in_form(**{"voc-0-product_area": "ｂｉｌｌｉｎｇ", "voc-1-product_area": "Billing"})
    assert browser(tenants.user_a).post(f"/accounts/{tenants.account_a.id}/check-in", form).status_code == 302
    admin_area = db.scalar(select(ProductArea).where(ProductArea.key == "administration"))
    vendor = browser(tenants.vendor_admin)
    edit = {"key": "administration", "name_en": admin_area.name_en, "name_ja": admin_area.name_ja, "position": "5", "active": "y",
            "aliases": "Admin, Settings, 管理, 設定, billing"}
    assert vendor.post(f"/rules/product-areas/{admin_area.id}", edit).status_code == 302
    assert [area for _text, _written, area in items(db)] == ["administration", "administration"]
    assert [written for _text, written, _area in items(db)] == ["ｂｉｌｌｉｎｇ", "Billing"]


def test_a_word_can_name_one_area_only(db, browser, tenants):
    vendor = browser(tenants.vendor_admin)
    response = vendor.post("/rules/product-areas/new", {"key": "analytics", "name_en": "Analytics", "name_ja": "分析",
                                                        "aliases": "ダッシュボード", "position": "9", "active": "y"})
    assert response.status_code == 400
    assert "Reports and dashboards" in parse(response).errors["aliases"]
    assert latest(db).scalar(select(ProductArea).where(ProductArea.key == "analytics")) is None
    page = vendor.get("/rules/product-areas").get_data(as_text=True)
    assert "Reports and dashboards" in page and "帳票" in page
    assert re.search(r'href="/rules/product-areas/\d+">Reports and dashboards<', page)  # the English reader's label links


def _partner_and_account(conn) -> None:
    """Partner 1 and its account 1, written as an earlier migration's schema has them."""
    conn.execute(text("INSERT INTO partners (id, name, code, tier, status, created_at, updated_at) "
                      "VALUES (1, 'P', 'P', 'gold', 'active', '2026-01-01', '2026-01-01')"))
    conn.execute(text("INSERT INTO accounts (id, partner_id, reference, name, segment, seats, arr_jpy, status, created_at, updated_at) "
                      "VALUES (1, 1, 'A-1', 'A', 'low_touch', 10, 0, 'active', '2026-01-01', '2026-01-01')"))


def test_the_migration_matches_existing_items_and_keeps_the_words(fresh_database_factory):
    with fresh_database_factory() as url:
        migrate.upgrade(url, "0012")
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                _partner_and_account(conn)
                conn.execute(text("INSERT INTO check_ins (id, account_id, partner_id, period_start, version, source, submitted_at, "
                                  "open_tickets, open_escalations, sentiment, expansion_jpy) "
                                  "VALUES (1, 1, 1, '2026-04-01', 1, 'form', '2026-05-01 00:00:00', 0, 0, 'green', 0)"))
                for n, area in enumerate(("レポート", "ＭＯＢＩＬＥ", "Billing", None), start=1):
                    conn.execute(text("INSERT INTO voc_items (id, check_in_id, account_id, partner_id, kind, product_area, text) "
                                      "VALUES (:id, 1, 1, 1, 'request', :area, 'x')"), {"id": n, "area": area})
            migrate.upgrade(url)
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT v.product_area, a.key, v.status FROM voc_items v "
                                         "LEFT JOIN product_areas a ON a.id = v.product_area_id ORDER BY v.id")).all()
        finally:
            engine.dispose()
    assert [tuple(r) for r in rows] == [("レポート", "reports", "new"), ("ＭＯＢＩＬＥ", "mobile", "new"), ("Billing", None, "new"), (None, None, "new")]


def test_the_migration_marks_the_items_of_corrected_check_ins_as_no_longer_in_force(fresh_database_factory):
    with fresh_database_factory() as url:
        migrate.upgrade(url, "0032")
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                _partner_and_account(conn)
                for check_in_id, period, version in ((1, "2026-04-01", 1), (2, "2026-04-01", 2), (3, "2026-07-01", 1)):
                    conn.execute(text("INSERT INTO check_ins (id, account_id, partner_id, period_start, version, source, submitted_at, "
                                      "open_tickets, open_escalations, sentiment, expansion_jpy) "
                                      "VALUES (:id, 1, 1, :period, :version, 'form', '2026-05-01 00:00:00', 0, 0, 'green', 0)"),
                                 {"id": check_in_id, "period": period, "version": version})
                    conn.execute(text("INSERT INTO voc_items (id, check_in_id, account_id, partner_id, kind, text, status) "
                                      "VALUES (:id, :id, 1, 1, 'request', 'x', 'new')"), {"id": check_in_id})
            migrate.upgrade(url)
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT check_in_id, in_force FROM voc_items ORDER BY id")).all()
        finally:
            engine.dispose()
    assert [(r[0], bool(r[1])) for r in rows] == [(1, False), (2, True), (3, True)]
