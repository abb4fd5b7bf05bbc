"""Operator commands and the demo data: what a newcomer runs first."""
from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from portal import demo
from portal.core.db import Base
from portal.core import clock
from portal.models import (
    Account, AccountScore, Band, CheckIn, LifecycleStatus, Milestone, Partner, PhaseReason, Role, Segment, Sentiment, User,
    VocItem,
)
from portal.reporting.voc import AreaMatcher
from portal.scoring.aggregation import aggregate
from tests import factories
from tests.readback import latest
from tests.pages import parse

FAST_HASH = "pbkdf2:sha256:1000"


def counts(db) -> tuple[int, int, int]:
    return tuple(latest(db).scalar(select(func.count()).select_from(m)) for m in (Partner, User, Account))


# --- demo data ------------------------------------------------------------------------------


def test_demo_data_covers_partners_segments_and_statuses(db):
    assert not demo.has_data(db)
    logins = demo.load_demo(db, password_method=FAST_HASH)
    assert demo.has_data(db)

    partners = latest(db).scalars(select(Partner)).all()
    assert len(partners) == 12
    accounts = latest(db).scalars(select(Account)).all()
    assert 200 <= len(accounts) <= 500
    per_partner = Counter(a.partner_id for a in accounts)
    assert set(per_partner) == {p.id for p in partners}, "every partner has customers"
    assert set(Counter(a.segment for a in accounts)) == set(Segment)
    assert set(Counter(a.status for a in accounts)) == set(LifecycleStatus)
    # The demo respects the model's own rules.
    for a in accounts:
        assert (a.status == LifecycleStatus.CHURNED) == (a.churned_on is not None)
        assert a.renewal_date is None or a.contract_start is None or a.renewal_date >= a.contract_start
    assert {login.role for login in logins} == set(Role)
    assert sum(1 for p in partners if p.managers) == 12


def test_demo_data_has_a_year_of_reports_to_score(db):
    demo.load_demo(db, password_method=FAST_HASH, today=date(2026, 11, 23))
    db = latest(db)
    reporting = db.scalars(select(CheckIn.partner_id).distinct()).all()
    assert len(reporting) >= 10, "all but the prospect and the suspended partner report"
    assert {s for s in db.scalars(select(CheckIn.sentiment).distinct())} == set(Sentiment)
    # A report always belongs to the partner that owns the account: no cross-partner rows.
    mismatched = db.scalar(select(func.count()).select_from(CheckIn).join(Account, Account.id == CheckIn.account_id)
                           .where(Account.partner_id != CheckIn.partner_id))
    assert mismatched == 0
    assert db.scalar(select(func.count()).select_from(Milestone)) > 0
    assert db.scalar(select(func.max(CheckIn.period_start))) < date(2026, 11, 23)
    # The customers' words land in the vendor's areas as a submission's would (the late reports'
    # too): only words no area knows are left unassigned, for the vendor to map.
    matcher = AreaMatcher.load(db)
    unassigned = db.scalars(select(VocItem.product_area).where(VocItem.product_area_id.is_(None)).distinct()).all()
    assert unassigned and not [word for word in unassigned if word and matcher.match(word)]


