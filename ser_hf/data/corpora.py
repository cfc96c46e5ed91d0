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

import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import SERError, require_extra
from .dataset_splits import announce, no_splits
from .labels import (
    CORPUS_DEFAULT_SCHEME,
    class_renames,
    get_scheme,
)
from .layouts import _PARSERS, _load_native
from .rows import (
    COLUMNS,
    CORPUS_SOURCES,
    KNOWN_CORPORA,
    CorpusReport,
    _build,
    _features,
    _finish,
    _info,
    _resolve_name,
    _slug,
    drop_undecodable,
    label_scheme_of,
)
from .sources import _load_audiofolder, _load_hf, _warn_outside

logger = logging.getLogger(__name__)


def load_corpus(
    name: str,
    data_dir: str | os.PathLike | None = None,
    label_scheme: str | None = None,
    *,
    include_song: bool = False,
    check_files: bool = True,
    check_audio: bool = False,
    label_map: dict[str, str | None] | None = None,
    audio_column: str | None = None,
    label_column: str | None = None,
    speaker_column: str | None = None,
    gender_column: str | None = None,
    split: str | None = None,
    default_split: str = "train",
    corpus_name: str | None = None,
    return_report: bool = False,
    model_classes: Sequence[str] | None = None,
    _warn_label_map: bool = True,
    _split_optional: bool = False,
):
    """Load one corpus as a ``datasets.Dataset`` (columns in the module docstring).

    Args:
        name: ``ravdess``, ``tess``, ``savee``, ``cremad``, ``emodb``, ``audiofolder``, ``disk``,
            ``parquet`` or a Hub dataset id; an existing folder as ``name`` is auto-detected.
        data_dir: the corpus folder (the folder that holds ``Actor_NN/``, ``AudioWAV/``, ...).
        label_scheme: a scheme of :mod:`ser_hf.data.labels`; ``None``/``"native"`` = the corpus's own
            (RAVDESS ``ravdess8``, TESS/SAVEE ``harmonized7``, CREMA-D ``common6``, EmoDB
            ``emodb7``; generic data: the sorted set of its labels).
        include_song: RAVDESS only: keep song clips (vocal channel 02).
        check_files: read each file's header and skip unreadable ones (fast: no decoding).
        check_audio: also decode every clip and skip those whose samples do not decode (a file cut
            short whose header still reads); slow: the whole corpus is decoded once.
        label_map: ``{raw label: scheme label or canonical emotion or None (drop)}``, applied
            before the scheme.
        audio_column, label_column, speaker_column, gender_column: column names for generic data
            (``audiofolder`` metadata.csv, Hub, disk, parquet); defaults are guessed.
        split: the split(s) to read of data with splits of their own (a Hub dataset, a ``save_to_disk``
            ``DatasetDict``, parquet files named ``train-*.parquet`` / ``test-*.parquet``..., an audio
            folder of ``train/ validation/ test/`` sub-folders), as ``datasets`` names them: ``test``,
            or several joined by ``+`` (``train+validation``); ``validation`` also reads a split named
            ``valid``. A split that is not there is an error naming those that are; one given for data
            without splits is an error too (but ``train``, read whole).
        default_split: the split read when ``split`` is None and the data have several (``+``-joined:
            the first is needed, the others are read where the data have them); data with one split
            are read whole, whatever it is called. Which splits were read and which were left out is
            logged and in the report (``dataset_splits``, ``splits_read``, ``split_rows``,
            ``row_splits``: the split of each row).
        corpus_name: the ``corpus`` column and speaker prefix (default: the corpus name, or the
            folder / dataset name for generic data).
        return_report: return ``(dataset, CorpusReport)`` instead of the dataset.
        model_classes: the classes of the model the data will be scored with: with a label scheme, a
            ``label_map`` value among them that the scheme cannot place renames the scheme's class
            its key names (``{"angry": "怒り"}``: RAVDESS's angry class is named 怒り), where it
            would otherwise be an error (``ser-hf evaluate --label-map`` passes the model's classes).

    Raises:
        SERError: unknown corpus or scheme, missing folder, or no usable clip at all.
    """
    require_extra("train", "load_corpus", ("datasets",))
    for given in (name, data_dir):  # a Dataset in memory read as a Hub id (its printout) or a path
        if given is not None and not isinstance(given, (str, os.PathLike)):
            kind_of = type(given).__name__
            raise SERError(
                f"load_corpus reads a corpus by name and folder, file or Hub id, not a {kind_of} object: "
                f"save it first (ds.save_to_disk('data/mine'), or ds.to_parquet('data/mine.parquet')) and "
                "give that path (load_corpus('mine', 'data/mine'); --corpus mine=data/mine)",
                source=f"load_corpus({'name' if given is name else 'data_dir'}={kind_of})",
            )
    started = time.perf_counter()
    if data_dir is not None and not str(data_dir).strip():  # Path("") is the working directory
        raise SERError(
            "empty corpus path; pass the corpus folder (--corpus NAME=DIR), or a Hub dataset by its id alone "
            f"(--corpus {name if str(name).count('/') == 1 else 'owner/name'}; from Python data_dir=None)",
            source=f"{name}=",
        )
    kind = _resolve_name(name)
    if data_dir is None and kind not in KNOWN_CORPORA and Path(str(name)).is_dir():
        data_dir, kind = str(name), "auto"
    elif kind not in (*KNOWN_CORPORA, "disk") and _parquet_file(data_dir if data_dir is not None else name):
        # one parquet file (what Dataset.to_parquet writes), named or given alone
        if data_dir is None:  # mine.parquet alone: the corpus mine
            data_dir, corpus_name = str(name), corpus_name or _slug(Path(str(name)).stem)
        elif kind != "parquet":
            corpus_name = corpus_name or _slug(str(name))
        kind = "parquet"
    elif (
        kind not in (*KNOWN_CORPORA, "disk", "parquet", "auto")
        and data_dir is not None
        and Path(data_dir).expanduser().is_dir()
    ):  # a name of the user's own for a local folder (``--corpus mine=DIR``), not a Hub id
        corpus_name, kind = corpus_name or _slug(str(name)), "auto"
        logger.info("%s: a local folder, read as audiofolder / disk / parquet data", data_dir)
    elif (
        kind not in (*KNOWN_CORPORA, "disk", "parquet", "auto")
        and data_dir is not None
        and "/" not in str(name)
    ):
        # ``--corpus mine=data/mine`` with a mistyped folder: it went to the Hub as a dataset "mine"
        hub_id = (
            str(data_dir)
            if str(data_dir).count("/") == 1 and not str(data_dir).startswith((".", "/", "~"))
            else None
        )
        maybe = f" (if {hub_id} is one: --corpus {hub_id})" if hub_id else ""
        raise SERError(
            f"corpus folder not found; check the path (a folder of your own: --corpus {name}=DIR; "
            f"a Hub dataset is given by its id alone: --corpus owner/name{maybe})",
            source=str(data_dir),
        )
    saved = Path(str(data_dir)).expanduser() if data_dir is not None else None
    if (
        kind == "audiofolder"
        and saved is not None
        and any((saved / f).is_file() for f in ("state.json", "dataset_dict.json"))
    ):  # --audiofolder DIR of a save_to_disk folder: "found 0 audio files"
        raise SERError(
            "a folder save_to_disk wrote, not a folder of audio files: read it with --corpus NAME=DIR "
            "(from Python load_corpus('mine', DIR))",
            source=str(data_dir),
        )
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
                f"corpus folder not found; pass the folder of the {kind} corpus",
                source=str(data_dir) if data_dir is not None else f"{kind} (no folder given)",
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
    # a map onto a model's own class renames the scheme's class in place (angry=怒り); the rest is applied first
    label_map, renames, rename_keys = class_renames(label_map, scheme, model_classes)
    report.renamed_classes = dict(renames)

    row_splits: list[str] = []  # the split of each row, for data with splits of their own
    if not generic:
        no_splits(split, str(root), _split_optional)
        rows = _load_native(kind, root, scheme, label_map, include_song, check_files, report)
        _warn_outside([(Path(r["path"]),) for r in rows], root, str(root))  # a tree of links elsewhere
        _rename(rows, renames, rename_keys, report)
        ds = _build(rows, [renames.get(n, n) for n in scheme.names], corpus, scheme_name)
    elif kind == "audiofolder":
        rows, row_splits = _load_audiofolder(
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
            split,
            default_split,
            _split_optional,
        )
        _rename(rows, renames, rename_keys, report)
        names = (
            [renames.get(n, n) for n in scheme.names]
            if scheme is not None
            else sorted({r["emotion"] for r in rows})
        )
        ds = _build(rows, names, corpus, scheme_name)
    else:
        from datasets import Dataset, concatenate_datasets

        base, extra, native_names, row_splits = _load_hf(
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
            check_files=check_files,
            default_split=default_split,
            split_optional=_split_optional,
        )
        renamed = [{"emotion": label} for label in extra["emotion"]]
        _rename(renamed, renames, rename_keys, report)
        extra["emotion"] = [r["emotion"] for r in renamed]
        names = (
            [renames.get(n, n) for n in scheme.names]
            if scheme is not None
            else (native_names or sorted(set(extra["emotion"])))
        )
        if not extra["emotion"]:  # every row skipped or dropped: _finish says why, not pyarrow
            ds = _build([], names, corpus, scheme_name)
        else:
            features = _features(names)
            table = Dataset.from_dict(
                extra, features=type(features)({k: v for k, v in features.items() if k != "audio"})
            )
            base = base.cast_column("audio", features["audio"])
            ds = concatenate_datasets([base, table], axis=1)
            ds = ds.select_columns(list(COLUMNS))
            ds.info.description = _info(corpus, scheme_name).description
    if generic:
        _check_labels_are_emotions(
            list(ds.features["emotion"].names),
            str(name),
            str(data_dir or name),
            _label_source(kind, root, label_column),
        )
        _warn_of_stray_labels(ds, corpus)
    if _warn_label_map:  # load_corpora warns of the keys no corpus of the set has
        _warn_unmatched_map([report])
    if check_audio and row_splits:  # the split of each row that decodes
        ds = drop_undecodable(ds.add_column("_split", row_splits), report)
        row_splits = list(ds["_split"])
        ds = ds.remove_columns("_split")
    elif check_audio:
        ds = drop_undecodable(ds, report)
    report.row_splits = row_splits
    report.split_rows.update(Counter(row_splits))
    if report.dataset_splits:
        announce(corpus, report.dataset_splits, report.splits_read, report.split_rows, split)
    ds = _finish(ds, report, started, str(data_dir or name))
    logger.info("%s: %d rows, %d skipped, %.2f s", corpus, report.rows, report.n_skipped, report.seconds)
    return (ds, report) if return_report else ds


