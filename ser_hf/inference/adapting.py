"""What ``EmotionClassifier.adapt`` reads and does: its unlabelled clips, each readable one whole or,
when longer than the model reads, as the windows a timeline classifies (less the silent, too short and
speechless ones, each counted in one warning), then the model's statistics re-estimated on them."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from ..data.audio import MIN_SPEECH_S, refuse_single
from ..errors import AudioInputError, AudioTooLongError, SERError
from .clip_rows import audio_column, named_items
from .inputs import clip_name, named_error, reads_seconds, refuse_overlong
from .levels import check_min_speech, level_db
from .windows import sliding_windows

logger = logging.getLogger("ser_hf.inference.inputs")  # moved messages keep their logger


def _named(clip: Any, err: SERError, row: str | None = None) -> str:
    """``err`` of ``clip`` as one item of ``adapt``'s lists: the clip named once (its error names it);
    a ``datasets`` column's ``row`` by its number (its error renamed so, :func:`named_error`)."""
    if row is not None:
        return str(named_error(err, row))
    name = clip_name(clip)
    return str(err) if err.source == name or str(err).startswith(f"{name}:") else f"{name} ({err})"


def _none_read(left_out: list[tuple[str, SERError]]) -> SERError:
    """The error of an ``adapt`` that could use none of its clips: the one clip's own, or one saying
    so for all of them (too long, or unreadable), with the first three reasons (a class all of them
    share: AudioInputError when they were all bad audio)."""
    if len(left_out) == 1:
        return left_out[0][1]
    reasons = [text for text, _ in left_out]
    more = f"; and {len(reasons) - 3} more" if len(reasons) > 3 else ""
    kinds = {type(err) for _, err in left_out}
    kind = next(iter(kinds)) if len(kinds) == 1 else SERError
    if len(kinds) > 1 and all(issubclass(k, AudioInputError) for k in kinds):
        kind = AudioInputError
    long = sum(isinstance(err, AudioTooLongError) for _, err in left_out)
    if long == len(left_out):
        message = f"all {long} clips are too long to decode whole, so there is nothing to adapt on: "
    elif long:
        message = (
            f"none of the {len(left_out)} clips could be used ({long} too long to decode whole, "
            f"{len(left_out) - long} unreadable), so there is nothing to adapt on: "
        )
    else:
        message = f"none of the {len(left_out)} clips could be read, so there is nothing to adapt on: "
    return kind(message + "; ".join(reasons[:3]) + more, source="adapt")


