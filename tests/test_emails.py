"""Digests, reminders and alerts through a real SMTP server on loopback (aiosmtpd): the right
people, the right content and language, nobody else's data, exactly once, with retries."""
from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from portal.email import services as emails
from portal.email import outbox
from portal.scoring.aggregation import aggregate
from portal.core.clock import as_stored
from portal.core.db import writer_session
from portal.models import ActionItem, Alert, AlertKind, DeliveryStatus, EmailKind, Notification, OutboxMessage, Role
from tests import factories

TOKYO = ZoneInfo("Asia/Tokyo")


class Inbox:
    """aiosmtpd handler: keeps every message it receives, parsed."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address):
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app):
    """Points the app at a loopback port; `smtp.start()` brings the server up (it starts down)."""
    config = app.config["PORTAL"]
    config.smtp_host, config.smtp_port, config.smtp_security = "127.0.0.1", free_port(), "none"

    class Server:
        inbox = Inbox()
        controller = None

        def start(self):
            self.controller = Controller(self.inbox, hostname="127.0.0.1", port=config.smtp_port)
            self.controller.start()
            return self.inbox

    server = Server()
    yield server
    if server.controller:
        server.controller.stop()


@pytest.fixture
def week(app, db, clock, tenants):
    """Scorecards for today and a week before (Tokyo days), as the nightly job leaves them; the
    clock on this week's Monday 09:00 in Tokyo, after everyone's default digest hour (Monday 08:00)."""
    now = clock.now().astimezone(TOKYO).replace(hour=9, minute=0, second=0, microsecond=0)
    now = clock.move_to(now - timedelta(days=now.weekday()))
    for day in (now.date() - timedelta(days=7), now.date()):
        assert aggregate(db, day).status == "done"
    return now


def body(message) -> str:
    return message.get_body(("plain",)).get_content()


def html(message) -> str:
    return message.get_body(("html",)).get_content()


def count(db, *where) -> int:
    return db.scalar(select(func.count()).select_from(OutboxMessage).where(*where))


def test_each_role_gets_its_weekly_email_in_its_language_with_only_its_partners_data(app, db, tenants, smtp, week):
    tenants.admin_a.language, tenants.partner_manager.language = "ja", "en"
    db.commit()
    inbox = smtp.start()
    assert emails.queue_weekly(app, db, week) >= 3
    assert outbox.deliver_due(db, app.config["PORTAL"], as_stored(week)).failed == 0

    [manager] = inbox.to(tenants.partner_manager.email)
    assert manager["Subject"].startswith("Your partners this week")
    assert tenants.partner_a.name in body(manager) and tenants.partner_b.name not in body(manager)  # owns A only
    assert f"/partners/{tenants.partner_a.id}/scorecard" in body(manager)
    assert f"/partners/{tenants.partner_a.id}/scorecard" in html(manager)

    [admin_a] = inbox.to(tenants.admin_a.email)
    assert "今週のスコアカード" in admin_a["Subject"]  # Japanese, as chosen
    assert "あなたのスコアカード" in body(admin_a) and "あなたのスコアカード" in html(admin_a)
    [admin_b] = inbox.to(tenants.admin_b.email)
    assert "your scorecard this week" in admin_b["Subject"]
    for message, other in ((admin_a, tenants.partner_b), (admin_b, tenants.partner_a)):
        for secret in (other.name, tenants.account_b.name if other is tenants.partner_b else tenants.account_a.name):
            assert secret not in body(message) and secret not in html(message)
    # A vendor admin who owns no partner has no digest; every message can be unsubscribed from.
    assert inbox.to(tenants.vendor_admin.email) == []
    for message in inbox.messages:
        assert message["List-Unsubscribe"].strip().startswith("<http") and message["List-Unsubscribe-Post"]
        assert "/email/unsubscribe/" in body(message) and "/email/preferences/" in html(message)


def test_smtp_down_then_up_every_message_arrives_exactly_once_and_a_rerun_sends_nothing(app, db, tenants, smtp, week):
    config = app.config["PORTAL"]
    queued = emails.queue_weekly(app, db, week)
    down = outbox.deliver_due(db, config, as_stored(week))  # nothing listens on the port yet
    assert (down.sent, down.failed) == (0, queued)
    failed = db.scalars(select(OutboxMessage)).all()
    assert {m.status for m in failed} == {DeliveryStatus.RETRYING}
    assert all("Connection refused" in m.last_error or "ConnectionRefused" in m.last_error for m in failed)
    # Not before its backoff is over.
    assert outbox.deliver_due(db, config, as_stored(week + timedelta(minutes=1))).sent == 0

    inbox = smtp.start()
    later = week + timedelta(minutes=10)
    assert outbox.deliver_due(db, config, as_stored(later)).sent == queued
    # The job runs again (and again, as a second process would): nothing new is queued or sent.
    assert emails.run(app, db, later).sent == 0
    assert emails.queue_weekly(app, db, later + timedelta(hours=3)) == 0
    assert outbox.deliver_due(db, config, as_stored(later + timedelta(days=1))).sent == 0
    recipients = [m["To"] for m in inbox.messages]
    assert len(recipients) == queued == len(set(recipients))
    assert count(db, OutboxMessage.status == DeliveryStatus.SENT, OutboxMessage.attempts == 2) == queued


def test_a_message_that_keeps_failing_gives_up_visibly_and_an_admin_can_queue_it_again(app, db, browser, clock, tenants,
                                                                                        smtp, week):
    config = app.config["PORTAL"]
    emails.queue_weekly(app, db)
    for _attempt in range(outbox.MAX_ATTEMPTS):
        clock.shift(outbox.LONGEST_WAIT)
        outbox.deliver_due(db, config)
    message = db.scalars(select(OutboxMessage)).first()
    assert message.status == DeliveryStatus.FAILED and message.attempts == outbox.MAX_ATTEMPTS
    admin = browser(tenants.vendor_admin)
    assert "Connection refused" in admin.get(f"/outbox/{message.id}").get_data(as_text=True)
    assert admin.post(f"/outbox/{message.id}/retry").status_code == 302
    db.rollback()  # this session stands for the scheduler process: a new transaction sees the web's change
    inbox = smtp.start()
    assert outbox.deliver_due(db, config).sent >= 1  # at once: the retry is due now, by the portal's clock
    assert len(inbox.to(message.to_address)) == 1


def test_weekly_emails_wait_for_todays_scorecards_and_for_each_persons_day_hour_and_zone(app, db, clock, tenants):
    # Monday 21:00 in Tokyo is Monday 07:00 in New York (standard time), 06:00 in summer.
    monday_21_tokyo = clock.move_to(datetime(2026, 11, 30, 21, 0, tzinfo=TOKYO))
    assert emails.queue_weekly(app, db, monday_21_tokyo) == 0  # no scorecards for today yet
    assert aggregate(db, monday_21_tokyo.date()).status == "done"

    tenants.admin_b.digest_weekday, tenants.admin_b.digest_hour, tenants.admin_b.time_zone = 0, 8, "America/New_York"
    db.commit()
    emails.queue_weekly(app, db, monday_21_tokyo)
    assert count(db, OutboxMessage.user_id == tenants.admin_a.id) == 1  # Monday 08:00 in Tokyo has passed
    assert count(db, OutboxMessage.user_id == tenants.admin_b.id) == 0  # 07:00 in New York: not yet
    emails.queue_weekly(app, db, monday_21_tokyo + timedelta(hours=1))
    assert count(db, OutboxMessage.user_id == tenants.admin_b.id) == 1
    assert count(db, OutboxMessage.user_id == tenants.admin_a.id) == 1


def test_preferences_turn_each_kind_off(app, db, tenants, week):
    tenants.admin_a.email_digest = False
    db.commit()
    emails.queue_weekly(app, db, week)
    assert count(db, OutboxMessage.user_id == tenants.admin_a.id) == 0
    assert count(db, OutboxMessage.user_id == tenants.admin_b.id) == 1


def test_alerts_are_batched_to_one_email_an_hour_per_person(app, db, clock, tenants, smtp):
    inbox = smtp.start()
    config = app.config["PORTAL"]
    start = clock.now().replace(microsecond=0)

    def assign(title, at):
        item = ActionItem(account_id=tenants.account_a.id, partner_id=tenants.partner_a.id, title=title,
                          owner_id=tenants.user_a.id, created_by_id=tenants.partner_manager.id, created_at=as_stored(at))
        db.add(item)
        db.commit()

    def tick(at):
        emails.collect_notifications(db, at)
        emails.queue_alerts(app, db, at)
        outbox.deliver_due(db, config, as_stored(at))

    assign("Please run a training session", start)
    db.add(Alert(kind=AlertKind.TURNED_RED, account_id=tenants.account_a.id, partner_id=tenants.partner_a.id,
                 subject="red", raised_on=start.astimezone(TOKYO).date()))
    db.commit()
    tick(start)
    assign("Please update the check-in", start + timedelta(minutes=10))
    tick(start + timedelta(minutes=10))
    tick(start + timedelta(minutes=30))
    first = inbox.to(tenants.user_a.email)
    assert len(first) == 1  # the second item waits for the hour to pass
    assert "Please run a training session" in body(first[0]) and tenants.account_a.name in body(first[0])
    assert "Please update the check-in" not in body(first[0])

    tick(start + timedelta(minutes=61))
    second = inbox.to(tenants.user_a.email)
    assert len(second) == 2 and "Please update the check-in" in body(second[1])
    assert "Please run a training session" not in body(second[1])  # each thing told once
    # The red account: its partner's manager and staff hear of it, the other partner's nobody.
    assert len(inbox.to(tenants.partner_manager.email)) == 1 and len(inbox.to(tenants.admin_a.email)) == 1
    assert inbox.to(tenants.admin_b.email) == [] and inbox.to(tenants.user_b.email) == []
    tick(start + timedelta(hours=5))
    assert len(inbox.messages) == 4


def test_unsubscribe_works_without_login_and_cannot_be_forged(app, db, tenants, client):
    config = app.config["PORTAL"]
    link = outbox.link(config, "unsubscribe", tenants.user_b)
    path = link.removeprefix(config.base_url)
    assert tenants.user_b.email in client.get(path).get_data(as_text=True)
    assert client.post(path).status_code == 200  # one click, no login, no form token (RFC 8058)
    db.refresh(tenants.user_b)
    assert not (tenants.user_b.email_digest or tenants.user_b.email_reminders or tenants.user_b.email_alerts)

    token = path.rsplit("/", 1)[1]
    forged = [
        f"/email/unsubscribe/{token[:-2]}xx",  # tampered signature
        "/email/unsubscribe/" + outbox.link(type(config)(secret_key="another key", base_url=""), "unsubscribe",
                                            tenants.user_a).rsplit("/", 1)[1],  # signed with another key
        f"/email/unsubscribe/{tenants.user_a.id}",  # a bare id
    ]
    for url in forged:
        assert client.post(url).status_code == 404
    db.refresh(tenants.user_a)
    assert tenants.user_a.email_alerts


def test_the_preferences_link_changes_preferences_without_login(app, db, tenants, client):
    from tests.conftest import csrf_token

    path = outbox.link(app.config["PORTAL"], "preferences", tenants.user_a).removeprefix(app.config["PORTAL"].base_url)
    page = client.get(path).get_data(as_text=True)
    assert "Email preferences" in page and tenants.user_a.email in page
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "email_reminders": "y", "digest_weekday": "4",
                                       "digest_hour": "17", "time_zone": "Europe/London"})
    assert response.status_code == 302
    db.refresh(tenants.user_a)
    assert (tenants.user_a.email_reminders, tenants.user_a.email_alerts, tenants.user_a.digest_weekday,
            tenants.user_a.digest_hour, tenants.user_a.time_zone) == (True, False, 4, 17, "Europe/London")
    bad = client.post(path, data={"csrf_token": csrf_token(client, path), "digest_hour": "25", "time_zone": "Mars/Base"})
    assert bad.status_code == 200 and "Not a valid choice" in bad.get_data(as_text=True)


def test_preview_prints_what_a_person_would_get_and_queues_nothing(app, db, browser, tenants, runner, week):
    result = runner.invoke(args=["digest", "preview", "--user", tenants.partner_manager.email.upper()])
    assert result.exit_code == 0, result.output
    assert "manager_digest" in result.output and tenants.partner_a.name in result.output
    assert tenants.partner_b.name not in result.output
    assert count(db) == 0
    assert "no user with the email" in runner.invoke(args=["digest", "preview", "--user", "nobody@example.com"]).output
    admin = browser(tenants.vendor_admin)
    page = admin.get(f"/users/{tenants.admin_a.id}/emails").get_data(as_text=True)
    assert tenants.partner_a.name in page and tenants.partner_b.name not in page


def test_without_smtp_messages_stay_in_the_outbox_for_admins_to_read(app, db, browser, tenants, week):
    assert app.config["PORTAL"].smtp_host == ""
    result = emails.run(app, db, week)
    assert result.weekly >= 3 and not result.smtp and result.sent == 0
    admin = browser(tenants.vendor_admin)
    listing = admin.get("/outbox?status=queued").get_data(as_text=True)
    assert "No SMTP server is configured" in listing and tenants.admin_a.email in listing
    message = db.scalar(select(OutboxMessage).where(OutboxMessage.user_id == tenants.admin_a.id))
    assert message.kind == EmailKind.PARTNER_DIGEST
    assert tenants.partner_a.name in admin.get(f"/outbox/{message.id}").get_data(as_text=True)
    assert browser(tenants.by_role(Role.PARTNER_MANAGER)).get("/outbox").status_code == 403


def twice_at_once(app, work, *, timeout: float) -> tuple[list, list]:
    """`work(session)` in two threads at the same time, each with a session opened as the
    scheduler opens it: their results, and the errors they raised."""
    sessionmaker = app.extensions["portal.sessionmaker"]
    results: list = []
    errors: list = []

    def run():
        try:
            with writer_session(sessionmaker) as session:
                results.append(work(session))
        except Exception as error:  # noqa: BLE001 - reported by the caller's assertion
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return results, errors


def test_two_processes_running_the_email_job_at_once_send_each_message_once(app, db, tenants, smtp, week):
    """Two schedulers by mistake (or a rerun overlapping a slow run): the outbox's unique key and
    the row claims keep every message single."""
    inbox = smtp.start()
    results, errors = twice_at_once(app, lambda session: emails.run(app, session, week), timeout=60)
    assert errors == []
    sent = sum(r.sent for r in results)
    recipients = [m["To"] for m in inbox.messages]
    assert sent == len(recipients) == len(set(recipients)) == count(db) >= 3


def test_japanese_readers_get_emails_with_no_english_left(app, db, tenants, week):
    import re
    from html import unescape

    for user in (tenants.partner_manager, tenants.admin_a, tenants.user_a):
        user.language = "ja"
    item = ActionItem(account_id=tenants.account_a.id, partner_id=tenants.partner_a.id, title="研修の実施をお願いします",
                      owner_id=tenants.user_a.id, created_by_id=tenants.partner_manager.id, due_on=week.date() + timedelta(days=3))
    db.add(item)
    # A customer that has never reported owes a check-in whatever the week: the reminder has something to say.
    silent = factories.account(db, tenants.partner_a, name="静かな顧客", contract_start=week.date() - timedelta(days=400),
                               renewal_date=week.date() + timedelta(days=300))
    db.commit()
    emails.collect_notifications(db, week)
    data = [tenants.partner_a.name, tenants.account_a.name, silent.name, tenants.partner_manager.display_name,
            tenants.admin_a.display_name, tenants.user_a.display_name, tenants.item_a.title]
    kinds = set()
    for user in (tenants.partner_manager, tenants.admin_a, tenants.user_a):
        for kind, message in emails.preview(app, db, user, week.date()):
            kinds.add(kind)
            for text in (message.subject, message.text, unescape(re.sub(r"<[^>]+>|<!doctype html>", " ", message.html))):
                text = re.sub(r"https?://\S+|\{[^}]*\}|font-family:[^;\"]*", " ", text)
                for name in data:
                    text = text.replace(name, " ")
                english = set(re.findall(r"[A-Za-z]{2,}", text)) - {"ARR", "NRR", "NPS", "pt"}
                assert english == set(), f"{kind.value} for {user.email}: {sorted(english)}"
    assert kinds == {EmailKind.MANAGER_DIGEST, EmailKind.PARTNER_DIGEST, EmailKind.REMINDER, EmailKind.ALERT}


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1 (the openssl command, as on every Debian machine)."""
    if not shutil.which("openssl"):
        pytest.skip("SKIPPED TLS delivery tests: no openssl command to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@pytest.mark.parametrize("security", ["starttls", "ssl"])
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")  # the socket itself is TLS
def test_delivery_over_tls_with_a_login_and_a_wrong_password_is_refused(app, db, tenants, week, certificate, security):
    from aiosmtpd.smtp import AuthResult

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, logins = Inbox(), []

    def authenticator(server, session, envelope, mechanism, auth_data):
        login, password = (v.decode() if isinstance(v, bytes) else v for v in (auth_data.login, auth_data.password))
        logins.append(login)
        return AuthResult(success=(login, password) == ("portal", "s3cret"), handled=False)  # aiosmtpd answers 535

    port = free_port()
    # Implicit TLS: aiosmtpd does not see the socket's TLS, so it is told AUTH needs none.
    tls = {"tls_context": context, "require_starttls": True} if security == "starttls" else {"ssl_context": context, "auth_require_tls": False}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_required=True, **tls)
    controller.start()
    try:
        config = app.config["PORTAL"]
        config.smtp_host, config.smtp_port, config.smtp_security, config.smtp_ca_file = "127.0.0.1", port, security, str(cert)
        config.smtp_user, config.smtp_password, config.smtp_timeout = "portal", "wrong", 10
        queued = emails.queue_weekly(app, db, week)
        refused = outbox.deliver_due(db, config, as_stored(week))
        assert refused.failed == queued and inbox.messages == []
        assert "SMTPAuthenticationError" in db.scalars(select(OutboxMessage.last_error)).first()

        config.smtp_password = "s3cret"
        assert outbox.deliver_due(db, config, as_stored(week + timedelta(hours=1))).sent == queued
        assert len(inbox.messages) == queued and set(logins) == {"portal"}
    finally:
        controller.stop()


