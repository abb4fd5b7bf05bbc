"""Playbooks: the vendor admin's ordered steps per kind of item; a new item copies them; either
side ticks them off with who and when; editing a playbook never rewrites an item's steps."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.actions.playbooks import MAX_STEPS, copy_steps
from portal.core import clock
from portal.models import (
    ActionEvent, ActionEventKind, ActionItem, ActionKind, ActionStatus, ActionStep, AuditAction, AuditEvent, Playbook,
    PlaybookStep,
)
from tests import factories
from tests.pages import parse
from tests.readback import latest
from tests.test_review_pages import counted

DAY = date(2026, 11, 20)


def rows(*steps: dict) -> dict:
    """The playbook form's fields for these rows (title, title_ja, note, note_ja, position, remove)."""
    data = {}
    for n, step in enumerate(steps):
        for name, value in step.items():
            data[f"steps-{n}-{name}"] = value
    return data


RED_STEPS = rows({"position": "1", "title": "Call the champion", "title_ja": "チャンピオンに電話する", "note": "Ask what changed"},
                 {"position": "2", "title": "Agree a recovery plan with a date"},
                 {"position": "3", "title": "Log the plan as an outcome", "note_ja": "成果メモに記入"},
                 {"position": "4"})  # the blank row the page leaves for adding one


def stored(db, kind: ActionKind) -> list[tuple]:
    return latest(db).execute(select(PlaybookStep.position, PlaybookStep.title, PlaybookStep.title_ja, PlaybookStep.note,
                                     PlaybookStep.note_ja).join(Playbook).where(Playbook.kind == kind)
                              .order_by(PlaybookStep.position)).all()


def item_steps(db, item_id: int) -> list[tuple]:
    return latest(db).execute(select(ActionStep.position, ActionStep.title, ActionStep.title_ja, ActionStep.done_by_id)
                              .where(ActionStep.item_id == item_id).order_by(ActionStep.position)).all()


def audited(db, since: int) -> list[AuditEvent]:
    return latest(db).scalars(select(AuditEvent).where(AuditEvent.id > since, AuditEvent.action == AuditAction.PLAYBOOK_SAVED)).all()


def last_audit_id(db) -> int:
    return latest(db).scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))


def save(db, kind: ActionKind, *titles: str) -> None:
    """A playbook arranged directly (the admin page is tested on its own)."""
    db.add(Playbook(kind=kind, steps=[PlaybookStep(position=n, title=t, title_ja=f"{t}（日本語）")
                                      for n, t in enumerate(titles, start=1)]))
    db.commit()


