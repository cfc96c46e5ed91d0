"""The classical baseline: silence trimming, utterance functionals, and its nested cross-validation."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, make_speechlike
from test_training import make_ravdess_tree

from ser_hf.errors import SERError, install_hint
from ser_hf.models.feature_extraction_functionals import (
    SERFunctionalsFeatureExtractor,
    row_functionals,
    trim_silence,
)
from ser_hf.training.functionals import FunctionalsExtractor, _fit, to_pretrained

SR = 16000


def test_trim_silence_keeps_the_speech_and_a_margin():
    speech = make_speechlike(1.0, seed=3)
    quiet = np.random.default_rng(0).normal(0, 1e-4, int(0.8 * SR)).astype(np.float32)
    clip = np.concatenate([quiet, speech, quiet[: int(0.7 * SR)]])
    trimmed = trim_silence(clip, SR, top_db=35, margin_s=0.1)
    # 1.0 s of speech + 0.1 s margin each side, within a frame or two of envelope edges
    assert abs(trimmed.size / SR - 1.2) < 0.05, trimmed.size / SR
    # the speech itself is untouched
    start = int(0.8 * SR) - int(0.1 * SR)
    assert np.allclose(trimmed[int(0.1 * SR) : int(0.1 * SR) + 100], clip[start + int(0.1 * SR) :][:100])


def test_trim_silence_is_not_fooled_by_a_dc_offset():
    """A cheap microphone's DC offset (0.005, inaudible) made a silent lead-in as 'loud' as the
    speech, so nothing was trimmed."""
    speech = make_speechlike(1.0, seed=3)
    clip = np.concatenate([np.zeros(2 * SR, dtype=np.float32), speech]) + np.float32(0.005)
    assert abs(trim_silence(clip, SR, top_db=35, margin_s=0.1).size / SR - 1.1) < 0.05


def test_trim_silence_leaves_silence_and_tiny_clips_whole():
    silence = np.zeros(SR, dtype=np.float32)
    assert trim_silence(silence).size == SR
    assert trim_silence(np.ones(5, dtype=np.float32)).size == 5


def test_row_functionals_values():
    t = np.arange(101, dtype=np.float64)
    frames = np.stack([t, np.full_like(t, 3.0)], axis=1)  # a ramp and a constant row
    v = row_functionals(frames).reshape(9, 2)  # functional-major: mean, std, p5..p95, range, slope
    assert v[0].tolist() == [50.0, 3.0]
    assert v[4, 0] == pytest.approx(50.0) and v[4, 1] == 3.0  # median
    assert v[7, 0] == pytest.approx(90.0) and v[7, 1] == 0.0  # 5-95 range
    assert v[8, 0] == pytest.approx(50.0) and v[8, 1] == 0.0  # slope per half-duration
    with pytest.raises(SERError):
        row_functionals(np.zeros((0, 3)))


def test_functionals_ignore_how_much_silence_surrounds_the_speech():
    fx = FunctionalsExtractor("ours")
    rng = np.random.default_rng(0)
    speech = make_speechlike(1.2, seed=5)

    def room(seconds: float) -> np.ndarray:  # a quiet noise floor, as in a real recording
        return rng.normal(0, 1e-4, int(seconds * SR)).astype(np.float32)

    a = fx(np.concatenate([room(0.3), speech, room(0.2)]))
    b = fx(np.concatenate([room(1.5), speech, room(1.0)]))
    assert a.shape == (1681,) and np.isfinite(a).all()
    rel = np.linalg.norm(a - b) / np.linalg.norm(a)
    print(f"relative change with 2x more silence: {rel:.4f}")
    assert rel < 0.02, rel
    other = fx(np.concatenate([room(0.3), make_speechlike(1.2, f0=260.0, seed=6), room(0.2)]))
    assert np.linalg.norm(a - other) / np.linalg.norm(a) > 5 * rel


def test_compare_features_without_opensmile_name_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "opensmile", None)
    monkeypatch.setattr("ser_hf.models.functionals_vector._FUNCTIONAL_TOOLS", {})
    with pytest.raises(SERError, match=re.escape(install_hint("opensmile"))):
        FunctionalsExtractor("compare+ours")
    # a saved ComParE model says the same when its extractor runs, instead of an ImportError
    with pytest.raises(SERError, match=re.escape(install_hint("opensmile"))):
        SERFunctionalsFeatureExtractor(functionals="compare")(make_speechlike(0.5), sampling_rate=SR)
    with pytest.raises(SERError, match="feature_set must be one of"):
        FunctionalsExtractor("egemaps")


def test_compare_functionals_layout_matches_the_subset_extractors():
    pytest.importorskip("opensmile")
    clip = make_speechlike(1.0, seed=2)
    both = FunctionalsExtractor("compare+ours")(clip)
    compare = FunctionalsExtractor("compare")(clip)
    ours = FunctionalsExtractor("ours")(clip)
    assert both.shape == (8054,) and compare.shape == (6373,) and np.isfinite(both).all()
    # a model fitted on a subset of the cached compare+ours columns sees the same values at inference
    assert np.array_equal(both[:6373], compare) and np.array_equal(both[6373:], ours)
    assert np.std(compare) > 0


@pytest.mark.slow
def test_functionals_cv_script_is_speaker_independent_and_learns(tmp_path):
    corpus = make_ravdess_tree(tmp_path / "ravdess", actors=6, seconds=0.8)
    out = tmp_path / "cv"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "functionals_cv.py"),
            "--corpus",
            f"ravdess={corpus}",
            "--folds",
            "3",
            "--features",
            "ours",
            "--c-grid",
            "0.01",
            "0.1",
            "--workers",
            "2",
            "--cache",
            str(tmp_path / "cache.npz"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "cv_results.json").read_text())
    assert result["n_folds"] == 3
    assert result["n"] == 76  # every clip is tested exactly once
    seen_test = set()
    for k in range(3):
        split = json.loads((out / f"fold_{k}" / "split.json").read_text())
        train = {split["row_ids"][i].split("/")[0] for i in split["train"] + split["validation"]}
        test = {split["row_ids"][i].split("/")[0] for i in split["test"]}
        assert not train & test
        seen_test |= test
        chosen = json.loads((out / f"fold_{k}" / "val_selection.json").read_text())["chosen"]
        assert chosen["C"] in (0.01, 0.1) and chosen["feature_set"] == "ours"
    assert len(seen_test) == 6
    # the three generated emotions differ in pitch: functionals must separate them (chance 0.33)
    assert result["mean"]["ua"] > 0.8, result["mean"]
    assert (out / "cv_results.md").is_file() and (out / "confusion_cv.png").is_file()

    def rerun(out_name: str, *extra: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, str(REPO / "benchmarks" / "functionals_cv.py"), "--corpus", f"ravdess={corpus}"]
            + ["--folds", "3", "--features", "ours", "--workers", "2", "--cache", str(tmp_path / "cache.npz")]
            + ["--out", str(tmp_path / out_name), *extra],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=REPO,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    # the second run reads the cache instead of extracting again, gives the same numbers, and saves
    # each fold's model (the corpus has 3 of the 8 RAVDESS classes: the others get probability 0)
    again = rerun("cv2", "--c-grid", "0.01", "0.1", "--save-models")
    assert "loaded from" in again.stderr
    assert json.loads((tmp_path / "cv2" / "cv_results.json").read_text())["mean"] == result["mean"]
    rerun("cv3", "--c-grid", "1.0", "--save-models")

    # the saved fold models ensemble with ensemble_cv.py, which re-scores every member from the audio
    def ensemble(out_name: str, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(REPO / "benchmarks" / "ensemble_cv.py"), "--corpus", f"ravdess={corpus}"]
            + [
                "--runs",
                str(tmp_path / "cv2"),
                str(tmp_path / "cv3"),
                "--out",
                str(tmp_path / out_name),
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=REPO,
        )

    ens = ensemble("ens")
    assert ens.returncode == 0, ens.stderr[-3000:]
    ensemble_result = json.loads((tmp_path / "ens" / "cv_results.json").read_text())
    assert (
        ensemble_result["n_folds"] == 3 and ensemble_result["n"] == 76 and ensemble_result["mean"]["ua"] > 0.8
    )
    # --weights: all weight on cv2 reproduces cv2's own cross-validation; a wrong count is refused
    weighted = ensemble("ens_w", "--weights", "1", "0")
    assert weighted.returncode == 0, weighted.stderr[-3000:]
    only_cv2 = json.loads((tmp_path / "ens_w" / "cv_results.json").read_text())
    assert only_cv2["mean"]["ua"] == pytest.approx(result["mean"]["ua"], abs=1e-9)
    assert "weight 0)" in (tmp_path / "ens_w" / "cv_results.md").read_text()
    bad = ensemble("x", "--weights", "1")
    assert bad.returncode != 0 and "one per run" in bad.stderr
    # each saved model, decoded and featurised again from the files, reproduces its fold's CV score
    for k, fold in enumerate(result["folds"]):
        line = next(s for s in ens.stdout.splitlines() if s.startswith(f"fold_{k} ") and "cv2" in s)
        assert float(line.split("UA ")[1].split()[0]) == pytest.approx(fold["ua"], abs=1e-3), line


@pytest.fixture(scope="module")
def functionals_model(tmp_path_factory):
    """A functionals + logistic-regression model fitted on 3 generated 'emotions' and saved."""
    fx = FunctionalsExtractor("ours")
    f0s = {"low": 110.0, "mid": 200.0, "high": 330.0}
    x, y = [], []
    for label, f0 in enumerate(f0s.values()):
        for seed in range(8):
            x.append(fx(make_speechlike(0.9, f0=f0 * (1 + 0.02 * seed), seed=100 * label + seed)))
            y.append(label)
    clf = _fit(np.stack(x), np.array(y), c=0.1, seed=0)
    model, extractor = to_pretrained(clf, list(f0s), "ours")
    folder = tmp_path_factory.mktemp("functionals_model")
    model.save_pretrained(folder)
    extractor.save_pretrained(folder)
    return folder, clf, fx


def test_saved_functionals_model_matches_sklearn_in_the_pipeline(functionals_model, tmp_path):
    from transformers import pipeline

    folder, clf, fx = functionals_model
    clip = make_speechlike(1.1, f0=320.0, seed=999)
    expected = clf.predict_proba(fx(clip)[None])[0]
    classifier = pipeline("audio-classification", model=str(folder), device="cpu")
    got = {r["label"]: r["score"] for r in classifier(clip, top_k=None)}
    assert max(abs(got[name] - p) for name, p in zip(["low", "mid", "high"], expected)) < 1e-4
    assert max(got, key=got.get) == "high"
    # a batch of clips gives the same scores as one at a time
    batch = SERFunctionalsFeatureExtractor.from_pretrained(folder)(
        [clip, make_speechlike(0.6, f0=110.0, seed=5)], sampling_rate=SR, return_tensors="pt"
    )
    assert batch["input_features"].shape == (2, 1681)
    with pytest.raises(SERError, match="expects 16000 Hz"):
        classifier.feature_extractor(clip, sampling_rate=8000)


def test_functionals_past_float16_range_are_an_error_not_nan_scores(functionals_model):
    """openSMILE's values pass float16's 65,504 (the bundled functionals and fusion models): loaded in
    float16 every score was NaN, the label arbitrary. It is now an error naming the fix; bfloat16 works."""
    import torch
    from transformers import AutoModelForAudioClassification

    folder, _, fx = functionals_model
    values = torch.as_tensor(fx(make_speechlike(1.0, seed=4))[None])
    values[0, 0] = 1e6  # as large as an openSMILE energy
    half = AutoModelForAudioClassification.from_pretrained(folder, dtype=torch.float16)
    with pytest.raises(SERError, match="float32 or bfloat16"):
        half(input_features=values.to(torch.float16))
    bf16 = AutoModelForAudioClassification.from_pretrained(folder, dtype=torch.bfloat16)
    assert torch.isfinite(bf16(input_features=values.to(torch.bfloat16)).logits).all()


def test_saved_functionals_model_runs_as_remote_code_without_the_package(functionals_model, tmp_path):
    import soundfile as sf
    from test_remote_code import classify_without_ser_hf
    from transformers import pipeline

    folder, _, _ = functionals_model
    config = json.loads((folder / "config.json").read_text())
    assert config["auto_map"]["AutoModelForAudioClassification"].endswith(
        "FunctionalsLinearForAudioClassification"
    )
    wav = tmp_path / "speech.wav"
    sf.write(wav, make_speechlike(1.0, f0=200.0, seed=7), SR, subtype="FLOAT")
    remote = classify_without_ser_hf(wav, [folder], tmp_path)[str(folder)]
    assert remote["model_module"].startswith("transformers_modules.")
    local = {
        r["label"]: r["score"]
        for r in pipeline("audio-classification", model=str(folder))(str(wav), top_k=None)
    }
    assert max(abs(local[k] - remote["scores"][k]) for k in local) <= 1e-5


def test_extracting_in_the_callers_process_leaves_its_torch_thread_count():
    """``extract_all(workers=1)`` runs in the caller's process and left torch on one thread for the rest
    of a notebook session."""
    import torch

    from ser_hf.training.arguments import DataArguments
    from ser_hf.training.functionals import FunctionalsExtractor, extract_all

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        clips = [np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1] * 2
        extract_all(clips, FunctionalsExtractor("speech-stats"), copy_factors=(), workers=1)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    # and a corpus given from Python as one string was read letter by letter ("corpus spec 'r'")
    assert DataArguments(corpus="ravdess=/x").corpus == ["ravdess=/x"]
