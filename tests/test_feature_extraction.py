"""SERFeatureExtractor: shapes, masks, batch invariance, normalisation, save/load, librosa agreement."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import librosa
import numpy as np
import pytest
import torch
from transformers import AutoFeatureExtractor

from ser_hf.errors import SERError
from ser_hf.models.feature_extraction_ser import SERFeatureExtractor, compute_deltas, dct_matrix

SR = 16000


def _clip(seconds: float, seed: int, f0: float = 180.0) -> np.ndarray:
    """A voiced, noisy, amplitude-modulated clip: energy in every band, varying over time."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    harmonics = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 3.0 * t)
    return (0.3 * envelope * harmonics + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def _frames(n_samples: int, hop: int = 160) -> int:
    return 1 + n_samples // hop


@pytest.mark.parametrize(
    ("options", "rows"),
    [
        ({}, 128),
        ({"n_mels": 64}, 64),
        ({"feature_set": "mfcc"}, 40),
        ({"feature_set": "mfcc", "n_mfcc": 13, "deltas": True, "delta_deltas": True}, 39),
        ({"n_mels": 40, "deltas": True}, 80),
        ({"feature_set": "mfcc", "rms": True, "zcr": True}, 42),
        ({"feature_set": "mfcc", "deltas": True, "delta_deltas": True, "rms": True, "zcr": True}, 122),
    ],
)
def test_feature_rows_match_feature_size(options, rows):
    fe = SERFeatureExtractor(**options)
    out = fe(_clip(0.5, 0), sampling_rate=SR, return_tensors="pt")
    assert fe.feature_size == rows
    assert out["input_features"].shape == (1, _frames(8000), rows)
    assert out["input_features"].dtype == torch.float32
    assert out["attention_mask"].dtype == torch.int64
    assert torch.isfinite(out["input_features"]).all()


def test_mask_marks_real_frames_of_each_clip():
    lengths = [16000, 12000, 8001]
    fe = SERFeatureExtractor(padding_value=-7.0)
    out = fe([_clip(n / SR, i) for i, n in enumerate(lengths)], sampling_rate=SR, return_tensors="pt")
    feats, mask = out["input_features"], out["attention_mask"]
    assert feats.shape == (3, _frames(16000), 128)
    assert mask.sum(dim=1).tolist() == [_frames(n) for n in lengths]
    for row, n in zip(range(3), lengths):
        real = _frames(n)
        assert mask[row, :real].all() and not mask[row, real:].any()  # real frames come first
        assert (feats[row, real:] == -7.0).all()
        assert (feats[row, :real] != -7.0).any(dim=-1).all()


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"feature_set": "mfcc", "deltas": True, "delta_deltas": True, "rms": True, "zcr": True},
        {"n_mels": 64, "deltas": True, "normalize": "utterance"},
    ],
)
def test_clip_alone_equals_clip_inside_padded_batch(options):
    fe = SERFeatureExtractor(**options)
    short, long = _clip(0.7, 1), _clip(1.6, 2)
    alone = fe(short, sampling_rate=SR, return_tensors="pt")["input_features"][0]
    batched = fe([long, short], sampling_rate=SR, return_tensors="pt")
    real = int(batched["attention_mask"][1].sum())
    assert real == alone.shape[0]
    torch.testing.assert_close(batched["input_features"][1, :real], alone, atol=2e-4, rtol=1e-4)


def test_max_frames_pads_short_and_truncates_long_clips():
    fe = SERFeatureExtractor(max_frames=300)
    short, long = _clip(1.0, 3), _clip(4.0, 4)
    out = fe([short, long], sampling_rate=SR, return_tensors="pt")
    assert out["input_features"].shape == (2, 300, 128)
    assert out["attention_mask"].sum(dim=1).tolist() == [_frames(16000), 300]
    # truncation keeps the first 300 frames exactly as the full clip has them
    full = SERFeatureExtractor()(long, sampling_rate=SR, return_tensors="pt")["input_features"][0]
    torch.testing.assert_close(out["input_features"][1], full[:300], atol=2e-4, rtol=1e-4)
    # a per-call max_frames overrides the stored one
    assert fe(short, sampling_rate=SR, max_frames=50, return_tensors="np")["input_features"].shape == (
        1,
        50,
        128,
    )


