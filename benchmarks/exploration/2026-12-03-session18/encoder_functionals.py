"""Session 18: the default's encoder values beside the cheapest functionals (``decision_rule.md``).
Validation rows go to stdout, test rows to ``--test-out`` (not read before the rule decides).

    python encoder_functionals.py conditions DATA_DIR runs/s18_conditions.npz     # functionals, held-out conditions
    python encoder_functionals.py folds runs/s13_matrices.npz runs/s16_encoder_w.npz runs/s17_conditions.npz \
        runs/s18_conditions.npz DATA_DIR --test-out T.jsonl r6t:0 ... xc:T->R
"""

import argparse
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "2026-12-03-session16"))
sys.path.insert(0, str(HERE / "2026-12-03-session17"))
sys.path.insert(0, str(HERE / "2026-12-03-session18"))
from common import fitter, score_variant, split  # noqa: E402
from encoder_states import CONDITIONS, SEED, SPLITS, data_args  # noqa: E402
from speaker_subspace import Fitted  # noqa: E402

from ser_hf.data.channel import apply_channel  # noqa: E402
from ser_hf.models.feature_extraction_functionals import block_columns  # noqa: E402
from ser_hf.training.clips import decode_rows, load_rows  # noqa: E402
from ser_hf.training.linear import functionals_matrix  # noqa: E402

SET = "speech-stats-mfcc-speech"  # session 13's vectors (the functionals default's set)
BLOCKS = {"B": [], "E": ["speech"], "EP": ["speech", "pitch", "f0"]}


_ROWS = {}


def _init(data):
    _ROWS["ds"] = load_rows(data_args(data))


def _chunk(rows):
    clips = decode_rows(_ROWS["ds"], rows, 16000, None, 1)
    out = {}
    for c in CONDITIONS:
        waves = [apply_channel(w, c, 16000, SEED + r) for r, w in zip(rows, clips)]
        out[c] = functionals_matrix(waves, SET)
    return rows, out


def conditions(data, out, chunk=100):
    """``SET`` of every clip through each held-out condition (seed 42 + the clip's row, as session 17)."""
    n = len(load_rows(data_args(data)))
    res = {c: np.zeros((n, 1558), np.float32) for c in CONDITIONS}
    t = time.time()
    jobs = [list(range(s, min(s + chunk, n))) for s in range(0, n, chunk)]
    with Pool(2, initializer=_init, initargs=(data,)) as pool:
        for rows, got in pool.imap_unordered(_chunk, jobs):
            for c in CONDITIONS:
                res[c][rows] = got[c]
            print(f"# rows {rows[0]}-{rows[-1]} {time.time() - t:.0f} s", file=sys.stderr, flush=True)
    np.savez(out, **{c.replace(":", "_"): v for c, v in res.items()})


def run_fold(d, ew, cond_e, cond_f, name, test_out, data, variants):
    rows = split(data, name)
    for v in variants:
        cols = block_columns(SET, BLOCKS[v]) if BLOCKS[v] else np.arange(0)

        def join(enc, fun):
            return np.concatenate([enc[:, :1024], fun[:, cols]], 1).astype(np.float64)

        sets = [join(e, f) for e, f in zip((ew["p"], *ew["copies"]), (d["x"], *d["copies"]))]
        held_sets = {c: join(cond_e[c], cond_f[c]) for c in CONDITIONS}
        fit = fitter(d, sets, lambda x, y, g, c, w: Fitted(x, y, c, w))
        score_variant(name, v, sets, held_sets, fit, d["y"], d["gender"], rows, test_out)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("conditions")
    a.add_argument("data")
    a.add_argument("out")
    b = sub.add_parser("folds")
    for name in ("matrices", "windowed", "encoder_conditions", "functionals_conditions", "data"):
        b.add_argument(name)
    b.add_argument("--test-out", required=True)
    b.add_argument("--variants", nargs="+", default=list(BLOCKS), choices=list(BLOCKS))
    b.add_argument("folds", nargs="+", choices=list(SPLITS))
    args = p.parse_args()
    if args.cmd == "conditions":
        conditions(args.data, args.out)
        return
    d, ew = dict(np.load(args.matrices)), dict(np.load(args.windowed))
    ce, cf = np.load(args.encoder_conditions), np.load(args.functionals_conditions)
    cond_e = {c: ce[c.replace(":", "_")] for c in CONDITIONS}
    cond_f = {c: cf[c.replace(":", "_")] for c in CONDITIONS}
    for name in args.folds:
        run_fold(d, ew, cond_e, cond_f, name, args.test_out, args.data, args.variants)


if __name__ == "__main__":
    main()
