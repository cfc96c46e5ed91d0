"""The benchmark parts: feature extraction, augmentation, latency, long recordings, training and the demo server.

Each runs one script of ``benchmarks/`` (or a training / demo process) through
:func:`~ser_hf.bench.measure.run_measured` and returns its figures.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..data.layouts import _RAVDESS_EMOTIONS
from ..inference.bundled import DEFAULT_PRESET
from .measure import (
    LABELS8,
    REPO,
    SR,
    TINY_FEATURES,
    TINY_MODEL,
    RSSPoller,
    _check,
    _env,
    _python_script,
    _tree_rss,
    run_measured,
)

logger = logging.getLogger(__name__)


def _latency_runs(quick: bool) -> list[str]:
    return ["--runs", "3", "--warmup", "1"] if quick else ["--runs", "30", "--warmup", "5"]


def _script_part(
    part: str,
    work: Path,
    script: str,
    args: list[str],
    shown: list[str],
    env: dict[str, str] | None = None,
    timeout: float = 900,
) -> dict[str, Any]:
    """``benchmarks/<script> --json FILE *args`` in its own process (``env``: extra variables): its
    JSON, its peak RSS and the command to rerun it (``shown``: ``args`` as a reader types them)."""
    out = work / f"{part}.json"
    res = run_measured(_python_script(script, "--json", str(out), *args), timeout=timeout, env=env)
    _check(part, res)
    result = json.loads(out.read_text())
    result["peak_rss_mb"] = res["peak_rss_mb"]
    prefix = "".join(f"{k}={v} " for k, v in (env or {}).items())
    result["command"] = prefix + shlex.join(["python", f"benchmarks/{script}", *shown])
    return result


def bench_features(work: Path, data_dir: Path | None, quick: bool) -> dict[str, Any]:
    args = ["--n-clips", "8" if quick else "64", "--runs", "2" if quick else "5"]
    if data_dir:
        args += ["--data-dir", str(data_dir)]
    return _script_part("features", work, "bench_features.py", args, args, timeout=600)


def bench_augment(work: Path, data_dir: Path | None, quick: bool) -> dict[str, Any]:
    args = ["--n-clips", "8" if quick else "64", "--runs", "1" if quick else "3"]
    if quick:
        args += ["--warmup", "0"]
    if data_dir:
        args += ["--data-dir", str(data_dir)]
    return _script_part("augment", work, "bench_augment.py", args, args, timeout=600)


def bench_default(work: Path, quick: bool) -> dict[str, Any]:
    """The bundled models through the stock pipeline beside a wav2vec2-base peer, one process."""
    # --quick: the batch throughput on 4 clips once (32 clips three times four ways, the peer among
    # them, were 100 of the smoke test's 120 s)
    args = [*_latency_runs(quick), *(["--batch-clips", "4", "--batch-repeats", "1"] if quick else [])]
    return _script_part("default", work, "bench_default.py", args, args)


# what a CPU without AVX-512 computes with: FBGEMM's int8 and torch's own kernels limited to AVX2, and the
# speaker encoder in float32 (such CPUs have no native bfloat16)
AVX2_ENV = {
    "FBGEMM_ENABLE_INSTRUCTIONS": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
    "SER_HF_ENCODER_DTYPE": "float32",
}


def bench_default_avx2(work: Path, quick: bool) -> dict[str, Any]:
    """:func:`bench_default`'s latency rows again in a process limited to AVX2 kernels (:data:`AVX2_ENV`)."""
    args = [*_latency_runs(quick), "--batch-clips", "0"]
    result = _script_part("avx2", work, "bench_default.py", args, args, env=AVX2_ENV)
    result["env"] = dict(AVX2_ENV)
    return result


