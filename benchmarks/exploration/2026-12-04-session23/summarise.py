"""The rule of ``setup_adapt_rule.md`` on ``setup_adapt_val.jsonl``: per fold the mean UA over the 7
set-ups (clean + 6 held-out conditions), its mean over the folds, and the held-out conditions' mean."""

import json
import sys

import numpy as np

rows = [json.loads(line) for line in open(sys.argv[1] if len(sys.argv) > 1 else "setup_adapt_val.jsonl")]
folds = list(dict.fromkeys(r["fold"] for r in rows))
variants = ["U", "A", "B", "C", "S"]
print("| variant | " + " | ".join(folds) + " | score | held-out mean | clean | male / female (score) |")
print("| --- |" + " ---: |" * (len(folds) + 4))
res = {}
for v in variants:
    per_fold = [np.mean([r[v] for r in rows if r["fold"] == f]) for f in folds]
    held = np.mean([r[v] for r in rows if r["setup"] != "clean"])
    clean = np.mean([r[v] for r in rows if r["setup"] == "clean"])
    male = np.mean([r[f"{v}_male"] for r in rows if f"{v}_male" in r])
    female = np.mean([r[f"{v}_female"] for r in rows if f"{v}_female" in r])
    res[v] = (np.mean(per_fold), held)
    cells = " | ".join(f"{s:.4f}" for s in per_fold)
    print(f"| {v} | {cells} | **{np.mean(per_fold):.4f}** | {held:.4f} | {clean:.4f} | {male:.4f} / {female:.4f} |")
print()
for setup in list(dict.fromkeys(r["setup"] for r in rows)):
    print(setup, " ".join(f"{v} {np.mean([r[v] for r in rows if r['setup'] == setup]):.4f}" for v in variants))
a = res["A"]
passing = [v for v in ("B", "C") if res[v][0] >= a[0] + 0.005 and res[v][1] >= a[1]]
print("\npassing:", passing or "none", "->", max(passing, key=lambda v: res[v][0]) if passing else "A stays")
