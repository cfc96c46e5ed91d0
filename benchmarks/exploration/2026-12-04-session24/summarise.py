"""Session 24: per-variant means of ``turn_folds_val.jsonl`` (or the test file with ``--test``)."""

import json
import sys
from collections import defaultdict

import numpy as np

FOLDS = ["r6t:0", "r6t:1", "r6t:2", "r6t:3", "r6t:4", "r6t:5", "xc:R->T", "xc:T->R"]


def main():
    path, test = sys.argv[1], "--test" in sys.argv
    rows = defaultdict(dict)
    for line in open(path):
        r = json.loads(line)
        rows[r["variant"]][r["fold"]] = r
    for v, by in rows.items():
        got = [by[f] for f in FOLDS if f in by]
        r6t = [by[f] for f in FOLDS[:6] if f in by]
        if test:
            per = " ".join(f"{r['test_ua']:.3f}" for r in got)
            g = {
                s: np.mean([r["by_gender"][s] for r in r6t if s in r["by_gender"]])
                for s in ("male", "female")
            }
            print(
                f"{v:4s} test {per}  r6t mean {np.mean([r['test_ua'] for r in r6t]):.3f} (m/f {g['male']:.3f}/{g['female']:.3f})"
            )
            continue
        per = " ".join(f"{r['val_score']:.3f}" for r in got)
        g = {s: np.mean([r["val_by_gender"][s] for r in r6t]) for s in ("male", "female")}
        print(
            f"{v:4s} ({len(got)} folds) {per}  mean {np.mean([r['val_score'] for r in got]):.4f}  "
            f"held-out {np.mean([r['held_out_mean'] for r in got]):.4f}  r6t val m/f {g['male']:.3f}/{g['female']:.3f}"
        )


if __name__ == "__main__":
    main()