def bench_onnx_default(work: Path, data_dir: Path | None, quick: bool) -> dict[str, Any]:
    """The default exported to ONNX: agreement with the package on a corpus, latency beside the pipeline."""
    args, shown = _latency_runs(quick), _latency_runs(quick)
    if data_dir and not quick:  # the whole corpus; --quick: the eight example clips
        args, shown = [*args, "--data-dir", str(data_dir)], [*shown, "--data-dir", "DATA"]
    return _script_part("onnx", work, "bench_onnx_default.py", args, shown)


def bench_presets(work: Path, quick: bool) -> dict[str, Any]:
    """Every preset: parameters, MFLOPs, latency and training samples/s (waveforms vs cached features)."""
    out = work / "presets.json"
    extra = ["--quick", "--runs", "3"] if quick else ["--runs", "20", "--train-steps", "3"]
    res = run_measured(_python_script("bench_presets.py", "--json", str(out), *extra), timeout=1800)
    _check("presets", res)
    result = json.loads(out.read_text())
    result["peak_rss_mb"] = res["peak_rss_mb"]
    result["command"] = shlex.join(["python", "benchmarks/bench_presets.py", *extra])
    return result


def bench_latency(work: Path, model: Path, quick: bool) -> dict[str, Any]:
    out = work / "latency.json"
    if quick:
        extra = ["--runs", "3", "--warmup", "1", "--threads", "1", "--batch-clips", "4", "--batch-size", "2"]
        extra += ["--batch-repeats", "1"]
    else:
        extra = ["--runs", "30", "--warmup", "5", "--threads", "1", "2"]
    args = ["--json", str(out), "--model", str(model), *extra]
    res = run_measured(_python_script("bench_latency.py", *args), timeout=600)
    _check("latency", res)
    result = json.loads(out.read_text())
    result["peak_rss_mb"] = res["peak_rss_mb"]
    result["command"] = shlex.join(["python", "benchmarks/bench_latency.py", "--model", "MODEL", *extra])
    return result


def bench_timeline(work: Path, model: Path | None, quick: bool) -> dict[str, Any]:
    """A long recording through ``timeline`` (speech detector on and off) against the stock pipeline
    called per window, one process (``benchmarks/bench_timeline.py``); the bundled default unless
    ``--model`` was given."""
    args = ["--minutes", "0.5", "--runs", "1"] if quick else ["--minutes", "10", "--runs", "3"]
    shown = list(args)
    if model is not None:
        args, shown = [*args, "--model", str(model)], [*shown, "--model", "MODEL"]
    return _script_part("timeline", work, "bench_timeline.py", args, shown, timeout=900)


def make_ravdess_tree(root: Path, actors: int = 24, takes: int = 2, seconds: float = 3.0) -> Path:
    """A generated tree named like RAVDESS (``Actor_NN/03-01-EE-01-SS-RR-NN.wav``), 8 emotions per actor.

    The clips are speech-like (harmonics of a wobbling F0 whose height depends on the emotion),
    so a training run has something to learn; only the timing matters here.
    """
    import numpy as np
    import soundfile as sf

    from ser_hf.inference.onnx_files import speechlike_clip

    seed = 0
    for actor in range(1, actors + 1):
        folder = root / f"Actor_{actor:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for code in range(1, 9):
            for take in range(takes):
                seed += 1
                statement, rep = 1 + take % 2, 1 + take // 2
                x = speechlike_clip(seconds, seed=seed, sampling_rate=SR)
                t = np.arange(x.size) / SR
                x = x + 0.05 * np.sin(2 * np.pi * (150 + 60 * code) * t).astype(np.float32)
                name = f"03-01-{code:02d}-01-{statement:02d}-{rep:02d}-{actor:02d}.wav"
                sf.write(folder / name, x, SR, subtype="PCM_16")
    return root


_FLOAT = r"([-+0-9.eE]+|nan|inf)"


