"""Session 25, reported only (reads test rows of every recorded cross-corpus run; chooses nothing):
does a recipe's validation UA on the cross-corpus folds (validation speakers of the TRAINING corpus)
predict its test UA on the unseen corpus? Mean over the recorded seeds of each run, then the
correlation across runs, per direction.

    python benchmarks/exploration/2026-12-04-session25/val_vs_test.py
"""

import json
import os
import statistics

import numpy as np

ROOT = "benchmarks/results"
names = sorted({d[3:] for d in os.listdir(ROOT) if d.startswith("xc_") and not d.endswith(("_seed1", "_seed2"))})
rows = []
for n in names:
    vals, tests = {0: [], 1: []}, {0: [], 1: []}
    for s in ("", "_seed1", "_seed2"):
        for k in (0, 1):  # fold_0: TESS -> RAVDESS, fold_1: RAVDESS -> TESS
            d = f"{ROOT}/xc_{n}{s}/fold_{k}"
            try:
                v = json.load(open(d + "/val_metrics.json"))["ua"]
                t = json.load(open(d + "/test_metrics.json"))["ua"]
            except (OSError, KeyError, ValueError):
                continue
            vals[k].append(v)
            tests[k].append(t)
    if vals[0] and vals[1]:
        rows.append((n, len(vals[1]), *(statistics.mean(x) for x in (vals[1], tests[1], vals[0], tests[0]))))
print(f"{'run':50s} seeds  R->T val  R->T test  T->R val  T->R test")
for r in sorted(rows, key=lambda r: r[2]):
    print(f"{r[0][:50]:50s} {r[1]}      {r[2]:.3f}     {r[3]:.3f}     {r[4]:.3f}     {r[5]:.3f}")
a = np.array([r[2:] for r in rows])
enc = np.array(["encoder" in r[0] for r in rows])
for label, m in (("all runs", np.ones(len(rows), bool)), ("without the encoder recipes", ~enc)):
    print(f"{label} ({m.sum()}): corr(val, test) R->T {np.corrcoef(a[m, 0], a[m, 1])[0, 1]:.2f}, "
          f"T->R {np.corrcoef(a[m, 2], a[m, 3])[0, 1]:.2f}")
