"""Portable stats model: energy VAD -> per-band utterance statistics of dB log-mel -> (standardise) -> linear.
StatsSER.forward(input_features (B,T,M) dB log-mel, attention_mask (B,T)) -> logits (B,7).
Fit with sklearn LogisticRegression on the same statistics (fit_stats_model), weights folded into nn.Linear."""
import os, sys, time, json, argparse
os.environ["OMP_NUM_THREADS"] = "1"
import numpy as np, torch, torch.nn as nn
torch.set_num_threads(1)

class StatsSER(nn.Module):
    def __init__(self, n_mels=64, n_classes=7, vad_db=35.0, hidden=0):
        super().__init__()
        self.vad_db = vad_db; d = 7 * n_mels
        self.register_buffer("mu", torch.zeros(d)); self.register_buffer("sd", torch.ones(d))
        self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Dropout(0.3)) if hidden else nn.Identity()
        self.fc = nn.Linear(hidden or d, n_classes)

    def stats(self, x, attention_mask=None):
        B, T, M = x.shape
        mask = torch.ones(B, T, device=x.device) if attention_mask is None else attention_mask.float()
        e = x.mean(-1).masked_fill(mask < 0.5, -1e4)
        keep = mask * (e >= e.amax(1, keepdim=True) - self.vad_db).float() if self.vad_db > 0 else mask
        n = keep.sum(1).clamp_min(1)[:, None]  # (B,1)
        k = keep[..., None]
        mean = (x * k).sum(1) / n
        std = (((x - mean[:, None]) ** 2 * k).sum(1) / n).sqrt()  # population std (numpy default)
        # percentiles (numpy 'linear' interpolation) over kept frames
        xs = torch.sort(x.masked_fill(k < 0.5, float("inf")), dim=1).values
        qs = []
        for q in (0.10, 0.50, 0.90):
            pos = q * (n - 1); lo = pos.floor().long(); hi = pos.ceil().long(); fr = (pos - lo.float())
            vlo = torch.gather(xs, 1, lo[:, :, None].expand(B, 1, M))[:, 0]; vhi = torch.gather(xs, 1, hi[:, :, None].expand(B, 1, M))[:, 0]
            qs.append(vlo + (vhi - vlo) * fr)
        # deltas between consecutive KEPT frames (as numpy does on the VAD-selected array)
        T_ = x.shape[1]
        order = torch.argsort((1 - keep) * T_ + torch.arange(T_, device=x.device)[None], dim=1)
        xc = torch.gather(x, 1, order[..., None].expand_as(x)); kc = torch.gather(keep, 1, order)
        d = xc[:, 1:] - xc[:, :-1]; kd = (kc[:, 1:] * kc[:, :-1])[..., None]; nd = kd.sum(1).clamp_min(1)
        dabs = (d.abs() * kd).sum(1) / nd
        dm = (d * kd).sum(1) / nd; dsd = (((d - dm[:, None]) ** 2 * kd).sum(1) / nd).sqrt()
        return torch.cat([mean, std, *qs, dabs, dsd], 1)

    def forward(self, input_features, attention_mask=None):
        z = (self.stats(input_features, attention_mask) - self.mu) / self.sd
        return self.fc(self.mlp(z))
