"""Files written whole: a temporary file beside the target, flushed to disk, then moved over it in one
step (``os.replace``), so that a full disk, an error or a kill leaves the old file (or none), never half
a file. Saved models, results, exports and split manifests are written this way; the standard library
only, so any stage may use it (:mod:`ser_hf.training.saving` re-exports these names).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def public_mode(path: str | os.PathLike) -> None:
    """Give a file written through a temporary file (mode 0600) the mode a plain ``open`` would
    (0666 minus the umask): saved models and exports are meant to be shared."""
    os.chmod(path, _default_mode())


STAGED_PREFIX = ".ser-hf-"  # the temporary files of staged_file: .ser-hf-<target's tag>-XXXXXXXX<suffix>


@contextlib.contextmanager
def staged_file(
    path: str | os.PathLike, mode: int | None = None, leftovers: bool = False, suffix: str | None = None
) -> Iterator[Path]:
    """A temporary file beside ``path`` to write; when the block ends without an error it is flushed to
    disk (fsync) and replaces ``path`` in one step (``os.replace``): a full disk, an error or a kill
    leaves the old ``path`` whole (or none), never half a file.

    The temporary name is short, whatever the length of ``path``'s (``.ser-hf-`` + 8 hex digits of a
    hash of the name + 8 random characters + ``path``'s suffix, so a writer that goes by the suffix,
    matplotlib or ffmpeg, writes the right format): ``.{name}-XXXXXXXX.part`` failed for a legal name of
    250 bytes; ``suffix`` replaces the target's. The file gets ``mode`` (default: 0666 minus the umask, as a plain ``open`` gives).
    ``leftovers``: first remove the temporary files that killed writes of ``path`` left.

    An OSError that names no file, or the temporary one (a full disk's ENOSPC), is raised naming ``path``."""
    path = Path(path)
    tag = hashlib.sha256(os.fsencode(path.name)).hexdigest()[:8]
    if suffix is None:
        suffix = path.suffix if 0 < len(os.fsencode(path.suffix)) <= 16 else ".tmp"
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if leftovers:
            for old in path.parent.glob(f"{STAGED_PREFIX}{tag}-*"):
                old.unlink(missing_ok=True)
        fd, name = tempfile.mkstemp(prefix=f"{STAGED_PREFIX}{tag}-", suffix=suffix, dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        yield tmp
        os.chmod(tmp, _default_mode() if mode is None else mode)  # after the writes: 0444 is kept too
        fsync_file(tmp)
        os.replace(tmp, path)
    except OSError as err:
        if err.errno is None or (err.filename is not None and err.filename not in (str(tmp), tmp)):
            raise
        raise OSError(err.errno, err.strerror, str(path)) from err
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def fsync_file(path: str | os.PathLike) -> None:
    """Flush the file ``path`` to disk, so that a crash after it is moved into place leaves it whole."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_whole(path: str | os.PathLike, data: str | bytes) -> None:
    """``data`` (text as UTF-8; a file name's undecodable bytes, surrogates, as ``\\udcNN`` escapes,
    which JSON reads back as they were) into ``path`` through :func:`staged_file`: the old file or the
    new one, never half of either."""
    with staged_file(path) as tmp:
        tmp.write_bytes(data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data)


def write_json(path: str | os.PathLike, value: Any) -> None:
    """``value`` as indented JSON, readable UTF-8 (a speaker ``Zoë`` or a label ``喜び`` as written, not
    ``\\u00eb``), written whole (:func:`write_whole`). Saved models' records, results, metrics, split
    manifests and benchmark reports are all written by this one function."""
    write_whole(path, json.dumps(value, indent=2, ensure_ascii=False, default=json_default) + "\n")


def json_default(value: Any) -> Any:
    """numpy numbers and arrays, dataclasses as JSON values; anything else (a path) as its text."""
    import dataclasses

    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def _default_mode() -> int:
    """0666 minus the process's umask: the mode a plain ``open`` gives a new file."""
    return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it where Linux says it (``/proc/self/status``): setting
    it to read it, on every staged write, was a race (a file another thread created meanwhile got the
    temporary umask's mode). Elsewhere it is read that way once and kept."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _umask_once()


@functools.cache
def _umask_once() -> int:
    umask = os.umask(0o077)  # the strictest mode for a file made in the instant before it is set back
    os.umask(umask)
    return umask
