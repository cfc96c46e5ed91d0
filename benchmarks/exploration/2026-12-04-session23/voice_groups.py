"""Session 23: adapting per voice group found by clustering the encoder's speaker embedding
(``voice_groups_rule.md``). One JSON row per (fold, set-up) on stdout; no test speaker is read.

    python voice_groups.py DATA_DIR setup_adapt_val.jsonl r6t:0 ... xc:T->R > voice_groups_val.jsonl
    python voice_groups.py --centred DATA_DIR ... > centred_voices_val.jsonl  (``centred_voices_rule.md``)
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from setup_adapt import PRESET, predict, setup_waves, stats
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import balanced_accuracy_score as ua

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-12-03-session16"))
from encoder_states import CONDITIONS, SEED, SPLITS, data_args  # noqa: E402

from ser_hf.training.clips import decode_rows, load_rows, make_split  # noqa: E402
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir  # noqa: E402
from ser_hf.training.linear import functionals_matrix, train_linear  # noqa: E402
from ser_hf.training.presets import get_preset  # noqa: E402

THRESHOLDS = [0.15, 0.2, 0.25, 0.3, 0.35, 0.4]
CENTRED = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]  # W(t): the embeddings minus their set-up's mean
FEW = 10


def fit_at(clips, labels, groups, tr, names, spec, cache, c, c_head):
    fixed = lambda c: {**spec, "config": {**spec["config"], "c_grid": [c]}}  # noqa: E731
    main, _, _ = train_linear(clips, labels, tr, [], names, fixed(c), seed=SEED, cache=cache, groups=groups)
    if c_head != c:
        head, _, _ = train_linear(clips, labels, tr, [], names, fixed(c_head), seed=SEED, cache=cache, groups=groups)
        main.speaker_classifier.load_state_dict(head.speaker_classifier.state_dict())
    return main.eval()


def grouped(model, x, groups):
    """Speaker head per group of FEW clips or more; the rest with the whole set-up's statistics."""
    pred = predict(model, x, *stats(x), head=True)
    for g in set(groups):
        rows = groups == g
        if rows.sum() >= FEW:
            pred[rows] = predict(model, x[rows], *stats(x[rows]), head=True)
    return pred


def purity(groups, spk):
    good = 0
    for g in set(groups):
        _, counts = np.unique(spk[groups == g], return_counts=True)
        good += counts.max()
    return good / len(spk)


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--centred", action="store_true")
    a.add_argument("data")
    a.add_argument("chosen")
    a.add_argument("folds", nargs="+", choices=list(SPLITS))
    args = a.parse_args()
    torch.set_num_threads(2)
    chosen = {r["fold"]: (r["c"], r["c_head"]) for r in map(json.loads, open(args.chosen))}
    ds = load_rows(data_args(args.data))
    spec = get_preset(PRESET)
    functionals = spec["feature_extractor"]["functionals"]
    names = list(ds.features["emotion"].names)
    labels, speakers = list(ds["emotion"]), np.asarray(ds["speaker"])
    genders = np.asarray(ds["gender"])
    groups = {"corpus": list(ds["corpus"]), "gender": list(genders), "speaker": list(speakers)}
    clips = decode_rows(ds, range(len(ds)), 16000, None, 2)
    cache = FeatureCache(default_cache_dir())
    y_all = np.asarray(labels)
    for name in args.folds:
        t0 = time.time()
        sp = make_split(ds, data_args(args.data, SPLITS[name]), SEED)
        tr, va = list(sp.train), list(sp.validation)
        model = fit_at(clips, labels, groups, tr, names, spec, cache, *chosen[name])
        y, spk, gender = y_all[va], speakers[va], genders[va]
        for cond in ["clean", *CONDITIONS]:
            waves = setup_waves(clips, va, cond)
            x = functionals_matrix(waves, functionals, cache=cache)
            emb = functionals_matrix(waves, "voice-encoder", cache=cache)[:, -256:]
            row = {"fold": name, "setup": cond, "n": len(va), "speakers": len(set(spk))}
            row["A"] = round(ua(y, predict(model, x, *stats(x), head=True)), 4)
            if args.centred:
                emb = emb - emb.mean(0)
            for t in CENTRED if args.centred else THRESHOLDS:
                g = AgglomerativeClustering(
                    n_clusters=None, metric="cosine", linkage="average", distance_threshold=t
                ).fit_predict(emb)
                pred = grouped(model, x, g)
                big = [k for k in set(g) if (g == k).sum() >= FEW]
                row[f"V{t}"] = round(ua(y, pred), 4)
                row[f"V{t}_groups"] = len(big)
                row[f"V{t}_covered"] = round(float(np.isin(g, big).mean()), 3)
                row[f"V{t}_purity"] = round(purity(g, spk), 3)
                for s in sorted(set(gender)):
                    row[f"V{t}_{s}"] = round(ua(y[gender == s], pred[gender == s]), 4)
            print(json.dumps(row), flush=True)
        print(f"# {name}: {time.time() - t0:.0f} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
