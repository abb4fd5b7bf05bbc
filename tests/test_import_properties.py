"""Property-based tests (Hypothesis): whatever a reseller sends, the file reader and the
check-in parser answer with a clear refusal (FileProblem, ValidationError) or a result, never
another exception (which the web would show as a 500), and a refused file writes nothing."""
from __future__ import annotations

import csv
import io
from datetime import date

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from portal.core.validation import ValidationError
from portal.models import Account, CheckIn, Segment
from portal.reporting.cadence import DEFAULT_CADENCES, DEFAULT_GRACE_DAYS, SegmentRule
from portal.reporting.checkins import parse_check_in
from portal.reporting.imports import COLUMNS, FileProblem, commit_import, read_file

TODAY = date(2026, 11, 20)
RULE = SegmentRule(Segment.LOW_TOUCH, DEFAULT_CADENCES[Segment.LOW_TOUCH], DEFAULT_GRACE_DAYS)
FIELDS = [*COLUMNS, "risks", "voc"]

cell = st.one_of(
    st.none(), st.text(max_size=30), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.dates(), st.datetimes(), st.text(alphabet="0123456789,.-¥円%年月日/ ", max_size=12),
    st.sampled_from(["green", "緑", "yellow", "red", "2026-10", "2026年10月", "=1+1", "\ud800", "9" * 5000]),
)
values = st.dictionaries(st.sampled_from(FIELDS), st.one_of(cell, st.lists(st.dictionaries(st.text(max_size=8), cell, max_size=3), max_size=3)))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(values)
def test_the_check_in_parser_refuses_or_accepts_but_never_crashes(record):
    try:
        parse_check_in(record, rule=RULE, today=TODAY, seats=20, contract_start=date(2025, 4, 1), features=[])
    except ValidationError as refused:
        assert refused.errors and all(e.field and str(e.message) for e in refused.errors)


def as_csv(header: list[str], rows: list[list]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode("utf-8", "surrogatepass")  # a lone surrogate makes bytes no encoding reads


headers = st.lists(st.sampled_from([en for en, _ja, _o in COLUMNS.values()] + ["", "Other"]), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=headers, rows=st.lists(st.lists(cell.map(lambda v: "" if v is None else str(v)), max_size=8), max_size=6),
       raw=st.binary(max_size=200))
def test_any_file_is_read_planned_and_committed_whole_or_not_at_all(db, tenants, header, rows, raw):
    tenants.partner_a.imports_create_accounts = True
    before = (db.scalar(select(func.count()).select_from(CheckIn)), db.scalar(select(func.count()).select_from(Account)))
    for content, name in ((as_csv(header, rows), "x.csv"), (raw, "x.csv"), (raw, "x.xlsx")):
        try:
            sheet = read_file(content, name)
            plan = commit_import(db, tenants.partner_a, sheet, TODAY, tenants.admin_a)
        except FileProblem as refused:
            assert str(refused.message)
            continue
        after = (db.scalar(select(func.count()).select_from(CheckIn)), db.scalar(select(func.count()).select_from(Account)))
        if not plan.ok:
            assert after == before and all(e.row and e.column for e in plan.errors)
        before = after
    db.rollback()


