"""``ser-hf bench``: every speed and memory figure of the project in one command.

Each comparison runs in its own Python process (so one benchmark's caches, threads and allocator
state cannot flatter or penalise the next), and each reports RATIOS measured inside that one
process: absolute seconds are not comparable across runs on shared, noisy machines
(``/work/shared/docs/benchmark-protocol.md``). The parts:

- ``features``: this project's extractor vs librosa per file vs transformers' ``ASTFeatureExtractor``
  (``benchmarks/bench_features.py``);
- ``augment``: the batched waveform augmenter vs a per-clip librosa chain (``benchmarks/bench_augment.py``);
- ``latency``: one 3-s clip through the stock pipeline, the model and ONNX Runtime fp32/int8, 1 and 2
  threads, p50/p95, and batch throughput (``benchmarks/bench_latency.py``);
- ``training``: one RAVDESS fold end to end on CPU (decode, features, augmentation, one epoch, eval):
  wall time, Trainer's samples/s and the peak RSS of the training process;
- ``demo``: peak RSS of ``python demo/app.py`` serving ~10 ``/classify`` requests, and their latency.

It writes ``<out>/bench.json`` (every figure) and ``<out>/BENCH.md`` (machine, tables, command, date).

    ser-hf bench [--data-dir data/ravdess] [--model DIR] [--out benchmarks/] [--quick] [--skip demo ...]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import logging
import math
import os
import platform
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "benchmarks"
PARTS = ("features", "augment", "latency", "training", "demo")
SR = 16000
LABELS8 = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
# a tiny network for --quick: the test measures that the machinery works, not the real model's speed
TINY_MODEL = {"conv_channels": [4, 8], "lstm_hidden_size": 8, "attention_hidden_size": 8}
TINY_FEATURES = {"n_mels": 32, "max_frames": None}


# ----------------------------------------------------------------------------------------------
# running one part in its own process, with its peak memory
# ----------------------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1", GRADIO_ANALYTICS_ENABLED="False")
    # the children import ser_hf from this checkout even when it is not installed
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


def _tree_rss(proc: Any) -> int:
    """Resident bytes of a psutil process and all its descendants (0 once it is gone)."""
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


class RSSPoller:
    """Samples the resident memory of a process tree every ``interval`` s in a thread; ``peak`` in bytes."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss(self.proc))
            self._stop.wait(self.interval)

    def __enter__(self) -> RSSPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_measured(cmd: list[str], timeout: float, cwd: Path | None = None) -> dict[str, Any]:
    """Run ``cmd``; return its exit code, output, wall seconds and the peak RSS of its process tree."""
    logger.info("running %s", shlex.join(cmd))
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            cmd, cwd=cwd or REPO, env=_env(), stdout=log, stderr=subprocess.STDOUT, text=True
        )
        with RSSPoller(proc.pid) as poller:
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
                log.write(f"\n[bench] killed after {timeout:.0f} s\n")
        wall = time.perf_counter() - start
        log.seek(0)
        output = log.read()
    return {"rc": rc, "output": output, "wall_s": wall, "peak_rss_mb": poller.peak / 2**20}


def _python_script(script: str, *args: str) -> list[str]:
    return [sys.executable, str(BENCH_DIR / script), *args]


def _check(part: str, res: dict[str, Any]) -> None:
    if res["rc"] != 0:
        raise RuntimeError(f"{part} benchmark failed (exit {res['rc']}):\n{res['output'][-3000:]}")


# ----------------------------------------------------------------------------------------------
# the parts
# ----------------------------------------------------------------------------------------------


def bench_features(work: Path, data_dir: Path | None, quick: bool) -> dict[str, Any]:
    out = work / "features.json"
    args = ["--json", str(out), "--n-clips", "8" if quick else "64", "--runs", "2" if quick else "5"]
    if data_dir:
        args += ["--data-dir", str(data_dir)]
    res = run_measured(_python_script("bench_features.py", *args), timeout=600)
    _check("features", res)
    result = json.loads(out.read_text())
    result["peak_rss_mb"] = res["peak_rss_mb"]
    result["command"] = shlex.join(["python", "benchmarks/bench_features.py", *args[2:]])
    return result


