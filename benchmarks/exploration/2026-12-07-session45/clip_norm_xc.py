"""Session 45 exploration (plan.md, written first): per-clip normalisations of the default's values
against the RAVDESS -> TESS collapse. Plain fits (standardised values, class-balanced logistic
regression, C chosen on validation speakers, then refitted; no copies); reported only.

    python clip_norm_xc.py RAVDESS_DIR TESS_DIR [CACHE.npz] > clip_norm_xc.txt

Classes are harmonized7 ids: 0 neutral, 1 happy, 2 sad, 3 angry, 4 fearful, 5 disgust, 6 surprised.
"""

import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.preprocessing import StandardScaler

import ser_hf.models.turn_encoder as te
from ser_hf.models.feature_extraction_functionals import trim_silence
from ser_hf.training.evaluation import _decode, load_eval_data

torch.set_num_threads(2)
ravdess_dir, tess_dir = sys.argv[1], sys.argv[2]
cache = Path(sys.argv[3] if len(sys.argv) > 3 else "/tmp/s45_turn_values.npz")

if cache.exists():
    z = np.load(cache, allow_pickle=True)
    x, y, spk, corpus = z["x"], z["y"], z["spk"], z["corpus"]
else:
    parts = []
    for name, folder in (("ravdess", ravdess_dir), ("tess", tess_dir)):
        ds = load_eval_data([f"{name}={folder}"], "harmonized7")
        waves = [trim_silence(w, 16000) for w in _decode(list(ds["path"]), 16000, 2)]
        enc = te.shared_turn_encoder(layers=2)
        with torch.inference_mode():
            vals = enc.pooled([torch.as_tensor(w) for w in waves]).numpy()
        parts.append((vals, np.array(ds["emotion"]), np.array(ds["speaker"]), np.full(len(vals), name)))
    x, y, spk, corpus = (np.concatenate(p) for p in zip(*parts))
    np.savez(cache, x=x, y=y, spk=spk, corpus=corpus)

B = x.shape[1] // 4


def blocks(v):
    return [v[:, i * B : (i + 1) * B] for i in range(4)]


def block_z(v):
    return np.hstack([(b - b.mean(1, keepdims=True)) / (b.std(1, keepdims=True) + 1e-8) for b in blocks(v)])


def block_l2(v):
    return np.hstack([b / (np.linalg.norm(b, axis=1, keepdims=True) + 1e-8) for b in blocks(v)])


def logsd_z(v):
    b = blocks(v)
    return block_z(np.hstack([b[0], np.log(b[1] + 1e-6), b[2], np.log(b[3] + 1e-6)]))


variants = {"none": lambda v: v, "block-z": block_z, "block-l2": block_l2, "logsd-z": logsd_z, "pca-2": None}


def fit(v, tr, va, name):
    def one(rows, c):
        sc = StandardScaler().fit(v[rows])
        t = sc.transform(v[rows])
        pca = PCA(2).fit(t) if name == "pca-2" else None

        def prep(a):
            a = sc.transform(a)
            if pca is not None:
                a = a - (a - pca.mean_) @ pca.components_.T @ pca.components_
            return a

        lr = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(prep(v[rows]), y[rows])
        return lambda a: lr.predict(prep(a))

    best = max((balanced_accuracy_score(y[va], one(tr, c)(v[va])), c) for c in (0.001, 0.003, 0.01, 0.03, 0.1))
    return one(tr | va, best[1])




def top(pred):
    k, n = np.unique(pred, return_counts=True)
    return f"{k[n.argmax()]}: {n.max()} of {len(pred)}"


is_r = corpus == "ravdess"
actor = np.array([int(s.split("_")[-1]) if r else 0 for s, r in zip(spk, is_r)])
male, low = is_r & (actor % 2 == 1), is_r & (actor <= 12) & (actor > 0)
fem, high = is_r & (actor % 2 == 0), is_r & (actor > 12)
tess_spk = sorted(set(spk[~is_r]))
print(f"{is_r.sum()} RAVDESS + {(~is_r).sum()} TESS clips; TESS speakers {tess_spk}; classes {sorted(set(y))}")
checks = {
    "in-domain": [(low, high, (11, 12)), (high, low, (23, 24))],
    "gender": [(male, fem, (21, 23)), (fem, male, (22, 24))],
}
for name, fn in variants.items():
    v = x if fn is None else fn(x)
    cells = []
    for check, dirs in checks.items():
        got = []
        for source, target, val_actors in dirs:
            va = source & np.isin(actor, val_actors)
            pred = fit(v, source & ~va, va, name)
            got.append(balanced_accuracy_score(y[target], pred(v[target])))
        cells.append(f"{check} {np.mean(got):.3f}")
    va = is_r & np.isin(actor, (21, 22, 23, 24))
    rt = fit(v, is_r & ~va, va, name)(v[~is_r])
    va = spk == tess_spk[0]
    tr = fit(v, ~is_r & ~va, va, name)(v[is_r])
    rt_ua, tr_ua = balanced_accuracy_score(y[~is_r], rt), balanced_accuracy_score(y[is_r], tr)
    print(
        f"{name:9s} {'; '.join(cells)}; R->T {rt_ua:.3f} (most labelled {top(rt)}); "
        f"T->R {tr_ua:.3f} (most labelled {top(tr)})",
        flush=True,
    )
