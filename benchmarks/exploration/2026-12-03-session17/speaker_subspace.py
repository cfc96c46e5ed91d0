"""Session 17: speaker-invariant uses of the default's encoder values (``decision_rule.md``).
Validation rows go to stdout, test rows to ``--test-out`` (not read before the rule decides).

    python speaker_subspace.py conditions DATA_DIR RZ/resemblyzer/pretrained.pt runs/s17_conditions.npz
    python speaker_subspace.py folds runs/s13_matrices.npz runs/s16_encoder_w.npz runs/s17_conditions.npz DATA_DIR \
        --test-out T.jsonl r6t:0 ... xc:T->R
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score as ua

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-12-03-session16"))
from encoder_states import CONDITIONS, PRESET, SEED, SPLITS, Encoder, data_args  # noqa: E402

from ser_hf.data.channel import apply_channel  # noqa: E402
from ser_hf.training.clips import decode_rows, load_rows, make_split  # noqa: E402
from ser_hf.training.functionals import cell_balanced_weights  # noqa: E402
from ser_hf.training.presets import get_preset  # noqa: E402

VARIANTS = ["B", "N", "S"]
K_GRID = [2, 4, 8, 16]
SD_COLUMNS = np.r_[256:512, 768:1024]


def conditions(data, weights, out, chunk=200):
    """Pw12 of every clip through each held-out condition (seed 42 + the clip's row)."""
    ds = load_rows(data_args(data))
    enc = Encoder(weights)
    res = {c: np.zeros((len(ds), 1024), np.float32) for c in CONDITIONS}
    t = time.time()
    for s in range(0, len(ds), chunk):
        rows = list(range(s, min(s + chunk, len(ds))))
        clips = decode_rows(ds, rows, 16000, None, 2)
        for c in CONDITIONS:
            waves = [apply_channel(w, c, 16000, SEED + r) for r, w in zip(rows, clips)]
            res[c][rows] = enc.windowed(waves)[:, :1024]
        print(f"# {rows[-1] + 1}/{len(ds)} {time.time() - t:.0f} s", file=sys.stderr, flush=True)
    np.savez(out, **{c.replace(":", "_"): v for c, v in res.items()})


class Fitted:
    """StandardScaler -> (projection) -> LogisticRegression; the projection removes ``u``'s columns."""

    def __init__(self, x, y, c, w, u=None):
        from sklearn.linear_model import LogisticRegression

        self.mu, self.sd = x.mean(0), x.std(0) + 1e-12
        self.u = u
        self.lr = LogisticRegression(C=c, max_iter=3000, random_state=SEED).fit(self.tf(x), y, sample_weight=w)

    def tf(self, x):
        xs = (x - self.mu) / self.sd
        return xs if self.u is None else xs - (xs @ self.u) @ self.u.T

    def predict(self, x):
        return self.lr.predict(self.tf(x))


def speaker_directions(xs, y, spk, k):
    """The top ``k`` right singular vectors of the centred (class-balanced) speaker means of ``xs``."""
    means = []
    for s in np.unique(spk):
        m = spk == s
        means.append(np.mean([xs[m & (y == c)].mean(0) for c in np.unique(y[m])], axis=0))
    means = np.asarray(means)
    _, sv, vt = np.linalg.svd(means - means.mean(0), full_matrices=False)
    rank = int((sv > 1e-8 * max(sv.max(), 1e-300)).sum())  # one speaker: no direction to remove
    return vt[: min(k, rank)].T


def run_fold(d, ew, cond, name, test_out, data, variants):
    grid = get_preset(PRESET)["config"]["c_grid"]
    ds = load_rows(data_args(data))
    sp = make_split(ds, data_args(data, SPLITS[name]), SEED)
    y, gender, k = d["y"], d["gender"], len(ew["copies"])
    groups = np.char.add(np.char.add(d["corpus"], "/"), d["gender"])
    spk = np.char.add(np.char.add(d["corpus"], "/"), d["speaker"])
    tr, va, te = list(sp.train), list(sp.validation), list(sp.test)
    for v in variants:
        t = time.time()
        cols = SD_COLUMNS if v == "S" else np.arange(1024)
        sets = [m[:, cols].astype(np.float64) for m in (ew["p"], *ew["copies"])]
        held_sets = {c: m[:, cols].astype(np.float64) for c, m in cond.items()}

        def stacked(rows):
            return np.concatenate([m[rows] for m in sets])

        def fit(rows, c, kk):
            x, yy = stacked(rows), np.tile(y[rows], k + 1)
            w = cell_balanced_weights(yy, np.tile(groups[rows], k + 1))
            u = None
            if kk:
                xs = (x - x.mean(0)) / (x.std(0) + 1e-12)
                u = speaker_directions(xs, yy, np.tile(spk[rows], k + 1), kk)
                u = u if u.shape[1] else None
            return Fitted(x, yy, c / (k + 1), w, u)

        val = {}
        for kk in K_GRID if v == "N" else [0]:
            for c in grid:
                clf = fit(tr, c, kk)
                p = clf.predict(sets[0][va])
                noisy = ua(np.tile(y[va], k), clf.predict(np.concatenate([m[va] for m in sets[1:]])))
                held = {cn: round(ua(y[va], clf.predict(m[va])), 4) for cn, m in held_sets.items()}
                val[(kk, c)] = {"score": (ua(y[va], p) + noisy) / 2, "clean": ua(y[va], p), "held_out": held,
                                "by_gender": {s: round(ua(y[va][gender[va] == s], p[gender[va] == s]), 4) for s in sorted(set(gender[va]))}}  # fmt: skip
        best = max(val, key=lambda kc: (val[kc]["score"], -kc[0], -kc[1]))
        b = val[best]
        row = {"fold": name, "variant": v, "k": best[0], "c": best[1], "val_score": round(b["score"], 4),
               "val_clean": round(b["clean"], 4), "val_by_gender": b["by_gender"], "held_out": b["held_out"],
               "held_out_mean": round(float(np.mean(list(b["held_out"].values()))), 4),
               "val_by_kc": {f"{kk}|{c}": round(s["score"], 4) for (kk, c), s in val.items()}}  # fmt: skip
        print(json.dumps(row), flush=True)
        clf = fit(tr + va, best[1], best[0])
        pred = clf.predict(sets[0][te])
        g = gender[te]
        test = {"fold": name, "variant": v, "k": best[0], "c": best[1], "test_ua": round(ua(y[te], pred), 4),
                "by_gender": {s: round(ua(y[te][g == s], pred[g == s]), 4) for s in sorted(set(g))}}  # fmt: skip
        with open(test_out, "a") as f:
            f.write(json.dumps(test) + "\n")
        print(f"# {name} {v}: {time.time() - t:.0f} s", file=sys.stderr, flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("conditions")
    a.add_argument("data")
    a.add_argument("weights")
    a.add_argument("out")
    b = sub.add_parser("folds")
    b.add_argument("matrices")
    b.add_argument("windowed")
    b.add_argument("conditions")
    b.add_argument("data")
    b.add_argument("--test-out", required=True)
    b.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
    b.add_argument("folds", nargs="+", choices=list(SPLITS))
    args = p.parse_args()
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    if args.cmd == "conditions":
        conditions(args.data, args.weights, args.out)
    else:
        d, ew = dict(np.load(args.matrices)), dict(np.load(args.windowed))
        cond = {c: np.load(args.conditions)[c.replace(":", "_")] for c in CONDITIONS}
        for name in args.folds:
            run_fold(d, ew, cond, name, args.test_out, args.data, args.variants)


if __name__ == "__main__":
    main()
