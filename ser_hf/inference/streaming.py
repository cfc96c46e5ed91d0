"""Rolling predictions over live microphone chunks (:class:`StreamingClassifier`)."""

from __future__ import annotations

import logging
import math
import os
from typing import Any

import numpy as np

from ..data.audio import (
    _MAX_CHANNELS,
    MIN_SPEECH_S,
    _as_array,
    _rate,
    _to_float,
    _to_mono,
    channel_index,
    resample,
)
from ..data.resampling import StreamResampler
from ..errors import AudioInputError, SERError
from .classifier import SILENCE_DB, SILENCE_LABEL, SILENCE_REL_DB, EmotionClassifier, level_db
from .inputs import warn_if_window_odd
from .levels import NO_SPEECH_LABEL, WINDOW_SPEECH_S, check_min_speech
from .scores import check_top_k

logger = logging.getLogger(__name__)
LOUDEST_MEMORY_S = 30.0  # the relative silence rule compares with the loudest prediction of this long ago
# a chunk longer than this is converted and read by the speech detector this many seconds at a time
STREAM_BLOCK_S = 5.0


class StreamingClassifier:
    """Rolling predictions over the last ``window_s`` seconds of a live stream.

    Push chunks as they arrive (a microphone callback, ``gr.Audio(streaming=True)``): int16/int32
    /uint8 PCM or float, shaped ``(N,)`` or ``(N, channels)``, at any rate. The channels are
    averaged, or ``channel`` keeps one. The raw audio is kept in a ring buffer at the stream's own rate
    and resampled only when a prediction is made, so a prediction's scores equal
    :meth:`EmotionClassifier.classify` on the last ``window_s`` seconds. Whether the window is
    ``"silence"`` or ``"no speech"`` (not classified) is decided as in :meth:`EmotionClassifier.timeline`:
    the speech detector is one state carried through the whole stream from its first sample (at 16 kHz,
    the stream resampled as a whole), as the timeline's reads the whole recording once, so a window's
    speech decision is the timeline's, however the stream was cut into chunks.

    Args:
        classifier: the :class:`EmotionClassifier` (or ONNX variant) to run, or a model name or folder
            (``None``: the default), loaded as ``EmotionClassifier(classifier)``.
        window_s: seconds of audio each prediction looks at.
        update_every_s: :meth:`push` returns a new prediction after this much new audio.
        min_s: no prediction before this many seconds of the stream have arrived (at least 0.1 s: less
            holds no syllable, and is raised to it with a warning); more than ``window_s`` is allowed
            (the first prediction then looks at the last ``window_s`` seconds).
        silence_db: audio whose :func:`level_db` is below this is reported as ``"silence"``.
        silence_rel_db: a window more than this many dB under the loudest window of the last 30 s of
            predictions is ``"silence"`` too (a room's hiss in a pause, as in
            :meth:`EmotionClassifier.timeline`, which compares with the whole recording's loudest;
            a stream knows only its past, and a loud bang is forgotten after 30 s). None: off.
        top_k: labels kept in ``scores``.
        channel: None averages a stereo stream's channels; ``"left"``/``"right"`` or a channel number
            (counted from 0) keeps that one (one side of a call).
        min_speech_s: a window loud enough in which the speech detector (Silero VAD at 16 kHz, each
            update reading only the audio new since the last: 1-3 ms of CPU) finds less than this many
            seconds of speech (or half the window, if less) is ``"no speech"`` (music, a tone, noise), not classified, as in
            :meth:`EmotionClassifier.timeline`. None: the detector is off.
    """

    def __init__(
        self,
        classifier: EmotionClassifier | str | os.PathLike | None,
        window_s: float = 3.0,
        update_every_s: float = 0.5,
        min_s: float = 1.0,
        silence_db: float | None = SILENCE_DB,
        top_k: int | None = None,
        silence_rel_db: float | None = SILENCE_REL_DB,
        channel: int | str | None = None,
        min_speech_s: float | None = WINDOW_SPEECH_S,
    ):
        if not (0 < window_s < math.inf and 0 < update_every_s < math.inf):  # NaN fails too
            raise SERError("window_s and update_every_s must be positive", source="StreamingClassifier")
        if not 0 <= min_s < math.inf or (silence_db is not None and not -math.inf < silence_db < math.inf):
            raise SERError(  # a NaN silence_db turned the silence check off without a word
                "min_s must be 0 or more seconds and silence_db a number of dBFS (None: no silence check)",
                source="StreamingClassifier",
            )
        if silence_rel_db is not None and not 0 < silence_rel_db < math.inf:
            raise SERError(
                "silence_rel_db must be a positive number of dB, or None", source="StreamingClassifier"
            )
        check_min_speech(min_speech_s, "StreamingClassifier")
        if top_k is not None:
            check_top_k(top_k)
        self.channel = channel_index(channel)
        if min_s < MIN_SPEECH_S:  # 20 ms of audio scored angry 0.95, without a word
            logger.warning(
                "StreamingClassifier(min_s=%g): under %g s a window holds no syllable and its scores mean "
                "nothing; predictions start after %g s",
                min_s, MIN_SPEECH_S, MIN_SPEECH_S,
            )  # fmt: skip
            min_s = MIN_SPEECH_S
        if classifier is None or isinstance(classifier, (str, os.PathLike)):  # a model name, as elsewhere
            classifier = EmotionClassifier(classifier)
        if not hasattr(classifier, "classify") or not hasattr(classifier, "feature_extractor"):
            raise SERError(
                f"pass an EmotionClassifier (or a model name or folder), not {type(classifier).__name__}",
                source="StreamingClassifier",
            )
        warn_if_window_odd(
            window_s,
            classifier.feature_extractor,
            f"StreamingClassifier(window_s={window_s:g}, update_every_s={update_every_s:g})",
            update_every_s,
        )
        self.classifier = classifier
        self.window_s = float(window_s)
        self.update_every_s = float(update_every_s)
        self.min_s = float(min_s)  # capped at window_s before: min_s=5 predicted at 3 s without a word
        self.silence_db = silence_db
        self.silence_rel_db = silence_rel_db
        self.top_k = top_k
        self.min_speech_s = min_speech_s
        self.reset()

    def reset(self) -> None:
        """Forget the buffered audio (a new recording starts)."""
        self._buf = np.zeros(0, dtype=np.float32)
        self._rate: int | None = None
        self._seconds = 0.0  # stream time received so far
        self._since_update = 0.0
        self.last_prediction: dict[str, Any] | None = None
        self._levels: list[tuple[float, float]] = []  # (stream time, level) of recent predictions
        self._layout: tuple[bool, int] | None = None  # (channels first, channels) of 2-D chunks so far
        self._speech = None if self.min_speech_s is None else _StreamSpeech(self.window_s)

    @property
    def buffered_seconds(self) -> float:
        """Seconds of audio in the window now (at most ``window_s``)."""
        return 0.0 if not self._rate else min(len(self._buf), self._window_samples(self._rate)) / self._rate

    def _window_samples(self, rate: int) -> int:
        return int(math.ceil(self.window_s * rate))

    def push(self, chunk: Any, sampling_rate: int) -> dict[str, Any] | None:
        """Add a chunk; return a new prediction when ``update_every_s`` of audio arrived since the last.

        Returns:
            ``{"label", "score", "scores", "time", "level_db", "speech_s"}`` (``time``: seconds of stream
            received; ``speech_s``: seconds of speech found in the window, None when not checked) or None
            when it is not time for an update yet.
        """
        rate = _rate(sampling_rate, "stream chunk")
        capacity = self._window_samples(rate)
        x, first, layout, frames = _chunk_frames(chunk, self._layout)
        if not frames:
            return None
        block = max(capacity, int(STREAM_BLOCK_S * rate))
        if self._speech is None:  # of a long chunk only the window's last seconds are converted (10 hours
            # of int16 at once were 2.15 GB of float32 before the ring buffer kept 3 s of them)
            spans = [(frames - capacity if frames > max(capacity, _MAX_CHANNELS) else 0, frames)]
        else:  # the detector reads all of it, a block at a time
            spans = [(a, min(frames, a + block)) for a in range(0, frames, block)]
            if len(spans) > 1:  # every block checked before the detector reads any
                for a, b in spans:
                    _frames_to_mono(x, first, a, b, self.channel)
        samples = _frames_to_mono(x, first, *spans[0], self.channel)
        if self._rate is not None and rate != self._rate and self._buf.size:
            self._buf = resample(self._buf, self._rate, rate)  # the stream changed rate: keep its past
        self._rate, self._layout = rate, layout
        for i, (a, b) in enumerate(spans):
            if i:
                samples = _frames_to_mono(x, first, a, b, self.channel)
            self._buf = np.concatenate([self._buf, samples])[-capacity:]
            if self._speech is not None:
                self._speech.add(samples, rate)
        seconds = frames / rate
        self._seconds += seconds
        self._since_update += seconds
        if self._since_update + 1e-9 < self.update_every_s or self._seconds + 1e-9 < self.min_s:
            return None
        over = self._since_update - self.update_every_s  # counts toward the next update (0.3 s, not 0.25 s,
        rest = over % self.update_every_s if over > 1e-9 else 0.0  # came of 100-ms chunks)
        self._since_update = (
            0.0 if min(rest, self.update_every_s - rest) < 1e-9 else rest
        )  # 0.4 % 0.2 = 0.1999..
        return self.predict()

    def predict(self) -> dict[str, Any] | None:
        """The prediction over the buffered audio now (None before any audio arrived)."""
        if not self._buf.size or self._rate is None:
            return None
        window = self._buf[-self._window_samples(self._rate) :]
        level = level_db(window, self._rate)
        audible = self.silence_db is None or level >= self.silence_db
        speech, no_speech = None, False
        if audible and self._speech is not None and self.min_speech_s is not None:
            speech, holds = self._speech.window(len(window), self._rate, self.min_speech_s)
            no_speech = not holds
        self._levels = [(t, v) for t, v in self._levels if t >= self._seconds - LOUDEST_MEMORY_S]
        if not no_speech:  # a beep or music is no reference for the relative rule, as in a timeline
            self._levels.append((self._seconds, level))
        loudest = max((v for _, v in self._levels), default=level)
        quiet = self.silence_rel_db is not None and level < loudest - self.silence_rel_db
        if not audible or (quiet and not no_speech):
            scores = [{"label": SILENCE_LABEL, "score": 1.0}]
        elif no_speech:
            scores = [{"label": NO_SPEECH_LABEL, "score": 1.0}]
        else:
            scores = self.classifier.classify(  # a long window was warned of once, when the stream began
                {"array": window, "sampling_rate": self._rate}, top_k=self.top_k, warn=False
            )
        self.last_prediction = {
            "label": scores[0]["label"],
            "score": scores[0]["score"],
            "scores": scores,
            "time": round(self._seconds, 3),
            "level_db": round(level, 1),
            "speech_s": None if speech is None else round(speech, 3),
        }
        return self.last_prediction


