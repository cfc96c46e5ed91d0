"""Speaker-independent splits, computed on metadata only (never decodes audio).

Every function takes a ``datasets.Dataset`` from :mod:`ser_hf.data.corpora` (only its ``speaker``,
``gender``, ``emotion``, ``corpus`` and ``path`` columns are read) or a plain mapping of those
columns (``{"speaker": [...], "gender": [...], ...}``) and returns :class:`Split` objects holding
row INDEX lists; ``ds.select(split.train)`` is the caller's job.

The fold generators (:func:`~ser_hf.data.folds.speaker_kfold`, the RAVDESS protocol, leave one
speaker or corpus out, the random clip split) live in :mod:`ser_hf.data.folds`.

A :class:`Split` with ``speaker_independent=True`` checks on construction that no speaker is in
two of train/validation/test. Splits are deterministic for a seed and round-trip through JSON
(``Split.to_json`` / ``Split.from_json``; :class:`SplitManifest` for a list of folds), storing the
speaker lists and a row id (``speaker/file name``) per dataset row, so :meth:`Split.verify` can
tell whether a dataset is the one the split was made for.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SERError
from .whole_files import write_json

logger = logging.getLogger(__name__)

_FORMAT = "ser_hf.split/1"
_MANIFEST_FORMAT = "ser_hf.split_manifest/1"


# ----------------------------------------------------------------------------- metadata


@dataclass
class _Meta:
    speaker: list[str]
    gender: list[str]
    emotion: list[str]
    corpus: list[str]
    row_ids: list[str]

    def __len__(self) -> int:
        return len(self.speaker)

    def speaker_gender(self) -> dict[str, str]:
        return dict(zip(self.speaker, self.gender))

    def speaker_corpus(self) -> dict[str, str]:
        return dict(zip(self.speaker, self.corpus))

    def indices_of(self, speakers: Sequence[str]) -> list[int]:
        wanted = set(speakers)
        return [i for i, s in enumerate(self.speaker) if s in wanted]


def speaker_key(speaker: Any) -> str:
    """A speaker id as the loaders write it since session 37, spaces around the id taken out
    (``"x_ 001 "`` -> ``"x_001"``), so that a split.json recorded before compares equal."""
    return re.sub(r"_\s+", "_", str(speaker)).strip()


def _row_key(row_id: str) -> str:
    speaker, sep, name = row_id.rpartition("/")
    return f"{speaker_key(speaker)}{sep}{name}"


def _row_id(speaker: str, path: str | None, index: int) -> str:
    # file name, not the absolute path: the same corpus in another folder gives the same ids
    return f"{speaker}/{os.path.basename(path)}" if path else f"{speaker}/#{index}"


def _meta(data: Any) -> _Meta:
    """Read the metadata columns of a Dataset or a mapping of columns (no audio decoding)."""
    if isinstance(data, _Meta):
        return data
    if hasattr(data, "select_columns") and hasattr(data, "features"):  # datasets.Dataset
        wanted = [c for c in ("speaker", "gender", "emotion", "corpus", "path") if c in data.column_names]
        cols = data.select_columns(wanted).to_dict()
        feature = data.features.get("emotion")
        if "emotion" in cols and hasattr(feature, "int2str"):
            cols["emotion"] = [feature.int2str(int(v)) for v in cols["emotion"]]
    elif isinstance(data, Mapping):
        cols = {k: list(v) for k, v in data.items()}
    elif hasattr(data, "to_dict") and hasattr(data, "columns"):  # pandas DataFrame
        cols = {c: list(data[c]) for c in data.columns}
    else:
        raise SERError(
            "pass a datasets.Dataset or a mapping of columns with at least 'speaker'",
            source=type(data).__name__,
        )
    if "speaker" not in cols:
        raise SERError(
            "splits need a 'speaker' column (load the data with ser_hf.load_corpus)", source="dataset"
        )
    n = len(cols["speaker"])
    speaker = [str(s) for s in cols["speaker"]]
    gender = [str(g) if g is not None else "unknown" for g in cols.get("gender", ["unknown"] * n)]
    emotion = [str(e) for e in cols.get("emotion", [""] * n)]
    corpus = [str(c) if c is not None else "unknown" for c in cols.get("corpus", ["unknown"] * n)]
    paths = cols.get("path", [None] * n)
    row_ids = [_row_id(s, p, i) for i, (s, p) in enumerate(zip(speaker, paths))]
    if n == 0:
        raise SERError("the dataset is empty", source="dataset")
    return _Meta(speaker, gender, emotion, corpus, row_ids)


def row_labels(data: Any) -> list[str]:
    """Each row's emotion label by name (the split records it: ``ser-hf cv`` checks a finished fold's
    labels against the data's before reusing it)."""
    return _meta(data).emotion


