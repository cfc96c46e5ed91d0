"""How the timeline's speech detector (Silero VAD v6, ``ser_hf.models.speech_detector``) treats
emotional speech, speech in noise and sounds that are not speech, and how fast it runs.

Usage:
    python benchmarks/bench_speech_detector.py --corpus ravdess=DATA/ravdess --corpus tess=DATA/tess
        [--sample N] [--min-speech 0.25] [--joined 150] [--skip-clips] [--out DIR]

For every clip of each corpus (or N drawn at random, seed 0): the seconds of speech the detector finds
in the whole clip, clean, with white noise at 20, 10 and 0 dB SNR (noise seeded by the clip's
index) and through a telephone line (``ser_hf.data.channel``'s ``telephone``: 300-3400 Hz, G.711 mu-law), and the share of clips under ``--min-speech`` seconds (which a timeline window would label
``no speech``: a miss). Then, as a timeline meets speech, ``--joined`` clips of each corpus drawn
at random (seed 1) joined into one recording, clean and by telephone, in 4-s windows every 2 s: the
windows (all holding speech) labelled ``no speech``. Then 4-s windows of generated sounds that are not speech (noises, a tone, a
chord sequence, clicks, hiss under the silence level and loud hum) and the share of them a timeline
would classify (a false alarm). Then the speed: 30 minutes of audio through the package's batched
detector and through the same network one frame at a time (as Silero's wrapper runs it), one thread,
same input, the ratio printed (the package's includes the keypad rule, timed alone too). The keypad
rule: 20-s stretches of random phone keys (DTMF) without noise, in white noise at 20, 10 and 5 dB SNR, on a clean
line and by telephone, in 4-s windows every 2 s: the windows Silero alone and the package take for speech; and for
every clip above, the seconds of Silero's speech the rule leaves out. Written to ``--out`` (``speech_detector.json``) when given.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from ser_hf.data.audio import load_audio  # noqa: E402
from ser_hf.data.channel import apply_channel  # noqa: E402
from ser_hf.models.speech_detector import (  # noqa: E402
    DTMF_HIGH,
    DTMF_LOW,
    FRAME,
    SpeechTrack,
    keypad_digits,
    speech_detector,
)

SR = 16000
AUDIO = {".wav", ".flac", ".mp3", ".ogg", ".m4a"}


def speech_s(wave: np.ndarray) -> float:
    return SpeechTrack.of(wave).speech_s(0, len(wave))


def keypad_stretch(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Random keys of a phone (DTMF: 60-150 ms tones, 50-150 ms apart, -20 to +2.6 dB re 0.1, the two
    tones up to 4 dB apart)."""
    parts, n = [], int(seconds * SR)
    while sum(map(len, parts)) < n:
        t = np.arange(int(rng.uniform(0.06, 0.15) * SR)) / SR
        low, high = rng.choice(DTMF_LOW), rng.choice(DTMF_HIGH[:3])
        amp, twist = 0.1 * 10 ** rng.uniform(-1, 0.3), 10 ** (rng.uniform(-4, 4) / 20)
        parts += [amp * (np.sin(2 * np.pi * low * t) + twist * np.sin(2 * np.pi * high * t))]
        parts += [np.zeros(int(rng.uniform(0.05, 0.15) * SR))]
    return np.concatenate(parts)[:n].astype(np.float32)