def _trainer_figures(output: str, output_dir: Path) -> dict[str, float]:
    """``train_runtime`` / ``train_samples_per_second`` from the Trainer's log, else its trainer_state.json."""
    found: dict[str, float] = {}
    for key in ("train_runtime", "train_samples_per_second", "train_steps_per_second"):
        hits = re.findall(rf"'{key}'\s*:\s*'?{_FLOAT}", output)
        if hits:
            found[key] = float(hits[-1])
    if "train_samples_per_second" not in found:
        for state in sorted(output_dir.glob("**/trainer_state.json")):
            for entry in json.loads(state.read_text()).get("log_history", []):
                for key in ("train_runtime", "train_samples_per_second", "train_steps_per_second"):
                    if key in entry:
                        found[key] = float(entry[key])
    return found


def bench_training(work: Path, data_dir: Path | None, quick: bool, epochs: int = 1) -> dict[str, Any]:
    """One RAVDESS fold (``ravdess-fold:0``) end to end on CPU in its own process."""
    if data_dir is None:
        data_dir = make_ravdess_tree(
            work / "ravdess",
            actors=24,  # ravdess-fold:K needs all 24 actors
            takes=1 if quick else 2,
            seconds=0.5 if quick else 3.0,
        )
        source = "generated RAVDESS-named tree"
    else:
        source = str(data_dir)
    n_files = sum(1 for _ in data_dir.rglob("03-*.*"))
    output_dir = work / "train_fold0"
    args = [
        "--corpus",
        f"ravdess={data_dir}",
        "--split",
        "ravdess-fold:0",
        "--preset",
        "seed-logmel-bilstm",
        "--augment",
        "light",
        "--num_train_epochs",
        str(epochs),
        "--output_dir",
        str(output_dir),
        "--disable_tqdm",
        "true",
        "--use_cpu",
        "true",
        "--seed",
        "0",
        "--report_to",
        "none",
    ]
    if quick:
        args += ["--num_val_speakers", "2", "--max_seconds", "0.5", "--per_device_train_batch_size", "8"]
        args += [
            "--config_overrides",
            json.dumps(TINY_MODEL),
            "--feature_overrides",
            json.dumps(TINY_FEATURES),
        ]
    cmd = [sys.executable, "-m", "ser_hf.training", *args]
    res = run_measured(cmd, timeout=900)
    _check("training", res)
    figures = _trainer_figures(res["output"], output_dir)
    test = (
        json.loads((output_dir / "test_metrics.json").read_text(encoding="utf-8"))
        if (output_dir / "test_metrics.json").is_file()
        else {}
    )
    shown = [a if not a.startswith(str(work)) else a.replace(str(work), "WORK") for a in args]
    if source != "generated RAVDESS-named tree":
        shown = [a.replace(str(data_dir), "DATA") for a in shown]
    return {
        "data": source,
        "audio_files": n_files,
        "epochs": epochs,
        "device": "cpu",
        "fold_wall_s": res["wall_s"],
        "train_runtime_s": figures.get("train_runtime"),
        "train_samples_per_second": figures.get("train_samples_per_second"),
        "train_share_of_wall": (figures["train_runtime"] / res["wall_s"])
        if "train_runtime" in figures
        else None,
        "peak_rss_mb": res["peak_rss_mb"],
        "test_wa": test.get("wa"),
        "test_ua": test.get("ua"),
        "test_n": test.get("n"),
        "command": shlex.join(["python", "-m", "ser_hf.training", *shown]),
    }


