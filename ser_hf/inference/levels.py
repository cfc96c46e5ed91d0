"""Speech-activity levels: which windows of a recording hold speech worth classifying.

numpy only, so the command line can show these defaults without loading the models.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

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
