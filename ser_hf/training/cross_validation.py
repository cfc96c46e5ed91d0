"""``ser-hf cv``: speaker-independent k-fold cross-validation, one training subprocess per fold.

Each fold is ``python -m ser_hf.training ... --split <fold spec> --output_dir OUT/fold_K`` in its
own process, so ``--parallel P`` runs P folds at once on one GPU (or on a CPU, with the threads
shared out), a crashed fold does not take the others down, and a re-run skips finished folds
(how a fold's processes run, log, resume and stop: :mod:`ser_hf.training.fold_processes`).
Every fold writes ``test_metrics.json`` (:func:`ser_hf.training.metrics.compute_ser_metrics` on its test
speakers); :func:`aggregate` turns those into mean +- std of WA, UA, macro F1 and the summed
confusion matrix, written as ``cv_results.json``, ``cv_results.md`` and ``confusion_cv.png``.
With ``--adapt`` every fold model is also scored with test-time adaptation (``ser-hf evaluate
--adapt --split model``: statistics re-estimated on each test speaker's unlabelled clips) into
``fold_K/adapted`` (``--adapt corpus``: on each test corpus's clips, all its speakers together, into
``fold_K/adapted_corpus``; ``--adapt voices``: per voice group of each test corpus, into
``fold_K/adapted_voices``), and the aggregate reports those scores beside, never instead of, the plain ones.

Example (the RAVDESS 6-fold protocol of the benchmark, three folds at a time)::

    ser-hf cv --corpus ravdess=data/ravdess --preset seed-logmel-bilstm --parallel 3 \\
        --out runs/cv_seed -- --num_train_epochs 60
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import SERError
from .cv_results import (
    ADAPTED_DIRS,
    METRICS_FILE,
    RUN_FILE,
    _read_fold,
    aggregate,
    write_results,
)
from .fold_processes import (  # noqa: F401  (five of them re-exported from their old home)
    INTERRUPTED,
    PARENT_ENV,
    TEACHER_DIR,
    _adapted_done,
    _allow_new_folds,
    _child_env,
    _fold_done,
    _resume_if_started,
    _run_logged,
    _stop_all_folds,
    _tail,
    _without_resume,
    compile_pitch_tracker,
    die_with_parent,
    run_adaptation,
    run_fold,
)
from .saving import same_path, write_json

logger = logging.getLogger(__name__)

CONFIG_FILE = "cv_config.json"  # written into OUT: what was run, reused by --aggregate-only
RAVDESS_PROTOCOL = (
    "RAVDESS 6-fold speaker-independent protocol: fold k tests on actors 4k+1..4k+4 "
    "(2 male, 2 female); validation actors come from the 20 training actors"
)


# ----------------------------------------------------------------------------------- folds
def fold_splits(folds: str, corpora: Sequence[str]) -> tuple[list[str], str]:
    """The ``--split`` value of every fold and a one-line protocol description.

    Args:
        folds: ``"ravdess"`` (the 6-fold RAVDESS protocol), ``"corpus"`` (cross-corpus: leave one
            corpus out, so both directions for two corpora) or a number N of speaker-independent
            folds (``kfold:K/N`` of ``ser_hf.training``).
        corpora: the ``NAME=PATH`` corpus arguments (used to pick the default and to check).
    """
    from ..data.rows import _slug

    # each corpus by the name its rows carry (a folder's NAME as a slug: My-Lab -> my_lab; a Hub id's last part)
    names = [_slug(c.split("=", 1)[0].strip() if "=" in c else c.strip().split("/")[-1]) for c in corpora]
    twins = sorted({n for n in names if names.count(n) > 1})
    if twins:  # mine and Mine were one corpus, tested twice and counted twice in the mean
        raise SERError(
            f"two corpora have the name {twins[0]!r} once case and punctuation are set aside; give each corpus "
            "its own name (NAME=PATH) and each folder once",
            source=f"--corpus {' '.join(corpora)}",
        )
    if folds == "ravdess":
        if names.count("ravdess") != 1:
            raise SERError(
                "the RAVDESS 6-fold protocol needs one corpus named ravdess (ravdess=PATH); other corpora "
                "are added to every fold's training data; for other corpora alone give --folds N",
                source=f"--folds ravdess with --corpus {' '.join(corpora)}",
            )
        others = [n for n in names if n != "ravdess"]
        extra = f"; {', '.join(others)} added to every fold's training data" if others else ""
        return [f"ravdess-fold:{k}" for k in range(6)], RAVDESS_PROTOCOL + extra
    if folds == "corpus":
        if len(set(names)) < 2:
            raise SERError(
                "the cross-corpus protocol needs two or more corpora (train on the others, test on each)",
                source=f"--folds corpus with --corpus {' '.join(corpora)}",
            )
        protocol = (
            f"cross-corpus, leave one corpus out over {', '.join(names)}: each fold trains on the other "
            "corpora (validation speakers from them only) and tests on every clip of one corpus"
        )
        return [f"loco:{name}" for name in names], protocol
    try:
        n = int(folds)
    except ValueError:
        raise SERError(
            "give 'ravdess', 'corpus' or a number of folds (2 or more)", source=f"--folds {folds}"
        ) from None
    if n < 2:
        raise SERError("cross-validation needs at least 2 folds", source=f"--folds {folds}")
    protocol = (
        f"{n}-fold speaker-independent cross-validation over {', '.join(names)} (no speaker in two folds)"
    )
    return [f"kfold:{k}/{n}" for k in range(n)], protocol


def check_split(training_argv: Sequence[str], *more_folds: Sequence[str]) -> Any:
    """Load one fold's rows and build its split in this process (headers only, no audio decoded), so
    what would fail in every fold's process (more folds than speakers, missing RAVDESS actors, a corpus
    folder that is not there, labels no scheme knows) fails once, before any fold starts; then the
    splits of ``more_folds`` (the other folds' training arguments) on the same rows, so what each
    fold's split warns (validation speakers that leave one or two to train on) is said here, for
    every fold, not only in its ``train.log``. Returns the rows (for :func:`_check_reused_data`)."""
    from .arguments import parse_args
    from .clips import load_rows, make_split

    data_args, _, _, training_args = parse_args(training_argv)
    ds, row_splits = load_rows(data_args, return_splits=True)
    make_split(ds, data_args, training_args.seed, row_splits)
    for argv in more_folds:
        fold_args, _, _, fold_training = parse_args(argv)
        make_split(ds, fold_args, fold_training.seed, row_splits)
    return ds


def _training_label_map(training_argv: Sequence[str]) -> str | None:
    """The ``--label_map`` a fold's training command gives (its arguments after ``ser-hf cv ... --``)."""
    from .arguments import parse_args

    return parse_args(training_argv)[0].label_map or None


# ----------------------------------------------------------------------------------- running
def _stale_folds(out: Path, commands: dict[int, tuple[list[str], list[str] | None]]) -> list[str]:
    """The finished folds of ``commands`` (fold -> student and teacher commands) that another command
    trained (their ``cv_run.json``): another preset, corpus, argument or teacher."""
    stale = []
    for k, (command, teacher) in commands.items():
        fold_dir = out / f"fold_{k}"
        run_file = fold_dir / RUN_FILE
        if not _fold_done(fold_dir) or not run_file.is_file():
            continue
        ran = json.loads(run_file.read_text(encoding="utf-8"))
        ran_student, ran_teacher = (ran.get("command") or [])[1:], (ran.get("teacher_command") or [])[1:]
        if same_path(_without_resume(ran_student)) != same_path(_without_resume(command[1:])):  # any Python
            stale.append(f"fold_{k}: {shlex.join(ran_student)}")
        elif same_path(_without_resume(ran_teacher)) != same_path(_without_resume((teacher or [])[1:])):
            stale.append(f"fold_{k}: distilled from {shlex.join(ran_teacher) or 'no teacher'}")
    return stale


def _check_finished_folds(out: Path, commands: dict[int, tuple[list[str], list[str] | None]]) -> None:
    """A finished fold is reused only when it was trained by this command: another preset, corpus,
    argument or teacher in the same ``--out`` must not be reported under this one."""
    stale = _stale_folds(out, commands)
    if stale:
        raise SERError(
            f"{len(stale)} finished fold(s) here were trained by another command, e.g. {stale[0]}; "
            "give another --out, or --force to train them again with this one",
            source=str(out),
        )


def _check_reused_data(
    out: Path, reused: Sequence[int], training_argv: Sequence[str], ds: Any = None
) -> None:
    """A finished fold is reused only on the rows it was trained on: its ``split.json`` is checked
    against the corpora as they are now (headers only), so a corpus whose files or speakers changed
    since (a speaker removed, clips added) is not reported under the old folds' scores; nor one whose
    labels were edited in place (the same files relabelled), where its ``split.json`` records them
    (``row_labels``, since session 50). ``ds``: the rows, when :func:`check_split` has loaded them."""
    from ..data.splits import Split, row_labels
    from .arguments import parse_args
    from .clips import load_rows

    if ds is None:
        ds = load_rows(parse_args(training_argv)[0])
    labels = None
    for k in reused:
        path = out / f"fold_{k}" / "split.json"
        if not path.is_file():
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise SERError(f"cannot read the split manifest ({err})", source=str(path)) from err
        split = Split.from_dict(record)
        if split.row_ids is None:
            continue
        try:
            split.verify(ds)
        except SERError as err:
            raise SERError(
                f"fold_{k} finished on other data than the corpora hold now ({err.bare_message}): they "
                "changed since; give another --out, or --force to train every fold again on them",
                source=str(out),
            ) from err
        recorded = record.get("row_labels")
        labels = row_labels(ds) if labels is None else labels
        if isinstance(recorded, list) and len(recorded) == len(labels) and recorded != labels:
            changed = [i for i, (a, b) in enumerate(zip(recorded, labels)) if a != b]
            i = changed[0]
            raise SERError(
                f"fold_{k} finished on other labels than the corpora hold now: {len(changed)} clip(s) "
                f"relabelled since, e.g. {split.row_ids[i]} was {recorded[i]}, is {labels[i]} now; give "
                "another --out, or --force to train every fold again on them",
                source=str(out),
            )


def finished_fold_dirs(out: Path, n_folds: int | None = None) -> list[Path]:
    """The ``fold_K`` folders of ``out`` that hold test metrics, in fold order; with ``n_folds`` (the
    run's), only K < ``n_folds``: a 4-fold run's fold_2 and fold_3 were counted in a 2-fold rerun's
    aggregate (180 test clips of a 120-clip corpus)."""
    dirs = [d for d in out.glob("fold_*") if d.is_dir() and _fold_done(d)]
    if n_folds is not None:
        number = {d: d.name.split("_", 1)[1] for d in dirs}
        left = sorted(d.name for d in dirs if not (number[d].isdigit() and int(number[d]) < n_folds))
        if left:
            logger.warning(
                "left out of the aggregate: %s, finished by an earlier run with more folds (this one has %d)",
                ", ".join(left),
                n_folds,
            )
        dirs = [d for d in dirs if d.name not in left]
    return sorted(
        dirs,
        key=lambda d: (
            int(d.name.split("_", 1)[1]) if d.name.split("_", 1)[1].isdigit() else 1 << 30,
            d.name,
        ),
    )


def aggregate_finished(out: Path) -> dict[str, Any]:
    """Aggregate the finished folds of ``out`` and write the results files; returns the result."""
    meta_path = out / CONFIG_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    dirs = finished_fold_dirs(out, meta.get("expected_folds"))
    if not dirs:
        raise SERError(f"no fold_K folder with {METRICS_FILE} found; run the folds first", source=str(out))
    result = aggregate(dirs)
    write_results(result, out, meta)
    return result


def run_cross_validation(
    corpora: Sequence[str],
    preset: str,
    out: str | os.PathLike,
    *,
    folds: str | None = None,
    label_scheme: str | None = None,
    parallel: int = 1,
    only: Sequence[int] | None = None,
    force: bool = False,
    python: str = sys.executable,
    extra: Sequence[str] = (),
    command: str = "",
    on_fold: Any = None,
    teacher_preset: str | None = None,
    teacher_extra: Sequence[str] = (),
    adapt: bool | str = False,
) -> tuple[dict[str, Any] | None, list[int]]:
    """Train and test every fold in its own process, then aggregate the finished folds.

    Args:
        corpora: ``NAME=PATH`` strings, as ``ser-hf train --corpus`` takes them.
        preset: the model preset every fold trains.
        out: fold K trains into ``out/fold_K``; results go to ``out``.
        folds: ``"ravdess"`` (the 6-fold protocol; default for RAVDESS alone) or a number of
            speaker-independent folds (default 5).
        extra: arguments passed unchanged to every fold's training command.
        on_fold: called as ``on_fold(k, record, metrics_or_None, skipped)`` as each fold ends.
        teacher_preset: distil inside every fold: first train this preset on the fold's own
            training speakers (``teacher_extra`` passed to it) into ``fold_K/teacher``, then the
            student ``preset`` with ``--teacher fold_K/teacher``; test speakers reach neither.
        adapt: also score every fold model with test-time adaptation on its unlabelled test clips,
            per test speaker (``True`` / ``"speaker"``, into ``fold_K/adapted``) or per test corpus,
            all its speakers together (``"corpus"``, into ``fold_K/adapted_corpus``) or per voice
            group found in each test corpus (``"voices"``, into ``fold_K/adapted_voices``); folds
            finished earlier are only scored.

    Returns:
        ``(result, failed)``: the aggregate (None when no fold finished) and the failed fold indices.
    """
    out = Path(out)
    from .adaptation import adapt_mode  # torch: not at the CLI's start-up

    mode = adapt_mode(adapt)
    folder = ADAPTED_DIRS[mode or "speaker"]
    if not corpora:
        raise SERError("give at least one corpus NAME=PATH (e.g. ravdess=data/ravdess)", source="ser-hf cv")
    if not preset:
        raise SERError("give a preset (see ser_hf.training.presets.PRESETS)", source="ser-hf cv")
    if parallel < 1:
        raise SERError("--parallel must be 1 or more", source=f"--parallel {parallel}")
    bad = [c for c in corpora if "=" not in c]
    if bad:
        raise SERError("write corpora as NAME=PATH, e.g. ravdess=data/ravdess", source=f"--corpus {bad[0]}")
    for option in ("--split", "--output_dir", "--output-dir"):
        if any(a == option or a.startswith(option + "=") for a in extra):
            raise SERError(f"{option} is set by ser-hf cv for each fold; remove it after '--'", source=option)
    folds = folds or ("ravdess" if [c.split("=")[0].lower() for c in corpora] == ["ravdess"] else "5")
    splits, protocol = fold_splits(folds, corpora)
    if folds == "corpus" or len(corpora) > 1:  # one scheme for all: harmonised, or their own labels
        from ..data.corpora import multi_corpus_scheme

        label_scheme = multi_corpus_scheme([c.split("=")[0].strip() for c in corpora], label_scheme)
    from .presets import get_preset

    for name in (preset, teacher_preset):  # an unknown preset fails once, not in every fold's process
        if name:
            get_preset(name)
    indices = list(range(len(splits))) if only is None else list(only)
    for k in indices:
        if not 0 <= k < len(splits):
            raise SERError(f"fold index out of range 0..{len(splits) - 1}", source=f"--only {k}")

    def fold_command(k: int, fold_preset: str, output_dir: Path, fold_extra: Sequence[str]) -> list[str]:
        cmd = [python, "-m", "ser_hf.training"]
        for corpus in corpora:
            cmd += ["--corpus", corpus]
        if label_scheme:
            cmd += ["--label_scheme", label_scheme]
        return [
            *cmd,
            "--split",
            splits[k],
            "--preset",
            fold_preset,
            "--output_dir",
            str(output_dir),
            *fold_extra,
        ]

    commands: dict[int, list[str]] = {}
    teacher_commands: dict[int, list[str] | None] = {}
    adapt_commands: dict[int, list[str]] = {}

    def student_command(k: int) -> list[str]:
        fold_dir = out / f"fold_{k}"
        teacher = ["--teacher", str(fold_dir / TEACHER_DIR)] if teacher_preset else []
        return fold_command(k, preset, fold_dir, [*extra, *teacher])

    def teacher_command(k: int) -> list[str] | None:
        if not teacher_preset:
            return None
        return fold_command(k, teacher_preset, out / f"fold_{k}" / TEACHER_DIR, teacher_extra)

    # the folds' --label_map (after '--'): the adapted scores load the classes as the folds were trained
    label_map = _training_label_map(student_command(indices[0])[3:]) if mode and indices else None
    for k in indices:
        fold_dir = out / f"fold_{k}"
        teacher_commands[k] = teacher_command(k)
        commands[k] = student_command(k)
        if mode:
            adapt_commands[k] = [python, "-m", "ser_hf.cli", "evaluate", "--model", str(fold_dir)]
            for corpus in corpora:
                adapt_commands[k] += ["--corpus", corpus]
            if label_scheme:
                adapt_commands[k] += ["--label-scheme", label_scheme]
            if label_map:
                adapt_commands[k] += ["--label-map", label_map]
            adapt_commands[k] += ["--split", "model", "--adapt", mode, "--out", str(fold_dir / folder)]

    meta = {
        "protocol": protocol,
        "preset": preset,
        "label_scheme": label_scheme or "the corpus's own",
        "corpora": list(corpora),
        "command": command,
        "fold_command": shlex.join(commands[indices[0]]).replace(f"{splits[indices[0]]}", "<fold>")
        if indices
        else "",
        "expected_folds": len(splits),
        **({"teacher_preset": teacher_preset} if teacher_preset else {}),
        **({"adapt": mode} if mode else {}),
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
    }

    def both(k: int) -> tuple[list[str], list[str] | None]:
        return student_command(k), teacher_command(k)

    if not force:  # before cv_config.json: a refused run must not rename the folds already there
        _check_finished_folds(out, {k: both(k) for k in range(len(splits))})
    todo = [k for k in indices if force or not _fold_done(out / f"fold_{k}")]
    if files := [
        f"fold_{k}" for k in todo if (out / f"fold_{k}").exists() and not (out / f"fold_{k}").is_dir()
    ]:
        raise SERError(
            f"{files[0]} is a file, where the fold's folder goes; move it, or give another --out",
            source=str(out),
        )
    if force and (mixed := _stale_folds(out, {k: both(k) for k in range(len(splits)) if k not in todo})):
        logger.warning(
            "%d finished fold(s) kept here were trained by another command (%s); the aggregate mixes them "
            "with this run's",
            len(mixed), mixed[0],
        )  # fmt: skip
    for k in [] if force else todo:  # an interrupted fold goes on where this same command left it
        commands[k] = _resume_if_started(commands[k], out / f"fold_{k}" / "train.log")
        if teacher_commands[k] is not None:
            teacher_commands[k] = _resume_if_started(teacher_commands[k], out / f"fold_{k}" / "teacher.log")
    # before cv_config.json: a run that cannot start must not rename the folds already there
    rows = check_split(*(commands[k][3:] for k in todo)) if todo else None
    if reused := sorted(set(indices) - set(todo)):  # the rows read once for both checks
        _check_reused_data(out, reused, commands[reused[0]][3:], rows)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / CONFIG_FILE, meta)
    for k in todo:  # a retrained fold's adapted scores belong to the model it replaces
        for stale in ADAPTED_DIRS.values():
            shutil.rmtree(out / f"fold_{k}" / stale, ignore_errors=True)
        (out / f"fold_{k}" / RUN_FILE).unlink(missing_ok=True)
    env = _child_env(parallel)
    _allow_new_folds()  # an earlier call's Ctrl-C (a notebook goes on) does not stop this one
    failed: list[int] = []  # folds that did not train, or whose requested adaptation failed
    for k in sorted(set(indices) - set(todo)):
        if on_fold:
            on_fold(k, None, None, True)
        if mode and not _adapted_done(out / f"fold_{k}", folder):  # trained earlier without this --adapt
            if run_adaptation(adapt_commands[k], out / f"fold_{k}", env) != 0:
                failed.append(k)
    if todo:
        if parallel > 1 and len(todo) > 1:
            compile_pitch_tracker()
        logger.info(
            "%s; running %d fold(s), %d at a time; logs in %s/fold_K/train.log",
            protocol,
            len(todo),
            parallel,
            out,
        )
        pool = ThreadPoolExecutor(max_workers=parallel)
        try:
            futures = {
                k: pool.submit(
                    run_fold, commands[k], out / f"fold_{k}", env, teacher_commands[k], adapt_commands.get(k)
                )
                for k in todo
            }
            for k in todo:  # report in fold order; each fold is reported as soon as it is done
                record = futures[k].result()
                metrics = _read_fold(out / f"fold_{k}") if record["returncode"] == 0 else None
                if metrics is None or record.get("adapt_returncode", 0) != 0:
                    failed.append(k)
                if on_fold:
                    on_fold(k, record, metrics, False)
        except BaseException:  # Ctrl-C: no fold starts after it, the running ones end
            pool.shutdown(wait=False, cancel_futures=True)
            _stop_all_folds()
            pool.shutdown(wait=True)  # the workers return once their processes end: none is left behind
            raise
        pool.shutdown(wait=True)

    dirs = finished_fold_dirs(out, len(splits))
    if not dirs:
        return None, failed
    result = aggregate(dirs)
    write_results(result, out, meta)
    return result, failed