def bench_cv(work: Path, data_dir: Path | None, quick: bool) -> dict[str, Any]:
    """The whole RAVDESS 6-fold cross-validation of the default preset (``DEFAULT_PRESET``; with
    ``quick``, ``speech-stats``) on CPU, end to end (decoding, features, fitting, evaluation): wall
    time and peak RSS."""
    if data_dir is None:
        data_dir = make_ravdess_tree(work / "ravdess_cv", actors=24, takes=1, seconds=0.5 if quick else 3.0)
        source = "generated RAVDESS-named tree"
    else:
        source = str(data_dir)
    out = work / "cv_default_preset"
    # --quick checks the machinery on the cheapest fitted preset (the default's channel and voice copies
    # made it 140 s of the smoke test; its cv runs in tests/test_cross_corpus.py), in two folds of 12
    # actors (six fold processes were 100 s of it on a slow 2-core machine, most of it their imports)
    preset = "speech-stats" if quick else DEFAULT_PRESET
    args = ["--corpus", f"ravdess={data_dir}", "--label-scheme", "harmonized7", "--preset", preset]
    args += ["--folds", "2"] if quick else []
    args += ["--out", str(out), "--", "--use_cpu", "true", "--report_to", "none"]
    # an empty feature cache: the wall time includes computing every clip's features once
    cache = work / "cv_feature_cache"
    res = run_measured(
        [sys.executable, "-m", "ser_hf.cli", "cv", *args], timeout=3600, env={"SER_HF_CACHE": str(cache)}
    )
    _check("cv", res)
    result = json.loads((out / "cv_results.json").read_text(encoding="utf-8"))
    shown = [a.replace(str(work), "WORK").replace(str(data_dir), "DATA") for a in args]
    return {
        "data": source,
        "preset": preset,
        "folds": result["n_folds"],
        "clips": result["n"],
        "wall_s": res["wall_s"],
        "peak_rss_mb": res["peak_rss_mb"],
        "ua_mean": result["mean"]["ua"],
        "command": shlex.join(["ser-hf", "cv", *shown]),
    }


def _tiled_corpus(root: Path, data_dir: Path | None, tiles: int, quick: bool) -> tuple[Path, int]:
    """An audio folder (``<emotion>/<file>``) holding every clip of ``data_dir`` (RAVDESS names)
    ``tiles`` times, as symbolic links; generated clips when no data is given."""
    if data_dir is None:  # --quick: 48 clips (1,920 took 90 s of the smoke test on 2 cores)
        data_dir = make_ravdess_tree(
            root.parent / f"{root.name}_src",
            actors=6 if quick else 24,
            takes=1,
            seconds=0.5 if quick else 2.0,
        )
    files = sorted(data_dir.rglob("03-*.*"))
    for k in range(tiles):
        for f in files:
            emotion = _RAVDESS_EMOTIONS.get(int(f.stem.split("-")[2]), "neutral")
            (root / emotion).mkdir(parents=True, exist_ok=True)
            (root / emotion / f"t{k}_{f.name}").symlink_to(f.resolve())
    return root, len(files) * tiles


