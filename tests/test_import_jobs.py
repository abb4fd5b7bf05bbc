"""Check-in files at channel scale: a file costs as many statements for 1,000 rows as for 10, the
plan is made once at upload and read by the preview and the commit, a plan that went out of date
is caught, and a big file is planned and committed by the scheduler process while its page shows
how far it has got."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from sqlalchemy import func, insert, select, update

from portal.core.clock import utcnow
from portal.models import Account, CheckIn, ImportBatch, LifecycleStatus, ReportSource, Segment, Sentiment, User, VocItem
from portal.reporting import imports
from portal.reporting.checkins import parse_check_in, submit_check_in
from portal.reporting.cadence import cadence_rules
from portal.scheduler import run_imports
from tests.readback import latest
from tests.test_imports import APRIL, JULY, check_in_count, commit, csv_file, preview, read_preview, row, upload, versions
from tests.test_review_pages import counted

NOW = date(2026, 11, 20)


def many_accounts(db, partner, n: int, prefix: str) -> list[str]:
    """n low-touch accounts of the partner, each with a July check-in (version 1)."""
    references = [f"{prefix}{i:05d}" for i in range(n)]
    start = datetime(2025, 4, 1, tzinfo=timezone.utc)
    db.execute(insert(Account), [{"partner_id": partner.id, "reference": ref, "name": f"Customer {ref}", "segment": Segment.LOW_TOUCH,
                                  "seats": 20, "arr_jpy": 1_000_000, "contract_start": date(2025, 4, 1), "status": LifecycleStatus.ACTIVE,
                                  "created_at": start, "updated_at": start} for ref in references])
    ids = db.execute(select(Account.id, Account.reference).where(Account.reference.in_(references))).all()
    db.execute(insert(CheckIn), [{"account_id": account_id, "partner_id": partner.id, "period_start": JULY, "version": 1,
                                  "source": ReportSource.FORM, "sentiment": Sentiment.GREEN, "nps": 5} for account_id, _ in ids])
    db.commit()
    return references


def file_rows(references: list[str]) -> bytes:
    """For each account: a correction of July with a risk and a voice of the customer, and a new April."""
    rows = []
    for i, ref in enumerate(references):
        rows.append(row({"Reference": ref, "Risk type": "budget", "Risk severity": "high", "Product area": "Reports",
                         "Customer voice type": "request", "Customer voice": "CSV export"}))
        # Rows leave different cells blank (a writer must not split them by their blanks).
        rows.append(row({"Reference": ref, "Period": "2026-04", "NPS": "" if i % 2 else "8", "Note": "" if i % 3 else "Met"}))
    return csv_file(*rows)


def test_a_file_costs_as_many_statements_for_1000_rows_as_for_10_to_plan_and_to_commit(app, db, tenants):
    plans, commits = [], []
    for n in (5, 500):  # two rows an account: 10 and 1,000 rows
        references = many_accounts(db, tenants.partner_a, n, prefix=f"Q{n}-")
        sheet = imports.read_file(file_rows(references), "many.csv")
        with counted(app) as statements:
            plan = imports.plan_import(db, tenants.partner_a, sheet, NOW)
        plans.append(len(statements))
        assert plan.ok, plan.errors[:3]
        assert (plan.count("correction"), plan.count("new_report")) == (n, n)
        db.rollback()
        with counted(app) as statements:
            imports.commit_import(db, tenants.partner_a, sheet, NOW, tenants.user_a, plan=plan)
        commits.append(len(statements))
        written = latest(db).scalar(select(func.count()).select_from(CheckIn).join(Account)
                                    .where(Account.reference.in_(references), CheckIn.source == ReportSource.FILE))
        assert written == 2 * n
        assert latest(db).scalar(select(func.count()).select_from(VocItem).join(Account)
                                 .where(Account.reference.in_(references), VocItem.product_area_id.is_not(None))) == n
    assert plans[0] == plans[1], f"planning: {plans[0]} statements for 10 rows, {plans[1]} for 1,000"
    assert commits[0] == commits[1], f"committing: {commits[0]} statements for 10 rows, {commits[1]} for 1,000"


def test_the_preview_and_the_commit_read_the_plan_made_at_upload(db, browser, tenants, monkeypatch):
    b = browser(tenants.user_a)
    page = preview(b, csv_file(row(Period="2026-04"), row()))

    def no_second_plan(*_args, **_kwargs):
        raise AssertionError("the file was planned again")

    monkeypatch.setattr(imports, "plan_import", no_second_plan)
    again = read_preview(b.get(page.url), page.url)
    assert again.actions == ["New check-in", "New check-in"]
    assert "Imported: 2 new check-ins, 0 corrections, 0 new accounts; 0 rows unchanged." in commit(b, page)
    assert [c.version for c in versions(db, tenants.account_a, JULY)] == [1]


def test_a_check_in_written_after_the_preview_makes_the_commit_plan_again_and_write_nothing(db, browser, tenants):
    b = browser(tenants.user_a)
    page = preview(b, csv_file(row(Period="2026-04"), row({"NPS": "9"})))
    assert page.actions == ["New check-in", "New check-in"]

    # Meanwhile, a colleague reports July on the form.
    account = latest(db).get(Account, tenants.account_a.id)
    data = parse_check_in({"period": "2026-07", "sentiment": "green", "nps": "3"}, rule=cadence_rules(db)[account.segment],
                          today=NOW, seats=account.seats, contract_start=account.contract_start, features=[])
    submit_check_in(db, account, data, source=ReportSource.FORM, user=tenants.admin_a)
    db.commit()

    flashes = commit(b, page)
    assert any("changed after the preview, so nothing was imported" in f for f in flashes), flashes
    assert [c.nps for c in versions(db, tenants.account_a, JULY)] == [3]
    assert versions(db, tenants.account_a, APRIL) == []
    # The preview now says what the file would do today, and importing it works.
    fresh = read_preview(b.get(page.url), page.url)
    assert fresh.actions == ["New check-in", "Correction (new version)"]
    assert "Imported: 1 new check-ins, 1 corrections, 0 new accounts; 0 rows unchanged." in commit(b, fresh)
    assert [c.nps for c in versions(db, tenants.account_a, JULY)] == [3, 9]


def batch_of(db, url: str) -> ImportBatch:
    return latest(db).get(ImportBatch, int(url.rsplit("/", 1)[1]))


def test_a_big_file_is_planned_and_committed_by_the_scheduler_while_its_page_shows_progress(app, db, browser, tenants, monkeypatch):
    app.config["PORTAL"].import_job_rows = 2
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 1)
    b = browser(tenants.user_a)
    before = check_in_count(db)
    response = upload(b, csv_file(row(Period="2026-01"), row(Period="2026-04"), row()))
    assert response.status_code == 302
    url = response.location
    html = b.get(url).get_data(as_text=True)
    assert '<meta http-equiv="refresh"' in html and "0 of 3 rows checked" in html
    assert batch_of(db, url).status == "queued"

    seen = []  # the progress the page would show while the job plans each row
    real_parse = imports.parse_check_in

    def watching(*args, **kwargs):
        seen.append(batch_of(db, url).rows_planned)
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(imports, "parse_check_in", watching)
    run_imports(app)
    assert seen == [0, 1, 2]
    page = read_preview(b.get(url), url)
    assert '<meta http-equiv="refresh"' not in page.html
    assert page.actions == ["New check-in", "New check-in", "New check-in"] and page.can_commit

    response = b.post(url + "/commit")
    assert response.status_code == 302 and response.location == url
    html = b.get(url).get_data(as_text=True)
    assert '<meta http-equiv="refresh"' in html and "Importing 3 rows" in html
    assert check_in_count(db) == before

    run_imports(app)
    html = b.get(url).get_data(as_text=True)
    assert "Imported on" in html and '<meta http-equiv="refresh"' not in html
    assert batch_of(db, url).status == "committed"
    assert check_in_count(db) == before + 3


def test_a_big_file_whose_commit_fails_writes_nothing_and_its_page_says_why(app, db, browser, tenants, monkeypatch):
    app.config["PORTAL"].import_job_rows = 1
    tenants.partner_a.imports_create_accounts = True
    db.commit()
    b = browser(tenants.user_a)
    before_check_ins, before_accounts = check_in_count(db), latest(db).scalar(select(func.count()).select_from(Account))
    new = {"Reference": "N-7", "Customer name": "Newco", "Segment": "high_touch", "Period": "2026-10"}
    url = upload(b, csv_file(row(Segment=""), row(new))).location
    run_imports(app)
    assert b.post(url + "/commit").status_code == 302

    def failing(*_args, **_kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(imports, "submit_check_ins", failing)
    run_imports(app)
    html = b.get(url).get_data(as_text=True)
    assert "This file could not be imported" in html and "the disk is full" in html
    assert '<meta http-equiv="refresh"' not in html
    assert batch_of(db, url).status == "failed"
    assert check_in_count(db) == before_check_ins
    assert latest(db).scalar(select(func.count()).select_from(Account)) == before_accounts  # the new account was rolled back too
    assert b.post(url + "/commit").status_code == 302  # a failed batch is not committed again
    assert check_in_count(db) == before_check_ins


def dies_while(db, url: str, status: str) -> None:
    """A scheduler process claims the batch (with its heartbeat, as run_imports does) and dies."""
    db.execute(update(ImportBatch).where(ImportBatch.id == batch_of(db, url).id).values(status=status, heartbeat_at=utcnow()))
    db.commit()


STALLED = "Stalled: the scheduler process has not reported on this file for more than 5 minutes."


def test_a_file_whose_scheduler_died_while_planning_is_shown_stalled_then_taken_up_again(app, db, browser, tenants, clock):
    clock.move_to(clock.today())  # noon: the wait for a stalled job must not cross midnight (a new day plans the file again)
    app.config["PORTAL"].import_job_rows = 1
    b = browser(tenants.user_a)
    url = upload(b, csv_file(row(Period="2026-04"), row())).location
    dies_while(db, url, "planning")

    run_imports(app)  # another scheduler leaves a job whose process is still reporting
    assert batch_of(db, url).status == "planning"
    html = b.get(url).get_data(as_text=True)
    assert "Checking the file" in html and "Stalled" not in html

    clock.shift(imports.STALLED_AFTER + timedelta(seconds=1))
    html = b.get(url).get_data(as_text=True)
    assert STALLED in html and "Nothing from it has been saved" in html and '<meta http-equiv="refresh"' in html

    run_imports(app)
    page = read_preview(b.get(url), url)
    assert "Stalled" not in page.html and page.actions == ["New check-in", "New check-in"] and page.can_commit


def test_a_commit_taken_up_again_writes_the_file_once(app, db, browser, tenants, clock):
    clock.move_to(clock.today())  # noon: the wait for a stalled job must not cross midnight (a new day plans the file again)
    app.config["PORTAL"].import_job_rows = 1
    b = browser(tenants.user_a)
    before = check_in_count(db)
    url = upload(b, csv_file(row(Period="2026-04"), row())).location
    run_imports(app)
    assert b.post(url + "/commit").status_code == 302
    dies_while(db, url, "committing")
    with app.extensions["portal.sessionmaker"]() as dying:  # what the dead process had read
        found = dying.get_one(ImportBatch, batch_of(db, url).id)
        dying.expunge(found)

    clock.shift(imports.STALLED_AFTER + timedelta(seconds=1))
    assert STALLED in b.get(url).get_data(as_text=True)
    run_imports(app)
    assert batch_of(db, url).status == "committed"
    assert check_in_count(db) == before + 2

    # The process was not dead after all, only silent: its commit writes nothing and keeps the batch committed.
    with app.extensions["portal.sessionmaker"]() as late:
        with pytest.raises(imports.TakenOver):
            imports.commit_batch(late, late.merge(found, load=False), NOW, late.get_one(User, tenants.user_a.id))
    assert batch_of(db, url).status == "committed"
    assert check_in_count(db) == before + 2
    assert "Imported on" in b.get(url).get_data(as_text=True)


def test_a_stored_plan_reads_back_equal_and_a_plan_stored_in_the_earlier_format_still_reads(db, tenants):
    tenants.partner_a.imports_create_accounts = True
    db.commit()
    blank_account = {"Segment": "", "Seats": "", "Contract start": ""}
    sheet = imports.read_file(csv_file(
        row({"Sentiment (green/yellow/red)": "red", "Sentiment reason": "Budget freeze", "Risk type": "budget", "Risk severity": "high",
             "CSAT": "4.2", "Renewal likelihood": "unsure", **blank_account}),
        row({"Period": "2026-04", "NPS": "", "Note": "", **blank_account}),
        row({"Reference": "N-7", "Customer name": "Newco", "Segment": "low_touch", "Seats": "30", "Contract start": "2025/04/01"}),
    ), "plan.csv")
    plan = imports.plan_import(db, tenants.partner_a, sheet, NOW)
    assert plan.ok, plan.errors
    assert [r.action for r in plan.rows] == ["new_report", "new_report", "create_account"]

    def fields(p):
        return [(r.row, r.reference, r.account_name, r.action, r.period_key, r.data, r.new_account, r.account_values,
                 r.account_changes, r.version) for r in p.rows]

    again = imports.ImportPlan.from_json(plan.to_json())
    assert fields(again) == fields(plan) and again.summary() == plan.summary()
    assert plan.rows[0].data.risks[0].severity.value == "high" and again.rows[0].data.csat == 4.2
    # The preview's reading leaves out the check-in values only: what each row does, and the counts, are the same.
    shown = imports.ImportPlan.from_json(plan.to_json(), check_ins=False)
    assert [f[:5] + f[6:] for f in fields(shown)] == [f[:5] + f[6:] for f in fields(plan)] and shown.summary() == plan.summary()
    assert all(r.data is None for r in shown.rows) and shown.rows_to_write() == plan.rows_to_write()
    # A batch previewed before this release keeps its plan as objects: it still reads the same.
    earlier = plan.to_json() | {"rows": [
        {"row": r.row, "reference": r.reference, "account_name": r.account_name, "action": r.action, "period_key": r.period_key,
         "data": r.data.to_json() if r.data else None,
         "new_account": r.new_account and r.new_account | {"values": imports._values_to_json(r.new_account["values"])},
         "account_values": imports._values_to_json(r.account_values), "account_changes": r.account_changes, "version": r.version}
        for r in plan.rows]}
    assert fields(imports.ImportPlan.from_json(earlier)) == fields(plan)


def test_a_queued_file_wakes_the_scheduler_at_once_and_a_rolled_back_one_does_not(app, db, browser, tenants):
    """On PostgreSQL the upload and the confirmed commit of a big file wake the scheduler's
    import job (NOTIFY, delivered on commit) instead of leaving it to the next tick."""
    import time

    from portal.scheduler import build_scheduler, wake_on_request

    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("the wake-up travels by PostgreSQL's NOTIFY; on SQLite the job's tick picks the file up")
    app.config["PORTAL"].import_job_rows = 2
    scheduler = build_scheduler(app, blocking=False)  # not started: a job told to run now shows its next run time
    stop = wake_on_request(app, scheduler)
    try:
        time.sleep(0.3)  # listening

        def heard(seconds: float) -> bool:
            deadline = time.monotonic() + seconds
            while getattr(scheduler.get_job("import-jobs"), "next_run_time", None) is None and time.monotonic() < deadline:
                time.sleep(0.05)
            return getattr(scheduler.get_job("import-jobs"), "next_run_time", None) is not None

        imports.store_upload(db, tenants.partner_a, tenants.user_a, "big.csv", b"x", imports.read_file(
            csv_file(row(), row(Period="2026-04"), row(Period="2026-01")), "big.csv"), NOW, job_rows=2)
        db.rollback()  # nothing queued: nobody is woken
        assert not heard(1.0)

        response = upload(browser(tenants.user_a), csv_file(row(), row(Period="2026-04"), row(Period="2026-01")))
        assert response.status_code == 302
        assert heard(5.0)
        assert getattr(scheduler.get_job("model-fits"), "next_run_time", None) is None  # only the job the work is for
    finally:
        stop.set()