def test_my_profile_saves_email_preferences_and_refuses_a_bad_hour_at_its_field(db, browser, tenants):
    me = browser(tenants.admin_a)
    saved = me.post("/profile/email", data={"email_alerts": "y", "digest_weekday": "2", "digest_hour": "7", "time_zone": "Asia/Seoul"})
    assert saved.status_code == 302 and saved.location.endswith("/profile#email")
    db.refresh(tenants.admin_a)
    assert (tenants.admin_a.email_digest, tenants.admin_a.email_alerts, tenants.admin_a.digest_weekday,
            tenants.admin_a.digest_hour, tenants.admin_a.time_zone) == (False, True, 2, 7, "Asia/Seoul")
    refused = me.post("/profile/email", data={"digest_weekday": "9", "digest_hour": "7", "time_zone": "Asia/Seoul"})
    assert refused.status_code == 400 and 'id="digest_weekday-error"' in refused.get_data(as_text=True)


def test_links_in_emails_follow_the_base_url_with_its_scheme_and_path(app):
    link = emails.absolute_links(app, "https://portal.example.com/csp")
    assert link("scoring.partner_scorecard", partner_id=3) == "https://portal.example.com/csp/partners/3/scorecard"
    assert emails.absolute_links(app, "http://127.0.0.1:5000")("auth.profile") == "http://127.0.0.1:5000/profile"


