"""What the classifier checks about what it is given: a list where a list is due, how messages name
a clip, and the decoded clips it warns about (silent, too short, longer than the model reads)."""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..data.audio import (
    MIN_SPEECH_S,
    UNKNOWN_FRAMES,
    audio_info,
    load_audio,
    refuse_single,
    url_scheme,
)
from ..data.chunks import decoder_chunks, iter_audio_chunks
from ..data.download import fetch_url
from ..data.resampling import MAX_RATE, MIN_RATE, resample
from ..data.samples import _rate, milliseconds
from ..data.source_kinds import _describe, is_file_object, resolve_stream
from ..errors import AudioTooLongError, NoSpeechError, SERError
from ..models.configuration_ser import FUNCTIONAL_BLOCKS
from ..models.feature_extraction_functionals import TURN_BLOCKS
from ..models.speech_detector import SAMPLING_RATE, SpeechTrack
from ..models.turn_encoder import WINDOW_SAMPLES
from .clip_rows import audio_column, named_items, readable_items
from .levels import SILENCE_DB, level_db, warn_about_noise

logger = logging.getLogger(__name__)


def clip_name(audio: Any) -> str:
    """How messages name a clip, as :func:`~ser_hf.data.audio.load_audio`'s errors do: its path (an
    open file's name), else what it is (``<32000 bytes of audio>``, ``<pipe>``, ``<ndarray of shape (16000,)>``)."""
    if isinstance(audio, (_ReadFile, _Decoded, _Checked)):  # read, checked or decoded by refuse_overlong
        return audio.name
    return _describe(audio)


def named_error(err: SERError, name: str) -> SERError:
    """``err``, raised while reading a clip, named as the caller calls that clip (``names=`` of
    ``classify_batch``: a request id): its message and ``source`` start with ``name``, followed by the
    clip's path in brackets when the error named a path other than ``name`` (``req-1 (bad.wav)``).
    Changed in place, so its class and traceback stay."""
    old = err.source
    if old == name:
        return err
    text = str(err)
    reason = text[len(old) + 2 :] if old and text.startswith(f"{old}: ") else text
    # (a name that holds the path already, a datasets row's: ``row 3 of the 'audio' column (path 'x.wav')``)
    err.source = f"{name} ({old})" if old and not old.startswith("<") and old not in name else name
    err.args = (f"{err.source}: {reason}",)
    return err


_TOLD_RATE: weakref.WeakSet[Any] = weakref.WeakSet()  # the classifiers that warned of an assumed rate


def assumed_rate(classifier: Any, rate: int | None) -> int:
    """``rate``, or for samples given without one the classifier's own rate (the stock pipeline's
    convention), with a warning once per classifier: 44.1-kHz samples read as 16 kHz are scored wrong
    (``angry`` 0.87 became ``neutral`` 0.72) without an error, where ``load_audio`` refuses them."""
    if rate is not None:
        return rate
    if classifier not in _TOLD_RATE:
        _TOLD_RATE.add(classifier)
        logger.warning(
            "samples given without their sampling rate are taken to be at the model's %d Hz; pass "
            "sampling_rate=... (or an {'array', 'sampling_rate'} dict) when they are not (said once)",
            classifier.sampling_rate,
        )
    return classifier.sampling_rate


def clip_list(items: Iterable[Any], what: str, single: str) -> list[Any]:
    """``items`` as a list (a generator is read once), after :func:`refuse_single`; a ``datasets``
    column's row that it cannot decode as stored, a failing iterator a SERError (:func:`readable_items`)."""
    refuse_single(items, what, single)
    return list(readable_items(items, what))


def named_clip_list(items: Iterable[Any], what: str, single: str) -> tuple[list[Any], list[str] | None]:
    """:func:`clip_list` of clips, with the name of each when they are the rows of a ``datasets``
    column or dataset (``row 17 of the 'audio' column (path 'x.wav')``: :func:`named_items`), else None."""
    items = audio_column(items, what)  # a whole Dataset: its audio column (its shape is no clip's)
    refuse_single(items, what, single)
    named = list(named_items(items, what))
    names = [name for _, name in named]
    return [item for item, _ in named], names if names and None not in names else None


def reads_seconds(feature_extractor: Any) -> float | None:
    """The most of a clip (its LAST seconds, trimmed) a model reads: the turn encoder's 8-s window
    when its feature set has a turn-encoder block, else None (the whole clip)."""
    fe = getattr(feature_extractor, "extractor", feature_extractor)  # the ONNX route's TurnEncoderInputs
    blocks = FUNCTIONAL_BLOCKS.get(getattr(fe, "functionals", None) or "", ())
    return WINDOW_SAMPLES / 16000 if any(b in TURN_BLOCKS for b in blocks) else None


