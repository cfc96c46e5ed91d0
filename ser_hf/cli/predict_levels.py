"""``ser-hf predict``'s options that choose which timeline windows are classified (``--silence-db``,
``--silence-rel-db``, ``--min-speech``), and what the table says of a window that was not."""

from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..errors import SERError
from ..inference.levels import (
    SILENCE_DB,
    SILENCE_LABEL,
    SILENCE_REL_DB,
    SILENT_DB,
    WINDOW_SPEECH_S,
    level_db,
)

logger = logging.getLogger(__name__)


def add_level_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--silence-db",
        type=float,
        default=SILENCE_DB,
        help=f"audio whose loudest 50 ms is below this dBFS is silence (default {SILENCE_DB})",
    )
    p.add_argument(
        "--silence-rel-db",
        type=_rel_db,
        default=SILENCE_REL_DB,
        metavar="DB|none",
        help=f"in a timeline, a window more than this many dB below the recording's loudest window is silence "
        f"too (default {SILENCE_REL_DB:g}: a room's hiss between words); 'none' keeps every window above "
        "--silence-db (a quiet speaker after a loud beep or prompt)",
    )
    p.add_argument(
        "--min-speech",
        type=_min_speech,
        default=WINDOW_SPEECH_S,
        metavar="S|none",
        help=f"in a timeline, a window in which the speech detector (Silero VAD) finds less than S seconds of "
        "speech (or less than half the window, when S is more than that) is 'no speech' (music, noise, a "
        f"tone), not classified (default {WINDOW_SPEECH_S:g}); 'none' classifies every window above the "
        "silence levels",
    )


def _why_not(window: dict[str, Any]) -> str:
    """Why a timeline window was not classified, for the table."""
    if window["label"] == SILENCE_LABEL:
        if window["level_db"] <= SILENT_DB:
            return "  (digital silence)"
        return f"  (loudest 50 ms at {window['level_db']:g} dBFS)"
    return f"  ({window.get('speech_s') or 0:g} s of speech found)"


def _min_speech(text: str) -> float | None:
    """``--min-speech``: seconds (0 or more), or ``none`` (the speech detector off)."""
    return _number_or_none(text, 0.0, True, "a number of seconds (0 or more)")


def _rel_db(text: str) -> float | None:
    """``--silence-rel-db``: a number of dB, or ``none`` (no relative rule)."""
    # an ArgumentTypeError: argparse said "invalid _rel_db value" for a ValueError
    return _number_or_none(text, 0.0, False, "a positive number of dB")


def _number_or_none(text: str, low: float, low_allowed: bool, wanted: str) -> float | None:
    """A finite number above ``low`` (or equal to it, when ``low_allowed``), or None for ``none``/``off``."""
    if text.strip().lower() in ("none", "off"):
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not ((low <= value) if low_allowed else (low < value)) or not value < float("inf"):
        raise argparse.ArgumentTypeError(f"give {wanted} or none, not {text!r}")
    return value


def warn_min_speech_over_half(min_speech_s: float | None, window_s: float) -> None:
    """``--min-speech`` more than half the window asks for more than a window is held to: say so."""
    if min_speech_s is not None and min_speech_s > window_s / 2:
        logger.warning(
            "--min-speech %g is more than half the %g-s window: a window needs %g s of speech (half of it) "
            "to be classified; a longer --window asks for more",
            min_speech_s, window_s, window_s / 2,
        )  # fmt: skip


# a file whose windows are mostly under --silence-db while its loudest is at least this far above it
# holds sound the threshold hid (a quiet side of a call after a loud beep), not silence
QUIET_LOUDEST_ABOVE_DB = 10.0
# the windows under --silence-db that hold sound, not the digital silence of the other side's turns or a
# line's floor far below: at most this many dB under it
QUIET_WITHIN_DB = 15.0
# at most this many of those are read again for the speech detector, each brought up to QUIET_PROBE_DB
# first (Silero finds no speech in a voice as quiet as -60 dBFS, nor in a line's hiss brought up); the
# warning needs speech in at least QUIET_SPEECH_SHARE of them (a recording's pauses of steady noise had
# 25 of 45 windows said to be a quiet speaker, and classifying them gave `no speech`)
QUIET_CHECKED = 12
QUIET_PROBE_DB = -30.0
QUIET_SPEECH_SHARE = 0.25


