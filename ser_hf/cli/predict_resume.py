"""``ser-hf predict --resume``, and the --csv/--json FILE saved during the run.

A run over thousands of files wrote FILE once, at the end: one killed with SIGKILL (out of memory, a
lost machine) after hours left nothing, and a re-run started again from the first file. FILE is now
saved whole every minute or so (the temporary-file-then-replace of ``_write_file``: a save cut short
leaves the previous FILE), and ``--resume`` reads it back and classifies only the files it lacks.
The options that change the rows are recorded beside FILE (``predict_options``): ``--resume`` with
others is refused, not a FILE of two kinds of rows.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import re
import stat
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ..errors import SERError, from_spreadsheet_text
from .predict_options import (
    ours,
    read_record,
    record_path,
    record_text,
    refuse_other_options,
    run_options,
    same_options,
)
from .predict_output import CSV_FIELDS, OLD_CSV_FIELDS, _shown, _special_file, _write_csv, _write_file

logger = logging.getLogger(__name__)

# FILE is saved during the run at most this often, and no more often than SAVE_COST times the last
# save took (a FILE of 100,000 timeline rows on a slow disk: saving stays a twentieth of the run)
SAVE_EVERY_S = 60.0
SAVE_COST = 20
# the keys a row of --json may have (a file with others is not one that predict wrote)
JSON_KEYS = {
    "file", "duration", "label", "score", "top_k", "timeline", "timeline_png", "warning", "error", "adapted_on",
    "segments", "label_time", "segments_files", "snr_db",
}  # fmt: skip


def finished(row: dict[str, Any]) -> bool:
    """Whether ``row`` is a file's result (a label or an error), not a clip still waiting for its batch."""
    return "label" in row or "error" in row


