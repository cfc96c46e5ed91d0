"""Session 15, after the kernel head's test figures (disclosed): can a validation on the TRAINING
corpora's validation speakers see what the test corpora saw? Each fold's A and N (at the C each
chose, ``nonlinear_heads_val.jsonl``) are fitted on the training rows as in ``nonlinear_heads.py``,
then scored on the validation clips through conditions no training copy is drawn from (a phone
line, another microphone's colour, a low-rate codec, saturation, a voice 6 semitones away).
Validation labels only; one jsonl row per fold, variant and condition to stdout.

    python held_out_shifts.py runs/s13_matrices.npz DATA_DIR r6t:0 ... xc:T->R
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score as ua

from ser_hf.data.channel import apply_channel
from ser_hf.training.clips import decode_rows, load_rows, make_split
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir
from ser_hf.training.functionals import cell_balanced_weights
from ser_hf.training.linear import functionals_matrix
from ser_hf.training.presets import get_preset

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from nonlinear_heads import PRESET, SEED, SPLITS, data_args, fit, grid  # noqa: E402

CONDITIONS = ["telephone", "eq:10", "opus:12", "clip:0.3", "pitch:-6", "pitch:6"]


def main(matrices, data, *folds):
    d = dict(np.load(matrices))
    chosen = {(r["fold"], r["variant"]): r["h"] for r in map(json.loads, open(HERE / "nonlinear_heads_val.jsonl"))}
    functionals = get_preset(PRESET)["feature_extractor"]["functionals"]
    cache = FeatureCache(default_cache_dir())
    ds = load_rows(data_args(data))
    x, copies, y = d["x"], d["copies"], d["y"]
    sets, k = [x, *copies], len(copies)
    groups = np.char.add(np.char.add(d["corpus"], "/"), d["gender"])
    for name in folds:
        t = time.time()
        sp = make_split(ds, data_args(data, SPLITS[name]), SEED)
        tr, va = list(sp.train), list(sp.validation)
        xtr = np.concatenate([m[tr].astype(np.float64) for m in sets])
        ytr = np.tile(y[tr], k + 1)
        wtr = cell_balanced_weights(ytr, np.tile(groups[tr], k + 1))
        clips = decode_rows(ds, va, 16000, None, 2)
        shifted = {
            c: functionals_matrix([apply_channel(w, c, 16000, SEED + i) for i, w in enumerate(clips)], functionals, cache=cache)
            for c in CONDITIONS
        }  # fmt: skip
        for v in ("A", "N"):
            clf = fit(v, dict(grid(v, k))[chosen[(name, v)]], xtr, ytr, wtr)
            scores = {"clean": ua(y[va], clf.predict(x[va]))} | {c: ua(y[va], clf.predict(m)) for c, m in shifted.items()}
            row = {"fold": name, "variant": v, "h": chosen[(name, v)]} | {c: round(s, 4) for c, s in scores.items()}
            print(json.dumps(row), flush=True)
        print(f"# {name}: {time.time() - t:.0f} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
