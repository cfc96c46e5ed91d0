"""``ser-hf predict``'s long-recording extras: segments (``--segments DIR``), time per label, the
window and hop checks, and the warning for a long file classified whole."""

from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..data.audio import MIN_SPEECH_S
from ..errors import SERError, output_dir
from ..inference.levels import TIMELINE_MIN_WINDOWS
from ..inference.segments import SEGMENT_FORMATS

if TYPE_CHECKING:
    from ..inference.timeline import Timeline

logger = logging.getLogger(__name__)

# the log-mel features' frame hop: windows that start closer than this read the same frames
MIN_HOP_S = 0.01


def add_segment_options(p: argparse.ArgumentParser) -> None:
    """``--segments DIR`` and ``--segments-format`` on ``ser-hf predict``'s parser."""
    p.add_argument(
        "--segments",
        default=None,
        metavar="DIR",
        help="write each long file's segments to DIR: the timeline cut where the label changes, windows not "
        "overlapping (each owns the time nearest its centre), silence and no speech labels of their own; named as the "
        "--timeline-png plots (talk.segments.vtt; the same name from another folder gets -N; with --channel or "
        "--track they say which: talk.right.segments.vtt, talk.ch2..., talk.track1.right...)",
    )
    p.add_argument(
        "--segments-format",
        default=None,
        metavar="FORMAT[,FORMAT]",
        help="vtt (WebVTT subtitles, the default: a video player, ELAN), srt, audacity (a label track, "
        "NAME.labels.txt: File > Import > Labels) or csv (start,end,label,score); several comma-separated",
    )


