"""Pages kept whole (portal.core.fragments.page) under the data-change stamp (portal.core.changes):
the database notes every write, by trigger, so a change made any way (form, file, API, a job, a
hand-written UPDATE) shows on the next request; a kept page is served only to the user it was
rendered for, and serving it reads almost nothing."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text, update

from portal.core import fragments
from portal.core.changes import UNTRACKED, DataChange, compact, stamp
from portal.models import Account, Base, ReportingCadence, Segment
from portal.scoring.aggregation import aggregate
from tests import factories
from tests.test_review_pages import counted

DAY = date(2026, 11, 23)


@pytest.fixture(autouse=True)
def _day(today_is):
    today_is(DAY)


def test_every_table_notes_its_changes_but_the_few_listed_with_their_reason(db):
    if db.get_bind().dialect.name == "postgresql":
        found = db.execute(text("SELECT event_object_table, event_manipulation FROM information_schema.triggers"
                                " WHERE trigger_name LIKE 'data_change_%'")).all()
    else:
        found = [(table, name.split("_")[2].upper()) for name, table in db.execute(text(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'data_change_%'"))]
    tracked = {(table, event) for table, event in found}
    expected = {(t, e) for t in Base.metadata.tables if t not in UNTRACKED for e in ("INSERT", "UPDATE", "DELETE")}
    assert tracked == expected  # a new table needs its triggers (a migration), or a line in UNTRACKED saying why not


def test_a_write_moves_the_stamp_of_the_partner_it_touches_and_of_no_other(db, tenants):
    a, b = tenants.partner_a.id, tenants.partner_b.id
    before = {a: stamp(db, a), b: stamp(db, b)}
    tenants.account_a.name = "Renamed KK"  # through the ORM
    db.commit()
    assert stamp(db, a) > before[a] and stamp(db, b) == before[b]
    before = {a: stamp(db, a), b: stamp(db, b)}
    db.execute(text("UPDATE accounts SET seats = seats + 1 WHERE partner_id = :b"), {"b": b})  # by hand
    db.commit()
    assert stamp(db, a) == before[a] and stamp(db, b) > before[b]
    before = {a: stamp(db, a), b: stamp(db, b)}
    db.execute(update(Account).where(Account.id == tenants.account_b.id).values(partner_id=a))  # moved: both
    db.commit()
    assert stamp(db, a) > before[a] and stamp(db, b) > before[b]
    before = {a: stamp(db, a), b: stamp(db, b), None: stamp(db, None)}
    db.execute(update(ReportingCadence).where(ReportingCadence.segment == Segment.LOW_TOUCH).values(grace_days=9))
    db.commit()  # a vendor setting: every partner's pages
    assert all(stamp(db, p) > n for p, n in before.items())
    before = {a: stamp(db, a), b: stamp(db, b)}
    db.execute(text("UPDATE accounts SET seats = seats + 1 WHERE partner_id = :b"), {"b": b})
    db.rollback()  # nothing written, nothing noted
    assert (stamp(db, a), stamp(db, b)) == (before[a], before[b])


def test_compacting_leaves_one_row_a_partner_and_every_stamp_as_it_was(db, tenants):
    for n in range(3):
        factories.account(db, tenants.partner_a, name=f"More {n}")
        factories.account(db, tenants.partner_b, name=f"More B {n}")
    stamps = {p: stamp(db, p) for p in (tenants.partner_a.id, tenants.partner_b.id, None)}
    assert compact(db) > 0
    assert {p: stamp(db, p) for p in stamps} == stamps
    partners = list(db.scalars(select(DataChange.partner_id)))
    assert len(partners) == len(set(partners))
    assert compact(db) == 0


def test_a_kept_home_page_is_served_in_a_few_queries_and_shows_a_change_made_by_hand_at_once(app, db, browser, tenants):
    reseller = browser(tenants.admin_a)
    assert "Alpha Customer KK" in reseller.get("/home").get_data(as_text=True)
    with counted(app) as statements:
        html = reseller.get("/home").get_data(as_text=True)
    assert "Alpha Customer KK" in html
    assert len(statements) <= 3  # the user, the stamp (and nothing of the page's own)
    db.execute(text("UPDATE accounts SET name = 'Alpha Renamed KK' WHERE id = :id"), {"id": tenants.account_a.id})
    db.commit()
    html = reseller.get("/home").get_data(as_text=True)
    assert "Alpha Renamed KK" in html and "Alpha Customer KK" not in html


def test_another_partners_change_keeps_the_page_and_a_kept_page_is_only_for_its_viewer(app, db, browser, tenants):
    factories.action_item(db, tenants.account_a, title="Only for the user", owner_id=tenants.user_a.id)
    admin, user = browser(tenants.admin_a), browser(tenants.user_a)
    assert admin.get("/home").status_code == 200  # kept for the admin first
    kept = len(fragments.pages(app))
    mine = user.get("/home").get_data(as_text=True)
    assert len(fragments.pages(app)) == kept + 1  # the user's own page, not the admin's
    assert "Only for the user" in mine
    tenants.account_b.name = "Bravo Renamed"
    db.commit()
    with counted(app) as statements:
        again = user.get("/home").get_data(as_text=True)
    assert again == mine and len(statements) <= 3  # partner B's change leaves partner A's page kept


def test_the_scorecard_and_lists_show_a_change_at_once_for_the_vendor_and_the_reseller(app, db, browser, tenants):
    assert aggregate(db, DAY).status == "done"
    vendor, reseller = browser(tenants.vendor_admin), browser(tenants.admin_a)
    pages = {vendor: [f"/partners/{tenants.partner_a.id}/scorecard", "/accounts", "/channel", "/voice-of-customer"],
             reseller: [f"/partners/{tenants.partner_a.id}/scorecard", "/accounts", "/voice-of-customer"]}
    for person, urls in pages.items():
        for url in urls:
            assert person.get(url).status_code == 200
    factories.action_item(db, tenants.account_a, title="Call the new sponsor")
    factories.account(db, tenants.partner_a, name="Newcomer KK")
    for person in pages:
        assert "Call the new sponsor" in person.get(f"/partners/{tenants.partner_a.id}/scorecard").get_data(as_text=True)
        assert "Newcomer KK" in person.get("/accounts").get_data(as_text=True)
    check_in = factories.check_in(db, tenants.account_a, period_start=tenants.check_in_a.period_start, version=2)
    db.execute(text("INSERT INTO voc_items (check_in_id, account_id, partner_id, kind, text, status, in_force)"
                    " VALUES (:c, :a, :p, 'request', 'Please add a Kanban view', 'new', :t)"),
               {"c": check_in.id, "a": tenants.account_a.id, "p": tenants.partner_a.id, "t": True})
    db.commit()
    for person in pages:
        assert "Please add a Kanban view" in person.get("/voice-of-customer").get_data(as_text=True)
