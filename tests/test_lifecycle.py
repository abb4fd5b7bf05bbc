"""Lifecycle that moves (onboarding -> adoption on go-live or after the vendor's days) and overdue
check-ins counted only from when an account was in the portal."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from portal.models import (
    Account, AccountScore, Alert, AlertKind, ChangeLog, LifecycleStatus, MilestoneStatus, PhaseReason, ReportingSettings,
    ReportSource, Segment,
)
from portal.scoring.aggregation import aggregate
from tests import factories
from tests.reporting_forms import TODAY, milestone_form, milestone_template, onboarding_account
from tests.readback import latest, reload
from tests.test_scoping import account_form


@pytest.fixture(autouse=True)
def _today(today_is):
    today_is(TODAY)


def phase_log(db, account) -> list[ChangeLog]:
    return list(latest(db).scalars(select(ChangeLog).where(ChangeLog.entity == "account", ChangeLog.account_id == account.id,
                                                           ChangeLog.changes["status"].is_not(None))
                                   .order_by(ChangeLog.id)))


def settings(db, **values) -> None:
    db.merge(ReportingSettings(id=1, **values))
    db.commit()


def api_put(client, secret, path, body):
    return client.put(f"/api/v1{path}", json=body, headers={"Authorization": f"Bearer {secret}"})


# --- go-live ---------------------------------------------------------------------------------


def test_the_go_live_milestone_done_moves_the_account_to_adoption(db, browser, tenants):
    account = onboarding_account(db, tenants.partner_a)
    b = browser(tenants.user_a)
    b.post(f"/accounts/{account.id}/milestones/{milestone_template(db, 'kickoff').id}", milestone_form(completed_on="2026-09-28"))
    assert reload(db, account).status == LifecycleStatus.ONBOARDING, "another milestone moves nothing"

    go_live = milestone_template(db, "go_live")
    response = b.post(f"/accounts/{account.id}/milestones/{go_live.id}",
                      milestone_form(planned_on="2026-11-18", completed_on="2026-11-16"))
    assert response.status_code == 302
    moved = reload(db, account)
    assert (moved.status, moved.phase_changed_on, moved.phase_reason) == (
        LifecycleStatus.ACTIVE, date(2026, 11, 16), PhaseReason.GO_LIVE)
    [entry] = phase_log(db, account)
    assert (entry.source, entry.user_id) == (ReportSource.FORM, tenants.user_a.id)
    assert entry.changes["status"] == ["onboarding", "active"]
    assert entry.changes["phase_reason"] == [None, "go_live"]

    # Scored with the adoption weights from the go-live day, the onboarding ones before it.
    aggregate(db, date(2026, 11, 15))
    aggregate(db, TODAY)
    phases = dict(latest(db).execute(select(AccountScore.day, AccountScore.onboarding_phase)
                                     .where(AccountScore.account_id == account.id)).all())
    assert phases == {date(2026, 11, 15): True, TODAY: False}
    page = b.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert "In Adopted since Nov 16, 2026: Go-live milestone done." in page


def test_go_live_by_the_api_moves_it_too_and_saving_it_again_does_not_undo_a_resellers_choice(db, client, tenants):
    account = onboarding_account(db, tenants.partner_a)
    body = {"status": "done", "planned_on": "2026-11-18", "completed_on": "2026-11-19"}
    assert api_put(client, tenants.secret_a, "/accounts/A-ONB/milestones/go_live", body).status_code == 200
    assert reload(db, account).phase_reason == PhaseReason.GO_LIVE
    assert phase_log(db, account)[-1].source == ReportSource.API

    # The reseller sets it back to onboarding; a later edit of the done milestone keeps that choice.
    response = api_put(client, tenants.secret_a, "/accounts/A-ONB", {"status": "onboarding", "renewal_date": "2027-09-21"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert (reload(db, account).status, reload(db, account).phase_reason) == (LifecycleStatus.ONBOARDING, PhaseReason.SET_BY_RESELLER)
    api_put(client, tenants.secret_a, "/accounts/A-ONB/milestones/go_live", body | {"note": "Signed off"})
    assert reload(db, account).status == LifecycleStatus.ONBOARDING


# --- days after contract start -----------------------------------------------------------------


def test_accounts_move_to_adoption_the_vendors_days_after_contract_start(db, tenants):
    a = tenants.partner_a
    due = factories.account(db, a, status=LifecycleStatus.ONBOARDING, contract_start=TODAY - timedelta(days=120))
    early = factories.account(db, a, status=LifecycleStatus.ONBOARDING, contract_start=TODAY - timedelta(days=119))
    churned = factories.account(db, a, status=LifecycleStatus.CHURNED, churned_on=date(2026, 6, 30), churn_reason="Closed",
                                contract_start=date(2024, 1, 1))
    kept = factories.account(db, a, status=LifecycleStatus.ONBOARDING, contract_start=date(2025, 1, 1),
                             phase_reason=PhaseReason.SET_BY_RESELLER, phase_changed_on=date(2026, 8, 1))

    aggregate(db, TODAY)
    moved = reload(db, due)
    assert (moved.status, moved.phase_changed_on, moved.phase_reason) == (LifecycleStatus.ACTIVE, TODAY, PhaseReason.DAYS_AFTER_START)
    assert reload(db, early).status == LifecycleStatus.ONBOARDING
    assert reload(db, churned).status == LifecycleStatus.CHURNED, "a churned account is never moved"
    assert reload(db, kept).status == LifecycleStatus.ONBOARDING, "a phase the reseller set stands"
    [entry] = phase_log(db, due)
    assert (entry.source, entry.user_id, entry.action) == (None, None, "update")
    assert entry.changes == {"status": ["onboarding", "active"], "phase_reason": [None, "days_after_start"]}
    assert not phase_log(db, early) and not phase_log(db, churned) and not phase_log(db, kept)
    assert latest(db).scalar(select(AccountScore.onboarding_phase).where(AccountScore.account_id == due.id)) is False


def test_the_vendor_sets_the_days_or_turns_the_rule_off(db, tenants):
    account = factories.account(db, tenants.partner_a, status=LifecycleStatus.ONBOARDING, contract_start=TODAY - timedelta(days=45))
    settings(db, adoption_after_days=None)
    aggregate(db, TODAY)
    assert reload(db, account).status == LifecycleStatus.ONBOARDING
    settings(db, adoption_after_days=30)
    aggregate(db, TODAY + timedelta(days=1))
    assert (reload(db, account).status, reload(db, account).phase_changed_on) == (LifecycleStatus.ACTIVE, TODAY - timedelta(days=15))


def test_the_rules_page_saves_the_lifecycle_settings(db, browser, tenants):
    b = browser(tenants.vendor_admin)
    form = {f"{s.value}_{k}": v for s in Segment for k, v in (("months", "3"), ("grace", "10"))}
    response = b.post("/rules", form | {"adoption_after_days": "90", "overdue_from": "2026-04-01"})
    assert response.status_code == 302, response.get_data(as_text=True)
    saved = latest(db).get(ReportingSettings, 1)
    assert (saved.adoption_after_days, saved.overdue_from) == (90, date(2026, 4, 1))
    assert b.post("/rules", form | {"adoption_after_days": "0"}).status_code == 400


def test_a_reseller_sets_the_phase_on_the_account_form_and_it_is_recorded(db, browser, tenants):
    account = factories.account(db, tenants.partner_a, reference="X-100", status=LifecycleStatus.ONBOARDING,
                                contract_start=TODAY - timedelta(days=200))
    b = browser(tenants.admin_a)
    response = b.post(f"/accounts/{account.id}/edit", account_form(status="active"))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert (reload(db, account).phase_changed_on, reload(db, account).phase_reason) == (TODAY, PhaseReason.SET_BY_RESELLER)
    b.post(f"/accounts/{account.id}/edit", account_form(status="onboarding"))
    assert reload(db, account).status == LifecycleStatus.ONBOARDING, "going back to onboarding is allowed"
    aggregate(db, TODAY)
    assert reload(db, account).status == LifecycleStatus.ONBOARDING, "the rule by days leaves the reseller's choice"
    assert [e.changes["status"] for e in phase_log(db, account)] == [["onboarding", "active"], ["active", "onboarding"]]
    assert all(e.changes["phase_reason"][1] == "set_by_reseller" for e in phase_log(db, account)[:1])


# --- no alert flood on a first import --------------------------------------------------------------


def overdue_subjects(db, account) -> list[str]:
    return sorted(latest(db).scalars(select(Alert.subject).where(Alert.account_id == account.id,
                                                                 Alert.kind == AlertKind.CHECK_IN_OVERDUE)))


def test_a_first_import_of_back_dated_contracts_raises_no_overdue_alerts(db, client, tenants, today_is):
    tenants.partner_a.imports_create_accounts = True
    db.commit()
    today_is(datetime(2026, 11, 20, 3, tzinfo=timezone.utc))  # noon in Tokyo
    for n, segment in enumerate(Segment):
        body = {"name": f"Imported {n}", "segment": segment.value, "contract_start": "2024-11-01", "status": "active"}
        assert api_put(client, tenants.secret_a, f"/accounts/IMP-{n}", body).status_code == 201
    imported = list(latest(db).scalars(select(Account).where(Account.reference.like("IMP-%"))))
    aggregate(db, TODAY)
    assert all(overdue_subjects(db, a) == [] for a in imported), "nothing was owed before the accounts were in the portal"

    # A period that ends after the import and is then missed is overdue as ever.
    high_touch = next(a for a in imported if a.segment == Segment.HIGH_TOUCH)
    today_is(date(2026, 12, 15))  # November (high touch: monthly, 10 days' grace) was due Dec 10
    aggregate(db, date(2026, 12, 15))
    assert overdue_subjects(db, high_touch) == ["2026-11-01"]
    assert [o for a in imported if a.segment != Segment.HIGH_TOUCH for o in overdue_subjects(db, a)] == []


def test_a_check_in_sent_before_the_account_was_created_counts_as_in_the_portal(db, tenants):
    """Reports older than the account row (loaded history) show the account was reported then."""
    account = factories.account(db, tenants.partner_a, segment=Segment.HIGH_TOUCH, contract_start=date(2024, 1, 1),
                                created_at=datetime(2026, 11, 19, tzinfo=timezone.utc))
    factories.check_in(db, account, period_start=date(2026, 8, 1), submitted_at=datetime(2026, 9, 5, 9))
    aggregate(db, TODAY)
    assert overdue_subjects(db, account) == ["2026-10-01"]


def test_the_vendor_can_start_overdue_counting_on_a_day(db, tenants):
    account = factories.account(db, tenants.partner_a, segment=Segment.HIGH_TOUCH, contract_start=date(2024, 1, 1))
    settings(db, overdue_from=date(2026, 11, 1))
    aggregate(db, TODAY)
    assert overdue_subjects(db, account) == [], "October ended before the day the vendor set"
    settings(db, overdue_from=date(2026, 10, 1))
    aggregate(db, TODAY + timedelta(days=1))
    assert overdue_subjects(db, account) == ["2026-10-01"]


def test_the_what_to_report_list_agrees_with_the_alerts(db, tenants):
    """The reseller's list of owed check-ins uses the same rule as the nightly alerts."""
    from portal.reporting.cadence import obligations

    fresh = factories.account(db, tenants.partner_a, segment=Segment.HIGH_TOUCH, contract_start=date(2024, 1, 1),
                              created_at=datetime(2026, 11, 19, tzinfo=timezone.utc))
    old = factories.account(db, tenants.partner_a, segment=Segment.HIGH_TOUCH, contract_start=date(2024, 1, 1))
    owed = {(o.account_id, o.period.key) for o in obligations(latest(db), TODAY) if o.overdue}
    assert (old.id, "2026-10") in owed
    assert not any(account_id == fresh.id for account_id, _ in owed)