def check_segment_options(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """The formats known and ``--segments DIR`` writable, before the models load; ``args.segments_format``
    becomes a list."""
    if args.segments_format is not None and not args.segments:
        parser.error("--segments-format names the files --segments DIR writes: give --segments DIR too")
    formats = [f.strip().lower() for f in (args.segments_format or "vtt").split(",") if f.strip()]
    if unknown := [f for f in formats if f not in SEGMENT_FORMATS]:
        parser.error(f"--segments-format: no format {unknown[0]!r}; give {', '.join(SEGMENT_FORMATS)}")
    args.segments_format = list(dict.fromkeys(formats)) or ["vtt"]
    if args.segments:
        output_dir(args.segments, "--segments")


def check_window_hop(window: float | None, hop: float | None) -> None:
    """Refuse (exit 2) a window too short to hold speech and a hop under the features' frame hop."""
    if window is not None and window < MIN_SPEECH_S:
        raise SERError(
            f"a {window:g}-s window cannot hold speech (under {MIN_SPEECH_S:g} s, the shortest clip classified); "
            "give --window 1 or more (the models learn from utterances of 1.5-5 s)",
            source="--window",
        )
    if hop is not None and hop < MIN_HOP_S:
        raise SERError(
            f"a {hop:g}-s hop is under the features' {MIN_HOP_S * 1000:g}-ms frame hop: windows that close "
            f"read the same frames, at one model call each; give --hop {MIN_HOP_S:g} or more (0.5 shows "
            "the same changes)",
            source="--hop",
        )


def output_tag(channel: Any, track: Any, channel_i: int | None, track_i: int | None) -> str:
    """What the --segments and --timeline-png files' names add after the file's stem for a run with
    ``--track`` and/or ``--channel`` (``channel``/``track`` as typed, ``*_i`` their indexes): ``.right``
    / ``.left`` as spelled, ``.ch2`` for a channel number, ``.track1`` before it (``call.track1.right``);
    empty without either, the names as before. The left and the right side of a call, run one after the
    other into the same folder, overwrote each other's files, which named neither."""
    tag = "" if track_i is None else f".track{track_i}"
    if channel_i is not None:
        named = str(channel).strip().lower()
        tag += f".{named}" if named in ("left", "right") else f".ch{channel_i}"
    return tag


def output_stem(name: str, args: argparse.Namespace) -> str:
    """The stem the --segments and --timeline-png files of the file ``name`` are named after
    (``call.right`` with ``--channel right``: :func:`output_tag`)."""
    return Path(name).stem + getattr(args, "output_tag", "")


def plot_title(name: str, args: argparse.Namespace) -> str:
    """The --timeline-png plot's title: the file's name, and the track and channel classified."""
    parts = [f"track {args.track}"] if args.track is not None else []
    if args.channel is not None:
        tag = getattr(args, "output_tag", "").rsplit(".", 1)[-1]
        parts.append(f"{tag} channel" if tag in ("left", "right") else f"channel {args.channel}")
    return f"{name} ({', '.join(parts)})" if parts else name


def add_segments(
    row: dict[str, Any],
    tl: Timeline,
    name: str,
    results: list[dict[str, Any]],
    args: argparse.Namespace,
    pick: Callable[..., Path],
) -> None:
    """A timeline row's ``segments`` and ``label_time``; with ``--segments DIR``, its files too
    (``segments_files``), named after ``name`` as the PNGs are (``pick``: ``PredictFile.timeline_png``,
    which never takes a name a row of this run or a kept earlier row has)."""
    from ..inference.segments import segments_text
    from ..training.saving import write_whole

    row["segments"] = tl.segments()
    row["label_time"] = tl.label_time()
    if not args.segments:
        return
    written = []
    for fmt in args.segments_format:
        path = pick(args.segments, output_stem(name, args), results, SEGMENT_FORMATS[fmt])
        write_whole(path, segments_text(row["segments"], fmt))
        written.append(str(path))
    row["segments_files"] = written


def classified_text(row: dict[str, Any]) -> str:
    """`` (19 classified)`` when some of a timeline's windows were silence or no speech (empty if none)."""
    classified = sum(not w["silent"] for w in row["timeline"])
    return "" if classified == len(row["timeline"]) else f" ({classified} classified)"


def label_time_text(row: dict[str, Any]) -> str:
    """``; speech: neutral 62%, sad 30%, angry 8%`` for the table's timeline header (empty without)."""
    seconds = row.get("label_time") or {}
    total = sum(seconds.values())
    if not total:
        return ""
    return "; speech: " + ", ".join(f"{label} {100 * s / total:.0f}%" for label, s in seconds.items())


def window_times(window_s: float, hop_s: float) -> Callable[[dict[str, Any]], str]:
    """A window's ``start - end`` for the table: 2 decimals, 3 when the window or hop is not a whole
    number of hundredths (``--hop 0.015``: 0.015 and 0.03 were both ``0.01``/``0.03``)."""
    fine = any(abs(v * 100 - round(v * 100)) > 1e-6 for v in (window_s, hop_s))
    digits = 3 if fine else 2
    return lambda w: f"{w['start']:8.{digits}f} - {w['end']:8.{digits}f}"


def whole_clip_note(clf: Any, window_s: float) -> Callable[[Any, float], None]:
    """A function that, for a file classified whole (shorter than 1.5 windows), warns once a run when
    the model reads only the last seconds of it: ``--window 500`` classified a 10-minute file on its
    last 8 s, without a word (``timeline()`` says so of its windows; this file had none)."""
    from ..inference import inputs

    limit = inputs.reads_seconds(clf.feature_extractor)
    said: list[bool] = []

    def note(path: Any, seconds: float) -> None:
        if limit and seconds > limit + 1.0 and not said:
            said.append(True)
            logger.warning(
                "%s: %.0f s, under %g windows of %g s (--window), is classified as one clip, scored on about "
                "its last %g s only (the model's window); --window %g or less gives it a timeline (said "
                "once; other such files are scored the same way)",
                path,
                seconds,
                TIMELINE_MIN_WINDOWS,
                window_s,
                limit,
                min(limit, math.floor(seconds / TIMELINE_MIN_WINDOWS)),  # 1.5 windows of it fit
            )

    return note
