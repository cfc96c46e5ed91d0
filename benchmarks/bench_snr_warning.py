"""How often the noisy-speech warning of ``classify`` and ``timeline`` fires on clean and on noisy clips,
what the noise does to the default model's labels, how steady tones are told apart, and how fast the estimate is.

Usage:
    python benchmarks/bench_snr_warning.py --corpus ravdess=DATA/ravdess --corpus tess=DATA/tess
        [--sample 200] [--threshold DB] [--limit N] [--skip-model] [--out DIR]

The estimate is ``ser_hf.inference.levels.NoiseMeter`` over the whole clip (``snr_db``): in 20-ms frames'
300-1000 Hz band, any steady tone taken out, the 95th percentile of the frame levels less the 5th, frames under
-90 dBFS left out; the warning fires under ``--threshold`` dB (default ``NOISY_SNR_DB``). First EVERY clip of
each corpus (or its first ``--limit`` files), clean: the estimates' spread, the clips that would be warned about
(false alarms) and those that would get the steady-tone warning (``TONE_MARGIN_DB``). Then ``--sample`` clips
drawn from all corpora together (seed 0) with noise added at 0, 5, 10 and 20 dB SNR (noise power
against the clip's mean power, silences included, as ``ser-hf evaluate --channel noise:SNR``):
white; brown (power 1/f^2 from 20 Hz: rumble, traffic); babble (6 other talkers, each a stream of
other clips of the sample with their silences trimmed, at random offsets, summed: a busy room or
call centre). Per condition: the share warned about (the hit rate, also per corpus), the median estimate, and
unless ``--skip-model``, how many clips keep the default model's clean top label and its most frequent
label. Then steady tones under the same clips, at 0 and -10 dB against the clip's mean power (a 50-Hz hum; a
60-Hz hum with its 120 and 180 Hz harmonics at half and 0.3 of its amplitude; a 1-kHz test tone): how many get
the noisy-speech warning, how many the tone warning, and the labels kept. Last, the estimate's time per clip
against the model's (one thread). Written to ``--out`` (``snr_warning.json``) when given.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from ser_hf.data.audio import load_audio  # noqa: E402
from ser_hf.inference.levels import NOISY_SNR_DB, TONE_MARGIN_DB, NoiseMeter, snr_db  # noqa: E402

SR = 16000
AUDIO = {".wav", ".flac", ".mp3", ".ogg", ".m4a"}
SNRS = (0, 5, 10, 20)
KINDS = ("white", "brown", "babble")
TONES = ("hum 50 Hz", "hum 60 Hz + harmonics", "tone 1 kHz")
TONE_DBS = (0, -10)


def estimate(wave: np.ndarray) -> tuple[float, bool]:
    """The clip's estimate (NaN when none) and whether it gets the steady-tone warning."""
    meter = NoiseMeter(SR)
    meter.add(wave)
    snr, tone = meter.snr_db(), meter.tone()
    told = tone is not None and tone[2] is not None and tone[2] < TONE_MARGIN_DB
    return (np.nan if snr is None else snr), told


def with_tone(wave: np.ndarray, kind: str, db: float) -> np.ndarray:
    """``wave`` plus a steady tone ``db`` dB against its mean power."""
    t = np.arange(len(wave)) / SR
    if kind == "hum 50 Hz":
        tone = np.sin(2 * np.pi * 50 * t)
    elif kind == "hum 60 Hz + harmonics":
        tone = sum(a * np.sin(2 * np.pi * f * t) for a, f in ((1.0, 60), (0.5, 120), (0.3, 180)))
    else:
        tone = np.sin(2 * np.pi * 1000 * t)
    power = float(np.mean(wave.astype(np.float64) ** 2)) or 1e-12
    return (wave + tone * np.sqrt(power * 10 ** (db / 10) / np.mean(tone**2))).astype(np.float32)


