"""Session 46, the amendment in plan.md (written after positions_xc.txt's test rows were read):
A and P with one crop copy (a random 1.0-1.6 s stretch of the trimmed clip) of every training clip,
as the default's recipe trains. Same checks as positions_xc.py; reported only.

    python positions_crops.py RAVDESS_DIR TESS_DIR [CACHE.npz] > positions_crops.txt
"""

import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.preprocessing import StandardScaler

import ser_hf.models.turn_encoder as te
from ser_hf.models.feature_extraction_functionals import trim_silence
from ser_hf.training.evaluation import _decode, load_eval_data

torch.set_num_threads(2)
ravdess_dir, tess_dir = sys.argv[1], sys.argv[2]
cache = Path(sys.argv[3] if len(sys.argv) > 3 else "/tmp/s46_positions.npz")
enc = te.shared_turn_encoder(layers=2)
NAMES = ("A", "P")


@torch.inference_mode()
def values(wave):
    mel, k = te.whisper_log_mel(torch.as_tensor(wave))
    pos = enc.positions[-k:]
    out = {"A": [], "P": []}
    for h in enc.forward(mel[None]):
        h = h[0]
        g = h - pos
        out["A"] += [h.mean(0), h.std(0, unbiased=False)]
        out["P"] += [g.mean(0), g.std(0, unbiased=False)]
    return {name: torch.cat(v).numpy() for name, v in out.items()}


def crop(wave, rng, lo, hi):
    n = int(rng.uniform(lo, hi) * 16000)
    start = int(rng.integers(0, max(1, len(wave) - n + 1)))
    return wave[start : start + n]


if cache.exists():
    z = np.load(cache, allow_pickle=True)
    y, spk, corpus = z["y"], z["spk"], z["corpus"]
    X = {n: z[f"x_{n}"] for n in NAMES}
    C = {n: z[f"c_{n}"] for n in NAMES}
    S = {n: z[f"s_{n}"] for n in NAMES}
else:
    rng_copy, rng_short = np.random.default_rng(4601), np.random.default_rng(46)
    rows = []
    for name, folder in (("ravdess", ravdess_dir), ("tess", tess_dir)):
        ds = load_eval_data([f"{name}={folder}"], "harmonized7")
        for wave, emo, s in zip(_decode(list(ds["path"]), 16000, 2), ds["emotion"], ds["speaker"]):
            wave = trim_silence(wave, 16000)
            short = values(crop(wave, rng_short, 1.3, 1.3)) if name == "ravdess" else None
            rows.append((values(wave), values(crop(wave, rng_copy, 1.0, 1.6)), short, emo, s, name))
    y = np.array([r[3] for r in rows])
    spk = np.array([r[4] for r in rows])
    corpus = np.array([r[5] for r in rows])
    X = {n: np.stack([r[0][n] for r in rows]) for n in NAMES}
    C = {n: np.stack([r[1][n] for r in rows]) for n in NAMES}
    S = {n: np.stack([r[2][n] for r in rows if r[2] is not None]) for n in NAMES}
    np.savez(cache, y=y, spk=spk, corpus=corpus, **{f"{p}_{n}": d[n] for p, d in (("x", X), ("c", C), ("s", S)) for n in NAMES})


def fit(v, c, tr, va):
    """Trained on the rows tr and their crop copies; C chosen on the validation rows (whole clips)."""

    def one(rows, cc):
        a, b = np.vstack([v[rows], c[rows]]), np.concatenate([y[rows], y[rows]])
        sc = StandardScaler().fit(a)
        lr = LogisticRegression(C=cc, max_iter=3000, class_weight="balanced").fit(sc.transform(a), b)
        return lambda q: lr.predict(sc.transform(q))

    best = max((balanced_accuracy_score(y[va], one(tr, cc)(v[va])), cc) for cc in (0.001, 0.003, 0.01, 0.03, 0.1))
    return one(tr | va, best[1])


def top(pred):
    k, n = np.unique(pred, return_counts=True)
    return f"{k[n.argmax()]}: {n.max()} of {len(pred)}"


is_r = corpus == "ravdess"
actor = np.array([int(s.split("_")[-1]) if r else 0 for s, r in zip(spk, is_r)])
r_idx = np.flatnonzero(is_r)
male, low = is_r & (actor % 2 == 1), is_r & (actor <= 12) & (actor > 0)
fem, high = is_r & (actor % 2 == 0), is_r & (actor > 12)
tess_spk = sorted(set(spk[~is_r]))
print(f"{is_r.sum()} RAVDESS + {(~is_r).sum()} TESS clips, each with one crop copy", flush=True)
for name in NAMES:
    v, c, vs = X[name], C[name], S[name]
    res = {}
    for check, dirs in {
        "in-domain": [(low, high, (11, 12)), (high, low, (23, 24))],
        "gender": [(male, fem, (21, 23)), (fem, male, (22, 24))],
    }.items():
        got, got_short = [], []
        for source, target, val_actors in dirs:
            va = source & np.isin(actor, val_actors)
            pred = fit(v, c, source & ~va, va)
            got.append(balanced_accuracy_score(y[target], pred(v[target])))
            if check == "in-domain":
                got_short.append(balanced_accuracy_score(y[target], pred(vs[np.isin(r_idx, np.flatnonzero(target))])))
        res[check] = np.mean(got)
        if got_short:
            res["short"] = np.mean(got_short)
    va = is_r & np.isin(actor, (21, 22, 23, 24))
    rt = fit(v, c, is_r & ~va, va)(v[~is_r])
    va = spk == tess_spk[0]
    tr = fit(v, c, ~is_r & ~va, va)(v[is_r])
    print(
        f"{name}+crops in-domain {res['in-domain']:.3f}; gender {res['gender']:.3f}; short {res['short']:.3f}; "
        f"R->T {balanced_accuracy_score(y[~is_r], rt):.3f} (most labelled {top(rt)}); "
        f"T->R {balanced_accuracy_score(y[is_r], tr):.3f} (most labelled {top(tr)})",
        flush=True,
    )
