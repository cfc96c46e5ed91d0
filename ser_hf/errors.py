"""The package's exception type, :class:`SERError` (defined in the model folder, which is copied
next to saved models and so cannot import the package), and its subclasses for the audio a caller
gives (:class:`AudioInputError`, defined there too, :class:`AudioTooLongError`, :class:`NoSpeechError`,
:class:`NoSuchChannelError`, :class:`NoSuchTrackError`), which a server answers apart from its own
problems (model folder, configuration);
:func:`require_extra`, which turns a
missing optional dependency into an ``SERError`` naming the extra that installs it, with the command
that installs it here (:func:`install_hint`: ser-hf is not on PyPI); and the checks
that turn a bad device or output path into an ``SERError`` before any work is done
(:func:`torch_device`, :func:`output_dir`, :func:`output_file`); and :func:`spreadsheet_text`, which
keeps text a user did not write (file names, labels) from running as a formula where a CSV opens;
:func:`os_error_of`, the OSError inside safetensors' and torch.save's own I/O errors (a full disk); :func:`text_width` and
:func:`pad_text`, a name's width in a terminal's columns for the tables the commands print."""

from __future__ import annotations

import errno
import importlib.util
import os
import re
from pathlib import Path

from .models.errors import AudioInputError, SERError, install_hint

__all__ = [
    "EXTRAS",
    "AudioInputError",
    "AudioTooLongError",
    "NoSpeechError",
    "NoSuchChannelError",
    "NoSuchTrackError",
    "SERError",
    "extra_for_module",
    "install_hint",
    "require_extra",
]


class AudioTooLongError(AudioInputError):
    """The audio is longer than the call decodes whole: ``classify`` of a clip whose header gives
    more than an hour (``inference/inputs.py: CLASSIFY_MAX_S``), a recording that does not fit in
    memory decoded, a download over its limit. HTTP 413; ``timeline()`` reads a long file in chunks."""


class NoSpeechError(AudioInputError):
    """The clip holds no speech to score: no 50 ms above -55 dBFS (what ``timeline`` labels ``silence``),
    shorter than 0.1 s, or nothing speech-like to the speech detector (white noise, a tone). Raised only
    when asked for, by ``classify(..., require_speech=True)`` and ``classify_batch``; by default such a
    clip gets the model's scores and a logged warning."""


class NoSuchChannelError(AudioInputError):
    """The channel asked for (``channel=``, ``--channel``) is not in the recording: a mono file asked
    for its right channel. An :class:`AudioInputError` whose ``source`` names the recording."""


class NoSuchTrackError(AudioInputError):
    """The audio track asked for (``track=``, ``--track``) is not in the file: a one-track file asked
    for its track 1. An :class:`AudioInputError` whose ``source`` names the file."""


# what each extra of pyproject.toml brings, by import name (the core needs none of these)
EXTRAS: dict[str, tuple[str, ...]] = {
    "train": ("datasets", "accelerate", "evaluate", "sklearn", "scipy", "librosa", "matplotlib", "yaml"),
    "demo": ("gradio", "matplotlib"),
    "onnx": ("onnx", "onnxruntime", "onnxscript"),
    "opensmile": ("opensmile",),
    "hp-search": ("optuna",),
}
_EXTRA_OF = {"hp-search": "train"}  # optuna ships with the train extra


def require_extra(extra: str, what: str, modules: tuple[str, ...] | None = None) -> None:
    """Raise :class:`SERError` when a module of ``extra`` is not installed.

    Args:
        extra: a key of :data:`EXTRAS`.
        what: what the user asked for (``"ser-hf train"``, ``"load_corpus"``), named in the message.
        modules: the modules actually needed (default: all of the extra's).
    """
    missing = [m for m in modules or EXTRAS[extra] if not _installed(m)]
    if missing:
        raise SERError(
            f"needs {', '.join(missing)}, which the core install leaves out: "
            f"{install_hint(_EXTRA_OF.get(extra, extra))}",
            source=what,
        )


def extra_for_module(module: str | None) -> str | None:
    """The pip extra that installs ``module`` (a top-level or dotted import name), or None."""
    top = (module or "").split(".")[0]
    extra = next((e for e, modules in EXTRAS.items() if top in modules), None)
    return _EXTRA_OF.get(extra, extra) if extra else None


def _installed(module: str) -> bool:
    # a bare folder of that name on the path (a namespace package, no origin) is not the package
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin is not None


def torch_device(device: str | None) -> str:
    """``device`` checked (``None``: ``"cuda"`` when available, else ``"cpu"``): a typed error for a
    name torch does not know or a CUDA device this machine does not have, before any work."""
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise SERError(
            f"not a device name ({err}); use cpu, cuda or cuda:N", source=f"device {device!r}"
        ) from err
    if kind.type == "mps" and not torch.backends.mps.is_available():  # torch raised its own error later
        raise SERError("this machine has no usable Apple GPU (MPS); use cpu", source=f"device {device!r}")
    if kind.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise SERError("this machine has no usable CUDA GPU; use cpu", source=f"device {device!r}")
        if kind.index is not None and kind.index >= count:
            raise SERError(
                f"this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}",
                source=f"device {device!r}",
            )
    return str(device)


