"""Session 14: clipped and rank-Gauss inputs for the default's linear fit, unadapted
(``decision_rule.md``). Validation rows go to stdout (one jsonl row per fold and variant), test rows
to ``--test-out`` (not read before the rule decides). Uses session 13's vectors:

    python ../2026-12-03-session13/speaker_norm.py prepare DATA_DIR runs/s13_matrices.npz
    python robust_inputs.py runs/s13_matrices.npz DATA_DIR --test-out T.jsonl r6t:0 xc:R->T ...
"""

import argparse
import json
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score as ua
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, QuantileTransformer, StandardScaler

from ser_hf.training.clips import load_rows, make_split
from ser_hf.training.functionals import cell_balanced_weights
from ser_hf.training.presets import get_preset

PRESET = "speech-stats-mfcc-speech-voices"  # the default's recipe
SEED = 42
SPLITS = {f"r6t:{k}": f"ravdess-fold:{k}" for k in range(6)} | {
    "xc:R->T": "loco:tess",
    "xc:T->R": "loco:ravdess",
}
VARIANTS = ["A", "K3", "K2", "Q", "E", "La", "Lg", "Lw"]
SHRINKAGE = [0.03, 0.1, 0.3, 0.6, 0.9]  # Lg's grid


def data_args(data, split="none"):
    from ser_hf.training.arguments import DataArguments

    return DataArguments(
        corpus=[f"ravdess={data}/ravdess", f"tess={data}/tess"], label_scheme="harmonized7", split=split
    )


def model(variant, c):
    lr = LogisticRegression(C=c, max_iter=3000, random_state=SEED)
    if variant == "A":
        return make_pipeline(StandardScaler(), lr)
    if variant.startswith("K"):
        k = float(variant[1:])
        return make_pipeline(StandardScaler(), FunctionTransformer(np.clip, kw_args={"a_min": -k, "a_max": k}), lr)
    q = QuantileTransformer(n_quantiles=200, output_distribution="normal", subsample=None, random_state=SEED)
    return make_pipeline(q, StandardScaler(), lr)


class WeightedLDA:
    """Lw: LDA with sample weights: weighted class means, weighted pooled within-class covariance
    shrunk towards its mean variance, uniform priors; one linear layer (``coef_``, ``intercept_``)."""

    def __init__(self, shrinkage):
        self.shrinkage = shrinkage

    def fit(self, x, y, sample_weight):
        w = np.asarray(sample_weight, dtype=np.float64)
        self.classes_ = np.unique(y)
        idx = np.searchsorted(self.classes_, y)
        means = np.stack([np.average(x[idx == k], axis=0, weights=w[idx == k]) for k in range(len(self.classes_))])
        centred = x - means[idx]
        cov = (centred * w[:, None]).T @ centred / w.sum()
        d = cov.shape[0]
        sigma = (1 - self.shrinkage) * cov + self.shrinkage * np.trace(cov) / d * np.eye(d)
        self.coef_ = np.linalg.solve(sigma, means.T).T
        self.intercept_ = -0.5 * (self.coef_ * means).sum(1) - np.log(len(self.classes_))
        return self

    def predict(self, x):
        return self.classes_[(x @ self.coef_.T + self.intercept_).argmax(1)]


class ScaledWLDA:
    def __init__(self, shrinkage):
        self.scaler, self.lda = StandardScaler(), WeightedLDA(shrinkage)

    def fit(self, x, y, logisticregression__sample_weight):
        self.lda.fit(self.scaler.fit_transform(x), y, logisticregression__sample_weight)
        return self

    def predict(self, x):
        return self.lda.predict(self.scaler.transform(x))


def fit(variant, c, x, y, w):
    if variant == "Lw":
        return ScaledWLDA(c).fit(x, y, logisticregression__sample_weight=w)
    if variant in ("La", "Lg"):  # c is the shrinkage ("auto" for La); no sample weights
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

        lda = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=c, priors=np.full(len(np.unique(y)), 1 / len(np.unique(y))))
        return make_pipeline(StandardScaler(), lda).fit(x, y)
    return model("A" if variant == "E" else variant, c).fit(x, y, logisticregression__sample_weight=w)


class Averaged:
    """E: the fits at every C of the grid, their decision functions (logits) averaged."""

    def __init__(self, fits):
        self.fits = fits

    def predict(self, x):
        logits = np.mean([f.decision_function(x) for f in self.fits], 0)
        return self.fits[0].classes_[logits.argmax(1)]


