"""Rule 1 of decision_rule.md: mean validation UA over r6t folds 0-5 (seed 42) + xc folds at seeds 42/1/2, from the
committed ser-hf cv records (run from the repository root). With --test it prints the test UA too (reported, not used).
Run names as arguments compare those runs instead of session 12's, e.g. session 14's check:
    python benchmarks/exploration/2026-12-03-session12/rule.py speech_stats_mfcc_speech_voices \
        speech_stats_mfcc_speech_voices_clip [--test]"""

import json
import sys
from pathlib import Path

ROOT = Path("benchmarks/results")


def runs(name):
    r6t = [ROOT / f"r6t_{name}" / f"fold_{k}" for k in range(6)]
    xc = [ROOT / f"xc_{name}{s}" / f"fold_{k}" for s in ("", "_seed1", "_seed2") for k in (0, 1)]
    return r6t + xc


def ua(d, f):
    p = d / f
    return json.load(open(p))["ua"] if p.is_file() else None


whats = [("val", "val_metrics.json")] + ([("test", "test_metrics.json")] if "--test" in sys.argv else [])
# the run names to compare (later sessions pass theirs), session 12's by default
names = [a for a in sys.argv[1:] if not a.startswith("--")] or [
    "speech_stats_mfcc_speech_voices",
    "speech_stats_mfcc_speech_voices_x3",
    "speech_stats_mfcc_speech_voices_gbal",
    "speech_stats_mfcc_speech_voices_gw",
]
for name in names:
    for what, f in whats:
        v = [ua(d, f) for d in runs(name)]
        done = [x for x in v if x is not None]
        mean = f"| mean {sum(done) / len(done):.4f} over {len(done)}" if done else ""
        print(f"{name:38s} {what:4s}", " ".join("-" if x is None else f"{x:.3f}" for x in v), mean)
