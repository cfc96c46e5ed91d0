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

The pure batched tensor functions it is built of (the input batch, DCT, deltas, RMS / ZCR,
normalisation) are in ``feature_functions.py``. This file is copied next to saved models, so it
imports only torch, numpy, transformers and its siblings ``feature_functions.py`` and ``errors.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from transformers import BatchFeature, SequenceFeatureExtractor
from transformers.audio_utils import mel_filter_bank

from .errors import SERError
from .feature_functions import (  # noqa: F401  (compute_deltas, dct_matrix: re-exported from their old home)
    RawSpeech,
    cached_tensor,
    compute_deltas,
    dct_matrix,
    frame_rms_zcr,
    held_deltas,
    next_pow2,
    normalize_frames,
    warn_assumed_rate,
    waveform_batch,
)

logger = logging.getLogger(__name__)

FEATURE_SETS = ("logmel", "mfcc")
NORMALIZATIONS = (None, "utterance", "global")
_AMIN = 1e-10  # floor of the power before the log: -100 dB
# Clips shorter than this are read as if zero-padded to it (batch_features), so every path (the
# stock pipeline, Trainer, evaluate, EmotionClassifier, ONNX) sees the same frames: the CNN front
# ends pool the time axis several times and need a few dozen frames to work with.
MIN_CLIP_SECONDS = 0.5

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
            n_fft = next_pow2(win_length)
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
        return cached_tensor(
            key, lambda: torch.hann_window(self.win_length, periodic=True, device=device, dtype=dtype)
        )

    def _mel_fbank(self, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """(n_fft // 2 + 1, n_mels) Slaney-scale, Slaney-normalised triangular filters."""
        f_max = self.f_max if self.f_max is not None else self.sampling_rate / 2
        key = ("mel", self.n_fft, self.f_min, f_max, self.n_mels, self.sampling_rate, device, dtype)
        return cached_tensor(
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
        return cached_tensor(key, lambda: dct_matrix(self.n_mfcc, self.n_mels).to(device, dtype))

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
            rows.extend(held_deltas(base, frames_per_clip, self.deltas, self.delta_deltas))
        if self.rms or self.zcr:
            rows.extend(frame_rms_zcr(x, n_frames, self.n_fft, hop, self.rms, self.zcr))
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
        n_frames = features.shape[1]
        real = real.bool()
        if normalize:
            features = normalize_frames(features, real, self.normalize, self.feature_mean, self.feature_std)
        features = features.masked_fill(~real[:, :, None], self.padding_value)
        if max_frames is not None and n_frames < max_frames:
            features = torch.nn.functional.pad(
                features, (0, 0, 0, max_frames - n_frames), value=self.padding_value
            )
            real = torch.nn.functional.pad(real, (0, max_frames - n_frames), value=False)
        return features.contiguous(), real.long()

    # ----------------------------------------------------------------------------- inputs
    def __call__(
        self,
        raw_speech: RawSpeech,
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
            sampling_rate: the rate of ``raw_speech``; it must equal ``self.sampling_rate``. Without
                it the audio is taken to be at ``self.sampling_rate``, with a warning (once per
                extractor), as transformers' extractors warn.
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
        warn_assumed_rate(self, sampling_rate, logger)
        if kwargs:
            logger.warning("ignoring feature extractor arguments %s", sorted(kwargs))
        if padding == "max_length" and max_length is None:
            raise SERError("padding='max_length' needs max_length (in samples)")
        waveforms, lengths = waveform_batch(raw_speech, self.sampling_rate, device, max_length, truncation)
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
                batch, lengths = waveform_batch(item, self.sampling_rate)
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
