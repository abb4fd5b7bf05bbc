"""The voice-of-the-customer inbox: filters, counts by area, status and kind, paging in SQL,
CSV/Excel export, the vendor's answer the reseller reads, scoped by partner."""
from __future__ import annotations

import csv
import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from portal.models import AuditEvent, ChangeLog, ProductArea, Segment, VocItem, VocKind, VocStatus
from portal.reporting.voc import AreaMatcher
from tests import factories
from tests.pages import parse
from tests.readback import latest, reload


def say(db, check_in, kind, text, area=None, status=VocStatus.NEW) -> VocItem:
    """An item as a check-in stores it: the area matched as the one submission path matches it."""
    matched = AreaMatcher.load(db).match(area)
    item = VocItem(check_in_id=check_in.id, account_id=check_in.account_id, partner_id=check_in.partner_id,
                   kind=kind, text=text, product_area=area, product_area_id=matched.id if matched else None, status=status)
    db.add(item)
    db.commit()
    return item


def voices(db, tenants):
    say(db, tenants.check_in_a, VocKind.REQUEST, "Alpha wants Excel export", "Reports")
    say(db, tenants.check_in_a, VocKind.COMPLAINT, "Alpha finds the phone app slow", "Mobile")
    say(db, tenants.check_in_b, VocKind.PRAISE, "Bravo loves approvals", "Workflow")


def body(page) -> str:
    """The table's rows only (filters and counts name areas and kinds too)."""
    return page.get_data(as_text=True).split("<tbody>")[1]


def facet_counts(html: str) -> dict[str, int]:
    """The count links above the list, by label: {"Reports and dashboards": 2, ...}."""
    found = re.findall(r'<li><a href="[^"]*"(?: aria-current="true")?><span>([^<]+)</span> <span class="facet-list__count">([\d,]+)</span>', html)
    return {label: int(count.replace(",", "")) for label, count in found}


def answer(b, item, **values):
    data = {"status": item.status.value, "answer": "", "product_area_id": str(item.product_area_id or "")} | values
    return b.post(f"/voice-of-customer/{item.id}", data)


def test_the_vendor_sees_every_partner_s_voice_and_filters_it(db, browser, tenants):
    voices(db, tenants)
    vendor = browser(tenants.partner_manager)
    page = vendor.get("/voice-of-customer").get_data(as_text=True)
    assert all(t in page for t in ("Alpha wants Excel export", "Alpha finds the phone app slow", "Bravo loves approvals"))
    complaints = body(vendor.get("/voice-of-customer?kind=complaint"))
    assert "Alpha finds the phone app slow" in complaints and "Alpha wants Excel export" not in complaints
    by_area = body(vendor.get("/voice-of-customer?area=workflow"))
    assert "Bravo loves approvals" in by_area and "Alpha" not in by_area
    by_partner = body(vendor.get(f"/voice-of-customer?partner_id={tenants.partner_b.id}"))
    assert "Bravo loves approvals" in by_partner and "Alpha wants" not in by_partner
    searched = body(vendor.get("/voice-of-customer?q=EXCEL"))
    assert "Alpha wants Excel export" in searched and "Bravo loves" not in searched


def test_a_segment_filter_uses_the_account_s_segment(db, browser, tenants):
    voices(db, tenants)
    high = factories.account(db, tenants.partner_a, segment=Segment.HIGH_TOUCH)
    say(db, factories.check_in(db, high), VocKind.REQUEST, "High touch asks for SSO", "Security")
    page = browser(tenants.vendor_admin).get("/voice-of-customer?segment=high_touch").get_data(as_text=True)
    assert "High touch asks for SSO" in page and "Alpha wants Excel export" not in page


def test_a_reseller_sees_only_its_own_customers_voice_even_when_it_asks_for_another_partner(db, browser, tenants):
    voices(db, tenants)
    reseller = browser(tenants.user_a)
    page = reseller.get(f"/voice-of-customer?partner_id={tenants.partner_b.id}").get_data(as_text=True)
    assert "Bravo loves approvals" not in page and "Bravo Networks" not in page
    assert facet_counts(reseller.get("/voice-of-customer").get_data(as_text=True))["Workflow"] == 0
    exported = reseller.get("/voice-of-customer.csv").get_data()
    assert b"Bravo" not in exported and "Alpha wants Excel export".encode() in exported


