"""What ``ser-hf predict`` writes: the table, the CSV and JSON files, and file names as text."""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import pad_text, spreadsheet_text, text_width
from ..inference.levels import ROW_WARNING
from ..training.saving import staged_file


def _fmt_top(scores: list[dict[str, Any]]) -> str:
    return ", ".join(f"{s['label']} {s['score']:.2f}" for s in scores)


def _print_table(results: list[dict[str, Any]], labels: Sequence[str], stream: Any = None) -> None:
    rows = [
        (
            r["file"],
            f"{r['duration']:.2f}" if "duration" in r else "-",
            r.get("label", "ERROR"),
            f"{r['score']:.3f}" if "score" in r else "-",
            (_fmt_top(r["top_k"]) if "top_k" in r else _cut(_unnamed(r.get("error", ""), r["file"]), 80))
            + (f"  [{r['warning']}]" if "warning" in r else ""),
        )
        for r in results
    ]
    head = ("file", "duration_s", "label", "score", "top-k")
    widths = [
        max([text_width(head[c]), *(text_width(row[c]) for row in rows)]) for c in range(4)
    ]  # rows may be none
    print("  ".join(pad_text(h, w) for h, w in zip(head, widths)) + "  " + head[4], file=stream)
    for row in rows:
        print("  ".join(pad_text(v, w) for v, w in zip(row, widths)) + "  " + row[4], file=stream)


def _cut(text: str, width: int) -> str:
    """``text`` whole when it fits in ``width`` characters, else cut at a word and ended ``...``: the
    table showed an error as "... FFmpeg finds no audio stream in " (the whole text is the ``error:`` line
    above the table, and the CSV's or JSON's ``error``)."""
    if len(text) <= width:
        return text
    head = text[: width - 3]
    return (head.rsplit(" ", 1)[0] if " " in head else head).rstrip(" ,;:") + "..."


def _unnamed(error: str, name: str) -> str:
    """An error row's message without the file's name it starts with (the table's first column has it:
    a long path left no room for the reason)."""
    return error[len(name) + 2 :] if error.startswith(f"{name}: ") else error


