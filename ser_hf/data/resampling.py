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
