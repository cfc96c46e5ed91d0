"""Native corpus layouts -> one ``datasets.Dataset`` with harmonised labels and speaker metadata.

``load_corpus(name, data_dir, label_scheme=...)`` reads file names only (no decoding) and returns a
dataset with the columns

=============== ==========================================================================
``audio``       ``Audio(sampling_rate=16000, num_channels=1)``: decoded lazily, on access
``path``        the source file (absolute path; the Hub path for Hub datasets)
``emotion``     ``ClassLabel(names=scheme_names(label_scheme))`` (fixed id order)
``raw_emotion`` the corpus's own label as a canonical word (``calm``, ``pleasant_surprise``,
                ``boredom``...) before the scheme's mapping
``speaker``     prefixed with the corpus (``ravdess_01``, ``cremad_1001``) so that
                concatenated corpora never share a speaker id
``gender``      ``female`` / ``male`` / ``unknown``
``corpus``      ``ravdess``, ``tess``, ``savee``, ``cremad``, ``emodb`` or the generic name
``intensity``   RAVDESS ``normal``/``strong``; CREMA-D ``low``/``medium``/``high``/``unspecified``
``statement``   RAVDESS sentence, TESS word, CREMA-D sentence code, EmoDB text code
``duration``    seconds from the file header (``None`` with ``check_files=False`` or Hub data)
=============== ==========================================================================

Every corpus has the same columns, so :func:`load_corpora` concatenates them. With
``check_files=True`` (default) each file's header is read (``soundfile.info``, falling back to
FFmpeg through torchcodec for other formats); empty, unreadable or unparseable files and names
are SKIPPED, never a crash. What was skipped, excluded (song clips, macOS ``._`` files) and dropped
by the label scheme is in a :class:`CorpusReport`: ``load_corpus(..., return_report=True)``
returns ``(dataset, report)``; a warning with the count is logged either way.

Native layouts (see issue 3; file names decide the labels, folders only where stated):

* ``ravdess``: ``Actor_NN/MM-VV-EE-II-SS-RR-AA.ext`` or flat; speech (VV=01) by default, song
  (VV=02) with ``include_song=True``; actor AA odd = male, even = female.
* ``tess``: ``<SPK>_<emotion>/<SPK>_<word>_<emotion>.wav``; speaker and emotion from the FOLDER
  (one official file is misnamed ``OA_bite_neutral.wav``); both speakers female.
* ``savee``: flat ``DC_sa01.wav`` or ``AudioData/DC/sa01.wav``; all male.
* ``cremad``: ``AudioWAV/1001_DFA_ANG_XX.wav``; gender from ``VideoDemographics.csv`` if found
  (in the folder, below it, or next to it), else ``unknown``.
* ``emodb``: ``wav/03a01Fa.wav``; speaker = first two digits, emotion = 6th character.
* ``audiofolder``: ``<label>/<file>`` folders, or a ``metadata.csv`` with ``file_name`` and a
  label column (plus optional speaker/gender columns).
* anything else: a Hub dataset id (``datasets.load_dataset``), a folder written by
  ``save_to_disk`` (name ``disk`` or the folder as ``name``), or parquet files (name ``parquet``);
  pick the columns with ``audio_column``, ``label_column``, ``speaker_column``, ``gender_column``.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import SERError
from .labels import (
    CORPUS_DEFAULT_SCHEME,
    LabelScheme,
    get_scheme,
    map_label,
    normalize_emotion,
    normalize_gender,
)

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
    for ``nocalm7``); ``dropped_unknown_gender``: rows a gender_emotion scheme cannot label.
    """

    corpus: str
    data_dir: str
    label_scheme: str
    files_found: int = 0
    rows: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    dropped_by_scheme: dict[str, int] = field(default_factory=dict)
    dropped_unknown_gender: int = 0
    seconds: float = 0.0

    @property
    def n_skipped(self) -> int:
        return len(self.skipped)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format(self, max_paths: int | None = 20) -> str:
        """Human-readable report (the CLI prints it)."""
        lines = [
            f"{self.corpus} ({self.data_dir}): {self.rows} rows from {self.files_found} audio files, "
            f"scheme {self.label_scheme}, {self.seconds:.2f} s"
        ]
        for reason, n in sorted(self.excluded.items()):
            lines.append(f"  excluded {n}: {reason}")
        for raw, n in sorted(self.dropped_by_scheme.items()):
            lines.append(f"  dropped {n} rows labelled {raw!r} (not in scheme {self.label_scheme})")
        if self.dropped_unknown_gender:
            lines.append(
                f"  dropped {self.dropped_unknown_gender} rows of unknown gender (gender_emotion scheme)"
            )
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
# Each parser maps one file to {"raw_emotion", "speaker" (without corpus prefix), "gender",
# "intensity", "statement"} or raises _Skip / _Exclude.

