"""The check-in file import over HTTP as the largest partner's admin: upload (+plan), preview,
commit of a 10,000-row CSV, then re-upload of 5,000 of those rows (all unchanged).

The floor is the issue's: the same CSV read with `csv` and written with one executemany INSERT
into check_ins, the table the import fills (each row's account and next version found by the
statement itself; rolled back). Beside it, a stricter one: the same executemany into a scratch
table of text columns without indexes, constraints or trigger, which no import could match
(it writes nothing where the portal reads it); its ratio is in the note."""
from __future__ import annotations

import csv
from contextlib import closing
import io
import re
import time

import httpx
from sqlalchemy import text

from bench.common import Row, Timer
from bench.generate import admin_email
from bench.report import RESULTS
from bench.server import Server, csrf_token, login

# The file's columns, by their English template headers (portal.reporting.imports.COLUMNS).
HEADERS = {"reference": "Reference", "period": "Period", "active_users": "Active users", "nps": "NPS",
           "open_tickets": "Open tickets", "open_escalations": "Open escalations",
           "sentiment": "Sentiment (green/yellow/red)", "sentiment_reason": "Sentiment reason",
           "outcome_progress": "Outcome progress %", "note": "Note"}
POLL = re.compile(r'http-equiv="refresh"|data-poll|data-progress', re.I)
TARGET = "< 5 s and ≤ 3× floor"


def check_in_file(session, rows: int) -> bytes:
    """The largest partner's accounts × their latest periods (newest first), with new figures."""
    found = session.execute(text(
        "SELECT a.reference, to_char(c.period_start, 'YYYY-MM'), a.seats FROM check_ins c JOIN accounts a ON a.id = c.account_id"
        " JOIN partners p ON p.id = a.partner_id WHERE p.code = 'P1' ORDER BY c.period_start DESC, a.reference LIMIT :rows"),
        {"rows": rows}).all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS.values())
    for n, (reference, period, seats) in enumerate(found):
        writer.writerow([reference, period, seats * (n % 7 + 1) // 8, n % 11, n % 4, int(n % 13 == 0),
                         ("green", "yellow", "red")[n % 3], "" if n % 3 == 0 else "Fewer logins since the reorganisation", n % 101, f"bench row {n}"])
    return out.getvalue().encode()


def follow(client: httpx.Client, response: httpx.Response, limit: float = 1800) -> httpx.Response:
    """Where an action lands: follow redirects and, while the page says the work is still going
    (a job's progress page: meta refresh or a poll marker), ask again until it is done."""
    deadline = time.monotonic() + limit
    while True:
        if response.is_redirect:
            response = client.get(response.headers["location"])
            continue
        if response.status_code == 200 and POLL.search(response.text) and time.monotonic() < deadline:
            time.sleep(0.5)
            response = client.get(str(response.url))
            continue
        return response


def upload(client: httpx.Client, name: str, content: bytes) -> tuple[float, httpx.Response]:
    """Upload until the plan is there (the preview's address); returns the seconds and the response."""
    form = client.get("/import")
    if form.status_code != 200:
        raise RuntimeError(f"GET /import: {form.status_code} {form.headers.get('location', '')}")
    token = csrf_token(form.text)
    with Timer() as timer:
        response = client.post("/import", data={"csrf_token": token}, files={"file": (name, content, "text/csv")})
        if not response.is_redirect:
            raise RuntimeError(f"upload refused: {response.status_code} {response.text[:300]}")
        landed = follow(client, response)  # a big file is planned by the job: wait for its preview
    return timer.seconds, landed


def preview(client: httpx.Client, location: str) -> tuple[float, httpx.Response]:
    with Timer() as timer:
        response = follow(client, client.get(location))
    if response.status_code != 200:
        raise RuntimeError(f"preview: {response.status_code}")
    return timer.seconds, response


def commit(client: httpx.Client, page: httpx.Response) -> tuple[float, httpx.Response]:
    action = re.search(r'action="([^"]*/commit)"', page.text)
    if not action:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "import-preview.html").write_text(page.text, encoding="utf-8")
        raise RuntimeError(f"the preview has no commit form (errors in the file?): see {RESULTS / 'import-preview.html'}")
    with Timer() as timer:
        response = follow(client, client.post(action.group(1), data={"csrf_token": csrf_token(page.text)}))
    if "Imported" not in response.text and "committed" not in response.text.lower():
        raise RuntimeError("commit did not say it imported")
    return timer.seconds, response


