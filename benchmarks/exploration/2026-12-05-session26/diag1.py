# ruff: noqa: E701, E702  (kept as it ran)
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score as ua
from sklearn.preprocessing import StandardScaler

d = np.load("runs/s26/feats.npz")
y, corpus, dur, spk = d["y"], d["corpus"], d["dur"], d["speaker"]
R, T = corpus == "ravdess", corpus == "tess"


def run(x, tag, C=0.01):
    sc = StandardScaler().fit(x[R])
    lr = LogisticRegression(C=C, max_iter=2000).fit(sc.transform(x[R]), y[R])
    p = lr.predict(sc.transform(x[T]))
    sc2 = StandardScaler().fit(x[T])
    pa = lr.predict(sc2.transform(x[T]))
    lr2 = LogisticRegression(C=C, max_iter=2000).fit(sc.transform(x[T]), y[T])
    q = lr2.predict(sc.transform(x[R]))
    print(
        f"{tag:28s} R->T {ua(y[T], p):.3f} (adapted-ish {ua(y[T], pa):.3f})  T->R {ua(y[R], q):.3f}  pred dist {np.bincount(p, minlength=7)}"
    )


x = d["turn_encoder_2"]
h = d["speech_stats_mfcc_speech"]
print(
    "durations R mean by class",
    [round(dur[R & (y == k)].mean(), 2) for k in range(7)],
    "T",
    [round(dur[T & (y == k)].mean(), 2) for k in range(7)],
)
run(x, "turn2 all")
for name, idx in {
    "L1 mean": slice(0, 384),
    "L1 sd": slice(384, 768),
    "L2 mean": slice(768, 1152),
    "L2 sd": slice(1152, 1536),
}.items():
    run(x[:, idx], name)
run(np.concatenate([x[:, 384:768], x[:, 1152:]], 1), "sd only")
run(np.concatenate([x[:, :384], x[:, 768:1152]], 1), "mean only")
run(h, "speech-stats-mfcc-speech")
run(np.c_[x, np.log(dur)], "turn2 + log dur")
run(np.log(dur)[:, None], "log dur only")
