"""Session 28 diagnostic, RAVDESS only (no TESS or Polish row is read): does the turn encoder's input
level, which follows the clip's duration, matter?

smart-turn (and so the package) normalises the waveform over its fixed 8-s window, zeros included, so
a 1.3-s clip reaches the encoder about 10 log10(3/1.3) = 3.6 dB louder than a 3-s one, a uniform shift
of its log-mels. "clip" normalises over the clip's own samples instead (duration-free level; the HF
Whisper extractor's masked normalisation). Plain fits (standardised values, class-balanced logistic
regression, C on two validation actors then refitted; no copies), trained on whole clips, scored on
the target actors' whole clips and on one random 1.3-s stretch of each clip's speech (the package's
``crop:1.3`` channel, seeded by row).

    python clip_norm_diag.py > clip_norm_diag.txt
"""

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.preprocessing import StandardScaler

import ser_hf.models.turn_encoder as te
from ser_hf.data.channel import apply_channel
from ser_hf.models.feature_extraction_functionals import trim_silence
from ser_hf.training.evaluation import _decode, load_eval_data

torch.set_num_threads(2)
window_log_mel = te.whisper_log_mel


def clip_log_mel(wave: torch.Tensor):
    """``te.whisper_log_mel`` with the mean and sd taken over the clip's own samples, not the window."""
    x = wave.to(torch.float64)[-te.WINDOW_SAMPLES :]
    hop, n_fft, win = te.HOP, te.N_FFT, te.WINDOW_SAMPLES
    k = max(1, min(win // (2 * hop), int(np.ceil(len(x) / (2 * hop)))))
    mean, sd = x.mean(), torch.sqrt(x.var(correction=0) + 1e-7)
    x = (x - mean) / sd
    start = hop * (win // hop - 2 * k) - n_fft // 2
    pad = win - len(x) - max(start, 0)
    x = torch.cat([(-mean / sd).expand(pad), x]) if pad >= 0 else x[-pad:]
    x = torch.nn.functional.pad(x[None], (max(-start, 0), n_fft // 2), mode="reflect")[0]
    spec = torch.fft.rfft(x.unfold(0, n_fft, hop)[: 2 * k] * te._hann(), dim=-1)
    spec = spec.real.square() + spec.imag.square()
    mel = torch.log10((spec @ te._mel_matrix(16000, n_fft, te.N_MELS).double()).clamp_min(1e-10))
    return ((torch.maximum(mel, mel.max() - 8.0) + 4.0) / 4.0).T.float(), k


ds = load_eval_data(["ravdess=/work/shared/data/ravdess"], "harmonized7")
waves = [trim_silence(w, 16000) for w in _decode(list(ds["path"]), 16000, 2)]
crops = [apply_channel(w, "crop:1.3", 16000, r) for r, w in enumerate(waves)]
enc = te.shared_turn_encoder(layers=2)
values = {}
for norm, fn in (("window", window_log_mel), ("clip", clip_log_mel)):
    te.whisper_log_mel = fn
    for part, clips in (("whole", waves), ("crop", crops)):
        values[norm, part] = enc.pooled([torch.as_tensor(c) for c in clips]).numpy()
te.whisper_log_mel = window_log_mel
durations = np.array([len(w) / 16000 for w in waves])
print(f"trimmed RAVDESS clips: median {np.median(durations):.2f} s (5-95 %: "
      f"{np.percentile(durations, 5):.2f}-{np.percentile(durations, 95):.2f} s); crops 1.3 s")  # fmt: skip

y = np.array(ds["emotion"])
actor = np.array([int(s.split("_")[1]) for s in ds["speaker"]])
male, low = actor % 2 == 1, actor <= 12
checks = {
    "in-domain": [(low, ~low, (11, 12)), (~low, low, (23, 24))],
    "gender": [(male, ~male, (21, 23)), (~male, male, (22, 24))],
}


def fit(x, tr, va):
    best = None
    for c in (0.001, 0.003, 0.01, 0.03, 0.1):
        sc = StandardScaler().fit(x[tr])
        lr = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(sc.transform(x[tr]), y[tr])
        s = balanced_accuracy_score(y[va], lr.predict(sc.transform(x[va])))
        best = max(best or (s, c), (s, c))
    both = tr | va
    sc = StandardScaler().fit(x[both])
    lr = LogisticRegression(C=best[1], max_iter=3000, class_weight="balanced")
    return sc, lr.fit(sc.transform(x[both]), y[both])


for norm in ("window", "clip"):
    whole, crop = values[norm, "whole"], values[norm, "crop"]
    # how far the crops' mean moves from the whole clips' mean, in units of the whole clips' sd
    shift = np.abs(crop.mean(0) - whole.mean(0)) / whole.std(0)
    cells = []
    for check, dirs in checks.items():
        got_whole, got_crop = [], []
        for source, target, val_actors in dirs:
            va = source & np.isin(actor, val_actors)
            sc, lr = fit(whole, source & ~va, va)
            got_whole.append(balanced_accuracy_score(y[target], lr.predict(sc.transform(whole[target]))))
            got_crop.append(balanced_accuracy_score(y[target], lr.predict(sc.transform(crop[target]))))
        cells.append(f"{check} whole {np.mean(got_whole):.3f} crop {np.mean(got_crop):.3f}")
    head = f"{norm:6s} mean |crop - whole| shift {shift.mean():.3f} sd (max {shift.max():.2f}); "
    print(head + "; ".join(cells))
