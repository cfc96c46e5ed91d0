"""Timelines for long audio: sliding windows, one prediction per window, and a plot of them."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .levels import (
    NO_SPEECH_LABEL,
    NOISY_SNR_DB,
    NOT_CLASSIFIED,
    SILENCE_LABEL,
    SNR_WINDOWS_PERCENTILE,
    NoiseMeter,
    level_db,
    speech_under,
    warn_if_noisy,
    warn_if_tone,
    warn_tone_only,
)
from .windows import sliding_windows

logger = logging.getLogger(__name__)


@dataclass
class Timeline:
    """Per-window emotions of a long recording, and the overall label.

    ``windows`` holds one dict per window: ``start``/``end`` in seconds, ``label``, ``score``,
    ``scores`` (top-k ``{"label", "score"}``), ``level_db`` (see :func:`level_db`), ``speech_s``
    (seconds of speech the speech detector found in it; None when it was off), ``silent`` (True
    when the model did not run on it) and ``snr_db`` (how far its speech peaks stand above the
    recording's noise floor: :class:`~ser_hf.inference.levels.NoiseMeter`; None when silent). Such
    windows have the label ``"silence"`` (too quiet) or ``"no speech"`` (loud enough, but no speech
    found: music, noise) and do not count towards the
    overall label, which is the average of the other windows' probabilities weighted by window
    duration (the window ending at the very end, which may add only a little audio to the one
    before it, by the share of a hop that it adds). When no window was classified, the overall label
    is ``"no speech"`` if any window was that, else ``"silence"``. ``snr_db`` is the recording's
    speech-to-noise estimate, the 25th percentile of the classified windows' (None when none was); under
    :data:`~ser_hf.inference.levels.NOISY_SNR_DB` the timeline logged a warning saying how many are. With the
    speech detector off (``min_speech_s=None``), classified windows that hold only a steady tone (hum, a test
    tone) have ``snr_db`` None and a warning says how many (all of them: the recording holds no speech).
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
    snr_db: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("probabilities")
        return data

    def segments(self) -> list[dict[str, Any]]:
        """The recording cut into labelled stretches that do not overlap, for a label track or subtitles.

        Windows overlap (4 s every 2 s, and the window ending at the very end may nearly repeat the one
        before it), so each window owns the stretch of time nearest its centre: boundaries fall midway
        between consecutive windows' centres, the first stretch starts at 0 and the last ends at
        ``duration``. Consecutive stretches with the same label (``"silence"`` and ``"no speech"`` too)
        are merged. Each segment is ``{"start", "end", "label", "score"}`` in seconds (3 decimals);
        ``score`` is the mean of its windows' scores (their probability of that label) weighted by the
        time each owns (1.0 for silence and no speech). A stretch under a millisecond is left out.
        """
        if not self.windows:
            return []
        centres = [(w["start"] + w["end"]) / 2 for w in self.windows]
        edges = [0.0, *((a + b) / 2 for a, b in zip(centres, centres[1:])), self.duration]
        merged: list[list[Any]] = []  # [start, end, label, score * seconds]
        for w, start, end in zip(self.windows, edges, edges[1:]):
            start, end = round(min(max(start, 0.0), self.duration), 3), round(min(end, self.duration), 3)
            if end <= start:
                continue
            if merged and merged[-1][2] == w["label"] and merged[-1][1] == start:
                merged[-1][1] = end
                merged[-1][3] += w["score"] * (end - start)
            else:
                merged.append([start, end, w["label"], w["score"] * (end - start)])
        return [
            {"start": a, "end": b, "label": label, "score": round(weighted / (b - a), 4)}
            for a, b, label, weighted in merged
        ]

    def label_time(self) -> dict[str, float]:
        """Seconds of the recording per label over its :meth:`segments`, silence and no speech left out, most first:
        how much of the speech each emotion took (the overall ``label`` is a duration-weighted mean of
        the non-silent windows' probabilities, which a few confident windows can sway)."""
        seconds: dict[str, float] = {}
        for seg in self.segments():
            if seg["label"] not in NOT_CLASSIFIED:
                seconds[seg["label"]] = seconds.get(seg["label"], 0.0) + seg["end"] - seg["start"]
        return {k: round(v, 3) for k, v in sorted(seconds.items(), key=lambda kv: -kv[1])}


@dataclass
class WindowScan:
    """What :func:`classify_windows` found: each window's samples ``spans``, ``levels`` (dBFS),
    ``speech`` (seconds of speech found; None with the detector off), the indices of windows loud
    enough but without speech (``no_speech``), the probabilities of those the model ran on, the
    speech-to-noise meter of them all (``noise``), the speech level of each classified one (``speech_db``) and,
    with the speech detector off, the steady tone of each classified one that holds nothing else (``tone_only``)."""

    spans: list[tuple[int, int]] = field(default_factory=list)
    levels: list[float] = field(default_factory=list)
    speech: list[float | None] = field(default_factory=list)
    no_speech: set[int] = field(default_factory=set)
    probs: dict[int, np.ndarray] = field(default_factory=dict)
    noise: NoiseMeter = field(default_factory=NoiseMeter)
    speech_db: dict[int, float | None] = field(default_factory=dict)
    tone_only: dict[int, tuple[float, float, float | None]] = field(default_factory=dict)


def classify_windows(
    chunks: Iterable[np.ndarray],
    win: int,
    hop: int,
    sampling_rate: int,
    silence_db: float | None,
    min_speech_s: float | None,
    probs_of: Callable[[list[np.ndarray]], Sequence[np.ndarray]],
    batch_size: int,
) -> WindowScan:
    """Cut the stream ``chunks`` into windows of ``win`` samples every ``hop`` (:func:`~ser_hf.inference.windows.sliding_windows`)
    and run ``probs_of`` on those ``batch_size`` at a time that are above ``silence_db`` dBFS and, unless
    ``min_speech_s`` is None, hold at least that much speech (or half the window, if less) by the speech
    detector, which reads each chunk as it passes, before its windows (16-kHz models; another rate
    runs without it, with a warning)."""
    from ..models.speech_detector import fed_to, speech_track

    scan = WindowScan(noise=NoiseMeter(sampling_rate))
    track = speech_track(sampling_rate, min_speech_s)
    if track is not None:
        chunks = fed_to(track, chunks)
    pending: list[tuple[int, np.ndarray]] = []

    def flush() -> None:
        if pending:
            for (i, _), p in zip(pending, probs_of([w for _, w in pending])):
                scan.probs[i] = p
            pending.clear()

    for start, stop, window in sliding_windows(chunks, win, hop):
        i = len(scan.spans)
        scan.spans.append((start, stop))
        scan.levels.append(level_db(window, sampling_rate))
        scan.speech.append(None if track is None else round(track.speech_s(start, stop), 3))
        if silence_db is not None and scan.levels[-1] < silence_db:
            scan.noise.add(window, scored=False)
            continue
        if track is not None and not track.holds_speech(start, stop, min_speech_s):
            scan.no_speech.add(i)
            scan.noise.add(window, scored=False)
            continue
        scan.speech_db[i] = scan.noise.add(window)
        # the detector off: a window of a steady tone alone (hum, a test tone) is classified, and said so, as
        # classify() says a clip of one (the detector run on the window only for a tone about as loud as speech)
        tone = scan.noise.piece_tone
        if track is None and tone is not None and not speech_under(tone, window, sampling_rate):
            scan.tone_only[i] = tone
            scan.noise.drop_tone_piece()  # no speech: no snr_db, no tone "under the speech"
            scan.speech_db[i] = None
        pending.append((i, window.copy()))
        if len(pending) >= batch_size:
            flush()
    flush()
    return scan


def assemble_timeline(
    name: str,
    scan: WindowScan,
    labels: list[str],
    top_k: int | None,
    sampling_rate: int,
    window_s: float,
    hop_s: float,
    silence_rel_db: float | None,
) -> Timeline:
    """The :class:`Timeline` of the windows of ``scan``, with the probabilities of those the model ran
    on (the others were below ``silence_db`` or held no speech). A window more than ``silence_rel_db`` dB
    under the loudest one is silent too; when that rule silences more windows the absolute one kept than
    are classified, a warning says how many and how to keep them (a loud beep had silenced a quiet
    speaker's whole call, without a word)."""
    from .scores import _top  # here: `ser-hf predict --help` imports this module, and scores loads torch

    spans, levels, probs_rows = scan.spans, scan.levels, scan.probs
    sr, hop = sampling_rate, max(1, int(round(hop_s * sampling_rate)))
    # the relative rule's reference: the loudest window that may hold speech (a beep or hold music the
    # detector found no speech in silenced a quiet speaker's whole call)
    heard = [i for i in range(len(levels)) if i not in scan.no_speech] or list(range(len(levels)))
    loudest_i = max(heard, key=levels.__getitem__)
    loudest, loudest_at = levels[loudest_i], spans[loudest_i][0] / sr
    windows, rows, weights, quietened = [], [], [], 0
    for i, ((start, stop), level) in enumerate(zip(spans, levels)):
        under = silence_rel_db is not None and level < loudest - silence_rel_db
        silent = i not in probs_rows or under
        quietened += i in probs_rows and under
        if silent:
            row = np.zeros(len(labels))
            top = [{"label": NO_SPEECH_LABEL if i in scan.no_speech else SILENCE_LABEL, "score": 1.0}]
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
                "speech_s": scan.speech[i],
                "silent": silent,
                "snr_db": None if silent else scan.noise.over_floor(scan.speech_db.get(i)),
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
    # the speech-to-noise estimate: the noisiest quarter of the windows classified; one warning a recording
    snrs = [w["snr_db"] for w in windows if w["snr_db"] is not None]
    snr = round(float(np.percentile(snrs, SNR_WINDOWS_PERCENTILE)), 1) if snrs else None
    alone = [i for i, w in enumerate(windows) if i in scan.tone_only and not w["silent"]]
    if alone:  # the detector off: classified windows of a steady tone alone
        loudest_tone = max((scan.tone_only[i] for i in alone), key=lambda t: t[1])
        warn_tone_only(name, loudest_tone, (len(alone), len(weights)))
    if len(alone) < len(weights):  # some speech: how noisy, and a tone under it
        warn_if_noisy(name, snr, scan.noise.floor_db(), (sum(v < NOISY_SNR_DB for v in snrs), len(snrs)))
        # a hum or test tone under the classified windows, left out of snr
        warn_if_tone(name, scan.noise.tone())
    if weights:
        w = np.array([d for _, d in weights])
        overall = (np.stack([rows[i] for i, _ in weights]) * w[:, None]).sum(axis=0) / w.sum()
        overall_top = _top(overall, labels, top_k)
    else:
        overall_top = [{"label": NO_SPEECH_LABEL if scan.no_speech else SILENCE_LABEL, "score": 1.0}]
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
        snr_db=snr,
    )


