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

Per process and per app (gunicorn's workers each fill their own; tests get an empty one per test).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import Flask, current_app, has_app_context
from flask_babel import get_locale, get_timezone

T = TypeVar("T")
SIZE = 2048  # parts kept per process: a few hundred partners' scorecard parts and ranking rows × two languages (1-30 KB each)


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


def of(app: Flask) -> Fragments:
    found = app.extensions.get("portal.fragments")
    if found is None:
        found = app.extensions["portal.fragments"] = Fragments()
    return found


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
