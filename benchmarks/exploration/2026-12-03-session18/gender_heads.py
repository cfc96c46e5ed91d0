"""Session 18: gender-dependent weights on the default's encoder values (``gender_rule.md``).
Validation rows go to stdout, test rows to ``--test-out`` (not read before the rule decides).

    python gender_heads.py runs/s13_matrices.npz runs/s16_encoder_w.npz runs/s17_conditions.npz DATA_DIR \
        --test-out T.jsonl r6t:0 ... xc:T->R
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score as ua

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "2026-12-03-session16"))
from encoder_states import CONDITIONS, PRESET, SEED, SPLITS, data_args  # noqa: E402

from ser_hf.training.clips import load_rows, make_split  # noqa: E402
from ser_hf.training.functionals import cell_balanced_weights  # noqa: E402
from ser_hf.training.presets import get_preset  # noqa: E402

VARIANTS = ["B", "GW", "GS"]


class Fitted:
    """Standardise (globally, or per gender for GS) -> (augment per gender for GW) -> logistic regression."""

    def __init__(self, x, y, g, c, w, variant):
        self.variant = variant
        self.mu, self.sd = x.mean(0), x.std(0) + 1e-12
        xs = (x - self.mu) / self.sd
        self.two = variant != "B" and len(np.unique(g)) == 2
        if self.two:  # a gender classifier on the same standardised values (never the labels at test)
            self.gate = LogisticRegression(C=1.0, max_iter=2000, random_state=SEED).fit(xs, g)
            self.stats = {s: (x[g == s].mean(0), x[g == s].std(0) + 1e-12) for s in np.unique(g)}
        self.lr = LogisticRegression(C=c, max_iter=3000, random_state=SEED).fit(self.tf(x, g), y, sample_weight=w)

    def tf(self, x, g=None):
        xs = (x - self.mu) / self.sd
        if not self.two:
            return xs
        if g is None:
            g = self.gate.predict(xs)
        if self.variant == "GS":
            out = np.empty_like(xs)
            for s, (mu, sd) in self.stats.items():
                out[g == s] = (x[g == s] - mu) / sd
            return out
        return np.concatenate([xs, xs * (g == "male")[:, None], xs * (g == "female")[:, None]], 1)

    def predict(self, x):
        return self.lr.predict(self.tf(x))


def run_fold(d, ew, cond, name, test_out, data, variants):
    grid = get_preset(PRESET)["config"]["c_grid"]
    ds = load_rows(data_args(data))
    sp = make_split(ds, data_args(data, SPLITS[name]), SEED)
    y, gender, k = d["y"], d["gender"], len(ew["copies"])
    groups = np.char.add(np.char.add(d["corpus"], "/"), d["gender"])
    tr, va, te = list(sp.train), list(sp.validation), list(sp.test)
    sets = [m[:, :1024].astype(np.float64) for m in (ew["p"], *ew["copies"])]
    held_sets = {c: cond[c][:, :1024].astype(np.float64) for c in CONDITIONS}
    for v in variants:
        t = time.time()

        def fit(rows, c):
            x, yy, gg = np.concatenate([m[rows] for m in sets]), np.tile(y[rows], k + 1), np.tile(gender[rows], k + 1)
            return Fitted(x, yy, gg, c / (k + 1), cell_balanced_weights(yy, np.tile(groups[rows], k + 1)), v)

        val = {}
        for c in grid:
            clf = fit(tr, c)
            p = clf.predict(sets[0][va])
            noisy = ua(np.tile(y[va], k), clf.predict(np.concatenate([m[va] for m in sets[1:]])))
            held = {cn: round(ua(y[va], clf.predict(m[va])), 4) for cn, m in held_sets.items()}
            gate = round(float(np.mean(clf.gate.predict((sets[0][va] - clf.mu) / clf.sd) == gender[va])), 4) if clf.two else None  # fmt: skip
            val[c] = {"score": (ua(y[va], p) + noisy) / 2, "clean": ua(y[va], p), "held_out": held, "gate_acc": gate,
                      "by_gender": {s: round(ua(y[va][gender[va] == s], p[gender[va] == s]), 4) for s in sorted(set(gender[va]))}}  # fmt: skip
        best = max(val, key=lambda c: (val[c]["score"], -c))
        b = val[best]
        row = {"fold": name, "variant": v, "c": best, "val_score": round(b["score"], 4),
               "val_clean": round(b["clean"], 4), "val_by_gender": b["by_gender"], "gate_acc": b["gate_acc"],
               "held_out": b["held_out"], "held_out_mean": round(float(np.mean(list(b["held_out"].values()))), 4),
               "val_by_c": {str(c): round(s["score"], 4) for c, s in val.items()}}  # fmt: skip
        print(json.dumps(row), flush=True)
        clf = fit(tr + va, best)
        pred = clf.predict(sets[0][te])
        g = gender[te]
        test = {"fold": name, "variant": v, "c": best, "test_ua": round(ua(y[te], pred), 4),
                "by_gender": {s: round(ua(y[te][g == s], pred[g == s]), 4) for s in sorted(set(g))}}  # fmt: skip
        with open(test_out, "a") as f:
            f.write(json.dumps(test) + "\n")
        print(f"# {name} {v}: {time.time() - t:.0f} s", file=sys.stderr, flush=True)


def main():
    p = argparse.ArgumentParser()
    for name in ("matrices", "windowed", "conditions", "data"):
        p.add_argument(name)
    p.add_argument("--test-out", required=True)
    p.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
    p.add_argument("folds", nargs="+", choices=list(SPLITS))
    args = p.parse_args()
    d, ew, ce = dict(np.load(args.matrices)), dict(np.load(args.windowed)), np.load(args.conditions)
    cond = {c: ce[c.replace(":", "_")] for c in CONDITIONS}
    for name in args.folds:
        run_fold(d, ew, cond, name, args.test_out, args.data, args.variants)


if __name__ == "__main__":
    main()
