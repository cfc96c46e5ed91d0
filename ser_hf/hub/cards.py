"""Model and dataset cards: what a model was trained on, how it scores, and under which licences.

:func:`make_model_card` reads a saved folder (config, ``test_metrics.json``, ``split.json``,
cross-validation results) and writes a ``huggingface_hub.ModelCard`` with ``pipeline_tag``,
``model-index`` results and the corpora's licences: what it states of the folder and the corpora comes
from :mod:`ser_hf.hub.card_facts`, the figures from :mod:`ser_hf.hub.results`, the markdown from
:mod:`ser_hf.hub.card_body`. :func:`ser_hf.hub.dataset_push.make_dataset_card` does the same for a
harmonised corpus.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import (
    EvalResult,
    ModelCard,
    ModelCardData,
)

from ..errors import SERError
from ..models.fitted_heads import changed_heads_in_folder
from .card_body import _model_card_body
from .card_facts import (  # noqa: F401  (some only re-exported: callers import them from here)
    CORPORA,
    PRETRAINED_ENCODERS,
    REPO_ID,
    _card_dataset,
    _corpus_key,
    _license_for,
    _load_json_arg,
    _read_json,
    _trained_parameters,
    corpus_info,
    license_name_for,
)
from .results import (  # noqa: F401  (find_metric re-exported: the cards' public reader of results)
    _METRIC_ALIASES,
    _METRIC_LABELS,
    check_metrics,
    check_same_model,
    check_same_recipe,
    corpora_from,
    find_metric,
    first_str,
    fold_count,
)
from .scope import corpus_scope, evaluation_scope

logger = logging.getLogger(__name__)

DEFAULT_COMMIT_MESSAGE = "Upload ser_hf speech emotion recognition model"
DEFAULT_DATASET_COMMIT_MESSAGE = "Upload harmonised speech emotion corpus"
PIPELINE_TAG = "audio-classification"
MODEL_TAGS = ("custom_code", "audio-classification", "speech-emotion-recognition", "ser_hf")


# ----------------------------------------------------------------------------- model card
def make_model_card(
    model_dir: str | Path,
    repo_id: str,
    eval_json: str | Path | Mapping[str, Any] | None = None,
    cv_json: str | Path | Mapping[str, Any] | None = None,
    *,
    datasets: Sequence[str] | None = None,
    license: str | None = None,
    protocol: str | None = None,
) -> ModelCard:
    """Build the model card (YAML metadata + markdown body) for a saved ``ser_hf`` model.

    Args:
        model_dir: folder written by ``save_pretrained`` (``config.json``, ``preprocessor_config.json``,
            safetensors).
        repo_id: the Hub id the card is for (used in the snippet and as ``model_name``).
        eval_json: results of ``ser-hf evaluate`` (path or dict): WA/UA/F1 on a held-out split.
        cv_json: results of ``ser-hf cv`` (path or dict): mean and std of WA/UA/F1 over folds.
        datasets: corpora the model was trained on (e.g. ``["ravdess"]``); default: read from the
            config (``corpora``) or the JSON files.
        license: Hub licence id of the weights; default: the training corpora's licence
            (``cc-by-nc-sa-4.0`` for RAVDESS), ``"other"`` when they differ.
        protocol: name of the split protocol; default: from the JSON, else "<corpus> <k>-fold
            speaker-independent".

    Returns:
        a :class:`huggingface_hub.ModelCard`; ``str(card)`` is the README.md. Its YAML holds
        ``pipeline_tag``, ``library_name``, ``tags`` (incl. ``custom_code``), ``datasets``, ``metrics``,
        ``license`` and, when results were given, a ``model-index``.
    """
    folder = Path(model_dir)
    config = _read_json(folder / "config.json")
    preprocessor = _read_json(folder / "preprocessor_config.json")
    if not config.get("id2label"):
        raise SERError(
            "config.json names no classes (id2label); is this a trained model?", source=str(folder)
        )
    split = _read_json(folder / "split.json") if (folder / "split.json").is_file() else {}
    if eval_json is None and (folder / "test_metrics.json").is_file():  # the run's own test split
        eval_json = {**_read_json(folder / "test_metrics.json"), "split": split.get("description", "test")}
    evaluation = _load_json_arg(eval_json)
    cv = _load_json_arg(cv_json)
    check_metrics(evaluation, cv)
    check_same_model(evaluation, folder)
    check_same_recipe(cv, folder)
    if changed := changed_heads_in_folder(folder):
        logger.warning(
            "%s: its %s changed since ser_hf fitted and saved it; the card says that its training data, "
            "calibration and results describe the model before that change",
            folder,
            " and ".join(changed),
        )

    # the corpora: given, recorded in the config or the results, else the training speakers' prefixes
    trained_on = sorted({str(s).rsplit("_", 1)[0] for s in split.get("train_speakers", []) if "_" in str(s)})
    corpora = list(datasets or corpora_from(config, cv, evaluation) or trained_on)
    if not datasets:  # a Hub dataset's rows carry its name only: the card links the dataset by its id
        data = (
            _read_json(folder / "train_args.json").get("data", {})
            if (folder / "train_args.json").is_file()
            else {}
        )
        hub_id = str(data.get("hub_dataset") or "")
        own = (
            REPO_ID.fullmatch(hub_id) and _corpus_key(hub_id.split("/")[-1]) not in CORPORA
        )  # me/ravdess: RAVDESS's terms
        corpora = [hub_id if own and c == hub_id.split("/")[-1] else c for c in corpora]
    infos = [corpus_info(c) for c in corpora]
    corpus_names = " + ".join(i["name"] for i in infos) or "an unrecorded corpus"
    license = license or config.get("license") or _license_for(corpora)
    if not corpora:
        logger.warning(
            "the training corpora are not recorded in %s; pass datasets=[...] for an honest card", folder
        )
    labels = [config["id2label"][k] for k in sorted(config.get("id2label", {}), key=int)]
    label_scheme = config.get("label_scheme") or first_str(["label_scheme"], cv, evaluation)

    n_folds = fold_count(cv) if cv else None
    meta = (cv or {}).get("meta") if isinstance((cv or {}).get("meta"), Mapping) else {}
    protocol = protocol or first_str(["protocol", "split_protocol", "split"], meta, cv, evaluation)
    if protocol is None and cv is not None:
        protocol = f"{corpus_names} {n_folds or 'k'}-fold speaker-independent"
    eval_split = first_str(["split", "split_name"], evaluation) or "test"
    model_name = repo_id.split("/")[-1]
    # an evaluation on another corpus (ser-hf evaluate records the corpora it scored) is named as such,
    # with the classes it was scored on when the corpus lacks some: it was published as the training corpus's
    eval_corpora, scope = evaluation_scope(evaluation, labels)
    independent = split.get("speaker_independent", True) is not False
    # cross-corpus or in-domain, the labels merged as the data were loaded, chance (evaluate since session 45)
    data_parts, data_tag, eval_notes = corpus_scope(evaluation, independent)
    data_scope = "".join(f", {part}" for part in data_parts)
    chance = (evaluation or {}).get("chance_ua") if data_parts else None
    if {_corpus_key(c) for c in eval_corpora} == {_corpus_key(c) for c in corpora}:
        eval_corpora = []
    eval_names = " + ".join(corpus_info(c)["name"] for c in eval_corpora) or corpus_names
    if evaluation and cv is None and protocol == first_str(["split", "split_name"], evaluation):
        protocol = f"{protocol}{f' of {eval_names}' if eval_corpora else ''}{scope}{data_scope}"

    eval_results: list[EvalResult] = []
    result_rows: list[tuple[str, str, str, str]] = []  # (where, metric label, value, std)
    for source, stat, split_name in ((cv, "mean", protocol), (evaluation, None, eval_split)):
        on = (eval_corpora or corpora) if not stat else corpora
        if source is None:
            continue
        for metric, label in _METRIC_LABELS.items():
            value = find_metric(source, metric, stat)
            if value is None:
                continue
            std = find_metric(source, metric, "std") if stat else None
            where = (
                f"{protocol} (mean over folds)"
                if stat
                else f"held-out split: {split_name}"
                + (f" of {eval_names}" if eval_corpora else "")
                + scope
                + data_scope
            )
            eval_results.append(
                EvalResult(
                    task_type="audio-classification",
                    task_name=(
                        f"Speech emotion recognition, this model's recipe retrained per fold "
                        f"({n_folds or 'all'} folds; not this model's own score)"
                        if stat
                        else "Speech emotion recognition, this model"
                    ),
                    dataset_type=next((d for d in map(_card_dataset, on) if d), "unknown"),
                    dataset_name=corpus_names if stat else eval_names,
                    dataset_config=(not stat and eval_corpora and first_str(["label_scheme"], evaluation))
                    or label_scheme,
                    dataset_split=split_name,
                    metric_type=metric,
                    metric_value=round(value, 4),
                    metric_name=label
                    + (f", mean over {n_folds or 'all'} folds" if stat else scope)
                    + (f", {data_tag}" if data_tag and not stat else "")
                    + (
                        f", chance {chance:.3f}"
                        if metric == "recall" and not stat and isinstance(chance, (int, float))
                        else ""
                    )
                    + (f" (std {std:.4f})" if std is not None else ""),
                    metric_args={"average": "macro"} if metric != "accuracy" else None,
                )
            )
            result_rows.append((where, label, f"{value:.3f}", f"{std:.3f}" if std is not None else ""))
    if (cv or evaluation) and not eval_results:
        logger.warning("no WA/UA/F1 found in the evaluation JSON: the card will have no model-index")

    languages = sorted({i["language"] for i in infos if i.get("language")}) or None
    card_data = ModelCardData(
        model_name=model_name,
        pipeline_tag=PIPELINE_TAG,
        library_name="transformers",
        tags=list(MODEL_TAGS) + [config.get("model_type", "ser")],
        datasets=[d for d in map(_card_dataset, corpora) if d] or None,
        metrics=list(_METRIC_ALIASES),
        license=license,
        license_name=license_name_for(corpora, license),
        language=languages,
        eval_results=eval_results or None,
    )
    body = _model_card_body(
        repo_id,
        config,
        preprocessor,
        folder,
        infos,
        labels,
        label_scheme,
        protocol,
        result_rows,
        license,
        cv,
        # an in-domain evaluation that did not hold out the model's speakers is not said to
        None if independent and cv is None and data_tag.endswith("speakers not held out") else independent,
        changed,
        eval_notes,
    )
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n\n{body}")
