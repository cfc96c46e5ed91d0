"""``ser-hf export``: export a model to ONNX (dynamic time axis, optional int8)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from ..errors import SERError, output_file, require_extra
from ..inference.bundled import resolve_model_name
from ..inference.onnx_runtime import DEFAULT_OPSET, FP32_TOLERANCE
from .parser import ArgumentParser
from .predict_output import _write_file

logger = logging.getLogger(__name__)

INPUT_NAMES = ("input_features", "attention_mask")


def cli(argv: list[str]) -> int:
    """``ser-hf export --model DIR --out model.onnx [--quantize int8] [--opset N]``."""
    p = ArgumentParser(
        prog="ser-hf export",
        description="Export a model to ONNX (dynamic batch and time axes) and check it against PyTorch "
        "on clips of several lengths and a padded batch.",
        epilog="""exit status:
  0    exported (and checked, unless --no-check)
  2    a usage error (a bad option, no such model, a model that cannot be exported, an --out or --json
       that cannot be written: checked before the export) or a failed parity check (nothing written)
  74   a file could not be written (a full disk): one line names it; each file is written to a
       temporary file beside it that then replaces it, so an earlier FILE stays whole
  130  Ctrl-C, 143 SIGTERM: an earlier file at --out stays whole
  141  the reader of stdout closed it early (| head)""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--model",
        default=None,
        help="saved model folder or bundled name (default: the bundled CNN-Transformer, 'cnn'; 'default' and "
        "other models on the turn encoder export as one graph from log-mels to labels; the other "
        "functionals models read values computed in Python and cannot be exported)",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="the .onnx file to write")
    p.add_argument(
        "--quantize", choices=["int8"], default=None, help="also write <out>.int8.onnx with int8 weights"
    )
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    p.add_argument("--no-check", action="store_true", help="skip the PyTorch / ONNX Runtime parity check")
    p.add_argument(
        "--json",
        default=None,
        metavar="FILE",
        help="also write the export report as JSON ('-': to stdout, the printed report then goes to stderr)",
    )
    p.add_argument(
        "--check-clips",
        dest="check_clips",
        nargs="+",
        action="extend",
        default=[],
        metavar="PATH",
        help="also compare each exported file with the PyTorch model on these clips of your own (files, "
        "folders, globs): top-1 agreement and probability differences, e.g. of the int8 file",
    )
    args = p.parse_args(argv)
    require_extra("onnx", "ser-hf export")
    from ..inference.onnx_export import export_onnx, format_parity  # after parsing: --help answers at once

    output_file(args.out, "--out")  # before the export and its parity check
    if args.json and args.json != "-":
        output_file(args.json, "--json")
    report = sys.stderr if args.json == "-" else sys.stdout  # with --json - the JSON owns stdout
    model = str(resolve_model_name(args.model, default="cnn"))
    clips, unreadable = [], {}
    if args.check_clips:  # decoded before the export: a typo or unreadable clips cost nothing
        from ..data.media_files import find_media_files
        from ..inference.onnx_classifier import read_clips

        found = find_media_files(args.check_clips)
        if missing := [c for c in found if not Path(c).is_file() and not Path(c).is_symlink()]:
            raise SERError("no such file or pattern", source=str(missing[0]))
        samples, names, unreadable = read_clips(model, [str(c) for c in found])
        clips = found
    result = export_onnx(model, args.out, opset=args.opset, quantize=args.quantize, check=not args.no_check)
    print(
        f"wrote {result['path']} ({result['size_bytes'] / 1e6:.2f} MB, opset {result['opset']}, "
        f"{result['model_type']}, {len(result['labels'])} labels) in {result['seconds']:.1f} s",
        file=report,
    )
    if result["int8_path"]:
        print(
            f"wrote {result['int8_path']} ({result['int8_size_bytes'] / 1e6:.2f} MB, int8 weights)",
            file=report,
        )
    if result.get("preprocess_path"):
        print(
            f"wrote {result['preprocess_path']} (the graph's inputs from audio in numpy alone, no torch)",
            file=report,
        )
    if result["parity"]:
        print("\nParity with PyTorch (max absolute difference of probabilities):\n", file=report)
        print(format_parity(result), file=report)
        line = f"\nfp32: {result['fp32_max_abs_diff']:.2e} (limit {FP32_TOLERANCE:g})"
        if result["int8_max_abs_diff"] is not None:
            line += f"; int8: {result['int8_max_abs_diff']:.2e} (reported, no limit)"
        print(line, file=report)
        if "fp32_package_max_abs_diff" in result["parity"][0]:  # a turn-encoder graph: float32 / ORT int8
            from ..inference.onnx_turn import describe

            print(describe(result) + " (the package runs the encoder in PyTorch's int8)", file=report)
    if clips:
        from ..inference.onnx_classifier import agreement_on_clips

        graphs = [result["path"], *([result["int8_path"]] if result["int8_path"] else [])]
        result["clips"] = agreement_on_clips(model, graphs, samples, names)
        result["clips_unreadable"] = unreadable
        scored = (
            f"{len(samples)} of your {len(clips)} clips ({len(unreadable)} unreadable, below)"
            if unreadable
            else f"your {len(clips)} clip(s)"
        )
        print(f"\nOn {scored}, against the PyTorch model (ser-hf predict without --onnx):\n", file=report)
        print(
            "| file | clips | top-1 agree | max abs diff | mean abs diff |\n| --- | ---: | ---: | ---: | ---: |",
            file=report,
        )
        for path, row in result["clips"].items():
            print(
                f"| {Path(path).name} | {row['n']} | {row['top1_agreement']:.1%} | {row['max_abs_diff']:.2e} "
                f"| {row['mean_abs_diff']:.2e} |",
                file=report,
            )
        for path, reason in unreadable.items():
            print(f"skipped (unreadable): {path}: {reason}", file=report)
    if args.json == "-":
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    elif args.json:  # as predict writes its --json FILE: atomic, a device or a link's file as `>` would
        _write_file(args.json, lambda fh: fh.write(json.dumps(result, indent=2)))
    return 0