def test_max_length_and_truncation_work_as_in_transformers_extractors(caplog):
    """``truncation=True, max_length=48000`` (a Wav2Vec2 recipe) returned all 4 s without a word."""
    from ser_hf.models.feature_extraction_functionals import SERFunctionalsFeatureExtractor

    fe = SERFeatureExtractor()
    long, short = _clip(4.0, 4), _clip(1.0, 3)
    cut = fe([long, short], sampling_rate=SR, max_length=48000, truncation=True, return_tensors="np")
    assert cut["attention_mask"].sum(axis=1).tolist() == [_frames(48000), _frames(16000)]
    alone = fe(long[:48000], sampling_rate=SR, return_tensors="np")["input_features"][0]
    np.testing.assert_allclose(cut["input_features"][0], alone, atol=1e-5)
    padded = fe(short, sampling_rate=SR, padding="max_length", max_length=48000, return_tensors="np")
    assert padded["attention_mask"].shape == (1, _frames(48000))
    assert padded["attention_mask"].sum() == _frames(16000)
    with pytest.raises(SERError, match="needs max_length"):
        fe(long, sampling_rate=SR, truncation=True)
    # a clip under MIN_CLIP_SECONDS (0.5 s) ends in zeros up to it, so every path reads the same frames
    tiny = fe(_clip(0.2, 5), sampling_rate=SR, return_tensors="np")
    assert tiny["attention_mask"].sum() == _frames(8000)
    functionals = SERFunctionalsFeatureExtractor(functionals="speech-stats")
    np.testing.assert_allclose(
        functionals(long, sampling_rate=SR, max_length=48000, truncation=True)["input_features"],
        functionals(long[:48000], sampling_rate=SR)["input_features"],
        atol=1e-5,
    )
    with caplog.at_level("WARNING"):  # an argument it does not know is named, not dropped unseen
        fe(short, sampling_rate=SR, do_normalize=True)
    assert "ignoring feature extractor arguments ['do_normalize']" in caplog.text


def test_utterance_normalisation_uses_real_frames_only():
    fe = SERFeatureExtractor(feature_set="mfcc", deltas=True, rms=True, normalize="utterance", max_frames=250)
    out = fe([_clip(1.2, 5), _clip(0.6, 6)], sampling_rate=SR, return_tensors="pt")
    for feats, mask in zip(out["input_features"], out["attention_mask"]):
        real = feats[mask.bool()]
        torch.testing.assert_close(real.mean(dim=0), torch.zeros(fe.feature_size), atol=1e-4, rtol=0)
        torch.testing.assert_close(
            real.std(dim=0, unbiased=False), torch.ones(fe.feature_size), atol=1e-3, rtol=0
        )


def test_global_stats_fit_normalise_and_survive_save_load(tmp_path):
    clips = [_clip(0.5 + 0.25 * i, 10 + i, f0=120 + 30 * i) for i in range(4)]
    fe = SERFeatureExtractor(n_mels=32, deltas=True, normalize="global")
    with pytest.raises(SERError, match="fit_global_stats"):
        fe(clips[0], sampling_rate=SR)
    # items may be single clips, lists of clips, datasets-style dicts or (waveforms, lengths) pairs
    fe.fit_global_stats([clips[0], [clips[1], clips[2]], {"array": clips[3], "sampling_rate": SR}])
    assert len(fe.feature_mean) == len(fe.feature_std) == fe.feature_size

    out = fe(clips, sampling_rate=SR, return_tensors="pt")
    real = out["input_features"][out["attention_mask"].bool()]
    torch.testing.assert_close(real.mean(dim=0), torch.zeros(fe.feature_size), atol=1e-3, rtol=0)
    torch.testing.assert_close(
        real.std(dim=0, unbiased=False), torch.ones(fe.feature_size), atol=1e-3, rtol=0
    )

    waves = torch.zeros(4, max(len(c) for c in clips))
    for i, c in enumerate(clips):
        waves[i, : len(c)] = torch.from_numpy(c)
    other = SERFeatureExtractor(n_mels=32, deltas=True)
    other.fit_global_stats([(waves[:2], torch.tensor([len(c) for c in clips[:2]])), clips[2:]])
    np.testing.assert_allclose(other.feature_mean, fe.feature_mean, atol=1e-4)
    np.testing.assert_allclose(other.feature_std, fe.feature_std, atol=1e-4)

    fe.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert saved["feature_mean"] == fe.feature_mean and saved["normalize"] == "global"
    loaded = SERFeatureExtractor.from_pretrained(tmp_path)
    assert loaded.feature_mean == fe.feature_mean and loaded.feature_std == fe.feature_std
    torch.testing.assert_close(
        loaded(clips, sampling_rate=SR, return_tensors="pt")["input_features"], out["input_features"]
    )


