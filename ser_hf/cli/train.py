"""``ser-hf train`` and ``python scripts/train.py``: parse, train, print the metrics.

``--help`` and unknown flags answer at once from ``train_help.txt``, the parser's help written by
:func:`write_help` (``python -m ser_hf.cli.train --write-help``); a test fails when the file no
longer matches the live ``HfArgumentParser``. The parser itself (transformers' ``TrainingArguments``,
hence torch) is imported only when there is something to train, or when the installed
transformers differs from the one the file was written with.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from importlib import metadata
from pathlib import Path

from ..errors import SERError, os_error_of, output_dir, require_extra

logger = logging.getLogger(__name__)

HELP_FILE = Path(__file__).with_name("train_help.txt")
HELP_COLUMNS = "100"  # argparse wraps to $COLUMNS: the file is written at a fixed width
EXAMPLES = (
    "\nexamples:\n"
    "  ser-hf train --corpus ravdess=data/ravdess --split ravdess-fold:0 --output_dir runs/fold0\n"
    "  ser-hf train --corpus ravdess=data/ravdess,tess=data/tess --label_scheme harmonized7 "
    "--preset speech-stats-mfcc-rooms --split loco:tess --output_dir runs/r2t\n"
    "  torchrun --nproc_per_node 2 scripts/train.py --use_cpu true --corpus ravdess=data/ravdess --split none"
    "  (--use_cpu true: DDP over gloo on a machine without a GPU)\n"
    "  python scripts/train.py config.yaml\n"
    "\nexit status:\n"
    "  0    trained; the model saved in --output_dir\n"
    "  2    a usage error (a bad option, split or corpus, an --output_dir that cannot be written:\n"
    "       checked before the data loads)\n"
    "  74   the model or a checkpoint could not be saved (a full disk): one line names the file or the\n"
    "       checkpoint folder (removed; the earlier checkpoints stay) and the fix; a model already in\n"
    "       --output_dir stays whole (or in --output_dir/.previous-model)\n"
    "  130  Ctrl-C, 143 SIGTERM: the checkpoints saved by then stay; --resume true goes on from the last\n"
    "  141  the reader of stdout closed it early (| head)\n"
)


def live_help() -> str:
    """The help of the real parser (imports transformers and torch)."""
    from transformers import HfArgumentParser

    from ..training.arguments import ARGUMENT_CLASSES

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS
    try:
        text = HfArgumentParser(ARGUMENT_CLASSES, prog="ser-hf train").format_help()
    finally:
        if old is None:
            os.environ.pop("COLUMNS")
        else:
            os.environ["COLUMNS"] = old
    return f"# transformers {metadata.version('transformers')}\n{text}{EXAMPLES}"


def write_help() -> Path:
    HELP_FILE.write_text(live_help())
    return HELP_FILE


def stored_help() -> str | None:
    """``train_help.txt`` without its header, or None when it is missing or was written with
    another transformers version than the installed one."""
    try:
        header, text = HELP_FILE.read_text().split("\n", 1)
    except (OSError, ValueError):
        return None
    return text if header == f"# transformers {metadata.version('transformers')}" else None


def help_flags(help_text: str) -> set[str]:
    """The ``--flags`` a parser's help names."""
    return set(re.findall(r"(--[A-Za-z0-9_\-]+)", help_text))


def unknown_flags(argv: list[str], help_text: str) -> list[str]:
    """Flags that are neither an option of the parser nor a prefix argparse would accept for one."""
    known = help_flags(help_text)
    flags = [a.split("=", 1)[0] for a in argv if a.startswith("--")]
    return [f for f in flags if f not in known and not any(k.startswith(f) for k in known)]


def resolve_teacher(argv: list[str]) -> list[str]:
    """``--teacher`` with a bundled model's name (``default``) resolved to its folder; an empty
    value is an error (it once trained a plain model without a word)."""
    flags = [a.split("=", 1)[0] for a in argv]
    if "--teacher" not in flags:
        return argv
    i = flags.index("--teacher")
    value = argv[i].split("=", 1)[1] if "=" in argv[i] else (argv[i + 1] if i + 1 < len(argv) else "")
    if not value.strip() or value.startswith("--"):
        raise SERError(
            "give the teacher: --teacher DIR (a trained model folder) or a bundled name", source="--teacher"
        )
    from ..hub.fetch import fetch_model, is_repo_id
    from ..inference.bundled import resolve_model_name

    resolved = str(resolve_model_name(value))
    if is_repo_id(resolved):  # a Hub id, as fuse --member and evaluate --model take: fetched before decoding
        resolved = str(fetch_model(resolved))
    elif not (Path(resolved).expanduser() / "config.json").is_file():  # was said after every clip decoded
        from ..inference.bundled import BUNDLED_ALIASES

        raise SERError(
            "not a saved model folder (no config.json there) nor a bundled model; give the output_dir of a "
            f"finished training run, a bundled name ({', '.join(BUNDLED_ALIASES)}) or a Hub id owner/name",
            source=f"--teacher {value}",
        )
    return [*argv[:i], "--teacher", resolved, *argv[i + (1 if "=" in argv[i] else 2) :]]


