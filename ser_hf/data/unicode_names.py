"""File names that are one text in two Unicode forms: macOS writes names decomposed (NFD: ``e`` and a
combining diaeresis), Windows, spreadsheets and keyboards composed (NFC: ``ë``), and Linux compares
the bytes, so the ``Zoë`` a metadata.csv lists or a user types is not the ``Zoë`` on disk; nor is
the ``Audio/Clip01.WAV`` a list made on Windows or macOS (names there ignore case) the ``audio/clip01.wav``.
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


def _folded(name: str) -> str:
    return unicodedata.normalize("NFC", name.casefold())


def _listing(folder: Path) -> dict[str, list[str]]:
    """The names in ``folder`` by :func:`_folded` name, each list sorted; empty when it cannot be read."""
    names: dict[str, list[str]] = {}
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                names.setdefault(_folded(entry.name), []).append(entry.name)
    except (OSError, ValueError):
        pass
    return {key: sorted(group) for key, group in names.items()}


def in_other_case(path: Path, listings: dict[Path, dict[str, list[str]]] | None = None) -> list[Path]:
    """What ``path`` names on a disk that ignores case (Windows, macOS): each part of it that is not
    there as written matched to the names of its folder whatever their case and Unicode form (casefold
    + NFC); a part that is there as written is taken as it is. One path when each such part matches one
    name; the names matching the first part that matches several (``a.wav`` and ``A.wav``, not guessed
    between); [] when a part matches none, or ``path`` is there as written. A folder is listed only
    for a part not there, once per ``listings`` (folder -> :func:`_listing`)."""
    listings = {} if listings is None else listings
    found = Path(".")  # Path(".") / "/" is "/", and Path(".") / "audio" is "audio"
    for part in path.parts:
        candidate = found / part
        if not _exists(candidate):
            if found not in listings:
                listings[found] = _listing(found)
            names = listings[found].get(_folded(part), [])
            if len(names) != 1:
                return [found / name for name in names]
            candidate = found / names[0]
        found = candidate
    return [found] if found != path else []


def other_form_note(found: Path) -> str:
    """``found`` (from :func:`in_other_form`) as an error message's hint."""
    form = "NFC" if unicodedata.is_normalized("NFC", str(found)) else "NFD, as macOS writes names"
    return f"; a file named so in another Unicode form ({form}) is there: {found}"


def not_found_message(path: Path) -> str:
    """Why ``path``, which does not exist, cannot be opened, and what to do: a glob pattern that
    matched nothing, a symbolic link loop, or a missing file (with the file named so in another
    Unicode form or case when there is one, which is not opened in its place: on Linux they are two
    names)."""
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
        note = other_form_note(found)
    elif missing == "file not found" and (cased := in_other_case(path)):
        many = len(cased) > 1
        note = (
            f"; {'files' if many else 'a file'} named so in another case {'are' if many else 'is'} there: "
            f"{', '.join(map(str, cased))} (names must match exactly here, unlike on Windows or macOS)"
        )
    else:
        return f"{missing}; check the path"
    return (
        f"{missing}{note}; pass the name as it is on disk (tab completion or a glob gives it), or rename "
        "the file"
    )
