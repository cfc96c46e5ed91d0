"""Torch threads in forked children: a child forked after a classifier ran torch on several threads
hung in OpenMP's thread pool (pytorch/pytorch#17199), so such a child runs torch on one thread."""

from __future__ import annotations

import os

_FORK_GUARD: list[bool] = []
_RAN_THREADED: list[bool] = []  # a classifier of this process ran torch on several threads


def one_thread_in_forked_children() -> None:
    """Once per process: a child forked after torch ran on several threads (multiprocessing's fork
    pools, ``datasets.map(num_proc=N)``) hung for good in its first torch operation, in OpenMP's
    thread pool (pytorch/pytorch#17199); a child forked after a classifier ran on several threads now
    runs torch on one thread, as a DataLoader worker does. Forks before any classifier ran, and
    spawned children, are left alone."""
    if not _FORK_GUARD and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_one_torch_thread)
        _FORK_GUARD.append(True)


def note_threads() -> None:
    """Record (once) that a classifier runs torch on several threads in this process."""
    if not _RAN_THREADED:
        import torch

        if torch.get_num_threads() > 1:
            _RAN_THREADED.append(True)


def _one_torch_thread() -> None:
    if _RAN_THREADED:
        import torch

        torch.set_num_threads(1)
