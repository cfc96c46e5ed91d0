"""Per-variant validation summary of speaker_subspace.py's rows: the validation jsonl files as arguments, a later file's row replacing an earlier one of the same fold and variant (the re-run of `s17_val3`)."""

import json
import sys

import numpy as np

ORDER = [f"r6t:{k}" for k in range(6)] + ["xc:R->T", "xc:T->R"]
rows = [json.loads(line) for f in sys.argv[1:] for line in open(f) if line.startswith("{")]
for v in sorted({r["variant"] for r in rows}):
    got = {r["fold"]: r for r in rows if r["variant"] == v}
    s = [got[f]["val_score"] if f in got else None for f in ORDER]
    h = [got[f]["held_out_mean"] for f in ORDER if f in got]
    done = [x for x in s if x is not None]
    print(v, " ".join("-" if x is None else f"{x:.3f}" for x in s), f"| score {np.mean(done):.4f} held {np.mean(h):.4f} ({len(done)} folds)",
          "k:", [got[f].get("k") for f in ORDER if f in got])