def test_demo_data_has_nothing_after_today_and_moves_like_real_data(db):
    today = date(2026, 12, 3)  # a November check-in sent in its grace days would have been dated in December
    demo.load_demo(db, password_method=FAST_HASH, today=today)
    db = latest(db)
    end_of_today = clock.end_of_day(today)
    assert db.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.submitted_at >= end_of_today)) == 0
    assert db.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.period_start > today)) == 0
    assert db.scalar(select(func.count()).select_from(Milestone).where(Milestone.completed_on > today)) == 0
    assert db.scalar(select(func.count()).select_from(Account).where(Account.phase_changed_on > today)) == 0
    assert db.scalar(select(func.count()).select_from(Account).where(Account.created_at >= end_of_today)) == 0

    accounts = db.scalars(select(Account)).all()
    moved = [a for a in accounts if a.phase_reason == PhaseReason.GO_LIVE]
    assert moved and all(a.status == LifecycleStatus.ACTIVE and a.phase_changed_on for a in moved)
    # Owners are people of the account's own reseller; Japanese names have their reading.
    owners = {u.id: u.partner_id for u in db.scalars(select(User))}
    owned = [a for a in accounts if a.owner_id]
    assert len(owned) > len(accounts) // 3 and all(owners[a.owner_id] == a.partner_id for a in owned)
    japanese = [a for a in accounts if a.name.startswith("株式会社")]
    assert japanese and all(a.name_kana and "株式会社" not in a.name_kana for a in japanese)

    # The nightly run moves the accounts whose go-live was never recorded, and the bands spread.
    assert aggregate(db, today).status == "done"
    db = latest(db)
    assert db.scalar(select(func.count()).select_from(Account).where(Account.phase_reason == PhaseReason.DAYS_AFTER_START)) > 0
    bands = Counter(db.scalars(select(AccountScore.band).where(AccountScore.day == today, AccountScore.band.is_not(None))))
    assert bands[Band.GREEN] > bands[Band.YELLOW] > 0 and bands[Band.RED] > 0
    assert bands[Band.GREEN] < 0.75 * sum(bands.values()), "not everyone is healthy"
    unscored = db.scalar(select(func.count()).select_from(AccountScore).where(AccountScore.day == today, AccountScore.band.is_(None)))
    # A prospect's just-added customers and those whose reseller reports seldom: some, not most.
    assert 0 < unscored < sum(bands.values()) / 3, "some accounts have too little data to score"


def test_demo_logins_work_through_the_login_form(db, browser):
    logins = demo.load_demo(db, password_method=FAST_HASH)
    seen_roles = set()
    for login in logins:
        user = latest(db).scalar(select(User).where(User.email == login.email))
        assert user is not None, login.email
        assert user.role == login.role
        assert (user.partner.code if user.partner else None) == login.partner
        b = browser()
        response = b.login(login.email, demo.DEMO_PASSWORD)
        assert response.status_code == 302, f"{login.email} cannot log in"
        landing = b.get(b.get("/").location)
        assert landing.status_code == 200
        seen_roles.add(login.role)
        # A partner's login sees only its own customers.
        if login.partner:
            rows = parse(b.get("/accounts")).rows
            own = latest(db).scalars(select(Account.name).where(Account.partner_id == user.partner_id)).all()
            assert rows and set(rows) <= set(own)
    assert seen_roles == set(Role)
    assert browser().login(logins[0].email, "wrong-password").status_code == 200


def test_demo_is_deterministic(app, db):
    # Every step of the demo draws from one seeded generator, whatever the size: a small demo
    # (about 10 customers a partner, as in test_action_loop) takes the same paths as the full one.
    demo.load_demo(db, password_method=FAST_HASH, seed=11, accounts_per_partner=10)
    first = sorted(latest(db).execute(select(Account.reference, Account.name, Account.arr_jpy, Account.status)).all())
    assert first
    latest(db)
    with app.extensions["portal.engine"].begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    assert not demo.has_data(latest(db))
    demo.load_demo(db, password_method=FAST_HASH, seed=11, accounts_per_partner=10)
    again = sorted(latest(db).execute(select(Account.reference, Account.name, Account.arr_jpy, Account.status)).all())
    assert again == first


def test_demo_command_loads_once_and_prints_the_logins(db, runner, browser):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Demo data loaded." in result.output
    assert "http://127.0.0.1:5000/" in result.output
    assert demo.DEMO_PASSWORD in result.output
    for login in demo.demo_logins():
        assert login.email in result.output
    after_first = counts(db)
    assert after_first[0] == 12 and after_first[2] >= 200

    again = runner.invoke(args=["demo", "--port", "8080"])
    assert again.exit_code == 0, again.output
    assert "already has data" in again.output
    assert "Demo data loaded." not in again.output
    assert "http://127.0.0.1:8080/" in again.output
    assert counts(db) == after_first

    admin = next(login for login in demo.demo_logins() if login.role == Role.VENDOR_ADMIN)
    assert browser().login(admin.email, demo.DEMO_PASSWORD).status_code == 302


def test_demo_command_does_not_touch_existing_data(db, runner, tenants):
    before = counts(db)
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "already has data" in result.output
    assert counts(db) == before


# --- users create ---------------------------------------------------------------------------


