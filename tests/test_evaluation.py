"""``ser-hf evaluate`` and ``ser-hf cv`` on a tiny generated RAVDESS tree and tiny saved models.

Models with a zeroed last layer output a constant logit vector (their bias), so their predictions,
and hence WA / UA / confusion, can be worked out by hand; a random model checks that batched,
length-sorted evaluation gives the same predictions as classifying clip by clip.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import statistics
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from ser_hf.cli import cv as cv_cli
from ser_hf.cli import evaluate as evaluate_cli
from ser_hf.data.corpora import load_corpus
from ser_hf.data.labels import scheme_names
from ser_hf.data.whole_files import write_json
from ser_hf.errors import SERError
from ser_hf.training import cross_validation, evaluation
from ser_hf.training.metrics import compute_ser_metrics
from ser_hf.training.presets import build_model

SR = 16000
# RAVDESS emotion codes in the tree: neutral, calm, sad, angry, surprised
CODES = {1: "neutral", 2: "calm", 4: "sad", 5: "angry", 8: "surprised"}
TINY = {"conv_channels": [4, 8], "lstm_hidden_size": 8, "attention_hidden_size": 8}


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """24 actors x 5 emotions, one clip each (0.3-0.6 s, different lengths so sorting matters)."""
    root = tmp_path_factory.mktemp("ravdess")
    rng = np.random.default_rng(0)
    for actor in range(1, 25):
        folder = root / f"Actor_{actor:02d}"
        folder.mkdir()
        for code in CODES:
            seconds = 0.3 + 0.3 * rng.random()
            t = np.arange(int(seconds * SR)) / SR
            x = 0.3 * np.sin(2 * np.pi * (100 + 40 * code) * t) + 0.02 * rng.standard_normal(t.size)
            sf.write(folder / f"03-01-{code:02d}-01-01-01-{actor:02d}.wav", x.astype(np.float32), SR)
    return root


def _metadata_corpus(folder: Path, labels: tuple[str, ...], speaker: str, speakers=range(1, 5)) -> list[str]:
    """A corpus of one 0.5-s tone per speaker and label in ``folder`` with its ``metadata.csv``
    (``speaker``: the id's format, e.g. ``"s{}"``); returns the table's lines, to rewrite."""
    folder.mkdir()
    lines = ["file_name,label,speaker"]
    for s in speakers:
        for k, label in enumerate(labels):
            sf.write(folder / f"{s}_{k}.wav", 0.1 * np.sin(np.arange(8000) * (0.05 + 0.02 * k)), 16000)
            lines.append(f"{s}_{k}.wav,{label},{speaker.format(s)}")
    (folder / "metadata.csv").write_text("\n".join(lines) + "\n")
    return lines


def _save_model(folder: Path, labels: list[str], bias: dict[str, float] | None = None) -> Path:
    torch.manual_seed(0)
    model, fe = build_model(
        "seed-logmel-bilstm", labels, feature_overrides={"max_frames": None, "n_mels": 32}, **TINY
    )
    if bias is not None:  # constant logits = the bias: predictions known in advance
        last = model.classifier[-1]
        with torch.no_grad():
            last.weight.zero_()
            last.bias.copy_(torch.tensor([bias.get(name, 0.0) for name in labels]))
    model.save_pretrained(folder)
    fe.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def random_model(tmp_path_factory) -> Path:
    return _save_model(tmp_path_factory.mktemp("random"), scheme_names("ravdess8"))


def test_batched_evaluation_equals_clip_by_clip(tree, random_model):
    from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

    from ser_hf.data.audio import load_audio

    ds = load_corpus("ravdess", tree).select(range(30))  # actors 1-6 (clip by clip is slow)
    metrics, rows = evaluation.evaluate_model(
        random_model, ds, batch_size=7, device="cpu", return_predictions=True
    )

    model = AutoModelForAudioClassification.from_pretrained(random_model).eval()
    fe = AutoFeatureExtractor.from_pretrained(random_model)
    names = scheme_names("ravdess8")
    expected = {}
    for path in ds["path"]:
        inputs = fe(load_audio(path, SR), sampling_rate=SR, return_tensors="pt")
        with torch.no_grad():
            expected[path] = names[int(model(**inputs).logits.argmax(-1))]
    assert len(set(expected.values())) > 1  # varied predictions, so a row mix-up would show
    assert {r["path"]: r["predicted"] for r in rows} == expected

    truth = [names[e] for e in ds["emotion"]]
    assert metrics["n"] == len(ds) == 30
    assert metrics["wa"] == pytest.approx(np.mean([expected[p] == t for p, t in zip(ds["path"], truth)]))
    assert metrics["label_sets_differ"] is False and metrics["dropped"] == {}
    assert metrics["cross_corpus"] is None  # the model records no training corpora
    assert metrics["labels"] == names
    assert list(metrics["per_speaker"]) == [f"ravdess_{a:02d}" for a in range(1, 7)]
    assert set(metrics["per_gender"]) == {"female", "male"}
    assert all(0.0 <= r["score"] <= 1.0 for r in rows)


def test_cross_corpus_masks_unshared_classes_and_pools_merged_ones(tree, tmp_path):
    # a ravdess8 model whose top class (surprised) does not exist in emodb7; calm merges into neutral
    # there, and neutral + calm together (2 e^5) beat sad (e^5.5), which alone beats each of them
    bias = {"surprised": 20.0, "neutral": 5.0, "calm": 5.0, "sad": 5.5}
    model_dir = _save_model(tmp_path / "m", scheme_names("ravdess8"), bias)
    ds = load_corpus("ravdess", tree, label_scheme="emodb7")  # calm -> neutral, surprised dropped
    assert len(ds) == 96

    out = evaluation.evaluate_model(model_dir, ds, device="cpu")
    assert out["label_sets_differ"] is True  # what "cross_corpus" said before session 45
    assert out["labels"] == ["neutral", "happy", "sad", "angry", "fearful", "disgust"]  # no boredom
    assert out["label_mapping"]["calm"] == "neutral"
    assert "surprised" not in out["label_mapping"]
    neutral_rows = 48  # 24 neutral + 24 calm clips
    assert out["wa"] == pytest.approx(neutral_rows / 96)
    assert out["ua"] == pytest.approx((1.0 + 0.0 + 0.0) / 3)  # neutral, sad, angry have clips
    assert [row[0] for row in out["confusion"]] == [48, 0, 24, 24, 0, 0]  # everything -> neutral


def test_cross_corpus_drops_rows_the_model_cannot_predict(tree, tmp_path):
    # a common6 model (other class order, no calm, no surprised) tested on native RAVDESS labels
    model_dir = _save_model(tmp_path / "m", scheme_names("common6"), {"sad": 10.0})
    ds = load_corpus("ravdess", tree)
    out = evaluation.evaluate_model(model_dir, ds, device="cpu")

    assert out["dropped"] == {"calm": 24, "surprised": 24}
    assert out["labels"] == ["neutral", "happy", "sad", "angry", "fearful", "disgust"]  # test-scheme order
    assert out["n"] == 72
    assert out["wa"] == pytest.approx(24 / 72)
    assert out["per_class"]["sad"]["recall"] == 1.0 and out["per_class"]["neutral"]["recall"] == 0.0
    assert out["per_class"]["happy"]["support"] == 0 and out["per_class"]["happy"]["recall"] is None


def test_label_mapping_rules():
    same = scheme_names("ravdess8")
    assert evaluation.label_mapping(same, same, "ravdess8") == ({n: n for n in same}, same)
    # generic folder labels (no scheme): matched by emotion name, gender-joint classes included
    mapping, shared = evaluation.label_mapping(
        ["female_angry", "male_angry", "female_sad"], ["angry", "joy"], None
    )
    assert mapping == {"female_angry": "angry", "male_angry": "angry"} and shared == ["angry"]
    # a RAVDESS model's calm counts as neutral on a folder of your own, as it does on TESS (it was
    # masked out there); a folder with a Calm class of its own keeps calm apart
    ravdess = scheme_names("ravdess8")
    mapping, _ = evaluation.label_mapping(ravdess, ["Angry", "Neutral", "Surprise"], None)
    assert mapping == {"neutral": "Neutral", "calm": "Neutral", "angry": "Angry", "surprised": "Surprise"}
    assert evaluation.label_mapping(ravdess, ["Calm", "Neutral"], None)[0] == {
        "neutral": "Neutral",
        "calm": "Calm",
    }
    assert (
        evaluation.label_mapping(ravdess, scheme_names("harmonized7"), "harmonized7")[0]["calm"] == "neutral"
    )
    # a folder with calm and no neutral, for a model without calm: its calm rows are the model's neutral
    mapping, shared = evaluation.label_mapping(scheme_names("harmonized7"), ["calm", "angry"], None)
    assert mapping == {"neutral": "calm", "angry": "angry"} and shared == ["calm", "angry"]


def test_evaluate_cli_writes_every_file(tree, random_model, tmp_path, capsys):
    from ser_hf.data import folds

    ds = load_corpus("ravdess", tree)
    # a training run's split.json: leave actor 3 out
    fold = next(
        f for f in folds.leave_one_speaker_out(ds, n_validation=1) if f.test_speakers == ["ravdess_03"]
    )
    manifest = tmp_path / "split.json"
    fold.to_json(manifest)
    out = tmp_path / "eval"
    argv = ["--model", str(random_model), "--corpus", f"ravdess={tree}", "--split", f"manifest:{manifest}"]
    assert evaluate_cli.cli([*argv, "--out", str(out), "--device", "cpu", "--batch-size", "4"]) == 0

    printed = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 5 and list(metrics["per_speaker"]) == ["ravdess_03"]
    assert f"UA={metrics['ua']:.3f}" in printed and "by gender: male" in printed
    assert (out / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "reliability.png").read_bytes()[:4] == b"\x89PNG"
    assert 0.0 <= metrics["ece"] <= 1.0 and metrics["nll"] > 0 and 0.0 <= metrics["brier"] <= 2.0
    assert f"ECE {metrics['ece']:.3f}" in printed
    assert "macro avg" in (out / "classification_report.txt").read_text()
    with open(out / "predictions.csv") as f:
        assert [row["speaker"] for row in csv.DictReader(f)] == ["ravdess_03"] * 5

    # a manifest made for other rows is refused rather than silently scoring the wrong clips
    folds.leave_one_speaker_out(ds.select(range(100)), n_validation=1)[0].to_json(manifest)
    with pytest.raises(SERError, match="differs"):
        evaluate_cli.cli([*argv, "--out", str(tmp_path / "bad"), "--device", "cpu"])


class _ListHandler(__import__("logging").Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record) -> None:
        self.messages.append(record.getMessage())


def test_evaluate_warns_of_the_models_own_speakers_and_unseen_leaves_them_out(tree, tmp_path, capsys):
    """Scoring a model on the actors it trained on gave UA 1.000 without a word (a user with a
    copy of some RAVDESS actors and the bundled default); the folder's split.json names them."""
    import shutil

    from ser_hf.data import folds

    ds = load_corpus("ravdess", tree)
    model = _save_model(tmp_path / "model", scheme_names("ravdess8"))
    fold = folds.ravdess_protocol_folds(ds, n_validation=2)[5]  # tests on actors 21-24
    fold.to_json(model / "split.json")
    seen = sorted({*fold.train_speakers, *fold.validation_speakers})
    part = tmp_path / "part"  # a copy of some actors: 2 training actors and 2 test actors
    for actor in (fold.train_speakers[0], fold.train_speakers[1], "ravdess_21", "ravdess_22"):
        shutil.copytree(tree / f"Actor_{actor[-2:]}", part / f"Actor_{actor[-2:]}")
    argv = ["--model", str(model), "--corpus", f"ravdess={part}", "--device", "cpu"]
    assert evaluate_cli.cli([*argv, "--out", str(tmp_path / "all")]) == 0
    err = capsys.readouterr().err
    assert "2 of the 4 speakers evaluated took part in this model's training" in err
    metrics = json.loads((tmp_path / "all" / "metrics.json").read_text())
    assert metrics["seen_speakers"] == sorted(set(seen) & set(metrics["per_speaker"]))
    # the Python API said nothing (and recorded nothing) of them
    import logging

    logging.getLogger("ser_hf.training.evaluation").addHandler(handler := _ListHandler())
    try:
        result = evaluation.evaluate_model(str(model), load_corpus("ravdess", part), device="cpu")
    finally:
        logging.getLogger("ser_hf.training.evaluation").removeHandler(handler)
    assert result["seen_speakers"] == metrics["seen_speakers"]
    assert any(
        "2 of the 4 speakers evaluated took part in this model's training" in m for m in handler.messages
    )
    assert evaluate_cli.cli([*argv, "--split", "unseen", "--out", str(tmp_path / "unseen")]) == 0
    assert "took part" not in capsys.readouterr().err
    # the same command again replaces its own files quietly; another corpus or split into the same
    # --out said nothing either, and the earlier figures were gone
    assert evaluate_cli.cli([*argv, "--split", "unseen", "--out", str(tmp_path / "unseen")]) == 0
    assert "this run replaces" not in capsys.readouterr().err
    assert evaluate_cli.cli([*argv, "--out", str(tmp_path / "unseen")]) == 0
    assert (
        f"warning: {tmp_path / 'unseen'} holds the evaluation of {model} on ravdess={part} (unseen, test); "
        "this run replaces its files" in capsys.readouterr().err
    )
    assert evaluate_cli.cli([*argv, "--split", "unseen", "--out", str(tmp_path / "unseen")]) == 0
    capsys.readouterr()
    metrics = json.loads((tmp_path / "unseen" / "metrics.json").read_text())
    assert list(metrics["per_speaker"]) == ["ravdess_21", "ravdess_22"] and "seen_speakers" not in metrics
    for actor in ("21", "22"):  # only actors the model saw: it said "the test part of this split is empty"
        shutil.rmtree(part / f"Actor_{actor}")
    with pytest.raises(SERError, match="every speaker of this data took part in the model's training"):
        evaluate_cli.cli([*argv, "--split", "unseen", "--out", str(tmp_path / "none")])
    # a damaged split.json: --split unseen/model say which file (a raw JSONDecodeError before) and
    # a plain evaluation still runs, with a warning that it cannot tell the model's speakers
    (model / "split.json").write_text('{"train_speakers": ["ravdess_0')
    for split in ("unseen", "model"):
        with pytest.raises(SERError, match="cannot read the model's split record") as err:
            evaluate_cli.cli([*argv, "--split", split, "--out", str(tmp_path / "broken")])
        assert "split.json" in str(err.value)
    assert evaluate_cli.cli([*argv, "--out", str(tmp_path / "broken")]) == 0
    assert "may include speakers the model trained on" in capsys.readouterr().err


def test_evaluate_warns_when_no_speaker_id_matches_the_models_split(random_model, tmp_path, capsys):
    """A metadata.csv re-saved by Excel (speakers 001..004 now 1..4): --split unseen scored the model's
    own training speakers as unseen and --split all lost its "took part in training" warning, no word."""
    import shutil

    model = Path(shutil.copytree(random_model, tmp_path / "model"))
    (model / "split.json").write_text(
        json.dumps(
            {"train_speakers": ["calls_001", "calls_002"], "validation_speakers": ["calls_003"],
             "test_speakers": ["calls_004"]}
        )
    )  # fmt: skip
    corpus = tmp_path / "calls"
    lines = _metadata_corpus(corpus, ("angry", "calm", "sad"), "{:03d}")
    argv = ["--model", str(model), "--corpus", f"calls={corpus}", "--device", "cpu"]
    assert evaluate_cli.cli([*argv, "--split", "unseen", "--out", str(tmp_path / "ok")]) == 0
    assert "do not match" not in capsys.readouterr().err  # ids as trained: only calls_004 is scored
    (corpus / "metadata.csv").write_text("\n".join(lines).replace(",00", ",") + "\n")
    for split in ("unseen", "all"):
        assert evaluate_cli.cli([*argv, "--split", split, "--out", str(tmp_path / split)]) == 0
        err = capsys.readouterr().err
        assert "none of the 4 speakers of calls (calls_1, calls_2, calls_3 ...)" in err
        assert (
            "(calls_001, calls_002, calls_003 ...), though some are the same ids written another way" in err
        )
    import logging

    logging.getLogger("ser_hf.training.evaluation").addHandler(handler := _ListHandler())
    try:  # from Python too
        evaluation.evaluate_model(str(model), load_corpus("calls", str(corpus)), device="cpu")
    finally:
        logging.getLogger("ser_hf.training.evaluation").removeHandler(handler)
    assert any("the same ids written another way" in m for m in handler.messages)


def test_evaluate_cli_cross_corpus_prints_the_mapping(tree, random_model, tmp_path, capsys):
    argv = ["--model", str(random_model), "--corpus", f"ravdess={tree}", "--label-scheme", "common6"]
    assert evaluate_cli.cli([*argv, "--out", str(tmp_path / "x"), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "the model's classes are not the data's: model classes -> test classes" in printed
    assert "tested on ravdess; the model records no training corpora" in printed
    assert "calm -> neutral" in printed
    assert "surprised -> (no counterpart: masked)" in printed
    metrics = json.loads((tmp_path / "x" / "metrics.json").read_text())
    # common6 merges calm into neutral and drops surprised when the corpus is loaded: 4 x 24 rows
    assert metrics["labels"] == scheme_names("common6") and metrics["n"] == 96


def test_evaluate_cli_ravdess_fold_selects_the_protocol_test_actors(tree, random_model, tmp_path):
    out = tmp_path / "fold1"
    argv = ["--model", str(random_model), "--corpus", f"ravdess={tree}", "--split", "ravdess-fold:1"]
    assert evaluate_cli.cli([*argv, "--out", str(out), "--device", "cpu"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert list(metrics["per_speaker"]) == ["ravdess_05", "ravdess_06", "ravdess_07", "ravdess_08"]
    assert metrics["n"] == 20


def test_the_default_output_folder_names_a_subset_only_for_a_split_that_has_one(
    tree, random_model, tmp_path, monkeypatch
):
    """`ser-hf evaluate` with the default `--split all` wrote `eval/MODEL-ravdess-all-test`, though `all`
    scores every row (`--subset` is refused there): the `-test` meant nothing. A speaker split keeps it."""
    monkeypatch.chdir(tmp_path)
    argv = ["--model", str(random_model), "--corpus", f"ravdess={tree}", "--device", "cpu"]
    assert evaluate_cli.cli(argv) == 0
    assert evaluate_cli.cli([*argv, "--split", "ravdess-fold:1"]) == 0
    assert sorted(p.name for p in (tmp_path / "eval").iterdir()) == [
        f"{random_model.name}-ravdess-all",
        f"{random_model.name}-ravdess-ravdess-fold_1-test",
    ]
    assert (tmp_path / "eval" / f"{random_model.name}-ravdess-all" / "metrics.json").is_file()


def test_evaluate_cli_errors_are_clear(tree, tmp_path, monkeypatch):
    with pytest.raises(SERError, match="model folder not found"):
        evaluate_cli.cli(["--model", str(tmp_path / "none"), "--corpus", f"ravdess={tree}"])
    # a mistyped relative path under a folder that exists is no Hub id (it went to the Hub, offline error)
    (tmp_path / "runs").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SERError, match="model folder not found"):
        evaluate_cli.cli(["--model", "runs/m1x", "--corpus", f"ravdess={tree}"])
    # from Python, a bundled model's name (the CLI resolves it) is pointed to its folder's function
    from ser_hf.training.evaluation import evaluate_model

    with pytest.raises(SERError, match=r"ser_hf.bundled_model_path\('default'\) for a bundled model"):
        evaluate_model("default", load_corpus("ravdess", tree))
    with pytest.raises(SERError, match="model folder not found") as err:  # no such bundled model: no hint
        evaluate_model("myrun", load_corpus("ravdess", tree))
    assert "bundled_model_path" not in str(err.value)


def test_metrics_json_and_cv_results_json_are_readable_utf8(random_model, tmp_path):
    """evaluate wrote `"mine_J\\u00fcrgen"` in metrics.json (and cv in cv_results.json) while predict
    --json wrote readable UTF-8: the speakers of a German or Japanese corpus were escapes."""
    corpus = tmp_path / "korpus"
    corpus.mkdir()
    lines = ["file_name,label,speaker"]
    for s, speaker in enumerate(("Jürgen", "話者さくら")):
        for k, label in enumerate(("angry", "calm", "sad")):
            sf.write(corpus / f"{s}_{k}.wav", 0.1 * np.sin(np.arange(8000) * (0.05 + 0.02 * k)), 16000)
            lines.append(f"{s}_{k}.wav,{label},{speaker}")
    (corpus / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "ev"
    argv = ["--model", str(random_model), "--corpus", f"mine={corpus}", "--device", "cpu", "--out", str(out)]
    assert evaluate_cli.cli(argv) == 0
    text = (out / "metrics.json").read_bytes().decode("utf-8")
    assert '"mine_Jürgen"' in text and '"mine_話者さくら"' in text and "\\u" not in text
    assert set(json.loads(text)["per_speaker"]) == {"mine_Jürgen", "mine_話者さくら"}

    for k in range(2):
        _fake_fold(tmp_path / "cv" / f"fold_{k}", k, ["neutral", "happy", "sad"], [f"mine_Jürgen{k}"])
    assert cv_cli.cli(["--aggregate-only", "--out", str(tmp_path / "cv")]) == 0
    text = (tmp_path / "cv" / "cv_results.json").read_bytes().decode("utf-8")
    assert "mine_Jürgen0" in text and "\\u" not in text


# ----------------------------------------------------------------------------------- cross-validation
def _fake_fold(folder: Path, seed: int, labels: list[str], speakers: list[str]) -> dict:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, len(labels), 40)
    y_pred = np.where(rng.random(40) < 0.5 + 0.1 * seed, y_true, rng.integers(0, len(labels), 40))
    metrics = compute_ser_metrics(y_true, y_pred, labels)
    metrics["speakers"] = speakers
    folder.mkdir(parents=True)
    (folder / "test_metrics.json").write_text(json.dumps(metrics))
    return metrics


def test_aggregate_mean_std_and_summed_confusion(tmp_path):
    labels = ["neutral", "happy", "sad"]
    folds = [_fake_fold(tmp_path / f"fold_{k}", k, labels, [f"s{k}a", f"s{k}b"]) for k in range(3)]
    result = cross_validation.aggregate([tmp_path / f"fold_{k}" for k in range(3)])

    assert result["n_folds"] == 3 and result["labels"] == labels
    for key in ("wa", "ua", "f1_macro"):
        values = [f[key] for f in folds]
        assert result["mean"][key] == pytest.approx(sum(values) / 3)
        assert result["std"][key] == pytest.approx(statistics.stdev(values))
    summed = np.sum([np.array(f["confusion"]) for f in folds], axis=0)
    assert result["confusion"] == summed.tolist()
    assert result["n"] == 120
    assert result["pooled"]["wa"] == pytest.approx(np.trace(summed) / summed.sum())
    assert result["folds"][1]["test_speakers"] == ["s1a", "s1b"]

    _fake_fold(tmp_path / "other", 9, ["a", "b", "c"], [])
    with pytest.raises(SERError, match="differ"):
        cross_validation.aggregate([tmp_path / "fold_0", tmp_path / "other"])
    # one fold has no spread: its UA alone, not "± 0.000"
    from ser_hf.training.cv_results import results_markdown

    one = cross_validation.aggregate([tmp_path / "fold_1"])
    assert f"{folds[1]['ua']:.3f} (one fold)" in results_markdown(one) and "± 0.000" not in results_markdown(
        one
    )


def test_cv_gender_figures_name_the_folds_they_come_from(tmp_path):
    # a cross-corpus record: female averaged TESS->RAVDESS women and RAVDESS->TESS, male one fold only,
    # and nothing said so
    from ser_hf.training.cv_results import results_markdown

    labels = ["neutral", "happy", "sad"]
    rng = np.random.default_rng(0)
    for k, (speakers, genders, corpus) in enumerate(
        (
            (["ravdess_01", "ravdess_02"], ["female", "male"], "ravdess"),
            (["tess_OAF", "tess_YAF"], ["female", "female"], "tess"),
        )
    ):
        y = rng.integers(0, 3, 40)
        metrics = compute_ser_metrics(y, y, labels, genders=[genders[i % 2] for i in range(40)])
        metrics["speakers"] = speakers
        (tmp_path / f"fold_{k}").mkdir()
        (tmp_path / f"fold_{k}" / "test_metrics.json").write_text(json.dumps(metrics))
        # the fold's own record of what it tests (ser-hf cv writes it): --split loco:CORPUS
        (tmp_path / f"fold_{k}" / "train_args.json").write_text(
            json.dumps({"data": {"split": f"loco:{corpus}"}})
        )
    result = cross_validation.aggregate([tmp_path / "fold_0", tmp_path / "fold_1"])
    assert result["per_gender"]["female"]["folds"] == 2 and result["per_gender"]["male"]["folds"] == 1
    assert result["per_gender"]["male"]["from_folds"] == ["fold_0 (tests ravdess)"]
    md = results_markdown(result)
    # the markdown gives each direction's genders, never their mean (session 45)
    assert "| fold_0 (tests ravdess) | female | 20 |" in md and "| fold_0 (tests ravdess) | male | 20 |" in md
    assert "| fold_1 (tests tess) | female | 40 |" in md and "| female | 2: fold_0" not in md
    assert "| fold_1 (tests tess) | tess_OAF, tess_YAF |" in md  # the per-fold table names them too
    # speaker k-fold folds of one corpus whose speaker ids hold '_' test no "corpus" each
    for k, speakers in enumerate((["emodb_anna_b", "emodb_tom_c"], ["emodb_eva_k", "emodb_max_a"])):
        (tmp_path / "one" / f"fold_{k}").mkdir(parents=True)
        y = rng.integers(0, 3, 40)
        metrics = compute_ser_metrics(y, y, labels, genders=["female", "male"] * 20)
        metrics["speakers"] = speakers
        (tmp_path / "one" / f"fold_{k}" / "test_metrics.json").write_text(json.dumps(metrics))
    one = cross_validation.aggregate([tmp_path / "one" / "fold_0", tmp_path / "one" / "fold_1"])
    assert one["per_gender"]["male"]["from_folds"] == [
        "fold_0",
        "fold_1",
    ] and "tests" not in results_markdown(one)


def test_cv_aggregate_only_writes_json_markdown_and_png(tmp_path, capsys):
    labels = ["neutral", "happy", "sad"]
    for k in range(2):
        _fake_fold(tmp_path / f"fold_{k}", k, labels, [f"ravdess_0{k}"])
    assert cv_cli.cli(["--aggregate-only", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "cv_results.json").read_text())
    md = (tmp_path / "cv_results.md").read_text()
    assert f"{result['mean']['ua']:.3f} ± {result['std']['ua']:.3f}" in md
    assert "| fold_0 | ravdess_00 |" in md and "| mean ± std |" in md
    assert (tmp_path / "confusion_cv.png").stat().st_size > 0
    assert "2 folds" in capsys.readouterr().out


def test_cv_results_on_a_full_disk_keep_the_previous_complete_files(tmp_path, monkeypatch, capsys):
    """`ser-hf cv --aggregate-only` on a full disk: cv_results.json was written in place, so the
    previous complete record became a truncated one (invalid JSON), and the error named no file."""
    from ser_hf.cli import main

    labels = ["neutral", "happy", "sad"]
    for k in range(2):
        _fake_fold(tmp_path / f"fold_{k}", k, labels, [f"ravdess_0{k}"])
    assert main(["cv", "--aggregate-only", "--out", str(tmp_path)]) == 0
    before = {name: (tmp_path / name).read_bytes() for name in ("cv_results.json", "cv_results.md")}
    capsys.readouterr()
    real_write_bytes, real_write_text = Path.write_bytes, Path.write_text
    written = []

    def full_disk(real):
        def write(self, data, *args, **kwargs):
            if written:  # the first file goes through, then the disk is full half-way through the next
                real(self, data[: len(data) // 2], *args, **kwargs)
                raise OSError(errno.ENOSPC, "No space left on device")
            written.append(self.name)
            return real(self, data, *args, **kwargs)

        return write

    monkeypatch.setattr(Path, "write_bytes", full_disk(real_write_bytes))
    monkeypatch.setattr(Path, "write_text", full_disk(real_write_text))
    assert main(["cv", "--aggregate-only", "--out", str(tmp_path)]) == 74
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"ser-hf cv: error: cannot write {tmp_path / 'cv_results.json'} (No space left on device)" in err
    assert json.loads((tmp_path / "cv_results.json").read_bytes()) == json.loads(before["cv_results.json"])
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


FAKE_TRAINER = """
import json, os, sys
from pathlib import Path
args = sys.argv[3:]  # after '-m ser_hf.training'
out = Path(args[args.index("--output_dir") + 1]); split = args[args.index("--split") + 1]
k = int(split.split(":")[1].split("/")[0])
print("fake training", split, "extra:", args[args.index("--output_dir") + 2 :], flush=True)
if k == int(os.environ.get("FAKE_FAIL_FOLD", "-1")):
    sys.exit("boom")
__import__("time").sleep(float(os.environ.get("FAKE_SECONDS", "0")))
out.mkdir(parents=True, exist_ok=True)
y = [0, 1, 2, 0, 1, 2]
pred = [0, 1, 2, 0, 1, k % 3]
cm = [[0] * 3 for _ in range(3)]
for t, p in zip(y, pred):
    cm[t][p] += 1
acc = sum(t == p for t, p in zip(y, pred)) / 6
(out / "test_metrics.json").write_text(json.dumps({"n": 6, "labels": ["a", "b", "c"], "wa": acc, "ua": acc,
    "f1_macro": acc, "f1_weighted": acc, "confusion": cm, "speakers": [f"spk{k}"], "chance_ua": 1 / 3}))
"""


def test_cv_does_not_reuse_finished_folds_on_a_corpus_that_changed_since(tree, tmp_path, capsys):
    """A researcher re-ran ``ser-hf cv`` after removing a speaker from the corpus: the finished folds
    were reported again (72 test clips, the old scores) as the corpus's results. Their split.json
    (written by training, here by the same code) now checks the rows first."""
    import shutil

    from ser_hf.training.arguments import parse_args
    from ser_hf.training.clips import load_rows, make_split

    corpus = tmp_path / "ravdess"
    shutil.copytree(tree, corpus)
    fake = tmp_path / "fake_python"
    fake.write_text(f"#!{sys.executable}\n{FAKE_TRAINER}")
    fake.chmod(0o755)
    out = tmp_path / "cv"
    argv = ["--corpus", f"ravdess={corpus}", "--preset", "compact", "--out", str(out), "--python", str(fake)]
    assert cv_cli.cli(argv) == 0
    for k in range(6):  # what a real fold's training writes beside its metrics
        data_args, _, _, training_args = parse_args(
            ["--corpus", f"ravdess={corpus}", "--split", f"ravdess-fold:{k}", "--output_dir", str(tmp_path)]
        )
        ds, row_splits = load_rows(data_args, return_splits=True)
        make_split(ds, data_args, training_args.seed, row_splits).to_json(out / f"fold_{k}" / "split.json")
    capsys.readouterr()
    assert cv_cli.cli(argv) == 0  # the same data: reused
    assert capsys.readouterr().out.count("already finished") == 6
    next((corpus / "Actor_24").iterdir()).unlink()  # a clip removed since
    with pytest.raises(
        SERError,
        match=r"fold_0 finished on other data than the corpora hold now \(the dataset "
        r"differs from the one the split was made for: 119 rows, the split was made for 120\)",
    ):
        cv_cli.cli(argv)
    assert json.loads((out / "cv_results.json").read_text())["n"] == 36  # the earlier report, as it was
    assert cv_cli.cli([*argv, "--force"]) == 0  # trained again on the data as it is


def test_cv_does_not_reuse_finished_folds_on_labels_edited_in_place(tmp_path, capsys):
    """Labels corrected in a corpus's metadata.csv (the same files and speakers): ``ser-hf cv`` re-run
    reported the folds trained on the old labels as the corpus's results. The split.json training
    writes records each row's label; a relabelled clip is named."""
    from ser_hf.training.arguments import parse_args
    from ser_hf.training.clips import load_rows, make_split
    from ser_hf.training.run_functionals import split_file

    corpus = tmp_path / "calls"
    lines = _metadata_corpus(corpus, ("angry", "neutral", "sad"), "s{}")
    fake = tmp_path / "fake_python"
    fake.write_text(f"#!{sys.executable}\n{FAKE_TRAINER}")
    fake.chmod(0o755)
    out = tmp_path / "cv"
    argv = ["--corpus", f"calls={corpus}", "--folds", "2", "--preset", "compact", "--out", str(out)]
    argv += ["--python", str(fake)]
    assert cv_cli.cli(argv) == 0
    for k in range(2):  # what a real fold's training writes beside its metrics
        data_args, _, _, training_args = parse_args(
            ["--corpus", f"calls={corpus}", "--split", f"kfold:{k}/2", "--output_dir", str(tmp_path)]
        )
        ds, row_splits = load_rows(data_args, return_splits=True)
        split = make_split(ds, data_args, training_args.seed, row_splits)
        write_json(out / f"fold_{k}" / "split.json", split_file(ds, split, f"kfold:{k}/2"))
    capsys.readouterr()
    assert cv_cli.cli(argv) == 0  # the same labels: reused
    assert capsys.readouterr().out.count("already finished") == 2
    # the report says how many speakers each fold trained and chose its model on (split.json)
    assert "| fold_0 | spk0 | 1 / 1 | 6 |" in (out / "cv_results.md").read_text()
    (corpus / "metadata.csv").write_text("\n".join(lines).replace("3_2.wav,sad", "3_2.wav,angry") + "\n")
    with pytest.raises(
        SERError,
        match=r"fold_0 finished on other labels than the corpora hold now: 1 clip\(s\) relabelled since, "
        r"e\.g\. calls_s3/3_2\.wav was sad, is angry now",
    ):
        cv_cli.cli(argv)
    assert cv_cli.cli([*argv, "--force"]) == 0  # trained again on the labels as they are


class caplog_at_warning:
    """The messages ser_hf.training logs at WARNING inside the block (cv runs outside pytest's caplog)."""

    def __enter__(self) -> list[str]:
        import logging

        self.records: list[str] = []
        self.handler = logging.Handler(logging.WARNING)
        self.handler.emit = lambda record: self.records.append(record.getMessage())
        logging.getLogger("ser_hf.training").addHandler(self.handler)
        return self.records

    def __exit__(self, *exc) -> None:
        import logging

        logging.getLogger("ser_hf.training").removeHandler(self.handler)


def test_cv_runs_folds_as_subprocesses_skips_finished_and_reports_failures(
    tree, tmp_path, monkeypatch, capsys
):
    """The runner with a stand-in interpreter that writes fold metrics (real training is tested elsewhere)."""
    fake = tmp_path / "fake_python"
    fake.write_text(f"#!{sys.executable}\n{FAKE_TRAINER}")
    fake.chmod(0o755)
    out = tmp_path / "cv"
    argv = ["--corpus", f"ravdess={tree}", "--preset", "compact", "--parallel", "2", "--out", str(out)]
    argv += ["--python", str(fake), "--", "--num_train_epochs", "1"]

    monkeypatch.setenv("FAKE_FAIL_FOLD", "4")
    compiled = []  # folds started together must not compile librosa's kernels into one cache at once
    monkeypatch.setattr(cross_validation, "compile_pitch_tracker", lambda: compiled.append(1))
    assert cv_cli.cli(argv) == 1  # fold 4 failed; the other five are aggregated
    assert compiled == [1]
    captured = capsys.readouterr()
    assert "fold 4: FAILED" in captured.err and "boom" in captured.err
    log = (out / "fold_0" / "train.log").read_text()
    assert "--split ravdess-fold:0" in log and "extra: ['--num_train_epochs', '1']" in log
    result = json.loads((out / "cv_results.json").read_text())
    assert result["n_folds"] == 5 and result["meta"]["expected_folds"] == 6
    assert "Folds finished: 5 of 6" in (out / "cv_results.md").read_text()

    # each fold names its test speakers, and the summary the chance level and classes (said only in files)
    assert "fold 2: WA" in captured.out and "; test speakers: spk2" in captured.out
    assert "chance UA 0.333 (3 classes: a, b, c)" in captured.out

    monkeypatch.delenv("FAKE_FAIL_FOLD")
    assert cv_cli.cli(argv) == 0  # re-run: only fold 4 runs again
    assert compiled == [1]  # one fold alone compiles nothing ahead
    captured = capsys.readouterr()
    assert captured.out.count("already finished") == 5
    # the same command started fold 4 before: it goes on from its checkpoints (training's --resume)
    assert (
        "extra: ['--num_train_epochs', '1', '--resume', 'true']" in (out / "fold_4" / "train.log").read_text()
    )
    result = json.loads((out / "cv_results.json").read_text())
    assert result["n_folds"] == 6
    # fold k mislabels one clip of class c as k % 3 (folds 2 and 5 are perfect)
    expected_wa = [5 / 6, 5 / 6, 1.0, 5 / 6, 5 / 6, 1.0]
    assert result["mean"]["wa"] == pytest.approx(np.mean(expected_wa))
    assert result["std"]["wa"] == pytest.approx(statistics.stdev(expected_wa))
    assert np.trace(result["confusion"]) == 36 - 4
    # the same --out with another preset: the finished folds are not reported under its name
    other = [a if a != "compact" else "compact-small" for a in argv]
    with pytest.raises(SERError, match="6 finished fold.*another command.*--preset compact "):
        cv_cli.cli(other)
    assert json.loads((out / "cv_results.json").read_text())["meta"]["preset"] == "compact"
    # and the refused run left the record of what ran as it was: a later report names compact
    assert json.loads((out / "cv_config.json").read_text())["preset"] == "compact"
    assert cv_cli.cli([*argv[:-3], "--aggregate-only"]) == 0
    assert "Preset: compact" in (out / "cv_results.md").read_text().replace("`", "")

    # --force on one fold with --adapt scores: the retrained fold's old adapted scores go with its
    # old model (they were reported as the new one's), and folds kept from another command are named
    (out / "fold_0" / "adapted").mkdir()
    (out / "fold_0" / "adapted" / "metrics.json").write_text("{}")
    with caplog_at_warning() as records:
        assert cv_cli.cli([*other[:-3], "--force", "--only", "0", *other[-3:]]) == 0
    assert not (out / "fold_0" / "adapted").exists()
    assert any("5 finished fold(s) kept here were trained by another command" in r for r in records)


def test_parallel_folds_threads_sleep_while_they_wait_unless_the_user_chose(tree, tmp_path, monkeypatch):
    """Folds run side by side each ran torch with GNU OpenMP's idle threads spinning on the cores the
    other folds needed (two folds of 2 threads on 2 cores: 101-191 s instead of 22-50 s). The fold
    processes of --parallel P now get OMP_WAIT_POLICY=PASSIVE; a user's own value is kept."""
    fake = tmp_path / "fake_python"
    policy = "import os; print('policy', os.environ.get('OMP_WAIT_POLICY'), flush=True)\n"
    fake.write_text(f"#!{sys.executable}\n{policy}{FAKE_TRAINER}")
    fake.chmod(0o755)
    argv = ["--corpus", f"ravdess={tree}", "--preset", "compact", "--only", "0", "1", "--python", str(fake)]
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)  # the suite sets it for itself (conftest.py)
    for user, parallel, expected in [(None, "1", "None"), (None, "2", "PASSIVE"), ("ACTIVE", "2", "ACTIVE")]:
        if user:
            monkeypatch.setenv("OMP_WAIT_POLICY", user)
        out = tmp_path / f"cv_{user}_{parallel}"
        assert cv_cli.cli([*argv, "--parallel", parallel, "--out", str(out)]) == 0
        for k in (0, 1):
            assert f"policy {expected}\n" in (out / f"fold_{k}" / "train.log").read_text()


def test_a_rerun_with_fewer_folds_aggregates_its_own_folds_only(tree, tmp_path, capsys):
    """`cv --folds 4` then `cv --folds 2 --force` in the same --out reported 4 folds and 180 test clips
    of a 120-clip corpus: the first run's fold_2 and fold_3 were counted. A file named fold_0 where a
    fold's folder goes was a NotADirectoryError traceback."""
    fake = tmp_path / "fake_python"
    fake.write_text(f"#!{sys.executable}\n{FAKE_TRAINER}")
    fake.chmod(0o755)
    out = tmp_path / "cv"
    argv = ["--corpus", f"ravdess={tree}", "--preset", "compact", "--out", str(out), "--python", str(fake)]
    assert cv_cli.cli([*argv, "--folds", "4"]) == 0
    assert json.loads((out / "cv_results.json").read_text())["n_folds"] == 4
    with caplog_at_warning() as records:
        assert cv_cli.cli([*argv, "--folds", "2", "--force"]) == 0
    result = json.loads((out / "cv_results.json").read_text())
    assert result["n_folds"] == 2 and result["n"] == 12
    assert any("left out of the aggregate: fold_2, fold_3" in r for r in records)
    assert cv_cli.cli([*argv[:-2], "--aggregate-only"]) == 0
    assert json.loads((out / "cv_results.json").read_text())["n_folds"] == 2
    capsys.readouterr()
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "fold_0").write_text("not a folder")
    with pytest.raises(SERError, match="fold_0 is a file, where the fold's folder goes"):
        cv_cli.cli([*argv[:4], "--out", str(blocked), "--python", str(fake), "--folds", "2"])


def test_cv_resumes_an_interrupted_fold_and_a_killed_runner_takes_its_folds_with_it(tmp_path):
    """Rerunning cv restarted an interrupted fold from scratch (its checkpoints deleted), and
    ``-- --resume true`` was refused once a fold had finished ("trained by another command"); after
    ``kill -9`` of cv the fold's process trained on, and would meet its own rerun in the same folder."""
    import shlex
    import signal
    import subprocess
    import time

    from ser_hf.training.cross_validation import RUN_FILE, _check_finished_folds, _resume_if_started

    fold = tmp_path / "cv" / "fold_0"
    fold.mkdir(parents=True)
    (fold / "test_metrics.json").write_text("{}")
    ran = ["python", "-m", "ser_hf.training", "--preset", "compact", "--output_dir", str(fold)]
    (fold / RUN_FILE).write_text(json.dumps({"command": ran}))
    for resumed in ([*ran, "--resume", "true"], [*ran, "--resume"], [*ran, "--resume=true"]):
        _check_finished_folds(tmp_path / "cv", {0: (resumed, None)})  # the same fold: no error
    with pytest.raises(SERError, match="another command"):
        _check_finished_folds(tmp_path / "cv", {0: ([*ran, "--seed", "3"], None)})
    # an interrupted fold resumes only what this same command started (another learning rate
    # continued the old run's weights and schedule: training's own check leaves those arguments out)
    log = tmp_path / "train.log"
    log.write_text(f"$ {shlex.join(['/other/python', *ran[1:]])}\nepoch 1 ...\n")
    assert _resume_if_started(list(ran), log) == [*ran, "--resume", "true"]
    assert _resume_if_started([*ran, "--learning_rate", "1e-4"], log) == [*ran, "--learning_rate", "1e-4"]
    assert _resume_if_started(list(ran), tmp_path / "no.log") == ran

    runner = (
        "import os, subprocess, sys, time\n"
        "from ser_hf.training.cross_validation import _child_env\n"
        "code = 'from ser_hf.training.cross_validation import die_with_parent; die_with_parent(); "
        "import time; time.sleep(120)'\n"
        "child = subprocess.Popen([sys.executable, '-c', code], env=_child_env(1))\n"
        "print(child.pid, flush=True); time.sleep(120)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", runner], stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    time.sleep(3)  # the child has imported ser_hf and set its signal
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the fold's process outlived its killed runner")


def test_cv_reuses_a_fold_whatever_the_spelling_of_its_corpus_folder(tmp_path, monkeypatch):
    """``data/ravdess/``, ``data/ravdess`` and its absolute path are one folder: a rerun spelt
    otherwise was refused as "trained by another command" (and --resume likewise)."""
    from ser_hf.training.cross_validation import RUN_FILE, _check_finished_folds

    (tmp_path / "data" / "ravdess").mkdir(parents=True)
    fold = tmp_path / "cv" / "fold_0"
    fold.mkdir(parents=True)
    (fold / "test_metrics.json").write_text("{}")
    ran = ["python", "-m", "ser_hf.training", "--corpus", "ravdess=data/ravdess/", "--preset", "compact"]
    (fold / RUN_FILE).write_text(json.dumps({"command": ran}))
    monkeypatch.chdir(tmp_path)
    same = [*ran[:4], f"ravdess={tmp_path / 'data' / 'ravdess'}", *ran[5:]]
    _check_finished_folds(tmp_path / "cv", {0: (same, None)})  # no error
    with pytest.raises(SERError, match="another command"):
        _check_finished_folds(tmp_path / "cv", {0: ([*same[:-1], "compact-small"], None)})


def test_cv_shows_the_teachers_log_when_the_teacher_fails(tree, tmp_path, monkeypatch, capsys):
    fake = tmp_path / "fake_python"
    fake.write_text(f"#!{sys.executable}\n{FAKE_TRAINER}")
    fake.chmod(0o755)
    monkeypatch.setenv("FAKE_FAIL_FOLD", "0")
    argv = [
        "--corpus",
        f"ravdess={tree}",
        "--preset",
        "compact",
        "--teacher-preset",
        "cnn-transformer",
        "--only",
        "0",
    ]
    assert cv_cli.cli([*argv, "--out", str(tmp_path / "cv"), "--python", str(fake)]) == 1
    err = capsys.readouterr().err
    assert "teacher.log" in err and "boom" in err and "(no log)" not in err
    # a fold distilled from one teacher is not reused for another (only the student's command was
    # compared: the new teacher's name went on the old scores)
    monkeypatch.delenv("FAKE_FAIL_FOLD")
    assert cv_cli.cli([*argv, "--out", str(tmp_path / "cv"), "--python", str(fake)]) == 0
    other = [a if a != "cnn-transformer" else "compact-small" for a in argv]
    with pytest.raises(SERError, match="another command.*distilled from.*--preset cnn-transformer"):
        cv_cli.cli([*other, "--out", str(tmp_path / "cv"), "--python", str(fake)])


def test_cv_interrupted_starts_no_further_fold(tree, tmp_path):
    """Ctrl-C (SIGINT to the runner) ends the running fold and starts no other: it once waited for
    the running fold, then trained every fold still queued before it exited."""
    import signal
    import subprocess
    import time

    fake = tmp_path / "fake_python"
    fake.write_text(f"#!{sys.executable}\n{FAKE_TRAINER}")
    fake.chmod(0o755)
    out = tmp_path / "cv"
    cmd = [sys.executable, "-m", "ser_hf.cli", "cv", "--corpus", f"ravdess={tree}", "--preset", "compact"]
    cmd += ["--out", str(out), "--python", str(fake)]
    proc = subprocess.Popen(
        cmd, env={**os.environ, "FAKE_SECONDS": "3"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.time() + 60
    while not (out / "fold_0" / "train.log").is_file() and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    started = time.time()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and b"interrupted" in err, err[-2000:]
    assert time.time() - started < 10
    assert not list(out.glob("fold_*/test_metrics.json")) and not (out / "fold_1").exists()


def test_a_fold_starting_as_ctrl_c_arrives_never_starts_and_the_next_run_does(tree, tmp_path):
    """From a notebook, Ctrl-C could land while a worker was still starting its fold's process: the
    others were stopped, that one trained on in the background (and beside the rerun, in the same
    folder). After the stop no fold process starts; the next call in the same process runs."""
    ran = tmp_path / "ran"
    cross_validation._stop_all_folds()  # what the runner does on Ctrl-C
    command = [sys.executable, "-c", f"open({str(ran)!r}, 'w')"]
    (tmp_path / "step.log").write_text("the earlier run's log")
    assert cross_validation._run_logged(command, tmp_path / "step.log", dict(os.environ)) == 130
    assert not ran.exists() and (tmp_path / "step.log").read_text() == "the earlier run's log"
    fake = tmp_path / "fake_python"
    fake.write_text(f"#!{sys.executable}\n{FAKE_TRAINER}")
    fake.chmod(0o755)
    result, failed = cross_validation.run_cross_validation(
        [f"ravdess={tree}"], "compact", tmp_path / "cv", folds="2", python=str(fake)
    )
    assert not failed and result["n_folds"] == 2


def test_cv_checks_the_folds_against_the_data_before_any_fold_starts(tree, tmp_path):
    """More folds than speakers, a corpus folder that is not there, RAVDESS without all 24 actors:
    each fold's process failed the same way, one after the other, and the run ended "no fold
    finished". Now one clear error before any fold folder is made."""
    out = tmp_path / "cv"
    with pytest.raises(SERError, match=r"number of speakers \(24\)"):
        cv_cli.cli(["--corpus", f"ravdess={tree}", "--preset", "compact", "--folds", "30", "--out", str(out)])
    with pytest.raises(SERError, match="no_such_folder"):
        cv_cli.cli(
            ["--corpus", f"ravdess={tmp_path / 'no_such_folder'}", "--preset", "compact", "--out", str(out)]
        )
    twenty = tmp_path / "twenty_actors"
    for actor in range(1, 21):
        (twenty / f"Actor_{actor:02d}").mkdir(parents=True)
        for wav in (tree / f"Actor_{actor:02d}").iterdir():
            (twenty / f"Actor_{actor:02d}" / wav.name).symlink_to(wav)
    with pytest.raises(SERError, match=r"needs actors 1-24; missing \[21, 22, 23, 24\]"):
        cv_cli.cli(["--corpus", f"ravdess={twenty}", "--preset", "compact", "--out", str(out)])
    # a typo in the teacher's arguments failed in every fold's process, as one after -- does not
    with pytest.raises(SERError, match=r"--teacher-args: \['--num_val_speakrs'\] are not options"):
        cv_cli.cli(
            ["--corpus", f"ravdess={tree}", "--preset", "compact", "--teacher-preset", "speech-stats"]
            + ["--teacher-args", "--num_val_speakrs 2", "--out", str(out)]
        )
    # an option cv sets per fold, passed on: "-- --split random" trained and tested every fold on one
    # split; --output_dir (or its prefix --out, its dashed spelling) put every fold in one folder
    argv = ["--corpus", f"ravdess={tree}", "--preset", "compact", "--out", str(out)]
    for passed, owned in (
        (["--", "--split", "random"], "--split"),
        (["--", "--output-dir", "x"], "--output_dir"),
        (["--", "--outp=x"], "--output_dir"),
        (["--", "--teacher", "default"], "--teacher"),
        (["--teacher-preset", "speech-stats", "--teacher-args", "--corpus tess=/x"], "--corpus"),
    ):
        with pytest.raises(SERError, match=f"{owned} is set by ser-hf cv for every fold"):
            cv_cli.cli([*argv, *passed])
    assert not out.exists()


def test_cv_argument_errors():
    with pytest.raises(SERError, match="one corpus named ravdess"):
        cv_cli.cli(["--corpus", "crema=/a", "--corpus", "tess=/b", "--preset", "p", "--folds", "ravdess"])
    # other corpora join every fold's training data, and the protocol line says so
    splits, protocol = cross_validation.fold_splits("ravdess", ["ravdess=/a", "tess=/b"])
    assert (
        splits == [f"ravdess-fold:{k}" for k in range(6)]
        and "tess added to every fold's training" in protocol
    )
    with pytest.raises(SERError, match="set by ser-hf cv"):
        cv_cli.cli(["--corpus", "ravdess=/a", "--preset", "p", "--", "--split", "random"])
    assert cross_validation.fold_splits("3", ["tess=/x"])[0] == ["kfold:0/3", "kfold:1/3", "kfold:2/3"]
    # checked once before any fold process starts (each of N processes failed the same way)
    with pytest.raises(SERError, match="unknown preset"):
        cv_cli.cli(["--corpus", "ravdess=/a", "--preset", "nope"])
    with pytest.raises(SERError, match="--num_val_speakerz"):
        cv_cli.cli(["--corpus", "ravdess=/a", "--preset", "compact", "--", "--num_val_speakerz", "2"])


@pytest.mark.slow
def test_cv_end_to_end_two_protocol_folds_then_evaluate_reads_a_fold(tree, tmp_path, capsys):
    """Real training subprocesses (1 epoch, tiny model) on folds 0 and 1 of the RAVDESS protocol,
    then ``ser-hf evaluate --split model`` on fold 0 reproduces that fold's test metrics."""
    out = tmp_path / "cv"
    train_args = ["--num_train_epochs", "1", "--per_device_train_batch_size", "16", "--augment", "none"]
    train_args += [
        "--config_overrides",
        json.dumps(TINY),
        "--feature_overrides",
        '{"n_mels": 32, "max_frames": null}',
    ]
    train_args += ["--disable_tqdm", "true", "--seed", "3"]
    argv = ["--corpus", f"ravdess={tree}", "--preset", "seed-logmel-bilstm", "--only", "0", "1"]
    assert cv_cli.cli([*argv, "--parallel", "2", "--out", str(out), "--", *train_args]) == 0, (
        out / "fold_0" / "train.log"
    ).read_text()[-3000:]

    result = json.loads((out / "cv_results.json").read_text())
    assert result["n_folds"] == 2 and result["meta"]["expected_folds"] == 6
    assert [f["test_speakers"] for f in result["folds"]] == [
        [f"ravdess_{a:02d}" for a in range(1, 5)],
        [f"ravdess_{a:02d}" for a in range(5, 9)],
    ]
    assert result["n"] == np.sum(result["confusion"]) == 2 * 4 * len(CODES)
    capsys.readouterr()

    eval_out = tmp_path / "eval"
    args = [
        "--model",
        str(out / "fold_0"),
        "--corpus",
        f"ravdess={tree}",
        "--split",
        "model",
        "--out",
        str(eval_out),
    ]
    assert evaluate_cli.cli([*args, "--device", "cpu"]) == 0
    fold_metrics = json.loads((out / "fold_0" / "test_metrics.json").read_text())
    metrics = json.loads((eval_out / "metrics.json").read_text())
    assert metrics["confusion"] == fold_metrics["confusion"]
    assert metrics["log_loss"] == pytest.approx(fold_metrics["log_loss"], rel=1e-4)  # same probabilities
    # the split scored, as the fold's split.json describes it (it said only "model", and so did the card)
    described = json.loads((out / "fold_0" / "split.json").read_text())["description"]
    assert metrics["split"] == f"model: {described}" and "fold" in described


def test_evaluate_skips_a_clip_whose_samples_do_not_decode_and_counts_it(
    tree, random_model, tmp_path, capsys
):
    """A FLAC whose header is followed by garbage keeps a readable header, so the corpus loads it; its
    samples fail when the evaluation decodes them: that clip is skipped and listed, the others are
    scored. (A FLAC merely cut short is read up to its cut, as an MP3 is, since session 43.)"""
    corpus = tmp_path / "corpus"
    actor = corpus / "Actor_01"
    actor.mkdir(parents=True)
    for wav in sorted((tree / "Actor_01").glob("*.wav")):
        x, sr = sf.read(wav)
        sf.write(actor / f"{wav.stem}.flac", np.tile(x, 8), sr)  # long enough to cut mid-stream
    cut = sorted(actor.glob("*.flac"))[0]
    data = cut.read_bytes()
    end, last = 4, False  # past "fLaC" and its metadata blocks: where the first audio frame starts
    while not last:
        last, size = bool(data[end] & 0x80), int.from_bytes(data[end + 1 : end + 4], "big")
        end += 4 + size
    cut.write_bytes(data[:end] + bytes(range(256)) * 8)
    out = tmp_path / "eval"
    argv = [
        "--model",
        str(random_model),
        "--corpus",
        f"ravdess={corpus}",
        "--out",
        str(out),
        "--device",
        "cpu",
    ]
    assert evaluate_cli.cli(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 4 and list(metrics["unreadable"]) == [str(cut)]
    assert "skipped 1 clip(s)" in capsys.readouterr().out


def test_evaluate_lists_the_files_its_corpus_load_skipped_in_metrics_json(tree, random_model, tmp_path):
    """A file the corpus load could not read (no audio header) was skipped with a warning on screen,
    but metrics.json, the record kept of the evaluation, said n 4 of 5 files without a word of it."""
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(tree / "Actor_01", corpus / "Actor_01")
    broken = sorted((corpus / "Actor_01").glob("*.wav"))[0]
    broken.write_bytes(b"not audio at all" * 64)
    out = tmp_path / "eval"
    argv = ["--model", str(random_model), "--corpus", f"ravdess={corpus}", "--out", str(out)]
    assert evaluate_cli.cli([*argv, "--device", "cpu"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 4 and list(metrics["skipped_at_load"]) == [str(broken)]
    assert "unreadable" in metrics["skipped_at_load"][str(broken)]


def test_evaluate_warns_of_left_out_classes_and_names_the_label_map_that_keeps_them(
    random_model, tmp_path, capsys, caplog
):
    """A probe's corpus with ``anger`` beside ``angry`` (two speakers typed it so): evaluating lost the
    90 ``anger`` clips at INFO level as "classes the model cannot predict" (it predicts angry), and a
    Polish label left out of the --label-map (``strach``) went the same way; the headline rose by 0.06
    and 0.2 on fewer classes. Both are warned of, with the map that keeps them."""
    import logging

    corpus = tmp_path / "pl"
    _metadata_corpus(corpus, ("anger", "angry", "sad", "strach"), "s{}", speakers=range(1, 3))
    argv = ["--model", str(random_model), "--corpus", f"pl={corpus}", "--out", str(tmp_path / "e")]
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        assert evaluate_cli.cli([*argv, "--device", "cpu"]) == 0
    warned = [r.getMessage() for r in caplog.records if "left out 4 rows" in r.getMessage()]
    assert len(warned) == 1 and "{'anger': 2, 'strach': 2}" in warned[0]
    hint = (
        "'anger' is the emotion of 'angry', which the model's class is scored against (--label-map "
        "anger=angry makes them one); 'strach': no emotion ser_hf knows by that name; if one is a model "
        "class in other words, --label-map 'strach=<the model's class>' reads it as that"
    )
    assert warned[0].endswith(hint)
    assert f"    {hint}" in capsys.readouterr().out.splitlines()


def test_a_corpus_given_as_a_bare_local_folder_is_told_the_name_to_add(tmp_path, monkeypatch):
    """`ser-hf evaluate --corpus lab/polish` (a folder here, no NAME=) answered "or a Hub dataset by its
    id alone: --corpus lab/polish": what the user had typed."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lab" / "polish").mkdir(parents=True)
    for given in ("lab/polish", "lab/polish/"):
        with pytest.raises(SERError) as err:
            evaluation.load_eval_data([given], None)
        assert str(err.value).endswith(f"or for this folder: --corpus polish={given}"), err.value


def test_evaluate_leaves_out_silent_clips_as_training_does(tree, random_model, tmp_path, capsys):
    """evaluate scored an all-zeros clip as an emotion (sad 0.99997) and adapted on it, while training,
    predict and adapt() leave silence out: cv's plain and adapted columns counted other clips."""
    corpus = tmp_path / "corpus"
    (corpus / "Actor_01").mkdir(parents=True)
    for wav in sorted((tree / "Actor_01").glob("*.wav")):
        (corpus / "Actor_01" / wav.name).write_bytes(wav.read_bytes())
    silent = sorted((corpus / "Actor_01").glob("*.wav"))[0]
    sf.write(silent, np.zeros(SR // 2, np.float32), SR)
    ds = load_corpus("ravdess", corpus)
    metrics, rows = evaluation.evaluate_model(random_model, ds, device="cpu", return_predictions=True)
    assert metrics["n"] == 4 and metrics["silent_left_out"] == 1
    assert str(silent) not in {r["path"] for r in rows}
    argv = ["--model", str(random_model), "--corpus", f"ravdess={corpus}", "--device", "cpu"]
    assert evaluate_cli.cli([*argv, "--out", str(tmp_path / "eval")]) == 0
    assert "left out 1 silent clip(s)" in capsys.readouterr().out


def test_a_folders_calm_rows_count_as_neutral_for_a_model_without_calm(tree, tmp_path, capsys):
    """The default (7 harmonised classes, calm folded into neutral) left a user folder's calm clips
    out, while RAVDESS's calm clips counted as neutral: the harmonised classes now merge them alike."""
    mine = tmp_path / "mine"
    for label in ("calm", "Neutral", "angry"):
        (mine / label).mkdir(parents=True)
        for k, wav in enumerate(sorted(tree.glob("Actor_0[1-2]/*-05-*.wav"))):
            (mine / label / f"{k}.wav").write_bytes(wav.read_bytes())
    per_class = len(list((mine / "angry").iterdir()))
    model = _save_model(tmp_path / "m", ["neutral", "happy", "sad", "angry"], bias={"neutral": 5.0})
    out = tmp_path / "e"
    assert evaluate_cli.cli(["--model", str(model), "--corpus", f"mine={mine}", "--out", str(out)]) == 0
    assert "test rows of calm count as Neutral" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 3 * per_class and metrics["dropped"] == {}
    assert metrics["labels"] == ["Neutral", "angry"] and metrics["confusion"] == [
        [2 * per_class, 0],
        [per_class, 0],
    ]


def test_evaluate_refuses_a_corpus_sharing_one_class_and_a_bad_out_before_the_work(tree, tmp_path):
    one = tmp_path / "one"
    for label in ("angry", "bored"):
        (one / label).mkdir(parents=True)
        for k, wav in enumerate(sorted(tree.glob("Actor_0[1-3]/*-05-*.wav"))):
            (one / label / f"{k}.wav").write_bytes(wav.read_bytes())
    model = _save_model(tmp_path / "m", ["neutral", "happy", "sad", "angry"])
    with pytest.raises(SERError, match=r"only one class \(angry\)"):
        evaluate_cli.cli(["--model", str(model), "--corpus", f"mine={one}", "--out", str(tmp_path / "e")])
    a_file = tmp_path / "a.txt"
    a_file.write_text("x")
    for out in (a_file, a_file / "eval"):  # a file where the folder goes; a folder under a file
        with pytest.raises(SERError, match="--out") as err:
            evaluate_cli.cli(["--model", str(model), "--corpus", f"ravdess={tree}", "--out", str(out)])
        assert "model folder" not in str(err.value)


def test_output_paths_are_checked_before_any_training(tree, random_model, tmp_path):
    """A file where the output folder goes was a NotADirectoryError after the work (train, fuse)
    or before it with a traceback (cv); now each is the option's SERError, up front."""
    from ser_hf.cli import fuse as fuse_cli
    from ser_hf.cli import train as train_cli

    a_file = tmp_path / "a.txt"
    a_file.write_text("x")
    calls = [
        (
            train_cli.cli,
            ["--corpus", f"ravdess={tree}", "--preset", "speech-stats", "--output_dir", str(a_file / "m")],
            "--output_dir",
        ),
        (
            cv_cli.cli,
            ["--corpus", f"ravdess={tree}", "--preset", "speech-stats", "--out", str(a_file)],
            "--out",
        ),
        (
            fuse_cli.cli,
            ["--member", str(random_model), str(random_model), "--out", str(a_file / "f")],
            "--out",
        ),
    ]
    for cli, argv, option in calls:
        with pytest.raises(SERError, match=option) as err:
            cli(argv)
        assert "is a file" in str(err.value), str(err.value)
    assert a_file.read_text() == "x"


def test_fuse_usage_errors_name_the_option_once_and_the_fix(random_model, tmp_path):
    """A probe's fuse mistakes: '--weights: --weights needs 2 numbers' (the option twice), negative
    weights answered with the config's inner name 'member_weights=[1.0, -1.0]', and one member told
    'give --member once per model' though --member takes several folders."""
    from ser_hf.cli import fuse as fuse_cli

    m, out = str(random_model), ["--out", str(tmp_path / "f")]
    for argv, said in (
        (["--member", m], "--member: a fusion needs two or more members: --member DIR DIR"),
        (["--member", m, m, "--weights", "1"], "--weights: give 2 numbers, one per member (1 given)"),
        (["--member", m, m, "--weights", "1", "-1"], "--weights: give weights of 0 or more, not all 0"),
    ):
        with pytest.raises(SERError) as err:
            fuse_cli.cli([*argv, *out])
        assert str(err.value).startswith(said), str(err.value)
        assert str(err.value).count("--weights") <= 1 and "member_weights" not in str(err.value)
    assert not (tmp_path / "f").exists()


def test_labels_in_another_language_get_advice_that_works(random_model, tree, tmp_path, caplog):
    """German folder names: the error said "load the corpus with another --label-scheme"; doing so
    skipped 35 of 40 files as "(empty, unreadable or unparseable)" and scored the 5 neutral clips,
    UA 0.000 of one class."""
    from conftest import make_speechlike

    root = tmp_path / "deutsch"
    for k, label in enumerate(["wut", "freude", "trauer", "neutral"]):
        (root / label).mkdir(parents=True)
        for i in range(3):
            sf.write(root / label / f"{label}_{i}.wav", make_speechlike(0.6, seed=10 * k + i), SR)
    base = ["--model", str(random_model), "--corpus", f"deutsch={root}", "--out", str(tmp_path / "e")]
    with pytest.raises(SERError, match=r"are no emotion names ser_hf knows: name the classes in English"):
        evaluate_cli.cli(base)
    with caplog.at_level("WARNING"):
        assert evaluate_cli.cli([*base, "--label-scheme", "harmonized7"]) == 0
    assert "skipped 9 of 12 audio files, e.g. label 'freude' is not in scheme harmonized7" in caplog.text
    assert "all 3 test rows are 'neutral', so UA is that class's recall" in caplog.text
    # gender-joint labels (female_angry) are emotion names: the advice for them is another scheme
    joint = load_corpus("ravdess", tree, label_scheme="gender_emotion").select(range(8))
    with pytest.raises(SERError, match="load the corpus with another --label-scheme"):
        evaluation.evaluate_model(random_model, joint, device="cpu")


def test_a_model_of_classes_of_its_own_gets_advice_for_its_classes(tmp_path):
    """A model trained on 喜び/平静/怒り/悲しみ, tested on English folders, was told "load the corpus
    with another --label-scheme" (no scheme makes 喜び); on German ones, "name the classes in
    English" (which would not match either). The advice now names the model's classes and
    --label-map, which then scores the corpus."""
    from conftest import make_speechlike

    model = _save_model(tmp_path / "jp", ["喜び", "平静", "怒り", "悲しみ"])
    for language, labels in (
        ("en", ["happy", "neutral", "angry", "sad"]),
        ("de", ["freude", "neutral", "wut", "trauer"]),
    ):
        root = tmp_path / language
        for k, label in enumerate(labels):
            for i in range(2):
                (root / label).mkdir(parents=True, exist_ok=True)
                sf.write(root / label / f"{i}.wav", make_speechlike(0.5, seed=10 * k + i), SR)
        base = ["--model", str(model), "--corpus", f"mine={root}", "--out", str(tmp_path / f"e_{language}")]
        with pytest.raises(SERError) as err:
            evaluate_cli.cli(base)
        message = str(err.value)
        assert "name the test classes as the model does (喜び, 平静, 怒り, 悲しみ)" in message, message
        assert "--label-map TEST=MODEL" in message and "another --label-scheme" not in message
        assert "in English" not in message
        pairs = ",".join(f"{d}={m}" for d, m in zip(labels, ["喜び", "平静", "怒り", "悲しみ"]))
        assert evaluate_cli.cli([*base, "--label-map", pairs]) == 0
        scored = json.loads((tmp_path / f"e_{language}" / "metrics.json").read_text(encoding="utf-8"))
        assert scored["n"] == 8 and sorted(scored["labels"]) == sorted(["喜び", "平静", "怒り", "悲しみ"])
    with pytest.raises(SERError, match="'wut' is not FROM=TO"):
        evaluate_cli.cli([*base, "--label-map", "wut"])


def test_a_corpus_alias_is_the_corpus_the_model_trained_on():
    """``--corpus emo-db=DIR`` for a model trained with ``--corpus emodb=DIR`` was taken as another
    corpus (its native scheme, surprise masked, boredom dropped) while ``emodb=`` kept the model's."""
    from types import SimpleNamespace

    config = SimpleNamespace(training_corpora=["cremad", "emodb"], label_scheme="harmonized7")
    for names in (["emodb"], ["emo-db"], ["Crema-D", "emo_db"]):
        assert evaluation.default_label_scheme(names, config) == "harmonized7", names
    assert evaluation.default_label_scheme(["tess"], config) is None
    # a leave-one-corpus-out fold's held-out corpus was loaded with its training (train_args.json):
    # evaluate read it natively (RAVDESS's calm dropped, not folded) and disagreed with the cv fold
    assert evaluation.default_label_scheme(["tess"], config, ["cremad", "emodb", "tess"]) == "harmonized7"


# ----------------------------------------------------------------------------------- unseen corpus classes
def _tess_tree(root: Path, classes: dict[str, list[str]]) -> Path:
    """TESS file names (``OAF_<emotion>/OAF_<word>_<emotion>.wav``), three clips a class."""
    from conftest import make_speechlike

    seed = 0
    for speaker, emotions in classes.items():
        for emotion in emotions:
            folder = root / f"{speaker}_{emotion}"
            folder.mkdir(parents=True, exist_ok=True)
            for w in range(3):
                seed += 1
                wave = make_speechlike(0.6, f0=120 + 40 * len(emotion), seed=seed)
                sf.write(folder / f"{speaker}_w{w}_{emotion}.wav", wave, SR)
    return root


def _unseen_model(folder: Path, bias: dict[str, float]) -> Path:
    """A ravdess8 model with constant logits (``bias``) trained, its config says, on RAVDESS only."""
    _save_model(folder, scheme_names("ravdess8"), bias)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "training_corpora": ["ravdess"]}))
    return folder


def test_an_unseen_corpus_is_scored_on_its_classes_whatever_rows_the_split_selects(tmp_path, capsys):
    """The classes a corpus the model never trained on "has" came from the answers of the rows scored:
    a speaker without sad clips (kfold's test part) had sad masked although the corpus holds sad; and
    the terminal still printed every class as scored ("disgust -> disgust", "the 7 shared classes")."""
    tess = _tess_tree(
        tmp_path / "tess", {"OAF": ["neutral", "happy", "sad", "angry"], "YAF": ["neutral", "happy", "angry"]}
    )
    model = _unseen_model(tmp_path / "m", {"sad": 3.0, "happy": 2.0})
    argv = ["--model", str(model), "--corpus", f"tess={tess}", "--device", "cpu", "--num-val-speakers", "0"]
    assert evaluate_cli.cli([*argv, "--split", "kfold:0/2", "--out", str(tmp_path / "yaf")]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((tmp_path / "yaf" / "metrics.json").read_text())
    assert set(metrics["per_speaker"]) == {"tess_YAF"} and metrics["n"] == 9
    assert metrics["masked_classes"] == {"tess": ["fearful", "disgust", "surprised"]}  # sad: TESS has it
    assert metrics["scored_classes"] == {"tess": ["neutral", "happy", "sad", "angry"]}
    assert metrics["per_class"]["sad"]["precision"] == 0.0  # the model may answer sad, and does
    assert "scored on the 7 shared classes" not in printed
    assert "tess scored on the 4 classes it has: neutral, happy, sad, angry; left out" in printed
    assert "disgust -> disgust (masked: tess has no clips of it)" in printed


def test_an_unseen_corpus_scores_the_same_alone_and_beside_the_training_corpus(tree, tmp_path):
    """Evaluated with RAVDESS (both loaded as ravdess8), TESS's part had the model's calm masked
    (0.258), alone calm counted as neutral (0.217): the docstring said both routes agree."""
    from ser_hf.data.corpora import load_corpora

    tess = _tess_tree(
        tmp_path / "tess", {"OAF": ["neutral", "happy", "sad"], "YAF": ["neutral", "happy", "sad"]}
    )
    # calm + neutral (2 e^3) beat sad (e^3.5), which beats each alone: calm must count as neutral
    model = _unseen_model(tmp_path / "m", {"calm": 3.0, "neutral": 3.0, "sad": 3.5})
    alone = evaluation.evaluate_model(model, load_corpus("tess", tess), device="cpu")
    ravdess = [{"name": "ravdess", "data_dir": str(tree)}, {"name": "tess", "data_dir": str(tess)}]
    both = load_corpora(ravdess, label_scheme="ravdess8")
    both = both.select([i for i, c in enumerate(both["corpus"]) if c == "tess" or i % 10 == 0])
    together, rows = evaluation.evaluate_model(model, both, device="cpu", return_predictions=True)
    assert alone["ua"] == pytest.approx(1 / 3) and alone["per_class"]["neutral"]["recall"] == 1.0
    assert together["per_corpus"]["tess"]["ua"] == pytest.approx(alone["ua"])
    # the TESS clips are answered neutral as alone (not sad: calm's share masked away)
    assert {r["predicted"] for r in rows if "tess" in Path(r["path"]).parts[-3]} == {"neutral"}
    assert (
        "tess" not in together.get("masked_classes", {}) or "calm" not in together["masked_classes"]["tess"]
    )


def test_predictions_csv_has_gender_corpus_and_a_probability_per_class(tmp_path):
    """predictions.csv had path, speaker, true, predicted, score only (NLL, Brier, top-k could not be
    recomputed from it), and metrics.json said label_scheme "native" for TESS loaded as harmonized7."""
    tess = _tess_tree(
        tmp_path / "tess", {"OAF": ["neutral", "happy", "sad"], "YAF": ["neutral", "happy", "sad"]}
    )
    model = _unseen_model(tmp_path / "m", {"sad": 1.0, "happy": 0.5})
    out = tmp_path / "out"
    assert (
        evaluate_cli.cli(
            ["--model", str(model), "--corpus", f"tess={tess}", "--device", "cpu", "--out", str(out)]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["label_scheme"] == "harmonized7"
    with open(out / "predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    scored = metrics["labels"]
    # the old five columns first, in their old places (readers by position), then the new ones
    assert list(rows[0]) == ["path", "speaker", "true", "predicted", "score", "gender", "corpus"] + [
        f"p_{c}" for c in scored
    ]
    assert rows[0]["gender"] == "female" and rows[0]["corpus"] == "tess"
    probs = np.array([[float(r[f"p_{c}"]) for c in scored] for r in rows])
    truth = np.array([scored.index(r["true"]) for r in rows])
    assert probs.sum(axis=1) == pytest.approx(np.ones(len(rows)), abs=1e-5)
    assert -np.mean(np.log(probs[np.arange(len(rows)), truth])) == pytest.approx(metrics["nll"], rel=1e-4)


def test_a_full_disk_keeps_the_previous_files_and_prints_the_figures(
    tree, random_model, tmp_path, monkeypatch, capsys
):
    """`ser-hf evaluate --out DIR` on a full disk: a traceback (OSError Errno 28), a 0-byte
    metrics.json in place of the previous one, and the WA/UA table never printed."""
    from ser_hf.cli import main

    out = tmp_path / "eval"
    argv = [
        "evaluate",
        "--model",
        str(random_model),
        "--corpus",
        f"ravdess={tree}",
        "--split",
        "ravdess-fold:0",
    ]
    assert main([*argv, "--out", str(out), "--device", "cpu"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    real_write_bytes = Path.write_bytes

    def full_disk(self, data, *args, **kwargs):  # metrics.json goes through write_whole's temporary file
        if not (self.name.startswith(".ser-hf-") and self.suffix == ".json"):
            return real_write_bytes(self, data, *args, **kwargs)
        self.open("w").close()  # opened (so emptied), then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    assert main([*argv, "--out", str(out), "--device", "cpu"]) == 74
    printed, err = capsys.readouterr()
    assert "UA=" in printed and "Traceback" not in err
    assert f"ser-hf evaluate: error: cannot write {out / 'metrics.json'} (No space left on device)" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the previous files, whole
    # a folder where metrics.json goes: a raw IsADirectoryError after four files had been replaced
    monkeypatch.setattr(Path, "write_bytes", real_write_bytes)
    (out / "metrics.json").unlink()
    (out / "metrics.json").mkdir()
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert main([*argv, "--out", str(out), "--device", "cpu"]) == 74
    err = capsys.readouterr().err
    assert (
        f"{out / 'metrics.json'}" in err
        and "a folder is where this file goes" in err
        and "Traceback" not in err
    )
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_undecodable_rows_of_a_parquet_corpus_are_each_named_by_their_row(random_model, tmp_path, capsys):
    """Parquet rows of bytes that share one path name (``clip.wav`` for every row) or have none: two
    whose samples do not decode (a FLAC header over garbage) were one entry of ``metrics.json``'s
    ``unreadable`` (keyed by the shared name: 3 clips skipped, 2 listed) and each was named
    ``clip.wav`` or ``<audio dict>``, nothing that finds the row; ``ser-hf corpus --check-audio`` said
    ``clip.wav`` as well. Each is now named by its row, as ``ser-hf corpus`` names a row it skips (the
    row counted within its split: ``parquet DIR test[3] clip.wav``): one entry each, in the warning and
    ``metrics.json``, and in ``--check-audio``'s list."""
    import datasets

    def encoded(seed: int, fmt: str = "WAV", seconds: float = 0.5) -> bytes:
        t = np.arange(int(seconds * SR)) / SR
        noise = 0.02 * np.random.default_rng(seed).standard_normal(t.size)
        buf = io.BytesIO()
        sf.write(
            buf, (0.3 * np.sin(2 * np.pi * (150 + 30 * seed) * t) + noise).astype(np.float32), SR, format=fmt
        )
        return buf.getvalue()

    flac = encoded(99, "FLAC", seconds=3.0)
    garbage = flac[:200] + np.random.default_rng(1).bytes(len(flac) - 200)  # the header reads, the frames not
    bad = {3: "clip.wav", 5: "clip.wav", 6: None}
    rows = [{"bytes": garbage if i in bad else encoded(i), "path": bad.get(i, "clip.wav")} for i in range(10)]
    labels = ["angry", "sad", "happy", "neutral", "angry"] * 2
    root = tmp_path / "pq"
    (root / "data").mkdir(parents=True)
    for split, part in (("train", rows[:4]), ("test", rows)):  # rows counted within their split
        columns = {"audio": part, "label": labels[: len(part)], "speaker": ["s1", "s2"] * (len(part) // 2)}
        table = datasets.Dataset.from_dict(columns).cast_column("audio", datasets.Audio())
        table.to_parquet(str(root / "data" / f"{split}-00000-of-00001.parquet"))
    names = [
        f"parquet {root} test[3] clip.wav",
        f"parquet {root} test[5] clip.wav",
        f"parquet {root} test[6]",
    ]
    out = tmp_path / "eval"
    argv = ["--model", str(random_model), "--corpus", f"mine={root}", "--out", str(out), "--device", "cpu"]
    assert evaluate_cli.cli(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 7 and list(metrics["unreadable"]) == names
    assert metrics["unreadable"][names[2]].startswith(f"{names[2]}: not a readable audio")
    printed = capsys.readouterr().out
    assert "skipped 3 clip(s)" in printed and f"{names[0]}: not a readable audio" in printed
    # from Python, the rows of the dataset given
    loaded = load_corpus("parquet", root, split="test")
    metrics = evaluation.evaluate_model(random_model, loaded, device="cpu", num_workers=1)
    assert list(metrics["unreadable"]) == ["row 3 (path 'clip.wav')", "row 5 (path 'clip.wav')", "row 6"]
    _, report = load_corpus("parquet", root, check_audio=True, return_report=True, split="test")
    assert [s.path for s in report.skipped] == names
    assert report.skipped[0].reason.startswith("samples do not decode: not a readable audio")
