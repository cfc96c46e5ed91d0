"""The per-clip feature cache: a clip's functionals are computed once across runs, keyed by the
clip's samples and the extractor's options; a damaged entry is recomputed, not trusted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ser_hf.models import functionals_vector
from ser_hf.training import linear
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir


@pytest.fixture
def counted(monkeypatch):
    calls = []
    original = functionals_vector.clip_functionals

    def spy(wave, *args, **kwargs):
        calls.append(len(wave))
        return original(wave, *args, **kwargs)

    # what batch_functionals calls per clip, patched where batch_functionals looks it up
    monkeypatch.setattr(functionals_vector, "clip_functionals", spy)
    return calls


def test_each_clip_is_extracted_once_and_any_change_misses(tmp_path, counted, speechlike):
    clips = [speechlike, speechlike[: len(speechlike) // 2], 0.5 * speechlike]
    cache = FeatureCache(tmp_path)
    first = linear.functionals_matrix(clips, "speech-stats", cache=cache)
    assert len(counted) == 3 and (cache.hits, cache.misses) == (0, 3)
    again = linear.functionals_matrix(clips, "speech-stats", cache=FeatureCache(tmp_path))
    assert len(counted) == 3  # a second run (a new process would be the same) computes nothing
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(first, linear.functionals_matrix(clips, "speech-stats"))
    # other trimming is another feature: computed, not read
    linear.functionals_matrix(clips[:1], "speech-stats", trim_db=None, cache=cache)
    assert len(counted) == 4 + 3  # the uncached reference above computed 3


def test_a_damaged_entry_is_recomputed(tmp_path, counted, speechlike):
    cache = FeatureCache(tmp_path)
    good = linear.functionals_matrix([speechlike], "speech-stats", cache=cache)
    (entry,) = list((tmp_path / "features").rglob("*.npy"))
    entry.write_bytes(b"not a numpy file")
    again = linear.functionals_matrix([speechlike], "speech-stats", cache=FeatureCache(tmp_path))
    np.testing.assert_array_equal(good, again)
    assert len(counted) == 2 and np.load(entry).shape == good[0].shape  # rewritten


def test_where_the_cache_lives(monkeypatch, tmp_path):
    monkeypatch.setenv("SER_HF_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path
    assert default_cache_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.setenv("SER_HF_CACHE", "off")
    assert default_cache_dir() is None
    monkeypatch.delenv("SER_HF_CACHE")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert default_cache_dir() == Path.home() / ".cache" / "ser_hf"
    # the XDG cache folder, which the Hugging Face libraries honour, was ignored
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "ser_hf"
    monkeypatch.setenv("SER_HF_CACHE", str(tmp_path / "own"))  # SER_HF_CACHE still wins
    assert default_cache_dir() == tmp_path / "own"
    monkeypatch.delenv("SER_HF_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # invalid in the XDG spec: ignored
    assert default_cache_dir() == Path.home() / ".cache" / "ser_hf"


def test_training_from_cached_features_matches_training_from_waveforms(tmp_path):
    """Without crops or waveform augmentation the features of a clip do not depend on the path:
    training from the cache must give the same model as training from the waveforms; a second run
    reads every clip's features from the disk cache."""
    import json

    import torch
    from safetensors.torch import load_file
    from test_training import TINY_FEATURES, TINY_MODEL, make_ravdess_tree

    from ser_hf.cli import train as train_cli
    from ser_hf.training import feature_cache

    corpus = make_ravdess_tree(tmp_path / "ravdess", actors=4, seconds=0.6)
    base = [
        "--corpus",
        f"ravdess={corpus}",
        "--split",
        "loso:04",
        "--num_val_speakers",
        "1",
        "--augment",
        "none",
    ]
    base += [
        "--preset",
        "seed-logmel-bilstm",
        "--config_overrides",
        TINY_MODEL,
        "--feature_overrides",
        TINY_FEATURES,
    ]
    base += ["--num_train_epochs", "2", "--per_device_train_batch_size", "8", "--use_cpu", "true"]
    base += ["--disable_tqdm", "true", "--seed", "5", "--cache_dir", str(tmp_path / "cache")]
    assert train_cli.cli([*base, "--output_dir", str(tmp_path / "waves")]) == 0
    assert train_cli.cli([*base, "--output_dir", str(tmp_path / "cached"), "--feature_cache", "true"]) == 0
    a, b = (
        load_file(tmp_path / "waves" / "model.safetensors"),
        load_file(tmp_path / "cached" / "model.safetensors"),
    )
    assert all(torch.allclose(a[k], b[k], atol=1e-4) for k in a)
    ua = [json.loads((tmp_path / d / "test_metrics.json").read_text())["ua"] for d in ("waves", "cached")]
    assert ua[0] == ua[1]
    assert (tmp_path / "cached" / "preprocessor_config.json").read_text() == (
        tmp_path / "waves" / "preprocessor_config.json"
    ).read_text()

    computed = []
    original = feature_cache.FeatureCache._write
    feature_cache.FeatureCache._write = lambda self, p, v: computed.append(p) or original(self, p, v)
    try:
        assert train_cli.cli([*base, "--output_dir", str(tmp_path / "again"), "--feature_cache", "true"]) == 0
    finally:
        feature_cache.FeatureCache._write = original
    assert computed == [], "the second run read every clip's features from the cache"


