"""``ser-hf predict``'s options that choose which timeline windows are classified (``--silence-db``,
``--silence-rel-db``, ``--min-speech``), and what the table says of a window that was not."""

from __future__ import annotations

import argparse
import logging
import math
from typing import Any

from ..inference.levels import SILENCE_DB, SILENCE_LABEL, SILENCE_REL_DB, SILENT_DB, WINDOW_SPEECH_S

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


def warn_quiet_windows(
    name: str, windows: list[dict[str, Any]], silence_db: float | None, rel_db: float | None
) -> None:
    """One WARNING for a timeline whose windows are mostly silence by ``--silence-db`` while its loudest
    window is well above it, and at least a quarter of them hold sound close under it: a quiet customer
    30 dB under the line's beep had 24 of 29 windows ``silence``, without a hint. The side of a call
    that mostly listens (digital silence, or a floor far under the threshold) and a silent or quiet
    recording (nothing well above the threshold) are not said."""
    if silence_db is None or not windows:
        return
    under = [w["level_db"] for w in windows if w["label"] == SILENCE_LABEL and w["level_db"] < silence_db]
    near = [level for level in under if level >= silence_db - QUIET_WITHIN_DB]
    loudest = max(w["level_db"] for w in windows)
    if (
        len(under) * 2 <= len(windows)
        or loudest < silence_db + QUIET_LOUDEST_ABOVE_DB
        or len(near) * 4 < len(under)
    ):
        return
    lower = 5 * math.floor((min(near) - 1) / 5)  # a round level under the quietest of them
    rel = ""
    if rel_db is not None and lower < loudest - rel_db:  # the relative rule would silence them next
        rel = f" with --silence-rel-db none (they are more than {rel_db:g} dB under the loudest window, {loudest:g} dBFS)"
    logger.warning(
        "%s: %d of %d windows are silence for their level under --silence-db %g dBFS (%d of them within %g dB of "
        "it), while its loudest window is at %g dBFS; if that is a quiet speaker (one side of a call, a "
        "far microphone), --silence-db %d%s classifies them",
        name, len(under), len(windows), silence_db, len(near), QUIET_WITHIN_DB, loudest, lower, rel,
    )  # fmt: skip
