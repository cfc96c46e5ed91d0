"""Feature extraction speed: SERFeatureExtractor vs transformers' ASTFeatureExtractor vs librosa, and
the default model's pitch tracker (``detect_pitch``) vs torchaudio's ``detect_pitch_frequency``.

Usage:
    python benchmarks/bench_features.py [--data-dir ../shared/data/ravdess] [--n-clips 64]
        [--seconds 3] [--runs 5] [--json out.json]

Without ``--data-dir`` it generates ``--n-clips`` synthetic speech-like clips of ``--seconds``
seconds at 16 kHz; with it, it loads the first ``--n-clips`` audio files found (sorted) with
``ser_hf.load_audio``. Every extractor gets the same list of float32 clips; each is warmed
up once, then all are timed in turn ``--runs`` times (interleaved, so a busy shared machine slows
them alike), and the median is reported as clips per second. Ratios are measured in the same
process, so they hold across machines better than the absolute figures.

- ours log-mel: ``SERFeatureExtractor()`` (128 log-mel bands, 25 ms / 10 ms), one batched call.
- ours MFCC+deltas: 40 MFCCs + deltas + delta-deltas + RMS + ZCR with utterance normalisation.
- AST: ``ASTFeatureExtractor()`` with its defaults (128 Kaldi fbanks, padded to 1024 frames,
  one clip at a time).
- librosa: ``librosa.feature.melspectrogram`` + ``power_to_db`` per clip with our parameters.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

SR = 16000
# run from a checkout without installing the package
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def synthetic_clips(n: int, seconds: float, seed: int = 0) -> list[np.ndarray]:
    """Voiced, noisy, amplitude-modulated clips with a drifting pitch (speech-like spectra)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    clips = []
    for _ in range(n):
        f0 = rng.uniform(100, 250) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t))
        phase = 2 * np.pi * np.cumsum(f0) / SR
        voiced = sum(np.sin(k * phase) / k for k in range(1, 15))
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 5) * t) ** 2
        clips.append((0.2 * envelope * voiced + 0.02 * rng.standard_normal(t.size)).astype(np.float32))
    return clips


def load_clips(data_dir: Path, n: int) -> list[np.ndarray]:
    from ser_hf.data.audio import AUDIO_EXTENSIONS, load_audio

    files = sorted(p for p in data_dir.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)[:n]
    if not files:
        raise SystemExit(f"no audio files under {data_dir}")
    return [load_audio(p, sampling_rate=SR) for p in files]


def median_seconds(candidates: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Median wall time of each candidate; runs are interleaved so load changes hit all alike."""
    for fn in candidates.values():
        fn()  # warm-up: caches, allocator, lazy imports
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(runs):
        for name, fn in candidates.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="folder of audio files (first --n-clips are used)")
    parser.add_argument("--n-clips", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of synthetic clips")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    import librosa
    import torchaudio.functional as AF
    from transformers import ASTFeatureExtractor
    from transformers.utils import is_speech_available

    from ser_hf.models.feature_extraction_functionals import PITCH_HZ, detect_pitch
    from ser_hf.models.feature_extraction_ser import SERFeatureExtractor

    clips = (
        load_clips(args.data_dir, args.n_clips)
        if args.data_dir
        else synthetic_clips(args.n_clips, args.seconds)
    )
    n = len(clips)
    ours_logmel = SERFeatureExtractor()
    ours_mfcc = SERFeatureExtractor(
        feature_set="mfcc", deltas=True, delta_deltas=True, rms=True, zcr=True, normalize="utterance"
    )
    ast = ASTFeatureExtractor()

    def librosa_per_clip() -> None:
        for y in clips:
            mel = librosa.feature.melspectrogram(
                y=y, sr=SR, n_fft=512, hop_length=160, win_length=400, n_mels=128, pad_mode="constant"
            )
            librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None)

    waves = [torch.from_numpy(np.asarray(y, dtype=np.float32))[None] for y in clips]

    def torchaudio_pitch() -> None:  # the reference the default's pitch statistics port
        for x in waves:
            AF.detect_pitch_frequency(
                x, SR, frame_time=0.02, win_length=5, freq_low=PITCH_HZ[0], freq_high=PITCH_HZ[1]
            )

    candidates = {
        "ours_pitch": lambda: [detect_pitch(x, SR) for x in waves],  # one clip at a time, as the default does
        "torchaudio_pitch": torchaudio_pitch,
        "ours_logmel": lambda: ours_logmel(clips, sampling_rate=SR, return_tensors="pt"),
        "ours_mfcc_deltas": lambda: ours_mfcc(clips, sampling_rate=SR, return_tensors="pt"),
        "ast": lambda: ast(clips, sampling_rate=SR, return_tensors="pt"),
        "librosa": librosa_per_clip,
    }
    clips_per_s = {name: n / seconds for name, seconds in median_seconds(candidates, args.runs).items()}
    result = {
        "n_clips": n,
        "mean_clip_seconds": float(np.mean([len(c) for c in clips]) / SR),
        "source": str(args.data_dir) if args.data_dir else f"synthetic {args.seconds} s",
        "runs": args.runs,
        "torch_threads": torch.get_num_threads(),
        "ast_backend": "torchaudio kaldi fbank" if is_speech_available() else "numpy",
        "clips_per_s": clips_per_s,
        "ratios": {
            "ours_logmel/ast": clips_per_s["ours_logmel"] / clips_per_s["ast"],
            "ours_mfcc_deltas/ast": clips_per_s["ours_mfcc_deltas"] / clips_per_s["ast"],
            "ours_logmel/librosa": clips_per_s["ours_logmel"] / clips_per_s["librosa"],
            "ours_mfcc_deltas/librosa": clips_per_s["ours_mfcc_deltas"] / clips_per_s["librosa"],
            "ours_pitch/torchaudio_pitch": clips_per_s["ours_pitch"] / clips_per_s["torchaudio_pitch"],
        },
    }
    print(
        f"{n} clips, mean {result['mean_clip_seconds']:.2f} s ({result['source']}), "
        f"median of {args.runs} runs, torch threads {result['torch_threads']}, AST via {result['ast_backend']}"
    )
    for name, value in clips_per_s.items():
        print(f"  {name:18s} {value:9.1f} clips/s")
    for name, value in result["ratios"].items():
        print(f"  {name:26s} {value:6.2f}x")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
