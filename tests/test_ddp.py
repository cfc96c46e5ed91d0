"""2-process DDP training on CPU with ``torchrun`` (gloo) on generated audio.

Checks that the two ranks trained on different clips, that only rank 0 wrote the checkpoints and
the final model (each rank may write only its own RNG state), and that the result loads in the
stock pipeline. ``SER_HF_DEBUG_SEEN`` makes every rank write ``seen_rank{R}.json`` (training
indices) and ``written_rank{R}.json`` (paths it created or wrote under the output folder).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_training import EMOTION_F0, TINY_FEATURES, TINY_MODEL, _clip, make_ravdess_tree

REPO = Path(__file__).resolve().parents[1]


def _train_command(torchrun: str, data: Path, out: Path, *extra: str) -> list[str]:
    tiny = ["--config_overrides", TINY_MODEL, "--feature_overrides", TINY_FEATURES, "--num_train_epochs", "1"]
    return [
        torchrun, "--nproc_per_node", "2", "--master_port", str(29500 + os.getpid() % 1000),
        str(REPO / "scripts" / "train.py"), "--use_cpu", "true", "--corpus", f"ravdess={data}",
        "--split", "none", "--num_val_speakers", "1", "--max_seconds", "0.5", *tiny,
        "--output_dir", str(out), "--disable_tqdm", "true", *extra,
    ]  # fmt: skip


def _torchrun() -> str:
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun is not installed")
    return torchrun


@pytest.mark.slow
def test_torchrun_two_processes_split_the_data_and_rank0_saves(tmp_path):
    torchrun = _torchrun()
    data = make_ravdess_tree(tmp_path / "ravdess", actors=4, extra_sad_actor=0)
    out, seen = tmp_path / "model", tmp_path / "seen"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "SER_HF_DEBUG_SEEN": str(seen),
        "OMP_NUM_THREADS": "1",
    }
    cmd = _train_command(torchrun, data, out, "--augment", "light", "--per_device_train_batch_size", "4")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]

    # both ranks trained, on different clips that together cover the training split
    rank0 = json.loads((seen / "seen_rank0.json").read_text())
    rank1 = json.loads((seen / "seen_rank1.json").read_text())
    split = json.loads((out / "split.json").read_text())
    n_train = len(split["train"])  # store rows 0..n_train-1 are the training clips
    assert rank0 and rank1
    assert set(rank0) | set(rank1) == set(range(n_train))
    # accelerate pads the last uneven batch with clips from the start: at most one batch overlaps
    assert len(set(rank0) & set(rank1)) <= 4
    assert len(set(rank0)) < n_train and len(set(rank1)) < n_train

    # rank 1 wrote nothing but its own RNG state (and made its checkpoint folder for it); rank 0
    # wrote the checkpoint, the final model and the metrics
    written0 = json.loads((seen / "written_rank0.json").read_text())
    written1 = json.loads((seen / "written_rank1.json").read_text())
    assert all(re.fullmatch(r"checkpoint-\d+(/rng_state_1\.pth)?", p) for p in written1), written1
    assert any(p.endswith("trainer_state.json") for p in written0)
    assert "config.json" in written0 and "split.json" in written0
    checkpoints = list(out.glob("checkpoint-*"))
    assert len(checkpoints) == 1 and (checkpoints[0] / "model.safetensors").is_file()

    from transformers import pipeline

    clf = pipeline("audio-classification", model=str(out))
    preds = clf(_clip(EMOTION_F0["happy"], 1.0, seed=5))
    labels = set(json.loads((out / "config.json").read_text())["id2label"].values())
    assert preds and {p["label"] for p in preds} <= labels
    assert all(0.0 <= p["score"] <= 1.0 for p in preds)


@pytest.mark.slow
def test_torchrun_hyperparameter_search(tmp_path):
    """Only process 0 runs the Optuna study; the other follows its trials and its best values (it
    used to fail after the search, with no best run of its own)."""
    data = make_ravdess_tree(tmp_path / "ravdess", actors=4, extra_sad_actor=0)
    out = tmp_path / "model"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = _train_command(_torchrun(), data, out, "--hp-search", "2")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    summary = json.loads((out / "hp_search.json").read_text())
    assert [t["state"] for t in summary["trials"]] == ["COMPLETE", "COMPLETE"]
    final = json.loads((out / "train_args.json").read_text())["training"]
    assert final["learning_rate"] == pytest.approx(summary["best"]["learning_rate"])
    assert (out / "model.safetensors").is_file()


@pytest.mark.slow
def test_torchrun_of_a_fitted_preset_saves_one_complete_model_and_a_cpu_run_needs_use_cpu(tmp_path):
    """Two processes each fitted and saved a logistic-regression preset into one folder: it ended with
    no config.json, exit 0, "model saved". Without --use_cpu on a machine without a GPU, the two
    processes each trained a whole model into one folder without a word."""
    data = make_ravdess_tree(tmp_path / "ravdess", actors=4, extra_sad_actor=0, seconds=0.6)
    out = tmp_path / "model"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = _train_command(_torchrun(), data, out)
    cmd = cmd[: cmd.index("--max_seconds")] + ["--preset", "speech-stats", "--output_dir", str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert proc.stdout.count("model saved to") == 1
    assert proc.stderr.count("INFO ser_hf.training.run: split") == 1  # process 0 tells the story, once
    from ser_hf.inference.classifier import EmotionClassifier

    assert EmotionClassifier(out).classify(_clip(EMOTION_F0["happy"], 1.0, seed=5))
    import torch

    if torch.cuda.is_available():
        return
    i = cmd.index("--use_cpu")
    no_cpu = cmd[:i] + cmd[i + 2 :]
    no_cpu[no_cpu.index("--output_dir") + 1] = str(tmp_path / "other")
    proc = subprocess.run(no_cpu, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode != 0 and "add --use_cpu true" in proc.stderr, proc.stderr[-3000:]
    assert not (tmp_path / "other" / "config.json").exists()


def test_ranks_on_one_machine_sleep_while_they_wait_unless_the_user_chose(tmp_path):
    """torchrun with 2 ranks of 2 threads (OMP_NUM_THREADS=2) on 2 cores: GNU OpenMP's idle threads spun
    on the cores the other rank needed, 87-137 s instead of 19-26 (the same model). A rank of several on this
    machine (LOCAL_WORLD_SIZE, as torchrun and accelerate set it) now sets OMP_WAIT_POLICY=PASSIVE
    before torch loads; a user's own value is kept. Seen in what OpenMP says it read (OMP_DISPLAY_ENV).
    ``torchrun $(which ser-hf) train`` (the general entry point, ``python -m ser_hf.cli train``) did not."""
    args = ["--corpus", f"ravdess={tmp_path / 'none'}", "--output_dir", str(tmp_path / "out")]
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}  # the suite sets it (conftest.py)
    env.update(PYTHONPATH=str(REPO), OMP_DISPLAY_ENV="VERBOSE", LOCAL_WORLD_SIZE="2", RANK="1")
    runs = [
        ([sys.executable, str(REPO / "scripts" / "train.py")], [None, "ACTIVE"]),
        ([sys.executable, "-m", "ser_hf.cli", "train"], [None, "ACTIVE"]),
    ]
    console = Path(sys.executable).with_name("ser-hf")  # the console script of this environment's install
    if console.is_file():
        runs.append(([str(console), "train"], [None]))
    for command, users in runs:
        for user in users:
            proc = subprocess.run([*command, *args], env={**env, **({"OMP_WAIT_POLICY": user} if user else {})},
                                  capture_output=True, text=True, timeout=120)  # fmt: skip
            assert proc.returncode == 2 and "corpus folder not found" in proc.stderr, proc.stderr[-2000:]
            if "OPENMP DISPLAY ENVIRONMENT" not in proc.stderr + proc.stdout:
                pytest.skip("torch's OpenMP here is not GNU libgomp")
            said = proc.stderr + proc.stdout
            expected = f"OMP_WAIT_POLICY = '{user}'" if user else "GOMP_SPINCOUNT = '0'"
            assert expected in said and (user or "GOMP_SPINCOUNT = '300000'" not in said), (
                command,
                said[-3000:],
            )
