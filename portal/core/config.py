"""One configuration object, read from environment variables with safe defaults."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path

from portal.core import clock

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INSTANCE_PATH = PROJECT_ROOT / "instance"
MIN_SECRET_KEY_LENGTH = 32


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class Config:
    """Everything the web app, the CLI and the scheduler process need to know.

    Build it with ``Config.from_env()``; tests build it directly with overrides.
    """

    database_url: str = ""
    secret_key: str = ""
    environment: str = "development"  # development | production | testing
    instance_path: Path = DEFAULT_INSTANCE_PATH
    testing: bool = False
    csrf_enabled: bool = True
    # werkzeug hash spec; tests use a cheap one so that building fixtures stays fast.
    password_hash_method: str = "scrypt"
    session_cookie_secure: bool = False
    # How long "keep me logged in" lasts (the remember-me cookie; logout and a password change end it sooner).
    remember_days: int = 14
    # Reverse proxies in front of the app (nginx: 1): the client's address and scheme are then
    # read from their X-Forwarded-For/-Proto headers (login throttling counts per address).
    proxy_count: int = 0
    # Vendor admins must use two-factor sign-in (sent to enrolment before anything else).
    require_admin_2fa: bool = False
    default_language: str = "en"
    default_timezone: str = clock.DEFAULT_TIME_ZONE
    page_size: int = 25
    import_max_bytes: int = 5 * 1024 * 1024
    import_max_rows: int = 20_000
    # A file of more rows is planned and committed by the scheduler process, not in the request.
    # 10,000 rows (the files resellers send) plan in about 1 s and commit in about 1 s: well inside
    # a request, and with no wait for the job and the page's reloads; a bigger file is a job.
    import_job_rows: int = 10_000
    # When the nightly aggregation runs (crontab, in default_timezone).
    aggregation_cron: str = "0 2 * * *"
    # A running job touches its claim this often; a claim untouched for job_stale_seconds is a
    # dead run (killed, machine lost) and the next run takes it over.
    job_heartbeat_seconds: float = 10.0
    job_stale_seconds: float = 60.0
    # Links in emails point here.
    base_url: str = "http://127.0.0.1:5000"
    # Email: with no SMTP host, messages stay in the outbox (viewable by vendor admins).
    mail_from: str = "Channel Success Portal <portal@localhost>"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls | ssl | none
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_timeout: float = 30.0
    smtp_ca_file: str = ""  # a private CA that signed the SMTP server's certificate
    # One email run delivers until nothing is due or this many seconds have gone by, below the
    # scheduler's 5-minute interval so runs do not pile up (the rest goes in the next run).
    email_run_seconds: float = 240.0
    # The health model's backtests and fits (portal/scoring/backtest.py): an outcome is judged by
    # the account's snapshot this many days before it was decided (the latest one in the window),
    # and a fitted model's red band aims at this multiple of the channel's churn rate.
    outcome_lead_min_days: int = 60
    outcome_lead_max_days: int = 120
    fit_red_churn_multiple: float = 3.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Config":
        env = os.environ if environ is None else environ
        instance_path = Path(env.get("PORTAL_INSTANCE_PATH") or DEFAULT_INSTANCE_PATH)
        environment = env.get("PORTAL_ENV", "development")
        smtp_security = env.get("PORTAL_SMTP_SECURITY", "starttls").lower()
        if smtp_security not in ("starttls", "ssl", "none"):
            raise ValueError(f"PORTAL_SMTP_SECURITY must be starttls, ssl or none, not {smtp_security!r}")
        config = cls(
            database_url=env.get("PORTAL_DATABASE_URL", ""),
            secret_key=env.get("PORTAL_SECRET_KEY", ""),
            environment=environment,
            instance_path=instance_path,
            session_cookie_secure=_flag(env.get("PORTAL_SECURE_COOKIES"), environment == "production"),
            remember_days=int(env.get("PORTAL_REMEMBER_DAYS") or "14"),
            require_admin_2fa=_flag(env.get("PORTAL_REQUIRE_ADMIN_2FA")),
            proxy_count=int(env.get("PORTAL_PROXY_COUNT") or "0"),
            default_language=env.get("PORTAL_DEFAULT_LANGUAGE", "en"),
            default_timezone=env.get("PORTAL_DEFAULT_TIMEZONE") or clock.DEFAULT_TIME_ZONE,
            page_size=int(env.get("PORTAL_PAGE_SIZE", "25")),
            import_max_bytes=int(env.get("PORTAL_IMPORT_MAX_BYTES", str(5 * 1024 * 1024))),
            import_max_rows=int(env.get("PORTAL_IMPORT_MAX_ROWS", "20000")),
            import_job_rows=int(env.get("PORTAL_IMPORT_JOB_ROWS", "10000")),
            aggregation_cron=env.get("PORTAL_AGGREGATION_CRON", "0 2 * * *"),
            job_heartbeat_seconds=float(env.get("PORTAL_JOB_HEARTBEAT_SECONDS") or 10),
            job_stale_seconds=float(env.get("PORTAL_JOB_STALE_SECONDS") or 60),
            base_url=env.get("PORTAL_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
            mail_from=env.get("PORTAL_MAIL_FROM", "Channel Success Portal <portal@localhost>"),
            smtp_host=env.get("PORTAL_SMTP_HOST", ""),
            smtp_security=smtp_security,
            smtp_port=int(env.get("PORTAL_SMTP_PORT") or (465 if smtp_security == "ssl" else 587)),
            smtp_user=env.get("PORTAL_SMTP_USER", ""),
            smtp_password=env.get("PORTAL_SMTP_PASSWORD", ""),
            smtp_ca_file=env.get("PORTAL_SMTP_CA_FILE", ""),
            email_run_seconds=float(env.get("PORTAL_EMAIL_RUN_SECONDS") or 240.0),
            outcome_lead_min_days=int(env.get("PORTAL_OUTCOME_LEAD_MIN_DAYS") or 60),
            outcome_lead_max_days=int(env.get("PORTAL_OUTCOME_LEAD_MAX_DAYS") or 120),
            fit_red_churn_multiple=float(env.get("PORTAL_FIT_RED_CHURN_MULTIPLE") or 3.0),
        )
        return config.resolved()

    @classmethod
    def for_testing(cls, database_url: str, instance_path: Path, **overrides) -> "Config":
        config = cls(
            database_url=database_url,
            secret_key="test-secret-key",
            environment="testing",
            instance_path=instance_path,
            testing=True,
            password_hash_method="pbkdf2:sha256:1000",
        )
        for name, value in overrides.items():
            if name not in {f.name for f in fields(cls)}:
                raise TypeError(f"unknown config option {name!r}")
            setattr(config, name, value)
        return config

    def today(self) -> date:
        """Today where the vendor works (Asia/Tokyo by default), not the server's UTC date."""
        return clock.today(self.default_timezone)

    def resolved(self) -> "Config":
        """Fill the defaults that depend on the instance folder."""
        if not self.database_url:
            self.instance_path.mkdir(parents=True, exist_ok=True)
            self.database_url = f"sqlite:///{self.instance_path / 'portal.db'}"
        if not self.secret_key:
            if self.environment == "production":
                raise RuntimeError(
                    "PORTAL_SECRET_KEY must be set in production (PORTAL_ENV=production)."
                )
            self.secret_key = _instance_secret_key(self.instance_path)
        if self.environment == "production" and len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
            # It signs sessions, remember-me cookies and the links in emails: a short one can be guessed.
            raise RuntimeError(
                f"PORTAL_SECRET_KEY is too short ({len(self.secret_key)} characters): use at least "
                f"{MIN_SECRET_KEY_LENGTH} random characters in production, e.g. the output of "
                "`python3 -c 'import secrets; print(secrets.token_hex(32))'`."
            )
        return self


def _instance_secret_key(instance_path: Path) -> str:
    """A development key generated once and kept, so sessions survive restarts."""
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key
