"""``ser-hf bench``: run every speed and memory benchmark and write ``benchmarks/BENCH.md``."""

from __future__ import annotations

import json
import logging
import shlex
import sys
from pathlib import Path

from ..bench.measure import BENCH_DIR, PARTS
from ..bench.run import run_all
from ..errors import output_dir, require_extra
from .parser import ArgumentParser

logger = logging.getLogger(__name__)


def cli(argv: list[str] | None = None) -> int:
    """``ser-hf bench``: run the benchmarks, print the ratios, write BENCH.md and bench.json."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = ArgumentParser(prog="ser-hf bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="a RAVDESS folder (Actor_NN/...) for features, augment, cv, memory, training and (not with --quick) the onnx "
        "agreement; default: generated clips (default, avx2, onnx and timeline time the demo's example clips)",
    )
    parser.add_argument(
        "--model",
        type=Path,
        help="model folder for latency, timeline and demo (default: bundled); one that cannot be exported "
        "to ONNX (a fusion, a functionals model) gets the PyTorch latency rows only",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where BENCH.md and bench.json go (default: the clone's benchmarks/ folder, the published "
        "report; with --quick ./bench-quick, so a smoke test never replaces it)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="few runs, tiny inputs (a smoke test, not figures)"
    )
    parser.add_argument(
        "--skip",
        nargs="+",
        action="extend",
        default=[],
        choices=PARTS,
        metavar="PART",
        help=f"parts to skip: {PARTS}",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="with --skip, replace the figures an earlier run left in --out for the skipped parts",
    )
    args = parser.parse_args(argv)
    require_extra("train", "ser-hf bench")
    if not (BENCH_DIR / "bench_latency.py").is_file():  # a pip install has the package, not the scripts
        print(
            f"error: ser-hf bench runs the scripts of the repository's benchmarks/ folder ({BENCH_DIR} "
            "is not there: a pip install has the package only); run it from a clone of the repository",
            file=sys.stderr,
        )
        return 2
    if args.out is None:
        args.out = Path("bench-quick") if args.quick else BENCH_DIR
    if args.data_dir is not None and not args.data_dir.is_dir():
        print(f"error: --data-dir {args.data_dir} is not a folder", file=sys.stderr)
        return 2
    # the parts run from the repository: a relative path is the user's, from here
    args.data_dir = args.data_dir.resolve() if args.data_dir is not None else None
    if args.model is not None and Path(args.model).exists():
        args.model = str(Path(args.model).resolve())
    args.out = output_dir(args.out, "--out")  # a file there was a FileExistsError traceback
    kept = _figures_skip_would_drop(args.out, args.skip)
    if kept and not args.force:
        print(
            f"error: {args.out / 'bench.json'} holds figures for {', '.join(kept)} (an earlier run), which "
            "--skip would replace with 'skipped'; pass another --out to keep them, or --force",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per gradio_client request otherwise
    report = run_all(
        args.out,
        data_dir=args.data_dir,
        model=args.model,
        quick=args.quick,
        skip=tuple(args.skip),
        command=shlex.join(["ser-hf", "bench", *argv]),
    )
    for name, value in report["ratios"].items():
        print(f"  {name:80s} {value:8.2f}x")
    failed = [n for n, p in report["parts"].items() if "error" in p]
    print(f"wrote {args.out / 'BENCH.md'} and {args.out / 'bench.json'} in {report['total_wall_s']:.0f} s")
    if failed:
        print(f"FAILED parts: {', '.join(failed)} (see BENCH.md)", file=sys.stderr)
        return 1
    return 0


def _figures_skip_would_drop(out: Path, skip: list[str]) -> list[str]:
    """The parts with figures in ``out/bench.json`` that this run skips: the report is written whole,
    so a ``--skip`` run over the published report once lost its demo and training sections unsaid."""
    try:
        earlier = json.loads((out / "bench.json").read_text(encoding="utf-8")).get("parts", {})
    except (OSError, ValueError, AttributeError):
        return []
    return [name for name in skip if isinstance(earlier.get(name), dict) and "error" not in earlier[name]]