def bench_augment(work: Path, data_dir: Path | None, quick: bool) -> dict[str, Any]:
    out = work / "augment.json"
    args = ["--json", str(out), "--n-clips", "8" if quick else "64", "--runs", "1" if quick else "3"]
    if quick:
        args += ["--warmup", "0"]
    if data_dir:
        args += ["--data-dir", str(data_dir)]
    res = run_measured(_python_script("bench_augment.py", *args), timeout=600)
    _check("augment", res)
    result = json.loads(out.read_text())
    result["peak_rss_mb"] = res["peak_rss_mb"]
    result["command"] = shlex.join(["python", "benchmarks/bench_augment.py", *args[2:]])
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


def make_ravdess_tree(root: Path, actors: int = 24, takes: int = 2, seconds: float = 3.0) -> Path:
    """A generated tree named like RAVDESS (``Actor_NN/03-01-EE-01-SS-RR-NN.wav``), 8 emotions per actor.

    The clips are speech-like (harmonics of a wobbling F0 whose height depends on the emotion),
    so a training run has something to learn; only the timing matters here.
    """
    import numpy as np
    import soundfile as sf

    from ser_hf.onnx_export import speechlike_clip

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
        json.loads((output_dir / "test_metrics.json").read_text())
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
    """CPU model, cores, RAM, load, library versions."""
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

    from ser_hf.presets import build_model

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


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def to_markdown(report: dict[str, Any]) -> str:
    """BENCH.md: machine, then one section per comparison with its ratios and exact command."""
    m = report["machine"]
    v = m["versions"]
    lines = [
        "# ser_hf benchmarks",
        "",
        f"Generated by `{report['command']}` on {report['date']} (total {report['total_wall_s']:.0f} s"
        f"{', QUICK mode: tiny inputs, not representative' if report['quick'] else ''}).",
        "Every comparison ran in its own process; ratios are taken inside one process, medians after",
        "warm-up (`/work/shared/docs/benchmark-protocol.md`). Absolute seconds vary with machine load:",
        "compare ratios, not seconds across runs. All figures are also in `bench.json`.",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['logical_cores']} logical cores ({m['physical_cores']} physical), "
        f"{m['ram_gb']} GiB RAM; torch threads {m['torch_threads']}; load average at start "
        f"{', '.join(str(x) for x in m['load_average_at_start'] or [])}",
        f"- {m['platform']}; " + ", ".join(f"{k} {val}" for k, val in v.items() if val),
        f"- Model: {report['model']}",
        "- No GPU was used. GPU figures (H100) measured by the lead are in `benchmarks/RESULTS.md`.",
        "",
    ]
    load = (m["load_average_at_start"] or [0])[0]
    if load > (m["logical_cores"] or 1) * 0.5:
        lines += [
            f"**Shared machine:** load average {load:.1f} on {m['logical_cores']} cores when the bench started. "
            "Single-thread ratios hold up; figures using every core (the 2-thread latency rows, "
            "training samples/s) are slowed by the other processes and understate this code.",
            "",
        ]
    parts = report["parts"]
    for name in PARTS:
        if name in report.get("skipped", []):
            lines += [f"## {name}", "", "skipped (`--skip`).", ""]
            continue
        part = parts.get(name)
        if part is None:
            continue
        if "error" in part:
            lines += [f"## {name}", "", f"FAILED: `{part['error'][:500]}`", ""]
            continue
        lines += _section(name, part)
    return "\n".join(lines).rstrip() + "\n"


