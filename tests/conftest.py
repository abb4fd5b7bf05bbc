"""Fixtures: an app on a migrated database (SQLite by default, PostgreSQL when
PORTAL_TEST_DATABASE_URL is set), a client with CSRF on, and log-in helpers per role."""
from __future__ import annotations

import os
import re
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.config import Config
from portal.db import Base, make_engine
from portal.migrate import upgrade
from portal.reference_data import ensure_defaults
from tests import factories

TEST_DATABASE_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")


def pytest_report_header(config):
    if TEST_DATABASE_URL:
        return f"database: {make_url(TEST_DATABASE_URL).render_as_string(hide_password=True)}"
    return "database: SQLite (set PORTAL_TEST_DATABASE_URL to run against PostgreSQL)"


@contextmanager
def fresh_database(tmp_dir: Path):
    """A new, empty database: a SQLite file, or a PostgreSQL schema of its own (dropped afterwards)."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_dir / f'portal-{uuid.uuid4().hex[:8]}.db'}"
        return
    schema = f"portal_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(TEST_DATABASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(TEST_DATABASE_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def fresh_database_factory(tmp_path_factory):
    return lambda: fresh_database(tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """Migrated once per test run; every test leaves it empty again."""
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        upgrade(url)
        yield url


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(Config.for_testing(database_url, instance_path=tmp_path))
    with app.extensions["portal.sessionmaker"]() as session:
        ensure_defaults(session)  # reference data lives in code, not in migrations
    yield app
    engine = app.extensions["portal.engine"]
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


@pytest.fixture
def db(app):
    """A session of the app's own sessionmaker, for arranging data and checking results."""
    session = app.extensions["portal.sessionmaker"]()
    yield session
    session.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client, url: str = "/login") -> str:
    html = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1) or match.group(2)


class Browser:
    """A test client that behaves like a person: logs in through the form, sends CSRF tokens."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self._token: str | None = None

    def login(self, email: str, password: str = factories.PASSWORD, next_url: str | None = None):
        token = csrf_token(self.client)
        url = "/login" + (f"?next={next_url}" if next_url else "")
        response = self.client.post(url, data={"email": email, "password": password, "csrf_token": token})
        self._token = None
        return response

    def token(self) -> str:
        if self._token is None:
            self._token = csrf_token(self.client, "/profile" if self._logged_in() else "/login")
        return self._token

    def _logged_in(self) -> bool:
        return self.client.get("/profile").status_code == 200

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url, data=None, csrf: bool = True, **kwargs):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token())
        return self.client.post(url, data=data, **kwargs)


@pytest.fixture
def browser(app):
    """browser() gives a new, logged-out browser; browser(user) one logged in as that user."""

    def make(user=None):
        b = Browser(app)
        if user is not None:
            response = b.login(user.email)
            assert response.status_code == 302, f"login as {user.email} failed"
        return b

    return make


@pytest.fixture
def tenants(db):
    """Two resellers with a full set of people and one account each, plus the vendor staff."""
    return factories.two_tenants(db)


@pytest.fixture
def today_is(app, monkeypatch):
    """today_is(date(2026, 11, 20)) makes that date the app's today (portal.web.today) for this test.

    Views import today() by name, so every portal module holding it (all imported by then: the
    fixture needs the app) gets the stand-in; call again to move the clock.
    """
    from portal import web

    day = {}

    def fake_today():
        return day["value"]

    real_today = web.today
    for name, module in list(sys.modules.items()):
        if name.startswith("portal") and getattr(module, "today", None) is real_today:
            monkeypatch.setattr(module, "today", fake_today)

    def set_day(value):
        day["value"] = value

    return set_day
