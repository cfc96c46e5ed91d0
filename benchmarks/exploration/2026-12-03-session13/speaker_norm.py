"""Session 13: speaker-normalised training against the default's fit, adapted and not
(``decision_rule.md``). Validation rows go to stdout (one jsonl row per fold and variant), test
rows to ``--test-out`` (not read before the rule decides).

    python speaker_norm.py prepare DATA_DIR runs/s13_matrices.npz       # vectors of every clip and its 2 copies
    python speaker_norm.py folds runs/s13_matrices.npz --test-out T.jsonl r6t:0 xc:R->T ...
"""

import argparse
import json
import sys
import time

import numpy as np
from sklearn.metrics import balanced_accuracy_score as ua

from ser_hf.data.channel import channel_copies
from ser_hf.training.arguments import DataArguments
from ser_hf.training.clips import decode_rows, load_rows, make_split
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir
from ser_hf.training.functionals import _fit, cell_balanced_weights
from ser_hf.training.linear import functionals_matrix
from ser_hf.training.presets import get_preset

PRESET = "speech-stats-mfcc-speech-voices"  # the default's recipe
SEED = 42
SPLITS = {f"r6t:{k}": f"ravdess-fold:{k}" for k in range(6)} | {
    "xc:R->T": "loco:tess",
    "xc:T->R": "loco:ravdess",
}


def data_args(data, split="none"):
    return DataArguments(
        corpus=[f"ravdess={data}/ravdess", f"tess={data}/tess"], label_scheme="harmonized7", split=split
    )


def prepare(data, out):
    spec = get_preset(PRESET)
    cfg, functionals = spec["config"], spec["feature_extractor"]["functionals"]
    ds = load_rows(data_args(data))
    cache = FeatureCache(default_cache_dir())
    t = time.time()
    clips = decode_rows(ds, list(range(len(ds))), 16000, None, 2)
    x = functionals_matrix(clips, functionals, cache=cache)
    n = cfg["channel_copies"]
    made = [channel_copies(c, n, SEED, r, kinds=tuple(cfg["channel_kinds"])) for r, c in enumerate(clips)]
    copies = [functionals_matrix([m[k] for m in made], functionals, cache=cache) for k in range(n)]
    np.savez(
        out, x=x, copies=np.stack(copies), y=np.asarray(ds["emotion"]), speaker=np.asarray(ds["speaker"]),
        gender=np.asarray([str(g) for g in ds["gender"]]), corpus=np.asarray([str(c) for c in ds["corpus"]]),
    )  # fmt: skip
    print(f"# {len(clips)} clips, {n} copies each, {time.time() - t:.0f} s", file=sys.stderr)


def speaker_normalise(m, rows, speakers, scale):
    """``m[rows]`` with each speaker's mean removed (and divided by its scale when ``scale``)."""
    out = m[rows].astype(np.float64)
    spk = speakers[rows]
    for s in np.unique(spk):
        i = spk == s
        out[i] -= out[i].mean(0)
        if scale:
            out[i] /= np.maximum(out[i].std(0), 1e-8)
    return out


