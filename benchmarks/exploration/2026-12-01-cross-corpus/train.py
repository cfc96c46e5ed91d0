"""Train SERNet on one protocol. Usage: python train.py --protocol r2t [options]. Prints val/test metrics, JSON line to results.jsonl."""
import os, sys, time, json, argparse
os.environ["OMP_NUM_THREADS"] = "1"
import numpy as np, torch, torch.nn.functional as F
torch.set_num_threads(1)
sys.path.insert(0, os.path.dirname(__file__))
from common import load, metrics, fmt, split
from model import SERNet

ap = argparse.ArgumentParser()
ap.add_argument("--protocol", default="r2t"); ap.add_argument("--train_on", default="")  # "both": r+t
ap.add_argument("--n_mels", type=int, default=64); ap.add_argument("--norm", default="utterance")
ap.add_argument("--stem", default="1d"); ap.add_argument("--channels", type=int, default=128)
ap.add_argument("--blocks", type=int, default=4); ap.add_argument("--gru", type=int, default=0)
ap.add_argument("--epochs", type=int, default=30); ap.add_argument("--bs", type=int, default=32)
ap.add_argument("--lr", type=float, default=3e-3); ap.add_argument("--wd", type=float, default=1e-2)
ap.add_argument("--specaug", type=int, default=1); ap.add_argument("--crop", type=int, default=1)
ap.add_argument("--mixup", type=float, default=0.0); ap.add_argument("--wavaug", type=float, default=0.0)
ap.add_argument("--n_aug", type=int, default=3); ap.add_argument("--ls", type=float, default=0.1)
ap.add_argument("--balanced", type=int, default=1); ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--spknorm", type=int, default=0)  # speaker-level standardisation (adaptation!)
ap.add_argument("--vad_db", type=float, default=0); ap.add_argument("--floor_db", type=float, default=0)
ap.add_argument("--tag", default=""); ap.add_argument("--save", default="")
a = ap.parse_args()
torch.manual_seed(a.seed); rng = np.random.default_rng(a.seed)

feats0, meta = load(a.n_mels, 0)
augs = [load(a.n_mels, i)[0] for i in range(1, a.n_aug + 1)] if a.wavaug > 0 else []
y = meta["label"].astype(int); N = len(y)
tr, va, te = split(meta, a.protocol)
if a.train_on == "both":
    te = np.zeros(N, bool); tr = ~va  # caller decides; used for final model
spk_key = np.array([f"{c}:{s}" for c, s in zip(meta["corpus"], meta["speaker"])])

def spk_stats(feat_list, idx_mask):
    st = {}
    for s in np.unique(spk_key[idx_mask]):
        ii = np.where(idx_mask & (spk_key == s))[0]
        cat = np.concatenate([feat_list[i] for i in ii]); st[s] = (cat.mean(0), cat.std(0) + 1e-5)
    return st
if a.spknorm:
    # stats per speaker from that speaker's (unlabelled) clean clips; applied to every copy
    st = spk_stats(feats0, np.ones(N, bool))
    def sn(fl): return [(f - st[spk_key[i]][0]) / st[spk_key[i]][1] * 20 - 40 for i, f in enumerate(fl)]  # keep scale ~ dB
    feats0 = sn(feats0); augs = [sn(f) for f in augs]

model = SERNet(a.n_mels, 7, a.channels, a.blocks, a.stem, a.gru, a.norm, vad_db=a.vad_db, floor_db=a.floor_db)
if a.norm == "global":
    cat = np.concatenate([feats0[i] for i in np.where(tr)[0]])
    model.g_mean.copy_(torch.tensor(cat.mean(0))); model.g_std.copy_(torch.tensor(cat.std(0) + 1e-5))
nparams = sum(p.numel() for p in model.parameters())

tri = np.where(tr)[0]
# sampling weights: class-balanced within corpus, corpora equal
if a.balanced:
    keys = np.array([f"{meta['corpus'][i]}:{y[i]}" for i in tri]); u, inv, cnt = np.unique(keys, return_inverse=True, return_counts=True)
    w = 1.0 / cnt[inv]; w /= w.sum()
else:
    w = np.ones(len(tri)) / len(tri)

def batchify(fl, L=None):
    T = max(f.shape[0] for f in fl) if L is None else L
    X = np.zeros((len(fl), T, fl[0].shape[1]), np.float32); M = np.zeros((len(fl), T), np.float32)
    for j, f in enumerate(fl):
        f = f[:T]; X[j, : len(f)] = f; M[j, : len(f)] = 1
    return torch.from_numpy(X), torch.from_numpy(M)

