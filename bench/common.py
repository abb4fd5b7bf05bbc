"""What every measurement shares: the fixed day, the databases, timers and the result rows."""
from __future__ import annotations

import os
import socket
import statistics
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
# A fixed Monday, 10:00 in Tokyo: the data, gunicorn and the services all take it as "now", so
# figures do not move with the calendar (weekly emails are due, monthly check-ins are in grace).
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
DAY = date(2026, 11, 23)
PASSWORD = "portal-demo-2026"
DEFAULT_URL = "postgresql+psycopg://root@127.0.0.1:5432/bench_{size}"


@contextmanager
def fixed_clock(moment: datetime = NOW):
    """Every clock of Python moves to `moment` and ticks on from there (perf_counter and monotonic
    are left alone, so timings stay true). The portal reads only portal.core.clock, which this moves."""
    import time_machine

    with time_machine.travel(moment, tick=True):
        yield


def database_url(template: str, size: int) -> str:
    return template.format(size=size)


def recreate(url: str) -> None:
    """Drop and create the database the URL names (the tool owns it)."""
    from portal.core.db import make_engine

    name = make_url(url).database
    admin = make_engine(make_url(url).set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def drop(url: str) -> None:
    from portal.core.db import make_engine

    name = make_url(url).database
    admin = make_engine(make_url(url).set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class Timer:
    def __enter__(self):
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.started


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float | None:
    """The highest resident memory a process has had (Linux VmHWM), in MB; None elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Row:
    """One line of the table. unit says what figure and floor are: "s" (lower is better),
    "req/s" (figure and floor are req/s; the ratio is the share of the floor), "msg/s" or "" (a count)."""

    what: str
    accounts: int
    figure: float | None
    unit: str = "s"
    floor: float | None = None
    target: str = ""
    ok: bool | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.figure is None or not self.floor:
            return None
        return self.figure / self.floor

    def as_dict(self) -> dict:
        return dict(asdict(self), ratio=self.ratio)


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")
