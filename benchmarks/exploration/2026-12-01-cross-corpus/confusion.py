import os, sys, numpy as np
sys.path.insert(0, "/work/exp")
from common import *
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.metrics import confusion_matrix
f, m = load(64, 0); y = m["label"].astype(int)
def stats(f, vad=35):
    e = f.mean(1); f = f[e >= e.max() - vad] if vad else f
    d = np.diff(f, axis=0)
    return np.concatenate([f.mean(0), f.std(0), *np.percentile(f, [10, 50, 90], axis=0), np.abs(d).mean(0), d.std(0)])
for vad in [0, 35, 25]:
    S = np.stack([stats(x, vad) for x in f])
    for pr in ["r2t", "t2r"]:
        tr, va, te = split(m, pr); sc = StandardScaler().fit(S[tr])
        clf = LogisticRegression(C=0.03, max_iter=2000, class_weight="balanced").fit(sc.transform(S[tr]), y[tr])
        p = clf.predict(sc.transform(S[te])); print(vad, pr, fmt(metrics(y[va], clf.predict(sc.transform(S[va])))), fmt(metrics(y[te], p)))
        print(confusion_matrix(y[te], p))
