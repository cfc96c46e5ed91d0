"""Which files a user means: files, folders (recursively, through linked folders) and glob
patterns expanded into the media files ``ser-hf predict``, ``export --check-clips`` and
``extract-audio`` read."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from .audio import MEDIA_EXTENSIONS
from .ffmpeg_input import HEADERLESS, headerless_error

logger = logging.getLogger(__name__)


def _folder_media(folder: str, extensions: tuple[str, ...], unreadable: list[OSError]) -> list[str]:
    """The media files under ``folder``, sorted, following linked folders once each (``rglob`` left
    them out); the other files are counted in a log line, not dropped without a word, and so are the
    folders that cannot be read (a path over PATH_MAX, no permission), appended to ``unreadable``.
    Each name is ``folder`` as given joined with the file's path inside it (``./x/a.wav`` keeps its
    ``./``)."""
    found, others, seen, failed = [], 0, set(), []
    headerless: list[str] = []  # of the others, those named as bare samples are (call.raw, call.ulaw)
    for root, dirs, files in os.walk(folder, followlinks=True, onerror=failed.append):
        real = os.path.realpath(root)
        if real in seen:  # a link back up the tree
            dirs[:] = []
            continue
        seen.add(real)
        for name in files:
            q = os.path.join(root, name)
            if Path(name).suffix.lower() in extensions and _file_or_link(q):
                found.append(q)  # a broken link too: reported as its error
            elif not name.startswith("."):
                others += 1
                if Path(name).suffix.lower() in HEADERLESS:
                    headerless.append(q)
    if headerless:  # a folder of a phone system's .raw/.ulaw files said only "left out 11 file(s)"
        logger.warning(
            "%s: left out %d file(s) that are not audio or video by their extension, %d of them named like "
            "headerless audio (%s), which is read only once converted: %s",
            folder,
            others,
            len(headerless),
            ", ".join(sorted({Path(q).suffix.lower() for q in headerless})),
            headerless_error(min(headerless)),
        )
    elif others:
        logger.info("%s: left out %d file(s) that are not audio or video by their extension", folder, others)
    if failed:  # os.walk skipped them without a word: a clip 22 folders of 200 characters deep was never seen
        first = failed[0]
        name = (
            str(first.filename)
            if len(str(first.filename)) <= 160
            else f"{str(first.filename)[:70]}...{str(first.filename)[-70:]}"
        )
        logger.warning(
            "%s: left out %d folder(s) that could not be read, and the files in them (%s: %s)",
            folder,
            len(failed),
            name,
            first.strerror,
        )
        unreadable += failed
    return sorted(found, key=Path)


def _file_or_link(path: str) -> bool:
    """A file or a link (a broken one too), not a folder, FIFO or device; a path the system cannot look
    up (over PATH_MAX) too, so that it is reported as that file's error, not dropped."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return stat.S_ISLNK(mode) or stat.S_ISREG(mode)


def find_media_names(
    paths: list[str], extensions: tuple[str, ...] = MEDIA_EXTENSIONS, unreadable: list[OSError] | None = None
) -> list[str]:
    """Expand files, folders (recursively) and glob patterns into a list of media files, each named
    exactly as given (no ``Path`` normalisation: ``./a.wav`` and ``x//a.wav`` stay so), so that a
    caller's results join to the user's own list of paths.

    A path that names nothing (no file, no folder, no glob match) is kept as-is so the caller reports
    it as "file not found" for that exact path. The errors of folders that could not be read (each
    logged as a warning) are appended to ``unreadable`` when given.
    """
    import glob

    found: list[str] = []
    unreadable = [] if unreadable is None else unreadable
    for raw in paths:
        p = Path(raw)
        try:
            is_dir = p.is_dir()
        except OSError:  # a name too long for the file system aborted every file of the run
            found.append(raw)  # reported as that file's error, the others classified
            continue
        if is_dir:
            found += _folder_media(raw, extensions, unreadable)
        elif p.exists() or p.is_symlink():  # a broken link named by the user: reported, not skipped
            found.append(raw)
        else:
            matches = sorted(glob.glob(raw, recursive=True))
            found += [m for m in matches if os.path.isfile(m)] if matches else [raw]
    return found


def find_media_files(paths: list[str], extensions: tuple[str, ...] = MEDIA_EXTENSIONS) -> list[Path]:
    """:func:`find_media_names` as ``Path`` objects (a sorted list of media files)."""
    return [Path(name) for name in find_media_names(paths, extensions)]
