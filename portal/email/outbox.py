"""The email outbox: messages are rendered once, queued in the database, and delivered by SMTP.

Delivery claims a small batch of rows at a time with one conditional UPDATE, so two sender
processes never send the same message, and sends them over one SMTP session; a failed delivery is retried with a growing wait and stays visible. A
permanent refusal of the message itself (a 5xx reply to its sender, recipient or content)
fails it at once with the server's reply: retrying would only be refused again.

Once, not exactly once: if the sender dies after the server accepted a message and before its
row says "sent", the claim goes stale and the message is delivered again after STALE_CLAIM,
with the same Message-ID (so mail clients can tell it is the same message).
"""
from __future__ import annotations

import logging
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from portal.auth.links import person_from_token, person_token

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, joinedload

from portal.core.clock import utcnow
from portal.core.db import insert_once
from portal.models import DeliveryStatus, EmailKind, OutboxMessage, User

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=5)
LONGEST_WAIT = timedelta(hours=6)
# A claim older than this belongs to a sender that died mid-delivery: deliver again.
STALE_CLAIM = timedelta(minutes=15)
# Messages claimed at once: a few seconds of sending, far below STALE_CLAIM.
CLAIM_BATCH = 50


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    language: str


def queue(session: Session, user: User, kind: EmailKind, period: str, message: Rendered,
          now: datetime | None = None) -> OutboxMessage | None:
    """Queue one message unless this person already has one of this kind for this period.
    Returns the new message, or None when it already existed."""
    new_id = queue_many(session, [(user, kind, period, message)], now).get(user.id)
    return session.get(OutboxMessage, new_id) if new_id is not None else None


def queue_many(session: Session, messages: list[tuple[User, EmailKind, str, Rendered]],
               now: datetime | None = None) -> dict[int, int]:
    """Queue many messages in one statement, each unless its person already has one of this kind
    for this period: INSERT … ON CONFLICT DO NOTHING on the unique (user, kind, period), so a
    rerun or a second process adds nothing. Returns {user id: new message id} for those added
    (one message per person per call)."""
    if not messages:
        return {}
    at = now or utcnow()
    rows = [dict(user_id=user.id, to_address=user.email, kind=kind.value, period=period, language=message.language,
                 subject=message.subject[:255], body_text=message.text, body_html=message.html,
                 status=DeliveryStatus.QUEUED.value, attempts=0, next_attempt_at=at, created_at=at)
            for user, kind, period, message in messages]
    stmt = insert_once(session, OutboxMessage, ["user_id", "kind", "period"]).returning(OutboxMessage.user_id, OutboxMessage.id)
    return {user_id: new_id for user_id, new_id in session.execute(stmt, rows).all()}


def backoff(attempts: int) -> timedelta:
    """5, 10, 20, 40 minutes … at most 6 hours between attempts."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


@dataclass
class SendResult:
    sent: int = 0
    failed: int = 0
    skipped: bool = False


def deliver_due(session: Session, config, now: datetime | None = None, *, budget: float | None = None) -> SendResult:
    """Send every message whose time has come, over one SMTP session, batch after batch until
    nothing is due or the run's time budget (config.email_run_seconds) is spent: a week's mail
    goes out in one run, not CLAIM_BATCH every few minutes. Without an SMTP host, nothing is sent:
    the messages stay queued and readable in the outbox page."""
    if not config.smtp_host:
        return SendResult(skipped=True)
    now = now or utcnow()
    deadline = time.monotonic() + (config.email_run_seconds if budget is None else budget)
    result = SendResult()
    with _Connection(config) as smtp:
        while True:
            batch = _claim_batch(session, now)
            for message in batch:
                try:
                    smtp.send(to_mime(message, config))
                except Exception as error:  # noqa: BLE001 - every failure is recorded on the message
                    _failed(session, message, error, now, permanent=refused_permanently(error))
                    result.failed += 1
                else:
                    message.status, message.sent_at, message.last_error = DeliveryStatus.SENT, utcnow(), None
                    session.commit()  # one row, one commit: a crash re-sends at most the message in flight
                    result.sent += 1
            # A claimed batch is always finished (it is small), so no claim is left to go stale.
            if len(batch) < CLAIM_BATCH or time.monotonic() >= deadline:
                return result


def _claimable(now: datetime):
    """Waiting and due, or claimed by a sender that died mid-delivery."""
    return or_(
        OutboxMessage.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.RETRYING]) & (OutboxMessage.next_attempt_at <= now),
        (OutboxMessage.status == DeliveryStatus.SENDING) & (OutboxMessage.claimed_at < now - STALE_CLAIM),
    )


def _claim_batch(session: Session, now: datetime) -> list[OutboxMessage]:
    """Claim the next CLAIM_BATCH due messages in one conditional UPDATE, so two senders never
    send the same message. PostgreSQL skips rows another sender is claiming (SKIP LOCKED) rather
    than waiting for them; SQLite's writer lock makes the UPDATE atomic on its own. The claim is
    committed before any SMTP traffic: no transaction stays open while the server is talked to."""
    due = select(OutboxMessage.id).where(_claimable(now)).order_by(OutboxMessage.id).limit(CLAIM_BATCH)
    if session.get_bind().dialect.name == "postgresql":
        # Materialised: a LIMIT … SKIP LOCKED subquery inside IN may be run again by the plan and
        # pick other rows each time, claiming far more than a batch.
        picked = due.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        due = select(picked.c.id)
    claimed = session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.scalar_subquery()), _claimable(now))
        .values(status=DeliveryStatus.SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    ).all()
    messages = list(session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(claimed))
                                    .options(joinedload(OutboxMessage.user)).order_by(OutboxMessage.id)
                                    .execution_options(populate_existing=True)).all()) if claimed else []
    session.commit()
    return messages


def refused_permanently(error: Exception) -> bool:
    """A 5xx reply to this message's sender, recipient or content: the server will refuse it
    again, so it fails at once. Everything else is retried with the backoff: 4xx replies,
    connection errors, and 5xx replies to the session itself (a refused login, 535, or a
    refused greeting or STARTTLS) — those are the portal's configuration or the server's state,
    not the message's fault, and every message would fail alike until an operator fixes them;
    their error stays visible on each message in the outbox meanwhile."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(code >= 500 for code, _reply in error.recipients.values())
    return isinstance(error, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) and error.smtp_code >= 500


