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
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..errors import SERError
from .audio import MIN_SPEECH_S
from .transforms import (
    _as_generator,
    _check_batch,
    _lengths_mask,
    _Random,
    add_noise,
    apply_gain,
    invert_polarity,
    phase_vocoder,
    pitch_shift,
    random_crop_pad,
    reverberate,
    spec_augment,
    speed_perturb,
    stretch_and_shift,
    synthetic_rirs,
    time_shift,
    time_stretch,
)

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
]


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


def _finite(value: Any) -> bool:
    """A real, finite number (a JSON NaN trained on NaN audio; a string failed mid-training)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def whole_count(value: Any) -> bool:
    """A whole number >= 0 (``2.0`` from a YAML or JSON config too), not a bool."""
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())  # 2.0 from YAML
    return whole and not isinstance(value, bool) and value >= 0


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
            if len(value) != 2 or not all(map(_finite, value)) or value[0] > value[1]:
                raise SERError(
                    f"{name} must be [low, high], finite numbers with low <= high, got {value}",
                    source="AugmentConfig",
                )
            setattr(self, name, [float(v) for v in value])
        if not self.speed_factors or not all(_finite(f) and f > 0 for f in self.speed_factors):
            raise SERError(
                "speed_factors must be a non-empty list of finite factors > 0 (e.g. [0.9, 1.0, 1.1]), "
                f"got {self.speed_factors}",
                source="AugmentConfig",
            )
        self.speed_factors = [float(v) for v in self.speed_factors]
        if not -12 <= self.pitch_semitones[0] <= self.pitch_semitones[1] <= 12:  # as --channel pitch
            raise SERError(
                f"pitch_semitones must lie within [-12, 12], got {self.pitch_semitones}",
                source="AugmentConfig",
            )
        crop = self.crop_seconds
        if crop is not None and not (_finite(crop) and crop >= MIN_SPEECH_S):
            raise SERError(
                f"crop_seconds must be at least {MIN_SPEECH_S:g} s (null: no crop), got {crop}",
                source="AugmentConfig",
            )
        for name in (
            "spec_freq_masks",
            "spec_freq_width",
            "spec_time_masks",
            "spec_time_width",
            "offline_copies",
        ):
            if not whole_count(getattr(self, name)):
                raise SERError(
                    f"{name} must be a whole number >= 0, got {getattr(self, name)!r}", source="AugmentConfig"
                )
            setattr(self, name, int(getattr(self, name)))  # 2.0 from a YAML or JSON config
        for name in (f.name for f in dataclasses.fields(self) if f.name.endswith("_prob")):
            if not (_finite(getattr(self, name)) and 0.0 <= getattr(self, name) <= 1.0):
                raise SERError(
                    f"{name} must be a probability in [0, 1], got {getattr(self, name)}",
                    source="AugmentConfig",
                )
        if self.stretch_rate[0] <= 0 or not (_finite(self.pitch_step) and self.pitch_step > 0):
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
