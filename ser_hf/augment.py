"""Batched, on-device data augmentation for speech emotion recognition.

Everything here works on a padded batch of waveforms ``waves (B, N)`` with ``lengths (B,)`` (real
samples per clip; the samples beyond are padding and stay exactly zero), on whatever device the
batch lives on (CPU or GPU), in the torchaudio style: pure, batched tensor functions
(:func:`add_noise`, :func:`apply_gain`, :func:`pitch_shift`, :func:`time_stretch`,
:func:`speed_perturb`, :func:`time_shift`, :func:`invert_polarity`, :func:`random_crop_pad`,
:func:`reverberate`, :func:`spec_augment`) plus thin modules that draw the random parameters from
an :class:`AugmentConfig` (:class:`WaveformAugmenter`, :class:`SpecAugment`).

No transform loops over clips in Python. The resampling steps (pitch shift, speed perturbation)
loop over a handful of discrete parameter values (a semitone grid, a few speed factors), because a
polyphase resampling kernel depends on the ratio; everything else, including the phase vocoder,
takes one parameter per clip in a single batched call.

Augmentation is for TRAINING clips only, after the speaker split:

- on the fly: call :class:`WaveformAugmenter` / :class:`SpecAugment` on training batches; both are
  ``nn.Module`` s and are the identity in ``eval()`` mode or when their config is disabled;
- offline: :func:`expand_offline` / :func:`expand_dataset` write N augmented copies of each clip
  they are given. They never look at validation or test data because the caller passes only the
  training split; passing anything else would leak augmented copies of evaluation clips.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import torch
import torchaudio.functional as AF
from torch import nn

from .errors import SERError

logger = logging.getLogger(__name__)

__all__ = [
    "AUGMENT_PRESETS",
    "AugmentConfig",
    "WaveAugmentConfig",
    "WaveformAugmenter",
    "SpecAugment",
    "augment_waveforms",
    "add_noise",
    "apply_gain",
    "invert_polarity",
    "time_shift",
    "speed_perturb",
    "time_stretch",
    "pitch_shift",
    "stretch_and_shift",
    "phase_vocoder",
    "synthetic_rirs",
    "reverberate",
    "random_crop_pad",
    "spec_augment",
    "expand_offline",
    "augmented_dataset",
    "expand_dataset",
]


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


@dataclass
class AugmentConfig:
    """Every augmentation with its probability (per clip) and range.

    Plain fields only, so the class works as an ``HfArgumentParser`` dataclass and round-trips
    through JSON/YAML (:meth:`to_dict` / :meth:`from_dict`). A probability of 0 disables a
    transform; :meth:`from_preset` gives the named designs in :data:`AUGMENT_PRESETS`.
    Ranges are ``[low, high]`` lists, drawn uniformly per clip unless noted.
    """

    noise_prob: float = field(default=0.0, metadata={"help": "Probability of additive Gaussian noise."})
    noise_snr_db: list[float] = field(
        default_factory=lambda: [10.0, 30.0],
        metadata={"help": "SNR range in dB (vs the clip's real samples)."},
    )
    gain_prob: float = field(default=0.0, metadata={"help": "Probability of a random gain."})
    gain_db: list[float] = field(default_factory=lambda: [-6.0, 6.0], metadata={"help": "Gain range in dB."})
    pitch_prob: float = field(default=0.0, metadata={"help": "Probability of a pitch shift."})
    pitch_semitones: list[float] = field(
        default_factory=lambda: [-2.0, 2.0], metadata={"help": "Pitch shift range in semitones."}
    )
    pitch_step: float = field(
        default=0.5,
        metadata={
            "help": "Shifts are rounded to this grid (semitones); each grid value is one resampling group."
        },
    )
    stretch_prob: float = field(default=0.0, metadata={"help": "Probability of a time stretch (pitch kept)."})
    stretch_rate: list[float] = field(
        default_factory=lambda: [0.8, 1.25],
        metadata={"help": "Stretch rate range (log-uniform); >1 is faster, duration becomes 1/rate."},
    )
    pitch_stretch_exclusive: bool = field(
        default=False,
        metadata={"help": "A clip drawn for both pitch shift and stretch gets only one (coin flip)."},
    )
    speed_prob: float = field(
        default=0.0, metadata={"help": "Probability of speed perturbation (tempo and pitch)."}
    )
    speed_factors: list[float] = field(
        default_factory=lambda: [0.9, 1.0, 1.1],
        metadata={"help": "Speed factors, one picked uniformly per clip."},
    )
    shift_prob: float = field(default=0.0, metadata={"help": "Probability of a time shift."})
    shift_fraction: list[float] = field(
        default_factory=lambda: [-0.2, 0.2],
        metadata={"help": "Shift range as a fraction of the clip's length."},
    )
    shift_rollover: bool = field(
        default=False, metadata={"help": "Roll the clip around instead of filling the gap with zeros."}
    )
    polarity_prob: float = field(default=0.0, metadata={"help": "Probability of inverting the polarity."})
    reverb_prob: float = field(default=0.0, metadata={"help": "Probability of synthetic-room reverberation."})
    reverb_rt60: list[float] = field(
        default_factory=lambda: [0.2, 0.8], metadata={"help": "Reverberation time RT60 range in seconds."}
    )
    reverb_drr_db: list[float] = field(
        default_factory=lambda: [0.0, 10.0], metadata={"help": "Direct-to-reverberant ratio range in dB."}
    )
    crop_seconds: float | None = field(
        default=None, metadata={"help": "Random crop (longer clips) / zero pad (shorter) to this duration."}
    )
    spec_prob: float = field(default=0.0, metadata={"help": "Probability of SpecAugment masking per clip."})
    spec_freq_masks: int = field(default=2, metadata={"help": "Number of frequency masks."})
    spec_freq_width: int = field(default=8, metadata={"help": "Maximum width of a frequency mask (bins)."})
    spec_time_masks: int = field(default=2, metadata={"help": "Number of time masks."})
    spec_time_width: int = field(default=15, metadata={"help": "Maximum width of a time mask (frames)."})
    spec_fill: str = field(
        default="mean", metadata={"help": "Masked value: 'mean' (of the clip's real frames) or 'zero'."}
    )
    offline_copies: int = field(
        default=0, metadata={"help": "Augmented copies per training clip for offline expansion (0: none)."}
    )
    stft_n_fft: int = field(
        default=512, metadata={"help": "STFT size of the phase vocoder (hop = n_fft // 4)."}
    )

    def __post_init__(self) -> None:
        for name in (
            "noise_snr_db",
            "gain_db",
            "pitch_semitones",
            "stretch_rate",
            "shift_fraction",
            "reverb_rt60",
            "reverb_drr_db",
        ):
            value = list(getattr(self, name))
            if len(value) == 1:
                value = value * 2
            if len(value) != 2 or value[0] > value[1]:
                raise SERError(
                    f"{name} must be [low, high] with low <= high, got {value}", source="AugmentConfig"
                )
            setattr(self, name, [float(v) for v in value])
        self.speed_factors = [float(v) for v in self.speed_factors]
        for name in (f.name for f in dataclasses.fields(self) if f.name.endswith("_prob")):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise SERError(
                    f"{name} must be a probability in [0, 1], got {getattr(self, name)}",
                    source="AugmentConfig",
                )
        if self.stretch_rate[0] <= 0 or any(f <= 0 for f in self.speed_factors) or self.pitch_step <= 0:
            raise SERError("stretch rates, speed factors and pitch_step must be > 0", source="AugmentConfig")
        if self.spec_fill not in ("mean", "zero"):
            raise SERError(
                f"spec_fill must be 'mean' or 'zero', got {self.spec_fill!r}", source="AugmentConfig"
            )
        if self.reverb_rt60[0] <= 0:
            raise SERError("reverb_rt60 must be > 0 seconds", source="AugmentConfig")

    @property
    def waveform_enabled(self) -> bool:
        """True when at least one waveform transform can fire."""
        probs = (
            self.noise_prob,
            self.gain_prob,
            self.pitch_prob,
            self.stretch_prob,
            self.speed_prob,
            self.shift_prob,
            self.polarity_prob,
            self.reverb_prob,
        )
        return any(p > 0 for p in probs) or self.crop_seconds is not None

    @property
    def spec_enabled(self) -> bool:
        """True when SpecAugment can mask anything."""
        return self.spec_prob > 0 and (
            (self.spec_freq_masks > 0 and self.spec_freq_width > 0)
            or (self.spec_time_masks > 0 and self.spec_time_width > 0)
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> AugmentConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SERError(
                f"unknown augmentation fields {unknown}; known: {sorted(known)}", source="AugmentConfig"
            )
        return cls(**values)

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> AugmentConfig:
        """The preset ``name`` (see :data:`AUGMENT_PRESETS`) with ``overrides`` applied."""
        if name not in AUGMENT_PRESETS:
            raise SERError(
                f"unknown augmentation preset {name!r}; choose one of {sorted(AUGMENT_PRESETS)}",
                source="preset",
            )
        return cls.from_dict({**AUGMENT_PRESETS[name], **overrides})


# The architecture map names this class WaveAugmentConfig.
WaveAugmentConfig = AugmentConfig

AUGMENT_PRESETS: dict[str, dict[str, Any]] = {
    # nothing: the identity
    "none": {},
    # mild, cheap, on the fly
    "light": {
        "noise_prob": 0.3,
        "noise_snr_db": [15.0, 30.0],
        "gain_prob": 0.3,
        "gain_db": [-6.0, 6.0],
        "shift_prob": 0.3,
        "shift_fraction": [-0.1, 0.1],
        "spec_prob": 0.5,
        "spec_freq_masks": 1,
        "spec_time_masks": 1,
    },
    # the seed design: 2 offline copies per clip, each pitch-shifted (+-2 st) OR time-stretched
    # (0.8-1.25), plus noise
    "seed": {
        "pitch_prob": 1.0,
        "pitch_semitones": [-2.0, 2.0],
        "stretch_prob": 1.0,
        "stretch_rate": [0.8, 1.25],
        "pitch_stretch_exclusive": True,
        "noise_prob": 1.0,
        "noise_snr_db": [10.0, 30.0],
        "offline_copies": 2,
    },
    # everything, for on-the-fly training of larger models
    "strong": {
        "noise_prob": 0.5,
        "noise_snr_db": [5.0, 30.0],
        "gain_prob": 0.5,
        "gain_db": [-9.0, 6.0],
        "pitch_prob": 0.3,
        "stretch_prob": 0.3,
        "speed_prob": 0.3,
        "shift_prob": 0.5,
        "polarity_prob": 0.5,
        "reverb_prob": 0.3,
        "spec_prob": 0.8,
        "spec_freq_masks": 2,
        "spec_time_masks": 2,
    },
}


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _lengths_mask(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """(B,) lengths -> (B, width) bool, True on real samples."""
    return torch.arange(width, device=lengths.device)[None, :] < lengths[:, None]


def _check_batch(waves: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    if waves.dim() != 2:
        raise SERError(
            f"expected waveforms shaped (batch, samples), got {tuple(waves.shape)}", source="augment"
        )
    if not waves.is_floating_point():
        raise SERError(f"expected float waveforms, got {waves.dtype}", source="augment")
    if lengths is None:
        return torch.full((waves.shape[0],), waves.shape[1], dtype=torch.long, device=waves.device)
    lengths = torch.as_tensor(lengths, device=waves.device).long()
    if lengths.shape != (waves.shape[0],):
        raise SERError(
            f"lengths must be shaped ({waves.shape[0]},), got {tuple(lengths.shape)}", source="augment"
        )
    if (lengths < 0).any() or (lengths > waves.shape[1]).any():
        raise SERError("lengths must lie between 0 and the padded width", source="augment")
    return lengths


def _rational(ratio: float, tolerance: float = 1e-3) -> Fraction:
    """A fraction with a small denominator within ``tolerance`` (relative) of ``ratio``.

    torchaudio's polyphase resampler builds one kernel row per output phase, so 2**(2/12) as
    15101/16000 Hz would be enormous; 9/8 is 0.2% away and cheap.
    """
    limit = 8
    while True:
        frac = Fraction(ratio).limit_denominator(limit)
        if abs(float(frac) / ratio - 1.0) <= tolerance or limit >= 4096:
            return frac
        limit *= 2


def _merge_rows(
    waves: torch.Tensor,
    lengths: torch.Tensor,
    idx: torch.Tensor,
    rows: torch.Tensor,
    row_lengths: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Write transformed ``rows`` back at ``idx``; the width grows when a row got longer, never shrinks."""
    rows = rows[:, : int(row_lengths.max()) if row_lengths.numel() else 0]
    width = max(waves.shape[1], rows.shape[1])
    if idx.numel() == waves.shape[0]:  # every row was transformed (idx is sorted): no copy back
        out = torch.nn.functional.pad(rows.to(waves.dtype), (0, width - rows.shape[1]))
    else:
        out = torch.nn.functional.pad(waves, (0, width - waves.shape[1]))
        out[idx] = 0
        out[idx, : rows.shape[1]] = rows.to(out.dtype)
    lengths = lengths.clone()
    lengths[idx] = row_lengths
    return out.masked_fill_(~_lengths_mask(lengths, width), 0), lengths


