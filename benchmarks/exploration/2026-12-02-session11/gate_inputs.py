"""Gate design check on TRAINING-side speakers only (RAVDESS actors 1-20 + TESS; actors 21-24 never
used): 5 folds of 4 RAVDESS actors; gate trained on the rest + TESS; scored on the held-out actors:
clip gender accuracy clean and through 4 channels, and window stability (4-s windows of the clip
tiled to 7.5 s: share whose gate decision equals the clip's)."""
import glob, sys, json, numpy as np, torch
sys.path.insert(0, "/work/main")
torch.set_num_threads(1)
from ser_hf.data.audio import load_audio
from ser_hf.data.channel import apply_channel, channel_copies, ROOM_KINDS
from ser_hf.models.feature_extraction_functionals import clip_functionals
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
SR = 16000
F = "speech-stats-mfcc"
rav = sorted(glob.glob("/work/shared/data/ravdess/Actor_*/*.flac"))
rav = [p for p in rav if int(p[-7:-5]) <= 20]
tess = sorted(glob.glob("/work/shared/data/tess/*/*/*.flac"))[::4]  # 700 TESS clips
feat = lambda w: clip_functionals(w, F, SR, 35.0, 0.1)
rng = np.random.default_rng(0)
X, G, A, W = [], [], [], []
for p in rav + tess:
    w = load_audio(p)
    X.append(feat(w)); A.append(int(p[-7:-5]) if "Actor" in p else 0)
    G.append("male" if A[-1] % 2 else "female"); W.append(w)
X, G, A = np.array(X), np.array(G), np.array(A)
XC = np.array([feat(channel_copies(w, 1, 42, i, SR, ROOM_KINDS)[0]) for i, w in enumerate(W)])
print("features", X.shape, flush=True)
COLS = {
    "all": np.arange(1558),
    "speech+pitch+f0": np.r_[0:453, 1551:1558],
        "speech+f0": np.r_[0:448, 1551:1558],
}
CH = ["noise:20", "telephone", "mp3:32", "reverb:0.6"]
res = {k: {"clean": [], **{c: [] for c in CH}, "windows": []} for k in COLS}
for k in range(5):
    held = np.isin(A, range(4 * k + 1, 4 * k + 5))
    tr = ~held
    hidx = np.flatnonzero(held)
    # channel copies and windows of the held-out clips
    chX = {c: np.array([feat(apply_channel(W[i], c, SR, seed=int(i))) for i in hidx]) for c in CH}
    win_rows, win_of = [], []
    for j, i in enumerate(hidx):
        t = np.tile(W[i], int(np.ceil(7.5 * SR / len(W[i]))))[: int(7.5 * SR)]
        for s in range(0, 4):
            win_rows.append(feat(t[s * SR : s * SR + 4 * SR])); win_of.append(j)
    win_rows, win_of = np.array(win_rows), np.array(win_of)
    for name, cols in COLS.items():
        xt = np.vstack([X[tr], XC[tr]])[:, cols]
        sc = StandardScaler().fit(xt)
        gate = LogisticRegression(C=0.01, max_iter=3000, class_weight="balanced").fit(sc.transform(xt), np.r_[G[tr], G[tr]])
        pc = gate.predict(sc.transform(X[held][:, cols]))
        res[name]["clean"].append(float((pc == G[held]).mean()))
        for c in CH:
            res[name][c].append(float((gate.predict(sc.transform(chX[c][:, cols])) == G[held]).mean()))
        pw = gate.predict(sc.transform(win_rows[:, cols]))
        res[name]["windows"].append(float((pw == pc[win_of]).mean()))
    print(k, {n: {m: round(v[-1], 3) for m, v in r.items()} for n, r in res.items()}, flush=True)
print(json.dumps({n: {m: round(float(np.mean(v)), 4) for m, v in r.items()} for n, r in res.items()}, indent=1))
