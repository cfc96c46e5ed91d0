"""Calibrated probabilities: temperature scaling (Guo et al., 2017) and the reliability diagram.

After training, one temperature ``T`` is fitted on the VALIDATION speakers' probabilities (the
NLL of ``softmax(log p / T)``, minimised over ``log T``), stored as ``config.calibration_temperature`` and
applied inside the model's forward (every family divides its output logits by it), so the
pipeline, ``EmotionClassifier``, ONNX exports and the demo all return calibrated scores. The
predicted class never changes (argmax is invariant to ``T``); the test speakers are not used.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

T_BOUNDS = (0.05, 20.0)
MIN_CLIPS = 20  # fewer validation clips fit noise: the temperature stays 1.0


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log p / T)`` row by row (zeros stay zero)."""
    logp = np.log(np.clip(np.asarray(probs, dtype=np.float64), 1e-300, None)) / temperature
    logp[np.asarray(probs) <= 0] = -np.inf
    logp -= logp.max(axis=1, keepdims=True)
    out = np.exp(logp)
    return out / out.sum(axis=1, keepdims=True)


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The ``T`` in :data:`T_BOUNDS` that minimises the NLL of ``labels`` under
    ``softmax(log probs / T)``; 1.0 when there is nothing to fit on: fewer than :data:`MIN_CLIPS`
    clips, or every clip classified right (the NLL then falls all the way to the smallest ``T``, and
    every later score would read about 1.0)."""
    from scipy.optimize import minimize_scalar

    probs, labels = np.asarray(probs, dtype=np.float64), np.asarray(labels, dtype=np.int64)
    if len(labels) < MIN_CLIPS or (probs.argmax(axis=1) == labels).all():
        if len(labels):
            logger.warning(
                "calibration: %s; the scores are left uncalibrated (temperature 1.0). Take more or "
                "larger validation speakers (--num_val_speakers) to calibrate",
                f"only {len(labels)} validation clip(s), fewer than {MIN_CLIPS}"
                if len(labels) < MIN_CLIPS
                else f"all {len(labels)} validation clips are classified right, nothing to fit a temperature on",
            )
        return 1.0

    def nll(log_t: float) -> float:
        p = apply_temperature(probs, float(np.exp(log_t)))[np.arange(len(labels)), labels]
        return float(-np.mean(np.log(np.clip(p, 1e-12, None))))

    res = minimize_scalar(nll, bounds=tuple(np.log(T_BOUNDS)), method="bounded")
    t = float(np.exp(res.x))
    logger.info("temperature %.3f: validation NLL %.3f -> %.3f", t, nll(0.0), nll(res.x))
    if (
        t > 0.99 * T_BOUNDS[1]
    ):  # the flattest it may make them: the scores tell the validation clips' classes apart no better than chance
        logger.warning(
            "calibration: the temperature reached its upper bound (%g): on the %d validation clips the model's "
            "scores carry about no information (validation accuracy %.2f), so every calibrated score is close "
            "to uniform. Train longer or on more data before trusting this model",
            T_BOUNDS[1],
            len(labels),
            float((probs.argmax(axis=1) == labels).mean()),
        )
    return t


def plot_reliability(
    y_true: np.ndarray,
    y_prob: np.ndarray,
    path: str | Path,
    title: str = "",
    n_bins: int = 15,
    name: str | None = None,
) -> Path:
    """The reliability diagram: accuracy against confidence per bin, the bins' clip counts, ECE.
    ``name``: the plot's name in a warning (the file it becomes when ``path`` is a temporary file)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .metrics import expected_calibration_error
    from .plot_text import drawable_text

    prob = np.asarray(y_prob, dtype=np.float64)
    conf, hit = prob.max(axis=1), prob.argmax(axis=1) == np.asarray(y_true)
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    centers = (np.arange(n_bins) + 0.5) / n_bins
    acc = np.array([hit[bins == b].mean() if (bins == b).any() else np.nan for b in range(n_bins)])
    counts = np.bincount(bins, minlength=n_bins)
    path = Path(path)
    with drawable_text([], name or str(path), title) as say:  # a corpus or model name in Japanese
        fig, (ax, axc) = plt.subplots(
            2, 1, figsize=(4.5, 5.5), gridspec_kw={"height_ratios": [3, 1]}, sharex=True
        )
        ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
        ax.bar(centers, np.nan_to_num(acc), width=1 / n_bins, edgecolor="k", alpha=0.7, label="accuracy")
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1)
        ax.set_title(
            f"{say(title)}  ECE {expected_calibration_error(y_true, prob, n_bins):.3f}".strip(), fontsize=9
        )
        ax.legend(loc="upper left", fontsize=8)
        axc.bar(centers, counts, width=1 / n_bins, edgecolor="k", color="grey")
        axc.set_xlabel("confidence (top probability)")
        axc.set_ylabel("clips")
        axc.set_xlim(0, 1)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
