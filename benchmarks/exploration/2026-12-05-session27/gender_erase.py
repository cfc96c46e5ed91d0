"""Session 27, exploration on RAVDESS only: the in-domain check of shift_checks.py (actors 1-12 ->
13-24 and back) per gender, on the default's cached values, plain fits (as extra_blocks.py), with the
directions in which the training actors' male and female means differ projected out first (the
overall difference, or one per class: 1 or 7 directions), fitted on the training rows' gender.

    python gender_erase.py   # needs runs/s26/feats.npz
"""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.preprocessing import StandardScaler

d = np.load("runs/s26/feats.npz")
r = d["corpus"] == "ravdess"
x0, y = d["turn_encoder_2"][r], d["y"][r]
actor = np.array([int(s.split("_")[1]) for s in d["speaker"][r]])
male, low = actor % 2 == 1, actor <= 12


def erase(xs, tr, per_class):
    diffs = [xs[tr & male & (y == k)].mean(0) - xs[tr & ~male & (y == k)].mean(0) for k in range(7)]
    diffs = diffs if per_class else [xs[tr & male].mean(0) - xs[tr & ~male].mean(0)]
    q, _ = np.linalg.qr(np.stack(diffs, 1))
    return xs - (xs @ q) @ q.T


for how in ("none", "overall", "per class"):
    got = {"all": [], "male": [], "female": []}
    for source, target, val_actors in [(low, ~low, (11, 12)), (~low, low, (23, 24))]:
        va = source & np.isin(actor, val_actors)
        tr = source & ~va
        best = None
        for c in (0.001, 0.003, 0.01, 0.03, 0.1):
            sc = StandardScaler().fit(x0[tr])
            xs = sc.transform(x0)
            xs = xs if how == "none" else erase(xs, tr, how == "per class")
            lr = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(xs[tr], y[tr])
            best = max(best or (0, c, None), (balanced_accuracy_score(y[va], lr.predict(xs[va])), c, None))
        both = tr | va
        sc = StandardScaler().fit(x0[both])
        xs = sc.transform(x0)
        xs = xs if how == "none" else erase(xs, both, how == "per class")
        lr = LogisticRegression(C=best[1], max_iter=3000, class_weight="balanced").fit(xs[both], y[both])
        p = lr.predict(xs)
        for g, m in (("all", target), ("male", target & male), ("female", target & ~male)):
            got[g].append(balanced_accuracy_score(y[m], p[m]))
    print(f"{how:10s} " + "  ".join(f"{g} {np.mean(v):.3f}" for g, v in got.items()), flush=True)
