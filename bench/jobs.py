"""The scheduler's check-in import job beside the benchmark's gunicorn, with the same pinned
clock (bench.wsgi). `portal scheduler` runs it every 3 s; here every 0.5 s, so the import
figures measure the work, not the wait for the next tick. The nightly and email jobs are
measured on their own (bench.nightly, bench.emails), so they are not scheduled here."""
from __future__ import annotations

import time

from bench.wsgi import app
from portal.scheduler import run_imports

if __name__ == "__main__":
    while True:
        run_imports(app)
        time.sleep(0.5)