def test_the_vendor_admin_adds_reorders_edits_and_removes_steps_audited(db, browser, tenants):
    admin = browser(tenants.vendor_admin)
    since = last_audit_id(db)
    response = admin.post("/rules/playbooks/turned_red", RED_STEPS)
    assert response.status_code == 302
    assert stored(db, ActionKind.TURNED_RED) == [
        (1, "Call the champion", "チャンピオンに電話する", "Ask what changed", None),
        (2, "Agree a recovery plan with a date", None, None, None),
        (3, "Log the plan as an outcome", None, None, "成果メモに記入"),
    ]
    (event,) = audited(db, since)
    assert (event.actor_id, event.target_label) == (tenants.vendor_admin.id, "turned_red")
    assert event.changes["steps"] == [[], ["Call the champion / チャンピオンに電話する (Ask what changed)",
                                           "Agree a recovery plan with a date", "Log the plan as an outcome (成果メモに記入)"]]
    log = admin.get("/audit").get_data(as_text=True)
    assert "Playbook saved" in log and "Call the champion / チャンピオンに電話する (Ask what changed)" in log

    # The form shows the steps as stored, with blank rows to add more.
    page = parse(admin.get("/rules/playbooks/turned_red"))
    assert [page.value(f"steps-{n}-title") for n in range(3)] == ["Call the champion", "Agree a recovery plan with a date",
                                                                  "Log the plan as an outcome"]
    assert page.value("steps-3-title") in (None, "") and page.value("steps-3-position") == "4"

    # Reorder by number (the third first; a full-width ２ as typed in Japanese), edit one, remove one, add one.
    since = last_audit_id(db)
    response = admin.post("/rules/playbooks/turned_red", rows(
        {"position": "２", "title": "Call the champion"},
        {"position": "3", "title": "Agree a recovery plan", "remove": "y"},
        {"position": "1", "title": "Log the plan as an outcome", "note_ja": "成果メモに記入"},
        {"position": "9", "title": "Check again in a month"}))
    assert response.status_code == 302
    assert [(p, t) for p, t, *_ in stored(db, ActionKind.TURNED_RED)] == [
        (1, "Log the plan as an outcome"), (2, "Call the champion"), (3, "Check again in a month")]
    assert len(audited(db, since)) == 1

    # Saving the same steps again changes nothing and logs nothing.
    since = last_audit_id(db)
    again = parse(admin.get("/rules/playbooks/turned_red")).values
    assert admin.post("/rules/playbooks/turned_red", {k: v[0] for k, v in again.items() if k != "csrf_token"}).status_code == 302
    assert audited(db, since) == []

    listing = admin.get("/rules/playbooks").get_data(as_text=True)
    assert listing.index("Log the plan as an outcome") < listing.index("Call the champion") < listing.index("Check again in a month")


@pytest.mark.parametrize("row, field, message", [
    ({"note": "Ask what changed"}, "steps-0-title", "Give the step a title in English"),
    ({"title_ja": "電話する"}, "steps-0-title", "Give the step a title in English"),
    ({"title": "x" * 201}, "steps-0-title", "at most 200 characters"),
    ({"title": "Call", "note": "n" * 2001}, "steps-0-note", "at most 2000 characters"),
    ({"title": "Call", "position": "first"}, "steps-0-position", "from 1 to 99"),
    ({"title": "Call", "position": "0"}, "steps-0-position", "from 1 to 99"),
    ({"title": "Call", "position": "１００"}, "steps-0-position", "from 1 to 99"),
])
def test_a_bad_row_is_refused_at_its_field_and_nothing_changes(db, browser, tenants, row, field, message):
    save(db, ActionKind.RENEWAL_AT_RISK, "Confirm the renewal date")
    admin = browser(tenants.vendor_admin)
    since = last_audit_id(db)
    response = admin.post("/rules/playbooks/renewal_at_risk", rows({"position": "1", **row} if "position" not in row else row))
    assert response.status_code == 400
    assert message in parse(response).errors[field]
    assert [t for _p, t, *_ in stored(db, ActionKind.RENEWAL_AT_RISK)] == ["Confirm the renewal date"]
    assert audited(db, since) == []


def test_a_playbook_holds_at_most_ten_steps(db, browser, tenants):
    admin = browser(tenants.vendor_admin)
    response = admin.post("/rules/playbooks/request", rows(*({"title": f"Step {n}"} for n in range(MAX_STEPS + 1))))
    assert response.status_code == 400
    assert "at most 10 steps" in parse(response).errors[f"steps-{MAX_STEPS}-title"]
    assert stored(db, ActionKind.REQUEST) == []
    assert admin.post("/rules/playbooks/request", rows(*({"title": f"Step {n}"} for n in range(MAX_STEPS)))).status_code == 302
    assert len(stored(db, ActionKind.REQUEST)) == MAX_STEPS


