"""Saving a trained model folder so that it is never left half written.

This module imports nothing heavy: :mod:`ser_hf.inference` reads :data:`PREVIOUS_MODEL_DIR` from it
to name the backup when a folder holds an interrupted save.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..data.whole_files import (  # noqa: F401  (their old home: imported from here too)
    STAGED_PREFIX,
    _umask_once,
    fsync_file,
    json_default,
    public_mode,
    staged_file,
    write_json,
    write_whole,
)
from ..errors import os_error_of
from ..models.fitted_heads import record_fitted_heads

logger = logging.getLogger(__name__)

# where save_final_model keeps the previous model while a new one is moved in
PREVIOUS_MODEL_DIR = ".previous-model"


_QUIET = threading.Lock()
_quiet_state = {"depth": 0, "enabled": False}  # loads under way, and the setting before the first


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """No "Loading weights" (or "Writing model shards") progress bars from transformers while ser_hf
    loads (or saves) a model for you; the previous setting is restored when the last load running at
    the time ends (a service loading models from several threads got a bar: one load turned them back
    on under another)."""
    from transformers.utils import logging as hf_logging

    with _QUIET:
        if _quiet_state["depth"] == 0:
            _quiet_state["enabled"] = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()
        _quiet_state["depth"] += 1
    try:
        yield
    finally:
        with _QUIET:
            _quiet_state["depth"] -= 1
            if _quiet_state["depth"] == 0 and _quiet_state["enabled"]:
                hf_logging.enable_progress_bar()


def _back_up_model(output_dir: Path, names: Sequence[str]) -> None:
    """Keep the complete model now in ``output_dir`` in ``output_dir/.previous-model`` (hard links,
    a copy where links are not possible) before a new save overwrites it. Does nothing when the
    folder holds no complete model, so the backup of an earlier interrupted save is kept."""
    if not (output_dir / "config.json").is_file():
        return
    staging = Path(tempfile.mkdtemp(prefix=".previous-", dir=output_dir))
    for name in names:
        if (output_dir / name).is_file():
            try:
                os.link(output_dir / name, staging / name)
            except OSError:
                shutil.copy2(output_dir / name, staging / name)
    backup = output_dir / PREVIOUS_MODEL_DIR
    shutil.rmtree(backup, ignore_errors=True)
    os.rename(staging, backup)  # the backup appears complete or not at all


# the metrics of the model in a folder: removed when another model replaces it (the run writes its own)
RUN_METRICS = ("val_metrics.json", "test_metrics.json")
# what describes the model in a folder: kept with it in the backup, removed when a new save lacks them
RUN_RECORDS = (*RUN_METRICS, "split.json", "train_args.json")


def save_model_folder(
    model: Any, feature_extractor: Any, output_dir: str | Path, run_files: dict[str, Any] | None = None
) -> None:
    """Write model (safetensors) + feature extractor into ``output_dir`` without ever leaving half a model.

    ``run_files`` (name -> JSON value: the run's ``split.json`` and ``train_args.json``) are saved
    with the model, so the folder never pairs one run's model with another's split; the previous
    model's ``val_metrics.json`` / ``test_metrics.json`` are removed (the caller writes the new ones),
    and so are its run files, code and weight files the new model does not have (another family's
    ``modeling_compact.py``, the shards of a larger model); the backup below keeps them all.

    Everything is written to a temporary folder first. The model already in ``output_dir`` is then
    kept in ``output_dir/.previous-model`` (hard links), and the new files are moved in one by one
    with ``os.replace`` (atomic per file): ``config.json`` is removed first and moved last, so an
    interrupted save leaves a folder that refuses to load (naming the backup) rather than one with
    mixed weights, and the previous model stays complete in ``.previous-model``. A save that
    finishes removes the backup.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for leftover in [*output_dir.glob(".final-*"), *output_dir.glob(".previous-*")]:
        if leftover.name != PREVIOUS_MODEL_DIR:  # the staging folders of a save that was killed
            shutil.rmtree(leftover, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=".final-", dir=output_dir))
    try:
        record_fitted_heads(model)  # so a head trained or re-initialised later is noticed at load
        try:
            with quiet_loading():  # transformers 5's "Writing model shards" bar in every save's output
                model.save_pretrained(str(tmp))
        except Exception as err:  # a full disk is a SafetensorError, no OSError: one, naming the weights
            io_error = os_error_of(err, output_dir / "model.safetensors")
            if io_error is None or io_error is err:
                raise
            raise io_error from err
        feature_extractor.save_pretrained(str(tmp))
        for name, value in (run_files or {}).items():
            write_json(tmp / name, value)
        files = sorted(p for p in tmp.iterdir() if p.is_file())
        new = {p.name for p in files}
        stale = [
            p.name
            for p in output_dir.iterdir()
            if p.is_file() and p.name not in new and (_model_file(p.name) or p.name in RUN_RECORDS)
        ]
        _back_up_model(output_dir, [*new, *stale])  # the old model with its metrics, before any goes
        (output_dir / "config.json").unlink(missing_ok=True)
        for name in stale:
            (output_dir / name).unlink(missing_ok=True)
        for path in sorted(files, key=lambda p: p.name == "config.json"):
            public_mode(path)
            os.replace(path, output_dir / path.name)
        shutil.rmtree(output_dir / PREVIOUS_MODEL_DIR, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _model_file(name: str) -> bool:
    """A file ``save_pretrained`` writes for a model: its code (remote-code modules), weights, or the
    licence of a pretrained encoder it ships (``turn_encoder_LICENSE.txt``)."""
    return name.endswith((".py", ".safetensors", ".safetensors.index.json", ".bin", "_LICENSE.txt"))


# what `ser-hf train` offers when its checkpoints do not fit
CHECKPOINT_FIX = (
    "free space there, or write fewer checkpoints (--save_total_limit 1) or none "
    "(--save_strategy no --load_best_model_at_end false)"
)


def failed_checkpoint(err: BaseException, folder: str | os.PathLike) -> OSError | None:
    """What to raise for ``err``, raised while the Trainer wrote the checkpoint ``folder``: for a write
    that failed (a full disk: an OSError, safetensors' SafetensorError, torch.save's RuntimeError), an
    OSError naming the folder and, for want of space, :data:`CHECKPOINT_FIX`; the folder is removed
    first unless its ``trainer_state.json`` (written last) is whole, so that ``--resume`` never takes
    half a checkpoint (the earlier ones stay). None for any other error: it keeps its traceback."""
    folder = Path(folder)
    io_error = os_error_of(err, folder, writing=True)
    if io_error is None or io_error.errno is None:
        return None
    try:
        json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        shutil.rmtree(folder, ignore_errors=True)
    if io_error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) or io_error is not err:
        return OSError(io_error.errno, f"{io_error.strerror}; {CHECKPOINT_FIX}", str(folder))
    if io_error.filename is None:  # a stream's write names no file: the checkpoint's folder does
        return OSError(io_error.errno, io_error.strerror, str(folder))
    return io_error


