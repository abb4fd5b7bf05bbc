"""The portal as gunicorn serves it in the benchmark, plus the floor every page is compared to:
/_bench/bare, a bare endpoint under the same gunicorn with the session user loaded.

    PORTAL_DATABASE_URL=... PORTAL_SECRET_KEY=... gunicorn -w 2 bench.wsgi:app

PORTAL_BENCH_NOW (ISO moment) pins the portal's clock to the benchmark's fixed day.
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timezone

from flask_login import current_user, login_required

from portal import create_app

if os.environ.get("PORTAL_BENCH_NOW"):
    import time_machine

    # Every worker moves by the same offset from the moment the server started (not to the same
    # moment whenever it happens to start): a session cookie signed by one worker must not look
    # signed in the future to another, or the user is logged out.
    started = float(os.environ.get("PORTAL_BENCH_STARTED") or time.time())
    offset = datetime.fromisoformat(os.environ["PORTAL_BENCH_NOW"]) - datetime.fromtimestamp(started, timezone.utc)
    time_machine.travel(datetime.now(timezone.utc) + offset, tick=True).start()

app = create_app()


@app.get("/_bench/bare")
@login_required
def bare():
    return current_user.email, 200, {"Content-Type": "text/plain"}
