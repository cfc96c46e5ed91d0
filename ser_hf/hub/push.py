"""Publish trained models and harmonised corpora to the Hugging Face Hub.

- :func:`push_model` uploads a folder written by ``save_pretrained`` (config, safetensors weights,
  ``preprocessor_config.json`` and the remote-code ``.py`` files named by ``auto_map``) together
  with its model card (the folder's own README.md, else one from :func:`make_model_card`: see
  :mod:`ser_hf.hub.folder_card`), so that anyone can run
  ``pipeline("audio-classification", model=repo_id, trust_remote_code=True)`` without ``ser_hf``.
- :func:`push_dataset` uploads a corpus loaded by :mod:`ser_hf.data.corpora` (or any dataset with the
  same columns) with ``Dataset.push_to_hub``, which embeds the audio bytes into parquet shards, plus
  a dataset card naming sources, licences, the label scheme and speaker counts.

Both go through ``huggingface_hub`` and so honour ``HF_TOKEN`` (or a saved login) and
``HF_ENDPOINT``; an explicit ``token`` wins. Network and Hub errors come back as
:class:`~ser_hf.errors.SERError` whose message says what to do.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    DatasetCard,
    DatasetCardData,
    HfApi,
)

from ..errors import SERError
from .cards import (
    DEFAULT_COMMIT_MESSAGE,
    DEFAULT_DATASET_COMMIT_MESSAGE,
    _load_json_arg,
    _read_json,
    corpus_info,
)
from .folder_card import card_for_push

logger = logging.getLogger(__name__)

_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
_NOT_WEIGHTS = {"training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state.pth", "scaler.pt"}


# ----------------------------------------------------------------------------- errors
@contextmanager
def _hub_errors(action: str, repo_id: str) -> Iterator[None]:
    """Turn the HTTP and connection errors of huggingface_hub into SERError with the fix, also when
    it wraps them in a RuntimeError (a failed LFS upload: "Error while uploading 'x' to the Hub.")."""
    from huggingface_hub import constants
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    try:
        from httpx2 import TransportError  # huggingface_hub >= 2
    except ImportError:  # pragma: no cover - huggingface_hub 1.x uses httpx
        from httpx import TransportError

    endpoint = constants.ENDPOINT
    network = (HfHubHTTPError, TransportError, ConnectionError)
    try:
        yield
    except (*network, RuntimeError) as err:
        cause: BaseException | None = err
        while cause is not None and not isinstance(cause, network):
            cause = cause.__cause__ or (None if cause.__suppress_context__ else cause.__context__)
        if cause is None:  # a RuntimeError of some other kind
            raise
        wrapped = f"; {err}" if cause is not err else ""  # which file failed to upload
        if isinstance(cause, OfflineModeIsEnabled):
            message = f"cannot {action}: offline mode is on (HF_HUB_OFFLINE=1); unset it to reach {endpoint}"
        elif isinstance(cause, HfHubHTTPError):
            status = cause.response.status_code if cause.response is not None else None
            server = (cause.server_message or "").strip().splitlines()[0] if cause.server_message else ""
            detail = f" ({server})" if server else ""
            if status == 401:
                fix = (
                    "the Hub rejected the credentials: set HF_TOKEN to a WRITE token "
                    "(https://huggingface.co/settings/tokens), pass --token, or run `hf auth login`"
                )
            elif status == 403:
                fix = "this token may not write there: use a repo id under your user or an organisation you can write to"
            elif status == 404:
                fix = (
                    "the repository was not found: check the repo id, and that HF_TOKEN can see private repos"
                )
            elif status == 409:
                fix = "the Hub reported a conflict: another push may be running, retry in a moment"
            elif status == 412:
                fix = "the branch moved while uploading: retry the push"
            elif status is not None and status >= 500:
                fix = f"the Hub failed or is unavailable (HTTP {status}): retry the push later"
            else:
                fix = f"the Hub answered HTTP {status}"
            message = f"cannot {action} at {endpoint}: {fix}{detail}{wrapped}"
        else:
            message = (
                f"cannot {action}: {endpoint} is unreachable or closed the connection ({type(cause).__name__}"
                f"{wrapped}); check the network, or HF_ENDPOINT if you use a mirror, and retry the push"
            )
        raise SERError(message, source=repo_id) from err


def _check_repo_id(repo_id: str) -> None:
    """A repo id the Hub would refuse is an SERError before anything loads or uploads."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as err:
        reason = str(err).splitlines()[0]
        raise SERError(
            f"not a Hub repo id ({reason}); write it as user/name or org/name with letters, digits, "
            "'-', '_' and '.'",
            source=str(repo_id),
        ) from err
    if str(repo_id).count("/") != 1:  # a bare name would land in the token's namespace, then fail
        raise SERError(
            "not a Hub repo id (no owner): write it as user/name or org/name, e.g. user/ser-ravdess",
            source=str(repo_id),
        )


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
        the paths to upload, sorted: config, preprocessor config, weights (and index), licences of shipped weights,
        ``.py`` files (the folder's ``split.json`` goes up as :func:`published_split`).
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
    files += sorted(folder.glob("*_LICENSE.txt"))  # licences of shipped weights (the voice encoder's)
    files += [folder / name for name in sorted(code)]
    return files


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
    regenerate_card: bool = False,
):
    """Upload a saved model folder and its model card to the Hub in one commit.

    Uploads config, safetensors weights, ``preprocessor_config.json``, the remote-code ``.py``
    files (see :func:`model_files` for the checks), the model card as ``README.md`` (the folder's own
    when it has one, as the bundled models do, unless ``regenerate_card``; else generated: see
    :func:`~ser_hf.hub.folder_card.card_for_push`) and, when given,
    ``eval_results.json`` / ``cv_results.json`` and the folder's ``split.json`` (see
    :func:`published_split`). On an existing repo, the top-level files of an earlier model that this
    upload lacks (see :func:`replaced_by_push`: weights, this package's model code, run records such
    as ``split.json`` or ``eval_results.json``) are deleted in the same commit; sub-folders and other
    files stay. ``private=True`` on an existing public repo makes it private before the upload.

    Returns:
        the :class:`huggingface_hub.CommitInfo` of the commit (``.commit_url``, ``.oid``).
    """
    _check_repo_id(repo_id)
    split = published_split(Path(model_dir))  # the folder's, not the staged copy's (which has none)
    card = card_for_push(
        model_dir, repo_id, eval_json, cv_json, datasets=datasets, license=license, protocol=protocol,
        regenerate=regenerate_card,
    )  # fmt: skip
    with with_remote_code(model_dir) as staged:
        return _push_model_files(
            model_files(staged),
            card,
            repo_id,
            private=private,
            token=token,
            eval_json=eval_json,
            cv_json=cv_json,
            commit_message=commit_message,
            split=split,
        )