def save_final_model(trainer: Any, output_dir: str | Path, run_files: dict[str, Any] | None = None) -> None:
    """:func:`save_model_folder` of a Trainer's (unwrapped) model and feature extractor."""
    model = trainer.accelerator.unwrap_model(trainer.model)
    save_model_folder(model, trainer.feature_extractor, output_dir, run_files)


def same_path(value: Any) -> Any:
    """A data argument as ``--resume`` compares it: ``data/ravdess/``, ``./data/ravdess`` and its
    absolute path are one folder (``NAME=PATH`` corpora too)."""
    if isinstance(value, list):
        return [same_path(v) for v in value]
    if not isinstance(value, str):
        return value
    name, sep, path = value.rpartition("=") if "=" in value else ("", "", value)
    return f"{name}{sep}{Path(path).resolve()}" if path and Path(path).exists() else value


# data arguments that change only how fast or where a run reads its data, not what it learns
RUNTIME_DATA_ARGS = ("cache_dir", "decode_workers", "feature_cache", "waveforms_on_device")


def data_identity(data: dict[str, Any]) -> dict[str, Any]:
    """The data arguments as a resumed run compares them: what the run learns from, paths resolved.
    ``num_val_speakers`` 4 (the fixed default before session 50) reads as not given (4 where a split
    has 8 training speakers or more): the split, compared beside, says where they differ."""
    out = {k: same_path(v) for k, v in data.items() if k not in RUNTIME_DATA_ARGS}
    if out.get("num_val_speakers") == 4:
        out["num_val_speakers"] = None
    return out


