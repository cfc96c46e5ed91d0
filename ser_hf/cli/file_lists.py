"""The names in a ``--files-from`` list as Windows writes one too: a UTF-8 byte-order mark (Notepad,
PowerShell's ``-Encoding utf8``) is no part of the first name, and a UTF-16 list (Windows PowerShell
5's ``>``) is text, not bytes with a NUL in every name."""

from __future__ import annotations

import codecs
import os

from ..errors import SERError


def listed_names(data: bytes, null: bool, source: str) -> list[str]:
    """The names in ``data``, one a line (CR LF too) or, with ``null``, NUL-ended. A UTF-8
    byte-order mark is dropped; a list that starts with a UTF-16 byte-order mark is decoded as
    UTF-16; other bytes that are not UTF-8 are kept as the file system's names (surrogates, as
    ``os.fsdecode``)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as err:
            raise SERError(
                "starts with a UTF-16 byte-order mark but is not UTF-16 text; save the list as UTF-8",
                source=source,
            ) from err
        names = text.split("\0") if null else [line.removesuffix("\r") for line in text.split("\n")]
        return [name for name in names if name]
    data = data.removeprefix(codecs.BOM_UTF8)
    if null:
        return [os.fsdecode(name) for name in data.split(b"\0") if name]
    # a list saved on Windows (Notepad, Excel) ends its lines with CR LF: the CR is no part of the name
    return [os.fsdecode(line.removesuffix(b"\r")) for line in data.split(b"\n") if line.removesuffix(b"\r")]
