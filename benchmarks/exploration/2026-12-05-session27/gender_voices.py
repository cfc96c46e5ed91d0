"""Session 27, exploration on RAVDESS only: does a copy of every training clip moved towards the other
gender's voice (pitch and formants 3 semitones down for women, up for men) close the in-domain gender
gap of the default's values better than a copy moved 3 semitones the other way (away from it)?
The in-domain check of shift_checks.py (actors 1-12 -> 13-24 and back) per gender, plain fits as
extra_blocks.py, each training clip plus one copy; the copies of the target actors are not used.

    python gender_voices.py   # needs runs/s26/feats.npz
"""

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.preprocessing import StandardScaler

from ser_hf.data.channel import apply_channel
from ser_hf.models.feature_extraction_functionals import batch_functionals
from ser_hf.training.evaluation import _decode, load_eval_data

torch.set_num_threads(2)
ds = load_eval_data(["ravdess=/work/shared/data/ravdess"], "harmonized7")
d = np.load("runs/s26/feats.npz")
r = d["corpus"] == "ravdess"
x0, y = d["turn_encoder_2"][r], np.array(ds["emotion"])
assert (d["y"][r] == y).all()
actor = np.array([int(s.split("_")[1]) for s in ds["speaker"]])
male, low = actor % 2 == 1, actor <= 12
waves = _decode(list(ds["path"]), 16000, 2)


def values(shift_for_male, shift_for_female):
    moved = [apply_channel(w, f"pitch:{shift_for_male if m else shift_for_female}", 16000, i)
             for i, (w, m) in enumerate(zip(waves, male))]  # fmt: skip
    return np.concatenate(
        [batch_functionals(moved[i : i + 16], "turn-encoder-2") for i in range(0, len(moved), 16)]
    )


copies = {"none": None, "towards the other gender": values(3.0, -3.0), "away from it": values(-3.0, 3.0)}
for how, xc in copies.items():
    got = {"all": [], "male": [], "female": []}
    for source, target, val_actors in [(low, ~low, (11, 12)), (~low, low, (23, 24))]:
        va = source & np.isin(actor, val_actors)

        def fit(rows, c, xc=xc):
            xt, yt = (
                (x0[rows], y[rows]) if xc is None else (np.r_[x0[rows], xc[rows]], np.r_[y[rows], y[rows]])
            )
            sc = StandardScaler().fit(xt)
            return sc, LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(
                sc.transform(xt), yt
            )

        best = max(
            (balanced_accuracy_score(y[va], lr.predict(sc.transform(x0[va]))), c)
            for c in (0.001, 0.003, 0.01, 0.03, 0.1)
            for sc, lr in [fit(source & ~va, c)]
        )
        sc, lr = fit(source, best[1])
        p = lr.predict(sc.transform(x0))
        for g, m in (("all", target), ("male", target & male), ("female", target & ~male)):
            got[g].append(balanced_accuracy_score(y[m], p[m]))
    print(f"{how:25s} " + "  ".join(f"{g} {np.mean(v):.3f}" for g, v in got.items()), flush=True)
