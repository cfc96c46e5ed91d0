"""The names in a ``--files-from`` list as Windows writes one too: a UTF-8 byte-order mark (Notepad,
PowerShell's ``-Encoding utf8``) is no part of the first name, and a UTF-16 list (Windows PowerShell
5's ``>``; without a byte-order mark: .NET's ``Encoding.Unicode.GetBytes``, some export tools) is text,
not bytes with a NUL in every name."""

from __future__ import annotations

import codecs
import os

import numpy as np

from ..errors import SERError

# a list is UTF-16 without a byte-order mark when at least this share of its characters (NUL ones
# aside) have one NUL byte (ASCII or Latin-1: a name's extension, folders, CR LF). A UTF-8 list of
# media names (5 bytes or more) ended by NULs (--null, or find -print0 without it) has at most a third
UTF16_SHARE = 0.4


def listed_names(data: bytes, null: bool, source: str) -> list[str]:
    """The names in ``data``, one a line (CR LF too) or, with ``null``, NUL-ended. A UTF-8
    byte-order mark is dropped; a list that starts with a UTF-16 byte-order mark, or whose NUL bytes
    are those of UTF-16 without one (:func:`utf16_without_bom`), is decoded as UTF-16; other bytes
    that are not UTF-8 are kept as the file system's names (surrogates, as ``os.fsdecode``)."""
    encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else None
    encoding = encoding or utf16_without_bom(data, null)
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as err:
            what = "starts with a UTF-16 byte-order mark" if encoding == "utf-16" else (
                f"has the NUL bytes of {encoding.upper()} text without a byte-order mark"
            )  # fmt: skip
            raise SERError(f"{what} but is not UTF-16 text; save the list as UTF-8", source=source) from err
        names = text.split("\0") if null else [line.removesuffix("\r") for line in text.split("\n")]
        return [name for name in names if name]
    data = data.removeprefix(codecs.BOM_UTF8)
    if null:
        return [os.fsdecode(name) for name in data.split(b"\0") if name]
    # a list saved on Windows (Notepad, Excel) ends its lines with CR LF: the CR is no part of the name
    return [os.fsdecode(line.removesuffix(b"\r")) for line in data.split(b"\n") if line.removesuffix(b"\r")]


def utf16_without_bom(data: bytes, null: bool = False) -> str | None:
    """``"utf-16-le"`` or ``"utf-16-be"`` when ``data`` (no byte-order mark) is UTF-16 text, else None.

    An ASCII character in UTF-16 is its byte and a NUL (``a\\0`` little-endian, ``\\0a`` big-endian),
    so the NUL bytes of such a list fall on one side of its 2-byte units, in most of them. A UTF-8
    list holds a NUL only at the end of a name (``--null``; ``find -print0`` without it, whose names
    each get the error row of a name holding a NUL), never in most of its units. Names of one or three
    bytes (``./x``, ``001``) ended by NULs do put a NUL in half the units, so the list must also hold
    its separator as a UTF-16 unit (a zero unit with ``null``, a line feed without), unless every
    character is on the same side (one name, no separator: ``a.wav`` from ``Encoding.Unicode``)."""
    if len(data) < 2 or len(data) % 2 or b"\0" not in data:
        return None
    units = np.frombuffer(data, dtype="<u2")
    characters = np.count_nonzero(units)  # a --null list's ends are zero units
    little = np.count_nonzero((units < 0x100) & (units != 0))  # b"a\0": its high byte NUL
    big = np.count_nonzero(((units & 0xFF) == 0) & (units != 0))  # b"\0a", read little-endian
    if little == big or max(little, big) < UTF16_SHARE * characters:
        return None
    encoding = "utf-16-le" if little > big else "utf-16-be"
    separator = 0 if null else (0x000A if encoding == "utf-16-le" else 0x0A00)
    if max(little, big) < characters and not np.any(units == separator):
        return None
    return encoding
