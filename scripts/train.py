"""Train a speech emotion model with Trainer: ``python scripts/train.py --help``.

Also runs under ``accelerate launch scripts/train.py ...`` and
``torchrun --nproc_per_node N scripts/train.py ...``; the code lives in :mod:`ser_hf.training`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from ser_hf.cli.train import main  # noqa: E402

if __name__ == "__main__":
    main()
