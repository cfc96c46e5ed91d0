"""A pretrained speech detector: which 32-ms frames of a recording hold speech.

Silero VAD v6 (Silero Team, MIT; ``speech_detector.safetensors`` beside this file, from the
``silero-vad`` 6.2.3 wheel by ``scripts/convert_silero_vad.py``, the licence in
``speech_detector_LICENSE.txt``), its 16-kHz model: a 256-point STFT as a fixed convolution, four
small convolutions and one LSTM cell over 512-sample frames, each frame seen with the 64 samples
before it, giving the probability that the frame holds speech. It was trained to tell speech from
music, noise and silence, in many languages.

Silero's own wrapper runs the network one frame at a time from Python. Here the convolutions run on
all the frames of a chunk at once and the LSTM over them in one call (the same probabilities within
1e-5; about 10x faster: 30 minutes of audio in about 2 s on one thread), and :class:`SpeechTrack`
carries the state from chunk to chunk, so a recording of any length is read once, in bounded memory.

Silero takes a keypad's DTMF tones on a noisy line for speech (its LSTM also carries "speech" through
the noise between two tones), so :func:`keypad_digits` finds them (one tone of each DTMF group holding
most of a frame's power), and a frame with the same digit as the frame before it, and the 0.6 s after
it, count as no speech. The rule looks only backwards, so a stream and a file cut into chunks agree.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

logger = logging.getLogger(__name__)
WEIGHTS = Path(__file__).with_name("speech_detector.safetensors")
SAMPLING_RATE = 16000
FRAME = 512  # samples a probability covers: 32 ms
CONTEXT = 64  # samples of the frame before that each frame is seen with
FRAME_S = FRAME / SAMPLING_RATE
SPEECH_PROBABILITY = 0.5  # Silero's default threshold: a frame at or above it holds speech
# DTMF keypad tones (ITU-T Q.23): a digit is one low-group and one high-group tone
DTMF_LOW = np.array([697.0, 770.0, 852.0, 941.0])
DTMF_HIGH = np.array([1209.0, 1336.0, 1477.0, 1633.0])
KEYPAD_SHARE = 0.6  # the two tones' share of a frame's 100-4000 Hz power
KEYPAD_HOLD = 19  # frames (0.6 s) after a keypad tone that count as no speech: the gap to the next key
_NFFT = 1024
_FREQS = np.fft.rfftfreq(_NFFT, 1 / SAMPLING_RATE)
_TOP = int(np.flatnonzero(_FREQS <= 4000)[-1]) + 1
_BAND = slice(int(np.flatnonzero(_FREQS >= 100)[0]), _TOP)
_HANN = np.hanning(FRAME)
_LOW_BINS = np.flatnonzero((_FREQS >= 660) & (_FREQS <= 985))
_HIGH_BINS = np.flatnonzero((_FREQS >= 1170) & (_FREQS <= 1680))
_LOBE = 2 * _NFFT // FRAME  # a Hann window's main lobe, half its width: 2 bins of the frame's own FFT


class SpeechDetector(nn.Module):
    """Silero VAD v6's 16-kHz network, batched over frames. ``forward(wave)`` gives one speech
    probability per 512 samples (the last frame zero-padded); ``state``: the LSTM's ``(h, c)``."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("stft", torch.zeros(258, 1, 256))
        self.encoder = nn.ModuleList(
            nn.Conv1d(i, o, 3, stride=s, padding=1)
            for i, o, s in ((129, 128, 1), (128, 64, 2), (64, 64, 2), (64, 128, 1))
        )
        self.lstm = nn.LSTM(128, 128, batch_first=True)
        self.decoder = nn.Conv1d(128, 1, 1)

    @classmethod
    def load(cls, path: str | Path = WEIGHTS) -> SpeechDetector:
        from safetensors.torch import load_file

        model = cls()
        model.load_state_dict(load_file(str(path)))
        return model.eval().requires_grad_(False)

    def frames(
        self, windows: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Speech probabilities of ``windows`` ``(n, CONTEXT + FRAME)`` (each frame after the samples
        before it), in order, and the LSTM state after the last."""
        x = F.pad(windows.unsqueeze(1), (0, CONTEXT), mode="reflect")
        x = F.conv1d(x, self.stft, stride=128)
        x = torch.sqrt(x[:, :129] ** 2 + x[:, 129:] ** 2)
        for conv in self.encoder:
            x = F.relu(conv(x))
        h, (h_n, c_n) = self.lstm(x.squeeze(-1).unsqueeze(0), state)
        probs = torch.sigmoid(self.decoder(F.relu(h[0]).unsqueeze(-1))).flatten()
        return probs, (h_n, c_n)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """One speech probability per 512 samples of the 16-kHz ``wave`` ``(samples,)``."""
        wave = F.pad(wave.float(), (CONTEXT, (-len(wave)) % FRAME))
        if wave.numel() == CONTEXT:
            return wave.new_zeros(0)
        return self.frames(wave.unfold(0, CONTEXT + FRAME, FRAME))[0]


def keypad_digits(frames: np.ndarray) -> np.ndarray:
    """The DTMF digit (0-15: low tone x 4 + high tone) each 16-kHz frame of ``frames`` ``(n, FRAME)``
    holds, -1 for none: the strongest peak of each group within 1.5 % of one of its frequencies (the
    acceptance band of ITU-T Q.24), the two within 8 dB of each other, their main lobes holding at least
    :data:`KEYPAD_SHARE` of the frame's 100-4000 Hz power (speech spreads its power over many harmonics)."""
    n = len(frames)
    if not n:
        return np.zeros(0, dtype=np.int8)
    spec = np.abs(np.fft.rfft(frames * _HANN, _NFFT, axis=1)[:, :_TOP]) ** 2  # 0-4000 Hz
    rows = np.arange(n)
    total = spec[:, _BAND].sum(1) + 1e-20
    cum = np.pad(np.cumsum(spec, axis=1), ((0, 0), (1, 0)))

    def peak(bins: np.ndarray, nominal: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        i = bins[np.argmax(spec[:, bins], axis=1)]
        a, b, c = spec[rows, i - 1], spec[rows, i], spec[rows, i + 1]
        curve = a - 2 * b + c
        offset = np.where(curve < 0, 0.5 * (a - c) / np.where(curve < 0, curve, -1.0), 0.0)  # parabolic peak
        hz = (i + offset) * SAMPLING_RATE / _NFFT
        tone = np.abs(hz[:, None] - nominal[None]).argmin(1)
        near = np.abs(hz - nominal[tone]) <= 0.015 * nominal[tone]
        lobe = cum[rows, i + _LOBE + 1] - cum[rows, i - _LOBE]
        return tone, near, lobe, b

    low, low_near, low_lobe, low_peak = peak(_LOW_BINS, DTMF_LOW)
    high, high_near, high_lobe, high_peak = peak(_HIGH_BINS, DTMF_HIGH)
    twist = np.abs(np.log10((high_peak + 1e-20) / (low_peak + 1e-20))) <= 0.8
    found = low_near & high_near & twist & ((low_lobe + high_lobe) / total >= KEYPAD_SHARE)
    return np.where(found, low * 4 + high, -1).astype(np.int8)


@functools.lru_cache(maxsize=1)
def speech_detector() -> SpeechDetector:
    """The package's detector, loaded once per process (1.2 MB; read-only, so threads may share it)."""
    return SpeechDetector.load()


class SpeechTrack:
    """Speech probabilities of a recording fed in chunks of any size (``feed``, then ``finish`` for
    the last part-frame), and the seconds of speech between two sample positions (``speech_s``).

    Holds one float and one flag per 32 ms and a running count (a 10-hour recording: 4.5 + 1.1 + 9 MB, and a copy of
    both while a count is rebuilt after a feed) and under one frame of samples; a stream that asks only
    about its last seconds drops the frames before them (:meth:`forget`), and a copy (:meth:`fork`) reads
    samples that are not final yet without changing the track.
    """

    def __init__(self, detector: SpeechDetector | None = None, threshold: float = SPEECH_PROBABILITY) -> None:
        self.detector = detector or speech_detector()
        self.threshold = threshold
        self._probs: list[np.ndarray] = []
        self._done = 0  # frames computed
        self._first = 0  # the first frame still held (those before were forgotten)
        self._pending = np.zeros(CONTEXT, dtype=np.float32)  # the context, then samples not yet in a frame
        self._state: tuple[torch.Tensor, torch.Tensor] | None = None
        self._speech: np.ndarray | None = None  # cumulative count of speech frames, rebuilt on demand
        self._keypad: list[np.ndarray] = []  # per frame: a keypad tone or the 0.6 s after one (no speech)
        self._last_digit = -1  # the last computed frame's DTMF digit
        self._last_tone = -(10**9)  # the index of the last frame in a keypad tone
        # the highest speech probability of a frame fed so far (not in or after a keypad tone)
        self.peak = 0.0

    @classmethod
    def of(cls, wave: np.ndarray) -> SpeechTrack:
        """The track of a whole recording (fed, then finished)."""
        track = cls()
        track.feed(wave)
        track.finish()
        return track

    def feed(self, samples: np.ndarray) -> None:
        """Run the detector over the whole frames that ``samples`` complete."""
        buf = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32).reshape(-1)])
        whole = (len(buf) - CONTEXT) // FRAME
        if whole:
            x = torch.from_numpy(buf[: CONTEXT + whole * FRAME])
            with torch.inference_mode():
                probs, self._state = self.detector.frames(x.unfold(0, CONTEXT + FRAME, FRAME), self._state)
            self._probs.append(probs.numpy())
            self._keypad.append(
                self._keypad_frames(buf[CONTEXT : CONTEXT + whole * FRAME].reshape(whole, FRAME))
            )
            if not self._keypad[-1].all():
                self.peak = max(self.peak, float(self._probs[-1][~self._keypad[-1]].max()))
            self._done += whole
            self._speech = None
        self._pending = buf[whole * FRAME :]

    def _keypad_frames(self, frames: np.ndarray) -> np.ndarray:
        """Which of the next ``frames`` count as no speech for a keypad: a frame with the same DTMF
        digit as the frame before it (a tone, not a chance peak), and the :data:`KEYPAD_HOLD` after it."""
        digits = keypad_digits(frames)
        before = np.concatenate([[self._last_digit], digits[:-1]])
        index = self._done + np.arange(len(digits))
        tone = np.where((digits >= 0) & (digits == before), index, -(10**9))
        last = np.maximum.accumulate(np.maximum(tone, self._last_tone))
        self._last_digit, self._last_tone = int(digits[-1]), int(last[-1])
        return index - last <= KEYPAD_HOLD

    def finish(self) -> None:
        """The last part-frame, zero-padded, as Silero's wrapper pads it."""
        if len(self._pending) > CONTEXT:
            self.feed(np.zeros(FRAME - (len(self._pending) - CONTEXT), dtype=np.float32))

    def forget(self, before: int) -> None:
        """Drop the frames that end at or before sample ``before``: they are no longer counted, and a
        stream's memory and the cost of a count stay those of its window however long it runs."""
        drop = min(self._done, max(0, before) // FRAME) - self._first
        if drop <= 0:
            return
        self._probs, self._keypad = [self.probabilities[drop:]], [np.concatenate(self._keypad)[drop:]]
        self._first += drop
        self._speech = None

    def fork(self) -> SpeechTrack:
        """A copy to feed further without changing this track (frames built on samples not final yet)."""
        twin = copy.copy(self)
        twin._probs, twin._keypad = list(self._probs), list(self._keypad)
        return twin

    @property
    def probabilities(self) -> np.ndarray:
        """Each computed frame's speech probability, in order (those not forgotten)."""
        return np.concatenate(self._probs) if self._probs else np.zeros(0, dtype=np.float32)

    def speech_s(self, start: int, stop: int) -> float:
        """Seconds of speech (frames at or above the threshold, not in or just after a keypad tone) among the frames that lie wholly in
        samples ``[start, stop)``: those are computed as soon as ``stop`` samples were fed, so a window
        gets the same figure however the recording was cut into chunks (a frame across a chunk's end
        was counted or not by the chunk size)."""
        if self._speech is None:
            keypad = np.concatenate(self._keypad) if self._keypad else np.zeros(0, dtype=bool)
            self._speech = np.concatenate([[0], np.cumsum((self.probabilities >= self.threshold) & ~keypad)])
        first = min(self._done, max(self._first, -(-start // FRAME)))
        last = min(self._done, max(first, stop // FRAME))
        return float(self._speech[last - self._first] - self._speech[first - self._first]) * FRAME_S

    def holds_speech(self, start: int, stop: int, min_speech_s: float) -> bool:
        """Whether samples ``[start, stop)`` hold at least ``min_speech_s`` seconds of speech, or half
        their length when that is less (a 0.3-s window cannot hold 0.25 s of it between its edges)."""
        return self.speech_s(start, stop) >= min(min_speech_s, (stop - start) / SAMPLING_RATE / 2)


_WARNED_RATES: set[int] = set()


def speech_track(
    sampling_rate: int, min_speech_s: float | None, wave: np.ndarray | None = None
) -> SpeechTrack | None:
    """A :class:`SpeechTrack` (of the whole ``wave`` when given) when speech is to be checked
    (``min_speech_s`` not None) and the audio is at the detector's 16 kHz; None otherwise (another
    rate: with a warning, once, the windows not checked)."""
    if min_speech_s is None:
        return None
    if sampling_rate != SAMPLING_RATE:
        if sampling_rate not in _WARNED_RATES:  # once a process: a folder of long files said it per file
            _WARNED_RATES.add(sampling_rate)
            logger.warning(
                "the speech detector runs at %d Hz and this model at %d: timeline windows are not checked "
                "for speech (StreamingClassifier resamples and checks them)",
                SAMPLING_RATE,
                sampling_rate,
            )
        return None
    return SpeechTrack() if wave is None else SpeechTrack.of(wave)


def fed_to(track: SpeechTrack, chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """``chunks`` as they are, each fed to ``track`` before it is passed on (then the last part-frame)."""
    for chunk in chunks:
        track.feed(chunk)
        yield chunk
    track.finish()
