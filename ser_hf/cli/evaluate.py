"""``ser-hf evaluate``: score a saved model on a corpus split, in-domain or cross-corpus."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from ..data.labels import LABEL_MAP_HELP, parse_label_map
from ..errors import SERError, output_dir, require_extra
from ..inference.bundled import resolve_model_name
from ..training.cv_results import ADAPTED_DIRS
from .parser import ArgumentParser

WHOLE_SPLITS = ("all", "unseen")  # --split values that score every row they keep: no --subset to choose


def _build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="ser-hf evaluate",
        description="Evaluate a saved model on corpus rows: WA, UA, F1, per-class/speaker/gender scores, "
        "confusion matrix. Writes metrics.json, confusion.png, reliability.png, classification_report.txt, predictions.csv.",
        epilog="""exit status:
  0    scored; the table printed and the files written in --out
  2    a usage error (a bad option, no such model or corpus, an empty split, an --out that cannot be
       written: checked before the model loads)
  74   a file could not be written (a full disk): the table is printed first and one line names the
       file; each file is replaced whole, so the previous evaluation's files stay as they were
  130  Ctrl-C, 143 SIGTERM: the previous files in --out stay whole
  141  the reader of stdout closed it early (| head)""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--model",
        required=True,
        help="saved model folder (output_dir of ser-hf train), a Hub model id (owner/name) or a bundled model's "
        "name ('default', 'fusion', 'cnn', 'turn-encoder-2-voices', ...: ser-hf predict --help lists them all)",
    )
    p.add_argument(
        "--corpus",
        action="append",
        required=True,
        metavar="NAME=PATH",
        help="test corpus: NAME=FOLDER, or a Hub dataset's id alone (owner/name, as ser-hf push-dataset "
        "writes it) (repeatable)",
    )
    p.add_argument(
        "--label-scheme",
        dest="label_scheme",
        help="scheme to load the corpora with (default: the model's own when it was trained on these "
        "corpora, else the corpus's native one; classes are then matched by name)",
    )
    for what, guessed in (
        ("speaker", "speaker, speaker_id, actor, talker, ..."),
        ("label", "emotion, label, labels"),
        ("audio", "file_name, path, file, audio"),
        ("gender", "gender, sex"),
    ):
        p.add_argument(
            f"--{what}-column",
            dest=f"{what}_column",
            metavar="COLUMN",
            help=f"{what} column of a metadata.csv, Hub, disk or parquet corpus of your own (default: the "
            f"model's training column for a corpus of the name it trained on or its training data under another "
            f"name, else guessed: {guessed})",
        )
    p.add_argument("--label-map", dest="label_map", metavar="FROM=TO,...", help=LABEL_MAP_HELP)
    p.add_argument(
        "--split",
        default="all",
        help="all (default), model (the model folder's split.json), unseen (the speakers the model neither "
        "trained nor was chosen on, by the speaker ids of its split.json; its training data under another "
        "corpus name are recognised by their files or folder, and a warning says when ids cannot be told apart), manifest:PATH, ravdess-fold:K, kfold:K/N, loso:SPEAKER",
    )
    p.add_argument(
        "--subset",
        default=None,
        choices=("test", "validation", "train"),
        help="part of a speaker split (--split model, manifest:PATH, kfold:K/N, ...; default test); a dataset's "
        "own split is --hub-split",
    )
    p.add_argument(
        "--hub-split",
        dest="hub_split",
        metavar="SPLIT",
        help="the split(s) to read of data with splits of their own (a Hub dataset, a save_to_disk DatasetDict, "
        "parquet files named train-*/validation-*/test-*, an audio folder of train/ validation/ test/ "
        "folders): test, or several joined by '+'. Default: test (data with one split: that one); with "
        "--split model, those the model trained on (its split.json); with another speaker split, train",
    )
    p.add_argument(
        "--out",
        help="output folder (default eval/<model>-<corpora>-<split>-<subset>; under --split all or unseen, which "
        "score every row, eval/<model>-<corpora>-<split>)",
    )
    p.add_argument(
        "--batch-size",
        dest="batch_size",
        type=int,
        default=None,
        help="clips per forward pass (default: 1 for the CNN families on a CPU, where it is fastest, else 32)",
    )
    p.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when available")
    p.add_argument("--workers", type=int, default=4, help="audio decoding threads (default 4)")
    p.add_argument("--seed", type=int, default=42, help="seed of the training run (validation speakers)")
    p.add_argument(
        "--num-val-speakers",
        dest="num_val_speakers",
        type=int,
        help="of the training run (validation speakers; default as train's: 4, at most half the training speakers)",
    )
    p.add_argument(
        "--adapt",
        nargs="?",
        const="speaker",
        choices=tuple(ADAPTED_DIRS),
        help="test-time adaptation: re-estimate the model's normalisation statistics on each test "
        "speaker's unlabelled clips before scoring them (reported separately; labels are never used); "
        "--adapt corpus: on each corpus's clips, all its speakers together (one recording set-up); --adapt "
        "voices: each corpus's clips grouped by voice first (no speaker labels needed), each group on its own",
    )
    p.add_argument(
        "--channel",
        metavar="SPEC",
        help="pass every clip through a channel condition first, to see how the model holds up: "
        "noise:SNR, pink:SNR (-30 to 100 dB), band:LOW-HIGH (HIGH at least 300), telephone, mp3:KBPS (8-160), "
        "opus:KBPS (6-256), clip:FRACTION, gain:DB (-60 to 60), reverb:RT60 (up to 10 s), eq:DB (up to 60), pitch:SEMITONES (up to "
        "12), crop:SECONDS (at least 0.1), chained with '+' (e.g. telephone+noise:20); seeded, so results repeat",
    )
    return p


