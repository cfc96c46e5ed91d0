"""Utterance statistics of log-mel (+deltas) -> StandardScaler -> LogisticRegression / MLP. C chosen on val."""
import os, sys, json, time, argparse
os.environ["OMP_NUM_THREADS"] = "1"
import numpy as np
sys.path.insert(0, os.path.dirname(__file__))
from common import load, metrics, fmt, split
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.neural_network import MLPClassifier
ap = argparse.ArgumentParser(); ap.add_argument("--protocol", default="r2t"); ap.add_argument("--uttnorm", type=int, default=0)
ap.add_argument("--spknorm", type=int, default=0); ap.add_argument("--wavaug", type=int, default=0); ap.add_argument("--clf", default="lr"); ap.add_argument("--vad", type=float, default=35)
a = ap.parse_args()
feats0, meta = load(64, 0); y = meta["label"].astype(int)
def stats(f):
    if a.vad: e = f.mean(1); f = f[e >= e.max() - a.vad]
    if a.uttnorm: f = f - f.mean()  # scalar level removal (per-band mean would kill mean stats)
    d = np.diff(f, axis=0)
    return np.concatenate([f.mean(0), f.std(0), *np.percentile(f, [10, 50, 90], axis=0), np.abs(d).mean(0), d.std(0)])
S = np.stack([stats(f) for f in feats0])
spk = np.array([f"{c}:{s}" for c, s in zip(meta["corpus"], meta["speaker"])])
if a.spknorm:
    for s in np.unique(spk):
        ii = spk == s; S[ii] = (S[ii] - S[ii].mean(0)) / (S[ii].std(0) + 1e-6)
tr, va, te = split(meta, a.protocol)
Xtr, ytr = S[tr], y[tr]
if a.wavaug:
    for k in range(1, 4):
        fk, _ = load(64, k); Sk = np.stack([stats(fk[i]) for i in np.where(tr)[0]]); Xtr = np.concatenate([Xtr, Sk]); ytr = np.concatenate([ytr, y[tr]])
sc = StandardScaler().fit(Xtr)
best = None
for C in ([0.003, 0.01, 0.03, 0.1, 0.3, 1.0] if a.clf == "lr" else [1e-3, 1e-2, 1e-1]):
    t0 = time.time()
    clf = (LogisticRegression(C=C, max_iter=2000, class_weight="balanced") if a.clf == "lr"
           else MLPClassifier((256,), alpha=C * 100, max_iter=300, early_stopping=False, random_state=0))
    clf.fit(sc.transform(Xtr), ytr)
    mv = metrics(y[va], clf.predict(sc.transform(S[va]))); mt = metrics(y[te], clf.predict(sc.transform(S[te])))
    print(f"  C={C} VAL {fmt(mv)} TEST {fmt(mt)} ({time.time()-t0:.0f}s)", flush=True)
    if best is None or mv["UA"] > best[0]["UA"]: best = (mv, mt, C)
tag = f"stats-{a.clf} vad={a.vad} uttnorm={a.uttnorm} spknorm={a.spknorm} wavaug={a.wavaug}"
print(f"[{tag}] {a.protocol} best C={best[2]} VAL {fmt(best[0])} TEST {fmt(best[1])}")
with open("/work/exp/results.jsonl", "a") as f:
    f.write(json.dumps(dict(tag=tag, protocol=a.protocol, C=best[2], val=best[0], test=best[1]), default=float) + "\n")
