"""Session 28 exploration, RAVDESS only (no TESS or Polish row is read): one copy of every training
clip at another speaking rate (tempo 0.8-1.25x, log-uniform, pitch kept: the package's phase-vocoder
``time_stretch``) beside the default's values, against one copy as another voice (the package's
``pitch`` channel, 1.5-4 semitones up or down) and no copy. Speakers, corpora and speaking styles
differ in rate as well as in voice; only the voice is in the default's copies.
Plain fits on the turn encoder's two layers (standardised values, class-balanced logistic regression,
C on the two validation actors, then refitted on every source row with its copies), scored on the
target actors' whole clips, over session 27's three checks.

    python tempo_diag.py > tempo_diag.txt
"""

import math
import random

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.preprocessing import StandardScaler

from ser_hf.data import transforms as T
from ser_hf.data.channel import apply_channel
from ser_hf.models.feature_extraction_functionals import trim_silence
from ser_hf.models.turn_encoder import shared_turn_encoder
from ser_hf.training.evaluation import _decode, load_eval_data

torch.set_num_threads(2)
ds = load_eval_data(["ravdess=/work/shared/data/ravdess"], "harmonized7")
waves = _decode(list(ds["path"]), 16000, 2)
enc = shared_turn_encoder(layers=2)


def values(clips):
    return enc.pooled([torch.as_tensor(trim_silence(c, 16000)) for c in clips]).numpy()


def tempo(wave, row):
    rate = math.exp(random.Random(f"tempo:{row}").uniform(math.log(0.8), math.log(1.25)))
    w = torch.from_numpy(np.ascontiguousarray(wave, np.float32))[None]
    out, n = T.time_stretch(w, torch.tensor([w.shape[1]]), torch.tensor([rate]))
    return out[0, : int(n[0])].numpy()


def pitch(wave, row):
    rng = random.Random(f"pitch:{row}")
    return apply_channel(wave, f"pitch:{rng.choice([-1, 1]) * rng.uniform(1.5, 4):.1f}", 16000, row)


x = {"none": values(waves)}
x["tempo"] = values([tempo(w, r) for r, w in enumerate(waves)])
x["pitch"] = values([pitch(w, r) for r, w in enumerate(waves)])

y = np.array(ds["emotion"])
actor = np.array([int(s.split("_")[1]) for s in ds["speaker"]])
kids = np.array([s.startswith("Kids") for s in ds["statement"]])
male, low = actor % 2 == 1, actor <= 12
checks = {
    "in-domain": [(low, ~low, (11, 12)), (~low, low, (23, 24))],
    "gender": [(male, ~male, (21, 23)), (~male, male, (22, 24))],
    "words": [(low & kids, ~low & ~kids, (11, 12)), (~low & ~kids, low & kids, (23, 24))],
}


def fit(copies, tr, va):
    """C on the validation actors' whole clips (training rows and their copies), then refitted."""

    def train(rows, c):
        xs = np.concatenate([x["none"][rows]] + [x[k][rows] for k in copies])
        ys = np.concatenate([y[rows]] * (1 + len(copies)))
        sc = StandardScaler().fit(xs)
        return sc, LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(sc.transform(xs), ys)

    best = None
    for c in (0.001, 0.003, 0.01, 0.03, 0.1):
        sc, lr = train(tr, c)
        s = balanced_accuracy_score(y[va], lr.predict(sc.transform(x["none"][va])))
        best = max(best or (s, c), (s, c))
    return train(tr | va, best[1])


variants = {"no copy": [], "+ voice copy": ["pitch"], "+ tempo copy": ["tempo"], "+ both": ["pitch", "tempo"]}
for name, copies in variants.items():
    cells = []
    for check, dirs in checks.items():
        got = []
        for source, target, val_actors in dirs:
            va = source & np.isin(actor, val_actors)
            sc, lr = fit(copies, source & ~va, va)
            got.append(balanced_accuracy_score(y[target], lr.predict(sc.transform(x["none"][target]))))
        cells.append(f"{check} {np.mean(got):.3f} ({got[0]:.3f} / {got[1]:.3f})")
    print(f"{name:14s} " + "; ".join(cells), flush=True)