_RAVDESS_RE = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
_RAVDESS_EMOTIONS = {
    1: "neutral",
    2: "calm",
    3: "happy",
    4: "sad",
    5: "angry",
    6: "fearful",
    7: "disgust",
    8: "surprised",
}
_RAVDESS_STATEMENTS = {1: "Kids are talking by the door", 2: "Dogs are sitting by the door"}


def _parse_ravdess(path: Path, ctx: dict) -> dict:
    m = _RAVDESS_RE.match(path.stem)
    if not m:
        raise _Skip("name is not RAVDESS's MM-VV-EE-II-SS-RR-AA")
    modality, channel, emotion, intensity, statement, _rep, actor = map(int, m.groups())
    if emotion not in _RAVDESS_EMOTIONS or intensity not in (1, 2) or statement not in (1, 2) or actor < 1:
        raise _Skip("RAVDESS name with an out-of-range field (emotion 01-08, intensity/statement 01-02)")
    if channel == 2 and not ctx["include_song"]:
        raise _Exclude("RAVDESS song clips (vocal channel 02; pass include_song=True to keep them)")
    if channel not in (1, 2):
        raise _Skip("RAVDESS vocal channel must be 01 (speech) or 02 (song)")
    return {
        "raw_emotion": _RAVDESS_EMOTIONS[emotion],
        "speaker": f"{actor:02d}",
        "gender": "male" if actor % 2 else "female",
        "intensity": "normal" if intensity == 1 else "strong",
        "statement": _RAVDESS_STATEMENTS[statement],
    }


_TESS_FOLDER_RE = re.compile(r"^(OAF|YAF)_(.+)$", re.IGNORECASE)
_TESS_FILE_RE = re.compile(r"^(OAF|YAF|OA|YA)_(.+)_([^_]+(?:_surprised?)?)$", re.IGNORECASE)


def _tess_emotion(text: str) -> str:
    canonical = normalize_emotion(text)
    if canonical is None:
        raise _Skip(f"unknown TESS emotion {text!r}")
    # TESS's only surprise is the "pleasant surprise" category
    return "pleasant_surprise" if canonical == "surprised" else canonical


def _parse_tess(path: Path, ctx: dict) -> dict:
    stem_parts = path.stem.split("_")
    word = stem_parts[1] if len(stem_parts) >= 3 else None
    folder = _TESS_FOLDER_RE.match(path.parent.name)
    if folder:  # the folder is authoritative (some file names are wrong)
        speaker, emotion = folder.group(1).upper(), folder.group(2)
    else:
        m = _TESS_FILE_RE.match(path.stem)
        if not m:
            raise _Skip(
                "neither the folder (<SPK>_<emotion>) nor the name (<SPK>_<word>_<emotion>) is TESS's"
            )
        speaker = {"OA": "OAF", "YA": "YAF"}.get(m.group(1).upper(), m.group(1).upper())
        emotion, word = m.group(3), m.group(2)
    return {
        "raw_emotion": _tess_emotion(emotion),
        "speaker": speaker,
        "gender": "female",
        "intensity": None,
        "statement": word,
    }


_SAVEE_SPEAKERS = ("DC", "JE", "JK", "KL")
_SAVEE_CODES = {
    "a": "angry",
    "d": "disgust",
    "f": "fearful",
    "h": "happy",
    "n": "neutral",
    "sa": "sad",
    "su": "surprised",
}
# two-letter codes first: "sa01" must not parse as "s" + "a01"
_SAVEE_FLAT_RE = re.compile(r"^(DC|JE|JK|KL)_(sa|su|a|d|f|h|n)(\d+)$", re.IGNORECASE)
_SAVEE_NESTED_RE = re.compile(r"^(sa|su|a|d|f|h|n)(\d+)$", re.IGNORECASE)


def _parse_savee(path: Path, ctx: dict) -> dict:
    m = _SAVEE_FLAT_RE.match(path.stem)
    if m:
        speaker, code = m.group(1).upper(), m.group(2).lower()
    else:
        m = _SAVEE_NESTED_RE.match(path.stem)
        if not m or path.parent.name.upper() not in _SAVEE_SPEAKERS:
            raise _Skip("name is neither SAVEE's <SPK>_<code><NN> nor AudioData/<SPK>/<code><NN>")
        speaker, code = path.parent.name.upper(), m.group(1).lower()
    return {
        "raw_emotion": _SAVEE_CODES[code],
        "speaker": speaker,
        "gender": "male",
        "intensity": None,
        "statement": None,
    }


_CREMAD_RE = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")
_CREMAD_EMOTIONS = {
    "ANG": "angry",
    "DIS": "disgust",
    "FEA": "fearful",
    "HAP": "happy",
    "NEU": "neutral",
    "SAD": "sad",
}
_CREMAD_INTENSITY = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}


