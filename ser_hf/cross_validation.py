"""``ser-hf cv``: speaker-independent k-fold cross-validation, one training subprocess per fold.

Each fold is ``python -m ser_hf.training ... --split <fold spec> --output_dir OUT/fold_K`` in its
own process, so ``--parallel P`` runs P folds at once on one GPU (or on a CPU, with the threads
shared out), a crashed fold does not take the others down, and a re-run skips finished folds.
Every fold writes ``test_metrics.json`` (:func:`ser_hf.metrics.compute_ser_metrics` on its test
speakers); :func:`aggregate` turns those into mean +- std of WA, UA, macro F1 and the summed
confusion matrix, written as ``cv_results.json``, ``cv_results.md`` and ``confusion_cv.png``.

Example (the RAVDESS 6-fold protocol of the benchmark, three folds at a time)::

    ser-hf cv --corpus ravdess=data/ravdess --preset seed-logmel-bilstm --parallel 3 \\
        --out runs/cv_seed -- --num_train_epochs 60
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import logging
import os
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SERError

logger = logging.getLogger(__name__)

METRICS_FILE = "test_metrics.json"
RUN_FILE = "cv_run.json"  # written by the runner into each fold dir: command, return code, seconds
CONFIG_FILE = "cv_config.json"  # written into OUT: what was run, reused by --aggregate-only
HEADLINE = ("wa", "ua", "f1_macro", "f1_weighted")
RAVDESS_PROTOCOL = (
    "RAVDESS 6-fold speaker-independent protocol: fold k tests on actors 4k+1..4k+4 "
    "(2 male, 2 female); validation actors come from the 20 training actors"
)


# ----------------------------------------------------------------------------------- folds
def fold_splits(folds: str, corpora: Sequence[str]) -> tuple[list[str], str]:
    """The ``--split`` value of every fold and a one-line protocol description.

    Args:
        folds: ``"ravdess"`` (the 6-fold RAVDESS protocol) or a number N of speaker-independent
            folds (``kfold:K/N`` of ``ser_hf.training``).
        corpora: the ``NAME=PATH`` corpus arguments (used to pick the default and to check).
    """
    names = [c.split("=", 1)[0].strip().lower() for c in corpora]
    if folds == "ravdess":
        if names != ["ravdess"]:
            raise SERError(
                "the RAVDESS 6-fold protocol needs exactly one corpus, ravdess=PATH; for other "
                "corpora give --folds N (speaker-independent N-fold)",
                source=f"--folds ravdess with --corpus {' '.join(corpora)}",
            )
        return [f"ravdess-fold:{k}" for k in range(6)], RAVDESS_PROTOCOL
    try:
        n = int(folds)
    except ValueError:
        raise SERError("give 'ravdess' or a number of folds (2 or more)", source=f"--folds {folds}") from None
    if n < 2:
        raise SERError("cross-validation needs at least 2 folds", source=f"--folds {folds}")
    protocol = (
        f"{n}-fold speaker-independent cross-validation over {', '.join(names)} (no speaker in two folds)"
    )
    return [f"kfold:{k}/{n}" for k in range(n)], protocol


def _fold_done(fold_dir: Path) -> bool:
    return (fold_dir / METRICS_FILE).is_file()


def _child_env(parallel: int) -> dict[str, str]:
    env = dict(os.environ)
    # P processes that each start one thread per core oversubscribe the CPU badly (data loading,
    # feature extraction and CPU training all use intra-op threads); split the cores unless the
    # user chose a thread count
    if parallel > 1 and "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // parallel))
    env.setdefault("PYTHONUNBUFFERED", "1")  # logs reach train.log as they happen
    # the folds must run this very ser_hf (a source checkout need not be installed, or another
    # version may be): put the folder that holds the package first on the child's path
    package_root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    return env


def run_fold(command: list[str], fold_dir: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run one fold's training command, its output going to ``fold_dir/train.log``.

    Returns ``{"fold_dir", "command", "returncode", "seconds"}`` (also written as ``cv_run.json``).
    """
    fold_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(fold_dir / "train.log", "w", encoding="utf-8") as log:
        log.write(f"$ {shlex.join(command)}\n")
        log.flush()
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            returncode = proc.wait()
        except BaseException:  # Ctrl-C or a crash of the runner: do not leave the trainer running
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
    record = {
        "fold_dir": str(fold_dir),
        "command": command,
        "returncode": returncode,
        "seconds": round(time.perf_counter() - start, 2),
    }
    if returncode == 0 and not _fold_done(fold_dir):
        record["returncode"] = -1
        record["error"] = f"training exited 0 but wrote no {METRICS_FILE}"
    (fold_dir / RUN_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
    return record


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ----------------------------------------------------------------------------------- aggregation
def _read_fold(fold_dir: Path) -> dict[str, Any]:
    path = fold_dir / METRICS_FILE
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise SERError(f"cannot read the fold's metrics ({err}); re-run the fold", source=str(path)) from err
    missing = [k for k in ("wa", "ua", "f1_macro", "confusion", "labels") if k not in metrics]
    if missing:
        raise SERError(f"not a compute_ser_metrics result (missing {missing})", source=str(path))
    return metrics


def _test_speakers(fold_dir: Path, metrics: dict[str, Any]) -> list[str] | None:
    """Test speakers of a fold: ``speakers`` in its metrics, else ``test_speakers`` of ``split.json``."""
    if isinstance(metrics.get("speakers"), list) and metrics["speakers"]:
        return [str(s) for s in metrics["speakers"]]
    try:
        split = json.loads((fold_dir / "split.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    speakers = split.get("test_speakers")  # ser_hf.splits.Split.to_json
    return [str(s) for s in speakers] if isinstance(speakers, list) and speakers else None


def _mean_std(values: list[float]) -> tuple[float, float]:
    # sample standard deviation (ddof=1) across folds, 0 for a single fold
    return float(statistics.fmean(values)), float(statistics.stdev(values)) if len(values) > 1 else 0.0


def aggregate(fold_dirs: Sequence[str | os.PathLike]) -> dict[str, Any]:
    """Mean +- std over folds and the summed confusion matrix.

    Args:
        fold_dirs: folders that each hold a ``test_metrics.json`` (all with the same labels).

    Returns:
        ``labels``, ``n_folds``, ``folds`` (per fold: ``fold``, ``dir``, ``n``, WA, UA, F1s,
        ``test_speakers`` when the fold's ``split.json`` names them, ``seconds`` when the runner
        timed it), ``mean`` and ``std`` (sample std, ddof=1) of ``wa``, ``ua``, ``f1_macro``,
        ``f1_weighted``, ``confusion`` (summed counts ``C x C``), ``confusion_normalized`` (row
        normalised), ``pooled`` (WA and UA of the summed confusion), ``n`` (all test clips).
    """
    dirs = [Path(d) for d in fold_dirs]
    if not dirs:
        raise SERError("no finished folds to aggregate", source="cv")
    folds, labels, confusion = [], None, None
    for d in dirs:
        metrics = _read_fold(d)
        if labels is None:
            labels = list(metrics["labels"])
            confusion = np.zeros((len(labels), len(labels)), dtype=np.int64)
        elif list(metrics["labels"]) != labels:
            raise SERError(
                f"labels {metrics['labels']} differ from the first fold's {labels}: the folds are from "
                "different runs; aggregate folds of one run only",
                source=str(d / METRICS_FILE),
            )
        confusion += np.asarray(metrics["confusion"], dtype=np.int64)
        row = {"fold": d.name, "dir": str(d), "n": int(metrics.get("n", np.sum(metrics["confusion"])))}
        row.update({k: float(metrics[k]) for k in HEADLINE if k in metrics})
        speakers = _test_speakers(d, metrics)
        if speakers:
            row["test_speakers"] = speakers
        run_file = d / RUN_FILE
        if run_file.is_file():
            row["seconds"] = json.loads(run_file.read_text(encoding="utf-8")).get("seconds")
        folds.append(row)

    assert labels is not None and confusion is not None
    mean, std = {}, {}
    for key in HEADLINE:
        values = [f[key] for f in folds if key in f]
        if len(values) == len(folds):
            mean[key], std[key] = _mean_std(values)
    totals = confusion.sum(axis=1, keepdims=True)
    normalized = np.divide(confusion, totals, out=np.zeros(confusion.shape), where=totals > 0)
    present = totals[:, 0] > 0
    return {
        "labels": labels,
        "n_folds": len(folds),
        "n": int(confusion.sum()),
        "folds": folds,
        "mean": mean,
        "std": std,
        "pooled": {
            "wa": float(np.trace(confusion) / confusion.sum()),
            "ua": float(np.mean(np.diag(normalized)[present])),
        },
        "confusion": confusion.tolist(),
        "confusion_normalized": normalized.tolist(),
    }


def _pm(result: dict[str, Any], key: str) -> str:
    return f"{result['mean'][key]:.3f} ± {result['std'][key]:.3f}" if key in result["mean"] else "-"


def results_markdown(result: dict[str, Any], meta: dict[str, Any] | None = None) -> str:
    """The ``cv_results.md`` text: a header (protocol, preset, command), the per-fold table with
    mean ± std, and the summed confusion matrix."""
    meta = meta or {}
    lines = [f"# Cross-validation: {meta.get('preset', 'model')}", ""]
    for key, label in (("protocol", "Protocol"), ("preset", "Preset"), ("corpora", "Corpora")):
        if meta.get(key):
            value = ", ".join(meta[key]) if isinstance(meta[key], list) else meta[key]
            lines.append(f"- {label}: {value}")
    if meta.get("command"):
        lines.append(f"- Command: `{meta['command']}`")
    if meta.get("expected_folds"):
        lines.append(f"- Folds finished: {result['n_folds']} of {meta['expected_folds']}")
    if meta.get("date"):
        lines.append(f"- Date: {meta['date']}")
    seconds = [f["seconds"] for f in result["folds"] if f.get("seconds") is not None]
    if seconds:
        lines.append(f"- Fold wall time: {sum(seconds) / 60:.1f} min in total (sum over folds)")
    lines.append("- Mean ± sample standard deviation over folds; UA = unweighted average recall (headline).")
    lines += [
        "",
        "| fold | test speakers | n | WA | UA | F1 macro | F1 weighted |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for f in result["folds"]:
        speakers = ", ".join(f.get("test_speakers", [])) or "-"
        cells = " | ".join(f"{f[k]:.3f}" if k in f else "-" for k in HEADLINE)
        lines.append(f"| {f['fold']} | {speakers} | {f['n']} | {cells} |")
    cells = " | ".join(f"**{_pm(result, k)}**" if k == "ua" else _pm(result, k) for k in HEADLINE)
    lines.append(f"| mean ± std | | {result['n']} | {cells} |")
    lines += [
        "",
        f"Pooled over all test clips (summed confusion): WA {result['pooled']['wa']:.3f}, "
        f"UA {result['pooled']['ua']:.3f}.",
        "",
        "## Summed confusion matrix (rows: true class, columns: predicted)",
        "",
        "| true \\ predicted | " + " | ".join(result["labels"]) + " | recall |",
        "| --- | " + " | ".join("---:" for _ in result["labels"]) + " | ---: |",
    ]
    for name, row, norm in zip(result["labels"], result["confusion"], result["confusion_normalized"]):
        recall = norm[result["labels"].index(name)] if sum(row) else None
        lines.append(
            f"| {name} | "
            + " | ".join(str(v) for v in row)
            + f" | {'-' if recall is None else f'{recall:.3f}'} |"
        )
    lines += ["", "![normalised summed confusion matrix](confusion_cv.png)", ""]
    return "\n".join(lines)


def write_results(
    result: dict[str, Any], out_dir: str | os.PathLike, meta: dict[str, Any] | None = None
) -> Path:
    """Write ``cv_results.json``, ``cv_results.md`` and ``confusion_cv.png`` into ``out_dir``."""
    from .metrics import plot_confusion

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = {**({"meta": meta} if meta else {}), **result}
    (out / "cv_results.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    (out / "cv_results.md").write_text(results_markdown(result, meta), encoding="utf-8")
    title = f"{(meta or {}).get('preset', '')} {result['n_folds']}-fold CV, summed (n={result['n']})".strip()
    plot_confusion(result["confusion"], result["labels"], out / "confusion_cv.png", title=title)
    return out / "cv_results.json"


# ----------------------------------------------------------------------------------- CLI
def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ser-hf cv",
        description="Speaker-independent k-fold cross-validation: one training process per fold\n"
        "(python -m ser_hf.training), then mean ± std of WA, UA, macro F1 and the summed confusion.",
        epilog="Arguments after '--' go to every fold's training command unchanged, e.g.\n"
        "  ser-hf cv --corpus ravdess=data/ravdess --preset seed-logmel-bilstm --parallel 3 \\\n"
        "      -- --num_train_epochs 60 --learning_rate 1e-3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--corpus",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="corpus to train and test on (repeatable)",
    )
    p.add_argument("--preset", help="model preset (ser_hf.presets.PRESETS)")
    p.add_argument(
        "--label-scheme",
        dest="label_scheme",
        help="label scheme passed to training (default: the corpus's own)",
    )
    p.add_argument(
        "--folds",
        help="'ravdess' (the 6-fold protocol; default for RAVDESS alone) or a number N of speaker-independent folds (default 5 otherwise)",
    )
    p.add_argument(
        "--parallel", type=int, default=1, metavar="P", help="folds to run at the same time (default 1)"
    )
    p.add_argument(
        "--out", default="runs/cv", help="output folder; fold K trains into OUT/fold_K (default runs/cv)"
    )
    p.add_argument(
        "--only",
        type=int,
        nargs="+",
        metavar="K",
        help="run only these fold indices (the aggregate covers every finished fold)",
    )
    p.add_argument("--force", action="store_true", help="re-run folds that already finished")
    p.add_argument(
        "--aggregate-only",
        dest="aggregate_only",
        action="store_true",
        help="do not train; aggregate the finished folds in --out",
    )
    p.add_argument(
        "--python", default=sys.executable, help="interpreter for the fold processes (default: this one)"
    )
    return p


def _split_passthrough(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1 :]
    return argv, []


def _finished_fold_dirs(out: Path) -> list[Path]:
    dirs = [d for d in out.glob("fold_*") if d.is_dir() and _fold_done(d)]
    return sorted(
        dirs,
        key=lambda d: (
            int(d.name.split("_", 1)[1]) if d.name.split("_", 1)[1].isdigit() else 1 << 30,
            d.name,
        ),
    )


def cli(argv: list[str]) -> int:
    """``ser-hf cv``; returns 0 when every fold finished, 1 when some failed (the rest is aggregated)."""
    own, extra = _split_passthrough(list(argv))
    args = _build_parser().parse_args(own)
    out = Path(args.out)

    if args.aggregate_only:
        meta_path = out / CONFIG_FILE
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
        dirs = _finished_fold_dirs(out)
        if not dirs:
            raise SERError(
                f"no fold_K folder with {METRICS_FILE} found; run the folds first", source=str(out)
            )
        result = aggregate(dirs)
        write_results(result, out, meta)
        _print_summary(result, out)
        return 0

    if not args.corpus:
        raise SERError(
            "give at least one --corpus NAME=PATH (e.g. --corpus ravdess=data/ravdess)", source="ser-hf cv"
        )
    if not args.preset:
        raise SERError("give --preset NAME (see ser_hf.presets.PRESETS)", source="ser-hf cv")
    if args.parallel < 1:
        raise SERError("--parallel must be 1 or more", source=f"--parallel {args.parallel}")
    bad = [c for c in args.corpus if "=" not in c]
    if bad:
        raise SERError("write corpora as NAME=PATH, e.g. ravdess=data/ravdess", source=f"--corpus {bad[0]}")
    for option in ("--split", "--output_dir", "--output-dir"):
        if any(a == option or a.startswith(option + "=") for a in extra):
            raise SERError(f"{option} is set by ser-hf cv for each fold; remove it after '--'", source=option)
    folds = args.folds or (
        "ravdess" if [c.split("=")[0].lower() for c in args.corpus] == ["ravdess"] else "5"
    )
    splits, protocol = fold_splits(folds, args.corpus)
    indices = list(range(len(splits))) if args.only is None else args.only
    for k in indices:
        if not 0 <= k < len(splits):
            raise SERError(f"fold index out of range 0..{len(splits) - 1}", source=f"--only {k}")

    commands: dict[int, list[str]] = {}
    for k in indices:
        cmd = [args.python, "-m", "ser_hf.training"]
        for corpus in args.corpus:
            cmd += ["--corpus", corpus]
        if args.label_scheme:
            cmd += ["--label_scheme", args.label_scheme]
        cmd += ["--split", splits[k], "--preset", args.preset, "--output_dir", str(out / f"fold_{k}"), *extra]
        commands[k] = cmd

    meta = {
        "protocol": protocol,
        "preset": args.preset,
        "corpora": args.corpus,
        "command": shlex.join(["ser-hf", "cv", *argv]),
        "fold_command": shlex.join(commands[indices[0]]).replace(f"{splits[indices[0]]}", "<fold>")
        if indices
        else "",
        "expected_folds": len(splits),
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / CONFIG_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")

    todo = [k for k in indices if args.force or not _fold_done(out / f"fold_{k}")]
    for k in sorted(set(indices) - set(todo)):
        print(f"fold {k}: already finished ({out / f'fold_{k}' / METRICS_FILE}); --force re-runs it")
    env = _child_env(args.parallel)
    failed: list[int] = []
    if todo:
        print(
            f"{protocol}\nrunning {len(todo)} fold(s), {args.parallel} at a time; logs in {out}/fold_K/train.log"
        )
        with ThreadPoolExecutor(max_workers=args.parallel) as pool:
            futures = {k: pool.submit(run_fold, commands[k], out / f"fold_{k}", env) for k in todo}
            for k in todo:  # report in fold order; each line appears as soon as that fold is done
                record = futures[k].result()
                if record["returncode"] == 0:
                    metrics = _read_fold(out / f"fold_{k}")
                    print(
                        f"fold {k}: WA {metrics['wa']:.3f}  UA {metrics['ua']:.3f}  F1 macro {metrics['f1_macro']:.3f}"
                        f"  ({record['seconds'] / 60:.1f} min)"
                    )
                else:
                    failed.append(k)
                    log = out / f"fold_{k}" / "train.log"
                    print(
                        f"fold {k}: FAILED (exit {record['returncode']}{', ' + record['error'] if 'error' in record else ''});"
                        f" last lines of {log}:\n{_tail(log)}",
                        file=sys.stderr,
                    )

    dirs = _finished_fold_dirs(out)
    if not dirs:
        print("no fold finished: nothing to aggregate", file=sys.stderr)
        return 1
    result = aggregate(dirs)
    write_results(result, out, meta)
    _print_summary(result, out)
    if failed:
        print(
            f"{len(failed)} fold(s) failed: {failed}; fix the cause and re-run the same command (finished folds are skipped)",
            file=sys.stderr,
        )
        return 1
    return 0


def _print_summary(result: dict[str, Any], out: Path) -> None:
    print(
        f"\n{result['n_folds']} folds, {result['n']} test clips: "
        f"WA {_pm(result, 'wa')}  UA {_pm(result, 'ua')}  F1 macro {_pm(result, 'f1_macro')}"
    )
    print(f"wrote {out / 'cv_results.json'}, {out / 'cv_results.md'}, {out / 'confusion_cv.png'}")
