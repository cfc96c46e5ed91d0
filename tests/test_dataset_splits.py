"""A dataset's own splits (train / validation / test), as ``datasets`` reads them: a ``save_to_disk``
DatasetDict, a Hub-layout parquet folder (``data/test-00000-of-00001.parquet``) and an audio folder of
``train/ validation/ test/`` sub-folders are read split by split, never merged without a word."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import pytest
import soundfile as sf
from conftest import make_speechlike, save_tiny_bilstm

from ser_hf.cli import corpus as corpus_cli
from ser_hf.cli import evaluate as evaluate_cli
from ser_hf.cli import train as train_cli
from ser_hf.data.corpora import load_corpus
from ser_hf.errors import SERError

SR = 16000
LABELS = ("angry", "happy", "neutral")
# speakers of each split: four to train on, one to validate, one to test
SPLITS = {"train": ("s1", "s2", "s3", "s4"), "validation": ("s5",), "test": ("s6",)}
PER_SPEAKER = 2 * len(LABELS)  # two 0.5-s clips of each label


def _clips(root: Path) -> dict[str, list[dict]]:
    """Rows of each split: ``{"audio": path, "label": ..., "speaker_id": ...}``."""
    rows: dict[str, list[dict]] = {}
    for split, speakers in SPLITS.items():
        for s, speaker in enumerate(speakers):
            for k, label in enumerate(LABELS):
                for i in range(2):
                    path = root / "wav" / split / f"{speaker}_{label}_{i}.wav"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    sf.write(path, make_speechlike(0.5, f0=110 + 60 * k, seed=100 * s + 10 * k + i), SR)
                    rows.setdefault(split, []).append(
                        {"audio": str(path), "label": label, "speaker_id": speaker}
                    )
    return rows


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    """The same clips as a DatasetDict folder, a Hub-layout parquet folder and a split audio folder."""
    from datasets import Audio, Dataset, DatasetDict, Features, Value

    root = tmp_path_factory.mktemp("splits")
    rows = _clips(root)
    features = Features({"audio": Audio(), "label": Value("string"), "speaker_id": Value("string")})
    dd = DatasetDict({s: Dataset.from_list(r, features=features) for s, r in rows.items()})
    dd.save_to_disk(str(root / "dd"))
    for split, ds in dd.items():  # what the Hub's parquet conversion and push_to_hub write
        ds.to_parquet(str(root / "pq" / "data" / f"{split}-00000-of-00001.parquet"))
    for split, split_rows in rows.items():  # train/ validation/ test/, each with its metadata.csv
        folder = root / "af" / split
        folder.mkdir(parents=True)
        with open(folder / "metadata.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["file_name", "label", "speaker_id"])
            for row in split_rows:
                name = Path(row["audio"]).name
                (folder / name).write_bytes(Path(row["audio"]).read_bytes())
                writer.writerow([name, row["label"], row["speaker_id"]])
    for split, split_rows in rows.items():  # train/<label>/x.wav: labels from the folders
        for row in split_rows:
            target = root / "labelled" / split / row["label"] / Path(row["audio"]).name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(Path(row["audio"]).read_bytes())
    DatasetDict({"test": dd["test"]}).save_to_disk(str(root / "test_only"))
    DatasetDict({"train": dd["train"], "valid": dd["validation"], "test": dd["test"]}).save_to_disk(
        str(root / "valid")
    )
    return {"dd": root / "dd", "pq": root / "pq", "af": root / "af", "labelled": root / "labelled",
            "test_only": root / "test_only", "valid": root / "valid", "root": root}  # fmt: skip


@pytest.mark.parametrize("layout", ["dd", "pq", "af", "labelled"])
def test_a_split_asked_for_is_read_alone_and_the_default_says_what_it_left_out(data, layout, caplog):
    """A Hub-layout parquet folder and an audio folder of train/ validation/ test/ were merged into
    one corpus, the test speaker among the training ones, and a split asked for changed nothing."""
    folder = data[layout]
    with caplog.at_level(logging.INFO, logger="ser_hf.data"):
        ds, report = load_corpus("mine", folder, return_report=True)
    n_train = len(SPLITS["train"]) * PER_SPEAKER
    assert len(ds) == n_train and report.splits_read == ["train"]
    if layout != "labelled":  # the label folders' rows have no speakers
        assert sorted(set(ds["speaker"])) == [f"mine_{s}" for s in SPLITS["train"]]
    assert "read its split train" in caplog.text and "left out validation" in caplog.text
    assert "test (6 rows)" in caplog.text

    test = load_corpus("mine", folder, split="test")
    assert len(test) == PER_SPEAKER
    if layout != "labelled":
        assert set(test["speaker"]) == {"mine_s6"}
    assert len(load_corpus("mine", folder, split="train+validation+test")) == 6 * PER_SPEAKER
    with pytest.raises(SERError, match="has no split 'nonexistent'; its splits are train, validation, test"):
        load_corpus("mine", folder, split="nonexistent")


def test_the_cli_chooses_a_split_by_its_option_and_names_a_near_one(data, capsys):
    """`disk: has splits ['train', 'valid', 'test']; pass split=...` spoke Python to a CLI user and
    offered nothing near; ``--hub-split validation`` now reads a split named ``valid``."""
    assert corpus_cli.cli([str(data["pq"]), "--hub-split", "test"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"rows: {PER_SPEAKER} ") and "its splits: read test (6); left out train (24)" in out
    with pytest.raises(SERError, match=r"no split 'vaild' \(did you mean 'valid'\?\).*--hub-split SPLIT"):
        corpus_cli.cli([str(data["valid"]), "--hub-split", "vaild"])
    ds = load_corpus("mine", data["valid"], split="validation")
    assert set(ds["speaker"]) == {"mine_s5"}
    # data without splits of their own: a split asked for is an error, not ignored
    with pytest.raises(SERError, match="has no splits of its own"):
        load_corpus("audiofolder", data["labelled"] / "train", split="test")


def test_evaluate_scores_the_test_split_and_chooses_another_by_hub_split(data, tmp_path, capsys):
    """`ser-hf evaluate --corpus mine=DD` scored the DatasetDict's train split, saying "split all, all
    rows"; --split test was "unknown split", --subset test exited 0 on the train split, and a
    DatasetDict of a test split only could not be evaluated at all."""
    model = save_tiny_bilstm(tmp_path / "model", list(LABELS))
    base = ["--model", str(model), "--device", "cpu"]

    def evaluate(corpus: Path, *extra: str) -> dict:
        out = tmp_path / f"eval{len(list(tmp_path.iterdir()))}"
        assert evaluate_cli.cli([*base, "--corpus", f"mine={corpus}", "--out", str(out), *extra]) == 0
        return json.loads((out / "metrics.json").read_text())

    metrics = evaluate(data["dd"])
    assert metrics["n"] == PER_SPEAKER and metrics["dataset_splits"] == {"mine": ["test"]}
    assert f"(mine: its test split): split all, all rows: {PER_SPEAKER} clips" in capsys.readouterr().out
    assert evaluate(data["dd"], "--hub-split", "train")["n"] == len(SPLITS["train"]) * PER_SPEAKER
    assert evaluate(data["test_only"])["n"] == PER_SPEAKER
    with pytest.raises(SERError, match="the data's own 'test' split is read with --hub-split test"):
        evaluate_cli.cli([*base, "--corpus", f"mine={data['dd']}", "--split", "test"])
    with pytest.raises(SERError, match="--subset has nothing to choose"):
        evaluate_cli.cli([*base, "--corpus", f"mine={data['dd']}", "--subset", "test"])


def test_train_uses_the_datasets_validation_split_and_leaves_its_test_split_out(data, tmp_path, caplog):
    """`ser-hf train --hub_dataset PQ --hub_split train --split none` trained on every clip of the
    parquet folder, its test speaker included; a DatasetDict's validation split was never used."""
    base = ["--preset", "speech-stats", "--num_val_speakers", "1"]
    out = tmp_path / "pq"
    assert (
        train_cli.cli([*base, "--corpus", f"mine={data['pq']}", "--split", "none", "--output_dir", str(out)])
        == 0
    )
    split = json.loads((out / "split.json").read_text())
    used = set(split["train_speakers"]) | set(split["validation_speakers"])
    assert used <= {f"mine_{s}" for s in SPLITS["train"]} and split["dataset_splits"] == ["train"]

    out = tmp_path / "dd"
    with caplog.at_level(logging.INFO, logger="ser_hf"):
        assert train_cli.cli([*base, "--hub_dataset", str(data["dd"]), "--output_dir", str(out)]) == 0
    split = json.loads((out / "split.json").read_text())
    assert split["protocol"] == "dataset_splits" and split["spec"] == "dataset"
    assert split["validation_speakers"] == ["dd_s5"] and split["test_speakers"] == []
    assert split["sizes"] == {"train": 4 * PER_SPEAKER, "validation": PER_SPEAKER, "test": 0}
    assert "left out test (6 rows)" in caplog.text
    # evaluate --split model reads the splits the model trained on again, its rows verified
    assert evaluate_cli.cli(["--model", str(out), "--corpus", f"dd={data['dd']}", "--split", "model",
                             "--subset", "validation", "--out", str(tmp_path / "ev")]) == 0  # fmt: skip
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text())["n"] == PER_SPEAKER


