"""The pure, batched tensor functions :class:`SERFeatureExtractor` is built of (remote code).

In the order the features flow: any audio a caller passes as one zero-padded ``(batch, samples)``
tensor with its lengths (:func:`waveform_batch`, also the functionals extractors' input); the
orthonormal DCT-II of MFCCs (:func:`dct_matrix`); deltas (:func:`compute_deltas`), held at each
clip's last real frame so they do not depend on the batch (:func:`held_deltas`); frame RMS and
zero-crossing rate (:func:`frame_rms_zcr`); per-clip or global normalisation over the real frames
(:func:`normalize_frames`); and the warning for samples given without their rate
(:func:`warn_assumed_rate`). Each runs on whatever device its input is on, as
``torchaudio.functional`` does; the extractor holds the options and the filterbank.

This file is copied next to saved models, so it imports only torch, numpy and its sibling
``errors.py``.
"""

from __future__ import annotations

import logging
import math
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .errors import AudioInputError, SERError

# what an extractor's __call__ takes: one clip, a list of clips, or a (batch, samples) array
RawSpeech = np.ndarray | torch.Tensor | list[float] | list[np.ndarray] | list[torch.Tensor]

DELTA_WIN = 5  # frames of the deltas' regression (torchaudio's default; librosa's is 9)
STD_EPS = 1e-5  # guards the division of per-feature normalisation on constant rows

# Filterbank / DCT / window tensors per (params, device, dtype). Kept at module level, not on the
# extractor, so to_dict / save_pretrained only ever see JSON values.
_TENSOR_CACHE: dict[tuple, torch.Tensor] = {}


def cached_tensor(key: tuple, make: Callable[[], torch.Tensor]) -> torch.Tensor:
    """``make()`` once per ``key`` (its parameters, device and dtype) in this process."""
    tensor = _TENSOR_CACHE.get(key)
    if tensor is None:
        if len(_TENSOR_CACHE) > 64:  # many devices/configs in one process: start afresh
            _TENSOR_CACHE.clear()
        tensor = make()
        _TENSOR_CACHE[key] = tensor
    return tensor


# the extractors that said they took samples without a rate to be at theirs: kept here, not on the
# extractor, so to_dict / save_pretrained never see it
_TOLD_RATE: weakref.WeakSet[Any] = weakref.WeakSet()


def warn_assumed_rate(extractor: Any, sampling_rate: int | None, log: logging.Logger) -> None:
    """Warn through ``log``, once per extractor, when ``sampling_rate`` is None: the samples are then
    taken to be at the extractor's own rate, and audio at another rate is scored wrong without an
    error (an 8-kHz clip read as 16 kHz: ``angry`` 0.98 became 0.77). Transformers' own extractors
    say it on every call; once per extractor keeps a ``datasets.map`` over a corpus readable, and a
    second model (maybe at another rate) says it again."""
    if sampling_rate is not None or extractor in _TOLD_RATE:
        return
    _TOLD_RATE.add(extractor)
    rate = int(extractor.sampling_rate)
    log.warning(
        "It is strongly recommended to pass the `sampling_rate` argument to `%s()`: samples given "
        "without it are taken to be at this extractor's %d Hz, and audio at another rate gives wrong "
        "scores without an error. Pass sampling_rate=<the audio's rate> (another rate than %d raises "
        "an error), or resample first, e.g. ser_hf.load_audio(samples, source_rate=<their rate>, "
        "sampling_rate=%d) (said once per extractor)",
        type(extractor).__name__,
        rate,
        rate,
        rate,
    )


def next_pow2(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(max(1, n))))


