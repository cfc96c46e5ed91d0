"""Every speed and memory benchmark in one command; the same as ``ser-hf bench``.

    python benchmarks/run_all.py [--data-dir data/ravdess] [--model DIR] [--out benchmarks/] [--quick]
        [--skip features augment latency training demo]

Writes ``benchmarks/BENCH.md`` and ``benchmarks/bench.json``; see :mod:`ser_hf.bench`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from ser_hf.cli.bench import cli  # noqa: E402

if __name__ == "__main__":
    sys.exit(cli())
