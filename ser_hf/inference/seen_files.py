"""Clips given to a classifier that are the model's own training data: a file whose name (without
folder and extension) is that of a file the model trained or was validated on, as its folder's
``split.json`` lists them. Scores on such clips say nothing of accuracy (the bundled default scored
RAVDESS actors 1-20, its training and validation speakers, at UA 0.98-1.00, the unseen 21-24 at
0.73-0.80), so :func:`warn_if_training_files` says so, once per classifier."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


class TrainingFiles:
    """The file stems of a model folder's ``split.json`` (training and validation rows), read once, on
    the first clip given by path; an unreadable record, a Hub id or a model object: none."""

    def __init__(self, source: str):
        self.source = source
        self._stems: frozenset[str] | None = None
        self.warned = False

    @property
    def split_file(self) -> Path:
        from ..training.eval_inputs import SPLIT_FILE

        return Path(self.source) / SPLIT_FILE

    @property
    def stems(self) -> frozenset[str]:
        if self._stems is None:
            self._stems = frozenset()
            if self.source and os.path.isdir(self.source):
                from ..errors import SERError
                from ..training.eval_inputs import split_record, training_files

                try:
                    self._stems = frozenset(training_files(split_record(self.source) or {}))
                except SERError:  # an unreadable split.json: evaluate says what
                    pass
        return self._stems


def _path_of(audio: Any) -> str | None:
    """The file name a clip was given by: a path, or a ``{"path": ...}`` dict's (a datasets row), or
    the one a datasets ``AudioDecoder`` was decoded from (``ds["audio"]`` rows); None for samples,
    bytes and file objects, which cost nothing here."""
    if hasattr(audio, "get_all_samples"):  # datasets keeps what it decoded beside the decoder
        audio = getattr(audio, "_hf_encoded", None)
    if isinstance(audio, dict):
        audio = audio.get("path")
    if isinstance(audio, (str, os.PathLike)):
        return os.fspath(audio)
    return None


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path.rstrip("/\\")))[0]


def warn_if_training_files(classifier: Any, audios: Sequence[Any], what: str = "clips") -> None:
    """One WARNING per classifier when clips of ``audios`` given by path have the names of files its
    model trained or was validated on (its ``split.json``): how many (of ``what``: ``ser-hf predict``
    says files), a few names, and that scores on them are no measure of accuracy."""
    record = getattr(classifier, "_training_files", None)
    if record is None:
        record = TrainingFiles(str(getattr(classifier, "source", "") or ""))
        classifier._training_files = record
    if record.warned:
        return
    paths = [p for p in map(_path_of, audios) if p]
    if not paths or not record.stems:
        return
    found = [p for p in paths if _stem(p) in record.stems]
    if not found:
        return
    record.warned = True
    shown = ", ".join(os.path.basename(p) for p in found[:3]) + (" ..." if len(found) > 3 else "")
    names = "has the name of a file" if len(found) == 1 else "have the names of files"
    which = (
        f"{len(found)} of the {len(audios)} {what} ({shown}) {names}"
        if len(audios) > 1
        else f"{shown} {names}"
    )
    logger.warning(
        "%s this model trained or was validated on (its %s lists them): its scores on them are no "
        "measure of its accuracy on new speakers; `ser-hf evaluate --model %s --corpus NAME=DIR "
        "--split unseen` scores only the speakers it never saw, where the data has any (said once)",
        which,
        record.split_file,
        _model_name(record.source),
    )


def _model_name(source: str) -> str:
    """How ``ser-hf evaluate --model`` names the model: a bundled one by its name, else its folder."""
    from .bundled import BUNDLED_ALIASES

    here = Path(source).resolve()
    return next((name for name, folder in BUNDLED_ALIASES.items() if folder == here), source)
