"""Ensembles and other classifiers on the cross-corpus protocol (exploration, not the package).

Feature sets through the package's cache: speech-stats-pitch (the default's), ours (1,681
functionals of log-mel, MFCC, YIN F0), compare+ours (openSMILE ComParE 2016 + ours; ComParE's
licence is non-commercial, so it could never be the default). Every member's C is chosen on the
validation speakers of the training side; ensembles average the members' probabilities (each
member refitted on training + validation speakers, as the package does). Validation scores of an
ensemble average the members' training-only fits' validation probabilities.

    python benchmarks/exploration/2026-12-01-session5/ensembles.py DATA_DIR > ensembles.jsonl
"""

import dataclasses
import itertools
import json
import sys

import numpy as np
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ser_hf.training.arguments import DataArguments
from ser_hf.training.clips import decode_rows, load_rows, make_split
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir
from ser_hf.training.functionals import _fit
from ser_hf.training.linear import DEFAULT_C_GRID, functionals_matrix

SR = 16000
data = sys.argv[1]
SETS = sys.argv[2].split(",") if len(sys.argv) > 2 else ["speech-stats-pitch", "ours", "compare+ours"]
SVM_C = (0.3, 1.0, 3.0, 10.0)


def lr(c):
    return lambda x, y: _fit(x, y, c, 0)


def svm(c):
    return lambda x, y: make_pipeline(
        StandardScaler(), SVC(C=c, kernel="rbf", class_weight="balanced", probability=True, random_state=0)
    ).fit(x, y)


def run(split):
    args = DataArguments(corpus=[f"ravdess={data}/ravdess", f"tess={data}/tess"], label_scheme="harmonized7", split=split)
    if split.startswith("ravdess-fold"):
        args = dataclasses.replace(args, corpus=[f"ravdess={data}/ravdess"])
    ds = load_rows(args)
    sp = make_split(ds, args, 42)
    rows = sp.train + sp.validation + sp.test
    clips = decode_rows(ds, rows, SR, None, 8)
    y = np.asarray([ds["emotion"][i] for i in rows])
    gender = np.asarray([ds["gender"][i] for i in rows]) if "gender" in ds.column_names else None
    cache = FeatureCache(default_cache_dir())
    xs = {s: functionals_matrix(clips, s, cache=cache) for s in SETS}
    xs["ssp+ours"] = np.hstack([xs["speech-stats-pitch"], xs["ours"]]) if "ours" in xs else None
    n, v = len(sp.train), len(sp.validation)
    tr, va, te, trva = slice(0, n), slice(n, n + v), slice(n + v, None), slice(0, n + v)
    out = {"split": split}
    members = {}  # name -> (validation probabilities, test probabilities)

    def member(name, x, makers):
        val = {}
        for c, make in makers.items():
            clf = make(x[tr], y[tr])
            val[c] = (balanced_accuracy_score(y[va], clf.predict(x[va])), clf.predict_proba(x[va]))
        c = max(val, key=lambda k: (val[k][0], -k))
        clf = makers[c](x[trva], y[trva])
        members[name] = (val[c][1], clf.predict_proba(x[te]))
        out[name] = {"c": c}

    for s, x in xs.items():
        if x is not None:
            member(f"lr:{s}", x, {c: lr(c) for c in DEFAULT_C_GRID})
    member("svm:speech-stats-pitch", xs["speech-stats-pitch"], {c: svm(c) for c in SVM_C})

    names = list(members)
    combos = [(m,) for m in names] + [
        combo
        for k in (2, 3)
        for combo in itertools.combinations([m for m in names if m != "lr:ssp+ours"], k)
    ]
    for combo in combos:
        pv = np.mean([members[m][0] for m in combo], 0)
        pt = np.mean([members[m][1] for m in combo], 0)
        pred = pt.argmax(1)
        res = {
            "val_ua": round(balanced_accuracy_score(y[va], pv.argmax(1)), 3),
            "test_ua": round(balanced_accuracy_score(y[te], pred), 3),
        }
        if gender is not None:
            for g in ("male", "female"):
                m = gender[te] == g
                if m.sum():
                    res[g] = round(balanced_accuracy_score(y[te][m], pred[m]), 3)
        out.setdefault("scores", {})[" + ".join(combo)] = res
    print(json.dumps(out), flush=True)


for split in ["loco:tess", "loco:ravdess", *[f"ravdess-fold:{k}" for k in range(6)]]:
    run(split)
