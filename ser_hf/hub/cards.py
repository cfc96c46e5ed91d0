"""Model and dataset cards: what a model was trained on, how it scores, and under which licences.

:func:`make_model_card` reads a saved folder (config, ``test_metrics.json``, ``split.json``,
cross-validation results) and writes a ``huggingface_hub.ModelCard`` with ``pipeline_tag``,
``model-index`` results and the corpora's licences; :func:`make_dataset_card` does the same for a
harmonised corpus.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import (
    EvalResult,
    ModelCard,
    ModelCardData,
)

from ..errors import SERError
from ..models.fitted_heads import changed_heads_in_folder
from .descriptions import FUNCTIONALS_DESCRIPTIONS
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
from .scope import evaluation_scope

logger = logging.getLogger(__name__)

DEFAULT_COMMIT_MESSAGE = "Upload ser_hf speech emotion recognition model"
DEFAULT_DATASET_COMMIT_MESSAGE = "Upload harmonised speech emotion corpus"
PIPELINE_TAG = "audio-classification"
MODEL_TAGS = ("custom_code", "audio-classification", "speech-emotion-recognition", "ser_hf")

# What is known about each corpus, for cards and licences. Keys are normalised corpus names.
CORPORA: dict[str, dict[str, Any]] = {
    "ravdess": {
        "name": "RAVDESS",
        "license": "cc-by-nc-sa-4.0",
        "license_text": "CC BY-NC-SA 4.0",
        "language": "en",
        "speakers": "24 professional actors (12 female, 12 male), North American English",
        "material": "two neutral sentences spoken in 8 emotions (normal and strong intensity), studio recordings",
        "url": "https://doi.org/10.5281/zenodo.1188976",
        "citation": "Livingstone, S. R., & Russo, F. A. (2018). The Ryerson Audio-Visual Database of "
        "Emotional Speech and Song (RAVDESS). PLoS ONE, 13(5), e0196391. "
        "https://doi.org/10.1371/journal.pone.0196391",
    },
    "tess": {
        "name": "TESS",
        "license": "cc-by-nc-nd-4.0",
        "license_text": "CC BY-NC-ND 4.0",
        "language": "en",
        "speakers": "2 female actors (aged 26 and 64), Canadian English",
        "material": "200 target words in a carrier phrase, 7 emotions",
        "url": "https://doi.org/10.5683/SP2/E8H2MF",
        "citation": "Dupuis, K., & Pichora-Fuller, M. K. (2010). Toronto Emotional Speech Set (TESS). "
        "University of Toronto. https://doi.org/10.5683/SP2/E8H2MF",
    },
    "savee": {
        "name": "SAVEE",
        "license": "other",
        "license_text": "free for research use, see the corpus's terms",
        "language": "en",
        "speakers": "4 male speakers, British English",
        "material": "phonetically balanced TIMIT sentences, 7 emotions",
        "url": "http://kahlan.eps.surrey.ac.uk/savee/",
        "citation": "Jackson, P., & Haq, S. (2014). Surrey Audio-Visual Expressed Emotion (SAVEE) "
        "database. University of Surrey.",
    },
    "cremad": {
        "name": "CREMA-D",
        "license": "odbl",
        "license_text": "Open Database License (ODbL) with the Database Contents License",
        "language": "en",
        "speakers": "91 actors (48 male, 43 female, aged 20-74, several ethnicities), US English",
        "material": "12 sentences in 6 emotions at several intensities",
        "url": "https://github.com/CheyneyComputerScience/CREMA-D",
        "citation": "Cao, H., Cooper, D. G., Keutmann, M. K., Gur, R. C., Nenkova, A., & Verma, R. (2014). "
        "CREMA-D: Crowd-sourced Emotional Multimodal Actors Dataset. IEEE Transactions on "
        "Affective Computing, 5(4), 377-390.",
    },
    "emodb": {
        "name": "EmoDB",
        "license": "other",
        "license_text": "see the corpus's terms of use",
        "language": "de",
        "speakers": "10 actors (5 female, 5 male), German",
        "material": "10 everyday sentences in 7 emotions",
        "url": "http://emodb.bilderbar.info/",
        "citation": "Burkhardt, F., Paeschke, A., Rolfes, M., Sendlmeier, W., & Weiss, B. (2005). "
        "A database of German emotional speech. Proc. Interspeech 2005, 1517-1520.",
    },
}

# weights are only ever loaded from safetensors; these formats can run code when unpickled


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise SERError("file is missing", source=str(path)) from err
    except (IsADirectoryError, NotADirectoryError) as err:  # a folder given for a file, or the reverse
        raise SERError(f"not a JSON file here ({err.strerror}); check the path", source=str(path)) from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise SERError(f"not valid JSON ({err})", source=str(path)) from err
    if not isinstance(value, dict):
        raise SERError(f"expected a JSON object, found a {type(value).__name__}", source=str(path))
    return value


def _load_json_arg(value: str | Path | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if value is None or isinstance(value, Mapping):
        return dict(value) if value is not None else None
    return _read_json(Path(value))


def _corpus_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def corpus_info(name: str) -> dict[str, Any]:
    """Card facts about a corpus (``name``, ``license``, ``speakers``, ...); unknown corpora get placeholders."""
    info = CORPORA.get(_corpus_key(name))
    if info is not None:
        return info
    hub_id = _card_dataset(name)
    return {
        "name": str(name),
        "license": "other",
        "license_text": "unknown: check the corpus's own terms",
        "language": None,
        "speakers": "unknown",
        "material": "a Hub dataset" if hub_id else "a local corpus, not on the Hub",
        "url": f"https://huggingface.co/datasets/{hub_id}" if hub_id else None,
        "citation": None,
    }


REPO_ID = re.compile(r"[\w.-]+/[\w.-]+")  # owner/name, as the Hub spells a repository


def _card_dataset(name: str) -> str | None:
    """The card's YAML ``datasets:`` entry for a corpus: a known corpus's key, a Hub dataset id as given
    (``user/corpus``), None for a local corpus (its folder name links to no dataset on the Hub)."""
    if _corpus_key(name) in CORPORA:
        return _corpus_key(name)
    return str(name) if REPO_ID.fullmatch(str(name)) else None


def _distillation(folder: Path) -> str | None:
    """The card's line on a distilled student: its teacher (and the teacher's corpora when its folder is
    here), from the run's ``train_args.json``; None for a model trained on labels alone."""
    path = folder / "train_args.json"
    args = _read_json(path).get("model", {}) if path.is_file() else {}
    teacher = args.get("teacher")
    if not teacher or not args.get("distill_alpha", 1.0):  # alpha 0: the teacher's labels weigh nothing
        return None
    where = Path(teacher)
    config = _read_json(where / "config.json") if (where / "config.json").is_file() else {}
    name = where.name if config else str(teacher)  # a local folder by its name, not the trainer's disk
    corpora = ", ".join(corpus_info(c)["name"] for c in config.get("training_corpora") or [])
    return (
        f"- Trained by distillation: the loss mixes the labels with the class probabilities of the teacher "
        f"`{name}`"
        + (f" ({config.get('model_type')}, trained on {corpora})" if corpora else "")
        + f", weight {args.get('distill_alpha')} on the teacher, temperature {args.get('distill_temperature')}. "
        "The student learnt what the teacher learnt of its own training data as well; the teacher's "
        "licence terms may apply to it."
    )