def test_partner_managers_read_playbooks_and_only_the_vendor_admin_edits(db, browser, tenants):
    save(db, ActionKind.CHECK_IN_OVERDUE, "Ask the customer for the figures", "Submit the check-in")
    manager = browser(tenants.partner_manager)
    page = manager.get("/rules/playbooks").get_data(as_text=True)
    assert "Ask the customer for the figures" in page and "/rules/playbooks/check_in_overdue" not in page
    assert manager.post("/rules/playbooks/check_in_overdue", rows({"title": "Changed"})).status_code == 403
    assert browser(tenants.admin_a).post("/rules/playbooks/check_in_overdue", rows({"title": "Changed"})).status_code == 403
    assert [t for _p, t, *_ in stored(db, ActionKind.CHECK_IN_OVERDUE)] == ["Ask the customer for the figures", "Submit the check-in"]
    assert browser(tenants.vendor_admin).get("/rules/playbooks/no_such_kind").status_code == 404


def test_a_new_item_copies_the_steps_and_a_later_edit_leaves_them(db, browser, tenants):
    save(db, ActionKind.REQUEST, "Agree what is asked", "Do it and comment")
    manager = browser(tenants.partner_manager)
    new = {"title": "Please run a training session", "details": "", "owner_id": "0", "due_on": ""}
    assert manager.post(f"/accounts/{tenants.account_a.id}/actions/new", new).status_code == 302
    first = latest(db).scalar(select(ActionItem.id).where(ActionItem.title == new["title"]))
    assert item_steps(db, first) == [(1, "Agree what is asked", "Agree what is asked（日本語）", None),
                                     (2, "Do it and comment", "Do it and comment（日本語）", None)]
    assert latest(db).scalar(select(ActionStep.partner_id).where(ActionStep.item_id == first)) == tenants.partner_a.id

    response = browser(tenants.vendor_admin).post("/rules/playbooks/request", rows({"title": "One new step"}))
    assert response.status_code == 302
    assert [t for _p, t, *_ in item_steps(db, first)] == ["Agree what is asked", "Do it and comment"], "an open item keeps its steps"
    assert manager.post(f"/accounts/{tenants.account_a.id}/actions/new", {**new, "title": "Second"}).status_code == 302
    second = latest(db).scalar(select(ActionItem.id).where(ActionItem.title == "Second"))
    assert [t for _p, t, *_ in item_steps(db, second)] == ["One new step"]


def test_copy_steps_gives_each_selected_item_its_kinds_steps_in_one_statement(app, db, tenants):
    save(db, ActionKind.TURNED_RED, "Call the champion", "Agree a plan")
    red_a = factories.action_item(db, tenants.account_a, kind=ActionKind.TURNED_RED)
    red_b = factories.action_item(db, tenants.account_b, kind=ActionKind.TURNED_RED)
    renewal = factories.action_item(db, tenants.account_a, kind=ActionKind.RENEWAL_AT_RISK)  # no playbook for its kind
    left_out = factories.action_item(db, factories.account(db, tenants.partner_b), kind=ActionKind.TURNED_RED, title="Not selected")
    chosen = select(ActionItem.id).where(ActionItem.id.in_([red_a.id, red_b.id, renewal.id]))
    db.execute(select(1))  # the transaction under way, so that only copy_steps' own statements are counted
    with counted(app) as statements:
        copy_steps(db, chosen)
    db.commit()
    assert len(statements) == 1
    got = latest(db).execute(select(ActionStep.item_id, ActionStep.partner_id, ActionStep.position, ActionStep.title)
                             .order_by(ActionStep.item_id, ActionStep.position)).all()
    assert got == [(red_a.id, tenants.partner_a.id, 1, "Call the champion"), (red_a.id, tenants.partner_a.id, 2, "Agree a plan"),
                   (red_b.id, tenants.partner_b.id, 1, "Call the champion"), (red_b.id, tenants.partner_b.id, 2, "Agree a plan")]
    assert left_out.id not in {row.item_id for row in got}


def _item_with_steps(db, tenants, **kw):
    save(db, ActionKind.REQUEST, "Agree what is asked", "Do it and comment")
    item = factories.action_item(db, tenants.account_a, **kw)
    copy_steps(db, select(ActionItem.id).where(ActionItem.id == item.id))
    db.commit()
    steps = latest(db).scalars(select(ActionStep).where(ActionStep.item_id == item.id).order_by(ActionStep.position)).all()
    return item, steps