@contextmanager
def with_remote_code(model_dir: str | Path) -> Iterator[Path]:
    """``model_dir`` itself when it carries its model code (``auto_map`` + ``.py`` files), else a
    temporary copy re-saved with ``save_pretrained``, which writes the code next to the weights.

    The bundled models hold weights and configs only (they load through the Auto classes that
    ``import ser_hf`` registers); this is where their code is written for the Hub.
    """
    folder = Path(model_dir)
    config = _read_json(folder / "config.json")
    if config.get("auto_map"):
        yield folder
        return
    from ..training.loading import load_feature_extractor, load_model

    with tempfile.TemporaryDirectory(prefix="ser-hf-push-") as tmp:
        staged = Path(tmp)
        load_model(folder).save_pretrained(staged)  # without auto_map: ser_hf's own types, no code run
        load_feature_extractor(folder).save_pretrained(staged)
        logger.info("%s has no model code: wrote it with save_pretrained for the upload", folder)
        yield staged


SPLIT_KEYS_PUBLISHED = (
    "format", "protocol", "description", "speaker_independent",
    "train_speakers", "validation_speakers", "test_speakers", "members_without_split",
)  # fmt: skip


def published_split(folder: Path) -> bytes | None:
    """The folder's ``split.json`` as it goes to the Hub: the speakers the model trained, was chosen
    and tested on (what ``ser-hf evaluate --split unseen`` reads on a downloaded copy), without the
    rows (every clip's file name) and the command's split spec (a local path). None without one."""
    from ..training.evaluation import split_record

    try:
        record = split_record(folder)
    except SERError:  # unreadable: nothing to publish
        return None
    if record is None:
        return None
    kept = {k: record[k] for k in SPLIT_KEYS_PUBLISHED if k in record}
    kept["rows"] = "left out of the upload: --split unseen works, --split model needs the training folder"
    return _json_bytes(kept)