class _StreamSpeech:
    """The speech detector carried through a stream as a timeline's reads a recording: one
    :class:`~ser_hf.models.speech_detector.SpeechTrack` fed every sample from the first, at 16 kHz (the
    stream resampled as a whole: :class:`~ser_hf.data.resampling.StreamResampler`), reading the samples
    that wait when a window is asked for (or :data:`STREAM_BLOCK_S` of them arrived) and forgetting the
    frames before the window, so an update costs the audio new since the last, however long the stream."""

    def __init__(self, window_s: float) -> None:
        from ..models.speech_detector import FRAME, SAMPLING_RATE, SpeechTrack

        self.track = SpeechTrack()
        self._keep = int(math.ceil(window_s * SAMPLING_RATE)) + 2 * FRAME  # 16-kHz samples a window reads
        self._rate: int | None = None
        self._resampler: StreamResampler | None = None
        self._waiting: list[np.ndarray] = []  # samples at the stream's rate not read yet
        self._waiting_n = 0
        self._fed = 0  # 16-kHz samples the track has read

    def add(self, samples: np.ndarray, rate: int) -> None:
        from ..models.speech_detector import SAMPLING_RATE

        if rate != self._rate:  # the stream's first chunk, or it changed rate: the old rate's part ends
            self._read(final=True)
            self._rate = rate
            self._resampler = None if rate == SAMPLING_RATE else StreamResampler(rate, SAMPLING_RATE)
        self._waiting.append(samples)
        self._waiting_n += len(samples)
        if self._waiting_n >= STREAM_BLOCK_S * rate:
            self._read()

    def _read(self, final: bool = False) -> np.ndarray:
        """Feed the track the samples that wait; the 16-kHz samples after them that the resampler
        cannot settle before more input arrives (its filter reads a few ms ahead), as if the stream ended now."""
        waiting = np.concatenate(self._waiting) if self._waiting else np.zeros(0, np.float32)
        self._waiting, self._waiting_n = [], 0
        if self._resampler is None:
            settled, tail = waiting, waiting[:0]
        else:
            settled, tail = self._resampler.push(waiting, final)
        if settled.size:
            self.track.feed(settled)
            self._fed += len(settled)
            self.track.forget(self._fed - self._keep)
        return tail

    def window(self, window: int, rate: int, min_speech_s: float) -> tuple[float, bool]:
        """Seconds of speech in the stream's last ``window`` samples (at ``rate``), and whether they hold
        enough (``min_speech_s``, or half the window), as a timeline's window ending there."""
        from ..models.speech_detector import SAMPLING_RATE

        tail = self._read()
        track = self.track
        if tail.size:  # the last few ms, read by a copy: they are read again, settled, next time
            track = track.fork()
            track.feed(tail)
        end = self._fed + len(tail)
        start = max(0, end - int(round(window * SAMPLING_RATE / rate)))
        return track.speech_s(start, end), track.holds_speech(start, end, min_speech_s)


