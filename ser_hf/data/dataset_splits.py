"""A dataset's own splits (``train`` / ``validation`` / ``test``): which there are, which are read.

``datasets.load_dataset("parquet" or "audiofolder", data_dir=...)`` reads a folder of
``data/{train,validation,test}-00000-of-00001.parquet`` or of ``train/ validation/ test/``
sub-folders as three splits, and ``save_to_disk`` of a ``DatasetDict`` keeps them. ``load_corpus``
reads the splits asked for (``split="test"``, ``"train+validation"``, the CLI's ``--hub-split``),
and with none asked, its ``default_split`` among several (``train`` for training, ``test`` for
``evaluate``); a split that is not there is an error naming those that are. What was read and what
was left out is logged, and kept in the :class:`~ser_hf.data.rows.CorpusReport`.
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from ..errors import SERError

logger = logging.getLogger(__name__)

# the names ``datasets`` gives a split found by a file or folder name (``datasets.data_files.SPLIT_KEYWORDS``)
SPLIT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "train": ("train", "training"),
    "validation": ("validation", "valid", "dev", "val"),
    "test": ("test", "testing", "eval", "evaluation"),
}
OPTION = "--hub-split SPLIT, several joined by '+' (from Python split=)"


def canonical_split(name: str) -> str:
    """``valid``, ``dev`` and ``val`` are ``validation``, ``eval`` and ``testing`` are ``test``, ...,
    as ``datasets`` names a split found by a file or folder name; other names as they are."""
    key = str(name).strip().casefold()
    return next((split for split, words in SPLIT_KEYWORDS.items() if key in words), str(name).strip())


def is_split_word(name: str) -> bool:
    """Whether ``name`` is one of the words ``datasets`` takes for a split (``test``, ``valid``...)."""
    return canonical_split(name) in SPLIT_KEYWORDS


def disk_splits(root: Path) -> list[str] | None:
    """The splits of a ``save_to_disk`` folder of a ``DatasetDict``; None for a single dataset."""
    listing = root / "dataset_dict.json"
    if not listing.is_file():
        return None
    try:
        return [str(s) for s in json.loads(listing.read_text(encoding="utf-8"))["splits"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # ``load_from_disk`` says what is wrong with it


def parquet_splits(root: Path, files: Sequence[str]) -> dict[str, list[str]] | None:
    """The parquet ``files`` of the folder ``root`` by split, found by their names as ``datasets``
    finds them (``train-00000-of-00001.parquet``, ``test.parquet``, ``valid/x.parquet``); None when
    no name names a split (every file is the data). A file no split pattern takes is logged and not
    read, as ``load_dataset("parquet", data_dir=...)`` leaves it out."""
    from datasets.data_files import DEFAULT_PATTERNS_ALL, DataFilesDict, get_data_patterns

    try:
        patterns = get_data_patterns(str(root))
    except Exception:  # no data files datasets can see (hidden folders): every file is the data
        return None
    if {str(k): v for k, v in patterns.items()} == {str(k): v for k, v in DEFAULT_PATTERNS_ALL.items()}:
        return None
    resolved = DataFilesDict.from_patterns(patterns, base_path=str(root), allowed_extensions=[".parquet"])
    found = {str(split): sorted(str(Path(f)) for f in names) for split, names in resolved.items() if names}
    if not found:
        return None
    taken = {f for names in found.values() for f in names}
    others = [f for f in files if str(Path(f)) not in taken]
    if others:
        logger.warning(
            "%s: %d parquet file(s) in no split (their names name none, as datasets reads the folder), e.g. "
            "%s: not read; the splits are %s",
            root, len(others), Path(others[0]).relative_to(root), ", ".join(found),
        )  # fmt: skip
    return found


def folder_splits(root: Path, media: Sequence[Path]) -> dict[str, Path] | None:
    """An audio folder's ``train/ validation/ test/`` sub-folders (any of the words of
    :data:`SPLIT_KEYWORDS`, whatever the case), by split name, when every audio file (``media``) is
    inside one of them; None otherwise (the sub-folders are labels, or a metadata.csv names the files)."""
    folders = {
        p.name: p
        for p in sorted(root.iterdir())
        if p.is_dir() and not p.name.startswith(".") and is_split_word(p.name)
    }
    if not folders:
        return None
    inside = [any(m.is_relative_to(f) for f in folders.values()) for m in media]
    if not all(inside):
        logger.warning(
            "%s: holds the split folder(s) %s and audio outside them (e.g. %s): read as one corpus, the "
            "sub-folder names as labels",
            root, ", ".join(folders), media[inside.index(False)].relative_to(root),
        )  # fmt: skip
        return None
    order = list(SPLIT_KEYWORDS)  # train, validation, test, as datasets lists them
    folders = dict(sorted(folders.items(), key=lambda item: order.index(canonical_split(item[0]))))
    names = {canonical_split(n): f for n, f in folders.items()}
    return names if len(names) == len(folders) else folders  # val/ and validation/: as written


def choose_splits(available: Sequence[str], requested: str | None, default: str, source: str) -> list[str]:
    """The splits of ``available`` to read: those of ``requested`` (``test``, ``train+validation``;
    matched exactly, else whatever the case, else by :func:`canonical_split`: ``validation`` reads a
    split named ``valid``); with none requested, ``default`` (``+``-joined: its first split is needed,
    the others are added where the data has them), else the only split there is.

    Raises:
        SERError: a split that is not there (naming those that are, and the nearest), or several
            splits and none of the default.
    """
    available = [str(s) for s in available]
    if requested is not None and str(requested).strip():
        return [_match(name, available, source) for name in _names(requested, source)]
    wanted = _names(default, source)
    first = _find(wanted[0], available)
    if first is None:
        if len(available) == 1:
            return list(available)
        raise SERError(
            f"has the splits {', '.join(available)} and none is {wanted[0]!r}: choose with {OPTION}",
            source=source,
        )
    more = [s for s in (_find(w, available) for w in wanted[1:]) if s is not None and s != first]
    return [first, *dict.fromkeys(more)]


def no_splits(requested: str | None, source: str, optional: bool = False) -> None:
    """A split asked of data that have no splits of their own (a native corpus, one ``Dataset``, an
    audio folder without ``train/ test/``): an error, unless it is ``train`` (the name ``datasets``
    gives a lone dataset) or ``optional`` (one corpus of several, some with splits): then read whole."""
    if requested is None or not str(requested).strip():
        return
    if optional or all(canonical_split(n) == "train" for n in _names(requested, source)):
        logger.info("%s: has no splits of its own: read whole", source)
        return
    raise SERError(
        f"has no splits of its own (it is read whole), so no split {requested!r}: leave out --hub-split "
        "(from Python split=)",
        source=source,
    )


def _names(text: str, source: str) -> list[str]:
    names = [n.strip() for n in str(text).split("+")]
    if not all(names):
        raise SERError(f"empty split name in {text!r}; write SPLIT or SPLIT+SPLIT", source=source)
    return names


def _find(name: str, available: Sequence[str]) -> str | None:
    if name in available:
        return name
    folded = [s for s in available if s.casefold() == name.casefold()]
    if len(folded) == 1:
        return folded[0]
    same = [s for s in available if canonical_split(s) == canonical_split(name)]
    return same[0] if len(same) == 1 else None


def _match(name: str, available: Sequence[str], source: str) -> str:
    found = _find(name, available)
    if found is not None:
        if found != name and found.casefold() != name.casefold():
            logger.info("%s: split %r read for %r (the same split by datasets' names)", source, found, name)
        return found
    near = difflib.get_close_matches(name, available, n=1, cutoff=0.6)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    raise SERError(
        f"has no split {name!r}{hint}; its splits are {', '.join(available)}: choose with {OPTION}",
        source=source,
    )


def announce(
    source: str, available: Sequence[str], read: Sequence[str], counts: dict[str, int], requested: str | None
) -> None:
    """Log which of a dataset's splits were read and which were left out (``counts``: rows a split holds,
    where known)."""

    def shown(split: str) -> str:
        return f"{split} ({counts[split]} rows)" if split in counts else split

    left = [s for s in available if s not in read]
    if not left:
        if len(available) == 1 and requested is None:
            logger.info("%s: read its only split, %s", source, shown(available[0]))
        elif requested is None or len(read) > 1:
            logger.info("%s: read its splits %s", source, ", ".join(map(shown, read)))
        return
    logger.info(
        "%s: read its split%s %s; left out %s: %s, reads others",
        source,
        "s" if len(read) > 1 else "",
        ", ".join(map(shown, read)),
        ", ".join(map(shown, left)),
        OPTION,
    )
