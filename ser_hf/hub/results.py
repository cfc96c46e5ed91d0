"""The figures a model card publishes, read from results JSON files (``ser-hf evaluate``'s
``metrics.json``, ``ser-hf cv``'s ``cv_results.json`` or another tool's), and the checks they pass
first: scores from 0 to 1, measured on speakers the model never saw, of this very model."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import SERError

logger = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- metrics from JSON
# Hub metric id -> names the evaluation / cross-validation JSON may use for it
_METRIC_ALIASES: dict[str, tuple[str, ...]] = {
    "accuracy": ("wa", "accuracy", "weighted_accuracy", "acc"),
    "recall": (
        "ua",
        "uar",
        "balanced_accuracy",
        "unweighted_accuracy",
        "unweighted_average_recall",
        "recall_macro",
    ),
    "f1": ("f1_macro", "macro_f1", "f1"),
}
_METRIC_LABELS = {
    "accuracy": "WA (accuracy)",
    "recall": "UA (unweighted average recall)",
    "f1": "macro F1",
}
_SKIP_KEYS = {
    "folds", "per_fold", "fold_results", "per_class", "per_speaker", "per_gender", "per_corpus", "classes",
    "confusion", "confusion_matrix", "classification_report", "report", "history", "log_history",
}  # fmt: skip


def _flatten(data: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], float]]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            key = str(key).lower()
            if key in _SKIP_KEYS:
                continue
            yield from _flatten(value, (*prefix, key))
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        yield prefix, float(data)


def _strip(key: str) -> str:
    return re.sub(r"^(eval|test|val|validation)_", "", key)


def find_metric(results: Mapping[str, Any], metric: str, stat: str | None = None) -> float | None:
    """The value of ``metric`` ("accuracy" = WA, "recall" = UA, "f1" = macro F1) in a results JSON.

    Accepts the usual shapes: ``{"ua": 0.6}``, ``{"eval_ua": 0.6}``, ``{"metrics": {"uar": 0.6}}``;
    with ``stat="mean"``/``"std"`` also ``{"mean": {"ua": ...}}``, ``{"ua": {"mean": ...}}`` and
    ``{"ua_mean": ...}``. Per-fold, per-class and per-speaker sections are ignored.
    """
    aliases = _METRIC_ALIASES[metric]
    best: tuple[int, int, float] | None = None
    for path, value in _flatten(results):
        keys = [_strip(k) for k in path]
        for rank, alias in enumerate(aliases):
            if stat is None:
                ok = keys[-1] == alias and not {"std", "mean", "min", "max"} & set(keys)
            else:
                ok = (
                    (alias in keys and stat in keys) or f"{alias}_{stat}" in keys or f"{stat}_{alias}" in keys
                )
            if ok and (best is None or (rank, len(keys)) < best[:2]):
                best = (rank, len(keys), value)
    return best[2] if best else None


def fold_count(cv: Mapping[str, Any]) -> int | None:
    for key in ("n_folds", "num_folds", "k", "folds"):
        value = cv.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, (list, dict)) and value:
            return len(value)
    return None


def corpora_from(*sources: Any) -> list[str]:
    for source in sources:
        if source is None:
            continue
        for key in ("corpora", "training_corpora", "train_corpora", "corpus", "datasets"):
            value = source.get(key) if isinstance(source, Mapping) else getattr(source, key, None)
            if isinstance(value, str) and value:
                return [c.split("=")[0] for c in re.split(r"[,+ ]+", value) if c]
            if isinstance(value, (list, tuple)) and value:
                return [str(v).split("=")[0] for v in value]
    return []


def first_str(keys: Sequence[str], *sources: Mapping[str, Any] | None) -> str | None:
    for source in sources:
        for key in keys:
            value = (source or {}).get(key)
            if isinstance(value, str) and value:
                return value
    return None


def check_metrics(*sources: Mapping[str, Any] | None) -> None:
    """WA, UA and F1 published on a card are numbers from 0 to 1, measured on unseen speakers."""
    for source in sources:
        if source and source.get("seen_speakers"):  # ser-hf evaluate names them
            raise SERError(
                f"these results include {len(source['seen_speakers'])} speaker(s) the model trained or was chosen "
                "on, so they are not held-out figures; evaluate with --split unseen (or --split model)"
            )
        for metric, label in _METRIC_LABELS.items() if source else ():
            for stat in (None, "mean"):
                value = find_metric(source, metric, stat)
                if value is not None and not 0.0 <= value <= 1.0:  # NaN fails too
                    raise SERError(f"{label} is {value}, not a score from 0 to 1; check the results file")


def check_same_model(evaluation: Mapping[str, Any] | None, folder: Path) -> None:
    """Results of ``ser-hf evaluate`` name the model they scored: another model's (its weights
    differ) must not go on this model's card."""
    scored = str((evaluation or {}).get("model") or "")
    if not scored:
        return
    from ..inference.bundled import resolve_model_name

    try:
        other = Path(str(resolve_model_name(scored)))
    except SERError:  # a folder since moved or deleted
        other = Path(scored)
    if not other.is_dir():  # a Hub id, or a folder since moved: nothing to compare
        logger.warning("the results scored %s, which is not a folder here: check it is this model", scored)
        return
    if other.resolve() == folder.resolve():
        return
    mine, theirs = folder / "model.safetensors", other / "model.safetensors"
    if not (mine.is_file() and theirs.is_file() and _same_bytes(mine, theirs)):
        raise SERError(
            f"these results are of another model ({scored}); evaluate this one: "
            f"ser-hf evaluate --model {folder} --corpus ... --split unseen",
            source="--eval-json",
        )


