import os, numpy as np
os.environ.setdefault("OMP_NUM_THREADS", "1")
from sklearn.metrics import balanced_accuracy_score, accuracy_score, f1_score
CLASSES = ["neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised"]

def load(n_mels=64, aug=0):
    z = np.load(f"/work/exp/cache/logmel{n_mels}_aug{aug}.npz")
    X, off = z["X"], z["off"]
    feats = [X[off[i]:off[i + 1]].astype(np.float32) for i in range(len(off) - 1)]
    meta = {k: z[k] for k in z.files if k not in ("X", "off")}
    return feats, meta

def metrics(y, p):
    return dict(UA=balanced_accuracy_score(y, p), WA=accuracy_score(y, p), F1=f1_score(y, p, average="macro"))

def fmt(m):
    return " ".join(f"{k}={v:.3f}" for k, v in m.items())

def split(meta, protocol):
    """Returns boolean masks train, val, test."""
    corpus, spk, word = meta["corpus"], meta["speaker"], meta["word"]
    rav, tess = corpus == "ravdess", corpus == "tess"
    if protocol == "r2t":
        v = rav & np.isin(spk, ["21", "22", "23", "24"])
        return rav & ~v, v, tess
    if protocol == "t2r":
        words = np.unique(word[tess]); rng = np.random.default_rng(123)
        vw = rng.choice(words, size=int(round(0.15 * len(words))), replace=False)
        v = tess & np.isin(word, vw)
        return tess & ~v, v, rav
    if protocol.startswith("rfold"):
        k = int(protocol[5:]); te_a = [str(4 * k + i) for i in range(1, 5)]
        kv = (k + 1) % 6; va_a = [str(4 * kv + i) for i in range(1, 5)]
        te = rav & np.isin(spk, te_a); v = rav & np.isin(spk, va_a)
        return rav & ~te & ~v, v, te
    raise ValueError(protocol)
