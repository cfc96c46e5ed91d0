"""Session 24: the turn encoder's int8 path on session 18's 8 folds (``int8_rule.md``).

python int8_folds.py prepare DATA_DIR PC runs/s24/port_int8.npz
python int8_folds.py folds runs/s24/port.npz runs/s24/port_int8.npz DATA_DIR --test-out T.jsonl r6t:0 ... xc:T->R
"""

import copy
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "2026-12-03-session16"))
sys.path.insert(0, str(HERE / "2026-12-03-session17"))
sys.path.insert(0, str(HERE / "2026-12-03-session18"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import fitter, score_variant, split  # noqa: E402
from encoder_states import CONDITIONS, SPLITS  # noqa: E402
from speaker_subspace import Fitted  # noqa: E402
from turn_folds import labels  # noqa: E402

KEYS = ("p", "copy0", "copy1")
_STATE = {}


def int8_encoder():
    """The package's turn encoder in float32 with its linear layers as dynamic int8 (per channel)."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    from ser_hf.models.turn_encoder import TurnEncoder

    f32 = TurnEncoder.load(dtype=torch.float32)
    return quantize_dynamic(copy.deepcopy(f32), {torch.nn.Linear: per_channel_dynamic_qconfig})


def prepare(data, out):
    from common import prepare_states

    from ser_hf.models.feature_extraction_functionals import trim_silence

    def init():
        _STATE["q"] = int8_encoder()

    def values(waves):
        clips = [torch.as_tensor(trim_silence(np.asarray(w, np.float32), 16000, 35.0, 0.1)) for w in waves]
        return _STATE["q"].pooled(clips).numpy()

    prepare_states(data, out, 3072, init, values)


def folds(args):
    port, q, d = np.load(args.port), np.load(args.int8), labels(args.data)
    for name in args.folds:
        rows = split(args.data, name)
        for v in ("P", "Q", "X"):
            fit_on = port if v in ("P", "X") else q
            score_on = port if v == "P" else q
            sets = [fit_on[k].astype(np.float64) for k in KEYS]
            scored = [score_on[k].astype(np.float64) for k in KEYS]
            held = {c: score_on[c.replace(":", "_")].astype(np.float64) for c in CONDITIONS}
            fit = fitter(d, sets, lambda x, y, g, c, w: Fitted(x, y, c, w))
            # score_variant predicts on its sets' validation rows: give it the scored values, fitting on fit_on's
            score_variant(name, v, scored, held, fit, d["y"], d["gender"], rows, args.test_out)


def main():
    import argparse

    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("prepare")
    for name in ("data", "pc", "out"):
        a.add_argument(name)
    b = sub.add_parser("folds")
    for name in ("port", "int8", "data"):
        b.add_argument(name)
    b.add_argument("--test-out", required=True)
    b.add_argument("folds", nargs="+", choices=list(SPLITS))
    args = p.parse_args()
    if args.cmd == "prepare":
        torch.set_num_threads(1)
        prepare(args.data, args.out)
    else:
        folds(args)


if __name__ == "__main__":
    main()
