"""DTMF veto exploration (rule: runs/s41/dtmf_rule.md)."""
import json, random, sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, "/work/main")
from ser_hf.data.audio import load_audio
from ser_hf.data.channel import apply_channel
from ser_hf.models.speech_detector import FRAME, SpeechTrack

SR = 16000
LOW = np.array([697.0, 770.0, 852.0, 941.0]); HIGH = np.array([1209.0, 1336.0, 1477.0, 1633.0])
NFFT = 1024
FREQS = np.fft.rfftfreq(NFFT, 1 / SR)
WIN = np.hanning(FRAME).astype(np.float32)
LOBE = int(round(2 * SR / FRAME / (SR / NFFT)))  # main lobe half-width in bins: 2 bins of a 512-point frame
BAND = (FREQS >= 100) & (FREQS <= 4000)
LR = np.flatnonzero((FREQS >= 660) & (FREQS <= 985)); HR = np.flatnonzero((FREQS >= 1170) & (FREQS <= 1680))

def frame_stats(wave):
    n = len(wave) // FRAME
    fr = wave[: n * FRAME].reshape(n, FRAME) * WIN
    spec = np.abs(np.fft.rfft(fr, NFFT, axis=1)) ** 2
    total = spec[:, BAND].sum(1) + 1e-20
    def peak(region, nominal):
        i = region[np.argmax(spec[:, region], axis=1)]
        a, b, c = (spec[np.arange(n), j] for j in (i - 1, i, i + 1))
        d = 0.5 * (a - c) / np.where(a - 2 * b + c == 0, -1e-20, a - 2 * b + c)
        f = (i + d) * SR / NFFT
        k = np.abs(f[:, None] - nominal[None]).argmin(1)
        ok = np.abs(f - nominal[k]) <= 0.015 * nominal[k]
        cs = np.cumsum(np.pad(spec, ((0, 0), (1, 0))), axis=1)
        lobe = cs[np.arange(n), np.minimum(i + LOBE + 1, spec.shape[1])] - cs[np.arange(n), i - LOBE]
        return k, ok, lobe, b
    kl, okl, lobel, pl = peak(LR, LOW); kh, okh, lobeh, ph = peak(HR, HIGH)
    share = (lobel + lobeh) / total
    twist = 10 * np.log10((ph + 1e-20) / (pl + 1e-20))
    digit = np.where(okl & okh & (np.abs(twist) <= 8), kl * 4 + kh, -1)
    return digit, share

def veto(digit, share, S):
    d = np.where(share >= S, digit, -1)
    same_prev = np.r_[False, (d[1:] == d[:-1]) & (d[1:] >= 0)]
    same_next = np.r_[(d[:-1] == d[1:]) & (d[:-1] >= 0), False]
    run = same_prev | same_next
    idx = np.flatnonzero(run)
    out = run.copy()
    if len(idx):
        gaps = np.flatnonzero(np.diff(idx) > 1)
        for a, b in zip(idx[gaps], idx[gaps + 1]):
            if b - a <= GAP:
                out[a:b] = True
        for i in idx:
            out[max(0, i - MARGIN): i + MARGIN + 1] = True
    return out
GAP = int(0.6 * SR / FRAME); MARGIN = 3

def probs(wave):
    t = SpeechTrack(); t.feed(wave); t.finish(); return t.probabilities

KEYS = {'1':(0,0),'2':(0,1),'3':(0,2),'4':(1,0),'5':(1,1),'6':(1,2),'7':(2,0),'8':(2,1),'9':(2,2),'0':(3,1),'*':(3,0),'#':(3,2)}
def keypad(rng, seconds):
    out = []
    while sum(map(len, out)) < seconds * SR:
        l, h = KEYS[rng.choice(list(KEYS))]
        on = int(rng.uniform(0.06, 0.15) * SR); off = int(rng.uniform(0.05, 0.15) * SR)
        t = np.arange(on) / SR
        amp = 0.1 * 10 ** (rng.uniform(-1, 0.3))
        out += [amp * (np.sin(2 * np.pi * LOW[l] * t) + 10 ** (rng.uniform(-4, 4) / 20) * np.sin(2 * np.pi * HIGH[h] * t)), np.zeros(off)]
    return np.concatenate(out)[: int(seconds * SR)].astype(np.float32)

SHARES = (0.5, 0.6, 0.7)
CACHE = {}
def corpus_part(name, root, limit=None):
    files = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in (".wav", ".flac"))
    if limit: files = random.Random(0).sample(files, limit)
    res = {c: {"speech_frames": 0, "vetoed": {S: 0 for S in SHARES}, "miss_before": 0, "miss_after": {S: 0 for S in SHARES}} for c in ("clean", "telephone")}
    t0 = time.time()
    for i, p in enumerate(files):
        w = load_audio(str(p), SR)
        for c in ("clean", "telephone"):
            x = w if c == "clean" else apply_channel(w, "telephone", SR, seed=i)
            pr = probs(x); dg, sh = frame_stats(x)
            pr = pr[: len(dg)]; dg, sh = dg[: len(pr)], sh[: len(pr)]
            CACHE.setdefault(c, []).append((pr.astype(np.float32), dg.astype(np.int8), sh.astype(np.float32)))
            sp = pr >= 0.5
            r = res[c]; r["speech_frames"] += int(sp.sum())
            before = sp.sum() * FRAME / SR < 0.25; r["miss_before"] += int(before)
            for S in SHARES:
                v = veto(dg, sh, S)
                r["vetoed"][S] += int((sp & v).sum())
                r["miss_after"][S] += int((sp & ~v).sum() * FRAME / SR < 0.25)
    np.save(f"/work/main/runs/s41/dtmf/{name}_cache.npy", np.array(CACHE, dtype=object), allow_pickle=True)
    print(name, len(files), "files", round(time.time() - t0), "s", json.dumps(res), flush=True)
    return res

def dtmf_part():
    rng = np.random.default_rng(5)
    out = {}
    for snr in (None, 20, 10, 5):
        for c in ("clean", "telephone"):
            wins = nosp_before = {S: 0 for S in SHARES}; nb = 0; tot = 0; frac = {S: 0 for S in SHARES}
            for rep in range(6):
                x = keypad(rng, 20.0)
                if snr is not None:
                    pw = np.mean(x ** 2); x = x + rng.standard_normal(len(x)).astype(np.float32) * np.sqrt(pw / 10 ** (snr / 10))
                if c == "telephone": x = apply_channel(x.astype(np.float32), "telephone", SR, seed=rep)
                pr = probs(x); dg, sh = frame_stats(x); n = min(len(pr), len(dg)); pr, dg, sh = pr[:n], dg[:n], sh[:n]
                for s in range(0, n * FRAME - 4 * SR + 1, 2 * SR):
                    a, b = -(-s // FRAME), (s + 4 * SR) // FRAME
                    tot += 1; nb += int((pr[a:b] >= 0.5).sum() * FRAME / SR < 0.25)
                    for S in SHARES:
                        v = veto(dg, sh, S)
                        frac[S] += int(((pr[a:b] >= 0.5) & ~v[a:b]).sum() * FRAME / SR < 0.25)
            out[f"{snr} dB {c}"] = {"windows": tot, "no_speech_before": nb, "no_speech_after": frac}
            print("dtmf", snr, c, tot, nb, frac, flush=True)
    return out

if __name__ == "__main__":
    part = sys.argv[1]
    if part == "dtmf": r = dtmf_part()
    else: r = corpus_part(part, sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None)
    Path(f"/work/main/runs/s41/dtmf/{part}.json").write_text(json.dumps(r, indent=1, default=str))