def test_an_item_handed_to_someone_tells_them_and_taking_it_oneself_does_not(db, clock, tenants):
    from portal.actions import ownership

    now = clock.now().replace(microsecond=0)
    old = ActionItem(account_id=tenants.account_a.id, partner_id=tenants.partner_a.id, title="Ask about the renewal",
                     owner_id=tenants.admin_a.id, created_by_id=tenants.admin_a.id, created_at=as_stored(now - timedelta(days=20)))
    db.add(old)
    db.commit()
    ownership.assign(db, old, str(tenants.user_a.id), tenants.partner_manager)  # handed over by the manager
    db.commit()
    assert emails.collect_notifications(db, now + timedelta(minutes=1)) == 1  # the count the job history shows
    told = db.scalars(select(Notification).where(Notification.action_item_id == old.id)).all()
    assert [(n.user_id, n.kind) for n in told] == [(tenants.user_a.id, "item_assigned")]
    assert emails.collect_notifications(db, now + timedelta(minutes=1, seconds=30)) == 0  # told once

    ownership.take(db, old, tenants.admin_a)  # taken back: nobody needs telling
    db.commit()
    assert emails.collect_notifications(db, now + timedelta(minutes=2)) == 0
    assert len(db.scalars(select(Notification).where(Notification.action_item_id == old.id)).all()) == 1


