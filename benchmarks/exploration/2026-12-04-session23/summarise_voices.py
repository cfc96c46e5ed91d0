"""The rule of ``voice_groups_rule.md`` on ``voice_groups_val.jsonl``."""

import json
import sys

import numpy as np

rows = [json.loads(line) for line in open(sys.argv[1] if len(sys.argv) > 1 else "voice_groups_val.jsonl")]
folds = list(dict.fromkeys(r["fold"] for r in rows))
keys = ["A"] + [k for k in rows[0] if k.startswith("V") and k.count("_") == 0]
print("| variant | " + " | ".join(folds) + " | score | held-out mean | groups / set-up | covered | purity | male / female |")
print("| --- |" + " ---: |" * (len(folds) + 6))
res = {}
for v in keys:
    per_fold = [np.mean([r[v] for r in rows if r["fold"] == f]) for f in folds]
    held = np.mean([r[v] for r in rows if r["setup"] != "clean"])
    res[v] = (np.mean(per_fold), held)
    extra = " | | | |"
    if v != "A":
        g, c, p = (np.mean([r[f"{v}_{k}"] for r in rows]) for k in ("groups", "covered", "purity"))
        m = np.mean([r[f"{v}_male"] for r in rows if f"{v}_male" in r])
        f = np.mean([r[f"{v}_female"] for r in rows if f"{v}_female" in r])
        extra = f" {g:.1f} | {c:.3f} | {p:.3f} | {m:.4f} / {f:.4f} |"
    cells = " | ".join(f"{s:.4f}" for s in per_fold)
    print(f"| {v} | {cells} | **{np.mean(per_fold):.4f}** | {held:.4f} |{extra}")
best = max((k for k in keys if k != "A"), key=lambda k: (res[k][0], float(k[1:])))
ok = res[best][0] >= res["A"][0] + 0.005 and res[best][1] >= res["A"][1]
print(f"\nt* = {best[1:]} (score {res[best][0]:.4f}, held-out {res[best][1]:.4f}) against A {res['A'][0]:.4f} / {res['A'][1]:.4f}: {'passes' if ok else 'fails'}")
