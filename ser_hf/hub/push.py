"""Publish trained models to the Hugging Face Hub.

:func:`push_model` uploads a folder written by ``save_pretrained`` (config, safetensors weights,
``preprocessor_config.json`` and the remote-code ``.py`` files named by ``auto_map``: see
:func:`model_files`) together with its model card (the folder's own README.md, else one from
:func:`make_model_card`: see :mod:`ser_hf.hub.folder_card`), so that anyone can run
``pipeline("audio-classification", model=repo_id, trust_remote_code=True)`` without ``ser_hf``. A
bundled folder, which holds no code, gets it written by ``save_pretrained`` first
(:func:`with_remote_code`).

Corpora go up with :func:`~ser_hf.hub.dataset_push.push_dataset` (also importable from here).
Credentials, repo ids and the Hub's errors (``HF_TOKEN``, ``HF_ENDPOINT``; an explicit ``token``
wins; failures as :class:`~ser_hf.errors.SERError` whose message says what to do) are handled in
:mod:`ser_hf.hub.repos`.
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

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

from ..errors import SERError
from .cards import DEFAULT_COMMIT_MESSAGE, _load_json_arg, _read_json
from .dataset_push import load_corpus_specs, make_dataset_card, push_dataset  # noqa: F401  (re-export)
from .folder_card import card_for_push
from .repos import check_repo_id, check_token, create_repo, hub_errors

logger = logging.getLogger(__name__)

_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
_NOT_WEIGHTS = {"training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state.pth", "scaler.pt"}


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
    check_repo_id(repo_id)
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
    token = check_token(token)
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
    with hub_errors("push the model", repo_id):
        create_repo(api, repo_id, private=private, repo_type="model")
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
