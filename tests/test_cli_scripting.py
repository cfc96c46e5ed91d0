"""`ser-hf` used from shell scripts: xargs, pipes, `timeout`/systemd, exit codes, `--version`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf
import torch
from conftest import make_speechlike

from ser_hf.cli import main
from ser_hf.training.presets import build_model

SR = 16000
REPO = Path(__file__).resolve().parents[1]


def _tiny_model(folder: Path, labels: list[str]) -> Path:
    torch.manual_seed(0)
    model, fe = build_model(
        "seed-logmel-bilstm",
        labels,
        feature_overrides={"max_frames": None, "n_mels": 32},
        conv_channels=[4, 8],
        lstm_hidden_size=8,
    )
    model.save_pretrained(folder)
    fe.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return _tiny_model(tmp_path_factory.mktemp("model"), ["neutral", "happy", "sad", "angry"])


def _clips(folder: Path, count: int, seconds: float = 1.0, suffix: str = ".wav") -> list[Path]:
    paths = [folder / f"{i}{suffix}" for i in range(count)]
    for i, path in enumerate(paths):
        sf.write(path, make_speechlike(seconds, seed=i), SR, format="FLAC" if suffix == ".flac" else "WAV")
    return paths


def test_xargs_never_turns_a_recording_into_the_output_file(model_dir, tmp_path, capsys):
    """`ls *.flac | xargs ser-hf predict --json` took the first recording as --json's FILE and
    overwrote it with JSON (exit 0, the recording never classified)."""
    a, b = _clips(tmp_path, 2, suffix=".flac")
    before = a.read_bytes()
    for option in ("--json", "--csv"):
        assert main(["predict", option, str(a), str(b), "--model", str(model_dir)]) == 2
        err = capsys.readouterr().err
        assert a.read_bytes() == before, option
        assert f"{option} -" in err and "after the files" in err and "Traceback" not in err
    # a recording without an audio extension, named both as input and as output
    take = tmp_path / "take1"
    take.write_bytes(before)
    assert main(["predict", str(take), str(b), "--csv", str(take), "--model", str(model_dir)]) == 2
    assert take.read_bytes() == before and "one of the files to classify" in capsys.readouterr().err
    # the ways that write results still do
    out = tmp_path / "out.json"
    assert main(["predict", str(a), str(b), "--model", str(model_dir), "--json", str(out)]) == 0
    assert [Path(r["file"]).name for r in json.loads(out.read_text())] == ["0.flac", "1.flac"]
    capsys.readouterr()
    assert main(["predict", str(a), "--model", str(model_dir), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
