"""Two corpora of a team's own, trained on together (probe of session 47): their own labels stay the
classes, unless a scheme is named, which then says per corpus what it renamed."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import pytest
import soundfile as sf
from conftest import make_speechlike

from ser_hf.cli import cv as cv_cli
from ser_hf.cli import evaluate as evaluate_cli
from ser_hf.cli import train as train_cli
from ser_hf.data.corpora import load_corpora
from ser_hf.data.labels import scheme_names
from ser_hf.errors import SERError

SR = 16000


def write_corpus(root: Path, labels: list[str], callers: tuple[str, ...] = ("A", "B", "C")) -> Path:
    """Two 0.5-s clips of every label for each caller, listed in a metadata.csv."""
    root.mkdir(parents=True)
    with open(root / "metadata.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file_name", "label", "caller_id", "gender"])
        for c, caller in enumerate(callers):
            for k, label in enumerate(labels):
                for i in range(2):
                    name = f"{caller}_{k}_{i}.wav"
                    sf.write(
                        root / name, make_speechlike(0.5, f0=110 + 40 * k, seed=100 * c + 10 * k + i), SR
                    )
                    writer.writerow([name, label, caller, "female" if c % 2 else "male"])
    return root


@pytest.fixture(scope="module")
def two(tmp_path_factory) -> tuple[Path, Path]:
    """``mine`` (joy, anger, neutral) and ``second`` (Joy, angry, neutral, calm), 3 callers each."""
    root = tmp_path_factory.mktemp("two")
    return (
        write_corpus(root / "mine", ["joy", "anger", "neutral"]),
        write_corpus(root / "second", ["Joy", "angry", "neutral", "calm"]),
    )


def _train(two: tuple[Path, Path], out: Path, *extra: str) -> list[str]:
    """Train speech-stats on both corpora; the model's classes in id order."""
    argv = ["--corpus", f"mine={two[0]}", "--corpus", f"second={two[1]}", "--speaker_column", "caller_id"]
    argv += ["--split", "none", "--num_val_speakers", "2", "--preset", "speech-stats", *extra]
    assert train_cli.cli([*argv, "--output_dir", str(out)]) == 0
    id2label = json.loads((out / "config.json").read_text(encoding="utf-8"))["id2label"]
    return [id2label[str(i)] for i in range(len(id2label))]


def test_two_corpora_of_your_own_keep_their_own_labels(two, tmp_path, caplog):
    """Trained on two folders of the user's own, the model's classes were harmonized7's (joy counted as
    happy, calm as neutral, and fearful, disgust, surprised out of no clip), and --label_scheme native
    was refused: "concatenated corpora need one named label scheme"."""
    with caplog.at_level(logging.INFO):
        classes = _train(two, tmp_path / "own")
    assert classes == ["anger", "angry", "calm", "joy", "neutral"]  # Joy and joy: one class
    log = caplog.text
    assert "labels 'joy' (mine), 'Joy' (second) differ only in case" in log
    assert "label scheme native: 5 classes, the corpora's own labels: anger (mine); angry (second)" in log
    assert "classes 'anger' (mine) and 'angry' (second) are one emotion (angry)" in log
    assert "--label-map 'anger=angry'" in log
    assert "no training clip is labelled" not in log
    # asked by name, with the map the warning names: one angry class of both corpora's clips
    classes = _train(two, tmp_path / "mapped", "--label_scheme", "native", "--label_map", "anger=angry")
    assert classes == ["angry", "calm", "joy", "neutral"]
    # evaluated on the two corpora (the training's columns and map, unasked), they are read with their
    # own labels too, not harmonized7
    out = tmp_path / "ev"
    argv = ["--model", str(tmp_path / "mapped"), "--corpus", f"mine={two[0]}", "--corpus", f"second={two[1]}"]
    argv += ["--device", "cpu", "--out", str(out)]
    assert evaluate_cli.cli(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["label_scheme"] == "native" and metrics["n"] == 42
    assert sorted(metrics["labels"]) == ["angry", "calm", "joy", "neutral"] and not metrics["dropped"]


def test_a_scheme_over_corpora_of_your_own_says_what_it_renamed(two, tmp_path, caplog):
    """Under harmonized7 the users' joy, anger and calm became happy, angry and neutral without a word."""
    with caplog.at_level(logging.INFO):
        classes = _train(two, tmp_path / "h7", "--label_scheme", "harmonized7")
    assert classes == scheme_names("harmonized7")
    log = caplog.text
    assert (
        "label scheme harmonized7 renames or merges labels: mine: anger (6) -> angry; joy (6) -> happy" in log
    )
    assert "renames or merges labels: second: Joy (6) -> happy; calm (6) -> neutral" in log
    assert "(--label_scheme native keeps your own labels)" in log
    assert "no training clip is labelled ['sad', 'fearful', 'disgust', 'surprised']" in log
    assert "or --label_scheme native: your own labels as the classes" in log


def test_native_with_a_known_corpus_is_refused_with_the_fix(two, tmp_path):
    """RAVDESS's labels are read into ravdess8: beside a corpus of the user's own under native, its
    'happy' would be a class apart from their 'joy'. Refused, naming why and the scheme to name."""
    with pytest.raises(SERError, match=r"ravdess \(ravdess8\) is a known corpus.*--label_scheme harmonized7"):
        load_corpora([("mine", two[0]), ("ravdess", tmp_path / "ravdess")], "native")
    argv = ["--corpus", f"mine={two[0]}", "--corpus", f"ravdess={tmp_path}", "--label_scheme", "native"]
    with pytest.raises(SERError, match="native keeps the labels of corpora of your own"):
        train_cli.cli([*argv, "--preset", "speech-stats", "--output_dir", str(tmp_path / "x")])


def test_cv_over_two_corpora_of_your_own_keeps_their_labels(two, tmp_path):
    """ser-hf cv harmonised any two corpora to harmonized7, whatever their labels."""
    out = tmp_path / "cv"
    argv = ["--corpus", f"mine={two[0]}", "--corpus", f"second={two[1]}", "--folds", "corpus", "--only", "0"]
    argv += ["--preset", "speech-stats", "--out", str(out), "--", "--speaker_column", "caller_id"]
    argv += ["--num_val_speakers", "1", "--label_map", "anger=angry"]
    assert cv_cli.cli(argv) == 0, (out / "fold_0" / "train.log").read_text()[-3000:]
    result = json.loads((out / "cv_results.json").read_text(encoding="utf-8"))
    assert result["meta"]["label_scheme"] == "native"
    assert result["labels"] == ["angry", "calm", "joy", "neutral"]
