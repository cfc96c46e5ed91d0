"""Which files a user means: files, folders (recursively, through linked folders) and glob
patterns expanded into the media files ``ser-hf predict``, ``export --check-clips`` and
``extract-audio`` read."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .audio import MEDIA_EXTENSIONS

logger = logging.getLogger(__name__)


def _folder_media(folder: Path, extensions: tuple[str, ...]) -> list[Path]:
    """The media files under ``folder``, sorted, following linked folders once each (``rglob`` left
    them out); the other files are counted in a log line, not dropped without a word."""
    found, others, seen = [], 0, set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # a link back up the tree
            dirs[:] = []
            continue
        seen.add(real)
        for name in files:
            q = Path(root) / name
            if q.suffix.lower() in extensions and (q.is_file() or q.is_symlink()):  # a broken link: its error
                found.append(q)
            else:
                others += not name.startswith(".")
    if others:
        logger.info("%s: left out %d file(s) that are not audio or video by their extension", folder, others)
    return sorted(found)


def find_media_files(paths: list[str], extensions: tuple[str, ...] = MEDIA_EXTENSIONS) -> list[Path]:
    """Expand files, folders (recursively) and glob patterns into a sorted list of media files.

    A path that names nothing (no file, no folder, no glob match) is kept as-is so the caller reports
    it as "file not found" for that exact path.
    """
    import glob

    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        try:
            is_dir = p.is_dir()
        except OSError:  # a name too long for the file system aborted every file of the run
            found.append(p)  # reported as that file's error, the others classified
            continue
        if is_dir:
            found += _folder_media(p, extensions)
        elif p.exists() or p.is_symlink():  # a broken link named by the user: reported, not skipped
            found.append(p)
        else:
            matches = sorted(glob.glob(raw, recursive=True))
            found += [Path(m) for m in matches if Path(m).is_file()] if matches else [p]
    return found