def _json_bytes(value: Any) -> bytes:
    """``value`` as the indented, readable UTF-8 JSON that training and evaluation write (a speaker
    ``Zoë`` as written, not ``\\u00eb``; a file name's undecodable bytes as ``\\udcNN`` escapes)."""
    return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8", "backslashreplace")


_RUN_RECORDS = frozenset(
    {
        "split.json", "eval_results.json", "cv_results.json", "train_args.json", "val_metrics.json",
        "test_metrics.json", "val_selection.json", "metrics.json", "cv_run.json", "checkpoints_run.json",
        "hp_search.json", "training_args.bin", "trainer_state.json", "all_results.json", "train_results.json",
    }
)  # fmt: skip
_WEIGHT_FILE = re.compile(r"(pytorch_)?model(-\d+-of-\d+)?\.(safetensors|bin|pt|pth|ckpt)(\.index\.json)?")


def replaced_by_push(path_in_repo: str) -> bool:
    """Whether a file of an existing model repo is one a model folder of ours writes, which a push
    replaces or, when the new upload lacks it, deletes: top-level weights (``model*.safetensors``,
    ``pytorch_model*.bin``, their index), the model code of :mod:`ser_hf.models` (``modeling_ser.py``,
    the encoders' weights and licences) and run records (``split.json``, ``eval_results.json``, ...).
    Files in sub-folders and any other file (a ``handler.py`` of one's own) are left alone."""
    if "/" in path_in_repo:
        return False
    code = Path(__file__).resolve().parents[1] / "models"
    ours = {p.name for p in code.iterdir() if p.suffix in (".py", ".safetensors", ".txt")} - {
        "__init__.py",
        "auto.py",
        "errors.py",  # a generic name: a user's own errors.py is theirs (ours is rewritten by every push)
    }
    return path_in_repo in _RUN_RECORDS or path_in_repo in ours or bool(_WEIGHT_FILE.fullmatch(path_in_repo))


def _create_repo(api: HfApi, repo_id: str, *, private: bool, repo_type: str) -> Any:
    """``create_repo(exist_ok=True)``, and an existing public repo made private when ``private``
    (``create_repo`` leaves an existing repo's visibility as it is)."""
    url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type=repo_type)
    if private and not api.repo_info(repo_id, repo_type=repo_type).private:
        logger.warning(
            "%s exists and is public: making it private before the upload, as private/--private asks "
            "(the repo's Settings page on the Hub changes its visibility back)",
            repo_id,
        )
        api.update_repo_settings(repo_id, private=True, repo_type=repo_type)
    return url


def _push_model_files(
    files: list[Path],
    card: Any,
    repo_id: str,
    *,
    private: bool,
    token: str | None,
    eval_json: Any,
    cv_json: Any,
    commit_message: str,
    split: bytes | None = None,
):
    token = _check_token(token)
    operations: list[Any] = [CommitOperationAdd(path_in_repo=p.name, path_or_fileobj=str(p)) for p in files]
    operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=str(card).encode()))
    for name, value in (("eval_results.json", eval_json), ("cv_results.json", cv_json)):
        data = _load_json_arg(value)
        if data is not None:
            operations.append(CommitOperationAdd(name, _json_bytes(data)))
    if split is not None:
        operations.append(CommitOperationAdd("split.json", split))
    uploaded = {op.path_in_repo for op in operations}

    api = HfApi(token=token)
    with _hub_errors("push the model", repo_id):
        _create_repo(api, repo_id, private=private, repo_type="model")
        stale = [
            f
            for f in api.list_repo_files(repo_id, repo_type="model")
            if f not in uploaded and replaced_by_push(f)
        ]
        if stale:
            logger.info("deleting files of the earlier upload that this one lacks: %s", ", ".join(stale))
        operations += [CommitOperationDelete(path_in_repo=f) for f in stale]
        info = api.create_commit(repo_id, operations, commit_message=commit_message, repo_type="model")
    logger.info("pushed %d files to %s (%s)", len(files) + 1, repo_id, info.commit_url)
    return info


