"""Session 21: the default (encoder values) and the previous default (functionals) averaged
(``late_fusion_rule.md``). Validation rows go to stdout, test rows to ``--test-out`` (not read
before the rule decides). Session 18's harness and saved values:

    python late_fusion.py runs/s13_matrices.npz runs/s16_encoder_w.npz runs/s17_conditions.npz \
        runs/s18_conditions.npz DATA_DIR --test-out T.jsonl r6t:0 ... xc:T->R
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score as ua

HERE = Path(__file__).resolve().parent.parent
for s in ("2026-12-03-session16", "2026-12-03-session17", "2026-12-03-session18"):
    sys.path.insert(0, str(HERE / s))
from common import _by_gender, fitter, split  # noqa: E402
from encoder_states import CONDITIONS, SPLITS  # noqa: E402
from speaker_subspace import Fitted  # noqa: E402


def proba(clf, x):
    return clf.lr.predict_proba(clf.tf(x))


def member(sets, held, fit, y, rows):
    """C chosen on the member's own validation score (clean and copies), as ``score_variant``; its
    validation, copy, held-out and test probabilities (test: refitted on training + validation)."""
    tr, va, te, grid = rows
    k, best, fitted = len(sets) - 1, None, {}
    for c in grid:
        clf = fit(tr, c)
        clean = ua(y[va], clf.predict(sets[0][va]))
        noisy = ua(np.tile(y[va], k), clf.predict(np.concatenate([m[va] for m in sets[1:]])))
        fitted[c] = (clf, (clean + noisy) / 2)
    best = max(fitted, key=lambda c: (fitted[c][1], -c))
    clf = fitted[best][0]
    p = {"val": proba(clf, sets[0][va]), "copies": [proba(clf, m[va]) for m in sets[1:]]}
    p["held"] = {cn: proba(clf, m[va]) for cn, m in held.items()}
    p["test"] = proba(fit(tr + va, best), sets[0][te])
    return best, p, clf.lr.classes_


def row(name, v, c, p, classes, y, gender, rows, test_out):
    tr, va, te, _ = rows
    pred = lambda q: classes[q.argmax(1)]  # noqa: E731
    clean = ua(y[va], pred(p["val"]))
    noisy = ua(np.tile(y[va], len(p["copies"])), pred(np.concatenate(p["copies"])))
    held = {cn: round(ua(y[va], pred(q)), 4) for cn, q in p["held"].items()}
    out = {"fold": name, "variant": v, "c": c, "val_score": round((clean + noisy) / 2, 4), "val_clean": round(clean, 4),
           "val_by_gender": _by_gender(y[va], pred(p["val"]), gender[va]), "held_out": held,
           "held_out_mean": round(float(np.mean(list(held.values()))), 4)}  # fmt: skip
    print(json.dumps(out), flush=True)
    t = pred(p["test"])
    with open(test_out, "a") as f:
        f.write(json.dumps({"fold": name, "variant": v, "c": c, "test_ua": round(ua(y[te], t), 4),
                            "by_gender": _by_gender(y[te], t, gender[te])}) + "\n")  # fmt: skip


def main():
    a = argparse.ArgumentParser()
    for n in ("matrices", "windowed", "encoder_conditions", "functionals_conditions", "data"):
        a.add_argument(n)
    a.add_argument("--test-out", required=True)
    a.add_argument("folds", nargs="+", choices=list(SPLITS))
    args = a.parse_args()
    d, ew = dict(np.load(args.matrices)), dict(np.load(args.windowed))
    ce, cf = np.load(args.encoder_conditions), np.load(args.functionals_conditions)
    y, gender = d["y"], d["gender"]
    make = lambda x, yy, g, c, w: Fitted(x, yy, c, w)  # noqa: E731
    enc = [m[:, :1024].astype(np.float64) for m in (ew["p"], *ew["copies"])]
    fun = [m.astype(np.float64) for m in (d["x"], *d["copies"])]
    held_e = {c: ce[c.replace(":", "_")][:, :1024].astype(np.float64) for c in CONDITIONS}
    held_f = {c: cf[c.replace(":", "_")].astype(np.float64) for c in CONDITIONS}
    for name in args.folds:
        t = time.time()
        rows = split(args.data, name)
        cb, pb, kb = member(enc, held_e, fitter(d, enc, make), y, rows)
        cf_, pf, kf = member(fun, held_f, fitter(d, fun, make), y, rows)
        assert list(kb) == list(kf), (kb, kf)
        row(name, "B", cb, pb, kb, y, gender, rows, args.test_out)
        row(name, "F", cf_, pf, kf, y, gender, rows, args.test_out)
        avg = lambda a, b: (a + b) / 2  # noqa: E731
        pl = {"val": avg(pb["val"], pf["val"]), "copies": [avg(a, b) for a, b in zip(pb["copies"], pf["copies"])],
              "held": {c: avg(pb["held"][c], pf["held"][c]) for c in CONDITIONS}, "test": avg(pb["test"], pf["test"])}  # fmt: skip
        row(name, "LF", f"{cb}+{cf_}", pl, kb, y, gender, rows, args.test_out)
        print(f"# {name}: {time.time() - t:.0f} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
