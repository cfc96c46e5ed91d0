"""An audio folder's metadata table as spreadsheets save it: the file found whatever the case of its
name (``metadata.csv``, ``metadata.tsv``; a workbook is refused), decoded (UTF-8, UTF-16,
Windows-1252), split on the separator its lines agree on (or Excel's ``sep=`` line), rows left blank
dropped, columns matched by name whatever their case, spaces or underscores, and the paths it lists
read as a Windows user wrote them.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import SERError
from .unicode_names import _exists, in_other_case, in_other_form

logger = logging.getLogger(__name__)

METADATA_NAMES = ("metadata.csv", "metadata.tsv")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")
_SEPARATORS = (",", ";", "\t")
_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")


def find_metadata(root: Path) -> Path | None:
    """The folder's ``metadata.csv`` (or ``metadata.tsv``), whatever the case of its name; ``None``
    when there is none (the sub-folders are the labels).

    Raises:
        SERError: the only metadata is a spreadsheet workbook (``metadata.xlsx``), which was ignored and
            the sub-folders taken as the labels.
    """
    files = sorted(p for p in root.iterdir() if p.stem.casefold() == "metadata" and p.is_file())
    tables = [p for name in METADATA_NAMES for p in files if p.name.casefold() == name]
    if tables:
        chosen = root / "metadata.csv" if (root / "metadata.csv") in tables else tables[0]
        if others := [p.name for p in tables if p != chosen]:  # one was read without a word
            logger.warning(
                "%s: reading %s; left out the other metadata table(s) %s", root, chosen.name, others
            )
        return chosen
    workbooks = [p for p in files if p.suffix.casefold() in WORKBOOK_SUFFIXES]
    if workbooks:
        raise SERError(
            "is a spreadsheet workbook, which is not read (the sub-folders would have been taken as the "
            "labels); save it as CSV UTF-8: metadata.csv (Excel: File > Save As > CSV UTF-8)",
            source=str(workbooks[0]),
        )
    return None


def _decode(raw: bytes, path: Path) -> str:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode Text"
        return raw.decode("utf-16")
    if b"\x00" in raw[:200]:
        raise SERError(
            "looks like UTF-16 text without a byte-order mark; save it as CSV UTF-8", source=str(path)
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise SERError(
                f"is not UTF-8 text (byte {raw[err.start]:#x} at offset {err.start}); save it as CSV UTF-8",
                source=str(path),
            ) from err
        logger.warning("%s is not UTF-8: read as Windows-1252 (what Excel saves); save it as CSV UTF-8", path)
        return text


def _separator(lines: list[str]) -> str:
    """The separator that splits the first lines into the same number of fields as the header (a
    comma inside a semicolon file's header no longer decides), commas first on a tie."""

    def score(sep: str) -> tuple[float, int]:
        widths = [len(r) for r in csv.reader(lines, delimiter=sep) if any(f.strip() for f in r)]
        if not widths or widths[0] < 2:
            return (0.0, 0)
        return (sum(w == widths[0] for w in widths) / len(widths), widths[0])

    return max(_SEPARATORS, key=lambda sep: (score(sep), -_SEPARATORS.index(sep)))


def read_metadata(path: Path) -> list[dict]:
    """The rows of a metadata table: UTF-8, UTF-16 or Excel's Windows-1252 (with a warning), separated
    by commas, semicolons or tabs (a ``metadata.tsv`` by tabs; Excel's ``sep=;`` first line is obeyed).
    Rows whose cells are all empty (Excel's ``,,,,`` lines) are dropped."""
    text = _decode(path.read_bytes(), path)
    first, _, rest = text.partition("\n")
    hint = re.fullmatch(r"\s*sep=(.)\s*", first, flags=re.IGNORECASE)
    if hint:
        delimiter, text, skipped = hint.group(1), rest, 1
    else:
        skipped = 0
        delimiter = "\t" if path.suffix.casefold() == ".tsv" else _separator(text.splitlines()[:50])
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, start = [], 1
    try:
        for row in reader:
            # a stray quote ran the next lines into one field: their clips were lost without a word (a
            # field with a line break and the delimiter; an extra column's values come as a list)
            fields = [f for v in row.values() for f in (v if isinstance(v, list) else [v]) if f]
            if any("\n" in f and delimiter in f for f in fields):
                raise SERError(
                    f"line {start + 1 + skipped}: a quote opened here is not closed, so lines "
                    f"{start + 1 + skipped}-{reader.line_num + skipped} were read as one row; close or remove "
                    "the quote",
                    source=str(path),
                )
            start = reader.line_num
            if any(f.strip() for f in fields):
                rows.append(row)
    except csv.Error as err:  # a field past the csv module's limit: the same stray quote in a large file
        raise SERError(
            f"line {start + 1 + skipped}: {err}; a quote opened there is likely not closed", source=str(path)
        ) from err
    return rows


def column_key(name: str) -> str:
    """A column name as matched: ``" File Name "``, ``file_name`` and ``FILE-NAME`` are one."""
    return re.sub(r"[\s_\-]+", "_", str(name).strip().casefold())


def pick_column(
    columns: Iterable[str], wanted: str | None, candidates: Sequence[str], what: str, source: str
) -> str | None:
    """The column named ``wanted`` (exactly, else by :func:`column_key`), or the first of
    ``candidates`` present: spelled exactly first, then whatever its case, spaces or underscores."""
    columns = [c for c in columns if c is not None]
    keys = {}
    for c in columns:
        keys.setdefault(column_key(c), c)
    if wanted is not None:
        if wanted in columns:
            return wanted
        if column_key(wanted) in keys:
            return keys[column_key(wanted)]
        raise SERError(f"has no {what} column {wanted!r}; columns are {columns}", source=source)
    exact = next((c for c in candidates if c in columns), None)
    return exact or next((keys[column_key(c)] for c in candidates if column_key(c) in keys), None)


def listed_path(
    root: Path,
    value: str,
    other_forms: list[Path] | None = None,
    other_cases: list[tuple[str, Path]] | None = None,
    listings: dict[Path, dict[str, list[str]]] | None = None,
) -> Path:
    """The file a metadata row names, relative to ``root``: as written when that exists, else with
    its backslashes read as folder separators (``audio\\clip.wav``) and surrounding spaces dropped,
    else with each name not there taken in its other Unicode form (a name listed composed, NFC, that
    macOS wrote decomposed, NFD, or the other way); such a file is added to ``other_forms``. Else the
    one file (through one folder each) whose name matches each name not there whatever its case, as
    on the Windows or macOS disk that wrote the list (``Audio/Clip01.WAV`` is ``audio/clip01.wav``);
    such a row is added to ``other_cases`` (listed name, file). Two or more such files (``a.wav`` and
    ``A.wav``) are not guessed between: the row names its path as written, which is missing. Folders
    are listed into ``listings`` (see :func:`in_other_case`), for rows not found otherwise only."""
    as_written = root / value
    if _exists(as_written) or _WINDOWS_ABSOLUTE.match(value):
        return as_written
    fixed = _as_posix(root, value)
    if _exists(fixed):
        return fixed
    found = in_other_form(fixed)
    if found is not None:
        if other_forms is not None:
            other_forms.append(found)
        return found
    cased = in_other_case(fixed, listings)
    if len(cased) != 1:
        return as_written
    if other_cases is not None:
        other_cases.append((value, cased[0]))
    return cased[0]


def _as_posix(root: Path, value: str) -> Path:
    """``value`` under ``root`` as a Windows user meant it: backslashes as folder separators, no
    surrounding spaces."""
    return root / value.strip().replace("\\", "/")


def missing_reason(root: Path, value: str, listings: dict[Path, dict[str, list[str]]]) -> str:
    """Why the file a metadata row names is not there, with what to do when that can be told
    (``listings``: the folders listed, as :func:`listed_path` fills it)."""
    if _WINDOWS_ABSOLUTE.match(value):
        return (
            "listed in metadata.csv as a Windows path, which does not exist here; list the files relative "
            "to the metadata.csv folder (audio/clip.wav)"
        )
    path = _as_posix(root, value)
    seen = " (its backslashes read as folder separators)" if "\\" in value else ""
    cased = in_other_case(path, listings)
    if len(cased) > 1:
        return (
            f"listed in metadata.csv but missing{seen}; {len(cased)} names on disk match it whatever their "
            f"case: {', '.join(os.path.relpath(p, root) for p in cased)}, so none is taken: list the file's "
            "name exactly as on disk (or rename one)"
        )
    return f"listed in metadata.csv but missing{seen}"


def speaker_id_twins(speakers: Iterable[str]) -> list[tuple[str, ...]]:
    """Speaker ids that differ only in what people and spreadsheets change: leading zeros (``1`` and
    ``001``: Excel drops a number's zeros), case (``SPK1`` and ``spk1``) or punctuation and spaces
    (``spk_1``, ``spk-1``), each group sorted (shortest first)."""
    groups: dict[str, set[str]] = {}
    for spk in speakers:
        key = re.sub(r"(?<![0-9])0+(?=[0-9])", "", re.sub(r"[\W_]+", "", spk.casefold()))
        groups.setdefault(key, set()).add(spk)
    return sorted(tuple(sorted(g, key=lambda s: (len(s), s))) for g in groups.values() if len(g) > 1)
