"""How a model's classes meet the test data's: the scores of a training run's validation and test rows
(``val_metrics.json`` / ``test_metrics.json``), the calibration temperature fitted on the validation rows,
the class mask of a held-out corpus, and the mapping of a model's classes onto another corpus's."""

from __future__ import annotations

import json
import logging
import re
import shlex
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SERError
from .saving import write_json

logger = logging.getLogger(__name__)


def fit_calibration(
    enabled: bool, probs: dict[str, np.ndarray], val_rows: list[int], labels: list[int]
) -> float:
    """The temperature fitted on the validation rows' uncalibrated probabilities (1.0 when off or
    without validation speakers)."""
    if not enabled or "validation" not in probs:
        return 1.0
    from .calibration import fit_temperature

    return fit_temperature(probs["validation"], np.asarray([labels[r] for r in val_rows]))


def mask_absent_classes(
    probs: np.ndarray,
    y_true: np.ndarray,
    corpora: Sequence[str],
    seen: set[str],
    label_names: Sequence[str],
    present_classes: Mapping[str, Collection[str]] | None = None,
) -> tuple[np.ndarray, dict[str, list[str]]]:
    """``probs`` with, for each corpus the model never trained or was chosen on (not in ``seen``), the
    classes the corpus does not have taken out and the rest renormalised; and ``{corpus: the class
    names left out}``. CREMA-D has no surprise: held out in a leave-one-corpus-out fold, its clips
    went to ``surprised`` and scored lower than when evaluated alone.

    Which classes a corpus has is its class inventory, ``present_classes[corpus]`` (class names: those
    of all the corpus's loaded rows, before a split chose the rows scored), so the rows chosen cannot
    change what the model may answer; a corpus missing there falls back to the classes of its rows in
    ``y_true``. A class the corpus lacks whose harmonised class it has (``calm`` -> ``neutral``) gives
    its probability to that class rather than losing it, as :func:`label_mapping` merges it when the
    corpus is evaluated alone (where its labels have no calm); others are set to 0. A corpus with fewer
    than two classes is left as it is (masking would make every answer right)."""
    from ..data import labels

    probs = np.array(probs, dtype=np.float64)
    corpora = np.asarray(corpora)
    index = {name: i for i, name in enumerate(label_names)}
    masked: dict[str, list[str]] = {}
    for corpus in sorted(set(corpora.tolist()) - set(seen)):
        rows = corpora == corpus
        if present_classes is not None and corpus in present_classes:
            present = np.zeros(probs.shape[1], dtype=bool)
            present[[index[n] for n in present_classes[corpus] if n in index]] = True
        else:
            present = np.bincount(y_true[rows], minlength=probs.shape[1]) > 0
        if present.sum() < 2 or present.all():
            continue
        into = {}  # absent class -> the present class it merges into
        for i in np.flatnonzero(~present):
            emotion = emotion_of(label_names[i])
            target = (
                labels.map_label(emotion, "harmonized7") if emotion in labels.CANONICAL_EMOTIONS else None
            )
            if target in index and target != emotion and present[index[target]]:
                into[int(i)] = index[target]
        block = probs[rows]
        for i, j in into.items():
            block[:, j] += block[:, i]
        block[:, ~present] = 0.0
        total = block.sum(axis=1, keepdims=True)
        # a row whose whole probability sat on masked classes (float32 underflow) is uniform over the rest
        probs[rows] = np.where(total > 0, block / np.where(total > 0, total, 1.0), present / present.sum())
        masked[corpus] = [label_names[i] for i in np.flatnonzero(~present) if i not in into]
        merged = {label_names[i]: label_names[j] for i, j in into.items()}
        logger.info(
            "%s is scored on the %d classes it has (left out: %s%s)",
            corpus, present.sum(), masked[corpus], f"; merged: {merged}" if merged else "",
        )  # fmt: skip
        if not masked[corpus]:
            del masked[corpus]
    return probs, masked