def many_messages(db, user, n: int, at) -> None:
    """n queued messages to n addresses (so the inbox tells them apart)."""
    db.add_all([OutboxMessage(user_id=user.id, to_address=f"reader{i}@example.com", kind=EmailKind.ALERT, period=f"many-{i}",
                              language="en", subject=f"Message {i}", body_text="text", body_html="<p>html</p>",
                              next_attempt_at=at, created_at=at) for i in range(n)])
    db.commit()


def test_two_senders_at_once_share_a_large_outbox_and_send_each_message_once(app, db, tenants, smtp, week):
    inbox = smtp.start()
    config = app.config["PORTAL"]
    total = 3 * outbox.CLAIM_BATCH + 7
    many_messages(db, tenants.user_a, total, as_stored(week))
    results, errors = twice_at_once(app, lambda session: outbox.deliver_due(session, config, as_stored(week)), timeout=120)
    assert errors == [] and sum(r.sent for r in results) == total and sum(r.failed for r in results) == 0
    recipients = [m["To"] for m in inbox.messages]
    assert len(recipients) == len(set(recipients)) == total
    assert count(db, OutboxMessage.status == DeliveryStatus.SENT, OutboxMessage.attempts == 1) == total


def test_one_run_delivers_the_whole_outbox_over_one_session_and_a_spent_budget_leaves_the_rest_queued(app, db, tenants,
                                                                                                       smtp, week, monkeypatch):
    """A week's mail goes out in one run (the old cap was 200 a run, a run every 5 minutes)."""
    inbox = smtp.start()
    config = app.config["PORTAL"]
    stored = as_stored(week)
    many_messages(db, tenants.user_a, 201 + outbox.CLAIM_BATCH, stored)
    sessions = []
    real_open = outbox._Connection._open
    monkeypatch.setattr(outbox._Connection, "_open", lambda self: sessions.append(1) or real_open(self))
    # No time left: the batch claimed is finished, the rest stays queued for the next run.
    assert outbox.deliver_due(db, config, stored, budget=0).sent == outbox.CLAIM_BATCH
    assert count(db, OutboxMessage.status == DeliveryStatus.QUEUED) == 201
    assert outbox.deliver_due(db, config, stored).sent == 201
    assert sessions == [1, 1]  # one SMTP session per run
    assert len(inbox.messages) == len({m["To"] for m in inbox.messages}) == 201 + outbox.CLAIM_BATCH
    assert count(db, OutboxMessage.status != DeliveryStatus.SENT) == 0


