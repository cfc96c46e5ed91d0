"""Session 24: the port's values on session 18's 8 folds, and each fold model on the Polish corpus
(``turn_rule.md``, the amendment). Validation rows to stdout, test rows (and Polish, 3 classes)
to ``--test-out``, not read before the rule decides.

    python turn_port.py prepare DATA_DIR PC runs/s24/port.npz
    python turn_port_folds.py polish POLISH_DIR PC runs/s24/polish.npz     # B + the port, 450 clips
    python turn_port_folds.py folds runs/s24/states.npz runs/s24/port.npz runs/s24/polish.npz DATA_DIR \
        --test-out turn_port_folds_test.jsonl r6t:0 ... xc:T->R
"""

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score as ua

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "2026-12-03-session16"))
sys.path.insert(0, str(HERE / "2026-12-03-session17"))
sys.path.insert(0, str(HERE / "2026-12-03-session18"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import fitter, score_variant, split  # noqa: E402
from encoder_states import CONDITIONS, SPLITS  # noqa: E402
from speaker_subspace import Fitted  # noqa: E402
from turn_folds import labels  # noqa: E402

VARIANTS = {"B": (True, 0), "P": (False, 4), "P12": (False, 2), "PB": (True, 4), "PB12": (True, 2)}
KEYS = ("p", "copy0", "copy1")


def columns(b, port, variant):
    with_b, streams = VARIANTS[variant]
    x = port[:, : 768 * streams]
    return np.concatenate([b[:, :1024], x], 1) if with_b else x


def polish(folder, pc, out):
    """B's and the port's values of the Polish clips, their 3 labels and speakers."""
    import torch
    from ser_hf.audio import load_audio
    from turn_port import Encoder, port_values
    from turn_states import _STATE, init

    from ser_hf.models.feature_extraction_functionals import batch_functionals

    torch.set_num_threads(1)
    init(pc)
    enc = Encoder(pc, layers=4).eval()
    rows = list(csv.DictReader(open(Path(folder) / "metadata.csv")))
    waves = [load_audio(str(Path(folder) / r["file_name"]), 16000) for r in rows]
    b = np.concatenate(
        [batch_functionals(waves[s : s + 16], "voice-encoder-2", 16000) for s in range(0, len(waves), 16)]
    )
    p = port_values(enc, waves, _STATE["mel"], True, torch.bfloat16)
    np.savez(out, b=b, p=p, emotion=[r["emotion"] for r in rows], speaker=[r["speaker"] for r in rows])


def polish_ua(clf, x, emotion, names):
    """UA over Polish's 3 classes, the other 4 masked out of the argmax (as ``ser-hf evaluate``)."""
    from ser_hf.data.labels import normalize_emotion

    y = np.array([names.index(normalize_emotion(e)) for e in emotion])
    keep = np.unique(y)
    cls = list(clf.lr.classes_)
    scores = clf.lr.decision_function(clf.tf(x))[:, [cls.index(k) for k in keep]]
    return round(ua(y, keep[scores.argmax(1)]), 4)


def folds(args):
    from encoder_states import data_args

    from ser_hf.training.clips import load_rows

    st, port, pol, d = np.load(args.states), np.load(args.port), np.load(args.polish), labels(args.data)
    names = list(load_rows(data_args(args.data)).features["emotion"].names)
    for name in args.folds:
        rows = split(args.data, name)
        tr, va = rows[0], rows[1]
        for v in args.variants:
            sets = [columns(st[k], port[k], v).astype(np.float64) for k in KEYS]
            held = {
                c: columns(st[c.replace(":", "_")], port[c.replace(":", "_")], v).astype(np.float64)
                for c in CONDITIONS
            }
            fit = fitter(d, sets, lambda x, y, g, c, w: Fitted(x, y, c, w))
            score_variant(name, v, sets, held, fit, d["y"], d["gender"], rows, args.test_out)
            c = json.loads(open(args.test_out).read().splitlines()[-1])["c"]
            x_pl = columns(pol["b"], pol["p"], v).astype(np.float64)
            with open(args.test_out, "a") as f:
                row = {
                    "fold": name,
                    "variant": v,
                    "c": c,
                    "polish_ua": polish_ua(fit(tr + va, c), x_pl, pol["emotion"], names),
                }
                f.write(json.dumps(row) + "\n")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("polish")
    for name in ("folder", "pc", "out"):
        a.add_argument(name)
    b = sub.add_parser("folds")
    for name in ("states", "port", "polish", "data"):
        b.add_argument(name)
    b.add_argument("--test-out", required=True)
    b.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    b.add_argument("folds", nargs="+", choices=list(SPLITS))
    args = p.parse_args()
    if args.cmd == "polish":
        polish(args.folder, args.pc, args.out)
    else:
        folds(args)


if __name__ == "__main__":
    main()
