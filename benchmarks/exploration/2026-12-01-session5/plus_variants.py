"""Column subsets of speech-stats-plus (exploration, not the package): is the absolute voice
height (log-F0 mean and percentiles) or the MFCC block worth keeping? C and the variant are read
on the validation speakers of the training side, as the package does.

    python benchmarks/exploration/2026-12-01-session5/plus_variants.py DATA_DIR > plus_variants.jsonl
"""

import dataclasses
import json
import sys

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from ser_hf.models.feature_extraction_functionals import N_PITCH_STATS, N_SPEECH_STATS
from ser_hf.training.arguments import DataArguments
from ser_hf.training.clips import decode_rows, load_rows, make_split
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir
from ser_hf.training.functionals import _fit
from ser_hf.training.linear import DEFAULT_C_GRID, functionals_matrix

SR = 16000
data = sys.argv[1]
D = N_SPEECH_STATS + N_PITCH_STATS + 9 * (64 + 122) + 7
SSP = np.arange(N_SPEECH_STATS + N_PITCH_STATS)
# the 'ours' block: 9 functionals of the 64 log-mel rows, then 9 of the 122 MFCC rows
LOGMEL = np.arange(N_SPEECH_STATS + N_PITCH_STATS, N_SPEECH_STATS + N_PITCH_STATS + 9 * 64)
MFCC = np.arange(LOGMEL[-1] + 1, D - 7)
F0 = np.arange(D - 7, D)  # mean, std, p5, p50, p95, p95 - p5, share
VARIANTS = {
    "plus": np.arange(D),
    "plus-no-abs-f0": np.concatenate([SSP, LOGMEL, MFCC, F0[[1, 5, 6]]]),
    "plus-no-mfcc": np.concatenate([SSP, LOGMEL, F0]),
    "plus-no-logmel": np.concatenate([SSP, MFCC, F0]),
}


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
    x_all = functionals_matrix(clips, "speech-stats-plus", cache=FeatureCache(default_cache_dir()))
    n, v = len(sp.train), len(sp.validation)
    tr, va, te, trva = slice(0, n), slice(n, n + v), slice(n + v, None), slice(0, n + v)
    out = {"split": split}
    for name, cols in VARIANTS.items():
        x = x_all[:, cols]
        val = {c: balanced_accuracy_score(y[va], _fit(x[tr], y[tr], c, 0).predict(x[va])) for c in DEFAULT_C_GRID}
        c = max(DEFAULT_C_GRID, key=lambda k: (val[k], -k))
        pred = _fit(x[trva], y[trva], c, 0).predict(x[te])
        res = {"val_ua": round(val[c], 3), "test_ua": round(balanced_accuracy_score(y[te], pred), 3), "c": c}
        if gender is not None:
            for g in ("male", "female"):
                m = gender[te] == g
                if m.sum():
                    res[g] = round(balanced_accuracy_score(y[te][m], pred[m]), 3)
        out[name] = res
    print(json.dumps(out), flush=True)


for split in ["loco:tess", "loco:ravdess", *[f"ravdess-fold:{k}" for k in range(6)]]:
    run(split)