def no_speech(clip: np.ndarray, rate: int) -> str | None:
    """Why ``clip`` (at ``rate``) holds no speech to score, or None: shorter than ``MIN_SPEECH_S``, or no
    50 ms above ``SILENCE_DB`` (``timeline`` labels such windows ``"silence"``). The level and length
    alone: music or noise passes (the speech detector runs in ``timeline``, on windows)."""
    if len(clip) < MIN_SPEECH_S * rate:  # first: a 1-sample clip measured "-240 dBFS, check the level"
        # the length in ms only: ``clip`` is resampled (3 samples at 48 kHz were "1 sample")
        return f"is {milliseconds(len(clip) / rate)} long, too short to hold speech"
    level = level_db(clip, rate)
    if level < SILENCE_DB:
        return f"holds no speech (loudest 50 ms at {_below(level, SILENCE_DB)} dBFS, below {SILENCE_DB:g})"
    return None


def _below(level: float, limit: float) -> str:
    """``level`` to the fewest decimals that still read below ``limit`` (-55.42 dBFS under -55 was
    "at -55 dBFS, below -55"): whole dB when that does."""
    for decimals in range(4):
        if float(text := f"{level:.{decimals}f}") < limit:
            return text
    return f"{level:.6f}"


def refuse_no_speech(clip: np.ndarray, name: str, rate: int) -> None:
    """``classify(..., require_speech=True)``: a :class:`NoSpeechError` naming ``name`` when
    :func:`no_speech` gives a reason, or when no 32-ms frame of it reaches :data:`NO_SPEECH_PEAK` by the
    speech detector (white noise, a steady tone: the level rules alone let them through to an emotion)."""
    if reason := no_speech(clip, rate):
        raise NoSpeechError(
            f"{reason}, so it has no emotion to score; check the recording or the file", source=name
        )
    if (peak := speech_peak(clip, rate)) < NO_SPEECH_PEAK:
        raise NoSpeechError(
            f"holds no speech by the speech detector (its most speech-like 32 ms at probability {peak:.2f}, "
            f"under {NO_SPEECH_PEAK:g}: noise or a tone?), so it has no emotion to score; check the recording "
            "or the file",
            source=name,
        )


# No frame of any of the 4,238 RAVDESS and TESS clips stays under 0.21 (high-arousal shouting is where the
# detector is least sure: 12 RAVDESS clips hold under 0.1 s of frames over its 0.5 threshold, so that
# threshold would refuse them), nor under 0.57 with white noise added at 0 dB SNR (every fourth clip); white and pink noise,
# tones and clicks stay under 0.05 (session 49); a chord reached 0.13 (music is still scored)
NO_SPEECH_PEAK = 0.1