def waveform_batch(
    raw_speech: Any,
    sampling_rate: int,
    device: str | torch.device | None = None,
    max_length: int | None = None,
    truncation: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Any accepted input -> ((B, N) float32 zero-padded tensor, (B,) lengths) on ``device`` (default
    the first clip's); with ``truncation`` each clip cut to ``max_length`` samples first, as
    transformers' extractors do. Integer PCM is scaled to [-1, 1); ``sampling_rate`` is the
    extractor's, for the messages."""
    if truncation and max_length is None:
        raise SERError(f"truncation=True needs max_length (in samples, e.g. {3 * sampling_rate} for 3 s)")
    if isinstance(raw_speech, (np.ndarray, torch.Tensor)) and raw_speech.ndim == 2:
        if raw_speech.shape[1] <= 2 < raw_speech.shape[0]:
            raise SERError(
                f"got an array shaped {tuple(raw_speech.shape)}, which looks like (samples, channels): "
                "mix it down to mono (e.g. ser_hf.load_audio) and pass a 1-D array"
            )
        clips = list(raw_speech)
    elif isinstance(raw_speech, (np.ndarray, torch.Tensor)):
        if raw_speech.ndim != 1:
            raise SERError(
                f"audio must be 1-D (one clip) or 2-D (a batch), got shape {tuple(raw_speech.shape)}"
            )
        clips = [raw_speech]
    elif isinstance(raw_speech, (list, tuple)):
        if len(raw_speech) == 0:
            raise SERError("got an empty list of audio clips")
        first = raw_speech[0]
        if isinstance(first, (np.ndarray, torch.Tensor, list, tuple)):
            clips = list(raw_speech)
        else:  # a list of numbers is one clip
            clips = [raw_speech]
    else:
        raise SERError(
            f"cannot read audio of type {type(raw_speech).__name__}: pass a 1-D float array, a "
            "list of them, or load files with ser_hf.load_audio"
        )

    tensors = []
    for i, clip in enumerate(clips):
        if isinstance(clip, torch.Tensor):
            t = clip
        else:
            array = np.asarray(clip)
            # decoded audio can be read-only (the pipeline's ffmpeg buffer): torch needs a copy
            t = torch.from_numpy(array if array.flags.writeable else array.copy())
        where = f"clip {i}" if len(clips) > 1 else "audio"
        if t.ndim != 1:
            raise SERError(f"each clip must be a 1-D mono waveform, got shape {tuple(t.shape)}", source=where)
        if t.numel() == 0:
            raise AudioInputError("the clip is empty (0 samples)", source=where)
        if truncation:
            t = t[:max_length]
        if not torch.is_floating_point(t):
            if t.dtype == torch.bool or torch.is_complex(t):
                raise SERError(f"audio must be real numbers, got {t.dtype}", source=where)
            # integer PCM (e.g. int16 from a microphone): scale to [-1, 1) as load_audio and
            # soundfile do (by 2 ** (bits - 1)); 8-bit is unsigned, centred on 128
            info = torch.iinfo(t.dtype)
            scale = float(max(-info.min, info.max + 1))
            t = (t.float() - 128.0) / 128.0 if t.dtype == torch.uint8 else t.float() / scale
        tensors.append(t)

    lengths = torch.tensor([t.numel() for t in tensors], dtype=torch.long)
    target = torch.device(device) if device is not None else tensors[0].device
    batch = torch.zeros(len(tensors), int(lengths.max()), dtype=torch.float32, device=target)
    for i, t in enumerate(tensors):  # copies only; the math is batched
        batch[i, : t.numel()] = t.to(device=target, dtype=torch.float32)
    finite = torch.isfinite(batch).all(dim=1)  # one check for the whole batch
    if not bool(finite.all()):
        first = int((~finite).nonzero()[0])
        where = f"clip {first}" if len(tensors) > 1 else "audio"
        raise AudioInputError("the audio contains NaN or Inf samples", source=where)
    return batch, lengths.to(target)


def dct_matrix(n_out: int, n_in: int) -> torch.Tensor:
    """(n_in, n_out) orthonormal DCT-II matrix: ``x @ D`` is scipy's ``dct(x, norm="ortho")[:n_out]``.

    Same matrix as ``torchaudio.functional.create_dct(n_out, n_in, "ortho")``; written here so
    the remote code needs no torchaudio.
    """
    n = torch.arange(n_in, dtype=torch.float64)
    k = torch.arange(n_out, dtype=torch.float64)
    dct = torch.cos(math.pi / n_in * (n[:, None] + 0.5) * k[None, :]) * math.sqrt(2.0 / n_in)
    dct[:, 0] *= 1.0 / math.sqrt(2.0)
    return dct.float()


def compute_deltas(specgram: torch.Tensor, win_length: int = DELTA_WIN) -> torch.Tensor:
    """Time derivative of ``(..., freq, time)`` by linear regression over ``win_length`` frames.

    The edges repeat the first/last frame. Same as ``torchaudio.functional.compute_deltas``.
    """
    n = (win_length - 1) // 2
    shape = specgram.shape
    x = specgram.reshape(-1, 1, shape[-1])
    x = torch.nn.functional.pad(x, (n, n), mode="replicate")
    kernel = torch.arange(-n, n + 1, device=x.device, dtype=x.dtype)[None, None, :]
    denom = n * (n + 1) * (2 * n + 1) / 3
    return (torch.nn.functional.conv1d(x, kernel) / denom).reshape(shape)


def held_deltas(
    base: torch.Tensor, frames_per_clip: torch.Tensor, deltas: bool, delta_deltas: bool
) -> list[torch.Tensor]:
    """The delta and/or delta-delta rows ``(B, T, F)`` of ``base`` ``(B, T, F)``. Each clip's last real
    frame (``frames_per_clip``, ``(B,)``) is repeated into its padding first, so the deltas near the
    end of a clip do not depend on what else is in the batch."""
    frame_idx = torch.arange(base.shape[1], device=base.device)
    last = (frames_per_clip - 1).clamp_min(0)
    gather = torch.minimum(frame_idx[None, :], last[:, None])  # (B, T)
    index = gather[:, :, None].expand_as(base)
    d1 = compute_deltas(torch.gather(base, 1, index).transpose(1, 2)).transpose(1, 2)  # (B, T, F)
    rows = [d1] if deltas else []
    if delta_deltas:  # the same hold again, on the deltas
        rows.append(compute_deltas(torch.gather(d1, 1, index).transpose(1, 2)).transpose(1, 2))
    return rows


def frame_rms_zcr(
    x: torch.Tensor, n_frames: int, n_fft: int, hop: int, rms: bool, zcr: bool
) -> list[torch.Tensor]:
    """RMS and/or ZCR rows ``(B, T, 1)`` of waveforms ``x`` ``(B, N)`` over centered, zero-padded
    ``n_fft`` frames.

    The STFT's frames, without its window. Frame sums come from cumulative sums (O(samples)
    instead of O(frames * n_fft)). Same definitions as librosa's ``rms`` and
    ``zero_crossing_rate``: sqrt of the mean square, and sign changes inside the frame
    divided by the frame length (0 counts as positive).
    """
    half = n_fft // 2
    needed = (n_frames - 1) * hop + n_fft
    padded = torch.nn.functional.pad(x, (half, max(0, needed - (x.shape[1] + half))))
    starts = torch.arange(n_frames, device=x.device) * hop
    rows = []
    if rms:
        energy = torch.nn.functional.pad(padded.double().square().cumsum(dim=1), (1, 0))
        mean_square = (energy[:, starts + n_fft] - energy[:, starts]) / n_fft
        rows.append(mean_square.clamp_min(0.0).sqrt().to(x.dtype)[:, :, None])
    if zcr:
        positive = padded >= 0
        changes = (positive[:, 1:] != positive[:, :-1]).int().cumsum(dim=1)
        changes = torch.nn.functional.pad(changes, (1, 0))  # changes[:, j] = changes before pair j
        count = changes[:, starts + n_fft - 1] - changes[:, starts]
        rows.append((count.to(x.dtype) / n_fft)[:, :, None])
    return rows


def normalize_frames(
    features: torch.Tensor,
    real: torch.Tensor,
    normalize: str | None,
    feature_mean: list[float] | None = None,
    feature_std: list[float] | None = None,
) -> torch.Tensor:
    """``features`` ``(B, T, F)`` normalised per feature: ``"utterance"``, mean 0 / std 1 over each
    clip's real frames (``real``, ``(B, T)`` bool); ``"global"``, ``(x - feature_mean) / feature_std``;
    ``None``, as they are."""
    if normalize == "utterance":
        weight = real[:, :, None].to(features.dtype)
        count = weight.sum(dim=1, keepdim=True).clamp_min(1.0)
        mean = (features * weight).sum(dim=1, keepdim=True) / count
        var = ((features - mean).square() * weight).sum(dim=1, keepdim=True) / count
        return (features - mean) / (var.sqrt() + STD_EPS)
    if normalize == "global":
        if feature_mean is None or feature_std is None:
            raise SERError(
                "normalize='global' needs feature_mean/feature_std: call "
                "fit_global_stats(training waveforms) first, or use normalize='utterance'"
            )
        mean = torch.tensor(feature_mean, device=features.device, dtype=features.dtype)
        std = torch.tensor(feature_std, device=features.device, dtype=features.dtype).clamp_min(STD_EPS)
        return (features - mean) / std
    return features
