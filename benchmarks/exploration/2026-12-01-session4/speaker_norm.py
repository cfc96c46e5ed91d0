"""Speaker-normalised training paired with test-time adaptation (exploration, not the package).

speech-stats-pitch features (the package's cache). Variants, each with C chosen on the validation
speakers of the training side (validation scored the same way as the test):

* plain:       the package's recipe (StandardScaler over training clips, LogisticRegression).
* plain+adapt: the same model, test features centred on each TEST speaker's own mean (what
               ser-hf evaluate --adapt does): validation also adapted per validation speaker.
* spk:         training features centred per TRAINING speaker, then the plain fit; test
               features centred per test speaker (needs the test speaker's unlabelled clips,
               like --adapt). "spk-z" also scales per speaker.

    python benchmarks/exploration/2026-12-01-session4/speaker_norm.py DATA_DIR
"""

import dataclasses
import json
import sys

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from ser_hf.training.arguments import DataArguments
from ser_hf.training.clips import decode_rows, load_rows, make_split
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir
from ser_hf.training.functionals import _fit
from ser_hf.training.linear import DEFAULT_C_GRID, functionals_matrix

SR = 16000
data = sys.argv[1]
SET = sys.argv[2] if len(sys.argv) > 2 else "speech-stats-pitch"


def centre(x, spk, scale=False):
    out = x.copy()
    for s in np.unique(spk):
        m = spk == s
        out[m] = x[m] - x[m].mean(0)
        if scale:
            out[m] /= x[m].std(0) + 1e-6
    return out


def adapted_predict(clf, x, spk):
    """The plain model with its scaler mean replaced by each speaker's own mean."""
    pred = np.empty(len(x), dtype=int)
    scaler, lr = clf[0], clf[-1]
    for s in np.unique(spk):
        m = spk == s
        pred[m] = lr.predict((x[m] - x[m].mean(0)) / scaler.scale_)
    return pred


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
    gender = np.asarray([ds["gender"][i] for i in rows]) if "gender" in ds.column_names else None
    x = functionals_matrix(clips, SET, cache=FeatureCache(default_cache_dir()))
    n, v = len(sp.train), len(sp.validation)
    tr, va, te = slice(0, n), slice(n, n + v), slice(n + v, None)
    out = {"split": split}

    def score(name, fit_x, predict):
        val = {c: balanced_accuracy_score(y[va], predict(_fit(fit_x(tr), y[tr], c, 0), va)) for c in DEFAULT_C_GRID}
        c = max(DEFAULT_C_GRID, key=lambda k: (val[k], -k))
        trva = slice(0, n + v)
        clf = _fit(fit_x(trva), y[trva], c, 0)
        pred = predict(clf, te)
        res = {"val_ua": round(val[c], 3), "test_ua": round(balanced_accuracy_score(y[te], pred), 3), "c": c}
        if gender is not None:
            for g in ("male", "female"):
                m = gender[te] == g
                if m.sum():
                    res[g] = round(balanced_accuracy_score(y[te][m], pred[m]), 3)
        out[name] = res

    score("plain", lambda s: x[s], lambda clf, s: clf.predict(x[s]))
    score("plain+adapt", lambda s: x[s], lambda clf, s: adapted_predict(clf, x[s], spk[s]))
    score("spk", lambda s: centre(x[s], spk[s]), lambda clf, s: clf.predict(centre(x[s], spk[s])))
    score("spk-z", lambda s: centre(x[s], spk[s], True), lambda clf, s: clf.predict(centre(x[s], spk[s], True)))
    print(json.dumps(out), flush=True)


for split in ["loco:tess", "loco:ravdess", *[f"ravdess-fold:{k}" for k in range(6)]]:
    run(split)
