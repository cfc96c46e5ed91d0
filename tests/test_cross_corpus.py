"""The cross-corpus protocol end to end on two small generated corpora (a RAVDESS tree and a TESS
tree whose emotions are coded by pitch), with the fast ``speech-stats`` preset fitted through
``ser-hf cv --folds corpus``; the ``speech-stats`` functionals themselves; and a corpus that
shares no class with a model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from test_training import _clip, make_ravdess_tree

from ser_hf.cli import cv as cv_cli
from ser_hf.data.labels import scheme_names
from ser_hf.errors import SERError
from ser_hf.models.feature_extraction_functionals import N_SPEECH_STATS, clip_functionals
from ser_hf.training.cross_validation import fold_splits

SR = 16000
TESS_F0 = {"neutral": 140.0, "happy": 300.0, "sad": 600.0}  # the same pitch code as the RAVDESS tree


def make_tess_tree(root: Path, words: int = 8, seconds: float = 0.8) -> Path:
    """``OAF_<emotion>/OAF_<word>_<emotion>.wav`` and the same for YAF (two female speakers)."""
    seed = 1000
    for speaker in ("OAF", "YAF"):
        for emotion, f0 in TESS_F0.items():
            folder = root / f"{speaker}_{emotion}"
            folder.mkdir(parents=True, exist_ok=True)
            for w in range(words):
                seed += 1
                clip = _clip(f0 * (1.1 if speaker == "YAF" else 1.0), seconds, seed)
                sf.write(folder / f"{speaker}_word{w}_{emotion}.wav", clip, SR, subtype="PCM_16")
    return root


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("corpora")
    return make_ravdess_tree(root / "ravdess", actors=6, seconds=0.8), make_tess_tree(root / "tess")


def test_cross_corpus_protocol_trains_on_one_corpus_and_tests_on_every_clip_of_the_other(
    corpora, tmp_path, capsys
):
    ravdess, tess = corpora
    out = tmp_path / "xc"
    argv = ["--corpus", f"ravdess={ravdess}", "--corpus", f"tess={tess}", "--folds", "corpus"]
    argv += ["--preset", "speech-stats", "--out", str(out), "--", "--use_cpu", "true", "--report_to", "none"]
    assert cv_cli.cli(argv) == 0, (out / "fold_0" / "train.log").read_text()[-3000:]
    printed = capsys.readouterr().out
    assert "by gender:" in printed

    result = json.loads((out / "cv_results.json").read_text())
    assert result["meta"]["label_scheme"] == "harmonized7"
    assert result["labels"] == scheme_names("harmonized7")
    folds = {tuple(f["test_speakers"]): f for f in result["folds"]}
    # fold 0 tests on every RAVDESS clip, fold 1 on every TESS clip: both directions
    assert tuple(f"ravdess_{a:02d}" for a in range(1, 7)) in folds
    assert ("tess_OAF", "tess_YAF") in folds
    for k, test_corpus in enumerate(("ravdess", "tess")):
        split = json.loads((out / f"fold_{k}" / "split.json").read_text())
        assert all(s.startswith(test_corpus) for s in split["test_speakers"])
        # model selection saw only the training corpus
        assert not any(
            s.startswith(test_corpus) for s in split["train_speakers"] + split["validation_speakers"]
        )
    # the pitch code carries over between the corpora: far above chance (1/3) both ways
    assert min(f["ua"] for f in result["folds"]) > 0.8
    # female: RAVDESS actors 2, 4, 6 (actor 6 has 4 extra sad clips) and both TESS speakers
    assert result["per_gender"]["female"]["n"] == 3 * 3 * 4 + 4 + 2 * 3 * 8


def test_a_saved_cross_corpus_fold_is_a_pipeline_model(corpora, tmp_path):
    from transformers import pipeline

    ravdess, tess = corpora
    out = tmp_path / "xc"
    argv = ["--corpus", f"ravdess={ravdess}", "--corpus", f"tess={tess}", "--folds", "corpus", "--only", "1"]
    argv += ["--preset", "speech-stats", "--out", str(out), "--", "--use_cpu", "true", "--report_to", "none"]
    assert cv_cli.cli(argv) == 0
    clf = pipeline("audio-classification", model=str(out / "fold_1"))
    assert clf.model.config.model_type == "ser_functionals_linear"
    assert clf.model.config.functionals == "speech-stats"
    scores = clf(_clip(600.0, 1.0, 7), top_k=None)
    assert scores[0]["label"] == "sad" and abs(sum(s["score"] for s in scores) - 1) < 1e-4


def test_the_cross_corpus_protocol_needs_two_corpora():
    with pytest.raises(SERError, match="two or more corpora"):
        fold_splits("corpus", ["ravdess=/a"])
    splits, protocol = fold_splits("corpus", ["ravdess=/a", "tess=/b", "savee=/c"])
    assert splits == ["loco:ravdess", "loco:tess", "loco:savee"] and "leave one corpus out" in protocol


def test_speech_stats_ignore_silence_before_after_and_inside_the_speech():
    """Pauses and silence (digital zeros in one corpus, a noise floor in another) must not move
    the features: only frames within 35 dB of the loudest enter the statistics."""
    speech = _clip(220.0, 1.0, 3)
    rng = np.random.default_rng(0)
    floor = 1e-4 * rng.standard_normal(SR // 2).astype(np.float32)  # -80 dB noise floor
    padded = np.concatenate(
        [np.zeros(SR // 2, np.float32), speech[: SR // 2], floor, speech[SR // 2 :], floor]
    )
    a = clip_functionals(speech, "speech-stats", SR, top_db=None)
    b = clip_functionals(padded, "speech-stats", SR, top_db=None)
    assert a.shape == b.shape == (N_SPEECH_STATS,)
    means = slice(0, 64)  # the per-band means over speech frames
    assert np.abs(a[means] - b[means]).max() < 2.5  # dB (frames straddling a pause edge differ)
    # while the band means over ALL frames of the padded clip are tens of dB away
    from ser_hf.models.feature_extraction_ser import SERFeatureExtractor

    frames = SERFeatureExtractor(n_mels=64)(padded, sampling_rate=SR, return_tensors="np")["input_features"][
        0
    ]
    assert np.abs(a[means] - frames.mean(0)).max() > 10.0


def test_a_corpus_sharing_no_class_with_the_model_is_a_clear_error(tmp_path):
    from ser_hf.data.corpora import load_corpus
    from ser_hf.training.evaluation import evaluate_model
    from ser_hf.training.presets import build_model

    folder = tmp_path / "bored" / "boredom"
    folder.mkdir(parents=True)
    for i in range(2):
        sf.write(folder / f"clip{i}.wav", _clip(200.0, 0.5, i), SR)
    ds = load_corpus("audiofolder", str(tmp_path / "bored"))
    model, extractor = build_model("compact-small", ["happy", "sad"])
    with pytest.raises(SERError) as err:
        evaluate_model(model.eval(), ds, feature_extractor=extractor)
    message = str(err.value)
    assert "happy" in message and "sad" in message and "boredom" in message and "--label-scheme" in message