def batch_size_for(model: object, device: object, batch_size: int | None, fallback: int = 16) -> int:
    """Clips per forward pass: ``batch_size`` when given; else the model's ``cpu_batch_size`` on a
    CPU (1 for the CNN front ends, which run a batch slower than its clips one by one), ``fallback``
    elsewhere. Raises :class:`SERError` for a size under 1."""
    if batch_size is not None:
        if isinstance(batch_size, bool) or not float(batch_size).is_integer() or int(batch_size) < 1:
            raise SERError(
                "the batch size must be 1 or more, a whole number", source=f"batch_size={batch_size}"
            )
        return int(batch_size)
    on_cpu = getattr(device, "type", str(device)) == "cpu"
    return (getattr(model, "cpu_batch_size", None) or fallback) if on_cpu else fallback


# output paths checked before a command does its work: a typo fails at once with the option's name
# instead of as an OSError after minutes of work (so no finished result is lost)
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
    if path.exists() and not path.is_file():  # a device, FIFO or pipe (/dev/fd/63) is written through
        return path
    # a regular file is replaced through a temporary file beside it: a link's, beside the file it names
    _writable_base(Path(os.path.realpath(path)).parent, option)
    return path


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: object) -> object:
    """``value`` as a CSV cell that Excel, LibreOffice and Sheets show as text: a string starting with
    ``= + - @``, a tab or a carriage return gets a leading ``'`` (OWASP's advice against CSV injection),
    so a file named ``=HYPERLINK(...).wav`` or a model label ``=cmd|...`` stays a name. So does one
    starting with ``'``s then one of those (``'-x.wav`` is written ``''-x.wav``), so that
    :func:`from_spreadsheet_text` gives every string back exactly. Numbers, and strings that cannot
    start a formula, are returned as they are."""
    if isinstance(value, str) and value.lstrip("'").startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def from_spreadsheet_text(value: str) -> str:
    """The text of a CSV cell that :func:`spreadsheet_text` wrote: its guarding ``'`` taken off (one
    ``'``, when ``'``s then ``= + - @``, a tab or a carriage return start the cell)."""
    if value.startswith("'") and value.lstrip("'").startswith(_FORMULA_STARTS):
        return value[1:]
    return value


# what torch.save raises when its file cannot be written (a full disk): a RuntimeError without the errno
_TORCH_WRITE_FAILED = re.compile(r"PytorchStreamWriter failed|inline_container\.cc:\d+\] \. unexpected pos")
# ... or, for a small file failing at its last flush, the C++ stream's own words (told only when writing)
_STREAM_FAILED = "basic_ios::clear: iostream error"


def os_error_of(
    err: BaseException, filename: str | os.PathLike | None = None, writing: bool = False
) -> OSError | None:
    """The OSError that ``err`` carries: ``err`` itself, or the operating system's error that a
    ``SafetensorError`` reports only in its text (``... No space left on device (os error 28)``: a
    full disk while saving weights raises no OSError), named ``filename``; None for anything else.

    torch.save's writer failing (``PytorchStreamWriter failed writing file data/0: file write failed``,
    ``[enforce fail at inline_container.cc:N] . unexpected pos``; with ``writing``, the error was
    raised while writing files, also ``basic_ios::clear: iostream error``) names no errno: it is
    ENOSPC when the file system of ``filename`` has no free space left, else EIO."""
    if isinstance(err, OSError):
        return err
    text = str(err)
    if type(err).__name__ == "SafetensorError":
        found = re.search(r"\(os error (\d+)\)", text)
        if found is None:
            return None
        number = int(found.group(1))
        reason = os.strerror(number)
    elif isinstance(err, RuntimeError) and (
        _TORCH_WRITE_FAILED.search(text) or (writing and _STREAM_FAILED in text)
    ):
        number = errno.ENOSPC if filename is not None and _no_space_left(Path(filename)) else errno.EIO
        reason = os.strerror(number) if number == errno.ENOSPC else "the write failed (torch.save)"
    else:
        return None
    return OSError(number, reason, None if filename is None else str(filename))


def _no_space_left(path: Path) -> bool:
    """Whether the file system holding ``path`` (or its nearest existing folder) has no block free
    for this user."""
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        free = os.statvfs(path)
    except (OSError, AttributeError):  # no statvfs (Windows)
        return False
    return free.f_bfree == 0 or (os.geteuid() != 0 and free.f_bavail == 0)


def text_width(text: str) -> int:
    """The columns ``text`` takes in a terminal: a combining mark (a macOS name's decomposed é) none,
    a wide character (話, 喜) two."""
    import unicodedata

    return sum(
        0 if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf")
        else 2 if unicodedata.east_asian_width(c) in ("W", "F")
        else 1
        for c in text
    )  # fmt: skip


def pad_text(text: str, width: int) -> str:
    """``text`` and the spaces that make it ``width`` terminal columns wide (``str.ljust`` counts code points)."""
    return text + " " * max(0, width - text_width(text))
