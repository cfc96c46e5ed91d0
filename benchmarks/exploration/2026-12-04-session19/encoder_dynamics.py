"""Session 19: how the encoder's states move, beside their mean and sd (``dynamics_rule.md``).
Validation rows go to stdout, test rows to ``--test-out`` (not read before the rule decides).

    python encoder_dynamics.py prepare DATA_DIR runs/s19_dynamics.npz
    python encoder_dynamics.py folds runs/s13_matrices.npz runs/s16_encoder_w.npz runs/s17_conditions.npz \
        runs/s19_dynamics.npz DATA_DIR --test-out T.jsonl r6t:0 ... xc:T->R
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "2026-12-03-session16"))
sys.path.insert(0, str(HERE / "2026-12-03-session17"))
sys.path.insert(0, str(HERE / "2026-12-03-session18"))
from common import fitter, prepare_states, score_variant, split  # noqa: E402
from encoder_states import CONDITIONS, SPLITS  # noqa: E402
from speaker_subspace import Fitted  # noqa: E402

from ser_hf.models.feature_extraction_functionals import trim_silence  # noqa: E402
from ser_hf.models.voice_encoder import WINDOW, VoiceEncoder, mel_power  # noqa: E402

LAYERS = 2
SIZE = 3 * 256 * LAYERS  # per layer: sd of the differences (256), 10th and 90th percentiles (512)
VARIANTS = {"B": np.arange(0), "D": np.arange(512), "Q": np.arange(512, SIZE)}


@torch.inference_mode()
def dynamics(encoder, wave):
    """Per layer (first two): the sd of the frame-to-frame state differences within each window,
    then the 10th and 90th percentiles of the states over all frames; ``(SIZE,)``."""
    mel = mel_power(torch.as_tensor(trim_silence(np.asarray(wave, np.float32), 16000, 35.0, 0.1)))
    states, diffs = [[] for _ in range(LAYERS)], [[] for _ in range(LAYERS)]
    for start in range(0, max(len(mel), 1), WINDOW):
        h = mel[None, start : start + WINDOW]
        for j, lstm in enumerate(encoder.layers[:LAYERS]):
            h, _ = lstm(h)
            states[j].append(h[0].double())
            diffs[j].append(h[0, 1:].double() - h[0, :-1].double())
    out = []
    for j in range(LAYERS):
        d = torch.cat(diffs[j])
        out.append(d.std(0, unbiased=False) if len(d) else torch.zeros(256, dtype=torch.float64))
    for j in range(LAYERS):
        out += list(torch.quantile(torch.cat(states[j]), torch.tensor([0.1, 0.9], dtype=torch.float64), dim=0))
    return torch.cat(out).float().numpy()


_W = {}


def _load():
    _W["enc"] = VoiceEncoder.load(dtype=torch.float32)


def _values(waves):
    return np.stack([dynamics(_W["enc"], w) for w in waves])


def prepare(data, out):
    """The clean clips, their two copies (session 13's) and the six held-out conditions (session 17's)."""
    prepare_states(data, out, SIZE, _load, _values)


def run_fold(d, ew, ce, dyn, name, test_out, data, variants):
    rows = split(data, name)
    enc = [ew["p"], *ew["copies"]]
    extra = [dyn["p"], *[dyn[f"copy{i}"] for i in range(len(ew["copies"]))]]
    for v in variants:

        def cols(e, x):
            return np.concatenate([e[:, :1024], x[:, VARIANTS[v]]], 1).astype(np.float64)

        sets = [cols(e, x) for e, x in zip(enc, extra)]
        held_sets = {c: cols(ce[c.replace(":", "_")], dyn[c.replace(":", "_")]) for c in CONDITIONS}
        fit = fitter(d, sets, lambda x, y, g, c, w: Fitted(x, y, c, w))
        score_variant(name, v, sets, held_sets, fit, d["y"], d["gender"], rows, test_out)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("prepare")
    a.add_argument("data")
    a.add_argument("out")
    b = sub.add_parser("folds")
    for name in ("matrices", "windowed", "encoder_conditions", "dynamics", "data"):
        b.add_argument(name)
    b.add_argument("--test-out", required=True)
    b.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    b.add_argument("folds", nargs="+", choices=list(SPLITS))
    args = p.parse_args()
    if args.cmd == "prepare":
        prepare(args.data, args.out)
        return
    d, ew = dict(np.load(args.matrices)), dict(np.load(args.windowed))
    ce, dyn = np.load(args.encoder_conditions), dict(np.load(args.dynamics))
    for name in args.folds:
        run_fold(d, ew, ce, dyn, name, args.test_out, args.data, args.variants)


if __name__ == "__main__":
    main()
