"""The default model through ONNX Runtime: does it give the package's answers, and how fast is it?

Usage:
    python benchmarks/bench_onnx_default.py [--data-dir DATA/ravdess] [--runs 30] [--warmup 5] [--threads 1]
        [--json out.json]

The bundled default is exported (``export_onnx``: fp32, and ONNX Runtime's dynamic int8 per channel)
into a temporary folder. Agreement: every audio file under ``--data-dir`` (e.g. RAVDESS's 1,440
clips; without it the eight example clips) classified by the package (``EmotionClassifier``, the
encoder in PyTorch's int8) and by ``OnnxEmotionClassifier`` on each file: the share of clips with the
same top label, and the max and mean absolute difference of the probabilities. Latency: one 3-s clip
(the first example clip's first 3 s, as ``bench_default.py``) through the stock pipeline,
``EmotionClassifier.classify`` and ``OnnxEmotionClassifier.classify`` (fp32, int8), all in this one
process with ``--threads`` threads for torch and ONNX Runtime, interleaved run after run in a new
random order; p50 / p95 and the pipeline's p50 over each path's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

import ser_hf  # noqa: E402,F401
from ser_hf.data.audio import load_audio  # noqa: E402
from ser_hf.inference.bundled import DEFAULT_PRESET, bundled_model_path  # noqa: E402

SR = 16000
AUDIO = (".wav", ".flac", ".mp3", ".ogg")


def _probs(clf, clip) -> np.ndarray:
    scores = {s["label"]: s["score"] for s in clf.classify(clip, top_k=None)}
    return np.array([scores[label] for label in clf.labels])


def run(data_dir: Path | None, runs: int, warmup: int, threads: int) -> dict:
    from transformers import pipeline

    from ser_hf import EmotionClassifier
    from ser_hf.inference.onnx_classifier import OnnxEmotionClassifier
    from ser_hf.inference.onnx_export import export_onnx

    torch.set_num_threads(threads)
    examples = sorted((REPO / "demo" / "examples").glob("*.flac"))
    files = sorted(p for p in data_dir.rglob("*") if p.suffix.lower() in AUDIO) if data_dir else examples
    with tempfile.TemporaryDirectory() as tmp:
        exported = export_onnx(bundled_model_path("default"), Path(tmp) / "default.onnx", quantize="int8")
        package = EmotionClassifier()
        onnx = {
            "fp32": OnnxEmotionClassifier(exported["path"], threads=threads),
            "int8": OnnxEmotionClassifier(exported["int8_path"], threads=threads),
        }
        agreement = {tag: {"same_top1": 0, "max_abs": 0.0, "sum_abs": 0.0} for tag in onnx}
        for path in files:
            clip = load_audio(str(path), SR)
            ref = _probs(package, clip)
            for tag, clf in onnx.items():
                got, row = _probs(clf, clip), agreement[tag]
                row["same_top1"] += int(got.argmax() == ref.argmax())
                row["max_abs"] = max(row["max_abs"], float(np.abs(got - ref).max()))
                row["sum_abs"] += float(np.abs(got - ref).mean())
        for row in agreement.values():
            row["top1_agreement"] = row["same_top1"] / len(files)
            row["mean_abs"] = row.pop("sum_abs") / len(files)

        clip = load_audio(str(examples[0]), SR)[: 3 * SR]
        pipe = pipeline("audio-classification", model=str(bundled_model_path("default")), device="cpu")
        paths = {
            "stock pipeline (PyTorch, int8 encoder)": lambda: pipe(clip),
            "EmotionClassifier.classify (PyTorch, int8 encoder)": lambda: package.classify(clip),
            "OnnxEmotionClassifier.classify, fp32": lambda: onnx["fp32"].classify(clip),
            "OnnxEmotionClassifier.classify, int8": lambda: onnx["int8"].classify(clip),
        }
        for call in paths.values():
            for _ in range(warmup):
                call()
        times: dict[str, list[float]] = {name: [] for name in paths}
        order = np.random.default_rng(0)
        for _ in range(runs):
            for name in order.permutation(list(paths)):
                t = time.perf_counter()
                paths[name]()
                times[name].append((time.perf_counter() - t) * 1e3)
    base = statistics.median(times["stock pipeline (PyTorch, int8 encoder)"])
    latency = {
        name: {
            "p50_ms": statistics.median(ms),
            "p95_ms": float(np.percentile(ms, 95)),
            "pipeline_over_this": base / statistics.median(ms),
        }
        for name, ms in times.items()
    }
    return {
        "model": DEFAULT_PRESET,
        "files": len(files),
        "data": str(data_dir) if data_dir else "demo/examples",
        "threads": threads,
        "runs": runs,
        "sizes_mb": {"fp32": exported["size_bytes"] / 1e6, "int8": exported["int8_size_bytes"] / 1e6},
        "parity_fp32_vs_float32_graph": exported["fp32_max_abs_diff"],
        "agreement": agreement,
        "latency": latency,
    }


def markdown(r: dict) -> str:
    lines = [
        f"The default (`{r['model']}`) exported with `ser-hf export --model default --quantize int8` "
        f"(fp32 {r['sizes_mb']['fp32']:.1f} MB, int8 {r['sizes_mb']['int8']:.1f} MB; fp32 within "
        f"{r['parity_fp32_vs_float32_graph']:.1e} of PyTorch on the same float32 graph).",
        "",
        f"Against the package's own answers (the encoder in PyTorch's int8) on {r['files']} clips of "
        f"{r['data']}:",
        "",
        "| ONNX file | same top label | max abs difference of probabilities | mean abs difference |",
        "| --- | ---: | ---: | ---: |",
    ]
    for tag, row in r["agreement"].items():
        lines.append(
            f"| {tag} | {row['top1_agreement']:.2%} ({row['same_top1']}) | {row['max_abs']:.3f} "
            f"| {row['mean_abs']:.4f} |"
        )
    lines += [
        "",
        f"One 3-s clip, {r['threads']} thread(s), {r['runs']} interleaved runs after warm-up, one process:",
        "",
        "| path | p50 (ms) | p95 (ms) | the pipeline's p50 / this p50 |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, row in r["latency"].items():
        lines.append(
            f"| {name} | {row['p50_ms']:.2f} | {row['p95_ms']:.2f} | {row['pipeline_over_this']:.2f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    result = run(args.data_dir, args.runs, args.warmup, args.threads)
    result["markdown"] = markdown(result)
    print(result["markdown"])
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
