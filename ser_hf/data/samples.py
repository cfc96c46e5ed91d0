"""Samples in memory -> float32 mono: integer PCM scaled to [-1, 1), a rate and a channel choice
given by a user checked, channels averaged (or one kept), and the clips that corpora, training and
evaluation leave out (too short, silent).

What :func:`~ser_hf.data.audio.load_audio` does to an array, tensor or list once it is decoded or
handed over, and what the streaming classifier does to each chunk; :func:`refuse_single` refuses one
clip where a list of clips is due.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

import numpy as np

from ..errors import AudioInputError, NoSuchChannelError, SERError
from .resampling import check_rate

# A channel axis longer than this is taken to be the time axis (no real recording has 64 channels).
_MAX_CHANNELS = 64
MIN_SPEECH_S = 0.1  # a clip shorter than this cannot hold a syllable
SILENT_PEAK = 1e-4  # a clip whose peak stays below this (-80 dBFS) is silence, not speech: never scored
FLOAT_PEAK_LIMIT = 16.0  # +24 dBFS: no float recording reaches it; integer PCM stored as floats does


def _to_float(samples: np.ndarray, name: str) -> np.ndarray:
    """Scale integer PCM to [-1, 1) and return float32; floats far outside [-1, 1] are refused."""
    if samples.dtype.kind == "f":
        with warnings.catch_warnings():  # all-NaN input is refused later, with its own message
            warnings.simplefilter("ignore", RuntimeWarning)
            peak = max(-float(np.nanmin(samples)), float(np.nanmax(samples))) if samples.size else 0.0
        if peak == np.inf:  # an inf sample (refused later) beside int16 values: the finite ones decide
            peak = float(np.nanmax(np.abs(samples[np.isfinite(samples)]), initial=0.0))
        if peak > FLOAT_PEAK_LIMIT:  # int16 values in a float array: the silence gate saw +80 dBFS
            raise AudioInputError(  # the samples are the input, as NaN ones are (a service's 422, not 500)
                f"float samples reach {peak:g}, and floats are read as [-1, 1]: these look like integer "
                "PCM values stored as floats; divide them by 32768 for 16-bit audio (2147483648 for "
                "32-bit), or pass the integer array itself",
                source=name,
            )
        return samples.astype(np.float32, copy=False)
    if samples.dtype == np.uint8:  # 8-bit WAV is unsigned, centred on 128
        return (samples.astype(np.float32) - 128.0) / 128.0
    if samples.dtype.kind in "iu" and samples.dtype.itemsize == 8:
        raise SERError(
            "64-bit integer samples (what a Python list of ints becomes): their PCM width is unknown; "
            "pass np.asarray(x, np.int16) for 16-bit PCM (np.int32 for 32-bit), or floats in [-1, 1]",
            source=name,
        )
    if samples.dtype.kind in "iu":
        info = np.iinfo(samples.dtype)
        scale = float(max(abs(info.min), info.max + 1))
        return samples.astype(np.float32) / scale
    if samples.dtype == np.bool_:  # x > 0 passed by mistake was scored as a clip
        raise SERError(
            "boolean samples (True/False) are not audio; pass float or integer PCM samples", source=name
        )
    raise SERError(f"unsupported sample type {samples.dtype}; pass float or integer PCM samples", source=name)


def _rate(value: Any, name: str) -> int:
    """A sampling rate given by a user: a whole number of Hz (``16000``, ``"16000"``, ``16000.0``)."""
    try:
        rate = float("nan") if isinstance(value, bool) else float(value)  # True was read as 1 Hz
    except (TypeError, ValueError):
        rate = float("nan")
    if not (0 < rate < math.inf and rate == int(rate)):  # inf: a raw OverflowError from int()
        raise SERError(f"invalid sampling rate {value!r}; give a whole number of Hz, e.g. 16000", source=name)
    return check_rate(int(rate), name)


def channel_index(channel: Any) -> int | None:
    """A user's channel choice as a 0-based index: ``None`` (average them all), ``0``/``"left"``,
    ``1``/``"right"``, or any channel number ``N`` (``"2"`` too)."""
    if channel is None or (isinstance(channel, str) and channel.strip().lower() in ("none", "all")):
        return None  # the messages below say "none to average them": it is taken
    named = {"left": 0, "right": 1}.get(str(channel).strip().lower())
    if named is not None:
        return named
    index = counted_from_zero(channel)
    if index is None:
        raise SERError(
            f"invalid channel {channel!r}; give left, right or a channel number counted from 0 (0 = left), "
            "or none to average the channels"
        )
    return index


def counted_from_zero(value: Any) -> int | None:
    """``value`` as a number counted from 0 (an int, not a bool, or digits: ``"2"``), or None when it
    is not one (a channel's or a track's number: their callers word the error)."""
    text = str(value).strip()
    if isinstance(value, bool) or not (isinstance(value, int) or text.isdigit()) or int(text) < 0:
        return None
    return int(text)


def check_channel(count: int, channel: int | None, name: str) -> None:
    """A :class:`NoSuchChannelError` when a recording of ``count`` channels lacks ``channel`` (said from a header
    before decoding, or from the samples)."""
    if channel is not None and channel >= count:
        raise NoSuchChannelError(
            f"has {count} channel{'s' if count != 1 else ''}, so channel {channel} (counted from 0, 0 = left) "
            "is not there; pick one it has, or none to average them",
            source=name,
        )


def _pick(samples: np.ndarray, channel: int | None, name: str, axis: int) -> np.ndarray:
    """The channels along ``axis`` averaged (``channel`` None), or the one ``channel`` asks for."""
    count = samples.shape[axis]
    if channel is None:
        return samples.mean(axis=axis) if count > 1 else np.take(samples, 0, axis=axis)
    check_channel(count, channel, name)
    return np.take(samples, channel, axis=axis)


def _to_mono(
    samples: np.ndarray, name: str, channels_first: bool | None = None, channel: int | None = None
) -> np.ndarray:
    """Average channels (or keep ``channel``). 2-D input is (samples, channels) or (channels, samples):
    the short axis."""
    if samples.ndim == 1:
        return _pick(samples[None], channel, name, 0)
    if samples.ndim != 2:
        raise SERError(
            f"expected 1-D samples or a 2-D (samples, channels) array, got shape {samples.shape}",
            source=name,
        )
    if channels_first is None:
        rows, cols = samples.shape
        channels_first = rows < cols and rows <= _MAX_CHANNELS
    if samples.size == 0:  # (0, 2) read as 2 channels of nothing averaged to two NaN "samples"
        return samples.reshape(-1)[:0]
    return _pick(samples, channel, name, 0 if channels_first else 1)


def milliseconds(seconds: float) -> str:
    """``seconds`` in ms as a message gives it: whole ms from 10 ms, else to the hundredth, rounded
    down (a 3-sample clip was "0 ms long, too short", one of 99.9 ms "100 ms long, under 100 ms")."""
    ms = seconds * 1000
    return f"{math.floor(ms + 1e-9)} ms" if ms >= 10 else f"{math.floor(ms * 100 + 1e-9) / 100:g} ms"


def too_short(seconds: float) -> str | None:
    """Why a corpus clip of ``seconds`` is skipped (shorter than :data:`MIN_SPEECH_S`), or None."""
    if seconds >= MIN_SPEECH_S:
        return None
    return f"{milliseconds(seconds)} long, too short to hold speech (under {MIN_SPEECH_S * 1000:.0f} ms)"


def is_silent(samples: np.ndarray) -> bool:
    """No sample reaches :data:`SILENT_PEAK` (an empty clip too): silence, which training and
    evaluation leave out."""
    return not samples.size or float(np.abs(samples).max()) < SILENT_PEAK


def _as_array(samples: Any, name: str) -> np.ndarray:
    """A tensor or list of samples as a numpy array; a dtype numpy lacks (bfloat16) as float32,
    and a ragged list a :class:`SERError` (both were raw TypeError / ValueError tracebacks)."""
    if hasattr(samples, "detach") and hasattr(samples, "cpu"):
        samples = samples.detach().cpu()
        try:
            return samples.numpy()
        except TypeError:  # "unsupported ScalarType BFloat16"
            return samples.float().numpy()
    try:
        return np.asarray(samples)
    except ValueError as err:  # [[0.1], [0.2, 0.3]]: rows of different lengths
        raise SERError(f"samples must be a rectangular array of numbers ({err})", source=name) from err


def _is_clip(item: Any) -> bool:
    """An item of a list that is a clip of its own, not one sample or one frame of a few channels."""
    if isinstance(item, (str, os.PathLike, bytes, bytearray, dict)) or hasattr(item, "get_all_samples"):
        return True
    if isinstance(item, (list, tuple)):
        return len(item) > _MAX_CHANNELS
    return np.ndim(item) >= 1 and np.size(item) > _MAX_CHANNELS if hasattr(item, "shape") else False


def refuse_single(items: Any, what: str, single: str) -> None:
    """One path, one word or one audio dict where a list is due is a :class:`SERError` (a string
    would otherwise be read one character at a time)."""
    if isinstance(items, (str, bytes, os.PathLike, dict)):
        raise SERError(
            f"{what} takes a list, got one {type(items).__name__}; {single}",
            source=f"<{len(items)} bytes>" if isinstance(items, bytes) else str(items)[:200],
        )
    shape = getattr(items, "shape", None)  # one clip's array was read a sample (or a frame) at a time
    numeric = getattr(getattr(items, "dtype", None), "kind", "f") in "fiub"  # not an array of paths
    if numeric and shape is not None and (len(shape) < 2 or (len(shape) == 2 and shape[1] <= _MAX_CHANNELS)):
        raise SERError(
            f"{what} takes a list of clips (or a 2-D array, one clip a row), got one clip's samples of "
            f"shape {tuple(shape)}; {single}",
            source=f"{type(items).__name__} of shape {tuple(shape)}",
        )