def _rename(rows: list[dict], renames: dict[str, str], keys: dict[str, str], report: CorpusReport) -> None:
    """Rows of each renamed class under its new name; a rename whose class has no row is a map key
    that matched nothing (the warning for a typo names it)."""
    if not renames:
        return
    seen = {r["emotion"] for r in rows}
    report.label_map_unmatched += [keys[c] for c in renames if c not in seen]
    for row in rows:
        row["emotion"] = renames.get(row["emotion"], row["emotion"])


def _warn_unmatched_map(reports: Sequence[CorpusReport]) -> None:
    """A ``label_map`` key that matches no label of the corpora (``wutt=angry``, a typo) did nothing and
    said nothing: name the keys and the labels the data have."""
    unmatched = [
        k for k in reports[0].label_map_unmatched if all(k in r.label_map_unmatched for r in reports)
    ]
    if not unmatched:
        return
    from .own_classes import look_alike

    found = list(dict.fromkeys(label for r in reports for label in r.labels_found))
    shown = ", ".join(map(repr, found[:20])) + (f" and {len(found) - 20} more" if len(found) > 20 else "")
    near = [
        f"{k!r} for {' or '.join(map(repr, alike))}"
        for k in unmatched
        if (alike := [m for m in found if look_alike(k, m)])
    ]
    logger.warning(
        "%s: the label map's %s %s %s no label of the data (whatever the case), so %s nothing (a typo?%s); "
        "its labels are %s",
        "+".join(r.corpus for r in reports),
        "key" if len(unmatched) == 1 else "keys",
        ", ".join(map(repr, unmatched)),
        "matches" if len(unmatched) == 1 else "match",
        "it does" if len(unmatched) == 1 else "they do",
        f" {', '.join(near)}?" if near else "",
        shown or "none",
    )