def plot_timeline(
    timeline: Timeline, path: str | os.PathLike | None = None, title: str | None = None, *, ax: Any = None
) -> Any:
    """Draw per-window probabilities over time as a stacked area plot: saved as a PNG at ``path``, or
    drawn into ``ax``, a matplotlib ``Axes`` of your own (a notebook's figure), or both.

    The x axis is time (each window is drawn at its centre), in seconds up to :data:`CLOCK_AXIS_S`
    and as ``m:ss`` (``h:mm:ss`` from an hour) beyond, on round steps; silent windows are shaded
    light grey and windows without speech darker, each named in the legend; the title gives the file, the overall label and its score.

    Returns:
        the PNG's ``Path`` when ``path`` is given, else ``ax``.
    """
    from ..errors import SERError, require_extra

    if path is None and ax is None:
        raise SERError(
            "give a path for the PNG, or ax= (a matplotlib Axes) to draw into", source="plot_timeline"
        )
    require_extra("demo", "plot_timeline", ("matplotlib",))  # a core install: SERError naming the extra
    import matplotlib

    if ax is None and matplotlib.get_backend().lower() not in (
        "agg",
        "module://matplotlib_inline.backend_inline",
    ):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..training.plot_text import drawable_text

    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
    centers = np.array([(w["start"] + w["end"]) / 2 for w in timeline.windows])
    probs = np.array(timeline.probabilities) if timeline.probabilities else np.zeros((len(centers), 0))
    head = title or Path(timeline.source).name
    with drawable_text(timeline.labels, str(path or "plot_timeline(ax=...)"), head) as say:  # 会話.flac, 喜び
        own = ax is None  # a figure of our own, closed after saving; the caller's stays open
        if own:
            fig, ax = plt.subplots(figsize=(max(6.0, min(20.0, 0.15 * len(centers) + 6)), 3.6), dpi=100)
        else:
            fig = ax.figure
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
            shown: set[str] = set()  # one legend entry for each kind of window not classified
            for w in timeline.windows:
                if w["silent"]:
                    kind = NO_SPEECH_LABEL if w["label"] == NO_SPEECH_LABEL else SILENCE_LABEL
                    shade = "0.7" if kind == NO_SPEECH_LABEL else "0.85"
                    ax.axvspan(
                        w["start"],
                        w["end"],
                        color=shade,
                        zorder=0,
                        lw=0,
                        label=None if kind in shown else kind,
                    )
                    shown.add(kind)
            ax.set_xlim(0, max(timeline.duration, 1e-3))
            ax.set_ylim(0, 1)
            ax.set_xlabel(_clock_axis(ax, timeline.duration))
            ax.set_ylabel("probability")
            ax.set_title(f"{say(head)}: {say(timeline.label)} ({timeline.score:.2f})", fontsize=10)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
            if own:
                fig.tight_layout()
            if path is not None:
                fig.savefig(path, format="png", bbox_inches=None if own else "tight")
        finally:
            if own:
                plt.close(fig)
    return path if path is not None else ax


