"""Calibrated probabilities: temperature scaling fitted on validation speakers, stored in the
model's config and applied by its forward, and the calibration metrics (ECE, NLL, Brier)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from test_training import EMOTION_F0, _clip, make_ravdess_tree

from ser_hf.errors import SERError
from ser_hf.training.calibration import apply_temperature, fit_temperature
from ser_hf.training.metrics import compute_ser_metrics, expected_calibration_error


def _overconfident(n: int = 4000, true_t: float = 2.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax(z / true_t) but reported as softmax(z): too confident by true_t."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 3, (n, 5))
    p_true = np.exp(z / true_t) / np.exp(z / true_t).sum(1, keepdims=True)
    labels = np.array([rng.choice(5, p=row) for row in p_true])
    return np.exp(z) / np.exp(z).sum(1, keepdims=True), labels


def test_temperature_scaling_recovers_the_overconfidence_and_lowers_ece():
    probs, labels = _overconfident()
    t = fit_temperature(probs, labels)
    assert 2.2 < t < 2.8
    calibrated = apply_temperature(probs, t)
    assert (calibrated.argmax(1) == probs.argmax(1)).all()  # the predicted class never changes
    before = compute_ser_metrics(labels, probs.argmax(1), list("abcde"), y_prob=probs)
    after = compute_ser_metrics(labels, calibrated.argmax(1), list("abcde"), y_prob=calibrated)
    assert after["ece"] < 0.03 < 0.1 < before["ece"]
    assert after["nll"] < before["nll"] and after["brier"] < before["brier"]


def test_no_temperature_is_fitted_on_a_handful_of_clips_or_on_clips_all_right(caplog):
    """A one-clip validation speaker (or a validation set classified without a miss) pulled the
    temperature to its 0.05 bound: every later score read 1.0 and the test NLL rose tenfold."""
    probs, labels = _overconfident()
    right = probs.argmax(1)
    assert fit_temperature(probs[:1], labels[:1]) == 1.0
    assert fit_temperature(probs[:200], right[:200]) == 1.0
    assert "classified right" in caplog.text and "only 1 validation clip(s)" in caplog.text
    assert fit_temperature(probs[:200], labels[:200]) != 1.0  # some misses: fitted as before


def test_a_temperature_at_its_upper_bound_says_the_scores_carry_no_information(caplog):
    """A model at chance fitted T = 20, the bound, without a word: every calibrated score is near
    uniform, which a user should hear about rather than find in config.json."""
    probs, labels = _overconfident()
    rng = np.random.default_rng(1)
    with caplog.at_level(logging.WARNING):
        t = fit_temperature(probs, rng.permutation(labels))  # scores unrelated to the labels
    assert (
        t > 19
        and "reached its upper bound (20)" in caplog.text
        and "carry about no information" in caplog.text
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        fit_temperature(probs, labels)
    assert "upper bound" not in caplog.text


def test_ece_is_zero_when_confidence_matches_accuracy():
    # 10 clips at confidence 0.7, 7 right: perfectly calibrated; the same at 1.0 confidence: off by 0.3
    labels = np.array([0] * 7 + [1] * 3)
    probs = np.tile([0.7, 0.3], (10, 1))
    assert expected_calibration_error(labels, probs) == pytest.approx(0.0)
    assert expected_calibration_error(labels, np.tile([1.0, 0.0], (10, 1))) == pytest.approx(0.3)


@pytest.fixture(scope="module")
def calibrated_model(tmp_path_factory) -> Path:
    from ser_hf.cli import train as train_cli

    corpus = make_ravdess_tree(tmp_path_factory.mktemp("ravdess"), seconds=0.8)
    for actor in corpus.glob("Actor_*"):  # one happy clip of each actor labelled sad: misses to calibrate on
        happy = next(actor.glob("03-01-03-01-01-01-*.wav"))
        happy.rename(happy.with_name(happy.name.replace("03-01-03-01-01-01-", "03-01-04-01-01-05-")))
    out = tmp_path_factory.mktemp("run") / "model"
    argv = ["--corpus", f"ravdess={corpus}", "--preset", "speech-stats", "--split", "loso:06"]
    argv += ["--num_val_speakers", "2", "--output_dir", str(out), "--use_cpu", "true"]
    assert train_cli.cli(argv) == 0
    return out


def test_training_stores_the_temperature_and_the_pipeline_applies_it(calibrated_model):
    from transformers import AutoFeatureExtractor, AutoModelForAudioClassification, pipeline

    config = json.loads((calibrated_model / "config.json").read_text())
    t = config["calibration_temperature"]
    assert t > 0 and t != 1.0
    metrics = json.loads((calibrated_model / "test_metrics.json").read_text())
    assert metrics["calibration"]["temperature"] == pytest.approx(t)
    assert {"ece", "nll", "brier"} <= set(metrics) and {"ece", "nll", "brier"} == set(
        metrics["calibration"]["uncalibrated"]
    )

    clip = _clip(EMOTION_F0["happy"], 1.0, seed=11)
    scores = {
        p["label"]: p["score"]
        for p in pipeline("audio-classification", model=str(calibrated_model))(clip, top_k=None)
    }
    model = AutoModelForAudioClassification.from_pretrained(str(calibrated_model)).eval()
    extractor = AutoFeatureExtractor.from_pretrained(str(calibrated_model))
    feats = extractor(clip, sampling_rate=16000, return_tensors="pt")
    model.config.calibration_temperature = 1.0
    with torch.no_grad():
        raw = model(**feats).logits[0]
    expected = torch.softmax(raw / t, -1)
    for i, name in model.config.id2label.items():
        assert scores[name] == pytest.approx(float(expected[i]), abs=1e-5)


def test_no_calibration_when_asked_not_to(tmp_path, caplog):
    from ser_hf.cli import train as train_cli

    corpus = make_ravdess_tree(tmp_path / "ravdess", actors=4, seconds=0.6)
    out = tmp_path / "model"
    argv = ["--corpus", f"ravdess={corpus}", "--preset", "speech-stats", "--split", "loso:04"]
    argv += ["--num_val_speakers", "1", "--output_dir", str(out), "--calibrate", "false"]
    assert train_cli.cli(argv) == 0
    assert json.loads((out / "config.json").read_text())["calibration_temperature"] == 1.0
    assert "calibration" not in json.loads((out / "test_metrics.json").read_text())
    # --resume of a fitted preset with another split replaced the finished model without a word; the
    # same run fits again (a fit has no checkpoints)
    weights = (out / "model.safetensors").read_bytes()
    other = [a if a != "loso:04" else "loso:03" for a in argv]
    with pytest.raises(SERError, match="--resume: the model in this folder comes from another run.*split"):
        train_cli.cli([*other, "--resume", "true"])
    assert (out / "model.safetensors").read_bytes() == weights
    assert train_cli.cli([*argv, "--resume", "true"]) == 0
    assert (out / "model.safetensors").read_bytes() == weights
    # without --resume, another run replaces the model (a Trainer-style folder), but says so at its start;
    # the same command again says nothing
    with caplog.at_level(logging.WARNING, logger="ser_hf.training"):
        assert train_cli.cli(argv) == 0
        assert "holds the model of another run" not in caplog.text
        assert train_cli.cli(other) == 0
    assert "holds the model of another run (its data, split differ" in caplog.text


def test_a_fitted_preset_says_which_trainer_arguments_it_ignores(tmp_path, caplog):
    """--learning_rate 0.5 --num_train_epochs 1 on a logistic-regression preset gave the very model of
    a run without them, without a word."""
    from ser_hf.cli import train as train_cli

    corpus = make_ravdess_tree(tmp_path / "ravdess", seconds=0.6)
    argv = ["--corpus", f"ravdess={corpus}", "--preset", "speech-stats", "--split", "loso:06"]
    argv += ["--num_val_speakers", "2", "--use_cpu", "true", "--output_dir", str(tmp_path / "m")]
    assert train_cli.cli([*argv, "--output_dir", str(tmp_path / "plain")]) == 0
    assert "do(es) not apply" not in caplog.text
    assert (
        train_cli.cli(
            [*argv, "--learning_rate", "0.5", "--num_train_epochs", "1", "--label_smoothing", "0.1"]
        )
        == 0
    )
    said = next(r.getMessage() for r in caplog.records if "do(es) not apply" in r.getMessage())
    assert {"--learning_rate", "--num_train_epochs", "--label_smoothing"} <= set(
        said.split(" do(es)")[0].split(", ")
    )