def test_counts_by_area_status_and_kind_follow_the_other_filters(db, browser, tenants):
    voices(db, tenants)
    say(db, tenants.check_in_b, VocKind.REQUEST, "Bravo wants a dashboard", "ダッシュボード", VocStatus.PLANNED)
    say(db, tenants.check_in_b, VocKind.REQUEST, "Bravo wants invoices", "Billing")
    vendor = browser(tenants.vendor_admin)
    counts = facet_counts(vendor.get("/voice-of-customer").get_data(as_text=True))
    assert (counts["Reports and dashboards"], counts["Mobile app"], counts["Workflow"], counts["Unassigned"]) == (2, 1, 1, 1)
    assert (counts["New"], counts["Planned for a release"], counts["Shipped"]) == (4, 1, 0)
    assert (counts["Request"], counts["Complaint"], counts["Praise"]) == (3, 1, 1)
    # A chosen area narrows the status and kind counts, and leaves the other areas countable.
    reports = facet_counts(vendor.get("/voice-of-customer?area=reports").get_data(as_text=True))
    assert (reports["Reports and dashboards"], reports["Mobile app"], reports["New"], reports["Planned for a release"], reports["Complaint"]) == (2, 1, 1, 1, 0)
    unassigned = body(vendor.get("/voice-of-customer?area=unassigned"))
    assert "Bravo wants invoices" in unassigned and "“Billing”" in unassigned and "Alpha" not in unassigned
    japanese = facet_counts(vendor.get("/voice-of-customer?lang=ja", headers={"Accept-Language": "ja"}).get_data(as_text=True))
    assert japanese.get("レポート・ダッシュボード") == 2


def test_a_filter_that_names_nothing_is_refused_naming_it(db, browser, tenants):
    vendor = browser(tenants.vendor_admin)
    for url, name in (("/voice-of-customer?area=billing", "area"), ("/voice-of-customer?status=done", "status")):
        response = vendor.get(url)
        assert response.status_code == 400 and name in response.get_data(as_text=True)


def test_exports_hold_the_filtered_rows_in_csv_with_bom_and_in_excel(db, browser, tenants):
    voices(db, tenants)
    vendor = browser(tenants.vendor_admin)
    response = vendor.get("/voice-of-customer.csv?kind=praise")
    data = response.get_data()
    assert response.mimetype == "text/csv" and data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][-1] == "What the customer said" and [r[-1] for r in rows[1:]] == ["Bravo loves approvals"]
    assert dict(zip(rows[0], rows[1], strict=True))["Product area"] == "Workflow" and dict(zip(rows[0], rows[1], strict=True))["Status"] == "New"
    workbook = load_workbook(io.BytesIO(vendor.get("/voice-of-customer.xlsx").get_data()))
    texts = sorted(row[-1] for row in workbook.active.iter_rows(min_row=2, values_only=True))
    assert texts == ["Alpha finds the phone app slow", "Alpha wants Excel export", "Bravo loves approvals"]
    assert vendor.get("/voice-of-customer.pdf").status_code == 404


def test_an_answer_that_looks_like_a_formula_is_exported_as_text(db, browser, tenants):
    item = say(db, tenants.check_in_a, VocKind.REQUEST, "Alpha wants Excel export", "Reports")
    vendor = browser(tenants.vendor_admin)
    assert answer(vendor, item, status="acknowledged", answer="=HYPERLINK(\"http://x\")").status_code == 302
    rows = list(csv.reader(io.StringIO(vendor.get("/voice-of-customer.csv").get_data().decode("utf-8-sig"))))
    assert dict(zip(rows[0], rows[1], strict=True))["Vendor's answer"] == "'=HYPERLINK(\"http://x\")"


def test_the_inbox_is_paged(app, db, browser, tenants):
    for n in range(30):
        say(db, tenants.check_in_a, VocKind.REQUEST, f"Request number {n:02d}")
    vendor = browser(tenants.vendor_admin)
    first = vendor.get("/voice-of-customer").get_data(as_text=True)
    second = vendor.get("/voice-of-customer?page=2").get_data(as_text=True)
    per_page = app.config["PORTAL"].page_size
    shown_first = sum(f"Request number {n:02d}" in first for n in range(30))
    shown_second = sum(f"Request number {n:02d}" in second for n in range(30))
    assert (shown_first, shown_second) == (per_page, 30 - per_page)
    assert facet_counts(second)["Unassigned"] == 30


