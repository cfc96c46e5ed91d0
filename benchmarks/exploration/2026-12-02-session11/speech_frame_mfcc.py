"""Emotion model (the default's recipe, simplified: one rooms channel copy per clip, corpus-gender-class
cell weights, C=0.01) on training-side speakers only (RAVDESS actors 1-20 + 700 TESS clips; 5 folds of 4
held-out actors; actors 21-24 not used): whole-clip MFCC statistics (the current set) vs the same
statistics over the speech frames only. Scores on the held-out actors: UA clean, UA through 4 channels,
and window agreement (4-s windows of each clip tiled to 7.5 s, share labelled as the clip alone)."""
import glob, sys, json, numpy as np, torch
sys.path.insert(0, "/work/main")
torch.set_num_threads(1)
from ser_hf.data.audio import load_audio
from ser_hf.data.channel import apply_channel, channel_copies, ROOM_KINDS
import ser_hf.models.feature_extraction_functionals as fx
from ser_hf.training.functionals import cell_balanced_weights
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.metrics import balanced_accuracy_score
SR = 16000
F = "speech-stats-mfcc"
MF = slice(453, 1551)
RAV = {1: "neutral", 2: "neutral", 3: "happy", 4: "sad", 5: "angry", 6: "fearful", 7: "disgust", 8: "surprised"}
TESS = {"neutral": "neutral", "happy": "happy", "sad": "sad", "angry": "angry", "fear": "fearful", "disgust": "disgust", "pleasant_surprise": "surprised"}
CL = sorted(set(RAV.values()))


def feats(w):
    base = fx.clip_functionals(w, F, SR, 35.0, 0.1)
    t = fx.trim_silence(np.asarray(w, dtype=np.float32), SR, 35.0, 0.1)
    if t.size < SR // 10:
        t = np.pad(t, (0, SR // 10 - t.size))
    tools = fx._functional_tools(F, SR)
    lm = tools["logmel"](t, sampling_rate=SR, return_tensors="pt")["input_features"][0].numpy()
    mf = tools["mfcc"](t, sampling_rate=SR, return_tensors="pt")["input_features"][0].numpy()
    n = min(len(lm), len(mf))
    level = lm[:n].mean(1)
    keep = level >= level.max() - fx.SPEECH_DB
    sp = mf[:n][keep] if keep.sum() >= 2 else mf[:n]
    alt = base.copy()
    alt[MF] = np.nan_to_num(fx.row_functionals(sp))
    return base, alt


rav = [p for p in sorted(glob.glob("/work/shared/data/ravdess/Actor_*/*.flac")) if int(p[-7:-5]) <= 20]
tess = sorted(glob.glob("/work/shared/data/tess/*/*/*.flac"))[::4]
rows = []
for p in rav + tess:
    w = load_audio(p)
    if "Actor" in p:
        a = int(p[-7:-5]); lab = RAV[int(p.split("/")[-1].split("-")[2])]; g = "male" if a % 2 else "female"; c = "ravdess"
    else:
        a = 0; lab = TESS[p.split("/")[-2].split("_", 1)[1].lower()]; g = "female"; c = "tess"
    rows.append((w, a, CL.index(lab), g, c))
A = np.array([r[1] for r in rows]); Y = np.array([r[2] for r in rows]); GR = np.array([r[4] + "/" + r[3] for r in rows])
X = [feats(r[0]) for r in rows]
XC = [feats(channel_copies(r[0], 1, 42, i, SR, ROOM_KINDS)[0]) for i, r in enumerate(rows)]
print("features", len(X), flush=True)
CH = ["noise:20", "telephone", "mp3:32", "reverb:0.6"]
res = {"whole-clip mfcc": [], "speech-frame mfcc": []}
for k in range(5):
    held = np.flatnonzero(np.isin(A, range(4 * k + 1, 4 * k + 5)))
    tr = np.flatnonzero(~np.isin(A, range(4 * k + 1, 4 * k + 5)))
    ch = {c: [feats(apply_channel(rows[i][0], c, SR, seed=int(i))) for i in held] for c in CH}
    win, of = [], []
    for j, i in enumerate(held):
        w = rows[i][0]; t = np.tile(w, int(np.ceil(7.5 * SR / len(w))))[: int(7.5 * SR)]
        for s in range(4):
            win.append(feats(t[s * SR: s * SR + 4 * SR])); of.append(j)
    of = np.array(of)
    for v, name in enumerate(res):
        xt = np.array([X[i][v] for i in tr] + [XC[i][v] for i in tr]); yt = np.r_[Y[tr], Y[tr]]
        sc = StandardScaler().fit(xt)
        lr = LogisticRegression(C=0.01 / 2, max_iter=3000).fit(sc.transform(xt), yt, sample_weight=cell_balanced_weights(yt, np.r_[GR[tr], GR[tr]]))
        pred = lambda m: lr.predict(sc.transform(np.array(m)))
        pc = pred([X[i][v] for i in held])
        clean = balanced_accuracy_score(Y[held], pc)
        chan = np.mean([balanced_accuracy_score(Y[held], pred([f[v] for f in ch[c]])) for c in CH])
        agree = float((pred([f[v] for f in win]) == pc[of]).mean())
        res[name].append((clean, chan, agree))
        print(k, name, f"clean {clean:.3f} channels {chan:.3f} windows {agree:.3f}", flush=True)
for name, r in res.items():
    r = np.array(r).mean(0)
    print(f"{name:20s} clean {r[0]:.4f} channels {r[1]:.4f} score {(r[0] + r[1]) / 2:.4f} windows {r[2]:.4f}")
