"""Session 26's rule on the 12 runs of turn-encoder-2-nopos-voices-crops (session 47): the mean validation UA
(fold_K/val_metrics.json) against the default's and the bar 0.7869. Reads no test file.

    python benchmarks/exploration/2026-12-07-session46/rule12.py
"""

import json
import pathlib


def runs(base, stem, xc_names):
    r = [base / f"r6t_{stem}" / f"fold_{k}" / "val_metrics.json" for k in range(6)]
    for x in xc_names:
        r += [base / x / f"fold_{k}" / "val_metrics.json" for k in range(2)]
    return r


old = runs(
    pathlib.Path("benchmarks/results"),
    "turn_encoder_2_voices_crops",
    [
        "xc_turn_encoder_2_voices_crops",
        "xc_turn_encoder_2_voices_crops_seed1",
        "xc_turn_encoder_2_voices_crops_seed2",
    ],
)
new = runs(
    pathlib.Path("benchmarks/results"),
    "turn_encoder_2_nopos_voices_crops",
    [
        "xc_turn_encoder_2_nopos_voices_crops",
        "xc_turn_encoder_2_nopos_voices_crops_seed1",
        "xc_turn_encoder_2_nopos_voices_crops_seed2",
    ],
)


def ua(p):
    return json.load(open(p))["ua"] if p.exists() else None


a = [ua(p) for p in old]
b = [ua(p) for p in new]
print("default  ", " ".join(f"{x:.3f}" for x in a), f"mean {sum(a) / 12:.4f}")
print("nopos    ", " ".join("  -  " if x is None else f"{x:.3f}" for x in b))
done = [x for x in b if x is not None]
if len(done) == 12:
    m = sum(done) / 12
    print(
        f"nopos mean {m:.4f}; bar 0.7869: {'PASS' if m >= 0.7869 else 'FAIL'}; higher in {sum(y > x for x, y in zip(a, b))} of 12"
    )
else:
    print(
        f"{len(done)} of 12 done; partial mean {sum(done) / max(len(done), 1):.4f} vs default's same runs {sum(x for x, y in zip(a, b) if y is not None) / max(len(done), 1):.4f}"
    )
