"""What keeps test-time adaptation whole when one model serves several threads.

Every model has one :class:`StatisticsLock` (kept beside it, never on it: a model still pickles and
copies; a copy, or a process that unpickles it, gets a lock of its own):

* ``changing``: adapting and resetting take it for their whole run, so they happen one after the
  other (a ``reset_adaptation`` called while an ``adapt`` runs waits for it, then restores);
* ``reading()`` / ``writing()``: a readers-writer lock. Every forward through a classifier's
  PyTorch backend reads (shared: calls never wait for one another); installing or restoring the
  statistics writes (exclusive, a few tensor copies long), so a call sees the old statistics or the
  new ones in full, never a new mean with the old scale. A waiting writer stops new readers, so a
  steady stream of calls cannot keep an adaptation out; a thread already reading may read again.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SAVED = "_ser_hf_unadapted"  # attribute holding the training statistics while a model is adapted
CLIPS = "clips"  # the key of SAVED's dict holding how many clips the statistics were estimated on


class StatisticsLock:
    """The locks guarding one model's normalisation statistics (see the module's docstring)."""

    def __init__(self) -> None:
        self.changing = threading.RLock()
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0
        self._local = threading.local()

    def acquire_read(self) -> None:
        local = self._local
        depth = getattr(local, "depth", 0)
        if depth:  # this thread reads already: a writer waiting for it must not block it
            local.depth = depth + 1
            return
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        local.depth = 1

    def release_read(self) -> None:
        local = self._local
        local.depth -= 1
        if local.depth:
            return
        with self._cond:
            self._readers -= 1
            if not self._readers and self._writers_waiting:
                self._cond.notify_all()

    @contextmanager
    def reading(self) -> Iterator[None]:
        self.acquire_read()
        try:
            yield
        finally:
            self.release_read()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


_LOCKS: weakref.WeakKeyDictionary[Any, StatisticsLock] = weakref.WeakKeyDictionary()
_REGISTRY = threading.Lock()


def statistics_lock(model: Any) -> StatisticsLock:
    """``model``'s lock, made on first use (one per model object, whoever asks)."""
    lock = _LOCKS.get(model)
    if lock is None:
        with _REGISTRY:
            lock = _LOCKS.get(model)
            if lock is None:
                lock = _LOCKS[model] = StatisticsLock()
    return lock


def adapted_clips(model: Any) -> int:
    """How many clips ``model``'s statistics were adapted on (0: the training statistics)."""
    state = getattr(model, SAVED, None)
    return int(state.get(CLIPS, 0)) if state is not None else 0


def _fresh_locks_in_child() -> None:
    """A forked child starts with no lock held: a parent thread reading or adapting at the fork
    would otherwise leave its lock taken for good in the child."""
    global _REGISTRY
    _LOCKS.clear()
    _REGISTRY = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fresh_locks_in_child)
