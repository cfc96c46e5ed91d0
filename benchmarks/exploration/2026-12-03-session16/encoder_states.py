"""Session 16: a pretrained speaker encoder's pooled states (Resemblyzer 0.1.4, Apache-2.0, its
weights inside the wheel) beside the default's functionals (``decision_rule.md``). Validation rows
go to stdout, test rows to ``--test-out`` (not read before the rule decides).

    pip download --no-deps resemblyzer==0.1.4 && unzip the wheel into RZ (only pretrained.pt is used)
    python encoder_states.py prepare DATA_DIR RZ/resemblyzer/pretrained.pt runs/s16_encoder.npz
    python encoder_states.py prepare --windowed DATA_DIR RZ/resemblyzer/pretrained.pt runs/s16_encoder_w.npz
    python encoder_states.py folds runs/s13_matrices.npz runs/s16_encoder.npz runs/s16_encoder_w.npz DATA_DIR WEIGHTS \
        --test-out T.jsonl r6t:0 ... xc:T->R      # validation + held-out conditions, then test rows
"""

import argparse
import os
import json
import sys
import time

import librosa
import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score as ua

from ser_hf.data.channel import apply_channel, channel_copies
from ser_hf.models.feature_extraction_functionals import trim_silence
from ser_hf.training.clips import decode_rows, load_rows, make_split
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir
from ser_hf.training.functionals import _fit, cell_balanced_weights
from ser_hf.training.linear import functionals_matrix
from ser_hf.training.presets import get_preset

PRESET = "speech-stats-mfcc-speech-voices"
SEED = 42
SPLITS = {f"r6t:{k}": f"ravdess-fold:{k}" for k in range(6)} | {"xc:R->T": "loco:tess", "xc:T->R": "loco:ravdess"}
CONDITIONS = ["telephone", "eq:10", "opus:12", "clip:0.3", "pitch:-6", "pitch:6"]
VARIANTS = ["A", "P", "AP", "AP1", "Pw", "Pw12", "APw"]
MEL = librosa.filters.mel(sr=16000, n_fft=400, n_mels=40)


def data_args(data, split="none"):
    from ser_hf.training.arguments import DataArguments

    return DataArguments(
        corpus=[f"ravdess={data}/ravdess", f"tess={data}/tess"], label_scheme="harmonized7", split=split
    )


