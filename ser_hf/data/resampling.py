"""Resampling a signal to a model's rate (torchaudio's band-limited sinc), and the rates a recording
can have: a pure function of samples and rates, no decoding."""

from __future__ import annotations

import logging
import math

import numpy as np

from ..errors import SERError

logger = logging.getLogger(__name__)

MIN_RATE, MAX_RATE = 1000, 768_000  # Hz: outside them no recording of speech; a damaged header
# torchaudio's sinc kernel grows with (rate / gcd) x (rate / gcd): 44100 -> 16000 is 441 x 160, while
# 16001 -> 16000 was 16001 x 16000 floats, 4.8 GB for a 4-KB file; such rates go as the nearest 100 Hz
_MAX_KERNEL = 2_000_000


_APPROXIMATED: set[tuple[int, int]] = set()  # rate pairs warned of once


def check_rate(rate: int, name: str) -> int:
    """``rate`` when a recording can have it, else :class:`SERError` naming ``name``."""
    if not MIN_RATE <= rate <= MAX_RATE:
        raise SERError(
            f"sampling rate {rate} Hz is outside {MIN_RATE} Hz - {MAX_RATE // 1000} kHz, where speech is "
            "recorded; the file's header is likely damaged: re-export it",
            source=name,
        )
    return rate


def resample(samples: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Resample a 1-D float32 signal with torchaudio's band-limited sinc interpolation. Rates whose
    ratio would need a huge kernel (16001 Hz) are taken as the nearest 100 Hz (a 0.3 % pitch change at
    most), with a warning."""
    if orig_rate == target_rate:
        return samples
    import torch
    import torchaudio.functional as AF

    g = math.gcd(int(orig_rate), int(target_rate))
    if (orig_rate // g) * (target_rate // g) > _MAX_KERNEL:
        near = [max(100, round(r / 100) * 100) for r in (orig_rate, target_rate)]
        if (orig_rate, target_rate) not in _APPROXIMATED:
            _APPROXIMATED.add((orig_rate, target_rate))
            logger.warning(
                "resampling %d Hz to %d Hz as %d Hz to %d Hz: the exact ratio needs a filter of %d M values",
                orig_rate, target_rate, *near, (orig_rate // g) * (target_rate // g) // 10**6,
            )  # fmt: skip
        orig_rate, target_rate = near
        if orig_rate == target_rate:
            return samples
        g = math.gcd(orig_rate, target_rate)
    out = AF.resample(torch.from_numpy(np.ascontiguousarray(samples)), orig_rate // g, target_rate // g)
    return out.numpy()