class PredictFile:
    """The --csv/--json FILE of one run: the earlier rows ``--resume`` keeps, the saves during the
    run, and the rows written at its end.

    ``path`` is None when there is no FILE (only the table, or ``-``: stdout); saves during the run
    happen only when FILE is (or will be) a regular file, replaced whole each time. ``options``: the
    run's options that change the rows (``predict_options.run_options``), recorded beside such a FILE
    at its first save unless not ``checked`` (``--resume`` of earlier rows whose options are not known:
    a record would vouch for them); ``earlier_options``: with ``--resume``, the recorded options of the
    run that wrote the earlier rows."""

    def __init__(
        self,
        path: str | None,
        kind: str,
        earlier: list[dict[str, Any]],
        options: dict[str, Any] | None = None,
        earlier_options: dict[str, Any] | None = None,
        checked: bool = True,
    ):
        self.path, self.kind, self.earlier = path, kind, earlier
        self.options, self.earlier_options = options, earlier_options
        self.record_due = options is not None and checked  # written with FILE's first save
        self.saving = path is not None and _replaced_whole(path)
        self.files: Sequence[Path | str] = ()
        self.done: Counter[str] = Counter()  # a name -> how many of its places an earlier row fills
        self.kept = 0
        self.next_save = time.monotonic() + SAVE_EVERY_S
        self.saved = False  # whether a save during the run wrote FILE (its earlier content is gone)
        self.pngs: set[str] = set()  # the --timeline-png names the rows kept from the earlier run took
        self.skipped = 0  # the files skipped so far in this run: their rows come before the next

    def start(self, files: Sequence[Path | str], report: TextIO, again: Sequence[Path | str] = ()) -> None:
        """Match the earlier rows to ``files`` (the name as a row writes it, exactly): the files that
        have a row with a label are skipped; one with an error row, or none, is classified, and so is
        each of ``again`` (a pipe: what it gives now is not known to be what it gave then)."""
        self.files = files
        self.next_save = time.monotonic() + SAVE_EVERY_S  # a minute of classifying, not of loading models
        names = Counter(_shown(str(f)) for f in files)
        fresh = {_shown(str(f)) for f in again}
        done = Counter(r["file"] for r in self.earlier if "label" in r)
        if self.earlier and (piped := sorted(fresh & set(done))):
            print(f"--resume: {', '.join(piped)} is a pipe, classified again, not resumed", file=report)
        self.done = Counter({k: n for k, n in done.items() if k not in fresh}) & names
        self.kept = sum(self.done.values())
        self.pngs = {os.path.abspath(f) for r in self.earlier for f in _outputs(r)}
        if self.earlier and self.all_done:  # not an empty table and "0 of 0 file(s) classified"
            print(
                f"--resume: all {len(files)} file(s) were already classified in {self.path}; nothing left to do",
                file=report,
            )
        elif self.earlier:
            print(
                f"--resume: {self.kept} of {len(files)} file(s) already classified in {self.path}; "
                f"classifying the other {len(files) - self.kept}",
                file=report,
            )
        others = sum(r["file"] not in names for r in self.earlier)
        if others:
            logger.info("%d row(s) of %s name none of this run's files: kept, at its end", others, self.path)

    @property
    def all_done(self) -> bool:
        """Whether every file of the run has its earlier row (after :meth:`start`): nothing to classify."""
        return bool(self.files) and self.kept == len(self.files)

    def skip(self, path: Path | str) -> bool:
        """Whether ``path`` (at this place of the inputs) has its earlier row, so is not classified."""
        name = _shown(str(path))
        if self.done[name] <= 0:
            return False
        self.done[name] -= 1
        self.skipped += 1
        return True

    def timeline_png(
        self, folder: str, stem: str, results: list[dict[str, Any]], suffix: str = ".timeline.png"
    ) -> Path:
        """The --timeline-png file (or, with ``suffix``, --segments file) of the file named ``stem``:
        ``folder/stem.timeline.png``, or ``stem-N.timeline.png`` when a row of this run (the same name
        from another folder) or a row kept from the earlier run names it. A CSV does not name these
        files: resuming one, a file already in ``folder`` (an earlier row's) is never replaced. N starts
        at the row's place among the run's rows, the kept rows counted (a resumed run named the second
        ``long.wav`` ``long-0.timeline.png``, one run with both ``long-1.timeline.png``)."""
        path = Path(folder) / f"{stem}{suffix}"
        taken = {f for r in results for f in _outputs(r)}
        n = len(results) + self.skipped
        while (
            str(path) in taken
            or os.path.abspath(path) in self.pngs
            or (self.kind == "csv" and self.earlier and path.exists())
        ):
            path, n = path.with_name(f"{stem}-{n}{suffix}"), n + 1
        return path

    def check_window(self, window_s: float, hop_s: float) -> None:
        """Add the run's --window and --hop to its options (their defaults are the model's, known once
        it has loaded); with ``--resume``, refuse them when the earlier run's differ."""
        if self.options is None:
            return
        window = {"--window": window_s, "--hop": hop_s}
        if self.earlier_options is not None:
            refuse_other_options(
                self.earlier_options, window, str(self.path), f"--{self.kind} {self.path} --resume"
            )
        self.options |= window

    def stopped_note(self, results: list[dict[str, Any]]) -> str:
        """What the last line of a run stopped early (Ctrl-C, SIGTERM) says of FILE."""
        if results:
            return "the table and any --csv/--json above hold those"
        if self.saved:
            return f"{self.path} holds the rows saved during the run"
        return "no --csv/--json FILE written (an existing one is left as it was)"

    def progress(self, results: list[dict[str, Any]], first: int = 0, adapted_on: int | None = None) -> None:
        """Save FILE when a minute has passed since the last save: the earlier rows kept and the
        ``results`` finished so far (``results[first:]``, when adapted, get the ``adapted_on`` that
        the run adds to them at the end of their group). Not before a file of this run has finished
        (short clips wait for a batch): FILE would lose the rows of a complete earlier run, or gain
        nothing beyond those that ``--resume`` keeps."""
        if not self.saving or time.monotonic() < self.next_save:
            return
        rows = [
            dict(r, adapted_on=adapted_on)
            if adapted_on is not None and i >= first and "error" not in r and "adapted_on" not in r
            else r
            for i, r in enumerate(results)
            if finished(r)
        ]
        if not rows:
            return  # saved as soon as one is
        began = time.monotonic()
        try:
            self.write(self.merged(rows))
            self.saved = True
        except OSError as err:  # a full disk: the run goes on, the final write reports it (exit 74)
            logger.warning("could not save the results so far to %s (%s); trying again later", self.path, err)
        self.next_save = time.monotonic() + max(SAVE_EVERY_S, SAVE_COST * (time.monotonic() - began))

    def merged(self, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """FILE's rows: for each input, in input order, its row of this run, else its earlier row with
        a label, else its earlier error row (a retry not reached); then the earlier rows that name
        none of the inputs, in their order."""
        pools = [
            _by_name([r for r in results if finished(r)]),
            _by_name([r for r in self.earlier if "label" in r]),
            _by_name([r for r in self.earlier if "label" not in r]),
        ]
        rows = []
        for path in self.files:
            name = _shown(str(path))
            pool = next((p for p in pools if p.get(name)), None)
            if pool is not None:
                rows.append(pool[name].pop(0))
        names = {_shown(str(f)) for f in self.files}
        return rows + [r for r in self.earlier if r["file"] not in names]

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Write ``rows`` to FILE, replacing it whole (through a device or FIFO: as ``> FILE``); at the
        first save of a regular FILE, its record of the options too: an earlier run's record that
        differs is removed first, and this one written after FILE (a save cut short between them leaves
        FILE without a record, whose --resume warns, never one that vouches for rows it did not write)."""
        due = self.record_due and self.saving and self._record_outdated()
        if self.kind == "csv":
            _write_csv(rows, str(self.path))
        else:
            _write_file(str(self.path), lambda fh: fh.write(json.dumps(rows, indent=2, ensure_ascii=False)))
        if due:
            text = record_text(self.options or {})
            _write_file(record_path(str(self.path)), lambda fh: fh.write(text))
        self.record_due = self.record_due and not self.saving

    def _record_outdated(self) -> bool:
        """Whether FILE's record is to be written: there is none, or an earlier run's (removed here)
        records other options. Another file of that name is left as it is, and a record that cannot
        be (FILE's name of 250 bytes: the record's too long) is none; each a warning."""
        record = record_path(str(self.path))
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
            why = "" if ours(data) else "is not a record of ser-hf predict's options, so it is left as it is"
        except FileNotFoundError:
            return True
        except OSError as err:
            why = f"cannot be read or written ({err.strerror})"
        except ValueError:
            why = "is not a record of ser-hf predict's options, so it is left as it is"
        if why:
            logger.warning(
                "%s %s: %s has no record of its options, so a --resume of it cannot check them; move "
                "that file away, or name another FILE",
                record, why, self.path,
            )  # fmt: skip
            return False
        if same_options(data["options"], self.options or {}):
            return False
        record.unlink()
        return True


def open_predict_file(args: argparse.Namespace, parser: argparse.ArgumentParser) -> PredictFile:
    """The run's FILE, with the rows an earlier run left in it when ``--resume`` asks (a usage error
    without a FILE, with ``-``, or when FILE is not one ``ser-hf predict`` wrote)."""
    kind = "csv" if args.csv is not None else "json"
    path = getattr(args, kind)
    if args.resume and path in (None, "-"):
        parser.error(
            "--resume continues an earlier run's results file: name it, --csv FILE or --json FILE (not -)"
        )
    if path == "-":
        path = None
    earlier = _earlier_rows(path, kind) if args.resume and path else []
    if path and not args.resume and _replaced_whole(path) and os.path.isfile(path):
        _earlier_rows(path, kind, resume=False)  # a file predict did not write is refused, not replaced
    options = run_options(args) if path else None
    recorded: dict[str, Any] | None = None
    checked = True
    if earlier and options is not None:
        recorded, why = read_record(str(path))
        if recorded is None:
            checked = False
            logger.warning(
                "--resume: the options of the run that wrote %s could not be checked: %s. Resume with "
                "that run's --model and options, or FILE mixes two kinds of rows",
                path, why,
            )  # fmt: skip
        else:
            refuse_other_options(recorded, options, str(path), f"--{kind} {path} --resume")
    return PredictFile(path, kind, earlier, options, recorded, checked)


def _replaced_whole(path: str) -> bool:
    """Whether ``_write_file`` replaces ``path`` whole (a regular file, or none yet), so that saving it
    during the run is safe: never stdout, a device or a FIFO, whose reader would get FILE many times."""
    try:
        st: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError:
        return False
    return (st is None or stat.S_ISREG(st.st_mode)) and not _special_file(path)


def _earlier_rows(path: str, kind: str, resume: bool = True) -> list[dict[str, Any]]:
    """The rows of the FILE an earlier run wrote ([] when there is none yet, or it is empty); a FILE
    that is not a results file of ``ser-hf predict`` is an error (``resume``: the run continues it;
    else it would replace it)."""
    option = f"--{kind} {path}" + (" --resume" if resume else "")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return []  # nothing to continue: every file is classified
    except OSError as err:
        raise SERError(f"cannot read {path} ({err.strerror})", source=option) from err
    if not stat.S_ISREG(st.st_mode) or _special_file(path):
        raise SERError(
            f"{path} is not a regular file; --resume reads the earlier results from one", source=option
        )
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise SERError(f"cannot read {path} ({err.strerror})", source=option) from err
    except UnicodeDecodeError:
        raise SERError(_not_ours(path, "it is not UTF-8 text", resume), source=option) from None
    if not text.strip():
        return []
    try:
        return _csv_results(text) if kind == "csv" else _json_results(text)
    except (ValueError, KeyError, TypeError) as err:  # json.JSONDecodeError is a ValueError
        raise SERError(_not_ours(path, str(err), resume), source=option) from None


def _not_ours(path: str, why: str, resume: bool = True) -> str:
    if not resume:  # a typo'd --csv onto the user's own table once replaced it without a word
        return (
            f"{path} is not a results file of ser-hf predict ({why}), so it is left as it is, not "
            "replaced; give another FILE, or remove this one first"
        )
    return (
        f"{path} is not a results file of ser-hf predict ({why}), so --resume leaves it as it is; give the "
        "FILE an earlier run wrote, or another FILE"
    )


def _json_results(text: str) -> list[dict[str, Any]]:
    try:
        rows = json.loads(text)
    except ValueError as err:
        raise ValueError(f"not JSON: {err}") from None
    if not isinstance(rows, list):
        raise ValueError("not a JSON array")
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("file"), str):
            raise ValueError(f"item {i} is not a row with a 'file'")
        if extra := set(row) - JSON_KEYS:
            raise ValueError(f"row {i} has key(s) {', '.join(sorted(extra))}")
    return rows


def _csv_results(text: str) -> list[dict[str, Any]]:
    """The rows :func:`_write_csv` wrote, as predict holds them (a long file's window rows back in its
    ``timeline``, its ``label_time`` a dict again), so that writing them again gives the same lines. A
    file of a version before ``snr_db`` or ``label_time`` (its header one of ``OLD_CSV_FIELDS``) is read too:
    its rows have none, and are written again with that column empty."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames not in (CSV_FIELDS, *OLD_CSV_FIELDS):
        raise ValueError(f"its header is not {','.join(CSV_FIELDS)}")
    rows: list[dict[str, Any]] = []
    for cells in reader:
        if None in cells or None in cells.values():
            raise ValueError(f"line {reader.line_num} has {len(cells)} cells, not {len(reader.fieldnames)}")
        cell = {key: from_spreadsheet_text(value) for key, value in cells.items()}
        if cell["row"] == "window":
            if not rows or rows[-1]["file"] != cell["file"]:
                raise ValueError(f"line {reader.line_num}: a window row without its file row")
            window = {key: _number(cell[key]) for key in ("start", "end")}
            window |= {
                "label": cell["label"],
                "score": _number(cell["score"]),
                "scores": json.loads(cell["top_k"]),
            }
            if cell.get("snr_db", "") != "":
                window["snr_db"] = _number(cell["snr_db"])
            rows[-1].setdefault("timeline", []).append(window)
            continue
        if cell["row"] != "file":
            raise ValueError(f"line {reader.line_num}: row is {cell['row']!r}, not file or window")
        row: dict[str, Any] = {"file": cell["file"]}
        for key, read in _FILE_CELLS.items():
            if cell.get(key, "") != "":  # label_time, snr_db: none in an older file
                row[key] = read(cell[key])
        row |= {key: cell[key] for key in ("warning", "error") if cell[key]}
        rows.append(row)
    return rows


def _number(text: str) -> int | float:
    """A number cell as written (``10`` an int, ``1.5`` a float: written again, the same text)."""
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


# the cells of a file row read back as values, when not empty
_FILE_CELLS: dict[str, Any] = {
    "duration": _number, "label": str, "score": _number, "top_k": json.loads, "label_time": json.loads,
    "snr_db": _number,
}  # fmt: skip


def _by_name(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row["file"], []).append(row)
    return out


def _outputs(row: dict[str, Any]) -> list[str]:
    """The files a row names beside FILE: its timeline PNG and segments files."""
    return [*([row["timeline_png"]] if row.get("timeline_png") else []), *row.get("segments_files", [])]
