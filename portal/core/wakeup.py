"""Waking the scheduler's process when the web queues work for it (a big check-in file, a
health model fit, "Run now"), so that the work starts at once instead of at the job's next tick
(3 to 10 seconds later).

PostgreSQL carries the call: `wake` sends a NOTIFY inside the caller's transaction, so it is
delivered only if the work it announces is committed, and `listen` (a thread of `portal
scheduler`) hears it. On SQLite nothing carries it and the ticks pick the work up as before.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
CHANNEL = "portal_jobs"
RECONNECT_SECONDS = 5


def wake(session: Session, job_id: str) -> None:
    """Ask the scheduler to run the job `job_id` (its id in portal.scheduler) when this
    transaction commits; nothing is sent if it rolls back."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, job_id)))


def listen(url: str, on_wake: Callable[[str], None], stop: threading.Event) -> None:
    """Call on_wake(job id) for every wake-up sent to the database at `url` (a SQLAlchemy
    PostgreSQL URL) until `stop` is set; after a lost connection, connect again."""
    import psycopg

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    while not stop.is_set():
        try:
            with psycopg.connect(conninfo, autocommit=True) as connection:
                connection.execute(f"LISTEN {CHANNEL}")
                while not stop.is_set():
                    for note in connection.notifies(timeout=1.0):
                        on_wake(note.payload)
        except psycopg.Error as error:
            log.warning("wake-ups: %s; listening again in %s s", error, RECONNECT_SECONDS)
            stop.wait(RECONNECT_SECONDS)


def start_listening(url: str, on_wake: Callable[[str], None]) -> threading.Event | None:
    """`listen` in a daemon thread, for a PostgreSQL database (None elsewhere). Set the event
    returned to stop it."""
    if make_url(url).get_backend_name() != "postgresql":
        return None
    stop = threading.Event()
    threading.Thread(target=listen, args=(url, on_wake, stop), name="wake-ups", daemon=True).start()
    return stop
