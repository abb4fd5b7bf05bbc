"""The scheduler's check-in import job beside the benchmark's gunicorn, with the same pinned
clock (bench.wsgi), run as `portal scheduler` runs it: every IMPORTS_EVERY_SECONDS, and at once
when the web wakes it (portal.core.wakeup: an upload or a confirmed commit queued), so the
import figures include the real wait for the job. The nightly and email jobs are measured on
their own (bench.nightly, bench.emails), so they are not scheduled here."""
from __future__ import annotations

import threading

from bench.wsgi import app
from portal.core import wakeup
from portal.scheduler import IMPORTS_EVERY_SECONDS, run_imports

if __name__ == "__main__":
    woken = threading.Event()
    wakeup.start_listening(app.config["PORTAL"].database_url, lambda job_id: woken.set() if job_id == "import-jobs" else None)
    while True:
        run_imports(app)
        woken.wait(IMPORTS_EVERY_SECONDS)
        woken.clear()