class _Random:
    """Draws random numbers from an optional generator, then moves them to the data's device.

    ``torch.Generator`` s are per device: draws use the generator's own device so a CPU generator
    gives the same numbers for a CPU or a GPU batch (and a CUDA generator works for a GPU batch).
    """

    def __init__(self, generator: torch.Generator | None, device: torch.device):
        self.generator = generator
        self.device = device
        self.draw_device = generator.device if generator is not None else device

    def rand(self, *shape: int) -> torch.Tensor:
        return torch.rand(shape, generator=self.generator, device=self.draw_device).to(self.device)

    def randn(self, *shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=self.generator, device=self.draw_device).to(self.device)

    def uniform(self, low: float, high: float, n: int) -> torch.Tensor:
        return low + (high - low) * self.rand(n)

    def bernoulli(self, prob: float, n: int) -> torch.Tensor:
        return self.rand(n) < prob

    def choice(self, values: Sequence[float], n: int) -> torch.Tensor:
        pick = (self.rand(n) * len(values)).long().clamp(max=len(values) - 1)
        return torch.tensor(values, dtype=torch.float32, device=self.device)[pick]


def _as_generator(generator: torch.Generator | int | None, device: torch.device) -> torch.Generator | None:
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    gen = torch.Generator(device=device)
    gen.manual_seed(int(generator))
    return gen


