"""The processes of one cross-validation fold, as :mod:`ser_hf.training.cross_validation` runs them.

A fold is one or more child processes, each with its output in a log file in the fold's folder: a
teacher's training when distilling inside the fold (``teacher.log``), the fold's training
(``train.log``), then, with ``--adapt``, its scoring with test-time adaptation (``adapt.log``).
:func:`run_fold` runs those steps and records the outcome as ``cv_run.json``; a fold interrupted
earlier goes on from its checkpoints when the same command started it (:func:`_resume_if_started`).
The children share the CPU's threads out, their idle OpenMP threads sleeping (:func:`_child_env`),
end with the runner however it ends (:func:`die_with_parent`, Linux), and Ctrl-C stops the running
ones and starts no other (:func:`_stop_all_folds`).
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cv_results import ADAPTED_DIR, METRICS_FILE, RUN_FILE
from .saving import same_path, write_json

logger = logging.getLogger("ser_hf.training.cross_validation")  # moved messages keep their logger

TEACHER_DIR = "teacher"  # fold_K/teacher: the fold's own teacher when distilling inside the folds


def _fold_done(fold_dir: Path) -> bool:
    return (fold_dir / METRICS_FILE).is_file()


def _adapted_done(fold_dir: Path, folder: str = ADAPTED_DIR) -> bool:
    return (fold_dir / folder / "metrics.json").is_file()


def run_adaptation(command: list[str], fold_dir: Path, env: dict[str, str]) -> int:
    """Score a finished fold with test-time adaptation (``command``: ``ser-hf evaluate --adapt MODE
    --out fold_dir/FOLDER``), logging to ``fold_dir/adapt.log``; returns the exit code."""
    returncode = _run_logged(command, fold_dir / "adapt.log", env)
    if returncode == 0 and not _adapted_done(fold_dir, Path(command[command.index("--out") + 1]).name):
        returncode = -1
    if returncode != 0:
        logger.warning(
            "test-time adaptation of %s failed (exit %d); see %s",
            fold_dir,
            returncode,
            fold_dir / "adapt.log",
        )
    return returncode


def _child_env(parallel: int) -> dict[str, str]:
    env = dict(os.environ)
    # P processes that each start one thread per core oversubscribe the CPU badly (data loading,
    # feature extraction and CPU training all use intra-op threads); split the cores unless the
    # user chose a thread count
    if parallel > 1 and "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // parallel))
    if parallel > 1 and "OMP_WAIT_POLICY" not in env:
        # GNU OpenMP's idle threads spin (busy-wait) at every wait of a fold running torch on several
        # threads, on cores the other folds need: two folds of 2 threads on 2 cores took 101-191 s
        # instead of 22-50 s, with the same scores. Read when torch loads, so set here, for the child
        env["OMP_WAIT_POLICY"] = "PASSIVE"
        logger.debug("fold processes: OMP_WAIT_POLICY=PASSIVE (idle OpenMP threads sleep)")
    env.setdefault("PYTHONUNBUFFERED", "1")  # logs reach train.log as they happen
    # the folds must run this very ser_hf (a source checkout need not be installed, or another
    # version may be): put the folder that holds the package first on the child's path
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    env[PARENT_ENV] = str(os.getpid())  # a fold ends with this runner, even when it is killed (kill -9)
    return env


PARENT_ENV = "SER_HF_DIE_WITH_PARENT"


def compile_pitch_tracker() -> None:
    """Compile librosa's numba kernels (the ``f0-yin`` functionals' pitch tracker) into their on-disk
    cache here, before P fold processes start. The first import after an install compiles them (about
    20 s); P processes compiling into the one cache at once can crash with a segfault (seen with two
    test workers on a fresh venv). Once compiled, this takes about 2 s. Without librosa, nothing."""
    try:
        import librosa  # noqa: F401
    except ImportError:
        return
    import numpy as np

    from ..models.feature_extraction_functionals import f0_functionals

    f0_functionals(np.sin(np.arange(4000, dtype=np.float32) * (2 * np.pi * 150 / 16000)))


def die_with_parent() -> None:
    """In a fold's process (``python -m ser_hf.training``): end when the ``ser-hf cv`` that started it
    ends, however it ends (Linux ``PR_SET_PDEATHSIG``); a fold left training after ``kill -9`` would
    meet its own rerun in the same folder. Elsewhere, or outside cv, nothing."""
    parent = os.environ.pop(PARENT_ENV, "")
    if not parent.isdigit() or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # no prctl (another libc): the fold outlives a killed runner
        return
    if os.getppid() != int(parent):  # the runner died before the signal was set
        os.kill(os.getpid(), signal.SIGTERM)


def _resume_if_started(command: list[str], log: Path) -> list[str]:
    """``command`` with ``--resume true`` when ``log`` (its first line, ``$ command``) shows that this
    same command started there before: the fold was interrupted and goes on from its last checkpoint.
    After another command (say another learning rate) it starts afresh, as training's own check
    compares the data, split and model, not the training arguments."""
    try:
        first = log.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0]
        ran = shlex.split(first[2:]) if first.startswith("$ ") else []
    except (OSError, ValueError):
        return command
    if ran and same_path(_without_resume(ran[1:])) == same_path(_without_resume(command[1:])):
        return [*_without_resume(command), "--resume", "true"]
    return command


def _without_resume(command: Sequence[str]) -> list[str]:
    """A fold's command as the reuse check compares it: ``--resume`` (which cv adds, and users may
    give after ``--``) changes where a fold starts, not what it trains."""
    out, skip = [], False
    for arg in command:
        if skip and arg.lower() in ("true", "false", "1", "0", "yes", "no"):
            skip = False
            continue
        skip = arg == "--resume"
        if not (skip or arg.startswith("--resume=")):
            out.append(arg)
    return out


def run_fold(
    command: list[str],
    fold_dir: Path,
    env: dict[str, str],
    teacher_command: list[str] | None = None,
    adapt_command: list[str] | None = None,
) -> dict[str, Any]:
    """Run one fold's training command, its output going to ``fold_dir/train.log``.

    With ``teacher_command`` (distillation inside the fold) that command runs first, into
    ``fold_dir/teacher`` with its log in ``fold_dir/teacher.log``, unless an earlier run finished it;
    the student runs only when the teacher succeeded. With ``adapt_command`` the trained fold is
    then scored with test-time adaptation (:func:`run_adaptation`); its failure is recorded as
    ``adapt_returncode`` and never discards the fold's plain result.

    Returns ``{"fold_dir", "command", "returncode", "seconds"}`` (also written as ``cv_run.json``).
    """
    fold_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    steps = [(command, fold_dir / "train.log")]
    if teacher_command is not None and not _fold_done(fold_dir / TEACHER_DIR):
        steps.insert(0, (teacher_command, fold_dir / "teacher.log"))
    returncode, log_path = 0, fold_dir / "train.log"
    for step, log_path in steps:
        returncode = _run_logged(step, log_path, env)
        if returncode != 0:
            break
    record = {
        "fold_dir": str(fold_dir),
        "command": command,
        **({"teacher_command": teacher_command} if teacher_command is not None else {}),
        "returncode": returncode,
        "seconds": round(time.perf_counter() - start, 2),
        "log": str(log_path),  # of the last step run: the teacher's when it failed
    }
    if returncode == 0 and not _fold_done(fold_dir):
        record["returncode"] = -1
        record["error"] = f"training exited 0 but wrote no {METRICS_FILE}"
    if record["returncode"] == 0 and adapt_command is not None:
        record["adapt_returncode"] = run_adaptation(adapt_command, fold_dir, env)
    write_json(fold_dir / RUN_FILE, record)
    return record


_RUNNING: set[subprocess.Popen] = set()  # the folds' training processes now running (any thread)
_RUNNING_LOCK = threading.Lock()
# set by Ctrl-C: a fold whose worker was still starting its process when the others were stopped went on
# training in the background of a notebook (and beside a rerun writing the same fold folder)
_STOPPING = threading.Event()
INTERRUPTED = 130  # the exit status of a step that Ctrl-C kept from starting


def _run_logged(command: list[str], log_path: Path, env: dict[str, str]) -> int:
    if _STOPPING.is_set():  # before the log is opened: a step Ctrl-C kept from starting leaves it as it was
        return INTERRUPTED
    with open(log_path, "w", encoding="utf-8") as log:
        log.write(f"$ {shlex.join(command)}\n")
        log.flush()
        with _RUNNING_LOCK:  # started and registered at once: _stop_all_folds sees it, or it never starts
            if _STOPPING.is_set():
                return INTERRUPTED
            proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
            _RUNNING.add(proc)
        try:
            return proc.wait()
        except BaseException:  # a crash of the runner: do not leave the trainer running
            _stop(proc)
            raise
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(proc)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _stop_all_folds() -> None:
    """Ctrl-C reaches the main thread only: end every fold's process from there (and start no more)."""
    with _RUNNING_LOCK:
        _STOPPING.set()
        running = list(_RUNNING)
    for proc in running:
        _stop(proc)


def _allow_new_folds() -> None:
    """An earlier run's Ctrl-C (a notebook goes on) does not stop the next run's folds."""
    _STOPPING.clear()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
