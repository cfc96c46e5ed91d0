"""Latency of the default fusion and the functionals model vs the CNN-Transformer alone, one 3-s clip.

    python benchmarks/bench_functionals.py [--runs 20] [--threads 1] [--clip PATH]

The bundled models go through the stock ``pipeline("audio-classification")`` from a float array
at 16 kHz to probabilities; the paths are timed in turn, run after run (interleaved, so a busy
machine slows both alike). Also timed: the parts of the functionals front end (silence trimming +
our 1,681 functionals incl. YIN F0; openSMILE ComParE). Prints p50/p95 and each path's p50 time
as a multiple of the CNN pipeline's (>1 = slower).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--clip", default=None, help="audio file (first 3 s); default: a generated clip")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    from transformers import pipeline

    import ser_hf  # noqa: F401  (registers the model classes)
    from ser_hf.data.audio import load_audio
    from ser_hf.inference.bundled import BUNDLED_FUNCTIONALS_DIR, BUNDLED_FUSION_DIR, BUNDLED_MODEL_DIR
    from ser_hf.inference.onnx_files import speechlike_clip
    from ser_hf.models.feature_extraction_functionals import clip_functionals

    clip = (
        load_audio(args.clip)[: 3 * 16000] if args.clip else speechlike_clip(3.0, seed=0, sampling_rate=16000)
    )
    paths = {
        "cnn-transformer pipeline": pipeline(
            "audio-classification", model=str(BUNDLED_MODEL_DIR), device="cpu"
        ),
        "functionals pipeline": pipeline(
            "audio-classification", model=str(BUNDLED_FUNCTIONALS_DIR), device="cpu"
        ),
        "fusion pipeline (default)": pipeline(
            "audio-classification", model=str(BUNDLED_FUSION_DIR), device="cpu"
        ),
    }
    calls = {name: (lambda clf=clf: clf(clip.copy(), top_k=None)) for name, clf in paths.items()}
    calls["  ours functionals (trim + 1,681)"] = lambda: clip_functionals(clip, "ours")
    calls["  openSMILE ComParE (6,373)"] = lambda: clip_functionals(clip, "compare")
    times: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(args.warmup + args.runs):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            if i >= args.warmup:
                times[name].append((time.perf_counter() - start) * 1000)
    base = statistics.median(times["cnn-transformer pipeline"])
    print(f"one {clip.size / 16000:.1f}-s clip, {args.threads} thread(s), {args.runs} interleaved runs")
    print(f"{'path':36s} {'p50 ms':>8s} {'p95 ms':>8s} {'time vs CNN':>11s}")
    for name, values in times.items():
        p50, p95 = statistics.median(values), float(np.percentile(values, 95))
        print(f"{name:36s} {p50:8.1f} {p95:8.1f} {p50 / base:10.2f}x")


if __name__ == "__main__":
    main()
