"""Timelines for long audio: sliding windows, one prediction per window, and a plot of them."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .levels import SILENCE_LABEL

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


def assemble_timeline(
    name: str,
    spans: list[tuple[int, int]],
    levels: list[float],
    probs_rows: dict[int, np.ndarray],
    labels: list[str],
    top_k: int | None,
    sampling_rate: int,
    window_s: float,
    hop_s: float,
    silence_rel_db: float | None,
) -> Timeline:
    """The :class:`Timeline` of windows ``spans`` (samples) with their levels and the probabilities of
    those the model ran on (``probs_rows``; the others were below ``silence_db``). A window more than
    ``silence_rel_db`` dB under the loudest one is silent too; when that rule silences more windows the
    absolute one kept than are classified, a warning says how many and how to keep them (a loud beep had
    silenced a quiet speaker's whole call, without a word)."""
    from .inputs import _top  # here: `ser-hf predict --help` imports this module, and inputs loads torch

    sr, hop = sampling_rate, max(1, int(round(hop_s * sampling_rate)))
    loudest = max(levels)
    loudest_at = spans[levels.index(loudest)][0] / sr
    windows, rows, weights, quietened = [], [], [], 0
    for i, ((start, stop), level) in enumerate(zip(spans, levels)):
        under = silence_rel_db is not None and level < loudest - silence_rel_db
        silent = i not in probs_rows or under
        quietened += i in probs_rows and under
        if silent:
            row = np.zeros(len(labels))
            top = [{"label": SILENCE_LABEL, "score": 1.0}]
        else:
            row = probs_rows[i]
            top = _top(row, labels, top_k)
            # the window ending at the very end may add only a few samples to the one before it:
            # it counts by the new audio it brings, as a share of a regular step (hop)
            new = stop - max(start, spans[i - 1][1]) if i else stop - start
            weights.append((i, (stop - start) / sr * min(1.0, new / min(hop, stop - start))))
        rows.append(row)
        windows.append(
            {
                "start": round(start / sr, 3),
                "end": round(stop / sr, 3),
                "label": top[0]["label"],
                "score": top[0]["score"],
                "scores": top,
                "level_db": round(level, 1),
                "silent": silent,
            }
        )
    if quietened > len(weights):  # most audible windows silenced by one loud moment: say so (a room's
        # hiss between words, what the rule is for, is the smaller part of a recording)
        logger.warning(
            "%s: %d window(s) loud enough to classify were taken as silence for being more than %g dB under "
            "the loudest window (%.1f dBFS at %.1f s); if that was a beep or a prompt and they hold quiet "
            "speech, timeline(silence_rel_db=None) (ser-hf predict --silence-rel-db none) classifies them",
            name,
            quietened,
            silence_rel_db,
            loudest,
            loudest_at,
        )
    if weights:
        w = np.array([d for _, d in weights])
        overall = (np.stack([rows[i] for i, _ in weights]) * w[:, None]).sum(axis=0) / w.sum()
        overall_top = _top(overall, labels, top_k)
    else:
        overall_top = [{"label": SILENCE_LABEL, "score": 1.0}]
    return Timeline(
        source=name,
        duration=round(spans[-1][1] / sr, 3),  # the last window always ends at the end of the recording
        window_s=window_s,
        hop_s=hop_s,
        label=overall_top[0]["label"],
        score=overall_top[0]["score"],
        scores=overall_top,
        windows=windows,
        labels=list(labels),
        probabilities=[[float(v) for v in r] for r in rows],
    )


def plot_timeline(timeline: Timeline, path: str | os.PathLike, title: str | None = None) -> Path:
    """Draw per-window probabilities over time as a stacked area plot and save it as a PNG.

    The x axis is time in seconds (each window is drawn at its centre); silent windows are shaded
    grey; the title gives the file, the overall label and its score.
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..training.plot_text import drawable_text

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    centers = np.array([(w["start"] + w["end"]) / 2 for w in timeline.windows])
    probs = np.array(timeline.probabilities) if timeline.probabilities else np.zeros((len(centers), 0))
    head = title or Path(timeline.source).name
    with drawable_text(timeline.labels, str(path), head) as say:  # 会話.flac, classes 喜び ...
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
                    labels=[say(n) for n in timeline.labels],
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
            ax.set_title(f"{say(head)}: {say(timeline.label)} ({timeline.score:.2f})", fontsize=10)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
            fig.tight_layout()
            fig.savefig(path, format="png")
        finally:
            plt.close(fig)
    return path


# ================================================================================= streaming
