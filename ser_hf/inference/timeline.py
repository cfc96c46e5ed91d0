"""Timelines for long audio: sliding windows, one prediction per window, and a plot of them."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


@dataclass
class Timeline:
    """Per-window emotions of a long recording, and the overall label.

    ``windows`` holds one dict per window: ``start``/``end`` in seconds, ``label``, ``score``,
    ``scores`` (top-k ``{"label", "score"}``), ``level_db`` (see :func:`level_db`) and ``silent``. Silent windows have the
    label ``"silence"`` and do not count towards the overall label, which is the average of the
    non-silent windows' probabilities weighted by window duration (the window ending at the very end,
    which may add only a little audio to the one before it, by the share of a hop that it adds).
    """

    source: str
    duration: float
    window_s: float
    hop_s: float
    label: str
    score: float
    scores: list[dict[str, Any]]
    windows: list[dict[str, Any]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    probabilities: list[list[float]] = field(default_factory=list)  # (windows, num_labels); zeros if silent

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("probabilities")
        return data


def _sliding_windows(
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


def plot_timeline(timeline: Timeline, path: str | os.PathLike, title: str | None = None) -> Path:
    """Draw per-window probabilities over time as a stacked area plot and save it as a PNG.

    The x axis is time in seconds (each window is drawn at its centre); silent windows are shaded
    grey; the title gives the file, the overall label and its score.
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    centers = np.array([(w["start"] + w["end"]) / 2 for w in timeline.windows])
    probs = np.array(timeline.probabilities) if timeline.probabilities else np.zeros((len(centers), 0))
    fig, ax = plt.subplots(figsize=(max(6.0, min(20.0, 0.15 * len(centers) + 6)), 3.6), dpi=100)
    try:
        if len(centers) == 1:  # a single window: draw it as a block over its span
            w = timeline.windows[0]
            centers = np.array([w["start"], w["end"]])
            probs = np.repeat(probs, 2, axis=0)
        colors = plt.get_cmap("tab10").colors
        if probs.size:
            ax.stackplot(
                centers,
                probs.T,
                labels=timeline.labels,
                colors=[colors[i % len(colors)] for i in range(probs.shape[1])],
                alpha=0.85,
            )
        for w in timeline.windows:
            if w["silent"]:
                ax.axvspan(w["start"], w["end"], color="0.85", zorder=0, lw=0)
        ax.set_xlim(0, max(timeline.duration, 1e-3))
        ax.set_ylim(0, 1)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("probability")
        head = title or Path(timeline.source).name
        ax.set_title(f"{head}: {timeline.label} ({timeline.score:.2f})", fontsize=10)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


# ================================================================================= streaming
