"""Scores of a training run's validation and test rows (``val_metrics.json`` / ``test_metrics.json``),
the calibration temperature fitted on the validation rows, and the class mask of a held-out corpus."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .saving import write_json

logger = logging.getLogger(__name__)


def fit_calibration(
    enabled: bool, probs: dict[str, np.ndarray], val_rows: list[int], labels: list[int]
) -> float:
    """The temperature fitted on the validation rows' uncalibrated probabilities (1.0 when off or
    without validation speakers)."""
    if not enabled or "validation" not in probs:
        return 1.0
    from .calibration import fit_temperature

    return fit_temperature(probs["validation"], np.asarray([labels[r] for r in val_rows]))


def mask_absent_classes(
    probs: np.ndarray, y_true: np.ndarray, corpora: Sequence[str], seen: set[str], label_names: Sequence[str]
) -> tuple[np.ndarray, dict[str, list[str]]]:
    """``probs`` with, for each corpus the model never trained or was chosen on (not in ``seen``), the
    classes none of its rows has set to 0 and the rest renormalised (a softmax over the classes the
    corpus shares with the model, as ``ser-hf evaluate`` scores a corpus alone); and
    ``{corpus: the class names masked}``. CREMA-D has no surprise: held out in a leave-one-corpus-out
    fold, its clips went to ``surprised`` and scored lower than when evaluated alone. A corpus with
    fewer than two classes is left as it is (masking would make every answer right)."""
    probs = np.array(probs, dtype=np.float64)
    corpora = np.asarray(corpora)
    masked: dict[str, list[str]] = {}
    for corpus in sorted(set(corpora.tolist()) - set(seen)):
        rows = corpora == corpus
        present = np.bincount(y_true[rows], minlength=probs.shape[1]) > 0
        if present.sum() < 2 or present.all():
            continue
        probs[np.ix_(rows, ~present)] = 0.0
        total = probs[rows].sum(axis=1, keepdims=True)
        probs[rows] = probs[rows] / np.where(total > 0, total, 1.0)
        masked[corpus] = [label_names[i] for i in np.flatnonzero(~present)]
        logger.info(
            "%s is scored on the %d classes it has (left out: %s)", corpus, present.sum(), masked[corpus]
        )
    return probs, masked


def score_parts(
    parts: tuple[list[int], list[int]],
    train_rows: list[int],
    probs: dict[str, np.ndarray],
    labels: list[int],
    speakers: list[str],
    genders: list[str],
    label_names: list[str],
    split_spec: str,
    output_dir: Path | None,
    temperature: float = 1.0,
    corpora: list[str] | None = None,
) -> dict[str, Any]:
    """Metrics of the validation and test rows from their probabilities ``probs[name]``;
    written to ``val_metrics.json`` / ``test_metrics.json`` in ``output_dir`` (when given).

    With a ``temperature`` other than 1 the metrics are those of the calibrated probabilities and
    ``calibration`` holds the temperature and the uncalibrated ECE, NLL and Brier score.

    ``corpora`` (per row): a test corpus that no training or validation row comes from is scored on
    the classes it has, as ``ser-hf evaluate`` scores it (:func:`mask_absent_classes`)."""
    from .calibration import apply_temperature
    from .metrics import compute_ser_metrics

    results: dict[str, Any] = {}
    for name, rows_, filename in (
        ("validation", parts[0], "val_metrics.json"),
        ("test", parts[1], "test_metrics.json"),
    ):
        if not rows_:
            continue
        raw = np.asarray(probs[name])
        y_true = np.asarray([labels[r] for r in rows_])
        masked: dict[str, list[str]] = {}
        if corpora and name == "test":
            seen = {corpora[r] for r in (*train_rows, *parts[0]) if r < len(corpora)}  # not augmented copies
            raw, masked = mask_absent_classes(raw, y_true, [corpora[r] for r in rows_], seen, label_names)
        calibrated = apply_temperature(raw, temperature) if temperature != 1.0 else raw
        metrics = compute_ser_metrics(
            y_true,
            calibrated.argmax(-1),
            label_names,
            speakers=[speakers[r] for r in rows_],
            genders=[genders[r] for r in rows_],
            y_prob=calibrated,
        )
        if temperature != 1.0:
            before = compute_ser_metrics(y_true, raw.argmax(-1), label_names, y_prob=raw)
            metrics["calibration"] = {
                "temperature": temperature,
                "uncalibrated": {k: before[k] for k in ("ece", "nll", "brier")},
            }
        if masked:
            metrics["masked_classes"] = masked
        metrics["split"] = split_spec
        metrics["speakers"] = sorted({speakers[r] for r in rows_})
        results[name] = metrics
        logger.info(
            "%s: WA %.3f  UA %.3f  macro-F1 %.3f  (n=%d)",
            name,
            metrics["wa"],
            metrics["ua"],
            metrics["f1_macro"],
            len(rows_),
        )
        if output_dir is not None:
            write_json(output_dir / filename, metrics)
    return results