def _label_source(kind: str, root: Path | None, label_column: str | None) -> str | None:
    """Where generic data's labels came from, for the user: a column, or None for class sub-folders."""
    from .metadata import find_metadata

    column = f"the column {label_column!r}" if label_column else "the label column"
    if kind != "audiofolder":
        return column
    meta = find_metadata(root) if root is not None else None
    if meta is None and root is not None:  # train/metadata.csv, test/metadata.csv: each split's own
        from .dataset_splits import is_split_word

        split_dirs = (p for p in sorted(root.iterdir()) if p.is_dir() and is_split_word(p.name))
        meta = next((m for m in map(find_metadata, split_dirs) if m is not None), None)
    return f"{column} of {meta.name}" if meta is not None else None


def _warn_of_stray_labels(ds: Any, corpus: str) -> None:
    """A class of your own data with a handful of clips where the others have many is most likely a
    typo in a label ('angyr'): it would become a class of the model, learnt from nothing."""
    import statistics

    names = ds.features["emotion"].names
    counts = Counter(ds["emotion"])
    median = float(statistics.median([counts.get(i, 0) for i in range(len(names))])) if names else 0.0
    rare = [i for i, n in sorted(counts.items()) if n < 5 and n < 0.1 * median]
    if rare:
        first = names[rare[0]]
        logger.warning(
            "%s: the label(s) %s have very few clips against a median of %.0f a class: a typo in a "
            "label? Fix it in the data, or map it as it loads: --label-map '%s=CLASS' (or '%s=' to drop "
            "it; from Python load_corpus(..., label_map={%r: 'CLASS'}))",
            corpus,
            ", ".join(f"{names[i]!r} ({counts[i]})" for i in rare),
            median,
            first,
            first,
            first,
        )


