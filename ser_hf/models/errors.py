"""The package's exception type.

Every error that ``ser_hf`` raises on purpose is a :class:`SERError`, so a caller (the CLI, the
demo, a server) can catch one class and show its message. The message names the input (a path or
a short description) and what to do about it.

This file is copied next to a saved model (remote code), so it imports nothing from ``ser_hf``.
:func:`install_hint` gives the command that installs an optional extra (ser-hf is not on PyPI).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import shlex
from pathlib import Path


class SERError(ValueError):
    """A problem with the user's input, data or model folder, with a message that says the fix.

    Subclasses :class:`ValueError` so code written against the stock ``transformers`` behaviour
    (which raises ``ValueError`` for bad audio) keeps working.
    """

    def __init__(self, message: str, *, source: str | None = None):
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)

    @property
    def bare_message(self) -> str:
        """The message without the ``source: `` it starts with, for a caller that names the source its
        own way (a dataset row, a CLI option)."""
        text = str(self)
        return text[len(self.source) + 2 :] if self.source and text.startswith(f"{self.source}: ") else text


class AudioInputError(SERError):
    """The audio given is not usable: empty, not audio (an image, text, a playlist), undecodable or cut
    before its first samples, without an audio track, NaN or infinite samples, a damaged header (a
    rate no recording has), an address that cannot be fetched. A bad upload (HTTP 422), not the
    server's fault. An :class:`SERError` whose ``source`` names the input; the message says the fix.

    Plain :class:`SERError` stays for what the calling code (not the audio) got wrong: a missing path,
    an argument of the wrong type or shape, an array without its rate, and for the model folder,
    the configuration and missing dependencies.

    Defined here, beside :class:`SERError`, so the model folder's own code (the stock pipeline's
    feature extractor) raises it for NaN or empty samples too (it was a plain SERError there)."""


def install_hint(extra: str | None, modules: tuple[str, ...] = (), *, reinstall: bool = False) -> str:
    """The command that installs the optional extra ``extra`` of ser-hf (None: the package alone), as this
    installation was made: ser-hf is not on PyPI, so ``pip install 'ser-hf[EXTRA]'`` finds no distribution.

    From a clone (an editable install, or the source tree on the path): ``pip install -e
    '/path/to/clone[EXTRA]'``; installed from a folder, wheel or git URL: the same source with the extra;
    otherwise what README says: ``pip install '.[EXTRA]'`` in a clone of the repository. ``modules``: the
    PyPI packages the caller needs, named instead where ser_hf is not installed at all (a saved model's
    remote code loaded by transformers alone needs them, not the package). ``reinstall``: with
    ``--force-reinstall`` (files of the package itself are missing)."""
    pip = "pip install --force-reinstall" if reinstall else "pip install"
    wanted = f"[{extra}]" if extra else ""
    source = _install_source()
    if source is None and modules and _package_folder() is None:
        return f"{pip} {' '.join(modules)}"
    if source is None:
        target = f"'.{wanted}'" if wanted else "."
        return f"{pip} {target} in your clone of the ser_hf repository (ser-hf is not on PyPI)"
    kind, where, editable = source
    if kind == "vcs":
        return f"{pip} {shlex.quote(f'ser-hf{wanted} @ {where}')}"
    return f"{pip} {'-e ' * editable}{shlex.quote(f'{where}{wanted}')}"


@functools.lru_cache(maxsize=1)
def _install_source() -> tuple[str, str, bool] | None:
    """Where the ser_hf in use came from: ``("path", folder or wheel, editable)`` for a source tree or a
    local folder / wheel that is still there, ``("vcs", "git+URL@rev", False)`` for a git install; None
    when unknown (a saved model's copy of this file without ser_hf, a copy from an index)."""
    package = _package_folder()
    if package is not None and _is_source_tree(package.parent):
        return "path", str(package.parent), True
    record = _direct_url()
    url = record.get("url") or ""
    vcs = record.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs"):
        revision = vcs.get("requested_revision")
        return "vcs", f"{vcs['vcs']}+{url}" + (f"@{revision}" if revision else ""), False
    if url.startswith("file:"):
        from urllib.parse import unquote, urlparse
        from urllib.request import url2pathname

        path = Path(url2pathname(unquote(urlparse(url).path)))
        editable = bool((record.get("dir_info") or {}).get("editable"))
        if (path.is_dir() and _is_source_tree(path)) or (path.is_file() and path.suffix == ".whl"):
            return "path", str(path), editable
    return None


def _package_folder() -> Path | None:
    """The folder of the ``ser_hf`` package that imports resolve to, or None where it is not installed."""
    try:
        spec = importlib.util.find_spec("ser_hf")
    except (ImportError, ValueError):
        return None
    return Path(spec.origin).resolve().parent if spec is not None and spec.origin else None


def _direct_url() -> dict:
    """The installed ser-hf distribution's ``direct_url.json`` (PEP 610: where pip got it), or {}."""
    import importlib.metadata

    try:
        text = importlib.metadata.distribution("ser-hf").read_text("direct_url.json")
        record = json.loads(text) if text else {}
    except (ImportError, OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _is_source_tree(folder: Path) -> bool:
    """``folder`` holds ser-hf's pyproject.toml (a clone of the repository)."""
    try:
        text = (folder / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return re.search(r"""^name\s*=\s*["']ser[-_.]hf["']""", text, re.MULTILINE | re.IGNORECASE) is not None
