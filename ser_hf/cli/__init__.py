"""The ``ser-hf`` command line.

Each subcommand is one module of this package exposing ``cli(argv) -> int``: argument parsing and
printing only, over the library functions that do the work. This file only dispatches, so ``ser-hf --help`` stays fast (nothing heavy is imported until a subcommand
runs). A :class:`~ser_hf.errors.SERError` ends the command with its message and exit code 2,
never a traceback. Ctrl-C exits 130 and SIGTERM (``timeout``, systemd, cron) 143, both through the
command's own interrupted path (``predict`` writes the rows it finished); a reader that closes the
pipe early (``| head``) ends the command quietly with 141, as a tool killed by SIGPIPE. A result
that cannot be written (a full disk or stdout, a read-only folder) is one line naming the file, exit 74
(``EX_IOERR``), never a traceback.
"""

from __future__ import annotations

import errno
import importlib
import logging
import os
import signal
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import SERError, extra_for_module, install_hint, os_error_of

# subcommand -> (module in ser_hf.cli with a cli(argv) function, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("train", "train a model with Trainer (also: accelerate launch scripts/train.py)"),
    "distill": ("distill", "train a fast student on a teacher model's soft labels (ser-hf train --teacher)"),
    "evaluate": ("evaluate", "evaluate a saved model on a corpus split: WA, UA, F1, confusion"),
    "cv": ("cv", "speaker-independent k-fold cross-validation"),
    "predict": ("predict", "classify files, folders, globs (long audio -> timeline)"),
    "extract-audio": ("extract_audio", "write the audio track of videos as 16 kHz mono wav"),
    "corpus": ("corpus", "load a corpus and print its summary (rows, speakers, skipped files)"),
    "push": ("push", "upload a trained model folder with its model card to the Hub"),
    "push-dataset": ("push_dataset", "upload a harmonised corpus to the Hub"),
    "push-space": ("push_space", "put the demo on the Hub as a Gradio Space that installs"),
    "export": ("export", "export a model to ONNX (dynamic time axis, optional int8)"),
    "fuse": ("fuse", "pack saved models into one fusion model (weighted mean of probabilities)"),
    "demo": ("demo", "run the Gradio demo locally"),
    "bench": ("bench", "run every speed and memory benchmark, write benchmarks/BENCH.md"),
}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command runs: a KeyboardInterrupt, so a command that keeps its
    finished work on Ctrl-C keeps it on SIGTERM too."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` while a command runs (the CLI only: importing the library
    changes no signal handler); the previous handler comes back after it."""
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread (main() called from a thread): leave signals alone
        previous = _UNSET
    try:
        yield
    finally:
        if previous is not _UNSET:  # None: a handler set outside Python, which cannot be put back
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


_UNSET = object()


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader is gone (a BrokenPipeError from elsewhere, a socket of
    ``push``, is an error to report, not the quiet end of ``| head``)."""
    import select

    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poll.poll(0))
    except (OSError, ValueError, AttributeError):  # no descriptor (stdout replaced in-process): assume so
        return True


# OSErrors that end a command with one line, not a traceback: writing a result (the file or stdout)
# failed where the user can act (free space, another folder); any other OSError stays a traceback
WRITE_ONLY_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}
USER_ERRNOS = WRITE_ONLY_ERRNOS | {
    errno.EACCES, errno.EPERM, errno.ENAMETOOLONG, errno.EIO, errno.ENOENT, errno.EISDIR, errno.ENOTDIR
}  # fmt: skip
EX_IOERR = 74  # sysexits.h: an error while doing I/O on some file


def write_failure(err: OSError, command: str, on_stdout: bool = False) -> int | None:
    """Report an OSError that a user can act on (a full disk or stdout, a read-only or forbidden
    folder, a name too long) as one line naming the file and return the exit code; None for any other
    OSError (the caller re-raises it: a programming error keeps its traceback). ``on_stdout``: the
    error came from writing stdout (else it is found out when the error names no file)."""
    if err.errno not in USER_ERRNOS:
        return None
    # a copy (shutil, as save_pretrained copies the model's code) names its source first, the file
    # written second
    where = err.filename2 if err.errno in WRITE_ONLY_ERRNOS and err.filename2 else err.filename
    on_stdout = on_stdout or (where is None and _stdout_fails())  # print() to /dev/full names no file
    reason = err.strerror or os.strerror(err.errno)
    if on_stdout or err.errno in WRITE_ONLY_ERRNOS:
        message = f"cannot write {'to stdout' if on_stdout else where or 'a result'} ({reason})"
    else:
        message = f"{where}: {reason}" if where else reason
    print(f"ser-hf {command}: error: {message}", file=sys.stderr)
    if on_stdout:  # the interpreter's last flush would fail again, with "Exception ignored" and a traceback
        _stdout_to_devnull()
    return EX_IOERR