def test_save_load_round_trip_is_exact(tmp_path):
    fe = SERFeatureExtractor(
        feature_set="mfcc",
        n_mels=64,
        n_mfcc=20,
        win_length_ms=32.0,
        hop_length_ms=12.5,
        f_min=50.0,
        f_max=7600.0,
        deltas=True,
        zcr=True,
        peak_normalize=False,
        normalize="utterance",
        max_frames=120,
        padding_value=-1.0,
    )
    fe.save_pretrained(tmp_path)
    loaded = SERFeatureExtractor.from_pretrained(tmp_path)
    assert loaded.to_dict() == fe.to_dict()
    assert loaded.n_fft == 512 and loaded.feature_size == 20 * 2 + 1
    clips = [_clip(0.9, 7), _clip(2.0, 8)]
    a = fe(clips, sampling_rate=SR, return_tensors="np")
    b = loaded(clips, sampling_rate=SR, return_tensors="np")
    np.testing.assert_array_equal(a["input_features"], b["input_features"])
    np.testing.assert_array_equal(a["attention_mask"], b["attention_mask"])
    # the saved folder carries the remote code and the auto_map entry
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert saved["auto_map"]["AutoFeatureExtractor"] == "feature_extraction_ser.SERFeatureExtractor"
    assert (tmp_path / "feature_extraction_ser.py").exists() and (tmp_path / "errors.py").exists()


def test_auto_feature_extractor_finds_our_class(tmp_path):
    import ser_hf  # noqa: F401  registers the class with AutoFeatureExtractor

    SERFeatureExtractor(n_mels=40, deltas=True).save_pretrained(tmp_path)
    fe = AutoFeatureExtractor.from_pretrained(tmp_path)
    assert type(fe) is SERFeatureExtractor
    assert fe.feature_size == 80


