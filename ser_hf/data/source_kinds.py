"""What kind of source :func:`~ser_hf.data.audio.load_audio` was handed, and the name its errors give it.

A path (a pipe or a character device, read once; a name the file system cannot even look up), an open
file or ``io.BytesIO`` (read where it lies when it can seek and is at its start, else once, from where
it is), encoded bytes; every message names the source as :func:`_describe` does.
"""

from __future__ import annotations

import inspect
import io
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AudioInputError, SERError


def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes of audio>"
    if isinstance(source, dict):
        return str(source.get("path") or "<audio dict>")
    if isinstance(source, tuple):
        if len(source) == 2 and np.isscalar(source[0]) != np.isscalar(source[1]):
            return (
                "<(sampling_rate, samples) tuple>"
                if np.isscalar(source[0])
                else "<(samples, sampling_rate) tuple>"
            )
        return f"<tuple of {len(source)} items>"
    if isinstance(source, list):
        return f"<list of {len(source)} items>"
    shape = getattr(source, "shape", None)
    if shape is not None:
        return f"<{type(source).__name__} of shape {tuple(shape)}>"
    if hasattr(source, "read"):  # an open file: its name, else what it reads from
        return _file_object_name(source)
    return f"<{type(source).__name__}>"


# the standard library's file objects, whose class name says nothing to a user (`<BufferedReader>`)
_FILE_CLASSES = (io.BufferedReader, io.BufferedRandom, io.BufferedRWPair, io.FileIO)


def _file_object_name(source: Any) -> str:
    """An open file's name (``open('x.wav', 'rb')``, ``open('/dev/stdin', 'rb')``); one opened on a file
    descriptor (a subprocess's stdout, ``os.fdopen``, a socket's ``makefile``) has a number for a name:
    ``<pipe>``, ``<socket>`` or ``<file object>``, as the standard library's file objects without a name;
    another object its class (``<BytesIO>``)."""
    try:
        name = getattr(source, "name", None)
    except (AttributeError, ValueError):  # a BufferedReader over a stream without a name
        name = None
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if isinstance(name, str) and name:
        return name
    if isinstance(name, int) and not isinstance(name, bool):
        try:
            mode = os.fstat(name).st_mode
        except (OSError, ValueError):
            return "<file object>"
        return "<pipe>" if stat.S_ISFIFO(mode) else "<socket>" if stat.S_ISSOCK(mode) else "<file object>"
    if isinstance(source, _FILE_CLASSES) or type(source).__name__ == "SocketIO":
        return "<file object>"
    return f"<{type(source).__name__}>"


def unreadable_path(path: Path) -> str | None:
    """Why the file system cannot even look ``path`` up (a name too long: OSError [Errno 36], which was
    untyped and aborted whole runs), or None."""
    if "\x00" in str(path):  # os.stat's "embedded null byte" was a raw ValueError, not a SERError
        return "the path holds a NUL character, which no file name can"
    try:
        path.exists()
    except OSError as err:
        return f"the path cannot be read ({err.strerror})"
    return None


def is_stream_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a pipe (``/dev/stdin`` fed by ``|``, bash's ``<(...)`` as ``/dev/fd/63``, a
    ``mkfifo``) or a character device: its size is 0 whatever it holds, and it can be read once."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):  # missing, a bad name: the path's own checks say what
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def read_stream_path(path: str | os.PathLike) -> bytes:
    """All that the pipe or device ``path`` gives, read once (as an open pipe is: :func:`read_file_object`),
    named by its path; a terminal, or a pipe that gives nothing, is a :class:`SERError` saying so."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as f:
            if f.isatty():  # /dev/stdin of an interactive shell: reading would wait for the keyboard
                raise SERError(
                    "is a terminal, not audio; pipe or redirect a recording in (cat clip.flac | ser-hf "
                    "predict -, ser-hf predict - < clip.flac)",
                    source=name,
                )
            data = read_file_object(f, name)
    except OSError as err:
        raise SERError(f"the pipe cannot be read ({err.strerror})", source=name) from err
    if not data:
        raise AudioInputError(
            "the pipe gave no bytes (its writer sent nothing, or it was read already: a pipe is read once)",
            source=name,
        )
    return data


def resolve_stream(path: str | os.PathLike) -> bytes | str | os.PathLike:
    """What decoding reads of ``path``: for a pipe or a device (:func:`is_stream_path`) all that it gives,
    read once (:func:`read_stream_path`), else ``path`` itself; the one place a path is told from a pipe."""
    return read_stream_path(path) if is_stream_path(path) else path


def _readable_path(path: Path) -> None:
    if why := unreadable_path(path):
        raise SERError(f"{why}; check it", source=str(path))


def is_file_object(source: Any) -> bool:
    """Whether ``source`` is read as a file: an open file, ``io.BytesIO``, a web framework's upload."""
    return hasattr(source, "read") and callable(source.read)


def read_file_object(source: Any, name: str) -> Any:
    """What ``source.read()`` gives (its bytes from where it is, or the text of a text-mode file, which
    decoding refuses), or a :class:`SERError` naming the fix when it cannot be read (a closed file, an
    async ``read()``: a web framework's upload object, or one already read to its end)."""
    at = file_position(source)
    try:
        data = source.read()
    except (UnicodeDecodeError, ValueError, OSError) as err:  # open(f) (text mode), a closed file
        raise SERError(
            f"the file object cannot be read ({type(err).__name__}: {str(err)[:120]}); pass an open "
            "file in binary mode (open(path, 'rb')) or the path itself",
            source=name,
        ) from err
    if inspect.isawaitable(data):  # Starlette's UploadFile: 'bytes, not coroutine', never awaited
        getattr(data, "close", lambda: None)()
        raise SERError(
            "its read() is async (a web framework's upload object, e.g. FastAPI's UploadFile): pass its "
            "file (upload.file) or the bytes of await upload.read()",
            source=name,
        )
    if at and not data:  # an upload read once already (its header sniffed, or saved): 'empty input'
        raise SERError(
            f"nothing left to read: the file object is at its end (byte {at}), read before; seek(0) first",
            source=name,
        )
    return data


def file_position(source: Any) -> int:
    """How far into a seekable file object ``source`` is (0 where it cannot tell)."""
    try:
        return int(source.tell()) if source.seekable() else 0
    except Exception:  # no seekable() or tell(), a closed file
        return 0


def seekable_at_start(source: Any) -> bool:
    """Whether the file object ``source`` is binary, can seek and is at its start: libsndfile and
    FFmpeg then read it where it lies (an upload spooled to disk), with no copy in memory."""
    try:
        return bool(source.seekable()) and source.tell() == 0 and isinstance(source.read(0), bytes)
    except Exception:  # no seekable(), a closed file: read once, as load_audio reads it
        return False


def encoded_input(source: Any, name: str) -> Any:
    """Encoded audio (bytes, or an open file / ``io.BytesIO``) as the readers of its header and chunks
    take it, without a copy where there is a choice: bytes as they are, a binary file object that can
    seek and is at its start as itself, another read once from where it is (as :func:`load_audio`
    reads it: a stream that cannot seek back, the text of a text-mode file, which decoding refuses)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    return source if seekable_at_start(source) else read_file_object(source, name)
