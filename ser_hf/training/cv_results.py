"""Aggregating the folds of ``ser-hf cv``: mean +- std over folds, the summed confusion, per-gender
and test-time-adapted scores (:func:`aggregate`), and the ``cv_results.json`` / ``cv_results.md`` /
``confusion_cv.png`` files (:func:`write_results`). Also used by the benchmark scripts that score
fold models of their own."""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SERError
from .saving import staged_file, write_json, write_whole

METRICS_FILE = "test_metrics.json"
RUN_FILE = "cv_run.json"  # written by the runner into each fold dir: command, return code, seconds
ADAPTED_DIR = "adapted"  # fold_K/adapted: ser-hf evaluate --adapt of the fold model on its test speakers
# ser-hf cv --adapt MODE -> the fold's folder of those scores (and the aggregate's key)
ADAPTED_DIRS = {"speaker": ADAPTED_DIR, "corpus": "adapted_corpus", "voices": "adapted_voices"}
# per mode: the reports' heading suffix, whose clips were adapted on, the evaluate option
ADAPTED_WAYS = {
    "speaker": ("", "every test speaker's", "--adapt"),
    "corpus": (", per corpus", "each test corpus's (all its speakers together)", "--adapt corpus"),
    "voices": (
        ", per voice group",
        "each voice group's (a test corpus's clips grouped by the voice encoder's embedding)",
        "--adapt voices",
    ),
}
HEADLINE = ("wa", "ua", "f1_macro", "f1_weighted")


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