def step_events(db, item_id: int) -> list[tuple]:
    return latest(db).execute(select(ActionEvent.event, ActionEvent.actor_id, ActionEvent.data)
                              .where(ActionEvent.item_id == item_id).order_by(ActionEvent.id)).all()


def test_either_side_ticks_and_undoes_a_step_recording_who_and_when(db, browser, tenants, today_is):
    today_is(DAY)
    item, (first, second) = _item_with_steps(db, tenants)
    reseller, manager = browser(tenants.user_a), browser(tenants.partner_manager)
    before = clock.utcnow()
    response = reseller.post(f"/actions/{item.id}/steps/{first.id}", {"done": "1"})
    assert response.status_code == 302 and response.location.endswith(f"/actions/{item.id}#steps")
    done = latest(db).get(ActionStep, first.id)
    assert done.done_by_id == tenants.user_a.id and before <= done.done_at <= clock.utcnow() + timedelta(seconds=1)
    assert step_events(db, item.id) == [(ActionEventKind.STEP_DONE, tenants.user_a.id, {"step_id": first.id, "position": 1})]

    # The other side sees progress and who did it; a second click of a stale page changes nothing.
    page = manager.get(f"/actions/{item.id}").get_data(as_text=True)
    assert "1 of 2 steps done" in page and f"Done by {tenants.user_a.display_name}" in page
    assert '<progress max="2" value="1"' in page
    assert reseller.post(f"/actions/{item.id}/steps/{first.id}", {"done": "1"}).status_code == 302
    assert len(step_events(db, item.id)) == 1

    assert manager.post(f"/actions/{item.id}/steps/{first.id}", {"done": "0"}).status_code == 302
    assert manager.post(f"/actions/{item.id}/steps/{second.id}", {"done": "1"}).status_code == 302
    steps = item_steps(db, item.id)
    assert [s.done_by_id for s in steps] == [None, tenants.partner_manager.id]
    assert [(e, actor) for e, actor, _data in step_events(db, item.id)] == [
        (ActionEventKind.STEP_DONE, tenants.user_a.id), (ActionEventKind.STEP_UNDONE, tenants.partner_manager.id),
        (ActionEventKind.STEP_DONE, tenants.partner_manager.id)]
    assert "1 of 2 steps done" in reseller.get(f"/actions/{item.id}").get_data(as_text=True)


def test_ticking_a_closed_items_step_is_refused_with_a_message(db, browser, tenants):
    item, (first, _second) = _item_with_steps(db, tenants, status=ActionStatus.DONE, resolution="Done by phone")
    reseller = browser(tenants.user_a)
    page = reseller.get(f"/actions/{item.id}").get_data(as_text=True)
    assert "0 of 2 steps done" in page and f"/actions/{item.id}/steps/" not in page, "no tick buttons on a closed item"
    response = reseller.post(f"/actions/{item.id}/steps/{first.id}", {"done": "1"})
    assert response.status_code == 409
    assert "This item is closed" in " ".join(parse(response).flash_texts("error"))
    assert latest(db).get(ActionStep, first.id).done_at is None and step_events(db, item.id) == []
    bad = reseller.post(f"/actions/{tenants.item_a.id}/steps/{first.id}", {"done": "maybe"})
    assert bad.status_code == 404, "a step is reached through its own item only"


def test_a_done_value_other_than_1_or_0_is_refused(db, browser, tenants):
    item, (first, _second) = _item_with_steps(db, tenants)
    response = browser(tenants.user_a).post(f"/actions/{item.id}/steps/{first.id}", {"done": "yes please"})
    assert response.status_code == 400 and parse(response).flash_texts("error")
    assert latest(db).get(ActionStep, first.id).done_at is None


