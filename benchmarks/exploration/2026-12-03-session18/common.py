"""The 8-fold harness shared by session 18's three scripts (sessions 13-17's score and records):
``split`` gives a fold's rows, ``fitter`` the fit on a variant's vectors and copies, and
``score_variant`` chooses C on the validation score, writes the validation row to stdout and the
refitted model's test row to ``test_out``; ``prepare_states`` computes a new kind of values for
every clip, its two training copies and the six held-out conditions (moved here in session 19,
which computes its own values the same way)."""

import json
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score as ua

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-12-03-session16"))
from encoder_states import CONDITIONS, PRESET, SEED, SPLITS, data_args  # noqa: E402

from ser_hf.data.channel import apply_channel, channel_copies  # noqa: E402
from ser_hf.training.clips import decode_rows, load_rows, make_split  # noqa: E402
from ser_hf.training.functionals import cell_balanced_weights  # noqa: E402
from ser_hf.training.presets import get_preset  # noqa: E402


def split(data, name):
    """(train, validation, test) rows of fold ``name`` and the preset's C grid."""
    ds = load_rows(data_args(data))
    sp = make_split(ds, data_args(data, SPLITS[name]), SEED)
    return list(sp.train), list(sp.validation), list(sp.test), get_preset(PRESET)["config"]["c_grid"]


def fitter(d, sets, make):
    """``fit(rows, c)``: ``make(x, y, gender, c, weights)`` on the rows' clean vectors and copies
    (``sets``) stacked, their labels and genders tiled, C divided by the number of copies + 1, and
    each (corpus, gender, class) cell weighted alike, as sessions 13-17 fit."""
    n = len(sets)
    groups = np.char.add(np.char.add(d["corpus"], "/"), d["gender"])

    def fit(rows, c):
        y = np.tile(d["y"][rows], n)
        x = np.concatenate([m[rows] for m in sets])
        return make(x, y, np.tile(d["gender"][rows], n), c / n, cell_balanced_weights(y, np.tile(groups[rows], n)))

    return fit


def _by_gender(y, pred, gender):
    return {s: round(ua(y[gender == s], pred[gender == s]), 4) for s in sorted(set(gender))}


def score_variant(name, v, sets, held_sets, fit, y, gender, rows, test_out, extra=None):
    """``sets``: the clean matrix then its copies; ``fit(rows, c)`` -> an object with ``predict``;
    ``extra(clf, va)`` -> more fields for the validation row."""
    tr, va, te, grid = rows
    t, k, val = time.time(), len(sets) - 1, {}
    for c in grid:
        clf = fit(tr, c)
        p = clf.predict(sets[0][va])
        noisy = ua(np.tile(y[va], k), clf.predict(np.concatenate([m[va] for m in sets[1:]])))
        held = {cn: round(ua(y[va], clf.predict(m[va])), 4) for cn, m in held_sets.items()}
        val[c] = {"score": (ua(y[va], p) + noisy) / 2, "clean": ua(y[va], p), "held_out": held,
                  "by_gender": _by_gender(y[va], p, gender[va]), **(extra(clf, va) if extra else {})}  # fmt: skip
    best = max(val, key=lambda c: (val[c]["score"], -c))
    b = val[best]
    row = {"fold": name, "variant": v, "c": best, "val_score": round(b["score"], 4), "val_clean": round(b["clean"], 4),
           "val_by_gender": b["by_gender"], **{key: b[key] for key in b if key not in ("score", "clean", "by_gender")},
           "held_out_mean": round(float(np.mean(list(b["held_out"].values()))), 4),
           "val_by_c": {str(c): round(s["score"], 4) for c, s in val.items()}}  # fmt: skip
    print(json.dumps(row), flush=True)
    pred = fit(tr + va, best).predict(sets[0][te])
    test = {"fold": name, "variant": v, "c": best, "test_ua": round(ua(y[te], pred), 4),
            "by_gender": _by_gender(y[te], pred, gender[te])}  # fmt: skip
    with open(test_out, "a") as f:
        f.write(json.dumps(test) + "\n")
    print(f"# {name} {v}: {time.time() - t:.0f} s", file=sys.stderr, flush=True)


_WORKER = {}


def _start_worker(init, values, data):
    import torch

    torch.set_num_threads(1)
    init()
    _WORKER["values"], _WORKER["ds"] = values, load_rows(data_args(data))


def _chunk(rows):
    cfg, values = get_preset(PRESET)["config"], _WORKER["values"]
    clips = decode_rows(_WORKER["ds"], rows, 16000, None, 1)
    made = [channel_copies(c, cfg["channel_copies"], SEED, r, kinds=tuple(cfg["channel_kinds"])) for r, c in zip(rows, clips)]  # fmt: skip
    out = {"p": values(clips)}
    for k in range(cfg["channel_copies"]):
        out[f"copy{k}"] = values([m[k] for m in made])
    for c in CONDITIONS:
        out[c.replace(":", "_")] = values([apply_channel(w, c, 16000, SEED + r) for r, w in zip(rows, clips)])
    return rows, out


def prepare_states(data, out, size, init, values, chunk=50):
    """``values(waves)`` -> ``(len(waves), size)`` of the clean clips, their two copies (session 13's
    draws) and the six held-out conditions (session 17's), saved to ``out`` (keys ``p``, ``copy0``,
    ``copy1`` and the conditions); two workers, each running ``init()`` once first."""
    n = len(load_rows(data_args(data)))
    res, t = {}, time.time()
    jobs = [list(range(s, min(s + chunk, n))) for s in range(0, n, chunk)]
    with Pool(2, initializer=_start_worker, initargs=(init, values, data)) as pool:
        for rows, got in pool.imap_unordered(_chunk, jobs):
            for key, v in got.items():
                res.setdefault(key, np.zeros((n, size), np.float32))[rows] = v
            print(f"# rows {rows[0]}-{rows[-1]} {time.time() - t:.0f} s", file=sys.stderr, flush=True)
    np.savez(out, **res)
