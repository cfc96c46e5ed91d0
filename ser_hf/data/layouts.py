"""Native corpus layouts: file names (and a few folders or tables) -> row metadata.

One parser per corpus maps a file to its emotion, speaker, gender, intensity and statement, or
skips it (unparseable name) or excludes it (song clips, macOS ``._`` files). ``_load_native``
scans a folder with the right parser and checks each file header.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from pathlib import Path

from ..errors import SERError
from .labels import (
    LabelScheme,
    normalize_emotion,
    normalize_gender,
)
from .rows import MEDIA_EXTENSIONS, CorpusReport, SkippedFile, _Exclude, _Labeler, _Skip

logger = logging.getLogger(__name__)

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


def _check_file(path: Path | bytes) -> float:
    """Duration from the header of a file (or of encoded bytes); raises _Skip for empty or
    unreadable audio, or a clip too short to hold speech. Reads no samples."""
    from .audio import audio_info, too_short

    if isinstance(path, (bytes, bytearray)):
        size = len(path)
    else:
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
    if why := too_short(duration):  # a broken export or a stray click: a label on it teaches noise
        raise _Skip(why)
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
