"""What ``ser-hf predict`` writes: the table, the CSV and JSON files, and file names as text."""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import spreadsheet_text


def _fmt_top(scores: list[dict[str, Any]]) -> str:
    return ", ".join(f"{s['label']} {s['score']:.2f}" for s in scores)


def _print_table(results: list[dict[str, Any]], labels: Sequence[str], stream: Any = None) -> None:
    rows = [
        (
            r["file"],
            f"{r['duration']:.2f}" if "duration" in r else "-",
            r.get("label", "ERROR"),
            f"{r['score']:.3f}" if "score" in r else "-",
            (_fmt_top(r["top_k"]) if "top_k" in r else r.get("error", "")[:80])
            + (f"  [{r['warning']}]" if "warning" in r else ""),
        )
        for r in results
    ]
    head = ("file", "duration_s", "label", "score", "top-k")
    widths = [max([len(head[c]), *(len(row[c]) for row in rows)]) for c in range(4)]  # rows may be none
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)) + "  " + head[4], file=stream)
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)) + "  " + row[4], file=stream)


def _shown(text: str) -> str:
    """A file name or message as text that prints and saves anywhere: bytes of a name that are not
    UTF-8 (legal on Linux; Python holds them as surrogates) become ``\\xff`` escapes; everything else,
    a backslash too, is kept as given, so a name reads back as typed (JSON escapes it for itself)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _write_csv(results: list[dict[str, Any]], path: str) -> None:
    """One row per file (top-k as JSON text); long files add one row per window below their file row
    (``row``: ``file`` or ``window``)."""
    fields = ["file", "start", "end", "duration", "label", "score", "top_k", "error", "row", "warning"]
    if path == "-":
        _csv_rows(results, csv.DictWriter(sys.stdout, fieldnames=fields))
        return
    _write_file(path, lambda fh: _csv_rows(results, csv.DictWriter(fh, fieldnames=fields)))


def _write_file(path: str, write: Any) -> None:
    """Write through a temporary file that replaces ``path`` when complete. A file name that is not
    valid UTF-8 (legal on Linux) is written with its odd bytes escaped (``\\xff``): it once ended
    the run with a UnicodeEncodeError after every file was classified, leaving an empty file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8", errors="backslashreplace") as fh:
            write(fh)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


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
            }


class _CutShort(logging.Handler):
    """Catches the decoder's "cut short" warnings (``record.cut_short``: a WAV whose header announces
    more audio than the file holds, a long MP3 that ends early) so that the file's row says so."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.found: tuple[float, float] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.found = getattr(record, "cut_short", None) or self.found

    def warning(self, header_s: float, held_s: float) -> str | None:
        """The row's ``warning`` for the file just decoded (then forgets it): the decoder's word, else
        its header's duration against the audio decoded (a cut MP3 decodes to what is there, with
        only FFmpeg's or mpg123's unattributed noise on stderr); None for a whole file."""
        found, self.found = self.found, None
        if found is None:
            if header_s - held_s <= max(0.25, 0.05 * header_s):  # an MP3's encoder delay, rounding
                return None
            found = (header_s, held_s)
        return f"truncated: header says {found[0]:.2f} s, holds {found[1]:.2f} s"
