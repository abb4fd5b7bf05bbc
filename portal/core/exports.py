"""Tables as downloads: CSV in UTF-8 with a BOM (Excel in Japan opens it without garbling) or .xlsx.

Every export goes through `table_response`, so this is the one place that keeps what a reseller
typed from becoming a spreadsheet formula (OWASP's CSV-injection rule): text that starts with
`=`, `+`, `-`, `@`, a tab or a carriage return gets a leading apostrophe in CSV, and in .xlsx every
text cell is written as text (never a formula) with Excel's quote prefix on the risky ones.
Numbers stay numbers, so a NPS of −7 is still −7.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Response

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: str) -> bool:
    """Would a spreadsheet read this text as the start of a formula?"""
    return value.startswith(FORMULA_TRIGGERS)


def safe_csv_value(value: Any) -> Any:
    """A CSV cell as text that no spreadsheet evaluates; numbers and dates pass through."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def table_response(headers: list[str], rows: list[list], name: str, fmt: str) -> Response:
    """`fmt` is "csv" or "xlsx"; the file is named `name` with that extension."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([safe_csv_value(h) for h in headers])
        writer.writerows([safe_csv_value(v) for v in row] for row in rows)
        return Response(("\ufeff" + out.getvalue()).encode("utf-8"), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={name}.csv"})
    return Response(_xlsx_bytes(headers, rows), mimetype=XLSX_MIMETYPE,
                    headers={"Content-Disposition": f"attachment; filename={name}.xlsx"})


def _xlsx_bytes(headers: list[str], rows: list[list]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook()
    sheet = workbook.active
    for row_number, values in enumerate([headers, *rows], start=1):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row_number, column=column)
            if value is None or isinstance(value, (bool, int, float, Decimal, date, datetime)):
                cell.value = value
                continue
            text = ILLEGAL_CHARACTERS_RE.sub("", str(value))  # control characters openpyxl refuses
            cell.value = text
            cell.data_type = "s"  # text, even when it starts with "=": openpyxl would store a live formula
            if is_formula_like(text):
                cell.quotePrefix = True
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
