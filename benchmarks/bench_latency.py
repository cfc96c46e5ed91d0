"""Inference latency: the stock pipeline vs the model called directly vs ONNX Runtime fp32 / int8.

Usage:
    python benchmarks/bench_latency.py [--model DIR] [--runs 50] [--threads 1 2] [--json out.json]
        [--clip PATH] [--batch-clips 32] [--batch-size 16]

Model: ``--model DIR``, else the bundled model (``ser_hf/bundled/model``) when it exists, else a
freshly built ``--preset`` (default ``seed-logmel-bilstm``) with RANDOM weights (the output says
so; speed does not depend on the weights). The model is exported to ONNX (fp32 and int8) into a
temporary folder with ``ser_hf.inference.onnx_export.export_onnx``, whose parity numbers are reported too.
A model that cannot be exported (a fusion, a functionals model: their features are computed in Python)
gets the PyTorch rows only, and the export's own reason for leaving the ONNX rows out.

Single clip (one 3-s clip, ``--clip`` or a generated speech-like one), end to end from a float
array at 16 kHz to probabilities, for each thread count (torch and ONNX Runtime both set to it):

- pipeline: ``transformers.pipeline("audio-classification")`` on the saved folder;
- model: ``SERFeatureExtractor`` + ``model(**features)`` (torch, ``inference_mode``);
- onnx fp32 / onnx int8: the same features + ``onnxruntime.InferenceSession.run``;
- and the network alone (precomputed features) for the model and both ONNX files.

Every path is warmed up, then the paths are timed in turn, run after run (interleaved, so a busy
shared machine slows all of them alike); p50 and p95 are reported, and the ratio of the
pipeline's p50 to each path's p50 (speed-up, measured in the same process). Batch throughput:
``--batch-clips`` clips of 2-4 s in batches of ``--batch-size`` (pipeline with ``batch_size``,
model and ONNX on padded batches), median of ``--batch-repeats`` passes, clips per second.

``run(...)`` returns the figures as a dict (the ``ser-hf bench`` command calls it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

SR = 16000
REPO = Path(__file__).resolve().parents[1]
# run from a checkout without installing the package
sys.path.insert(0, str(REPO))


def speechlike(seconds: float, seed: int) -> np.ndarray:
    from ser_hf.inference.onnx_files import speechlike_clip

    return speechlike_clip(seconds, seed=seed, sampling_rate=SR)


def _resolve_model(model_dir: str | os.PathLike | None, preset: str, workdir: Path) -> tuple[Path, str, bool]:
    """(folder, description, random_weights)."""
    if model_dir is not None:
        return Path(model_dir), str(model_dir), False
    bundled = REPO / "ser_hf" / "bundled" / "model"
    if (bundled / "config.json").is_file():
        return bundled, f"bundled model ({bundled.relative_to(REPO)})", False
    from ser_hf.training.presets import build_model

    torch.manual_seed(0)
    labels = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
    model, fe = build_model(preset, labels)
    folder = workdir / "model"
    model.save_pretrained(folder)
    fe.save_pretrained(folder)
    return folder, f"preset {preset} with RANDOM weights (no bundled model yet)", True


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def _time_interleaved(paths: dict[str, Callable[[], Any]], runs: int, warmup: int) -> dict[str, list[float]]:
    for fn in paths.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(runs):
        for name, fn in paths.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def run(
    model_dir: str | os.PathLike | None = None,
    threads: Sequence[int] = (1, 2),
    runs: int = 50,
    json_path: str | os.PathLike | None = None,
    *,
    clip_path: str | os.PathLike | None = None,
    seconds: float = 3.0,
    warmup: int = 5,
    batch_clips: int = 32,
    batch_size: int = 16,
    batch_repeats: int = 3,
    preset: str = "seed-logmel-bilstm",
) -> dict[str, Any]:
    """Measure every path; return (and optionally write as JSON) the figures.

    Returns:
        ``{"machine", "model", "random_weights", "export", "single": [rows], "batch": [rows],
        "markdown"}``; single rows: ``path``, ``threads``, ``p50_ms``, ``p95_ms``,
        ``speedup_vs_pipeline``; batch rows: ``path``, ``threads``, ``clips_per_s``,
        ``speedup_vs_pipeline``.
    """
    from transformers import AutoFeatureExtractor, AutoModelForAudioClassification, pipeline
    from transformers.utils import logging as hf_logging

    import ser_hf  # noqa: F401  (registers the Auto classes)
    from ser_hf.errors import SERError
    from ser_hf.inference.onnx_export import export_onnx
    from ser_hf.inference.onnx_runtime import make_session

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    workdir = Path(tempfile.mkdtemp(prefix="ser_bench_latency_"))
    folder, description, random_weights = _resolve_model(model_dir, preset, workdir)

    export: dict[str, Any] | None
    onnx_left_out: str | None = None
    try:
        export = export_onnx(folder, workdir / "model.onnx", quantize="int8")
    except SERError as exc:  # a fusion or functionals model: the PyTorch rows only, and why
        export, onnx_left_out = None, str(exc)
    export_summary: dict[str, Any] | None = None
    if export is not None:
        export_summary = {
            k: export[k] for k in ("fp32_max_abs_diff", "int8_max_abs_diff", "size_bytes", "int8_size_bytes")
        }
        export_summary["parity"] = export["parity"]

    fe = AutoFeatureExtractor.from_pretrained(folder)
    model = AutoModelForAudioClassification.from_pretrained(folder, use_safetensors=True).eval()
    pipe = pipeline("audio-classification", model=str(folder), device="cpu")
    if clip_path is not None:
        from ser_hf.data.audio import load_audio

        clip = load_audio(clip_path, SR)[: int(seconds * SR)]
    else:
        clip = speechlike(seconds, seed=0)
    rng = np.random.default_rng(1)
    batch = [speechlike(float(rng.uniform(2.0, 4.0)), seed=10 + i) for i in range(batch_clips)]
    feats1 = fe(clip, sampling_rate=SR, return_tensors="pt")
    feats1_np = {k: v.numpy() for k, v in feats1.items()}

    def model_e2e() -> np.ndarray:
        with torch.inference_mode():
            inputs = fe(clip, sampling_rate=SR, return_tensors="pt")
            return torch.softmax(model(**inputs).logits, -1).numpy()

    def model_net() -> Any:
        with torch.inference_mode():
            return model(**feats1).logits

    def ort_e2e(session: Any) -> Callable[[], Any]:
        def fn() -> Any:
            inputs = fe(clip, sampling_rate=SR, return_tensors="np")
            return session.run(["probabilities"], dict(inputs))[0]

        return fn

    def ort_net(session: Any) -> Callable[[], Any]:
        return lambda: session.run(["probabilities"], feats1_np)[0]

    def model_batches() -> None:
        with torch.inference_mode():
            for k in range(0, len(batch), batch_size):
                model(**fe(batch[k : k + batch_size], sampling_rate=SR, return_tensors="pt"))

    def ort_batches(session: Any) -> Callable[[], None]:
        def fn() -> None:
            for k in range(0, len(batch), batch_size):
                session.run(
                    ["probabilities"],
                    dict(fe(batch[k : k + batch_size], sampling_rate=SR, return_tensors="np")),
                )

        return fn

    single: list[dict[str, Any]] = []
    batched: list[dict[str, Any]] = []
    torch_threads = torch.get_num_threads()
    try:
        for t in threads:
            torch.set_num_threads(int(t))
            sessions = {}
            if export is not None:  # else the PyTorch rows only
                sessions = {
                    "fp32": make_session(export["path"], threads=int(t)),
                    "int8": make_session(export["int8_path"], threads=int(t)),
                }
            paths = {
                "pipeline (stock, end to end)": lambda: pipe(clip.copy()),
                "model: extractor + forward": model_e2e,
                **{f"ONNX Runtime {tag}: extractor + run": ort_e2e(ses) for tag, ses in sessions.items()},
                "model forward only": model_net,
                **{f"ONNX Runtime {tag} run only": ort_net(ses) for tag, ses in sessions.items()},
            }
            times = _time_interleaved(paths, runs, warmup)
            base = statistics.median(times["pipeline (stock, end to end)"])
            for name, values in times.items():
                p50 = statistics.median(values)
                single.append(
                    {
                        "path": name,
                        "threads": int(t),
                        "p50_ms": round(1000 * p50, 3),
                        "p95_ms": round(1000 * _percentile(values, 95), 3),
                        "speedup_vs_pipeline": round(base / p50, 2),
                    }
                )
            bpaths = {
                f"pipeline (batch_size={batch_size})": lambda: pipe(
                    [c.copy() for c in batch], batch_size=batch_size
                ),
                "model": model_batches,
                **{f"ONNX Runtime {tag}": ort_batches(session) for tag, session in sessions.items()},
            }
            btimes = _time_interleaved(bpaths, batch_repeats, 1)
            bbase = statistics.median(btimes[f"pipeline (batch_size={batch_size})"])
            for name, values in btimes.items():
                med = statistics.median(values)
                batched.append(
                    {
                        "path": name,
                        "threads": int(t),
                        "clips_per_s": round(len(batch) / med, 1),
                        "speedup_vs_pipeline": round(bbase / med, 2),
                    }
                )
    finally:
        torch.set_num_threads(torch_threads)
        shutil.rmtree(workdir, ignore_errors=True)

    import onnxruntime
    import transformers

    result: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__,
            "transformers": transformers.__version__,
        },
        "model": description,
        "model_type": model.config.model_type,
        "random_weights": random_weights,
        "clip": str(clip_path) if clip_path else f"generated speech-like clip, {seconds:g} s at {SR} Hz",
        "runs": runs,
        "warmup": warmup,
        "batch": {"clips": batch_clips, "batch_size": batch_size, "repeats": batch_repeats, "seconds": "2-4"},
        "export": export_summary,
        "onnx_left_out": onnx_left_out,
        "single": single,
        "batch_throughput": batched,
    }
    result["markdown"] = to_markdown(result)
    if json_path is not None:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(result, indent=2))
    return result


def to_markdown(result: dict[str, Any]) -> str:
    """The figures of :func:`run` as markdown tables."""
    lines = [
        f"Model: {result['model']} ({result['model_type']}); clip: {result['clip']}; "
        f"{result['runs']} timed runs after {result['warmup']} warm-up runs, paths interleaved.",
        f"Machine: {result['machine']['cpu_count']} CPUs, load average at start "
        f"{', '.join(f'{v:.1f}' for v in result['machine']['load_average_at_start'] or [])}; "
        f"torch {result['machine']['torch']}, onnxruntime {result['machine']['onnxruntime']}.",
    ]
    if result["random_weights"]:
        lines.append("NOTE: random weights (no trained model given or bundled); speed is unaffected.")
    exp = result["export"]
    if exp is None:
        lines += ["", f"No ONNX rows: the model cannot be exported ({result.get('onnx_left_out')})."]
    else:
        lines += [
            "",
            f"ONNX parity vs PyTorch (max abs diff of probabilities): fp32 {exp['fp32_max_abs_diff']:.1e}, "
            f"int8 {exp['int8_max_abs_diff']:.1e}; sizes fp32 {exp['size_bytes'] / 1e6:.2f} MB, "
            f"int8 {exp['int8_size_bytes'] / 1e6:.2f} MB.",
        ]
    lines += [
        "",
        "| one 3-s clip | threads | p50 ms | p95 ms | speed-up vs pipeline (p50) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for row in result["single"]:
        lines.append(
            f"| {row['path']} | {row['threads']} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | "
            f"{row['speedup_vs_pipeline']:.2f}x |"
        )
    b = result["batch"]
    lines += [
        "",
        f"| batch throughput ({b['clips']} clips of {b['seconds']} s, batches of {b['batch_size']}) | threads "
        "| clips/s | speed-up vs pipeline |",
        "| --- | ---: | ---: | ---: |",
    ]
    for row in result["batch_throughput"]:
        lines.append(
            f"| {row['path']} | {row['threads']} | {row['clips_per_s']:.1f} | {row['speedup_vs_pipeline']:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="model folder (default: bundled, else a random preset)")
    p.add_argument("--preset", default="seed-logmel-bilstm", help="preset when no model is given or bundled")
    p.add_argument("--runs", type=int, default=50, help="timed runs per path and thread count")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--clip", default=None, help="audio file for the single-clip figures (first 3 s)")
    p.add_argument("--batch-clips", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--batch-repeats", type=int, default=3)
    p.add_argument("--json", default=None, metavar="FILE", help="write the figures as JSON")
    args = p.parse_args(argv)
    result = run(
        args.model,
        threads=args.threads,
        runs=args.runs,
        json_path=args.json,
        clip_path=args.clip,
        warmup=args.warmup,
        batch_clips=args.batch_clips,
        batch_size=args.batch_size,
        batch_repeats=args.batch_repeats,
        preset=args.preset,
    )
    print(result["markdown"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
