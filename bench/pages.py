"""Pages under load: 4 logged-in clients for --duration seconds per page, --repeat times, each
page right after its floor (the bare endpoint under the same gunicorn with the session user
loaded), so that each share is read against the floor of the same moment. Figures: req/s (and its share of the bare endpoint's), p50, p95, single-user time."""
from __future__ import annotations

import asyncio
from contextlib import closing
import re
import statistics
import time
from dataclasses import dataclass

import httpx
from sqlalchemy import text

from bench.common import Row, median
from bench.generate import MANAGER, VENDOR_ADMIN, admin_email
from bench.server import Server, login

CLIENTS = 4


@dataclass
class Page:
    name: str
    email: str
    path: str = ""
    headers: dict | None = None


def deep_accounts_page(session, client: httpx.Client, accounts: int) -> str:
    """A page far into the vendor's accounts list (80 % of the way), as its Next link names it
    after that many pages: ?after=<the last account of the page before> (keyset, in the list's
    name order; the vendor admin sees every account), with the page number it shows."""
    first = client.get("/accounts")
    per_page = max(1, len(set(re.findall(r'href="/accounts/(\d+)"', first.text))))
    page = max(2, int(accounts * 0.8 / per_page))
    before = session.execute(text("SELECT id FROM accounts ORDER BY lower(coalesce(name_kana, name)), id OFFSET :n LIMIT 1"),
                             {"n": (page - 1) * per_page - 1}).scalar_one()
    path = f"/accounts?page={page}&after={before}"
    if not re.search(r'href="/accounts/\d+"', client.get(path).text):
        raise RuntimeError(f"{path} lists no accounts: adapt deep_accounts_page to the list's pager")
    return path


def api_token(session, email: str) -> str:
    from sqlalchemy import select

    from portal.api.tokens import issue_token
    from portal.models import User

    user = session.scalar(select(User).where(User.email == email))
    _token, secret = issue_token(session, user, "bench")
    session.commit()
    return secret


def pages(session, server: Server, accounts: int) -> list[Page]:
    largest = session.execute(text("SELECT id FROM partners WHERE code = 'P1'")).scalar_one()
    with closing(login(server.base_url, VENDOR_ADMIN)) as vendor:
        deep = deep_accounts_page(session, vendor, accounts)
    return [
        # The layout every page pays (base.html, logged in), read against the bare endpoint.
        Page("light page (layout only)", MANAGER, "/_bench/layout"),
        Page("channel overview (partner manager)", MANAGER, "/channel"),
        Page("partner scorecard, largest partner", MANAGER, f"/partners/{largest}/scorecard"),
        Page("voice-of-customer search ?q=export", MANAGER, "/voice-of-customer?q=export"),
        Page("reseller home (largest partner's admin)", admin_email(1), "/home"),
        Page("vendor accounts list, deep page", VENDOR_ADMIN, deep),
        Page("API accounts list", "", "/api/v1/accounts?page=2",
             {"Authorization": "Bearer " + api_token(session, admin_email(1))}),
    ]


async def _hammer(base_url: str, cookies, headers, path: str, duration: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0

    async def one_client():
        nonlocal errors
        async with httpx.AsyncClient(base_url=base_url, cookies=cookies, headers=headers, timeout=60) as client:
            deadline = time.monotonic() + duration
            while time.monotonic() < deadline:
                started = time.monotonic()
                try:
                    response = await client.get(path)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.monotonic() - started)
                errors += not ok

    started = time.monotonic()
    await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
    return latencies, errors, time.monotonic() - started


def load(base_url, cookies, headers, path, duration) -> dict:
    latencies, errors, elapsed = asyncio.run(_hammer(base_url, cookies, headers, path, duration))
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {"rps": len(latencies) / elapsed, "p50": q[49], "p95": q[94], "requests": len(latencies), "errors": errors}


def single_user(client: httpx.Client, path: str, headers, times: int = 3, change=None) -> float:
    """The median time of one request alone; change(): called before each, a write that makes a
    kept page render again (the first view after a change)."""
    client.get(path, headers=headers)  # warm: the first request of a worker compiles templates
    seconds = []
    for _ in range(times):
        if change is not None:
            change()
        started = time.perf_counter()
        client.get(path, headers=headers)
        seconds.append(time.perf_counter() - started)
    return median(seconds)


def note_a_change(session) -> None:
    """A write every partner's pages could show (a note for partner 0, as a settings change makes):
    the next request of a kept page renders it (portal.core.fragments.page)."""
    session.execute(text("INSERT INTO data_changes (partner_id) VALUES (0)"))
    session.commit()


def measure(session, server: Server, accounts: int, duration: float, repeat: int) -> list[Row]:
    listed = pages(session, server, accounts)
    cookies = {}
    for email in {p.email for p in listed if p.email}:
        with closing(login(server.base_url, email)) as client:
            cookies[email] = dict(client.cookies)
    bare_cookies = cookies[MANAGER]
    results = {p.name: [] for p in listed}
    bares = []
    for _round in range(repeat):
        for page in listed:  # each page right after its own floor: a machine that slows down mid-run moves both
            bare = load(server.base_url, bare_cookies, None, "/_bench/bare", duration)
            bares.append(bare)
            figures = load(server.base_url, cookies.get(page.email), page.headers, page.path, duration)
            results[page.name].append((figures, bare))
    rows = [Row("bare endpoint (floor of the pages)", accounts, median([b["rps"] for b in bares]), "req/s",
                note=f"p95 {median([b['p95'] for b in bares]) * 1000:.0f} ms")]
    for page in listed:
        runs = results[page.name]
        with httpx.Client(base_url=server.base_url, cookies=cookies.get(page.email), timeout=120) as client:
            alone = single_user(client, page.path, page.headers)
            rendered = single_user(client, page.path, page.headers, times=5, change=lambda: note_a_change(session))
        rps, floor = median([f["rps"] for f, _ in runs]), median([b["rps"] for _, b in runs])
        p50, p95 = median([f["p50"] for f, _ in runs]), median([f["p95"] for f, _ in runs])
        errors = sum(f["errors"] for f, _ in runs)
        rows.append(Row(page.name, accounts, rps, "req/s", floor, "≥ 40 % of bare, p95 < 250 ms",
                        rps >= 0.4 * floor and p95 < 0.25 and not errors,
                        f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, single user {alone * 1000:.0f} ms"
                        f" ({rendered * 1000:.0f} ms after a change)"
                        + (f", {errors} errors" if errors else ""),
                        {"p50": p50, "p95": p95, "single_user": alone, "after_a_change": rendered, "errors": errors, "path": page.path}))
    return rows
