"""`ser-hf push-dataset --split speaker`: the package's speaker-independent splits go up as the dataset's
train / validation / test (it pushed everything as `train`, with no way to choose), and reading the Hub
copy back gives the test speakers only.

The Hub is the local TEST FIXTURE server in ``tests/fake_hub.py`` (not the real Hub, which cannot be
reached here); the push and the reads run in a fresh process pointed at it (``HF_ENDPOINT`` is read
when ``huggingface_hub`` is imported)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import soundfile as sf
import yaml
from conftest import make_speechlike
from fake_hub import FakeHub

REPO_ROOT = Path(__file__).resolve().parents[1]
LABELS = ["neutral", "happy", "sad", "angry"]
ACTORS = ("01", "02", "03", "04", "05", "06")  # odd male, even female

SCRIPT = """
import json, sys
args = json.loads(sys.argv[1])
from datasets import load_dataset
from ser_hf.cli import main
out = {"rc_push": main(["push-dataset", "--corpus", "ravdess=" + args["corpus"], "--split", "speaker",
                        "--repo-id", "user/ravdess-split"])}
out["speakers"] = {}
for name in ("train", "validation", "test"):
    ds = load_dataset("user/ravdess-split", split=name)
    out["speakers"][name] = sorted(set(ds["speaker"]))
out["rc_eval"] = main(["evaluate", "--model", args["model"], "--corpus", "user/ravdess-split", "--out", args["out"]])
print("RESULT " + json.dumps(out))
"""


def _write_ravdess_tree(root: Path) -> None:
    codes = ("01", "03", "04", "05")  # neutral, happy, sad, angry
    for actor in ACTORS:
        folder = root / f"Actor_{actor}"
        folder.mkdir(parents=True)
        for i, code in enumerate(codes):
            clip = make_speechlike(seconds=0.5, f0=120.0 + 30 * i + int(actor) * 9, seed=i + 10 * int(actor))
            sf.write(folder / f"03-01-{code}-01-01-01-{actor}.wav", clip, 16000, subtype="PCM_16")


def test_push_dataset_split_speaker_pushes_speaker_independent_splits_that_evaluate_reads(tmp_path):
    from ser_hf.training.presets import build_model

    _write_ravdess_tree(tmp_path / "ravdess")
    model, extractor = build_model(
        "seed-logmel-bilstm",
        LABELS,
        feature_overrides={"n_mels": 32},
        conv_channels=[4, 8],
        lstm_hidden_size=8,
    )
    model.save_pretrained(tmp_path / "model")
    extractor.save_pretrained(tmp_path / "model")
    args = {
        "corpus": str(tmp_path / "ravdess"),
        "model": str(tmp_path / "model"),
        "out": str(tmp_path / "eval"),
    }
    with FakeHub() as hub:
        env = hub.client_env(tmp_path / "home")
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(SCRIPT), json.dumps(args)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        assert proc.returncode == 0 and lines, f"{hub.unhandled}\n{proc.stderr[-4000:]}"
        out = json.loads(lines[-1][len("RESULT ") :])
        readme = hub.repos[("dataset", "user/ravdess-split")].commits[-1].files["README.md"].content.decode()
    assert out["rc_push"] == 0 and out["rc_eval"] == 0, proc.stderr[-3000:]
    parts = out["speakers"]
    # every speaker in exactly one split, each split non-empty, all six speakers pushed
    assert all(parts[name] for name in parts), parts
    assert sorted(s for name in parts for s in parts[name]) == [f"ravdess_{a}" for a in ACTORS]
    # gender-balanced test speakers: one male, one female actor
    assert sorted(int(s[-2:]) % 2 for s in parts["test"]) == [0, 1], parts
    # the card says the splits are speaker-independent and names each split's speakers
    header = yaml.safe_load(readme.split("---")[1])
    assert sorted(c["split"] for c in header["configs"][0]["data_files"]) == ["test", "train", "validation"]
    assert "speaker-independent" in readme
    assert f"- `test` speakers: {', '.join(parts['test'])}." in readme
    # `ser-hf evaluate --corpus owner/name` reads the test split: the test speakers' 8 clips, no other
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["n"] == 4 * len(parts["test"]), metrics.get("n")
    assert list(metrics["dataset_splits"].values()) == [["test"]], metrics["dataset_splits"]
    assert "its test split" in proc.stdout


def test_without_split_the_datas_own_splits_stay_as_they_are():
    """Rows read from a dataset with splits of its own keep them (`valid` under datasets' name
    `validation`); a corpus folder (no splits) is one `train` split, as before; `speaker` needs 3
    speakers."""
    from datasets import Dataset

    from ser_hf.errors import SERError
    from ser_hf.hub.dataset_push import dataset_parts

    ds = Dataset.from_dict({"speaker": ["a", "a", "b", "c"], "gender": ["f"] * 4, "emotion": [0, 1, 0, 1]})
    parts, made = dataset_parts(ds, None, ["train", "valid", "test", "train"])
    assert made is None and list(parts) == ["train", "validation", "test"]
    assert parts["train"].num_rows == 2 and parts["validation"]["speaker"] == ["a"]
    parts, made = dataset_parts(ds, None, [])
    assert list(parts) == ["train"] and parts["train"].num_rows == 4
    with pytest.raises(SERError, match="3 or more"):
        dataset_parts(ds.filter(lambda r: r["speaker"] != "c"), "speaker")