def floor(session, content: bytes) -> float:
    """csv + one executemany INSERT into check_ins: each row a new version of its account's period,
    the account (by the largest partner's reference) and the version looked up by the statement;
    timed to the end of the executemany, then rolled back so the import finds the data as generated."""
    # The columns in the file's order (HEADERS): reference, period, active users, NPS, open tickets,
    # open escalations, sentiment, its reason, outcome progress, note.
    statement = (
        "INSERT INTO check_ins (account_id, partner_id, period_start, version, source, submitted_at, active_users, nps,"
        " open_tickets, open_escalations, sentiment, sentiment_reason, outcome_progress, note, expansion_jpy)"
        " SELECT a.id, a.partner_id, p.start,"
        " (SELECT coalesce(max(c.version), 0) + 1 FROM check_ins c WHERE c.account_id = a.id AND c.period_start = p.start),"
        " 'file', now(), %s, %s, %s, %s, %s, nullif(%s, ''), %s, nullif(%s, ''), 0"
        " FROM accounts a CROSS JOIN (SELECT to_date(%s, 'YYYY-MM') AS start) p"
        " WHERE a.partner_id = (SELECT id FROM partners WHERE code = 'P1') AND a.reference = %s")
    session.rollback()
    with Timer() as timer:
        rows = list(csv.reader(io.StringIO(content.decode())))[1:]
        values = [(int(active), int(nps), int(tickets), int(escalations), sentiment, reason, int(progress), note, period, reference)
                  for reference, period, active, nps, tickets, escalations, sentiment, reason, progress, note in rows]
        cursor = session.connection().connection.cursor()
        cursor.executemany(statement, values)
        written = cursor.rowcount
    session.rollback()
    if written != len(rows):
        raise RuntimeError(f"the floor wrote {written} of {len(rows)} rows")
    return timer.seconds


def scratch_floor(session, content: bytes) -> float:
    """csv + one executemany INSERT of the same columns into a scratch table (text columns, no
    index, constraint or trigger): stricter than the issue's floor, shown beside it."""
    columns = ", ".join(f"{key} text" for key in HEADERS)
    session.execute(text(f"DROP TABLE IF EXISTS bench_import_floor; CREATE TABLE bench_import_floor ({columns})"))
    session.commit()
    with Timer() as timer:
        rows = list(csv.reader(io.StringIO(content.decode())))[1:]
        cursor = session.connection().connection.cursor()
        cursor.executemany(f"INSERT INTO bench_import_floor VALUES ({', '.join(['%s'] * len(HEADERS))})", rows)
        session.commit()
    session.execute(text("DROP TABLE bench_import_floor"))
    session.commit()
    return timer.seconds


def table_write(session, rows: int) -> float:
    """What writing the check-ins alone costs, however little Python is around it: the largest
    partner's `rows` newest check-ins, set aside in a temporary table first (not timed), inserted
    inside PostgreSQL (INSERT … SELECT, as new versions) into check_ins itself, with its indexes,
    foreign keys, constraints and change trigger, then rolled back. Not a floor the target is
    measured against: it tells how much of the commit is the table's own cost."""
    columns = [c for c in session.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'check_ins' AND column_name NOT IN ('id', 'version')"
        " ORDER BY ordinal_position")).scalars()]
    names = ", ".join(columns)
    session.execute(text(
        f"CREATE TEMPORARY TABLE bench_table_write ON COMMIT DROP AS SELECT {names}, version + 1000000 AS version FROM check_ins"
        f" WHERE id IN (SELECT c.id FROM check_ins c JOIN partners p ON p.id = c.partner_id WHERE p.code = 'P1'"
        f" ORDER BY c.period_start DESC, c.account_id LIMIT :rows)"), {"rows": rows})
    with Timer() as timer:
        session.execute(text(f"INSERT INTO check_ins ({names}, version) SELECT {names}, version FROM bench_table_write"))
    session.rollback()
    return timer.seconds


def measure(session, server: Server, accounts: int, rows: int = 10_000, unchanged: int = 5_000) -> list[Row]:
    content = check_in_file(session, rows)
    count = content.count(b"\n") - 1
    floor_seconds = floor(session, content)
    scratch_seconds = scratch_floor(session, content)
    written = table_write(session, count)
    with closing(login(server.base_url, admin_email(1), timeout=1800)) as client:
        up, landed = upload(client, "bench.csv", content)
        shown, page = preview(client, str(landed.url))
        done, _ = commit(client, page)
        again = b"\n".join(content.split(b"\n")[: unchanged + 1]) + b"\n"
        up_again, _ = upload(client, "bench-again.csv", again)
    memory = server.worker_peak_mb()
    first, second = [summary for (summary,) in session.execute(text(
        "SELECT summary FROM import_batches WHERE filename LIKE 'bench%' ORDER BY id DESC LIMIT 2"))][::-1]

    def row(what, seconds, floor_s=floor_seconds, note="", share=1.0):
        slow = " (over gunicorn's default 30 s timeout)" if seconds > 30 else ""
        strict = f"{seconds / (scratch_seconds * share):.1f}× the scratch-table floor ({scratch_seconds * share:.2f} s)"
        return Row(what, accounts, seconds, "s", floor_s, TARGET, seconds < 5 and seconds <= 3 * floor_s,
                   "; ".join(filter(None, (note, strict))) + slow)

    return [row(f"import {count:,} rows: upload + plan", up, note="floor: csv + one executemany INSERT into check_ins"),
            row("… preview page", shown),
            row("… commit", done, note=_plan(first) + f"; the {count:,} check-ins' write alone (INSERT … SELECT into check_ins,"
                f" rolled back) {written:.2f} s" + (f"; gunicorn worker peak {memory:.0f} MB" if memory else "")),
            row(f"re-upload {unchanged:,} unchanged rows: upload + plan", up_again, floor_seconds * unchanged / count,
                note="floor scaled to the rows; " + _plan(second), share=unchanged / count)]


def _plan(summary: dict | None) -> str:
    """What the portal planned for the file, as it stored it with the upload."""
    return ", ".join(f"{v:,} {k}" for k, v in (summary or {}).items() if v) or "no summary stored"