def _renamed_corpus(meta: _Meta, rows: Sequence[int], recorded: Sequence[str]) -> str | None:
    """Why ``rows``' speaker ids differ from the ``recorded`` row ids when it is the corpus's name alone
    (ids are ``<corpus>_<speaker>``: ``polish_m1`` was ``polski_m1``), else None."""
    names = set()
    for i in rows:
        bare = meta.speaker[i].removeprefix(f"{meta.corpus[i]}_")
        old = recorded[i].rpartition("/")[0]
        if bare == meta.speaker[i] or not old.endswith(f"_{bare}"):
            return None
        names.add((meta.corpus[i], old[: -len(bare) - 1]))
    if len(names) != 1:
        return None
    now, before = names.pop()
    return f"the corpus is named {now!r} here and was {before!r} (speaker ids begin with its name)"


def _sha(row_ids: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(row_ids).encode()).hexdigest()


# ----------------------------------------------------------------------------- Split


@dataclass
class Split:
    """Row indices of one train/validation/test split with the speakers each part holds.

    Attributes:
        protocol: how it was made (``speaker_kfold``, ``ravdess_protocol``, ``random_stratified``...).
        train, validation, test: sorted row indices into the dataset the split was made for.
        train_speakers, validation_speakers, test_speakers: sorted speaker ids of each part.
        speaker_independent: True when no speaker is in two parts (checked on construction).
        description: one line for logs and result tables.
        seed, fold: what makes it reproducible.
        row_ids: ``speaker/file name`` of every dataset row, for :meth:`verify` (may be None).
        dataset_splits: the data's own splits its rows were read from (``["train", "validation"]`` of a
            ``DatasetDict``), so that the same rows are read again; None for data without splits.
    """

    protocol: str
    train: list[int]
    validation: list[int]
    test: list[int]
    train_speakers: list[str]
    validation_speakers: list[str]
    test_speakers: list[str]
    speaker_independent: bool
    description: str = ""
    seed: int | None = None
    fold: int | None = None
    row_ids: list[str] | None = field(default=None, repr=False)
    dataset_splits: list[str] | None = None

    def __post_init__(self) -> None:
        self.train, self.validation, self.test = (
            sorted(int(i) for i in x) for x in (self.train, self.validation, self.test)
        )
        for name in ("train_speakers", "validation_speakers", "test_speakers"):
            setattr(self, name, sorted(str(s) for s in getattr(self, name)))
        rows = [set(self.train), set(self.validation), set(self.test)]
        if rows[0] & rows[1] or rows[0] & rows[2] or rows[1] & rows[2]:
            raise SERError("a row is in two parts of the split", source=self.protocol)
        if self.speaker_independent:
            tr, va, te = set(self.train_speakers), set(self.validation_speakers), set(self.test_speakers)
            shared = (tr & va) | (tr & te) | (va & te)
            if shared:
                raise SERError(
                    f"promises speaker independence but speakers {sorted(shared)} are in two parts",
                    source=self.protocol,
                )

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.validation), "test": len(self.test)}

    def check_against(self, data: Any) -> None:
        """Raise :class:`SERError` unless every row's speaker lies in its part's speaker list (and, for
        a speaker-independent split, no part holds another part's speakers)."""
        meta = _meta(data)
        for part in ("train", "validation", "test"):
            listed = {speaker_key(x) for x in getattr(self, f"{part}_speakers")}
            found = {speaker_key(meta.speaker[i]) for i in getattr(self, part)}
            if self.speaker_independent and not found <= listed:
                raise SERError(
                    f"{part} rows hold speakers {sorted(found - listed)} not listed for {part}",
                    source=self.protocol,
                )

    def verify(self, data: Any) -> None:
        """Raise :class:`SERError` unless ``data`` has exactly the rows this split was made for."""
        if self.row_ids is None:
            raise SERError("this split stores no row ids to verify against", source=self.protocol)
        meta = _meta(data)
        current = meta.row_ids
        if current != self.row_ids and [_row_key(r) for r in current] != [_row_key(r) for r in self.row_ids]:
            files = [r.rpartition("/")[2] for r in current]
            if files == [r.rpartition("/")[2] for r in self.row_ids]:  # the same files, other speaker ids
                differ = [
                    i for i, (a, b) in enumerate(zip(current, self.row_ids)) if _row_key(a) != _row_key(b)
                ]
                why = _renamed_corpus(meta, differ, self.row_ids) or (
                    "a speaker column read since (its header in another case), or ids edited"
                )
                logger.warning(
                    "%s: the data's speaker ids differ from those the split was made with (e.g. %r, the "
                    "split has %r): %s; the split's rows are the same files in the same order, so it is used",
                    self.protocol, current[differ[0]], self.row_ids[differ[0]], why,
                )  # fmt: skip
                return
            if len(current) != len(self.row_ids):
                problem = f"{len(current)} rows, the split was made for {len(self.row_ids)}"
            else:
                i = next(i for i, (a, b) in enumerate(zip(current, self.row_ids)) if a != b)
                problem = f"row {i} is {current[i]!r}, the split expects {self.row_ids[i]!r}"
            raise SERError(
                f"the dataset differs from the one the split was made for: {problem}", source=self.protocol
            )
        self.check_against(data)

    def to_dict(self, include_row_ids: bool = True) -> dict[str, Any]:
        out = {
            "format": _FORMAT,
            "protocol": self.protocol,
            "description": self.description,
            "seed": self.seed,
            "fold": self.fold,
            "speaker_independent": self.speaker_independent,
            "train_speakers": self.train_speakers,
            "validation_speakers": self.validation_speakers,
            "test_speakers": self.test_speakers,
            "sizes": self.sizes,
            "train": self.train,
            "validation": self.validation,
            "test": self.test,
        }
        if self.dataset_splits:
            out["dataset_splits"] = list(self.dataset_splits)
        if include_row_ids and self.row_ids is not None:
            out["n_rows"] = len(self.row_ids)
            out["row_ids_sha256"] = _sha(self.row_ids)
            out["row_ids"] = self.row_ids
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], row_ids: list[str] | None = None) -> Split:
        if d.get("format") != _FORMAT:
            raise SERError(
                f"not a ser_hf split (format {d.get('format')!r}, expected {_FORMAT})", source="split json"
            )
        ids = d.get("row_ids", row_ids)
        if ids is not None and "row_ids_sha256" in d and _sha(ids) != d["row_ids_sha256"]:
            raise SERError("row ids do not match their checksum: the file was edited", source="split json")
        return cls(
            protocol=d["protocol"],
            train=d["train"],
            validation=d["validation"],
            test=d["test"],
            train_speakers=d["train_speakers"],
            validation_speakers=d["validation_speakers"],
            test_speakers=d["test_speakers"],
            speaker_independent=bool(d["speaker_independent"]),
            description=d.get("description", ""),
            seed=d.get("seed"),
            fold=d.get("fold"),
            row_ids=list(ids) if ids is not None else None,
            dataset_splits=d.get("dataset_splits"),
        )

    def to_json(self, path: str | os.PathLike) -> None:
        """Write the split (indices, speakers, row ids) as a JSON manifest."""
        write_json(path, self.to_dict())

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> Split:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise SERError(f"cannot read the split manifest ({err})", source=str(path)) from err
        return cls.from_dict(data)


