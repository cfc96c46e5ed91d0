"""Publish trained models and harmonised corpora to the Hugging Face Hub.

- :func:`push_model` uploads a folder written by ``save_pretrained`` (config, safetensors weights,
  ``preprocessor_config.json`` and the remote-code ``.py`` files named by ``auto_map``) together
  with a model card from :func:`make_model_card`, so that anyone can run
  ``pipeline("audio-classification", model=repo_id, trust_remote_code=True)`` without ``ser_hf``.
- :func:`push_dataset` uploads a corpus loaded by :mod:`ser_hf.corpora` (or any dataset with the
  same columns) with ``Dataset.push_to_hub``, which embeds the audio bytes into parquet shards, plus
  a dataset card naming sources, licences, the label scheme and speaker counts.

Both go through ``huggingface_hub`` and so honour ``HF_TOKEN`` (or a saved login) and
``HF_ENDPOINT``; an explicit ``token`` wins. Network and Hub errors come back as
:class:`~ser_hf.errors.SERError` whose message says what to do.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    DatasetCard,
    DatasetCardData,
    EvalResult,
    HfApi,
    ModelCard,
    ModelCardData,
)

from .errors import SERError

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
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
_NOT_WEIGHTS = {"training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state.pth", "scaler.pt"}


def _corpus_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def corpus_info(name: str) -> dict[str, Any]:
    """Card facts about a corpus (``name``, ``license``, ``speakers``, ...); unknown corpora get placeholders."""
    info = CORPORA.get(_corpus_key(name))
    if info is not None:
        return info
    return {
        "name": str(name),
        "license": "other",
        "license_text": "unknown: check the corpus's own terms",
        "language": None,
        "speakers": "unknown",
        "material": "unknown",
        "url": None,
        "citation": None,
    }


def _license_for(corpora: Sequence[str]) -> str | None:
    """One Hub licence id for weights or data derived from ``corpora`` ("other" when they differ)."""
    licences = {corpus_info(c)["license"] for c in corpora}
    if not licences:
        return None
    return licences.pop() if len(licences) == 1 else "other"


# ----------------------------------------------------------------------------- errors
@contextmanager
def _hub_errors(action: str, repo_id: str) -> Iterator[None]:
    """Turn the HTTP and connection errors of huggingface_hub into SERError with the fix."""
    from huggingface_hub import constants
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    try:
        from httpx2 import TransportError  # huggingface_hub >= 2
    except ImportError:  # pragma: no cover - huggingface_hub 1.x uses httpx
        from httpx import TransportError

    endpoint = constants.ENDPOINT
    try:
        yield
    except OfflineModeIsEnabled as err:
        raise SERError(
            f"cannot {action}: offline mode is on (HF_HUB_OFFLINE=1); unset it to reach {endpoint}",
            source=repo_id,
        ) from err
    except HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else None
        server = (err.server_message or "").strip().splitlines()[0] if err.server_message else ""
        detail = f" ({server})" if server else ""
        if status == 401:
            fix = (
                "the Hub rejected the credentials: set HF_TOKEN to a WRITE token "
                "(https://huggingface.co/settings/tokens), pass --token, or run `hf auth login`"
            )
        elif status == 403:
            fix = "this token may not write there: use a repo id under your user or an organisation you can write to"
        elif status == 404:
            fix = "the repository was not found: check the repo id, and that HF_TOKEN can see private repos"
        elif status == 409:
            fix = "the Hub reported a conflict: another push may be running, retry in a moment"
        elif status == 412:
            fix = "the branch moved while uploading: retry the push"
        else:
            fix = f"the Hub answered HTTP {status}"
        raise SERError(f"cannot {action} at {endpoint}: {fix}{detail}", source=repo_id) from err
    except (TransportError, ConnectionError) as err:
        raise SERError(
            f"cannot {action}: {endpoint} is unreachable ({type(err).__name__}); check the network, "
            "or HF_ENDPOINT if you use a mirror",
            source=repo_id,
        ) from err


def _check_token(token: str | None) -> str:
    from huggingface_hub import get_token

    token = token or get_token()
    if not token:
        raise SERError(
            "no Hugging Face token: set HF_TOKEN to a write token (https://huggingface.co/settings/tokens), "
            "pass --token, or run `hf auth login`"
        )
    return token


# ----------------------------------------------------------------------------- model folder checks
def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise SERError("file is missing", source=str(path)) from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise SERError(f"not valid JSON ({err})", source=str(path)) from err


def _load_json_arg(value: str | Path | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if value is None or isinstance(value, Mapping):
        return dict(value) if value is not None else None
    return _read_json(Path(value))


def _module_file(reference: str) -> str:
    """``"repo--modeling_ser.Class"`` or ``"modeling_ser.Class"`` -> ``"modeling_ser.py"``."""
    reference = reference.split("--")[-1]
    return reference.rsplit(".", 1)[0].replace(".", "/") + ".py"


def model_files(model_dir: str | Path) -> list[Path]:
    """Check that ``model_dir`` loads as remote code from the Hub and list the files to upload.

    The folder must hold ``config.json`` whose ``auto_map`` maps ``AutoConfig`` and
    ``AutoModelForAudioClassification`` to files in the folder, ``preprocessor_config.json`` with
    ``AutoFeatureExtractor`` in its (or the config's) ``auto_map``, safetensors weights (pickled
    ``.bin``/``.pt`` weights are refused), and every ``.py`` file those modules import with
    single-dot sibling imports; the ``.py`` files may not import ``ser_hf`` itself (the Hub's remote
    code runs where it is not installed).

    Returns:
        the paths to upload, sorted: config, preprocessor config, weights (and index), ``.py`` files.
    """
    folder = Path(model_dir)
    if not folder.is_dir():
        raise SERError(
            "not a model folder; pass the directory written by save_pretrained", source=str(folder)
        )
    config = _read_json(folder / "config.json")
    preprocessor = _read_json(folder / "preprocessor_config.json")

    safetensors = sorted(folder.glob("*.safetensors"))
    pickles = [p for p in folder.iterdir() if p.suffix in _PICKLE_SUFFIXES and p.name not in _NOT_WEIGHTS]
    if not safetensors:
        what = f"only pickled weights ({', '.join(p.name for p in pickles)})" if pickles else "no weights"
        raise SERError(
            f"{what}: the Hub copy must use safetensors; re-save with model.save_pretrained(folder) "
            "(transformers writes model.safetensors by default)",
            source=str(folder),
        )
    if pickles:
        logger.warning(
            "not uploading pickled files %s (safetensors weights are used)", [p.name for p in pickles]
        )
    index = folder / "model.safetensors.index.json"

    auto_map = dict(config.get("auto_map") or {})
    for key in ("AutoConfig", "AutoModelForAudioClassification"):
        if key not in auto_map:
            hint = (
                " (it maps AutoModel: register the model with "
                'Model.register_for_auto_class("AutoModelForAudioClassification") before saving)'
                if key != "AutoConfig" and "AutoModel" in auto_map
                else ""
            )
            raise SERError(
                f"config.json auto_map has no {key}{hint}; without it "
                "pipeline('audio-classification', trust_remote_code=True) cannot load the model",
                source=str(folder / "config.json"),
            )
    extractor_ref = (preprocessor.get("auto_map") or {}).get("AutoFeatureExtractor") or auto_map.get(
        "AutoFeatureExtractor"
    )
    if not extractor_ref:
        raise SERError(
            "no AutoFeatureExtractor in auto_map: call SERFeatureExtractor.register_for_auto_class() "
            "before save_pretrained",
            source=str(folder / "preprocessor_config.json"),
        )
    refs = [auto_map["AutoConfig"], auto_map["AutoModelForAudioClassification"], extractor_ref]
    code: set[str] = set()
    pending = [_module_file(r if isinstance(r, str) else r[0]) for r in refs]
    while pending:  # follow `from .x import y` the way transformers copies remote code
        name = pending.pop()
        if name in code:
            continue
        path = folder / name
        if not path.is_file():
            raise SERError(
                f"remote-code file {name} is missing; re-save the model with save_pretrained so the "
                "source files are copied next to the weights",
                source=str(folder),
            )
        code.add(name)
        source = path.read_text(encoding="utf-8")
        if re.search(r"^\s*(from|import)\s+ser_hf\b", source, flags=re.M):
            raise SERError(
                f"{name} imports ser_hf absolutely; remote code must use single-dot sibling imports only",
                source=str(path),
            )
        pending += [f"{m}.py" for m in re.findall(r"^\s*from\s+\.(\w+)\s+import", source, flags=re.M)]

    files = [folder / "config.json", folder / "preprocessor_config.json", *safetensors]
    files += [index] if index.is_file() else []
    files += [folder / name for name in sorted(code)]
    return files


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


def _fold_count(cv: Mapping[str, Any]) -> int | None:
    for key in ("n_folds", "num_folds", "k", "folds"):
        value = cv.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, (list, dict)) and value:
            return len(value)
    return None


def _corpora_from(*sources: Any) -> list[str]:
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


def _first_str(keys: Sequence[str], *sources: Mapping[str, Any] | None) -> str | None:
    for source in sources:
        for key in keys:
            value = (source or {}).get(key)
            if isinstance(value, str) and value:
                return value
    return None


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
    evaluation = _load_json_arg(eval_json)
    cv = _load_json_arg(cv_json)

    corpora = list(datasets or _corpora_from(config, cv, evaluation))
    infos = [corpus_info(c) for c in corpora]
    corpus_names = " + ".join(i["name"] for i in infos) or "an unrecorded corpus"
    license = license or config.get("license") or _license_for(corpora)
    if not corpora:
        logger.warning(
            "the training corpora are not recorded in %s; pass datasets=[...] for an honest card", folder
        )
    labels = [config["id2label"][k] for k in sorted(config.get("id2label", {}), key=int)]
    label_scheme = config.get("label_scheme") or _first_str(["label_scheme"], cv, evaluation)

    n_folds = _fold_count(cv) if cv else None
    protocol = protocol or _first_str(["protocol", "split_protocol", "split"], cv, evaluation)
    if protocol is None and cv is not None:
        protocol = f"{corpus_names} {n_folds or 'k'}-fold speaker-independent"
    eval_split = _first_str(["split", "split_name"], evaluation) or "test"
    model_name = repo_id.split("/")[-1]

    eval_results: list[EvalResult] = []
    result_rows: list[tuple[str, str, str, str]] = []  # (where, metric label, value, std)
    for source, stat, split_name in ((cv, "mean", protocol), (evaluation, None, eval_split)):
        if source is None:
            continue
        for metric, label in _METRIC_LABELS.items():
            value = find_metric(source, metric, stat)
            if value is None:
                continue
            std = find_metric(source, metric, "std") if stat else None
            where = f"{protocol} (mean over folds)" if stat else f"held-out split: {split_name}"
            eval_results.append(
                EvalResult(
                    task_type="audio-classification",
                    task_name="Speech emotion recognition",
                    dataset_type=_corpus_key(corpora[0]) if corpora else "unknown",
                    dataset_name=corpus_names,
                    dataset_config=label_scheme,
                    dataset_split=split_name,
                    metric_type=metric,
                    metric_value=round(value, 4),
                    metric_name=label
                    + (f", mean over {n_folds or 'all'} folds" if stat else "")
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
        datasets=[_corpus_key(c) for c in corpora] or None,
        metrics=list(_METRIC_ALIASES),
        license=license,
        license_name="mixed-corpus-licences" if license == "other" and len(set(corpora)) > 1 else None,
        language=languages,
        eval_results=eval_results or None,
    )
    body = _model_card_body(
        repo_id, config, preprocessor, folder, infos, labels, label_scheme, protocol, result_rows, license, cv
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
) -> str:
    families = {
        "ser_cnn_bilstm_attention": "CNN-BiLSTM-Attention",
        "ser_cnn_transformer": "CNN-Transformer",
        "ser_functionals_linear": "utterance functionals + linear (logistic regression)",
    }
    family = families.get(config.get("model_type", ""), config.get("model_type", "custom"))
    fusion = config.get("model_type") == "ser_fusion"
    fusion_desc = ""
    if fusion:
        parts = [families.get(m.get("model_type"), m.get("model_type")) for m in config.get("members", [])]
        weights = config.get("member_weights", [])
        family = f"fusion ({len(parts)} members)"
        fusion_desc = "; ".join(f"{part} (weight {w:.3g})" for part, w in zip(parts, weights))
        preprocessor = {**(preprocessor.get("frame") or {}), "functionals": preprocessor.get("functionals")}
    params = _num_parameters(folder.glob("*.safetensors"))
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
    if fusion:
        feature_desc = (
            f"{feature_desc} frames (25 ms windows, 10 ms hop, variable length) for the frame models, and "
            f"utterance functionals ({preprocessor.get('functionals')}; 'compare' = openSMILE ComParE 2016, "
            "needs `pip install opensmile`) of the silence-trimmed clip for the functionals model"
        )
    elif preprocessor.get("functionals"):
        feature_desc = (
            f"{preprocessor.get('feature_size')} utterance functionals ({preprocessor['functionals']}; "
            "'compare' = openSMILE ComParE 2016, needs `pip install opensmile`)"
        )
        length = "the whole utterance after trimming leading/trailing silence"
    corpus_names = " + ".join(i["name"] for i in infos) or "an unrecorded corpus"
    lines = [
        f"# {repo_id.split('/')[-1]}",
        "",
        f"Speech emotion recognition from the voice: a {family} model ({params / 1e6:.2f} M parameters) "
        f"trained from scratch on {corpus_names} with the ser_hf package on transformers. It "
        "classifies a clip of speech into "
        f"{len(labels)} emotions: {', '.join(labels)}.",
        "",
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
                "weights of a multinomial logistic regression; see `config.json`.",
            ]
            if preprocessor.get("functionals")
            else [
                f"- Input features: {feature_desc} at {rate} Hz, 25 ms windows, 10 ms hop, {length}.",
                f"- Architecture details: see `config.json` (conv channels {config.get('conv_channels')}).",
            ]
        ),
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
            f"Protocol: **{protocol}**. Test speakers are never seen in training; validation speakers "
            "for early stopping come from the training speakers only; augmentation is applied to "
            "training clips only, after the split.",
            "",
        ]
    if result_rows:
        lines += ["| evaluation | metric | value | std |", "| --- | --- | --- | --- |"]
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


# ----------------------------------------------------------------------------- push model
def push_model(
    model_dir: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    eval_json: str | Path | Mapping[str, Any] | None = None,
    cv_json: str | Path | Mapping[str, Any] | None = None,
    datasets: Sequence[str] | None = None,
    license: str | None = None,
    protocol: str | None = None,
    commit_message: str = DEFAULT_COMMIT_MESSAGE,
):
    """Upload a saved model folder and its generated model card to the Hub in one commit.

    Uploads config, safetensors weights, ``preprocessor_config.json``, the remote-code ``.py``
    files (see :func:`model_files` for the checks), the generated ``README.md`` and, when given,
    ``eval_results.json`` / ``cv_results.json``. Older weight shards and code files in the repo
    that are not part of this upload are deleted in the same commit.

    Returns:
        the :class:`huggingface_hub.CommitInfo` of the commit (``.commit_url``, ``.oid``).
    """
    files = model_files(model_dir)
    card = make_model_card(
        model_dir, repo_id, eval_json, cv_json, datasets=datasets, license=license, protocol=protocol
    )
    token = _check_token(token)
    operations: list[Any] = [CommitOperationAdd(path_in_repo=p.name, path_or_fileobj=str(p)) for p in files]
    operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=str(card).encode()))
    for name, value in (("eval_results.json", eval_json), ("cv_results.json", cv_json)):
        data = _load_json_arg(value)
        if data is not None:
            operations.append(CommitOperationAdd(name, json.dumps(data, indent=2).encode()))
    uploaded = {op.path_in_repo for op in operations}

    api = HfApi(token=token)
    with _hub_errors("push the model", repo_id):
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        stale = [
            f
            for f in api.list_repo_files(repo_id, repo_type="model")
            if f not in uploaded
            and (f.endswith((".safetensors", ".py", *_PICKLE_SUFFIXES)) or f.endswith(".index.json"))
        ]
        operations += [CommitOperationDelete(path_in_repo=f) for f in stale]
        info = api.create_commit(repo_id, operations, commit_message=commit_message, repo_type="model")
    logger.info("pushed %d files to %s (%s)", len(files) + 1, repo_id, info.commit_url)
    return info


# ----------------------------------------------------------------------------- push dataset
def make_dataset_card(ds: Any, repo_id: str, *, label_scheme: str | None = None) -> DatasetCard:
    """Dataset card: sources with licences and citations, the label scheme, speaker counts.

    ``ds`` is a ``datasets.Dataset`` (or a ``DatasetDict``: counts cover every split) with the
    columns of :func:`ser_hf.corpora.load_corpus` (``audio``, ``emotion``, ``speaker``, ``gender``,
    ``corpus``, ...); counts come from :func:`ser_hf.corpora.corpus_summary`. The card carries no ``configs``/``dataset_info``: ``Dataset.push_to_hub`` adds them.
    """
    from .corpora import corpus_summary, label_scheme_of

    splits = dict(ds) if hasattr(ds, "keys") else {"train": ds}
    summaries = {name: corpus_summary(split) for name, split in splits.items()}
    label_scheme = label_scheme or next((label_scheme_of(split) for split in splits.values()), None)
    corpora = sorted({c for s in summaries.values() for c in s["per_corpus"]})
    infos = [corpus_info(c) for c in corpora]
    licences = sorted({i["license"] for i in infos})
    first = next(iter(splits.values()))
    labels = getattr(first.features.get("emotion"), "names", None) or list(
        next(iter(summaries.values()))["per_emotion"]
    )
    rows = sum(s["rows"] for s in summaries.values())
    size = "n<1K" if rows < 1000 else "1K<n<10K" if rows < 10000 else "10K<n<100K"
    card_data = DatasetCardData(
        pretty_name=f"{' + '.join(i['name'] for i in infos)} speech emotion ({label_scheme or 'harmonised labels'})",
        license=licences[0] if len(licences) == 1 else licences or None,
        language=sorted({i["language"] for i in infos if i.get("language")}) or None,
        task_categories=["audio-classification"],
        tags=["speech-emotion-recognition", "audio", "ser_hf"],
        size_categories=[size],
    )
    lines = [
        f"# {repo_id.split('/')[-1]}",
        "",
        f"Emotional speech from {', '.join(i['name'] for i in infos) or 'unknown corpora'}, harmonised by "
        f"ser_hf: {rows} clips, one row per clip, audio embedded (decoded at 16 kHz mono).",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        f'ds = load_dataset("{repo_id}", split="{next(iter(splits))}")',
        'ds[0]["audio"]  # decoded on access',
        "```",
        "",
        "## Columns",
        "",
        "- `audio`: the clip (`Audio(sampling_rate=16000, num_channels=1)`).",
        f"- `emotion`: class label, scheme `{label_scheme or 'see below'}`: {', '.join(labels)}.",
        "- `speaker`, `gender` (female / male / unknown), `corpus`, `file` (original file name), and "
        "corpus-specific fields where present (e.g. RAVDESS intensity and statement).",
        "",
        "## Sources and licences",
        "",
    ]
    for info in infos:
        url = f" ([source]({info['url']}))" if info.get("url") else ""
        lines.append(f"- **{info['name']}**{url}: {info['speakers']}. Licence: {info['license_text']}.")
    if len(licences) > 1:
        lines.append("- The corpora have different licences: each row keeps its own (see `corpus`).")
    lines += ["", "## Counts", ""]
    for split, summary in summaries.items():
        lines += [
            f"Split `{split}`: {summary['rows']} clips.",
            "",
            "| corpus | clips | speakers | by gender |",
        ]
        lines += ["| --- | --- | --- | --- |"]
        for corpus, c in summary["per_corpus"].items():
            genders = ", ".join(f"{g} {n}" for g, n in sorted(c["genders"].items()))
            lines.append(f"| {corpus} | {c['rows']} | {c['speakers']} | {genders} |")
        lines += ["", "| emotion | clips |", "| --- | --- |"]
        lines += [f"| {label} | {n} |" for label, n in summary["per_emotion"].items()]
        lines.append("")
    lines += [
        "## Use",
        "",
        "Split by SPEAKER (`speaker` column) for any evaluation: a random clip split puts the same "
        "actors in train and test and inflates scores.",
        "",
        "## Citations",
        "",
        *[f"- {i['citation']}" for i in infos if i.get("citation")],
    ]
    return DatasetCard(f"---\n{card_data.to_yaml()}\n---\n\n" + "\n".join(lines) + "\n")


def _prepare_dataset(ds: Any) -> Any:
    """Check the columns and replace local source paths by bare file names (no home directories on the Hub)."""
    from datasets import Audio

    for split in ds.values() if hasattr(ds, "keys") else [ds]:
        missing = [c for c in ("audio", "emotion") if c not in split.column_names]
        if missing:
            raise SERError(
                f"the dataset has no {', '.join(missing)} column; load it with ser_hf.corpora.load_corpus "
                f"(columns: {', '.join(split.column_names)})"
            )
        if not isinstance(split.features["audio"], Audio):
            raise SERError("the audio column must be a datasets.Audio feature")

    def strip_paths(split: Any) -> Any:
        if "path" not in split.column_names:
            return split
        names = [Path(str(p)).name for p in split["path"]]
        return split.remove_columns("path").add_column("file", names)

    if hasattr(ds, "keys"):
        from datasets import DatasetDict

        return DatasetDict({name: strip_paths(split) for name, split in ds.items()})
    return strip_paths(ds)


def load_corpus_specs(specs: Sequence[str], label_scheme: str | None = None) -> Any:
    """``["ravdess=/data/ravdess", ...]`` -> one Dataset via :mod:`ser_hf.corpora`."""
    from . import corpora

    pairs = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise SERError("a corpus is given as NAME=PATH, e.g. ravdess=/data/ravdess", source=spec)
        pairs.append((name.strip(), path.strip()))
    kwargs = {"label_scheme": label_scheme} if label_scheme else {}
    if len(pairs) == 1:
        return corpora.load_corpus(pairs[0][0], pairs[0][1], **kwargs)
    return corpora.load_corpora(pairs, **kwargs)


def push_dataset(
    ds_or_corpus_spec: Any,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    label_scheme: str | None = None,
    commit_message: str = DEFAULT_DATASET_COMMIT_MESSAGE,
) -> str:
    """Upload a harmonised corpus with its dataset card.

    Args:
        ds_or_corpus_spec: a ``datasets.Dataset`` / ``DatasetDict`` with ``audio`` and ``emotion``
            columns, or ``"name=path"`` corpus spec(s) loaded with :mod:`ser_hf.corpora`.
        repo_id: the dataset repo, ``"user/name"``.
        label_scheme: scheme used to load corpus specs, and named on the card.

    The card is committed first and ``Dataset.push_to_hub`` then adds its ``configs`` and
    ``dataset_info`` to it (it keeps an existing card's text). Audio bytes are embedded in parquet.

    Returns:
        the dataset's URL on the endpoint.
    """
    if isinstance(ds_or_corpus_spec, (str, list, tuple)):
        specs = [ds_or_corpus_spec] if isinstance(ds_or_corpus_spec, str) else list(ds_or_corpus_spec)
        ds = load_corpus_specs(specs, label_scheme)
    else:
        ds = ds_or_corpus_spec
    ds = _prepare_dataset(ds)
    card = make_dataset_card(ds, repo_id, label_scheme=label_scheme)
    token = _check_token(token)
    api = HfApi(token=token)
    with _hub_errors("push the dataset", repo_id):
        url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="dataset")
        api.upload_file(
            path_or_fileobj=str(card).encode(),
            path_in_repo="README.md",
            repo_id=repo_id,
            repo_type="dataset",
            commit_message="Add dataset card",
        )
        ds.push_to_hub(repo_id, private=private, token=token, commit_message=commit_message)
    logger.info("pushed %s rows to %s", getattr(ds, "num_rows", "?"), url)
    return str(url)


# ----------------------------------------------------------------------------- CLIs
def _quiet_http_logs() -> None:
    # the CLI logs at INFO; one line per HTTP request would drown the useful lines
    for name in ("httpx2", "httpx", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.WARNING)


def push_cli(argv: list[str]) -> int:
    """``ser-hf push --model DIR --repo-id NAME [--private] [--eval-json F] [--cv-json F]``."""
    parser = argparse.ArgumentParser(
        prog="ser-hf push",
        description="Upload a saved model folder (safetensors, feature extractor, remote code) with a "
        "generated model card. Uses HF_TOKEN (or --token) and HF_ENDPOINT.",
    )
    parser.add_argument("--model", required=True, help="folder written by save_pretrained / ser-hf train")
    parser.add_argument("--repo-id", required=True, help="Hub model id, e.g. user/ser-ravdess")
    parser.add_argument("--private", action="store_true", help="create the repo as private")
    parser.add_argument(
        "--token", default=None, help="Hub write token (default: HF_TOKEN or the saved login)"
    )
    parser.add_argument("--eval-json", default=None, help="results of ser-hf evaluate, for the card")
    parser.add_argument(
        "--cv-json", default=None, help="cv_results.json of ser-hf cv, for the card's model-index"
    )
    parser.add_argument("--datasets", nargs="+", default=None, help="training corpora, e.g. ravdess")
    parser.add_argument("--license", default=None, help="Hub licence id (default: from the training corpora)")
    parser.add_argument("--protocol", default=None, help="name of the evaluation protocol for the card")
    parser.add_argument("--message", default=DEFAULT_COMMIT_MESSAGE, help="commit message")
    parser.add_argument("--card-only", action="store_true", help="print the model card and upload nothing")
    args = parser.parse_args(argv)
    _quiet_http_logs()
    if args.card_only:
        card = make_model_card(
            args.model, args.repo_id, args.eval_json, args.cv_json,
            datasets=args.datasets, license=args.license, protocol=args.protocol,
        )  # fmt: skip
        print(card)
        return 0
    info = push_model(
        args.model,
        args.repo_id,
        private=args.private,
        token=args.token,
        eval_json=args.eval_json,
        cv_json=args.cv_json,
        datasets=args.datasets,
        license=args.license,
        protocol=args.protocol,
        commit_message=args.message,
    )
    print(f"pushed {args.model} to {args.repo_id}: {info.commit_url}")
    return 0


def push_dataset_cli(argv: list[str]) -> int:
    """``ser-hf push-dataset --corpus ravdess=/path [--corpus ...] [--label-scheme S] --repo-id NAME``."""
    parser = argparse.ArgumentParser(
        prog="ser-hf push-dataset",
        description="Load corpora with harmonised labels and upload them as one Hub dataset (audio "
        "embedded in parquet) with a dataset card. Uses HF_TOKEN (or --token) and HF_ENDPOINT.",
    )
    parser.add_argument("--corpus", action="append", required=True, metavar="NAME=PATH", help="repeatable")
    parser.add_argument("--label-scheme", default=None, help="e.g. ravdess8, harmonized7, common6")
    parser.add_argument("--repo-id", required=True, help="Hub dataset id, e.g. user/ravdess-ser")
    parser.add_argument("--private", action="store_true")
    parser.add_argument(
        "--token", default=None, help="Hub write token (default: HF_TOKEN or the saved login)"
    )
    parser.add_argument("--message", default=DEFAULT_DATASET_COMMIT_MESSAGE, help="commit message")
    args = parser.parse_args(argv)
    _quiet_http_logs()
    url = push_dataset(
        args.corpus,
        args.repo_id,
        private=args.private,
        token=args.token,
        label_scheme=args.label_scheme,
        commit_message=args.message,
    )
    print(f"pushed {', '.join(args.corpus)} to {url}")
    return 0