def test_cached_features_need_offline_waveform_augmentation(tmp_path):
    from test_training import make_ravdess_tree

    from ser_hf.cli import train as train_cli
    from ser_hf.errors import SERError

    corpus = make_ravdess_tree(tmp_path / "ravdess", actors=3, seconds=0.4)
    argv = [
        "--corpus",
        f"ravdess={corpus}",
        "--split",
        "loso:03",
        "--augment",
        "light",
        "--offline_copies",
        "0",
    ]
    with pytest.raises(SERError, match="offline_copies"):
        train_cli.cli(
            [*argv, "--feature_cache", "true", "--output_dir", str(tmp_path / "x"), "--use_cpu", "true"]
        )


def test_voice_encoder_values_are_cached_per_numeric_type(tmp_path, monkeypatch, speechlike):
    """bfloat16 LSTM states (CPUs that compute it natively) differ from float32's: a cache filled on
    one numeric type must not hand its values to the other (SER_HF_ENCODER_DTYPE, another machine)."""
    import torch

    from ser_hf.models import voice_encoder

    def values(dtype):
        monkeypatch.setattr(voice_encoder, "fast_dtype", lambda: dtype)
        voice_encoder.shared_encoder.cache_clear()  # the encoder is loaded in the new type
        cache = FeatureCache(tmp_path)
        x = linear.functionals_matrix([speechlike], "voice-encoder-2", cache=cache)
        return x, cache.misses

    try:
        fp32, missed = values(torch.float32)
        assert missed == 1
        bf16, missed = values(torch.bfloat16)
        assert missed == 1  # not read from the float32 entry
        assert not np.array_equal(fp32, bf16) and np.allclose(fp32, bf16, atol=0.1)
        again, missed = values(torch.float32)
        assert missed == 0 and np.array_equal(again, fp32)  # each type keeps its own entry
    finally:
        voice_encoder.shared_encoder.cache_clear()


def test_an_unwritable_cache_warns_once_and_the_summary_says_so(tmp_path, monkeypatch, caplog, speechlike):
    """A read-only HOME printed one identical "feature cache not written" warning per clip (thousands on
    a corpus), and the summary "0 read, 72 computed" read as if the cache worked."""
    import errno

    from ser_hf.training import feature_cache

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(feature_cache.tempfile, "mkstemp", read_only)
    cache = FeatureCache(tmp_path)
    clips = [speechlike, speechlike[: len(speechlike) // 2], 0.5 * speechlike]
    with caplog.at_level("WARNING", logger="ser_hf.training.feature_cache"):
        linear.functionals_matrix(clips, "speech-stats", cache=cache)
    (warning,) = [r.getMessage() for r in caplog.records if "feature cache" in r.getMessage()]
    assert str(tmp_path / "features") in warning and "Read-only file system" in warning
    assert "--cache_dir" in warning and "SER_HF_CACHE=off" in warning
    assert cache.summary().endswith("0 read, 3 computed, none stored (Read-only file system)")