def _differing(previous: dict[str, Any], identity: dict[str, Any]) -> list[str]:
    """The keys of two run records whose values differ."""
    return sorted(k for k in {*previous, *identity} if previous.get(k) != identity.get(k))


# what the checkpoint-N folders of output_dir were trained on (split, data, model and augmentation)
CHECKPOINTS_RUN = "checkpoints_run.json"


def another_runs_model(
    output_dir: str | Path, split: Any, data_args: Any, model_args: Any, seed: int
) -> list[str]:
    """What differs (``split``, ``data``, ``model``, ``seed``) between the run whose model is saved in
    ``output_dir`` and this one; empty when the folder holds no finished run or this run's."""
    output_dir = Path(output_dir)
    try:
        saved = json.loads((output_dir / "train_args.json").read_text(encoding="utf-8"))
        recorded = json.loads((output_dir / "split.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(saved, dict) or not isinstance(recorded, dict):
        return []
    for added in ("spec", "corpus_folders", "row_labels"):  # what split.json records beside the split
        recorded.pop(added, None)
    data = data_identity(saved.get("data") or {})
    this_data = data_identity(dataclasses.asdict(data_args))
    # a record of the --split not given, before it was resolved: split.json (compared) says which it was
    if data.get("split") is None:
        data["split"] = this_data.get("split")
    # before session 45 --hub_split defaulted to "train" (None now): the rows read, in split.json, tell
    if data.get("hub_split") == "train" and this_data.get("hub_split") is None:
        data["hub_split"] = None
    # a functionals fit records its seed on top, a Trainer run among the Trainer's arguments ("training")
    training = saved.get("training") if isinstance(saved.get("training"), dict) else {}
    saved_seed = saved["seed"] if "seed" in saved else training.get("seed")
    previous = {"split": recorded, "data": data, "model": saved.get("model"), "seed": saved_seed}
    identity = {
        "split": split.to_dict(),
        "data": this_data,
        "model": dataclasses.asdict(model_args),
        "seed": seed,
    }
    return _differing(previous, json.loads(json.dumps(identity, default=json_default)))


def refuse_refit_of_another_run(
    output_dir: str | Path, split: Any, data_args: Any, model_args: Any, seed: int
) -> None:
    """``--resume`` of a functionals (logistic-regression) preset: it has no checkpoints and fits
    again, the same data and seed giving the same model; a folder holding another run's model (other
    split, data or model arguments, or seed) is refused as a Trainer run's checkpoints are, instead
    of being replaced without a word.

    Raises:
        SERError: the saved run differs.
    """
    from ..errors import SERError

    if not (Path(output_dir) / "train_args.json").is_file():
        logger.info("--resume: no finished run in %s; training afresh", output_dir)
        return
    differ = another_runs_model(output_dir, split, data_args, model_args, seed)
    if differ:
        raise SERError(
            f"--resume: the model in this folder comes from another run (its {', '.join(differ)} differ from "
            "this one's); run with that run's arguments, or without --resume to replace it",
            source=str(output_dir),
        )
    logger.info("--resume: a functionals preset has no checkpoints; it fits again (the same model)")


def _run_differences(record: Path, identity: dict[str, Any]) -> list[str]:
    """What differs between the run recorded in ``record`` (``checkpoints_run.json``) and ``identity``;
    the optimisation settings are compared where both hold them. Empty when there is no record."""
    previous = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else None
    if previous is None:
        return []
    both = sorted(set(previous.get("optimisation") or {}) & set(identity.get("optimisation") or {}))

    def shared(run: dict[str, Any]) -> dict[str, Any]:
        rest = {k: v for k, v in run.items() if k != "optimisation"}
        return {**rest, "optimisation": {k: run["optimisation"][k] for k in both}} if both else rest

    previous, identity = shared(previous), shared(identity)
    return _differing(previous, identity) if previous != identity else []


def _checkpoints(output_dir: Path) -> list[Path]:
    """The ``checkpoint-N`` folders of ``output_dir``, by N."""
    return sorted(
        (p for p in output_dir.glob("checkpoint-*") if p.is_dir() and p.name.split("-", 1)[1].isdigit()),
        key=lambda p: int(p.name.split("-", 1)[1]),
    )


def checkpoint_to_resume(
    output_dir: str | Path,
    identity: dict[str, Any],
    resume: bool,
    write: bool,
    checkpoint: str | None = None,
) -> str | None:
    """The checkpoint a run into ``output_dir`` resumes from, or None to start afresh.

    ``identity`` describes the run (its split and arguments but the Trainer's). A fresh run removes
    the ``checkpoint-N`` folders an earlier run left (the earlier final model stays until this run's
    replaces it) and records its identity in ``checkpoints_run.json``; ``resume`` takes the last
    checkpoint only when that record matches, so a resumed run never continues another run's
    weights; ``checkpoint`` (``--resume_from_checkpoint``) takes that one, after the same check
    against its folder's record, and removes only the checkpoints in ``output_dir`` of another (or
    an unrecorded) run. ``write``: this process writes (the main process of a distributed run).

    Raises:
        SERError: ``resume`` with checkpoints of another run; a ``checkpoint`` that is not one.
    """
    from ..errors import SERError

    output_dir = Path(output_dir)
    identity = json.loads(json.dumps(identity, default=json_default))  # as it reads back from the file
    record = output_dir / CHECKPOINTS_RUN
    if checkpoint:
        path = Path(checkpoint).expanduser()
        if not (path / "trainer_state.json").is_file():
            raise SERError(
                "not a checkpoint of a training run (no trainer_state.json in it); give a checkpoint-N "
                "folder, or --resume true to continue from the last one in --output_dir",
                source=f"--resume_from_checkpoint {checkpoint}",
            )
        if differ := _run_differences(path.parent / CHECKPOINTS_RUN, identity):
            raise SERError(
                f"--resume_from_checkpoint: it comes from another run (its {', '.join(differ)} differ from "
                "this one's); run with that run's arguments",
                source=str(path),
            )
        logger.info("resuming from %s (--resume_from_checkpoint)", path)
        if write:
            # another run's checkpoints here (or ones of no recorded run) are never resumed as this one's
            if not record.is_file() or _run_differences(record, identity):
                for old in _checkpoints(output_dir):
                    if old.resolve() != path.resolve():
                        shutil.rmtree(old, ignore_errors=True)
            output_dir.mkdir(parents=True, exist_ok=True)
            write_json(record, identity)
        return str(path)
    found = _checkpoints(output_dir)
    if resume and found:
        if differ := _run_differences(record, identity):
            raise SERError(
                f"--resume: its checkpoints come from another run (its {', '.join(differ)} differ from "
                "this one's); run with that run's arguments, or without --resume to start afresh",
                source=str(output_dir),
            )
        logger.info("resuming from %s", found[-1])
        return str(found[-1])
    if resume:
        logger.info("--resume: no checkpoint yet, starting fresh")
    if write:
        for path in found:
            shutil.rmtree(path, ignore_errors=True)
        if found:
            logger.info(
                "removed %d checkpoint(s) of an earlier run in %s (its saved model stays until this run's "
                "replaces it)",
                len(found),
                output_dir,
            )
        output_dir.mkdir(parents=True, exist_ok=True)
        write_json(record, identity)
    return None


# what a hyper-parameter search writes beside the model (ser_hf.training.hp_search)
SEARCH_FILE = "hp_search.json"
TRIALS_FILE = "hp_search_trials.csv"
JOURNAL_FILE = "hp_search_journal.log"  # the Optuna study, written as each trial ends


def remove_stale_run_files(output_dir: str | Path, searched: bool, checkpoints: bool) -> None:
    """After a run saved its model: remove what an earlier run left that does not describe it (the
    earlier hyper-parameter search when this run did not search; the earlier Trainer run's
    checkpoints when this run wrote none, e.g. a functionals preset)."""
    output_dir = Path(output_dir)
    stale = [] if searched else [output_dir / f for f in (SEARCH_FILE, TRIALS_FILE, JOURNAL_FILE)]
    if not checkpoints:
        stale += [output_dir / CHECKPOINTS_RUN, *output_dir.glob("checkpoint-*")]
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
