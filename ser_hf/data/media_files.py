"""Which files a user means: files, folders (recursively, through linked folders) and glob
patterns expanded into the media files ``ser-hf predict``, ``export --check-clips`` and
``extract-audio`` read."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .audio import MEDIA_EXTENSIONS

logger = logging.getLogger(__name__)


def _folder_media(folder: str, extensions: tuple[str, ...]) -> list[str]:
    """The media files under ``folder``, sorted, following linked folders once each (``rglob`` left
    them out); the other files are counted in a log line, not dropped without a word. Each name is
    ``folder`` as given joined with the file's path inside it (``./x/a.wav`` keeps its ``./``)."""
    found, others, seen = [], 0, set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # a link back up the tree
            dirs[:] = []
            continue
        seen.add(real)
        for name in files:
            q = os.path.join(root, name)
            if Path(name).suffix.lower() in extensions and (os.path.isfile(q) or os.path.islink(q)):
                found.append(q)  # a broken link too: reported as its error
            else:
                others += not name.startswith(".")
    if others:
        logger.info("%s: left out %d file(s) that are not audio or video by their extension", folder, others)
    return sorted(found, key=Path)


def find_media_names(paths: list[str], extensions: tuple[str, ...] = MEDIA_EXTENSIONS) -> list[str]:
    """Expand files, folders (recursively) and glob patterns into a list of media files, each named
    exactly as given (no ``Path`` normalisation: ``./a.wav`` and ``x//a.wav`` stay so), so that a
    caller's results join to the user's own list of paths.

    A path that names nothing (no file, no folder, no glob match) is kept as-is so the caller reports
    it as "file not found" for that exact path.
    """
    import glob

    found: list[str] = []
    for raw in paths:
        p = Path(raw)
        try:
            is_dir = p.is_dir()
        except OSError:  # a name too long for the file system aborted every file of the run
            found.append(raw)  # reported as that file's error, the others classified
            continue
        if is_dir:
            found += _folder_media(raw, extensions)
        elif p.exists() or p.is_symlink():  # a broken link named by the user: reported, not skipped
            found.append(raw)
        else:
            matches = sorted(glob.glob(raw, recursive=True))
            found += [m for m in matches if os.path.isfile(m)] if matches else [raw]
    return found


def find_media_files(paths: list[str], extensions: tuple[str, ...] = MEDIA_EXTENSIONS) -> list[Path]:
    """:func:`find_media_names` as ``Path`` objects (a sorted list of media files)."""
    return [Path(name) for name in find_media_names(paths, extensions)]