def _describe(error: Exception) -> str:
    """The server's own reply where there is one ("550 5.1.1 No such user"), for the outbox page."""
    def reply(code: int, text: bytes | str) -> str:
        return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"

    if isinstance(error, smtplib.SMTPRecipientsRefused):
        detail = "; ".join(f"{address}: {reply(*answer)}" for address, answer in error.recipients.items())
    elif isinstance(error, smtplib.SMTPResponseException):
        detail = reply(error.smtp_code, error.smtp_error)
    else:
        detail = str(error)
    return f"{type(error).__name__}: {detail}"


def _failed(session: Session, message: OutboxMessage, error: Exception, now: datetime, *, permanent: bool = False) -> None:
    log.warning("email %s to %s failed (attempt %s%s): %s", message.id, message.to_address, message.attempts,
                ", permanent" if permanent else "", error)
    message.last_error = _describe(error)[:2000]
    if permanent or message.attempts >= MAX_ATTEMPTS:
        message.status = DeliveryStatus.FAILED
    else:
        message.status = DeliveryStatus.RETRYING
        message.next_attempt_at = now + backoff(message.attempts)
    session.commit()


def retry_now(session: Session, message: OutboxMessage) -> None:
    """An admin's 'send again' for a message that gave up or waits for its next attempt."""
    message.status, message.next_attempt_at, message.attempts = DeliveryStatus.QUEUED, utcnow(), 0
    session.commit()


def to_mime(message: OutboxMessage, config) -> EmailMessage:
    mime = EmailMessage()
    mime["Subject"] = message.subject
    mime["From"] = config.mail_from
    mime["To"] = message.to_address
    mime["Date"] = format_datetime(message.created_at.replace(tzinfo=timezone.utc))
    domain = parseaddr(config.mail_from)[1].partition("@")[2] or "localhost"
    # Stable per outbox row: a message delivered twice after a crash is recognisably the same.
    mime["Message-ID"] = f"<outbox-{message.id}@{domain}>"
    mime["X-Portal-Kind"] = message.kind.value
    if message.user is not None:  # RFC 8058 one-click unsubscribe, signed, no login
        mime["List-Unsubscribe"] = f"<{link(config, 'unsubscribe', message.user)}>"
        mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mime.set_content(message.body_text)
    mime.add_alternative(message.body_html, subtype="html")
    return mime


# A preference link works this long after the email was made, and dies when the password changes.
LINK_MAX_AGE = timedelta(days=60)


LINK_SALT = "email-links"


def link(config, action: str, user: User) -> str:
    """The signed link in every email to change preferences or unsubscribe without logging in
    (action: 'preferences' or 'unsubscribe'). Forging one needs the secret key; it carries the
    moment it was made (60 days of life) and the fingerprint of the person's password, so a
    password change ends every link sent before (a forwarded email stops working)."""
    return f"{config.base_url}/email/{action}/{person_token(config, LINK_SALT, user)}"


def user_from(config, session: Session, token: str) -> User | None:
    """The person a preference link is for, while it is fresh and their password unchanged."""
    return person_from_token(config, session, LINK_SALT, token, LINK_MAX_AGE)


class _Connection:
    """One SMTP session for a whole run, opened on first use, so an unreachable server fails each
    message (recorded, retried later) instead of the whole job."""

    def __init__(self, config) -> None:
        self.config = config
        self.smtp: smtplib.SMTP | None = None
        self._tls: ssl.SSLContext | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass  # the messages are sent; a failed goodbye changes nothing

    def _context(self) -> ssl.SSLContext:
        """Certificates are always verified: against the system's CAs, or a private CA file.
        Built once per batch (loading the CAs takes tens of milliseconds), and only for TLS."""
        if self._tls is None:
            self._tls = ssl.create_default_context(cafile=self.config.smtp_ca_file or None)
        return self._tls

    def _open(self) -> smtplib.SMTP:
        c = self.config
        smtp: smtplib.SMTP
        if c.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(c.smtp_host, c.smtp_port, timeout=c.smtp_timeout, context=self._context())
        else:
            smtp = smtplib.SMTP(c.smtp_host, c.smtp_port, timeout=c.smtp_timeout)
            if c.smtp_security == "starttls":
                smtp.starttls(context=self._context())
        if c.smtp_user:
            smtp.login(c.smtp_user, c.smtp_password)
        return smtp

    def send(self, mime: EmailMessage) -> None:
        if self.smtp is None:
            self.smtp = self._open()
        try:
            self.smtp.send_message(mime)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            self.smtp = None  # the next message opens a new session
            raise
