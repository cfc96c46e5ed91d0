"""Session 25 (reused in session 26): the test figures of the package runs (read after the decisions).

    python benchmarks/exploration/2026-12-05-session26/summarise.py NAME [NAME ...]

NAME: a run name under benchmarks/results (r6t_NAME, xc_NAME{,_seed1,_seed2}, cv_NAME): per fold UA,
mean ± std, male / female (per_gender of the summed predictions), adapted mean and male / female."""

import json
import statistics
import sys
from pathlib import Path

ROOT = Path("benchmarks/results")


def show(run):
    p = ROOT / run / "cv_results.json"
    if not p.is_file():
        return
    r = json.loads(p.read_text())
    uas = [f["ua"] for f in r["folds"]]
    g = r.get("per_gender", {})
    gender = " / ".join(f"{k[0]} {v['ua']:.3f}" for k, v in sorted(g.items()) if isinstance(v, dict) and "ua" in v)
    line = f"{run:42s} {' '.join(f'{x:.3f}' for x in uas)}  mean {statistics.mean(uas):.3f}"
    line += f" ± {statistics.stdev(uas):.3f}" if len(uas) > 1 else ""
    line += f"  [{gender}]"
    a = r.get("adapted") or {}
    if a.get("folds"):
        au = [f["ua"] for f in a["folds"]]
        ag = a.get("per_gender", {})
        line += f"  adapted {' '.join(f'{x:.3f}' for x in au)} mean {statistics.mean(au):.3f}"
        line += " [" + " / ".join(f"{k[0]} {v['ua']:.3f}" for k, v in sorted(ag.items()) if isinstance(v, dict)) + "]"
    print(line)


for name in sys.argv[1:]:
    for run in (f"r6t_{name}", f"xc_{name}", f"xc_{name}_seed1", f"xc_{name}_seed2", f"cv_{name}"):
        show(run)
