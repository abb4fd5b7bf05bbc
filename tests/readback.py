"""Reading back what the app wrote, through the test's own `db` session.

On both databases the session's open transaction is a snapshot (PostgreSQL per statement, SQLite
per transaction since the app BEGINs explicitly), so end it first: otherwise a check could read
data from before the request it is checking.
"""
from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")


def latest(db: Session) -> Session:
    """The session with its transaction ended (and objects expired): its next read is current."""
    db.rollback()
    db.expire_all()  # the app's sessions keep objects loaded across commits (expire_on_commit=False)
    return db


def reload(db: Session, obj: T) -> T:
    """The object as the database has it now."""
    return latest(db).get(type(obj), obj.id)


def snapshot(obj, *attrs: str) -> tuple:
    """Some values as they are now, to compare with after a request.

    Take it before the request: reload() returns the same object, so comparing the reloaded
    object with the original one would compare a thing with itself.
    """
    return tuple(getattr(obj, attr) for attr in attrs)