def test_more_items_than_the_count_cap_say_more_than_leave_out_the_facet_counts_and_still_page_through(
        app, db, browser, tenants, monkeypatch):
    # Counting stops at the cap (a fixed cost however many items): the list says "more than", the
    # facets show no numbers rather than wrong ones, and the pages still show every item once.
    from portal.core import lists
    monkeypatch.setattr(lists, "COUNT_CAP", 4)
    app.config["PORTAL"].page_size = 3
    for n in range(8):
        say(db, tenants.check_in_a, VocKind.REQUEST if n % 2 else VocKind.PRAISE, f"Request number {n:02d}")
    vendor = browser(tenants.vendor_admin)
    first = vendor.get("/voice-of-customer").get_data(as_text=True)
    assert "More than 4 items" in first and facet_counts(first) == {} and 'rel="next"' in first
    assert "More than 4 items" not in vendor.get("/voice-of-customer?kind=praise").get_data(as_text=True)
    assert "4 items" in vendor.get("/voice-of-customer?kind=praise").get_data(as_text=True)
    seen, page = [], 1
    while True:
        html = vendor.get(f"/voice-of-customer?page={page}").get_data(as_text=True)
        seen += re.findall(r"Request number (\d+)", body_html := html.split("<tbody>")[1])
        if 'rel="next"' not in html:
            break
        page += 1
    assert sorted(seen) == [f"{n:02d}" for n in range(8)] and body_html
    # With few enough items, every count is exact again.
    exact = facet_counts(vendor.get("/voice-of-customer?q=number 01").get_data(as_text=True))
    assert (exact["Request"], exact["Praise"]) == (1, 0)


# --- the vendor's answer ---------------------------------------------------------------------


def test_the_vendor_s_answer_is_what_the_reseller_reads_on_its_list_the_item_and_the_check_in(db, browser, tenants):
    item = say(db, tenants.check_in_a, VocKind.REQUEST, "Alpha wants Excel export", "Reports")
    vendor = browser(tenants.partner_manager)
    response = answer(vendor, item, status="planned", answer="Coming in the spring release.")
    assert response.status_code == 302 and response.location == f"/voice-of-customer/{item.id}"
    item = reload(db, item)
    assert (item.status, item.answer, item.answered_by_id) == (VocStatus.PLANNED, "Coming in the spring release.", tenants.partner_manager.id)
    assert item.answered_at is not None

    reseller = browser(tenants.user_a)
    listed = body(reseller.get("/voice-of-customer?status=planned"))
    assert "Alpha wants Excel export" in listed and "Coming in the spring release." in listed
    shown = reseller.get(f"/voice-of-customer/{item.id}").get_data(as_text=True)
    assert "Planned" in shown and "Coming in the spring release." in shown and tenants.partner_manager.display_name in shown
    assert 'name="answer"' not in shown  # no form for the reseller
    on_check_in = reseller.get(f"/check-ins/{tenants.check_in_a.id}").get_data(as_text=True)
    assert "Planned" in on_check_in and "Coming in the spring release." in on_check_in
    ja = browser(tenants.user_a)
    ja.get("/language/ja")
    assert "対応予定" in ja.get(f"/voice-of-customer/{item.id}").get_data(as_text=True)

    [entry] = latest(db).scalars(select(ChangeLog).where(ChangeLog.entity == "voc_item", ChangeLog.entity_id == item.id)).all()
    assert entry.changes["status"] == ["new", "planned"] and entry.user_id == tenants.partner_manager.id
    assert entry.partner_id == tenants.partner_a.id


def test_a_reseller_cannot_answer_nor_see_another_partner_s_item(db, browser, tenants):
    own = say(db, tenants.check_in_a, VocKind.REQUEST, "Alpha wants Excel export", "Reports")
    other = say(db, tenants.check_in_b, VocKind.REQUEST, "Bravo Secret wish", "Reports")
    for person in (tenants.admin_a, tenants.user_a):
        reseller = browser(person)
        assert answer(reseller, own, status="shipped").status_code == 403
        assert reseller.get(f"/voice-of-customer/{other.id}").status_code == 404
    own = reload(db, own)
    assert own.status is VocStatus.NEW


