"""Nuisance attribute projection (NAP) of speaker identity: the linear cousin of a gradient-
reversal speaker head (exploration, not the package).

speech-stats-pitch features, standardised on the training clips. The between-speaker scatter of
the TRAINING speakers (each speaker's mean over its per-emotion means, so emotion mix does not
move it) gives the directions along which speakers (and corpora, genders, microphones) differ; the
top k are projected out of every clip (training, validation, test alike: no test statistics), and
the class-balanced logistic regression is fitted on what is left. k and C are chosen on the
validation speakers of the training side; test UA printed for every k.

    python benchmarks/exploration/2026-12-01-session4/nap.py DATA_DIR
"""

import dataclasses
import json
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score

from ser_hf.training.arguments import DataArguments
from ser_hf.training.clips import decode_rows, load_rows, make_split
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir
from ser_hf.training.linear import DEFAULT_C_GRID, functionals_matrix

SR = 16000
KS = (0, 1, 2, 4, 8, 16)
data = sys.argv[1]


def nap_basis(x, y, spk, k):
    if k == 0:
        return np.zeros((x.shape[1], 0))
    means = []
    for s in np.unique(spk):
        m = spk == s
        means.append(np.mean([x[m & (y == c)].mean(0) for c in np.unique(y[m])], axis=0))
    means = np.asarray(means) - np.mean(means, axis=0)
    _, _, vt = np.linalg.svd(means, full_matrices=False)
    return vt[: min(k, len(vt))].T


def fit_predict(xtr, ytr, str_, c, xs, k):
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-8
    z = (xtr - mu) / sd
    u = nap_basis(z, ytr, str_, k)
    proj = lambda a: a - (a @ u) @ u.T  # noqa: E731
    lr = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=0).fit(proj(z), ytr)
    return [lr.predict(proj((a - mu) / sd)) for a in xs]


def run(split):
    args = DataArguments(corpus=[f"ravdess={data}/ravdess", f"tess={data}/tess"], label_scheme="harmonized7", split=split)
    if split.startswith("ravdess-fold"):
        args = dataclasses.replace(args, corpus=[f"ravdess={data}/ravdess"])
    ds = load_rows(args)
    sp = make_split(ds, args, 42)
    rows = sp.train + sp.validation + sp.test
    clips = decode_rows(ds, rows, SR, None, 8)
    y = np.asarray([ds["emotion"][i] for i in rows])
    spk = np.asarray([ds["speaker"][i] for i in rows])
    gender = np.asarray([ds["gender"][i] for i in rows])
    x = functionals_matrix(clips, "speech-stats-pitch", cache=FeatureCache(default_cache_dir()))
    n, v = len(sp.train), len(sp.validation)
    tr, va, trva, te = slice(0, n), slice(n, n + v), slice(0, n + v), slice(n + v, None)
    out = {"split": split}
    for k in KS:
        val = {c: balanced_accuracy_score(y[va], fit_predict(x[tr], y[tr], spk[tr], c, [x[va]], k)[0]) for c in DEFAULT_C_GRID}
        c = max(DEFAULT_C_GRID, key=lambda q: (val[q], -q))
        pred = fit_predict(x[trva], y[trva], spk[trva], c, [x[te]], k)[0]
        res = {"val_ua": round(val[c], 3), "c": c, "test_ua": round(balanced_accuracy_score(y[te], pred), 3)}
        for sex in ("male", "female"):
            m = gender[te] == sex
            if m.sum():
                res[f"test_{sex}"] = round(balanced_accuracy_score(y[te][m], pred[m]), 3)
        out[f"k={k}"] = res
    print(json.dumps(out), flush=True)


for split in ["loco:tess", "loco:ravdess", *[f"ravdess-fold:{k}" for k in range(6)]]:
    run(split)
