"""A team's own labelled data, end to end: a metadata.csv with their own column and class names,
trained on, evaluated, and carded under those names."""

from __future__ import annotations

import csv
import json
import shutil
import unicodedata
from pathlib import Path

import pytest
import soundfile as sf
import yaml
from conftest import make_speechlike

from ser_hf.cli import evaluate as evaluate_cli
from ser_hf.cli import push as push_cli
from ser_hf.cli import train as train_cli
from ser_hf.data.corpora import load_corpus
from ser_hf.errors import SERError

SR = 16000
CALLERS = ("c-A", "c-B", "c-C", "c-D")


def write_corpus(
    root: Path, labels: dict[str, list[str]] | list[str], callers: tuple[str, ...] = CALLERS
) -> Path:
    """Two 0.6-s clips of every label for each caller (``labels``: one list for all, or per caller)."""
    root.mkdir(parents=True)
    with open(root / "metadata.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file_name", "label", "caller_id", "gender"])
        for c, caller in enumerate(callers):
            for k, label in enumerate(labels[caller] if isinstance(labels, dict) else labels):
                for i in range(2):
                    name = f"{caller}_{k}_{i}.wav"
                    clip = make_speechlike(0.6, f0=110 + 45 * k, seed=100 * c + 10 * k + i)
                    sf.write(root / name, clip, SR)
                    writer.writerow([name, label, caller, "female" if c % 2 else "male"])
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """``(corpus, model)``: speech-stats trained on callers A, C, D (one of them validation) with
    ``--speaker_column caller_id``, tested on caller B."""
    root = tmp_path_factory.mktemp("own")
    corpus = write_corpus(root / "syn", ["satisfied customer", "énervé", "neutral"])
    model = root / "run"
    argv = ["--corpus", f"syn={corpus}", "--speaker_column", "caller_id", "--split", "loso:c-B"]
    argv += ["--num_val_speakers", "1", "--preset", "speech-stats", "--output_dir", str(model)]
    assert train_cli.cli(argv) == 0
    return corpus, model


def _evaluate(model: Path, corpus: str, out: Path, *extra: str) -> dict:
    assert evaluate_cli.cli(["--model", str(model), "--corpus", corpus, "--device", "cpu", "--out", str(out), *extra]) == 0  # fmt: skip
    return json.loads((out / "metrics.json").read_text())


def test_evaluate_reads_the_speaker_column_the_model_was_trained_with(trained, tmp_path, capsys):
    """Trained with --speaker_column caller_id, evaluate read every clip as one speaker syn_unknown:
    --split model failed ("row 0 is 'syn_unknown/...'") and --split unseen scored the training callers."""
    corpus, model = trained
    metrics = _evaluate(model, f"syn={corpus}", tmp_path / "model", "--split", "model")
    assert list(metrics["per_speaker"]) == ["syn_c-B"] and metrics["n"] == 6
    metrics = _evaluate(model, f"syn={corpus}", tmp_path / "unseen", "--split", "unseen")
    assert list(metrics["per_speaker"]) == ["syn_c-B"]
    metrics = _evaluate(model, f"syn={corpus}", tmp_path / "all")  # the training callers are named
    assert sorted(metrics["per_speaker"]) == [f"syn_{c}" for c in CALLERS]
    assert "3 of the 4 speakers evaluated took part" in capsys.readouterr().err
    # a copy of the data whose speaker column has another name: said, and --speaker-column reads it
    renamed = tmp_path / "renamed"
    shutil.copytree(corpus, renamed)
    text = (renamed / "metadata.csv").read_text(encoding="utf-8")
    (renamed / "metadata.csv").write_text(text.replace("caller_id", "agent"), encoding="utf-8")
    with pytest.raises(SERError, match="the model was trained with --speaker-column caller_id") as err:
        _evaluate(model, f"syn={renamed}", tmp_path / "x", "--split", "unseen")
    assert "--speaker-column COLUMN" in str(err.value)
    metrics = _evaluate(model, f"syn={renamed}", tmp_path / "agent", "--split", "unseen", "--speaker-column", "agent")  # fmt: skip
    assert list(metrics["per_speaker"]) == ["syn_c-B"]
    # under another corpus name nothing is assumed, and unseen says it cannot tell the speakers apart
    _evaluate(model, f"other={corpus}", tmp_path / "other", "--split", "unseen")
    assert "these data name no speakers" in capsys.readouterr().err


