"""Output paths checked before a command does its work, so that a typo fails at once with the
option's name instead of as an ``OSError`` after minutes of work (and no finished result is lost)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import SERError


def _writable_base(path: Path, option: str) -> None:
    """The nearest existing folder at or above ``path`` is a folder this user may write in."""
    base = path
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise SERError(f"{base} is a file, not a folder, so nothing can be written under it", source=option)
    if not os.access(base, os.W_OK | os.X_OK):
        raise SERError(f"cannot write in {base} (permission denied); give another path", source=option)


def output_dir(path: str | os.PathLike, option: str) -> Path:
    """``path`` as a folder the command may create or write into; :class:`SERError` naming ``option``
    when it is an existing file or lies where nothing can be written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SERError(f"{path} is a file; {option} takes a folder", source=option)
    _writable_base(path, option)
    return path


def output_file(path: str | os.PathLike, option: str) -> Path:
    """``path`` as a file the command may write (its folder created when missing); :class:`SERError`
    naming ``option`` when it is a folder or lies where nothing can be written."""
    path = Path(path)
    if path.is_dir():
        raise SERError(f"{path} is a folder; {option} takes a file name", source=option)
    if path.exists() and not os.access(path, os.W_OK):
        raise SERError(f"cannot overwrite {path} (permission denied); give another path", source=option)
    _writable_base(path.parent, option)
    return path