def create(runner, *args):
    return runner.invoke(args=["users", "create", *args])


def test_users_create_makes_a_login(db, runner, browser):
    partner = factories.partner(db, code="SAKURA")
    result = create(runner, "--email", "Admin@Sakura.Example", "--name", "Kenichi Takahashi",
                    "--role", "partner_admin", "--partner", "sakura", "--language", "ja",
                    "--password", "sakura password 1")
    assert result.exit_code == 0, result.output
    assert "admin@sakura.example" in result.output
    user = latest(db).scalar(select(User).where(User.email == "admin@sakura.example"))
    assert (user.role, user.partner_id, user.language, user.display_name) == (
        Role.PARTNER_ADMIN, partner.id, "ja", "Kenichi Takahashi",
    )
    assert browser().login("admin@sakura.example", "sakura password 1").status_code == 302
    assert browser().login("admin@sakura.example", "other password 1").status_code == 200


def test_users_create_vendor_admin_without_partner(db, runner, browser):
    result = create(runner, "--email", "ops@vendor.example", "--name", "Ops", "--role", "vendor_admin",
                    "--password", "vendor password 1")
    assert result.exit_code == 0, result.output
    assert latest(db).scalar(select(User).where(User.email == "ops@vendor.example")).partner_id is None
    assert browser().login("ops@vendor.example", "vendor password 1").status_code == 302


@pytest.mark.parametrize(
    "args, message",
    [
        (["--role", "partner_user"], "--partner is required for partner roles"),
        (["--role", "partner_user", "--partner", "NOPE"], "No partner with code 'NOPE'"),
        (["--role", "vendor_admin", "--partner", "ALPHA"], "Vendor roles do not belong to a partner"),
        (["--role", "partner_user", "--partner", "ALPHA", "--email", "PARTNER_ADMIN@example.com"], "already exists"),
        (["--role", "partner_user", "--partner", "ALPHA", "--password", "short"], "at least 10 characters"),
    ],
    ids=["partner-role-without-partner", "unknown-partner", "vendor-role-with-partner", "duplicate-email", "short-password"],
)
def test_users_create_rejects_bad_input_clearly(db, runner, args, message):
    factories.partner(db, code="ALPHA")
    existing = factories.user(db, Role.VENDOR_ADMIN, email="partner_admin@example.com")
    options = {"--email": "new@example.com", "--name": "New Person", "--password": "long enough password"}
    for i in range(0, len(args), 2):
        options[args[i]] = args[i + 1]
    before = counts(db)
    result = create(runner, *[part for pair in options.items() for part in pair])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert counts(db) == before
    assert latest(db).scalar(select(User).where(User.email == existing.email)).role == Role.VENDOR_ADMIN


def test_demo_data_has_recorded_renewal_outcomes_and_a_few_missing(db):
    from portal.models import OutcomeKind, RenewalOutcome
    from portal.renewals.services import missing_condition

    today = date(2026, 12, 3)
    demo.load_demo(db, password_method=FAST_HASH, today=today)
    db = latest(db)
    outcomes = db.scalars(select(RenewalOutcome)).all()
    kinds = Counter(o.kind for o in outcomes)
    assert kinds[OutcomeKind.RENEWED] > 100 and kinds[OutcomeKind.CHURNED] >= 10
    assert not any(o.inferred for o in outcomes) and all(o.decided_on <= today for o in outcomes)
    churns = [o for o in outcomes if o.kind == OutcomeKind.CHURNED]
    assert all(o.churn_reason_id is not None and o.note for o in churns)
    # Every churned account has its churn outcome; renewals show flat, expanded and contracted ARR.
    churned = set(db.scalars(select(Account.id).where(Account.status == LifecycleStatus.CHURNED)))
    assert churned == {o.account_id for o in churns}
    renewals = [o for o in outcomes if o.kind == OutcomeKind.RENEWED]
    assert {o.arr_after_jpy > o.arr_before_jpy for o in renewals} == {True, False}
    assert any(o.arr_after_jpy < o.arr_before_jpy for o in renewals)
    missing = db.scalar(select(func.count()).select_from(Account).where(missing_condition(today)))
    assert 0 < missing < 0.1 * len(churned | set(db.scalars(select(Account.id))))
