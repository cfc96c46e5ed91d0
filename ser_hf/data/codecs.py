"""Codec round trips through FFmpeg: what a podcast, a voice message or a call recording has been
through, for the ``mp3:`` and ``opus:`` channel conditions (:mod:`ser_hf.data.channel`)."""

from __future__ import annotations

import math

import numpy as np

from ..errors import SERError
from .audio import _decode_ffmpeg
from .resampling import resample

CODECS = ("mp3", "opus")
# rates each encoder takes, and the most kbit/s MP3 has at a rate (MPEG-2.5 / MPEG-2 / MPEG-1 Layer III)
_CODEC_RATES = {
    "mp3": (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
    "opus": (8000, 12000, 16000, 24000, 48000),
}
_MP3_MAX_KBPS = ((16000, 64), (32000, 160), (math.inf, 320))


def codec_round_trip(samples: np.ndarray, sampling_rate: int, codec: str, kbps: float) -> np.ndarray:
    """``samples`` encoded with FFmpeg's ``codec`` (``"mp3"`` or ``"opus"``) at ``kbps`` kilobits a
    second and decoded again, at the same rate and length: what a podcast, a voice message or a
    call recording has been through. Samples are clipped to [-1, 1] first, as 16-bit PCM fed to an
    encoder would be; a rate the encoder lacks goes through the next one up (22050 -> 24000 Hz)."""
    if codec not in CODECS:
        raise SERError(f"codec must be one of {CODECS}, got {codec!r}", source="codec_round_trip")
    x, n, where = np.asarray(samples, dtype=np.float32), len(samples), f"{codec}:{kbps:g} round trip"
    if not np.isfinite(x).all():  # LAME aborts the whole process on them (an assertion, no exception)
        raise SERError("the audio has NaN or Inf samples, which no encoder takes", source=where)
    rate = next((r for r in _CODEC_RATES[codec] if r >= sampling_rate), 48000)
    top = 256 if codec == "opus" else next(k for r, k in _MP3_MAX_KBPS if rate < r)
    if kbps > top:  # libopus refuses more; LAME silently encodes at its top rate
        raise SERError(f"{codec} at {rate} Hz goes up to {top} kbit/s; ask for that or less", source=where)
    try:
        import torch
        from torchcodec.encoders import AudioEncoder
    except Exception as err:  # pragma: no cover - depends on the machine
        raise SERError(
            f"codec round trips need FFmpeg ({err}); install it (apt-get install ffmpeg)", source=codec
        ) from err
    x = torch.from_numpy(resample(np.clip(x, -1.0, 1.0), sampling_rate, rate))[None]
    encoded = AudioEncoder(x, sample_rate=rate).to_tensor(format=codec, bit_rate=round(kbps * 1000))
    out = _decode_ffmpeg(encoded.numpy().tobytes(), where, rate)[0][: x.shape[1]]  # encoders pad frames
    out = resample(out, rate, sampling_rate)[:n]
    return np.pad(out, (0, n - out.shape[0])).astype(np.float32, copy=False)
