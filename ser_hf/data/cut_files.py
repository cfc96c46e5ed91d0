"""Files cut short (an upload or copy interrupted, the first bytes of a file: ``head -c``) in the
formats whose header gives no length, and in MP4 / M4A.

An Ogg stream (Opus, Vorbis) is pages, each with its checksum: a page cut off is dropped by FFmpeg
and libsndfile without a word, so a cut Ogg Opus read as a whole shorter recording. An ADTS AAC
file (``.aac``) is frames, each with its length; FFmpeg's length of one is guessed from its size
and bitrate. Both are recognised here by their last bytes: the file ends inside a page or a frame,
or (Ogg) after a page that does not end its stream (:func:`ends_mid_frame`,
:func:`warn_cut_mid_frame`: the warning, and its ``cut_short`` record that ``ser-hf predict``'s row
reports); so is a WebM / Matroska file written without its sizes (to a pipe, by a browser), whose
last cluster or block runs past its end (:func:`~ser_hf.data.matroska.cut_inside`). An MP4 / M4A written in one pass puts its index (the ``moov``
box) after the audio, so one cut short holds no index and nothing of it decodes; FFmpeg said only
"moov atom not found" (:func:`unfinished_mp4_error`).
"""

from __future__ import annotations

import io
import logging
from typing import Any

from ..errors import AudioInputError
from .matroska import cut_inside

# the warnings keep the logger name of a damaged file's (the CLI prints it, predict's row reports it)
logger = logging.getLogger("ser_hf.data.audio")

_TAIL_BYTES = 1 << 17  # an Ogg page is at most 65,307 bytes, an ADTS frame 8,191
_MIN_ADTS_CHAIN = 3  # frames that follow one another to the file's end: ADTS, not a chance 0xFFF
_MAX_BOXES = 4096  # top-level MP4 boxes looked at


def _read(source: Any, at: int, size: int) -> bytes:
    """``size`` bytes at ``at`` (from the end when negative) of a path (``file:`` too), encoded bytes
    or a binary file object (left where it was); b"" where they cannot be read."""
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            view = memoryview(source)
            start = max(len(view) + at, 0) if at < 0 else at
            return bytes(view[start : start + size])
        if hasattr(source, "seek"):
            where = source.tell()
            try:
                return _read_open(source, at, size)
            finally:
                source.seek(where)
        with open(str(source).removeprefix("file:"), "rb") as f:
            return _read_open(f, at, size)
    except (OSError, ValueError, io.UnsupportedOperation):
        return b""


def _read_open(f: Any, at: int, size: int) -> bytes:
    if at < 0:
        end = f.seek(0, io.SEEK_END)
        at = max(end + at, 0)
    f.seek(at)
    return f.read(size) or b""


def _size(source: Any) -> int:
    """The size in bytes of ``source`` (as :func:`_read` takes it); -1 where it cannot be told."""
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            return len(memoryview(source))
        if hasattr(source, "seek"):
            where = source.tell()
            try:
                return source.seek(0, io.SEEK_END)
            finally:
                source.seek(where)
        with open(str(source).removeprefix("file:"), "rb") as f:
            return f.seek(0, io.SEEK_END)
    except (OSError, ValueError, io.UnsupportedOperation):
        return -1


def _after_id3(head: bytes) -> int:
    """Where the ID3v2 tags at the start of ``head`` end (an ADTS file may begin with them)."""
    end = 0
    while head[end : end + 3] == b"ID3" and len(head) >= end + 10:
        size = head[end + 6 : end + 10]
        if any(b & 0x80 for b in size):  # not a syncsafe size: not a tag
            break
        footer = 10 if head[end + 5] & 0x10 else 0
        end += 10 + footer + ((size[0] << 21) | (size[1] << 14) | (size[2] << 7) | size[3])
    return end


def _adts_length(data: bytes, at: int) -> int:
    """The length of the ADTS frame whose header starts at ``at`` in ``data``; 0 when none does."""
    h = data[at : at + 7]
    if len(h) < 7 or h[0] != 0xFF or h[1] & 0xF6 != 0xF0 or (h[2] >> 2) & 0x0F > 12:
        return 0
    length = ((h[3] & 0x03) << 11) | (h[4] << 3) | (h[5] >> 5)
    return length if length >= (7 if h[1] & 0x01 else 9) else 0


def _is_adts(head: bytes) -> bool:
    """Whether ``head`` (a file's first bytes) starts with ADTS frames: two, or one running past it."""
    start = _after_id3(head)
    first = _adts_length(head, start)
    return bool(first) and (start + first > len(head) or bool(_adts_length(head, start + first)))


def _adts_cut(tail: bytes, first: int | None = None) -> bool:
    """Whether the ADTS frames that run to the end of ``tail`` (the file's last bytes) end inside a
    frame: the first header from which frames follow one another to the end decides (a tag or other
    bytes after the last frame: not a cut); ``first``: where the first frame starts, when ``tail`` is
    the whole file."""
    start = first if first is not None else tail.find(b"\xff", max(len(tail) - 16384, 0))
    while 0 <= start < len(tail) - 7:
        at, frames = start, 0
        while length := _adts_length(tail, at):
            at, frames = at + length, frames + 1
            if at >= len(tail):
                break
        if frames < (1 if start == first else _MIN_ADTS_CHAIN):
            start = tail.find(b"\xff", start + 1)
            continue
        if at > len(tail):
            return True  # its last frame is cut
        rest = tail[at:]  # a header cut before its 7 bytes, or something else (an ID3v1 tag)
        return bool(rest) and rest[0] == 0xFF and (len(rest) == 1 or rest[1] & 0xF6 == 0xF0)
    return False