def test_queueing_a_week_s_emails_issues_as_many_queries_for_many_recipients_as_for_few(app, db, tenants, week):
    """The week's data is read once for everyone, not once per recipient (bench/emails.py times it)."""
    from sqlalchemy import delete, event, update

    for account in (tenants.account_a, tenants.account_b):
        db.add(Alert(kind=AlertKind.TURNED_RED, account_id=account.id, partner_id=account.partner_id, subject="red",
                     raised_on=week.astimezone(TOKYO).date()))
    db.commit()
    engine = app.extensions["portal.engine"]

    def queue_all() -> tuple[int, int, int]:
        db.execute(update(Notification).values(message_id=None))
        db.execute(delete(Notification))
        db.execute(delete(OutboxMessage))
        db.commit()
        statements = []

        def count(*_args):
            statements.append(1)

        event.listen(engine, "before_cursor_execute", count)
        try:
            emails.collect_notifications(db, week)
            alerts, weekly = emails.queue_alerts(app, db, week), emails.queue_weekly(app, db, week)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements), alerts, weekly

    few = queue_all()
    for partner in (tenants.partner_a, tenants.partner_b):
        for n in range(10):
            factories.user(db, Role.PARTNER_ADMIN if n % 2 else Role.PARTNER_USER, partner, language="ja" if n % 3 else "en")
    many = queue_all()
    assert many[1] > few[1] and many[2] > few[2]  # more people were told, more digests queued ...
    assert many[0] == few[0]  # ... with the same statements


def test_the_digests_item_counts_read_once_for_everyone_are_each_persons_counts_on_the_actions_page(db, tenants, week):
    from portal.actions import listing
    from portal.email.digests import Week

    today = week.date()
    for account, owner, due in ((tenants.account_a, tenants.user_a, -3), (tenants.account_a, None, 2),
                                (tenants.account_b, tenants.admin_b, -1), (tenants.account_a, tenants.partner_manager, -5)):
        factories.action_item(db, account, owner_id=owner.id if owner else None, due_on=today + timedelta(days=due))
    db.commit()
    week_data = Week(db, today)
    for user in (tenants.vendor_admin, tenants.partner_manager, tenants.admin_a, tenants.user_a, tenants.admin_b, tenants.user_b):
        managed = {p.id for p in week_data.managed.get(user.id, [])}
        assert week_data.counts.of(user, managed) == listing.counts_for(db, user, today), user.email
