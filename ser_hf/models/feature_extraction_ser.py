"""Batched log-mel / MFCC features for speech emotion recognition (remote code).

``SERFeatureExtractor`` turns float waveforms into frame-level features
``input_features`` float32 ``(batch, frames, feature_size)`` plus ``attention_mask`` int64
``(batch, frames)`` (1 = real frame). All the heavy math runs in torch on a whole padded batch
at once (one ``torch.stft`` call, a mel filterbank matmul, a DCT matmul), on whatever device the
waveforms are on, so the same code serves the ``audio-classification`` pipeline (CPU, numpy in)
and the training loop (GPU batches after waveform augmentation, see :meth:`batch_features`).

Feature rows, in this order: the base rows (``n_mels`` log-mel bands in dB, or ``n_mfcc``
MFCCs), then their deltas (``deltas=True``), then delta-deltas (``delta_deltas=True``), then one
frame RMS row (``rms=True``) and one zero-crossing-rate row (``zcr=True``).

Conventions (chosen to match librosa's defaults so features can be compared with it):

- Centered frames with zero padding (librosa >= 0.10 ``pad_mode="constant"``): a clip of ``N``
  samples has ``1 + N // hop_length`` frames. Zero padding (not reflection) is what makes a
  clip's frames identical alone and inside a padded batch.
- Power spectrogram of a Hann window of ``win_length`` samples zero-padded to ``n_fft``; Slaney
  mel scale with Slaney area normalisation (librosa's ``melspectrogram`` defaults).
- Log compression is decibels, ``10 * log10(max(mel, 1e-10))``, i.e. librosa's
  ``power_to_db(S, ref=1.0, amin=1e-10, top_db=None)``. With ``peak_normalize=True`` (default)
  the waveform is divided by its peak first, so the level of a recording does not move the
  features.
- MFCCs are an orthonormal DCT-II of those dB log-mels (librosa's ``mfcc`` without ``top_db``).
- Deltas are torchaudio's ``compute_deltas`` (regression over 5 frames; librosa's default
  ``width=9`` differs);
  each clip's last real frame is repeated into its padding first, so deltas are batch invariant.

This file is copied next to saved models, so it imports only torch, numpy, transformers and
its sibling ``errors.py``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from transformers import BatchFeature, SequenceFeatureExtractor
from transformers.audio_utils import mel_filter_bank

from .errors import SERError

logger = logging.getLogger(__name__)

FEATURE_SETS = ("logmel", "mfcc")
NORMALIZATIONS = (None, "utterance", "global")
_AMIN = 1e-10  # floor of the power before the log: -100 dB
_STD_EPS = 1e-5  # guards the division of per-feature normalisation on constant rows
_DELTA_WIN = 5
# Clips shorter than this are read as if zero-padded to it (batch_features), so every path (the
# stock pipeline, Trainer, evaluate, EmotionClassifier, ONNX) sees the same frames: the CNN front
# ends pool the time axis several times and need a few dozen frames to work with.
MIN_CLIP_SECONDS = 0.5

# Filterbank / DCT / window tensors per (params, device, dtype). Kept at module level, not on the
# instance, so to_dict / save_pretrained only ever see JSON values.
_TENSOR_CACHE: dict[tuple, torch.Tensor] = {}


def _next_pow2(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(max(1, n))))


def _cached(key: tuple, make) -> torch.Tensor:
    tensor = _TENSOR_CACHE.get(key)
    if tensor is None:
        if len(_TENSOR_CACHE) > 64:  # many devices/configs in one process: start afresh
            _TENSOR_CACHE.clear()
        tensor = make()
        _TENSOR_CACHE[key] = tensor
    return tensor


def dct_matrix(n_out: int, n_in: int) -> torch.Tensor:
    """(n_in, n_out) orthonormal DCT-II matrix: ``x @ D`` is scipy's ``dct(x, norm="ortho")[:n_out]``.

    Same matrix as ``torchaudio.functional.create_dct(n_out, n_in, "ortho")``; written here so
    this remote-code file needs no torchaudio.
    """
    n = torch.arange(n_in, dtype=torch.float64)
    k = torch.arange(n_out, dtype=torch.float64)
    dct = torch.cos(math.pi / n_in * (n[:, None] + 0.5) * k[None, :]) * math.sqrt(2.0 / n_in)
    dct[:, 0] *= 1.0 / math.sqrt(2.0)
    return dct.float()


def compute_deltas(specgram: torch.Tensor, win_length: int = _DELTA_WIN) -> torch.Tensor:
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


MAX_FFT = 2**16  # samples: 4 s at 16 kHz, far past any speech window
MAX_FRAMES = 8_640_000  # a day of 10-ms frames


class SERFeatureExtractor(SequenceFeatureExtractor):
    r"""Log-mel or MFCC features (with optional deltas, RMS and ZCR rows), batched in torch.

    Args:
        feature_set: ``"logmel"`` (``n_mels`` dB log-mel rows) or ``"mfcc"`` (``n_mfcc`` rows).
        sampling_rate: the rate (Hz) the waveforms must already have.
        n_mels: number of mel bands (also the DCT input size for MFCCs).
        win_length_ms: analysis window length in milliseconds (Hann window).
        hop_length_ms: frame step in milliseconds.
        n_fft: FFT size; default the next power of two >= the window length in samples.
        f_min: lowest mel filter edge in Hz.
        f_max: highest mel filter edge in Hz; default ``sampling_rate / 2``.
        n_mfcc: number of MFCCs kept (``feature_set="mfcc"``).
        deltas: append the first time derivative of the base rows.
        delta_deltas: append the second time derivative of the base rows.
        rms: append one row of frame RMS energy (of the peak-normalised waveform).
        zcr: append one row of frame zero-crossing rate (fraction of sign changes).
        peak_normalize: divide each waveform by its peak absolute value first.
        normalize: ``None``; ``"utterance"`` (per clip and per feature, mean 0 / std 1 over the
            clip's real frames); or ``"global"`` (``(x - feature_mean) / feature_std`` with
            statistics from :meth:`fit_global_stats`, stored in ``preprocessor_config.json``).
        feature_mean, feature_std: the global statistics (lists of ``feature_size`` floats).
        max_frames: if set, every clip is padded or truncated to exactly this many frames.
        padding_value: value of padded frames in ``input_features``.
        return_attention_mask: return ``attention_mask`` (models pool over real frames with it).

    ``feature_size`` (the model's ``config.num_features``) is derived: base rows times
    ``1 + deltas + delta_deltas``, plus ``rms`` and ``zcr``.
    """

    model_input_names = ["input_features", "attention_mask"]

    def __init__(
        self,
        feature_set: str = "logmel",
        sampling_rate: int = 16000,
        n_mels: int = 128,
        win_length_ms: float = 25.0,
        hop_length_ms: float = 10.0,
        n_fft: int | None = None,
        f_min: float = 0.0,
        f_max: float | None = None,
        n_mfcc: int = 40,
        deltas: bool = False,
        delta_deltas: bool = False,
        rms: bool = False,
        zcr: bool = False,
        peak_normalize: bool = True,
        normalize: str | None = None,
        feature_mean: list[float] | None = None,
        feature_std: list[float] | None = None,
        max_frames: int | None = None,
        padding_value: float = 0.0,
        return_attention_mask: bool = True,
        **kwargs: Any,
    ):
        # feature_size is derived from the options below; a saved value is checked, not trusted
        saved_feature_size = kwargs.pop("feature_size", None)
        if feature_set not in FEATURE_SETS:
            raise SERError(f"feature_set must be one of {FEATURE_SETS}, got {feature_set!r}")
        if normalize not in NORMALIZATIONS:
            raise SERError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
        sampling_rate = int(sampling_rate)
        win_length = round(sampling_rate * win_length_ms / 1000.0)
        hop_length = round(sampling_rate * hop_length_ms / 1000.0)
        if win_length < 2 or hop_length < 1:
            raise SERError(
                f"window {win_length_ms} ms / hop {hop_length_ms} ms is too short at {sampling_rate} Hz"
            )
        if n_fft is None:
            n_fft = _next_pow2(win_length)
        if not win_length <= n_fft <= MAX_FFT:  # 10**9 made every clip allocate 4 GB
            raise SERError(
                f"n_fft={n_fft} must be >= the window length in samples ({win_length}) and <= {MAX_FFT}"
            )
        if f_max is not None and not f_min < f_max <= sampling_rate / 2:
            raise SERError(f"need f_min < f_max <= sampling_rate/2, got f_min={f_min}, f_max={f_max}")
        if feature_set == "mfcc" and n_mfcc > n_mels:
            raise SERError(f"n_mfcc={n_mfcc} cannot exceed n_mels={n_mels}")
        if max_frames is not None and not 1 <= int(max_frames) <= MAX_FRAMES:  # 10**12 padded to 128 TB
            raise SERError(f"max_frames must be 1 to {MAX_FRAMES} frames (a day at 10 ms), got {max_frames}")

        self.feature_set = feature_set
        self.n_mels = int(n_mels)
        self.win_length_ms = float(win_length_ms)
        self.hop_length_ms = float(hop_length_ms)
        self.n_fft = int(n_fft)
        self.f_min = float(f_min)
        self.f_max = None if f_max is None else float(f_max)
        self.n_mfcc = int(n_mfcc)
        self.deltas = bool(deltas)
        self.delta_deltas = bool(delta_deltas)
        self.rms = bool(rms)
        self.zcr = bool(zcr)
        self.peak_normalize = bool(peak_normalize)
        self.normalize = normalize
        self.feature_mean = None if feature_mean is None else [float(v) for v in feature_mean]
        self.feature_std = None if feature_std is None else [float(v) for v in feature_std]
        self.max_frames = None if max_frames is None else int(max_frames)

        base = self.n_mels if feature_set == "logmel" else self.n_mfcc
        feature_size = base * (1 + self.deltas + self.delta_deltas) + self.rms + self.zcr
        if saved_feature_size is not None and int(saved_feature_size) != feature_size:
            raise SERError(
                f"feature_size={saved_feature_size} does not match the feature options "
                f"(they give {feature_size} rows); remove feature_size from the config"
            )
        for name, stats in (("feature_mean", self.feature_mean), ("feature_std", self.feature_std)):
            if stats is not None and len(stats) != feature_size:
                raise SERError(f"{name} has {len(stats)} values but the features have {feature_size} rows")
        super().__init__(
            feature_size=feature_size,
            sampling_rate=sampling_rate,
            padding_value=float(padding_value),
            return_attention_mask=return_attention_mask,
            **kwargs,
        )

    # ----------------------------------------------------------------------------- derived sizes
    @property
    def win_length(self) -> int:
        """Window length in samples."""
        return round(self.sampling_rate * self.win_length_ms / 1000.0)

    @property
    def hop_length(self) -> int:
        """Frame step in samples."""
        return round(self.sampling_rate * self.hop_length_ms / 1000.0)

    def num_frames(self, num_samples: int | torch.Tensor) -> int | torch.Tensor:
        """Frames for a clip of ``num_samples`` samples (before ``max_frames``): ``1 + N // hop``."""
        return 1 + num_samples // self.hop_length

    # ----------------------------------------------------------------------------- cached tensors
    def _window(self, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        key = ("hann", self.win_length, device, dtype)
        return _cached(
            key, lambda: torch.hann_window(self.win_length, periodic=True, device=device, dtype=dtype)
        )

    def _mel_fbank(self, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """(n_fft // 2 + 1, n_mels) Slaney-scale, Slaney-normalised triangular filters."""
        f_max = self.f_max if self.f_max is not None else self.sampling_rate / 2
        key = ("mel", self.n_fft, self.f_min, f_max, self.n_mels, self.sampling_rate, device, dtype)
        return _cached(
            key,
            lambda: torch.from_numpy(
                mel_filter_bank(
                    self.n_fft // 2 + 1,
                    self.n_mels,
                    self.f_min,
                    f_max,
                    self.sampling_rate,
                    norm="slaney",
                    mel_scale="slaney",
                )
            ).to(device=device, dtype=dtype),
        )

    def _dct(self, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """(n_mels, n_mfcc) orthonormal DCT-II matrix."""
        key = ("dct", self.n_mfcc, self.n_mels, device, dtype)
        return _cached(key, lambda: dct_matrix(self.n_mfcc, self.n_mels).to(device, dtype))

    # ----------------------------------------------------------------------------- the math
    @torch.no_grad()
    def batch_features(
        self,
        waveforms: torch.Tensor,
        lengths: torch.Tensor | Sequence[int] | None = None,
        max_frames: int | None = None,
        normalize: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Features of a padded batch, computed in torch on the waveforms' device.

        Args:
            waveforms: ``(batch, samples)`` float, each row a clip padded at the end.
            lengths: ``(batch,)`` real samples per clip; default every row is full length.
            max_frames: overrides ``self.max_frames`` (pad/truncate to that many frames).
            normalize: apply ``self.normalize`` (False gives the raw features, used by
                :meth:`fit_global_stats`).

        Returns:
            ``features`` float32 ``(batch, frames, feature_size)`` with ``padding_value`` in
            padded frames, and ``mask`` int64 ``(batch, frames)`` (1 = real frame).
        """
        if waveforms.dim() != 2:
            raise SERError(
                f"batch_features wants (batch, samples) waveforms, got shape {tuple(waveforms.shape)}"
            )
        device = waveforms.device
        x = waveforms.float()
        batch, total = x.shape
        if lengths is None:
            lengths = torch.full((batch,), total, dtype=torch.long, device=device)
        else:
            lengths = torch.as_tensor(lengths, dtype=torch.long, device=device).clamp(0, total)
        max_frames = self.max_frames if max_frames is None else int(max_frames)
        hop = self.hop_length

        # zero everything past each clip's end: padding must be silence for batch invariance
        positions = torch.arange(total, device=device)
        x = x.masked_fill(positions[None, :] >= lengths[:, None], 0.0)
        shortest = int(MIN_CLIP_SECONDS * self.sampling_rate)
        if batch and int(lengths.min()) < shortest:  # a short clip is read as if it ended in zeros
            x = torch.nn.functional.pad(x, (0, max(0, shortest - total)))
            total, lengths = x.shape[1], lengths.clamp(min=shortest)
        if self.peak_normalize:
            peak = x.abs().amax(dim=1, keepdim=True)
            x = x / peak.clamp_min(1e-8)

        frames_per_clip = 1 + lengths // hop
        n_frames = int(frames_per_clip.max()) if batch else 0
        if max_frames is not None:
            frames_per_clip = frames_per_clip.clamp(max=max_frames)
            # samples beyond the last kept frame's window are never needed
            needed = (max_frames - 1) * hop + self.n_fft - self.n_fft // 2
            if total > needed:
                x = x[:, :needed]
            n_frames = min(n_frames, max_frames)

        dtype = x.dtype
        spec = torch.stft(
            x,
            n_fft=self.n_fft,
            hop_length=hop,
            win_length=self.win_length,
            window=self._window(device, dtype),
            center=True,
            pad_mode="constant",
            return_complex=True,
        )  # (B, n_fft//2+1, T_stft)
        power = spec.real.square() + spec.imag.square()
        power = power[:, :, :n_frames]
        mel = torch.matmul(power.transpose(1, 2), self._mel_fbank(device, dtype))  # (B, T, n_mels)
        base = 10.0 * torch.log10(mel.clamp_min(_AMIN))
        if self.feature_set == "mfcc":
            base = torch.matmul(base, self._dct(device, dtype))  # (B, T, n_mfcc)

        frame_idx = torch.arange(n_frames, device=device)
        real = frame_idx[None, :] < frames_per_clip[:, None]  # (B, T) bool
        rows = [base]
        if self.deltas or self.delta_deltas:
            # repeat each clip's last real frame into its padding so deltas near the end of a
            # clip do not depend on what else is in the batch
            last = (frames_per_clip - 1).clamp_min(0)
            gather = torch.minimum(frame_idx[None, :], last[:, None])  # (B, T)
            index = gather[:, :, None].expand_as(base)
            d1 = compute_deltas(torch.gather(base, 1, index).transpose(1, 2)).transpose(1, 2)  # (B, T, F)
            if self.deltas:
                rows.append(d1)
            if self.delta_deltas:  # the same hold again, on the deltas
                rows.append(compute_deltas(torch.gather(d1, 1, index).transpose(1, 2)).transpose(1, 2))
        if self.rms or self.zcr:
            rows.extend(self._rms_zcr(x, n_frames))
        features = torch.cat(rows, dim=-1) if len(rows) > 1 else base
        return self.finish_features(features, real, max_frames, normalize)

    def finish_features(
        self,
        features: torch.Tensor,
        real: torch.Tensor,
        max_frames: int | None = None,
        normalize: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw features ``(B, T, F)`` with their real-frame mask ``(B, T)`` -> normalised features
        (``self.normalize``), padding set to ``padding_value``, padded to ``max_frames`` when given;
        the last step of :meth:`batch_features`, also applied to cached raw features in training."""
        device, dtype, n_frames = features.device, features.dtype, features.shape[1]
        real = real.bool()
        if normalize and self.normalize == "utterance":
            weight = real[:, :, None].to(dtype)
            count = weight.sum(dim=1, keepdim=True).clamp_min(1.0)
            mean = (features * weight).sum(dim=1, keepdim=True) / count
            var = ((features - mean).square() * weight).sum(dim=1, keepdim=True) / count
            features = (features - mean) / (var.sqrt() + _STD_EPS)
        elif normalize and self.normalize == "global":
            if self.feature_mean is None or self.feature_std is None:
                raise SERError(
                    "normalize='global' needs feature_mean/feature_std: call "
                    "fit_global_stats(training waveforms) first, or use normalize='utterance'"
                )
            mean = torch.tensor(self.feature_mean, device=device, dtype=dtype)
            std = torch.tensor(self.feature_std, device=device, dtype=dtype).clamp_min(_STD_EPS)
            features = (features - mean) / std

        features = features.masked_fill(~real[:, :, None], self.padding_value)
        if max_frames is not None and n_frames < max_frames:
            features = torch.nn.functional.pad(
                features, (0, 0, 0, max_frames - n_frames), value=self.padding_value
            )
            real = torch.nn.functional.pad(real, (0, max_frames - n_frames), value=False)
        return features.contiguous(), real.long()

    def _rms_zcr(self, x: torch.Tensor, n_frames: int) -> list[torch.Tensor]:
        """RMS and/or ZCR rows ``(B, T, 1)`` over centered, zero-padded ``n_fft`` frames.

        The STFT's frames, without its window. Frame sums come from cumulative sums (O(samples)
        instead of O(frames * n_fft)). Same definitions as librosa's ``rms`` and
        ``zero_crossing_rate``: sqrt of the mean square, and sign changes inside the frame
        divided by the frame length (0 counts as positive).
        """
        n_fft, hop = self.n_fft, self.hop_length
        half = n_fft // 2
        needed = (n_frames - 1) * hop + n_fft
        padded = torch.nn.functional.pad(x, (half, max(0, needed - (x.shape[1] + half))))
        starts = torch.arange(n_frames, device=x.device) * hop
        rows = []
        if self.rms:
            energy = torch.nn.functional.pad(padded.double().square().cumsum(dim=1), (1, 0))
            mean_square = (energy[:, starts + n_fft] - energy[:, starts]) / n_fft
            rows.append(mean_square.clamp_min(0.0).sqrt().to(x.dtype)[:, :, None])
        if self.zcr:
            positive = padded >= 0
            changes = (positive[:, 1:] != positive[:, :-1]).int().cumsum(dim=1)
            changes = torch.nn.functional.pad(changes, (1, 0))  # changes[:, j] = changes before pair j
            count = changes[:, starts + n_fft - 1] - changes[:, starts]
            rows.append((count.to(x.dtype) / n_fft)[:, :, None])
        return rows

    # ----------------------------------------------------------------------------- inputs
    def _to_batch(
        self,
        raw_speech: Any,
        device: torch.device | None,
        max_length: int | None = None,
        truncation: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Any accepted input -> ((B, N) float32 zero-padded tensor, (B,) lengths); with
        ``truncation`` each clip cut to ``max_length`` samples first, as transformers' extractors do."""
        if truncation and max_length is None:
            raise SERError(
                f"truncation=True needs max_length (in samples, e.g. {3 * self.sampling_rate} for 3 s)"
            )
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
                raise SERError(
                    f"each clip must be a 1-D mono waveform, got shape {tuple(t.shape)}", source=where
                )
            if t.numel() == 0:
                raise SERError("the clip is empty (0 samples)", source=where)
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
        for i, t in enumerate(tensors):  # copies only; the math below is batched
            batch[i, : t.numel()] = t.to(device=target, dtype=torch.float32)
        finite = torch.isfinite(batch).all(dim=1)  # one check for the whole batch
        if not bool(finite.all()):
            first = int((~finite).nonzero()[0])
            where = f"clip {first}" if len(tensors) > 1 else "audio"
            raise SERError("the audio contains NaN or Inf samples", source=where)
        return batch, lengths.to(target)

    def __call__(
        self,
        raw_speech: np.ndarray | torch.Tensor | list[float] | list[np.ndarray] | list[torch.Tensor],
        sampling_rate: int | None = None,
        return_tensors: str | None = None,
        device: str | torch.device | None = None,
        padding: bool | str = True,
        max_frames: int | None = None,
        return_attention_mask: bool | None = None,
        max_length: int | None = None,
        truncation: bool = False,
        **kwargs: Any,
    ) -> BatchFeature:
        """Features for one clip or a batch of clips.

        Args:
            raw_speech: one 1-D float waveform (numpy, list or tensor), a list of them, or a 2-D
                ``(batch, samples)`` array; already at ``self.sampling_rate``, mono.
            sampling_rate: the rate of ``raw_speech``; it must equal ``self.sampling_rate``.
            return_tensors: ``"pt"``, ``"np"`` or None (lists of numpy arrays).
            device: compute there (``"cuda"``); ``"pt"`` outputs stay on it.
            padding: True / ``"longest"`` pads to the longest clip; False / ``"do_not_pad"``
                returns each clip's real frames only (lists, so not with ``return_tensors``
                unless there is one clip); ``"max_length"`` pads to ``max_length`` samples.
            max_length, truncation: as transformers' audio extractors, in samples:
                ``truncation=True`` cuts each clip to ``max_length`` samples.
            max_frames: overrides ``self.max_frames`` for this call.
            return_attention_mask: overrides ``self.return_attention_mask``.

        Returns:
            ``BatchFeature`` with ``input_features`` ``(batch, frames, feature_size)`` float32 and
            ``attention_mask`` ``(batch, frames)`` int64.
        """
        if sampling_rate is not None and int(sampling_rate) != self.sampling_rate:
            raise SERError(
                f"the audio is at {sampling_rate} Hz but this feature extractor expects "
                f"{self.sampling_rate} Hz: resample it first, e.g. with "
                f"ser_hf.load_audio(path_or_array, sampling_rate={self.sampling_rate})"
            )
        if sampling_rate is None:
            logger.debug("no sampling_rate given: assuming the audio is at %d Hz", self.sampling_rate)
        if kwargs:
            logger.warning("ignoring feature extractor arguments %s", sorted(kwargs))
        if padding == "max_length" and max_length is None:
            raise SERError("padding='max_length' needs max_length (in samples)")
        waveforms, lengths = self._to_batch(raw_speech, device, max_length, truncation)
        features, mask = self.batch_features(waveforms, lengths, max_frames=max_frames)
        if padding == "max_length" and features.shape[1] < 1 + max_length // self.hop_length:
            extra = 1 + max_length // self.hop_length - features.shape[1]  # masked frames
            features = torch.nn.functional.pad(features, (0, 0, 0, extra), value=self.padding_value)
            mask = torch.nn.functional.pad(mask, (0, extra))

        if return_tensors not in ("pt", "np", None):
            raise SERError(f"return_tensors must be 'pt', 'np' or None, got {return_tensors!r}")
        want_mask = self.return_attention_mask if return_attention_mask is None else return_attention_mask
        if padding in (False, "do_not_pad") and max_frames is None and self.max_frames is None:
            counts = mask.sum(dim=1).tolist()
            if return_tensors is not None and len(set(counts)) > 1:
                raise SERError("padding=False with return_tensors needs clips of equal length")
            features, mask = features[:, : max(counts)], mask[:, : max(counts)]
        else:
            counts = [features.shape[1]] * features.shape[0]

        if return_tensors == "pt":
            data = {"input_features": features, "attention_mask": mask}
        elif return_tensors == "np":
            data = {"input_features": features.cpu().numpy(), "attention_mask": mask.cpu().numpy()}
        else:  # lists of per-clip numpy arrays, as transformers' extractors return them
            data = {
                "input_features": [f[:n].cpu().numpy() for f, n in zip(features, counts)],
                "attention_mask": [m[:n].cpu().numpy() for m, n in zip(mask, counts)],
            }
        if not want_mask:
            del data["attention_mask"]
        return BatchFeature(data, tensor_type=return_tensors)

    # ----------------------------------------------------------------------------- global stats
    def fit_global_stats(self, waveforms: Iterable[Any]) -> SERFeatureExtractor:
        """Compute ``feature_mean`` / ``feature_std`` over the real frames of many clips.

        Args:
            waveforms: an iterable whose items are one clip (1-D array/tensor), a list of clips,
                a padded ``(batch, samples)`` tensor, a ``(waveforms, lengths)`` pair, or a
                dict with ``"array"`` (and optionally ``"sampling_rate"``), as datasets yields.

        Returns:
            ``self``, with the statistics set (save it to keep them). ``normalize`` is left as
            is; set ``normalize="global"`` to use them.
        """
        total = None
        total_sq = None
        count = 0
        for item in waveforms:
            if isinstance(item, dict):
                if "audio" in item and isinstance(item["audio"], dict):
                    item = item["audio"]
                sr = item.get("sampling_rate")
                if sr is not None and int(sr) != self.sampling_rate:
                    raise SERError(
                        f"a clip is at {sr} Hz, expected {self.sampling_rate} Hz: resample it first"
                    )
                item = item["array"]
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], torch.Tensor):
                batch, lengths = item
                if batch.dim() == 1:
                    batch = batch[None]
            else:
                batch, lengths = self._to_batch(item, None)
            feats, mask = self.batch_features(batch, lengths, max_frames=None, normalize=False)
            real = feats[mask.bool()].double()  # (real frames, feature_size)
            s, sq = real.sum(dim=0).cpu(), real.square().sum(dim=0).cpu()
            total = s if total is None else total + s
            total_sq = sq if total_sq is None else total_sq + sq
            count += real.shape[0]
        if count == 0:
            raise SERError("fit_global_stats got no audio")
        mean = total / count
        std = (total_sq / count - mean.square()).clamp_min(0.0).sqrt()
        self.feature_mean = [float(v) for v in mean]
        self.feature_std = [float(v) for v in std]
        return self


SERFeatureExtractor.register_for_auto_class()