def _ogg_serials(head: bytes) -> set[bytes]:
    """The serial numbers of the streams of the Ogg file whose first bytes are ``head``."""
    serials, at = set(), 0
    while head[at : at + 4] == b"OggS" and len(head) >= at + 27 and head[at + 5] & 0x02:
        serials.add(head[at + 14 : at + 18])
        table = head[at + 27 : at + 27 + head[at + 26]]
        at += 27 + len(table) + sum(table)
    return serials


_OGG_CUT = "inside an Ogg page"
_OGG_NO_END = "on an Ogg page without the end-of-stream mark a whole stream ends with"


def _ogg_cut(tail: bytes, serials: set[bytes]) -> str | None:
    """Where the Ogg file whose last bytes are ``tail`` is cut, when it is: inside a page (its last
    page, of one of its streams ``serials``, runs past the end), or between pages (its last page,
    whole, lacks the end-of-stream flag every muxer sets on a stream's last page: a cut on a page
    boundary was read as a whole shorter recording). Other bytes after the last page: not told."""
    at = tail.rfind(b"OggS")
    while at >= 0:
        page = tail[at:]
        if len(page) < 27:  # its header cut
            return _OGG_CUT if len(page) < 5 or page[4] == 0 else None
        if page[4] == 0 and page[14:18] in serials:
            table = page[27 : 27 + page[26]]
            end = 27 + len(table) + sum(table)
            if len(table) < page[26] or end > len(page):
                return _OGG_CUT
            return _OGG_NO_END if end == len(page) and not page[5] & 0x04 else None
        at = tail.rfind(b"OggS", 0, at)  # those bytes were inside a page's data
    return None


def ends_mid_frame(source: Any) -> str | None:
    """Where ``source`` (a path, encoded bytes or a binary file object) ends when it is cut short:
    ``"inside an Ogg page"``, after an Ogg page without the end-of-stream mark, ``"inside an ADTS
    frame"``, or ``"inside a Matroska cluster"`` of a WebM / Matroska file written without its sizes
    (to a pipe, by a browser: :func:`~ser_hf.data.matroska.cut_inside`); None for a whole file or
    another format."""
    head = _read(source, 0, 1 << 16)
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return cut_inside(source)
    if head[:4] == b"OggS":
        serials = _ogg_serials(head)
        return _ogg_cut(_read(source, -_TAIL_BYTES, _TAIL_BYTES), serials) if serials else None
    if _is_adts(head):
        tail = _read(source, -_TAIL_BYTES, _TAIL_BYTES)
        whole = len(tail) == _size(source)  # a small file: its frames followed from the first
        if _adts_cut(tail, _after_id3(tail) if whole else None):
            return "inside an ADTS frame"
    return None


def length_is_a_guess(source: Any) -> bool:
    """Whether ``source``'s length is FFmpeg's guess, not its header's: an ADTS AAC stream has no
    length field, so FFmpeg estimates it from the file's size and its first frames' bitrate (a whole
    44.6-s file gave 48.0 s), no length to call it cut short by (:func:`ends_mid_frame` tells that)."""
    return _is_adts(_read(source, 0, 1 << 16))


def warn_cut_mid_frame(source: Any, name: str, held_s: float) -> bool:
    """Warn, and return True, when ``source`` is cut short (:func:`ends_mid_frame`): its audio read
    up to the cut (``held_s`` seconds). Its ``cut_short`` record is (None, ``held_s``):
    these formats' headers give no length to compare with."""
    inside = ends_mid_frame(source)
    if inside is None:
        return False
    logger.warning(
        "%s: the file is cut short (it ends %s: an upload or copy interrupted); the clip is read "
        "up to the cut, %.2f s",
        name,
        inside,
        held_s,
        extra={"cut_short": (None, held_s)},  # predict's row says so
    )
    return True


def cut_before_audio_error(source: Any, name: str) -> AudioInputError | None:
    """The error for an Ogg or ADTS file cut short before any of its audio decodes (FFmpeg: "Failed to
    open input buffer: End of file"); None when it is not cut (:func:`ends_mid_frame`)."""
    inside = ends_mid_frame(source)
    if inside is None:
        return None
    return AudioInputError(
        f"is cut short before any audio that decodes: it ends {inside}, {_size(source)} bytes in "
        "(an upload or copy interrupted); copy or upload the whole file again",
        source=name,
    )


def unfinished_mp4_error(source: Any, name: str) -> AudioInputError | None:
    """The error for an MP4 / M4A / MOV file FFmpeg cannot open because it holds no index (``moov``
    box): cut short (its last box runs past the end: the index was to come after the audio) or never
    finished (a recorder stopped); None for another file."""
    size = _size(source)
    if size < 16 or _read(source, 4, 4) != b"ftyp":
        return None
    at = 0
    for _ in range(_MAX_BOXES):
        if at + 8 > size:
            break
        head = _read(source, at, 16)
        box, kind = int.from_bytes(head[:4], "big"), head[4:8]
        if kind in (b"moov", b"moof"):  # indexed, or fragments: FFmpeg's own reason stands
            return None
        if box == 1 and len(head) == 16:
            box = int.from_bytes(head[8:16], "big")
        if box == 0:  # the last box runs to the end: its size was never written
            break
        if box < 8:
            return None  # damaged, not cut
        at += box
    cut = "cut short" if at > size else "unfinished"
    return AudioInputError(
        f"the MP4/M4A file is {cut} ({size} bytes: an upload or copy interrupted, or a recorder stopped "
        "before it finished): its index (the moov box, which FFmpeg needs to find the audio) was to come "
        "after the audio and is missing, so none of it can be decoded; copy or upload the whole file "
        "again (a file written with its index first, as `ffmpeg -movflags +faststart` writes it, is "
        "read up to its cut)",
        source=name,
    )