def cli(argv: list[str] | None = None) -> int:
    """``ser-hf train``: parse arguments, train, print the validation/test metrics."""
    argv = resolve_teacher(list(sys.argv[1:] if argv is None else argv))
    stored = stored_help()
    if not argv or argv[0] in ("-h", "--help"):
        print(stored if stored is not None else live_help().split("\n", 1)[1], end="")
        return 0
    if stored is not None and (unknown := unknown_flags(argv, stored)):
        raise SERError(f"unknown arguments {unknown}; run with --help for the options", source="command line")

    require_extra("train", "ser-hf train")
    import torch

    from ..training.arguments import parse_args
    from ..training.run import train

    fraction = os.environ.get("SER_HF_CUDA_MEMORY_FRACTION")
    if fraction and torch.cuda.is_available():
        # several fold processes share one GPU (ser-hf cv --parallel): cap each one's share so the
        # caching allocator of one cannot starve the others into out-of-memory errors
        torch.cuda.set_per_process_memory_fraction(float(fraction))
    data_args, model_args, aug_args, training_args = parse_args(argv)
    output_dir(training_args.output_dir, "--output_dir")  # before the data loads and the model trains
    if data_args.cache_dir:  # a file there was a FileExistsError traceback after the corpus loaded
        output_dir(data_args.cache_dir, "--cache_dir")
    results = train(data_args, model_args, aug_args, training_args)
    if training_args.process_index == 0:
        for name in ("validation", "test"):
            if name in results:
                m = results[name]
                print(
                    f"{name:<10} WA {m['wa']:.3f}  UA {m['ua']:.3f}  macro-F1 {m['f1_macro']:.3f}  (n={m['n']})"
                )
                if (chance := chance_line(m)) is not None:  # 'test UA 0.800' alone said not what it beats
                    print(f"{'':<10} {chance}")
                for label, n in (m.get("untrained_classes") or {}).items():  # as cv says it per fold
                    print(
                        f"{'':<10} {label} ({n} {name} clips): no training clip has it, recall 0 by construction"
                    )
        print(f"model saved to {training_args.output_dir}")
    return 0


def chance_line(metrics: dict) -> str | None:
    """``scored on 4 classes (anger, joy, neutral, sadness): chance UA 0.250``, as ``ser-hf evaluate``
    says it, of a run's test metrics: the classes the answers were scored among (a corpus none of the
    training came from: each on the classes it has; the classes the test clips hold when fewer); None
    where the metrics hold no chance UA (the validation part's)."""
    if metrics.get("chance_ua") is None:
        return None
    labels, masked = list(metrics["labels"]), metrics.get("masked_classes") or {}
    if masked:
        each = "; ".join(
            f"{c}: {', '.join(x for x in labels if x not in masked.get(c, ()))}"
            for c in metrics.get("test_corpora") or sorted(masked)
        )
        return f"chance UA {metrics['chance_ua']:.3f} (each corpus scored on the classes it has: {each})"
    per_class = metrics.get("per_class") or {}
    held = [x for x in labels if (per_class.get(x) or {}).get("support", 1)]
    if len(held) < len(labels):  # UA averages the recall of the classes the test clips hold
        return (
            f"scored on {len(labels)} classes ({', '.join(labels)}); the test clips hold {len(held)} of them "
            f"({', '.join(held)}), whose recalls UA averages: chance UA {metrics['chance_ua']:.3f}"
        )
    return f"scored on {len(labels)} classes ({', '.join(labels)}): chance UA {metrics['chance_ua']:.3f}"


def main() -> None:
    """``python scripts/train.py`` / ``python -m ser_hf.training``: logging + :func:`cli` + exit code."""
    # under torchrun / accelerate, process 0 tells the story; the others only their warnings and errors
    rank = int(os.environ.get("RANK", "0") or 0)
    logging.basicConfig(
        level=logging.INFO if rank == 0 else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    from . import _flush_stdout, _idle_threads_sleep_beside_other_ranks

    _idle_threads_sleep_beside_other_ranks()
    try:
        code = _flush_stdout(cli(sys.argv[1:]), "train")  # a full stdout fails here, not at the exit
    except SERError as err:
        print(f"ser-hf train: error: {err}", file=sys.stderr)
        code = 2
    except Exception as err:  # a full disk at the save: one line naming the file, as `ser-hf train` says it
        from . import write_failure

        io_error = os_error_of(err)  # an OSError, or safetensors' I/O error
        if io_error is None or (failed := write_failure(io_error, "train")) is None:
            raise
        code = failed
    sys.exit(code)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-help"]:
        print(f"wrote {write_help()}")
    else:
        main()