def _parse_cremad(path: Path, ctx: dict) -> dict:
    m = _CREMAD_RE.match(path.stem)
    if not m or m.group(3) not in _CREMAD_EMOTIONS or m.group(4) not in _CREMAD_INTENSITY:
        raise _Skip(
            "name is not CREMA-D's NNNN_SSS_EEE_II (EEE in ANG DIS FEA HAP NEU SAD, II in LO MD HI XX)"
        )
    actor = m.group(1)
    return {
        "raw_emotion": _CREMAD_EMOTIONS[m.group(3)],
        "speaker": actor,
        "gender": ctx["cremad_genders"].get(actor, "unknown"),
        "intensity": _CREMAD_INTENSITY[m.group(4)],
        "statement": m.group(2),
    }


_EMODB_RE = re.compile(r"^(\d{2})([a-z]\d{2})([WLEAFTN])([a-z])$")
_EMODB_EMOTIONS = {
    "W": "angry",
    "L": "boredom",
    "E": "disgust",
    "A": "fearful",
    "F": "happy",
    "T": "sad",
    "N": "neutral",
}
_EMODB_GENDERS = {
    "03": "male",
    "08": "female",
    "09": "female",
    "10": "male",
    "11": "male",
    "12": "male",
    "13": "female",
    "14": "female",
    "15": "male",
    "16": "female",
}


def _parse_emodb(path: Path, ctx: dict) -> dict:
    m = _EMODB_RE.match(path.stem)
    if not m:
        raise _Skip("name is not EmoDB's SSTNNEV (e.g. 03a01Fa; emotion W L E A F T N)")
    return {
        "raw_emotion": _EMODB_EMOTIONS[m.group(3)],
        "speaker": m.group(1),
        "gender": _EMODB_GENDERS.get(m.group(1), "unknown"),
        "intensity": None,
        "statement": m.group(2),
    }


_PARSERS = {
    "ravdess": _parse_ravdess,
    "tess": _parse_tess,
    "savee": _parse_savee,
    "cremad": _parse_cremad,
    "emodb": _parse_emodb,
}


# ----------------------------------------------------------------------------- helpers