def get_train_batch(idx):
    fl = []
    for i in idx:
        f = feats0[i]
        if augs and rng.random() < a.wavaug:
            f = augs[rng.integers(len(augs))][i]
        fl.append(f)
    if a.crop:
        L = int(rng.integers(150, 301))
        out = []
        for f in fl:
            if len(f) > L:
                s = rng.integers(0, len(f) - L + 1); f = f[s : s + L]
            out.append(f)
        fl = out
    return batchify(fl)

def spec_augment(x, m):
    B, T, M = x.shape
    for b in range(B):
        for _ in range(2):
            w = rng.integers(0, 9); f0 = rng.integers(0, M - w + 1); x[b, :, f0 : f0 + w] = 0
        n = int(m[b].sum().item())
        for _ in range(2):
            w = rng.integers(0, min(21, max(1, n // 5) + 1)); t0 = rng.integers(0, max(1, n - w + 1)); x[b, t0 : t0 + w] = 0
    return x

@torch.no_grad()
def predict(idx):
    model.eval(); out = []
    order = idx[np.argsort([feats0[i].shape[0] for i in idx])]
    for s in range(0, len(order), 64):
        bi = order[s : s + 64]; X, M = batchify([feats0[i] for i in bi])
        out.append(model(X, M).softmax(-1).numpy())
    P = np.zeros((len(idx), 7)); pos = {v: k for k, v in enumerate(idx)}
    P[[pos[i] for i in order]] = np.concatenate(out)
    return P

steps_per_epoch = int(np.ceil(len(tri) / a.bs))
opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.wd)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.epochs * steps_per_epoch, pct_start=0.15)
cw = None
vai, tei = np.where(va)[0], np.where(te)[0]
best = (-1, None, -1); t0 = time.time(); hist = []
for ep in range(a.epochs):
    model.train()
    for st in range(steps_per_epoch):
        idx = tri[rng.choice(len(tri), a.bs, p=w)]
        X, M = get_train_batch(idx)
        X, M = model.normalize(X, M)
        if a.specaug: X = spec_augment(X, M)
        tgt = F.one_hot(torch.tensor(y[idx]), 7).float() * (1 - a.ls) + a.ls / 7
        if a.mixup > 0:
            lam = float(rng.beta(a.mixup, a.mixup)); lam = max(lam, 1 - lam); perm = torch.randperm(len(idx))
            X = lam * X + (1 - lam) * X[perm]; M = torch.maximum(M, M[perm]); tgt = lam * tgt + (1 - lam) * tgt[perm]
        logits = model(X, M, normalized=True)
        loss = -(tgt * logits.log_softmax(-1)).sum(-1).mean()
        opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    Pv = predict(vai); mv = metrics(y[vai], Pv.argmax(1))
    hist.append(round(mv["UA"], 3))
    if mv["UA"] > best[0]:
        best = (mv["UA"], {k: v.clone() for k, v in model.state_dict().items()}, ep)
model.load_state_dict(best[1])
train_time = time.time() - t0
Pv = predict(vai); mv = metrics(y[vai], Pv.argmax(1))
res = dict(tag=a.tag, args=vars(a), params=nparams, train_s=round(train_time, 1), best_ep=best[2], val=mv, val_hist=hist)
if len(tei):
    Pt = predict(tei); mt = metrics(y[tei], Pt.argmax(1)); res["test"] = mt
    g = np.array([int(s) % 2 if s.isdigit() else 0 for s in meta["speaker"][tei]])  # 1 male (odd actor)
    if meta["corpus"][tei[0]] == "ravdess":
        res["test_male_UA"] = metrics(y[tei][g == 1], Pt.argmax(1)[g == 1])["UA"]
        res["test_female_UA"] = metrics(y[tei][g == 0], Pt.argmax(1)[g == 0])["UA"]
    if a.save:
        np.savez(a.save + ".preds.npz", idx=tei, P=Pt, y=y[tei])
# latency: one 3-s clip (301 frames), 1 thread
model.eval(); x = torch.randn(1, 301, a.n_mels); m = torch.ones(1, 301)
with torch.inference_mode():
    for _ in range(10): model(x, m)
    ts = []
    for _ in range(50):
        s = time.perf_counter(); model(x, m); ts.append(time.perf_counter() - s)
res["latency_ms"] = round(1000 * float(np.median(ts)), 3)
if a.save: torch.save(model.state_dict(), a.save + ".pt")
print(f"[{a.tag}] {a.protocol} params={nparams} lat={res['latency_ms']}ms train={train_time:.0f}s best_ep={best[2]} VAL {fmt(mv)} TEST {fmt(res.get('test', {}))}"
      + (f" male={res['test_male_UA']:.3f} female={res['test_female_UA']:.3f}" if "test_male_UA" in res else ""), flush=True)
with open("/work/exp/results.jsonl", "a") as f:
    f.write(json.dumps(res, default=float) + "\n")
