"""The windows a long recording is cut into: ``win`` samples every ``hop``, and one more ending at the
very end. One rule for what the timeline classifies and what ``adapt`` and ``ser-hf predict --adapt``
re-estimate the statistics on. numpy only (``ser-hf predict --help`` imports the timeline)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np


def sliding_windows(
    chunks: Iterable[np.ndarray], win: int, hop: int
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Windows of ``win`` samples every ``hop`` samples over a stream of chunks, in bounded memory.

    Yields ``(start, stop, samples)`` in sample indices. After the regular windows, one more
    window ending at the very end is yielded when the last regular one stopped short of it; a
    stream shorter than ``win`` yields a single window of everything. Only about ``win`` plus one
    chunk of samples are held at any time.
    """
    buf = np.zeros(0, dtype=np.float32)
    buf_start = 0  # absolute index of buf[0]
    next_start = 0
    last_stop = 0
    total = 0
    for chunk in chunks:
        buf = np.concatenate([buf, np.asarray(chunk, dtype=np.float32)])
        total += len(chunk)
        while next_start + win <= total:
            s = next_start - buf_start
            yield next_start, next_start + win, buf[s : s + win]
            last_stop = next_start + win
            next_start += hop
        # keep what later windows need: from the next start, and at least the last `win` samples
        keep_from = max(buf_start, min(next_start, total - win))
        buf = buf[keep_from - buf_start :]
        buf_start = keep_from
    if total == 0:
        return
    if last_stop == 0:  # shorter than one window
        yield 0, total, buf
    elif last_stop < total:
        yield total - win, total, buf[len(buf) - win :]
