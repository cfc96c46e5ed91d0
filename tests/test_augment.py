"""Tests for ser_hf.augment: batched on-device augmentation (issue 3, item 4)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
import torchaudio.functional as AF

from ser_hf.data.augment import AUGMENT_PRESETS, AugmentConfig, SpecAugment, WaveformAugmenter
from ser_hf.data.expand import augmented_dataset, expand_dataset, expand_offline
from ser_hf.data.transforms import (
    phase_vocoder,
    pitch_shift,
    reverberate,
    stretch_and_shift,
    synthetic_rirs,
    time_stretch,
)
from ser_hf.errors import SERError

SR = 16000


def tone_batch(freq: float, lengths: list[int], amplitude: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """A padded batch of sine tones, zero beyond each length."""
    width = max(lengths)
    t = torch.arange(width, dtype=torch.float32) / SR
    waves = (amplitude * torch.sin(2 * math.pi * freq * t))[None].repeat(len(lengths), 1)
    lens = torch.tensor(lengths)
    return waves * (torch.arange(width)[None] < lens[:, None]), lens


def speechlike_batch(n: int, seconds: float = 0.5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Harmonic clips with a gliding F0 and a syllable envelope, varied lengths, zero padding."""
    rng = np.random.default_rng(seed)
    width = int(seconds * SR)
    lengths = rng.integers(width // 2, width + 1, n)
    lengths[0] = width
    t = np.arange(width) / SR
    waves = np.zeros((n, width), dtype=np.float32)
    for i in range(n):
        f0 = rng.uniform(100, 250) * (1 + 0.1 * np.sin(2 * np.pi * 3 * t))
        phase = 2 * np.pi * np.cumsum(f0) / SR
        sig = sum(np.sin(k * phase) / k for k in range(1, 6)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2)
        waves[i, : lengths[i]] = 0.3 * sig[: lengths[i]]
    return torch.from_numpy(waves), torch.from_numpy(lengths).long()


def f0_of(signal: torch.Tensor | np.ndarray) -> float:
    """Dominant frequency by a zero-padded, windowed FFT peak (resolution ~0.1 Hz)."""
    x = np.asarray(signal, dtype=np.float64)
    n = len(x)
    spec = np.abs(np.fft.rfft(x * np.hanning(n), 16 * n))
    return float(np.argmax(spec)) * SR / (16 * n)


def padding_is_zero(waves: torch.Tensor, lengths: torch.Tensor) -> bool:
    beyond = torch.arange(waves.shape[1])[None] >= lengths[:, None]
    return bool((waves[beyond] == 0).all())


ALL_ON = AugmentConfig(
    noise_prob=1.0,
    gain_prob=1.0,
    pitch_prob=0.5,
    stretch_prob=0.5,
    speed_prob=0.5,
    shift_prob=1.0,
    polarity_prob=0.5,
    reverb_prob=0.5,
)


# ---- whole augmenter -------------------------------------------------------------------------


def test_all_transforms_shapes_dtypes_lengths_and_zero_padding():
    waves, lengths = speechlike_batch(8)
    out, out_lengths = WaveformAugmenter(ALL_ON)(waves, lengths, generator=0)
    assert out.dtype == torch.float32 and out_lengths.dtype == torch.long
    assert out.shape[0] == 8 and out.shape[1] >= waves.shape[1] and out.shape[1] >= int(out_lengths.max())
    # speed 0.9-1.1 and stretch 0.8-1.25 bound how much a clip's length can change
    ratio = out_lengths.double() / lengths.double()
    assert ((ratio > 0.8 / 1.1 - 0.01) & (ratio < 1.25 / 0.9 + 0.01)).all()
    assert not torch.equal(out_lengths, lengths), "with p=0.5 for speed and stretch some lengths must change"
    assert padding_is_zero(out, out_lengths)
    assert torch.isfinite(out).all()
    assert (out[:, :100] != waves[:, :100]).any(dim=1).all(), "noise is on for every clip"


def test_crop_pad_to_target_length():
    waves, lengths = speechlike_batch(6)
    lengths[1] = 1500  # shorter than the target: padded
    waves[1, 1500:] = 0
    out, out_lengths = WaveformAugmenter(AugmentConfig(crop_seconds=0.125))(waves, lengths, generator=1)
    assert out.shape == (6, 2000)
    assert out_lengths.tolist() == [min(int(n), 2000) for n in lengths]
    assert padding_is_zero(out, out_lengths)
    for i in range(6):  # every row is a contiguous slice of its own clip
        clip, piece = waves[i, : lengths[i]].numpy(), out[i, : out_lengths[i]].numpy()
        starts = [
            s for s in range(len(clip) - len(piece) + 1) if np.array_equal(clip[s : s + len(piece)], piece)
        ]
        assert starts, f"row {i} is not a slice of its source"


def test_disabled_config_and_eval_mode_are_identity():
    waves, lengths = speechlike_batch(4)
    out, out_lengths = WaveformAugmenter(AugmentConfig.from_preset("none"))(waves, lengths, generator=0)
    assert torch.equal(out, waves) and torch.equal(out_lengths, lengths)
    augmenter = WaveformAugmenter(AugmentConfig.from_preset("strong")).eval()
    out, out_lengths = augmenter(waves, lengths, generator=0)
    assert torch.equal(out, waves) and torch.equal(out_lengths, lengths)
    features = torch.randn(2, 50, 20)
    assert torch.equal(SpecAugment(AugmentConfig())(features), features)
    assert torch.equal(SpecAugment(AugmentConfig(spec_prob=1.0)).eval()(features), features)


def test_determinism_for_a_seed():
    waves, lengths = speechlike_batch(4)
    augmenter = WaveformAugmenter(AugmentConfig.from_preset("strong"))
    a = augmenter(waves, lengths, generator=torch.Generator().manual_seed(7))
    b = augmenter(waves, lengths, generator=torch.Generator().manual_seed(7))
    c = augmenter(waves, lengths, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert a[0].shape != c[0].shape or not torch.equal(a[0], c[0])
    features, mask = torch.randn(4, 60, 20), torch.ones(4, 60, dtype=torch.long)
    spec = SpecAugment(AugmentConfig(spec_prob=1.0))
    assert torch.equal(spec(features, mask, generator=3), spec(features, mask, generator=3))
    assert not torch.equal(spec(features, mask, generator=3), spec(features, mask, generator=4))


# ---- single transforms through the config ----------------------------------------------------


def test_gain_stays_in_range():
    waves, lengths = speechlike_batch(16)
    out, _ = WaveformAugmenter(AugmentConfig(gain_prob=1.0, gain_db=[-6.0, 3.0]))(waves, lengths, generator=0)
    real = waves != 0
    ratios = []
    for i in range(16):
        r = out[i][real[i]] / waves[i][real[i]]
        assert torch.allclose(r, r[0].expand_as(r), rtol=1e-4), "a gain is one factor per clip"
        ratios.append(20 * math.log10(float(r[0])))
    assert min(ratios) >= -6.0 - 1e-3 and max(ratios) <= 3.0 + 1e-3
    assert max(ratios) - min(ratios) > 1.0, "gains must vary between clips"


@pytest.mark.parametrize("snr", [0.0, 10.0, 25.0])
def test_noise_has_the_requested_snr_over_real_samples(snr):
    waves, lengths = speechlike_batch(6)
    out, out_lengths = WaveformAugmenter(AugmentConfig(noise_prob=1.0, noise_snr_db=[snr, snr]))(
        waves, lengths, generator=0
    )
    assert torch.equal(out_lengths, lengths) and padding_is_zero(out, lengths)
    for i in range(6):
        clean, noisy = waves[i, : lengths[i]], out[i, : lengths[i]]
        measured = 10 * math.log10(float(clean.square().mean() / (noisy - clean).square().mean()))
        assert abs(measured - snr) < 0.1


def test_time_shift_is_bounded_and_zero_filled():
    n, width = 16, 8000
    waves = torch.zeros(n, width)
    waves[:, 4000] = 1.0  # one click in the middle of each clip
    lengths = torch.full((n,), width)
    out, out_lengths = WaveformAugmenter(AugmentConfig(shift_prob=1.0, shift_fraction=[-0.2, 0.2]))(
        waves, lengths, generator=0
    )
    positions = out.argmax(1) - 4000
    assert (positions.abs() <= 0.2 * width + 1).all() and positions.abs().max() > 100
    assert torch.equal(out.abs().sum(1), torch.ones(n)), "the click moves, nothing else appears"
    rolled, _ = WaveformAugmenter(
        AugmentConfig(shift_prob=1.0, shift_fraction=[0.6, 0.6], shift_rollover=True)
    )(waves, lengths)
    assert (rolled.argmax(1) == (4000 + 4800) % width).all(), "rollover wraps within the real part"


def test_polarity_inversion():
    waves, lengths = speechlike_batch(16)
    out, _ = WaveformAugmenter(AugmentConfig(polarity_prob=1.0))(waves, lengths)
    assert torch.equal(out, -waves)
    out, _ = WaveformAugmenter(AugmentConfig(polarity_prob=0.5))(waves, lengths, generator=0)
    flipped = [torch.equal(out[i], -waves[i]) for i in range(16)]
    kept = [torch.equal(out[i], waves[i]) for i in range(16)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)


# ---- pitch, tempo, speed, reverb -------------------------------------------------------------


@pytest.mark.parametrize("semitones", [2.0, -2.0])
def test_pitch_shift_moves_f0_by_the_ratio(semitones):
    waves, lengths = tone_batch(220.0, [16000, 12000])
    config = AugmentConfig(pitch_prob=1.0, pitch_semitones=[semitones, semitones])
    out, out_lengths = WaveformAugmenter(config)(waves, lengths, generator=0)
    assert torch.equal(out_lengths, lengths) and padding_is_zero(out, lengths)
    expected = 220.0 * 2 ** (semitones / 12)
    for i in range(2):
        assert abs(f0_of(out[i, : lengths[i]]) / expected - 1) < 0.02
        # loudness kept (no gain change from the vocoder)
        assert abs(float(out[i, : lengths[i]].std() / waves[i, : lengths[i]].std()) - 1) < 0.05


def test_pitch_shift_groups_mixed_values_in_one_batch():
    waves, lengths = tone_batch(300.0, [8000] * 4)
    out = pitch_shift(waves, lengths, torch.tensor([1.0, -1.5, 0.0, 1.0]))
    for i, st in enumerate([1.0, -1.5, 0.0, 1.0]):
        assert abs(f0_of(out[i]) / (300.0 * 2 ** (st / 12)) - 1) < 0.02
    assert torch.equal(out[2], waves[2])


def test_time_stretch_changes_duration_and_keeps_f0():
    waves, lengths = tone_batch(220.0, [16000, 16000, 12000])
    rates = torch.tensor([0.8, 1.25, 1.0])
    out, out_lengths = time_stretch(waves, lengths, rates)
    assert out_lengths.tolist() == [20000, 12800, 12000]
    assert out.shape[1] == 20000 and padding_is_zero(out, out_lengths)
    for i in range(2):
        # the sound really lasts that long (energy up to the end), at the same pitch
        assert out[i, out_lengths[i] - 800 : out_lengths[i]].abs().max() > 0.2
        assert abs(f0_of(out[i, : out_lengths[i]]) / 220.0 - 1) < 0.02
    assert torch.equal(out[2, :12000], waves[2, :12000])


def test_stretch_and_pitch_together_in_one_pass():
    waves, lengths = tone_batch(220.0, [16000, 16000])
    out, out_lengths = stretch_and_shift(waves, lengths, torch.tensor([0.8, 1.25]), torch.tensor([2.0, -2.0]))
    assert out_lengths.tolist() == [20000, 12800] and padding_is_zero(out, out_lengths)
    for i, st in enumerate([2.0, -2.0]):
        assert abs(f0_of(out[i, : out_lengths[i]]) / (220.0 * 2 ** (st / 12)) - 1) < 0.02


def test_phase_vocoder_matches_torchaudio_for_one_rate():
    waves, _ = speechlike_batch(2)
    window = torch.hann_window(512)
    spec = torch.stft(waves, 512, 128, window=window, return_complex=True)
    reference = AF.phase_vocoder(spec, 0.9, torch.linspace(0, math.pi * 128, 257)[..., None])
    ours = phase_vocoder(spec, torch.tensor([0.9, 0.9]), torch.tensor([reference.shape[-1]] * 2), 128)
    assert torch.allclose(ours, reference, atol=1e-3 * float(reference.abs().max()))


def test_speed_perturbation_changes_length_and_pitch():
    waves, lengths = tone_batch(400.0, [16000] * 8)
    config = AugmentConfig(speed_prob=1.0, speed_factors=[0.9, 1.1])
    out, out_lengths = WaveformAugmenter(config)(waves, lengths, generator=0)
    assert set(out_lengths.tolist()) == {17778, 14546}
    for i in range(8):
        factor = 16000 / float(out_lengths[i])
        assert abs(f0_of(out[i, : out_lengths[i]]) / (400.0 * factor) - 1) < 0.01


def test_reverb_lengthens_the_decay():
    waves, lengths = tone_batch(500.0, [16000] * 2)
    waves[:, 4000:] = 0  # a 0.25 s burst, then silence inside the clip
    rirs = synthetic_rirs(
        torch.tensor([0.3, 0.8]), torch.tensor([0.0, 0.0]), SR, torch.Generator().manual_seed(0)
    )
    assert rirs.shape == (2, int(0.8 * SR)) and torch.all(rirs[:, 0] == 1)
    out = reverberate(waves, lengths, rirs)
    assert out.shape == waves.shape

    def tail_energy(x: torch.Tensor, start: int, stop: int) -> float:
        return float(x[4000 + start : 4000 + stop].square().sum())

    for i in range(2):
        assert tail_energy(out[i], 0, 1600) > 0.01 * tail_energy(out[i], -4000, 0)  # audible 100 ms tail
    # the longer room rings longer: energy 150-300 ms after the burst relative to the burst
    late = [tail_energy(out[i], 2400, 4800) / tail_energy(out[i], -4000, 0) for i in range(2)]
    assert late[1] > 10 * late[0]
    assert abs(float(out[0].square().sum() / waves[0].square().sum()) - 1) < 1e-3, "RMS kept"


def test_seed_preset_applies_pitch_or_stretch_never_both():
    config = AugmentConfig.from_preset("seed", noise_prob=0.0)
    waves, lengths = tone_batch(220.0, [8000] * 12)
    out, out_lengths = WaveformAugmenter(config)(waves, lengths, generator=0)
    pitched = [abs(f0_of(out[i, : out_lengths[i]]) / 220.0 - 1) > 0.02 for i in range(12)]
    stretched = [int(out_lengths[i]) != 8000 for i in range(12)]
    assert all(p != s for p, s in zip(pitched, stretched))
    assert any(pitched) and any(stretched)


# ---- SpecAugment -----------------------------------------------------------------------------


def _runs(flags: torch.Tensor) -> list[tuple[int, int]]:
    """(start, width) of each run of True."""
    runs, start = [], None
    for i, f in enumerate(flags.tolist() + [False]):
        if f and start is None:
            start = i
        if not f and start is not None:
            runs.append((start, i - start))
            start = None
    return runs


def test_spec_augment_masks_real_frames_within_width_limits():
    batch, frames, bins = 16, 80, 40
    features = torch.randn(batch, frames, bins)
    mask = torch.ones(batch, frames, dtype=torch.long)
    real_frames = torch.randint(20, frames + 1, (batch,))
    for i in range(batch):
        mask[i, real_frames[i] :] = 0

    freq_only = SpecAugment(AugmentConfig(spec_prob=1.0, spec_freq_masks=1, spec_time_masks=0))
    out = freq_only(features, mask, generator=0)
    changed = out != features
    assert not changed[mask == 0].any(), "padding frames are never touched"
    widths = []
    for i in range(batch):
        real = changed[i, : real_frames[i]]
        cols = real.any(0)
        assert torch.equal(real, cols[None].expand_as(real)), "a frequency mask covers every real frame"
        runs = _runs(cols)
        assert len(runs) <= 1 and all(w <= 8 for _, w in runs)
        widths.append(sum(w for _, w in runs))
    assert max(widths) > 0

    time_only = SpecAugment(
        AugmentConfig(spec_prob=1.0, spec_freq_masks=0, spec_time_masks=2, spec_fill="zero")
    )
    out = time_only(features, mask, generator=0)
    changed = out != features
    assert not changed[mask == 0].any()
    assert (out[changed] == 0).all()
    for i in range(batch):
        rows = changed[i].any(1)
        assert torch.equal(changed[i], rows[:, None].expand_as(changed[i]))
        assert all(w <= 2 * 15 for _, w in _runs(rows))  # two masks of <= 15 may touch
        assert not rows[real_frames[i] :].any()


def test_spec_augment_mean_fill_uses_the_clip_mean():
    features = torch.randn(2, 40, 10) + torch.tensor([3.0, -2.0])[:, None, None]
    mask = torch.ones(2, 40, dtype=torch.long)
    out = SpecAugment(AugmentConfig(spec_prob=1.0, spec_freq_masks=0, spec_time_masks=1, spec_time_width=15))(
        features, mask, generator=1
    )
    for i in range(2):
        changed = out[i] != features[i]
        if changed.any():
            assert torch.allclose(out[i][changed], features[i].mean().expand(int(changed.sum())), atol=1e-5)


# ---- offline expansion -----------------------------------------------------------------------


def test_expand_offline_gives_n_copies_per_clip_and_never_mixes_rows():
    freqs = [300.0, 1200.0, 4000.0]
    clips = [
        0.5 * np.sin(2 * np.pi * f * np.arange(n) / SR).astype(np.float32)
        for f, n in zip(freqs, (8000, 6000, 7000))
    ]
    labels = ["angry", "sad", "happy"]
    config = AugmentConfig.from_preset("seed")
    arrays, out_labels, source = expand_offline(clips, None, labels, 3, config, seed=0, batch_size=4)
    assert len(arrays) == 9 and source == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert out_labels == [labels[i] for i in source]
    for array, i in zip(arrays, source):
        assert array.dtype == np.float32 and array.ndim == 1
        assert 0.75 * len(clips[i]) <= len(array) <= 1.3 * len(clips[i])
        # +-2 semitones is at most 12.3%; the sources are far further apart than that
        assert abs(f0_of(array) / freqs[i] - 1) < 0.13
    assert not any(np.array_equal(arrays[0], a) for a in arrays[1:3]), "copies differ"
    again = expand_offline(clips, None, labels, 3, config, seed=0, batch_size=4)[0]
    assert all(np.array_equal(a, b) for a, b in zip(arrays, again))
    with_original, _, source = expand_offline(clips, None, labels, 2, config, seed=1, include_original=True)
    assert len(with_original) == 9 and source[:3] == [0, 0, 0]
    assert np.array_equal(with_original[0], clips[0])

    padded = torch.zeros(3, 8000)
    for i, clip in enumerate(clips):
        padded[i, : len(clip)] = torch.from_numpy(clip)
    arrays, _, _ = expand_offline(padded, [8000, 6000, 7000], labels, 1, AugmentConfig(gain_prob=1.0), seed=0)
    assert [len(a) for a in arrays] == [8000, 6000, 7000]


def test_expand_dataset_round_trips_through_save_to_disk(tmp_path):
    datasets = pytest.importorskip("datasets")
    clips = [np.random.default_rng(i).normal(0, 0.1, 4000).astype(np.float32) for i in range(3)]
    emotion = datasets.ClassLabel(names=["angry", "happy", "sad"])
    source = augmented_dataset(clips, [0, 2, 1], [0, 1, 2], label_feature=emotion).add_column(
        "speaker", ["s1", "s2", "s3"]
    )
    expanded = expand_dataset(source, 2, AugmentConfig(gain_prob=1.0, gain_db=[6.0, 6.0]), seed=0)
    assert len(expanded) == 6 and expanded.features["emotion"] == emotion
    assert expanded["source_index"] == [0, 0, 1, 1, 2, 2]
    assert expanded["speaker"] == ["s1", "s1", "s2", "s2", "s3", "s3"]
    assert expanded["emotion"] == [0, 0, 2, 2, 1, 1]
    expanded.save_to_disk(str(tmp_path / "aug"))
    loaded = datasets.load_from_disk(str(tmp_path / "aug"))
    audio = loaded[2]["audio"]
    assert audio["sampling_rate"] == SR
    np.testing.assert_allclose(audio["array"].reshape(-1), clips[1] * 10 ** (6 / 20), rtol=1e-5, atol=1e-6)


# ---- config ----------------------------------------------------------------------------------


def test_config_presets_json_and_argument_parser():
    assert {"none", "light", "seed", "strong"} <= set(AUGMENT_PRESETS)
    seed = AugmentConfig.from_preset("seed")
    assert seed.offline_copies == 2 and seed.pitch_stretch_exclusive and seed.noise_prob > 0
    assert seed.pitch_semitones == [-2.0, 2.0] and seed.stretch_rate == [0.8, 1.25]
    strong = AugmentConfig.from_preset("strong")
    assert AugmentConfig.from_dict(json.loads(json.dumps(strong.to_dict()))) == strong
    assert not AugmentConfig().waveform_enabled and not AugmentConfig().spec_enabled

    from transformers import HfArgumentParser

    (parsed,) = HfArgumentParser(AugmentConfig).parse_args_into_dataclasses(
        ["--noise_prob", "0.5", "--noise_snr_db", "5", "20", "--crop_seconds", "3"]
    )
    assert parsed.noise_prob == 0.5 and parsed.noise_snr_db == [5.0, 20.0] and parsed.crop_seconds == 3.0


@pytest.mark.parametrize(
    "bad", [{"noise_prob": 1.5}, {"gain_db": [6.0, -6.0]}, {"spec_fill": "nan"}, {"no_such_field": 1}]
)
def test_config_rejects_bad_values(bad):
    with pytest.raises(SERError):
        AugmentConfig.from_dict(bad)


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"speed_prob": 1, "speed_factors": []}, "speed_factors"),  # was an IndexError mid-training
        ({"noise_prob": 1, "noise_snr_db": [float("nan"), 20]}, "noise_snr_db"),  # trained on NaN audio
        ({"reverb_prob": 1, "reverb_drr_db": [0, float("nan")]}, "reverb_drr_db"),
        ({"gain_db": [-6, float("inf")]}, "gain_db"),
        ({"crop_seconds": 0}, "crop_seconds"),  # trained on 1-sample clips
        ({"crop_seconds": -1}, "crop_seconds"),
        ({"pitch_semitones": [-24, 0]}, r"pitch_semitones must lie within \[-12, 12\]"),
        ({"noise_prob": "0.5"}, "noise_prob"),  # was a TypeError
        ({"offline_copies": -1}, "offline_copies"),
    ],
)
def test_training_options_that_would_fail_or_train_on_garbage_are_refused_up_front(bad, field):
    """What a user passes as --augment_overrides is checked before any clip is decoded, with the field."""
    with pytest.raises(SERError, match=field):
        AugmentConfig.from_preset("light", **bad)