def _same_bytes(a: Path, b: Path, block: int = 2**20) -> bool:
    """Whether two files hold the same bytes, read a block at a time (weights may be gigabytes)."""
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while chunk := fa.read(block):
            if chunk != fb.read(block):
                return False
    return True


# how a record says "the corpus's own labels, no scheme" (ser-hf cv's meta, evaluate's metrics)
OWN_LABELS = ("the corpus's own", "native")


def check_same_recipe(cv: Mapping[str, Any] | None, folder: Path) -> None:
    """Results of ``ser-hf cv`` describe a recipe (its ``meta``: preset, corpora, label scheme), not one
    model: those of another recipe must not go on this model's card as its cross-validation. Refused
    when a recorded preset, set of training corpora or label scheme differs from the model's
    (``train_args.json``, ``config.json``); a warning when either side does not record them."""
    if not cv:
        return
    import json

    meta = cv.get("meta") if isinstance(cv.get("meta"), Mapping) else {}
    records: dict[str, Any] = {}
    for name in ("train_args.json", "config.json"):
        try:
            records[name] = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            records[name] = {}
    args, config = records["train_args.json"], records["config.json"]
    data = args.get("data") if isinstance(args.get("data"), Mapping) else {}
    model_args = args.get("model") if isinstance(args.get("model"), Mapping) else {}
    mine = {
        "preset": model_args.get("preset"),
        "corpora": _corpus_names(data.get("corpus") or config.get("training_corpora")),
        "label scheme": data.get("label_scheme") or config.get("label_scheme"),
    }
    theirs = {
        "preset": meta.get("preset"),
        "corpora": _corpus_names(meta.get("corpora")),
        "label scheme": meta.get("label_scheme"),
    }
    for side in (mine, theirs):  # a corpus read with its own labels: cv says so, train names the scheme
        if str(side["label scheme"] or "").lower() in OWN_LABELS:
            side["label scheme"] = None
    differ = [k for k in mine if mine[k] and theirs[k] and mine[k] != theirs[k]]
    if differ:
        said = "; ".join(f"{k} {_shown(theirs[k])} there, {_shown(mine[k])} for this model" for k in differ)
        raise SERError(
            f"these cross-validation results are of another recipe ({said}): they are not this model's. Run "
            f"ser-hf cv with this model's recipe (--preset {mine['preset'] or 'PRESET'} and its corpora) and "
            "pass that cv_results.json, or leave out --cv-json",
            source="--cv-json",
        )
    if not (mine["preset"] and theirs["preset"]):
        logger.warning(
            "cannot check that these cross-validation results are of this model's recipe (%s records no "
            "preset): the card will show them as its cross-validation; check they are",
            "the results' meta" if not theirs["preset"] else f"{folder}/train_args.json",
        )


def _corpus_names(value: Any) -> tuple[str, ...] | None:
    """Sorted corpus names of ``["ravdess=DIR", "tess=DIR"]`` (or names alone); None when unrecorded."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        return None
    return tuple(sorted({str(v).split("=", 1)[0].strip().lower() for v in value}))


def _shown(value: Any) -> str:
    return "+".join(value) if isinstance(value, tuple) else repr(value)