def _other_evaluation(out: Path, args: argparse.Namespace, split: str) -> str | None:
    """What ``out/metrics.json`` evaluated when it was another model, corpus, split or subset than
    this run's ("the evaluation of runs/m1 on tess=tess_sub (all, test)"), which this run then
    replaces (``train`` says so of a model folder, ``cv`` refuses); None for none or the same.
    ``split``: this run's as metrics.json records it (:func:`_split_shown`)."""
    import json

    try:
        earlier = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(earlier, dict) or "corpora" not in earlier:
        return None
    ours = [str(args.model), list(args.corpus), split, args.subset]
    theirs = [earlier.get("model"), earlier.get("corpora"), earlier.get("split"), earlier.get("subset")]
    if theirs == ours:
        return None
    corpora = ", ".join(map(str, earlier.get("corpora") or [])) or "?"
    return f"the evaluation of {theirs[0]} on {corpora} ({theirs[2]}, {theirs[3]})"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def cli(argv: list[str]) -> int:
    """``ser-hf evaluate``: print the table and write the result files."""
    args = _build_parser().parse_args(argv)
    require_extra("train", "ser-hf evaluate")
    # the library loads after the arguments parse: --help answers at once
    from ..training.evaluation import (
        corpus_classes,
        default_label_scheme,
        evaluate_model,
        load_eval_data,
        load_model,
        model_labels,
        recognised_message,
        recognised_training_data,
        seen_speakers,
        select_rows,
        speaker_id_mismatch,
        split_record,
        write_evaluation,
    )
    from ..training.metrics import format_table
    from ..training.scoring import dropped_hint, training_columns

    args.model = str(resolve_model_name(args.model))  # a bundled model's name ("default", "fusion", ...)
    from ..hub.fetch import fetch_model, is_repo_id

    hub_id = args.model if is_repo_id(args.model) else None
    if hub_id:  # a Hub model: its files, split.json included, as a local folder
        args.model = str(fetch_model(hub_id))
    if args.batch_size is not None and args.batch_size < 1:
        raise SERError("--batch-size must be 1 or more", source=f"--batch-size {args.batch_size}")
    if args.channel is not None:
        from ..data.channel import parse_channel

        parse_channel(args.channel)  # a typo fails before the model and the corpus load
    _check_split_options(args)
    corpus_names = [c.split("=", 1)[0].strip().lower() for c in args.corpus]
    out = output_dir(
        args.out
        or Path("eval")
        / _slug(
            f"{hub_id.replace('/', '--') if hub_id else Path(args.model).resolve().name}-{'+'.join(corpus_names)}"
            + (
                f"-{args.hub_split}" if args.hub_split else ""
            )  # the test split's files never over the train's
            + f"-{args.split.split('/')[-1]}"
            + ("" if args.split.strip() in WHOLE_SPLITS else f"-{args.subset}")  # all rows: no subset
            + (f"-{args.channel}" if args.channel else "")
            + (f"-adapted-per-{args.adapt}" if args.adapt else "")  # never over the plain run's files
        ),
        "--out",
    )  # checked before the work, so a bad path cannot cost a finished evaluation
    split_shown = _split_shown(args.split, args.model)  # read once: metrics.json records it too
    if replaced := _other_evaluation(out, args, split_shown):
        print(
            f"warning: {out} holds {replaced}; this run replaces its files (--out keeps both)",
            file=sys.stderr,
        )
    model, feature_extractor = load_model(args.model, args.device)
    # a cv fold's held-out corpus was loaded with its training corpora (train_args.json): its scheme
    scheme = args.label_scheme or default_label_scheme(
        corpus_names, model.config, training_columns(args.model)[1]
    )
    columns = {
        f"{what}_column": getattr(args, f"{what}_column") for what in ("speaker", "label", "audio", "gender")
    }
    columns["label_map"] = parse_label_map(args.label_map)  # passed to load_corpus with the columns
    # a --label-map onto the model's own classes (angry=怒り) renames the scheme's class to it
    ds, reports = load_eval_data(
        args.corpus,
        scheme,
        columns,
        model_dir=args.model,
        model_classes=model_labels(model.config),
        split=args.hub_split,
        default_split=_default_dataset_split(args.split, args.model),
        return_reports=True,
    )
    read = {r.corpus: r.splits_read for r in reports if r.dataset_splits}  # the data's own splits read
    # each corpus's classes among ALL its rows: the rows the split selects cannot change what is scored
    names = ds.features["emotion"].names
    inventory = (
        corpus_classes(ds["corpus"], [names[e] for e in ds["emotion"]])
        if "corpus" in ds.column_names
        else None
    )
    # the model's training data under another corpus name (--corpus other=DIR of its own folder)
    recognised = recognised_training_data(args.model, ds)
    given = {  # each corpus's folder as the user named it (reports come in the order of --corpus)
        r.corpus: spec.partition("=")[2].strip() for spec, r in zip(args.corpus, reports) if "=" in spec
    }
    for found in recognised:
        print(f"warning: {recognised_message(found, given)}", file=sys.stderr)
    rows = select_rows(
        ds,
        args.split,
        args.subset,
        seed=args.seed,
        num_val_speakers=args.num_val_speakers,
        model_dir=args.model,
        recognised=recognised,
    )
    if not rows and args.split == "unseen":
        raise SERError(
            "every speaker of this data took part in the model's training or validation (its split.json), "
            "so no clip is left; evaluate on other speakers or another corpus",
            source="--split unseen",
        )
    if not rows:
        from ..data.dataset_splits import canonical_split

        tests = [
            s
            for r in reports
            for s in r.dataset_splits
            if canonical_split(s) == "test" and s not in r.splits_read
        ]
        hint = (
            f"; the data's own {tests[0]!r} split is scored with --split unseen --hub-split {tests[0]}"
            if tests
            else ""
        )
        raise SERError(f"the {args.subset} part of this split is empty{hint}", source=f"--split {args.split}")
    part = ds.select(rows)
    evaluated = sorted(set(part["speaker"]))
    seen = seen_speakers(args.model, evaluated, recognised)
    if mismatch := speaker_id_mismatch(args.model, ds):  # ids re-saved (001 -> 1): all counted unseen
        print(f"warning: {mismatch}", file=sys.stderr)
    if args.split == "unseen" and all(s.endswith("_unknown") for s in evaluated):
        print(  # every clip one speaker '<corpus>_unknown': the model's own speakers counted as unseen
            f"warning: these data name no speakers (every clip is {', '.join(evaluated)}), so --split unseen "
            "cannot leave out the speakers the model saw: name the corpus's speaker column with --speaker-column",
            file=sys.stderr,
        )
    if seen:  # a user scoring the bundled default on its own training actors got UA 1.000, no word
        shown = ", ".join(seen[:6]) + (" ..." if len(seen) > 6 else "")
        print(
            f"warning: {len(seen)} of the {len(evaluated)} speakers evaluated took part in this "
            f"model's training or validation ({shown}): these figures are not speaker-independent; "
            "--split unseen leaves them out",
            file=sys.stderr,
        )
    try:
        unrecorded = (split_record(args.model) or {}).get("members_without_split")
    except SERError as err:  # --split all reads no split record before this
        unrecorded = None
        print(f"warning: {err}: the figures may include speakers the model trained on", file=sys.stderr)
    if unrecorded:
        print(
            f"warning: this fusion's members {unrecorded} record no split.json: the figures may include "
            "speakers they trained on",
            file=sys.stderr,
        )
    own = "; ".join(f"{c}: its {'+'.join(s)} split{'s' if len(s) > 1 else ''}" for c, s in read.items())
    print(
        f"model {hub_id or args.model} ({len(model_labels(model.config))} classes) on {', '.join(args.corpus)}"
        + (f" ({own})" if own else "")
        + f": split {args.split}, {args.subset if args.split not in ('all', 'unseen') else 'all rows'}: "
        f"{len(part)} clips" + (f", through the channel {args.channel}" if args.channel else "")
    )

    metrics, predictions = evaluate_model(
        model,
        part,
        feature_extractor=feature_extractor,
        batch_size=args.batch_size,
        num_workers=args.workers,
        return_predictions=True,
        adapt=args.adapt,
        channel=args.channel,
        class_inventory=inventory,
        row_names=_row_names(reports, len(ds), rows),
        recognised=recognised,
    )
    from ..data.rows import label_scheme_of  # the scheme the corpora were loaded with (TESS: harmonized7)

    metrics.update(
        corpora=list(args.corpus),
        label_scheme=label_scheme_of(ds) or scheme or "native",
        split=split_shown,
        subset=args.subset,
    )
    if read:
        metrics["dataset_splits"] = read
    if skipped := {f.path: f.reason for r in reports for f in r.skipped}:  # in no split: the load warned
        metrics["skipped_at_load"] = skipped
    if seen:
        metrics["seen_speakers"] = seen
    masked = metrics.get("masked_classes") or {}
    left_out = set().union(*masked.values()) if masked else set()
    _print_corpora(metrics)
    if metrics["label_sets_differ"]:
        print("the model's classes are not the data's: model classes -> test classes (others masked out):")
        for m in metrics["model_labels"]:
            target = metrics["label_mapping"].get(m)
            lacking = [c for c, names in masked.items() if target in names]
            note = f" (masked: {', '.join(lacking)} has no clips of it)" if lacking else ""
            print(f"  {m:>16} -> {target or '(no counterpart: masked)'}{note}")
        for test, into in metrics.get("merged_test_classes", {}).items():
            print(f"  test rows of {test} count as {into} (the harmonised classes merge them)")
        if metrics["dropped"]:
            print(f"  test rows left out (classes the model cannot predict): {metrics['dropped']}")
            if hint := dropped_hint(metrics["dropped"], metrics["label_mapping"]):
                print(f"    {hint}")
        if not left_out:
            print(f"  scored on the {len(metrics['labels'])} shared classes: {', '.join(metrics['labels'])}")
    for corpus, names_out in masked.items():  # a corpus the model never trained on, lacking classes
        scored = metrics["scored_classes"][corpus]  # evaluate_model records both together
        print(
            f"{corpus} scored on the {len(scored)} classes it has: {', '.join(scored)}; left out (no clips of "
            f"them in {corpus}, so the model may not answer them): {', '.join(names_out)}"
        )

    if metrics.get("unreadable"):
        bad = metrics["unreadable"]
        print(f"skipped {len(bad)} clip(s) whose audio could not be decoded (listed in metrics.json), e.g.:")
        for path in list(bad)[:5]:
            print(f"  {bad[path]}")
    if metrics.get("silent_left_out"):  # the header above counted them
        print(f"left out {metrics['silent_left_out']} silent clip(s) (peak below -80 dBFS), as training does")
    title = f"{hub_id or Path(args.model).name} on {'+'.join(corpus_names)} (n={metrics['n']})"
    if metrics.get("adapted"):  # the figures below are not the model's own: say so where they are read
        title += f", adapted {metrics['adapted'].split(',')[0]}"
        print(
            f"test-time adaptation {metrics['adapted']}: the figures below are ADAPTED (run without --adapt for the plain ones)"
        )
    try:  # the files first: a reader closing stdout (| head) must not cost them
        write_evaluation(metrics, predictions, out, title)
    finally:  # the figures even when the files could not be written (a full disk): the work is not lost
        print(format_table(metrics))
        if "ece" in metrics:
            print(
                f"calibration: ECE {metrics['ece']:.3f}  NLL {metrics['nll']:.3f}  Brier {metrics['brier']:.3f}"
            )
    print(
        f"wrote {out}/metrics.json, confusion.png, reliability.png, classification_report.txt, predictions.csv"
    )
    return 0