def _shown(text: str) -> str:
    """A file name or message as text that prints and saves anywhere: bytes of a name that are not
    UTF-8 (legal on Linux; Python holds them as surrogates) become ``\\xff`` escapes; everything else,
    a backslash too, is kept as given, so a name reads back as typed (JSON escapes it for itself)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


# the columns of --csv, in order (--resume reads back only a file with this header, or with one of
# OLD_CSV_FIELDS: written before snr_db, or before label_time too, was added, at the end so that no column moved)
CSV_FIELDS = [
    "file", "start", "end", "duration", "label", "score", "top_k", "error", "row", "warning", "label_time", "snr_db",
]  # fmt: skip
OLD_CSV_FIELDS = (CSV_FIELDS[:-1], CSV_FIELDS[:-2])


def _write_csv(results: list[dict[str, Any]], path: str) -> None:
    """One row per file (top-k as JSON text); long files add one row per window below their file row
    (``row``: ``file`` or ``window``), and their file row has ``label_time`` (seconds per label, as JSON
    text: ``{"neutral": 6.5, "sad": 2.0}``; empty on window rows and short files). ``snr_db``: the speech-to-noise
    estimate of the file (a long file's noisiest quarter of speech) or window; empty when it has none."""
    if path == "-":
        _csv_rows(results, csv.DictWriter(sys.stdout, fieldnames=CSV_FIELDS))
        return
    _write_file(path, lambda fh: _csv_rows(results, csv.DictWriter(fh, fieldnames=CSV_FIELDS)))


def _write_file(path: str | os.PathLike, write: Any, binary: bool = False) -> None:
    """Write a result file the user named, as a shell redirection (``> FILE``) would, but atomically
    where it can: ``write(fh)`` gets the open file (text, UTF-8; a name that is not UTF-8 keeps its odd
    bytes escaped ``\\xff``, which once ended the run with a UnicodeEncodeError after every file was
    classified; ``binary``: bytes).

    - A regular file, or a new one, is written to a temporary file in its folder that then replaces
      it: never half a file. The temporary name is short (``.ser-hf-...``, :func:`staged_file`: a name
      of 252 bytes, legal, failed when ``.{name}.tmp`` was tried) and the file keeps the mode of the file it
      replaces (a new one: 0666 minus the umask, as ``open`` gives).
    - A symbolic link keeps being one: the file it points to is replaced.
    - A device, FIFO, pipe or socket (``/dev/null``, ``mkfifo``, ``--csv >(gzip > x.gz)``, that is
      ``/dev/fd/63``), and anything under ``/dev`` or ``/proc`` (``/dev/stdout``), is written through:
      it was replaced by a plain file, a FIFO's reader never got the data.

    An OSError carries ``path`` as its file name (a full disk's ENOSPC names no file)."""
    try:
        _write_into(os.fspath(path), write, binary)
    except OSError as err:
        if err.errno is None or err.filename == os.fspath(path):
            raise
        raise OSError(err.errno, err.strerror, os.fspath(path)) from err


def _write_into(path: str, write: Any, binary: bool) -> None:
    text = {} if binary else {"newline": "", "encoding": "utf-8", "errors": "backslashreplace"}
    mode = "wb" if binary else "w"
    try:
        st: os.stat_result | None = os.stat(path)  # through links
    except FileNotFoundError:
        st = None
    if (st is not None and not stat.S_ISREG(st.st_mode)) or _special_file(path):
        with open(path, mode, **text) as fh:  # noqa: SIM115 (write through, as `> path`)
            write(fh)
        return
    target = Path(os.path.realpath(path))  # a link's file, not the link
    # replacing a file: its mode and, where allowed (root), its owner
    with staged_file(target, mode=None if st is None else stat.S_IMODE(st.st_mode)) as tmp:
        if st is not None:
            with contextlib.suppress(OSError):
                os.chown(tmp, st.st_uid, st.st_gid)
        with open(tmp, mode, **text) as fh:
            write(fh)


def _special_file(path: str) -> bool:
    """Whether ``path`` is under /dev or /proc, or a link chain into them (``/dev/stdout`` is a link
    to ``/proc/self/fd/1``, whose target may be a regular file the shell opened: never replaced)."""
    current = os.path.abspath(path)
    for _ in range(40):  # the kernel's limit of links in a chain
        if current.startswith(("/dev/", "/proc/")):
            return True
        if not os.path.islink(current):
            return False
        current = os.path.abspath(os.path.join(os.path.dirname(current), os.readlink(current)))
    return False


def _csv_rows(results: list[dict[str, Any]], writer: Any) -> None:
    """Text cells pass :func:`spreadsheet_text`: a file name or label starting with ``=`` stays a name."""
    writer.writeheader()
    for row in _csv_dicts(results):
        writer.writerow({key: spreadsheet_text(value) for key, value in row.items()})


def _csv_dicts(results: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for r in results:
        yield {
            "file": r["file"],
            "start": 0.0 if "duration" in r else "",
            "end": r.get("duration", ""),
            "duration": r.get("duration", ""),
            "label": r.get("label", ""),
            "score": r.get("score", ""),
            "top_k": json.dumps(r["top_k"], ensure_ascii=False) if "top_k" in r else "",
            "error": r.get("error", ""),
            "row": "file",
            "warning": r.get("warning", ""),
            "label_time": json.dumps(r["label_time"], ensure_ascii=False) if "label_time" in r else "",
            "snr_db": _cell(r.get("snr_db")),
        }
        for w in r.get("timeline", []):
            yield {
                "file": r["file"],
                "start": w["start"],
                "end": w["end"],
                "duration": round(w["end"] - w["start"], 3),
                "label": w["label"],
                "score": w["score"],
                "top_k": json.dumps(w["scores"], ensure_ascii=False),
                "error": "",
                "row": "window",
                "warning": "",
                "label_time": "",
                "snr_db": _cell(w.get("snr_db")),
            }


def _cell(value: Any) -> Any:
    """A cell that may hold None (a row or window without an estimate): empty."""
    return "" if value is None else value


class _CutShort(logging.Handler):
    """Catches the decoder's "cut short" warnings (``record.cut_short``: a WAV whose header announces
    more audio than the file holds, a long MP3 that ends early, an Ogg or ADTS file that ends inside
    a page or frame), its "damaged" one (``record.damaged``: an Ogg file read past pages of a wrong
    checksum), its word on a file of several
    audio tracks (``record.audio_tracks``: an OBS or Zoom export read on one) and the noise warnings' few words
    (``record.row_warning``, :data:`~ser_hf.inference.levels.ROW_WARNING`: noisy speech, a steady tone as loud
    as the speech, a tone alone) so that the file's row says so."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.found: tuple[float | None, float] | None = None
        self.damaged: tuple[float | None, float | None, float] | None = None  # (at s, s lost, s held)
        self.tracks: tuple[int, int] | None = None  # (audio tracks, the one read)
        self.notes: list[str] = []  # the noise warnings' words, in the order logged

    def emit(self, record: logging.LogRecord) -> None:
        self.found = getattr(record, "cut_short", None) or self.found
        self.damaged = getattr(record, "damaged", None) or self.damaged
        self.tracks = getattr(record, "audio_tracks", None) or self.tracks
        if (note := getattr(record, ROW_WARNING, None)) and note not in self.notes:
            self.notes.append(note)

    def forget(self) -> None:
        """Forget what was caught (before the next file)."""
        self.found = self.damaged = self.tracks = None
        self.notes = []

    def take_notes(self) -> str | None:
        """The noise warnings' words caught since the last call (then forgets them), joined as a row's
        warnings are; None when none."""
        notes, self.notes = self.notes, []
        return "; ".join(notes) or None

    def warning(self, header_s: float, held_s: float) -> str | None:
        """The row's ``warning`` for the file just decoded (then forgets it): the decoder's word, else
        its header's duration against the audio decoded (a cut MP3 decodes to what is there, with
        only FFmpeg's or mpg123's unattributed noise on stderr), the audio tracks of a file with
        several, and a timeline's noise warnings; None for a whole file of one track and nothing said."""
        found, damaged, tracks, notes = self.found, self.damaged, self.tracks, self.notes
        self.forget()
        # an MP3's encoder delay; a damaged file's shortfall is said by its own words
        if found is None and damaged is None and header_s - held_s > max(0.25, 0.05 * header_s):
            found = (header_s, held_s)
        said = (
            [f"truncated: header says {found[0]:.2f} s, holds {found[1]:.2f} s"]
            if found and found[0] is not None
            else ([f"truncated: the file is cut short, holds {found[1]:.2f} s"] if found else [])
        )  # (None, s): an Ogg or ADTS file that ends inside a page or frame, its header giving no length
        if damaged is not None:
            at, lost = (f" at {damaged[0]:.1f} s" if damaged[0] is not None else ""), damaged[1]
            said.append(
                f"damaged{at}: read past it{f' ({lost:.2f} s lost)' if lost else ''}, holds {damaged[2]:.2f} s"
            )
        if tracks is not None:
            said.append(f"{tracks[0]} audio tracks, track {tracks[1]} read: --track N picks another")
        return "; ".join(said + notes) or None


def add_warning(row: dict[str, Any], text: str | None) -> None:
    """``text`` added to ``row``'s ``warning`` (``; `` between warnings), when there is one."""
    if text:
        row["warning"] = f"{row['warning']}; {text}" if row.get("warning") else text
