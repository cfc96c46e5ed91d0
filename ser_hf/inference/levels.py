"""Speech-activity levels: which windows of a recording hold speech worth classifying, and how far
the speech stands above the noise (:class:`NoiseMeter`).

numpy only, so the command line can show these defaults without loading the models.
"""

from __future__ import annotations

import logging
import math
import numbers

import numpy as np

logger = logging.getLogger(__name__)

DEFAULT_SAMPLING_RATE = 16000
SILENCE_LABEL = "silence"
NO_SPEECH_LABEL = "no speech"  # a timeline window that is loud enough but holds no speech (music, noise)
NOT_CLASSIFIED = (SILENCE_LABEL, NO_SPEECH_LABEL)  # the labels of windows the model did not run on
_EPS = 1e-12
_BLOCK_SAMPLES = 1 << 20  # level_db's float64 working copy: 8 MB
SILENT_DB = -240.0  # the level reported for digital silence (log of zero)
# Defaults of silence skipping: a window whose loudest 50 ms is below -55 dBFS, or more than 40 dB
# below the loudest window of the recording, holds no speech worth classifying.
SILENCE_DB = -55.0
SILENCE_REL_DB = 40.0
# one rule for ser-hf predict and the demo: a recording gets a per-window timeline when it holds at
# least 1.5 windows (6 s with the default 4-s window); shorter clips are one clip, one label
TIMELINE_MIN_WINDOWS = 1.5
# a timeline window in which the speech detector finds less speech than this (seconds; or less than
# half the window, when the window is shorter than twice this) is labelled "no speech", not classified
WINDOW_SPEECH_S = 0.25
# The speech-to-noise estimate (NoiseMeter): 20-ms frames; a piece's speech level is the 95th percentile
# of its frame levels, the noise floor the 5th percentile of all frames of the recording (frames under
# -90 dBFS, digital silence or dither, are no noise); a clip's estimate is its speech level less the
# floor, a recording's the 25th percentile of its classified windows' (its noisiest quarter of speech).
# Under NOISY_SNR_DB a clip or recording gets a warning (benchmarks/bench_snr_warning.py, session 43:
# none of the 4,238 clean RAVDESS and TESS clips, lowest 18.2 and 15.5 dB; every clip under white noise at 0 dB SNR).
SNR_FRAME_S = 0.02
SNR_SPEECH_PERCENTILE = 95.0
SNR_NOISE_PERCENTILE = 5.0
SNR_WINDOWS_PERCENTILE = 25.0
SNR_FLOOR_DBFS = -90.0
SNR_MIN_FRAMES = 10  # a piece with fewer frames above -90 dBFS than this (0.2 s) has no speech level
NOISY_SNR_DB = 13.0
NOISY_MEANING = (
    "labels on speech this noisy drift toward fearful and disgust (measured, session 43: of 200 RAVDESS and "
    "TESS clips under white noise at 0 dB SNR 115 kept their clean label, 68 came out fearful; a call under "
    "steady line noise had 0.32 of its customer's windows right, 0.85 clean)"
)


def wants_timeline(duration_s: float, window_s: float) -> bool:
    """Whether a recording of ``duration_s`` seconds gets a timeline of ``window_s``-second windows."""
    return duration_s >= TIMELINE_MIN_WINDOWS * window_s


