"""What ``classify_batch`` checks before it scores anything: the clips whose header already says that
decoding them fails (missing, not audio, a track they lack, over the hour ``classify`` decodes whole),
so a bad last clip fails the call before the groups ahead of it are decoded and scored; the
position in the batch that an error names; a group's clips scored a batch at a time; and the loop
that decodes the clips in order and scores them a group at a time, so memory stays bounded."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..data.audio import audio_info
from ..data.source_kinds import is_file_object, is_stream_path
from ..errors import SERError
from .inputs import (
    _Checked,
    _encoded,
    clip_name,
    length_unknown,
    named_error,
    refuse_no_speech,
    refuse_overlong,
    warn_about_clips,
    warn_long_clips,
)
from .scores import _top


def at_position(err: SERError, index: int, count: int) -> SERError:
    """``err``, raised for the clip at ``index`` of ``count``, saying which one it is (its name or
    path already starts the message). Changed in place, so its class, ``source`` and traceback stay."""
    err.args = (f"{err} (classify_batch: clip {index} of {count}, counted from 0)",)
    return err


def header_error(audio: Any, load: Callable[[Any], Any], track: Any) -> tuple[SERError | None, Any]:
    """(the error that decoding ``audio`` raises when its header already tells, else None; when its
    header was read and gives a length within the limit, ``audio`` as ``refuse_overlong`` hands it on,
    with that header's rate, so its turn does not read the header again, else None).
    Read for a local file (not a pipe, read once) and encoded bytes; an address (fetched once), an open
    file, an ``AudioDecoder`` and samples in memory are left to their turn. A header that cannot be read
    is decoded by ``load`` (the clip's own reading) for the precise error: that fails at once, and
    where FFmpeg reads what the header read could not, the clip is decoded again in its turn."""
    from . import inputs  # its CLASSIFY_MAX_S read at the call: a caller (a test) may change it

    encoded = _encoded(audio)
    if encoded is None or is_file_object(encoded):
        return None, None
    if isinstance(encoded, (str, os.PathLike)) and is_stream_path(encoded):
        return None, None
    try:
        seconds, rate, _ = audio_info(encoded, track)
    except SERError:
        pass  # missing, not audio, a track it lacks: decoding says precisely what
    else:
        if length_unknown(seconds, rate):  # decoded up to the limit in its turn
            return None, None
        if seconds <= inputs.CLASSIFY_MAX_S:
            return None, _Checked(audio, rate or None)
    try:
        load(audio)  # refuse_overlong's AudioTooLongError, or decoding's error
    except SERError as err:
        return err, None
    return None, None


def refuse_bad_headers(
    audios: Sequence[Any], names: Sequence[str] | None, load: Callable[[Any], Any], track: Any
) -> dict[int, Any]:
    """``classify_batch(return_exceptions=False)``: the first clip whose header says it cannot be
    decoded (:func:`header_error`) raises its error now, named as ``names`` name it and with its
    position, before any clip is decoded and scored (a missing last file failed the call after every
    group before it was scored). Returns, by position, the clips whose header was read and is within
    the limit as ``refuse_overlong`` hands them on, so their turn does not read it again."""
    checked = {}
    for i, audio in enumerate(audios):
        err, within = header_error(audio, load, track)
        if err is not None:
            raise at_position(named_error(err, names[i]) if names is not None else err, i, len(audios))
        if within is not None:
            checked[i] = within
    return checked


def scored_by_length(
    clips: Sequence[np.ndarray],
    names: Sequence[str],
    step: int,
    score: Callable[[list[np.ndarray], list[str]], np.ndarray],
    width: int,
) -> np.ndarray:
    """``(len(clips), width)`` rows of ``score(clips, names)``, run ``step`` clips at a time sorted by
    length (so padding stays small), in the order given."""
    order = sorted(range(len(clips)), key=lambda i: len(clips[i]))
    out = np.zeros((len(clips), width), dtype=np.float64)
    for k in range(0, len(order), step):
        idx = order[k : k + step]
        out[idx] = score([clips[i] for i in idx], [names[i] for i in idx])
    return out


def classify_in_groups(
    classifier: Any,
    audios: Sequence[Any],
    names: Sequence[str],
    given: bool,
    held_s: float,
    *,
    batch_size: int | None,
    top_k: int | None,
    sampling_rate: int | None,
    return_exceptions: bool,
    warn: bool,
    channel: Any,
    track: Any,
    require_speech: bool,
) -> list[Any]:
    """``classify_batch``'s results for ``audios`` (called ``names``; ``given``: by the caller or by a
    dataset's rows, which errors then start with): the clips decoded in input order until about
    ``held_s`` seconds of audio are held, then scored (:func:`scored_by_length`) and let go, so memory
    stays bounded; a clip whose header says it cannot be decoded fails the call first
    (:func:`refuse_bad_headers`), unless ``return_exceptions``, where each error takes its clip's place."""
    results: list[Any] = [None] * len(audios)
    keep, labels = classifier._scoring  # one reading for the call: a restrict() meanwhile changes the next
    long: list[tuple[str, float]] = []  # the clips longer than the model reads: one warning at the end
    held: dict[int, np.ndarray] = {}  # decoded and not yet scored: about held_s of audio
    held_samples = 0

    def score_held() -> None:
        ok = list(held)
        loaded, shown = [held[i] for i in ok], [names[i] for i in ok]
        if warn:
            warn_about_clips(loaded, shown, classifier.sampling_rate, classifier.feature_extractor, long)
        if ok:
            step, score = classifier._batch_size(batch_size), lambda c, n: classifier._probs(c, n, keep)
            for i, p in zip(ok, scored_by_length(loaded, shown, step, score, len(labels))):
                results[i] = _top(p, labels, top_k)

    def checked(audio: Any) -> Any:
        return refuse_overlong(audio, rate=classifier.sampling_rate, channel=channel, track=track)

    # a clip whose header says it cannot be decoded fails the call before any clip is scored
    read = {} if return_exceptions else refuse_bad_headers(
        audios, names if given else None, lambda a: classifier._load(checked(a), None, channel, track), track
    )  # fmt: skip
    for i, audio in enumerate(audios):  # decoded and scored a group at a time: bounded memory
        try:
            audio = read[i] if i in read else checked(audio)  # the header read once
            clip = classifier._load(audio, sampling_rate, channel, track)
            if require_speech:
                refuse_no_speech(clip, clip_name(audio), classifier.sampling_rate)
            held[i], held_samples = clip, held_samples + len(clip)
        except SERError as err:  # a clip refused after loading is not scored
            results[i] = named_error(err, names[i]) if given else err
            if not return_exceptions:
                at_position(results[i], i, len(audios))
                raise
        if held_samples >= held_s * classifier.sampling_rate or i == len(audios) - 1:
            score_held()
            held.clear()
            held_samples = 0
    if warn:
        warn_long_clips(long, classifier.feature_extractor)
    return results