def _split_record(fold_dir: Path) -> dict[str, Any]:
    """A fold's ``split.json`` (:meth:`ser_hf.data.splits.Split.to_json`), read once; {} when unreadable."""
    try:
        split = json.loads((fold_dir / "split.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return split if isinstance(split, dict) else {}


def _test_speakers(metrics: dict[str, Any], split: dict[str, Any]) -> list[str] | None:
    """Test speakers of a fold: ``speakers`` in its metrics, else ``test_speakers`` of its ``split.json``."""
    if isinstance(metrics.get("speakers"), list) and metrics["speakers"]:
        return [str(s) for s in metrics["speakers"]]
    speakers = split.get("test_speakers")
    return [str(s) for s in speakers] if isinstance(speakers, list) and speakers else None


def _fitted_on(split: dict[str, Any]) -> dict[str, int]:
    """How many speakers a fold trained and chose its model on (its ``split.json``), so a report says
    when a fold learnt from one speaker (a small corpus with many validation speakers asked for)."""
    out = {}
    for part in ("train", "validation"):
        if isinstance(split.get(f"{part}_speakers"), list):
            out[f"{part}_speakers_n"] = len(split[f"{part}_speakers"])
    return out if len(out) == 2 else {}


def _headline_means(folds: list[dict[str, Any]]) -> tuple[dict[str, float], dict[str, float]]:
    """Mean and sample std over folds of each headline metric every fold reports."""
    mean, std = {}, {}
    for key in HEADLINE:
        values = [f[key] for f in folds if key in f]
        if len(values) == len(folds):
            mean[key], std[key] = _mean_std(values)
    return mean, std


def _mean_std(values: list[float]) -> tuple[float, float]:
    # sample standard deviation (ddof=1) across folds, 0 for a single fold
    return float(statistics.fmean(values)), float(statistics.stdev(values)) if len(values) > 1 else 0.0


def aggregate(fold_dirs: Sequence[str | os.PathLike]) -> dict[str, Any]:
    """Mean +- std over folds and the summed confusion matrix.

    Args:
        fold_dirs: folders that each hold a ``test_metrics.json`` (all with the same labels).

    Returns:
        ``labels``, ``n_folds``, ``folds`` (per fold: ``fold``, ``dir``, ``n``, WA, UA, F1s,
        ``test_speakers`` (and ``train_speakers_n``, ``validation_speakers_n``) when the fold's
        ``split.json`` names them, ``seconds`` when the runner
        timed it), ``mean`` and ``std`` (sample std, ddof=1) of ``wa``, ``ua``, ``f1_macro``,
        ``f1_weighted``, ``confusion`` (summed counts ``C x C``), ``confusion_normalized`` (row
        normalised), ``pooled`` (WA and UA of the summed confusion), ``n`` (all test clips),
        ``per_gender`` (``{gender: {folds, n, wa, ua}}``: means over the folds that test that gender),
        and ``adapted`` when folds hold ``adapted/metrics.json`` (``ser-hf cv --adapt``): ``n_folds``,
        ``folds``, ``mean``, ``std`` and ``per_gender`` of the test-time-adapted scores.
    """
    dirs = [Path(d) for d in fold_dirs]
    if not dirs:
        raise SERError("no finished folds to aggregate", source="cv")
    folds, labels, confusion, rows = [], None, None, []
    calibration: dict[str, list[float]] = {}
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
        for key in ("ece", "nll", "brier"):
            if key in metrics:
                calibration.setdefault(key, []).append(float(metrics[key]))
                before = (metrics.get("calibration") or {}).get("uncalibrated", {}).get(key, metrics[key])
                calibration.setdefault(f"{key}_uncalibrated", []).append(float(before))
        rows.append(metrics)
        row = {"fold": d.name, "dir": str(d), "n": int(metrics.get("n", np.sum(metrics["confusion"])))}
        row.update({k: float(metrics[k]) for k in HEADLINE if k in metrics})
        split = _split_record(d)
        speakers = _test_speakers(metrics, split)
        if speakers:
            row["test_speakers"] = speakers
        if tests := _tested_corpus(d):
            row["tests"] = tests
        row.update(_fitted_on(split))
        row.update(_fold_data(metrics))
        run_file = d / RUN_FILE
        if run_file.is_file():
            row["seconds"] = json.loads(run_file.read_text(encoding="utf-8")).get("seconds")
        folds.append(row)
    names = _fold_names(folds)

    assert labels is not None and confusion is not None
    adapted = {key: got for key in ADAPTED_DIRS.values() if (got := _aggregate_adapted(dirs, key, names))}
    mean, std = _headline_means(folds)
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
        # mean over folds of the calibration metrics (with the temperature each fold fitted on its
        # validation speakers, and without it), when every fold reports them
        "calibration": {k: float(np.mean(v)) for k, v in calibration.items() if len(v) == len(folds)},
        # mean over the folds that have test clips of that gender (WA and UA within the gender)
        "per_gender": _gender_means(rows, names),
        **({"harmonised_from": merged} if (merged := _harmonised(rows)) else {}),
        **adapted,
    }


def _fold_data(metrics: dict[str, Any]) -> dict[str, Any]:
    """What a fold's test metrics say of its data and genders, for the per-fold lines: ``trains`` (its
    training corpora), ``test_corpora``, ``corpus_classes``, ``chance_ua`` (written since session 45)
    and ``per_gender`` (``{gender: {n, wa, ua}}``: a cross-corpus fold's genders are its test corpus's,
    not to be pooled with another direction's)."""
    row: dict[str, Any] = {}
    for key, name in (
        ("training_corpora", "trains"),
        ("test_corpora", "test_corpora"),
        ("corpus_classes", "corpus_classes"),
        ("chance_ua", "chance_ua"),
    ):
        if metrics.get(key) is not None:
            row[name] = metrics[key]
    genders = metrics.get("per_gender") or {}
    if genders:
        row["per_gender"] = {
            g: {"n": int(v["n"]), "wa": float(v["wa"]), "ua": float(v["ua"])}
            for g, v in sorted(genders.items())
        }
    return row


def _harmonised(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, int]]]:
    """The labels merged as the corpora were loaded (``harmonised_from`` of the folds' test metrics):
    every fold loads every corpus, so the folds agree; the largest count of each is kept."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for metrics in rows:
        for corpus, classes in (metrics.get("harmonised_from") or {}).items():
            for cls, raws in classes.items():
                into = out.setdefault(corpus, {}).setdefault(cls, {})
                for raw, n in raws.items():
                    into[raw] = max(into.get(raw, 0), int(n))
    return out


def cross_corpus_folds(result: dict[str, Any]) -> bool:
    """Whether the folds test different corpora (the directions of ``--folds corpus``): their genders
    are then reported per fold, a mean over them mixing one corpus's women with another's."""
    return any(f.get("tests") for f in result.get("folds") or ())


def direction_lines(result: dict[str, Any], meta: dict[str, Any] | None = None) -> list[str]:
    """One block per fold of a cross-corpus run (what it trained on, what it tested, the classes of each
    corpus and those they share, chance) and the labels merged as the corpora were loaded; plain text
    lines, the CLI prints them and :func:`results_markdown` writes them as a list."""
    lines: list[str] = []
    merged = result.get("harmonised_from") or {}
    scheme = (meta or {}).get("label_scheme")
    if merged:
        from ..data.labels import harmonisation_lines

        lines.append(
            "labels merged as the corpora were loaded"
            + (f" (label scheme {scheme})" if scheme and " " not in scheme else "")
            + ": "
            + "; ".join(harmonisation_lines(merged))
        )
    if not cross_corpus_folds(result):
        return lines
    for f in result["folds"]:
        name, tests = f["fold"], f.get("tests") or "?"
        trains = ", ".join(f.get("trains") or []) or "the other corpora"
        head = f"{name}: trains on {trains}, tests on {tests} ({f['n']} clips): UA {f['ua']:.3f}"
        if f.get("chance_ua") is not None:
            head += f" (chance {f['chance_ua']:.3f})"
        lines.append(head)
        classes = f.get("corpus_classes") or {}
        if classes:
            have = "; ".join(f"{c} {len(v)} ({', '.join(v)})" for c, v in classes.items())
            trained = set().union(*(set(classes.get(c, ())) for c in f.get("trains") or ()))
            shared = [x for x in classes.get(tests, ()) if x in trained]
            lines.append(f"  classes: {have}; shared {len(shared)}: {', '.join(shared) or 'none'}")
        if f.get("per_gender"):
            lines.append("  by gender (" + tests + "): " + _fold_genders(f["per_gender"]))
    return lines


def _fold_genders(genders: dict[str, dict[str, Any]]) -> str:
    return ", ".join(f"{g} UA {v['ua']:.3f} ({v['n']} clips)" for g, v in genders.items())


def _gender_means(rows: list[dict[str, Any]], names: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """``{gender: {folds, n, wa, ua, from_folds}}``: means over the folds that test that gender;
    ``from_folds`` names them (``names``: one per row), as a gender's figure may come from other folds
    (other directions of a cross-corpus run) than another gender's."""
    by_gender: dict[str, list[dict[str, Any]]] = {}
    from_folds: dict[str, list[str]] = {}
    for i, metrics in enumerate(rows):
        for gender, values in (metrics.get("per_gender") or {}).items():
            by_gender.setdefault(gender, []).append(values)
            if i < len(names):
                from_folds.setdefault(gender, []).append(names[i])
    return {
        g: {
            **({"from_folds": from_folds[g]} if g in from_folds else {}),
            "folds": len(v),
            "n": int(sum(x["n"] for x in v)),
            "wa": float(np.mean([x["wa"] for x in v])),
            "ua": float(np.mean([x["ua"] for x in v])),
        }
        for g, v in sorted(by_gender.items())
    }


