"""Throughput of the batched augmenter vs the same transforms applied per clip with librosa.

Both sides apply, to every clip: pitch shift (+-2 semitones), time stretch (0.8-1.25), synthetic
reverberation, time shift, gain, polarity inversion and Gaussian noise at a random SNR. The
batched side is ``ser_hf.data.augment.WaveformAugmenter`` on one padded batch (CPU, or ``--device
cuda``); the per-clip side is ``librosa.effects.pitch_shift`` / ``time_stretch``,
``scipy.signal.fftconvolve`` and numpy, one clip at a time, as a data loader would do it.

    python benchmarks/bench_augment.py                      # 64 generated 3 s clips, CPU
    python benchmarks/bench_augment.py --device cuda --json out.json
    python benchmarks/bench_augment.py --data-dir ../shared/data/ravdess --n-clips 128

Reports clips per second for each (median of ``--runs`` timed runs after ``--warmup`` runs) and
their ratio. On the CPU the batched side uses one thread by default (``--threads``), like librosa,
so the ratio compares the same single core. Timings on a shared machine vary; compare ratios measured on the same machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

if importlib.util.find_spec("ser_hf") is None:  # run from a checkout without an install
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ser_hf.data.augment import AugmentConfig, WaveformAugmenter  # noqa: E402

SR = 16000
AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg"}

# every transform that both implementations apply, on every clip
BENCH_CONFIG = AugmentConfig(
    pitch_prob=1.0,
    pitch_semitones=[-2.0, 2.0],
    stretch_prob=1.0,
    stretch_rate=[0.8, 1.25],
    reverb_prob=1.0,
    shift_prob=1.0,
    gain_prob=1.0,
    polarity_prob=1.0,
    noise_prob=1.0,
)


def generated_clips(n: int, seconds: float, seed: int = 0) -> list[np.ndarray]:
    """Speech-like clips: 5 harmonics of a gliding F0 under a syllable envelope, plus breath noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    clips = []
    for _ in range(n):
        f0 = rng.uniform(90, 260) * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(1, 4) * t))
        phase = 2 * np.pi * np.cumsum(f0) / SR
        voiced = sum(np.sin(k * phase + rng.uniform(0, 6.28)) / k for k in range(1, 6))
        envelope = np.clip(np.sin(2 * np.pi * rng.uniform(2, 5) * t), 0, None)
        clips.append((0.3 * voiced * envelope + 0.01 * rng.normal(size=t.size)).astype(np.float32))
    return clips


def folder_clips(data_dir: Path, n: int) -> list[np.ndarray]:
    import librosa

    paths = sorted(p for p in data_dir.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)[:n]
    if not paths:
        raise SystemExit(f"no audio files ({', '.join(sorted(AUDIO_SUFFIXES))}) under {data_dir}")
    return [librosa.load(str(p), sr=SR, mono=True)[0].astype(np.float32) for p in paths]


def librosa_augment(clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same chain as BENCH_CONFIG for one clip, with librosa / scipy / numpy."""
    import librosa
    from scipy.signal import fftconvolve

    cfg = BENCH_CONFIG
    y = librosa.effects.time_stretch(clip, rate=float(np.exp(rng.uniform(*np.log(cfg.stretch_rate)))))
    y = librosa.effects.pitch_shift(y, sr=SR, n_steps=float(rng.uniform(*cfg.pitch_semitones)))
    rt60 = rng.uniform(*cfg.reverb_rt60)
    t = np.arange(int(rt60 * SR)) / SR
    rir = rng.normal(size=t.size) * np.exp(-6.9 * t / rt60)
    rir *= np.sqrt(10 ** (-rng.uniform(*cfg.reverb_drr_db) / 10) / np.sum(rir**2))
    rir[0] = 1.0
    wet = fftconvolve(y, rir)[: len(y)]
    y = wet * np.sqrt(np.mean(y**2) / max(np.mean(wet**2), 1e-12))
    shift = int(rng.uniform(*cfg.shift_fraction) * len(y))
    shifted = np.zeros_like(y)
    if shift >= 0:
        shifted[shift:] = y[: len(y) - shift]
    else:
        shifted[:shift] = y[-shift:]
    y = shifted * 10 ** (rng.uniform(*cfg.gain_db) / 20) * (-1 if rng.random() < 0.5 else 1)
    noise = rng.normal(size=len(y))
    snr = rng.uniform(*cfg.noise_snr_db)
    y = y + noise * np.sqrt(np.mean(y**2) / (np.mean(noise**2) * 10 ** (snr / 10)))
    return y.astype(np.float32)


def _median_time(fn, runs: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_benchmark(
    clips: list[np.ndarray], device: str = "cpu", runs: int = 3, warmup: int = 1, batch_size: int = 0
) -> dict:
    """Clips/s of the batched augmenter on ``device`` and of the per-clip librosa chain (CPU)."""
    lengths = torch.tensor([len(c) for c in clips])
    padded = torch.zeros(len(clips), int(lengths.max()))
    for i, clip in enumerate(clips):
        padded[i, : len(clip)] = torch.from_numpy(clip)
    waves, lengths = padded.to(device), lengths.to(device)
    augmenter = WaveformAugmenter(BENCH_CONFIG, SR).to(device)
    generator = torch.Generator(device=device).manual_seed(0)
    step = batch_size or len(clips)

    def batched() -> None:
        for start in range(0, len(clips), step):
            augmenter(waves[start : start + step], lengths[start : start + step], generator=generator)
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    def per_clip() -> None:
        rng = np.random.default_rng(0)
        for clip in clips:
            librosa_augment(clip, rng)

    batched_s = _median_time(batched, runs, warmup)
    librosa_s = _median_time(per_clip, runs, warmup)
    return {
        "clips": len(clips),
        "mean_seconds": float(lengths.double().mean()) / SR,
        "device": device,
        "device_name": torch.cuda.get_device_name()
        if device.startswith("cuda")
        else platform.processor() or "cpu",
        "torch_threads": torch.get_num_threads(),
        "batch_size": step,
        "runs": runs,
        "batched_clips_per_s": len(clips) / batched_s,
        "librosa_clips_per_s": len(clips) / librosa_s,
        "ratio": librosa_s / batched_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-clips", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of generated clips")
    parser.add_argument("--data-dir", type=Path, help="use audio files from this folder instead")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (the batched side)")
    parser.add_argument(
        "--batch-size", type=int, default=16, help="clips per batched call (0: all); 16 = a training batch"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: one core each, as librosa uses; 0: torch's default). "
        "On a busy machine extra threads can be much slower, since every op waits for the slowest.",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device here; use --device cpu", file=sys.stderr)
        return 2
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    clips = (
        folder_clips(args.data_dir, args.n_clips)
        if args.data_dir
        else generated_clips(args.n_clips, args.seconds)
    )
    result = run_benchmark(clips, args.device, args.runs, args.warmup, args.batch_size)
    print(
        f"{result['clips']} clips x {result['mean_seconds']:.2f} s, pitch+stretch+reverb+shift+gain+polarity+noise\n"
        f"  batched ({result['device']}, {result['torch_threads']} threads): {result['batched_clips_per_s']:8.1f} clips/s\n"
        f"  per-clip librosa (CPU):{'':>12}{result['librosa_clips_per_s']:8.1f} clips/s\n"
        f"  ratio batched / librosa: {result['ratio']:.1f}x (median of {result['runs']} runs)"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
