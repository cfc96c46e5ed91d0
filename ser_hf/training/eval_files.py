"""The files ``ser-hf evaluate`` writes: ``metrics.json``, ``classification_report.txt``,
``confusion.png``, ``reliability.png`` and ``predictions.csv`` (one row per scored clip)."""

from __future__ import annotations

import csv
import errno
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import spreadsheet_text
from .saving import fsync_file, write_json


def write_evaluation(
    metrics: dict[str, Any], predictions: list[dict[str, Any]], out: str | os.PathLike, title: str
) -> Path:
    """Write ``metrics.json``, ``classification_report.txt``, ``confusion.png``, ``reliability.png``
    (the reliability diagram of the predicted probabilities) and ``predictions.csv`` (path, speaker,
    true, predicted, score, then gender and corpus when known and ``p_<class>`` for each scored class).

    Each file replaces its old copy whole (they are written first in a staging folder inside ``out`` and
    flushed to disk): an OSError (a full disk) leaves the previous evaluation's files, or none, and names
    the file."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # every file is written in a staging folder, then each moved over its old copy: a full disk or an
    # interrupted run leaves the previous files (or none), never an empty metrics.json
    staging = out / f".ser-hf-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    name = ""  # the file being written, named in an OSError (a full disk's names none)
    try:
        staging.mkdir()
        for name, write in _writers(metrics, predictions, title, out):
            write(staging / name)
            fsync_file(staging / name)  # moved into place below: whole after a crash too
        for path in staging.iterdir():  # a folder where a file goes: said before any file is replaced
            if (out / path.name).is_dir():
                name = path.name
                raise IsADirectoryError(errno.EISDIR, "a folder is where this file goes", str(out / name))
        for path in sorted(staging.iterdir(), key=lambda p: p.name == "metrics.json"):  # the record last
            name = path.name
            os.replace(path, out / name)
    except OSError as err:
        if err.errno is None or (err.filename is not None and not _under(err.filename, staging)):
            raise
        raise OSError(err.errno, err.strerror, str(out / name)) from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def _under(name: object, folder: Path) -> bool:
    return isinstance(name, (str, os.PathLike)) and Path(name).is_relative_to(folder)


def _writers(
    metrics: dict[str, Any], predictions: list[dict[str, Any]], title: str, out: Path
) -> list[tuple[str, Callable[[Path], Any]]]:
    """Each file of the evaluation: its name and the function that writes it at a path (a staging
    path: a plot's warning names the file it becomes in ``out``)."""
    from .calibration import plot_reliability
    from .metrics import plot_confusion

    channel = f"scored after the channel {metrics['channel']}\n\n" if metrics.get("channel") else ""
    files: list[tuple[str, Callable[[Path], Any]]] = [
        (
            "metrics.json",
            lambda path: write_json(path, metrics),
        ),
        (
            "classification_report.txt",
            lambda path: path.write_text(channel + metrics["classification_report"], encoding="utf-8"),
        ),
        (
            "confusion.png",
            lambda path: plot_confusion(
                metrics["confusion"], metrics["labels"], path, title=title, name=str(out / "confusion.png")
            ),
        ),
    ]
    if predictions and "probs" in predictions[0]:
        index = {name: i for i, name in enumerate(metrics["labels"])}
        y_true = np.array([index[p["true"]] for p in predictions])
        probs = np.array([p["probs"] for p in predictions])
        files.append(
            (
                "reliability.png",
                lambda path: plot_reliability(y_true, probs, path, title, name=str(out / "reliability.png")),
            )
        )
    files.append(("predictions.csv", lambda path: _write_predictions(metrics, predictions, path)))
    return files


def _write_predictions(metrics: dict[str, Any], predictions: list[dict[str, Any]], path: Path) -> None:
    # one probability column per scored class, so NLL, Brier and top-k can be recomputed from the file
    known = [key for key in ("gender", "corpus") if predictions and key in predictions[0]]
    prob_columns = [f"p_{name}" for name in metrics["labels"]]
    with open(path, "w", newline="", encoding="utf-8") as f:
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
