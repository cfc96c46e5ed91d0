"""``ser-hf cv``: speaker-independent k-fold cross-validation, one training process per fold."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from ..errors import SERError, output_dir, require_extra
from ..training.cross_validation import METRICS_FILE, aggregate_finished, run_cross_validation
from ..training.cv_results import (
    ADAPTED_DIRS,
    ADAPTED_WAYS,
    _fold_genders,
    _pm,
    cross_corpus_folds,
    direction_lines,
)
from ..training.fold_processes import _tail
from .parser import ArgumentParser


def _build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="ser-hf cv",
        description="Speaker-independent k-fold cross-validation: one training process per fold\n"
        "(python -m ser_hf.training), then mean ± std of WA, UA, macro F1 and the summed confusion.",
        epilog="Arguments after '--' go to every fold's training command unchanged, e.g.\n"
        "  ser-hf cv --corpus ravdess=data/ravdess --preset seed-logmel-bilstm --parallel 3 \\\n"
        "      -- --num_train_epochs 60 --learning_rate 1e-3\n\n"
        "Seed: every fold trains with --seed 42 (ser-hf train's default); another goes after '--'\n"
        "(-- --seed 7); with --folds N the seed also deals the speakers into the folds.\n"
        "Validation: each fold chooses its model (early stopping and the checkpoint kept; a\n"
        "logistic-regression preset's C, then refitted on training + validation) on --num_val_speakers\n"
        "(default 4, after '--') speakers drawn, gender-balanced, from that fold's TRAINING speakers\n"
        "only (--folds corpus: from the training corpora); fewer when few are left, as one speaker\n"
        "of each training corpus always stays in training.\n"
        "Bit-exact reruns: set OMP_NUM_THREADS=1 (--parallel P gives each fold cores / P threads).\n"
        "--folds corpus prints, and writes to cv_results.md, each direction's training and test\n"
        "corpora, the classes each has and shares, chance UA, the labels merged as the corpora were\n"
        "loaded (ravdess: calm (192) -> neutral) and each direction's female / male UA.\n\n"
        "exit status:\n"
        "  0    every fold finished; cv_results.json, cv_results.md and confusion_cv.png written\n"
        "  1    one or more folds failed (their logs' last lines are printed; the finished folds are\n"
        "       aggregated) or none finished: re-run the same command, finished folds are skipped\n"
        "  2    a usage error (a bad option, corpus or preset, an --out that cannot be written)\n"
        "  74   a result could not be written (a full disk): one line names the file; each file is\n"
        "       replaced whole, cv_results.json last, so the previous results stay as they were\n"
        "  130  Ctrl-C, 143 SIGTERM: no further fold starts; a re-run goes on from the finished folds\n"
        "  141  the reader of stdout closed it early (| head)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--corpus",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="corpus to train and test on (repeatable)",
    )
    p.add_argument(
        "--hub-split",
        dest="hub_split",
        metavar="SPLIT",
        help="the split(s) to read of data with splits of their own (a save_to_disk DatasetDict, a Hub dataset, "
        "parquet files named train-*/validation-*/test-*, an audio folder of train/ validation/ test/ folders), "
        "which the folds are drawn from: train (default; the others left out, said), or several joined by '+' "
        "(train+validation+test: all of it)",
    )
    p.add_argument("--preset", help="model preset (ser_hf.training.presets.PRESETS)")
    p.add_argument(
        "--label-scheme",
        dest="label_scheme",
        help="label scheme passed to training (default: the corpus's own)",
    )
    p.add_argument(
        "--folds",
        help="'ravdess' (the 6-fold protocol; default for RAVDESS alone; any other corpora join every fold's "
        "training data), 'corpus' (cross-corpus: leave one corpus out) or a number N of speaker-independent folds "
        "(default 5 otherwise); with two or more corpora the labels are harmonised to harmonized7 unless "
        "--label-scheme, or, when all are corpora of your own, kept as they are (native: the union of their "
        "labels)",
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
        action="extend",
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
        "--teacher-preset",
        dest="teacher_preset",
        metavar="PRESET",
        help="distil inside every fold: train this preset on the fold's training speakers into "
        "OUT/fold_K/teacher, then the --preset student from its soft labels (ser-hf distill)",
    )
    p.add_argument(
        "--teacher-args",
        dest="teacher_args",
        default="",
        metavar="ARGS",
        help='training arguments of the teacher, one quoted string (e.g. "--num_train_epochs 30")',
    )
    p.add_argument(
        "--adapt",
        nargs="?",
        const="speaker",
        choices=tuple(ADAPTED_DIRS),
        help="also score every fold with test-time adaptation (statistics re-estimated on each test "
        "speaker's unlabelled clips, as ser-hf evaluate --adapt) into OUT/fold_K/adapted; reported beside "
        "the plain scores, never instead of them; --adapt corpus: on each test corpus's clips, all its "
        "speakers together, into OUT/fold_K/adapted_corpus; --adapt voices: each test corpus's clips grouped "
        "by voice first, each group on its own, into OUT/fold_K/adapted_voices",
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


def _genders(per_gender: dict[str, dict[str, Any]]) -> str:
    """Each gender's UA as the mean of the folds' (not pooled: a fold of one clip counts as much as
    the others), said so, with its folds and clips."""
    return "; ".join(
        f"{g} UA {v['ua']:.3f} (mean of {v['folds']} folds' UA, {v['n']} clips)"
        for g, v in per_gender.items()
    )


def _missing_classes(metrics: dict) -> str:
    """A fold whose test speakers hold some classes only: its UA is the mean recall of those (a fold of
    one class scored UA 1.000 into the cross-validation mean without a word)."""
    if metrics.get("masked_classes"):  # a held-out corpus scored on its own classes: said above
        return ""
    held = [c for c, row in (metrics.get("per_class") or {}).items() if row.get("support")]
    total = len(metrics.get("per_class") or {})
    return (
        f"; its test clips hold {len(held)} of the {total} classes ({', '.join(held)})"
        if held and len(held) < total
        else ""
    )


def _test_speakers(metrics: dict) -> str:
    """The fold's test speakers, named when few (a speaker k-fold of a user's corpus), else counted
    (a held-out corpus); the terminal said only the scores (cv_results.md and train.log named them)."""
    speakers = metrics.get("speakers") or []
    if not speakers:
        return ""
    return (
        f"; test speakers: {', '.join(speakers)}"
        if len(speakers) <= 6
        else f"; {len(speakers)} test speakers"
    )


def _print_summary(result: dict[str, Any], out: Path) -> None:
    print(
        f"\n{result['n_folds']} folds, {result['n']} test clips: "
        f"WA {_pm(result, 'wa')}  UA {_pm(result, 'ua')}  F1 macro {_pm(result, 'f1_macro')}"
    )
    meta_file = out / "cv_config.json"  # the label scheme the corpora were loaded with
    meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
    for line in direction_lines(result, meta):  # per direction: corpora, classes, chance, genders
        print(line)
    across = cross_corpus_folds(result)  # a mean over directions mixed one corpus's women with another's
    chances = [f["chance_ua"] for f in result["folds"] if f.get("chance_ua") is not None]
    if not across and chances and result.get("labels"):  # cross-corpus folds say theirs above
        labels = result["labels"]
        print(f"chance UA {sum(chances) / len(chances):.3f} ({len(labels)} classes: {', '.join(labels)})")
    if result.get("per_gender") and not across:
        print("by gender: " + _genders(result["per_gender"]))
    for mode, key in ADAPTED_DIRS.items():
        adapted = result.get(key)
        if adapted:
            how = ADAPTED_WAYS[mode][0]
            print(
                f"with test-time adaptation{how} ({adapted['n_folds']} folds): WA {_pm(adapted, 'wa')}  "
                f"UA {_pm(adapted, 'ua')}  F1 macro {_pm(adapted, 'f1_macro')}"
            )
            if across:
                for f in adapted["folds"]:
                    if f.get("per_gender"):
                        print(f"  {f.get('name', f['fold'])}: {_fold_genders(f['per_gender'])}")
            elif adapted["per_gender"]:
                print("  by gender: " + _genders(adapted["per_gender"]))
    print(f"wrote {out / 'cv_results.json'}, {out / 'cv_results.md'}, {out / 'confusion_cv.png'}")


# training options that ser-hf cv sets for every fold itself, and what to use instead
FOLD_OWNED = {
    "--split": "cv gives each fold its own test speakers; choose the folds with --folds",
    "--output_dir": "cv writes each fold into OUT/fold_K; choose OUT with --out",
    "--preset": "use cv's own --preset (--teacher-preset for the teacher)",
    "--corpus": "use cv's own --corpus, which the folds are drawn from",
    "--label_scheme": "use cv's own --label-scheme",
    "--teacher": "a teacher trained once may have heard every fold's test speakers; --teacher-preset "
    "trains one inside each fold",
}


def _check_fold_arguments(extra: list[str], where: str = "after --") -> None:
    """A mistyped training flag after ``--`` (or in ``--teacher-args``) fails here, not in N fold
    processes; so does one that cv sets per fold (``--split random`` there made every fold train and
    test on one split, ``--output_dir`` wrote every fold into one folder)."""
    from .train import help_flags, live_help, stored_help, unknown_flags

    help_text = stored_help() or live_help()
    unknown = unknown_flags(extra, help_text)
    if unknown:
        raise SERError(f"{unknown} are not options of ser-hf train (see ser-hf train --help)", source=where)

    def canonical(flag: str) -> str:
        return "--" + flag[2:].replace("-", "_")

    known = {canonical(k) for k in help_flags(help_text)}
    for flag in (canonical(a.split("=", 1)[0]) for a in extra if a.startswith("--")):
        names = {flag} if flag in known else {k for k in known if k.startswith(flag)}  # argparse prefixes
        owned = [k for k in names if k in FOLD_OWNED]
        if len(names) == 1 and owned:
            raise SERError(
                f"{owned[0]} is set by ser-hf cv for every fold: {FOLD_OWNED[owned[0]]}", source=where
            )


def cli(argv: list[str]) -> int:
    """``ser-hf cv``; returns 0 when every fold finished, 1 when some failed (the rest is aggregated)."""
    own, extra = _split_passthrough(list(argv))
    args = _build_parser().parse_args(own)
    require_extra("train", "ser-hf cv")
    out = output_dir(args.out, "--out")
    if args.aggregate_only:
        _print_summary(aggregate_finished(out), out)
        return 0

    def on_fold(k: int, record: dict | None, metrics: dict | None, skipped: bool) -> None:
        if skipped:
            print(f"fold {k}: already finished ({out / f'fold_{k}' / METRICS_FILE}); --force re-runs it")
        elif metrics is not None:
            print(
                f"fold {k}: WA {metrics['wa']:.3f}  UA {metrics['ua']:.3f}  F1 macro {metrics['f1_macro']:.3f}"
                f"  ({record['seconds'] / 60:.1f} min)"
                + "".join(  # a held-out corpus is scored on the classes it has, as evaluate scores it
                    f"; {corpus} scored without {', '.join(names)} (it has none)"
                    for corpus, names in (metrics.get("masked_classes") or {}).items()
                )
                + "".join(  # train.log alone said so: a class no training clip had scores recall 0
                    f"; {name} ({n} test clips): no training clip has it, recall 0 by construction"
                    for name, n in (metrics.get("untrained_classes") or {}).items()
                )
                + _missing_classes(metrics)
                + _test_speakers(metrics)
            )
            if record.get("adapt_returncode", 0) != 0:
                log = out / f"fold_{k}" / "adapt.log"
                print(
                    f"fold {k}: test-time adaptation FAILED; last lines of {log}:\n{_tail(log)}",
                    file=sys.stderr,
                )
        else:
            log = Path(record.get("log") or out / f"fold_{k}" / "train.log")  # the teacher's, when it failed
            error = f", {record['error']}" if "error" in record else ""
            print(
                f"fold {k}: FAILED (exit {record['returncode']}{error}); last lines of {log}:\n{_tail(log)}",
                file=sys.stderr,
            )

    _check_fold_arguments(extra)  # once, not in every fold's process
    _check_fold_arguments(shlex.split(args.teacher_args or ""), "--teacher-args")
    hub_split = (
        ["--hub_split", args.hub_split] if args.hub_split else []
    )  # the teacher's data are the student's
    result, failed = run_cross_validation(
        args.corpus,
        args.preset,
        out,
        folds=args.folds,
        label_scheme=args.label_scheme,
        parallel=args.parallel,
        only=args.only,
        force=args.force,
        python=args.python,
        extra=[*extra, *hub_split],
        command=shlex.join(["ser-hf", "cv", *argv]),
        on_fold=on_fold,
        teacher_preset=args.teacher_preset,
        teacher_extra=[*shlex.split(args.teacher_args), *hub_split],
        adapt=args.adapt,
    )
    if result is None:
        print("no fold finished: nothing to aggregate", file=sys.stderr)
        return 1
    _print_summary(result, out)
    if failed:
        print(
            f"{len(failed)} fold(s) failed: {failed}; fix the cause and re-run the same command (finished folds are skipped)",
            file=sys.stderr,
        )
        return 1
    return 0