def test_remote_code_loads_without_the_package(tmp_path):
    """A fresh process that cannot import ser_hf loads the saved extractor as remote code."""
    folder = tmp_path / "extractor"
    fe = SERFeatureExtractor(feature_set="mfcc", deltas=True)
    fe.save_pretrained(folder)
    clip = _clip(0.5, 9)
    np.save(tmp_path / "clip.npy", clip)
    np.save(tmp_path / "expected.npy", fe(clip, sampling_rate=SR, return_tensors="np")["input_features"])
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["ser_hf"] = None  # as for a user without the package: any import of it fails
        import numpy as np
        from transformers import AutoFeatureExtractor
        fe = AutoFeatureExtractor.from_pretrained({str(folder)!r}, trust_remote_code=True)
        assert type(fe).__module__.startswith("transformers_modules"), type(fe).__module__
        out = fe(np.load({str(tmp_path / "clip.npy")!r}), sampling_rate=16000, return_tensors="np")
        np.testing.assert_allclose(out["input_features"], np.load({str(tmp_path / "expected.npy")!r}), atol=1e-5)
        print("ok")
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["HF_HOME"] = str(tmp_path / "hf_home")  # the remote-code module cache goes here
    done = subprocess.run(
        [sys.executable, "-I", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ok" in done.stdout


def test_tone_energy_lands_in_the_mel_band_containing_it():
    fe = SERFeatureExtractor(n_mels=64, peak_normalize=True)
    t = np.arange(SR) / SR
    tone = 0.5 * np.sin(2 * np.pi * 1000.0 * t).astype(np.float32)
    loudest = int(fe(tone, sampling_rate=SR, return_tensors="pt")["input_features"][0].mean(dim=0).argmax())
    # Slaney mel band edges, as librosa computes them: band i spans edges[i] .. edges[i + 2]
    edges = librosa.mel_frequencies(n_mels=64 + 2, fmin=0.0, fmax=SR / 2, htk=False)
    assert edges[loudest] < 1000.0 < edges[loudest + 2]
    assert loudest == int(np.argmin(np.abs(edges[1:-1] - 1000.0)))


def test_log_mel_and_mfcc_agree_with_librosa():
    clip = _clip(1.0, 11)
    y = clip / np.abs(clip).max()  # our default peak normalisation
    params = dict(sr=SR, n_fft=512, hop_length=160, win_length=400, center=True, pad_mode="constant")
    mel = librosa.feature.melspectrogram(y=y.astype(np.float64), n_mels=128, power=2.0, **params)
    db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None).T  # (frames, n_mels)
    ours = SERFeatureExtractor()(clip, sampling_rate=SR, return_tensors="np")["input_features"][0]
    assert ours.shape == db.shape
    np.testing.assert_allclose(ours, db, atol=0.05, rtol=0)

    mfcc = librosa.feature.mfcc(S=db.T, n_mfcc=40, dct_type=2, norm="ortho").T
    ours_mfcc = SERFeatureExtractor(feature_set="mfcc")(clip, sampling_rate=SR, return_tensors="np")
    np.testing.assert_allclose(ours_mfcc["input_features"][0], mfcc, atol=0.05, rtol=0)


def test_rms_and_zcr_rows_agree_with_librosa():
    clip = _clip(1.0, 19)
    y = (clip / np.abs(clip).max()).astype(np.float64)
    fe = SERFeatureExtractor(n_mels=16, rms=True, zcr=True)
    feats = fe(clip, sampling_rate=SR, return_tensors="np")["input_features"][0]
    rms = librosa.feature.rms(y=y, frame_length=512, hop_length=160, center=True, pad_mode="constant")[0]
    np.testing.assert_allclose(feats[:, 16], rms, atol=1e-5, rtol=1e-4)
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=512, hop_length=160, center=True)[0]
    assert zcr.max() > 0.05  # the clip has noise, so a rate that is all zeros would be wrong
    # librosa pads the edges by repetition instead of zeros: compare frames whose window is inside
    np.testing.assert_allclose(feats[2:-2, 17], zcr[2:-2], atol=1e-6)


def test_dct_and_deltas_match_torchaudio():
    torchaudio_functional = pytest.importorskip("torchaudio.functional")
    torch.testing.assert_close(dct_matrix(40, 128), torchaudio_functional.create_dct(40, 128, norm="ortho"))
    spec = torch.randn(2, 13, 50)
    torch.testing.assert_close(compute_deltas(spec), torchaudio_functional.compute_deltas(spec, win_length=5))


def test_batch_features_matches_call_and_stays_on_device():
    fe = SERFeatureExtractor(feature_set="mfcc", deltas=True, normalize="utterance")
    clips = [_clip(1.1, 12), _clip(0.6, 13)]
    waves = torch.zeros(2, len(clips[0]))
    for i, c in enumerate(clips):
        waves[i, : len(c)] = torch.from_numpy(c)
    feats, mask = fe.batch_features(waves, torch.tensor([len(c) for c in clips]))
    out = fe(clips, sampling_rate=SR, return_tensors="pt", device="cpu")
    torch.testing.assert_close(feats, out["input_features"])
    assert torch.equal(mask, out["attention_mask"])
    assert feats.device == waves.device


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    fe = SERFeatureExtractor(feature_set="mfcc", deltas=True, rms=True, zcr=True, normalize="utterance")
    clips = [_clip(0.8, 14), _clip(0.4, 15)]
    gpu = fe(clips, sampling_rate=SR, return_tensors="pt", device="cuda")
    assert gpu["input_features"].device.type == "cuda"
    cpu = fe(clips, sampling_rate=SR, return_tensors="pt")
    torch.testing.assert_close(gpu["input_features"].cpu(), cpu["input_features"], atol=1e-3, rtol=1e-3)