def _check_labels_are_emotions(names: list[str], name: str, data_dir: str, column: str | None) -> None:
    """Classes of your own are fine; say where they came from. A folder whose SUB-FOLDERS are no
    emotion at all (``Actor_01``...) is most likely a known corpus under a misspelt name: refuse it
    when the name is close to one (it would train a speaker classifier), else warn. ``column``: the
    data's label column as the user should read it (None: the sub-folders were the labels)."""
    import difflib

    from .labels import _strip_gender, normalize_emotion

    if not names or any(normalize_emotion(_strip_gender(n)) for n in names):
        return
    shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
    if all(n.strip().isdigit() for n in names):  # an int label column: a ClassLabel's names lost
        logger.warning(
            "%s: its labels are numbers (%s): class ids without their names, so the classes are named %s; "
            "give their names as they are loaded with --label-map '%s' (from Python label_map=)",
            name, shown, shown, ",".join(f"{n}=NAME" for n in names[:3]) + ",...",
        )  # fmt: skip
        return

    if column is not None:  # a column of labels: classes of the user's own, as the README invites
        logger.info(
            "%s: %d classes of your own from %s (%s), none an emotion name ser_hf knows: trained and scored "
            "as they are; another corpus or model matches them only by these names",
            name, len(names), column, shown,
        )  # fmt: skip
        return
    close = difflib.get_close_matches(
        name.lower(), [c for c in KNOWN_CORPORA if c != "audiofolder"], n=1, cutoff=0.75
    )
    if close:
        raise SERError(
            f"read as a folder of your own (its labels: {shown}, none an emotion); did you mean "
            f"{close[0]}? pass --corpus {close[0]}={data_dir}",
            source=name,
        )
    logger.warning(
        "%s: its classes are its sub-folder names (%s), none an emotion name ser_hf knows: fine if they are "
        "classes of your own; if the sub-folders are something else (speakers, sessions), put the labels in "
        "a metadata.csv (file_name, label, speaker columns) in %s",
        name, shown, data_dir,
    )  # fmt: skip


def _parquet_file(path: Any) -> bool:
    target = Path(str(path)).expanduser()
    return target.suffix.lower() == ".parquet" and target.is_file()


def own_labels(name: str) -> bool:
    """Whether a corpus given as ``name`` (``--corpus NAME=DIR``) is data of your own (an audio folder, a
    ``save_to_disk`` folder, parquet files, a Hub dataset), whose labels are its classes as they are,
    and not a known corpus (RAVDESS, TESS, ...) whose file names ser_hf reads into a scheme of its own."""
    return _resolve_name(str(name)) not in _PARSERS


def multi_corpus_scheme(names: Sequence[str], label_scheme: str | None = None) -> str:
    """The label scheme several corpora of these ``names`` are loaded with: ``label_scheme`` when it
    names one; otherwise (None: the default) ``native`` (the union of their own labels) when every one is
    data of your own (:func:`own_labels`), else ``harmonized7``. ``native`` asked of known corpora is
    their scheme when they share one (TESS and SAVEE: harmonized7).

    Raises:
        SERError: ``native`` asked of corpora that have no one set of own labels to keep: a known corpus
            with one of your own, or two known corpora of different schemes.
    """
    if label_scheme not in (None, "native"):
        return str(label_scheme)
    known = {n: CORPUS_DEFAULT_SCHEME[_resolve_name(n)] for n in map(str, names) if not own_labels(n)}
    if not known:
        return "native"
    if label_scheme is None:
        return "harmonized7"
    schemes = sorted(set(known.values()))
    if len(known) == len(names) and len(schemes) == 1:
        return schemes[0]
    theirs = ", ".join(f"{n} ({s})" for n, s in known.items())
    why = (
        "your labels would be classes beside its emotion names (a 'joy' beside its 'happy')"
        if len(known) < len(names)
        else "their schemes differ"
    )
    raise SERError(
        f"native keeps the labels of corpora of your own as they are, but {theirs} "
        f"{'is a known corpus' if len(known) == 1 else 'are known corpora'} whose labels ser_hf reads into "
        f"a scheme of its own, so {why}; name one scheme for all of them: --label_scheme harmonized7 (or "
        "ravdess8, common6, ...; labels of yours it does not know: --label-map 'yours=angry')",
        source="label_scheme",
    )