def _stdout_fails() -> bool:
    """Whether writing stdout fails now: a device refusing even an empty write (/dev/full), or a
    regular file on a file system without a free block."""
    try:
        fd = sys.stdout.fileno()
        os.write(fd, b"")
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        free = os.fstatvfs(fd)
    except (AttributeError, ValueError):  # None (fd 1 closed at start), no descriptor (replaced in-process)
        return False
    except OSError:
        return True
    return free.f_bfree == 0 or (os.geteuid() != 0 and free.f_bavail == 0)


def _stdout_to_devnull() -> None:
    """Point file descriptor 1 at /dev/null, so that nothing left in stdout's buffer fails at exit."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no file descriptor (stdout replaced in-process, or None)
        pass


def _flush_stdout(code: int, command: str) -> int:
    """``code`` once what stdout holds is written: a full disk fails here, not in the interpreter's
    exit (a closed pipe raises BrokenPipeError for :func:`main`)."""
    if sys.stdout is None:  # started with stdout closed (`>&-`): nothing was printed
        return code
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as err:
        failed = write_failure(err, command, on_stdout=True)
        if failed is None:
            raise
        return failed
    return code


def _idle_threads_sleep_beside_other_ranks() -> None:
    """Under torchrun / accelerate with several processes on this machine: GNU OpenMP's idle threads
    spun at every wait on the cores the other ranks needed (2 ranks of 2 threads on 2 cores: 87-137 s
    instead of 19-26, the same model). Set OMP_WAIT_POLICY=PASSIVE (read when torch loads, so before it
    does) unless the user set it; torchrun's default one thread a rank has no idle threads to spin.
    For ``ser-hf train`` / ``distill`` (:func:`main`), ``scripts/train.py`` and ``python -m
    ser_hf.training`` (:func:`ser_hf.cli.train.main`) alike."""
    ranks = os.environ.get("LOCAL_WORLD_SIZE", "")
    if (
        ranks.isdigit()
        and int(ranks) > 1
        and "OMP_WAIT_POLICY" not in os.environ
        and "torch" not in sys.modules
    ):
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        logging.getLogger(__name__).debug(
            "%s ranks on this machine: OMP_WAIT_POLICY=PASSIVE (idle OpenMP threads sleep)", ranks
        )


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: ser-hf COMMAND [ARGS...]  |  ser-hf --version", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run 'ser-hf COMMAND --help' for a command's options."]
    return "\n".join(lines)


def _print_usage(argv: list[str]) -> int:
    print(_usage())
    return 0


def _print_version(argv: list[str]) -> int:
    from .. import __version__

    print(f"ser-hf {__version__}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    name, rest = (argv or ["help"])[0], argv[1:]
    if name in {"-h", "--help", "help", "--version", "-V"}:  # `ser-hf --help | head -1`: the guards below
        name, func = ("version", _print_version) if name in {"--version", "-V"} else ("help", _print_usage)
    elif name not in COMMANDS:
        print(f"ser-hf: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    else:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        func = importlib.import_module(f"{__name__}.{COMMANDS[name][0]}").cli
        if name in ("train", "distill"):  # `torchrun $(which ser-hf) train`, as scripts/train.py does
            _idle_threads_sleep_beside_other_ranks()
    try:
        with _sigterm_interrupts():
            try:
                code = int(func(rest) or 0)
            except SystemExit as done:  # argparse's --help: its text is still in stdout's buffer
                if done.code not in (0, None):
                    raise
                code = 0
        return _flush_stdout(code, name)
    except BrokenPipeError:  # `ser-hf predict ... | head`: the reader wants no more (Python's docs' recipe)
        if not _stdout_closed():
            raise
        _stdout_to_devnull()  # so that the interpreter's last flush cannot fail again
        return 141  # 128 + SIGPIPE: what a shell reports for a tool ended by a closed pipe
    except SERError as err:
        print(f"ser-hf {name}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full disk or stdout, a read-only folder: one line, not a traceback
        code = write_failure(err, name)
        if code is None:
            raise
        return code
    except ModuleNotFoundError as err:  # an optional dependency that no explicit check caught
        extra = extra_for_module(err.name)
        if extra is None:
            raise
        print(
            f"ser-hf {name}: error: needs {err.name}, which the core install leaves out: {install_hint(extra)}",
            file=sys.stderr,
        )
        return 2
    except Exception as err:  # safetensors' own I/O error (a full disk while saving weights)
        io_error = os_error_of(err)
        code = None if io_error is None else write_failure(io_error, name)
        if code is None:
            raise
        return code
    except Terminated:
        print(f"ser-hf {name}: terminated (SIGTERM)", file=sys.stderr)
        return 143  # 128 + SIGTERM
    except KeyboardInterrupt:
        print(f"ser-hf {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
