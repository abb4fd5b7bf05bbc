"""Load test: many people using the main pages at once, against gunicorn + PostgreSQL.

Each virtual user logs in as one of the demo logins (vendor admin, partner manager, two
partner admins, a partner user), takes the links to its own partners and accounts from the
pages it sees, then requests its role's main pages one after another for the duration. The
report gives, per page, requests, errors, p50 / p95 / max latency, and the overall requests
per second; the exit status is 1 if any request failed (not 200, or a timeout).

Against a portal already running (any database, with the demo data):

    .venv/bin/python bench/load.py --base-url http://127.0.0.1:8000 --users 50 --duration 60

Or let the script start it: a PostgreSQL database of your own, migrated and loaded with the
demo data (`portal demo`), served by gunicorn (4 sync workers) on a free port, stopped after:

    createdb -h 127.0.0.1 -U root h13_load
    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/load.py --serve --database-url postgresql+psycopg://root@127.0.0.1:5432/h13_load

which is the same as starting it by hand:

    export PORTAL_DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/h13_load PORTAL_SECRET_KEY=bench
    .venv/bin/portal demo                                  # migrate, load the demo data once
    .venv/bin/gunicorn -w 4 -b 127.0.0.1:8000 app:app

Not part of the test suite: it takes a minute and all the machine's cores.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "portal-demo-2026"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

# Login, and the pages each role uses most; {account} and {partner} come from its own pages.
ROLES = {
    "admin@vendor.example": ["/channel", "/accounts", "/partners/{partner}/scorecard", "/accounts/{account}",
                             "/voice-of-customer", "/actions", "/jobs"],
    "manager@vendor.example": ["/channel", "/accounts", "/partners/{partner}/scorecard", "/accounts/{account}",
                               "/voice-of-customer", "/actions"],
    "admin@sakura.example": ["/home", "/accounts", "/accounts/{account}", "/partners/{partner}/scorecard", "/actions"],
    "user@sakura.example": ["/home", "/accounts", "/accounts/{account}", "/actions"],
    "admin@blueharbor.example": ["/home", "/accounts", "/accounts/{account}", "/partners/{partner}/scorecard", "/actions"],
}


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: list[str] = field(default_factory=list)

    def record(self, page: str, seconds: float, error: str | None) -> None:
        self.latencies[page].append(seconds)
        if error:
            self.errors[page] += 1
            if len(self.examples) < 10:
                self.examples.append(f"{page}: {error}")


async def login(client: httpx.AsyncClient, email: str) -> None:
    page = await client.get("/login")
    token = CSRF.search(page.text)
    if page.status_code != 200 or not token:
        raise RuntimeError(f"login page: {page.status_code}")
    response = await client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)})
    if response.status_code != 302 or "/login" in response.headers.get("location", ""):
        raise RuntimeError(f"login as {email} refused: {response.status_code}")


async def discover(client: httpx.AsyncClient, paths: list[str]) -> dict[str, list[str]]:
    """The ids of accounts and partners this user may see, taken from its own pages."""
    ids: dict[str, list[str]] = {"account": [], "partner": []}
    for path in ("/accounts", "/channel" if "/channel" in paths else "/home"):
        text = (await client.get(path)).text
        ids["account"] += re.findall(r'href="/accounts/(\d+)"', text)
        ids["partner"] += re.findall(r'href="/partners/(\d+)/scorecard"', text)
    return {k: sorted(set(v)) for k, v in ids.items()}


async def virtual_user(number: int, base_url: str, duration: float, ready: asyncio.Barrier, stats: Stats) -> None:
    email = list(ROLES)[number % len(ROLES)]
    paths = ROLES[email]
    async with httpx.AsyncClient(base_url=base_url, timeout=30, follow_redirects=False) as client:
        try:
            await login(client, email)
            ids = await discover(client, paths)
        finally:
            await ready.wait()  # everyone is logged in (scrypt is slow on purpose): the clock starts now
        deadline = time.monotonic() + duration
        step = number  # users start at different pages
        while time.monotonic() < deadline:
            template = paths[step % len(paths)]
            step += 1
            kind = "account" if "{account}" in template else "partner" if "{partner}" in template else None
            if kind and not ids[kind]:
                continue
            url = template.format(**{k: v[step % len(v)] for k, v in ids.items() if v})
            started = time.monotonic()
            try:
                response = await client.get(url)
                error = None if response.status_code == 200 else f"HTTP {response.status_code} for {url}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__} for {url}"
            stats.record(template, time.monotonic() - started, error)


def percentile(values: list[float], p: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def report(stats: Stats, seconds: float, users: int) -> int:
    total = sum(len(v) for v in stats.latencies.values())
    errors = sum(stats.errors.values())
    print(f"\n{users} users for {seconds:.0f} s: {total} requests, {errors} errors, {total / seconds:.1f} req/s")
    print(f"{'page':<34}{'count':>8}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    everything: list[float] = []
    for page in sorted(stats.latencies):
        values = stats.latencies[page]
        everything += values
        print(f"{page:<34}{len(values):>8}{stats.errors[page]:>8}{percentile(values, 50) * 1000:>9.0f}"
              f"{percentile(values, 95) * 1000:>9.0f}{max(values) * 1000:>9.0f}")
    if everything:
        print(f"{'all pages':<34}{len(everything):>8}{errors:>8}{percentile(everything, 50) * 1000:>9.0f}"
              f"{percentile(everything, 95) * 1000:>9.0f}{max(everything) * 1000:>9.0f}")
    for example in stats.examples:
        print("  error:", example)
    return 1 if errors or not total else 0


async def run(base_url: str, users: int, duration: float) -> int:
    stats = Stats()
    ready = asyncio.Barrier(users + 1)
    tasks = [asyncio.create_task(virtual_user(n, base_url, duration, ready, stats)) for n in range(users)]
    await ready.wait()
    start = time.monotonic()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    for failure in failures[:5]:
        print("virtual user failed:", repr(failure))
    status = report(stats, time.monotonic() - start, users)
    return 1 if failures else status


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(database_url: str, workers: int) -> tuple[subprocess.Popen, str]:
    """Migrate and load the demo data (once), then start gunicorn; returns it and its address."""
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PORTAL_DATABASE_URL=database_url, PORTAL_SECRET_KEY=os.environ.get("PORTAL_SECRET_KEY", "bench-load"))
    subprocess.run([str(bin_dir / "portal"), "demo"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    server = subprocess.Popen([str(bin_dir / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                               "app:app"], env=env, cwd=ROOT)
    base_url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(base_url + "/login", timeout=2).status_code == 200:
                return server, base_url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not answer on /login")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--serve", action="store_true", help="start gunicorn on --database-url with the demo data")
    parser.add_argument("--database-url", default="postgresql+psycopg://root@127.0.0.1:5432/h13_load")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (with --serve)")
    args = parser.parse_args()
    server = None
    base_url = args.base_url
    if args.serve:
        server, base_url = serve(args.database_url, args.workers)
        print(f"gunicorn ({args.workers} workers) on {base_url}, database {args.database_url}")
    try:
        return asyncio.run(run(base_url, args.users, args.duration))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