def speech_peak(clip: np.ndarray, rate: int) -> float:
    """The highest speech probability the speech detector (:mod:`ser_hf.models.speech_detector`, the one
    ``timeline`` uses) gives a 32-ms frame of ``clip`` (at ``rate``; resampled to its 16 kHz), read half
    a second at a time and no further once a frame reaches :data:`NO_SPEECH_PEAK` (speech: as soon as
    the words start; noise is read to its end)."""
    wave = clip if rate == SAMPLING_RATE else resample(clip, rate, SAMPLING_RATE)
    track = SpeechTrack()
    for start in range(0, len(wave), SAMPLING_RATE // 2):
        track.feed(wave[start : start + SAMPLING_RATE // 2])
        if track.peak >= NO_SPEECH_PEAK:
            return track.peak
    track.finish()
    return track.peak


def warn_about_clips(
    clips: Sequence[np.ndarray],
    names: Sequence[str],
    rate: int,
    feature_extractor: Any,
    long: list[tuple[str, float]] | None = None,
) -> None:
    """The warnings ``classify`` gives before scoring (the model still scores every clip): no speech to
    score (:func:`no_speech`: silent or too short; or a steady tone, mains hum or a test tone, in which the
    speech detector finds no speech), speech too noisy for the model (its speech-to-noise estimate under
    :data:`~ser_hf.inference.levels.NOISY_SNR_DB`: :func:`~ser_hf.inference.levels.warn_if_noisy`), a steady tone
    about as loud as the speech (:func:`~ser_hf.inference.levels.warn_if_tone`),
    or longer than the model reads (:func:`reads_seconds`; use ``timeline``): said here, or, given a
    ``long`` list, added to it (name, seconds) for one :func:`warn_long_clips` over a whole batch."""
    limit = reads_seconds(feature_extractor)
    found: list[tuple[str, float]] = [] if long is None else long
    for clip, name in zip(clips, names):
        if reason := no_speech(clip, rate):
            fix = "" if "too short" in reason else "; check the recording level or the file"
            logger.warning("%s %s: its emotion scores mean nothing%s", name, reason, fix)
        else:
            warn_about_noise(clip, name, rate)
        if limit and len(clip) > (limit + 1.0) * rate:  # trimming takes silence off both ends first
            found.append((name, len(clip) / rate))
    if long is None:
        warn_long_clips(found, feature_extractor)


def warn_long_clips(long: Sequence[tuple[str, float]], feature_extractor: Any) -> None:
    """One warning for the clips (name, seconds) longer than the model reads (:func:`reads_seconds`):
    the clip and its length, or for a batch the count and the first three (20 long files of a batch
    were 20 warnings)."""
    limit = reads_seconds(feature_extractor)
    if not long or not limit:
        return
    if len(long) == 1:
        logger.warning(
            "%s is %.0f s long; this model reads only about its last %g s of speech: use "
            "timeline() (ser-hf predict does) for a recording longer than that",
            long[0][0],
            long[0][1],
            limit,
        )
        return
    shown = ", ".join(f"{name} ({seconds:.0f} s)" for name, seconds in long[:3])
    logger.warning(
        "%d clips are longer than this model reads: %s%s; it reads only about its last %g s of speech "
        "of each: use timeline() (ser-hf predict does) for recordings longer than that",
        len(long),
        shown,
        f" and {len(long) - 3} more" if len(long) > 3 else "",
        limit,
    )


# classify() decodes a clip whole and a turn-encoder model scores its last 8 s: a file longer than this
# (its header says; 230 MB at 16 kHz, several GB at its own rate while decoding) is refused
CLASSIFY_MAX_S = 3600.0


class _ReadFile:
    """What a file object's one ``read()`` gave (its bytes, or the error it raised), handed on to
    ``load_audio`` under the file object's name: a stream that cannot seek back is read once, as
    ``load_audio`` reads it, and every message names it as before."""

    def __init__(self, source: Any):
        self.name = _describe(source)
        try:
            self.data, self.error = source.read(), None
        except Exception as err:  # a text-mode or closed file: load_audio says what, as before
            self.data, self.error = None, err

    def read(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.data


class _Decoded:
    """A clip whose header did not give its length, decoded by :func:`refuse_overlong` within the
    limit: its mono ``samples`` at ``rate`` (of the channel and track asked for), under its ``name``."""

    def __init__(self, samples: np.ndarray, rate: int, name: str, file_rate: int | None = None):
        self.samples, self.rate, self.name, self.file_rate = samples, rate, name, file_rate


class _Checked:
    """Encoded audio whose header :func:`refuse_overlong` read (a length within the limit, or a header
    that does not tell): ``source`` as ``load_audio`` is to read it, under its ``name``, with the rate
    that header gave (``file_rate``, None where none), handed on so :func:`warn_rate_ignored` does not
    read the header again."""

    def __init__(self, source: Any, file_rate: int | None):
        self.source, self.name, self.file_rate = source, clip_name(source), file_rate


def load_clip(classifier: Any, audio: Any, sampling_rate: int | None, channel: Any, track: Any) -> np.ndarray:
    """``classifier``'s reading of any input: float32 mono (its channels averaged, or ``channel``; of its
    audio ``track``) at the model's rate; a bare array or tensor is taken to be at ``sampling_rate``,
    else the model's rate (:func:`assumed_rate`); what :func:`refuse_overlong` decoded, as it is."""
    rate = classifier.sampling_rate
    if sampling_rate is not None:
        warn_rate_ignored(audio, sampling_rate, track)
    if isinstance(audio, _Checked):
        audio = audio.source
    if isinstance(audio, _Decoded):  # checked (empty, NaN) and named as load_audio does
        return load_audio({"array": audio.samples, "sampling_rate": audio.rate, "path": audio.name}, rate)
    if isinstance(audio, (np.ndarray, list)) or (hasattr(audio, "detach") and hasattr(audio, "cpu")):
        source_rate = assumed_rate(classifier, sampling_rate)  # with a warning, once
        return load_audio(audio, rate, source_rate=source_rate, channel=channel, track=track)
    return load_audio(audio, rate, channel=channel, track=track)


def warn_rate_ignored(audio: Any, sampling_rate: int, track: Any = None) -> None:
    """A warning when ``sampling_rate`` was given with encoded audio (a file, bytes, a file object)
    whose header gives another rate: it is not used (``classify(webm_bytes, sampling_rate=8000)`` read
    the file at its own 48 kHz without a word); none when the rates agree, or for samples in memory.
    After :func:`refuse_overlong`, the rate its header read gave (the header is read once)."""
    if isinstance(audio, (_Decoded, _Checked)):
        file_rate = audio.file_rate
    elif (carried := _carried_rate(audio)) is not None:  # (rate, samples) or {"array", "sampling_rate"}
        if carried != _given_rate(sampling_rate):
            logger.warning(
                "%s: sampling_rate=%s is ignored: these samples come with their own rate, %d Hz, and are "
                "read at it",
                clip_name(audio), sampling_rate, carried,
            )  # fmt: skip
        return
    elif (encoded := _encoded(audio)) is None:
        return
    else:
        try:
            file_rate = audio_info(encoded, track)[1]
        except SERError:  # not audio, a track it lacks: decoding says what
            return
    if file_rate and file_rate != sampling_rate:
        logger.warning(
            "%s: sampling_rate=%s is ignored: encoded audio (a file, bytes, a file object) carries its own "
            "rate, %d Hz here, and is read at it; sampling_rate= is the rate of bare samples (an array)",
            clip_name(audio),
            sampling_rate,
            file_rate,
        )


def _carried_rate(audio: Any) -> int | None:
    """The rate samples in memory come with (gradio's ``(rate, samples)`` or its reverse, a datasets
    ``{"array", "sampling_rate"}`` dict), or None (bare samples, encoded audio, an unreadable rate)."""
    rate: Any = None
    if isinstance(audio, tuple) and len(audio) == 2 and np.isscalar(audio[0]) != np.isscalar(audio[1]):
        rate = audio[0] if np.isscalar(audio[0]) else audio[1]
    elif isinstance(audio, dict) and audio.get("array", audio.get("raw")) is not None:
        rate = audio.get("sampling_rate")
    return _given_rate(rate)


def _given_rate(rate: Any) -> int | None:
    """``rate`` read as ``load_audio`` reads a user's rate (``"16000"``, ``16000.0``), or None where it
    reads none (decoding then says why)."""
    try:
        return None if rate is None else _rate(rate, "")
    except SERError:
        return None


def _fetched(audio: Any) -> Any:
    """``audio``, an http(s) address (or a dict of one) fetched once, as ``{"path", "bytes"}``."""
    location = audio
    if isinstance(audio, dict) and all(audio.get(k) is None for k in ("array", "raw", "bytes")):
        location = audio.get("path")  # as load_audio reads a dict: samples, else bytes, else its path
    if isinstance(location, (str, os.PathLike)) and url_scheme(location) in ("http", "https"):
        return {"path": os.fspath(location), "bytes": fetch_url(os.fspath(location))}
    return audio


def _encoded(audio: Any) -> Any:
    """The encoded audio in ``audio`` that headers and chunks are read from: a local path, bytes (of a
    dict too, or what a file object gave :func:`refuse_overlong`), an open file; None for samples in
    memory, an ``AudioDecoder``, an address not fetched and what ``load_audio`` refuses (it says why)."""
    if isinstance(audio, _ReadFile):
        audio = audio.data if isinstance(audio.data, (bytes, bytearray, memoryview)) else None
    if isinstance(audio, dict):
        if audio.get("array", audio.get("raw")) is not None:
            return None
        if audio.get("bytes") is not None:  # bytes, or what load_audio refuses ({"bytes": "text"})
            return audio["bytes"] if isinstance(audio["bytes"], (bytes, bytearray, memoryview)) else None
        audio = audio.get("path")
        if not isinstance(audio, (str, os.PathLike)):
            return None
    if isinstance(audio, (str, os.PathLike)):
        return audio if os.fspath(audio) and url_scheme(audio) is None else None
    return audio if isinstance(audio, (bytes, bytearray, memoryview)) or is_file_object(audio) else None


def recording_chunks(
    audio: Any,
    load: Callable[[Any], np.ndarray],
    chunk_s: float,
    window_s: float,
    rate: int,
    channel: Any,
    track: Any,
) -> Iterable[np.ndarray]:
    """What ``timeline`` classifies, chunk by chunk: encoded audio (a path, bytes, a ``{"bytes"}`` or
    ``{"path"}`` dict, an open file or ``io.BytesIO``, an http(s) address fetched once) decoded
    ``chunk_s`` seconds (two windows at least) at a time, so memory stays bounded however long it
    is; an ``AudioDecoder`` read so too, by time range (it was decoded whole); samples in memory (an
    array), as ``load`` gives them, cut so."""
    encoded = _encoded(audio := _fetched(audio))
    chunk = max(chunk_s, 2 * window_s)
    if encoded is not None:
        return iter_audio_chunks(encoded, chunk, rate, channel, track, name=clip_name(audio))
    if hasattr(audio, "get_samples_played_in_range"):  # torchcodec / datasets AudioDecoder
        return decoder_chunks(audio, chunk, rate, channel, track, name=clip_name(audio))
    samples = load(audio)
    step = max(round(window_s * rate), int(chunk_s * rate))
    return (samples[i : i + step] for i in range(0, len(samples), step))


def refuse_overlong(
    audio: Any, what: str = "classify()", *, rate: int = 16000, channel: Any = None, track: Any = None
) -> Any:
    """``audio`` as ``what`` is to decode it, after an :class:`AudioTooLongError` when its header gives
    more than :data:`CLASSIFY_MAX_S` seconds on its audio ``track`` (a 235-KB FLAC held 10 hours of
    silence: 4.3 GB to classify): a local file, encoded bytes (a web upload), an open file or
    ``io.BytesIO`` (read here, once, and handed on as what it held), the path of a pipe (a FIFO,
    ``/dev/stdin``: likewise), an http(s) address (fetched here, once) or an ``AudioDecoder``. A header
    that does not give the length (a FLAC written to a pipe, a browser's WebM) is decoded here, at
    ``rate`` (its ``channel``), up to the limit and no further. Samples in memory, or a header that does
    not tell (missing, not audio), are left to decoding. Encoded audio is handed on with the rate its
    header gave (:class:`_Checked`, :class:`_Decoded`)."""
    name = _describe(audio)
    audio = _fetched(audio)
    if is_file_object(audio) and not isinstance(audio, _ReadFile):
        audio = _ReadFile(audio)
    elif isinstance(location := _encoded(audio), (str, os.PathLike)):
        if isinstance(piped := resolve_stream(location), bytes):  # its bytes, as a file object's are
            audio = {"bytes": piped, "path": name}
    seconds, known, file_rate = _header_seconds(audio, track)
    if seconds is not None and seconds > CLASSIFY_MAX_S:
        raise _too_long(f"lasts {seconds / 60:.1f} minutes ({seconds:.0f} s)", what, name)
    if not known:  # decoded here in chunks, and no further than the limit
        decoded = _decoded_within_limit(audio, what, name, rate, channel, track)
        decoded.file_rate = file_rate
        return decoded
    return _Checked(audio, file_rate) if _encoded(audio) is not None else audio


def _decoded_within_limit(audio: Any, what: str, name: str, rate: int, channel: Any, track: Any) -> _Decoded:
    """``audio``, whose header does not give its length, decoded a minute at a time: an
    :class:`AudioTooLongError` as soon as it passes :data:`CLASSIFY_MAX_S` (a 10-hour FLAC written to a
    pipe was decoded whole first), else its samples."""
    samples = decoded_within(_encoded(audio), CLASSIFY_MAX_S, rate, channel, track, name=clip_name(audio))
    if samples is None:
        header = "its header does not give its length; decoding stopped there"
        raise _too_long(f"lasts more than {CLASSIFY_MAX_S / 60:g} minutes ({header})", what, name)
    return _Decoded(samples, rate, clip_name(audio))


def _too_long(length: str, what: str, name: str) -> AudioTooLongError:
    use = (
        "use timeline() or `ser-hf predict`, which read a long recording in chunks and classify it "
        "window by window"
        if what == "classify()"
        else "cut it into shorter files"
    )
    return AudioTooLongError(
        f"{length}, more than the {CLASSIFY_MAX_S / 60:g} minutes {what} decodes whole (a model reads one "
        f"clip; the turn encoder its last 8 s): {use}",
        source=name,
    )


def _header_seconds(audio: Any, track: Any = None) -> tuple[float | None, bool, int | None]:
    """(the seconds that the header of a local file or of encoded bytes gives on its audio ``track``,
    or an ``AudioDecoder``'s metadata; whether that header gives its length): None for samples in
    memory and for what does not tell (missing, not audio: decoding says what), not known for a header
    read that gives no length (0 s: a browser's WebM; libsndfile's 2**63 - 1 frames: a FLAC written to
    a pipe, once refused as lasting 10**10 minutes); the rate it gives, None where it is not read)."""
    if hasattr(audio, "get_all_samples"):  # torchcodec / datasets AudioDecoder
        meta = getattr(audio, "metadata", None)
        seconds = getattr(meta, "duration_seconds", None) or getattr(
            meta, "duration_seconds_from_header", None
        )
        return (float(seconds) if seconds else None), True, None
    encoded = _encoded(audio)
    if encoded is None:
        return None, True, None
    try:
        seconds, rate, _ = audio_info(encoded, track)
    except SERError:  # missing, not audio, a track it lacks: load_audio says precisely what
        return None, True, None
    if rate and not MIN_RATE <= rate <= MAX_RATE:  # a damaged header (a WAV's rate of 1 Hz gave 15 hours
        return None, True, None  # to a 3-s clip, "too long"): decoding says it is damaged
    if not seconds or rate and seconds * rate >= UNKNOWN_FRAMES:
        return None, False, rate or None
    return seconds, True, rate or None


def length_unknown(seconds: float, rate: int) -> bool:
    """Whether ``audio_info``'s ``(seconds, rate)`` gives no length: 0 s (a browser's WebM, a Matroska
    written to a pipe) or libsndfile's 2**63 - 1 frames (a FLAC written to a pipe)."""
    return not seconds or bool(rate) and seconds * rate >= UNKNOWN_FRAMES


def decoded_within(
    source: Any, seconds: float, rate: int, channel: Any = None, track: Any = None, *, name: str | None = None
) -> np.ndarray | None:
    """The whole audio of ``source`` (its samples at ``rate``) when it lasts ``seconds`` or less, else
    None, decoding at most a minute past ``seconds``: how long a recording whose header gives no length
    is (``predict``), or whether it is within the one-hour limit, without decoding hours of it."""
    held, total, limit = [], 0, round(seconds * rate)
    for chunk in iter_audio_chunks(source, min(max(seconds, 1.0), 60.0), rate, channel, track, name=name):
        held.append(chunk)
        total += len(chunk)
        if total > limit:
            return None
    return np.concatenate(held) if held else np.zeros(0, np.float32)


SHORT_WINDOW_S = 1.0  # under this, a window holds too little speech for a stable emotion score
DENSE_HOP_S = 0.1  # under this, windows come faster than a timeline can show and cost a model call each


def warn_if_window_odd(
    window_s: float, feature_extractor: Any, name: str, hop_s: float | None = None, sampling_rate: int = 16000
) -> None:
    """Warn of window / hop lengths that waste work or mislead: a window longer than the model reads
    (scored on its last seconds only), one too short to hold an emotion, a hop longer than the window
    (audio skipped) or so short that each second of audio costs many model calls (counted on the hop
    as run: a whole number of samples, at least one)."""
    limit = reads_seconds(feature_extractor)
    if limit and window_s > limit + 1.0:
        logger.warning(
            "%s: each %g-s window is scored on about its last %g s only (the model's window); use a "
            "window of %g s or less",
            name,
            window_s,
            limit,
            limit,
        )
    if window_s < SHORT_WINDOW_S:
        logger.warning(
            "%s: %g-s windows hold too little speech for a stable emotion score (the models learn from "
            "whole utterances of 1.5-5 s); use a window of %g s or more",
            name,
            window_s,
            SHORT_WINDOW_S,
        )
    if hop_s is not None and hop_s > window_s:
        logger.warning(
            "%s: the hop (%g s) is longer than the window (%g s): the audio between windows is skipped",
            name,
            hop_s,
            window_s,
        )
    elif hop_s is not None and hop_s < DENSE_HOP_S:
        run_s = max(1, round(hop_s * sampling_rate)) / sampling_rate  # --hop 1e-9 runs a one-sample hop
        logger.warning(
            "%s: a hop of %g s%s runs the model %d times per second of audio (%d per minute); a hop of "
            "%g s or more shows the same changes at a fraction of the cost",
            name,
            hop_s,
            "" if abs(run_s - hop_s) < 1e-9 else f" (rounded to {run_s:g} s, a whole number of samples)",
            round(1 / run_s),
            round(60 / run_s),
            DENSE_HOP_S,
        )
