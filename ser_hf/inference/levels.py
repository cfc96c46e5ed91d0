"""Speech-activity levels: which windows of a recording hold speech worth classifying, and how far
the speech stands above the noise (:class:`NoiseMeter`).

numpy only, so the command line can show these defaults without loading the models.
"""

from __future__ import annotations

import functools
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
# The speech-to-noise estimate (NoiseMeter): 20-ms frames, each frame's level in the speech band
# SNR_BAND_HZ (300-1000 Hz, where voiced speech holds most of its power and other voices compete with it:
# the full band's estimate read 6-talker babble at 10 dB SNR as clean, session 44); a piece's speech level is
# the 95th percentile of its frames' band levels, the noise floor the 5th percentile of all frames of the
# recording (frames under -90 dBFS over the whole band, digital silence or dither, are no noise); a clip's
# estimate is its speech level less the floor, a recording's the 25th percentile of its classified windows'
# (its noisiest quarter of speech). A steady tone (mains hum, a test tone: a line in the spectrum of most of
# a piece) is taken out of each frame first, and told apart (warn_if_tone). Under NOISY_SNR_DB a clip or
# recording gets a warning (benchmarks/bench_snr_warning.py, session 44: none of the 4,238 clean RAVDESS and
# TESS clips, lowest 30.2 and 35.7 dB; 125 of 200 clips under babble at 10 dB SNR, 174 under white noise at 5).
SNR_FRAME_S = 0.02
SNR_BAND_HZ = (300.0, 1000.0)
SNR_SPEECH_PERCENTILE = 95.0
SNR_NOISE_PERCENTILE = 5.0
SNR_WINDOWS_PERCENTILE = 25.0
SNR_FLOOR_DBFS = -90.0
SNR_MIN_FRAMES = 10  # a piece with fewer frames above -90 dBFS than this (0.2 s) has no speech level
NOISY_SNR_DB = 24.0
# Steady tones: the spectrum of 128-ms stretches (4 s at a time): a line from 40 Hz up that stands
# TONE_PROMINENCE_DB over the mean log level of the 500 Hz about it in every stretch (the spectra's minimum) and
# whose level holds steady (its median within TONE_STEADY_DB of its 10th percentile: a voice holding one pitch
# through most of a short TESS clip came and went more than that); the 4 strongest are fitted and taken out of
# each 20-ms frame (with a linear drift). A tone within TONE_MARGIN_DB of the speech peaks (about as loud as
# the speech's mean power) gets its own warning (TONE_MEANING).
TONE_MIN_HZ = 40.0
TONE_PROMINENCE_DB = 25.0
TONE_STEADY_DB = 3.0
TONE_MAX = 4
TONE_MARGIN_DB = 13.0
# the attribute of the noise and tone warnings' log records (``extra=``) holding the few words that
# ``ser-hf predict`` puts in the file's row (its ``warning``), as the decoder's ``cut_short`` is
ROW_WARNING = "row_warning"
NOISY_MEANING = (
    "labels on speech this noisy drift toward fearful and disgust (measured, session 43: of 200 RAVDESS and "
    "TESS clips under white noise at 0 dB SNR 115 kept their clean label, 68 came out fearful; a call under "
    "steady line noise had 0.32 of its customer's windows right, 0.85 clean)"
)
TONE_MEANING = (
    "a tone this loud moves some labels (measured, session 44: of 200 RAVDESS and TESS clips under a tone as "
    "loud as their speech's mean power, 179 kept their clean label under a 50-Hz hum, 182 under a 60-Hz hum with "
    "its harmonics, 169 under a 1-kHz tone, most often toward angry)"
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


# the noise floor's histogram: 0.1-dB bins of band levels from -130 dBFS (a frame's band may lie far under
# -90 dBFS when the whole band is just over it; louder than 0 dBFS: the top bin)
_SNR_BIN_DB = 0.1
_SNR_LOW_DBFS = -130.0
_SNR_BINS = int(round(-_SNR_LOW_DBFS / _SNR_BIN_DB)) + 1
_TONE_BLOCK_S = 4.0  # tones are looked for in stretches of about this long (each at least half of it)
_TONE_SEGMENT_S = 0.128


class NoiseMeter:
    """A speech-to-noise ratio estimate of a clip, or of a recording given window by window, in little memory.

    :meth:`add` takes samples (a clip, or a timeline's windows as they pass) and counts the levels of
    their :data:`SNR_FRAME_S` frames in the speech band :data:`SNR_BAND_HZ` (each frame's mean and any steady
    tone taken out first; frames under -90 dBFS over the whole band, digital silence, left out) in a histogram
    of 0.1-dB bins: the noise floor is their 5th percentile (the quiet between words). A piece the model scores
    (``scored=True``) also gets a speech level, the 95th percentile of its own frames (its loudest speech).
    :meth:`snr_db` is the 25th percentile of the scored pieces' speech levels less the floor: for one clip, its
    speech over its floor (30 dB and more for clean RAVDESS and TESS clips; about 17 under white noise at 0 dB
    SNR); for a recording, the noisiest quarter of its speech (a call whose quiet turns drown in line noise while
    its loud ones do not). A cheap estimate, not a measurement: steady noise (hiss, a line, a fan) is what it sees best;
    noise that comes and goes as speech does (other voices) partly reads as speech, and noise outside the band
    (a low rumble) counts little. :meth:`tone` is the loudest steady tone found under the scored pieces (mains
    hum, a test tone), which the estimate leaves out: :func:`warn_if_tone`.
    """

    def __init__(self, sampling_rate: int = DEFAULT_SAMPLING_RATE) -> None:
        self.rate = sampling_rate
        self.frame = max(1, int(round(SNR_FRAME_S * sampling_rate)))
        freqs = np.fft.rfftfreq(self.frame, 1.0 / sampling_rate)
        band = (freqs >= SNR_BAND_HZ[0]) & (freqs < SNR_BAND_HZ[1])
        self.band = band if band.any() else np.ones_like(band)  # a rate too low for the band: all of it
        self.window = _hann(self.frame)
        # a frame's band power from its spectrum, as the mean square of its band's samples (dBFS)
        self.scale = 2.0 / (self.frame * float(np.square(self.window).sum()))
        self.counts = np.zeros(_SNR_BINS, np.int64)
        self.speech: list[float] = []  # the speech level (dBFS in the band) of each scored piece that has one
        self.speech_full: list[float] = []  # the same over the whole band (against a tone's level)
        self.tones: list[tuple[float, float]] = []  # (Hz, dBFS): each scored piece's loudest tone
        # the last piece's loudest tone as :meth:`tone` gives it, that piece's speech alone (None when it had none)
        self.piece_tone: tuple[float, float, float | None] | None = None

    def add(self, samples: np.ndarray, scored: bool = True) -> float | None:
        """Count ``samples``' frames; for a scored piece, return its speech level in dBFS (None when it
        has fewer than :data:`SNR_MIN_FRAMES` frames above -90 dBFS, or when not scored)."""
        x = np.asarray(samples)
        n = self.frame
        self.piece_tone = None
        frames_in = x.size // n if x.ndim == 1 else 0
        if not frames_in:
            return None
        # stretches of whole frames, about _TONE_BLOCK_S each (the last no shorter than the others)
        blocks = max(1, int(round(frames_in * n / (_TONE_BLOCK_S * self.rate))))
        edges = np.linspace(0, frames_in, blocks + 1).astype(np.int64) * n
        band_db, full_db, tones = [], [], []
        for start, stop in zip(edges[:-1], edges[1:]):
            block = x[start:stop].astype(np.float64)
            found = steady_tones(block, self.rate)
            frames = block.reshape(-1, n)
            power = np.square(frames).mean(axis=1) - np.square(frames.mean(axis=1))
            if found:
                residual = frames - (frames @ (q := _basis(tuple(found), n, self.rate))) @ q.T
            else:
                residual = frames - frames.mean(axis=1, keepdims=True)
            left = np.square(residual).mean(axis=1)
            if found:  # the tones' level: the power they took from the quieter frames (speech near one adds)
                taken = float(np.percentile(power - left, 10))
                tones.append((found[0], 10.0 * math.log10(max(taken, 1e-30))))
            keep = left >= 10.0 ** (SNR_FLOOR_DBFS / 10.0)
            spectrum = np.square(np.abs(np.fft.rfft(residual[keep] * self.window, axis=1)))
            band_db.append(
                10.0 * np.log10(np.maximum(spectrum[:, self.band].sum(axis=1) * self.scale, 1e-30))
            )
            full_db.append(10.0 * np.log10(left[keep]))
        db = np.concatenate(band_db)
        bins = np.clip(((db - _SNR_LOW_DBFS) / _SNR_BIN_DB).astype(np.int64), 0, _SNR_BINS - 1)
        self.counts += np.bincount(bins, minlength=_SNR_BINS)
        if not scored:
            return None
        loudest = max(tones, key=lambda t: t[1]) if tones else None
        if loudest:
            self.tones.append(loudest)
            self.piece_tone = (round(float(loudest[0]), 1), round(loudest[1], 1), None)
        if db.size < SNR_MIN_FRAMES:
            return None
        speech = float(np.percentile(db, SNR_SPEECH_PERCENTILE))
        self.speech.append(speech)
        self.speech_full.append(float(np.percentile(np.concatenate(full_db), SNR_SPEECH_PERCENTILE)))
        if loudest:
            hz, level = loudest
            self.piece_tone = (round(float(hz), 1), round(level, 1), round(self.speech_full[-1] - level, 1))
        return speech

    def drop_tone_piece(self) -> None:
        """Take the last scored piece, one with a tone (:attr:`piece_tone`) found to hold nothing else, back out
        of the speech levels and tones (its frames stay in the floor, as a piece not scored): a timeline's window
        of a tone alone with the speech detector off (no speech to estimate, as a clip of one has none)."""
        if self.piece_tone is None:
            return
        self.tones.pop()
        if self.piece_tone[2] is not None:
            self.speech.pop()
            self.speech_full.pop()
        self.piece_tone = None

    def floor_db(self) -> float | None:
        """The noise floor in dBFS in the speech band (the 5th percentile of every frame above -90 dBFS),
        None before any."""
        if not self.counts.any():
            return None
        cumulative = np.cumsum(self.counts)
        i = int(np.searchsorted(cumulative, SNR_NOISE_PERCENTILE / 100.0 * cumulative[-1]))
        return _SNR_LOW_DBFS + (min(i, _SNR_BINS - 1) + 0.5) * _SNR_BIN_DB

    def over_floor(self, speech_db: float | None) -> float | None:
        """``speech_db`` (a speech level :meth:`add` returned) over the floor, in dB (1 decimal; 0 or more)."""
        floor = self.floor_db()
        return None if speech_db is None or floor is None else round(max(0.0, speech_db - floor), 1)

    def snr_db(self) -> float | None:
        """The estimate in dB (1 decimal), or None when no scored piece had a speech level."""
        if not self.speech:
            return None
        return self.over_floor(float(np.percentile(self.speech, SNR_WINDOWS_PERCENTILE)))

    def tone(self) -> tuple[float, float, float | None] | None:
        """The loudest steady tone under the scored pieces: (Hz, its level in dBFS, how far the speech peaks
        stand above it in dB: the 25th percentile of the pieces' whole-band speech levels less it, None when
        no piece had a speech level), or None when none had a tone."""
        if not self.tones:
            return None
        hz, db = max(self.tones, key=lambda t: t[1])
        above = (
            float(np.percentile(self.speech_full, SNR_WINDOWS_PERCENTILE)) - db if self.speech_full else None
        )
        return round(float(hz), 1), round(db, 1), None if above is None else round(above, 1)


def steady_tones(x: np.ndarray, sampling_rate: int) -> list[float]:
    """The frequencies (Hz, loudest first) of up to :data:`TONE_MAX` steady tones in ``x``: lines of the
    spectrum of its 128-ms stretches (Hann, one after another; at least 3 of them) from :data:`TONE_MIN_HZ` up
    that stand :data:`TONE_PROMINENCE_DB` over the mean log level of the 64 bins about them (500 Hz at 16 kHz,
    the 7 nearest left out) in every stretch, their level steady (:data:`TONE_STEADY_DB`). Speech moves its pitch
    and pauses, so its harmonics are no such line; a line 5 bins or nearer a louder one is taken for its side lobe."""
    seg = 1 << max(4, int(round(math.log2(_TONE_SEGMENT_S * sampling_rate))))
    if x.size < 3 * seg:
        return []
    view = x[: x.size // seg * seg].reshape(-1, seg)
    spectrum = np.square(np.abs(np.fft.rfft((view - view.mean(axis=1, keepdims=True)) * _hann(seg), axis=1)))
    lowest = np.log(spectrum.min(axis=0) + 1e-30)  # natural log
    # the level around each bin: the mean log level of the 64 bins about it, those within 3 bins left out
    total = np.concatenate([[0.0], np.cumsum(np.pad(lowest, 32, mode="edge"))])
    i = np.arange(lowest.size) + 32
    around = (total[i + 33] - total[i - 32] - total[i + 4] + total[i - 3]) / 58.0
    k = np.arange(
        max(2, int(math.ceil(TONE_MIN_HZ * seg / sampling_rate))), int(0.45 * seg)
    )  # under a resampler's edge
    peak = (lowest[k] >= lowest[k - 1]) & (lowest[k] >= lowest[k + 1])
    k = k[peak & (lowest[k] - around[k] >= TONE_PROMINENCE_DB * math.log(10.0) / 10.0)]
    found: list[int] = []
    for i in k[np.argsort(-lowest[k])]:
        line = spectrum[:, i - 1 : i + 2].sum(axis=1)
        steady = np.median(line) <= np.percentile(line, 10) * 10.0 ** (TONE_STEADY_DB / 10.0)
        if steady and all(abs(int(i) - j) > 5 for j in found):
            found.append(int(i))
        if len(found) == TONE_MAX:
            break
    tones = []
    # between bins: the peak of a parabola through the log levels of the line and its neighbours
    for i in found:
        a, b, c = np.log(np.median(spectrum[:, i - 1 : i + 2], axis=0) + 1e-30)
        curve = a - 2 * b + c
        tones.append((i + (0.5 * (a - c) / curve if curve < 0 else 0.0)) * sampling_rate / seg)
    return tones


@functools.lru_cache(maxsize=8)
def _hann(n: int) -> np.ndarray:
    return np.hanning(n + 2)[1:-1]


def _basis(tones: tuple[float, ...], n: int, sampling_rate: int) -> np.ndarray:
    """Orthonormal columns (n, m) spanning a frame's mean and, for each tone, its sine and cosine and those
    times the frame's time (a tone whose frequency is a little off, or whose level drifts, fits too)."""
    t = np.arange(n)
    columns = [np.ones(n)]
    for hz in tones:
        phase = 2.0 * np.pi * hz * t / sampling_rate
        ramp = (t - (n - 1) / 2.0) / n
        columns += [np.cos(phase), np.sin(phase), ramp * np.cos(phase), ramp * np.sin(phase)]
    u, s, _ = np.linalg.svd(np.stack(columns, axis=1), full_matrices=False)
    return u[:, s > 1e-6 * s[0]]


def snr_db(samples: np.ndarray, sampling_rate: int = DEFAULT_SAMPLING_RATE) -> float | None:
    """The speech-to-noise estimate of one clip (:class:`NoiseMeter` over all of it), or None."""
    meter = NoiseMeter(sampling_rate)
    meter.add(samples)
    return meter.snr_db()


def warn_if_noisy(
    name: str, snr: float | None, floor_db: float | None, windows: tuple[int, int] | None = None
) -> None:
    """Log one warning naming ``name`` when the estimate ``snr`` (:class:`NoiseMeter`) is under
    :data:`NOISY_SNR_DB`; ``windows``: how many of how many classified windows are under it, for a timeline.
    Its record's :data:`ROW_WARNING` says so in a few words (``noisy speech (snr_db 18.9, under 24): ...``)."""
    if snr is None or snr >= NOISY_SNR_DB:
        return
    if windows:
        where = f"in {windows[0]} of {windows[1]} classified windows the speech peaks less than {NOISY_SNR_DB:g} dB"
        estimate = f"the noisiest quarter's estimate {snr:.1f} dB"
    else:
        where, estimate = f"its speech peaks only {snr:.1f} dB", f"under {NOISY_SNR_DB:g} dB counts as noisy"
    floor = "" if floor_db is None else f"{floor_db:.0f} dBFS; "
    some = f" in {windows[0]} of {windows[1]} classified windows" if windows else ""
    row = f"noisy speech{some} (snr_db {snr:.1f}, under {NOISY_SNR_DB:g}): labels drift toward fearful and disgust"
    logger.warning(
        "%s: noisy speech: %s above the noise floor in %g-%g Hz (%s%s): %s",
        name, where, *SNR_BAND_HZ, floor, estimate, NOISY_MEANING, extra={ROW_WARNING: row},
    )  # fmt: skip


def tone_text(tone: tuple[float, float, float | None]) -> str:
    """A tone of :meth:`NoiseMeter.tone` in words: ``a steady 60-Hz tone at -31 dBFS``."""
    return f"a steady {tone[0]:.0f}-Hz tone at {tone[1]:.0f} dBFS"


def warn_if_tone(name: str, tone: tuple[float, float, float | None] | None) -> None:
    """Log one warning naming ``name`` when the speech peaks stand less than :data:`TONE_MARGIN_DB` above a steady
    tone under them (:meth:`NoiseMeter.tone`; the noisy-speech estimate leaves the tone out): mains hum or a
    test tone, which moves fewer labels than noise does (:data:`TONE_MEANING`) and a notch filter takes out.
    Its record's :data:`ROW_WARNING`: ``a steady 50-Hz tone as loud as the speech (mains hum?): ...``."""
    if tone is None or tone[2] is None or tone[2] >= TONE_MARGIN_DB:
        return
    row = (
        f"a steady {tone[0]:.0f}-Hz tone as loud as the speech (mains hum?): some labels move; "
        f"a notch filter at {tone[0]:.0f} Hz takes it out"
    )
    logger.warning(
        "%s: %s under the speech (mains hum or a test tone?), its speech peaks %s: not noise, "
        "so the noisy-speech estimate leaves it out; %s. A notch filter at %.0f Hz (and its multiples, for hum) "
        "takes it out",
        name, tone_text(tone), _peaks_against_tone(tone[2]), TONE_MEANING, tone[0], extra={ROW_WARNING: row},
    )  # fmt: skip


def _peaks_against_tone(db: float) -> str:
    """How far the speech peaks stand above the tone, in words a reader takes in (never "-14.5 dB above")."""
    return (
        f"only {db:.1f} dB above it"
        if db >= 0.05
        else f"{-db:.1f} dB below it"
        if db <= -0.05
        else "at its level"
    )


def warn_tone_only(
    name: str, tone: tuple[float, float, float | None], windows: tuple[int, int] | None = None
) -> None:
    """Log one warning naming ``name``, a clip in which the speech detector finds no speech, only the steady
    ``tone`` (:meth:`NoiseMeter.tone`; :func:`speech_under`), so that its scores mean nothing; ``windows``: how
    many of how many classified windows of a timeline hold only a tone (the speech detector off for them:
    ``min_speech_s=None``), all of them said as a clip is. Its record's :data:`ROW_WARNING`: ``no speech, only a
    steady 50-Hz tone: ...``."""
    if windows and windows[0] < windows[1]:
        row = f"no speech in {windows[0]} of {windows[1]} classified windows, only a steady {tone[0]:.0f}-Hz tone"
        logger.warning(
            "%s: %d of %d classified windows hold no speech, only %s (the speech detector finds none): their "
            "emotion scores mean nothing; with the speech detector on (min_speech_s, ser-hf predict "
            "--min-speech) they are 'no speech', left out",
            name, *windows, tone_text(tone), extra={ROW_WARNING: f"{row}: their scores mean nothing"},
        )  # fmt: skip
        return
    logger.warning(
        "%s holds no speech, only %s (the speech detector finds none): its emotion scores mean nothing; "
        "check the recording or the file",
        name, tone_text(tone),
        extra={ROW_WARNING: f"no speech, only a steady {tone[0]:.0f}-Hz tone: the scores mean nothing"},
    )  # fmt: skip


def warn_about_noise(clip: np.ndarray, name: str, rate: int) -> float | None:
    """The noise warnings of one clip with sound in it, and its speech-to-noise estimate (:class:`NoiseMeter`;
    None when it has no speech level): a steady tone in which the speech detector finds no speech (a hum or a
    test tone alone: no speech to score, :func:`warn_tone_only`), else speech too noisy (:func:`warn_if_noisy`)
    and a tone about as loud as the speech (:func:`warn_if_tone`)."""
    meter = NoiseMeter(rate)
    meter.add(clip)
    if (tone := meter.tone()) is not None and not speech_under(tone, clip, rate):
        warn_tone_only(name, tone)
        return None
    warn_if_noisy(name, snr := meter.snr_db(), meter.floor_db())
    warn_if_tone(name, tone)
    return snr


def speech_under(tone: tuple[float, float, float | None], clip: np.ndarray, rate: int) -> bool:
    """Whether a clip holds speech under its steady ``tone`` (:meth:`NoiseMeter.tone`): yes when the tone is
    well under the speech peaks; else at least :data:`WINDOW_SPEECH_S` of speech by the speech detector (it runs
    at 16 kHz: at another rate, whether any speech level is left once the tone is out)."""
    # imported here: levels.py is numpy only, and torch loads only for a tone this loud
    from ..models.speech_detector import SAMPLING_RATE, SpeechTrack

    if tone[2] is not None and tone[2] >= TONE_MARGIN_DB:
        return True
    if rate != SAMPLING_RATE:
        return tone[2] is not None
    return SpeechTrack.of(clip).holds_speech(0, len(clip), WINDOW_SPEECH_S)
