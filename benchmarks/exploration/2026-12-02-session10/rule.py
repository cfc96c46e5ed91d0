"""Rule 1 of decision_rule.md: mean validation UA over r6t folds 0-5 (seed 42) + xc folds at seeds 42/1/2, from the
committed ser-hf cv records (run from the repository root)."""

import json, sys
from pathlib import Path


def runs(root, name):
    r6t = [Path(root) / f"r6t_{name}" / f"fold_{k}" for k in range(6)]
    xc = [Path(root) / f"xc_{name}{s}" / f"fold_{k}" for s in ("", "_seed1", "_seed2") for k in (0, 1)]
    return r6t + xc


def ua(d, f):
    p = d / f
    return json.load(open(p))["ua"] if p.is_file() else None


for root, name in (
    ("benchmarks/results", "speech_stats_mfcc_rooms"),
    ("benchmarks/results", "speech_stats_mfcc_rooms_gender"),
):
    v = [ua(d, "val_metrics.json") for d in runs(root, name)]
    t = [ua(d, "test_metrics.json") for d in runs(root, name)]
    done = [x for x in v if x is not None]
    print(
        name,
        "val",
        " ".join("-" if x is None else f"{x:.3f}" for x in v),
        f"| mean {sum(done) / len(done):.4f} over {len(done)}" if done else "",
    )
