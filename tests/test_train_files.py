"""The files `ser-hf train` writes into --output_dir: readable UTF-8 JSON for non-ASCII speakers, labels
and paths, and a checkpoint that does not fit on the disk (one line, exit 74, the earlier files kept)."""

from __future__ import annotations

import csv
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
import torch
from conftest import make_speechlike

from ser_hf.cli import main
from ser_hf.errors import os_error_of

REPO = Path(__file__).resolve().parents[1]
SPEAKERS = ("Zoë", "Jürgen", "李", "Ana")
LABELS = ("喜び", "calme")
TINY_MODEL = {"conv_channels": [4, 8], "lstm_hidden_size": 8, "attention_hidden_size": 8, "conv_dropout": 0.0}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A metadata.csv corpus in a folder named ``Zoë's corpus``: two 0.6-s clips of each label per speaker."""
    root = tmp_path_factory.mktemp("data") / "Zoë's corpus"
    root.mkdir()
    with open(root / "metadata.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file_name", "label", "speaker"])
        for s, speaker in enumerate(SPEAKERS):
            for k, label in enumerate(LABELS):
                for i in range(2):
                    name = f"s{s}_{k}_{i}.wav"
                    sf.write(
                        root / name, make_speechlike(0.6, f0=110 + 200 * k, seed=10 * s + 2 * k + i), 16000
                    )
                    writer.writerow([name, label, speaker])
    return root


def _train(corpus: Path, out: Path, *extra: str) -> list[str]:
    """`ser-hf train` of a tiny BiLSTM (two epochs, a checkpoint each), Zoë's clips the test set."""
    return [
        "train", "--corpus", f"syn={corpus}", "--split", "loso:Zoë", "--num_val_speakers", "1",
        "--preset", "seed-logmel-bilstm", "--config_overrides", json.dumps(TINY_MODEL),
        "--feature_overrides", json.dumps({"n_mels": 32, "max_frames": None}), "--max_seconds", "0.5",
        "--num_train_epochs", "2", "--per_device_train_batch_size", "8", "--seed", "7",
        "--disable_tqdm", "true", "--output_dir", str(out), *extra,
    ]  # fmt: skip


def test_the_json_files_of_a_run_are_readable_utf8_and_load_back(corpus, tmp_path, capsys):
    """split.json, train_args.json, val/test_metrics.json and checkpoints_run.json wrote ``Zoë`` as
    ``Zo\\u00eb`` and ``喜び`` as ``\\u559c\\u3073`` (metrics.json and cv_results.json were readable)."""
    out = tmp_path / "run"
    assert main(_train(corpus, out)) == 0
    texts = {
        name: (out / name).read_text(encoding="utf-8")
        for name in (
            "split.json",
            "train_args.json",
            "val_metrics.json",
            "test_metrics.json",
            "checkpoints_run.json",
        )
    }
    for name, text in texts.items():
        assert "\\u" not in text, name
        json.loads(text)
    assert "Zoë" in texts["split.json"] and "Zoë's corpus" in texts["train_args.json"]
    assert "Zoë's corpus" in texts["checkpoints_run.json"]
    assert "喜び" in texts["val_metrics.json"] and "喜び" in texts["test_metrics.json"]
    assert json.loads(texts["split.json"])["test_speakers"] == ["syn_Zoë"]
    # read back: evaluate --split model scores the test speaker the split.json names
    capsys.readouterr()
    argv = [
        "evaluate",
        "--model",
        str(out),
        "--corpus",
        f"syn={corpus}",
        "--split",
        "model",
        "--device",
        "cpu",
    ]
    assert main([*argv, "--out", str(tmp_path / "eval")]) == 0
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text(encoding="utf-8"))
    assert list(metrics["per_speaker"]) == ["syn_Zoë"]
    # the split manifest reads as UTF-8 whatever the locale (Windows' cp1252 would garble Zoë): no EncodingWarning
    check = f"""
import warnings
from ser_hf.data.corpora import load_corpus
from ser_hf.data.splits import Split, load_splits
from ser_hf.training.arguments import DataArguments
from ser_hf.training.clips import make_split
ds = load_corpus("syn", {str(corpus)!r})
path = {str(out / "split.json")!r}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", EncodingWarning)
    assert make_split(ds, DataArguments(split="manifest:" + path), 0).test_speakers == ["syn_Zoë"]
    assert Split.from_json(path).test_speakers == load_splits(path)[0].test_speakers == ["syn_Zoë"]
print([str(w.message) for w in caught if issubclass(w.category, EncodingWarning)])
"""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    run = subprocess.run(
        [sys.executable, "-X", "warn_default_encoding", "-c", check], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_a_checkpoint_that_does_not_fit_is_one_line_exit_74_and_the_earlier_files_stay(corpus, tmp_path, capsys, monkeypatch):  # fmt: skip
    """A full disk while the Trainer wrote a checkpoint: torch.save's RuntimeError ("[enforce fail at
    inline_container.cc] . unexpected pos", "basic_ios::clear: iostream error") ended `ser-hf train`
    in a traceback, and the half-written checkpoint was the one --resume took."""
    out = tmp_path / "run"
    argv = ["train", "--corpus", f"syn={corpus}", "--split", "loso:Zoë", "--num_val_speakers", "1"]
    assert main([*argv, "--preset", "speech-stats", "--output_dir", str(out)]) == 0  # an earlier model
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    real_save, checkpoints = torch.save, []

    def disk_full_at_the_second_checkpoint(obj, f, *args, **kwargs):
        folder = Path(f).parent.name
        if folder.startswith("checkpoint-") and folder not in checkpoints:
            checkpoints.append(folder)
        if checkpoints and folder == checkpoints[-1] and len(checkpoints) == 2:
            return real_save(obj, "/dev/full")  # torch's own error for a device without space
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", disk_full_at_the_second_checkpoint)
    capsys.readouterr()
    assert main(_train(corpus, out)) == 74
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("ser-hf train: error:")]
    assert len(lines) == 1 and "Traceback" not in err
    assert str(out / checkpoints[1]) in lines[0] and "the write failed (torch.save)" in lines[0]
    assert "--save_total_limit 1" in lines[0] and "--save_strategy no" in lines[0]
    # the half-written checkpoint is gone (--resume takes the last whole one); the earlier files stay
    assert sorted(p.name for p in out.glob("checkpoint-*")) == [checkpoints[0]]
    assert (out / checkpoints[0] / "trainer_state.json").is_file()
    assert {name: (out / name).read_bytes() for name in before} == before