def adaptation_waves(
    clips: Iterable[Any],
    load: Callable[[Any], np.ndarray],
    rate: int,
    feature_extractor: Any,
    window_s: float,
    silence_db: float | None,
    min_speech_s: float | None = None,
    channel: Any = None,
    track: Any = None,
) -> Iterator[np.ndarray]:
    """What ``adapt`` re-estimates the statistics on, one at a time: each readable clip, a clip longer
    than the model reads as the windows ``timeline`` classifies (``window_s``, hop half of it: whole,
    only its last seconds were seen; those with less than ``min_speech_s`` of speech left out, as the
    timeline leaves them out), less the silent ones and those under ``MIN_SPEECH_S``. Unreadable, too
    short, silent and speechless pieces are counted in one warning each (a clip over the hour that
    ``adapt`` decodes whole among the too long, not the unreadable); ``load`` decodes a clip
    (raising :class:`SERError`) of its ``channel`` and ``track``, after :func:`refuse_overlong`."""
    from ..models.speech_detector import speech_track

    limit = reads_seconds(feature_extractor)
    left_out: list[tuple[str, SERError]] = []  # the clips that could not be decoded: why, the error
    silent = short = long = read = speechless = 0
    for clip, row in named_items(clips, "adapt"):  # a datasets row it cannot decode: as stored
        try:
            # an hour of silence in a 1-MB FLAC: refused
            wave = load(refuse_overlong(clip, "adapt()", rate=rate, channel=channel, track=track))
            read += 1
        except SERError as err:  # one broken file among many: skipped, as ser-hf predict --adapt does
            left_out.append((_named(clip, err, row), err))
            continue
        if len(wave) < MIN_SPEECH_S * rate:  # as classify warns and predict refuses: no speech in it
            short += 1
            continue
        if limit and len(wave) > (limit + 1.0) * rate:
            long += 1
            win, hop = round(window_s * rate), max(1, round(window_s * rate / 2))
            speech = speech_track(rate, min_speech_s, wave)  # (not `track`: the next clip's reads it)
            pieces: Iterable[tuple[int, int, np.ndarray]] = sliding_windows([wave], win, hop)
        else:
            speech, pieces = None, [(0, len(wave), wave)]
        for start, stop, piece in pieces:
            # as the timeline: silence first, then no speech
            if silence_db is not None and level_db(piece, rate) < silence_db:
                silent += 1
            elif speech is not None and not speech.holds_speech(start, stop, min_speech_s):
                speechless += 1
            else:
                yield piece
    if long:
        logger.info(
            "adapt: %d clip(s) longer than the model reads, adapted on their %g-s windows", long, window_s
        )
    if left_out and not read:  # none read: the call's own mistake (a bad rate), or all broken
        raise _none_read(left_out)
    too_long = [text for text, err in left_out if isinstance(err, AudioTooLongError)]
    unreadable = [text for text, err in left_out if not isinstance(err, AudioTooLongError)]
    if too_long:
        logger.warning(
            "adapt: left out %d clip(s) too long to decode whole: %s", len(too_long), "; ".join(too_long[:3])
        )
    if unreadable:
        logger.warning(
            "adapt: left out %d unreadable clip(s): %s", len(unreadable), "; ".join(unreadable[:3])
        )
    if short:
        logger.warning("adapt: left out %d clip(s) under %g s, too short to hold speech", short, MIN_SPEECH_S)
    if silent:
        logger.warning(
            "adapt: left out %d silent clip(s) or window(s) (loudest 50 ms below %g dBFS)", silent, silence_db
        )
    if speechless:
        logger.warning(
            "adapt: left out %d window(s) without speech (music, noise), as timeline() does", speechless
        )


def adapt_classifier(
    classifier: Any,
    clips: Iterable[Any],
    sampling_rate: int | None,
    silence_db: float | None,
    channel: Any,
    min_speech_s: float | None,
    track: Any,
) -> Any:
    """:meth:`~ser_hf.inference.classifier.EmotionClassifier.adapt` of ``classifier``: its PyTorch
    model's statistics re-estimated on :func:`adaptation_waves` of ``clips``, under the model's lock."""
    from ..training.adaptation import adapt_model
    from ..training.adaptation_lock import statistics_lock

    model = getattr(classifier.backend, "model", None)
    if model is None:
        raise SERError(
            "adaptation changes the PyTorch model's statistics, and this classifier runs an ONNX graph: "
            "load the model folder with EmotionClassifier(model) (no onnx_path) to adapt",
            source="adapt",
        )
    clips = audio_column(clips, "adapt")  # a whole Dataset: its audio column
    refuse_single(clips, "adapt", "pass the clips as a list (or a generator) of paths or arrays")
    check_min_speech(min_speech_s, "adapt")
    step = getattr(classifier.feature_extractor, "clips_per_call", 1)
    waves = adaptation_waves(
        clips, lambda a: classifier._load(a, sampling_rate, channel, track), classifier.sampling_rate,
        classifier.feature_extractor, classifier.default_window_s(), silence_db, min_speech_s, channel, track,
    )  # fmt: skip
    with statistics_lock(model).changing:  # a reset_adaptation() called meanwhile waits, then resets
        inputs: list[dict[str, Any]] = []
        for batch in iter(lambda: list(itertools.islice(waves, step)), []):
            feats, mask, extra = classifier._features(batch)
            for j in range(len(batch)):
                rows = {k: v[j : j + 1] for k, v in extra.items()}
                inputs.append(classifier.backend.model_inputs(feats[j : j + 1], mask[j : j + 1], **rows))
        adapt_model(model, inputs)
    return classifier
