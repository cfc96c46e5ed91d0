"""The ``ser-hf`` command line.

Each subcommand is one module of this package exposing ``cli(argv) -> int``: argument parsing and
printing only, over the library functions that do the work. This file only dispatches, so ``ser-hf --help`` stays fast (nothing heavy is imported until a subcommand
runs). A :class:`~ser_hf.errors.SERError` ends the command with its message and exit code 2,
never a traceback. Ctrl-C exits 130 and SIGTERM (``timeout``, systemd, cron) 143, both through the
command's own interrupted path (``predict`` writes the rows it finished); a reader that closes the
pipe early (``| head``) ends the command quietly with 141, as a tool killed by SIGPIPE.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import SERError, extra_for_module

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


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: ser-hf COMMAND [ARGS...]  |  ser-hf --version", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run 'ser-hf COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(_usage())
        return 0
    if argv[0] in {"--version", "-V"}:
        from .. import __version__

        print(f"ser-hf {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"ser-hf: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    func = importlib.import_module(f"{__name__}.{COMMANDS[name][0]}").cli
    try:
        with _sigterm_interrupts():
            code = int(func(rest) or 0)
            sys.stdout.flush()  # a closed pipe fails here, not in the interpreter's exit
        return code
    except BrokenPipeError:  # `ser-hf predict ... | head`: the reader wants no more (Python's docs' recipe)
        if not _stdout_closed():
            raise
        try:  # stdout to /dev/null, so that the interpreter's last flush cannot fail again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # no file descriptor (stdout replaced in-process)
            pass
        return 141  # 128 + SIGPIPE: what a shell reports for a tool ended by a closed pipe
    except SERError as err:
        print(f"ser-hf {name}: error: {err}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as err:  # an optional dependency that no explicit check caught
        extra = extra_for_module(err.name)
        if extra is None:
            raise
        print(
            f"ser-hf {name}: error: needs {err.name}, which the core install leaves out: "
            f"pip install 'ser-hf[{extra}]'",
            file=sys.stderr,
        )
        return 2
    except Terminated:
        print(f"ser-hf {name}: terminated (SIGTERM)", file=sys.stderr)
        return 143  # 128 + SIGTERM
    except KeyboardInterrupt:
        print(f"ser-hf {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