def load_corpora(
    corpora: Sequence[tuple[str, str] | dict[str, Any]],
    label_scheme: str | None = None,
    *,
    return_report: bool = False,
    **kwargs: Any,
):
    """Load several corpora with one label scheme and concatenate them (one ``ClassLabel``).

    ``corpora``: ``[("ravdess", dir), ("tess", dir), ...]`` or dicts of :func:`load_corpus`
    arguments (``{"name": "cremad", "data_dir": ..., "corpus_name": ...}``). ``label_scheme``: None
    (default) keeps the labels of corpora that are all of your own (``native``: the union of their
    labels, after ``label_map``; labels that differ only in case, spaces or Unicode form are one class)
    and harmonises any set with a known corpus in it (``harmonized7``); see
    :func:`multi_corpus_scheme`. The labels a scheme renames or merges are logged per corpus with their
    rows (``mine: joy (30) -> happy``). ``kwargs`` go to every :func:`load_corpus` call; a ``split``
    there is read of the corpora that have splits of their own, the others read whole. Returns the
    dataset, or ``(dataset, [CorpusReport, ...])``.
    """
    require_extra("train", "load_corpora", ("datasets",))
    from datasets import concatenate_datasets

    specs = [
        dict(spec) if isinstance(spec, dict) else {"name": spec[0], "data_dir": spec[1]} for spec in corpora
    ]
    scheme = multi_corpus_scheme([str(s["name"]) for s in specs], label_scheme)
    parts, reports = [], []
    for args in specs:
        one = {
            **kwargs,
            **args,
            "label_scheme": None if scheme == "native" else scheme,
            "return_report": True,
            "_warn_label_map": False,
            "_split_optional": len(corpora) > 1,  # a split applies to those of the corpora that have splits
        }
        ds, report = load_corpus(**one)
        parts.append(ds)
        reports.append(report)
    split = kwargs.get("split")
    if split and len(corpora) > 1 and not any(r.dataset_splits for r in reports):
        no_splits(split, "+".join(r.corpus for r in reports))  # none has splits: as for one corpus
    _warn_unmatched_map(reports)
    names = Counter(r.corpus for r in reports)
    if any(n > 1 for n in names.values()):
        logger.warning(
            "corpus names repeat (%s): their speaker ids may collide; pass corpus_name= to tell them apart",
            {k: v for k, v in names.items() if v > 1},
        )
    if len(parts) > 1 and scheme == "native":
        from .own_classes import one_classlabel

        parts = one_classlabel(parts, [r.corpus for r in reports])
    elif len(parts) > 1:
        from .labels import harmonisation_lines

        own = all(own_labels(str(s["name"])) for s in specs)
        for line in harmonisation_lines({r.corpus: r.harmonised for r in reports}):
            logger.info(
                "label scheme %s renames or merges labels: %s%s",
                scheme,
                line,
                " (--label_scheme native keeps your own labels)" if own else "",
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
    said: dict[str, set[str]] = {}  # the pseudo-speaker of rows without an id holds both: "mixed"
    for s, g in zip(speakers, genders):
        said.setdefault(s, set()).add(g)
    spk_gender = {s: next(iter(g)) if len(g) == 1 else "mixed" for s, g in said.items()}
    per_corpus: dict[str, dict[str, Any]] = {}
    for c in sorted(set(corpora)):
        idx = [i for i, x in enumerate(corpora) if x == c]
        spk = {speakers[i] for i in idx} if speakers else set()
        per_corpus[c] = {
            "rows": len(idx),
            "speakers": len(spk),
            "genders": dict(sorted(Counter(spk_gender[s] for s in spk).items())),  # one order every run
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
