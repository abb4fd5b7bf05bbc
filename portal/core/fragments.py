"""Parts of a page rendered once and reused: what comes only from the nightly snapshot (a
partner's figures, benchmark, trend, optimism check) reads the same for every request until the
next snapshot, so each process keeps it, rendered, in a small bounded LRU.

`kept` does the same for a value read from stored rows only (a count over the nightly list),
without the language. The key is everything the part depends on: the caller names the part and passes the rest
(the snapshot's stamp from `portal.scoring.aggregation.snapshot_version`, the partner, what the
viewer may see, any live row the part shows such as a partner's name or tier); the language
and time zone are added here, since every rendered part depends on them. A part that shows data
a user can change outside the snapshot must put that data in its key (or stay live): a cached
part never shows another partner's data, nor a stale one.

`page` keeps a page's whole body (everything but the layout) until anything it could show
changes, under the data-change stamp of portal.core.changes and the viewer.

Per process and per app (gunicorn's workers each fill their own; tests get an empty one per test).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import Flask, current_app, has_app_context, request
from markupsafe import Markup
from flask_babel import get_locale, get_timezone

T = TypeVar("T")
SIZE = 2048  # parts kept per process: a few hundred partners' scorecard parts and ranking rows × two languages (1-30 KB each)
PAGES = 256  # page bodies kept per process (10-150 KB each)


class Fragments:
    """A bounded LRU of rendered parts, safe for threaded workers."""

    def __init__(self, size: int = SIZE):
        self.size = size
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]  # type: ignore[return-value]
        value = make()  # outside the lock: two requests may both render a missing part (same result)
        with self._lock:
            self.misses += 1
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def get_or_make_each(self, keys: dict[Hashable, Hashable], make: Callable[[list], dict]) -> dict:
        """get_or_make for many parts at once: `keys` maps each wanted id to its key; make(missing
        ids) returns {id: part} for those not kept (made in one go: one query for them all)."""
        with self._lock:
            found = {i: self._items[k] for i, k in keys.items() if k in self._items}
            for i in found:
                self._items.move_to_end(keys[i])
            self.hits += len(found)
        missing = [i for i in keys if i not in found]
        if missing:
            made = make(missing)
            with self._lock:
                self.misses += len(missing)
                for i, value in made.items():
                    self._items[keys[i]] = value
                    self._items.move_to_end(keys[i])
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            found.update(made)
        return {i: found[i] for i in keys if i in found}

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)


def of(app: Flask, store: str = "portal.fragments", size: int = SIZE) -> Fragments:
    found = app.extensions.get(store)
    if found is None:
        found = app.extensions[store] = Fragments(size)
    return found


def pages(app: Flask) -> Fragments:
    """The page bodies kept (`page`)."""
    return of(app, "portal.pages", PAGES)


def clear(app: Flask) -> None:
    """Forget every kept part and page (the tests, between two databases)."""
    for store in ("portal.fragments", "portal.pages"):
        if store in app.extensions:
            app.extensions[store].clear()


def kept(name: str, key: tuple, make: Callable[[], T]) -> T:
    """`make()`'s result for (name, *key), made once per process and key: a figure read only from
    what the nightly run stored (a count over its rows), whatever the language. Outside an app
    (a script) it is made every time."""
    if not has_app_context():
        return make()
    return of(current_app).get_or_make((name, *key), make)


def cached(name: str, key: tuple, make: Callable[[], T]) -> T:
    """`make()`'s result for (name, language, time zone, *key), made once per process and key.
    `make` must return something immutable (rendered Markup, tuples)."""
    full = (name, str(get_locale()), str(get_timezone()), *key)
    return of(current_app).get_or_make(full, make)


def cached_each(name: str, key: tuple, ids: list, make: Callable[[list], dict]) -> dict:
    """cached() for one part per id (rows of a list): each kept under (name, language, time zone,
    *key, id); make(missing ids) renders the ones not kept, {id: part}."""
    prefix = (name, str(get_locale()), str(get_timezone()), *key)
    return of(current_app).get_or_make_each({i: (*prefix, i) for i in ids}, make)


def page(name: str, partner_id: int | None, make: Callable[[], Markup]) -> Markup:
    """make()'s rendered page body, kept until anything it could show changes: under the
    data-change stamp (portal.core.changes) of `partner_id`'s data and everyone's (None: of
    every partner, for a page across the channel), and under the viewer (who, in which role, for
    which partner), the language, time zone, day, page size and the whole query string. A body
    is only ever served to the user it was rendered for. `make` reads and renders everything;
    the stamp is read before it, so a body is never kept under a stamp older than its data."""
    from flask_login import current_user

    from portal.core.changes import stamp
    from portal.core.web import get_session

    config = current_app.config["PORTAL"]
    key = (name, stamp(get_session(), partner_id), partner_id, current_user.id, current_user.role, current_user.partner_id,
           str(get_locale()), str(get_timezone()), config.today(), config.page_size, request.full_path)
    return pages(current_app).get_or_make(key, make)