def test_an_audio_column_of_another_name_and_the_cli_options_in_the_error(tmp_path):
    """Columns wav / category / talker: "pass audio_column= and label_column=", Python to a CLI user,
    though ``wav`` is the one column datasets decodes as audio."""
    from datasets import Audio, ClassLabel, Dataset, Features, Value

    paths = []
    for i in range(4):
        paths.append(str(tmp_path / f"{i}.wav"))
        sf.write(paths[-1], make_speechlike(0.5, seed=i), SR)
    features = Features(
        {"wav": Audio(), "category": ClassLabel(names=["angry", "sad"]), "talker": Value("string")}
    )
    Dataset.from_dict(
        {"wav": paths, "category": [0, 1, 0, 1], "talker": ["a", "a", "b", "b"]}, features=features
    ).save_to_disk(str(tmp_path / "odd"))
    with pytest.raises(
        SERError, match=r"has no label column .*--label-column COLUMN \(from Python label_column=\)"
    ) as err:
        load_corpus("disk", tmp_path / "odd")
    assert "no audio" not in str(err.value)  # wav is the audio column
    ds = load_corpus("disk", tmp_path / "odd", label_column="category")
    assert len(ds) == 4 and sorted(set(ds["speaker"])) == ["odd_a", "odd_b"]