def bench_memory(work: Path, data_dir: Path | None, quick: bool) -> dict[str, Any]:
    """Peak RSS of ``ser-hf evaluate`` (default model) on a corpus and on the same corpus tiled 10
    times: evaluation streams, so the ratio should stay near 1."""
    rows = {}
    for tiles in (1, 10):
        corpus, clips = _tiled_corpus(work / f"tiled_{tiles}", data_dir, tiles, quick)
        args = ["--model", "default", "--corpus", f"audiofolder={corpus}", "--device", "cpu"]
        args += ["--out", str(work / f"eval_{tiles}")]
        res = run_measured([sys.executable, "-m", "ser_hf.cli", "evaluate", *args], timeout=3600)
        _check("memory", res)
        rows[str(tiles)] = {"clips": clips, "peak_rss_mb": res["peak_rss_mb"], "wall_s": res["wall_s"]}
    return {
        "data": str(data_dir) if data_dir else "generated RAVDESS-named tree",
        "runs": rows,
        "rss_ratio_10x_over_1x": rows["10"]["peak_rss_mb"] / rows["1"]["peak_rss_mb"],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in rows.values()),
        "command": "ser-hf evaluate --model default --corpus audiofolder=TILED --device cpu (1x and 10x)",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_demo(work: Path, model: Path, quick: bool) -> dict[str, Any]:
    """Start ``python demo/app.py``, send ``/classify`` requests with gradio_client, record its peak RSS."""
    import statistics

    import httpx
    from gradio_client import Client, handle_file

    examples = sorted((REPO / "demo" / "examples").glob("*.flac"))
    if not examples:
        raise RuntimeError("no example clips in demo/examples")
    requests = 3 if quick else 10
    port = _free_port()
    env = {**_env(), "SER_HF_MODEL": str(model)}
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "demo" / "app.py"), "--port", str(port)],
            cwd=work,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            with RSSPoller(proc.pid) as poller:
                deadline = time.monotonic() + 120
                while True:
                    if proc.poll() is not None:
                        log.seek(0)
                        raise RuntimeError(f"demo/app.py exited: {log.read()[-2000:]}")
                    try:
                        if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError("demo/app.py did not start within 120 s")
                    time.sleep(0.3)
                startup_s = time.perf_counter() - start
                idle_rss = _tree_rss(poller.proc) / 2**20
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                latencies = []
                for i in range(requests):
                    t0 = time.perf_counter()
                    client.predict(handle_file(str(examples[i % len(examples)])), api_name="/classify")
                    latencies.append(time.perf_counter() - t0)
                client.close()
                time.sleep(0.3)  # one more RSS sample after the last request
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {
        "requests": requests,
        "clips": "demo/examples/*.flac (RAVDESS, 3-4 s)",
        "startup_s": startup_s,
        "idle_rss_mb": idle_rss,
        "peak_rss_mb": poller.peak / 2**20,
        "first_request_s": latencies[0],
        "median_request_s_after_first": statistics.median(latencies[1:])
        if len(latencies) > 1
        else latencies[0],
        "command": f"SER_HF_MODEL=MODEL python demo/app.py --port {port}",
    }


# ----------------------------------------------------------------------------------------------
# machine, model, report
# ----------------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """CPU model, cores, RAM, load, the instruction set torch dispatches to, library versions."""
    import importlib.metadata as md

    import psutil
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {"python": platform.python_version()}
    for pkg in ("torch", "torchaudio", "transformers", "onnxruntime", "librosa", "gradio", "numpy"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()]
        if hasattr(os, "getloadavg")
        else None,
        "platform": platform.platform(),
        "versions": versions,
    }


def resolve_model(model: Path | None, work: Path, quick: bool) -> tuple[Path, str, bool]:
    """(folder, description, random_weights): the given model, else the bundled CNN-Transformer,
    else a random preset."""
    if model is not None:
        if not (Path(model) / "config.json").is_file():
            from ser_hf.errors import SERError

            raise SERError(
                "not a model folder (no config.json); pass a folder written by ser-hf train",
                source=str(model),
            )
        # absolute: the demo server of bench_demo runs in another working directory
        return Path(model).resolve(), str(model), False
    bundled = REPO / "ser_hf" / "bundled" / "model"
    if (bundled / "config.json").is_file() and not quick:
        # the CNN-Transformer alone: ONNX can export it (the default fusion's openSMILE front end
        # cannot run in ONNX); benchmarks/bench_functionals.py times the fusion against it
        return bundled, "bundled CNN-Transformer (ser_hf/bundled/model, 'cnn')", False
    import torch

    from ser_hf.training.presets import build_model

    torch.manual_seed(0)
    if quick:
        net, fe = build_model("seed-logmel-bilstm", LABELS8, feature_overrides=TINY_FEATURES, **TINY_MODEL)
    else:
        net, fe = build_model("seed-logmel-bilstm", LABELS8)
    folder = work / "model"
    net.save_pretrained(folder)
    fe.save_pretrained(folder)
    kind = "tiny " if quick else ""
    return (
        folder,
        f"{kind}seed-logmel-bilstm preset with RANDOM weights (no bundled model); speed is unaffected",
        True,
    )
