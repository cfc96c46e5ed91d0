"""Speech-emotion-recognition metrics computed with scikit-learn: the one implementation.

This file is self-contained on purpose (it imports only numpy and scikit-learn): the ``evaluate``
module next to it (``ser_metrics.py``) imports it with a sibling import, ``evaluate.load`` copies
both files into its cache, and ``ser_hf.training.metrics`` loads this same file by path. So the package,
the offline ``evaluate`` module and a copy of this folder on the Hub compute identical numbers.

Conventions (the field's, stated once):

- ``wa`` (weighted accuracy) is plain accuracy: correct clips / all clips.
- ``ua`` (unweighted accuracy, unweighted average recall, UAR) is scikit-learn's
  ``balanced_accuracy_score``: the mean of per-class recall over the classes that occur in
  ``y_true``. A class with no test clips has no recall and is left out of the mean.
- ``f1_macro`` / ``f1_weighted`` are scikit-learn's defaults: averaged over the classes that occur
  in ``y_true`` or ``y_pred`` (a class that is predicted but absent from the truth counts with F1 0).
- Per-class ``accuracy`` is the SER papers' "class accuracy": the share of that class's clips
  classified correctly, which equals its recall. Values that are undefined (recall of a class with
  no clips, precision of a class never predicted) are ``None`` rather than a misleading 0.
- ``confusion[i][j]`` counts clips of true class ``i`` predicted as ``j`` in the fixed order of
  ``label_names`` (absent classes keep their row and column); ``confusion_normalized`` divides each
  row by its total (rows of absent classes stay 0).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)


def _as_ids(values: Any, label_names: Sequence[str], what: str) -> np.ndarray:
    """Class ids ``(n,)`` int64 from ids or label strings; ValueError names the bad value."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind in "USO":
        index = {name: i for i, name in enumerate(label_names)}
        unknown = sorted({str(v) for v in arr.tolist() if v not in index})
        if unknown:
            raise ValueError(
                f"{what} holds labels that are not in label_names {list(label_names)}: {unknown}"
            )
        return np.array([index[v] for v in arr.tolist()], dtype=np.int64)
    if arr.size and arr.dtype.kind == "f" and not np.all(np.equal(np.mod(arr, 1), 0)):
        raise ValueError(f"{what} must hold class ids (integers) or label names, got fractional values")
    ids = arr.astype(np.int64)
    bad = ids[(ids < 0) | (ids >= len(label_names))]
    if bad.size:
        raise ValueError(
            f"{what} holds class ids outside 0..{len(label_names) - 1}: {sorted(set(bad.tolist()))}"
        )
    return ids


