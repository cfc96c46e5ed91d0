"""``ser-hf train`` and ``python scripts/train.py``: parse, train, print the metrics."""

from __future__ import annotations

import logging
import os
import sys

import torch
from transformers import (
    HfArgumentParser,
)

from ..errors import SERError
from ..training.arguments import ARGUMENT_CLASSES, parse_args
from ..training.run import train

logger = logging.getLogger(__name__)


def cli(argv: list[str] | None = None) -> int:
    """``ser-hf train``: parse arguments, train, print the validation/test metrics."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        HfArgumentParser(ARGUMENT_CLASSES).print_help()
        print(
            "\nexamples:\n"
            "  ser-hf train --corpus ravdess=data/ravdess --split ravdess-fold:0 --output_dir runs/fold0\n"
            "  torchrun --nproc_per_node 2 scripts/train.py --corpus ravdess=data/ravdess --split none\n"
            "  python scripts/train.py config.yaml"
        )
        return 0
    fraction = os.environ.get("SER_HF_CUDA_MEMORY_FRACTION")
    if fraction and torch.cuda.is_available():
        # several fold processes share one GPU (ser-hf cv --parallel): cap each one's share so the
        # caching allocator of one cannot starve the others into out-of-memory errors
        torch.cuda.set_per_process_memory_fraction(float(fraction))
    data_args, model_args, aug_args, training_args = parse_args(argv)
    results = train(data_args, model_args, aug_args, training_args)
    if training_args.process_index == 0:
        for name in ("validation", "test"):
            if name in results:
                m = results[name]
                print(
                    f"{name:<10} WA {m['wa']:.3f}  UA {m['ua']:.3f}  macro-F1 {m['f1_macro']:.3f}  (n={m['n']})"
                )
        print(f"model saved to {training_args.output_dir}")
    return 0


def main() -> None:
    """``python scripts/train.py`` / ``python -m ser_hf.training``: logging + :func:`cli` + exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = cli(sys.argv[1:])
    except SERError as err:
        print(f"ser-hf train: error: {err}", file=sys.stderr)
        code = 2
    sys.exit(code)
