"""Long recordings: ``EmotionClassifier.timeline`` on a file against the stock pipeline called per window.

Usage:
    python benchmarks/bench_timeline.py [--minutes 10] [--runs 3] [--threads 1] [--model DIR] [--json out.json]

The recording (written once as a 16-kHz WAV in a temporary folder): the demo's eight RAVDESS clips
(``demo/examples``) in turn, each followed by 1 s of quiet noise, with every fourth minute a 20-s
stretch of generated music (chords with vibrato and a beat), to ``--minutes`` long. On the bundled
default (or ``--model DIR``), one process, ``torch.set_num_threads(threads)``, the paths timed in turn, run
after run (interleaved, so a busy machine slows all alike), median of ``--runs``:

- ``timeline``: ``clf.timeline(path)`` as ``ser-hf predict`` runs it: FFmpeg decoding in chunks,
  the speech detector over the whole file, the windows (4 s every 2 s) without speech or too
  quiet left out, the others classified in batches;
- ``timeline, min_speech_s=None``: the same with the speech detector off (every loud window classified);
- ``pipeline per window`` (the reference): ``pipeline("audio-classification")`` called once on each
  4-s window of the already decoded samples (the decoding is not counted), as a user without
  ``timeline`` would loop.

Reported: seconds per path, the real-time factor (seconds of audio per second of wall time), the
reference's seconds over each path's (the speed-up, measured in this one process), the number of windows
and how many were classified, and the process's peak RSS (``ser-hf bench`` measures the whole
process tree). ``run(...)`` returns the figures as a dict.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

SR = 16000
TIMELINE = "timeline"
NO_DETECTOR = "timeline, min_speech_s=None"
REFERENCE = "pipeline per window"


def _music(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Chords of harmonic tones with vibrato, changing every second, over a drum-like beat."""
    t = np.arange(int(seconds * SR)) / SR
    out = np.zeros_like(t)
    for start in np.arange(0, seconds, 1.0):
        part = (t >= start) & (t < start + 1.0)
        for root in rng.choice([196.0, 220.0, 262.0, 294.0, 330.0], size=3, replace=False):
            f = root * (1 + 0.004 * np.sin(2 * np.pi * 5 * t[part]))
            out[part] += sum(0.5**h * np.sin(2 * np.pi * h * np.cumsum(f) / SR) for h in (1, 2, 3))
        beat = (t >= start) & (t < start + 0.08)
        out[beat] += rng.normal(0, 1.0, beat.sum()) * np.exp(-40 * (t[beat] - start))
    return (0.1 * out / np.abs(out).max()).astype(np.float32)


def recording(minutes: float, seed: int = 0) -> np.ndarray:
    """Real speech (the demo's RAVDESS clips) with pauses, and music every fourth minute."""
    from ser_hf.data.audio import load_audio

    rng = np.random.default_rng(seed)
    clips = [load_audio(str(p), SR) for p in sorted((REPO / "demo" / "examples").glob("*.flac"))]
    parts, total, k, next_music = [], 0, 0, 3 * 60 * SR
    while total < minutes * 60 * SR:
        if total >= next_music:
            part = _music(20.0, rng)
            next_music += 4 * 60 * SR
        else:
            clip = clips[k % len(clips)]
            k += 1
            part = np.concatenate([clip, rng.normal(0, 3e-4, SR).astype(np.float32)])
        parts.append(part)
        total += len(part)
    return np.concatenate(parts)[: int(minutes * 60 * SR)]


def run(minutes: float = 10.0, runs: int = 3, threads: int = 1, model: str | None = None) -> dict:
    import soundfile as sf
    from transformers import pipeline

    from ser_hf import EmotionClassifier
    from ser_hf.inference.bundled import default_model_path

    torch.set_num_threads(threads)
    folder = str(model or default_model_path())
    clf = EmotionClassifier(folder, device="cpu")
    pipe = pipeline("audio-classification", model=folder, device="cpu")
    wave = recording(minutes)
    window_s = clf.default_window_s()
    hop_s = window_s / 2
    win, hop = int(window_s * SR), int(hop_s * SR)
    starts = list(range(0, max(len(wave) - win, 0) + 1, hop))

    def per_window() -> int:
        for s in starts:
            pipe({"raw": wave[s : s + win], "sampling_rate": SR})
        return len(starts)

    with tempfile.TemporaryDirectory(prefix="bench_timeline_") as tmp:
        path = str(Path(tmp) / "recording.wav")
        sf.write(path, wave, SR, subtype="PCM_16")
        paths = {
            TIMELINE: lambda: clf.timeline(path),
            NO_DETECTOR: lambda: clf.timeline(path, min_speech_s=None),
            REFERENCE: per_window,
        }
        clf.classify(wave[: 3 * SR], sampling_rate=SR)  # warm up: lazy imports, the first forward
        pipe({"raw": wave[: 3 * SR], "sampling_rate": SR})
        times: dict[str, list[float]] = {name: [] for name in paths}
        results: dict[str, object] = {}
        for _ in range(runs):
            for name, call in paths.items():
                t0 = time.perf_counter()
                results[name] = call()
                times[name].append(time.perf_counter() - t0)
    audio_s = len(wave) / SR
    median = {name: statistics.median(t) for name, t in times.items()}
    rows = {}
    for name, seconds in median.items():
        row = {"seconds": seconds, "runs_s": times[name], "realtime_factor": audio_s / seconds}
        row["reference_over_this"] = median[REFERENCE] / seconds
        out = results[name]
        if name == REFERENCE:
            row["windows"] = row["classified"] = len(starts)
        else:
            row["windows"] = len(out.windows)
            row["classified"] = sum(w["label"] not in ("silence", "no speech") for w in out.windows)
            row["label"] = out.label
        rows[name] = row
    return {
        "model": folder,
        "audio_s": audio_s,
        "window_s": window_s,
        "hop_s": hop_s,
        "threads": threads,
        "runs": runs,
        "paths": rows,
        "process_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", default=None, help="a model folder (default: the bundled default)")
    ap.add_argument("--json", default=None, help="write the figures here")
    args = ap.parse_args(argv)
    result = run(args.minutes, args.runs, args.threads, args.model)
    text = json.dumps(result, indent=2)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(text)
    for name, row in result["paths"].items():
        print(
            f"{name:32s} {row['seconds']:7.2f} s  {row['realtime_factor']:6.0f}x real time  "
            f"{row['reference_over_this']:5.2f}x the reference  {row['classified']}/{row['windows']} windows classified"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