def _undefined_to_none(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _unweighted_accuracy(t: np.ndarray, p: np.ndarray) -> float:
    # sklearn warns when y_pred holds classes absent from y_true; leaving them out of the mean is the
    # definition of UA used here (see the module docstring), so the warning is noise
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return float(balanced_accuracy_score(t, p))


def _group_sort_key(value: str) -> list:
    # natural order: "ravdess_2" before "ravdess_10", numeric ids as numbers
    return [
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", value) if part
    ]


def _per_group(y_true: np.ndarray, y_pred: np.ndarray, groups: Any, what: str) -> dict[str, dict[str, Any]]:
    keys = np.asarray([str(g) for g in groups])
    if keys.shape != y_true.shape:
        raise ValueError(f"{what} must have one entry per clip ({len(y_true)}), got {len(keys)}")
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(set(keys.tolist()), key=_group_sort_key):
        mask = keys == key
        t, p = y_true[mask], y_pred[mask]
        out[key] = {
            "n": int(mask.sum()),
            "wa": float(accuracy_score(t, p)),
            "ua": _unweighted_accuracy(t, p),
        }
    return out


def _report(t: np.ndarray, p: np.ndarray, label_names: list[str]) -> str:
    # rows for the classes seen in the truth or the predictions, so the report's macro average
    # equals f1_macro above; classes seen in neither are named in a footer instead of a row of zeros
    # a precision of a never-predicted class (a recall of a class without references) is undefined:
    # '-' as in per_class (null) and the terminal, and left out of the averages, not counted as 0.000
    seen = sorted(set(t.tolist()) | set(p.tolist()))
    text = classification_report(
        t, p, labels=seen, target_names=[label_names[i] for i in seen], digits=3, zero_division=np.nan
    )
    if re.search(r"\bnan\b", text):
        text = re.sub(r"\bnan\b", "  -", text)
        text += "\n- : undefined (never predicted, or no references), left out of the averages\n"
    unseen = [name for i, name in enumerate(label_names) if i not in seen]
    if unseen:
        text += f"\nnot in the references nor predicted (left out): {', '.join(unseen)}\n"
    return text


def compute_ser_metrics(
    y_true: Any,
    y_pred: Any,
    label_names: Sequence[str],
    *,
    speakers: Sequence[Any] | None = None,
    genders: Sequence[Any] | None = None,
    y_prob: Any | None = None,
) -> dict[str, Any]:
    """All SER metrics of one set of predictions, as a JSON-ready dict.

    Args:
        y_true: ``(n,)`` true class ids (``0..C-1``) or label names.
        y_pred: ``(n,)`` predicted class ids or label names.
        label_names: the ``C`` class names, in id order (fixes the order of every per-class output).
        speakers: optional ``(n,)`` speaker of each clip -> ``per_speaker``.
        genders: optional ``(n,)`` gender of each clip -> ``per_gender``.
        y_prob: optional ``(n, C)`` class probabilities -> ``log_loss`` and ``top2_accuracy``.

    Returns:
        ``n``, ``labels``, ``wa``, ``ua``, ``f1_macro``, ``f1_weighted``, ``per_class`` (name ->
        precision, recall, f1, support, accuracy), ``confusion`` and ``confusion_normalized``
        (``C x C`` lists), ``classification_report`` (text); ``per_speaker`` / ``per_gender``
        (key -> n, wa, ua) when given; ``log_loss`` / ``top2_accuracy`` when ``y_prob`` is given.
    """
    label_names = [str(name) for name in label_names]
    if not label_names:
        raise ValueError("label_names is empty: pass the model's class names in id order")
    if len(set(label_names)) != len(label_names):
        raise ValueError(f"label_names has duplicates: {label_names}")
    t = _as_ids(y_true, label_names, "y_true")
    p = _as_ids(y_pred, label_names, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true has {len(t)} entries but y_pred has {len(p)}")
    if t.size == 0:
        raise ValueError("no predictions to score (y_true is empty)")
    n_classes = len(label_names)
    ids = list(range(n_classes))

    cm = confusion_matrix(t, p, labels=ids)
    row_totals = cm.sum(axis=1, keepdims=True)
    cm_norm = np.divide(cm, row_totals, out=np.zeros(cm.shape, dtype=float), where=row_totals > 0)
    precision, recall, f1, support = precision_recall_fscore_support(t, p, labels=ids, zero_division=np.nan)
    predicted = cm.sum(axis=0)
    per_class = {}
    for i, name in enumerate(label_names):
        has_truth, has_pred = support[i] > 0, predicted[i] > 0
        per_class[name] = {
            "precision": _undefined_to_none(precision[i]) if has_pred else None,
            "recall": _undefined_to_none(recall[i]) if has_truth else None,
            # F1 is defined once the class occurs in either the truth or the predictions (then 0 if no hit)
            "f1": (float(np.nan_to_num(f1[i])) if (has_truth or has_pred) else None),
            "support": int(support[i]),
            "accuracy": _undefined_to_none(recall[i]) if has_truth else None,
        }

    result: dict[str, Any] = {
        "n": int(t.size),
        "labels": label_names,
        "wa": float(accuracy_score(t, p)),
        "ua": _unweighted_accuracy(t, p),
        "f1_macro": float(f1_score(t, p, average="macro", zero_division=0)),
        "f1_weighted": float(f1_score(t, p, average="weighted", zero_division=0)),
        "per_class": per_class,
        "confusion": cm.astype(int).tolist(),
        "confusion_normalized": cm_norm.tolist(),
        "classification_report": _report(t, p, label_names),
    }
    if speakers is not None:
        result["per_speaker"] = _per_group(t, p, speakers, "speakers")
    if genders is not None:
        result["per_gender"] = _per_group(t, p, genders, "genders")
    if y_prob is not None:
        prob = np.asarray(y_prob, dtype=np.float64)
        if prob.shape != (t.size, n_classes):
            raise ValueError(f"y_prob must have shape (n, C) = ({t.size}, {n_classes}), got {prob.shape}")
        # renormalise so rounding in float16/float32 softmax outputs does not trip sklearn's sum check
        prob = prob / prob.sum(axis=1, keepdims=True)
        result["log_loss"] = float(log_loss(t, prob, labels=ids))
        result["nll"] = result["log_loss"]
        result["brier"] = float(np.mean(np.sum((prob - np.eye(n_classes)[t]) ** 2, axis=1)))
        result["ece"] = expected_calibration_error(t, prob)
        if n_classes > 2:
            result["top2_accuracy"] = float(top_k_accuracy_score(t, prob, k=2, labels=ids))
    return result


def expected_calibration_error(y_true: Any, y_prob: Any, n_bins: int = 15) -> float:
    """ECE (Guo et al., 2017): the clip-weighted mean gap between confidence (top probability) and
    accuracy over ``n_bins`` equal-width confidence bins."""
    prob = np.asarray(y_prob, dtype=np.float64)
    conf, hit = prob.max(axis=1), (prob.argmax(axis=1) == np.asarray(y_true)).astype(np.float64)
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        sel = bins == b
        if sel.any():
            ece += sel.mean() * abs(hit[sel].mean() - conf[sel].mean())
    return float(ece)