def warn_quiet_windows(
    name: str,
    windows: list[dict[str, Any]],
    silence_db: float | None,
    rel_db: float | None,
    min_speech_s: float | None,
    read: Callable[[], Iterable[np.ndarray]],
) -> None:
    """One WARNING for a timeline whose windows are mostly silence by ``--silence-db`` while its loudest
    window is well above it, and at least a quarter of them hold sound close under it, in which the speech
    detector finds speech: a quiet customer 30 dB under the line's beep had 24 of 29 windows ``silence``,
    without a hint. ``read()`` gives the recording at 16 kHz in chunks; it is called only when the levels
    say so (a normal file pays nothing), and reads at most :data:`QUIET_CHECKED` of those windows, with the
    detector even when ``min_speech_s`` is None (``--min-speech none``: the timeline ran without it, and
    the default's :data:`WINDOW_SPEECH_S` is asked of them). The side of a call that mostly listens
    (digital silence, or a floor far under the threshold), a silent or quiet recording (nothing well above
    the threshold) and speech with pauses of quiet noise are not said."""
    if silence_db is None or not windows:
        return
    under = [w for w in windows if w["label"] == SILENCE_LABEL and w["level_db"] < silence_db]
    near = [w for w in under if w["level_db"] >= silence_db - QUIET_WITHIN_DB]
    loudest = max(w["level_db"] for w in windows)
    if (
        len(under) * 2 <= len(windows)
        or loudest < silence_db + QUIET_LOUDEST_ABOVE_DB
        or len(near) * 4 < len(under)
    ):
        return
    # with --min-speech none too: the timeline classifies without the detector, as asked, but levels alone
    # took pauses of steady noise for a quiet speaker; the detector reads the few windows checked here
    speech_s = WINDOW_SPEECH_S if min_speech_s is None else min_speech_s
    checked = near[:: math.ceil(len(near) / QUIET_CHECKED)]
    try:
        found = _speech_brought_up(read(), [(w["start"], w["end"]) for w in checked])
    except (SERError, OSError) as err:  # gone since the timeline read it: no hint rather than a guess
        logger.debug("%s: the windows under --silence-db were not checked for speech: %s", name, err)
        return
    need = lambda w: min(speech_s, (w["end"] - w["start"]) / 2)  # noqa: E731  (as the timeline)
    speaking = [w for w, s in zip(checked, found) if s >= need(w)]
    if not speaking or len(speaking) < QUIET_SPEECH_SHARE * len(checked):
        return
    found_text = f"; speech found in {len(speaking)} of {len(checked)} checked"
    # at their own level the timeline's detector finds too little speech in most: `no speech` (with
    # --min-speech none it did not run: speech_s is None)
    missed = sum(w["speech_s"] is not None and w["speech_s"] < need(w) for w in speaking) * 2 > len(speaking)
    lower = 5 * math.floor((min(w["level_db"] for w in near) - 1) / 5)  # a round level under the quietest
    rel = ""
    if rel_db is not None and lower < loudest - rel_db:  # the relative rule would silence them next
        rel = f" with --silence-rel-db none (they are more than {rel_db:g} dB under the loudest window, {loudest:g} dBFS)"
    detector = ""
    if missed:
        detector = (
            f"{' and' if rel else ' with'} --min-speech none (at their level the speech detector misses it: "
            "they would be `no speech`)"
        )
    logger.warning(
        "%s: %d of %d windows are silence for their level under --silence-db %g dBFS (%d of them within %g dB of "
        "it%s), while its loudest window is at %g dBFS; if that is a quiet "
        "speaker (one side of a call, a far microphone), --silence-db %d%s%s classifies them",
        name, len(under), len(windows), silence_db, len(near), QUIET_WITHIN_DB, found_text,
        loudest, lower, rel, detector,
    )  # fmt: skip


def _speech_brought_up(chunks: Iterable[np.ndarray], spans: list[tuple[float, float]]) -> list[float]:
    """Seconds of speech the speech detector finds in each of ``spans`` (start, end seconds; in order) of
    the 16-kHz recording ``chunks``, each span brought up to :data:`QUIET_PROBE_DB` first. Reads no
    further than the last span."""
    from ..models.speech_detector import SAMPLING_RATE, SpeechTrack

    bounds = [(round(a * SAMPLING_RATE), round(b * SAMPLING_RATE)) for a, b in spans]
    parts: list[list[np.ndarray]] = [[] for _ in bounds]
    offset = 0
    try:
        for chunk in chunks:
            end = offset + len(chunk)
            for part, (a, b) in zip(parts, bounds):
                if a < end and b > offset:
                    part.append(chunk[max(0, a - offset) : b - offset].copy())
            offset = end
            if offset >= bounds[-1][1]:
                break
    finally:
        getattr(chunks, "close", lambda: None)()  # an FFmpeg pipe left mid-file
    found = []
    for part in parts:
        x = np.concatenate(part) if part else np.zeros(0, np.float32)
        level = level_db(x, SAMPLING_RATE) if len(x) else SILENT_DB
        if level <= SILENT_DB:
            found.append(0.0)
            continue
        track = SpeechTrack.of(x * np.float32(10 ** ((QUIET_PROBE_DB - level) / 20)))
        found.append(track.speech_s(0, len(x)))
    return found


def quiet_reader(
    audio: Any, rate: int, channel: int | str | None, track: int | str | None
) -> Callable[[], Iterable[np.ndarray]]:
    """What :func:`warn_quiet_windows` reads: ``audio`` (what the timeline read: a path or an address, or
    its samples at ``rate``, of the chosen channel and track) at 16 kHz, in chunks."""

    def read() -> Iterable[np.ndarray]:
        from ..data.audio import load_audio
        from ..data.resampling import resample
        from ..inference.inputs import recording_chunks
        from ..models.speech_detector import SAMPLING_RATE

        if isinstance(audio, np.ndarray):
            return [audio if rate == SAMPLING_RATE else resample(audio, rate, SAMPLING_RATE)]
        load = lambda a: load_audio(a, SAMPLING_RATE, channel=channel, track=track)  # noqa: E731
        return recording_chunks(audio, load, 60.0, 0.0, SAMPLING_RATE, channel, track)

    return read
