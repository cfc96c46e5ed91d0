"""Session 26, crops_rule.md check 2: short clips on validation speakers.

For each run folder (a ``ser-hf cv`` fold), refit its preset on the TRAINING speakers only at the C
the run chose (its train_args.json), with the run's seed and copies, then score the run's validation
clips whole (must match the run's val_metrics.json UA within 0.01) and as random 1.3-s stretches of
their speech (``crop:1.3``, seeded by row). One JSON line per run; the mean at the end.

    python crop_check.py --preset P runs/.../fold_0 runs/.../fold_1 ... > out.jsonl
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from ser_hf.data.channel import apply_channel
from ser_hf.training.arguments import DataArguments
from ser_hf.training.clips import decode_rows, load_rows, make_split
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir
from ser_hf.training.linear import predict_probabilities, train_linear
from ser_hf.training.presets import get_preset


def check(fold: Path, preset: str) -> dict:
    args = json.loads((fold / "train_args.json").read_text())
    data = DataArguments(**args["data"])
    seed, c = args["seed"], args["regularisation"]["c"]
    ds = load_rows(data)
    split = make_split(ds, data, seed)
    rows = split.train + split.validation
    clips = decode_rows(ds, rows, 16000, None, 2)
    n_train = len(split.train)
    labels = [ds["emotion"][i] for i in rows]
    col = lambda name: [str(ds[name][i]) for i in rows]  # noqa: E731
    spec = get_preset(preset)
    spec = {**spec, "config": {**spec["config"], "c_grid": [c], "speaker_head": False}}
    cache = FeatureCache(default_cache_dir())
    model, extractor, info = train_linear(
        clips, labels, list(range(n_train)), [], ds.features["emotion"].names, spec, seed=seed, cache=cache,
        groups={"corpus": col("corpus"), "gender": col("gender"), "speaker": col("speaker")},
    )  # fmt: skip
    val = list(range(n_train, len(rows)))
    y = np.array([labels[r] for r in val])
    whole = predict_probabilities(model, extractor, [clips[r] for r in val], cache).argmax(1)
    short = [apply_channel(clips[r], "crop:1.3", 16000, r) for r in val]
    crops = predict_probabilities(model, extractor, short, cache).argmax(1)
    recorded = json.loads((fold / "val_metrics.json").read_text())["ua"]
    return {
        "run": str(fold), "c": c, "recorded_val_ua": round(recorded, 4),
        "whole_ua": round(balanced_accuracy_score(y, whole), 4), "crop_ua": round(balanced_accuracy_score(y, crops), 4),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", required=True)
    parser.add_argument("folds", nargs="+", type=Path)
    args = parser.parse_args()
    got = []
    for fold in args.folds:
        got.append(check(fold, args.preset))
        print(json.dumps(got[-1]), flush=True)
    bad = [g["run"] for g in got if abs(g["whole_ua"] - g["recorded_val_ua"]) > 0.01]
    print(json.dumps({
        "mean_recorded_val_ua": round(float(np.mean([g["recorded_val_ua"] for g in got])), 4),
        "mean_whole_ua": round(float(np.mean([g["whole_ua"] for g in got])), 4),
        "mean_crop_ua": round(float(np.mean([g["crop_ua"] for g in got])), 4),
        "harness_mismatch": bad,
    }))  # fmt: skip
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
