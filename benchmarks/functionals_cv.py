"""Cross-validate the classical baseline: utterance functionals + logistic regression (CPU, minutes).

    python benchmarks/functionals_cv.py --corpus ravdess=../shared/data/ravdess --out runs/cv_functionals
    python benchmarks/functionals_cv.py --corpus ravdess=DIR --features ours --out runs/cv_functionals_ours

Folds are ``ser_hf.data.folds.ravdess_protocol_folds`` (the benchmark protocol, with the same
validation actors ``ser-hf cv`` uses) for ``--folds ravdess``, or ``speaker_kfold`` for a number.
Per fold, C (and the feature subset, among ``--candidates``) is picked on the fold's
validation actors; the chosen model is refitted on training + validation actors and scored once on
the test actors (see ``ser_hf.training.functionals.functionals_cv``). Output: ``fold_K/*.json`` and
``cv_results.{json,md}`` + ``confusion_cv.png``, the same files as ``ser-hf cv``.

``--features compare+ours`` (default) needs ``pip install opensmile`` (research / non-commercial
licence); ``--features ours`` needs only ser_hf's own dependencies.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import time
from pathlib import Path

import numpy as np

from ser_hf.data.audio import load_audio
from ser_hf.data.corpora import load_corpus
from ser_hf.data.folds import random_stratified_split, ravdess_protocol_folds, speaker_kfold
from ser_hf.training.cv_results import aggregate, write_results
from ser_hf.training.functionals import FEATURE_SETS, FunctionalsExtractor, extract_all, functionals_cv


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True, help="NAME=PATH, e.g. ravdess=data/ravdess")
    p.add_argument("--out", required=True)
    p.add_argument(
        "--folds",
        default="ravdess",
        help="'ravdess' (6-fold protocol), a number of speaker-independent folds, or 'random' "
        "(a 70/15/15 clip split: SPEAKER-DEPENDENT, for the inflated contrast number only)",
    )
    p.add_argument("--features", default="compare+ours", choices=FEATURE_SETS)
    p.add_argument(
        "--candidates",
        nargs="+",
        choices=FEATURE_SETS,
        default=None,
        help="feature subsets of --features to choose between on validation actors (default: --features)",
    )
    p.add_argument("--c-grid", type=float, nargs="+", default=[0.003, 0.01])
    p.add_argument("--copies", type=float, nargs="*", default=[0.9, 1.1], help="speed factors of copies")
    p.add_argument(
        "--copy-sets",
        nargs="+",
        default=None,
        help="comma-separated speed-factor sets to choose between on validation actors, e.g. "
        "'0.9,1.1' '0.8,0.9,1.1,1.2' ('none' = no copies); default: all of --copies",
    )
    p.add_argument("--cache", default=None, help="npz cache of the extracted functionals")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save-models", action="store_true", help="save each fold's model to fold_K/model")
    p.add_argument("--only-fold", type=int, default=None, help="run this fold only (e.g. to save one model)")
    p.add_argument("--workers", type=int, default=2, help="processes extracting functionals")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.perf_counter()

    name, path = args.corpus.split("=", 1)
    ds = load_corpus(name, path)
    label_names = list(ds.features["emotion"].names)
    y = np.asarray(ds["emotion"])
    if args.folds == "ravdess":
        splits = ravdess_protocol_folds(ds, seed=args.seed)
        protocol = "RAVDESS 6-fold speaker-independent protocol (benchmark-protocol.md)"
    elif args.folds == "random":
        splits = [random_stratified_split(ds, seed=args.seed)]
        protocol = "random stratified 70/15/15 clip split: SPEAKER-DEPENDENT, inflated, contrast only"
    else:
        splits = speaker_kfold(ds, int(args.folds), seed=args.seed)
        protocol = f"{args.folds}-fold speaker-independent cross-validation"
    if args.only_fold is not None:
        splits = [s for s in splits if s.fold == args.only_fold]
        if not splits:
            raise SystemExit(f"--only-fold {args.only_fold}: no such fold")
    train_rows = sorted({r for s in splits for r in s.train + s.validation})

    key = hashlib.sha256(json.dumps([args.features, args.copies, list(ds["path"])]).encode()).hexdigest()[:16]
    cache = Path(args.cache) if args.cache else None
    data = np.load(cache) if cache is not None and cache.is_file() else None
    if data is not None and str(data["key"]) == key and set(train_rows) <= set(data["rows"].tolist()):
        x = data["x"]
        copies = {f: dict(zip(data["rows"].tolist(), data[f"copy_{f}"])) for f in args.copies}
        logging.info("functionals loaded from %s", cache)
    else:
        waves = [load_audio(p) for p in ds["path"]]
        extractor = FunctionalsExtractor(args.features)
        x, copies = extract_all(waves, extractor, args.copies, copy_rows=train_rows, workers=args.workers)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(
                cache,
                key=key,
                x=x,
                rows=np.array(train_rows),
                **{f"copy_{f}": np.stack([copies[f][r] for r in train_rows]) for f in args.copies},
            )
    extract_s = time.perf_counter() - started
    feature_sets = args.candidates or [args.features]
    fold_dirs = functionals_cv(
        x,
        y,
        copies,
        splits,
        label_names,
        args.out,
        speakers=ds["speaker"],
        genders=ds["gender"],
        extracted=args.features,
        feature_sets=feature_sets,
        c_grid=args.c_grid,
        seed=args.seed,
        allow_speaker_dependent=args.folds == "random",
        save_models=args.save_models,
        copy_sets=None
        if args.copy_sets is None
        else [[] if cs == "none" else [float(v) for v in cs.split(",")] for cs in args.copy_sets],
    )
    result = aggregate(fold_dirs)
    total_s = time.perf_counter() - started
    meta = {
        "preset": f"functionals ({args.features}) + logistic regression",
        "protocol": protocol,
        "copies": args.copies,
        "copy_sets": args.copy_sets,
        "c_grid": args.c_grid,
        "feature_sets_considered": feature_sets,
        "n_features": int(x.shape[1]),
        "extract_seconds": round(extract_s, 1),
        "wall_seconds": round(total_s, 1),
    }
    write_results(result, args.out, meta)
    print((Path(args.out) / "cv_results.md").read_text())
    print(f"wall time {total_s:.0f} s (feature extraction {extract_s:.0f} s)")


if __name__ == "__main__":
    main()
