"""A content-addressed disk cache of per-clip feature vectors.

``ser-hf cv`` fits every fold from the same clips, a teacher and its student read the same clips,
and the 6-fold and cross-corpus protocols share RAVDESS: without a cache each of them extracts the
functionals of every clip again (openSMILE's ComParE costs tenths of a second a clip). A vector is
stored under the SHA-1 of the clip's float32 samples AND of the extractor's options, so a changed
clip, functionals set, sampling rate or trimming never hits a stale entry. Files are written to a
temporary name and renamed, so parallel folds and interrupted runs never leave half a vector.

Where: ``--cache_dir`` of ``ser-hf train`` / ``cv``, else ``$SER_HF_CACHE``, else
``~/.cache/ser_hf``. ``SER_HF_CACHE=off`` turns it off.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

CACHE_VERSION = "1"  # bump when a feature definition changes without changing its options


def default_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path | None:
    """``cache_dir``, else ``$SER_HF_CACHE``, else ``~/.cache/ser_hf``; None when set to ``off``."""
    value = str(cache_dir) if cache_dir else os.environ.get("SER_HF_CACHE", "")
    if value.lower() in ("off", "none", "0"):
        return None
    return Path(value) if value else Path.home() / ".cache" / "ser_hf"


class FeatureCache:
    """``vectors(clips, options, compute)``: one cached vector per clip (``root=None``: no cache)."""

    def __init__(self, root: str | os.PathLike | None):
        self.root = None if root is None else Path(root) / "features"
        self.hits = self.misses = 0

    def _path(self, clip: np.ndarray, options: str) -> Path:
        digest = hashlib.sha1(f"{CACHE_VERSION}|{options}|".encode())
        digest.update(np.ascontiguousarray(clip, dtype=np.float32).tobytes())
        key = digest.hexdigest()
        return self.root / key[:2] / f"{key}.npy"

    def vectors(
        self, clips: Sequence[np.ndarray], options: str, compute: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """``(len(clips), D)``: ``compute(clip)`` of every clip, read from the cache when stored."""
        out = []
        for clip in clips:
            if self.root is None:
                out.append(compute(clip))
                continue
            path = self._path(clip, options)
            try:
                out.append(np.load(path))
                self.hits += 1
                continue
            except (OSError, ValueError):
                pass  # not stored yet, or unreadable: compute and (re)write it
            vector = compute(clip)
            self.misses += 1
            self._write(path, vector)
            out.append(vector)
        return np.stack(out)

    @staticmethod
    def _write(path: Path, vector: np.ndarray) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                np.save(f, vector)
            os.replace(tmp, path)
        except OSError as err:  # a read-only or full disk costs speed, never the run
            logger.warning("feature cache not written (%s): %s", path, err)