@dataclass
class SplitManifest:
    """Several splits of one dataset (the folds of a cross-validation), stored once with row ids."""

    splits: list[Split]
    protocol: str = ""

    def to_json(self, path: str | os.PathLike) -> None:
        row_ids = next((s.row_ids for s in self.splits if s.row_ids is not None), None)
        payload = {
            "format": _MANIFEST_FORMAT,
            "protocol": self.protocol or (self.splits[0].protocol if self.splits else ""),
            "n_rows": len(row_ids) if row_ids is not None else None,
            "row_ids_sha256": _sha(row_ids) if row_ids is not None else None,
            "row_ids": row_ids,
            "splits": [s.to_dict(include_row_ids=False) for s in self.splits],
        }
        write_json(path, payload)

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> SplitManifest:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise SERError(f"cannot read the split manifest ({err})", source=str(path)) from err
        if data.get("format") != _MANIFEST_FORMAT:
            raise SERError(f"not a ser_hf split manifest (format {data.get('format')!r})", source=str(path))
        ids = data.get("row_ids")
        if ids is not None and _sha(ids) != data.get("row_ids_sha256"):
            raise SERError("row ids do not match their checksum: the file was edited", source=str(path))
        return cls([Split.from_dict(d, row_ids=ids) for d in data["splits"]], data.get("protocol", ""))

    def verify(self, data: Any) -> None:
        meta = _meta(data)
        for s in self.splits:
            s.verify(meta)


