"""Fault tests for the outbox's SMTP sender against a real loopback server (aiosmtpd): a
permanent refusal (5xx) fails the message at once with the server's reply, a temporary one
(4xx) is retried, and a sender that dies after the server accepted a message sends it again,
with the same Message-ID, once its claim has gone stale."""
from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from portal.core.clock import as_stored
from portal.email import outbox
from portal.email import services as emails
from portal.models import DeliveryStatus, OutboxMessage
from tests import test_emails

week = test_emails.week  # scorecards for this week and the clock on Monday 09:00 in Tokyo


class Refusing:
    """Accepts every message, except that it answers `reply` (e.g. "550 …") at `stage`
    ('RCPT' or 'DATA') for the addresses in `refuse`."""

    def __init__(self, stage: str, reply: str, refuse: set[str]):
        self.stage, self.reply, self.refuse, self.messages = stage, reply, refuse, []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.stage == "RCPT" and address in self.refuse:
            return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.stage == "DATA" and set(envelope.rcpt_tos) & self.refuse:
            return self.reply
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def server(app):
    """start(handler) serves it on a loopback port the app sends to."""
    config = app.config["PORTAL"]
    config.smtp_host, config.smtp_port, config.smtp_security = "127.0.0.1", test_emails.free_port(), "none"
    controllers = []

    def start(handler):
        controller = Controller(handler, hostname="127.0.0.1", port=config.smtp_port)
        controller.start()
        controllers.append(controller)
        return handler

    yield start
    for controller in controllers:
        controller.stop()


def message_to(db, user) -> OutboxMessage:
    db.expire_all()
    return db.scalar(select(OutboxMessage).where(OutboxMessage.user_id == user.id))


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
def test_a_permanent_refusal_fails_the_message_at_once_with_the_servers_reply_and_the_others_go_out(
        app, db, tenants, browser, server, week, stage):
    config = app.config["PORTAL"]
    handler = server(Refusing(stage, "550 5.1.1 No such mailbox here", {tenants.admin_a.email}))
    queued = emails.queue_weekly(app, db, week)
    result = outbox.deliver_due(db, config, as_stored(week))
    assert (result.sent, result.failed) == (queued - 1, 1)

    refused = message_to(db, tenants.admin_a)
    assert refused.status == DeliveryStatus.FAILED and refused.attempts == 1  # not 8 attempts over ~10 hours
    assert "550 5.1.1 No such mailbox here" in refused.last_error
    # Nothing more is tried for it, however often the job runs.
    assert outbox.deliver_due(db, config, as_stored(week + timedelta(days=1))).failed == 0
    assert tenants.admin_a.email not in [m["To"] for m in handler.messages]
    # Visible to the vendor admin in the outbox, with why.
    page = browser(tenants.vendor_admin).get("/outbox?status=failed").get_data(as_text=True)
    assert tenants.admin_a.email in page and "550 5.1.1 No such mailbox here" in page


def test_a_temporary_refusal_is_retried_after_the_backoff_and_then_delivered(app, db, tenants, server, week):
    config = app.config["PORTAL"]
    handler = server(Refusing("RCPT", "451 4.7.1 Greylisted, try again later", {tenants.admin_a.email}))
    emails.queue_weekly(app, db, week)
    assert outbox.deliver_due(db, config, as_stored(week)).failed == 1
    waiting = message_to(db, tenants.admin_a)
    assert waiting.status == DeliveryStatus.RETRYING and "451 4.7.1 Greylisted" in waiting.last_error
    assert waiting.next_attempt_at == as_stored(week) + outbox.backoff(1)

    handler.refuse = set()  # the greylisting is over
    assert outbox.deliver_due(db, config, as_stored(week + timedelta(minutes=1))).sent == 0  # not before its wait
    assert outbox.deliver_due(db, config, as_stored(week + outbox.backoff(1))).sent == 1
    delivered = message_to(db, tenants.admin_a)
    assert delivered.status == DeliveryStatus.SENT and delivered.attempts == 2
    assert [m["To"] for m in handler.messages].count(tenants.admin_a.email) == 1


def test_a_refused_login_is_not_permanent_it_keeps_retrying_visibly():
    """535 is the portal's configuration, not the message: retried until an operator fixes it."""
    import smtplib

    assert not outbox.refused_permanently(smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication failed"))
    assert not outbox.refused_permanently(smtplib.SMTPSenderRefused(451, b"try later", "portal@localhost"))
    assert outbox.refused_permanently(smtplib.SMTPSenderRefused(553, b"not allowed", "portal@localhost"))
    assert not outbox.refused_permanently(smtplib.SMTPRecipientsRefused({"a@x": (550, b"no"), "b@x": (451, b"later")}))
    assert not outbox.refused_permanently(ConnectionRefusedError(111, "Connection refused"))


class Crash(BaseException):
    """The sender process dying (kill -9, machine lost): no except clause of the sender runs."""


def test_a_sender_that_dies_after_the_server_accepted_resends_after_the_claim_times_out_with_the_same_message_id(
        app, db, tenants, server, week, monkeypatch):
    config = app.config["PORTAL"]
    handler = server(Refusing("RCPT", "", set()))
    queued = emails.queue_weekly(app, db, week)
    real_send = outbox._Connection.send

    def send_then_die(self, mime):
        real_send(self, mime)  # the server has accepted it ...
        raise Crash()  # ... and the process dies before the row says "sent"

    monkeypatch.setattr(outbox._Connection, "send", send_then_die)
    with pytest.raises(Crash):
        outbox.deliver_due(db, config, as_stored(week))
    db.rollback()
    monkeypatch.setattr(outbox._Connection, "send", real_send)
    [first] = handler.messages
    stuck = db.scalar(select(OutboxMessage).where(OutboxMessage.to_address == first["To"]))
    assert stuck.status == DeliveryStatus.SENDING

    # Another run soon after leaves it alone: its sender might still be talking to the server.
    soon = outbox.deliver_due(db, config, as_stored(week + timedelta(minutes=5)))
    assert first["To"] not in [m["To"] for m in handler.messages[1:]] and soon.sent == len(handler.messages) - 1
    # Once the claim is stale it is delivered again: the same message, recognisably; the rest of
    # the dead sender's batch goes then too, each once.
    stale = outbox.deliver_due(db, config, as_stored(week + outbox.STALE_CLAIM + timedelta(minutes=1)))
    assert soon.sent + stale.sent == queued and len(handler.messages) == queued + 1
    again = [m for m in handler.messages if m["To"] == first["To"]]
    assert len(again) == 2 and again[0]["Message-ID"] == again[1]["Message-ID"] == f"<outbox-{stuck.id}@localhost>"
    db.expire_all()
    assert db.get(OutboxMessage, stuck.id).status == DeliveryStatus.SENT
