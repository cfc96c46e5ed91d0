"""Ensemble the fold models of several finished ``ser-hf cv`` runs on each fold's own test actors.

For fold K, every run's ``fold_K`` model scores the fold's test rows (taken from that fold's
``split.json``, the same rows its training held out), the class probabilities are averaged, and the
metrics are computed on the averaged probabilities. Each fold's models never saw its test actors, so
the ensemble stays speaker-independent; which runs to ensemble is fixed by the command line before
any result is seen.

    python benchmarks/ensemble_cv.py --corpus ravdess=data/ravdess --runs runs/cv_a runs/cv_b --out runs/ens

Runs may be ``ser-hf cv`` outputs (``fold_K/model.safetensors``) or ``benchmarks/functionals_cv.py
--save-models`` outputs (``fold_K/model/``), so deep fold models and functionals fold models
ensemble alike. Every run must use the same folds (the split files are compared). ``--weights``
gives each run a relative weight (default: equal), e.g. ``--weights 3 1 1 1`` puts half the weight on
the first run and splits the other half between three others.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ser_hf.data.corpora import load_corpus
from ser_hf.training.cv_results import aggregate, write_results
from ser_hf.training.evaluation import evaluate_model
from ser_hf.training.metrics import compute_ser_metrics


def _model_dir(fold_dir: Path) -> Path | None:
    """The fold's model folder: ``fold_K`` itself (``ser-hf cv``) or ``fold_K/model``
    (``functionals_cv.py --save-models``); None when the fold has no saved model."""
    for candidate in (fold_dir, fold_dir / "model"):
        if (candidate / "model.safetensors").is_file():
            return candidate
    return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True, help="NAME=PATH of the corpus the runs were trained on")
    p.add_argument("--runs", nargs="+", required=True, help="finished cv output folders (fold_K inside)")
    p.add_argument("--out", required=True)
    p.add_argument(
        "--weights", nargs="+", type=float, default=None, help="relative weight of each run (default: equal)"
    )
    p.add_argument("--device", default=None)
    args = p.parse_args()
    weights = np.ones(len(args.runs)) if args.weights is None else np.asarray(args.weights, dtype=float)
    if len(weights) != len(args.runs) or (weights < 0).any() or weights.sum() <= 0:
        raise SystemExit(f"--weights needs {len(args.runs)} non-negative numbers, one per run, not all zero")
    weights = weights / weights.sum()

    name, path = args.corpus.split("=", 1)
    ds = load_corpus(name, path)
    from ser_hf.data.splits import Split

    out = Path(args.out)
    folds = sorted(
        {d.name for r in args.runs for d in Path(r).glob("fold_*") if (d / "split.json").is_file()}
    )
    fold_dirs = []
    for fold in folds:
        members = [d for d in (_model_dir(Path(r) / fold) for r in args.runs) if d is not None]
        if len(members) < len(args.runs):
            print(f"{fold}: only {len(members)} of {len(args.runs)} runs finished; skipped")
            continue
        split_file = Path(args.runs[0]) / fold / "split.json"
        split = Split.from_json(split_file)
        for r in args.runs[1:]:
            other = Split.from_json(Path(r) / fold / "split.json")
            if sorted(other.test) != sorted(split.test):
                raise SystemExit(
                    f"{fold}: {r} tested other rows than {args.runs[0]}; ensemble runs of one protocol"
                )
        test_ds = ds.select(list(split.test))
        probs, truth, speakers = [], None, None
        for member in members:
            metrics, rows = evaluate_model(member, test_ds, device=args.device, return_predictions=True)
            rows = sorted(rows, key=lambda r: r["path"])
            probs.append(np.array([r["probs"] for r in rows]))
            truth = [r["true"] for r in rows]
            speakers = [r["speaker"] for r in rows]
            print(f"{fold} {member}: UA {metrics['ua']:.3f} WA {metrics['wa']:.3f}")
        label_names = list(test_ds.features["emotion"].names)
        mean = np.tensordot(weights, np.asarray(probs), axes=1)
        y_true = np.array([label_names.index(t) for t in truth])
        gender_of = dict(zip(test_ds["path"], test_ds["gender"]))
        genders = [gender_of.get(r["path"], "unknown") for r in rows]
        m = compute_ser_metrics(
            y_true, mean.argmax(1), label_names, speakers=speakers, genders=genders, y_prob=mean
        )
        fold_dir = out / fold
        fold_dir.mkdir(parents=True, exist_ok=True)
        (fold_dir / "test_metrics.json").write_text(json.dumps(m, indent=1))
        (fold_dir / "split.json").write_text(split_file.read_text())
        fold_dirs.append(fold_dir)
        print(f"{fold} ensemble: UA {m['ua']:.3f} WA {m['wa']:.3f} F1 {m['f1_macro']:.3f}")
    result = aggregate(fold_dirs)
    members = ", ".join(f"{r} (weight {w:.3g})" for r, w in zip(args.runs, weights))
    write_results(result, out, {"preset": "ensemble of " + members, "protocol": "ravdess-6fold"})
    print((out / "cv_results.md").read_text())


if __name__ == "__main__":
    main()
