"""The portal as gunicorn serves it in the benchmark, plus the floor every page is compared to:
/_bench/bare, a bare endpoint under the same gunicorn with the session user loaded; and
/_bench/layout, an empty page on base.html (nav, translations, CSRF token): what the layout
alone costs every page.

    PORTAL_DATABASE_URL=... PORTAL_SECRET_KEY=... gunicorn -w 2 bench.wsgi:app

PORTAL_BENCH_NOW (ISO moment) moves the portal's clock (portal.core.clock.now) to the benchmark's fixed day.
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timezone

from flask import render_template
from flask_login import current_user, login_required

from portal import create_app

if os.environ.get("PORTAL_BENCH_NOW"):
    # Only the portal's one clock moves (to the benchmark's day, by one offset shared by every
    # worker). Moving all of Python's clocks (time-machine) moved the signing time of session
    # cookies too, and a few ms between workers made one refuse the other's cookie (CSRF 400s).
    from portal.core import clock

    started = float(os.environ.get("PORTAL_BENCH_STARTED") or time.time())
    offset = datetime.fromisoformat(os.environ["PORTAL_BENCH_NOW"]) - datetime.fromtimestamp(started, timezone.utc)
    clock.now = lambda: datetime.now(timezone.utc) + offset

app = create_app()


@app.get("/_bench/bare")
@login_required
def bare():
    return current_user.email, 200, {"Content-Type": "text/plain"}


# Compiled once, as a template file would be.
LAYOUT = app.jinja_env.from_string('{% extends "base.html" %}{% block title %}Layout{% endblock %}')


@app.get("/_bench/layout")
@login_required
def layout():
    return render_template(LAYOUT)
