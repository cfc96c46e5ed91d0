# ruff: noqa: E701, E702  (kept as it ran)
"""Validation-only diagnostic (RAVDESS, the training corpus of R->T): do the turn encoder's values
move with the clip's length? Fit on actors 1-18, score actors 19-24 whole and as random 1.0-1.6 s
crops of their trimmed speech; then the same fit with one crop copy of every training clip."""

import random

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score as ua
from sklearn.preprocessing import StandardScaler

from ser_hf.models.feature_extraction_functionals import batch_functionals, trim_silence
from ser_hf.training.evaluation import _decode, load_eval_data

torch.set_num_threads(2)
ds = load_eval_data(["ravdess=/work/shared/data/ravdess"], "harmonized7")
waves = _decode(list(ds["path"]), 16000, 2)
y = np.array(ds["emotion"])
spk = np.array([int(s.split("_")[1]) for s in ds["speaker"]])
trimmed = [trim_silence(w, 16000) for w in waves]
print(
    "trimmed dur mean by class",
    [round(np.mean([len(trimmed[i]) / 16000 for i in np.where(y == k)[0]]), 2) for k in range(7)],
)
rng = random.Random(0)


def crop(w, lo=1.0, hi=1.6):
    n = int(rng.uniform(lo, hi) * 16000)
    if len(w) <= n:
        return w
    s = rng.randrange(len(w) - n)
    return w[s : s + n]


def feats(ws):
    return np.concatenate(
        [batch_functionals(ws[i : i + 16], "turn-encoder-2", 16000) for i in range(0, len(ws), 16)]
    )


full = np.load("runs/s26/feats.npz")
x_full = full["turn_encoder_2"][full["corpus"] == "ravdess"]
crops = [crop(w) for w in trimmed]
x_crop = feats(crops)
crops2 = [crop(w) for w in trimmed]
x_crop2 = feats(crops2)
np.savez("runs/s26/ravdess_crops.npz", x_crop=x_crop, x_crop2=x_crop2)
tr, va = spk <= 18, spk > 18
for C in (0.003, 0.01, 0.03):
    sc = StandardScaler().fit(x_full[tr])
    lr = LogisticRegression(C=C, max_iter=3000).fit(sc.transform(x_full[tr]), y[tr])
    pf = lr.predict(sc.transform(x_full[va]))
    pc = lr.predict(sc.transform(x_crop[va]))
    xa = np.r_[x_full[tr], x_crop2[tr]]
    ya = np.r_[y[tr], y[tr]]
    sc2 = StandardScaler().fit(xa)
    lr2 = LogisticRegression(C=C, max_iter=3000).fit(sc2.transform(xa), ya)
    qf = lr2.predict(sc2.transform(x_full[va]))
    qc = lr2.predict(sc2.transform(x_crop[va]))
    print(
        f"C={C}: whole-trained: val whole {ua(y[va], pf):.3f} crops {ua(y[va], pc):.3f} dist {np.bincount(pc, minlength=7)} | +crop copies: whole {ua(y[va], qf):.3f} crops {ua(y[va], qc):.3f} dist {np.bincount(qc, minlength=7)}"
    )
