"""``ser-hf distill --teacher DIR --preset P ...``: ``ser-hf train`` of a student with a teacher.

Every ``ser-hf train`` option applies; ``--teacher`` (a saved model folder or a bundled model name)
is required. ``--distill_alpha`` weighs the teacher's soft labels against the labels and
``--distill_temperature`` softens both. For speaker-independent figures, distil inside each fold
with ``ser-hf cv --preset STUDENT --teacher-preset TEACHER``.
"""

from __future__ import annotations

import sys

from ..errors import SERError
from . import train as train_cli

USAGE = """usage: ser-hf distill --teacher DIR_OR_NAME --preset STUDENT [ser-hf train options]

Train a fast student (any preset) on the soft labels of a teacher model: the teacher's class
probabilities for every training clip and augmented copy, mixed with the labels as
(1 - alpha) * loss(labels) + alpha * T^2 * KL(teacher_T || student_T).

  --teacher DIR_OR_NAME       saved model folder (output_dir of ser-hf train) or a bundled name
  --distill_alpha A           weight of the teacher's soft labels (default 0.5)
  --distill_temperature T     softening temperature (default 2.0)

examples:
  ser-hf distill --teacher runs/fusion --preset compact --corpus ravdess=data/ravdess \\
      --split ravdess-fold:0 --output_dir runs/student0
  ser-hf cv --corpus ravdess=data/ravdess --preset compact --teacher-preset cnn-transformer

All ser-hf train options (ser-hf train --help) apply.
"""


def cli(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0
    flags = [a.split("=", 1)[0] for a in argv]
    if "--teacher" not in flags:
        raise SERError(
            "give the teacher: --teacher DIR (a trained model folder) or a bundled name",
            source="ser-hf distill",
        )
    if (
        "--preset" not in flags
    ):  # train's default (seed-logmel-bilstm, 60 epochs) is no student anyone asked for
        raise SERError(
            "give the student's preset: --preset STUDENT (e.g. compact, or speech-stats for a linear "
            "student; ser-hf train --help lists them)",
            source="ser-hf distill",
        )
    return train_cli.cli(argv)
