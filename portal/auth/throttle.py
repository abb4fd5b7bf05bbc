"""Login throttling, counted in the database so that it holds across gunicorn workers and restarts.

Each failed login counts against the email typed (known or not: a lock then says nothing about
whether the email exists) and against the client's address. The first FREE_TRIES failures of an
email cost nothing (typos); after that the next try must wait, twice as long each time (1, 2 s…);
at ACCOUNT_LOCK_AFTER failures the email is locked for LOCK_MINUTES, doubling at each further
round of failures. An address, shared by a whole office behind one NAT, has no delay and a lock
only at ADDRESS_LOCK_AFTER failures. A successful login clears the
email's count (not the address's, so that one good account cannot reset an attack on others).
Counts forget after FORGET_AFTER without failures. A vendor admin can unlock an email.
Times come from portal.core.clock, so tests move them.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.core.clock import now
from portal.models import LoginThrottle, ThrottleScope

FREE_TRIES = 2
ACCOUNT_LOCK_AFTER = 5
ADDRESS_LOCK_AFTER = 20
LOCK_MINUTES = 15
MAX_LOCK = timedelta(hours=24)
FORGET_AFTER = timedelta(hours=24)


def _threshold(scope: ThrottleScope) -> int:
    return ACCOUNT_LOCK_AFTER if scope is ThrottleScope.ACCOUNT else ADDRESS_LOCK_AFTER


def blocked_until_after(scope: ThrottleScope, failures: int, moment: datetime) -> datetime | None:
    """When the next try may be checked, after this many failures in a row (None: at once)."""
    threshold = _threshold(scope)
    if failures < threshold:
        if scope is ThrottleScope.ADDRESS or failures <= FREE_TRIES:
            return None
        return moment + timedelta(seconds=2 ** (failures - FREE_TRIES - 1))
    rounds = failures // threshold  # 1 at the first lock, 2 at the next round of failures, …
    return moment + min(timedelta(minutes=LOCK_MINUTES * 2 ** min(rounds - 1, 10)), MAX_LOCK)


def _keys(email: str, address: str | None) -> list[tuple[ThrottleScope, str]]:
    keys = [(ThrottleScope.ACCOUNT, email[:254])]
    if address:
        keys.append((ThrottleScope.ADDRESS, address[:254]))
    return keys


def blocked(session: Session, email: str, address: str | None) -> datetime | None:
    """The moment until which logins for this email or from this address are refused, or None."""
    moment = now()
    untils = [row.blocked_until for scope, key in _keys(email, address)
              if (row := _row(session, scope, key)) is not None
              and row.blocked_until is not None and row.blocked_until > moment]
    return max(untils) if untils else None


def _row(session: Session, scope: ThrottleScope, key: str) -> LoginThrottle | None:
    row = session.scalar(select(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key))
    if row is not None and row.last_failure_at < now() - FORGET_AFTER and (row.blocked_until is None or row.blocked_until < now()):
        session.delete(row)
        session.flush()
        return None
    return row


def record_failure(session: Session, email: str, address: str | None) -> None:
    """Count one failure for the email and the address. The increment happens in the database
    (failures = failures + 1), so two workers counting at once both count."""
    moment = now()
    for scope, key in _keys(email, address):
        _row(session, scope, key)  # forgets a stale count first
        where = (LoginThrottle.scope == scope, LoginThrottle.key == key)
        updated = session.execute(update(LoginThrottle).where(*where)
                                  .values(failures=LoginThrottle.failures + 1, last_failure_at=moment)
                                  .execution_options(synchronize_session=False))
        if updated.rowcount == 0:  # type: ignore[attr-defined]
            try:
                with session.begin_nested():
                    session.add(LoginThrottle(scope=scope, key=key, failures=1, last_failure_at=moment))
            except IntegrityError:  # another worker inserted it just now
                session.execute(update(LoginThrottle).where(*where)
                                .values(failures=LoginThrottle.failures + 1, last_failure_at=moment)
                                .execution_options(synchronize_session=False))
        failures = session.scalar(select(LoginThrottle.failures).where(*where))
        assert failures is not None
        session.execute(update(LoginThrottle).where(*where)
                        .values(blocked_until=blocked_until_after(scope, failures, moment))
                        .execution_options(synchronize_session=False))
    session.expire_all()


def record_success(session: Session, email: str) -> None:
    """A correct password: the email's count starts again."""
    unlock(session, email)


def unlock(session: Session, email: str) -> bool:
    """Forget the failures counted against an email (a vendor admin's button); True if it had any."""
    result = session.execute(delete(LoginThrottle).where(LoginThrottle.scope == ThrottleScope.ACCOUNT,
                                                         LoginThrottle.key == email[:254]))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def is_locked(session: Session, email: str) -> bool:
    """Whether logins for this email are refused now (shown on the user admin page)."""
    return blocked(session, email, None) is not None