class Encoder:
    """Resemblyzer's LSTM as three one-layer LSTMs, so every layer's outputs can be pooled."""

    def __init__(self, weights):
        state = torch.load(weights, map_location="cpu")["model_state"]
        self.layers = []
        for i in range(3):
            lstm = torch.nn.LSTM(40 if i == 0 else 256, 256, 1, batch_first=True)
            lstm.load_state_dict({f"{n}_l0": state[f"lstm.{n}_l{i}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})
            self.layers.append(lstm.eval())
        self.linear = torch.nn.Linear(256, 256)
        self.linear.load_state_dict({"weight": state["linear.weight"], "bias": state["linear.bias"]})

    @staticmethod
    def mel(wave):
        w = np.asarray(wave, np.float64)
        change = -30 - 10 * np.log10(np.mean(w**2) + 1e-12)
        if change > 0:  # Resemblyzer's normalize_volume(increase_only=True)
            w = w * 10 ** (change / 20)
        spec = np.abs(librosa.stft(w, n_fft=400, hop_length=160)) ** 2
        return (MEL @ spec).T.astype(np.float32)  # frames x 40

    @torch.inference_mode()
    def windowed(self, waves, batch=64, window=160):
        """Pw: each clip after the extractor's silence trim, cut into ``window``-frame pieces run as
        one batch from zero states; per layer mean and sd over all frames, the pieces' embeddings
        averaged and re-normed (1,792 values)."""
        pieces, owner = [], []
        for i, w in enumerate(waves):
            m = torch.from_numpy(self.mel(trim_silence(np.asarray(w, np.float32), 16000, 35.0, 0.1)))
            for s in range(0, len(m), window):
                pieces.append(m[s : s + window])
                owner.append(i)
        owner = torch.tensor(owner)
        n = len(waves)
        sums = [torch.zeros(n, 256, dtype=torch.float64) for _ in range(6)]
        frames = torch.zeros(n, dtype=torch.float64).index_add_(0, owner, torch.tensor([len(p) for p in pieces], dtype=torch.float64))
        emb = torch.zeros(n, 256, dtype=torch.float64)
        for s in range(0, len(pieces), batch):
            chunk, who = pieces[s : s + batch], owner[s : s + batch]
            lengths = torch.tensor([len(m) for m in chunk])
            h = torch.nn.utils.rnn.pad_sequence(chunk, batch_first=True)
            mask = (torch.arange(h.shape[1])[None] < lengths[:, None]).double()[..., None]
            for j, lstm in enumerate(self.layers):
                packed = torch.nn.utils.rnn.pack_padded_sequence(h, lengths, batch_first=True, enforce_sorted=False)
                o, (last, _) = lstm(packed)
                h, _ = torch.nn.utils.rnn.pad_packed_sequence(o, batch_first=True, total_length=h.shape[1])
                sums[2 * j].index_add_(0, who, (h.double() * mask).sum(1))
                sums[2 * j + 1].index_add_(0, who, (h.double() ** 2 * mask).sum(1))
            e = torch.relu(self.linear(last[-1]))
            emb.index_add_(0, who, (e / e.norm(dim=1, keepdim=True).clamp_min(1e-8)).double())
        feats = []
        for j in range(3):
            mean = sums[2 * j] / frames[:, None]
            feats += [mean, (sums[2 * j + 1] / frames[:, None] - mean**2).clamp_min(0).sqrt()]
        feats.append(emb / emb.norm(dim=1, keepdim=True).clamp_min(1e-8))
        return torch.cat(feats, 1).float().numpy()

    @torch.inference_mode()
    def __call__(self, waves, batch=64):
        """Pooled states of each clip: per layer mean and sd (3 x 512), then the embedding (256)."""
        out = np.zeros((len(waves), 1792), np.float32)
        order = np.argsort([len(w) for w in waves])
        for s in range(0, len(waves), batch):
            idx = order[s : s + batch]
            mels = [torch.from_numpy(self.mel(waves[i])) for i in idx]
            lengths = torch.tensor([len(m) for m in mels])
            h = torch.nn.utils.rnn.pad_sequence(mels, batch_first=True)
            mask = (torch.arange(h.shape[1])[None] < lengths[:, None]).float()[..., None]
            feats = []
            for lstm in self.layers:
                packed = torch.nn.utils.rnn.pack_padded_sequence(h, lengths, batch_first=True, enforce_sorted=False)
                o, (last, _) = lstm(packed)
                h, _ = torch.nn.utils.rnn.pad_packed_sequence(o, batch_first=True, total_length=h.shape[1])
                mean = (h * mask).sum(1) / lengths[:, None]
                sd = (((h - mean[:, None]) ** 2 * mask).sum(1) / lengths[:, None]).clamp_min(0).sqrt()
                feats += [mean, sd]
            e = torch.relu(self.linear(last[-1]))
            feats.append(e / e.norm(dim=1, keepdim=True).clamp_min(1e-8))
            out[idx] = torch.cat(feats, 1).numpy()
        return out


def prepare(data, weights, out, windowed=False):
    cfg = get_preset(PRESET)["config"]
    ds = load_rows(data_args(data))
    enc = Encoder(weights)
    t = time.time()
    clips = decode_rows(ds, list(range(len(ds))), 16000, None, 2)
    run = enc.windowed if windowed else enc
    p = run(clips)
    n = cfg["channel_copies"]
    made = [channel_copies(c, n, SEED, r, kinds=tuple(cfg["channel_kinds"])) for r, c in enumerate(clips)]
    copies = [run([m[k] for m in made]) for k in range(n)]
    np.savez(out, p=p, copies=np.stack(copies), y=np.asarray(ds["emotion"]))
    print(f"# {len(clips)} clips, {n} copies each, {time.time() - t:.0f} s", file=sys.stderr)


def columns(variant, a, p, pw):
    """The input matrix of ``variant`` from the functionals ``a`` and the encoder values ``p``, ``pw``."""
    if variant in ("A", "P", "Pw", "Pw12"):
        return {"A": a, "P": p, "Pw": pw, "Pw12": pw[:, :1024]}[variant]
    return {"AP": lambda: np.hstack([a, p]), "AP1": lambda: np.hstack([a, p[:, :512]]), "APw": lambda: np.hstack([a, pw])}[variant]()


def run_fold(d, e, ew, name, test_out, data, weights, variants):
    grid = get_preset(PRESET)["config"]["c_grid"]
    functionals = get_preset(PRESET)["feature_extractor"]["functionals"]
    ds = load_rows(data_args(data))
    sp = make_split(ds, data_args(data, SPLITS[name]), SEED)
    assert (d["y"] == e["y"]).all()
    y, gender, k = d["y"], d["gender"], len(d["copies"])
    groups = np.char.add(np.char.add(d["corpus"], "/"), d["gender"])
    tr, va, te = list(sp.train), list(sp.validation), list(sp.test)
    t = time.time()
    clips = decode_rows(ds, va, 16000, None, 2)
    shifted = {}
    for c in CONDITIONS:
        waves = [apply_channel(w, c, 16000, SEED + i) for i, w in enumerate(clips)]
        enc = Encoder(weights)
        full = enc(waves) if {"P", "AP", "AP1"} & set(variants) else np.zeros((len(waves), 1792), np.float32)
        shifted[c] = (functionals_matrix(waves, functionals, cache=FeatureCache(default_cache_dir())), full, enc.windowed(waves))
    print(f"# {name} conditions: {time.time() - t:.0f} s", file=sys.stderr, flush=True)
    for v in variants:
        t = time.time()
        sets = [columns(v, a, p, pw) for a, p, pw in zip([d["x"], *d["copies"]], [e["p"], *e["copies"]], [ew["p"], *ew["copies"]])]

        def stacked(rows):
            return np.concatenate([m[rows].astype(np.float64) for m in sets])

        xtr, ytr = stacked(tr), np.tile(y[tr], k + 1)
        wtr = cell_balanced_weights(ytr, np.tile(groups[tr], k + 1))
        fits, val = {}, {}
        for c in grid:
            fits[c] = _fit(xtr, ytr, c / (k + 1), SEED, sample_weight=wtr)
            p = fits[c].predict(sets[0][va])
            noisy = ua(np.tile(y[va], k), fits[c].predict(np.concatenate([m[va] for m in sets[1:]])))
            val[c] = {"score": (ua(y[va], p) + noisy) / 2, "clean": ua(y[va], p),
                      "by_gender": {s: round(ua(y[va][gender[va] == s], p[gender[va] == s]), 4) for s in sorted(set(gender[va]))}}  # fmt: skip
        best = max(grid, key=lambda c: (val[c]["score"], -c))
        clf = fits[best]
        held = {c: round(ua(y[va], clf.predict(columns(v, a, p, pw))), 4) for c, (a, p, pw) in shifted.items()}
        row = {"fold": name, "variant": v, "c": best, "val_score": round(val[best]["score"], 4),
               "val_clean": round(val[best]["clean"], 4), "val_by_gender": val[best]["by_gender"],
               "held_out": held, "held_out_mean": round(float(np.mean(list(held.values()))), 4),
               "val_by_c": {str(c): round(s["score"], 4) for c, s in val.items()}}  # fmt: skip
        print(json.dumps(row), flush=True)
        rows = tr + va
        xall, yall = stacked(rows), np.tile(y[rows], k + 1)
        clf = _fit(xall, yall, best / (k + 1), SEED, sample_weight=cell_balanced_weights(yall, np.tile(groups[rows], k + 1)))
        pred = clf.predict(sets[0][te])
        g = gender[te]
        test = {"fold": name, "variant": v, "c": best, "test_ua": round(ua(y[te], pred), 4),
                "by_gender": {s: round(ua(y[te][g == s], pred[g == s]), 4) for s in sorted(set(g))}}  # fmt: skip
        with open(test_out, "a") as f:
            f.write(json.dumps(test) + "\n")
        print(f"# {name} {v}: {time.time() - t:.0f} s", file=sys.stderr, flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("prepare")
    a.add_argument("data")
    a.add_argument("weights")
    a.add_argument("out")
    a.add_argument("--windowed", action="store_true")
    b = sub.add_parser("folds")
    b.add_argument("matrices")
    b.add_argument("encoder")
    b.add_argument("windowed")
    b.add_argument("data")
    b.add_argument("weights")
    b.add_argument("--test-out", required=True)
    b.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
    b.add_argument("folds", nargs="+", choices=list(SPLITS))
    args = p.parse_args()
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    if args.cmd == "prepare":
        prepare(args.data, args.weights, args.out, args.windowed)
    else:
        d, e, ew = dict(np.load(args.matrices)), dict(np.load(args.encoder)), dict(np.load(args.windowed))
        for name in args.folds:
            run_fold(d, e, ew, name, args.test_out, args.data, args.weights, args.variants)


if __name__ == "__main__":
    main()
