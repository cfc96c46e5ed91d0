"""Honest SER metrics: WA, UA, F1, per-class / per-speaker / per-gender scores, confusion plots.

The numbers come from one scikit-learn implementation, ``training/ser_metrics/ser_metrics_core.py``,
which is also what the offline ``evaluate`` module in that folder runs (see
:func:`load_evaluate_metric`). That file cannot import ``ser_hf`` (``evaluate`` copies it into its
own cache), so it is loaded here by path; the folder is shipped as package data.

- :func:`compute_ser_metrics` -> JSON-ready dict (definitions of WA, UA, ... in the core file).
- :func:`make_compute_metrics` -> ``Trainer(compute_metrics=...)`` callable (flat floats).
- :func:`plot_confusion` -> PNG of a (normalised) confusion matrix.
- :func:`format_table` -> the short terminal summary the CLIs print.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SERError, install_hint, pad_text, text_width
from .plot_text import drawable_text

logger = logging.getLogger(__name__)

EVALUATE_MODULE_DIR = Path(__file__).with_name("ser_metrics")
"""Folder of the offline ``evaluate`` module: ``evaluate.load(str(EVALUATE_MODULE_DIR))``."""


def _load_core():
    name = "ser_hf._ser_metrics_core"
    if name in sys.modules:
        return sys.modules[name]
    path = EVALUATE_MODULE_DIR / "ser_metrics_core.py"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ImportError(
            f"{path}: the metrics core is missing; reinstall ser-hf: {install_hint(None, reinstall=True)}"
        )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_core = _load_core()
expected_calibration_error = _core.expected_calibration_error


def compute_ser_metrics(
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    label_names: Sequence[str],
    *,
    speakers: Sequence[Any] | None = None,
    genders: Sequence[Any] | None = None,
    y_prob: np.ndarray | None = None,
) -> dict[str, Any]:
    """Every metric of one set of predictions, as a JSON-ready dict.

    Args:
        y_true: ``(n,)`` true class ids ``0..C-1`` (or label names).
        y_pred: ``(n,)`` predicted class ids (or label names).
        label_names: the ``C`` class names in id order; fixes the order of per-class outputs and
            of the confusion matrix (classes absent from ``y_true`` keep their row and column).
        speakers, genders: optional ``(n,)`` group of each clip -> ``per_speaker``, ``per_gender``.
        y_prob: optional ``(n, C)`` probabilities -> ``log_loss``, ``top2_accuracy``.

    Returns:
        ``n``, ``labels``, ``wa`` (accuracy), ``ua`` (balanced accuracy = unweighted average
        recall), ``f1_macro``, ``f1_weighted``, ``per_class`` (name -> precision, recall, f1,
        support, accuracy; ``None`` where undefined), ``confusion`` (counts, ``C x C``),
        ``confusion_normalized`` (rows sum to 1), ``classification_report`` (text), plus
        ``per_speaker`` / ``per_gender`` (key -> n, wa, ua) and the probability scores when given.

    Raises:
        SERError: mismatched lengths, ids out of range, unknown label names, empty input.
    """
    try:
        return _core.compute_ser_metrics(
            y_true, y_pred, label_names, speakers=speakers, genders=genders, y_prob=y_prob
        )
    except ValueError as err:
        raise SERError(str(err), source="compute_ser_metrics") from err


def load_evaluate_metric(**kwargs: Any):
    """The same metrics as an ``evaluate`` module, loaded offline from the package.

    ``kwargs`` go to ``evaluate.load`` (e.g. ``experiment_id``, ``keep_in_memory``). Then
    ``metric.compute(predictions=ids, references=ids, label_names=[...], speakers=[...])``.
    """
    import evaluate  # heavy (imports transformers.pipelines): only when asked for

    return evaluate.load(str(EVALUATE_MODULE_DIR), **kwargs)


def make_compute_metrics(label_names: Sequence[str]) -> Callable[[Any], dict[str, float]]:
    """A ``Trainer(compute_metrics=...)`` callable returning flat floats ``ua``, ``wa``, ``f1_macro``.

    It accepts an ``EvalPrediction`` whose ``predictions`` are logits ``(n, C)`` (or a tuple whose
    first element is, as when attentions are returned too) and ``label_ids`` ``(n,)``. Trainer
    prefixes the keys with ``eval_``, so select the best model with ``metric_for_best_model="ua"``.
    """
    names = list(label_names)

    def compute_metrics(eval_pred: Any) -> dict[str, float]:
        logits = eval_pred.predictions
        if isinstance(logits, (tuple, list)):
            logits = logits[0]
        labels = eval_pred.label_ids
        if isinstance(labels, (tuple, list)):
            labels = labels[0]
        y_pred = np.asarray(logits).reshape(len(labels), -1).argmax(axis=-1)
        result = compute_ser_metrics(np.asarray(labels), y_pred, names)
        return {"ua": result["ua"], "wa": result["wa"], "f1_macro": result["f1_macro"]}

    return compute_metrics


def plot_confusion(
    confusion: Sequence[Sequence[float]] | np.ndarray,
    label_names: Sequence[str],
    path: str | Path,
    *,
    normalize: bool = True,
    title: str | None = None,
    name: str | None = None,
) -> Path:
    """Write a confusion-matrix heat map as a PNG and return its path.

    Args:
        confusion: ``(C, C)`` counts, rows = true class, columns = predicted class.
        label_names: the ``C`` class names.
        path: output file (parent folders are created).
        normalize: divide each row by its total (recall on the diagonal); rows with no clips stay 0.
        title: optional title; the default says whether the matrix is normalised and the clip count.
        name: the plot's name in a warning (the file it becomes when ``path`` is a temporary file).
    """
    # the object-oriented API with an Agg canvas: no pyplot, no global backend switch, no display
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from sklearn.metrics import ConfusionMatrixDisplay

    cm = np.asarray(confusion)
    names = [str(n) for n in label_names]
    if cm.shape != (len(names), len(names)):
        raise SERError(f"confusion has shape {cm.shape} but there are {len(names)} labels", source=str(path))
    n_clips = int(cm.sum())
    if normalize:
        totals = cm.sum(axis=1, keepdims=True)
        cm = np.divide(cm, totals, out=np.zeros(cm.shape), where=totals > 0)
    elif cm.dtype.kind == "f" and np.all(cm == np.round(cm)):
        cm = cm.astype(np.int64)  # counts that went through JSON or a float sum
    size = max(4.5, 0.75 * len(names) + 2.5)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    heading = title or f"{'normalised ' if normalize else ''}confusion matrix (n={n_clips})"
    with drawable_text(names, name or str(path), heading) as say:
        fig = Figure(figsize=(size, size * 0.9), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ConfusionMatrixDisplay(cm, display_labels=[say(n) for n in names]).plot(
            ax=ax,
            cmap="Blues",
            values_format=".2f" if normalize or cm.dtype.kind == "f" else "d",
            xticks_rotation=45,
            colorbar=True,
            im_kw={"vmin": 0.0, "vmax": 1.0} if normalize else None,
        )
        ax.set_title(say(heading))
        fig.savefig(path, dpi=120)
    return path


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def format_table(metrics: dict[str, Any], *, title: str | None = None) -> str:
    """A short plain-text summary of :func:`compute_ser_metrics` output for the terminal.

    Headline numbers, then per-class recall / F1 / support, then per-gender (per-corpus) WA / UA when
    present, and each speaker's UA for 2 to 12 speakers.
    """
    lines = [title] if title else []
    lines.append(
        f"n={metrics['n']}  WA={metrics['wa']:.3f}  UA={metrics['ua']:.3f}  "
        f"F1 macro={metrics['f1_macro']:.3f}  F1 weighted={metrics['f1_weighted']:.3f}"
    )
    per_class = metrics.get("per_class", {})
    if per_class:
        width = max(9, *(text_width(name) for name in per_class))  # 怒り takes 4 columns
        lines.append(f"  {'class':<{width}}  recall  precision    f1    support")
        for name, row in per_class.items():
            lines.append(
                f"  {pad_text(name, width)}  {_fmt(row['recall'])}   {_fmt(row['precision'])}    "
                f"{_fmt(row['f1'])}  {row['support']:>5}"
            )
    for key, heading in (("per_gender", "gender"), ("per_corpus", "corpus")):
        groups = metrics.get(key)
        if groups:
            parts = [f"{g}: WA {v['wa']:.3f} UA {v['ua']:.3f} (n={v['n']})" for g, v in groups.items()]
            lines.append(f"  by {heading}: " + "; ".join(parts))
    speakers = metrics.get("per_speaker") or {}
    if 2 <= len(speakers) <= 12:  # a user's few speakers: how far apart they are (more: metrics.json)
        parts = [f"{s} {v['ua']:.3f} (n={v['n']})" for s, v in speakers.items()]
        lines.append("  UA by speaker: " + "; ".join(parts))
    return "\n".join(lines)