def test_a_first_import_without_check_ins_is_not_scored_red_for_reports_it_never_owed(db, client, tenants):
    tenants.partner_a.imports_create_accounts = True
    db.commit()
    body = {"name": "Imported KK", "segment": "high_touch", "contract_start": "2024-11-01", "status": "active"}
    assert api_put(client, tenants.secret_a, "/accounts/IMP-1", body).status_code == 201
    aggregate(db, TODAY)
    imported = latest(db).scalar(select(Account).where(Account.reference == "IMP-1"))
    score = latest(db).scalar(select(AccountScore).where(AccountScore.account_id == imported.id))
    assert score.freshness is None, "no report was owed yet: freshness is not judged"
    assert latest(db).scalar(select(Alert.id).where(Alert.account_id == imported.id)) is None


def test_the_nightly_run_moves_accounts_whose_go_live_was_done_before_the_rule(db, tenants):
    """Milestones recorded before this rule existed (or loaded directly) move their accounts at the next run."""
    account = factories.account(db, tenants.partner_a, status=LifecycleStatus.ONBOARDING, contract_start=TODAY - timedelta(days=60))
    factories.milestone(db, account, "go_live", status=MilestoneStatus.DONE, completed_on=date(2026, 11, 2))
    later = factories.account(db, tenants.partner_a, status=LifecycleStatus.ONBOARDING, contract_start=TODAY - timedelta(days=60))
    factories.milestone(db, later, "go_live", status=MilestoneStatus.DONE, completed_on=TODAY)
    aggregate(db, TODAY - timedelta(days=1))
    moved = reload(db, account)
    assert (moved.status, moved.phase_changed_on, moved.phase_reason) == (LifecycleStatus.ACTIVE, date(2026, 11, 2), PhaseReason.GO_LIVE)
    assert reload(db, later).status == LifecycleStatus.ONBOARDING, "its go-live comes after the day aggregated"
    [entry] = phase_log(db, account)
    assert (entry.source, entry.changes["phase_reason"]) == (None, [None, "go_live"])


def test_the_accounts_list_next_due_agrees_with_the_alerts(db, tenants, today_is):
    """The list's "next due" and overdue filter use the same rule: a just-imported account with a
    back-dated contract is not overdue for periods before it was in the portal."""
    from portal.reporting.cadence import cadence_rules, next_due

    today_is(TODAY)
    fresh = factories.account(db, tenants.partner_a, segment=Segment.HIGH_TOUCH, contract_start=date(2024, 1, 1),
                              created_at=datetime(2026, 11, 19, tzinfo=timezone.utc))
    old = factories.account(db, tenants.partner_a, segment=Segment.HIGH_TOUCH, contract_start=date(2024, 1, 1))
    session = latest(db)
    due = dict(session.execute(select(Account.id, next_due(session, cadence_rules(session), TODAY))
                               .where(Account.id.in_([fresh.id, old.id]))).all())
    assert due[old.id] < TODAY, "the old account owes a closed period"
    assert due[fresh.id] >= TODAY, "the imported one owes nothing before it was in the portal"
