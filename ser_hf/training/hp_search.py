"""``ser-hf train --hp-search N``: hyperparameter search with ``Trainer.hyperparameter_search``.

Optuna's TPE sampler (seeded) proposes learning rate, weight decay, batch size and label smoothing;
each trial is a full training run of the preset on the TRAINING speakers, scored by its best UA on
the VALIDATION speakers (the test speakers are never seen by the search). The best trial's values
are then used for the final training run, and the trials table goes to the output folder
(``hp_search_trials.csv`` and ``hp_search.json``). Trial checkpoints are removed afterwards.

The study lives in ``hp_search_journal.log`` (Optuna's journal file), written as each trial ends: an
interrupted search keeps its finished trials (the table is written on the way out), and the same
command with ``--resume`` runs only the trials still missing, then the final run. A trial that
Optuna's pruner stopped early (its validation UA behind the others' at the same step) is finished,
as in Optuna: it counts among the N and is not run again.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from transformers import TrainerCallback
from transformers.trainer_callback import EarlyStoppingCallback

from ..errors import SERError, require_extra
from .saving import JOURNAL_FILE, SEARCH_FILE, TRIALS_FILE, write_json

logger = logging.getLogger(__name__)

STUDY = "ser-hf"
FINISHED = ("COMPLETE", "PRUNED")  # Optuna's finished states that count among the N (not FAIL)


def hp_space(trial: Any) -> dict[str, Any]:
    """The searched ``SERTrainingArguments`` fields."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "per_device_train_batch_size": trial.suggest_categorical("per_device_train_batch_size", [16, 32, 64]),
        "label_smoothing": trial.suggest_float("label_smoothing", 0.0, 0.2),
    }


class _BestValidationUA(TrainerCallback):
    """A trial's objective is its BEST validation UA (the model kept by early stopping), not the
    last evaluation's; early stopping starts afresh in every trial."""

    def __init__(self, trainer: Any):
        self.trainer = trainer
        self.best: float | None = None

    def on_train_begin(self, args=None, state=None, control=None, **kwargs):
        self.best = None
        for cb in self.trainer.callback_handler.callbacks:
            if isinstance(cb, EarlyStoppingCallback):
                cb.early_stopping_patience_counter = 0

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        ua = (metrics or {}).get("eval_ua")
        if ua is not None and (self.best is None or ua > self.best):
            self.best = float(ua)

    def on_train_end(self, args, state, control, **kwargs):
        if self.best is not None:
            self.trainer.objective = self.best


def _refuse_another_run(previous: dict[str, Any] | None, run: dict[str, Any], path: Path) -> None:
    """Refuse ``--resume`` of the search journal ``path`` when another run (``previous``) wrote it."""
    if previous is not None and previous != run:
        differ = sorted(k for k in {*previous, *run} if previous.get(k) != run.get(k))
        raise SERError(
            f"--resume: the hyperparameter search in this folder belongs to another run (its "
            f"{', '.join(differ)} differ from this one's); run with that run's arguments, or without "
            "--resume to search afresh",
            source=str(path),
        )


def check_resume(output_dir: str | Path, run: dict[str, Any]) -> None:
    """Refuse ``--resume`` of another run's search in ``output_dir`` before anything there changes (the
    refusal once came after the earlier run's checkpoints had been removed as a fresh run's are).

    Raises:
        SERError: the folder's search journal was written by another run (``run``: as :func:`run_search`'s).
    """
    path = Path(output_dir) / JOURNAL_FILE
    if not path.is_file():
        return
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    try:
        study = optuna.load_study(study_name=STUDY, storage=JournalStorage(JournalFileBackend(str(path))))
    except KeyError:  # a journal without this study: the search starts it
        return
    _refuse_another_run(study.user_attrs.get("run"), _as_journaled(run), path)


def _as_journaled(run: dict[str, Any]) -> dict[str, Any]:
    """``run`` as it reads back from the journal (JSON: tuples as lists, other objects as text)."""
    return json.loads(json.dumps(run, default=str))


def _open_study(path: Path, run: dict[str, Any], resume: bool, seed: int) -> tuple[Any, int, int]:
    """The journal-backed study of this run, how many of its trials are finished (complete or
    pruned) and how many were started (failed and interrupted ones too). A fresh run
    starts a new journal; ``resume`` continues one only when it was written by the same run (its
    data, split, model and augmentation: ``run``).

    Raises:
        SERError: ``resume`` with the journal of another run.
    """
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage
    from optuna.trial import TrialState

    if not resume:
        path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(path)))
    study = optuna.create_study(
        study_name=STUDY, storage=storage, direction="maximize", load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=seed),
    )  # fmt: skip
    run = _as_journaled(run)
    previous = study.user_attrs.get("run")
    if previous is None:
        study.set_user_attr("run", run)
    _refuse_another_run(previous, run, path)
    for trial in study.trials:  # a trial still running in the journal died with its process
        if trial.state == TrialState.RUNNING:
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
    finished = sum(t.state.name in FINISHED for t in study.trials)
    if resume and study.trials:
        pruned = sum(t.state == TrialState.PRUNED for t in study.trials)
        logger.info(
            "--resume: %d of the search's trials are finished (%d of them pruned) in %s",
            finished,
            pruned,
            path,
        )
    return storage, finished, len(study.trials)