def _print_corpora(metrics: dict[str, Any]) -> None:
    """Which corpora were scored against those the model trained on, the labels the scheme merged as
    they were loaded (RAVDESS calm counted as neutral under harmonized7), and chance."""
    from ..data.labels import harmonisation_lines

    tested = ", ".join(metrics.get("test_corpora") or []) or "the data"
    trained = metrics.get("training_corpora")
    if metrics.get("cross_corpus") is None:
        print(f"tested on {tested}; the model records no training corpora")
    else:
        kind = "cross-corpus" if metrics["cross_corpus"] else "in-domain (corpora it trained on)"
        print(f"tested on {tested}; the model trained on {', '.join(trained or [])}: {kind}")
    merged = harmonisation_lines(metrics.get("harmonised_from") or {})
    if merged:
        print(f"labels merged as the data were loaded (label scheme {metrics.get('label_scheme')}):")
        for line in merged:
            print(f"  {line}")
    if metrics.get("chance_ua") is None:
        return
    if metrics.get("masked_classes"):  # a corpus scored on the classes it has: its line follows
        print(f"chance UA {metrics['chance_ua']:.3f} (each corpus scored on the classes it has, below)")
    else:
        from .train import chance_line

        print(chance_line(metrics))


def _check_split_options(args: argparse.Namespace) -> None:
    """``--split test`` (a dataset's split, given as the speaker split) and ``--subset`` with ``--split
    all`` (every row scored, the subset said nothing) are errors that say which option does it."""
    from ..data.dataset_splits import is_split_word

    spec = args.split.strip()
    if is_split_word(spec) or spec.lower() == "dataset":
        raise SERError(
            "--split chooses speakers (all, model, unseen, kfold:K/N, ...); the data's own "
            + (
                f"{spec!r} split is read with --hub-split {spec}"
                if spec.lower() != "dataset"
                else "splits with --hub-split"
            ),
            source=f"--split {spec}",
        )
    if args.subset is not None and spec in WHOLE_SPLITS:
        raise SERError(
            f"--split {spec} scores every row it keeps, so --subset has nothing to choose: it picks a part of a "
            "speaker split (--split model, kfold:K/N, ...); the data's own split is read with --hub-split "
            f"{args.subset}",
            source=f"--subset {args.subset}",
        )
    if args.subset is None:
        args.subset = "test"