def run_averaged(grid, k, x, copies, y, xtr, ytr, wtr, xall, yall, wall, va, te, gva, gte, name, test_out):
    t = time.time()
    clf = Averaged([fit("E", c / (k + 1), xtr, ytr, wtr) for c in grid])
    p = clf.predict(x[va])
    noisy = ua(np.tile(y[va], k), clf.predict(np.concatenate([m[va] for m in copies])))
    row = {"fold": name, "variant": "E", "c": "all", "val_score": round((ua(y[va], p) + noisy) / 2, 4),
           "val_clean": round(ua(y[va], p), 4),
           "val_by_gender": {s: round(ua(y[va][gva == s], p[gva == s]), 4) for s in sorted(set(gva))}}  # fmt: skip
    print(json.dumps(row), flush=True)
    pred = Averaged([fit("E", c / (k + 1), xall, yall, wall) for c in grid]).predict(x[te])
    test = {"fold": name, "variant": "E", "c": "all", "test_ua": round(ua(y[te], pred), 4),
            "by_gender": {s: round(ua(y[te][gte == s], pred[gte == s]), 4) for s in sorted(set(gte))}}  # fmt: skip
    with open(test_out, "a") as f:
        f.write(json.dumps(test) + "\n")
    print(f"# {name} E: {time.time() - t:.0f} s", file=sys.stderr, flush=True)


def run_fold(d, name, variants, test_out, data):
    grid = get_preset(PRESET)["config"]["c_grid"]
    sp = make_split(load_rows(data_args(data)), data_args(data, SPLITS[name]), SEED)
    x, copies, y, gender = d["x"], d["copies"], d["y"], d["gender"]
    sets = [x, *copies]
    k = len(copies)
    groups = np.char.add(np.char.add(d["corpus"], "/"), d["gender"])
    tr, va, te = list(sp.train), list(sp.validation), list(sp.test)

    def stacked(rows):
        return np.concatenate([m[rows].astype(np.float64) for m in sets])

    def tiled(col, rows):
        return np.tile(col[rows], k + 1)

    xtr, ytr = stacked(tr), tiled(y, tr)
    wtr = cell_balanced_weights(ytr, tiled(groups, tr))
    rows = tr + va
    xall, yall = stacked(rows), tiled(y, rows)
    wall = cell_balanced_weights(yall, tiled(groups, rows))
    gva, gte = gender[va], gender[te]
    for v in variants:
        if v == "E":
            run_averaged(grid, k, x, copies, y, xtr, ytr, wtr, xall, yall, wall, va, te, gva, gte, name, test_out)
            continue
        t = time.time()
        val = {}
        scale = 1.0 / (k + 1)
        vgrid = grid
        if v in ("La", "Lg", "Lw"):
            vgrid, scale = (["auto"] if v == "La" else SHRINKAGE), 1.0
        for c in vgrid:
            clf = fit(v, c if c == "auto" else c * scale, xtr, ytr, wtr)
            p = clf.predict(x[va])
            noisy = ua(np.tile(y[va], k), clf.predict(np.concatenate([m[va] for m in copies])))
            val[c] = {"score": (ua(y[va], p) + noisy) / 2, "clean": ua(y[va], p),
                      "by_gender": {s: round(ua(y[va][gva == s], p[gva == s]), 4) for s in sorted(set(gva))}}  # fmt: skip
        best = max(vgrid, key=lambda c: (val[c]["score"], 0 if c == "auto" else -c))
        row = {"fold": name, "variant": v, "c": best, "val_score": round(val[best]["score"], 4),
               "val_clean": round(val[best]["clean"], 4), "val_by_gender": val[best]["by_gender"],
               "val_by_c": {str(c): round(s["score"], 4) for c, s in val.items()}}  # fmt: skip
        print(json.dumps(row), flush=True)
        clf = fit(v, best if best == "auto" else best * scale, xall, yall, wall)
        pred = clf.predict(x[te])
        test = {"fold": name, "variant": v, "c": best, "test_ua": round(ua(y[te], pred), 4),
                "by_gender": {s: round(ua(y[te][gte == s], pred[gte == s]), 4) for s in sorted(set(gte))}}  # fmt: skip
        with open(test_out, "a") as f:
            f.write(json.dumps(test) + "\n")
        print(f"# {name} {v}: {time.time() - t:.0f} s", file=sys.stderr, flush=True)


def main(fold_runner=None, variants=VARIANTS):
    """The command line; session 15's ``nonlinear_heads.py`` passes its own ``run_fold`` and variants."""
    p = argparse.ArgumentParser()
    p.add_argument("matrices")
    p.add_argument("data")
    p.add_argument("--test-out", required=True)
    p.add_argument("--variants", nargs="+", default=variants, choices=variants)
    p.add_argument("folds", nargs="+", choices=list(SPLITS))
    args = p.parse_args()
    d = dict(np.load(args.matrices))
    for name in args.folds:
        (fold_runner or run_fold)(d, name, args.variants, args.test_out, args.data)


if __name__ == "__main__":
    main()
