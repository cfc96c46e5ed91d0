"""The files ``ser-hf evaluate`` writes: ``metrics.json``, ``classification_report.txt``,
``confusion.png``, ``reliability.png`` and ``predictions.csv`` (one row per scored clip)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import spreadsheet_text


def write_evaluation(
    metrics: dict[str, Any], predictions: list[dict[str, Any]], out: str | os.PathLike, title: str
) -> Path:
    """Write ``metrics.json``, ``classification_report.txt``, ``confusion.png``, ``reliability.png``
    (the reliability diagram of the predicted probabilities) and ``predictions.csv``."""
    from .calibration import plot_reliability
    from .metrics import plot_confusion

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    channel = f"scored after the channel {metrics['channel']}\n\n" if metrics.get("channel") else ""
    (out / "classification_report.txt").write_text(
        channel + metrics["classification_report"], encoding="utf-8"
    )
    plot_confusion(metrics["confusion"], metrics["labels"], out / "confusion.png", title=title)
    if predictions and "probs" in predictions[0]:
        index = {name: i for i, name in enumerate(metrics["labels"])}
        y_true = np.array([index[p["true"]] for p in predictions])
        plot_reliability(y_true, np.array([p["probs"] for p in predictions]), out / "reliability.png", title)
    with open(out / "predictions.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(
            f, fieldnames=["path", "speaker", "true", "predicted", "score"], extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows({key: spreadsheet_text(value) for key, value in p.items()} for p in predictions)
    return out
