"""Saving a trained model folder so that it is never left half written.

This module imports nothing heavy: :mod:`ser_hf.inference` reads :data:`PREVIOUS_MODEL_DIR` from it
to name the backup when a folder holds an interrupted save.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

# where save_final_model keeps the previous model while a new one is moved in
PREVIOUS_MODEL_DIR = ".previous-model"


def public_mode(path: str | os.PathLike) -> None:
    """Give a file written through a temporary file (mode 0600) the mode a plain ``open`` would
    (0666 minus the umask): saved models and exports are meant to be shared."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """No "Loading weights" progress bars from transformers while ser_hf loads a model for you;
    the previous setting is restored afterwards."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def _back_up_model(output_dir: Path, names: Sequence[str]) -> None:
    """Keep the complete model now in ``output_dir`` in ``output_dir/.previous-model`` (hard links,
    a copy where links are not possible) before a new save overwrites it. Does nothing when the
    folder holds no complete model, so the backup of an earlier interrupted save is kept."""
    if not (output_dir / "config.json").is_file():
        return
    staging = Path(tempfile.mkdtemp(prefix=".previous-", dir=output_dir))
    for name in names:
        if (output_dir / name).is_file():
            try:
                os.link(output_dir / name, staging / name)
            except OSError:
                shutil.copy2(output_dir / name, staging / name)
    backup = output_dir / PREVIOUS_MODEL_DIR
    shutil.rmtree(backup, ignore_errors=True)
    os.rename(staging, backup)  # the backup appears complete or not at all


def save_model_folder(model: Any, feature_extractor: Any, output_dir: str | Path) -> None:
    """Write model (safetensors) + feature extractor into ``output_dir`` without ever leaving half a model.

    Everything is written to a temporary folder first. The model already in ``output_dir`` is then
    kept in ``output_dir/.previous-model`` (hard links), and the new files are moved in one by one
    with ``os.replace`` (atomic per file): ``config.json`` is removed first and moved last, so an
    interrupted save leaves a folder that refuses to load (naming the backup) rather than one with
    mixed weights, and the previous model stays complete in ``.previous-model``. A save that
    finishes removes the backup.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".final-", dir=output_dir))
    try:
        model.save_pretrained(str(tmp))
        feature_extractor.save_pretrained(str(tmp))
        files = sorted(p for p in tmp.iterdir() if p.is_file())
        _back_up_model(output_dir, [p.name for p in files])
        (output_dir / "config.json").unlink(missing_ok=True)
        for path in sorted(files, key=lambda p: p.name == "config.json"):
            public_mode(path)
            os.replace(path, output_dir / path.name)
        shutil.rmtree(output_dir / PREVIOUS_MODEL_DIR, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def save_final_model(trainer: Any, output_dir: str | Path) -> None:
    """:func:`save_model_folder` of a Trainer's (unwrapped) model and feature extractor."""
    save_model_folder(trainer.accelerator.unwrap_model(trainer.model), trainer.feature_extractor, output_dir)
