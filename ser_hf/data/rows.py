"""Corpus rows: the columns every corpus shares, the skip report, and building the ``datasets.Dataset``.

Every loader (native layouts, audio folders, Hub datasets) ends here, so all corpora come out
with the same columns, the same harmonised ``emotion`` ``ClassLabel`` and a :class:`CorpusReport`
of what was skipped.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import SERError
from .labels import (  # noqa: F401  (_fold: imported from here by other modules)
    LabelScheme,
    _fold,
    map_label,
    normalize_emotion,
)
from .own_classes import warn_of_labels_alike

logger = logging.getLogger(__name__)


SAMPLING_RATE = 16000
KNOWN_CORPORA = ("ravdess", "tess", "savee", "cremad", "emodb", "audiofolder")
_NAME_ALIASES = {
    "crema-d": "cremad",
    "crema_d": "cremad",
    "crema": "cremad",
    "emo-db": "emodb",
    "emo_db": "emodb",
    "berlin": "emodb",
    "audio_folder": "audiofolder",
    "folder": "audiofolder",
}

# where each corpus comes from and under which terms (for summaries and dataset cards)
CORPUS_SOURCES: dict[str, dict[str, str]] = {
    "ravdess": {
        "title": "RAVDESS (Livingstone & Russo 2018)",
        "homepage": "https://zenodo.org/record/1188976",
        "license": "CC BY-NC-SA 4.0",
    },
    "tess": {
        "title": "Toronto Emotional Speech Set (Dupuis & Pichora-Fuller 2010)",
        "homepage": "https://tspace.library.utoronto.ca/handle/1807/24487",
        "license": "CC BY-NC-ND 4.0",
    },
    "savee": {
        "title": "SAVEE (Haq & Jackson 2009)",
        "homepage": "http://kahlan.eps.surrey.ac.uk/savee/",
        "license": "free for research use; see homepage",
    },
    "cremad": {
        "title": "CREMA-D (Cao et al. 2014)",
        "homepage": "https://github.com/CheyneyComputerScience/CREMA-D",
        "license": "ODbL 1.0",
    },
    "emodb": {
        "title": "Berlin Database of Emotional Speech (Burkhardt et al. 2005)",
        "homepage": "http://emodb.bilderbar.info/",
        "license": "see homepage",
    },
}

# FFmpeg decodes all of these (video containers included: their audio track is used)
try:
    from .audio import MEDIA_EXTENSIONS as _MEDIA_EXTENSIONS
except ImportError:  # pragma: no cover - audio.py always ships with the package
    _MEDIA_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".aiff", ".aif")
MEDIA_EXTENSIONS: tuple[str, ...] = tuple(sorted(set(_MEDIA_EXTENSIONS) | {".webm", ".mp4", ".wma", ".au"}))


# ----------------------------------------------------------------------------- report


@dataclass
class SkippedFile:
    path: str
    reason: str


@dataclass
class CorpusReport:
    """What a load kept, skipped and dropped.

    ``skipped``: files with an audio extension that could not be used (empty, unreadable,
    unparseable name, unknown label), with the reason. ``excluded``: files left out on purpose
    (song clips without ``include_song``, macOS metadata files), counted by reason.
    ``dropped_by_scheme``: rows the label scheme removes, counted by raw emotion (e.g. ``calm``
    for ``nocalm7``; ``label_map_sent`` names the class a ``label_map`` sent such a label to first);
    ``dropped_by_label_map``: rows whose label ``label_map`` sends to nothing (``calm=``);
    ``dropped_unknown_gender``: rows a gender_emotion scheme cannot label. ``files_found`` counts the
    audio files there; ``files_missing`` those a ``metadata.csv`` lists that are not (each also in
    ``skipped``). ``renamed_classes``: scheme classes that ``label_map`` renamed to a model's class.
    """

    corpus: str
    data_dir: str
    label_scheme: str
    files_found: int = 0
    rows: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    dropped_by_scheme: dict[str, int] = field(default_factory=dict)
    dropped_by_label_map: dict[str, int] = field(default_factory=dict)
    label_map_sent: dict[str, str] = field(default_factory=dict)  # raw label -> the map's class, when dropped
    dropped_unknown_gender: int = 0
    files_missing: int = 0
    renamed_classes: dict[str, str] = field(default_factory=dict)  # scheme class -> the model's name
    merged_labels: dict[str, list[str]] = field(default_factory=dict)  # class -> the spellings it took in
    # class -> {the corpus's own label: rows} merged into it by the scheme (calm -> neutral under harmonized7)
    harmonised: dict[str, dict[str, int]] = field(default_factory=dict)
    labels_found: list[str] = field(default_factory=list)  # the data's labels before label_map, as first met
    label_map_unmatched: list[str] = field(default_factory=list)  # label_map keys that no label matched
    dataset_splits: list[str] = field(default_factory=list)  # the data's own splits (none: read whole)
    splits_read: list[str] = field(default_factory=list)  # those read
    split_rows: dict[str, int] = field(default_factory=dict)  # rows (files) of each split, where known
    row_splits: list[str] = field(default_factory=list, repr=False)  # the split of each row read
    # for data read from a dataset (Hub, disk, parquet): each row read as its dataset's row, where its path
    # may name none (rows of bytes sharing one name, or without any): "parquet /data/mine[17] audio.wav"
    row_sources: list[str] = field(default_factory=list, repr=False)
    # for data of your own read with a scheme: each row's label as the data give it (after label_map), so
    # that the scheme's renames of your labels (joy -> happy) are counted in ``harmonised``
    given_labels: list[str] = field(default_factory=list, repr=False)
    seconds: float = 0.0

    @property
    def n_skipped(self) -> int:
        return len(self.skipped)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["row_splits"], out["row_sources"], out["given_labels"]  # one entry a row
        return out

    def dropped_lines(self) -> list[str]:
        """One line per label whose rows the label scheme or the label map dropped, saying which and why."""
        lines = [
            f"dropped {n} rows labelled {raw!r} (the label map sends them to nothing)"
            for raw, n in sorted(self.dropped_by_label_map.items())
        ]
        for raw, n in sorted(self.dropped_by_scheme.items()):
            sent = self.label_map_sent.get(raw)
            why = (
                f"the label map sends them to {sent!r}, which scheme {self.label_scheme} has no class for"
                if sent is not None
                else f"not in scheme {self.label_scheme}"
            )
            lines.append(f"dropped {n} rows labelled {raw!r} ({why})")
        return lines

    def format(self, max_paths: int | None = 20) -> str:
        """Human-readable report (the CLI prints it)."""
        missing = f" (and {self.files_missing} listed but missing)" if self.files_missing else ""
        lines = [
            f"{self.corpus} ({self.data_dir}): {self.rows} rows from {self.files_found} audio files{missing}, "
            f"scheme {self.label_scheme}, {self.seconds:.2f} s"
        ]
        if self.dataset_splits:
            left = [s for s in self.dataset_splits if s not in self.splits_read]

            def rows(split: str) -> str:
                return f"{split} ({self.split_rows[split]})" if split in self.split_rows else split

            lines.append(
                f"  its splits: read {', '.join(map(rows, self.splits_read))}"
                + (f"; left out {', '.join(map(rows, left))} (--hub-split chooses)" if left else "")
            )
        for reason, n in sorted(self.excluded.items()):
            lines.append(f"  excluded {n}: {reason}")
        lines += [f"  {line}" for line in self.dropped_lines()]
        for name, new in self.renamed_classes.items():
            lines.append(f"  class {name!r} renamed {new!r} by the label map (a class of the model)")
        if self.dropped_unknown_gender:
            lines.append(
                f"  dropped {self.dropped_unknown_gender} rows of unknown gender (gender_emotion scheme)"
            )
        for cls, raws in self.harmonised.items():
            lines += [
                f"  {raw} ({n}) counted as {cls} (label scheme {self.label_scheme})"
                for raw, n in raws.items()
            ]
        for name, spellings in sorted(self.merged_labels.items()):
            lines.append(f"  one class {name!r} for the labels {', '.join(map(repr, spellings))}")
        lines.append(f"  skipped {self.n_skipped} files" + (":" if self.skipped else ""))
        shown = self.skipped if max_paths is None else self.skipped[:max_paths]
        lines += [f"    {s.path}: {s.reason}" for s in shown]
        if len(shown) < len(self.skipped):
            lines.append(f"    ... and {len(self.skipped) - len(shown)} more")
        return "\n".join(lines)


class _Skip(Exception):
    """A file that cannot be used; the message is the reason."""


class _Exclude(Exception):
    """A file left out on purpose; the message is the reason (counted, not listed)."""


# ----------------------------------------------------------------------------- name parsers


def _resolve_name(name: str) -> str:
    key = str(name).strip().lower()
    return _NAME_ALIASES.get(key, key)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "corpus"


class _Labeler:
    """Applies ``label_map`` then the scheme; counts what it drops.

    ``label_map`` keys match exactly, else whatever their case, spaces and Unicode form; a value that is neither
    a class of the scheme nor a known emotion is an error up front (it used to skip every row it
    matched). Without a scheme (a generic corpus's own labels are its classes), labels that differ
    only in case, spaces or Unicode form are one class, named by its most frequent spelling (:meth:`resolve`,
    ``merge``), and a row with an empty label is skipped.

    Raises:
        SERError: a ``label_map`` value the scheme cannot place.
    """

    def __init__(
        self,
        scheme: LabelScheme | None,
        label_map: dict[str, str | None] | None,
        report: CorpusReport,
        merge: bool = True,
    ):
        self.scheme, self.label_map, self.report, self.merge = scheme, label_map or {}, report, merge
        self._folded_map = {_fold(k): v for k, v in self.label_map.items()}
        self._folded_keys = {_fold(k): k for k in self.label_map}
        self._found: set[str] = set()
        report.label_map_unmatched = list(self.label_map)  # a key leaves the list when a label matches it
        self._spellings: dict[str, Counter] = {}
        for key, value in self.label_map.items() if scheme is not None else ():
            try:
                if value is not None:
                    map_label(value, scheme, gender="female")
            except SERError:
                raise SERError(
                    f"label_map sends {key!r} to {value!r}, which is neither a class of scheme "
                    f"{scheme.name} nor a known emotion; use one of {', '.join(scheme.names)} (or nothing, "
                    f"{key}=, to drop those rows); to score data with a model of classes of your own, ser-hf "
                    "evaluate --label-map renames a class of the scheme to one of the model's classes",
                    source="label_map",
                ) from None

    def __call__(self, raw: str, gender: str) -> str | None:
        """Scheme class, None when dropped; raises _Skip for a label nobody knows."""
        if raw not in self._found:  # once per label: which map key it matches, for a mistyped key's warning
            self._found.add(raw)
            self.report.labels_found.append(str(raw))
            key = raw if raw in self.label_map else self._folded_keys.get(_fold(raw))
            if key in self.report.label_map_unmatched:
                self.report.label_map_unmatched.remove(key)
        value = self.given(raw)
        if value is None:
            self.report.dropped_by_label_map[raw] = self.report.dropped_by_label_map.get(raw, 0) + 1
            return None
        if self.scheme is None:  # native generic scheme: the labels are the classes
            if not str(value).strip():
                raise _Skip("empty label")
            if not self.merge:
                return str(value)
            text = " ".join(str(value).split())  # counted as written: the class keeps the usual spelling
            self._spellings.setdefault(_fold(text), Counter())[text] += 1
            return _fold(text)
        try:
            label = map_label(value, self.scheme, gender=gender)
        except SERError as err:
            raise _Skip(
                f"label {value!r} is not in scheme {self.scheme.name} and not a known emotion"
            ) from err
        if label is None:
            if self.scheme.by_gender and self.scheme.mapping.get(normalize_emotion(value) or "") is not None:
                self.report.dropped_unknown_gender += 1
            else:
                self.report.dropped_by_scheme[raw] = self.report.dropped_by_scheme.get(raw, 0) + 1
                if value != raw:  # the map sent it there: its TARGET is what the scheme lacks
                    self.report.label_map_sent[raw] = str(value)
        return label

    def given(self, raw: str) -> str | None:
        """The label ``raw`` after ``label_map`` (None: the map drops it), before the scheme."""
        return self.label_map[raw] if raw in self.label_map else self._folded_map.get(_fold(raw), raw)

    def resolve(self, labels: list[str]) -> list[str]:
        """The class names of the labels this labeler returned: for a generic corpus, each merged
        label's most frequent spelling (the first seen on a tie); recorded in the report."""
        if self.scheme is not None or not self.merge:
            return labels
        names = {key: counts.most_common(1)[0][0] for key, counts in self._spellings.items()}
        for key, counts in self._spellings.items():
            if len(counts) > 1:
                self.report.merged_labels[names[key]] = list(counts)
                logger.warning(
                    "%s: labels %s differ only in case, spaces or Unicode form: one class %r",
                    self.report.corpus, ", ".join(map(repr, counts)), names[key],
                )  # fmt: skip
        warn_of_labels_alike(
            self.report.corpus, {names[k]: sum(c.values()) for k, c in self._spellings.items()}
        )
        return [names[label] for label in labels]


def _features(class_names: Sequence[str]):
    from datasets import Audio, ClassLabel, Features, Value

    return Features(
        {
            "audio": Audio(sampling_rate=SAMPLING_RATE, num_channels=1),
            "path": Value("string"),
            "emotion": ClassLabel(names=list(class_names)),
            "raw_emotion": Value("string"),
            "speaker": Value("string"),
            "gender": Value("string"),
            "corpus": Value("string"),
            "intensity": Value("string"),
            "statement": Value("string"),
            "duration": Value("float32"),
        }
    )


COLUMNS = (
    "audio",
    "path",
    "emotion",
    "raw_emotion",
    "speaker",
    "gender",
    "corpus",
    "intensity",
    "statement",
    "duration",
)


def _info(corpus: str, scheme_name: str):
    from datasets import DatasetInfo

    source = CORPUS_SOURCES.get(corpus, {})
    return DatasetInfo(
        description=f"ser_hf corpus={corpus} label_scheme={scheme_name}",
        homepage=source.get("homepage", ""),
        license=source.get("license", ""),
    )


def _build(rows: list[dict], class_names: Sequence[str], corpus: str, scheme_name: str):
    from datasets import Dataset, Value

    columns = {c: [r.get(c) for r in rows] for c in COLUMNS}
    info = _info(corpus, scheme_name)
    features = _features(class_names)
    # Build with the audio column as plain paths, then cast: casting needs no audio backend, while
    # encoding through Audio() imports torchcodec (absent on training boxes that decode with soundfile).
    info.features = features.copy()
    info.features["audio"] = Value("string")
    ds = Dataset.from_dict(columns, features=info.features, info=info)
    return ds.cast_column("audio", features["audio"])


def audio_sources(ds: Any, rows: Sequence[int]) -> list[Any]:
    """What to decode for each of ``rows``: the ``path`` column's file when it exists (fast,
    read by libsndfile), else the encoded bytes of the ``audio`` column (``{"bytes", "path"}``,
    e.g. a Hub or parquet dataset). :func:`ser_hf.load_audio` accepts both."""
    paths = ds["path"] if "path" in ds.column_names else [None] * len(ds)
    out: list[Any] = [paths[i] if paths[i] and os.path.isfile(paths[i]) else None for i in rows]
    if any(source is None for source in out):
        import datasets

        raw = ds.cast_column("audio", datasets.Audio(decode=False))
        out = [source if source is not None else raw[int(i)]["audio"] for source, i in zip(out, rows)]
    return out


def dataset_row_names(reports: Sequence[CorpusReport], total: int) -> list[str] | None:
    """Each of the ``total`` rows loaded with ``reports`` (in their order) as ``ser-hf corpus`` names
    it, ``parquet /data/mine test[3] clip.wav`` (their ``row_sources``): for a row of a dataset whose
    path names no one row. None for rows of files (their paths name them), or if the counts differ."""
    names = [name for r in reports for name in (r.row_sources or [""] * r.rows)]
    return names if len(names) == total and any(names) else None


def row_labels(
    paths: Sequence[Any] | None, row_names: Sequence[str] | None, rows: Iterable[int]
) -> dict[int, str]:
    """What names each of ``rows`` (a clip that could not be decoded, in training or evaluation): its
    path where no other row has it, else its ``row_names`` entry (:func:`dataset_row_names`), else
    its number (and the path it shares)."""
    paths = [str(p or "") for p in paths] if paths is not None else []
    counts = Counter(paths)
    out = {}
    for i in rows:
        path = paths[i] if paths else ""
        if path and counts[path] == 1:
            out[i] = path
        elif row_names is not None and row_names[i]:
            out[i] = str(row_names[i])
        else:
            out[i] = f"row {i}" + (f" (path {path!r})" if path else "")
    return out


def drop_undecodable(ds: Any, report: CorpusReport, workers: int = 4) -> Any:
    """``ds`` without the rows whose samples do not decode (a header that reads over data cut short
    or corrupt, NaN samples), each added to ``report.skipped``: the whole corpus is decoded once."""
    from concurrent.futures import ThreadPoolExecutor

    from ..errors import SERError
    from .audio import DEFAULT_SAMPLING_RATE, load_audio, too_short

    def why(source: Any) -> str | None:
        try:
            samples = load_audio(source)
        except SERError as err:  # named by the row's path in the report: the reason alone
            return err.bare_message
        return too_short(samples.size / DEFAULT_SAMPLING_RATE)  # rows read without their headers

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        reasons = list(pool.map(why, audio_sources(ds, range(len(ds)))))
    paths = ds["path"] if "path" in ds.column_names else [f"row {i}" for i in range(len(ds))]
    if len(report.row_sources) == len(ds):  # a dataset's rows: named as ser-hf corpus names them
        paths = report.row_sources
        report.row_sources = [name for name, reason in zip(paths, reasons) if reason is None]
    if len(report.given_labels) == len(ds):
        report.given_labels = [g for g, reason in zip(report.given_labels, reasons) if reason is None]
    for path, reason in zip(paths, reasons):
        if reason is not None:
            report.skipped.append(SkippedFile(str(path), f"samples do not decode: {reason}"))
    return ds.select([i for i, reason in enumerate(reasons) if reason is None]) if any(reasons) else ds


def label_scheme_of(ds) -> str | None:
    """The label scheme a dataset from :func:`load_corpus` was built with (``None`` if unknown)."""
    m = re.search(r"label_scheme=(\S+)", getattr(ds.info, "description", "") or "")
    return m.group(1) if m else None


def _finish(ds, report: CorpusReport, started: float, data_dir: str):
    report.rows = len(ds)
    if len(ds) and {"raw_emotion", "emotion"} <= set(ds.column_names):  # calm (192) -> neutral: said
        from .labels import harmonisation

        names = ds.features["emotion"].names
        classes = [names[e] for e in ds["emotion"]]
        given = len(report.given_labels) == len(ds)  # your own labels as written: joy -> happy is said too
        raws = report.given_labels if given else ds["raw_emotion"]
        report.harmonised = harmonisation([report.corpus] * len(ds), raws, classes, as_written=given).get(
            report.corpus, {}
        )
    report.seconds = time.perf_counter() - started
    if report.skipped and len(ds):
        reasons = Counter(s.reason for s in report.skipped).most_common(3)  # 'unreadable' hid unknown labels
        missing = f" and {report.files_missing} listed but missing" if report.files_missing else ""
        logger.warning(
            "%s: skipped %d of %d audio files%s, e.g. %s; use return_report=True or 'ser-hf corpus' to list them",
            report.corpus,
            report.n_skipped - report.files_missing,
            report.files_found,
            missing,
            "; ".join(f"{reason} ({n})" for reason, n in reasons),
        )
    if len(ds) and (dropped := report.dropped_lines()):  # 23 boredom clips of 200 left without a word
        logger.warning("%s: %s", report.corpus, "; ".join(dropped))
    if report.dropped_unknown_gender:
        logger.warning(
            "%s: dropped %d rows of unknown gender (scheme %s needs the gender)",
            report.corpus,
            report.dropped_unknown_gender,
            report.label_scheme,
        )
    if len(ds) == 0:
        reasons = Counter(s.reason for s in report.skipped).most_common(3)
        examples = ", ".join(repr(s.path) for s in report.skipped[:3])
        by_scheme = (
            report.dropped_by_scheme
            or report.dropped_unknown_gender
            or any("scheme" in r for r, _ in reasons)
        )
        raise SERError(
            f"no usable {report.corpus} clips (found {report.files_found} audio files; skipped "
            f"{report.n_skipped}: {reasons}" + (f", e.g. {examples}" if examples else "") + "; dropped by "
            f"scheme: {report.dropped_by_scheme}; unknown gender: {report.dropped_unknown_gender}"
            + (
                f"; sent to nothing by the label map: {report.dropped_by_label_map}"
                if report.dropped_by_label_map
                else ""
            )
            + "). Check the "
            + (
                "folder, the corpus name and the label scheme (gender_emotion needs known genders)"
                if by_scheme
                else "folder and the corpus name"
            )
            + (" and the label map" if report.dropped_by_label_map else "")
            + (
                f"; its labels are numbers (class ids without their names): name them with --label-map "
                f"'{report.labels_found[0]}=NAME,...' (from Python label_map=)"
                if report.labels_found and all(str(x).strip().isdigit() for x in report.labels_found)
                else ""
            ),
            source=data_dir,
        )
    return ds


# ----------------------------------------------------------------------------- loaders
