"""The ``ser-hf`` command line.

Each subcommand lives in the module that owns its job and exposes ``cli(argv) -> int``; this file
only dispatches, so ``ser-hf --help`` stays fast (nothing heavy is imported until a subcommand
runs). A :class:`~ser_hf.errors.SERError` ends the command with its message and exit code 2,
never a traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys

from .errors import SERError

# subcommand -> (module, function, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "train": (
        "ser_hf.training",
        "cli",
        "train a model with Trainer (also: accelerate launch scripts/train.py)",
    ),
    "evaluate": (
        "ser_hf.evaluation",
        "cli",
        "evaluate a saved model on a corpus split: WA, UA, F1, confusion",
    ),
    "cv": ("ser_hf.cross_validation", "cli", "speaker-independent k-fold cross-validation"),
    "predict": ("ser_hf.inference", "predict_cli", "classify files, folders, globs (long audio -> timeline)"),
    "extract-audio": (
        "ser_hf.inference",
        "extract_audio_cli",
        "write the audio track of videos as 16 kHz mono wav",
    ),
    "corpus": (
        "ser_hf.corpora",
        "cli",
        "load a corpus and print its summary (rows, speakers, skipped files)",
    ),
    "push": ("ser_hf.hub", "push_cli", "upload a trained model folder with its model card to the Hub"),
    "push-dataset": ("ser_hf.hub", "push_dataset_cli", "upload a harmonised corpus to the Hub"),
    "export": ("ser_hf.onnx_export", "cli", "export a model to ONNX (dynamic time axis, optional int8)"),
    "demo": ("ser_hf.demo_launcher", "cli", "run the Gradio demo locally"),
    "bench": ("ser_hf.bench", "cli", "run every speed and memory benchmark, write benchmarks/BENCH.md"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: ser-hf COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, _, help_) in COMMANDS.items()]
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
    module_name, func_name, _ = COMMANDS[name]
    func = getattr(importlib.import_module(module_name), func_name)
    try:
        return int(func(rest) or 0)
    except SERError as err:
        print(f"ser-hf {name}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ser-hf {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