def corpus_classes(corpora: Sequence[str], classes: Sequence[str]) -> dict[str, list[str]]:
    """``{corpus: the class names its rows hold}`` (a corpus's class inventory): of ALL its loaded
    rows, before a split selects the rows to score."""
    inventory: dict[str, set[str]] = {}
    for corpus, name in zip(corpora, classes):
        inventory.setdefault(str(corpus), set()).add(str(name))
    return {c: sorted(names) for c, names in sorted(inventory.items())}


def score_parts(
    parts: tuple[list[int], list[int]],
    train_rows: list[int],
    probs: dict[str, np.ndarray],
    labels: list[int],
    speakers: list[str],
    genders: list[str],
    label_names: list[str],
    split_spec: str,
    output_dir: Path | None,
    temperature: float = 1.0,
    corpora: list[str] | None = None,
    raw_labels: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Metrics of the validation and test rows from their probabilities ``probs[name]``;
    written to ``val_metrics.json`` / ``test_metrics.json`` in ``output_dir`` (when given).

    With a ``temperature`` other than 1 the metrics are those of the calibrated probabilities and
    ``calibration`` holds the temperature and the uncalibrated ECE, NLL and Brier score.

    ``corpora`` (per row): a test corpus that no training or validation row comes from is scored on
    the classes it has, as ``ser-hf evaluate`` scores it (:func:`mask_absent_classes`). With ``corpora``
    the test metrics also say what was trained and tested on: ``training_corpora``, ``test_corpora``,
    ``cross_corpus`` (a test corpus is none of the training ones), ``corpus_classes`` (each corpus's
    classes), ``chance_ua`` and, with ``raw_labels`` (each row's own label, ``raw_emotion``),
    ``harmonised_from``: ``{corpus: {class: {own label: rows}}}`` of the labels the scheme merged as
    the corpora were loaded (:func:`ser_hf.data.labels.harmonisation`), over all the rows."""
    from .calibration import apply_temperature
    from .metrics import compute_ser_metrics

    results: dict[str, Any] = {}
    for name, rows_, filename in (
        ("validation", parts[0], "val_metrics.json"),
        ("test", parts[1], "test_metrics.json"),
    ):
        if not rows_:
            continue
        raw = np.asarray(probs[name])
        untrained: dict[str, int] = {}
        if corpora and name == "test":  # said in test_metrics.json and by cv, not only in train.log
            trained = {labels[r] for r in (*train_rows, *parts[0])}
            for r in rows_:
                if labels[r] not in trained:
                    untrained[label_names[labels[r]]] = untrained.get(label_names[labels[r]], 0) + 1
        y_true = np.asarray([labels[r] for r in rows_])
        if len(set(y_true.tolist())) == 1:  # loso on a speaker of one class printed "test UA 1.000", no word
            logger.warning(
                "%s: all %d %s rows are %r, so UA is that class's recall; score on speakers who hold "
                "several classes (another --split)",
                name, len(rows_), name, label_names[int(y_true[0])],
            )  # fmt: skip
        masked: dict[str, list[str]] = {}
        if corpora and name == "test":
            seen = {corpora[r] for r in (*train_rows, *parts[0]) if r < len(corpora)}  # not augmented copies
            # the held-out corpus's classes: of all its rows, not only the rows this fold tests
            inventory = corpus_classes(corpora, [label_names[labels[r]] for r in range(len(corpora))])
            raw, masked = mask_absent_classes(
                raw, y_true, [corpora[r] for r in rows_], seen, label_names, inventory
            )
        calibrated = apply_temperature(raw, temperature) if temperature != 1.0 else raw
        metrics = compute_ser_metrics(
            y_true,
            calibrated.argmax(-1),
            label_names,
            speakers=[speakers[r] for r in rows_],
            genders=[genders[r] for r in rows_],
            y_prob=calibrated,
        )
        if temperature != 1.0:
            before = compute_ser_metrics(y_true, raw.argmax(-1), label_names, y_prob=raw)
            metrics["calibration"] = {
                "temperature": temperature,
                "uncalibrated": {k: before[k] for k in ("ece", "nll", "brier")},
            }
        if masked:
            metrics["masked_classes"] = masked
        if corpora and name == "test":
            metrics.update(_data_record(corpora, raw_labels, labels, label_names, train_rows, parts, masked))
        if untrained:  # their recall is 0 by construction: no training clip had the class
            metrics["untrained_classes"] = untrained
        metrics["split"] = split_spec
        metrics["speakers"] = sorted({speakers[r] for r in rows_})
        results[name] = metrics
        logger.info(
            "%s: WA %.3f  UA %.3f  macro-F1 %.3f  (n=%d)",
            name,
            metrics["wa"],
            metrics["ua"],
            metrics["f1_macro"],
            len(rows_),
        )
        if output_dir is not None:
            write_json(output_dir / filename, metrics)
    return results


def _data_record(
    corpora: list[str],
    raw_labels: Sequence[Any] | None,
    labels: list[int],
    label_names: list[str],
    train_rows: list[int],
    parts: tuple[list[int], list[int]],
    masked: dict[str, list[str]],
) -> dict[str, Any]:
    """What a run's test metrics say of its data (:func:`score_parts`): the corpora trained and tested
    on, each corpus's classes, the chance UA and the labels merged as the corpora were loaded."""
    from ..data.labels import harmonisation

    n = len(corpora)  # augmented training copies come after the corpus rows
    trained = sorted({corpora[r] for r in (*train_rows, *parts[0]) if r < n})
    tested = [corpora[r] for r in parts[1] if r < n]
    names = [label_names[labels[r]] for r in range(n)]
    record: dict[str, Any] = {
        "training_corpora": trained,
        "test_corpora": sorted(set(tested)),
        "cross_corpus": bool(set(tested) - set(trained)),
        "corpus_classes": {
            c: [x for x in label_names if x in got] for c, got in corpus_classes(corpora, names).items()
        },
        "chance_ua": chance_ua(
            [labels[r] for r in parts[1] if r < n],
            [len(label_names) - len(masked.get(c, ())) for c in tested],
            tested,
        ),
    }
    if raw_labels is not None and len(raw_labels) >= n:
        record["harmonised_from"] = harmonisation(corpora, list(raw_labels)[:n], names)
    return record


def chance_ua(
    y_true: Sequence[int] | np.ndarray, classes_per_row: Sequence[int], groups: Sequence[Any] | None = None
) -> float | None:
    """The UA a guess that ignores the audio scores: each row is right with 1 / the number of classes
    it is scored on (fewer for a held-out corpus scored on the classes it has), or of those its group's
    (corpus's) rows hold when fewer: UA averages the recall of the classes present, so one constant
    answer among them scores 1 / their number (a test speaker holding 3 of 5 trained classes: 0.333,
    not 0.200); averaged within each true class, then over the classes (1/7 = 0.143 for seven); None
    without rows."""
    y = np.asarray(y_true)
    k = np.asarray(classes_per_row, dtype=np.float64)
    if not len(y) or len(k) != len(y) or (k <= 0).any():
        return None
    group = np.asarray([str(g) for g in groups] if groups is not None else [""] * len(y))
    for g in np.unique(group):
        rows = group == g
        k[rows] = np.minimum(k[rows], len(np.unique(y[rows])))
    return float(np.mean([np.mean(1.0 / k[y == c]) for c in np.unique(y)]))


# ----------------------------------------------------------------------------------- label mapping
def emotion_of(name: str) -> str | None:
    """The canonical emotion a class name stands for (gender-joint ``female_angry`` counts as ``angry``),
    or None for a name that is no emotion ser_hf knows."""
    from ..data import labels

    return labels.normalize_emotion(re.sub(r"^(female|male)_", "", name))


def label_mapping(
    model_label_names: Sequence[str], data_label_names: Sequence[str], data_scheme: str | None
) -> tuple[dict[str, str], list[str]]:
    """``({model label: data label}, shared data labels in data order)``.

    Identical label lists map one to one. Otherwise the data's label scheme decides
    (:func:`ser_hf.data.labels.cross_scheme_mapping`); data without a known scheme (generic folders)
    are matched by emotion name, other names whatever their case, spaces and Unicode form (as the
    loader merges spellings: ``"Satisfied Customer"`` is the model's ``"satisfied customer"``),
    and a model class the data lacks merges as the harmonised classes merge it (``calm`` ->
    ``neutral`` when the data has neutral but no calm), as it does for a corpus ser_hf knows.
    """
    from ..data import labels
    from ..data.rows import _fold

    model_names, data_names = list(model_label_names), list(data_label_names)
    if model_names == data_names:
        return {n: n for n in model_names}, data_names
    mapping: dict[str, str] = {}
    if _known_scheme(data_names, data_scheme):
        mapping = labels.cross_scheme_mapping(model_names, data_scheme)
    else:
        by_emotion = {labels.normalize_emotion(d) or _fold(d): d for d in data_names}
        harmonised = {
            labels.map_label(k, "harmonized7"): d
            for k, d in by_emotion.items()
            if k in labels.CANONICAL_EMOTIONS
        }
        by_emotion = {
            **{k: d for k, d in harmonised.items() if k},
            **by_emotion,
        }  # a folder's calm, no neutral
        for m in model_names:
            key = emotion_of(m) or _fold(m)
            if key not in by_emotion and key in labels.CANONICAL_EMOTIONS:
                key = labels.map_label(key, "harmonized7") or key
            if key in by_emotion:
                mapping[m] = by_emotion[key]
    shared = [d for d in data_names if d in set(mapping.values())]
    return mapping, shared


def dropped_hint(dropped: Mapping[str, int], mapping: Mapping[str, str]) -> str:
    """Why test classes left out of a score were (``dropped``: class -> rows; ``mapping``: model class
    -> the data class scored against it), beyond "the model cannot predict it": a class naming the
    emotion of another the data also have (``anger`` beside ``angry``: the model's angry is scored
    against one of them), or one no emotion ser_hf knows (a label in the data's own words, which a
    ``--label-map`` reads as a model class). "" when neither."""
    scored = {e: d for d in mapping.values() if (e := emotion_of(d))}
    twins = [(d, scored[e]) for d in dropped if (e := emotion_of(d)) and e in scored and scored[e] != d]
    unknown = [d for d in dropped if emotion_of(d) is None]
    parts = [
        f"{d!r} is the emotion of {other!r}, which the model's class is scored against (--label-map "
        f"{d}={other} makes them one)"
        for d, other in twins
    ]
    if unknown:
        parts.append(
            f"{', '.join(map(repr, unknown))}: no emotion ser_hf knows by that name; if one is a model class "
            f"in other words, --label-map '{unknown[0]}=<the model's class>' reads it as that"
        )
    return "; ".join(parts)


def no_shared_classes(
    model_names: Sequence[str],
    data_names: Sequence[str],
    shared: Sequence[str],
    trained_map: Mapping[str, str | None] | None = None,
) -> str:
    """Why a model cannot be scored on data that share fewer than two classes with it, and the fix
    that works for THESE classes: a model of classes of its own (喜び) is matched by its names only,
    so no label scheme and no English name reaches it; the ``--label_map`` its training read its data
    with (``trained_map``, its ``train_args.json``) when that map sends two or more of the test labels
    to the model's classes (new recordings labelled ``怒り`` as the training data were)."""
    reached = {trained_map[d] for d in data_names if trained_map and trained_map.get(d) in set(model_names)}
    own = [m for m in model_names if emotion_of(m) is None]
    unknown = [d for d in data_names if d not in shared and emotion_of(d) is None]  # female_angry is one
    english = "angry, happy, sad, neutral, fearful, disgust, surprised"
    where = "in the data (a metadata.csv's label column, the class folders)"
    mapping = "or map them as they are loaded with --label-map TEST=MODEL,... (from Python load_corpus(label_map=...))"
    if trained_map and len(reached) >= 2:
        pairs = shlex.quote(",".join(f"{k}={v or ''}" for k, v in trained_map.items()))
        fix = (
            f"the model trained with --label_map {pairs} (its train_args.json): pass --label-map {pairs} "
            "(from Python load_corpus(label_map=...)) to read these labels as its training did"
        )
    elif own:
        fix = (
            f"the model's classes {', '.join(own[:6])} are its own, which no --label-scheme produces: name the "
            f"test classes as the model does ({', '.join(model_names)}) {where}, {mapping}"
        )
    elif unknown:
        fix = (
            f"{unknown[:4]} are no emotion names ser_hf knows: name the classes in English ({english}) {where}, "
            f"{mapping.replace('TEST=MODEL', 'TEST=EMOTION')}"
        )
    else:
        fix = "load the corpus with another --label-scheme"
    return (
        f"the model's classes {list(model_names)} share "
        + (f"only one class ({shared[0]})" if shared else "no class")
        + f" with the test labels {list(data_names)}; scoring needs two or more shared classes: {fix}"
    )


def _known_scheme(data_names: Sequence[str], data_scheme: str | None) -> bool:
    """Whether the data were loaded with a ser_hf label scheme (an emotion one) whose classes they have."""
    from ..data import labels

    if data_scheme in (None, "native"):
        return False
    try:
        scheme = labels.get_scheme(data_scheme)
    except SERError:
        return False
    return list(scheme.names) == list(data_names) and not scheme.by_gender


def merged_test_classes(
    data_label_names: Sequence[str], shared: Sequence[str], data_scheme: str | None
) -> dict[str, str]:
    """``{test class: shared class}`` for data without a known scheme (a folder of your own): a test
    class the model cannot predict whose rows the harmonised classes merge into a shared one (a
    folder's ``calm`` rows count as ``neutral`` for a model without calm, as RAVDESS's calm does
    when it is loaded with ``harmonized7``). Empty for a corpus ser_hf knows: its scheme merged it
    (a class a label map renamed to the model's included: RAVDESS's calm stays out, as without it)."""
    from ..data import labels

    try:
        if data_scheme not in (None, "native") and labels.get_scheme(data_scheme):
            return {}
    except SERError:
        pass
    by_emotion = {labels.normalize_emotion(d) or d: d for d in shared}
    merged = {}
    for d in data_label_names:
        key = labels.normalize_emotion(d)
        if d in shared or key not in labels.CANONICAL_EMOTIONS:
            continue
        target = labels.map_label(key, "harmonized7")
        if target is not None and target != key and target in by_emotion:
            merged[d] = by_emotion[target]
    return merged


def _projection(model_names: Sequence[str], shared: Sequence[str], mapping: dict[str, str]) -> np.ndarray:
    """``(C_model, C_shared)`` 0/1 matrix: model class i counts towards shared class j."""
    proj = np.zeros((len(model_names), len(shared)), dtype=np.float64)
    index = {name: j for j, name in enumerate(shared)}
    for i, name in enumerate(model_names):
        if mapping.get(name) in index:
            proj[i, index[mapping[name]]] = 1.0
    return proj


def training_columns(model_dir: str | Path | None) -> tuple[dict[str, Any], set[str]]:
    """The data columns a model's training named (``--speaker_column`` ...: its ``train_args.json``), with
    its ``--label_map`` as ``label_map`` (parsed: ``{FROM: TO or None}``), and the corpus names they were
    read under; empty for a folder without those records."""
    if model_dir is None or not (Path(model_dir) / "train_args.json").is_file():
        return {}, set()
    try:
        data = json.loads((Path(model_dir) / "train_args.json").read_text(encoding="utf-8"))["data"]
        names = {str(s).split("=", 1)[0].strip().lower() for s in data.get("corpus") or ()}
        config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
        names |= {str(c) for c in config.get("training_corpora") or ()}  # an --audiofolder's name
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}, set()
    keys = ("audio_column", "label_column", "speaker_column", "gender_column")
    recorded: dict[str, Any] = {k: data[k] for k in keys if isinstance(data.get(k), str) and data[k]}
    if data.get("label_map"):  # the classes were renamed as they were loaded: scored data must be too
        from ..data.labels import parse_label_map

        where = f"{Path(model_dir) / 'train_args.json'} (label_map)"
        recorded["label_map"] = parse_label_map(data["label_map"], source=where)
    return recorded, names
