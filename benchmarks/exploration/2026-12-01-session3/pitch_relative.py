"""Does adding speaker-relative pitch statistics to speech-stats help across corpora?

Exploration, not part of the package. Pitch from torchaudio's detect_pitch_frequency (core
dependency, no librosa) on the speech frames (within 35 dB of the loudest 20-ms frame), in
semitones relative to the clip's median: std, p10, p90, p90-p10, mean |delta|, so the absolute
voice height (gender) is left out. Protocols as the package's: loco:tess (R->T), loco:ravdess
(T->R), ravdess-fold:0..5; C chosen on the validation speakers of the training side.

    python benchmarks/exploration/2026-12-01-session3/pitch_relative.py DATA_DIR
"""

import dataclasses
import json
import sys

import numpy as np
import torch
import torchaudio.functional as AF
from sklearn.metrics import balanced_accuracy_score

from ser_hf.training.arguments import DataArguments
from ser_hf.training.clips import decode_rows, load_rows, make_split
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir
from ser_hf.training.functionals import _fit
from ser_hf.training.linear import DEFAULT_C_GRID, functionals_matrix

SR = 16000
data = sys.argv[1]


def pitch_relative(clip: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(np.asarray(clip, np.float32))
    x = x / x.abs().max().clamp_min(1e-8)
    f0 = AF.detect_pitch_frequency(x[None], SR, frame_time=0.02, win_length=5, freq_low=60, freq_high=500)[0]
    hop = len(clip) / max(len(f0), 1)
    frames = torch.stack([x[int(i * hop): int(i * hop) + 320].square().mean() for i in range(len(f0))])
    level = 10 * torch.log10(frames.clamp_min(1e-10))
    keep = level > level.max() - 35
    f = f0[keep].numpy() if keep.sum() > 3 else f0.numpy()
    st = 12 * np.log2(np.clip(f, 40, None) / np.median(np.clip(f, 40, None)))
    return np.array([st.std(), np.percentile(st, 10), np.percentile(st, 90),
                     np.percentile(st, 90) - np.percentile(st, 10), np.abs(np.diff(st)).mean() if len(st) > 1 else 0.0])


def run(split: str) -> dict:
    args = DataArguments(corpus=[f"ravdess={data}/ravdess", f"tess={data}/tess"], label_scheme="harmonized7", split=split)
    if split.startswith("ravdess-fold"):
        args = dataclasses.replace(args, corpus=[f"ravdess={data}/ravdess"])
    ds = load_rows(args)
    sp = make_split(ds, args, 42)
    rows = sp.train + sp.validation + sp.test
    clips = decode_rows(ds, rows, SR, None, 8)
    y = np.asarray([ds["emotion"][i] for i in rows])
    base = functionals_matrix(clips, "speech-stats", cache=FeatureCache(default_cache_dir()))
    pitch = np.stack([pitch_relative(c) for c in clips])
    n, v = len(sp.train), len(sp.validation)
    out = {"split": split}
    for name, x in (("speech-stats", base), ("+pitch-relative", np.hstack([base, pitch]))):
        scores = {c: balanced_accuracy_score(y[n:n + v], _fit(x[:n], y[:n], c, 0).predict(x[n:n + v])) for c in DEFAULT_C_GRID}
        c = max(DEFAULT_C_GRID, key=lambda k: (scores[k], -k))
        clf = _fit(x[: n + v], y[: n + v], c, 0)
        out[name] = {"val_ua": round(scores[c], 3), "test_ua": round(balanced_accuracy_score(y[n + v:], clf.predict(x[n + v:])), 3), "c": c}
    print(json.dumps(out), flush=True)
    return out


for split in ["loco:tess", "loco:ravdess", *[f"ravdess-fold:{k}" for k in range(6)]]:
    run(split)
