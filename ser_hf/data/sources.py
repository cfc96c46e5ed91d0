"""Corpora that are not a native layout: ``<label>/<file>`` audio folders, Hub dataset ids,
``save_to_disk`` folders and parquet files, with the columns picked by name.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from pathlib import Path

from ..errors import SERError
from .dataset_splits import choose_splits, folder_splits, no_splits, parquet_splits
from .labels import (
    LabelScheme,
    normalize_emotion,
    normalize_gender,
)
from .layouts import _check_file, _scan
from .metadata import (
    find_metadata,
    listed_path,
    missing_reason,
    pick_column,
    read_metadata,
    speaker_id_twins,
)
from .rows import (
    KNOWN_CORPORA,
    CorpusReport,
    SkippedFile,
    _fold,
    _Labeler,
    _Skip,
)
from .source_kinds import unreadable_path

logger = logging.getLogger(__name__)


# the column names guessed when none is given, in order, for metadata.csv and parquet / Hub datasets alike
SPEAKER_COLUMNS = ("speaker", "speaker_id", "actor", "actor_id", "client_id", "spk", "spk_id", "talker")


def _once_per_file(entries: list, src: str, report: CorpusReport) -> list:
    """Each file of metadata.csv once: a file listed again with the same label is kept once (a
    warning counts the repeats); one listed with different labels is skipped, every row of it, and
    reported with its labels (it trained under each label, without a word)."""
    rows_of: dict[str, list[int]] = {}
    for i, (path, *_) in enumerate(entries):
        rows_of.setdefault(os.path.normpath(path.absolute()), []).append(i)
    present = sum(1 for path in rows_of if os.path.isfile(path))  # a listed file missing is no file found
    report.files_found += present  # a folder's splits, each with its metadata.csv, add up
    report.files_missing += len(rows_of) - present
    drop: set[int] = set()
    for rows in (r for r in rows_of.values() if len(r) > 1):
        labels = sorted({str(entries[i][1]).strip() for i in rows}, key=str.casefold)
        if len({_fold(label) for label in labels}) > 1:  # as the loader merges spellings
            drop.update(rows)
            why = f"listed {len(rows)} times in metadata.csv with different labels ({', '.join(labels)})"
            report.skipped.append(SkippedFile(str(entries[rows[0]][0]), why))
        else:
            drop.update(rows[1:])
    repeats = sum(len(r) - 1 for r in rows_of.values() if len(r) > 1 and r[0] not in drop)
    if repeats:
        logger.warning(
            "%s: %d row(s) list a file again with the same label; each file is read once", src, repeats
        )
    return [e for i, e in enumerate(entries) if i not in drop]


def _warn_outside(entries: list[tuple], root: Path, src: str) -> None:
    """Warn, once each with a count, of rows that name files outside the corpus folder (``../x.wav``,
    ``/abs/x.wav``) and of rows that symbolic links lead outside it (``link.wav -> /elsewhere/x.wav``,
    ``etcdir/passwd`` with ``etcdir -> /etc``). Both are loaded as asked (a corpus of links into a
    shared audio store is a real layout); push-dataset would upload them."""
    # realpath, not resolve(): a link loop raised RuntimeError and ended the load (it is a skipped row)
    inside, resolved_root = root.absolute(), Path(os.path.realpath(root))
    named, linked = [], []
    for p, *_ in entries:
        if not Path(os.path.normpath(p.absolute())).is_relative_to(inside):
            named.append(str(p))
        elif not (target := Path(os.path.realpath(p))).is_relative_to(resolved_root):
            linked.append(f"{p} -> {target}")
    if named:  # ../x.wav or /abs/x.wav: loaded as asked, and push-dataset would upload them
        logger.warning(
            "%s: %d rows name files outside the corpus folder, e.g. %s; they are loaded (and "
            "push-dataset uploads them)",
            src, len(named), named[0],
        )  # fmt: skip
    if linked:
        logger.warning(
            "%s: %d rows name files that symbolic links lead outside the corpus folder, e.g. %s; they are "
            "loaded (and push-dataset uploads them): check that the links point where you meant",
            src, len(linked), linked[0],
        )  # fmt: skip


def _count_unlisted(entries: list[tuple], root: Path, table: str, report: CorpusReport) -> None:
    """Count, in the report and a warning, the audio files in the folder that the metadata table does
    not list: they were left out without a word ("64 rows from 64 audio files" of a folder of 96). Files
    it lists where they are not but whose names are once elsewhere in the folder (``clip.wav`` for
    ``audio/clip.wav``) are said apart, with the path to list: "found 0 audio files" and "72 audio files
    are not in metadata.csv" followed each other without saying why."""
    listed = {os.path.normpath(p.absolute()) for p, *_ in entries}
    media = [p for p in _scan(root)[0] if os.path.normpath(p.absolute()) not in listed]
    if media:  # by the file itself: a name listed in another case or Unicode form than on disk (macOS,
        # Windows), or a file seen again through a folder link, is one of the listed files
        files = {_file_id(p) for p, *_ in entries}
        unlisted: dict[tuple[int, int] | Path, Path] = {}
        for p in media:
            key = _file_id(p)
            if key not in files:
                unlisted.setdefault(key or p, p)
        media = list(unlisted.values())
    by_name: dict[str, list[Path]] = {}
    for p in media:
        by_name.setdefault(p.name, []).append(p)
    # listed without their folder (clip.wav for audio/clip.wav): each name once elsewhere in the folder
    if moved := [
        (e[4], by_name[e[0].name][0])
        for e in entries
        if len(by_name.get(e[0].name, ())) == 1 and not os.path.lexists(e[0])
    ]:
        logger.warning(
            "%s: %d file(s) %s lists are not where it says but elsewhere in the folder, e.g. %r is at %s: "
            "its paths are relative to its own folder, so list that one as %s",
            root, len(moved), table, moved[0][0], *[moved[0][1].relative_to(root).as_posix()] * 2,
        )  # fmt: skip
        found = {f for _, f in moved}
        media = [p for p in media if p not in found]  # not "add a row for each": they have one
    if media:
        why = f"audio files in the folder not in {table} (add a row for each to load them)"
        report.excluded[why] = report.excluded.get(why, 0) + len(media)
        logger.warning(
            "%s: %d audio files in the folder are not in %s, e.g. %s; they are not loaded: add a row for "
            "each (file, label, speaker) to %s to load them",
            root, len(media), table, media[0].relative_to(root), table,
        )  # fmt: skip


