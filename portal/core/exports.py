"""Tables as downloads: CSV in UTF-8 with a BOM (Excel in Japan opens it without garbling) or .xlsx."""
from __future__ import annotations

import csv
import io

from flask import Response

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_response(headers: list[str], rows: list[list], name: str, fmt: str) -> Response:
    """`fmt` is "csv" or "xlsx"; the file is named `name` with that extension."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(headers)
        writer.writerows(rows)
        return Response(("\ufeff" + out.getvalue()).encode("utf-8"), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={name}.csv"})
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    xlsx_out = io.BytesIO()
    workbook.save(xlsx_out)
    return Response(xlsx_out.getvalue(), mimetype=XLSX_MIMETYPE,
                    headers={"Content-Disposition": f"attachment; filename={name}.xlsx"})