def test_a_reseller_never_ticks_or_sees_another_partners_steps(db, browser, tenants):
    item, (first, _second) = _item_with_steps(db, tenants)
    other = browser(tenants.admin_b)
    assert other.post(f"/actions/{item.id}/steps/{first.id}", {"done": "1"}).status_code == 404
    assert other.get(f"/actions/{item.id}").status_code == 404
    own_item_b = factories.action_item(latest(db), tenants.account_b)
    assert other.post(f"/actions/{own_item_b.id}/steps/{first.id}", {"done": "1"}).status_code == 404
    assert latest(db).get(ActionStep, first.id).done_at is None and step_events(db, item.id) == []


def test_steps_show_in_the_readers_language_falling_back_to_english(db, browser, tenants):
    item, (first, second) = _item_with_steps(db, tenants)
    second.title_ja = None
    db.commit()
    tenants.user_a.language = "ja"
    db.add(tenants.user_a)
    db.commit()
    page = browser(tenants.user_a).get(f"/actions/{item.id}").get_data(as_text=True)
    assert "Agree what is asked（日本語）" in page and "Do it and comment" in page
    english = browser(tenants.admin_a).get(f"/actions/{item.id}").get_data(as_text=True)
    assert "（日本語）" not in english and "Agree what is asked" in english


def test_the_item_page_reads_the_same_number_of_statements_however_many_steps_are_done(app, db, browser, tenants):
    save(db, ActionKind.REQUEST, *(f"Step {n}" for n in range(1, 9)))
    people = [tenants.user_a, tenants.admin_a, tenants.partner_manager, tenants.vendor_admin]
    counts = []
    for done in (1, 8):
        item = factories.action_item(db, tenants.account_a)
        copy_steps(db, select(ActionItem.id).where(ActionItem.id == item.id))
        db.commit()
        for n, step in enumerate(latest(db).scalars(select(ActionStep).where(ActionStep.item_id == item.id)
                                                    .order_by(ActionStep.position)).all()[:done]):
            step.done_at, step.done_by_id = clock.utcnow(), people[n % len(people)].id
        db.commit()
        b = browser(tenants.user_a)
        with counted(app) as statements:
            assert b.get(f"/actions/{item.id}").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_the_demo_has_a_playbook_per_kind_and_some_steps_under_way_by_the_resellers_people(db):
    from portal import demo
    from portal.models import Account, User

    today = date(2026, 12, 3)
    demo.load_demo(db, password_method="pbkdf2:sha256:1000", today=today, accounts_per_partner=7)
    db = latest(db)
    books = {p.kind: p.steps for p in db.scalars(select(Playbook))}
    assert set(books) == set(ActionKind) and all(steps and all(s.title and s.title_ja for s in steps) for steps in books.values())
    # Items opened now copy those steps; the demo's last touch ticks some of them off.
    accounts = db.scalars(select(Account).join(User, User.partner_id == Account.partner_id).distinct()
                          .order_by(Account.id).limit(6)).all()
    items = [ActionItem(account_id=a.id, partner_id=a.partner_id, kind=ActionKind.TURNED_RED, title="Turned red",
                        created_at=clock.utcnow() - timedelta(days=10)) for a in accounts]
    db.add_all(items)
    db.flush()
    copy_steps(db, select(ActionItem.id).where(ActionItem.id.in_([i.id for i in items])))
    demo._tick_steps(db, today)
    db.commit()
    db = latest(db)
    ticked = db.execute(select(ActionStep, User.partner_id).join(User, User.id == ActionStep.done_by_id)).all()
    assert ticked and all(step.partner_id == partner_id for step, partner_id in ticked), "ticked by the item's own reseller"
    assert all(step.done_at <= clock.end_of_day(today) for step, _p in ticked)
    untouched = {i.id for i in items} - {step.item_id for step, _p in ticked}
    assert untouched, "some items have not started"
    events = db.scalar(select(func.count()).select_from(ActionEvent).where(ActionEvent.event == ActionEventKind.STEP_DONE))
    assert events == len(ticked)
