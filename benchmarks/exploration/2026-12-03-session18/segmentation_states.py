"""Session 18, third question: a second pretrained encoder, pyannote's speaker-segmentation network
(``segmentation_rule.md``). Validation rows go to stdout, test rows to ``--test-out``.

The weights: ``whisperx/assets/pytorch_model.bin`` inside the whisperx 3.8.6 wheel (PyPI), which is
pyannote/segmentation (MIT): SincNet (80 parametrised sinc filters, stride 10, three conv / max-pool
/ instance-norm blocks) -> 4-layer BiLSTM (128 per direction) -> 2 linear layers of 128 -> 3
speakers. It is a pickled Lightning checkpoint; ``load_state`` reads it without pyannote. The sinc
filterbank is asteroid-filterbanks' ``ParamSincFB`` (MIT, pure torch; its wheel unzipped on
``--asteroid``), as pyannote builds it.

    pip download --no-deps whisperx==3.8.6 asteroid-filterbanks==0.4.0; unzip both
    python segmentation_states.py prepare CKPT ASTEROID_DIR DATA_DIR runs/s18_seg.npz
    python segmentation_states.py folds runs/s13_matrices.npz runs/s16_encoder_w.npz runs/s17_conditions.npz \
        runs/s18_seg.npz DATA_DIR --test-out T.jsonl r6t:0 ... xc:T->R
"""

import argparse
import functools
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "2026-12-03-session16"))
sys.path.insert(0, str(HERE / "2026-12-03-session17"))
sys.path.insert(0, str(HERE / "2026-12-03-session18"))
from common import fitter, prepare_states, score_variant, split  # noqa: E402
from encoder_states import CONDITIONS, SPLITS  # noqa: E402
from speaker_subspace import Fitted  # noqa: E402

from ser_hf.models.feature_extraction_functionals import trim_silence  # noqa: E402

SIZE = 4 * 512 + 2 * 256  # per LSTM layer (both directions, 256) mean and sd; per linear layer (128) mean and sd
VARIANTS = {"B": None, "Y": np.arange(SIZE), "Y12": np.arange(1024), "BY12": np.arange(1024)}


def load_state(path):
    """The checkpoint's state dict, its pyannote / omegaconf classes replaced by stand-ins."""

    class Stub:
        def __init__(self, *a, **k):
            pass

        def __setstate__(self, state):
            self.state = state

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            try:
                return super().find_class(module, name)
            except Exception:
                return type(name, (Stub,), {})

    pm = types.ModuleType("pm")
    pm.Unpickler, pm.load = Unpickler, pickle.load
    return torch.load(path, map_location="cpu", weights_only=False, pickle_module=pm)["state_dict"]


