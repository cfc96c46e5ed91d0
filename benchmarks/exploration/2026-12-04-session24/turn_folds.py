"""Session 24: score smart-turn's pooled states on session 18's 8 folds (``turn_rule.md``).
Validation rows go to stdout, test rows to ``--test-out`` (not read before the rule decides).

    python turn_folds.py runs/s24_states.npz DATA_DIR --test-out turn_folds_test.jsonl r6t:0 ... xc:T->R
"""

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "2026-12-03-session16"))
sys.path.insert(0, str(HERE / "2026-12-03-session17"))
sys.path.insert(0, str(HERE / "2026-12-03-session18"))
from common import fitter, score_variant, split  # noqa: E402
from encoder_states import CONDITIONS, SPLITS, data_args  # noqa: E402
from speaker_subspace import Fitted  # noqa: E402

from ser_hf.training.clips import load_rows  # noqa: E402

COLUMNS = {
    "B": np.arange(1024),
    "T": np.arange(1024, 4096),
    "T12": np.arange(1024, 1024 + 1536),
    "TL": np.arange(4096 - 768, 4096),
    "BT": np.arange(4096),
}


def labels(data):
    ds = load_rows(data_args(data))
    return {
        "y": np.asarray(ds["emotion"]),
        "gender": np.asarray(ds["gender"]),
        "corpus": np.asarray(ds["corpus"]),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("states")
    p.add_argument("data")
    p.add_argument("--test-out", required=True)
    p.add_argument("--variants", nargs="+", default=list(COLUMNS), choices=list(COLUMNS))
    p.add_argument("folds", nargs="+", choices=list(SPLITS))
    args = p.parse_args()
    st, d = np.load(args.states), labels(args.data)
    for name in args.folds:
        rows = split(args.data, name)
        for v in args.variants:
            cols = COLUMNS[v]
            sets = [st[k][:, cols].astype(np.float64) for k in ("p", "copy0", "copy1")]
            held = {c: st[c.replace(":", "_")][:, cols].astype(np.float64) for c in CONDITIONS}
            fit = fitter(d, sets, lambda x, y, g, c, w: Fitted(x, y, c, w))
            score_variant(name, v, sets, held, fit, d["y"], d["gender"], rows, args.test_out)


if __name__ == "__main__":
    main()
