"""The voice-of-the-customer inbox: filters, paging in SQL, CSV/Excel export, scoped by partner."""
from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from portal.models import Segment, VocItem, VocKind
from tests import factories


def say(db, check_in, kind, text, area=None):
    db.add(VocItem(check_in_id=check_in.id, account_id=check_in.account_id, partner_id=check_in.partner_id,
                   kind=kind, text=text, product_area=area))
    db.commit()


def voices(db, tenants):
    say(db, tenants.check_in_a, VocKind.REQUEST, "Alpha wants Excel export", "Reports")
    say(db, tenants.check_in_a, VocKind.COMPLAINT, "Alpha finds the phone app slow", "Mobile")
    say(db, tenants.check_in_b, VocKind.PRAISE, "Bravo loves approvals", "Workflow")


def test_the_vendor_sees_every_partner_s_voice_and_filters_it(db, browser, tenants):
    voices(db, tenants)
    vendor = browser(tenants.partner_manager)
    page = vendor.get("/voice-of-customer").get_data(as_text=True)
    assert all(t in page for t in ("Alpha wants Excel export", "Alpha finds the phone app slow", "Bravo loves approvals"))
    complaints = vendor.get("/voice-of-customer?kind=complaint").get_data(as_text=True)
    assert "Alpha finds the phone app slow" in complaints and "Alpha wants Excel export" not in complaints
    by_area = vendor.get("/voice-of-customer?area=workflow").get_data(as_text=True)
    assert "Bravo loves approvals" in by_area and "Alpha" not in by_area.split("<tbody>")[1]
    by_partner = vendor.get(f"/voice-of-customer?partner_id={tenants.partner_b.id}").get_data(as_text=True)
    assert "Bravo loves approvals" in by_partner and "Alpha wants" not in by_partner
    searched = vendor.get("/voice-of-customer?q=EXCEL").get_data(as_text=True)
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
    exported = reseller.get("/voice-of-customer.csv").get_data()
    assert b"Bravo" not in exported and "Alpha wants Excel export".encode() in exported


def test_exports_hold_the_filtered_rows_in_csv_with_bom_and_in_excel(db, browser, tenants):
    voices(db, tenants)
    vendor = browser(tenants.vendor_admin)
    response = vendor.get("/voice-of-customer.csv?kind=praise")
    body = response.get_data()
    assert response.mimetype == "text/csv" and body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][-1] == "What the customer said" and [r[-1] for r in rows[1:]] == ["Bravo loves approvals"]
    workbook = load_workbook(io.BytesIO(vendor.get("/voice-of-customer.xlsx").get_data()))
    texts = sorted(row[-1] for row in workbook.active.iter_rows(min_row=2, values_only=True))
    assert texts == ["Alpha finds the phone app slow", "Alpha wants Excel export", "Bravo loves approvals"]
    assert vendor.get("/voice-of-customer.pdf").status_code == 404


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
