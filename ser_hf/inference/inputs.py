"""What the classifier checks about the clips it is given, before any decoding: their names in
messages, a list where a list is due, and clips longer than the model reads."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..errors import SERError
from ..models.configuration_ser import FUNCTIONAL_BLOCKS
from ..models.feature_extraction_functionals import TURN_BLOCKS
from ..models.turn_encoder import WINDOW_SAMPLES
from .levels import SILENCE_DB, level_db

logger = logging.getLogger(__name__)


def clip_name(audio: Any) -> str:
    """How messages name a clip: its path, else its type."""
    if isinstance(audio, (str, os.PathLike)):
        return str(audio)
    if isinstance(audio, dict) and audio.get("path"):
        return str(audio["path"])
    return f"<{type(audio).__name__}>"


def clip_list(items: Iterable[Any], what: str, single: str) -> list[Any]:
    """``items`` as a list (a generator is read once); one path, or one word, where a list is due is
    a :class:`SERError` (a string would otherwise be read one character at a time)."""
    if isinstance(items, (str, bytes, os.PathLike, dict)):
        raise SERError(
            f"{what} takes a list, got one {type(items).__name__}; {single}", source=str(items)[:200]
        )
    return list(items)


def reads_seconds(feature_extractor: Any) -> float | None:
    """The most of a clip (its LAST seconds, trimmed) a model reads: the turn encoder's 8-s window
    when its feature set has a turn-encoder block, else None (the whole clip)."""
    fe = getattr(feature_extractor, "extractor", feature_extractor)  # the ONNX route's TurnEncoderInputs
    blocks = FUNCTIONAL_BLOCKS.get(getattr(fe, "functionals", None) or "", ())
    return WINDOW_SAMPLES / 16000 if any(b in TURN_BLOCKS for b in blocks) else None


def warn_if_long(
    clips: Sequence[np.ndarray], names: Sequence[str], max_seconds: float | None, rate: int
) -> None:
    """Log a warning for each clip longer than the ``max_seconds`` a model reads
    (:func:`reads_seconds`), pointing to ``timeline`` for long recordings."""
    if not max_seconds:
        return
    for clip, name in zip(clips, names):
        if len(clip) > (max_seconds + 1.0) * rate:  # trimming takes silence off both ends first
            logger.warning(
                "%s is %.0f s long; this model reads only about its last %g s of speech: use "
                "timeline() (ser-hf predict does) for a recording longer than that",
                name,
                len(clip) / rate,
                max_seconds,
            )


def warn_if_silent(clips: Sequence[np.ndarray], names: Sequence[str], rate: int) -> None:
    """Log a warning for each clip with no 50 ms above ``SILENCE_DB``: the model still scores it, but
    the scores describe no speech (``timeline`` labels such windows ``"silence"``)."""
    for clip, name in zip(clips, names):
        level = level_db(clip, rate)
        if level < SILENCE_DB:
            logger.warning(
                "%s holds no speech (loudest 50 ms at %.0f dBFS, below %.0f): its emotion scores "
                "mean nothing; check the recording level or the file",
                name,
                level,
                SILENCE_DB,
            )