def _section(name: str, p: dict[str, Any]) -> list[str]:
    if name == "features":
        c = p["clips_per_s"]
        lines = [
            "## Feature extraction (ours vs librosa per file vs ASTFeatureExtractor)",
            "",
            f"{p['n_clips']} clips of {p['mean_clip_seconds']:.2f} s mean ({p['source']}), median of {p['runs']} "
            f"runs, torch threads {p['torch_threads']}, AST via {p['ast_backend']}.",
            "",
            "| extractor | clips/s | ours log-mel is ... x faster | ours MFCC+deltas is ... x faster |",
            "| --- | ---: | ---: | ---: |",
            f"| ours log-mel (128 mels) | {c['ours_logmel']:.1f} | | |",
            f"| ours MFCC + deltas + RMS + ZCR | {c['ours_mfcc_deltas']:.1f} | | |",
            f"| librosa per file (mel + dB) | {c['librosa']:.1f} | {p['ratios']['ours_logmel/librosa']:.2f}x | "
            f"{p['ratios']['ours_mfcc_deltas/librosa']:.2f}x |",
            f"| transformers ASTFeatureExtractor | {c['ast']:.1f} | {p['ratios']['ours_logmel/ast']:.2f}x | "
            f"{p['ratios']['ours_mfcc_deltas/ast']:.2f}x |",
        ]
    elif name == "augment":
        lines = [
            "## Augmentation (batched augmenter vs per-clip librosa)",
            "",
            f"{p['clips']} clips of {p['mean_seconds']:.2f} s, batches of {p['batch_size']}, {p['torch_threads']} "
            f"torch thread(s), median of {p['runs']} runs; pitch + stretch + reverb + shift + gain + polarity + noise.",
            "",
            "| path | clips/s |",
            "| --- | ---: |",
            f"| batched WaveformAugmenter ({p['device']}) | {p['batched_clips_per_s']:.1f} |",
            f"| per-clip librosa chain | {p['librosa_clips_per_s']:.1f} |",
            "",
            f"**Ratio batched / librosa: {p['ratio']:.2f}x.**",
        ]
    elif name == "latency":
        lines = ["## Inference latency (pipeline vs model vs ONNX Runtime fp32 / int8)", "", p["markdown"]]
    elif name == "training":
        lines = [
            "## Training: one RAVDESS fold end to end on CPU",
            "",
            f"Data: {p['data']} ({p['audio_files']} files); fold 0 (test actors 1-4), {p['epochs']} epoch(s), "
            "preset seed-logmel-bilstm, light augmentation; wall time covers decoding, features, "
            "augmentation, training and evaluation, in a fresh process.",
            "",
            "| figure | value |",
            "| --- | ---: |",
            f"| fold wall time (s) | {_fmt(p['fold_wall_s'], 1)} |",
            f"| Trainer train_runtime (s) | {_fmt(p['train_runtime_s'], 1)} |",
            f"| training share of the fold's wall time | {_fmt(p['train_share_of_wall'])} |",
            f"| training samples/s (Trainer) | {_fmt(p['train_samples_per_second'], 1)} |",
            f"| peak RSS of the training process tree (MiB) | {_fmt(p['peak_rss_mb'], 0)} |",
            f"| test WA / UA after {p['epochs']} epoch(s) (not an accuracy result) | "
            f"{_fmt(p['test_wa'], 3)} / {_fmt(p['test_ua'], 3)} |",
        ]
    elif name == "demo":
        lines = [
            "## Demo server memory",
            "",
            f"`python demo/app.py` serving {p['requests']} sequential `/classify` requests (gradio_client, "
            f"{p['clips']}); RSS of the server's process tree polled every 0.1 s.",
            "",
            "| figure | value |",
            "| --- | ---: |",
            f"| start-up to first page (s) | {_fmt(p['startup_s'], 1)} |",
            f"| RSS after start-up (MiB) | {_fmt(p['idle_rss_mb'], 0)} |",
            f"| peak RSS (MiB) | {_fmt(p['peak_rss_mb'], 0)} |",
            f"| peak / after start-up | {_fmt(p['peak_rss_mb'] / p['idle_rss_mb'] if p['idle_rss_mb'] else None)} |",
            f"| first request (s) | {_fmt(p['first_request_s'], 3)} |",
            f"| median later request (s) | {_fmt(p['median_request_s_after_first'], 3)} |",
        ]
    else:  # pragma: no cover
        lines = [f"## {name}", "", "```", json.dumps(p, indent=2), "```"]
    lines += ["", f"Command: `{p['command']}`; peak RSS of its process {p['peak_rss_mb']:.0f} MiB.", ""]
    return lines


