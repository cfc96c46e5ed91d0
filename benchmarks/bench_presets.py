"""Every preset in one table: parameters, MFLOPs per 3-s clip, latency and training samples/s.

Usage:
    python benchmarks/bench_presets.py [--runs 20] [--train-steps 3] [--threads 1] [--json out.json] [--quick]

All in this one process, ``torch.set_num_threads(threads)``, a freshly built model per preset (random
weights: speed does not depend on them), one 3-s speech-like clip:

- parameters: trainable parameters of the model;
- MFLOPs: the model's forward on that clip as counted by ``torch.utils.flop_counter`` (matrix
  products and convolutions; the log-mel front end, the same for all log-mel presets, is not counted);
- latency: p50 of feature extractor + forward on that clip (``runs`` runs after warm-up);
- training samples/s: forward + backward + Adam step on batches of 32 three-second clips, once with
  the features computed from the waveforms in every step (the default path) and once from cached
  raw features (``--feature_cache``: only normalisation per batch); the ratio of the two is the
  speed-up of the cache. The logistic-regression presets are fitted, not trained by steps: "-".

The ratios within this one run (latency vs the default preset, cached vs waveform training) are the
figures to compare; absolute numbers move with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ser_hf.inference.bundled import DEFAULT_PRESET  # noqa: E402
from ser_hf.inference.onnx_files import speechlike_clip  # noqa: E402
from ser_hf.training.presets import FAMILIES, PRESETS, build_model  # noqa: E402

SR = 16000
LABELS = ["neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised"]


def _mflops(model, feats, mask) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(input_features=feats, attention_mask=mask)
    return counter.get_total_flops() / 1e6


def _p50(fn, runs: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def _train_rate(model, extractor, waves, lengths, steps: int, cached: bool) -> float:
    from ser_hf.training.feature_cache import CachedFeatures

    labels = torch.randint(0, len(LABELS), (waves.shape[0],), generator=torch.Generator().manual_seed(0))
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()
    if cached:
        raw, mask = extractor.batch_features(waves, lengths, normalize=False, max_frames=None)
        frame_lengths, adapter = mask.sum(1), CachedFeatures(extractor)

    def step():
        if cached:
            feats, m = adapter.batch_features(raw, frame_lengths)
        else:
            feats, m = extractor.batch_features(waves, lengths)
        out = model(input_features=feats, attention_mask=m, labels=labels)
        out.loss.backward()
        opt.step()
        opt.zero_grad()

    step()  # warm-up
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * waves.shape[0] / (time.perf_counter() - t)


def run(runs: int = 20, warmup: int = 3, train_steps: int = 3, threads: int = 1, quick: bool = False) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    clip = speechlike_clip(3.0, seed=0)
    batch = 8 if quick else 32
    waves = torch.from_numpy(np.stack([speechlike_clip(3.0, seed=s) for s in range(batch)]))
    lengths = torch.full((batch,), waves.shape[1])
    rows = []
    for name, spec in PRESETS.items():
        if quick and name not in ("compact-small", DEFAULT_PRESET):
            continue
        row = {"preset": name, "family": spec["family"]}
        if spec["family"] not in FAMILIES:  # a logistic regression over one functionals vector
            from ser_hf.models.feature_extraction_functionals import clip_functionals, functionals_size

            functionals = spec["feature_extractor"]["functionals"]
            if "compare" in functionals:
                try:
                    import opensmile  # noqa: F401
                except ImportError:
                    continue
            size = functionals_size(functionals)
            heads = 2 if spec["config"].get("speaker_head") else 1  # the speaker head: a second linear layer
            row.update(
                parameters=heads * (size * len(LABELS) + len(LABELS)),
                mflops=heads * 2 * size * len(LABELS) / 1e6,
            )
            row["latency_ms"] = _p50(lambda f=functionals: clip_functionals(clip, f, SR), runs, warmup)
            row["train_samples_per_s"] = row["cached_train_samples_per_s"] = None
            rows.append(row)
            continue
        model, extractor = build_model(name, LABELS)
        model.eval()
        feats = extractor(clip, sampling_rate=SR, return_tensors="pt")
        row["parameters"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
        row["mflops"] = _mflops(model, feats["input_features"], feats["attention_mask"])

        def infer(m=model, e=extractor):
            with torch.inference_mode():
                f = e(clip, sampling_rate=SR, return_tensors="pt")
                m(input_features=f["input_features"], attention_mask=f["attention_mask"])

        row["latency_ms"] = _p50(infer, runs, warmup)
        row["train_samples_per_s"] = _train_rate(model, extractor, waves, lengths, train_steps, cached=False)
        row["cached_train_samples_per_s"] = _train_rate(
            model, extractor, waves, lengths, train_steps, cached=True
        )
        rows.append(row)
    default = next((r for r in rows if r["preset"] == DEFAULT_PRESET), None)
    for r in rows:
        r["latency_vs_default"] = r["latency_ms"] / default["latency_ms"] if default else None
        w, c = r["train_samples_per_s"], r["cached_train_samples_per_s"]
        r["cache_speedup"] = c / w if w and c else None
    return {"rows": rows, "threads": threads, "runs": runs, "train_steps": train_steps, "batch": batch,
            "markdown": markdown(rows, threads, batch)}  # fmt: skip


def _f(v, digits=1):
    return "-" if v is None else f"{v:,.{digits}f}"


def markdown(rows: list[dict], threads: int, batch: int) -> str:
    lines = [
        f"Every preset built fresh, one 3-s clip, {threads} thread(s); training on batches of {batch} "
        "three-second clips (forward + backward + Adam).",
        "",
        "| preset | family | parameters | model MFLOPs / 3-s clip | latency p50 (ms) | latency / the default preset's | "
        "train samples/s (waveforms) | train samples/s (cached features) | cache speed-up |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['preset']} | {r['family']} | {r['parameters']:,} | {_f(r['mflops'])} | {_f(r['latency_ms'], 2)} | "
            f"{_f(r['latency_vs_default'], 2)}x | {_f(r['train_samples_per_s'])} | "
            f"{_f(r['cached_train_samples_per_s'])} | {_f(r['cache_speedup'], 2)}x |"
        )
    return "\n".join(lines).replace("| -x |", "| - |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--train-steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="two presets, small batches (a smoke test)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    result = run(args.runs, args.warmup, args.train_steps, args.threads, args.quick)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    print(result["markdown"])


if __name__ == "__main__":
    main()