def keypads(min_speech_s: float, takes: int = 6) -> dict:
    """``takes`` 20-s keypad stretches (seed 5) in white noise at 20, 10 and 5 dB SNR, on a clean line
    and through a telephone line: 4-s windows every 2 s that Silero alone and the package classify."""
    out = {}
    for snr in (None, 20, 10, 5):
        for cond in ("clean", "telephone"):
            rng = np.random.default_rng(5)
            counts = {"windows": 0, "speech_silero_alone": 0, "speech_package": 0}
            for take in range(takes):
                x = keypad_stretch(20.0, rng)
                if snr is not None:
                    x = with_noise(x, snr, take)
                if cond == "telephone":
                    x = apply_channel(x, "telephone", SR, seed=take)
                track = SpeechTrack.of(x)
                silero = track.probabilities >= 0.5
                for s in range(0, len(x) - 4 * SR + 1, 2 * SR):
                    counts["windows"] += 1
                    alone = silero[-(-s // FRAME) : (s + 4 * SR) // FRAME].sum() * FRAME / SR
                    counts["speech_silero_alone"] += int(alone >= min_speech_s)
                    counts["speech_package"] += int(track.holds_speech(s, s + 4 * SR, min_speech_s))
            key = f"{'no noise' if snr is None else f'{snr} dB SNR'}, {cond}"
            out[key] = counts
            print(
                f"keypad, {key:24s}: {counts['speech_package']:3d} of {counts['windows']} windows taken for speech "
                f"(Silero alone: {counts['speech_silero_alone']})"
            )
    return out


def with_noise(wave: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(len(wave)).astype(np.float32)
    power = float(np.mean(wave.astype(np.float64) ** 2)) or 1e-12
    return wave + noise * np.sqrt(power / 10 ** (snr_db / 10))


def joined(files: list[Path], n: int, min_speech_s: float, name: str) -> dict:
    """``n`` of ``files`` (seed 1) joined, clean and by telephone: 4-s windows every 2 s without speech."""
    picked = files[:]
    random.Random(1).shuffle(picked)
    wave = np.concatenate([load_audio(str(p), SR) for p in picked[:n]])
    out = {}
    for cond in ("clean", "telephone"):
        x = wave if cond == "clean" else apply_channel(wave, "telephone", SR, seed=0)
        track = SpeechTrack()
        track.feed(x)
        track.finish()
        starts = range(0, len(x) - 4 * SR + 1, 2 * SR)
        missed = sum(not track.holds_speech(s, s + 4 * SR, min_speech_s) for s in starts)
        out[cond] = {"minutes": round(len(x) / SR / 60, 2), "windows": len(starts), "no_speech": missed}
        print(
            f"{name:8s} {n} clips joined ({len(x) / SR / 60:.1f} min), {cond}: {missed} of {len(starts)} windows no speech"
        )
    return out


def not_speech(seconds: float = 4.0, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    white = rng.standard_normal(n)
    pink = np.fft.irfft(np.fft.rfft(white) / np.sqrt(np.maximum(np.fft.rfftfreq(n), 1 / n)), n)
    brown = np.cumsum(white)
    brown -= np.linspace(brown[0], brown[-1], n)
    chords = np.zeros(n)
    for k, root in enumerate(rng.choice([220.0, 247.0, 262.0, 294.0, 330.0, 349.0, 392.0], int(seconds * 2))):
        part = slice(int(k * SR / 2), int((k + 1) * SR / 2))
        for ratio in (1.0, 1.25, 1.5, 2.0):
            for h in range(1, 6):
                chords[part] += np.sin(2 * np.pi * root * ratio * h * t[part]) / h**1.5
    clicks = np.zeros(n)
    clicks[:: SR // 4] = 1.0
    clicks = np.convolve(clicks, np.exp(-np.arange(400) / 40.0))[:n]
    sounds = {
        "white noise": white,
        "pink noise": pink,
        "brown noise": brown,
        "440-Hz tone": np.sin(2 * np.pi * 440 * t),
        "chord sequence (harmonic tones, 2 a second)": chords,
        "clicks (4 a second)": clicks,
        "hum (50 Hz and harmonics)": sum(np.sin(2 * np.pi * 50 * h * t) / h for h in range(1, 8)),
    }
    out = {}
    for name, x in sounds.items():
        x = x / (np.abs(x).max() or 1.0)
        for level in (0.5, 0.05):
            out[f"{name} at peak {level:g}"] = (x * level).astype(np.float32)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--sample", type=int, default=0, help="N clips a corpus drawn at random (0: all)")
    parser.add_argument("--min-speech", type=float, default=0.25)
    parser.add_argument("--joined", type=int, default=150, help="clips joined into one recording (0: none)")
    parser.add_argument("--skip-clips", action="store_true", help="only the joined recordings and the rest")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    report: dict = {"min_speech_s": args.min_speech, "corpora": {}, "not_speech": {}}
    for spec in args.corpus:
        name, _, root = spec.partition("=")
        files = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in AUDIO)
        if args.joined:
            report.setdefault("joined", {})[name] = joined(files, args.joined, args.min_speech, name)
        if args.skip_clips:
            continue
        if args.sample and args.sample < len(files):
            files = sorted(random.Random(0).sample(files, args.sample))
        rows = {cond: [] for cond in ("clean", "snr 20", "snr 10", "snr 0", "phone")}
        lost = {cond: 0.0 for cond in rows}
        for i, path in enumerate(files):
            wave = load_audio(str(path), SR)
            takes = {"clean": wave, "phone": apply_channel(wave, "telephone", SR, seed=i)}
            takes.update({f"snr {snr}": with_noise(wave, snr, i) for snr in (20, 10, 0)})
            for cond, x in takes.items():
                track = SpeechTrack.of(x)
                rows[cond].append(track.speech_s(0, len(x)))
                lost[cond] += float((track.probabilities >= 0.5).sum()) * FRAME / SR - rows[cond][-1]
        summary = {}
        for cond, values in rows.items():
            v = np.array(values)
            summary[cond] = {
                "clips": len(v),
                "missed": int((v < args.min_speech).sum()),
                "missed_share": round(float((v < args.min_speech).mean()), 4),
                "median_speech_s": round(float(np.median(v)), 3),
                "speech_s": round(float(v.sum()), 2),
                "keypad_rule_left_out_s": round(lost[cond], 3),  # of Silero's speech, by the keypad rule
            }
            print(
                f"{name:8s} {cond:7s} {len(v):5d} clips: {summary[cond]['missed']:4d} under {args.min_speech:g} s of "
                f"speech ({100 * summary[cond]['missed_share']:.1f} %), median {summary[cond]['median_speech_s']:.2f} s; "
                f"the keypad rule left out {lost[cond]:.2f} s of {v.sum():.0f} s"
            )
        report["corpora"][name] = summary
    for sound, wave in not_speech().items():
        found = speech_s(wave)
        report["not_speech"][sound] = round(found, 3)
        verdict = "CLASSIFIED (false alarm)" if found >= args.min_speech else "no speech"
        print(f"{sound:52s} {found:5.2f} s of speech in 4 s: {verdict}")

    report["keypad"] = keypads(args.min_speech)

    long = np.concatenate([not_speech(seconds=60.0, seed=s)["pink noise at peak 0.05"] for s in range(30)])
    detector = speech_detector()
    t0 = time.perf_counter()
    speech_s(long)
    batched = time.perf_counter() - t0
    x = torch.from_numpy(np.pad(long, (64, (-len(long)) % FRAME)))
    windows = x.unfold(0, 64 + FRAME, FRAME)
    part = windows[: len(windows) // 10]  # a tenth, scaled: the frame-by-frame loop is the slow one
    state = None
    t0 = time.perf_counter()
    with torch.inference_mode():
        for w in part:
            _, state = detector.frames(w[None], state)
    one_by_one = (time.perf_counter() - t0) * len(windows) / len(part)
    t0 = time.perf_counter()
    keypad_digits(long[: len(long) // FRAME * FRAME].reshape(-1, FRAME))
    keypad_s = time.perf_counter() - t0
    report["speed"] = {
        "audio_s": len(long) / SR,
        "batched_s": round(batched, 3),
        "frame_by_frame_s": round(one_by_one, 3),
        "keypad_digits_s": round(keypad_s, 3),  # inside batched_s
    }
    print(
        f"30 min of audio, one thread: batched {batched:.2f} s, frame by frame {one_by_one:.2f} s "
        f"(a tenth, scaled): {one_by_one / batched:.1f}x; the keypad rule's share of batched: {keypad_s:.2f} s"
    )
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "speech_detector.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