def save_splits(splits: Sequence[Split], path: str | os.PathLike) -> None:
    """Write a list of splits (folds) as one manifest."""
    SplitManifest(list(splits)).to_json(path)


def load_splits(path: str | os.PathLike) -> list[Split]:
    """Read splits written by :func:`save_splits` (or a single :meth:`Split.to_json`)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("format") == _FORMAT:
        return [Split.from_dict(data)]
    return SplitManifest.from_json(path).splits


def corpus_folders(data: Any) -> dict[str, str]:
    """``{corpus: the folder holding every file of its rows}`` (symbolic links resolved) for the corpora
    of ``data`` read from local files: the training data a model's ``split.json`` records, so that the
    same folder evaluated under another corpus name is recognised. Corpora without absolute paths (a Hub
    dataset's rows) are left out."""
    if hasattr(data, "column_names"):
        if not {"corpus", "path"} <= set(data.column_names):
            return {}
        corpora, paths = data["corpus"], data["path"]
    else:
        corpora, paths = data.get("corpus") or [], data.get("path") or []
    folders: dict[str, set[str]] = {}
    remote: set[str] = set()
    for corpus, path in zip(map(str, corpora), paths):
        if path and os.path.isabs(path):
            folders.setdefault(corpus, set()).add(os.path.dirname(path))
        else:
            remote.add(corpus)
    out = {}
    for corpus, dirs in folders.items():
        try:
            folder = os.path.realpath(os.path.commonpath(sorted(dirs)))
        except ValueError:  # folders on two drives
            continue
        if corpus not in remote and folder != os.path.dirname(folder):  # not the root of a drive
            out[corpus] = folder
    return out


def _loose_key(speaker: str) -> str:
    """A speaker id with what spreadsheets change taken out: case, spaces and a number's leading zeros
    (``"Mine_007 "`` -> ``"mine_7"``)."""
    return re.sub(r"(?<![0-9])0+(?=[0-9])", "", speaker_key(speaker).casefold())


def unmatched_speaker_ids(
    record: Mapping[str, Any], speakers: Sequence[str], corpora: Sequence[str]
) -> str | None:
    """A warning when the ids of one of ``corpora`` (those of ``speakers``) name none of the speakers
    the split ``record`` names for that corpus as written, but some of them once case, spaces and
    leading zeros are set aside: the ids were written another way (a metadata.csv re-saved by Excel,
    ``001`` -> ``1``), so no speaker is recognised as one the model trained on. New speakers of a
    corpus (actors 13-24 of a model trained on 1-12) are no mismatch. None otherwise."""
    recorded = {
        speaker_key(s)
        for key in ("train_speakers", "validation_speakers", "test_speakers")
        for s in record.get(key) or ()
    }
    given = {speaker_key(s) for s in speakers if not str(s).endswith("_unknown")}  # no ids: warned of apart
    for corpus in sorted(set(corpora)):
        ours = sorted(s for s in recorded if s.startswith(f"{corpus}_"))
        theirs = sorted(s for s in given if s.startswith(f"{corpus}_"))
        if set(ours) & set(theirs) or not {_loose_key(s) for s in ours} & {_loose_key(s) for s in theirs}:
            continue
        return (
            f"none of the {len(theirs)} speakers of {corpus} ({', '.join(theirs[:3])} ...) is written as the "
            f"{len(ours)} this model's split.json names ({', '.join(ours[:3])} ...), though some are the same "
            "ids written another way (case, spaces or leading zeros, as a spreadsheet re-saves them): the "
            "model's own training speakers cannot be told apart (--split unseen keeps them; no 'took part "
            "in training' warning); write the ids as the training data did"
        )
    return None