class Segmentation(torch.nn.Module):
    """PyanNet (pyannote.audio 2.x) with every LSTM layer run separately, so each can be pooled."""

    def __init__(self, ckpt, asteroid):
        super().__init__()
        sys.path.insert(0, asteroid)
        from asteroid_filterbanks import Encoder, ParamSincFB

        sd = load_state(ckpt)
        self.wav_norm = torch.nn.InstanceNorm1d(1, affine=True)
        self.sinc = Encoder(ParamSincFB(80, 251, stride=10, sample_rate=16000, min_low_hz=50, min_band_hz=50))
        self.convs = torch.nn.ModuleList([torch.nn.Conv1d(80, 60, 5), torch.nn.Conv1d(60, 60, 5)])
        self.norms = torch.nn.ModuleList([torch.nn.InstanceNorm1d(n, affine=True) for n in (80, 60, 60)])
        self.lstms = torch.nn.ModuleList(
            [torch.nn.LSTM(60 if i == 0 else 256, 128, 1, batch_first=True, bidirectional=True) for i in range(4)]
        )
        self.linear = torch.nn.ModuleList([torch.nn.Linear(256, 128), torch.nn.Linear(128, 128)])
        self.classifier = torch.nn.Linear(128, 3)
        mine = {"sincnet.wav_norm1d.weight": "wav_norm.weight", "sincnet.wav_norm1d.bias": "wav_norm.bias"}
        for k in sd:
            if k.startswith("sincnet.conv1d.0."):
                mine[k] = "sinc." + k[len("sincnet.conv1d.0.") :]
            elif k.startswith("sincnet.conv1d."):
                i, rest = k[len("sincnet.conv1d.") :].split(".", 1)
                mine[k] = f"convs.{int(i) - 1}.{rest}"
            elif k.startswith("sincnet.norm1d."):
                mine[k] = "norms." + k[len("sincnet.norm1d.") :]
            elif k.startswith("lstm."):
                name = k[len("lstm.") :]
                layer = int(name.split("_l")[1][0])
                mine[k] = f"lstms.{layer}." + name.replace(f"_l{layer}", "_l0")
            elif k.startswith(("linear.", "classifier.")):
                mine[k] = k
        self.load_state_dict({mine[k]: v for k, v in sd.items()}, strict=True)
        self.eval()

    @torch.inference_mode()
    def forward(self, wave):
        """``(SIZE,)`` pooled states of one clip, and the per-frame speaker activities ``(frames, 3)``."""
        x = self.wav_norm(torch.as_tensor(wave, dtype=torch.float32)[None, None])
        x = F.leaky_relu(self.norms[0](F.max_pool1d(self.sinc(x).abs(), 3)))
        for conv, norm in zip(self.convs, self.norms[1:]):
            x = F.leaky_relu(norm(F.max_pool1d(conv(x), 3)))
        h, feats = x.transpose(1, 2), []
        for lstm in self.lstms:
            h, _ = lstm(h)
            feats += [h[0].mean(0), h[0].std(0, unbiased=False)]
        for lin in self.linear:
            h = F.leaky_relu(lin(h))
            feats += [h[0].mean(0), h[0].std(0, unbiased=False)]
        return torch.cat(feats).numpy(), torch.sigmoid(self.classifier(h[0])).numpy()


_MODEL = {}


def _load(ckpt, asteroid):
    _MODEL["m"] = Segmentation(ckpt, asteroid)


def _states(waves):
    return np.stack([_MODEL["m"](trim_silence(np.asarray(w, np.float32), 16000, 35.0, 0.1))[0] for w in waves])


def prepare(ckpt, asteroid, data, out):
    """The clean clips, their two copies (session 13's) and the six held-out conditions (session 17's)."""
    prepare_states(data, out, SIZE, functools.partial(_load, ckpt, asteroid), _states)


def run_fold(d, ew, ce, seg, name, test_out, data, variants):
    rows = split(data, name)
    enc = [ew["p"], *ew["copies"]]
    segs = [seg["p"], *[seg[f"copy{i}"] for i in range(len(ew["copies"]))]]
    for v in variants:

        def cols(e, s):
            if v == "B":
                return e[:, :1024].astype(np.float64)
            if v.startswith("B"):
                return np.concatenate([e[:, :1024], s[:, VARIANTS[v]]], 1).astype(np.float64)
            return s[:, VARIANTS[v]].astype(np.float64)

        sets = [cols(e, s) for e, s in zip(enc, segs)]
        held_sets = {c: cols(ce[c.replace(":", "_")], seg[c.replace(":", "_")]) for c in CONDITIONS}
        fit = fitter(d, sets, lambda x, y, g, c, w: Fitted(x, y, c, w))
        score_variant(name, v, sets, held_sets, fit, d["y"], d["gender"], rows, test_out)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("prepare")
    for name in ("ckpt", "asteroid", "data", "out"):
        a.add_argument(name)
    b = sub.add_parser("folds")
    for name in ("matrices", "windowed", "encoder_conditions", "segmentation", "data"):
        b.add_argument(name)
    b.add_argument("--test-out", required=True)
    b.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    b.add_argument("folds", nargs="+", choices=list(SPLITS))
    args = p.parse_args()
    if args.cmd == "prepare":
        prepare(args.ckpt, args.asteroid, args.data, args.out)
        return
    d, ew = dict(np.load(args.matrices)), dict(np.load(args.windowed))
    ce, seg = np.load(args.encoder_conditions), dict(np.load(args.segmentation))
    for name in args.folds:
        run_fold(d, ew, ce, seg, name, args.test_out, args.data, args.variants)


if __name__ == "__main__":
    main()
