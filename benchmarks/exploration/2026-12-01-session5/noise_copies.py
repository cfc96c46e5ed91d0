"""Channel copies of the training clips for the functionals recipe (exploration, not the package).

RAVDESS -> TESS and TESS -> RAVDESS. Each training clip also gives one copy through a random
channel (seeded; ser_hf.data.channel): white or pink noise at 10-40 dB SNR, a low-pass at
3.4-7 kHz, or an MP3 round trip at 24-64 kbit/s. C is chosen on the validation
speakers of the training side, scored on their clean clips AND one noisy copy of each (the same
draw), so the choice rewards robustness without seeing the test corpus. The test corpus is then
scored clean and through fixed conditions (noise:30, noise:20, pink:20, telephone, mp3:32).

    python benchmarks/exploration/2026-12-01-session5/noise_copies.py DATA_DIR SET > noise_copies.jsonl
"""

import json
import random
import sys

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from ser_hf.data.channel import apply_channel
from ser_hf.training.arguments import DataArguments
from ser_hf.training.clips import decode_rows, load_rows, make_split
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir
from ser_hf.training.functionals import _fit
from ser_hf.training.linear import DEFAULT_C_GRID, functionals_matrix

SR = 16000
data, SET = sys.argv[1], sys.argv[2]
TEST_CHANNELS = ["clean", "noise:30", "noise:20", "pink:20", "telephone", "mp3:32"]
cache = FeatureCache(default_cache_dir())


def copy_spec(rng):
    """One random channel: noise (white or pink, 10-40 dB SNR), a low-pass at 3.4-7 kHz, or MP3."""
    kind = rng.choice(["noise", "pink", "band", "mp3"])
    if kind == "band":
        return f"band:0-{rng.uniform(3400, 7000):.0f}"
    if kind == "mp3":
        return f"mp3:{rng.choice([24, 32, 48, 64])}"
    return f"{kind}:{rng.uniform(10, 40):.1f}"


def noisy(clips, offset):
    rng = random.Random(offset)
    return [apply_channel(c, copy_spec(rng), SR, seed=offset + i) for i, c in enumerate(clips)]


def run(split):
    args = DataArguments(corpus=[f"ravdess={data}/ravdess", f"tess={data}/tess"], label_scheme="harmonized7", split=split)
    ds = load_rows(args)
    sp = make_split(ds, args, 42)
    rows = sp.train + sp.validation + sp.test
    clips = decode_rows(ds, rows, SR, None, 8)
    y = np.asarray([ds["emotion"][i] for i in rows])
    n, v = len(sp.train), len(sp.validation)
    x = functionals_matrix(clips, SET, cache=cache)
    x_noisy = functionals_matrix(noisy(clips[: n + v], 0), SET, cache=cache)  # train + validation copies
    rng = np.random.default_rng(0)
    test_idx = np.arange(n + v, len(rows))
    test_idx = np.sort(rng.choice(test_idx, size=min(700, test_idx.size), replace=False))
    test_x = {"clean": x[test_idx]}
    for ch in TEST_CHANNELS[1:]:
        test_x[ch] = functionals_matrix([apply_channel(clips[i], ch, SR, seed=int(i)) for i in test_idx], SET, cache=cache)
    out = {"split": split, "set": SET}
    for name, (xtr, ytr) in {
        "plain": (x[:n], y[:n]),
        "noise-copies": (np.vstack([x[:n], x_noisy[:n]]), np.concatenate([y[:n], y[:n]])),
    }.items():
        val = {}
        for c in DEFAULT_C_GRID:
            clf = _fit(xtr, ytr, c if name == "plain" else c / 2, 0)  # C per original clip
            val[c] = (
                balanced_accuracy_score(y[n : n + v], clf.predict(x[n : n + v])),
                balanced_accuracy_score(y[n : n + v], clf.predict(x_noisy[n : n + v])),
            )
        c = max(DEFAULT_C_GRID, key=lambda k: (sum(val[k]), -k))
        if name == "plain":
            xr, yr = x[: n + v], y[: n + v]
        else:
            xr, yr = np.vstack([x[: n + v], x_noisy[: n + v]]), np.concatenate([y[: n + v], y[: n + v]])
        clf = _fit(xr, yr, c if name == "plain" else c / 2, 0)
        res = {"c": c, "val_clean": round(val[c][0], 3), "val_noisy": round(val[c][1], 3)}
        for ch, xt in test_x.items():
            res[ch] = round(balanced_accuracy_score(y[test_idx], clf.predict(xt)), 3)
        out[name] = res
    print(json.dumps(out), flush=True)


for split in ["loco:tess", "loco:ravdess"]:
    run(split)
