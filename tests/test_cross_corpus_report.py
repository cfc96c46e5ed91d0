"""What the cross-corpus protocol says of its data: the labels merged as the corpora are loaded
(RAVDESS calm -> neutral, TESS pleasant surprise -> surprised under harmonized7), the corpora each
direction trains and tests on, the classes each has and shares, chance, and each direction's female
and male UA, printed by ``ser-hf cv --folds corpus`` and ``ser-hf evaluate`` and written to
cv_results.md / metrics.json. Two small generated corpora whose emotions are coded by pitch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf
from test_training import _clip

from ser_hf.cli import cv as cv_cli
from ser_hf.cli import evaluate as evaluate_cli
from ser_hf.data.corpora import load_corpus

SR = 16000
F0 = {"neutral": 140.0, "calm": 150.0, "happy": 300.0, "sad": 600.0, "surprised": 420.0}
RAVDESS_CODES = {"neutral": 1, "calm": 2, "happy": 3, "sad": 4}  # no surprise: TESS's is merged in
TESS_FOLDERS = {"neutral": "neutral", "happy": "happy", "sad": "sad", "surprised": "Pleasant_surprise"}


def _ravdess(root: Path) -> Path:
    """4 actors (1, 3 male; 2, 4 female) x neutral, calm, happy, sad x 2 clips."""
    seed = 0
    for actor in range(1, 5):
        folder = root / f"Actor_{actor:02d}"
        folder.mkdir(parents=True)
        for emotion, code in RAVDESS_CODES.items():
            for statement in (1, 2):
                seed += 1
                name = f"03-01-{code:02d}-01-{statement:02d}-01-{actor:02d}.wav"
                sf.write(folder / name, _clip(F0[emotion], 0.6, seed), SR, subtype="PCM_16")
    return root


def _tess(root: Path) -> Path:
    """OAF and YAF x neutral, happy, sad, pleasant surprise x 3 words."""
    seed = 500
    for speaker in ("OAF", "YAF"):
        for emotion, folder_name in TESS_FOLDERS.items():
            folder = root / f"{speaker}_{folder_name}"
            folder.mkdir(parents=True)
            for w in range(3):
                seed += 1
                sf.write(folder / f"{speaker}_w{w}_{emotion}.wav", _clip(F0[emotion], 0.6, seed), SR)
    return root


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("xc_report")
    return _ravdess(root / "ravdess"), _tess(root / "tess")


def test_the_loader_records_what_the_scheme_merged(corpora):
    ravdess, tess = corpora
    _, report = load_corpus("ravdess", ravdess, label_scheme="harmonized7", return_report=True)
    assert report.harmonised == {"neutral": {"calm": 8}}
    assert "calm (8) counted as neutral (label scheme harmonized7)" in report.format()
    _, report = load_corpus("tess", tess, return_report=True)  # TESS's own scheme is harmonized7
    assert report.harmonised == {"surprised": {"pleasant_surprise": 6}}
    _, report = load_corpus("ravdess", ravdess, return_report=True)  # ravdess8 keeps calm: no merge
    assert report.harmonised == {}


def test_a_class_under_its_own_spelling_is_no_merge():
    from ser_hf.data.labels import harmonisation

    got = harmonisation(
        ["mine"] * 5,
        ["angry", "Foo", "angry", "calm", "wut"],  # the rows' own labels (raw_emotion)
        ["Anger", "foo", "female_angry", "neutral", "angry"],  # the classes they were loaded as
    )
    assert got == {"mine": {"angry": {"wut": 1}, "neutral": {"calm": 1}}}


def test_cv_across_corpora_prints_each_direction_its_merges_chance_and_genders(corpora, tmp_path, capsys):
    ravdess, tess = corpora
    out = tmp_path / "xc"
    argv = ["--corpus", f"ravdess={ravdess}", "--corpus", f"tess={tess}", "--folds", "corpus"]
    argv += ["--preset", "speech-stats", "--out", str(out)]
    argv += ["--", "--use_cpu", "true", "--report_to", "none", "--num_val_speakers", "1", "--seed", "7"]
    assert cv_cli.cli(argv) == 0, (out / "fold_0" / "train.log").read_text()[-3000:]
    printed = capsys.readouterr().out
    merges = "ravdess: calm (8) -> neutral; tess: pleasant_surprise (6) -> surprised"
    assert f"labels merged as the corpora were loaded (label scheme harmonized7): {merges}" in printed
    assert "fold_0: trains on tess, tests on ravdess (32 clips)" in printed
    assert "fold_1: trains on ravdess, tests on tess (24 clips)" in printed
    # RAVDESS (calm merged) has 3 classes, TESS 4; TESS is scored on its 4: chance 1/4, RAVDESS 1/3
    assert "(chance 0.333)" in printed and "(chance 0.250)" in printed
    assert (
        "classes: ravdess 3 (neutral, happy, sad); tess 4 (neutral, happy, sad, surprised); shared 3"
        in printed
    )
    # each direction's genders, never a mean of RAVDESS's women and TESS's
    assert "by gender (ravdess): female UA" in printed and "male UA" in printed
    assert "by gender (tess): female UA" in printed
    assert "by gender: female" not in printed and "mean of 2 folds" not in printed

    assert json.loads((out / "fold_1" / "train_args.json").read_text())["seed"] == 7  # as --help says
    fold = json.loads((out / "fold_1" / "test_metrics.json").read_text())
    assert fold["training_corpora"] == ["ravdess"] and fold["test_corpora"] == ["tess"]
    assert fold["cross_corpus"] is True and fold["chance_ua"] == pytest.approx(0.25)
    assert fold["harmonised_from"] == {
        "ravdess": {"neutral": {"calm": 8}},
        "tess": {"surprised": {"pleasant_surprise": 6}},
    }
    result = json.loads((out / "cv_results.json").read_text())
    assert result["harmonised_from"] == fold["harmonised_from"]
    assert [set(f["per_gender"]) for f in result["folds"]] == [{"female", "male"}, {"female"}]
    md = (out / "cv_results.md").read_text()
    assert "## Corpora, classes and chance" in md and merges in md
    assert "- fold_0: trains on tess, tests on ravdess" in md and "- Label scheme: harmonized7" in md
    assert "By gender, per fold" in md and "| fold_1 (tests tess) | female |" in md
    assert "By gender (mean over the folds" not in md

    # evaluate a direction's model: the merge it scores with, and what cross-corpus means there
    assert evaluate_cli.cli(["--model", str(out / "fold_0"), "--corpus", f"ravdess={ravdess}", "--out", str(tmp_path / "e")]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "tested on ravdess; the model trained on tess: cross-corpus" in printed
    assert (
        "labels merged as the data were loaded (label scheme harmonized7):\n  ravdess: calm (8) -> neutral"
        in printed
    )
    assert "chance UA 0.333 (each corpus scored on the classes it has, below)" in printed  # its 3 classes
    metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert metrics["harmonised_from"] == {"ravdess": {"neutral": {"calm": 8}}}
    assert metrics["per_class"]["neutral"]["support"] == 16  # 8 neutral + 8 calm clips
    assert metrics["cross_corpus"] is True and metrics["label_sets_differ"] is False
    assert metrics["training_corpora"] == ["tess"] and metrics["test_corpora"] == ["ravdess"]
    assert metrics["chance_ua"] == pytest.approx(1 / 3)
    assert metrics["merged_test_classes"] == {}  # unchanged: merges of data without a known scheme


def test_cv_help_says_the_seed_the_validation_speakers_and_how_to_rerun_bit_exact():
    text = " ".join(cv_cli._build_parser().format_help().split())
    assert "--seed 42 (ser-hf train's default); another goes after '--' (-- --seed 7)" in text
    assert "--num_val_speakers (default 4, after '--')" in text and "TRAINING speakers only" in text
    assert "refitted on training + validation" in text
    assert "OMP_NUM_THREADS=1" in text