CLOCK_AXIS_S = 120.0  # a plot of a longer recording reads its time axis as m:ss, not thousands of seconds
_CLOCK_STEPS = (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)


def clock_text(seconds: float, hours: bool = False) -> str:
    """``seconds`` as ``m:ss`` (``h:mm:ss`` when ``hours``, or from an hour): 95 -> ``1:35``,
    3725 -> ``1:02:05``; a negative time (none on a plot's axis) as 0."""
    total = max(0, int(round(seconds)))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if hours or h else f"{m}:{s:02d}"


def clock_step(duration: float, ticks: int = 8) -> int:
    """The round tick step, in seconds, that gives at most about ``ticks`` ticks over ``duration``."""
    return next((step for step in _CLOCK_STEPS if duration / step <= ticks), _CLOCK_STEPS[-1])


def _clock_axis(ax: Any, duration: float) -> str:
    """Set ``ax``'s x ticks for a recording of ``duration`` seconds; returns the axis label."""
    if duration <= CLOCK_AXIS_S:
        return "time (s)"
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    hours = duration >= 3600
    ax.xaxis.set_major_locator(MultipleLocator(clock_step(duration)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: clock_text(x, hours)))
    return "time (h:mm:ss)" if hours else "time (m:ss)"


# ================================================================================= streaming