def test_accepted_input_forms_give_the_same_features():
    fe = SERFeatureExtractor(n_mels=40)
    clip = _clip(0.4, 16)
    ref = fe(clip, sampling_rate=SR, return_tensors="np")["input_features"]
    for form in (clip.tolist(), torch.from_numpy(clip), clip.astype(np.float64), [clip]):
        np.testing.assert_allclose(
            fe(form, sampling_rate=SR, return_tensors="np")["input_features"], ref, atol=1e-4
        )
    pcm = np.round(clip / np.abs(clip).max() * 32767).astype(np.int16)  # microphone-style int16
    np.testing.assert_allclose(
        fe(pcm, sampling_rate=SR, return_tensors="np")["input_features"], ref, atol=0.05
    )


def test_unpadded_lists_pad_like_a_batched_call():
    """What Trainer's collator does: per-clip features, then feature_extractor.pad."""
    fe = SERFeatureExtractor(n_mels=32, padding_value=0.0)
    clips = [_clip(0.6, 17), _clip(0.9, 18)]
    rows = [fe(c, sampling_rate=SR, padding=False) for c in clips]
    assert rows[0]["input_features"][0].shape == (_frames(len(clips[0])), 32)
    padded = fe.pad(
        [{"input_features": r["input_features"][0]} for r in rows], padding="longest", return_tensors="pt"
    )
    batched = fe(clips, sampling_rate=SR, return_tensors="pt")
    torch.testing.assert_close(padded["input_features"], batched["input_features"], atol=2e-4, rtol=1e-4)
    assert torch.equal(padded["attention_mask"].long(), batched["attention_mask"])


def test_bad_inputs_raise_clear_errors():
    fe = SERFeatureExtractor()
    with pytest.raises(SERError, match="empty"):
        fe(np.zeros(0, dtype=np.float32), sampling_rate=SR)
    with pytest.raises(SERError, match="NaN or Inf"):
        fe(np.array([0.1, np.nan, 0.2] * 100, dtype=np.float32), sampling_rate=SR)
    with pytest.raises(SERError, match="NaN or Inf"):
        fe([_clip(0.2, 0), np.full(800, np.inf, dtype=np.float32)], sampling_rate=SR)
    with pytest.raises(SERError, match="resample"):
        fe(_clip(0.2, 0), sampling_rate=44100)
    with pytest.raises(SERError, match="mono"):
        fe(np.zeros((8000, 2), dtype=np.float32), sampling_rate=SR)
    with pytest.raises(SERError, match="feature_set"):
        SERFeatureExtractor(feature_set="wav2vec")
    with pytest.raises(SERError, match="n_mfcc"):
        SERFeatureExtractor(feature_set="mfcc", n_mfcc=80, n_mels=64)


def test_feature_settings_that_would_allocate_gigabytes_are_refused_at_load():
    """A preprocessor_config.json with n_fft 10**9 or max_frames 10**12 loaded, then every clip failed
    with a bare allocation error (4 GB / 128 TB)."""
    from ser_hf.errors import SERError
    from ser_hf.models.feature_extraction_ser import SERFeatureExtractor

    for kwargs, message in (
        ({"n_fft": 10**9}, "n_fft=1000000000 must be"),
        ({"max_frames": 10**12}, "max_frames must be 1 to"),
    ):
        with pytest.raises(SERError, match=message):
            SERFeatureExtractor(**kwargs)
    assert SERFeatureExtractor(n_fft=1024, max_frames=300).n_fft == 1024
