"""Distillation: ``ser-hf distill`` (a student learns a teacher's soft labels) for the logistic-
regression and the Trainer presets, and ``ser-hf cv --teacher-preset`` (a teacher per fold).

The telling case is a teacher that is deliberately wrong: its ``happy`` and ``sad`` labels are
swapped. A student trained only on that teacher's soft labels (alpha 1) must follow the teacher,
not the corpus labels; with alpha 0 it must ignore the teacher."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from test_training import EMOTION_F0, TINY_FEATURES, TINY_MODEL, _clip, make_ravdess_tree

from ser_hf.cli import cv as cv_cli
from ser_hf.cli import distill as distill_cli
from ser_hf.errors import SERError
from ser_hf.training.distill import label_map, soften
from ser_hf.training.trainer import SERTrainer

COMMON = ["--split", "loso:06", "--num_val_speakers", "1", "--use_cpu", "true", "--report_to", "none"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_ravdess_tree(tmp_path_factory.mktemp("ravdess"), seconds=0.8)


@pytest.fixture(scope="module")
def teachers(corpus, tmp_path_factory) -> tuple[Path, Path]:
    """A speech-stats teacher, and a copy of it whose happy and sad labels are swapped."""
    root = tmp_path_factory.mktemp("teachers")
    teacher = root / "teacher"
    argv = [
        "--corpus",
        f"ravdess={corpus}",
        "--preset",
        "speech-stats",
        "--output_dir",
        str(teacher),
        *COMMON,
    ]
    assert distill_cli.train_cli.cli(argv) == 0
    swapped = root / "swapped"
    shutil.copytree(teacher, swapped)
    config = json.loads((swapped / "config.json").read_text())
    names = {v: k for k, v in config["id2label"].items()}
    config["id2label"][names["happy"]], config["id2label"][names["sad"]] = "sad", "happy"
    config["label2id"] = {v: int(k) for k, v in config["id2label"].items()}
    (swapped / "config.json").write_text(json.dumps(config))
    return teacher, swapped


def _distill(corpus: Path, teacher: Path, out: Path, *extra: str) -> dict:
    argv = ["--teacher", str(teacher), "--corpus", f"ravdess={corpus}", "--output_dir", str(out), *COMMON]
    assert distill_cli.cli([*argv, *extra]) == 0
    return json.loads((out / "test_metrics.json").read_text())


def _recall(metrics: dict, name: str) -> float:
    i = metrics["labels"].index(name)
    row = metrics["confusion"][i]
    return row[i] / max(sum(row), 1)


def test_a_linear_student_follows_its_teacher_not_the_labels(corpus, teachers, tmp_path):
    teacher, swapped = teachers
    plain = _distill(corpus, swapped, tmp_path / "a0", "--preset", "speech-stats", "--distill_alpha", "0")
    assert plain["ua"] > 0.8  # alpha 0: the labels alone, the swapped teacher ignored
    follower = _distill(corpus, swapped, tmp_path / "a1", "--preset", "speech-stats", "--distill_alpha", "1")
    # alpha 1: happy clips are called sad and sad clips happy, as the swapped teacher says
    happy, sad = (follower["labels"].index(n) for n in ("happy", "sad"))
    assert follower["confusion"][happy][sad] > 0.8 * sum(follower["confusion"][happy])
    assert follower["confusion"][sad][happy] > 0.8 * sum(follower["confusion"][sad])
    assert _recall(follower, "neutral") > 0.8
    args = json.loads((tmp_path / "a1" / "train_args.json").read_text())
    assert args["model"]["teacher"] == str(swapped) and args["model"]["distill_alpha"] == 1.0
    # the student's card names its teacher and what that learnt from (it said nothing of either)
    from ser_hf.hub.cards import make_model_card

    card = str(make_model_card(tmp_path / "a1", "me/student"))
    assert "distillation" in card and "teacher `swapped` (ser_functionals_linear, trained on RAVDESS)" in card
    assert str(tmp_path) not in card and "distillation" not in str(make_model_card(tmp_path / "a0", "me/x"))


def test_a_teacher_that_trained_on_the_students_test_speakers_is_named(corpus, teachers, tmp_path, caplog):
    """The teacher (tested on actor 6) trained on actor 5: a student tested on actor 5 got its
    figures presented as speaker-independent without a word."""
    import logging

    teacher, _ = teachers
    argv = ["--teacher", str(teacher), "--corpus", f"ravdess={corpus}", "--preset", "speech-stats"]
    common = [a if a != "loso:06" else "loso:05" for a in COMMON]
    with caplog.at_level(logging.WARNING, logger="ser_hf.training"):
        assert distill_cli.cli([*argv, "--output_dir", str(tmp_path / "s5"), *common]) == 0
    assert "trained or was chosen on 1 of this run's test speakers (ravdess_05)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ser_hf.training"):
        assert distill_cli.cli([*argv, "--output_dir", str(tmp_path / "s6"), *COMMON]) == 0
    assert "test speakers" not in caplog.text


def test_a_trainer_student_distils_and_loads_in_the_pipeline(corpus, teachers, tmp_path):
    from transformers import pipeline

    teacher, _ = teachers
    out = tmp_path / "student"
    extra = [
        "--preset",
        "seed-logmel-bilstm",
        "--config_overrides",
        TINY_MODEL,
        "--feature_overrides",
        TINY_FEATURES,
    ]
    extra += ["--num_train_epochs", "2", "--per_device_train_batch_size", "8", "--max_seconds", "0.5"]
    extra += [
        "--learning_rate",
        "0.01",
        "--disable_tqdm",
        "true",
        "--augment",
        "light",
        "--mixup_alpha",
        "0.2",
    ]
    metrics = _distill(corpus, teacher, out, *extra)
    assert 0.0 <= metrics["ua"] <= 1.0 and metrics["n"] > 0
    clf = pipeline("audio-classification", model=str(out), device="cpu")
    preds = clf(_clip(EMOTION_F0["sad"], 1.0, seed=5), top_k=None)
    assert {p["label"] for p in preds} == set(json.loads((out / "config.json").read_text())["label2id"])


def test_the_distillation_loss_is_hintons():
    """alpha 1 and a teacher equal to the student at T: no loss; alpha 0: the hard loss alone."""
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.2, 0.1]])
    t = 2.0
    fake = type("T", (), {"distill_temperature": t, "distill_alpha": 1.0})()
    same = torch.softmax(logits / t, -1)
    assert SERTrainer._distill(fake, torch.tensor(5.0), logits, same).abs() < 1e-6
    other = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    assert SERTrainer._distill(fake, torch.tensor(5.0), logits, other) > 0.5
    fake.distill_alpha = 0.0
    assert SERTrainer._distill(fake, torch.tensor(5.0), logits, other) == pytest.approx(5.0)
    # soften: T > 1 flattens the teacher, zeros stay zero
    p = np.array([[0.7, 0.3, 0.0]])
    s = soften(p, 2.0)
    assert s[0, 2] == 0 and 0.5 < s[0, 0] < 0.7 and s.sum() == pytest.approx(1.0)


def test_a_teacher_with_other_labels_is_refused_and_one_with_some_other_labels_warned_of(caplog):
    assert label_map(["Angry", "sad", "calm"], ["angry", "sad", "neutral"]) == [0, 1, -1]
    # a 7-class teacher for an 8-class student left the student's calm at zero without a word
    assert "the teacher's ['calm'] are dropped, the student's ['neutral'] get no teacher" in caplog.text
    caplog.clear()
    assert label_map(["angry", "sad"], ["Sad", "angry"]) == [1, 0] and not caplog.text
    with pytest.raises(SERError, match=r"\['calm', 'boredom'\].*\['angry', 'sad'\]"):
        label_map(["calm", "boredom"], ["angry", "sad"])


@pytest.mark.slow
def test_cross_validation_trains_a_teacher_inside_every_fold(corpus, tmp_path, capsys):
    out = tmp_path / "cv"
    argv = ["--corpus", f"ravdess={corpus}", "--folds", "2", "--preset", "speech-stats"]
    argv += ["--teacher-preset", "speech-stats", "--out", str(out), "--", "--use_cpu", "true"]
    assert cv_cli.cli(argv) == 0, (out / "fold_0" / "teacher.log").read_text()[-3000:]
    result = json.loads((out / "cv_results.json").read_text())
    assert result["n_folds"] == 2 and result["meta"]["teacher_preset"] == "speech-stats"
    # every fold was calibrated on its validation speakers; the aggregate keeps both sides
    assert {"ece", "ece_uncalibrated", "nll", "nll_uncalibrated"} <= set(result["calibration"])
    assert "Calibration (mean over folds" in (out / "cv_results.md").read_text()
    for k in range(2):
        fold = out / f"fold_{k}"
        student_split = json.loads((fold / "split.json").read_text())
        teacher_split = json.loads((fold / "teacher" / "split.json").read_text())
        # the teacher never saw the fold's test speakers: same split as its student
        assert teacher_split["test_speakers"] == student_split["test_speakers"]
        assert json.loads((fold / "train_args.json").read_text())["model"]["teacher"] == str(fold / "teacher")


def test_a_student_on_a_corpus_without_the_teachers_last_class(corpus, teachers, tmp_path):
    """The teacher knows sad; the student's corpus has no sad clip (as CREMA-D has no surprised):
    the teacher's probabilities named a class no row had and the fit ended in an IndexError."""
    teacher, _ = teachers
    no_sad = tmp_path / "no_sad"
    shutil.copytree(corpus, no_sad, ignore=lambda folder, names: [n for n in names if "-04-01-" in n])
    metrics = _distill(no_sad, teacher, tmp_path / "student", "--preset", "speech-stats")
    assert "sad" not in [metrics["labels"][i] for i, row in enumerate(metrics["confusion"]) if sum(row)]
    assert metrics["ua"] > 0.8
    with pytest.raises(SERError, match="give the teacher"):  # an empty --teacher trained a plain model
        distill_cli.cli(
            ["--teacher=", "--preset", "speech-stats", "--corpus", f"ravdess={no_sad}"]
            + ["--output_dir", str(tmp_path / "x"), *COMMON]
        )
    # no --preset: ser-hf train's default (seed-logmel-bilstm, 60 epochs, ~15 min) trained as the student
    with pytest.raises(SERError, match="give the student's preset: --preset STUDENT"):
        distill_cli.cli(
            ["--teacher", str(teacher), "--corpus", f"ravdess={no_sad}", "--output_dir", str(tmp_path / "y")]
        )
    assert not (tmp_path / "y").exists()