def test_status_moves_only_along_the_allowed_steps_and_a_decline_says_why(db, browser, tenants):
    item = say(db, tenants.check_in_a, VocKind.REQUEST, "Alpha wants Excel export", "Reports")
    vendor = browser(tenants.vendor_admin)
    declined = answer(vendor, item, status="declined")
    assert declined.status_code == 400 and "answer" in parse(declined).errors
    assert answer(vendor, item, status="shipped", answer="Released in 4.2").status_code == 302
    back = answer(vendor, item, status="new")
    assert back.status_code == 400 and "status" in parse(back).errors
    item = reload(db, item)
    assert item.status is VocStatus.SHIPPED
    # The same values again change nothing and log nothing.
    assert answer(vendor, item, status="shipped", answer="Released in 4.2").status_code == 302
    assert latest(db).scalar(select(ChangeLog.id).where(ChangeLog.entity == "voc_item").offset(1)) is None


def test_the_vendor_maps_an_unassigned_item_in_the_inbox(db, browser, tenants):
    item = say(db, tenants.check_in_a, VocKind.REQUEST, "Invoices by email", "Billing")
    assert item.product_area_id is None
    admin_area = db.scalar(select(ProductArea).where(ProductArea.key == "administration"))
    vendor = browser(tenants.vendor_admin)
    assert answer(vendor, item, product_area_id=str(admin_area.id)).status_code == 302
    item = reload(db, item)
    assert (item.product_area_id, item.product_area, item.status) == (admin_area.id, "Billing", VocStatus.NEW)
    assert "Invoices by email" in body(vendor.get("/voice-of-customer?area=administration"))
    assert answer(vendor, item, product_area_id="999999").status_code == 400


def test_a_correction_keeps_the_vendor_s_answer_and_the_inbox_shows_the_item_once(db, browser, tenants, today_is):
    from tests.reporting_forms import TODAY, check_in_form

    today_is(TODAY)
    reseller = browser(tenants.user_a)
    account = tenants.account_a
    assert reseller.post(f"/accounts/{account.id}/check-in", check_in_form()).status_code == 302
    vendor = browser(tenants.vendor_admin)
    [item] = [i for i in latest(db).scalars(select(VocItem).where(VocItem.text == "Export to Excel in one click"))]
    assert answer(vendor, item, status="acknowledged", answer="Thanks, we are looking at it.").status_code == 302
    corrected = check_in_form(nps="10")
    assert reseller.post(f"/accounts/{account.id}/check-in", corrected).status_code == 302
    kept = latest(db).scalars(select(VocItem).where(VocItem.text == "Export to Excel in one click").order_by(VocItem.id)).all()
    assert len(kept) == 2 and (kept[-1].status, kept[-1].answer) == (VocStatus.ACKNOWLEDGED, "Thanks, we are looking at it.")
    assert body(vendor.get("/voice-of-customer")).count("Export to Excel in one click") == 1
    # The reseller's digest carries that answer once too, not once per version of the check-in.
    digest = vendor.get(f"/users/{tenants.admin_a.id}/emails").get_data(as_text=True)
    assert digest.count("Thanks, we are looking at it.") == 1


def test_product_area_changes_are_in_the_audit_log(db, browser, tenants):
    vendor = browser(tenants.vendor_admin)
    response = vendor.post("/rules/product-areas/new", {"key": "billing", "name_en": "Billing", "name_ja": "請求",
                                                              "aliases": "Invoices、請求書", "position": "9", "active": "y"})
    assert response.status_code == 302
    event = latest(db).scalar(select(AuditEvent).where(AuditEvent.target_label == "billing"))
    assert event is not None and event.action.value == "product_area_created" and event.actor_id == tenants.vendor_admin.id


def test_the_partner_digest_carries_the_week_s_product_answers_to_that_partner_only(db, browser, tenants, today_is):
    from datetime import date

    today_is(date(2026, 12, 3))
    own = say(db, tenants.check_in_a, VocKind.REQUEST, "Alpha wants Excel export", "Reports")
    other = say(db, tenants.check_in_b, VocKind.REQUEST, "Bravo wants dark mode", "Mobile")
    vendor = browser(tenants.vendor_admin)
    assert answer(vendor, own, status="planned", answer="Coming in the spring release.").status_code == 302
    assert answer(vendor, other, status="declined", answer="Bravo Secret Plan: not this year.").status_code == 302
    digest = vendor.get(f"/users/{tenants.admin_a.id}/emails").get_data(as_text=True)
    assert "Product answers to your customers" in digest and "Coming in the spring release." in digest
    assert "Bravo Secret Plan" not in digest
    today_is(date(2026, 12, 20))  # a fortnight later the answer is old news
    assert "Coming in the spring release." not in vendor.get(f"/users/{tenants.admin_a.id}/emails").get_data(as_text=True)