def _scan(data_dir: Path) -> tuple[list[Path], list[Path], int]:
    """(media files, csv files, hidden/macOS files) under ``data_dir``, sorted, recursively."""
    media: list[Path] = []
    tables: list[Path] = []
    hidden = 0
    for root, dirs, files in os.walk(data_dir, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX")
        for name in files:
            p = Path(root, name)
            suffix = p.suffix.lower()
            if name.startswith("."):
                hidden += suffix in MEDIA_EXTENSIONS
            elif suffix in MEDIA_EXTENSIONS:
                media.append(p)
            elif suffix == ".csv":
                tables.append(p)
    return sorted(media), sorted(tables), hidden


def _check_file(path: Path) -> float:
    """Duration from the header; raises _Skip for empty or unreadable files. Reads no samples."""
    from .audio import audio_info

    try:
        size = path.stat().st_size
    except OSError as err:
        raise _Skip(f"cannot stat ({err.strerror})") from err
    if size == 0:
        raise _Skip("empty file (0 bytes)")
    try:
        duration, rate, channels = audio_info(path)
    except SERError as err:
        raise _Skip("unreadable: no audio header that libsndfile or FFmpeg can parse") from err
    if not duration or duration <= 0 or rate <= 0 or channels <= 0:
        raise _Skip("no audio samples in the header (duration 0)")
    return float(duration)


def _read_cremad_genders(tables: list[Path], data_dir: Path) -> dict[str, str]:
    candidates = [t for t in tables if t.name.lower() == "videodemographics.csv"]
    candidates += [p for p in data_dir.parent.glob("*.csv") if p.name.lower() == "videodemographics.csv"]
    if not candidates:
        logger.warning("cremad: no VideoDemographics.csv in or next to %s; gender is 'unknown'", data_dir)
        return {}
    genders: dict[str, str] = {}
    with open(candidates[0], newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            actor, sex = (row.get("ActorID") or "").strip(), row.get("Sex")
            if actor:
                genders[actor] = normalize_gender(sex)
    return genders


def _resolve_name(name: str) -> str:
    key = str(name).strip().lower()
    return _NAME_ALIASES.get(key, key)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "corpus"


class _Labeler:
    """Applies ``label_map`` then the scheme; counts what it drops."""

    def __init__(
        self, scheme: LabelScheme | None, label_map: dict[str, str | None] | None, report: CorpusReport
    ):
        self.scheme, self.label_map, self.report = scheme, label_map or {}, report

    def __call__(self, raw: str, gender: str) -> str | None:
        """Scheme class, None when dropped; raises _Skip for a label nobody knows."""
        value = self.label_map[raw] if raw in self.label_map else raw
        if value is None:
            self.report.dropped_by_scheme[raw] = self.report.dropped_by_scheme.get(raw, 0) + 1
            return None
        if self.scheme is None:  # native generic scheme: the labels are the classes
            return str(value)
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
        return label


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
    e.g. a Hub or parquet dataset). :func:`ser_hf.audio.load_audio` accepts both."""
    paths = ds["path"] if "path" in ds.column_names else [None] * len(ds)
    out: list[Any] = [paths[i] if paths[i] and os.path.isfile(paths[i]) else None for i in rows]
    if any(source is None for source in out):
        import datasets

        raw = ds.cast_column("audio", datasets.Audio(decode=False))
        out = [source if source is not None else raw[int(i)]["audio"] for source, i in zip(out, rows)]
    return out


def label_scheme_of(ds) -> str | None:
    """The label scheme a dataset from :func:`load_corpus` was built with (``None`` if unknown)."""
    m = re.search(r"label_scheme=(\S+)", getattr(ds.info, "description", "") or "")
    return m.group(1) if m else None


def _finish(ds, report: CorpusReport, started: float, data_dir: str):
    report.rows = len(ds)
    report.seconds = time.perf_counter() - started
    if report.skipped:
        logger.warning(
            "%s: skipped %d of %d audio files (empty, unreadable or unparseable); "
            "use return_report=True or 'ser-hf corpus' to list them",
            report.corpus,
            report.n_skipped,
            report.files_found,
        )
    if report.dropped_unknown_gender:
        logger.warning(
            "%s: dropped %d rows of unknown gender (scheme %s needs the gender)",
            report.corpus,
            report.dropped_unknown_gender,
            report.label_scheme,
        )
    if len(ds) == 0:
        reasons = Counter(s.reason for s in report.skipped).most_common(3)
        raise SERError(
            f"no usable {report.corpus} clips (found {report.files_found} audio files; skipped "
            f"{report.n_skipped}: {reasons}; dropped by scheme: {report.dropped_by_scheme}; unknown gender: "
            f"{report.dropped_unknown_gender}). Check the folder, the corpus name and the label scheme "
            "(gender_emotion needs known genders)",
            source=data_dir,
        )
    return ds


# ----------------------------------------------------------------------------- loaders


def _load_native(
    corpus: str,
    root: Path,
    scheme: LabelScheme,
    label_map,
    include_song: bool,
    check_files: bool,
    report: CorpusReport,
) -> list[dict]:
    media, tables, hidden = _scan(root)
    report.files_found = len(media)
    if hidden:
        report.excluded["hidden or macOS metadata files (._*)"] = hidden
    ctx = {"include_song": include_song}
    if corpus == "cremad":
        ctx["cremad_genders"] = _read_cremad_genders(tables, root)
    parse = _PARSERS[corpus]
    labeler = _Labeler(scheme, label_map, report)
    rows = []
    for path in media:
        try:
            meta = parse(path, ctx)
            gender = meta["gender"]
            label = labeler(meta["raw_emotion"], gender)
            if label is None:
                continue
            duration = _check_file(path) if check_files else None
        except _Exclude as why:
            report.excluded[str(why)] = report.excluded.get(str(why), 0) + 1
            continue
        except _Skip as why:
            report.skipped.append(SkippedFile(str(path), str(why)))
            continue
        rows.append(
            {
                **meta,
                "audio": str(path),
                "path": str(path),
                "emotion": label,
                "speaker": f"{corpus}_{meta['speaker']}",
                "corpus": corpus,
                "duration": duration,
            }
        )
    return rows


def _pick(
    columns: Iterable[str], wanted: str | None, candidates: Sequence[str], what: str, source: str
) -> str | None:
    columns = list(columns)
    if wanted is not None:
        if wanted not in columns:
            raise SERError(f"has no {what} column {wanted!r}; columns are {columns}", source=source)
        return wanted
    return next((c for c in candidates if c in columns), None)


def _load_audiofolder(
    root: Path,
    corpus: str,
    scheme: LabelScheme | None,
    label_map,
    check_files: bool,
    report: CorpusReport,
    label_column: str | None,
    speaker_column: str | None,
    gender_column: str | None,
    audio_column: str | None,
) -> list[dict]:
    meta_file = root / "metadata.csv"
    labeler = _Labeler(scheme, label_map, report)
    entries: list[tuple[Path, str, str | None, str | None]] = []  # path, raw label, speaker, gender
    if meta_file.is_file():
        with open(meta_file, newline="", encoding="utf-8-sig") as f:
            table = list(csv.DictReader(f))
        cols = table[0].keys() if table else []
        src = str(meta_file)
        file_col = _pick(cols, audio_column, ("file_name", "path", "file", "audio"), "file", src)
        lab_col = _pick(cols, label_column, ("emotion", "label", "labels"), "label", src)
        spk_col = _pick(cols, speaker_column, ("speaker", "speaker_id", "actor"), "speaker", src)
        gen_col = _pick(cols, gender_column, ("gender", "sex"), "gender", src)
        if file_col is None or lab_col is None:
            raise SERError("metadata.csv needs a 'file_name' and a 'label' (or 'emotion') column", source=src)
        for row in table:
            entries.append(
                (
                    root / row[file_col],
                    row[lab_col],
                    row.get(spk_col) if spk_col else None,
                    row.get(gen_col) if gen_col else None,
                )
            )
        report.files_found = len(entries)
    else:
        media, _, hidden = _scan(root)
        if hidden:
            report.excluded["hidden or macOS metadata files (._*)"] = hidden
        report.files_found = len(media)
        for p in media:
            if p.parent == root:
                report.skipped.append(SkippedFile(str(p), "audiofolder file outside a <label>/ folder"))
                continue
            entries.append((p, p.parent.name, None, None))
    rows = []
    for path, raw, speaker, gender in entries:
        gender = normalize_gender(gender)
        try:
            if not path.is_file():
                raise _Skip("listed in metadata.csv but missing")
            label = labeler(raw, gender)
            if label is None:
                continue
            duration = _check_file(path) if check_files else None
        except _Skip as why:
            report.skipped.append(SkippedFile(str(path), str(why)))
            continue
        rows.append(
            {
                "audio": str(path),
                "path": str(path),
                "emotion": label,
                "raw_emotion": normalize_emotion(raw) or raw,
                "speaker": f"{corpus}_{speaker if speaker not in (None, '') else 'unknown'}",
                "gender": gender,
                "corpus": corpus,
                "duration": duration,
            }
        )
    return rows


def _open_hf(name: str, data_dir: str | None, split: str | None):
    import datasets

    target = Path(data_dir) if data_dir else None
    try:
        if name == "disk":
            if target is None:
                raise SERError("name 'disk' needs data_dir = a folder written by save_to_disk", source=name)
            ds = datasets.load_from_disk(str(target))
        elif name == "parquet":
            if target is None:
                raise SERError(
                    "name 'parquet' needs data_dir = a parquet file or a folder of them", source=name
                )
            files = [str(target)] if target.is_file() else sorted(str(p) for p in target.rglob("*.parquet"))
            if not files:
                raise SERError("no .parquet files here", source=str(target))
            ds = datasets.load_dataset("parquet", data_files=files, split="train")
        else:
            ds = datasets.load_dataset(name, data_dir=data_dir, split=split or "train")
    except SERError:
        raise
    except Exception as err:
        raise SERError(
            f"could not load this dataset ({type(err).__name__}: {err}). Known corpus names: "
            f"{', '.join(KNOWN_CORPORA)}; other names are Hub dataset ids (offline: use a save_to_disk folder "
            "with name 'disk' or parquet files with name 'parquet')",
            source=name if data_dir is None else f"{name} {data_dir}",
        ) from err
    if isinstance(ds, datasets.DatasetDict):
        wanted = split or ("train" if "train" in ds else None)
        if wanted not in ds:
            raise SERError(f"has splits {list(ds)}; pass split=...", source=name)
        ds = ds[wanted]
    return ds


def _load_hf(
    name: str,
    data_dir: str | None,
    split: str | None,
    corpus: str,
    scheme: LabelScheme | None,
    label_map,
    report: CorpusReport,
    audio_column: str | None,
    label_column: str | None,
    speaker_column: str | None,
    gender_column: str | None,
    keep_corpus_column: bool,
):
    """A Hub / save_to_disk / parquet dataset -> (audio-only dataset, standard metadata columns,
    class names for the native scheme). Metadata only, no decoding.

    A dataset that already has ser_hf's columns (pushed by ``ser-hf push-dataset``) keeps its
    ``corpus``, speaker ids and metadata, and is re-labelled from ``raw_emotion`` when a scheme is
    given, so a harmonized7 upload can be loaded back as ravdess8.
    """
    from datasets import ClassLabel

    ds = _open_hf(name, data_dir, split)
    src = f"{name} {data_dir or ''}".strip()
    cols = ds.column_names
    own_format = label_column is None and {"emotion", "raw_emotion", "speaker", "corpus"} <= set(cols)
    audio_col = _pick(cols, audio_column, ("audio", "file", "path", "file_name"), "audio", src)
    label_col = _pick(cols, label_column, ("emotion", "label", "labels", "emotion_label"), "label", src)
    if own_format and scheme is not None:
        label_col = "raw_emotion"
    spk_col = _pick(
        cols, speaker_column, ("speaker", "speaker_id", "actor", "actor_id", "client_id"), "speaker", src
    )
    gen_col = _pick(cols, gender_column, ("gender", "sex"), "gender", src)
    if audio_col is None or label_col is None:
        raise SERError(
            f"needs an audio and a label column (got {cols}); pass audio_column= and label_column=",
            source=src,
        )
    optional = [c for c in ("raw_emotion", "intensity", "statement", "duration") if c in cols and own_format]
    if keep_corpus_column and "corpus" in cols:
        optional.append("corpus")
    meta_cols = list(dict.fromkeys(c for c in (label_col, spk_col, gen_col, *optional) if c))
    meta = ds.select_columns(meta_cols).to_dict()
    n = len(ds)
    label_feature = ds.features[label_col]
    raws = [str(v) for v in meta[label_col]]
    native_names = None
    if isinstance(label_feature, ClassLabel):
        raws = [label_feature.int2str(int(v)) for v in meta[label_col]]
        if not label_map:
            native_names = list(label_feature.names)  # keep the dataset's own id order
    speakers = meta[spk_col] if spk_col else [None] * n
    genders = [normalize_gender(g) for g in meta[gen_col]] if gen_col else ["unknown"] * n
    corpora = [str(c) for c in meta["corpus"]] if "corpus" in meta else [corpus] * n
    # source paths without decoding: the arrow view of the audio column
    arrow_audio = ds.with_format("arrow").select_columns([audio_col])[:][audio_col]
    if hasattr(arrow_audio.type, "get_field_index") and arrow_audio.type.get_field_index("path") >= 0:
        paths = arrow_audio.combine_chunks().field("path").to_pylist()
    else:
        paths = arrow_audio.to_pylist()
    report.files_found = n
    labeler = _Labeler(scheme, label_map, report)
    keep, labels = [], []
    for i, (raw, gender) in enumerate(zip(raws, genders)):
        try:
            label = labeler(raw, gender)
        except _Skip as why:
            report.skipped.append(SkippedFile(f"{src}[{i}] {paths[i] or ''}".strip(), str(why)))
            continue
        if label is not None:
            keep.append(i)
            labels.append(label)
    ds = ds.select_columns([audio_col]).select(keep)
    if audio_col != "audio":
        ds = ds.rename_column(audio_col, "audio")

    def speaker_id(i: int) -> str:
        spk, c = speakers[i], corpora[i]
        spk = "unknown" if spk in (None, "") else str(spk)
        return spk if spk.startswith(f"{c}_") else f"{c}_{spk}"  # already prefixed by ser_hf

    def column(name: str, default=None) -> list:
        return [meta[name][i] for i in keep] if name in meta else [default] * len(keep)

    extra = {
        "path": [paths[i] or "" for i in keep],
        "emotion": labels,
        "raw_emotion": [normalize_emotion(raws[i]) or raws[i] for i in keep]
        if "raw_emotion" not in meta
        else column("raw_emotion"),
        "speaker": [speaker_id(i) for i in keep],
        "gender": [genders[i] for i in keep],
        "corpus": [corpora[i] for i in keep],
        "intensity": column("intensity"),
        "statement": column("statement"),
        "duration": column("duration"),
    }
    return ds, extra, native_names


def load_corpus(
    name: str,
    data_dir: str | os.PathLike | None = None,
    label_scheme: str | None = None,
    *,
    include_song: bool = False,
    check_files: bool = True,
    label_map: dict[str, str | None] | None = None,
    audio_column: str | None = None,
    label_column: str | None = None,
    speaker_column: str | None = None,
    gender_column: str | None = None,
    split: str | None = None,
    corpus_name: str | None = None,
    return_report: bool = False,
):
    """Load one corpus as a ``datasets.Dataset`` (columns in the module docstring).

    Args:
        name: ``ravdess``, ``tess``, ``savee``, ``cremad``, ``emodb``, ``audiofolder``, ``disk``,
            ``parquet`` or a Hub dataset id; an existing folder as ``name`` is auto-detected.
        data_dir: the corpus folder (the folder that holds ``Actor_NN/``, ``AudioWAV/``, ...).
        label_scheme: a scheme of :mod:`ser_hf.labels`; ``None``/``"native"`` = the corpus's own
            (RAVDESS ``ravdess8``, TESS/SAVEE ``harmonized7``, CREMA-D ``common6``, EmoDB
            ``emodb7``; generic data: the sorted set of its labels).
        include_song: RAVDESS only: keep song clips (vocal channel 02).
        check_files: read each file's header and skip unreadable ones (fast: no decoding).
        label_map: ``{raw label: scheme label or canonical emotion or None (drop)}``, applied
            before the scheme.
        audio_column, label_column, speaker_column, gender_column: column names for generic data
            (``audiofolder`` metadata.csv, Hub, disk, parquet); defaults are guessed.
        split: the split of a Hub / DatasetDict dataset (default ``train``).
        corpus_name: the ``corpus`` column and speaker prefix (default: the corpus name, or the
            folder / dataset name for generic data).
        return_report: return ``(dataset, CorpusReport)`` instead of the dataset.

    Raises:
        SERError: unknown corpus or scheme, missing folder, or no usable clip at all.
    """
    started = time.perf_counter()
    kind = _resolve_name(name)
    if data_dir is None and kind not in KNOWN_CORPORA and Path(str(name)).is_dir():
        data_dir, kind = str(name), "auto"
    if kind == "auto":
        p = Path(str(data_dir))
        if (p / "state.json").exists() or (p / "dataset_dict.json").exists():
            kind = "disk"
        elif any(p.rglob("*.parquet")):
            kind = "parquet"
        else:
            kind = "audiofolder"
    hub = kind not in KNOWN_CORPORA and kind not in ("disk", "parquet")
    # a Hub dataset's data_dir is a folder inside the Hub repo, not a local path
    root = Path(data_dir).expanduser().resolve() if data_dir is not None and not hub else None
    if kind in KNOWN_CORPORA or kind in ("disk", "parquet"):
        if root is None or not root.exists():
            raise SERError(
                f"corpus folder not found; pass the folder of the {kind} corpus", source=str(data_dir)
            )
    generic = kind not in _PARSERS
    if corpus_name:
        corpus = corpus_name
    elif not generic:
        corpus = kind
    elif kind in ("audiofolder", "disk", "parquet"):
        corpus = _slug(root.name)
    else:  # a Hub id: its last part
        corpus = _slug(str(name).split("/")[-1])

    scheme_key = label_scheme if label_scheme not in (None, "native") else CORPUS_DEFAULT_SCHEME.get(kind)
    scheme = get_scheme(scheme_key) if scheme_key is not None else None  # None: generic native labels
    scheme_name = scheme.name if scheme is not None else "native"
    report = CorpusReport(corpus=corpus, data_dir=str(root or name), label_scheme=scheme_name)

    if not generic:
        rows = _load_native(kind, root, scheme, label_map, include_song, check_files, report)
        ds = _build(rows, scheme.names, corpus, scheme_name)
    elif kind == "audiofolder":
        rows = _load_audiofolder(
            root,
            corpus,
            scheme,
            label_map,
            check_files,
            report,
            label_column,
            speaker_column,
            gender_column,
            audio_column,
        )
        names = scheme.names if scheme is not None else sorted({r["emotion"] for r in rows})
        ds = _build(rows, names, corpus, scheme_name)
    else:
        from datasets import Dataset, concatenate_datasets

        base, extra, native_names = _load_hf(
            kind,
            str(root) if root is not None else (str(data_dir) if data_dir is not None else None),
            split,
            corpus,
            scheme,
            label_map,
            report,
            audio_column,
            label_column,
            speaker_column,
            gender_column,
            keep_corpus_column=corpus_name is None,
        )
        names = scheme.names if scheme is not None else (native_names or sorted(set(extra["emotion"])))
        features = _features(names)
        table = Dataset.from_dict(
            extra, features=type(features)({k: v for k, v in features.items() if k != "audio"})
        )
        base = base.cast_column("audio", features["audio"])
        ds = concatenate_datasets([base, table], axis=1)
        ds = ds.select_columns(list(COLUMNS))
        ds.info.description = _info(corpus, scheme_name).description
    ds = _finish(ds, report, started, str(data_dir or name))
    logger.info("%s: %d rows, %d skipped, %.2f s", corpus, report.rows, report.n_skipped, report.seconds)
    return (ds, report) if return_report else ds


def load_corpora(
    corpora: Sequence[tuple[str, str] | dict[str, Any]],
    label_scheme: str = "harmonized7",
    *,
    return_report: bool = False,
    **kwargs: Any,
):
    """Load several corpora with one label scheme and concatenate them (one ``ClassLabel``).

    ``corpora``: ``[("ravdess", dir), ("tess", dir), ...]`` or dicts of :func:`load_corpus`
    arguments (``{"name": "cremad", "data_dir": ..., "corpus_name": ...}``). ``kwargs`` go to every
    :func:`load_corpus` call. Returns the dataset, or ``(dataset, [CorpusReport, ...])``.
    """
    from datasets import concatenate_datasets

    if label_scheme in (None, "native"):
        raise SERError(
            "concatenated corpora need one named label scheme (e.g. harmonized7)", source="label_scheme"
        )
    parts, reports = [], []
    for spec in corpora:
        args = dict(spec) if isinstance(spec, dict) else {"name": spec[0], "data_dir": spec[1]}
        ds, report = load_corpus(**{**kwargs, **args, "label_scheme": label_scheme, "return_report": True})
        parts.append(ds)
        reports.append(report)
    names = Counter(r.corpus for r in reports)
    if any(n > 1 for n in names.values()):
        logger.warning(
            "corpus names repeat (%s): their speaker ids may collide; pass corpus_name= to tell them apart",
            {k: v for k, v in names.items() if v > 1},
        )
    ds = concatenate_datasets(parts) if len(parts) > 1 else parts[0]
    ds.info.description = (
        f"ser_hf corpus={'+'.join(r.corpus for r in reports)} label_scheme={reports[0].label_scheme}"
    )
    return (ds, reports) if return_report else ds


# ----------------------------------------------------------------------------- summary and CLI


def corpus_summary(ds) -> dict[str, Any]:
    """Counts for a dataset card or a log line; metadata only, no decoding.

    Returns ``{"rows", "speakers", "label_scheme", "classes", "per_emotion", "per_gender",
    "speakers_per_gender", "per_corpus": {corpus: {"rows", "speakers", "genders"}},
    "hours", "sources"}``; ``per_emotion`` follows the ``ClassLabel`` order.
    """
    cols = [c for c in ("emotion", "speaker", "gender", "corpus", "duration") if c in ds.column_names]
    meta = ds.select_columns(cols).to_dict()
    feature = ds.features.get("emotion")
    classes = list(getattr(feature, "names", []) or [])
    emotions = [classes[v] if classes else v for v in meta.get("emotion", [])]
    speakers = meta.get("speaker", [])
    genders = meta.get("gender", ["unknown"] * len(ds))
    corpora = meta.get("corpus", ["unknown"] * len(ds))
    per_emotion = Counter(emotions)
    spk_gender = {s: g for s, g in zip(speakers, genders)}
    per_corpus: dict[str, dict[str, Any]] = {}
    for c in sorted(set(corpora)):
        idx = [i for i, x in enumerate(corpora) if x == c]
        spk = {speakers[i] for i in idx} if speakers else set()
        per_corpus[c] = {
            "rows": len(idx),
            "speakers": len(spk),
            "genders": dict(Counter(spk_gender[s] for s in spk)),
        }
    durations = [d for d in meta.get("duration", []) if d is not None]
    return {
        "rows": len(ds),
        "speakers": len(set(speakers)),
        "label_scheme": label_scheme_of(ds),
        "classes": classes,
        "per_emotion": {c: per_emotion.get(c, 0) for c in classes} if classes else dict(per_emotion),
        "per_gender": dict(sorted(Counter(genders).items())),
        "speakers_per_gender": dict(sorted(Counter(spk_gender.values()).items())),
        "per_corpus": per_corpus,
        "hours": round(sum(durations) / 3600, 3) if durations else None,
        "sources": {c: CORPUS_SOURCES[c] for c in per_corpus if c in CORPUS_SOURCES},
    }


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as aligned text lines."""
    lines = [
        f"rows: {summary['rows']}   speakers: {summary['speakers']}   scheme: {summary['label_scheme']}"
        + (f"   hours: {summary['hours']:.2f}" if summary.get("hours") else ""),
        "per gender (rows): " + ", ".join(f"{k} {v}" for k, v in summary["per_gender"].items()),
        "speakers per gender: " + ", ".join(f"{k} {v}" for k, v in summary["speakers_per_gender"].items()),
        "per emotion:",
    ]
    lines += [f"  {k:<20} {v}" for k, v in summary["per_emotion"].items()]
    lines.append("per corpus:")
    lines += [
        f"  {k:<20} {v['rows']} rows, {v['speakers']} speakers {v['genders']}"
        for k, v in summary["per_corpus"].items()
    ]
    return "\n".join(lines)


def cli(argv: list[str]) -> int:
    """``ser-hf corpus NAME DIR [--scheme S]``: load a corpus, print its summary and skipped files."""
    parser = argparse.ArgumentParser(prog="ser-hf corpus", description=cli.__doc__)
    parser.add_argument(
        "name", help=f"corpus: {', '.join(KNOWN_CORPORA)}, disk, parquet, or a Hub dataset id"
    )
    parser.add_argument("data_dir", nargs="?", default=None, help="the corpus folder")
    parser.add_argument("--scheme", default=None, help="label scheme (default: the corpus's native one)")
    parser.add_argument("--include-song", action="store_true", help="RAVDESS: keep song clips")
    parser.add_argument(
        "--no-check", action="store_true", help="do not read file headers (faster, no skip check)"
    )
    parser.add_argument("--label-column", default=None)
    parser.add_argument("--speaker-column", default=None)
    parser.add_argument("--audio-column", default=None)
    parser.add_argument("--split", default=None, help="split of a Hub dataset")
    parser.add_argument("--max-paths", type=int, default=50, help="skipped files to list (default 50)")
    parser.add_argument("--json", action="store_true", help="print the summary and report as JSON")
    args = parser.parse_args(argv)
    ds, report = load_corpus(
        args.name,
        args.data_dir,
        args.scheme,
        include_song=args.include_song,
        check_files=not args.no_check,
        label_column=args.label_column,
        speaker_column=args.speaker_column,
        audio_column=args.audio_column,
        split=args.split,
        return_report=True,
    )
    summary = corpus_summary(ds)
    if args.json:
        print(json.dumps({"summary": summary, "report": report.to_dict()}, indent=2))
    else:
        print(format_summary(summary))
        print(report.format(max_paths=args.max_paths))
    return 0
