"""`pip install ser-hf` (the core alone) is enough for a pipeline user: a fresh venv with no extra
classifies an example clip through the stock pipeline and through EmotionClassifier, and the
commands that need an extra say which one.

Builds a real venv and installs the package into it with pip (torch comes from the machine's local
wheels; about a minute on the 2-core CI machine)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "demo" / "examples" / "03-01-05-02-01-01-21.flac"  # RAVDESS actor 21, angry
EXTRA_MODULES = [
    "datasets",
    "accelerate",
    "evaluate",
    "sklearn",
    "librosa",
    "gradio",
    "matplotlib",
    "opensmile",
    "onnxruntime",
]

pytestmark = pytest.mark.slow

SCRIPT = r"""
import json, sys, importlib.util
import ser_hf
from transformers import pipeline

clf = pipeline("audio-classification", model=str(ser_hf.default_model_path()))
piped = clf(sys.argv[1], top_k=None)
ours = ser_hf.EmotionClassifier().classify(sys.argv[1], top_k=None)
extras = [m for m in json.loads(sys.argv[2]) if importlib.util.find_spec(m) is not None]
print(json.dumps({"pipeline": piped, "classifier": ours, "extras_found": extras}))
"""


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("core_venv")
    venv.create(root, with_pip=True)
    python = root / "bin" / "python"
    # --no-compile: no byte-compiling of every installed module (transformers' thousands among them),
    # a third of pip's CPU time; what the test imports compiles as it is imported, as it would anyway
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-compile", str(REPO)]
        + ["-c", str(REPO / "constraints.txt")],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    yield python
    # the venv holds a CUDA build of torch (about 5.7 GB): pytest keeps its last three temporary
    # folders, and three of these fill a small disk, so the venv goes as soon as the module ends
    shutil.rmtree(root, ignore_errors=True)


def _run(python: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1")
    # run outside the repository, so the checkout cannot stand in for the installed package
    return subprocess.run(
        [str(python), *args], capture_output=True, text=True, timeout=600, env=env, cwd=python.parents[2]
    )


def test_the_core_alone_classifies_through_the_pipeline_and_the_classifier(core_venv):
    proc = _run(core_venv, "-c", SCRIPT, str(EXAMPLE), json.dumps(EXTRA_MODULES))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["extras_found"] == [], "the core install pulled in an extra's package"
    piped = {p["label"]: p["score"] for p in out["pipeline"]}
    ours = {p["label"]: p["score"] for p in out["classifier"]}
    assert set(piped) == set(ours) and len(piped) == 7
    assert all(abs(piped[k] - ours[k]) < 1e-4 for k in piped)
    # the same scores as this (full) environment gives
    from ser_hf import EmotionClassifier

    here = {p["label"]: p["score"] for p in EmotionClassifier(device="cpu").classify(EXAMPLE, top_k=None)}
    assert all(abs(here[k] - ours[k]) < 1e-4 for k in here)


@pytest.mark.parametrize(
    "argv, extra",
    [
        (["train", "--corpus", "ravdess=x", "--output_dir", "o"], "train"),
        (["cv", "--corpus", "ravdess=x", "--preset", "speech-stats"], "train"),
        (["demo"], "demo"),
        (["export", "--out", "m.onnx"], "onnx"),
    ],
)
def test_a_command_that_needs_an_extra_names_it(core_venv, argv, extra):
    proc = _run(core_venv, "-m", "ser_hf.cli", *argv)
    assert proc.returncode == 2, proc.stderr[-2000:]
    # installed from this clone (pip install REPO): the command that installs the extra from it; ser-hf
    # is not on PyPI, so `pip install 'ser-hf[EXTRA]'` would find nothing
    assert f"pip install {shlex.quote(f'{REPO}[{extra}]')}" in proc.stderr, proc.stderr[-2000:]
    assert "ser-hf[" not in proc.stderr and "Traceback" not in proc.stderr