def run_fold(d, name, test_out, data):
    spec = get_preset(PRESET)
    cfg = spec["config"]
    sp = make_split(load_rows(data_args(data)), data_args(data, SPLITS[name]), SEED)
    x, copies, y, spk = d["x"], d["copies"], d["y"], d["speaker"]
    sets = [x, *copies]  # the clean vectors and each copy set
    k = len(copies)
    groups = np.char.add(np.char.add(d["corpus"], "/"), d["gender"])

    def stacked(rows, form):
        """Every set's rows of ``rows``: raw, speaker-centred ("C") or speaker-standardised ("D")."""
        if form == "raw":
            return [m[rows].astype(np.float64) for m in sets]
        return [speaker_normalise(m, rows, spk, form == "D") for m in sets]

    def adapt_a(m, rows, clf, scale):  # what `adapt` does (scale=False), or with the speaker scale too
        z = speaker_normalise(m, rows, spk, scale)
        return z * (clf[0].scale_ if scale else 1.0) + clf[0].mean_

    def score(clf, parts, y_rows):
        clean = ua(y_rows, clf.predict(parts[0]))
        noisy = ua(np.tile(y_rows, k), clf.predict(np.concatenate(parts[1:])))
        return (clean + noisy) / 2

    def inputs(rows, form, adapted, clf, train_raw_mean, train_mean_sd):
        """The vectors a fit of ``form`` sees for ``rows`` (each set adapted on its own)."""
        if form == "raw":
            return [adapt_a(m, rows, clf, adapted == "B") if adapted else m[rows] for m in sets]
        if adapted:
            return stacked(rows, form)
        z = [m[rows] - train_raw_mean for m in sets]
        return [v / train_mean_sd for v in z] if form == "D" else z

    tr, va, te = list(sp.train), list(sp.validation), list(sp.test)
    grid = cfg["c_grid"]
    result = {}
    for form in ["raw", "C", "D"]:
        t = time.time()
        xtr = np.concatenate(stacked(tr, form))
        ytr, gtr = np.tile(y[tr], k + 1), np.tile(groups[tr], k + 1)
        raw_mean = np.concatenate([m[tr] for m in sets]).mean(0)
        sd = np.mean([np.concatenate([m[tr] for m in sets])[np.tile(spk[tr], k + 1) == s].std(0)
                      for s in np.unique(spk[tr])], 0)  # fmt: skip
        fits = {
            c: _fit(xtr, ytr, c / (k + 1), SEED, sample_weight=cell_balanced_weights(ytr, gtr)) for c in grid
        }
        modes = {"raw": [("A", None), ("A-adapted", "A"), ("B", "B")], "C": [("C", 1), ("C-unadapted", None)],
                 "D": [("D", 1), ("D-unadapted", None)]}[form]  # fmt: skip
        val = {
            v: {c: score(fits[c], inputs(va, form, a, fits[c], raw_mean, sd), y[va]) for c in grid}
            for v, a in modes
        }
        chooser = {"raw": {"A": "A", "A-adapted": "A", "B": "B"}, "C": {"C": "C", "C-unadapted": "C"},
                   "D": {"D": "D", "D-unadapted": "D"}}[form]  # fmt: skip
        refits = {}
        for v, a in modes:
            best = max(grid, key=lambda c: (val[chooser[v]][c], -c))
            row = {"fold": name, "variant": v, "c": best, "val_score": round(val[v][best], 4),
                   "val_by_c": {str(c): round(s, 4) for c, s in val[v].items()}}  # fmt: skip
            print(json.dumps(row), flush=True)
            if best not in refits:  # refit on training + validation speakers (and their copies)
                rows = tr + va
                xall = np.concatenate(stacked(rows, form))
                yall, gall = np.tile(y[rows], k + 1), np.tile(groups[rows], k + 1)
                refits[best] = _fit(
                    xall, yall, best / (k + 1), SEED, sample_weight=cell_balanced_weights(yall, gall)
                )
            clf = refits[best]
            all_mean = np.concatenate([m[tr + va] for m in sets]).mean(0)
            xt = inputs(te, form, a, clf, all_mean, sd)[0]
            pred = clf.predict(xt)
            g = d["gender"][te]
            test = {"fold": name, "variant": v, "c": best, "test_ua": round(ua(y[te], pred), 4),
                    "by_gender": {s: round(ua(y[te][g == s], pred[g == s]), 4) for s in sorted(set(g))}}  # fmt: skip
            with open(test_out, "a") as f:
                f.write(json.dumps(test) + "\n")
        result[form] = time.time() - t
        print(f"# {name} {form}: {result[form]:.0f} s", file=sys.stderr, flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("prepare")
    a.add_argument("data")
    a.add_argument("out")
    b = sub.add_parser("folds")
    b.add_argument("matrices")
    b.add_argument("data")
    b.add_argument("--test-out", required=True)
    b.add_argument("folds", nargs="+", choices=list(SPLITS))
    args = p.parse_args()
    if args.cmd == "prepare":
        prepare(args.data, args.out)
    else:
        d = dict(np.load(args.matrices))
        for name in args.folds:
            run_fold(d, name, args.test_out, args.data)


if __name__ == "__main__":
    main()
