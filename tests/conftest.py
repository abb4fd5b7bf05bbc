"""Fixtures: one app per test process on a migrated database (SQLite by default, PostgreSQL
when PORTAL_TEST_DATABASE_URL is set), emptied after each test; a client with CSRF on;
log-in helpers per role; and the clock.

The clock: every test runs on portal.core.clock moved by time-machine (all of Python's clocks at
once). PORTAL_TEST_NOW (an ISO moment, or a name from AWKWARD_MOMENTS) moves the whole
suite to that moment, so that a test that secretly depends on the real date fails in CI, not
weeks later; a test that needs a particular day sets it with `clock.move_to` or `today_is`.
"""
from __future__ import annotations

import copy
import functools
import os
import re
import shutil
import threading
import uuid
from contextlib import contextmanager, nullcontext
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import exists, literal, select, text, union_all
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from portal import create_app
from portal.core import fragments
from portal.audit.models import AuditEvent, guard_lifted
from portal.core import clock as portal_clock
from portal.core.config import Config
from portal.core.changes import DataChange
from portal.core.db import Base, make_engine
from portal.core.migrate import upgrade
from portal.reporting.reference_data import ensure_defaults
from tests import factories

TEST_DATABASE_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
TOKYO = ZoneInfo("Asia/Tokyo")

# Moments where date code goes wrong: month and year ends, a leap day, a Tokyo Monday that is
# still Sunday in UTC, and a week that crosses the year (2026 has an ISO week 53).
AWKWARD_MOMENTS = {
    "month-end": datetime(2027, 4, 30, 23, 40, tzinfo=TOKYO),
    "year-end": datetime(2026, 12, 31, 23, 50, tzinfo=TOKYO),
    "leap-day": datetime(2028, 2, 29, 9, 0, tzinfo=TOKYO),
    "tokyo-monday-0030": datetime(2027, 3, 1, 0, 30, tzinfo=TOKYO),
    "iso-week-53": datetime(2027, 1, 1, 12, 0, tzinfo=TOKYO),
}


def parse_moment(value: str) -> datetime:
    """A name from AWKWARD_MOMENTS, or an ISO date or moment (a date means noon in Tokyo; no zone means Tokyo)."""
    if value in AWKWARD_MOMENTS:
        return AWKWARD_MOMENTS[value]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise pytest.UsageError(
            f"PORTAL_TEST_NOW={value!r}: give an ISO date or moment, or one of {', '.join(AWKWARD_MOMENTS)}") from None
    if len(value) == 10:
        moment = moment.replace(hour=12)
    return moment if moment.tzinfo else moment.replace(tzinfo=TOKYO)


SUITE_NOW = parse_moment(os.environ["PORTAL_TEST_NOW"]) if os.environ.get("PORTAL_TEST_NOW") else None


def pytest_report_header(config):
    if TEST_DATABASE_URL:
        database = f"database: {make_url(TEST_DATABASE_URL).render_as_string(hide_password=True)}"
    else:
        database = "database: SQLite (set PORTAL_TEST_DATABASE_URL to run against PostgreSQL)"
    moment = f"clock: {SUITE_NOW.isoformat()} (PORTAL_TEST_NOW)" if SUITE_NOW else "clock: the real date (set PORTAL_TEST_NOW to move it)"
    return [database, moment]


# ---- the clock -------------------------------------------------------------------------------

class Clock:
    """The test's hand on the portal's clock. Time keeps running from wherever it is set."""

    def __init__(self, traveller):
        self._traveller = traveller

    def move_to(self, moment: datetime | date) -> datetime:
        """Go to a moment (naive = Tokyo time), or to noon in Tokyo of a date."""
        if not isinstance(moment, datetime):
            moment = datetime.combine(moment, time(12), tzinfo=TOKYO)
        elif moment.tzinfo is None:
            moment = moment.replace(tzinfo=TOKYO)
        self._traveller.move_to(moment)
        return moment

    def shift(self, delta: timedelta) -> None:
        self._traveller.shift(delta)

    @staticmethod
    def now() -> datetime:
        return portal_clock.now()

    @staticmethod
    def today() -> date:
        return portal_clock.today()