def run_all(
    out: Path,
    *,
    data_dir: Path | None = None,
    model: Path | None = None,
    quick: bool = False,
    skip: tuple[str, ...] = (),
    command: str = "ser-hf bench",
) -> dict[str, Any]:
    """Run every part not in ``skip``; write ``out/bench.json`` and ``out/BENCH.md``; return the report.

    A part that fails is recorded with its error (and the others still run).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    report: dict[str, Any] = {
        "command": command,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": quick,
        "machine": machine_info(),
        "skipped": [p for p in PARTS if p in skip],
        "parts": {},
    }
    with tempfile.TemporaryDirectory(prefix="ser_bench_") as tmp:
        work = Path(tmp)
        model_dir, report["model"], report["random_weights"] = resolve_model(model, work, quick)
        jobs = {
            "features": lambda: bench_features(work, data_dir, quick),
            "augment": lambda: bench_augment(work, data_dir, quick),
            "latency": lambda: bench_latency(work, model_dir, quick),
            "training": lambda: bench_training(work, data_dir, quick),
            "demo": lambda: bench_demo(work, model_dir, quick),
        }
        for name, job in jobs.items():
            if name in skip:
                continue
            t0 = time.perf_counter()
            try:
                report["parts"][name] = job()
            except Exception as exc:  # one broken part must not lose the others' figures
                logger.exception("%s benchmark failed", name)
                report["parts"][name] = {"error": f"{type(exc).__name__}: {exc}"}
            report["parts"][name]["part_wall_s"] = time.perf_counter() - t0
            logger.info("%s done in %.0f s", name, report["parts"][name]["part_wall_s"])
    report["total_wall_s"] = time.perf_counter() - start
    report["ratios"] = summary_ratios(report)
    (out / "bench.json").write_text(json.dumps(report, indent=2, default=_json_default) + "\n")
    (out / "BENCH.md").write_text(to_markdown(report))
    return report


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def summary_ratios(report: dict[str, Any]) -> dict[str, float]:
    """The headline ratios, flat: ``{"features ours_logmel/librosa": 3.1, ...}``."""
    parts = report["parts"]
    ratios: dict[str, float] = {}
    feats = parts.get("features", {})
    for key, value in feats.get("ratios", {}).items():
        ratios[f"features {key}"] = value
    if "ratio" in parts.get("augment", {}):
        ratios["augment batched/librosa"] = parts["augment"]["ratio"]
    for row in parts.get("latency", {}).get("single", []):
        ratios[f"latency speedup vs pipeline: {row['path']} ({row['threads']} thr)"] = row[
            "speedup_vs_pipeline"
        ]
    for row in parts.get("latency", {}).get("batch_throughput", []):
        ratios[f"batch throughput speedup vs pipeline: {row['path']} ({row['threads']} thr)"] = row[
            "speedup_vs_pipeline"
        ]
    train = parts.get("training", {})
    if train.get("train_share_of_wall") is not None:
        ratios["training train_runtime/fold wall"] = train["train_share_of_wall"]
    demo = parts.get("demo", {})
    if demo.get("idle_rss_mb"):
        ratios["demo peak RSS/idle RSS"] = demo["peak_rss_mb"] / demo["idle_rss_mb"]
    return {k: v for k, v in ratios.items() if isinstance(v, (int, float)) and math.isfinite(v)}


def cli(argv: list[str] | None = None) -> int:
    """``ser-hf bench``: run the benchmarks, print the ratios, write BENCH.md and bench.json."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="ser-hf bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir", type=Path, help="a RAVDESS folder (Actor_NN/...); default: generated clips"
    )
    parser.add_argument("--model", type=Path, help="model folder for latency and demo (default: bundled)")
    parser.add_argument("--out", type=Path, default=BENCH_DIR, help="where BENCH.md and bench.json go")
    parser.add_argument(
        "--quick", action="store_true", help="few runs, tiny inputs (a smoke test, not figures)"
    )
    parser.add_argument(
        "--skip", nargs="+", default=[], choices=PARTS, metavar="PART", help=f"parts to skip: {PARTS}"
    )
    args = parser.parse_args(argv)
    if args.data_dir is not None and not args.data_dir.is_dir():
        print(f"error: --data-dir {args.data_dir} is not a folder", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per gradio_client request otherwise
    report = run_all(
        args.out,
        data_dir=args.data_dir,
        model=args.model,
        quick=args.quick,
        skip=tuple(args.skip),
        command=shlex.join(["ser-hf", "bench", *argv]),
    )
    for name, value in report["ratios"].items():
        print(f"  {name:80s} {value:8.2f}x")
    failed = [n for n, p in report["parts"].items() if "error" in p]
    print(f"wrote {args.out / 'BENCH.md'} and {args.out / 'bench.json'} in {report['total_wall_s']:.0f} s")
    if failed:
        print(f"FAILED parts: {', '.join(failed)} (see BENCH.md)", file=sys.stderr)
        return 1
    return 0