NFC, NFD = (unicodedata.normalize(form, "énervé") for form in ("NFC", "NFD"))


def test_labels_differing_only_in_unicode_form_are_one_class(tmp_path):
    """A metadata.csv with "énervé" typed (NFC) and pasted from macOS folder names (NFD) loaded as two
    classes that look the same, 'énervé' and 'énervé'."""
    labels = {c: ["neutral", NFC if c in ("c-A", "c-B") else NFD] for c in CALLERS}
    ds = load_corpus("mac", write_corpus(tmp_path / "mac", labels))
    assert ds.features["emotion"].names == ["neutral", NFC]
    assert sum(name == NFC for name in ds.features["emotion"].int2str(ds["emotion"])) == 8


def test_evaluate_matches_the_models_own_class_names_whatever_their_case_and_form(trained, tmp_path):
    """Trained on "satisfied customer" / "énervé" / "neutral", evaluate on the same classes spelt
    "Satisfied Customer" / "ÉNERVÉ" (decomposed) / "Neutral" said they share one class and pointed a
    CLI user to load_corpus(label_map=...)."""
    _, model = trained
    shouted = unicodedata.normalize("NFD", "ÉNERVÉ")
    corpus = write_corpus(tmp_path / "caps", ["Satisfied  Customer", shouted, "Neutral"])
    metrics = _evaluate(model, f"caps={corpus}", tmp_path / "ev")
    loud = shouted  # the class keeps its spelling as written (the most frequent one)
    assert metrics["label_mapping"] == {"satisfied customer": "Satisfied Customer", NFC: loud, "neutral": "Neutral"}  # fmt: skip
    assert sorted(metrics["labels"]) == sorted(["Satisfied Customer", loud, "Neutral"]) and metrics["n"] == 24
    assert not metrics["dropped"]
    # names that are really other classes: the advice names the model's classes and the data to rename
    other = write_corpus(tmp_path / "other", ["happy customer", "furious", "neutral"])
    with pytest.raises(
        SERError,
        match=f"name the test classes as the model does \\(neutral, satisfied customer, {NFC}\\) in the data",
    ):
        _evaluate(model, f"other={other}", tmp_path / "x")


def test_the_card_names_the_corpus_evaluated_and_the_classes_it_was_scored_on(trained, tmp_path, capsys):
    """An evaluation on another corpus holding 2 of the 3 classes was published under the training
    corpus's name ("dataset: name: syn", "held-out split: all") on the model card."""
    _, model = trained
    corpus = write_corpus(tmp_path / "sub", ["satisfied customer", "neutral"])
    _evaluate(model, f"sub={corpus}", tmp_path / "ev")
    capsys.readouterr()
    argv = ["--model", str(model), "--repo-id", "team/x", "--card-only"]
    assert push_cli.cli([*argv, "--eval-json", str(tmp_path / "ev" / "metrics.json")]) == 0
    card = capsys.readouterr().out
    (result,) = yaml.safe_load(card.split("---")[1])["model-index"][0]["results"]
    assert result["dataset"]["name"] == "sub" and result["dataset"]["split"] == "all"
    n = json.loads((tmp_path / "ev" / "metrics.json").read_text())["n"]  # the clips, said too
    scope = f"{n} clips, scored on 2 of the model's 3 classes (neutral, satisfied customer)"
    # a corpus the model never trained on, scored on 2 classes: said so, with chance (1/2)
    assert (
        result["metrics"][1]["name"] == f"UA (unweighted average recall), {scope}, cross-corpus, chance 0.500"
    )
    assert f"| held-out split: all of sub, {scope}, cross-corpus (the model never trained on sub)" in card
    assert "trained from scratch on syn" in card  # the training corpus stays the training corpus
    # the run's own test split is still named as before
    assert push_cli.cli(argv) == 0
    card = capsys.readouterr().out
    (result,) = yaml.safe_load(card.split("---")[1])["model-index"][0]["results"]
    assert result["dataset"]["name"] == "syn" and "of the model's 3 classes" not in card  # all its classes


def test_train_warns_when_the_test_speaker_holds_one_class(tmp_path, caplog):
    """``--split loso:SPEAKER`` of a speaker with one class printed "test UA 1.000" with no word;
    ser-hf evaluate already said UA was that class's recall."""
    labels = {c: ["neutral"] if c == "c-B" else ["satisfied customer", NFC, "neutral"] for c in CALLERS}
    corpus = write_corpus(tmp_path / "one", labels)
    argv = ["--corpus", f"one={corpus}", "--speaker_column", "caller_id", "--split", "loso:c-B"]
    argv += ["--num_val_speakers", "1", "--preset", "speech-stats", "--output_dir", str(tmp_path / "m")]
    with caplog.at_level("WARNING"):
        assert train_cli.cli(argv) == 0
    assert "test: all 2 test rows are 'neutral', so UA is that class's recall" in caplog.text
    assert "validation: all" not in caplog.text


