"""The per-clip feature cache: a clip's functionals are computed once across runs, keyed by the
clip's samples and the extractor's options; a damaged entry is recomputed, not trusted."""

from __future__ import annotations

import numpy as np
import pytest

from ser_hf.models import feature_extraction_functionals as fef
from ser_hf.training import linear
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir


@pytest.fixture
def counted(monkeypatch):
    calls = []
    original = fef.clip_functionals

    def spy(wave, *args, **kwargs):
        calls.append(len(wave))
        return original(wave, *args, **kwargs)

    monkeypatch.setattr(linear, "clip_functionals", spy)
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
    assert default_cache_dir().name == "ser_hf"
