"""What a label scheme or a label map does to a corpus's rows, said where the user works: rows dropped
are counted in train / cv / evaluate logs, a map onto a model's own classes renames the scheme's class,
a map onto an emotion the scheme lacks says so, and the hints name the options of the command line."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import pytest
import soundfile as sf
import torch
from conftest import make_speechlike

from ser_hf.cli import corpus as corpus_cli
from ser_hf.cli import evaluate as evaluate_cli
from ser_hf.data.corpora import load_corpus
from ser_hf.errors import SERError
from ser_hf.training.presets import build_model

SR = 16000
# RAVDESS emotion codes: neutral, calm, happy, sad, angry
CODES = {1: "neutral", 2: "calm", 3: "happy", 4: "sad", 5: "angry"}


@pytest.fixture(scope="module")
def ravdess(tmp_path_factory) -> Path:
    """3 actors x 5 emotions, one 0.4-s clip each."""
    root = tmp_path_factory.mktemp("ravdess")
    for actor in (1, 2, 3):
        folder = root / f"Actor_{actor:02d}"
        folder.mkdir()
        for code in CODES:
            clip = make_speechlike(0.4, f0=100 + 30 * code, seed=10 * actor + code)
            sf.write(folder / f"03-01-{code:02d}-01-01-01-{actor:02d}.wav", clip, SR)
    return root


def _model(folder: Path, labels: list[str]) -> Path:
    torch.manual_seed(0)
    tiny = {"conv_channels": [4, 8], "lstm_hidden_size": 8, "attention_hidden_size": 8}
    model, fe = build_model(
        "seed-logmel-bilstm", labels, feature_overrides={"max_frames": None, "n_mels": 32}, **tiny
    )
    model.save_pretrained(folder)
    fe.save_pretrained(folder)
    return folder


def _evaluate(model: Path, corpus: str, out: Path, *extra: str) -> dict:
    argv = ["--model", str(model), "--corpus", corpus, "--device", "cpu", "--out", str(out), *extra]
    assert evaluate_cli.cli(argv) == 0
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


def test_evaluate_and_train_log_the_rows_a_scheme_or_a_label_map_drops(ravdess, tmp_path, caplog):
    """`ser-hf cv` on a corpus of 200 clips logged '176 rows, 4 skipped': the 23 boredom clips that
    harmonized7 drops, and a class dropped by --label-map contempt=, were named by `ser-hf corpus`
    only. train, cv and evaluate load through the same loader: one WARNING per corpus says it."""
    from ser_hf.training.arguments import DataArguments
    from ser_hf.training.clips import load_rows

    model = _model(tmp_path / "m", ["neutral", "happy", "sad", "angry"])
    with caplog.at_level(logging.WARNING):
        metrics = _evaluate(model, f"ravdess={ravdess}", tmp_path / "e", "--label-map", "calm=")
    assert metrics["n"] == 12
    assert caplog.text.count("dropped 3 rows labelled 'calm' (the label map sends them to nothing)") == 1

    folder = tmp_path / "own"  # a folder of one's own with a class harmonized7 drops, read by training
    for label in ("angry", "sad", "boredom"):
        for i in range(2):
            (folder / label).mkdir(parents=True, exist_ok=True)
            sf.write(folder / label / f"{i}.wav", make_speechlike(0.4, seed=i), SR)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        rows = load_rows(DataArguments(corpus=[f"own={folder}"], label_scheme="harmonized7"))
    assert len(rows) == 4
    assert "own: dropped 2 rows labelled 'boredom' (not in scheme harmonized7)" in caplog.text


def test_a_listed_file_that_is_missing_is_not_counted_as_found(tmp_path, caplog):
    """'203 audio files' counted a metadata.csv row whose file is not there; it is reported apart."""
    root = tmp_path / "own"
    (root / "audio").mkdir(parents=True)
    rows = []
    for i, label in enumerate(["angry", "sad", "angry", "sad"]):
        sf.write(root / "audio" / f"{i}.wav", make_speechlike(0.4, seed=i), SR)
        rows.append([f"audio/{i}.wav", label, f"s{i % 2}"])
    (root / "audio" / "bad.wav").write_bytes(b"\x00" * 3000)
    rows += [["audio/bad.wav", "sad", "s0"], ["audio/gone.wav", "angry", "s1"]]
    with open(root / "metadata.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["file_name", "label", "speaker"], *rows])
    with caplog.at_level(logging.WARNING):
        ds, report = load_corpus("own", root, return_report=True)
    assert len(ds) == 4 and report.files_found == 5 and report.files_missing == 1
    assert "4 rows from 5 audio files (and 1 listed but missing)" in report.format()
    assert "skipped 1 of 5 audio files and 1 listed but missing" in caplog.text


def test_evaluate_label_map_renames_a_scheme_class_to_the_models_own(ravdess, tmp_path, capsys):
    """The README's `--label-map "angry=怒り,happy=喜び"`, to score an English-labelled corpus with a
    model of classes of its own, failed on RAVDESS: "'怒り' is neither a class of scheme ravdess8 nor a
    known emotion". The scheme's classes angry and happy are now named as the model's."""
    model = _model(tmp_path / "jp", ["neutral", "sad", "怒り", "喜び"])
    metrics = _evaluate(model, f"ravdess={ravdess}", tmp_path / "e", "--label-map", "angry=怒り,happy=喜び")
    assert sorted(metrics["labels"]) == sorted(["neutral", "sad", "怒り", "喜び"])
    assert metrics["per_class"]["怒り"]["support"] == 3 and metrics["per_class"]["喜び"]["support"] == 3
    assert metrics["n"] == 12 and metrics["dropped"] == {"calm": 3}  # calm left out, as without the map
    with pytest.raises(SERError, match="nor a class of the model \\(neutral, sad, 怒り, 喜び\\)"):
        _evaluate(model, f"ravdess={ravdess}", tmp_path / "e", "--label-map", "angry=怒")  # a typo
    # without a model to take the names, a name no scheme knows is still refused, saying where it works
    with pytest.raises(SERError, match="ser-hf evaluate --label-map renames a class of the scheme"):
        corpus_cli.cli(["ravdess", str(ravdess), "--label-map", "angry=怒り"])
    # only a class of the scheme can be renamed: harmonized7 merges calm into neutral
    with pytest.raises(
        SERError, match=r"'calm' is not a class of scheme harmonized7 \(it merges 'calm' into"
    ):
        load_corpus("ravdess", ravdess, "harmonized7", label_map={"calm": "平静"}, model_classes=["平静"])


