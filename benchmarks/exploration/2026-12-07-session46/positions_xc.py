"""Session 46 exploration (plan.md, written first): the turn encoder's positional term in the
default's pooled values. Session 45's harness (plain fits, no copies); reported only.

    python positions_xc.py RAVDESS_DIR TESS_DIR > positions_xc.txt

Classes are harmonized7 ids: 0 neutral, 1 happy, 2 sad, 3 angry, 4 fearful, 5 disgust, 6 surprised.
"""

import sys

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
enc = te.shared_turn_encoder(layers=2)


@torch.inference_mode()
def values(wave):
    """A, P, Pm for one clip: per layer mean/sd of h, of h - positions, mean of h - positions + sd of h."""
    mel, k = te.whisper_log_mel(torch.as_tensor(wave))
    pos = enc.positions[-k:]
    out = {"A": [], "P": [], "Pm": []}
    for h in enc.forward(mel[None]):
        h = h[0]
        g = h - pos
        out["A"] += [h.mean(0), h.std(0, unbiased=False)]
        out["P"] += [g.mean(0), g.std(0, unbiased=False)]
        out["Pm"] += [g.mean(0), h.std(0, unbiased=False)]
    return {name: torch.cat(v).numpy() for name, v in out.items()}


rng = np.random.default_rng(46)
parts, short = [], []
for name, folder in (("ravdess", ravdess_dir), ("tess", tess_dir)):
    ds = load_eval_data([f"{name}={folder}"], "harmonized7")
    for wave, emo, spk in zip(_decode(list(ds["path"]), 16000, 2), ds["emotion"], ds["speaker"]):
        wave = trim_silence(wave, 16000)
        parts.append((values(wave), emo, spk, name))
        if name == "ravdess":
            n = int(1.3 * 16000)
            start = int(rng.integers(0, max(1, len(wave) - n + 1)))
            short.append(values(wave[start : start + n]))
y = np.array([p[1] for p in parts])
spk = np.array([p[2] for p in parts])
corpus = np.array([p[3] for p in parts])
X = {v: np.stack([p[0][v] for p in parts]) for v in ("A", "P", "Pm")}
S = {v: np.stack([s[v] for s in short]) for v in ("A", "P", "Pm")}


def fit(v, tr, va):
    def one(rows, c):
        sc = StandardScaler().fit(v[rows])
        lr = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(sc.transform(v[rows]), y[rows])
        return lambda a: lr.predict(sc.transform(a))

    best = max((balanced_accuracy_score(y[va], one(tr, c)(v[va])), c) for c in (0.001, 0.003, 0.01, 0.03, 0.1))
    return one(tr | va, best[1])


def top(pred):
    k, n = np.unique(pred, return_counts=True)
    return f"{k[n.argmax()]}: {n.max()} of {len(pred)}"


is_r = corpus == "ravdess"
actor = np.array([int(s.split("_")[-1]) if r else 0 for s, r in zip(spk, is_r)])
r_idx = np.flatnonzero(is_r)  # short[] rows follow the RAVDESS rows' order
male, low = is_r & (actor % 2 == 1), is_r & (actor <= 12) & (actor > 0)
fem, high = is_r & (actor % 2 == 0), is_r & (actor > 12)
tess_spk = sorted(set(spk[~is_r]))
print(f"{is_r.sum()} RAVDESS + {(~is_r).sum()} TESS clips; TESS speakers {tess_spk}", flush=True)
for name in ("A", "P", "Pm"):
    v, vs = X[name], S[name]
    res = {}
    for check, dirs in {
        "in-domain": [(low, high, (11, 12)), (high, low, (23, 24))],
        "gender": [(male, fem, (21, 23)), (fem, male, (22, 24))],
    }.items():
        got, got_short = [], []
        for source, target, val_actors in dirs:
            va = source & np.isin(actor, val_actors)
            pred = fit(v, source & ~va, va)
            got.append(balanced_accuracy_score(y[target], pred(v[target])))
            if check == "in-domain":
                rows = np.isin(r_idx, np.flatnonzero(target))
                got_short.append(balanced_accuracy_score(y[target], pred(vs[rows])))
        res[check] = np.mean(got)
        if got_short:
            res["short"] = np.mean(got_short)
    va = is_r & np.isin(actor, (21, 22, 23, 24))
    rt = fit(v, is_r & ~va, va)(v[~is_r])
    va = spk == tess_spk[0]
    tr = fit(v, ~is_r & ~va, va)(v[is_r])
    print(
        f"{name:3s} in-domain {res['in-domain']:.3f}; gender {res['gender']:.3f}; short {res['short']:.3f}; "
        f"R->T {balanced_accuracy_score(y[~is_r], rt):.3f} (most labelled {top(rt)}); "
        f"T->R {balanced_accuracy_score(y[is_r], tr):.3f} (most labelled {top(tr)})",
        flush=True,
    )
