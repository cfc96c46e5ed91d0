"""Latency of the bundled models through the stock pipeline beside a wav2vec2-base peer.

Usage:
    python benchmarks/bench_default.py [--runs 30] [--warmup 5] [--threads 1] [--json out.json] [--model DIR ...]
        [--batch-clips 32] [--batch-size 16] [--batch-repeats 3]

One 3-s clip (the first example clip in ``demo/examples``, decoded once, as a float array at
16 kHz), ``pipeline("audio-classification")`` on each model, all in this one process with
``torch.set_num_threads(threads)``; the models are timed in turn, run after run, in a new random order each run (interleaved, so
a busy machine slows all alike, and no model always runs right after another). The peer is ``Wav2Vec2ForSequenceClassification`` with the
wav2vec2-base architecture (``Wav2Vec2Config()`` defaults, 7 labels) and RANDOM weights (nothing
can be downloaded here; speed does not depend on the weights): the architecture of the most used
Hub SER models. Reported: p50 / p95 per model and the ratio of the peer's p50 to each p50.
``--model DIR`` (repeatable) times a trained model folder too, e.g. a ``ser-hf cv`` fold.
The bundled ``voice-encoder-2-voices`` (the speaker encoder's LSTM) is timed twice: as it runs
here (its runtime is named) and with ``SER_HF_ENCODER_RUNTIME=torch`` (torch's LSTM). With ``SER_HF_ENCODER_DTYPE=float32`` in the
environment this compares the two float32 runtimes on CPUs with native bfloat16 too. The kernels
torch dispatches to (``torch.backends.cpu.get_cpu_capability()``, and FBGEMM's instruction set for the
int8 layers) are named: ``ser-hf bench`` runs this script once as the machine allows and once limited
to AVX2 kernels (``FBGEMM_ENABLE_INSTRUCTIONS=AVX2 ATEN_CPU_CAPABILITY=avx2``), as on a CPU without
AVX-512.

Batch throughput (``--batch-clips`` > 0): that many clips of 2-4 s (the example clips cut to 2,
2.5, ... 4 s in turn) through the default four ways, in a new random order each of
``--batch-repeats`` passes, the median pass in clips per second: the pipeline one clip at a time,
the pipeline with ``batch_size`` (which still runs the extractor clip by clip),
``EmotionClassifier.classify_batch`` (whose extractor runs the encoder once over all the batch's
1.6-s windows), and the peer's pipeline with ``batch_size``. Ratios are to the default's pipeline
one clip at a time, in the same process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

import ser_hf  # noqa: E402,F401  (registers the model types)
from ser_hf.data.audio import load_audio  # noqa: E402
from ser_hf.inference.bundled import BUNDLED_ALIASES, DEFAULT_PRESET  # noqa: E402
from ser_hf.models.voice_encoder import shared_encoder  # noqa: E402

LSTM_MODEL = "voice-encoder-2-voices"  # the bundled model on the speaker encoder's LSTM
TORCH_ROW = f"bundled {LSTM_MODEL}, SER_HF_ENCODER_RUNTIME=torch"

SR = 16000
PEER = "wav2vec2-base peer (random weights)"


def _peer(folder: Path) -> Path:
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification

    labels = ["neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
    config = Wav2Vec2Config(num_labels=len(labels), id2label=dict(enumerate(labels)))
    torch.manual_seed(0)
    Wav2Vec2ForSequenceClassification(config).eval().save_pretrained(folder)
    Wav2Vec2FeatureExtractor(return_attention_mask=True).save_pretrained(folder)
    return folder


def run(
    runs: int = 30,
    warmup: int = 5,
    threads: int = 1,
    extra: tuple[str, ...] = (),
    batch_clips: int = 32,
    batch_size: int = 16,
    batch_repeats: int = 3,
) -> dict:
    from transformers import pipeline

    torch.set_num_threads(threads)
    clip_path = sorted((REPO / "demo" / "examples").glob("*.flac"))[0]
    clip = load_audio(str(clip_path), SR)[: 3 * SR]
    models: dict[str, str] = {}
    for name in ("default", LSTM_MODEL, "speech-stats-pitch", "speech-stats", "cnn", "functionals", "fusion"):
        try:
            folder = BUNDLED_ALIASES[name]
        except KeyError:
            continue
        if name != "default" and folder == BUNDLED_ALIASES["default"]:
            continue  # the default under another name
        if name in ("functionals", "fusion"):
            try:
                import opensmile  # noqa: F401
            except ImportError:
                continue  # the openSMILE models need the [opensmile] extra
        models[f"bundled {name}"] = str(folder)
    models.update({folder: str(folder) for folder in extra})
    with tempfile.TemporaryDirectory() as tmp:
        models[PEER] = str(_peer(Path(tmp) / "peer"))
        pipes = {
            name: pipeline("audio-classification", model=path, device="cpu") for name, path in models.items()
        }
        pipes[TORCH_ROW] = pipes.get(f"bundled {LSTM_MODEL}", pipes["bundled default"])
        for name, pipe in pipes.items():
            for _ in range(warmup):
                _timed(pipe, clip, name == TORCH_ROW)
        times: dict[str, list[float]] = {name: [] for name in pipes}
        order = np.random.default_rng(0)
        for _ in range(runs):  # a new order each run: no model always follows the peer's 300 ms
            for name in order.permutation(list(pipes)):
                times[name].append(_timed(pipes[name], clip, name == TORCH_ROW))
        batch = _throughput(pipes, batch_clips, batch_size, batch_repeats) if batch_clips > 0 else None
    rows = {}
    for name, ms in times.items():
        rows[name] = {"p50_ms": statistics.median(ms), "p95_ms": float(np.percentile(ms, 95))}
    peer = rows[PEER]["p50_ms"]
    for row in rows.values():
        row["peer_over_this"] = peer / row["p50_ms"]
    encoder = shared_encoder()
    return {
        "clip": f"{clip_path.name}, first 3 s ({len(clip) / SR:.2f} s)",
        "encoder": f"{encoder.runtime()}, {str(encoder.layers[0].weight_hh_l0.dtype).replace('torch.', '')}",
        "turn_encoder": f"int8 linear layers ({torch.backends.quantized.engine} engine)",
        "kernels": kernels(),
        "threads": threads,
        "runs": runs,
        "models": rows,
        "folders": models,
        "batch": batch,
    }


def kernels() -> str:
    """The instruction sets this process computes with: torch's dispatch and FBGEMM's (int8)."""
    fbgemm = os.environ.get("FBGEMM_ENABLE_INSTRUCTIONS") or "the CPU's best"
    return f"torch {torch.backends.cpu.get_cpu_capability()}, FBGEMM int8 {fbgemm}"


def _throughput(pipes: dict, n_clips: int, batch_size: int, repeats: int) -> dict:
    """Clips per second of ``n_clips`` clips of 2-4 s through the default four ways (the module's
    docstring), the median of ``repeats`` passes in a new random order each."""
    from ser_hf import EmotionClassifier

    examples = [load_audio(str(p), SR) for p in sorted((REPO / "demo" / "examples").glob("*.flac"))]
    clips = [examples[i % len(examples)][: int((2.0 + 0.5 * (i % 5)) * SR)] for i in range(n_clips)]
    default, peer = pipes["bundled default"], pipes[PEER]
    classifier = EmotionClassifier()
    paths = {
        "default: pipeline, one clip at a time": lambda: [default(c) for c in clips],
        f"default: pipeline, batch_size={batch_size}": lambda: default(clips, batch_size=batch_size),
        f"default: EmotionClassifier.classify_batch, batch_size={batch_size}": lambda: (
            classifier.classify_batch(clips, batch_size=batch_size, sampling_rate=SR)
        ),
        f"peer: pipeline, batch_size={batch_size}": lambda: peer(clips, batch_size=batch_size),
    }
    for call in paths.values():  # warm-up
        call()
    seconds: dict[str, list[float]] = {name: [] for name in paths}
    order = np.random.default_rng(1)
    for _ in range(repeats):
        for name in order.permutation(list(paths)):
            t = time.perf_counter()
            paths[name]()
            seconds[name].append(time.perf_counter() - t)
    rows = {name: {"clips_per_s": n_clips / statistics.median(s)} for name, s in seconds.items()}
    base = rows["default: pipeline, one clip at a time"]["clips_per_s"]
    for row in rows.values():
        row["over_one_at_a_time"] = row["clips_per_s"] / base
    seconds_audio = sum(len(c) for c in clips) / SR
    return {
        "clips": n_clips,
        "audio_s": seconds_audio,
        "batch_size": batch_size,
        "repeats": repeats,
        "rows": rows,
    }


def _timed(pipe, clip: np.ndarray, torch_runtime: bool) -> float:
    """Milliseconds of one pipeline call; ``torch_runtime``: with SER_HF_ENCODER_RUNTIME=torch."""
    before = os.environ.get("SER_HF_ENCODER_RUNTIME")
    if torch_runtime:
        os.environ["SER_HF_ENCODER_RUNTIME"] = "torch"
    try:
        t = time.perf_counter()
        pipe(clip)
        return (time.perf_counter() - t) * 1e3
    finally:
        if before is None:
            os.environ.pop("SER_HF_ENCODER_RUNTIME", None)
        else:
            os.environ["SER_HF_ENCODER_RUNTIME"] = before


def markdown(result: dict) -> str:
    lines = [
        f'One clip ({result["clip"]}) through `pipeline("audio-classification")`, {result["threads"]} '
        f"thread(s), {result['runs']} interleaved runs after warm-up, one process; the speaker encoder: "
        f"{result['encoder']}; the turn encoder: {result.get('turn_encoder', '-')}; kernels: "
        f"{result.get('kernels', '-')}.",
        "",
        "| model | p50 (ms) | p95 (ms) | the peer's p50 / this p50 |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, row in result["models"].items():
        if name == "bundled default":
            name += f" (`{DEFAULT_PRESET}`)"
        lines.append(f"| {name} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {row['peer_over_this']:.1f}x |")
    batch = result.get("batch")
    if batch:
        lines += [
            "",
            f"Batch throughput: {batch['clips']} clips of 2-4 s ({batch['audio_s']:.0f} s of audio), the median of "
            f"{batch['repeats']} passes in a new random order each, the same process and threads.",
            "",
            "| path | clips/s | / the default's pipeline one clip at a time |",
            "| --- | ---: | ---: |",
        ]
        for name, row in batch["rows"].items():
            lines.append(f"| {name} | {row['clips_per_s']:.1f} | {row['over_one_at_a_time']:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", type=Path)
    p.add_argument("--model", action="append", default=[], help="a trained model folder to time as well")
    p.add_argument("--batch-clips", type=int, default=32, help="clips for the batch throughput (0: skip it)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--batch-repeats", type=int, default=3)
    args = p.parse_args()
    result = run(
        args.runs,
        args.warmup,
        args.threads,
        tuple(args.model),
        args.batch_clips,
        args.batch_size,
        args.batch_repeats,
    )
    result["markdown"] = markdown(result)
    print(result["markdown"])
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