def test_evaluate_label_map_onto_the_models_other_names_renames_the_class(ravdess, tmp_path):
    """`ser-hf evaluate --label-map "angry=anger,happy=joy,sad=sadness"` with a model of classes anger,
    joy, neutral, sadness logged 'classes renamed as loaded by --label-map: angry=anger, ...', but the
    table, metrics.json and predictions.csv kept the corpus's names (angry, p_happy), which the model
    has not: the scheme places 'anger' in its class angry, so the map was undone. The scheme's classes
    now take the model's names; the scores are those of the run without the map."""
    model = _model(tmp_path / "en", ["anger", "joy", "neutral", "sadness"])
    plain = _evaluate(model, f"ravdess={ravdess}", tmp_path / "plain")
    out = tmp_path / "renamed"
    renamed = _evaluate(model, f"ravdess={ravdess}", out, "--label-map", "angry=anger,happy=joy,sad=sadness")
    assert sorted(renamed["labels"]) == ["anger", "joy", "neutral", "sadness"]
    assert renamed["label_mapping"] == {c: c for c in ("anger", "joy", "neutral", "sadness")}
    with open(out / "predictions.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {f"p_{c}" for c in ("anger", "joy", "neutral", "sadness")} <= set(rows[0])
    assert "p_angry" not in rows[0]
    assert {r["true"] for r in rows} == {"anger", "joy", "neutral", "sadness"}
    assert {r["predicted"] for r in rows} <= {"anger", "joy", "neutral", "sadness"}
    assert "angry" not in (out / "classification_report.txt").read_text(encoding="utf-8")
    for key in ("n", "wa", "ua", "nll"):
        assert renamed[key] == pytest.approx(plain[key])
    # a map into another class of the scheme still moves the rows there, under the scheme's names
    ds = load_corpus("ravdess", ravdess, label_map={"calm": "neutral"}, model_classes=["neutral", "sad"])
    names = ds.features["emotion"].names
    assert "calm" in names and sum(names[e] == "neutral" for e in ds["emotion"]) == 6


def test_a_map_onto_an_emotion_the_scheme_lacks_keeps_or_counts_the_rows(ravdess, tmp_path, capsys, caplog):
    """`evaluate --label-map calm=boredom` with a model that has boredom lost the calm clips without a
    word (no 'left out' line), and `ser-hf corpus` said they were dropped as '(not in scheme ravdess8)',
    though calm is one of its classes. The model's boredom now takes RAVDESS's calm clips; without such
    a model the rows are dropped for the right reason, and counted."""
    model = _model(tmp_path / "bored", ["neutral", "boredom", "sad", "angry"])
    metrics = _evaluate(model, f"ravdess={ravdess}", tmp_path / "e", "--label-map", "calm=boredom")
    assert metrics["per_class"]["boredom"]["support"] == 3 and metrics["n"] == 12
    capsys.readouterr()
    with caplog.at_level(logging.WARNING):
        assert corpus_cli.cli(["ravdess", str(ravdess), "--label-map", "calm=boredom"]) == 0
    out = capsys.readouterr().out
    reason = "dropped 3 rows labelled 'calm' (the label map sends them to 'boredom', which scheme ravdess8 has no class for)"  # fmt: skip
    assert reason in out and reason in caplog.text and "not in scheme ravdess8" not in out


def test_hints_name_the_options_of_the_command_line(tmp_path, caplog):
    """`ser-hf corpus` and `evaluate` were told of `--speaker_column` (they take `--speaker-column`;
    train takes both), a folder of class sub-folders to `pass speaker_column=`, and a rare label of
    `load_corpus(..., label_map=...)`, which no command line has."""
    from ser_hf.data.folds import speaker_kfold, validation_speakers

    root = tmp_path / "nospk"
    root.mkdir()
    with open(root / "metadata.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file_name", "label", "participant"])
        for i in range(4):
            sf.write(root / f"{i}.wav", make_speechlike(0.4, seed=i), SR)
            writer.writerow([f"{i}.wav", "angry" if i % 2 else "sad", f"p{i}"])
    with caplog.at_level(logging.WARNING):
        load_corpus("nospk", root)
    assert "--speaker-column COLUMN names another" in caplog.text and "--speaker_column" not in caplog.text

    folder = tmp_path / "subs"  # 11 clips of two classes, one of 'angyr': a typo
    for label, n in (("angry", 11), ("sad", 11), ("angyr", 1)):
        for i in range(n):
            (folder / label).mkdir(parents=True, exist_ok=True)
            sf.write(folder / label / f"{i}.wav", make_speechlike(0.3, seed=i), SR)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        ds = load_corpus("subs", folder)
    assert "map it as it loads: --label-map 'angyr=CLASS'" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING), pytest.raises(SERError) as err:
        speaker_kfold(ds, n_folds=2)  # one pseudo-speaker, subs_unknown
    assert "a folder of class sub-folders names no speakers" in caplog.text
    assert "pass speaker_column=" not in caplog.text
    with pytest.raises(SERError, match="--num-val-speakers.*--speaker-column") as err:
        validation_speakers(["subs_unknown"], n=4)
    assert "_column" not in str(err.value) and "num_val" not in str(err.value)
