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
    (the reliability diagram of the predicted probabilities) and ``predictions.csv`` (path, speaker,
    true, predicted, score, then gender and corpus when known and ``p_<class>`` for each scored class)."""
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
    # one probability column per scored class, so NLL, Brier and top-k can be recomputed from the file
    known = [key for key in ("gender", "corpus") if predictions and key in predictions[0]]
    prob_columns = [f"p_{name}" for name in metrics["labels"]]
    with open(out / "predictions.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(
            f,
            # new columns after the old five, so readers by position (cut -f3) still get the true label
            fieldnames=["path", "speaker", "true", "predicted", "score", *known, *prob_columns],
            extrasaction="ignore",
        )
        writer.writeheader()
        for p in predictions:
            row = {key: spreadsheet_text(value) for key, value in p.items() if key != "probs"}
            row.update(zip(prob_columns, (f"{v:.6g}" for v in p.get("probs") or ())))
            writer.writerow(row)
    return out
