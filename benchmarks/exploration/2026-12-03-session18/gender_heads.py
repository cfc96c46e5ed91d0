"""Session 18: gender-dependent weights on the default's encoder values (``gender_rule.md``).
Validation rows go to stdout, test rows to ``--test-out`` (not read before the rule decides).

    python gender_heads.py runs/s13_matrices.npz runs/s16_encoder_w.npz runs/s17_conditions.npz DATA_DIR \
        --test-out T.jsonl r6t:0 ... xc:T->R
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "2026-12-03-session16"))
sys.path.insert(0, str(HERE / "2026-12-03-session18"))
from common import fitter, score_variant, split  # noqa: E402
from encoder_states import CONDITIONS, SEED, SPLITS  # noqa: E402


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
    rows = split(data, name)
    gender = d["gender"]
    sets = [m[:, :1024].astype(np.float64) for m in (ew["p"], *ew["copies"])]
    held_sets = {c: cond[c][:, :1024].astype(np.float64) for c in CONDITIONS}

    def gate_accuracy(clf, va):
        if not clf.two:
            return {"gate_acc": None}
        return {"gate_acc": round(float(np.mean(clf.gate.predict((sets[0][va] - clf.mu) / clf.sd) == gender[va])), 4)}

    for v in variants:
        fit = fitter(d, sets, lambda x, y, g, c, w: Fitted(x, y, g, c, w, v))
        score_variant(name, v, sets, held_sets, fit, d["y"], gender, rows, test_out, gate_accuracy)


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
