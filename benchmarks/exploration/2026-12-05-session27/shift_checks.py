"""Session 27 (shift_checks_plan.md): in-domain, gender and word checks inside RAVDESS for a recipe.

For each preset: ``train_linear`` (as ``ser-hf train`` calls it, speaker head off) on the whole RAVDESS
clip list, the source rows training, two source actors validation (C chosen on them, then refitted
on every source row), scored (UA) on the target rows. The channel copies of clip r are drawn from
(seed, r) over the whole list, so every check and every recipe with the same copy kinds sees the
same copies (kept in memory once made). One JSON line per (recipe, check, direction).

    python shift_checks.py --ravdess DATA/ravdess PRESET... > out.jsonl
"""

import argparse
import json
import time

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score

import ser_hf.data.channel as channel
from ser_hf.training.evaluation import _decode, load_eval_data
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir
from ser_hf.training.linear import predict_probabilities, train_linear
from ser_hf.training.presets import get_preset

_made = {}
_copies = channel.channel_copies


def remembered_copies(wave, copies, seed, row, sampling_rate=16000, kinds=channel.RANDOM_KINDS, stream=""):
    key = (copies, seed, row, sampling_rate, tuple(kinds), stream)
    if key not in _made:
        _made[key] = _copies(wave, copies, seed, row, sampling_rate, kinds, stream)
    return _made[key]


channel.channel_copies = remembered_copies  # linear.py imports it at call time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ravdess", required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("presets", nargs="+")
    args = parser.parse_args()
    torch.set_num_threads(1)
    ds = load_eval_data([f"ravdess={args.ravdess}"], "harmonized7")
    clips = _decode(list(ds["path"]), 16000, 1)
    labels = list(ds["emotion"])
    actor = np.array([int(s.split("_")[1]) for s in ds["speaker"]])
    kids = np.array([s.startswith("Kids") for s in ds["statement"]])
    male = actor % 2 == 1
    low = actor <= 12
    every = np.ones(len(actor), bool)
    checks = {  # name: [(source, target, validation actors), ...]
        "in-domain": [(low, ~low, (11, 12)), (~low, low, (23, 24))],
        "gender": [(male, ~male, (21, 23)), (~male, male, (22, 24))],
        "words": [(low & kids, ~low & ~kids, (11, 12)), (~low & ~kids, low & kids, (23, 24))],
    }
    assert all(s.sum() and t.sum() and not (s & t).any() for v in checks.values() for s, t, _ in v)
    groups = {"corpus": list(ds["corpus"]), "gender": list(ds["gender"]), "speaker": list(ds["speaker"])}
    cache = FeatureCache(default_cache_dir())
    y = np.asarray(labels)
    for preset in args.presets:
        spec = get_preset(preset)
        spec = {**spec, "config": {**spec["config"], "speaker_head": False}}
        for name, directions in checks.items():
            for k, (source, target, val_actors) in enumerate(directions):
                t0 = time.time()
                val = source & np.isin(actor, val_actors)
                train = source & ~val
                model, extractor, info = train_linear(
                    clips, labels, list(np.where(train)[0]), list(np.where(val)[0]), ds.features["emotion"].names,
                    spec, seed=args.seed, cache=cache, groups=groups,
                )  # fmt: skip
                rows = np.where(target & every)[0]
                pred = predict_probabilities(model, extractor, [clips[r] for r in rows], cache).argmax(1)
                got = {
                    "preset": preset, "check": name, "direction": "AB"[k], "c": info["c"],
                    "n_train": int(train.sum()), "n_target": len(rows),
                    "ua": round(float(balanced_accuracy_score(y[rows], pred)), 4), "s": round(time.time() - t0),
                }  # fmt: skip
                print(json.dumps(got), flush=True)


if __name__ == "__main__":
    main()
