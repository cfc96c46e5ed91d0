"""Resampling a signal to a model's rate (torchaudio's band-limited sinc), and the rates a recording
can have: a pure function of samples and rates, no decoding."""

from __future__ import annotations

import logging
import math

import numpy as np

from ..errors import AudioInputError

logger = logging.getLogger(__name__)

MIN_RATE, MAX_RATE = 1000, 768_000  # Hz: outside them no recording of speech; a damaged header
# torchaudio's sinc kernel grows with (rate / gcd) x (rate / gcd): 44100 -> 16000 is 441 x 160 and
# 48000/1.001 -> 16000 3 M, while 16001 -> 16000 is 256 M floats (4.8 GB for a 4-KB file): past this,
# the rates go as the nearest 10 Hz (then 100, 1000) whose ratio is small
_MAX_KERNEL = 12_000_000  # about 230 MB at its peak (44056 Hz, a real rate, needs 11 M)
_APPROXIMATED: set[tuple[int, int]] = set()  # rate pairs warned of once


def check_rate(rate: int, name: str) -> int:
    """``rate`` when a recording can have it, else :class:`AudioInputError` naming ``name``."""
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioInputError(
            f"sampling rate {rate} Hz is outside {MIN_RATE} Hz - {MAX_RATE // 1000} kHz, where speech is "
            "recorded; the file's header is likely damaged: re-export it",
            source=name,
        )
    return rate


def effective_rates(orig_rate: int, target_rate: int) -> tuple[int, int]:
    """The rates :func:`resample` converts between: these, or when their exact ratio needs a kernel of
    more than ``_MAX_KERNEL`` values, the nearest multiples of 10 Hz (else 100, 1000) whose does not
    (16001 -> 16000 Hz goes as 16000 -> 16000: a pitch change of 0.006 %), with a warning once."""
    g = math.gcd(int(orig_rate), int(target_rate))
    if (orig_rate // g) * (target_rate // g) <= _MAX_KERNEL:
        return int(orig_rate), int(target_rate)
    for step in (10, 100, 1000):
        near = [max(step, round(r / step) * step) for r in (orig_rate, target_rate)]
        k = math.gcd(*near)
        if (near[0] // k) * (near[1] // k) <= _MAX_KERNEL:
            break
    if (orig_rate, target_rate) not in _APPROXIMATED:
        _APPROXIMATED.add((orig_rate, target_rate))
        logger.warning(
            "resampling %d Hz to %d Hz as %d Hz to %d Hz: the exact ratio needs a filter of %d M values",
            orig_rate, target_rate, *near, (orig_rate // g) * (target_rate // g) // 10**6,
        )  # fmt: skip
    return near[0], near[1]


def resample(samples: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Resample a 1-D float32 signal with torchaudio's band-limited sinc interpolation, between
    :func:`effective_rates` (the rates themselves, but for pairs that would need a huge kernel)."""
    orig_rate, target_rate = effective_rates(orig_rate, target_rate)
    if orig_rate == target_rate:
        return samples
    import torch
    import torchaudio.functional as AF

    g = math.gcd(orig_rate, target_rate)
    out = AF.resample(torch.from_numpy(np.ascontiguousarray(samples)), orig_rate // g, target_rate // g)
    return out.numpy()


class StreamResampler:
    """A stream pushed in chunks of any size, resampled from ``orig_rate`` to ``target_rate`` as
    :func:`resample` resamples the whole stream: :meth:`push` gives the output samples that are settled
    (their sinc filter reaches no input not yet pushed) and, apart, those after them as the stream
    ending now would give them (the filter's zero padding at the end), which the next push recomputes.
    It keeps only the input its filter still reaches (under 2,000 samples at 44.1 kHz, 50 at 48 kHz);
    one :func:`resample` call a push."""

    def __init__(self, orig_rate: int, target_rate: int) -> None:
        self.orig_rate, self.target_rate = effective_rates(orig_rate, target_rate)
        g = math.gcd(self.orig_rate, self.target_rate)
        self._period, self._out_period = self.orig_rate // g, self.target_rate // g
        # the half-width of torchaudio's kernel in input samples (lowpass_filter_width 6, rolloff 0.99):
        # an output period reads the input from `width` before it to `width` after it
        width = math.ceil(6 * self._period / (0.99 * min(self._period, self._out_period)))
        self._margin = width + self._period  # input needed after the last settled period (one to spare)
        # kept before the first unsettled period: whole periods, so that the phases stay aligned
        self._context = self._period * math.ceil(self._margin / self._period)
        self._held = np.zeros(0, np.float32)  # the context, then the input not settled yet
        self._start = 0  # where the unsettled input begins in _held (a whole number of periods)

    def push(self, samples: np.ndarray, final: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(settled output, provisional output) of the stream so far with ``samples`` added; ``final``:
        the stream ends here (all of it settled, the state cleared)."""
        held = np.concatenate([self._held, np.asarray(samples, dtype=np.float32)])
        if len(held) == self._start:
            return np.zeros(0, np.float32), np.zeros(0, np.float32)
        if self.orig_rate == self.target_rate:
            out = held[self._start :]
        else:
            out = resample(held, self.orig_rate, self.target_rate)[
                self._start // self._period * self._out_period :
            ]
        settled = len(held) - self._start if final else max(0, len(held) - self._start - self._margin)
        periods = settled // self._period
        if final:
            self._held, self._start = np.zeros(0, np.float32), 0
            return out, np.zeros(0, np.float32)
        done = self._start + periods * self._period
        keep = max(0, done - self._context)  # a whole number of periods, so the phases stay aligned
        self._held, self._start = held[keep:], done - keep
        cut = periods * self._out_period
        return out[:cut], out[cut:]
