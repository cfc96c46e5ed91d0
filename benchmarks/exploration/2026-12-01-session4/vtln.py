"""Pitch-driven vocal-tract-length normalisation of the speech-stats log-mel (exploration).

Each clip's log-mel spectrum is read at alpha * f (alpha = (median F0 / 160 Hz) ** gamma, clipped
to [0.8, 1.25]) before the 448 speech-frame statistics, so a higher voice's formants move to
where a lower voice has them; the 5 relative pitch statistics are appended unchanged. gamma = 0 is
speech-stats-pitch. C chosen on the validation speakers of the training side; validation UA is
printed overall and per gender (RAVDESS folds), test UA after.

    python benchmarks/exploration/2026-12-01-session4/vtln.py DATA_DIR
"""

import dataclasses
import json
import sys

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score

from ser_hf.models.feature_extraction_functionals import (
    SPEECH_DB,
    detect_pitch,
    relative_pitch_stats,
    speech_stats,
    trim_silence,
)
from ser_hf.models.feature_extraction_ser import SERFeatureExtractor
from ser_hf.training.arguments import DataArguments
from ser_hf.training.clips import decode_rows, load_rows, make_split
from ser_hf.training.functionals import _fit
from ser_hf.training.linear import DEFAULT_C_GRID

SR = 16000
GAMMAS = (0.0, 0.15, 0.3)
data = sys.argv[1]
LOGMEL = SERFeatureExtractor(feature_set="logmel", n_mels=64, sampling_rate=SR)


def slaney_mel(f):
    f = np.asarray(f, dtype=np.float64)
    lin = 3 * f / 200
    log = 15 + np.log(np.maximum(f, 1e-9) / 1000) / (np.log(6.4) / 27)
    return np.where(f < 1000, lin, log)


def slaney_hz(m):
    m = np.asarray(m, dtype=np.float64)
    return np.where(m < 15, 200 * m / 3, 1000 * np.exp((m - 15) * np.log(6.4) / 27))


MEL_EDGES = np.linspace(slaney_mel(0), slaney_mel(SR / 2), 64 + 2)
CENTRES_HZ = slaney_hz(MEL_EDGES[1:-1])


def features(wave):
    wave = trim_silence(wave, SR, 35.0, 0.1)
    if wave.size < SR // 10:
        wave = np.pad(wave, (0, SR // 10 - wave.size))
    frames = LOGMEL(wave, sampling_rate=SR, return_tensors="pt")["input_features"][0].numpy()
    x = torch.from_numpy(wave / max(np.abs(wave).max(), 1e-8))
    pitch, energy = detect_pitch(x[None].float(), SR)
    level = 10 * np.log10(np.maximum(energy[0].numpy(), 1e-10))
    keep = level > level.max() - SPEECH_DB
    f0 = np.median(pitch[0].numpy()[keep] if keep.sum() > 3 else pitch[0].numpy())
    rel = relative_pitch_stats(wave, SR)
    out = {}
    for g in GAMMAS:
        alpha = float(np.clip((f0 / 160.0) ** g, 0.8, 1.25))
        # band positions (in band-index units) of alpha * centre frequency
        pos = np.interp(slaney_mel(np.minimum(alpha * CENTRES_HZ, SR / 2)), slaney_mel(CENTRES_HZ), np.arange(64))
        lo = np.floor(pos).astype(int).clip(0, 63)
        hi = (lo + 1).clip(0, 63)
        w = pos - lo
        warped = frames[:, lo] * (1 - w) + frames[:, hi] * w
        out[g] = np.concatenate([speech_stats(warped), rel])
    return out


def run(split, cache):
    args = DataArguments(corpus=[f"ravdess={data}/ravdess", f"tess={data}/tess"], label_scheme="harmonized7", split=split)
    if split.startswith("ravdess-fold"):
        args = dataclasses.replace(args, corpus=[f"ravdess={data}/ravdess"])
    ds = load_rows(args)
    sp = make_split(ds, args, 42)
    rows = sp.train + sp.validation + sp.test
    paths = [ds["path"][i] for i in rows]
    missing = [i for i, p in zip(rows, paths) if p not in cache]
    if missing:
        for i, clip in zip(missing, decode_rows(ds, missing, SR, None, 8)):
            cache[ds["path"][i]] = features(clip)
    y = np.asarray([ds["emotion"][i] for i in rows])
    gender = np.asarray([ds["gender"][i] for i in rows])
    n, v = len(sp.train), len(sp.validation)
    out = {"split": split}
    for g in GAMMAS:
        x = np.stack([cache[p][g] for p in paths])
        val, preds = {}, {}
        for c in DEFAULT_C_GRID:
            preds[c] = _fit(x[:n], y[:n], c, 0).predict(x[n : n + v])
            val[c] = balanced_accuracy_score(y[n : n + v], preds[c])
        c = max(DEFAULT_C_GRID, key=lambda k: (val[k], -k))
        res = {"val_ua": round(val[c], 3), "c": c}
        for sex in ("male", "female"):
            m = gender[n : n + v] == sex
            if m.sum():
                res[f"val_{sex}"] = round(balanced_accuracy_score(y[n : n + v][m], preds[c][m]), 3)
        pred = _fit(x[: n + v], y[: n + v], c, 0).predict(x[n + v :])
        res["test_ua"] = round(balanced_accuracy_score(y[n + v :], pred), 3)
        for sex in ("male", "female"):
            m = gender[n + v :] == sex
            if m.sum():
                res[f"test_{sex}"] = round(balanced_accuracy_score(y[n + v :][m], pred[m]), 3)
        out[f"gamma={g}"] = res
    print(json.dumps(out), flush=True)


cache = {}
for split in ["loco:tess", "loco:ravdess", *[f"ravdess-fold:{k}" for k in range(6)]]:
    run(split, cache)
