"""What ``ser-hf evaluate`` scores: the saved model and the rows of the data.

The model: :func:`load_model` (a saved folder, never its own code), :func:`model_labels`, and its
``split.json`` (:func:`split_record`): the speakers it trained and was chosen on
(:func:`seen_speakers`), whose figures are not speaker-independent. The data: the label scheme to load
the corpora with (:func:`default_label_scheme`), the corpora themselves (:func:`load_eval_data`, with
the columns and label map the model's training named) and the rows of a split's part
(:func:`select_rows`, as training drew them). :func:`ser_hf.training.evaluation.evaluate_model`
scores them.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ..data.splits import corpus_folders, speaker_key, unmatched_speaker_ids
from ..errors import SERError, torch_device
from .loading import load_feature_extractor
from .loading import load_model as load_saved_model
from .scoring import training_columns

# its messages keep the logger name they had in ser_hf.training.evaluation (the CLI prints it)
logger = logging.getLogger("ser_hf.training.evaluation")

SPLIT_FILE = "split.json"  # in a model folder: the speakers it trained and was chosen on


# ----------------------------------------------------------------------------------- loading
def load_model(model_dir: str | os.PathLike, device: str | None = None) -> tuple[Any, Any]:
    """``(model, feature_extractor)`` from a saved folder, in eval mode on ``device``.

    Through :mod:`ser_hf.training.loading`: never the folder's own code, safetensors weights only.
    """
    source = str(model_dir)
    device = torch_device(device)
    if not Path(source).exists():
        shipped = Path(__file__).resolve().parents[1] / "bundled"  # the bundled models' folders, by name
        named = source in ("default", "cnn") or (
            os.sep not in source and (shipped / source.replace("-", "_")).is_dir()
        )
        bundled = f", or ser_hf.bundled_model_path({source!r}) for a bundled model" if named else ""
        raise SERError(
            f"model folder not found; pass the output_dir of a training run{bundled}", source=source
        )
    model = load_saved_model(source)
    feature_extractor = load_feature_extractor(source)
    return model.to(device).eval(), feature_extractor


def model_labels(config: Any) -> list[str]:
    """Class names of a model config in id order."""
    id2label = getattr(config, "id2label", None) or {}
    return [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(len(id2label))]


# ----------------------------------------------------------------------------------- data selection
def _model_scheme(config: Any) -> str | None:
    """The label scheme the model was trained with, when it is a named scheme."""
    from ..data import labels

    scheme = getattr(config, "label_scheme", None)
    if scheme and scheme != "native":
        try:
            labels.get_scheme(scheme)
            return str(scheme)
        except SERError:
            pass
    names = model_labels(config)
    for name in labels.LABEL_SCHEMES:
        if labels.scheme_names(name) == names:
            return name
    return None


def default_label_scheme(
    corpus_names: Sequence[str], config: Any, loaded_with: Sequence[str] = ()
) -> str | None:
    """Scheme to load the test corpora with when ``--label-scheme`` is not given: in-domain (every corpus
    in the model's training data, or loaded with it: ``loaded_with``, its ``train_args.json`` corpora, a
    cv fold's held-out one too) the model's own, so the numbers match training's or the fold's; else one
    corpus keeps its native scheme (the classes the two share), several take the model's, or, without one,
    their own labels when all are of your own (native), else harmonized7."""
    from ..data.rows import _resolve_name  # 'emo-db' is the emodb a model trained on

    scheme = _model_scheme(config)
    trained_on = {str(c) for c in (getattr(config, "training_corpora", None) or [])}
    trained_on |= {_resolve_name(str(c)) for c in loaded_with}
    if scheme and corpus_names and {_resolve_name(c) for c in corpus_names} <= trained_on:
        return scheme
    if len(corpus_names) == 1:
        return None
    from ..data.corpora import multi_corpus_scheme

    return scheme or multi_corpus_scheme(corpus_names)


def load_eval_data(
    corpora: Sequence[str],
    label_scheme: str | None,
    columns: dict[str, str | None] | None = None,
    model_dir: str | os.PathLike | None = None,
    model_classes: Sequence[str] | None = None,
    *,
    split: str | None = None,
    default_split: str = "train",
    return_reports: bool = False,
) -> Any:
    """Load ``NAME=PATH`` corpora as one dataset (several corpora need a label scheme); a Hub
    dataset is given by its id alone (``owner/name``). ``split`` / ``default_split``: the splits read
    of data with splits of their own (:func:`ser_hf.data.corpora.load_corpus`); ``return_reports``:
    return ``(dataset, [CorpusReport, ...])``. ``columns`` (``speaker_column=...``, ...)
    name the columns of data of your own; a corpus of a name the model in ``model_dir`` trained on
    is otherwise read with the columns and the ``--label_map`` its training named (its ``train_args.json``;
    a ``label_map`` in ``columns``, the evaluation's ``--label-map``, wins), and so is a local folder under
    another name that :func:`recognised_training_data` finds to be its training data. A map's value among
    ``model_classes`` (the classes of the model scored) renames the scheme's class its key names
    (``angry=怒り``; :func:`ser_hf.data.labels.class_renames`)."""
    from ..data.corpora import load_corpora, load_corpus
    from ..data.rows import _slug

    given = {k: v for k, v in (columns or {}).items() if v}
    recorded, trained_on = training_columns(model_dir)
    loads: list[dict[str, Any]] = []
    for spec in corpora:
        name, sep, path = (part.strip() for part in spec.partition("="))
        # a column named at training time (local or Hub): without it the clips were one speaker '<corpus>_unknown'
        under_training_name = name.lower() in trained_on or _slug(name) in trained_on
        # its training data under another name is read as training read it too (its label map first)
        as_name = (
            None
            if under_training_name
            else _training_data_as(
                name, path, recorded, given, model_dir, {"split": split, "default_split": default_split}
            )
        )
        own = {**(recorded if under_training_name or as_name else {}), **given}
        if own.get("label_map"):  # which map renamed the classes: scores of other classes are no comparison
            whose = (
                "--label-map"
                if "label_map" in given
                else f"the training's label map ({model_dir}/train_args.json)"
            )
            pairs = ", ".join(f"{k}={v or ''}" for k, v in own["label_map"].items())
            if as_name and "label_map" not in given:  # the user named no map: say why one is used
                whose = (
                    f"{whose[:-1]}; the data it trained on as {as_name!r}, recognised by the files or folder "
                    "its split.json records: --label-map reads them otherwise)"
                )
            logger.info("%s: classes renamed as loaded by %s: %s", name, whose, pairs)
        if not sep and name.count("/") == 1 and not Path(name).expanduser().exists():
            loads.append({"name": name, "data_dir": None, **own})  # a Hub dataset id
            continue
        if not sep or not name or not path:
            hint = f"a Hub dataset by its id alone: --corpus {name if name.count('/') == 1 else 'owner/name'}"
            if not sep and name and Path(name).expanduser().is_dir():  # a folder here, named as a Hub id is
                hint = f"for this folder: --corpus {Path(name).expanduser().resolve().name}={name}"
            empty = sep and name
            raise SERError(
                f"{'an empty PATH is not the working directory' if empty else 'write corpora as NAME=PATH'}: "
                f"e.g. ravdess=data/ravdess, or {hint}",
                source=f"--corpus {spec}",
            )
        loads.append({"name": name, "data_dir": path, **own})
    splits = {"split": split, "default_split": default_split, "return_report": return_reports}
    try:
        if len(loads) == 1:
            loaded = load_corpus(**loads[0], label_scheme=label_scheme, model_classes=model_classes, **splits)
            return (loaded[0], [loaded[1]]) if return_reports else loaded
        return load_corpora(loads, label_scheme=label_scheme, model_classes=model_classes, **splits)
    except SERError as err:  # the model's own column, missing from this copy of the data: say whose it is
        missed = [
            f"--{k.replace('_', '-')} {v}"
            for k, v in recorded.items()
            if k.endswith("_column") and k not in given and f"column {v!r}" in str(err)
        ]
        if not missed:
            raise
        raise SERError(
            f"{err}; the model was trained with {', '.join(missed)} (its train_args.json): name this "
            f"corpus's own column with {missed[0].split()[0]} COLUMN"
        ) from err


def _training_data_as(
    name: str,
    path: str,
    recorded: dict[str, Any],
    given: dict[str, Any],
    model_dir: Any,
    splits: dict[str, Any] | None = None,
) -> str | None:
    """The training corpus name under which the model in ``model_dir`` trained on the local folder
    ``path`` given as ``name`` (:func:`recognised_training_data` of a quick load of it, its files' headers
    unread and its messages held back), when its training named columns or a label map (``recorded``)
    that ``given`` (the evaluation's own) leaves to it; else None. A folder of labels of its own
    (``怒り``) trained with ``--label_map 怒り=angry`` was otherwise scored without the map: its rows left
    out, or no class shared with the model."""
    if not path or not model_dir or not set(recorded) - set(given) or not Path(path).expanduser().exists():
        return None
    from ..data.corpora import load_corpus

    quiet = logging.getLogger("ser_hf.data")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL + 1)  # the load that counts (and says what it skipped) comes after
    try:
        probe = load_corpus(name, path, None, check_files=False, **given, **(splits or {}))
    except SERError:  # said by the load that counts
        return None
    finally:
        quiet.setLevel(level)
    found = [f for f in recognised_training_data(model_dir, probe) if not f.get("ambiguous") and f.get("as")]
    return str(found[0]["as"]) if found else None


def select_rows(
    ds: Any,
    split: str,
    subset: str,
    *,
    seed: int = 42,
    num_val_speakers: int | None = None,
    model_dir: str | os.PathLike | None = None,
    recognised: Sequence[dict] | None = None,
) -> list[int]:
    """Row indices of ``subset`` (``test``/``validation``/``train``) of ``split``.

    ``split``: ``all`` (every row), ``model`` (the ``split.json`` that training wrote into
    ``model_dir``), or any ``--split`` of ``ser_hf.training`` (its
    :func:`~ser_hf.training.clips.make_split` decides, so the rows are those training used):
    ``manifest:PATH`` (a ``split.json``; its row ids are verified against the data),
    ``ravdess-fold:K``, ``kfold:K/N``, ``loso:SPEAKER``. Validation speakers are drawn as training
    draws them (same ``seed`` and ``num_val_speakers``; for the ``test`` part, which they do not change,
    none are drawn, so nothing is said of them). ``unseen``: every row whose speaker the model neither
    trained nor was chosen on (:func:`seen_speakers`), for any copy of the data, under any corpus name
    (``recognised``: :func:`recognised_training_data` of ``ds``, worked out when not given).
    """
    if split == "all":
        return list(range(len(ds)))
    if split == "unseen":
        record = split_record(model_dir)
        if record is None:
            raise SERError(
                "the model folder has no split.json naming its training speakers; give --split explicitly",
                source=str(model_dir),
            )
        if record.get("members_without_split"):  # a fusion of members that record no split
            raise SERError(
                f"this fusion's members {record['members_without_split']} record no split.json, so the "
                "speakers they saw are unknown; give --split explicitly",
                source=str(model_dir),
            )
        speakers = list(ds["speaker"])
        if recognised is None:
            recognised = recognised_training_data(model_dir, ds)
        seen = set(seen_speakers(model_dir, speakers, recognised))
        return [i for i, speaker in enumerate(speakers) if speaker not in seen]
    if split == "model":
        record = split_record(model_dir)
        if record is None:
            raise SERError(
                "the model folder has no split.json; give --split explicitly", source=str(model_dir)
            )
        manifest = Path(str(model_dir)) / SPLIT_FILE
        if record.get("protocol") == "fusion" or "train" not in record:  # or a Hub copy's: no rows
            raise SERError(
                "this split.json names the speakers the model saw (a fusion's, or a Hub copy's), not one "
                "split's rows; use --split unseen (or give --split explicitly)",
                source=str(manifest),
            )
        split = f"manifest:{manifest}"
    if subset not in ("test", "validation", "train"):
        raise SERError("choose test, validation or train", source=f"--subset {subset}")
    from .clips import make_split

    try:
        # the test speakers do not depend on the validation draw: for them none is drawn, so training's
        # warnings of it ("4 validation speakers leave 2 to train on") are not said of an evaluation
        drawn = 0 if subset == "test" else num_val_speakers
        parts = make_split(ds, SimpleNamespace(split=split, num_val_speakers=drawn, val_fraction=0.1), seed)
    except SERError as err:  # the model's split on part of its corpora had no way forward
        if "differs from the one the split was made for" not in str(err):
            raise
        raise SERError(
            f"{err}; --split unseen scores the speakers the model did not see, on any data whose speaker ids "
            "are written as in its split.json (evaluate warns when none match)"
        ) from err
    return list(getattr(parts, subset))


def split_record(model_dir: str | os.PathLike | None) -> dict[str, Any] | None:
    """The ``split.json`` that training (or ``ser-hf fuse``) wrote into ``model_dir``: the speakers
    the model trained and was chosen on. None when the folder has none; an unreadable one is a
    :class:`SERError`."""
    path = None if model_dir is None else Path(str(model_dir)) / SPLIT_FILE
    if path is None or not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise SERError(f"cannot read the model's split record ({err})", source=str(path)) from err
    if not isinstance(record, dict):
        raise SERError("not a split record (a JSON object)", source=str(path))
    return record


def seen_speakers(
    model_dir: str | os.PathLike | None, speakers: Sequence[str], recognised: Sequence[dict] = ()
) -> list[str]:
    """Those of ``speakers`` that the model in ``model_dir`` trained on or was chosen on (the
    training and validation speakers of its ``split.json``, and those of its training data found
    under another corpus name: ``recognised``, from :func:`recognised_training_data`): figures on
    them are not speaker-independent. Empty when the folder records no split, or none that can be read."""
    try:
        record = split_record(model_dir) or {}
    except SERError:
        return []
    used = _seen_ids(record) | {
        speaker_key(s) for found in recognised if not found.get("ambiguous") for s in found["speakers"]
    }
    return sorted(s for s in {str(s) for s in speakers} if speaker_key(s) in used)


def _seen_ids(record: dict[str, Any]) -> set[str]:
    return {
        speaker_key(s) for key in ("train_speakers", "validation_speakers") for s in record.get(key) or ()
    }


def _stem(name: Any) -> str:
    """A file's name without folder and extension: a copy re-encoded (the bundled default's rows are
    ``.flac``, RAVDESS's own files ``.wav``) is the same recording."""
    return os.path.splitext(os.path.basename(str(name)))[0]


def training_files(record: dict[str, Any]) -> dict[str, set[str]]:
    """The files a ``split.json`` record lists as training or validation rows: their stems (a file's
    name without folder and extension) -> the speakers holding a file of that name. Empty for a record
    without files (a Hub copy's, a fusion's)."""
    row_ids = record.get("row_ids") if isinstance(record.get("row_ids"), list) else []
    files: dict[str, set[str]] = {}
    for i in {*(record.get("train") or ()), *(record.get("validation") or ())}:
        if isinstance(i, int) and 0 <= i < len(row_ids):
            speaker, _, name = str(row_ids[i]).rpartition("/")
            if not name.startswith("#"):  # a row without a file
                files.setdefault(_stem(name), set()).add(speaker_key(speaker))
    return files


def recognised_training_data(model_dir: str | os.PathLike | None, ds: Any) -> list[dict[str, Any]]:
    """The corpora of ``ds`` that hold the model's training data under another name (``--corpus
    other=DIR`` of the folder it trained on as ``mine``, or as ``--audiofolder DIR``): their speaker
    ids (``other_spk01``) match none of its ``split.json``'s (``mine_spk01``), so they would count as
    unseen. A corpus is recognised by the files of the training and validation rows the split.json
    lists (the same speaker, without the corpus name, and file name, any extension) or by the folder it
    records for a training corpus (``corpus_folders``, written since session 42).

    One dict per finding: ``corpus`` (the name here), ``as`` (the training corpus), ``folder``,
    ``files`` (its clips that are training or validation files), ``clips`` and ``speakers`` (its rows
    and speakers that are the model's training or validation speakers: seen); or, where the data cannot
    be told apart, ``ambiguous`` (why), the ``speakers`` concerned, which stay unseen, and ``trained``:
    the model's training or validation speakers found in it (of the files it holds; without files to
    compare, of the ids or of the training corpus of its folder), counted apart from the ids here (a
    Hub copy's or a fusion's split.json lists no files, so only the ids without the corpus name can be
    compared)."""
    try:
        record = split_record(model_dir) or {}
    except SERError:  # said where the record is needed
        return []
    seen = _seen_ids(record)
    if not seen or not {"speaker", "corpus"} <= set(getattr(ds, "column_names", ())):
        return []
    row_ids = record.get("row_ids") if isinstance(record.get("row_ids"), list) else []
    files = training_files(record)  # file stem -> the seen speakers holding a file of that name
    folders = record.get("corpus_folders") if isinstance(record.get("corpus_folders"), dict) else {}
    here = corpus_folders(ds)
    speakers = [str(x) for x in ds["speaker"]]
    corpora = [str(x) for x in ds["corpus"]]
    paths = ds["path"] if "path" in ds.column_names else [None] * len(ds)
    found: list[dict[str, Any]] = []
    for corpus in sorted(set(corpora)):
        rows = [i for i, c in enumerate(corpora) if c == corpus]
        if any(speaker_key(speakers[i]) in seen for i in rows):  # under its training name: as before
            continue

        def bare(speaker: str, prefix: str = f"{corpus}_") -> str:
            key = speaker_key(speaker)
            return key[len(prefix) :] if key.startswith(prefix) else key

        names: Counter = Counter()  # training corpus -> clips here that are its files, of the same speaker
        matched, holding = 0, set()  # the seen speakers of those files, whatever the ids here
        for i in rows:
            holders = files.get(_stem(paths[i])) if paths[i] else None
            if holders:
                matched += 1
                holding |= holders
                tail = "_" + bare(speakers[i])
                names.update({h[: -len(tail)] for h in holders if h.endswith(tail) and len(h) > len(tail)})
        folder = here.get(corpus)
        same_folder = {str(t) for t, f in folders.items() if folder and f == folder and str(t) != corpus}
        own = sorted({speakers[i] for i in rows})
        for name in sorted(set(names) | same_folder):
            mapped = [x for x in own if speaker_key(f"{name}_{bare(x)}") in seen]
            entry = {"corpus": corpus, "as": name, "folder": folder, "files": names.get(name, 0)}
            if mapped:
                chosen = set(mapped)
                found.append({**entry, "clips": sum(speakers[i] in chosen for i in rows), "speakers": mapped})
            else:  # its folder, other speaker ids (another --speaker-column)
                why = f"its folder is the one the model trained on as {name!r}, but none of its speaker ids is one of {name!r}'s"
                trained = {h for h in holding if h.startswith(f"{name}_")} or {
                    h
                    for h in seen
                    if h.startswith(f"{name}_")  # no files to compare: all of its folder's
                }
                found.append({**entry, "speakers": own, "ambiguous": why, "trained": sorted(trained)})
        if names or same_folder:
            continue
        if matched:
            why = f"{matched} of its clips have the names of files the model trained or was chosen on, of other speaker ids"
            entry = {"corpus": corpus, "as": None, "folder": folder, "speakers": own}
            found.append({**entry, "ambiguous": why, "trained": sorted(holding)})
        elif not row_ids:  # a Hub copy's or a fusion's split.json lists no files: the ids alone
            tails = {"_" + bare(x): x for x in own if not x.endswith("_unknown")}
            alike = {t: sorted(h for h in seen if h.endswith(t) and len(h) > len(t)) for t in tails}
            alike = {t: hs for t, hs in alike.items() if hs}
            if alike:
                shown = ", ".join(f"{tails[t]} ~ {hs[0]}" for t, hs in sorted(alike.items())[:3])
                why = (
                    f"{len(alike)} of its speaker ids are, without the corpus name, those of the model's training "
                    f"or validation speakers ({shown}{' ...' if len(alike) > 3 else ''}), and its split.json "
                    "lists no files to compare (a Hub copy's or a fusion's)"
                )
                chosen = sorted(tails[t] for t in alike)
                name = Counter(h[: -len(t)] for t, hs in alike.items() for h in hs).most_common(1)[0][0]
                trained = sorted({h for t, hs in alike.items() for h in hs if h[: -len(t)] == name})
                entry = {"corpus": corpus, "as": name, "folder": folder, "speakers": chosen}
                found.append({**entry, "ambiguous": why, "trained": trained})
    return found


def recognised_message(found: dict[str, Any], given: dict[str, str] | None = None) -> str:
    """One finding of :func:`recognised_training_data` as a warning. ``given``: ``{corpus: the folder as
    the user named it}`` (``--corpus other=mycorpus``), named instead of the folder its clips lie in,
    resolved (``/home/me/mycorpus/clips``)."""
    corpus = found["corpus"]
    where = (given or {}).get(corpus) or found.get("folder")
    folder = f" (folder {where})" if where else ""
    shown = _few(found["speakers"])
    if found.get("ambiguous"):
        trained = found.get("trained") or []
        return (
            f"corpus {corpus!r}{folder} may be this model's training data under another name: "
            f"{found['ambiguous']}. The model's {len(trained)} training or validation speaker(s) found in it "
            f"({_few(trained)}) cannot be told apart under its speaker ids ({shown}), which count as unseen "
            "(--split unseen keeps them): if these are the recordings it trained on, evaluate them "
            + (f"as --corpus {found['as']}=PATH" if found.get("as") else "under the corpus name")
            + " with the speaker column it trained with"
        )
    how = (
        f"{found['files']} of its clips are training or validation files" if found["files"] else "its folder"
    )
    return (
        f"corpus {corpus!r}{folder} is the data this model trained on as {found['as']!r} ({how} in its "
        f"split.json): its {len(found['speakers'])} speaker(s) {shown} ({found['clips']} clips) are the model's "
        f"training or validation speakers of {found['as']!r}, so they count as seen and --split unseen leaves "
        f"them out, as under the name {found['as']!r}"
    )


def _few(speakers: list[str]) -> str:
    return ", ".join(speakers[:4]) + (" ..." if len(speakers) > 4 else "")


def speaker_id_mismatch(model_dir: str | os.PathLike | None, ds: Any) -> str | None:
    """:func:`~ser_hf.data.splits.unmatched_speaker_ids` of ``ds`` against the model's split.json."""
    try:
        record = split_record(model_dir) or {}
    except SERError:  # said where the record is needed
        return None
    columns = {c: sorted(set(ds[c])) for c in ("speaker", "corpus") if c in ds.column_names}
    return unmatched_speaker_ids(record, columns.get("speaker", []), columns.get("corpus", []))