def level_db(samples: np.ndarray, sampling_rate: int = DEFAULT_SAMPLING_RATE, frame_s: float = 0.05) -> float:
    """Speech-activity level: RMS of the loudest ``frame_s`` frame, in dB relative to full scale.

    The loudest short frame, not the mean over the whole window, because speech is bursty: a calm,
    quietly recorded sentence (RAVDESS "calm" clips average about -52 dBFS) still has frames far
    above a room's noise floor, while a pause has none. A full-scale sine gives about -3 dB. The
    samples' mean (a microphone's DC offset, which is no sound) is removed first.
    """
    x = np.asarray(samples)
    if x.dtype.kind not in "fiu":
        x = x.astype(np.float64)
    if x.size == 0:
        return SILENT_DB
    # a block of frames at a time in float64: a float64 copy of a 10-hour clip was 4.3 GB
    mean = float(np.mean(x, dtype=np.float64))
    n = max(1, int(frame_s * sampling_rate))
    usable = (x.size // n) * n
    if not usable:  # shorter than a frame: one frame of what there is
        n = usable = x.size
    block = n * max(1, _BLOCK_SAMPLES // n)
    power = 0.0
    for start in range(0, usable, block):
        frames = x[start : min(start + block, usable)].astype(np.float64) - mean
        power = max(power, float(np.square(frames).reshape(-1, n).mean(axis=1).max()))
    return max(SILENT_DB, 20.0 * math.log10(max(math.sqrt(power), _EPS)))


def check_min_speech(min_speech_s: object, source: str) -> None:
    """Raise a :class:`~ser_hf.errors.SERError` naming ``source`` unless ``min_speech_s`` is None or a
    number of seconds, 0 or more (``"abc"`` was a bare TypeError, NaN turned the check off)."""
    from ..errors import SERError

    if min_speech_s is None:
        return
    ok = isinstance(min_speech_s, numbers.Real) and not isinstance(min_speech_s, bool)  # np.float32 too
    if not ok or not 0 <= min_speech_s < math.inf:  # type: ignore[operator]
        raise SERError(f"min_speech_s ({min_speech_s!r}) must be 0 or more seconds, or None", source=source)


_SNR_BIN_DB = 0.1  # the noise floor's histogram: 0.1-dB bins from -90 dBFS (louder than 0 dBFS: the top bin)
_SNR_BINS = int(round(-SNR_FLOOR_DBFS / _SNR_BIN_DB)) + 1


class NoiseMeter:
    """A speech-to-noise ratio estimate of a clip, or of a recording given window by window, in little memory.

    :meth:`add` takes samples (a clip, or a timeline's windows as they pass) and counts the levels of
    their :data:`SNR_FRAME_S` frames (each frame's mean removed: a DC offset is no sound; frames under
    -90 dBFS, digital silence, left out) in a histogram of 0.1-dB bins: the noise floor is their 5th
    percentile (the quiet between words). A piece the model scores (``scored=True``) also gets a speech
    level, the 95th percentile of its own frames (its loudest speech). :meth:`snr_db` is the 25th
    percentile of the scored pieces' speech levels less the floor: for one clip, its speech over its
    floor (25-55 dB for clean RAVDESS and TESS clips; 5-10 under white noise at 0 dB SNR); for a
    recording, the noisiest quarter of its speech (a call whose quiet turns drown in line noise while
    its loud ones do not). A cheap estimate, not a measurement: steady noise (hiss, a line, a fan) is
    what it sees best; noise that comes and goes as speech does (other voices) partly reads as speech.
    """

    def __init__(self, sampling_rate: int = DEFAULT_SAMPLING_RATE) -> None:
        self.frame = max(1, int(round(SNR_FRAME_S * sampling_rate)))
        self.counts = np.zeros(_SNR_BINS, np.int64)
        self.speech: list[float] = []  # the speech level (dBFS) of each scored piece that has one

    def add(self, samples: np.ndarray, scored: bool = True) -> float | None:
        """Count ``samples``' frames; for a scored piece, return its speech level in dBFS (None when it
        has fewer than :data:`SNR_MIN_FRAMES` frames above -90 dBFS, or when not scored)."""
        x = np.asarray(samples)
        n = self.frame
        usable = (x.size // n) * n
        if x.ndim != 1 or not usable:
            return None
        step = n * max(1, _BLOCK_SAMPLES // n)
        levels = []
        for start in range(0, usable, step):  # a block at a time in float64, as level_db
            frames = x[start : min(start + step, usable)].astype(np.float64).reshape(-1, n)
            # each frame's own mean removed (a DC offset is no sound; digital silence stays silence)
            power = np.square(frames).mean(axis=1) - np.square(frames.mean(axis=1))
            db = 10.0 * np.log10(np.maximum(power, 1e-30))
            levels.append(db[db >= SNR_FLOOR_DBFS].astype(np.float32))
        db = np.concatenate(levels)
        bins = np.minimum(((db - SNR_FLOOR_DBFS) / _SNR_BIN_DB).astype(np.int64), _SNR_BINS - 1)
        self.counts += np.bincount(bins, minlength=_SNR_BINS)
        if not scored or db.size < SNR_MIN_FRAMES:
            return None
        speech = float(np.percentile(db, SNR_SPEECH_PERCENTILE))
        self.speech.append(speech)
        return speech

    def floor_db(self) -> float | None:
        """The noise floor in dBFS (the 5th percentile of every frame above -90 dBFS), None before any."""
        if not self.counts.any():
            return None
        cumulative = np.cumsum(self.counts)
        i = int(np.searchsorted(cumulative, SNR_NOISE_PERCENTILE / 100.0 * cumulative[-1]))
        return SNR_FLOOR_DBFS + (min(i, _SNR_BINS - 1) + 0.5) * _SNR_BIN_DB

    def over_floor(self, speech_db: float | None) -> float | None:
        """``speech_db`` (a speech level :meth:`add` returned) over the floor, in dB (1 decimal; 0 or more)."""
        floor = self.floor_db()
        return None if speech_db is None or floor is None else round(max(0.0, speech_db - floor), 1)

    def snr_db(self) -> float | None:
        """The estimate in dB (1 decimal), or None when no scored piece had a speech level."""
        if not self.speech:
            return None
        return self.over_floor(float(np.percentile(self.speech, SNR_WINDOWS_PERCENTILE)))


def snr_db(samples: np.ndarray, sampling_rate: int = DEFAULT_SAMPLING_RATE) -> float | None:
    """The speech-to-noise estimate of one clip (:class:`NoiseMeter` over all of it), or None."""
    meter = NoiseMeter(sampling_rate)
    meter.add(samples)
    return meter.snr_db()


def warn_if_noisy(
    name: str, snr: float | None, floor_db: float | None, windows: tuple[int, int] | None = None
) -> None:
    """Log one warning naming ``name`` when the estimate ``snr`` (:class:`NoiseMeter`) is under
    :data:`NOISY_SNR_DB`; ``windows``: how many of how many classified windows are under it, for a timeline."""
    if snr is None or snr >= NOISY_SNR_DB:
        return
    if windows:
        where = f"in {windows[0]} of {windows[1]} classified windows the speech peaks less than {NOISY_SNR_DB:g} dB"
        estimate = f"the noisiest quarter's estimate {snr:.1f} dB"
    else:
        where, estimate = f"its speech peaks only {snr:.1f} dB", f"under {NOISY_SNR_DB:g} dB counts as noisy"
    floor = "" if floor_db is None else f"{floor_db:.0f} dBFS; "
    logger.warning(
        "%s: noisy speech: %s above the noise floor (%s%s): %s", name, where, floor, estimate, NOISY_MEANING
    )
