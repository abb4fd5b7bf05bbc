"""gunicorn serving bench.wsgi on a free port, and logged-in HTTP clients for it."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.common import NOW, PASSWORD, ROOT, free_port, peak_rss_mb

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Server:
    """`gunicorn -w 2 bench.wsgi:app` on the database; the portal's clock pinned to the fixed day.
    timeout: gunicorn's worker timeout (its default, 30 s, is the README's production command)."""

    def __init__(self, database_url: str, workers: int = 2, timeout: int = 30, env: dict | None = None):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        environment = dict(os.environ, PORTAL_DATABASE_URL=database_url, PORTAL_SECRET_KEY="bench-" + "x" * 40,
                           PORTAL_BENCH_NOW=NOW.isoformat(), PORTAL_BENCH_STARTED=str(time.time()), PORTAL_ENV="production", PORTAL_SECURE_COOKIES="0",
                           PYTHONPATH=str(ROOT), **(env or {}))
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.process = subprocess.Popen([gunicorn, "-w", str(workers), "-b", f"127.0.0.1:{self.port}", "--timeout", str(timeout),
                                         "--log-level", "warning", "bench.wsgi:app"], env=environment, cwd=ROOT)
        # Big check-in files are planned and committed by the scheduler's import job, as in production.
        self.jobs = subprocess.Popen([sys.executable, "-m", "bench.jobs"], env=environment, cwd=ROOT)
        for _ in range(300):
            try:
                if httpx.get(self.base_url + "/login", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise SystemExit("gunicorn exited at start")
            time.sleep(0.2)
        self.stop()
        raise SystemExit("gunicorn did not answer on /login")

    def workers(self) -> list[int]:
        try:
            return [int(p) for p in Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()]
        except OSError:
            return []

    def worker_peak_mb(self) -> float | None:
        peaks = [m for m in (peak_rss_mb(pid) for pid in self.workers()) if m is not None]
        return max(peaks) if peaks else None

    def stop(self) -> None:
        self.jobs.terminate()
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def csrf_token(html: str) -> str:
    found = CSRF.search(html)
    if not found:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1)


def login(base_url: str, email: str, timeout: float = 600, attempts: int = 3) -> httpx.Client:
    """A client logged in as `email` (its cookies can be copied to other clients). A refused
    login is tried again with a fresh client, and what the page said is printed."""
    for _attempt in range(attempts):
        client = httpx.Client(base_url=base_url, timeout=timeout, follow_redirects=False)
        page = client.get("/login")
        response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(page.text)})
        if response.status_code == 302 and "/login" not in response.headers.get("location", ""):
            return client
        client.close()
        problems = re.findall(r'class="[^"]*(?:error|flash)[^"]*"[^>]*>([^<]+)', response.text)
        print(f"[bench] login as {email} refused: {response.status_code} {problems[:3]}", file=sys.stderr)
        time.sleep(1)
    raise RuntimeError(f"login as {email} refused {attempts} times")
