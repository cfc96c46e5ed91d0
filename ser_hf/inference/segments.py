"""A timeline's segments (:meth:`~.timeline.Timeline.segments`) as text for other tools: WebVTT and SRT
subtitles (a video player, ELAN), an Audacity label track, or CSV.

No numpy or torch here: ``ser-hf predict --help`` lists the formats without loading the models.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from ..errors import SERError, spreadsheet_text

# format -> the end of the file name written beside the timeline PNG's (``talk.segments.vtt``)
SEGMENT_FORMATS = {
    "vtt": ".segments.vtt",
    "srt": ".segments.srt",
    "audacity": ".labels.txt",
    "csv": ".segments.csv",
}


def cue_time(seconds: float, separator: str = ".") -> str:
    """``HH:MM:SS.mmm`` (WebVTT; SRT's ``HH:MM:SS,mmm`` with ``separator=","``), to the millisecond."""
    ms = max(0, int(round(seconds * 1000)))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{separator}{ms:03d}"


def segments_text(segments: Sequence[dict[str, Any]], fmt: str) -> str:
    """``segments`` (``{"start", "end", "label", "score"}``, seconds) as the text of a file of ``fmt``:

    - ``vtt``: ``WEBVTT``, then one cue per segment (``00:01:02.500 --> 00:01:04.000``, the label);
    - ``srt``: numbered cues, ``00:01:02,500 --> 00:01:04,000``;
    - ``audacity``: ``start<TAB>end<TAB>label`` in seconds, a line each (File > Import > Labels);
    - ``csv``: the header ``start,end,label,score``, then a row each.
    """
    if fmt == "vtt":
        cues = [
            f"{cue_time(s['start'])} --> {cue_time(s['end'])}\n{_vtt_text(s['label'])}\n" for s in segments
        ]
        return "\n".join(["WEBVTT\n", *cues])
    if fmt == "srt":
        return "\n".join(
            f"{i}\n{cue_time(s['start'], ',')} --> {cue_time(s['end'], ',')}\n{_one_line(s['label'])}\n"
            for i, s in enumerate(segments, 1)
        )
    if fmt == "audacity":
        return "".join(f"{s['start']:.3f}\t{s['end']:.3f}\t{_one_line(s['label'])}\n" for s in segments)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["start", "end", "label", "score"])
        for s in segments:
            writer.writerow([s["start"], s["end"], spreadsheet_text(s["label"]), s["score"]])
        return out.getvalue()
    raise SERError(f"no segment format {fmt!r}; give one of {', '.join(SEGMENT_FORMATS)}", source="segments")


def _vtt_text(label: str) -> str:
    """A label as WebVTT cue text: ``&`` and ``<`` are its markup, and ``-->`` would end the cue."""
    return _one_line(label).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _one_line(label: str) -> str:
    """A label on one line, tabs as spaces (a cue or label ends at a line break, a field at a tab)."""
    return " ".join(str(label).split()) or "?"