def trimmed(wave: np.ndarray, below_db: float = 40.0) -> np.ndarray:
    """``wave`` from its first to its last 20-ms frame within ``below_db`` dB of its loudest."""
    n = SR // 50
    frames = wave[: len(wave) // n * n].astype(np.float64).reshape(-1, n)
    db = 10 * np.log10(np.maximum(np.square(frames).mean(axis=1), 1e-30))
    loud = np.flatnonzero(db >= db.max() - below_db)
    return wave[loud[0] * n : (loud[-1] + 1) * n] if loud.size else wave


def babble(n: int, talkers: list[np.ndarray], rng: np.random.Generator, voices: int = 6) -> np.ndarray:
    out = np.zeros(n)
    for _ in range(voices):
        stream: list[np.ndarray] = []
        while sum(map(len, stream)) < 2 * n:
            stream.append(talkers[rng.integers(len(talkers))])
        s = np.concatenate(stream).astype(np.float64)
        start = rng.integers(len(s) - n + 1)
        s = s[start : start + n]
        out += s / (np.sqrt(np.mean(s**2)) + 1e-12)
    return out


def noisy(wave: np.ndarray, snr: float, kind: str, seed: int, talkers: list[np.ndarray]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "babble":
        noise = babble(len(wave), talkers, rng)
    else:
        noise = rng.standard_normal(len(wave))
        if kind == "brown":
            f = np.fft.rfftfreq(len(wave), 1 / SR)
            noise = np.fft.irfft(np.fft.rfft(noise) / np.maximum(f, 20.0), n=len(wave))
    power = float(np.mean(wave.astype(np.float64) ** 2)) or 1e-12
    noise *= np.sqrt(power / (np.mean(noise**2) * 10 ** (snr / 10)))
    return (wave + noise).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", action="append", required=True, help="NAME=DIR (repeatable)")
    ap.add_argument("--sample", type=int, default=200)
    ap.add_argument("--threshold", type=float, default=NOISY_SNR_DB)
    ap.add_argument("--limit", type=int, help="only the first N files of each corpus (a quick look)")
    ap.add_argument("--skip-model", action="store_true", help="no model: estimates and warnings only")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    result: dict = {"threshold_db": args.threshold, "clean": {}, "noisy": {}, "tones": {}}

    clips: list[tuple[str, np.ndarray]] = []
    for spec in args.corpus:
        name, _, folder = spec.partition("=")
        files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in AUDIO)[: args.limit]
        waves = [load_audio(str(p), SR) for p in files]
        est, told = (np.array(v) for v in zip(*map(estimate, waves)))
        warned = [str(p.relative_to(folder)) for p, e in zip(files, est) if e < args.threshold]
        result["clean"][name] = {
            "clips": len(files),
            "no_estimate": int(np.isnan(est).sum()),
            "warned": len(warned),
            "warned_clips": warned,
            "tone_warned": int(told.sum()),
            "snr_db_min": round(float(np.nanmin(est)), 1),
            "snr_db_p1": round(float(np.nanpercentile(est, 1)), 1),
            "snr_db_median": round(float(np.nanmedian(est)), 1),
        }
        print(
            f"{name:8s} clean: {len(warned)} of {len(files)} clips warned about (estimate min "
            f"{np.nanmin(est):.1f} dB, 1st percentile {np.nanpercentile(est, 1):.1f}, median {np.nanmedian(est):.1f}; "
            f"no estimate {int(np.isnan(est).sum())}; tone warning {int(told.sum())})",
            flush=True,
        )
        clips += [(f"{name}/{p.relative_to(folder)}", w) for p, w in zip(files, waves)]

    rng = np.random.default_rng(0)
    picked = [clips[i] for i in sorted(rng.choice(len(clips), min(args.sample, len(clips)), replace=False))]
    talkers = [trimmed(w) for _, w in picked]
    classifier = None
    if not args.skip_model:
        import torch

        from ser_hf import EmotionClassifier

        torch.set_num_threads(1)
        classifier = EmotionClassifier()

    def labels(waves: list[np.ndarray]) -> list[str]:
        assert classifier is not None
        return [classifier.classify(w, sampling_rate=SR, top_k=1, warn=False)[0]["label"] for w in waves]

    clean_labels = labels([w for _, w in picked]) if classifier else []

    def model_row(row: dict, waves: list[np.ndarray]) -> str:
        """Adds the model's kept clean labels and top labels on ``waves`` to ``row``; their text."""
        if not classifier:
            return ""
        got = labels(waves)
        row["kept_clean_label"] = sum(a == b for a, b in zip(got, clean_labels))
        row["top_labels"] = collections.Counter(got).most_common(3)
        return f"; model kept its clean label on {row['kept_clean_label']}, most often {row['top_labels'][0]}"

    corpus_of = {c: np.array([n.split("/")[0] == c for n, _ in picked]) for c in result["clean"]}
    for kind in KINDS:
        for snr in SNRS:
            waves = [
                noisy(w, snr, kind, i, talkers[:i] + talkers[i + 1 :]) for i, (_, w) in enumerate(picked)
            ]
            est = np.array([np.nan if (e := snr_db(w, SR)) is None else e for w in waves])
            row = {
                "clips": len(waves),
                "warned": int((est < args.threshold).sum()),
                "warned_by_corpus": {
                    c: f"{int((est[m] < args.threshold).sum())} of {int(m.sum())}"
                    for c, m in corpus_of.items()
                },
                "snr_db_median": round(float(np.nanmedian(est)), 1),
            }
            text = model_row(row, waves)
            result["noisy"][f"{kind} {snr} dB"] = row
            print(
                f"{kind:6s} {snr:2d} dB SNR: {row['warned']:3d} of {len(waves)} warned about "
                f"(median estimate {row['snr_db_median']:.1f} dB){text}",
                flush=True,
            )

    for kind in TONES:
        for db in TONE_DBS:
            waves = [with_tone(w, kind, db) for _, w in picked]
            est, told = (np.array(v) for v in zip(*map(estimate, waves)))
            row = {
                "clips": len(waves),
                "warned": int((est < args.threshold).sum()),
                "tone_warned": int(told.sum()),
            }
            text = model_row(row, waves)
            result["tones"][f"{kind} {db} dB"] = row
            print(
                f"{kind} at {db:3d} dB: {row['warned']:3d} of {len(waves)} warned about as noisy, "
                f"{row['tone_warned']:3d} told of the tone{text}",
                flush=True,
            )

    waves = [w for _, w in picked]
    start = time.perf_counter()
    for _ in range(5):
        for w in waves:
            snr_db(w, SR)
    estimate_ms = (time.perf_counter() - start) / (5 * len(waves)) * 1000
    result["estimate_ms_per_clip"] = round(estimate_ms, 3)
    line = f"estimate: {estimate_ms:.3f} ms a clip (mean {np.mean([len(w) for w in waves]) / SR:.2f} s)"
    if classifier:
        labels(waves[:10])  # warm
        start = time.perf_counter()
        labels(waves)
        model_ms = (time.perf_counter() - start) / len(waves) * 1000
        result["model_ms_per_clip"] = round(model_ms, 2)
        line += f"; the default model's classify: {model_ms:.2f} ms a clip (one thread)"
    print(line)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "snr_warning.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
