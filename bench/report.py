"""The table: printed, and written as bench/results/latest.md and latest.json."""
from __future__ import annotations

import json
from pathlib import Path

from bench.common import Row

RESULTS = Path(__file__).resolve().parent / "results"
COLUMNS = ["what", "accounts", "figure", "floor", "ratio", "target", "ok?", "note"]


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "s":
        return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"
    return f"{value:.1f} {unit}"


def cells(row: Row) -> list[str]:
    """Seconds: figure/floor as "N×" (lower is better); rates: the figure as a share of the floor's."""
    ratio = row.ratio
    if ratio is None:
        shown = ""
    elif row.unit == "s":
        shown = f"{ratio:.1f}×"
    else:
        shown = f"{ratio * 100:.1f} %"
    ok = "" if row.ok is None else ("yes" if row.ok else "NO")
    return [row.what, f"{row.accounts:,}", _number(row.figure, row.unit), _number(row.floor, row.unit), shown, row.target, ok, row.note]


def text_table(rows: list[Row]) -> str:
    table = [COLUMNS] + [cells(r) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in table]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(rows: list[Row], header: str = "") -> str:
    lines = [header, ""] if header else []
    lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write(rows: list[Row], header: str, directory: Path = RESULTS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "latest.md").write_text(markdown(rows, header), encoding="utf-8")
    (directory / "latest.json").write_text(json.dumps({"run": header, "rows": [r.as_dict() for r in rows]}, indent=1, default=str),
                                           encoding="utf-8")
    return directory / "latest.md"
