"""File names that are one text in two Unicode forms: macOS writes names decomposed (NFD: ``e`` and a
combining diaeresis), Windows, spreadsheets and keyboards composed (NFC: ``ë``), and Linux compares
the bytes, so the ``Zoë`` a metadata.csv lists or a user types is not the ``Zoë`` on disk.
"""

from __future__ import annotations

import errno
import os
import re
import unicodedata
from pathlib import Path


def _forms(name: str) -> list[str]:
    return list(dict.fromkeys((name, unicodedata.normalize("NFC", name), unicodedata.normalize("NFD", name))))


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long, or a NUL in it: not there
        return False


def in_other_form(path: Path) -> Path | None:
    """The file or folder ``path`` names, found with each part of it that is not there as written
    taken in its other Unicode form (NFC or NFD); None when ``path`` is there as written, or is not
    there in any form. Only non-ASCII paths are looked at (one stat per part)."""
    text = str(path)
    if text.isascii():
        return None
    found: Path | None = None
    for part in path.parts:
        for form in _forms(part):
            candidate = Path(form) if found is None else found / form
            if _exists(candidate):
                found = candidate
                break
        else:
            return None
    return found if found is not None and str(found) != text else None


def other_form_note(found: Path) -> str:
    """``found`` (from :func:`in_other_form`) as an error message's hint."""
    form = "NFC" if unicodedata.is_normalized("NFC", str(found)) else "NFD, as macOS writes names"
    return f"; a file named so in another Unicode form ({form}) is there: {found}"


def not_found_message(path: Path) -> str:
    """Why ``path``, which does not exist, cannot be opened, and what to do: a glob pattern that
    matched nothing, a symbolic link loop, or a missing file (with the file named so in another
    Unicode form when there is one, which is not opened in its place: on Linux they are two names)."""
    if re.search(r"[*?[]", str(path)):  # a pattern that matched nothing is kept as given (find_media_files)
        missing = "no file matches this pattern"
    else:
        missing = "file not found"
    try:
        os.stat(path)
    except OSError as err:  # exists() is False for a link loop too, which is no missing file
        if err.errno == errno.ELOOP:
            missing = "a symbolic link loop (too many levels of symbolic links)"
    found = in_other_form(path) if missing == "file not found" else None
    if found is not None:
        return (
            f"{missing}{other_form_note(found)}; pass the name as it is on disk (tab completion or a glob "
            "gives it), or rename the file"
        )
    return f"{missing}; check the path"
