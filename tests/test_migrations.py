"""The schema comes from the migrations alone: they match the models, go down and up again,
and the database itself enforces the rules the models rely on."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from portal.core import migrate
from portal.core.db import Base, make_engine
from portal.models import Account, LifecycleStatus, Partner, Role, Segment, User
from tests import factories
from tests.readback import latest


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def schema_differences(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_migrations_have_a_single_head():
    heads = script_directory().get_heads()
    assert len(heads) == 1, f"several heads, merge them: {heads}"


def test_every_migration_can_be_downgraded():
    for revision in script_directory().walk_revisions():
        module = revision.module
        assert callable(getattr(module, "downgrade", None)), revision.revision


def test_upgraded_schema_matches_the_models(database_url):
    """The test process's own database, upgraded from nothing when the process started."""
    assert current_revision(database_url) == script_directory().get_current_head()
    assert set(Base.metadata.tables) <= table_names(database_url)
    assert schema_differences(database_url) == []


def test_downgrade_to_base_and_upgrade_again(fresh_database_factory):
    with fresh_database_factory() as url:
        migrate.upgrade(url)
        migrate.downgrade(url, "base")
        assert table_names(url) == {"alembic_version"}
        assert current_revision(url) is None

        migrate.upgrade(url)
        assert current_revision(url) == script_directory().get_current_head()
        assert schema_differences(url) == []


def test_upgrade_is_idempotent(database_url):
    migrate.upgrade(database_url)  # the test process's database is at the head already
    assert current_revision(database_url) == script_directory().get_current_head()
    assert schema_differences(database_url) == []


def test_stepwise_upgrade_and_downgrade(fresh_database_factory):
    """Each migration on its own, up and down, with the one before it."""
    revisions = list(reversed(list(script_directory().walk_revisions())))
    with fresh_database_factory() as url:
        for rev in revisions:
            migrate.upgrade(url, rev.revision)
            assert current_revision(url) == rev.revision
        for rev in reversed(revisions):
            migrate.downgrade(url, rev.down_revision or "base")
            assert current_revision(url) == (rev.down_revision if rev.down_revision else None)
        assert table_names(url) == {"alembic_version"}


# --- constraints the database enforces ------------------------------------------------------


def _assert_rejected(db, obj):
    db.add(obj)
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_partner_role_needs_a_partner(db):
    _assert_rejected(db, User(email="orphan@example.com", display_name="Orphan", role=Role.PARTNER_USER,
                              password_hash="x"))
    _assert_rejected(db, User(email="orphan2@example.com", display_name="Orphan", role=Role.PARTNER_ADMIN,
                              password_hash="x"))


def test_vendor_role_has_no_partner(db):
    partner = factories.partner(db)
    _assert_rejected(db, User(email="staff@example.com", display_name="Staff", role=Role.VENDOR_ADMIN,
                              partner=partner, password_hash="x"))


def test_a_valid_user_and_account_are_accepted(db):
    """The counterpart of the rejections below: the same rows, valid, are stored."""
    partner = factories.partner(db)
    factories.user(db, Role.PARTNER_USER, partner)
    factories.account(db, partner, seats=0, arr_jpy=0)
    assert latest(db).scalar(select(Account).where(Account.partner_id == partner.id)) is not None


@pytest.mark.parametrize(
    "fields",
    [
        {"seats": -1},
        {"arr_jpy": -1},
        {"status": LifecycleStatus.CHURNED, "churned_on": None},
        {"status": LifecycleStatus.ACTIVE, "churned_on": date(2026, 1, 1)},
    ],
    ids=["negative-seats", "negative-arr", "churned-without-date", "churn-date-without-churn"],
)
def test_account_rules_are_enforced_by_the_database(db, fields):
    partner = factories.partner(db)
    data = dict(partner=partner, reference="R-1", name="Customer", segment=Segment.LOW_TOUCH, seats=1, arr_jpy=1,
                status=LifecycleStatus.ACTIVE)
    data.update(fields)
    _assert_rejected(db, Account(**data))


def test_reference_is_unique_within_a_partner(db):
    a, b = factories.partner(db), factories.partner(db)
    factories.account(db, a, reference="SAME")
    factories.account(db, b, reference="SAME")  # another partner: fine
    _assert_rejected(db, Account(partner=a, reference="SAME", name="Twin", segment=Segment.LOW_TOUCH))


def test_email_is_unique_whatever_the_case(db):
    factories.user(db, Role.VENDOR_ADMIN, email="someone@example.com")
    _assert_rejected(db, User(email="SomeOne@Example.com", display_name="Twin", role=Role.VENDOR_ADMIN,
                              password_hash="x"))


def test_unknown_enum_values_are_rejected_by_the_database(db):
    partner = factories.partner(db)
    with pytest.raises(IntegrityError):
        db.execute(text("UPDATE partners SET tier = 'diamond' WHERE id = :id"), {"id": partner.id})
        db.commit()
    db.rollback()
    assert latest(db).get(Partner, partner.id).tier.value == "silver"


def test_partner_with_accounts_cannot_be_deleted(db):
    partner = factories.partner(db)
    factories.account(db, partner)
    with pytest.raises(IntegrityError):
        db.execute(text("DELETE FROM partners WHERE id = :id"), {"id": partner.id})
        db.commit()
    assert latest(db).get(Partner, partner.id) is not None


@pytest.mark.parametrize("table, column", [("aggregation_runs", "status"), ("aggregation_runs", "trigger"), ("import_batches", "status"),
                                           ("change_log", "action"), ("notifications", "kind")])
def test_coded_text_columns_refuse_values_the_code_does_not_know(app, table, column):
    from sqlalchemy import inspect

    checks = inspect(app.extensions["portal.engine"]).get_check_constraints(table)
    assert any(c["name"] == f"ck_{table}_{column}" for c in checks), checks


@pytest.mark.parametrize("status, trigger", [("finished", "cli"), ("done", "cron")])
def test_a_job_run_with_an_unknown_status_or_trigger_is_refused_by_the_database(db, status, trigger):
    insert = text("INSERT INTO aggregation_runs (day, \"trigger\", started_at, status) VALUES (:day, :trigger, :at, :status)")
    with pytest.raises(IntegrityError):
        db.execute(insert, {"day": date(2026, 12, 1), "trigger": trigger, "at": datetime(2026, 12, 1, 2), "status": status})
        db.flush()
    db.rollback()


def test_moments_are_stored_in_utc_and_read_back_aware(db, tenants):
    from zoneinfo import ZoneInfo

    from portal.models import ApiToken

    tokyo_new_year = datetime(2027, 1, 1, 0, 30, tzinfo=ZoneInfo("Asia/Tokyo"))  # 2026-12-31 15:30 in UTC
    tenants.token_a.last_used_at = tokyo_new_year
    db.commit()
    db.expire_all()
    stored = db.get(ApiToken, tenants.token_a.id).last_used_at
    assert stored == tokyo_new_year and stored.utcoffset().total_seconds() == 0
    raw = db.scalar(text("SELECT last_used_at FROM api_tokens WHERE id = :id"), {"id": tenants.token_a.id})
    assert str(raw).startswith("2026-12-31 15:30")  # the column holds UTC, whatever zone the value came in