def _row_names(reports: list[Any], total: int, rows: list[int]) -> list[str] | None:
    """The dataset row each of ``rows`` is (``parquet /data/mine[17] audio.wav``: its reports'
    ``row_sources``), for a clip that cannot be decoded whose path names no one row; None for files."""
    from ..data.rows import dataset_row_names

    names = dataset_row_names(reports, total)
    return [names[i] for i in rows] if names is not None else None


def _default_dataset_split(split: str, model: str) -> str:
    """The splits read of data with splits of their own when --hub-split is not given: those the model
    trained on (its split.json) for --split model, train for another speaker split (as training reads
    them), else test."""
    if split in WHOLE_SPLITS:
        return "test"
    if split == "model" or split.startswith("manifest:"):
        import json

        from ..training.evaluation import split_record

        try:
            if split == "model":
                record = split_record(model) or {}
            else:
                record = json.loads(
                    Path(split[len("manifest:") :].partition("@")[0]).read_text(encoding="utf-8")
                )
        except (SERError, OSError, ValueError):
            record = {}
        if isinstance(record, dict) and record.get("dataset_splits"):
            return "+".join(record["dataset_splits"])
    return "train"


def _split_shown(split: str, model: str) -> str:
    """``--split model`` as the split the model's split.json describes (``model: speaker k-fold 0 of 3
    (kfold:0/3, seed 42): ...``): metrics.json and the card said only "model", which no reader can follow."""
    if split != "model":
        return split
    from ..training.evaluation import split_record

    try:
        record = split_record(model) or {}
    except SERError:
        record = {}
    return f"model: {record['description']}" if record.get("description") else split