def _trial_rows(storage: Any) -> list[dict[str, Any]]:
    import optuna

    study = optuna.load_study(study_name=STUDY, storage=storage)
    return [
        {
            "trial": t.number,
            "state": t.state.name,
            "validation_ua": t.value,
            **t.params,
            "seconds": round(t.duration.total_seconds(), 1) if t.duration else None,
        }
        for t in study.trials
    ]


def _write_trials(rows: list[dict[str, Any]], output_dir: Path) -> None:
    if not rows:
        return
    fields = list(dict.fromkeys(k for row in rows for k in row))  # a failed trial may lack params
    with open(output_dir / TRIALS_FILE, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


class _NoCtrlCTraceback(logging.Filter):
    """Optuna logs a trial that Ctrl-C stopped as a failure with the whole traceback (30 lines of
    Trainer internals) before the CLI's one-line "interrupted": the record keeps its message only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], KeyboardInterrupt):
            record.exc_info, record.exc_text = None, None
        return True


def _share(value: Any, trainer: Any) -> Any:
    """Process 0's ``value`` on every process of a distributed run (only it reads the journal)."""
    if trainer.args.world_size <= 1:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def run_search(
    trainer: Any,
    n_trials: int,
    output_dir: str | Path,
    seed: int,
    run: dict[str, Any] | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Run ``n_trials`` trials on ``trainer`` (built with ``model_init``), set the best values on
    ``trainer.args``, write the trials table; return ``{"best": params, "objective": UA, ...}``.

    ``run`` describes the run (data, split, model, augmentation); ``resume`` continues the search
    of the same run in ``output_dir`` from its journal, running only the trials still missing.

    Raises:
        SERError: no validation speakers; ``resume`` with another run's search.
    """
    require_extra("hp-search", "--hp-search")
    import optuna

    if trainer.eval_dataset is None:
        raise SERError(
            "a hyperparameter search needs validation speakers to score trials", source="--hp-search"
        )
    output_dir = Path(output_dir)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    main = trainer.is_world_process_zero()
    storage, shared, started = None, None, 0
    if main:
        try:
            storage, finished, started = _open_study(output_dir / JOURNAL_FILE, run or {}, resume, seed)
            shared = max(0, n_trials - finished)
        except SERError as err:
            shared = err
    shared = _share(shared, trainer)
    if isinstance(shared, SERError):
        raise shared
    best_ua = _BestValidationUA(trainer)
    trainer.add_callback(best_ua)
    rows: list[dict[str, Any]] = []  # the trials table (process 0)
    optuna_log, quiet_ctrl_c = logging.getLogger("optuna.study._optimize"), _NoCtrlCTraceback()
    optuna_log.addFilter(quiet_ctrl_c)
    try:
        best = trainer.hyperparameter_search(
            hp_space=hp_space,
            compute_objective=lambda metrics: metrics["eval_ua"],
            n_trials=shared,
            direction="maximize",
            backend="optuna",
            hp_name=lambda trial: f"hp-trial-{trial.number}",
            storage=storage,
            study_name=STUDY,
            load_if_exists=True,
            # seeded past the trials already run: the same seed replays their random draws, so a resumed
            # or enlarged search repeated its first trials' values
            sampler=optuna.samplers.TPESampler(seed=seed + started),
        )
    finally:
        optuna_log.removeFilter(quiet_ctrl_c)
        trainer.remove_callback(best_ua)
        for run_dir in output_dir.glob("hp-trial-*"):
            shutil.rmtree(run_dir, ignore_errors=True)
        if main:  # also when interrupted: the finished trials stay on record
            rows = _trial_rows(storage)
            _write_trials(rows, output_dir)
            done = sum(r["state"] in FINISHED for r in rows)  # a pruned trial is finished, not missing
            if done < n_trials:
                logger.warning(
                    "hyperparameter search stopped with %d of %d trials finished (table: %s); the same "
                    "command with --resume runs the rest",
                    done, n_trials, output_dir / TRIALS_FILE,
                )  # fmt: skip
    best = _share(best, trainer)  # transformers returns the best run on process 0 only
    for key, value in best.hyperparameters.items():
        old = getattr(trainer.args, key)
        setattr(trainer.args, key, type(old)(value) if old is not None else value)
    # Trainer keeps the batch size of the last trial unless told (its search setup sets it per
    # trial), and early stopping its last count: the final run starts as the best trial did
    trainer._train_batch_size = trainer.args.train_batch_size
    best_ua.on_train_begin(trainer.args, trainer.state, trainer.control)
    summary = {
        "objective": "best validation UA of each trial (validation speakers of the training data only)",
        "n_trials": len(rows),
        "n_pruned": sum(r["state"] == "PRUNED" for r in rows),
        "n_failed": sum(r["state"] == "FAIL" for r in rows),
        "best_trial": int(best.run_id),
        "best_validation_ua": best.objective,
        "best": best.hyperparameters,
        "space": {"learning_rate": "1e-4..3e-3 log", "weight_decay": "1e-6..1e-2 log",
                  "per_device_train_batch_size": [16, 32, 64], "label_smoothing": "0..0.2"},
        "trials": rows,
    }  # fmt: skip
    if main:
        write_json(output_dir / SEARCH_FILE, summary)
        others = [f"{summary[f'n_{s}']} {s}" for s in ("pruned", "failed") if summary[f"n_{s}"]]
        logger.info(
            "hyperparameter search: best of %d trials%s is #%s (validation UA %.3f): %s",
            len(rows), f" ({', '.join(others)})" if others else "", best.run_id, best.objective,
            best.hyperparameters,
        )  # fmt: skip
    return summary