def test_negative_offline_or_channel_copies_are_refused_with_the_option_named():
    """--offline_copies -2 was accepted; channel_copies -1 ended in 'need at least one array to stack'."""
    from test_training import _clip

    from ser_hf.training.arguments import parse_args
    from ser_hf.training.linear import train_linear

    with pytest.raises(SERError, match="--offline_copies must be a whole number"):
        parse_args(["--corpus", "ravdess=/x", "--offline_copies", "-2"])
    clips = [_clip(150.0 + 40 * k, 0.5, k) for k in range(6)]
    spec = {"feature_extractor": {"functionals": "speech-stats"}, "config": {"channel_copies": -1}}
    with pytest.raises(SERError, match="channel_copies=-1 must be a whole number"):
        train_linear(clips, [0, 1, 2] * 2, [0, 1, 2], [3, 4, 5], ["angry", "happy", "sad"], spec)


def test_bad_input_shape_raises():
    with pytest.raises(SERError):
        WaveformAugmenter(ALL_ON)(torch.zeros(16000))
    with pytest.raises(SERError):
        WaveformAugmenter(ALL_ON)(torch.zeros(2, 100), torch.tensor([100, 200]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_runs_on_the_gpu_with_a_cpu_generator():
    waves, lengths = speechlike_batch(4)
    config = AugmentConfig.from_preset("strong")
    for seed in range(3):
        cpu = WaveformAugmenter(config)(waves, lengths, generator=torch.Generator().manual_seed(seed))
        gpu = WaveformAugmenter(config)(
            waves.cuda(), lengths.cuda(), generator=torch.Generator().manual_seed(seed)
        )
        assert gpu[0].device.type == "cuda" and torch.equal(gpu[1].cpu(), cpu[1])
        # same random draws, same transforms. The phase vocoder (pitch, stretch) accumulates phase
        # over frames, so cuFFT and the CPU FFT drift apart in a few samples: measured on an H100
        # (torch 2.11), max |diff| up to 6.8e-3 on clips peaking near 0.8 but a mean |diff| of
        # 2e-5. Other transforms agree to 3e-7. Different draws would differ by the signal itself.
        diff = gpu[0].cpu() - cpu[0]
        snr_db = 10 * torch.log10(cpu[0].pow(2).sum(1) / diff.pow(2).sum(1).clamp_min(1e-20))
        assert float(snr_db.min()) >= 40.0, snr_db.tolist()
        assert float(diff.abs().max()) <= 2e-2, float(diff.abs().max())
    no_vocoder = dataclasses.replace(config, pitch_prob=0.0, stretch_prob=0.0)
    cpu = WaveformAugmenter(no_vocoder)(waves, lengths, generator=torch.Generator().manual_seed(0))
    gpu = WaveformAugmenter(no_vocoder)(
        waves.cuda(), lengths.cuda(), generator=torch.Generator().manual_seed(0)
    )
    assert float((gpu[0].cpu() - cpu[0]).abs().max()) <= 1e-5


def test_whole_numbers_from_a_yaml_config_may_be_written_2_0():
    """A YAML or JSON config gives `offline_copies: 2.0`; the stricter checks of session 36 refused it."""
    config = AugmentConfig(offline_copies=2.0, spec_time_masks=1.0)
    assert config.offline_copies == 2 and isinstance(config.offline_copies, int)
    with pytest.raises(SERError, match="offline_copies must be a whole number"):
        AugmentConfig(offline_copies=2.5)