def _license_for(corpora: Sequence[str]) -> str | None:
    """One Hub licence id for weights or data derived from ``corpora`` ("other" when they differ)."""
    licences = {corpus_info(c)["license"] for c in corpora}
    if not licences:
        return None
    return licences.pop() if len(licences) == 1 else "other"


def license_name_for(corpora: Sequence[str], license: str | None) -> str | None:
    """The card's ``license_name`` for ``license: other`` over corpora with different terms: their licence
    ids, sorted and joined by ``-and-`` (RAVDESS + TESS: ``cc-by-nc-nd-4.0-and-cc-by-nc-sa-4.0``), a corpus
    with its own terms as ``<corpus>-terms``; None otherwise. The bundled cards say the same."""
    if license != "other" or len(set(corpora)) < 2:
        return None
    ids = {i if (i := corpus_info(c)["license"]) != "other" else f"{_corpus_key(c)}-terms" for c in corpora}
    return "-and-".join(sorted(ids))


def _trained_parameters(folder: Path) -> int:
    """The model's own parameters (``num_parameters()``: no buffers, no frozen encoder shipped
    beside it); the safetensors headers of ``model*.safetensors`` when it does not load."""
    try:
        from ..training.loading import load_model  # never the folder's own code; safetensors only

        return int(load_model(folder).num_parameters())
    except Exception as err:  # a model of another package: count its weights file
        logger.info("counting the weights of %s from its file (%s)", folder, err)
        return _num_parameters(folder.glob("model*.safetensors"))