def _fold_names(folds: list[dict[str, Any]]) -> list[str]:
    """Each fold's name, with the corpus it tests when the folds test different corpora (the
    directions of a cross-corpus run): ``fold_1 (tests tess)``."""
    tested = [f.get("tests") for f in folds]
    if len(set(tested)) < 2:
        return [f["fold"] for f in folds]
    return [f"{f['fold']} (tests {t or '?'})" for f, t in zip(folds, tested)]


def _tested_corpus(fold_dir: Path) -> str | None:
    """The corpus a leave-one-corpus-out fold tests, from its ``--split loco:NAME`` (``train_args.json``);
    None for other folds. (Speaker ids cannot tell: ``emodb_anna_b`` is a speaker of emodb.)"""
    try:
        split = json.loads((fold_dir / "train_args.json").read_text(encoding="utf-8"))["data"]["split"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    kind, _, name = str(split).partition(":")
    return name.strip() or None if kind.strip().lower() == "loco" else None


def _aggregate_adapted(
    dirs: Sequence[Path], folder: str = ADAPTED_DIR, names: Sequence[str] = ()
) -> dict[str, Any] | None:
    """Mean +- std (and per gender) of the folds' test-time-adapted scores, over the folds that
    have them (``fold_K/<folder>/metrics.json``); None when none has."""
    rows, folds, used = [], [], []
    named = dict(zip((d.name for d in dirs), names))
    for d in dirs:
        path = d / folder / "metrics.json"
        if not path.is_file():
            continue
        metrics = json.loads(path.read_text(encoding="utf-8"))
        rows.append(metrics)
        used.append(named.get(d.name, d.name))
        folds.append(
            {
                "fold": d.name,
                "name": named.get(d.name, d.name),  # with the corpus it tests, across corpora
                "n": int(metrics["n"]),
                **{k: float(metrics[k]) for k in HEADLINE if k in metrics},
                **{k: v for k, v in _fold_data(metrics).items() if k == "per_gender"},
            }
        )
    if not rows:
        return None
    mean, std = _headline_means(folds)
    return {
        "n_folds": len(folds),
        "folds": folds,
        "mean": mean,
        "std": std,
        "per_gender": _gender_means(rows, used),
    }


def _adapted_lines(result: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for mode, key in ADAPTED_DIRS.items():
        adapted = result.get(key)
        if not adapted:
            continue
        suffix, whose, how = ADAPTED_WAYS[mode]
        lines += [
            "",
            "## With test-time adaptation (reported separately)" + suffix,
            "",
            f"Each fold model re-estimated its normalisation statistics on {whose} UNLABELLED clips before "
            f"scoring them (`ser-hf evaluate {how}`; {adapted['n_folds']} of {result['n_folds']} folds).",
            "",
            "| fold | n | WA | UA | F1 macro | F1 weighted |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        lines += [f"| {f.get('name', f['fold'])} | {f['n']} | {_cells(f)} |" for f in adapted["folds"]]
        lines.append(f"| mean ± std | | {_mean_cells(adapted)} |")
        if cross_corpus_folds(result):
            lines += ["", *_fold_gender_table(adapted["folds"])]
        elif adapted["per_gender"]:
            lines += ["", *_gender_table(adapted["per_gender"])]
    return lines


def _cells(fold: dict[str, Any]) -> str:
    return " | ".join(f"{fold[k]:.3f}" if k in fold else "-" for k in HEADLINE)


def _mean_cells(result: dict[str, Any]) -> str:
    return " | ".join(f"**{_pm(result, k)}**" if k == "ua" else _pm(result, k) for k in HEADLINE)


def _gender_table(genders: dict[str, dict[str, Any]]) -> list[str]:
    return [
        "| gender | folds (the figure's mean is over these) | clips | WA | UA |",
        "| --- | --- | ---: | ---: | ---: |",
        *(
            f"| {g} | {v['folds']}{': ' + ', '.join(v['from_folds']) if v.get('from_folds') else ''} | {v['n']} "
            f"| {v['wa']:.3f} | {v['ua']:.3f} |"
            for g, v in genders.items()
        ),
    ]


def _fold_gender_table(folds: list[dict[str, Any]]) -> list[str]:
    """Each fold's genders (a cross-corpus fold's are its test corpus's: never pooled across folds)."""
    rows = [
        f"| {f.get('name', f['fold'])} | {g} | {v['n']} | {v['wa']:.3f} | {v['ua']:.3f} |"
        for f in folds
        for g, v in (f.get("per_gender") or {}).items()
    ]
    if not rows:
        return []
    return [
        "By gender, per fold (each fold tests another corpus: its women and men are that corpus's, so "
        "the folds' figures are not averaged):",
        "",
        "| fold | gender | clips | WA | UA |",
        "| --- | --- | ---: | ---: | ---: |",
        *rows,
    ]


def _calibration_line(result: dict[str, Any]) -> list[str]:
    cal = result.get("calibration") or {}
    if "ece" not in cal:
        return []
    return [
        "",
        f"Calibration (mean over folds; each fold's temperature fitted on its validation speakers): "
        f"ECE {cal['ece']:.3f} (uncalibrated {cal['ece_uncalibrated']:.3f}), NLL {cal['nll']:.3f} "
        f"({cal['nll_uncalibrated']:.3f}), Brier {cal['brier']:.3f} ({cal['brier_uncalibrated']:.3f}).",
    ]


def _pm(result: dict[str, Any], key: str) -> str:
    """``mean ± std`` over the folds (one fold has no spread to show: its figure alone)."""
    if key not in result["mean"]:
        return "-"
    if result.get("n_folds", 2) < 2:
        return f"{result['mean'][key]:.3f} (one fold)"
    return f"{result['mean'][key]:.3f} ± {result['std'][key]:.3f}"


def results_markdown(result: dict[str, Any], meta: dict[str, Any] | None = None) -> str:
    """The ``cv_results.md`` text: a header (protocol, preset, command), the per-fold table with
    mean ± std, and the summed confusion matrix."""
    meta = meta or {}
    lines = [f"# Cross-validation: {meta.get('preset', 'model')}", ""]
    for key, label in (("protocol", "Protocol"), ("preset", "Preset"), ("corpora", "Corpora")):
        if meta.get(key):
            value = ", ".join(meta[key]) if isinstance(meta[key], list) else meta[key]
            lines.append(f"- {label}: {value}")
    if meta.get("label_scheme"):
        lines.append(f"- Label scheme: {meta['label_scheme']}")
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
        "| fold | test speakers | speakers trained / validated on | n | WA | UA | F1 macro | F1 weighted |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for f, name in zip(result["folds"], _fold_names(result["folds"])):  # "fold_1 (tests tess)" across corpora
        speakers = ", ".join(f.get("test_speakers", [])) or "-"
        fitted = f"{f['train_speakers_n']} / {f['validation_speakers_n']}" if "train_speakers_n" in f else "-"
        lines.append(f"| {name} | {speakers} | {fitted} | {f['n']} | {_cells(f)} |")
    lines.append(f"| mean ± std | | | {result['n']} | {_mean_cells(result)} |")
    lines += [
        "",
        f"Pooled over all test clips (summed confusion): WA {result['pooled']['wa']:.3f}, "
        f"UA {result['pooled']['ua']:.3f}.",
        *_calibration_line(result),
    ]
    if directions := direction_lines(result, meta):  # the classes, merges and chance of each direction
        lines += ["", "## Corpora, classes and chance", ""]
        lines += [f"  - {x.strip()}" if x.startswith("  ") else f"- {x}" for x in directions]
    lines += [
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
    genders = result.get("per_gender") or {}
    if cross_corpus_folds(result):
        lines += [
            "",
            *_fold_gender_table(
                [{**f, "name": n} for f, n in zip(result["folds"], _fold_names(result["folds"]))]
            ),
        ]
    elif genders:
        lines += [
            "",
            "By gender (mean over the folds that test it, named in the table: the genders' figures may "
            "come from different folds):",
            "",
            *_gender_table(genders),
        ]
    lines += _adapted_lines(result)
    lines += ["", "![normalised summed confusion matrix](confusion_cv.png)", ""]
    return "\n".join(lines)


def write_results(
    result: dict[str, Any], out_dir: str | os.PathLike, meta: dict[str, Any] | None = None
) -> Path:
    """Write ``cv_results.json``, ``cv_results.md`` and ``confusion_cv.png`` into ``out_dir``, each
    through a temporary file that replaces the old one when complete (:func:`staged_file`), the JSON
    record last: a full disk or a kill leaves the previous complete files, never a truncated one."""
    from .metrics import plot_confusion

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = {**({"meta": meta} if meta else {}), **result}
    title = f"{(meta or {}).get('preset', '')} {result['n_folds']}-fold CV, summed (n={result['n']})".strip()
    with staged_file(out / "confusion_cv.png") as tmp:
        plot_confusion(
            result["confusion"], result["labels"], tmp, title=title, name=str(out / "confusion_cv.png")
        )
    write_whole(out / "cv_results.md", results_markdown(result, meta))
    write_json(out / "cv_results.json", payload)
    return out / "cv_results.json"