def test_train_prints_the_chance_ua_and_the_classes_beside_the_test_scores(tmp_path, capsys):
    """`ser-hf train` printed `test WA 0.816 UA 0.800` with no chance level nor the classes scored,
    though test_metrics.json has chance_ua: the line under it says them, as `ser-hf evaluate` does;
    a corpus none of the training came from (loco) is scored on the classes it has."""
    corpus = write_corpus(tmp_path / "syn", ["satisfied customer", "énervé", "neutral"])
    argv = ["--corpus", f"syn={corpus}", "--speaker_column", "caller_id", "--split", "loso:c-B"]
    argv += ["--num_val_speakers", "1", "--preset", "speech-stats", "--output_dir", str(tmp_path / "m")]
    assert train_cli.cli(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    test = next(i for i, line in enumerate(lines) if line.startswith("test       WA "))
    classes = ", ".join(json.loads((tmp_path / "m" / "test_metrics.json").read_text())["labels"])
    assert lines[test + 1] == f"           scored on 3 classes ({classes}): chance UA 0.333"
    assert "chance" not in lines[test - 1]  # validation: no chance UA recorded
    one = write_corpus(tmp_path / "one", ["angry", "sad", "neutral"])  # corpora joined: emotion names
    two = write_corpus(tmp_path / "two", ["neutral", "angry"], callers=("t-A", "t-B"))
    argv = ["--corpus", f"one={one}", "--corpus", f"two={two}", "--speaker_column", "caller_id"]
    argv += ["--split", "loco:two", "--num_val_speakers", "1", "--preset", "speech-stats"]
    assert train_cli.cli([*argv, "--output_dir", str(tmp_path / "x")]) == 0
    lines = capsys.readouterr().out.splitlines()
    test = next(i for i, line in enumerate(lines) if line.startswith("test       WA "))
    assert lines[test + 1].startswith(
        "           chance UA 0.500 (each corpus scored on the classes it has: two: "
    )
    assert sorted(lines[test + 1].split("two: ")[1].rstrip(")").split(", ")) == ["angry", "neutral"]


def test_chance_ua_counts_the_classes_the_test_speaker_holds(tmp_path, capsys):
    """A test speaker holding 2 of the 3 trained classes: `ser-hf train` printed `scored on 3 classes
    ...: chance UA 0.333` under a UA that averages the recall of those 2, which one constant answer
    among them scores 0.500 (a probe's 0.322 looked above chance and was below that)."""
    labels = ["angry", "sad", "neutral"]
    corpus = write_corpus(tmp_path / "syn", {c: labels[:2] if c == "c-B" else labels for c in CALLERS})
    argv = ["--corpus", f"syn={corpus}", "--speaker_column", "caller_id", "--split", "loso:c-B"]
    argv += ["--num_val_speakers", "1", "--preset", "speech-stats", "--output_dir", str(tmp_path / "m")]
    assert train_cli.cli(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    test = next(i for i, line in enumerate(lines) if line.startswith("test       WA "))
    metrics = json.loads((tmp_path / "m" / "test_metrics.json").read_text())
    assert metrics["chance_ua"] == pytest.approx(0.5)
    held = ", ".join(x for x in metrics["labels"] if x != "neutral")
    assert lines[test + 1].endswith(
        f"; the test clips hold 2 of them ({held}), whose recalls UA averages: chance UA 0.500"
    )


def test_evaluate_reads_a_hub_datasets_columns_as_the_model_was_trained_with(tmp_path, monkeypatch):
    """The columns a model trained with were read for NAME=PATH corpora only: a Hub dataset given by
    its id was read with the default columns (every clip one speaker). The Hub is not reached here:
    the loader is replaced by one that records what it was asked for."""
    from ser_hf.data import corpora
    from ser_hf.training.evaluation import load_eval_data

    model = tmp_path / "model"
    model.mkdir()
    data = {"corpus": ["team/calls"], "speaker_column": "caller_id", "label_column": "mood"}
    (model / "train_args.json").write_text(json.dumps({"data": data}), encoding="utf-8")
    (model / "config.json").write_text("{}", encoding="utf-8")
    asked: list[dict] = []
    monkeypatch.setattr(corpora, "load_corpus", lambda **kw: asked.append(kw) or "loaded")
    assert load_eval_data(["team/calls"], None, model_dir=model) == "loaded"
    assert asked[-1]["name"] == "team/calls" and asked[-1]["data_dir"] is None
    assert asked[-1]["speaker_column"] == "caller_id" and asked[-1]["label_column"] == "mood"
    load_eval_data(["team/calls"], None, {"speaker_column": "agent"}, model_dir=model)  # the user's word wins
    assert asked[-1]["speaker_column"] == "agent" and asked[-1]["label_column"] == "mood"
    load_eval_data(["other/set"], None, model_dir=model)  # a dataset it did not train on: default columns
    assert "speaker_column" not in asked[-1]


def test_evaluate_renames_the_classes_as_the_models_training_did(tmp_path, caplog):
    """Trained with --label_map wut=angry,calm= (Wut renamed, calm dropped), ``ser-hf evaluate`` of the
    same corpus re-applied the training's columns but not its map: the calm clips came back (scored
    as neutral), the Wut ones were left out as a class the model lacks, and --split model failed."""
    from ser_hf.training.scoring import training_columns

    corpus = write_corpus(tmp_path / "de", ["Wut", "neutral", "sad", "calm"])
    model = tmp_path / "run"
    argv = ["--corpus", f"de={corpus}", "--speaker_column", "caller_id", "--split", "loso:c-B"]
    argv += ["--label_map", "wut=angry,calm=", "--num_val_speakers", "1", "--preset", "speech-stats"]
    assert train_cli.cli([*argv, "--output_dir", str(model)]) == 0
    assert training_columns(model)[0]["label_map"] == {"wut": "angry", "calm": None}
    with caplog.at_level("INFO", logger="ser_hf.training.evaluation"):
        metrics = _evaluate(model, f"de={corpus}", tmp_path / "all")
    assert sorted(metrics["labels"]) == ["angry", "neutral", "sad"] and metrics["n"] == 24  # no calm clip
    assert "classes renamed as loaded by the training's label map" in caplog.text
    assert _evaluate(model, f"de={corpus}", tmp_path / "model", "--split", "model")["n"] == 6  # caller B
    # the evaluation's own --label-map wins: calm scored as neutral this time
    metrics = _evaluate(model, f"de={corpus}", tmp_path / "own", "--label-map", "Wut=angry,calm=neutral")
    assert metrics["n"] == 32 and metrics["per_class"]["neutral"]["support"] == 16


def test_new_recordings_in_the_trainings_own_labels_are_told_the_map_it_trained_with(tmp_path):
    """A model trained with --label_map 怒り=angry,... evaluated on NEW recordings labelled 怒り (not its
    training data, so its map is not applied) exits 2 with "share no class", as designed; the fix it
    named was to write the labels in English, not the map the model's train_args.json records."""
    labels = ["怒り", "平静", "悲しみ"]
    corpus = write_corpus(tmp_path / "jp", labels)
    model = tmp_path / "run"
    argv = ["--corpus", f"mine={corpus}", "--speaker_column", "caller_id", "--split", "loso:c-B"]
    argv += ["--label_map", "怒り=angry,平静=neutral,悲しみ=sad", "--num_val_speakers", "1"]
    assert train_cli.cli([*argv, "--preset", "speech-stats", "--output_dir", str(model)]) == 0
    new = write_corpus(tmp_path / "new", labels, callers=("n-1", "n-2"))
    args = ["--model", str(model), "--corpus", f"other={new}", "--speaker-column", "caller_id"]
    with pytest.raises(SERError, match="share no class") as raised:  # the CLI's exit 2
        evaluate_cli.cli([*args, "--device", "cpu", "--out", str(tmp_path / "ev")])
    err = str(raised.value)
    assert "the model trained with --label_map" in err and "English" not in err, err
    assert "pass --label-map '怒り=angry,平静=neutral,悲しみ=sad'" in err, err
    metrics = _evaluate(model, f"other={new}", tmp_path / "ev", "--speaker-column", "caller_id",
                        "--label-map", "怒り=angry,平静=neutral,悲しみ=sad")  # fmt: skip
    assert sorted(metrics["labels"]) == ["angry", "neutral", "sad"] and metrics["n"] == 12