def test_only_the_writers_errors_count_as_a_full_disk(tmp_path, monkeypatch):
    """torch.save's writer failing is an OSError (ENOSPC when the file system is full); a RuntimeError
    of anything else (a shape mismatch) is not, and keeps its traceback."""
    try:
        torch.save(torch.zeros(100_000), "/dev/full")
    except RuntimeError as err:
        written = err
    assert os_error_of(written, tmp_path / "optimizer.pt").errno == errno.EIO  # space is left here
    full = os.statvfs_result((4096,) * 2 + (100, 0, 0, 10, 0, 0, 0, 255))
    monkeypatch.setattr(os, "statvfs", lambda path: full)
    error = os_error_of(written, tmp_path / "optimizer.pt")
    assert (error.errno, error.filename) == (errno.ENOSPC, str(tmp_path / "optimizer.pt"))
    stream = RuntimeError("basic_ios::clear: iostream error")  # a small file's last flush
    assert (
        os_error_of(stream, tmp_path) is None
        and os_error_of(stream, tmp_path, writing=True).errno == errno.ENOSPC
    )
    try:
        torch.zeros(2, 3) @ torch.zeros(2, 3)
    except RuntimeError as err:
        shapes = err
    assert os_error_of(shapes, tmp_path, writing=True) is None


def test_the_split_pushed_to_the_hub_is_readable_and_keeps_undecodable_names(tmp_path):
    """push uploaded split.json as ``syn_Zo\\u00eb``; a Linux file name's byte that is not UTF-8 (a
    surrogate) still reads back as it was, from the folder's file and from the upload."""
    from ser_hf.hub.push import published_split
    from ser_hf.training.saving import write_json

    speakers = ["syn_Zoë", os.fsdecode(b"syn_caller-\xff")]
    write_json(tmp_path / "split.json", {"format": "ser_hf.split/1", "train_speakers": speakers})
    assert json.loads((tmp_path / "split.json").read_text(encoding="utf-8"))["train_speakers"] == speakers
    uploaded = published_split(tmp_path)
    assert "syn_Zoë".encode() in uploaded and json.loads(uploaded)["train_speakers"] == speakers


def test_the_same_run_again_into_its_folder_gives_no_another_run_warning(tmp_path, caplog):
    """Re-running the very same `ser-hf train` (a Trainer preset) into its --output_dir warned that the
    folder "holds the model of another run (its seed differ ...)": the comparison read the seed where a
    functionals fit records it, not among the Trainer's arguments. A record whose `split` is null (the
    --split not given, before it was resolved) is the resolved split, and an older record's
    `hub_split: "train"` (the default then) today's default, as its `num_val_speakers: 4` (session 49's
    default); a run that does differ still says what
    (here its model: other features)."""
    import logging

    from test_training import _args, make_ravdess_tree

    data = make_ravdess_tree(tmp_path / "ravdess", actors=4, seconds=0.5)
    out = tmp_path / "model"
    argv = _args(data, out, "--num_train_epochs", "1")
    del argv[argv.index("--split") : argv.index("--split") + 2]  # the default split, resolved by the run
    del argv[argv.index("--num_val_speakers") : argv.index("--num_val_speakers") + 2]  # the default too
    assert main(["train", *argv]) == 0
    record = json.loads((out / "train_args.json").read_text(encoding="utf-8"))
    assert record["data"]["split"] == "none"  # the split the run resolved, not null
    with caplog.at_level(logging.WARNING, logger="ser_hf.training"):
        assert main(["train", *argv]) == 0
        assert "holds the model of another run" not in caplog.text
        record = json.loads((out / "train_args.json").read_text(encoding="utf-8"))
        record["data"]["split"] = None  # as a record of the unresolved default reads
        record["data"]["hub_split"] = "train"  # and a record of before session 45, when that was the default
        record["data"]["num_val_speakers"] = 4  # and of before session 50 (the fixed default then)
        (out / "train_args.json").write_text(json.dumps(record), encoding="utf-8")
        other = list(argv)
        other[other.index("--feature_overrides") + 1] = json.dumps({"n_mels": 24, "max_frames": None})
        assert main(["train", *other]) == 0
    assert caplog.text.count("holds the model of another run") == 1
    assert "holds the model of another run (its model differ" in caplog.text  # not its data (split null)
