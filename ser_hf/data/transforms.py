"""Pure, batched augmentation transforms in the torchaudio style, plus :class:`SpecAugment`.

Each function takes a padded batch ``waves (B, N)`` with ``lengths (B,)`` (or log-mel frames for
:func:`spec_augment`) and per-clip parameters as tensors, runs on whatever device its input is on,
and keeps padding exactly zero. :mod:`ser_hf.data.augment` draws the parameters from an
:class:`~ser_hf.data.augment.AugmentConfig`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from fractions import Fraction

import torch
import torchaudio.functional as AF

from ..errors import SERError

logger = logging.getLogger(__name__)

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
    color: float = 0.0,
) -> torch.Tensor:
    """Add Gaussian noise to the real samples at ``snr_db`` (B,) (``inf`` = no noise).

    ``color`` is the exponent of the noise's power spectrum, 1 / f ** color: 0 white, 1 pink (the
    slope of most room, street and crowd noise), 2 brown. Signal and noise powers are both
    measured over the real samples only, and the noise is scaled to its measured power, so the SNR
    is exact rather than right on average. Silent clips get none.
    """
    lengths = _check_batch(waves, lengths)
    mask = _lengths_mask(lengths, waves.shape[1]).to(waves.dtype)
    count = lengths.clamp(min=1).to(waves.dtype)
    noise = _Random(generator, waves.device).randn(*waves.shape).to(waves.dtype)
    if color and waves.shape[1] > 1:
        f = torch.fft.rfftfreq(waves.shape[1], device=waves.device)
        shape = f.clamp(min=f[1]).pow(-color / 2.0)  # amplitude ~ f ** (-color / 2); DC as the lowest bin
        noise = torch.fft.irfft(torch.fft.rfft(noise) * shape, n=waves.shape[1]).to(waves.dtype)
    noise = noise * mask
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
    return _same_rms(wet, waves, mask, lengths)


def _same_rms(
    out: torch.Tensor, waves: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor
) -> torch.Tensor:
    """``out`` (B, N; zero in the padding) scaled so each clip has the RMS of its real samples in ``waves``."""
    count = lengths.clamp(min=1).to(waves.dtype)
    rms_in = torch.sqrt((waves.square() * mask).sum(1) / count)
    rms_out = torch.sqrt(out.square().sum(1) / count).clamp(min=1e-12)
    return out * (rms_in / rms_out)[:, None]


def band_limit(
    waves: torch.Tensor,
    lengths: torch.Tensor,
    sampling_rate: int,
    low_hz: torch.Tensor,
    high_hz: torch.Tensor,
) -> torch.Tensor:
    """Keep only ``low_hz`` (B,) to ``high_hz`` (B,) of each clip's spectrum (what a small
    loudspeaker, a cheap microphone or a phone line passes): a zero-phase FFT filter with
    raised-cosine edges half an octave wide (a brick wall would ring). Padding stays zero."""
    lengths = _check_batch(waves, lengths)
    n = waves.shape[1]
    if n < 2:
        return waves.clone()
    f = torch.fft.rfftfreq(n, 1.0 / sampling_rate, device=waves.device)[None, :]
    low = low_hz.to(waves)[:, None].clamp(min=1.0)
    high = high_hz.to(waves)[:, None]

    def edge(x: torch.Tensor) -> torch.Tensor:  # 0 -> 1 over half an octave, in log frequency
        return 0.5 - 0.5 * torch.cos(math.pi * (2.0 * x.clamp(0.0, 0.5)))

    octaves = torch.log2(f.clamp(min=1e-3))
    gain = edge(octaves - torch.log2(low) + 0.25) * edge(torch.log2(high) - octaves + 0.25)
    out = torch.fft.irfft(torch.fft.rfft(waves) * gain, n=n)
    return out.masked_fill_(~_lengths_mask(lengths, n), 0)


def random_eq(
    waves: torch.Tensor,
    lengths: torch.Tensor,
    sampling_rate: int,
    max_gain_db: torch.Tensor,
    generator: torch.Generator | None = None,
    points: int = 8,
) -> torch.Tensor:
    """A random smooth equaliser per clip (another microphone, another loudspeaker): gains drawn
    uniformly in +-``max_gain_db`` (B,) at ``points`` frequencies spaced evenly in octaves from
    100 Hz to the Nyquist frequency, joined linearly in log frequency (flat beyond the ends), applied
    as a zero-phase FFT filter. Each clip keeps the RMS of its real samples; padding stays zero."""
    lengths = _check_batch(waves, lengths)
    n = waves.shape[1]
    if n < 2:
        return waves.clone()
    b = waves.shape[0]
    top = math.log2(sampling_rate / 2)
    knots = torch.linspace(math.log2(100.0), top, points, device=waves.device)
    gains_db = (_Random(generator, waves.device).rand(b, points) * 2 - 1) * max_gain_db.to(waves)[:, None]
    octaves = torch.log2(torch.fft.rfftfreq(n, 1.0 / sampling_rate, device=waves.device).clamp(min=100.0))
    pos = ((octaves - knots[0]) / (knots[1] - knots[0])).clamp(0, points - 1)
    left = pos.floor().long().clamp(max=points - 2)
    frac = (pos - left)[None, :]
    curve = gains_db[:, left] * (1 - frac) + gains_db[:, left + 1] * frac  # (B, F) in dB
    out = torch.fft.irfft(torch.fft.rfft(waves) * 10.0 ** (curve / 20.0), n=n)
    mask = _lengths_mask(lengths, n)
    return _same_rms(out.masked_fill_(~mask, 0), waves, mask.to(waves.dtype), lengths)


def mu_law(waves: torch.Tensor, channels: int = 256) -> torch.Tensor:
    """An 8-bit (``channels`` levels) mu-law quantisation round trip of waveforms in [-1, 1]: the
    companding of G.711 telephony. Zeros stay zero."""
    coded = AF.mu_law_decoding(AF.mu_law_encoding(waves.clamp(-1.0, 1.0), channels), channels).to(waves)
    return torch.where(waves == 0, waves, coded)


def clip_peaks(waves: torch.Tensor, lengths: torch.Tensor, fraction: torch.Tensor) -> torch.Tensor:
    """Hard-clip each clip at ``fraction`` (B,) of its own peak (an overdriven input stage):
    0.5 flattens everything above half the peak, 1.0 changes nothing."""
    lengths = _check_batch(waves, lengths)
    peak = waves.abs().amax(1) * fraction.to(waves).clamp(0.0, 1.0)
    return torch.maximum(torch.minimum(waves, peak[:, None]), -peak[:, None])


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