def _file_id(path: Path) -> tuple[int, int] | None:
    """``(st_dev, st_ino)`` of the file ``path`` leads to (links followed); None when it cannot be read."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


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
    split: str | None = None,
    default_split: str = "train",
    split_optional: bool = False,
) -> tuple[list[dict], list[str]]:
    """The rows of an audio folder, and the split of each (empty without ``train/ test/`` folders).

    A folder whose audio is all in ``train/ validation/ test/`` sub-folders (each of ``<label>/``
    folders or with its own metadata.csv, or one metadata.csv at the top naming ``train/x.wav``...) has
    those splits, as ``load_dataset("audiofolder", data_dir=...)`` reads it: ``split`` (else
    ``default_split``, :func:`~ser_hf.data.dataset_splits.choose_splits`) picks those read."""
    meta_file = find_metadata(root)
    labeler = _Labeler(scheme, label_map, report)
    listings: dict[Path, dict[str, list[str]]] = {}  # folders listed to match names in another case
    scanned = _scan(root)
    media = scanned[0]
    folders = folder_splits(root, media)
    if folders is None:
        no_splits(split, str(root), split_optional)
        parts: list[tuple[str, Path]] = [("", root)]
    else:
        chosen = choose_splits(list(folders), split, default_split, str(root))
        report.dataset_splits, report.splits_read = list(folders), chosen
        for name, folder in folders.items():
            if name not in chosen:
                report.split_rows[name] = sum(m.is_relative_to(folder) for m in media)
        parts = [(name, folders[name]) for name in chosen]
    # path, raw label, speaker, gender, the file as metadata.csv names it; the split of each
    entries: list[tuple[Path, str, str | None, str | None, str | None]] = []
    entry_splits: list[str] = []
    columns = (label_column, speaker_column, gender_column, audio_column)
    if meta_file is not None and folders is None:
        entries = _table_entries(meta_file, root, report, listings, *columns)
        entry_splits = [""] * len(entries)
    elif (
        meta_file is not None
    ):  # one table for the whole folder: its rows go to the split folder of their file
        for entry in _table_entries(meta_file, root, report, listings, *columns):
            path = entry[0].absolute()
            name = next((n for n, f in parts if path.is_relative_to(f.absolute())), None)
            if name is not None:
                entries.append(entry)
                entry_splits.append(name)
            elif not any(path.is_relative_to(f.absolute()) for f in folders.values()):
                report.skipped.append(SkippedFile(str(entry[0]), "in none of the split folders"))
    else:
        for name, folder in parts:
            sub_meta = find_metadata(folder) if folder != root else None
            found = (
                _table_entries(sub_meta, folder, report, listings, *columns)
                if sub_meta is not None
                else _folder_entries(folder, report, scanned if folder == root else None)
            )
            entries += found
            entry_splits += [name] * len(found)
    rows, row_splits = [], []
    for (path, raw, speaker, gender, listed), name in zip(entries, entry_splits):
        gender = normalize_gender(gender)
        try:
            if why := unreadable_path(path):  # a name too long for the file system aborted the whole load
                raise _Skip(why)
            if not path.is_file():
                raise _Skip(missing_reason(root, listed or str(path), listings))
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
        row_splits.append(name)
        if scheme is not None:
            report.given_labels.append(str(labeler.given(raw)))
    for row, label in zip(rows, labeler.resolve([r["emotion"] for r in rows])):
        row["emotion"] = label
    return rows, (row_splits if folders is not None else [])


def _folder_entries(folder: Path, report: CorpusReport, scanned: tuple | None = None) -> list[tuple]:
    """The entries of a folder of ``<label>/<file>`` folders (no metadata.csv); ``scanned``: its
    :func:`~ser_hf.data.layouts._scan`, when done."""
    media, _, hidden = scanned or _scan(folder)
    if hidden:
        key = "hidden or macOS metadata files (._*)"
        report.excluded[key] = report.excluded.get(key, 0) + hidden
    report.files_found += len(media)
    entries = []
    for p in media:
        if p.parent == folder:
            report.skipped.append(SkippedFile(str(p), "audiofolder file outside a <label>/ folder"))
            continue
        entries.append((p, p.parent.name, None, None, None))
    _warn_outside(entries, folder, str(folder))
    return entries


def _table_entries(
    meta_file: Path,
    root: Path,
    report: CorpusReport,
    listings: dict,
    label_column: str | None,
    speaker_column: str | None,
    gender_column: str | None,
    audio_column: str | None,
) -> list[tuple]:
    """The entries a metadata.csv lists (paths relative to ``root``, its folder), each file once."""
    table = read_metadata(meta_file)
    src = str(meta_file)
    if not table:  # "needs a 'file_name' ... its columns are []" blamed columns that are there
        raise SERError(f"{meta_file.name} lists no files (a header alone, or nothing)", source=src)
    cols = table[0].keys()
    file_col = pick_column(cols, audio_column, ("file_name", "path", "file", "audio"), "file", src)
    lab_col = pick_column(cols, label_column, ("emotion", "label", "labels"), "label", src)
    spk_col = pick_column(cols, speaker_column, SPEAKER_COLUMNS, "speaker", src)
    if spk_col is None and table:
        logger.warning(
            "%s: no speaker column (looked for %s; --speaker-column COLUMN names another, from Python "
            "speaker_column=): all its clips get "
            "one speaker, '<corpus>_unknown', so splits by speaker are impossible (--split random splits "
            "by clip); its columns are %s",
            src,
            ", ".join(SPEAKER_COLUMNS),
            list(cols),
        )
    gen_col = pick_column(cols, gender_column, ("gender", "sex"), "gender", src)
    if file_col is None or lab_col is None:  # the one missing, and the option that names it
        lacking = []
        if file_col is None:
            lacking.append("a 'file_name' (or 'path', 'file', 'audio') column (--audio-column names another)")
        if lab_col is None:
            lacking.append("a 'label' (or 'emotion') column (--label-column names another)")
        raise SERError(
            f"{meta_file.name} needs {' and '.join(lacking)}; its columns are {list(cols)}", source=src
        )
    entries: list[tuple[Path, str, str | None, str | None, str | None]] = []
    other_forms: list[Path] = []  # files listed in another Unicode form than their names on disk
    other_cases: list[tuple[str, Path]] = []  # rows listing a file in another case (name, file)
    for row in table:
        listed = row.get(file_col) or ""
        if not listed.strip():
            report.skipped.append(SkippedFile(src, f"a row labelled {row.get(lab_col)!r} names no file"))
            continue
        speaker = (row.get(spk_col) or "").strip() if spk_col else None  # "001 " was a second speaker
        entries.append(
            (
                listed_path(root, listed, other_forms, other_cases, listings),
                row.get(lab_col) or "",
                speaker,
                row.get(gen_col) if gen_col else None,
                listed,
            )
        )
    if other_forms:
        logger.info(
            "%s: %d listed file(s) matched to a name on disk written in another Unicode form (NFC / "
            "NFD: macOS writes names decomposed), e.g. %s",
            src, len(other_forms), other_forms[0],
        )  # fmt: skip
    if other_cases:
        logger.warning(
            "%s: %d listed file(s) matched to the one file on disk named so in another case (Windows and "
            "macOS ignore case, Linux does not), e.g. %s -> %s; write the names as on disk to silence this",
            src, len(other_cases), other_cases[0][0], os.path.relpath(other_cases[0][1], root),
        )  # fmt: skip
    if spk_col and (blank := [e[4] for e in entries if not e[2]]):
        logger.warning(
            "%s: %d of %d row(s) have an empty %r cell (e.g. %s): they form one pseudo-speaker, "
            "'<corpus>_unknown', which splits by speaker refuse beside named speakers; fill them in",
            src, len(blank), len(entries), spk_col, blank[0],
        )  # fmt: skip
    twins = speaker_id_twins({e[2] for e in entries if e[2]})
    if twins:
        logger.warning(
            "%s: speakers %s look like one person written two ways (in another case, with other "
            "punctuation, or without a number's leading zeros, which Excel drops); they are kept apart as "
            "written, so one person can be in training and in test: fix the speaker column (format it as "
            "Text in Excel)%s",
            src, "; ".join(" and ".join(map(repr, t)) for t in twins[:5]),
            f" ({len(twins)} such groups)" if len(twins) > 5 else "",
        )  # fmt: skip
    entries = _once_per_file(entries, src, report)
    _warn_outside(entries, root, src)
    _count_unlisted(entries, root, meta_file.name, report)
    return entries


def _open_hf(
    name: str,
    data_dir: str | None,
    split: str | None,
    report: CorpusReport,
    default_split: str = "train",
    split_optional: bool = False,
):
    """The dataset of a Hub id, a ``save_to_disk`` folder or parquet files, and the split of each row
    (empty when the data have no splits of their own): the splits asked for, or ``default_split``
    among several (:func:`~ser_hf.data.dataset_splits.choose_splits`), recorded in ``report``."""
    import datasets

    target = Path(data_dir) if data_dir else None
    src = name if data_dir is None else str(data_dir)
    parts: dict[str, datasets.Dataset] | None = None  # the splits to read, by name
    try:
        if name == "disk":
            if target is None:
                raise SERError("name 'disk' needs data_dir = a folder written by save_to_disk", source=name)
            ds = datasets.load_from_disk(str(target))
            if isinstance(ds, datasets.DatasetDict):
                chosen = choose_splits(list(ds), split, default_split, src)
                report.split_rows.update({s: len(ds[s]) for s in ds if s not in chosen})
                report.dataset_splits, report.splits_read = list(ds), chosen
                parts = {s: ds[s] for s in chosen}
            else:
                no_splits(split, src, split_optional)
        elif name == "parquet":
            if target is None:
                raise SERError(
                    "name 'parquet' needs data_dir = a parquet file or a folder of them", source=name
                )
            files = [str(target)] if target.is_file() else sorted(str(p) for p in target.rglob("*.parquet"))
            if not files:
                raise SERError("no .parquet files here", source=str(target))
            by_split = parquet_splits(target, files) if target.is_dir() else None
            if by_split is None:
                no_splits(split, src, split_optional)
                ds = datasets.load_dataset("parquet", data_files=files, split="train")
            else:
                chosen = choose_splits(list(by_split), split, default_split, src)
                report.split_rows.update(
                    {s: _parquet_rows(f) for s, f in by_split.items() if s not in chosen}
                )
                report.dataset_splits, report.splits_read = list(by_split), chosen
                read = datasets.load_dataset("parquet", data_files={s: by_split[s] for s in chosen})
                parts = {s: read[s] for s in chosen}
        else:
            available = _hub_splits(name, data_dir)
            if available is None:  # its splits cannot be listed: the one asked for, as before
                ds = datasets.load_dataset(
                    name, data_dir=data_dir, split=split or default_split.split("+")[0]
                )
            else:
                chosen = choose_splits(available, split, default_split, src)
                report.dataset_splits, report.splits_read = list(available), chosen
                parts = {s: datasets.load_dataset(name, data_dir=data_dir, split=s) for s in chosen}
    except SERError:
        raise
    except Exception as err:
        raise SERError(
            f"could not load this dataset ({type(err).__name__}: {err}). Known corpus names: "
            f"{', '.join(KNOWN_CORPORA)}; other names are Hub dataset ids (offline: use a save_to_disk folder "
            "with name 'disk' or parquet files with name 'parquet')",
            source=name if data_dir is None else f"{name} {data_dir}",
        ) from err
    if parts is None:
        return ds, []
    names = list(parts)
    row_splits = [s for s in names for _ in range(len(parts[s]))]
    if len(names) == 1:
        return parts[names[0]], row_splits
    try:
        return datasets.concatenate_datasets([parts[s] for s in names]), row_splits
    except ValueError as err:  # columns or features that differ between the splits
        raise SERError(
            f"its splits {', '.join(names)} cannot be read as one ({err}); read one at a time with --hub-split",
            source=src,
        ) from err


def _parquet_rows(files: list[str]) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def _hub_splits(name: str, data_dir: str | None) -> list[str] | None:
    """The split names of a Hub dataset (its metadata, no data downloaded); None when they cannot be
    listed (offline, no such dataset: its load says why)."""
    import datasets

    try:
        return [str(s) for s in datasets.get_dataset_split_names(name, data_dir=data_dir)]
    except Exception as err:
        logger.debug("%s: splits not listed (%s)", name, err)
        return None


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
    check_files: bool = True,
    default_split: str = "train",
    split_optional: bool = False,
):
    """A Hub / save_to_disk / parquet dataset -> (audio-only dataset, standard metadata columns,
    class names for the native scheme, the split of each row or ``[]``). Metadata only, no decoding.

    A dataset that already has ser_hf's columns (pushed by ``ser-hf push-dataset``) keeps its
    ``corpus``, speaker ids and metadata, and is re-labelled from ``raw_emotion`` when a scheme is
    given, so a harmonized7 upload can be loaded back as ravdess8.
    """
    from datasets import Audio, ClassLabel

    ds, row_splits = _open_hf(name, data_dir, split, report, default_split, split_optional)
    src = f"{name} {data_dir or ''}".strip()
    cols = ds.column_names
    own_format = label_column is None and {"emotion", "raw_emotion", "speaker", "corpus"} <= set(cols)
    # the one column datasets decodes as audio, whatever its name ("wav", "speech"), else one named so
    audio_features = [c for c in cols if isinstance(ds.features.get(c), Audio)]
    audio_col = (
        audio_features[0]
        if audio_column is None and len(audio_features) == 1
        else pick_column(cols, audio_column, ("audio", "file", "path", "file_name"), "audio", src)
    )
    label_col = pick_column(cols, label_column, ("emotion", "label", "labels", "emotion_label"), "label", src)
    if own_format and scheme is not None:
        label_col = "raw_emotion"
    spk_col = pick_column(cols, speaker_column, SPEAKER_COLUMNS, "speaker", src)
    gen_col = pick_column(cols, gender_column, ("gender", "sex"), "gender", src)
    if audio_col is None or label_col is None:
        missing = [what for what, col in (("audio", audio_col), ("label", label_col)) if col is None]
        raise SERError(
            f"has no {' and no '.join(missing)} column ser_hf knows by name (its columns are {cols}): name "
            f"{'them' if len(missing) > 1 else 'it'} with {' and '.join(f'--{w}-column COLUMN' for w in missing)} "
            f"(from Python {', '.join(f'{w}_column=' for w in missing)})",
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
    where = _row_names(src, paths, row_splits)
    labeler = _Labeler(scheme, label_map, report, merge=native_names is None)
    keep, labels = [], []
    for i, (raw, gender) in enumerate(zip(raws, genders)):
        try:
            label = labeler(raw, gender)
        except _Skip as why:
            report.skipped.append(SkippedFile(where[i], str(why)))
            continue
        if label is not None:
            keep.append(i)
            labels.append(label)
    labels = labeler.resolve(labels)
    durations = None
    if check_files and name in ("disk", "parquet"):  # local data: read each row's header, as for folders
        keep, labels, durations = _check_headers(ds, audio_col, keep, labels, where, src, report)
    report.row_sources = [where[i] for i in keep]  # rows may share a path name, or have none
    if scheme is not None:
        report.given_labels = [str(labeler.given(raws[i])) for i in keep]
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
        "duration": durations if durations is not None else column("duration"),
    }
    return ds, extra, native_names, [row_splits[i] for i in keep] if row_splits else []


def _row_names(src: str, paths: list, row_splits: list[str]) -> list[str]:
    """How ``ser-hf corpus`` (its skipped rows), ``--check-audio`` and ``ser-hf evaluate`` name each
    row of a dataset: ``parquet /data/mine[17] audio.wav`` (its position, then the path stored with
    its audio, which may be every row's or none), ``parquet /data/mine test[3] audio.wav`` for the
    data's own splits (counted within the split)."""
    within: Counter[str] = Counter()
    names = []
    for i, path in enumerate(paths):
        at = f"[{i}]"
        if row_splits:
            at = f" {row_splits[i]}[{within[row_splits[i]]}]"
            within[row_splits[i]] += 1
        names.append(f"{src}{at} {path or ''}".strip())
    return names


def _check_headers(
    ds, audio_col: str, keep: list[int], labels: list[str], where: list[str], src: str, report
):
    """The rows of ``keep`` whose audio (its encoded bytes, or the file it names) has a readable
    header, with their labels and durations; the others go to ``report.skipped``, named as ``where``
    names them (:func:`_row_names`). Reads no samples."""
    import datasets

    try:
        raw = ds.select_columns([audio_col]).cast_column(audio_col, datasets.Audio(decode=False))
    except Exception as err:  # a column datasets cannot view as audio: decoding will say why
        logger.info("%s: audio headers not checked (%s)", src, err)
        return keep, labels, None
    checked: tuple[list, list, list] = ([], [], [])
    rows = iter(zip(keep, labels))
    for batch in raw.select(keep).iter(batch_size=256):
        for item, (i, label) in zip(batch[audio_col], rows):
            data, path = (item or {}).get("bytes"), (item or {}).get("path")
            try:
                if data is not None:
                    duration = _check_file(data)
                elif path and Path(path).is_file():
                    duration = _check_file(Path(path))
                else:
                    raise _Skip("no audio: no encoded bytes, and no file at the path it names")
            except _Skip as why:
                report.skipped.append(SkippedFile(where[i], str(why)))
                continue
            for column, value in zip(checked, (i, label, duration)):
                column.append(value)
    return checked
