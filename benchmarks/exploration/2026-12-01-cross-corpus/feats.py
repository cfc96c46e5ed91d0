"""Decode each clip once, build log-mel (64 Slaney mel, dB) for clean + N augmented copies; cache to npz.
Matches ser_hf SERFeatureExtractor: peak-normalise, Hann 400 / hop 160 / n_fft 512, centered zero pad,
power 2, Slaney mel + Slaney norm, 10*log10(max(p,1e-10))."""
import os, sys, glob, time, re
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np, soundfile as sf, torch, torchaudio
torch.set_num_threads(1)
D = "/work/shared/data"
N_MELS = int(os.environ.get("N_MELS", 64))
N_AUG = int(os.environ.get("N_AUG", 3))
CLASSES = ["neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
RAV = {1: 0, 2: 0, 3: 1, 4: 2, 5: 3, 6: 4, 7: 5, 8: 6}
TESSMAP = {"neutral": 0, "happy": 1, "sad": 2, "angry": 3, "fear": 4, "disgust": 5, "pleasant_surprise": 6}
mel = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=512, win_length=400, hop_length=160,
        f_min=0.0, f_max=8000.0, n_mels=N_MELS, window_fn=torch.hann_window, power=2.0, center=True,
        pad_mode="constant", norm="slaney", mel_scale="slaney")

def logmel(x):
    x = torch.as_tensor(x, dtype=torch.float32)
    x = x / x.abs().max().clamp_min(1e-8)
    m = mel(x)  # (n_mels, T)
    return (10 * torch.log10(m.clamp_min(1e-10))).T.numpy().astype(np.float16)  # (T, n_mels)

def list_items():
    items = []
    for f in sorted(glob.glob(f"{D}/ravdess/Actor_*/*.flac")):
        p = os.path.basename(f)[:-5].split("-")
        items.append(dict(path=f, corpus="ravdess", label=RAV[int(p[2])], speaker=int(p[6]),
                          word=int(p[4]), intensity=int(p[3]), orig=int(p[2])))
    for f in sorted(glob.glob(f"{D}/tess/*/*/*.flac")):
        folder = os.path.basename(os.path.dirname(f)); spk, emo = folder.split("_", 1)
        word = os.path.basename(f).split("_")[1]
        items.append(dict(path=f, corpus="tess", label=TESSMAP[emo], speaker=spk, word=word, intensity=0, orig=0))
    return items

def augment(x, rng):
    """Random chain: speed (resample, changes pitch+tempo), random EQ, reverb, telephone band, noise."""
    sr = 16000
    x = torch.as_tensor(x, dtype=torch.float32)
    if rng.random() < 0.8:  # speed perturbation 0.85..1.15
        f = rng.uniform(0.85, 1.15); new = int(round(sr / f / 100)) * 100
        x = torchaudio.functional.resample(x, sr, new)  # played back at sr -> speed f
    X = torch.fft.rfft(x); freqs = torch.fft.rfftfreq(x.numel(), 1 / sr)
    if rng.random() < 0.6:  # random EQ: smooth random gain curve over log-frequency, +-6 dB
        knots = np.log(np.array([50, 200, 500, 1000, 2000, 4000, 8001.0]))
        g = rng.uniform(-6, 6, size=len(knots))
        lf = np.log(np.clip(freqs.numpy(), 50, 8000))
        X = X * torch.as_tensor(10 ** (np.interp(lf, knots, g) / 20), dtype=torch.float32)
    if rng.random() < 0.2:  # telephone band 300-3400 Hz
        X = X * ((freqs >= 300) & (freqs <= 3400)).float()
    x = torch.fft.irfft(X, n=x.numel())
    if rng.random() < 0.3:  # synthetic reverb: exponentially decaying noise RIR, RT60 0.2-0.8 s
        rt = rng.uniform(0.2, 0.8); L = int(rt * sr)
        t = np.arange(L) / sr; h = rng.standard_normal(L) * np.exp(-6.9 * t / rt); h[0] = 1.0
        h = torch.as_tensor(h / np.abs(h).sum() * 3, dtype=torch.float32)
        n = x.numel() + L
        x = torch.fft.irfft(torch.fft.rfft(x, n) * torch.fft.rfft(h, n), n)[: x.numel()]
    if rng.random() < 0.7:  # additive white/pink noise at 0-30 dB SNR
        snr = rng.uniform(0, 30)
        nz = torch.as_tensor(rng.standard_normal(x.numel()), dtype=torch.float32)
        if rng.random() < 0.5:
            Nf = torch.fft.rfft(nz); Nf[1:] = Nf[1:] / torch.sqrt(torch.arange(1, Nf.numel()).float()); nz = torch.fft.irfft(Nf, n=x.numel())
        ps = x.pow(2).mean(); pn = nz.pow(2).mean()
        x = x + nz * torch.sqrt(ps / pn / 10 ** (snr / 10))
    return x.numpy()

def main():
    items = list_items(); rng = np.random.default_rng(0)
    feats = [[] for _ in range(N_AUG + 1)]; keep = []; bad = []
    t0 = time.time()
    for i, it in enumerate(items):
        try:
            x, sr = sf.read(it["path"], dtype="float32")
            assert sr == 16000 and x.size > 1600 and np.isfinite(x).all() and np.abs(x).max() > 0
            if x.ndim > 1: x = x.mean(1)
        except Exception as e:
            bad.append((it["path"], repr(e))); continue
        keep.append(it); feats[0].append(logmel(x))
        for a in range(N_AUG):
            feats[a + 1].append(logmel(augment(x, rng)))
        if i % 500 == 0: print(i, time.time() - t0, flush=True)
    print("corrupt/skipped:", len(bad), bad[:5])
    meta = {k: np.array([it[k] for it in keep]) for k in ["path", "corpus", "label", "speaker", "word", "intensity", "orig"]}
    meta["speaker"] = np.array([str(s) for s in meta["speaker"]]); meta["word"] = np.array([str(s) for s in meta["word"]])
    for a in range(N_AUG + 1):
        lens = np.array([f.shape[0] for f in feats[a]]); off = np.concatenate([[0], np.cumsum(lens)])
        np.savez(f"/work/exp/cache/logmel{N_MELS}_aug{a}.npz", X=np.concatenate(feats[a]), off=off, **meta)
    print("done", time.time() - t0)

if __name__ == "__main__":
    main()
