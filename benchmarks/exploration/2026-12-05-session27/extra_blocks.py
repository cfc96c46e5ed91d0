"""Session 27, exploration on RAVDESS only (no TESS or Polish row is read): would the turn encoder's
convolution output (pooled like its layers, 768 values, no extra layer to run) or the hand-made
speech-frame functionals add to the default's values across the checks of shift_checks.py?
Plain fits (standardised values, class-balanced logistic regression, C on the two validation actors
then refitted; no copies), so only differences between rows mean anything.

    python extra_blocks.py   # needs runs/s26/feats.npz (session 26's diag_feats.py)
"""

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.preprocessing import StandardScaler

from ser_hf.models.feature_extraction_functionals import trim_silence
from ser_hf.models.turn_encoder import shared_turn_encoder, whisper_log_mel
from ser_hf.training.evaluation import _decode, load_eval_data
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir
from ser_hf.training.linear import functionals_matrix

torch.set_num_threads(2)
ds = load_eval_data(["ravdess=/work/shared/data/ravdess"], "harmonized7")
d = np.load("runs/s26/feats.npz")
r = d["corpus"] == "ravdess"
assert (d["y"][r] == np.array(ds["emotion"])).all()
waves = _decode(list(ds["path"]), 16000, 2)
enc = shared_turn_encoder(layers=2)


@torch.inference_mode()
def conv_stats(wave):
    mel, _ = whisper_log_mel(torch.as_tensor(trim_silence(wave, 16000)))
    x = torch.nn.functional.gelu(enc.conv2(torch.nn.functional.gelu(enc.conv1(mel[None])))).transpose(1, 2)
    h = (x + enc.positions[-x.shape[1] :])[0]
    return torch.cat([h.mean(0), h.std(0, correction=0)]).numpy()


blocks = {
    "turn2": d["turn_encoder_2"][r],
    "conv": np.stack([conv_stats(w) for w in waves]),
    "ssm": d["speech_stats_mfcc_speech"][r],
    "turn4": functionals_matrix(waves, "turn-encoder", cache=FeatureCache(default_cache_dir())),
}
y = np.array(ds["emotion"])
actor = np.array([int(s.split("_")[1]) for s in ds["speaker"]])
kids = np.array([s.startswith("Kids") for s in ds["statement"]])
male, low = actor % 2 == 1, actor <= 12
checks = {
    "in-domain": [(low, ~low, (11, 12)), (~low, low, (23, 24))],
    "gender": [(male, ~male, (21, 23)), (~male, male, (22, 24))],
    "words": [(low & kids, ~low & ~kids, (11, 12)), (~low & ~kids, low & kids, (23, 24))],
}


def fit(x, tr, va):
    best = None
    for c in (0.001, 0.003, 0.01, 0.03, 0.1):
        sc = StandardScaler().fit(x[tr])
        lr = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(sc.transform(x[tr]), y[tr])
        s = balanced_accuracy_score(y[va], lr.predict(sc.transform(x[va])))
        best = max(best or (s, c), (s, c))
    both = tr | va
    sc = StandardScaler().fit(x[both])
    lr = LogisticRegression(C=best[1], max_iter=3000, class_weight="balanced").fit(
        sc.transform(x[both]), y[both]
    )
    return sc, lr


for name, parts in {
    "turn2": ["turn2"], "turn2+conv": ["turn2", "conv"], "turn2+ssm": ["turn2", "ssm"],
    "turn4": ["turn4"], "conv": ["conv"], "ssm": ["ssm"],
}.items():  # fmt: skip
    x = np.concatenate([blocks[p] for p in parts], 1)
    row = []
    for check, dirs in checks.items():
        got = []
        for source, target, val_actors in dirs:
            va = source & np.isin(actor, val_actors)
            sc, lr = fit(x, source & ~va, va)
            got.append(balanced_accuracy_score(y[target], lr.predict(sc.transform(x[target]))))
        row.append(f"{check} {np.mean(got):.3f} ({got[0]:.3f} / {got[1]:.3f})")
    print(f"{name:11s} {x.shape[1]:5d}  " + "  ".join(row), flush=True)