def make_dataset_card(
    ds: Any, repo_id: str, *, label_scheme: str | None = None, license: str | None = None
) -> DatasetCard:
    """Dataset card: sources with licences and citations, the label scheme, speaker counts.

    ``ds`` is a ``datasets.Dataset`` (or a ``DatasetDict``: counts cover every split) with the
    columns of :func:`ser_hf.data.corpora.load_corpus` (``audio``, ``emotion``, ``speaker``, ``gender``,
    ``corpus``, ...); counts come from :func:`ser_hf.data.corpora.corpus_summary`. The card carries no ``configs``/``dataset_info``: ``Dataset.push_to_hub`` adds them.
    """
    from ..data.corpora import corpus_summary
    from ..data.rows import label_scheme_of

    splits = dict(ds) if hasattr(ds, "keys") else {"train": ds}
    summaries = {name: corpus_summary(split) for name, split in splits.items()}
    label_scheme = label_scheme or next((label_scheme_of(split) for split in splits.values()), None)
    corpora = sorted({c for s in summaries.values() for c in s["per_corpus"]})
    infos = [corpus_info(c) for c in corpora]
    if license:  # the uploader's own corpora: their terms as they give them (a known corpus keeps its own)
        infos = [
            {**i, "license": license, "license_text": f"`{license}` (as the uploader states)"}
            if i["license_text"].startswith("unknown")
            else i
            for i in infos
        ]
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
                f"the dataset has no {', '.join(missing)} column; load it with ser_hf.data.corpora.load_corpus "
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


def load_corpus_specs(
    specs: Sequence[str], label_scheme: str | None = None, check_audio: bool = False
) -> Any:
    """``["ravdess=/data/ravdess", ...]`` -> one Dataset via :mod:`ser_hf.data.corpora` (``check_audio``:
    clips whose samples do not decode are left out, see :func:`ser_hf.data.corpora.load_corpus`)."""
    from ..data import corpora

    pairs = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise SERError("a corpus is given as NAME=PATH, e.g. ravdess=/data/ravdess", source=spec)
        pairs.append((name.strip(), path.strip()))
    kwargs: dict[str, Any] = {"label_scheme": label_scheme} if label_scheme else {}
    kwargs["check_audio"] = check_audio
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
    license: str | None = None,
) -> str:
    """Upload a harmonised corpus with its dataset card.

    Args:
        ds_or_corpus_spec: a ``datasets.Dataset`` / ``DatasetDict`` with ``audio`` and ``emotion``
            columns, or ``"name=path"`` corpus spec(s) loaded with :mod:`ser_hf.data.corpora`; every clip
            of those is decoded once and the ones whose samples do not decode are left out (logged),
            so the dataset never carries a file its users cannot read.
        repo_id: the dataset repo, ``"user/name"``.
        label_scheme: scheme used to load corpus specs, and named on the card.
        license: the data's Hub licence id (e.g. ``cc-by-4.0``) for the card; default: the known
            corpora's licences ("other", "unknown" for a corpus the package does not know).

    ``Dataset.push_to_hub`` uploads the data (audio bytes embedded in parquet) and writes the
    card's ``configs`` and ``dataset_info``; the card is committed after it with those kept, so a
    failed data upload leaves no card that describes data the repo lacks.

    Returns:
        the dataset's URL on the endpoint.
    """
    _check_repo_id(repo_id)
    token = _check_token(token)  # before every clip is decoded (minutes on a whole corpus)
    if isinstance(ds_or_corpus_spec, (str, list, tuple)):
        specs = [ds_or_corpus_spec] if isinstance(ds_or_corpus_spec, str) else list(ds_or_corpus_spec)
        ds = load_corpus_specs(specs, label_scheme, check_audio=True)  # no corrupt clip goes up
    else:
        ds = ds_or_corpus_spec
    ds = _prepare_dataset(ds)
    card = make_dataset_card(ds, repo_id, label_scheme=label_scheme, license=license)
    api = HfApi(token=token)
    with _hub_errors("push the dataset", repo_id):
        url = _create_repo(api, repo_id, private=private, repo_type="dataset")
        ds.push_to_hub(repo_id, private=private, token=token, commit_message=commit_message)
        pushed = DatasetCard.load(repo_id, repo_type="dataset", token=token)  # push_to_hub's metadata
        for key in ("configs", "dataset_info"):
            if pushed.data.get(key) is not None:
                card.data[key] = pushed.data.get(key)
        api.upload_file(
            path_or_fileobj=str(card).encode(),
            path_in_repo="README.md",
            repo_id=repo_id,
            repo_type="dataset",
            commit_message="Add dataset card",
        )
    logger.info("pushed %s rows to %s", getattr(ds, "num_rows", "?"), url)
    return str(url)
