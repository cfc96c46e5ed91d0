"""A content-addressed disk cache of per-clip feature vectors.

``ser-hf cv`` fits every fold from the same clips, a teacher and its student read the same clips,
and the 6-fold and cross-corpus protocols share RAVDESS: without a cache each of them extracts the
functionals of every clip again (openSMILE's ComParE costs tenths of a second a clip). A vector is
stored under the SHA-1 of the clip's float32 samples AND of the extractor's options, so a changed
clip, functionals set, sampling rate or trimming never hits a stale entry. Files are written to a
temporary name and renamed, so parallel folds and interrupted runs never leave half a vector.

Where: ``--cache_dir`` of ``ser-hf train`` / ``cv``, else ``$SER_HF_CACHE``, else
``$XDG_CACHE_HOME/ser_hf`` (as the Hugging Face libraries place theirs), else ``~/.cache/ser_hf``.
``SER_HF_CACHE=off`` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

MANY = 16  # clips per call of a `many` compute (memory stays that of a few clips)
# bump when a feature definition changes without changing its options (2: short clips padded)
CACHE_VERSION = "2"


def default_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path | None:
    """``cache_dir``, else ``$SER_HF_CACHE``, else ``$XDG_CACHE_HOME/ser_hf``, else ``~/.cache/ser_hf``;
    None when set to ``off``."""
    value = str(cache_dir) if cache_dir else os.environ.get("SER_HF_CACHE", "")
    if value.lower() in ("off", "none", "0"):
        return None
    if value:
        return Path(value)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # the XDG spec: a relative path there is invalid and ignored
    return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "ser_hf"


class FeatureCache:
    """``vectors(clips, options, compute)``: one cached vector per clip (``root=None``: no cache)."""

    def __init__(self, root: str | os.PathLike | None):
        self.root = None if root is None else Path(root) / "features"
        self.hits = self.misses = 0
        self.unwritable: OSError | None = None  # the first write's failure: no more are tried

    def summary(self) -> str:
        """``feature cache ROOT: H read, M computed`` (and when nothing could be stored, why)."""
        text = f"feature cache {self.root or 'off'}: {self.hits} read, {self.misses} computed"
        if self.unwritable is not None:
            text += f", none stored ({self.unwritable.strerror or self.unwritable})"
        return text

    def _path(self, clip: np.ndarray, options: str) -> Path:
        digest = hashlib.sha1(f"{CACHE_VERSION}|{options}|".encode())
        digest.update(np.ascontiguousarray(clip, dtype=np.float32).tobytes())
        key = digest.hexdigest()
        return self.root / key[:2] / f"{key}.npy"

    def vectors(
        self, clips: Sequence[np.ndarray], options: str, compute: Callable[[Any], Any], many: bool = False
    ) -> np.ndarray:
        """``(len(clips), D)``: ``compute(clip)`` of every clip, read from the cache when stored."""
        return np.stack(self.arrays(clips, options, compute, many))

    def arrays(
        self, clips: Sequence[np.ndarray], options: str, compute: Callable[[Any], Any], many: bool = False
    ) -> list[np.ndarray]:
        """``compute(clip)`` of every clip (any shape), read from the cache when stored; with
        ``many``, ``compute`` takes a list of clips and returns their values, and the clips not
        stored are computed ``MANY`` at a time."""
        out: list[np.ndarray | None] = [None] * len(clips)
        paths = [None if self.root is None else self._path(clip, options) for clip in clips]
        missing = []
        for i, path in enumerate(paths):
            try:
                out[i] = np.load(path) if path is not None else None
            except (OSError, ValueError):
                pass  # not stored yet, or unreadable: compute and (re)write it
            if out[i] is None:
                missing.append(i)
            else:
                self.hits += 1
        step = MANY if many else 1
        for k in range(0, len(missing), step):
            todo = missing[k : k + step]
            got = compute([clips[i] for i in todo]) if many else [compute(clips[todo[0]])]
            for i, vector in zip(todo, got):
                out[i] = vector
                if paths[i] is not None:
                    self.misses += 1
                    self._write(paths[i], vector)
        return out

    def _write(self, path: Path, vector: np.ndarray) -> None:
        if self.unwritable is not None:
            return
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                np.save(f, vector)
            os.replace(tmp, path)
        except OSError as err:  # a read-only or full disk costs speed, never the run
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            # once, not once per clip (a read-only HOME printed thousands of identical lines)
            self.unwritable = err
            logger.warning(
                "feature cache not written in %s (%s): the features are computed again on every run; "
                "give a writable folder with --cache_dir DIR or SER_HF_CACHE=DIR, or turn the cache off with "
                "SER_HF_CACHE=off. No more clips are tried in this run.",
                self.root, err.strerror or err,
            )  # fmt: skip


# ------------------------------------------------------------------ cached frame features (Trainer)
def raw_frame_features(extractor: Any, clips: Sequence[np.ndarray], cache: FeatureCache) -> list[np.ndarray]:
    """Every clip's raw (un-normalised, full-length) ``(frames, F)`` features of a
    ``SERFeatureExtractor``, through ``cache``: what ``--feature_cache`` trains from."""
    import copy

    import torch

    full = copy.copy(extractor)
    full.max_frames = None  # crops are drawn from the whole clip; max_frames applies per batch
    options = {k: v for k, v in extractor.to_dict().items() if k not in _PER_BATCH_OPTIONS}
    key = "frames|" + json.dumps(options, sort_keys=True, default=str)

    def compute(clip: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            feats, mask = full.batch_features(
                torch.from_numpy(np.asarray(clip, np.float32))[None], normalize=False
            )
        return feats[0, : int(mask[0].sum())].numpy()

    return cache.arrays(clips, key, compute)


# applied to each batch after the cache (normalisation, truncation) or not features at all
_PER_BATCH_OPTIONS = {"normalize", "feature_mean", "feature_std", "max_frames", "processor_class", "auto_map"}


class CachedFeatures:
    """The extractor of a run that trains from cached raw features: ``batch_features(features,
    frame_lengths)`` does what the end of ``SERFeatureExtractor.batch_features`` does (truncation
    to ``max_frames``, normalisation, padding); saving and every other attribute are the wrapped
    extractor's, so the saved folder is the same as without the cache."""

    def __init__(self, extractor: Any):
        self.extractor = extractor

    def batch_features(self, features: Any, lengths: Any, *args: Any, **kwargs: Any) -> Any:
        import torch

        max_frames = self.extractor.max_frames
        if max_frames is not None:
            features, lengths = features[:, :max_frames], lengths.clamp(max=max_frames)
        real = torch.arange(features.shape[1], device=features.device)[None, :] < lengths[:, None]
        return self.extractor.finish_features(features, real, max_frames)

    def save_pretrained(self, *args: Any, **kwargs: Any) -> Any:
        return self.extractor.save_pretrained(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["extractor"], name)


def frame_statistics(arrays: Sequence[np.ndarray]) -> tuple[list[float], list[float]]:
    """Mean and standard deviation of every feature row over all frames (``normalize="global"``)."""
    total = sum(a.sum(0, dtype=np.float64) for a in arrays)
    total_sq = sum(np.square(a, dtype=np.float64).sum(0) for a in arrays)
    count = sum(len(a) for a in arrays)
    mean = total / count
    std = np.sqrt(np.clip(total_sq / count - mean**2, 0.0, None))
    return [float(v) for v in mean], [float(v) for v in std]
