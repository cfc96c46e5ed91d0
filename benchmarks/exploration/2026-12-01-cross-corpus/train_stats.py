"""Winner-candidate trainer: StatsSER (energy VAD 35 dB -> 7 per-band stats of 64 dB log-mels -> standardise -> multinomial LR).
Runs r2t, t2r and RAVDESS 6-fold; C chosen per run on the training corpus' validation split only.
Usage: python train_stats.py [--wavaug 0|1] [--spknorm 0|1] [--save path]"""
import os, sys, time, json, argparse
os.environ["OMP_NUM_THREADS"] = "1"
import numpy as np, torch
torch.set_num_threads(1)
sys.path.insert(0, "/work/exp")
from common import load, metrics, fmt, split
from stats_model import StatsSER
from sklearn.linear_model import LogisticRegression
ap = argparse.ArgumentParser(); ap.add_argument("--wavaug", type=int, default=0); ap.add_argument("--spknorm", type=int, default=0)
ap.add_argument("--vad", type=float, default=35); ap.add_argument("--protocols", default="r2t,t2r,folds"); ap.add_argument("--save", default="")
a = ap.parse_args()
f0, meta = load(64, 0); y = meta["label"].astype(int); N = len(y)
enc = StatsSER(64, 7, a.vad)
def S_of(fl):
    out = []
    with torch.no_grad():
        for i in range(0, len(fl), 1):
            out.append(enc.stats(torch.from_numpy(fl[i])[None]).numpy()[0])
    return np.stack(out)
t0 = time.time(); S0 = S_of(f0); print(f"stats of {N} clips in {time.time()-t0:.1f}s", flush=True)
Saug = [S_of(load(64, k)[0]) for k in (1, 2, 3)] if a.wavaug else []
spk = np.array([f"{c}:{s}" for c, s in zip(meta["corpus"], meta["speaker"])])
def spk_norm(S):
    S = S.copy()
    for s in np.unique(spk):
        ii = spk == s; S[ii] = (S[ii] - S[ii].mean(0)) / (S[ii].std(0) + 1e-6)
    return S
if a.spknorm:
    S0 = spk_norm(S0); Saug = [spk_norm(s) for s in Saug]  # stats from each speaker's own unlabelled clips (adaptation)

def fit(tr, va):
    Xtr = np.concatenate([S0[tr]] + [s[tr] for s in Saug]); ytr = np.concatenate([y[tr]] * (1 + len(Saug)))
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-6; best = None
    for C in [0.001, 0.003, 0.01, 0.03, 0.1]:
        clf = LogisticRegression(C=C, max_iter=3000, class_weight="balanced").fit((Xtr - mu) / sd, ytr)
        mv = metrics(y[va], clf.predict((S0[va] - mu) / sd))
        if best is None or mv["UA"] > best[1]["UA"]: best = (clf, mv, C)
    m = StatsSER(64, 7, a.vad); m.mu.copy_(torch.tensor(mu)); m.sd.copy_(torch.tensor(sd))
    m.fc.weight.data = torch.tensor(best[0].coef_, dtype=torch.float32); m.fc.bias.data = torch.tensor(best[0].intercept_, dtype=torch.float32)
    return m, best
def pred(m, idx):
    X = torch.from_numpy(S0[idx]).float()
    with torch.no_grad(): return m.fc(m.mlp((X - m.mu) / m.sd)).argmax(1).numpy()
res = {}; tag = f"stats-LR vad={a.vad} wavaug={a.wavaug} spknorm={a.spknorm}"
for pr in a.protocols.split(","):
    if pr != "folds":
        tr, va, te = split(meta, pr); m, (clf, mv, C) = fit(tr, va); p = pred(m, np.where(te)[0])
        mt = metrics(y[te], p); res[pr] = dict(C=C, val=mv, test=mt); print(f"[{tag}] {pr} C={C} VAL {fmt(mv)} TEST {fmt(mt)}", flush=True)
        if a.save and pr == "r2t": torch.save(m.state_dict(), a.save + "_r2t.pt")
    else:
        uas = []; Y = []; P = []; G = []
        for k in range(6):
            tr, va, te = split(meta, f"rfold{k}"); m, (clf, mv, C) = fit(tr, va); ti = np.where(te)[0]; p = pred(m, ti)
            uas.append(metrics(y[ti], p)["UA"]); Y.append(y[ti]); P.append(p); G.append(np.array([int(s) % 2 for s in meta["speaker"][ti]]))
            print(f"  fold{k} C={C} val UA={mv['UA']:.3f} test UA={uas[-1]:.3f}", flush=True)
        Y, P, G = map(np.concatenate, (Y, P, G))
        male, female = metrics(Y[G == 1], P[G == 1])["UA"], metrics(Y[G == 0], P[G == 0])["UA"]
        res["folds"] = dict(per_fold=uas, mean=float(np.mean(uas)), std=float(np.std(uas)), male=male, female=female, pooled=metrics(Y, P))
        print(f"[{tag}] 6-fold UA {np.mean(uas):.3f} +- {np.std(uas):.3f} per-fold {np.round(uas,3).tolist()} male={male:.3f} female={female:.3f}", flush=True)
# latency of the full torch module on a 3-s clip
m = StatsSER(64, 7, a.vad); x = torch.randn(1, 301, 64) * 10 - 40; mk = torch.ones(1, 301)
with torch.inference_mode():
    for _ in range(10): m(x, mk)
    ts = []
    for _ in range(50): s = time.perf_counter(); m(x, mk); ts.append(time.perf_counter() - s)
res["latency_ms"] = 1000 * float(np.median(ts)); res["params"] = sum(p.numel() for p in m.fc.parameters())
print(f"[{tag}] latency {res['latency_ms']:.3f} ms params {res['params']}")
with open("/work/exp/results.jsonl", "a") as fh: fh.write(json.dumps(dict(tag=tag, **res), default=float) + "\n")