def _chunk_frames(
    chunk: Any, layout: tuple[bool, int] | None = None
) -> tuple[np.ndarray, bool | None, tuple[bool, int] | None, int]:
    """int/float PCM ``(N,)``, ``(N, C)`` (or ``(C, N)`` with few channels), checked, as an array, whether
    its channels come first (None: not 2-D), the layout and its count of frames; read as
    :func:`ser_hf.data.audio.load_audio` reads arrays (a list of Python ints, 64-bit, is refused: its PCM
    width is unknown). ``layout`` (channels first, channels), learnt from the stream's earlier 2-D
    chunks, reads a chunk of one or two frames, whose shape alone is ambiguous (a ``(1, 2)`` stereo frame
    was read as two samples). :func:`_frames_to_mono` converts a stretch of its frames."""
    if isinstance(chunk, (bytes, bytearray, memoryview)):  # what PyAudio's callback hands over
        raise SERError(
            "raw bytes are not samples: decode them first, e.g. np.frombuffer(data, np.int16) for 16-bit "
            "mono PCM, np.frombuffer(data, np.int16).reshape(-1, channels) for interleaved stereo or more "
            "channels (np.float32 for paFloat32)",
            source="stream chunk",
        )
    x = _as_array(chunk, "stream chunk")
    if x.size == 0 and x.ndim <= 2:  # a (0, channels) block from a device callback, as an empty one
        return x, None, layout, 0
    if x.dtype.kind not in "fiub":
        raise SERError(f"audio chunk of type {x.dtype} is not PCM samples", source="stream chunk")
    first = None  # 1-D, or not 2-D (refused by _to_mono)
    if x.ndim == 2:
        rows, cols = x.shape
        if layout is not None and (cols if not layout[0] else rows) == layout[1]:
            first = layout[0]
        else:
            first = rows < cols and rows <= _MAX_CHANNELS
        if max(rows, cols) > _MAX_CHANNELS:  # more frames than any channel count: a layout to keep
            layout = (first, rows if first else cols)
    frames = x.shape[1 if first else 0] if x.ndim in (1, 2) else x.size
    return x, first, layout, frames


def _frames_to_mono(
    x: np.ndarray, first: bool | None, start: int, stop: int, channel: int | None
) -> np.ndarray:
    """Frames ``[start, stop)`` of the chunk ``x`` (:func:`_chunk_frames`) as float32 mono: only they are
    converted (a view of the rest is never copied)."""
    frames = x.shape[1 if first else 0] if x.ndim in (1, 2) else x.size
    if x.ndim in (1, 2) and (start, stop) != (0, frames) and frames > _MAX_CHANNELS:
        x = x[..., start:stop] if first else x[start:stop]
    x = _to_mono(_to_float(x, "stream chunk"), "stream chunk", channels_first=first, channel=channel)
    if not np.isfinite(x).all():
        raise AudioInputError("audio chunk contains NaN or infinite samples", source="stream chunk")
    return x


# ================================================================================= helpers
