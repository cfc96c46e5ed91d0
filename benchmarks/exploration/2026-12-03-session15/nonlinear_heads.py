"""Session 15: nonlinear heads (an RBF kernel map, a one-hidden-layer MLP) on the default's vectors,
unadapted (``decision_rule.md``). Validation rows go to stdout (one jsonl row per fold and variant),
test rows to ``--test-out`` (not read before the rule decides). Uses session 13's vectors:

    python ../2026-12-03-session13/speaker_norm.py prepare DATA_DIR runs/s13_matrices.npz
    python nonlinear_heads.py runs/s13_matrices.npz DATA_DIR --test-out T.jsonl r6t:0 xc:R->T ...
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score as ua
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ser_hf.training.clips import load_rows, make_split
from ser_hf.training.functionals import cell_balanced_weights
from ser_hf.training.presets import get_preset

sys.path.insert(0, str(Path(__file__).parent.parent / "2026-12-03-session14"))
from robust_inputs import PRESET, SEED, SPLITS, data_args, main  # noqa: E402  (session 14's folds and CLI)

VARIANTS = ["A", "N", "M"]
ALPHAS = [1.0, 3.0, 10.0, 30.0]  # M's L2 grid


def grid(variant, k):
    """(hyperparameter shown, value passed) pairs: C scaled by 1/(k+1) as the package does, or alpha."""
    if variant == "M":
        return [(a, a) for a in ALPHAS]
    return [(c, c / (k + 1)) for c in get_preset(PRESET)["config"]["c_grid"]]


def make(variant, h, d):
    if variant == "M":
        mlp = MLPClassifier((128,), alpha=h, batch_size=256, learning_rate_init=1e-3, max_iter=40,
                            random_state=SEED)  # fmt: skip
        return make_pipeline(StandardScaler(), mlp)
    lr = LogisticRegression(C=h, max_iter=3000, random_state=SEED)
    if variant == "A":
        return make_pipeline(StandardScaler(), lr)
    kernel = Nystroem(kernel="rbf", gamma=1.0 / d, n_components=1000, random_state=SEED)
    return make_pipeline(StandardScaler(), kernel, StandardScaler(), lr)


def fit(variant, h, x, y, w):
    m = make(variant, h, x.shape[1])
    name = m.steps[-1][0]
    return m.fit(x, y, **{f"{name}__sample_weight": w})


def run_fold(d, name, variants, test_out, data):
    sp = make_split(load_rows(data_args(data)), data_args(data, SPLITS[name]), SEED)
    x, copies, y, gender = d["x"], d["copies"], d["y"], d["gender"]
    sets, k = [x, *copies], len(copies)
    groups = np.char.add(np.char.add(d["corpus"], "/"), d["gender"])
    tr, va, te = list(sp.train), list(sp.validation), list(sp.test)

    def stacked(rows):
        return np.concatenate([m[rows].astype(np.float64) for m in sets])

    def weighted(rows):
        yy = np.tile(y[rows], k + 1)
        return stacked(rows), yy, cell_balanced_weights(yy, np.tile(groups[rows], k + 1))

    def by_gender(g, truth, pred):
        return {s: round(ua(truth[g == s], pred[g == s]), 4) for s in sorted(set(g))}

    train, every = weighted(tr), weighted(tr + va)
    gva, gte = gender[va], gender[te]
    for v in variants:
        t = time.time()
        val = {}
        for shown, h in grid(v, k):
            clf = fit(v, h, *train)
            p = clf.predict(x[va])
            noisy = ua(np.tile(y[va], k), clf.predict(np.concatenate([m[va] for m in copies])))
            val[shown] = {"score": (ua(y[va], p) + noisy) / 2, "clean": ua(y[va], p), "by_gender": by_gender(gva, y[va], p)}
        best = max(val, key=lambda c: (val[c]["score"], -c if v != "M" else c))  # ties: the stronger penalty
        row = {"fold": name, "variant": v, "h": best, "val_score": round(val[best]["score"], 4),
               "val_clean": round(val[best]["clean"], 4), "val_by_gender": val[best]["by_gender"],
               "val_by_h": {str(c): round(s["score"], 4) for c, s in val.items()}}  # fmt: skip
        print(json.dumps(row), flush=True)
        pred = fit(v, dict(grid(v, k))[best], *every).predict(x[te])
        test = {"fold": name, "variant": v, "h": best, "test_ua": round(ua(y[te], pred), 4),
                "by_gender": by_gender(gte, y[te], pred)}  # fmt: skip
        with open(test_out, "a") as f:
            f.write(json.dumps(test) + "\n")
        print(f"# {name} {v}: {time.time() - t:.0f} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main(run_fold, VARIANTS)