# the frozen pretrained encoder a functionals set reads: (set name part, how the card names it)
PRETRAINED_ENCODERS = (
    ("turn-encoder", "a frozen pretrained speech encoder (smart-turn v3.2's Whisper-tiny encoder, "
     "BSD-2-Clause / MIT; shipped beside the weights)"),
    ("voice-encoder", "a frozen pretrained speaker encoder (Resemblyzer's, Apache-2.0; shipped beside the weights)"),
)  # fmt: skip


def _num_parameters(safetensors_files: Iterable[Path]) -> int:
    """Trainable-sized tensor count from the safetensors headers (BatchNorm statistics excluded)."""
    total = 0
    for path in safetensors_files:
        with open(path, "rb") as fh:
            header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
        for name, meta in header.items():
            if name == "__metadata__" or name.endswith(
                ("running_mean", "running_var", "num_batches_tracked")
            ):
                continue
            count = 1
            for dim in meta["shape"]:
                count *= dim
            total += count
    return total


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
    if {_corpus_key(c) for c in eval_corpora} == {_corpus_key(c) for c in corpora}:
        eval_corpora = []
    eval_names = " + ".join(corpus_info(c)["name"] for c in eval_corpora) or corpus_names
    if evaluation and cv is None and protocol == first_str(["split", "split_name"], evaluation):
        protocol = f"{protocol}{f' of {eval_names}' if eval_corpora else ''}{scope}"

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
                else f"held-out split: {split_name}" + (f" of {eval_names}" if eval_corpora else "") + scope
            )
            eval_results.append(
                EvalResult(
                    task_type="audio-classification",
                    task_name="Speech emotion recognition",
                    dataset_type=next((d for d in map(_card_dataset, on) if d), "unknown"),
                    dataset_name=corpus_names if stat else eval_names,
                    dataset_config=(not stat and eval_corpora and first_str(["label_scheme"], evaluation))
                    or label_scheme,
                    dataset_split=split_name,
                    metric_type=metric,
                    metric_value=round(value, 4),
                    metric_name=label
                    + (f", mean over {n_folds or 'all'} folds" if stat else scope)
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
        split.get("speaker_independent", True) is not False,
        changed,
    )
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n\n{body}")


def _model_card_body(
    repo_id: str,
    config: dict[str, Any],
    preprocessor: dict[str, Any],
    folder: Path,
    infos: list[dict[str, Any]],
    labels: list[str],
    label_scheme: str | None,
    protocol: str | None,
    result_rows: list[tuple[str, str, str, str]],
    license: str | None,
    cv: dict[str, Any] | None,
    independent: bool = True,
    changed: Sequence[str] = (),
) -> str:
    """The card's markdown; ``changed``: the heads trained or re-initialised since ser_hf saved them."""
    families = {
        "ser_cnn_bilstm_attention": "CNN-BiLSTM-Attention",
        "ser_cnn_transformer": "CNN-Transformer",
        "ser_functionals_linear": "utterance functionals + linear (logistic regression)",
    }
    family = families.get(config.get("model_type", ""), config.get("model_type", "custom"))
    if config.get("gender_labels"):
        family = (
            "utterance functionals + gender-dependent linear (shared weights plus one set per gender "
            f"({', '.join(config['gender_labels'])}), mixed per clip by a gender gate on the same features)"
        )
    fusion = config.get("model_type") == "ser_fusion"
    fusion_desc = ""
    if fusion:
        parts = [families.get(m.get("model_type"), m.get("model_type")) for m in config.get("members", [])]
        weights = config.get("member_weights", [])
        family = f"fusion ({len(parts)} members)"
        fusion_desc = "; ".join(f"{part} (weight {w:.3g})" for part, w in zip(parts, weights))
        preprocessor = {**(preprocessor.get("frame") or {}), "functionals": preprocessor.get("functionals")}
    params = _trained_parameters(folder)
    encoder = next(
        (desc for key, desc in PRETRAINED_ENCODERS if key in str(preprocessor.get("functionals"))), None
    )
    features = preprocessor.get("feature_set", "logmel")
    feature_desc = (
        f"{preprocessor.get('n_mels', 128)}-band log-mel"
        if features == "logmel"
        else f"{preprocessor.get('n_mfcc')} MFCC"
    )
    extras = [k for k in ("deltas", "delta_deltas", "rms", "zcr") if preprocessor.get(k)]
    if extras:
        feature_desc += " + " + ", ".join(extras)
    rate = preprocessor.get("sampling_rate", 16000)
    max_frames = preprocessor.get("max_frames")
    length = f"padded/truncated to {max_frames} frames" if max_frames else "variable length (masked pooling)"
    functionals = preprocessor.get("functionals")
    what = f"`{functionals}`: {FUNCTIONALS_DESCRIPTIONS.get(functionals, 'see preprocessor_config.json')}"
    if fusion:
        feature_desc = (
            f"{feature_desc} frames (25 ms windows, 10 ms hop, variable length) for the frame models, and "
            f"utterance functionals ({what}) of the silence-trimmed clip for the functionals model"
        )
    elif functionals:
        feature_desc = f"{preprocessor.get('feature_size')} utterance functionals ({what})"
        length = "the whole utterance after trimming leading/trailing silence"
    corpus_names = " + ".join(i["name"] for i in infos) or "an unrecorded corpus"
    lines = [
        f"# {repo_id.split('/')[-1]}",
        "",
        f"Speech emotion recognition from the voice: a{'n' * (family[:1] in 'aeiou')} {family} model ({params:,} parameters) "
        + (f"on the pooled states of {encoder}, its head trained" if encoder else "trained from scratch")
        + f" on {corpus_names} with the ser_hf package on transformers. It "
        "classifies a clip of speech into "
        f"{len(labels)} emotions: {', '.join(labels)}.",
        "",
        *(
            [
                f"> **Changed since ser_hf fitted it.** Its {' and '.join(changed)} {'are' if len(changed) > 1 else 'is'} not what ser_hf fitted and "
                "saved (trained or re-initialised since, e.g. a stock fine-tune): the training data, calibration "
                "and results this card gives describe the model before that change, not this one.",
                "",
            ]
            if changed
            else []
        ),
        "## How to use",
        "",
        "The model ships its own code (`auto_map`), so the stock pipeline loads it with "
        "`trust_remote_code=True`; `ser_hf` does not need to be installed.",
        "",
        "```python",
        "from transformers import pipeline",
        "",
        f'classifier = pipeline("audio-classification", model="{repo_id}", trust_remote_code=True)',
        'classifier("speech.wav", top_k=3)  # a path, bytes, a 1-D float array at '
        f"{rate} Hz, or {{'array': x, 'sampling_rate': sr}}",
        "```",
        "",
        "Audio is decoded with FFmpeg and resampled to "
        f"{rate} Hz mono. Long recordings should be split into windows of a few seconds "
        "(`ser-hf predict` does this and returns a timeline).",
        "",
        "## Labels",
        "",
        f"Label scheme: `{label_scheme}`." if label_scheme else "",
        "",
        "| id | label |",
        "| --- | --- |",
        *[f"| {i} | {name} |" for i, name in enumerate(labels)],
        "",
        "## Model",
        "",
        f"- Family: {family} (`{config.get('model_type')}`), {params:,} parameters.",
        *(
            [
                f"- Input features at {rate} Hz: {feature_desc}.",
                f"- Architecture: the class probabilities of its members are averaged with fixed weights: "
                f"{fusion_desc}. See `config.json` (`members`).",
            ]
            if fusion
            else [
                f"- Input features: {feature_desc} at {rate} Hz, {length}.",
                "- Architecture: standardisation (stored training mean/std) then one linear layer, the "
                "weights of a multinomial logistic regression"
                + (
                    "; a second linear layer, fitted on values standardised per training speaker, replaces it "
                    "after `adapt` (which standardises on the user's own clips)"
                    if config.get("speaker_head")
                    else ""
                )
                + "; see `config.json`.",
            ]
            if preprocessor.get("functionals")
            else [
                f"- Input features: {feature_desc} at {rate} Hz, 25 ms windows, 10 ms hop, {length}.",
                f"- Architecture details: see `config.json` (conv channels {config.get('conv_channels')}).",
            ]
        ),
        *([line] if (line := _distillation(folder)) else []),
        "",
        "## Intended use",
        "",
        "Research and prototyping of speech emotion recognition: comparing models, demos, analysing "
        "expressed (acted) emotion in short clips of clean speech. Scores describe how the voice "
        "sounds, not what a person feels.",
        "",
        "Out of scope: decisions about people (hiring, education, health, insurance, law enforcement, "
        "surveillance), clinical or mental-health assessment, and any use on people who have not "
        "agreed to it.",
        "",
        "## Training data",
        "",
    ]
    if infos:
        for info in infos:
            source = f" ([source]({info['url']}))" if info.get("url") else ""
            lines.append(
                f"- **{info['name']}**{source}: {info['speakers']}; {info['material']}. "
                f"Licence: {info['license_text']}."
            )
    else:
        lines.append("- Not recorded with the model.")
    lines += ["", "## Evaluation", ""]
    if protocol:
        lines += [
            f"Protocol: **{protocol}**. "
            + (
                "Test speakers are never seen in training; validation speakers for early stopping come from the "
                "training speakers only"
                if independent
                else "The same speakers are in training and test (a "
                "random clip split): these figures overstate accuracy on new speakers"
            )
            + "; augmentation is applied to training clips only, after the split.",
            "",
        ]
    if result_rows:
        lines += [
            "| evaluation | metric | value | std (sample, ddof=1, over folds) |",
            "| --- | --- | --- | --- |",
        ]
        lines += [f"| {where} | {metric} | {value} | {std} |" for where, metric, value, std in result_rows]
        lines += [
            "",
            "WA = accuracy over clips; UA = mean per-class recall (balanced accuracy), the headline "
            "metric for imbalanced emotion classes; F1 = macro F1.",
        ]
    else:
        lines.append("No evaluation results were supplied with this upload.")
    folds = (cv or {}).get("folds")
    if isinstance(folds, list) and folds and all(isinstance(f, Mapping) for f in folds):
        lines += ["", "Per fold:", "", "| fold | WA | UA | F1 |", "| --- | --- | --- | --- |"]
        for i, fold in enumerate(folds):
            cells = [find_metric(fold, m) for m in _METRIC_ALIASES]
            lines.append(
                f"| {fold.get('fold', i)} | "
                + " | ".join("" if c is None else f"{c:.3f}" for c in cells)
                + " |"
            )
    lines += ["", "## Limitations", ""]
    limits = [
        "Trained on ACTED emotional speech read in a studio; spontaneous, conversational or noisy "
        "speech sounds different and accuracy drops there (cross-corpus accuracy is typically far "
        "below within-corpus accuracy).",
    ]
    names = {i["name"] for i in infos}
    if "RAVDESS" in names:
        limits.append(
            "RAVDESS has only 24 actors (12 female, 12 male), all speaking North American English, "
            "and two fixed sentences: other languages, accents, ages and voices are not represented."
        )
    if names and all(i.get("language") == "en" for i in infos):
        limits.append("English speech only.")
    limits += [
        "Emotion categories are a simplification: real expressions are mixed, culture-dependent and "
        "often ambiguous even to human listeners.",
        "Clips were a few seconds long; classify long audio in windows.",
    ]
    lines += [f"- {item}" for item in limits]
    lines += ["", "## Licence", ""]
    if license and license != "other":
        lines.append(
            f"The weights derive from the training data and are released under `{license}` "
            f"(the corpus licence{'s' if len(infos) > 1 else ''}: "
            + "; ".join(f"{i['name']}: {i['license_text']}" for i in infos)
            + ")."
        )
    else:
        lines.append(
            "The weights derive from corpora with different or custom terms: "
            + ("; ".join(f"{i['name']}: {i['license_text']}" for i in infos) or "unknown")
            + ". Respect the most restrictive of them."
        )
    citations = [i["citation"] for i in infos if i.get("citation")]
    if citations:
        lines += ["", "## Citation of the training data", ""] + [f"- {c}" for c in citations]
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"