@pytest.fixture(autouse=True)
def clock():
    """Every test's clock: PORTAL_TEST_NOW if set, else the real moment; tests move it."""
    with time_machine.travel(SUITE_NOW or portal_clock.now(), tick=True) as traveller:
        yield Clock(traveller)


@pytest.fixture
def today_is(clock):
    """today_is(date(2026, 11, 20)) makes that date the portal's today (noon in Tokyo)."""
    return clock.move_to


@pytest.fixture(params=list(AWKWARD_MOMENTS))
def any_moment(request, clock) -> datetime:
    """Runs the test once at each awkward moment (list it first, so that the fixtures after it
    build their data on that day)."""
    return clock.move_to(AWKWARD_MOMENTS[request.param])


# ---- databases -------------------------------------------------------------------------------

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
    # Test data need not survive a crash of the server: commits skip the WAL flush wait.
    options = f"-csearch_path={schema} -csynchronous_commit=off"
    url = make_url(TEST_DATABASE_URL).update_query_dict({"options": options})
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
    """Migrated once per test process (each xdist worker has its own); every test leaves it empty."""
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def shared_app(database_url, tmp_path_factory):
    """One app per test process: its URL map, compiled templates and SQL statement cache are
    built once, not per test."""
    app = create_app(Config.for_testing(database_url, instance_path=tmp_path_factory.mktemp("instance")))
    yield app
    app.extensions["portal.engine"].dispose()


@functools.cache
def tables_with_rows():
    """One query naming the tables that have rows: most tests fill a few of the many tables."""
    return union_all(*(select(literal(table.name)).where(exists().select_from(table)) for table in Base.metadata.sorted_tables))


def empty_database(engine) -> None:
    """Deletes the rows of the tables that have any. The audit log's guard (triggers, so DDL that
    makes every connection prepare its statements again) is lifted only when there is a log to empty."""
    with engine.begin() as conn:
        filled = set(conn.scalars(tables_with_rows()))
        with guard_lifted(conn) if AuditEvent.__tablename__ in filled else nullcontext():  # append-only, except here
            for table in reversed(Base.metadata.sorted_tables):
                if table.name in filled and table.name != DataChange.__tablename__:
                    conn.execute(table.delete())
        if filled:  # last: the deletes above were noted too
            conn.execute(DataChange.__table__.delete())


@pytest.fixture
def app(shared_app):
    """The app with its reference data; what a test changes (settings, rows) is undone after it."""
    portal_config = shared_app.config["PORTAL"]
    saved_portal, saved_flask = copy.deepcopy(vars(portal_config)), dict(shared_app.config)
    with shared_app.extensions["portal.sessionmaker"]() as session:
        ensure_defaults(session)  # reference data lives in code, not in migrations
    yield shared_app
    fragments.clear(shared_app)  # rendered parts and pages of the rows this test made
    empty_database(shared_app.extensions["portal.engine"])
    vars(portal_config).clear()
    vars(portal_config).update(saved_portal)
    shared_app.config.clear()
    shared_app.config.update(saved_flask)
    shared_app.config["PORTAL"] = portal_config


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


# ---- the real browser (tests/test_browser.py and the *_browser.py modules) --------------------

CHROMIUM = os.environ.get("PORTAL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def live_server(shared_app):
    """The app served on loopback, once per test process: each test's `app` fixture empties the
    database and restores the settings behind it, as for the test client."""
    server = make_server("127.0.0.1", 0, shared_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def live_url(app, live_server):
    return live_server


@pytest.fixture(scope="session")
def chromium_process():
    """One Chromium per test process (starting one takes seconds); tests get contexts of their own."""
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def chromium(chromium_process):
    """The browser; every context a test opens (its cookies, its pages) is closed after it."""
    yield chromium_process
    for context in chromium_process.contexts:
        context.close()
