"""The ``ser-hf`` command line.

Each subcommand is one module of this package exposing ``cli(argv) -> int``: argument parsing and
printing only, over the library functions that do the work. This file only dispatches, so ``ser-hf --help`` stays fast (nothing heavy is imported until a subcommand
runs). A :class:`~ser_hf.errors.SERError` ends the command with its message and exit code 2,
never a traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys

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


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: ser-hf COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run 'ser-hf COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"ser-hf: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    func = importlib.import_module(f"{__name__}.{COMMANDS[name][0]}").cli
    try:
        return int(func(rest) or 0)
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
    except KeyboardInterrupt:
        print(f"ser-hf {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