# --------------------------------------------------------------------------------------------
# Pure waveform transforms: (B, N) + lengths (B,) + per-clip parameters (B,)
# --------------------------------------------------------------------------------------------


def apply_gain(waves: torch.Tensor, gain_db: torch.Tensor) -> torch.Tensor:
    """Scale each clip by ``gain_db`` (B,) decibels. Padding (zeros) stays zero."""
    return waves * (10.0 ** (gain_db.to(waves) / 20.0))[:, None]


def invert_polarity(waves: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """Negate the clips where ``flip`` (B,) bool is True."""
    return torch.where(flip[:, None], -waves, waves)


def add_noise(
    waves: torch.Tensor,
    lengths: torch.Tensor,
    snr_db: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Add white Gaussian noise to the real samples at ``snr_db`` (B,) (``inf`` = no noise).

    Signal and noise powers are both measured over the real samples only, and the noise is scaled
    to its measured power, so the SNR is exact rather than right on average. Silent clips get none.
    """
    lengths = _check_batch(waves, lengths)
    mask = _lengths_mask(lengths, waves.shape[1]).to(waves.dtype)
    count = lengths.clamp(min=1).to(waves.dtype)
    noise = _Random(generator, waves.device).randn(*waves.shape).to(waves.dtype) * mask
    signal_power = (waves.square() * mask).sum(1) / count
    noise_power = noise.square().sum(1) / count
    scale = torch.sqrt(signal_power / (noise_power.clamp(min=1e-12) * 10.0 ** (snr_db.to(waves) / 10.0)))
    return waves + noise * scale[:, None]


def time_shift(
    waves: torch.Tensor, lengths: torch.Tensor, shifts: torch.Tensor, rollover: bool = False
) -> torch.Tensor:
    """Shift each clip by ``shifts`` (B,) samples inside its real part (positive = later).

    With ``rollover`` the samples pushed out come back at the other end (a roll within the real
    part); otherwise the gap is zero-filled. Lengths do not change.
    """
    lengths = _check_batch(waves, lengths)
    width = waves.shape[1]
    t = torch.arange(width, device=waves.device)[None, :]
    src = t - shifts.long()[:, None]
    if rollover:
        src = torch.remainder(src, lengths.clamp(min=1)[:, None])
    valid = (src >= 0) & (src < lengths[:, None]) & (t < lengths[:, None])
    return torch.gather(waves, 1, src.clamp(0, max(width - 1, 0))).masked_fill_(~valid, 0)


def random_crop_pad(
    waves: torch.Tensor, lengths: torch.Tensor, target: int, starts: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Crop each clip to ``target`` samples from ``starts`` (B,) (0 by default), zero-padding short ones.

    Returns ``(waves (B, target), lengths)``; a start beyond ``length - target`` is clamped so a
    long clip always keeps ``target`` real samples.
    """
    lengths = _check_batch(waves, lengths)
    starts = torch.zeros_like(lengths) if starts is None else starts.long()
    starts = torch.minimum(starts, (lengths - target).clamp(min=0)).clamp(min=0)
    if waves.shape[1] < 1:
        return waves.new_zeros(waves.shape[0], target), torch.zeros_like(lengths)
    src = starts[:, None] + torch.arange(target, device=waves.device)[None, :]
    valid = src < lengths[:, None]
    out = torch.gather(waves, 1, src.clamp(max=waves.shape[1] - 1)).masked_fill_(~valid, 0)
    return out, (lengths - starts).clamp(min=0, max=target)


def speed_perturb(
    waves: torch.Tensor, lengths: torch.Tensor, factors: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Play each clip ``factors`` (B,) times faster (tempo and pitch), by resampling.

    Clips are grouped by factor (one resampling kernel per distinct value), so pass a few discrete
    factors (e.g. 0.9/1.0/1.1). Lengths become ``ceil(length / factor)``; the batch widens if needed.
    """
    lengths = _check_batch(waves, lengths)
    out, out_lengths = waves, lengths
    for value in sorted(set(factors.tolist()) - {1.0}):
        idx = torch.nonzero(factors == value).flatten()
        frac = _rational(value)
        sub_len = lengths[idx]
        sub = waves[idx, : int(sub_len.max())]
        # resampling num -> den samples per unit time: length * den / num = length / factor
        rows = AF.resample(sub, frac.numerator, frac.denominator)
        new_len = torch.ceil(sub_len * frac.denominator / frac.numerator).long()
        out, out_lengths = _merge_rows(out, out_lengths, idx, rows, new_len)
    return out, out_lengths


def phase_vocoder(
    spec: torch.Tensor, rates: torch.Tensor, out_frames: torch.Tensor, hop_length: int
) -> torch.Tensor:
    """torchaudio's phase vocoder with one stretch rate PER CLIP.

    ``torchaudio.functional.phase_vocoder`` takes one rate for the whole batch; this is the same
    algorithm (linear magnitude interpolation, accumulated instantaneous phase) with per-row read
    positions ``k * rates[b]``, so a batch with continuous random rates needs one call.

    Args:
        spec: complex STFT (B, F, T).
        rates: (B,) >1 speeds up.
        out_frames: (B,) frames to produce per clip; frames beyond are zero.
        hop_length: the STFT hop (sets the expected phase advance per bin).

    Returns:
        complex (B, F, max(out_frames)).
    """
    batch, n_freq, n_frames = spec.shape
    real_dtype = spec.real.dtype
    t_out = int(out_frames.max()) if out_frames.numel() else 0
    k = torch.arange(t_out, device=spec.device, dtype=real_dtype)
    steps = k[None, :] * rates.to(real_dtype)[:, None]  # (B, T_out) read positions in input frames
    alphas = (steps % 1.0)[:, None, :]
    phase_advance = torch.linspace(0, math.pi * hop_length, n_freq, device=spec.device, dtype=real_dtype)[
        None, :, None
    ]
    # angles and magnitudes once per input frame, then gathered (atan2 is the costly part)
    padded = torch.nn.functional.pad(spec, [0, 3])
    angle, norm = padded.angle(), torch.hypot(padded.real, padded.imag)  # hypot: faster than abs() on CPU
    idx0 = steps.long().clamp(max=n_frames + 1)[:, None, :].expand(batch, n_freq, t_out)
    idx1 = idx0 + 1
    phase = torch.gather(angle, 2, idx1) - torch.gather(angle, 2, idx0) - phase_advance
    phase = phase - 2 * math.pi * torch.round(phase / (2 * math.pi)) + phase_advance
    phase = torch.cat([angle[..., :1], phase[..., :-1]], dim=-1)
    mag = alphas * torch.gather(norm, 2, idx1) + (1 - alphas) * torch.gather(norm, 2, idx0)
    mag = mag * (k[None, None, :] < out_frames[:, None, None])
    return torch.polar(mag, torch.cumsum(phase, -1))


def _stretch_rows(
    waves: torch.Tensor, lengths: torch.Tensor, rates: torch.Tensor, n_fft: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Phase-vocoder stretch of every row (no identity skipping). New length = round(length / rate)."""
    hop = n_fft // 4
    work = waves if waves.dtype in (torch.float32, torch.float64) else waves.float()
    window = torch.hann_window(n_fft, device=work.device, dtype=work.dtype)
    if work.shape[1] <= n_fft // 2:  # reflect padding in stft needs more than n_fft // 2 samples
        work = torch.nn.functional.pad(work, (0, n_fft // 2 + 1 - work.shape[1]))
    # zero (not reflect) padding at the edges: a reflected onset is a transient whose phase
    # increments the vocoder re-reads when slowing down, which smears bin phases for the whole clip
    spec = torch.stft(work, n_fft, hop, window=window, return_complex=True, pad_mode="constant")
    new_lengths = torch.round(lengths.to(torch.float64) / rates.to(torch.float64)).long()
    stretched = phase_vocoder(spec, rates, new_lengths // hop + 1, hop)
    out = torch.istft(stretched, n_fft, hop, window=window, length=int(new_lengths.max()))
    out = out.masked_fill_(~_lengths_mask(new_lengths, out.shape[1]), 0)
    # The plain phase vocoder loses some energy when slowing down (bins of one partial drift out
    # of phase after each onset: "phasiness"); restore each clip's RMS so a stretch is no gain change.
    rms_in = work.square().sum(1) / lengths.clamp(min=1)
    rms_out = out.square().sum(1) / new_lengths.clamp(min=1)
    out = out * torch.sqrt(rms_in / rms_out.clamp(min=1e-20))[:, None]
    return out.to(waves.dtype), new_lengths


def stretch_and_shift(
    waves: torch.Tensor,
    lengths: torch.Tensor,
    rates: torch.Tensor,
    semitones: torch.Tensor,
    n_fft: int = 512,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Time-stretch by ``rates`` (B,) and pitch-shift by ``semitones`` (B,) in ONE vocoder pass.

    A pitch shift by ratio r is a stretch by r followed by resampling by 1/r; a clip that is also
    stretched by ``rate`` just gets the vocoder rate ``rate / r``, so both cost one STFT, one
    (per-clip-rate) phase vocoder and one inverse STFT for the whole batch, then one resampling
    per distinct semitone value. r is a small-denominator fraction within 0.1% of 2**(st/12), which
    keeps the polyphase resampler cheap. Rows with rate 1 and no shift are untouched. Lengths
    become ``round(length / rate)``; the batch widens if needed.
    """
    lengths = _check_batch(waves, lengths)
    idx = torch.nonzero((rates != 1.0) | (semitones != 0)).flatten()
    if idx.numel() == 0:
        return waves, lengths
    sub_len, sub_rates, sub_st = lengths[idx], rates[idx].to(torch.float64), semitones[idx]
    fracs = {v: _rational(2.0 ** (v / 12.0)) for v in set(sub_st.tolist()) if v != 0}
    ratios = torch.tensor(
        [float(fracs[v]) if v != 0 else 1.0 for v in sub_st.tolist()],
        device=waves.device,
        dtype=torch.float64,
    )
    target_len = torch.round(sub_len.to(torch.float64) / sub_rates).long()
    vocoded, vocoded_len = _stretch_rows(waves[idx, : int(sub_len.max())], sub_len, sub_rates / ratios, n_fft)
    width = int(target_len.max())
    rows = torch.nn.functional.pad(vocoded, (0, max(0, width - vocoded.shape[1])))[:, :width].clone()
    for value, frac in fracs.items():
        group = torch.nonzero(sub_st == value).flatten()
        # num -> den resampling: the vocoded length L*r/rate becomes L/rate and frequencies scale by r
        resampled = AF.resample(
            vocoded[group, : int(vocoded_len[group].max())], frac.numerator, frac.denominator
        )
        resampled = torch.nn.functional.pad(resampled, (0, max(0, width - resampled.shape[1])))[:, :width]
        rows[group] = resampled
    rows = rows.masked_fill_(~_lengths_mask(target_len, width), 0)
    return _merge_rows(waves, lengths, idx, rows, target_len)


def time_stretch(
    waves: torch.Tensor, lengths: torch.Tensor, rates: torch.Tensor, n_fft: int = 512
) -> tuple[torch.Tensor, torch.Tensor]:
    """Change each clip's tempo by ``rates`` (B,) (>1 faster) keeping its pitch (phase vocoder).

    Any mix of continuous rates runs as one batched STFT, vocoder and inverse STFT; rows with rate 1
    are untouched. Lengths become ``round(length / rate)``; the batch widens if needed.
    """
    return stretch_and_shift(waves, lengths, rates, torch.zeros_like(rates), n_fft)


def pitch_shift(
    waves: torch.Tensor, lengths: torch.Tensor, semitones: torch.Tensor, n_fft: int = 512
) -> torch.Tensor:
    """Shift each clip's pitch by ``semitones`` (B,) keeping its duration (see :func:`stretch_and_shift`).

    Rows are grouped by distinct semitone value for the resampling step, so pass values from a
    small grid (the config rounds to ``pitch_step``).
    """
    out, _ = stretch_and_shift(
        waves, lengths, torch.ones(semitones.shape, device=waves.device), semitones, n_fft
    )
    return out


def _fast_fft_size(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            size = p35
            while size < n:
                size *= 2
            best = min(best, size)
            p35 *= 3
        p5 *= 5
    return best


def synthetic_rirs(
    rt60: torch.Tensor,
    drr_db: torch.Tensor,
    sampling_rate: int,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Synthetic room impulse responses: a direct impulse plus exponentially decaying noise.

    The tail's amplitude falls by 60 dB after ``rt60`` (B,) seconds and its energy is ``drr_db``
    (B,) below the direct path (the direct-to-reverberant ratio). Returns (B, ceil(max rt60 * sr)).
    """
    device = torch.device(device) if device is not None else rt60.device
    rt60 = rt60.to(device=device, dtype=torch.float32)
    n = max(2, math.ceil(round(float(rt60.max()) * sampling_rate, 3)))  # round: 0.8 s is 12800, not 12801
    t = torch.arange(n, device=device, dtype=torch.float32)[None, :] / sampling_rate
    envelope = torch.exp(-3.0 * math.log(10.0) * t / rt60[:, None])
    tail = _Random(generator, device).randn(rt60.shape[0], n) * envelope
    tail[:, : max(1, sampling_rate // 1000)] = 0  # 1 ms before the first reflection
    energy = tail.square().sum(1, keepdim=True).clamp(min=1e-12)
    tail = tail * torch.sqrt(
        10.0 ** (-drr_db.to(device=device, dtype=torch.float32)[:, None] / 10.0) / energy
    )
    tail[:, 0] = 1.0
    return tail


def reverberate(waves: torch.Tensor, lengths: torch.Tensor, rirs: torch.Tensor) -> torch.Tensor:
    """Convolve each clip with its impulse response ``rirs`` (B, K) (FFT convolution).

    The reverberant tail is cut at the clip's real length (lengths do not change) and each clip
    keeps the RMS of its real samples, so reverberation does not act as a gain change.
    """
    lengths = _check_batch(waves, lengths)
    mask = _lengths_mask(lengths, waves.shape[1]).to(waves.dtype)
    # FFT convolution at a 5-smooth size >= N + K - 1 (no circular wrap into the kept part);
    # torchaudio's fftconvolve uses exactly N + K - 1, which can be a slow (prime) FFT length
    n = _fast_fft_size(waves.shape[1] + rirs.shape[1] - 1)
    spectrum = torch.fft.rfft(waves, n=n) * torch.fft.rfft(rirs.to(waves), n=n)
    wet = torch.fft.irfft(spectrum, n=n)[:, : waves.shape[1]] * mask
    count = lengths.clamp(min=1).to(waves.dtype)
    rms_in = torch.sqrt((waves.square() * mask).sum(1) / count)
    rms_out = torch.sqrt((wet.square()).sum(1) / count).clamp(min=1e-12)
    return wet * (rms_in / rms_out)[:, None]


# --------------------------------------------------------------------------------------------
# SpecAugment on features (B, T, F)
# --------------------------------------------------------------------------------------------


def _band_mask(starts: torch.Tensor, widths: torch.Tensor, size: int) -> torch.Tensor:
    """(B, M) starts/widths -> (B, size) bool union of [start, start + width)."""
    pos = torch.arange(size, device=starts.device)[None, None, :]
    return ((pos >= starts[..., None]) & (pos < (starts + widths)[..., None])).any(1)


def spec_augment(
    features: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    *,
    freq_masks: int = 2,
    freq_width: int = 8,
    time_masks: int = 2,
    time_width: int = 15,
    fill: str = "mean",
    apply: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """SpecAugment frequency and time masking of ``features`` (B, T, F), on real frames only.

    Each mask's width is uniform in ``[0, width]`` and its start uniform over the positions where
    it fits; time masks are placed inside each clip's real frames (``attention_mask`` (B, T), 1 =
    real), and frequency masks touch real frames only, so padding is never changed. Masked values
    become the clip's mean over its real frames (``fill="mean"``) or 0. ``apply`` (B,) bool limits
    masking to some clips. Returns a new tensor.
    """
    batch, n_frames, n_bins = features.shape
    device = features.device
    rng = _Random(generator, device)
    real = (
        torch.ones(batch, n_frames, dtype=torch.bool, device=device)
        if attention_mask is None
        else attention_mask.to(device).bool()
    )
    frames = real.sum(1)
    masked = torch.zeros(batch, n_frames, n_bins, dtype=torch.bool, device=device)
    if freq_masks > 0 and freq_width > 0:
        widths = (rng.rand(batch, freq_masks) * (freq_width + 1)).long().clamp(max=min(freq_width, n_bins))
        starts = (rng.rand(batch, freq_masks) * (n_bins - widths + 1)).long()
        masked |= _band_mask(starts, widths, n_bins)[:, None, :]
    if time_masks > 0 and time_width > 0:
        widths = (rng.rand(batch, time_masks) * (time_width + 1)).long()
        widths = torch.minimum(widths, frames[:, None])
        starts = (rng.rand(batch, time_masks) * (frames[:, None] - widths + 1)).long()
        masked |= _band_mask(starts, widths, n_frames)[:, :, None]
    masked &= real[:, :, None]
    if apply is not None:
        masked &= apply.to(device).bool()[:, None, None]
    if fill == "mean":
        realf = real[:, :, None].to(features.dtype)
        value = (features * realf).sum((1, 2)) / (frames.clamp(min=1) * n_bins).to(features.dtype)
        value = value[:, None, None].expand_as(features)
    elif fill == "zero":
        value = torch.zeros_like(features)
    else:
        raise SERError(f"fill must be 'mean' or 'zero', got {fill!r}", source="spec_augment")
    return torch.where(masked, value, features)


# --------------------------------------------------------------------------------------------
# Config-driven modules
# --------------------------------------------------------------------------------------------


def augment_waveforms(
    waves: torch.Tensor,
    lengths: torch.Tensor | None,
    config: AugmentConfig,
    sampling_rate: int = 16000,
    generator: torch.Generator | int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply every enabled transform of ``config`` to a random subset of clips.

    Args:
        waves: float (B, N) on any device; samples beyond ``lengths`` are padding.
        lengths: (B,) real samples per clip (None: all N).
        config: probabilities and ranges.
        sampling_rate: of ``waves`` (reverb times and crop durations are in seconds).
        generator: a ``torch.Generator`` (on the CPU or on the batch's device) or an int seed, for
            reproducible draws; None uses torch's global generator.

    Returns:
        ``(waves (B, N'), lengths (B,))``. N' grows when a clip got longer (slower speed/stretch)
        and equals the crop length when ``crop_seconds`` is set. Padding is exactly zero.

    Order: speed, time stretch / pitch shift, reverb, shift, gain, polarity, noise (last, so the
    SNR is relative to the final signal), crop/pad.
    """
    lengths = _check_batch(waves, lengths)
    if not config.waveform_enabled or waves.shape[0] == 0:
        return waves, lengths
    device = waves.device
    gen = _as_generator(generator, device)
    rng = _Random(gen, device)
    batch = waves.shape[0]
    x, lens = waves.masked_fill(~_lengths_mask(lengths, waves.shape[1]), 0), lengths

    if config.speed_prob > 0:
        on = rng.bernoulli(config.speed_prob, batch)
        factors = rng.choice(config.speed_factors, batch)
        x, lens = speed_perturb(x, lens, torch.where(on, factors, torch.ones_like(factors)))

    pitch_on = rng.bernoulli(config.pitch_prob, batch) if config.pitch_prob > 0 else None
    stretch_on = rng.bernoulli(config.stretch_prob, batch) if config.stretch_prob > 0 else None
    if pitch_on is not None and stretch_on is not None and config.pitch_stretch_exclusive:
        both = pitch_on & stretch_on
        keep_pitch = rng.bernoulli(0.5, batch)
        pitch_on = pitch_on & ~(both & ~keep_pitch)
        stretch_on = stretch_on & ~(both & keep_pitch)
    if stretch_on is not None or pitch_on is not None:
        rates = torch.ones(batch, device=device)
        semitones = torch.zeros(batch, device=device)
        if stretch_on is not None:
            low, high = (math.log(r) for r in config.stretch_rate)
            rates = torch.where(stretch_on, torch.exp(rng.uniform(low, high, batch)), rates)
        if pitch_on is not None:
            raw = rng.uniform(*config.pitch_semitones, batch)
            step = config.pitch_step
            grid = torch.round(raw / step) * step
            # a drawn shift never rounds to "no shift" unless the range is only zero
            grid = torch.where((grid == 0) & (raw != 0), torch.sign(raw) * step, grid)
            semitones = torch.where(pitch_on, grid.clamp(*config.pitch_semitones), semitones)
        x, lens = stretch_and_shift(x, lens, rates, semitones, config.stft_n_fft)

    if config.reverb_prob > 0:
        on = rng.bernoulli(config.reverb_prob, batch)
        rt60 = rng.uniform(*config.reverb_rt60, batch)
        drr = rng.uniform(*config.reverb_drr_db, batch)
        idx = torch.nonzero(on).flatten()
        if idx.numel():
            sub_len = lens[idx]
            rirs = synthetic_rirs(rt60[idx], drr[idx], sampling_rate, gen, device)
            x = x.clone()
            x[idx, : int(sub_len.max())] = reverberate(x[idx, : int(sub_len.max())], sub_len, rirs)

    if config.shift_prob > 0:
        on = rng.bernoulli(config.shift_prob, batch)
        shifts = torch.round(rng.uniform(*config.shift_fraction, batch) * lens).long()
        x = time_shift(x, lens, torch.where(on, shifts, torch.zeros_like(shifts)), config.shift_rollover)
    if config.gain_prob > 0:
        on = rng.bernoulli(config.gain_prob, batch)
        gains = rng.uniform(*config.gain_db, batch)
        x = apply_gain(x, torch.where(on, gains, torch.zeros_like(gains)))
    if config.polarity_prob > 0:
        x = invert_polarity(x, rng.bernoulli(config.polarity_prob, batch))
    if config.noise_prob > 0:
        on = rng.bernoulli(config.noise_prob, batch)
        snr = rng.uniform(*config.noise_snr_db, batch)
        x = add_noise(x, lens, torch.where(on, snr, torch.full_like(snr, math.inf)), gen)
    if config.crop_seconds is not None:
        target = max(1, round(config.crop_seconds * sampling_rate))
        starts = (rng.rand(batch) * (lens - target + 1).clamp(min=1)).long()
        x, lens = random_crop_pad(x, lens, target, starts)
    return x.masked_fill(~_lengths_mask(lens, x.shape[1]), 0), lens


class WaveformAugmenter(nn.Module):
    """Config-driven waveform augmentation for training batches (see :func:`augment_waveforms`).

    ``augmenter(waves (B, N), lengths (B,), generator=None) -> (waves, lengths)``. The identity in
    ``eval()`` mode and when the config enables nothing, so it can stay in a training loop that
    also evaluates. Apply it to training batches only.
    """

    def __init__(self, config: AugmentConfig | None = None, sampling_rate: int = 16000):
        super().__init__()
        self.config = config or AugmentConfig()
        self.sampling_rate = sampling_rate

    @property
    def enabled(self) -> bool:
        return self.training and self.config.waveform_enabled

    def forward(
        self,
        waves: torch.Tensor,
        lengths: torch.Tensor | None = None,
        generator: torch.Generator | int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.enabled:
            return waves, _check_batch(waves, lengths)
        return augment_waveforms(waves, lengths, self.config, self.sampling_rate, generator)

    def extra_repr(self) -> str:
        return f"sampling_rate={self.sampling_rate}, enabled={self.config.waveform_enabled}"


class SpecAugment(nn.Module):
    """Config-driven SpecAugment for feature batches (see :func:`spec_augment`).

    ``spec(input_features (B, T, F), attention_mask (B, T) = None, generator=None) -> features``;
    each clip is masked with probability ``config.spec_prob``. The identity in ``eval()`` mode and
    when disabled.
    """

    def __init__(self, config: AugmentConfig | None = None):
        super().__init__()
        self.config = config or AugmentConfig()

    @property
    def enabled(self) -> bool:
        return self.training and self.config.spec_enabled

    def forward(
        self,
        input_features: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        generator: torch.Generator | int | None = None,
    ) -> torch.Tensor:
        if not self.enabled:
            return input_features
        cfg = self.config
        gen = _as_generator(generator, input_features.device)
        apply = _Random(gen, input_features.device).bernoulli(cfg.spec_prob, input_features.shape[0])
        return spec_augment(
            input_features,
            attention_mask,
            freq_masks=cfg.spec_freq_masks,
            freq_width=cfg.spec_freq_width,
            time_masks=cfg.spec_time_masks,
            time_width=cfg.spec_time_width,
            fill=cfg.spec_fill,
            apply=apply,
            generator=gen,
        )


# --------------------------------------------------------------------------------------------
# Offline expansion
# --------------------------------------------------------------------------------------------


def _to_clip_list(
    waveforms: Sequence[np.ndarray] | torch.Tensor | np.ndarray, lengths: Sequence[int] | torch.Tensor | None
) -> list[np.ndarray]:
    if isinstance(waveforms, (torch.Tensor, np.ndarray)) and np.ndim(waveforms) == 2:
        padded = torch.as_tensor(waveforms).detach().cpu().float().numpy()
        lens = [padded.shape[1]] * padded.shape[0] if lengths is None else [int(n) for n in lengths]
        return [padded[i, : lens[i]] for i in range(padded.shape[0])]
    clips = [np.asarray(w, dtype=np.float32) for w in waveforms]
    for i, clip in enumerate(clips):
        if clip.ndim != 1:
            raise SERError(f"clip {i} is shaped {clip.shape}; pass mono 1-D arrays", source="expand_offline")
    if lengths is not None:
        clips = [clip[: int(n)] for clip, n in zip(clips, lengths)]
    return clips


def expand_offline(
    waveforms: Sequence[np.ndarray] | torch.Tensor | np.ndarray,
    lengths: Sequence[int] | torch.Tensor | None,
    labels: Sequence[Any],
    copies: int,
    config: AugmentConfig,
    seed: int = 0,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
    sampling_rate: int = 16000,
    include_original: bool = False,
) -> tuple[list[np.ndarray], list[Any], list[int]]:
    """``copies`` augmented versions of every clip given, computed in batches on ``device``.

    Pass the TRAINING split only: the function augments whatever it receives, and augmented copies
    of validation or test clips would leak into training.

    Args:
        waveforms: a list of 1-D float arrays, or a padded (B, N) array/tensor with ``lengths``.
        lengths: real samples per clip for a padded input (None: whole arrays).
        labels: one label per clip (any type), copied to its augmented versions.
        copies: augmented versions per clip (the seed design used 2, another design 6).
        config: the transforms (``crop_seconds`` etc. apply as on the fly).
        seed: for the torch generator; the result is reproducible for the same seed and batch size.
        batch_size: rows per augmentation call (clips are sorted by length to limit padding).
        device: where the batches are augmented ("cuda" when available).
        sampling_rate: of the waveforms.
        include_original: also return each clip itself (first, unaugmented).

    Returns:
        ``(arrays, labels, source_index)``: float32 1-D arrays trimmed to their real length, their
        labels, and the index of the clip each came from; rows of one source are contiguous, in
        source order (original first when included, then copy 0, 1, ...).
    """
    clips = _to_clip_list(waveforms, lengths)
    if len(labels) != len(clips):
        raise SERError(f"{len(labels)} labels for {len(clips)} clips", source="expand_offline")
    if copies < 0:
        raise SERError(f"copies must be >= 0, got {copies}", source="expand_offline")
    device = torch.device(device)
    per_source = copies + int(include_original)
    outputs: list[np.ndarray | None] = [None] * (len(clips) * per_source)
    jobs = [(i, c) for i in range(len(clips)) for c in range(copies)]
    jobs.sort(key=lambda job: (len(clips[job[0]]), job))
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    augmenter = WaveformAugmenter(config, sampling_rate).to(device).train()
    for start in range(0, len(jobs), max(1, batch_size)):
        chunk = jobs[start : start + max(1, batch_size)]
        lens = torch.tensor([len(clips[i]) for i, _ in chunk], dtype=torch.long)
        batch = torch.zeros(len(chunk), max(1, int(lens.max())), dtype=torch.float32)
        for row, (i, _) in enumerate(chunk):
            batch[row, : lens[row]] = torch.from_numpy(clips[i])
        out, out_lens = augmenter(batch.to(device), lens.to(device), generator=generator)
        out, out_lens = out.cpu().numpy(), out_lens.cpu().tolist()
        for row, (i, c) in enumerate(chunk):
            outputs[i * per_source + int(include_original) + c] = out[row, : out_lens[row]].copy()
    if include_original:
        for i, clip in enumerate(clips):
            outputs[i * per_source] = clip.copy()
    source_index = [i for i in range(len(clips)) for _ in range(per_source)]
    logger.info(
        "offline augmentation: %d clips -> %d rows (%d copies each)", len(clips), len(outputs), copies
    )
    return outputs, [labels[i] for i in source_index], source_index  # type: ignore[return-value]


def augmented_dataset(
    arrays: Sequence[np.ndarray],
    labels: Sequence[Any],
    source_index: Sequence[int],
    sampling_rate: int = 16000,
    label_feature: Any = None,
    audio_feature: bool = True,
    label_column: str = "emotion",
    audio_column: str = "audio",
) -> Any:
    """A ``datasets.Dataset`` of offline-augmented clips, ready for ``save_to_disk``.

    Columns: ``audio`` (an ``Audio(sampling_rate, num_channels=1)`` feature when ``audio_feature``,
    stored as float WAV bytes and decoded on demand like a corpus; else raw float32 sequences), ``emotion`` (cast to
    ``label_feature``, e.g. the training split's ``ClassLabel``, when given) and ``source_index``.
    """
    import datasets

    if audio_feature:
        import soundfile

        # 32-bit float WAV bytes: lossless, and no clipping of copies that a gain pushed past 1.0
        # (datasets' own encoding writes 16-bit PCM)
        audio = []
        for a in arrays:
            buffer = io.BytesIO()
            soundfile.write(
                buffer, np.asarray(a, dtype=np.float32), sampling_rate, format="WAV", subtype="FLOAT"
            )
            audio.append({"bytes": buffer.getvalue(), "path": None})
        audio_type: Any = datasets.Audio(sampling_rate=sampling_rate, num_channels=1)
    else:
        audio = [np.asarray(a, dtype=np.float32) for a in arrays]
        audio_type = datasets.List(datasets.Value("float32"))
    label_type = label_feature
    if label_type is None:
        label_type = (
            datasets.Value("int64")
            if all(isinstance(v, (int, np.integer)) for v in labels)
            else datasets.Value("string")
        )
    features = datasets.Features(
        {audio_column: audio_type, label_column: label_type, "source_index": datasets.Value("int64")}
    )
    return datasets.Dataset.from_dict(
        {audio_column: audio, label_column: list(labels), "source_index": [int(i) for i in source_index]},
        features=features,
    )


def expand_dataset(
    dataset: Any,
    copies: int,
    config: AugmentConfig,
    seed: int = 0,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
    audio_column: str = "audio",
    label_column: str = "emotion",
    include_original: bool = False,
) -> Any:
    """Offline expansion of a TRAINING ``datasets.Dataset`` (decoded audio column + label column).

    Decodes every clip, runs :func:`expand_offline`, and returns :func:`augmented_dataset` with the
    source's label feature plus its other light columns (speaker, gender, ...) copied by
    ``source_index``, so the result can be concatenated with or replace the training split.
    """
    if audio_column not in dataset.column_names or label_column not in dataset.column_names:
        raise SERError(
            f"dataset needs columns {audio_column!r} and {label_column!r}; it has {dataset.column_names}",
            source="expand_dataset",
        )
    arrays, rates = [], set()
    for row in dataset.select_columns([audio_column]):
        audio = row[audio_column]
        if isinstance(audio, (list, np.ndarray)):
            arrays.append(np.asarray(audio, dtype=np.float32))
            continue
        arrays.append(np.asarray(audio["array"], dtype=np.float32).reshape(-1))
        rates.add(int(audio["sampling_rate"]))
    if len(rates) > 1:
        raise SERError(
            f"clips have several sampling rates {sorted(rates)}; cast the column with Audio(sampling_rate=16000)",
            source="expand_dataset",
        )
    sampling_rate = rates.pop() if rates else 16000
    labels = dataset[label_column]
    out, out_labels, source_index = expand_offline(
        arrays, None, labels, copies, config, seed, batch_size, device, sampling_rate, include_original
    )
    result = augmented_dataset(
        out,
        out_labels,
        source_index,
        sampling_rate,
        label_feature=dataset.features[label_column],
        label_column=label_column,
        audio_column=audio_column,
    )
    extra = [c for c in dataset.column_names if c not in (audio_column, label_column, "source_index")]
    if extra:
        meta = dataset.select_columns(extra).select(source_index)
        for name in extra:
            result = result.add_column(name, meta[name], feature=meta.features[name])
    return result
