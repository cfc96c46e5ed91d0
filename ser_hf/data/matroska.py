"""The length of one audio track of a Matroska or WebM file, from its ``DURATION`` tag; and where a
Matroska file written without its sizes is cut short (:func:`cut_inside`).

FFmpeg gives every stream of a Matroska file the file's duration: a 4-s speech track beside a
75-minute second track "lasted" 75 minutes, so ``classify(path, track=0)`` refused it as over an
hour and ``ser-hf predict --track 0`` warned it was cut short. The muxers (FFmpeg, mkvmerge) write
each track's own length as a ``DURATION`` tag targeting its ``TrackUID`` (ffprobe shows
``TAG:DURATION=00:00:04.000000000``), which torchcodec does not expose; it is read here from the
file's EBML elements: the Segment's SeekHead, Tracks and Tags (a few kilobytes, read wherever they
lie, the file left where it was). None when the file is not Matroska or does not say.
"""

from __future__ import annotations

import re
from typing import Any

_EBML, _SEGMENT, _CLUSTER = 0x1A45DFA3, 0x18538067, 0x1F43B675
_INFO, _CUES, _CHAPTERS, _ATTACHMENTS, _VOID, _CRC = (
    0x1549A966,
    0x1C53BB6B,
    0x1043A770,
    0x1941A469,
    0xEC,
    0xBF,
)
_SEEK_HEAD, _SEEK, _SEEK_ID, _SEEK_POSITION = 0x114D9B74, 0x4DBB, 0x53AB, 0x53AC
_TRACKS, _TRACK_ENTRY, _TRACK_TYPE, _TRACK_UID = 0x1654AE6B, 0xAE, 0x83, 0x73C5
_TAGS, _TAG, _TARGETS, _TAG_TRACK_UID = 0x1254C367, 0x7373, 0x63C0, 0x63C5
_SIMPLE_TAG, _TAG_NAME, _TAG_STRING = 0x67C8, 0x45A3, 0x4487
_AUDIO = 2  # TrackType of an audio track
_MAX_ELEMENT = 1 << 22  # a Tracks or Tags element larger than this (4 MB) is not read
_MAX_TOP = 256  # the Segment's elements looked at before its first Cluster
# what a Cluster holds: Timestamp, SimpleBlock, BlockGroup, Position, PrevSize, SilentTracks, EncryptedBlock
_IN_CLUSTER = frozenset((0xE7, 0xA3, 0xA0, 0xA7, 0xAB, 0x5854, 0xAF, _VOID, _CRC))
_WINDOW = 1 << 20  # bytes read at a time by cut_inside
_DURATION = re.compile(r"^\s*(\d+):(\d{1,2}):(\d{1,2}(?:\.\d*)?)\s*$")


def _vint(data: bytes, at: int, keep_marker: bool) -> tuple[int | None, int]:
    """(the EBML variable-length integer at ``at``, its length); None for an unknown size (all ones)."""
    first = data[at]
    length = 9 - first.bit_length() if first else 9
    if length > 8 or at + length > len(data):
        raise ValueError("not an EBML number")
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[at + 1 : at + length]:
        value = (value << 8) | byte
    if not keep_marker and value == (1 << (7 * length)) - 1:
        return None, length
    return value, length


def _children(data: bytes) -> list[tuple[int, bytes]]:
    """The (id, content) of each element in ``data`` (the content of a master element)."""
    out, at = [], 0
    while at < len(data):
        ident, n = _vint(data, at, True)
        size, m = _vint(data, at + n, False)
        at += n + m
        if size is None:
            break
        out.append((ident, data[at : at + size]))
        at += size
    return out


def _uint(data: bytes) -> int:
    return int.from_bytes(data, "big")


class _Reader:
    """Bytes at an offset of a path, encoded bytes or a binary file object (left where it was)."""

    def __init__(self, source: Any):
        self.source = source

    def __call__(self, at: int, size: int) -> bytes:
        if isinstance(self.source, (bytes, bytearray, memoryview)):
            return bytes(self.source[at : at + size])
        if hasattr(self.source, "seek"):
            where = self.source.tell()
            try:
                self.source.seek(at)
                return self.source.read(size)
            finally:
                self.source.seek(where)
        with open(self.source, "rb") as f:
            f.seek(at)
            return f.read(size)


def _header(read: _Reader, at: int) -> tuple[int, int | None, int]:
    """(id, size, where its content starts) of the element at ``at``."""
    head = read(at, 12)
    ident, n = _vint(head, 0, True)
    size, m = _vint(head, n, False)
    return ident, size, at + n + m


def _content(read: _Reader, at: int, wanted: int) -> bytes | None:
    """The content of the element ``wanted`` at ``at`` (None: another, or too large to read)."""
    ident, size, start = _header(read, at)
    if ident != wanted or size is None or size > _MAX_ELEMENT:
        return None
    return read(start, size)


def _top_elements(read: _Reader) -> dict[int, bytes]:
    """The content of the Segment's Tracks and Tags: found before its first Cluster, or where its
    SeekHead (or a second one it points to) puts them (mkvmerge writes Tags after the Clusters)."""
    ident, size, at = _header(read, 0)
    if ident != _EBML or size is None:
        raise ValueError("not Matroska")
    ident, seg_size, seg = _header(read, at + size)
    if ident != _SEGMENT:
        raise ValueError("no Segment")
    found: dict[int, bytes] = {}
    sought: dict[int, int] = {}
    at = seg
    for _ in range(_MAX_TOP):
        ident, size, start = _header(read, at)
        if ident == _CLUSTER or size is None:
            break
        if ident in (_TRACKS, _TAGS, _SEEK_HEAD) and size <= _MAX_ELEMENT:
            content = read(start, size)
            if ident == _SEEK_HEAD:
                _sought(content, seg, sought)
            else:
                found.setdefault(ident, content)
        at = start + size
        if seg_size is not None and at >= seg + seg_size:
            break
    if _SEEK_HEAD in sought and _TAGS not in sought:  # a second SeekHead, after the Clusters
        _sought(_content(read, sought[_SEEK_HEAD], _SEEK_HEAD) or b"", seg, sought)
    for ident in (_TRACKS, _TAGS):
        if ident not in found and ident in sought:
            content = _content(read, sought[ident], ident)
            if content is not None:
                found[ident] = content
    return found


def _sought(seek_head: bytes, segment: int, sought: dict[int, int]) -> None:
    """Adds to ``sought`` the (id -> position in the file) of each element ``seek_head`` lists."""
    for kind, seek in _children(seek_head):
        fields = dict(_children(seek)) if kind == _SEEK else {}
        if _SEEK_ID in fields and _SEEK_POSITION in fields:
            sought.setdefault(_uint(fields[_SEEK_ID]), segment + _uint(fields[_SEEK_POSITION]))


def _seconds(text: bytes) -> float | None:
    match = _DURATION.match(text.rstrip(b"\0").decode("ascii", "replace"))
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def is_matroska(source: Any) -> bool:
    """Whether ``source`` (a path, encoded bytes or a binary file object) starts with the EBML header of
    a Matroska / WebM file."""
    try:
        return _Reader(source)(0, 4) == _EBML.to_bytes(4, "big")
    except (OSError, ValueError):
        return False


def audio_track_seconds(source: Any, audio_track: int, audio_tracks: int) -> float | None:
    """The ``DURATION`` tag, in seconds, of the audio track ``audio_track`` (counted from 0 among the
    audio tracks, as ``track=`` counts them) of the Matroska / WebM ``source`` (a path, encoded bytes
    or a binary file object), when its Tracks list ``audio_tracks`` audio tracks (as FFmpeg counts
    them); None when it is not Matroska, the counts differ, or the track has no such tag."""
    read = _Reader(source)
    try:
        found = _top_elements(read)
        audio = []
        for ident, entry in _children(found.get(_TRACKS, b"")):
            fields = dict(_children(entry)) if ident == _TRACK_ENTRY else {}
            if _uint(fields.get(_TRACK_TYPE, b"")) == _AUDIO:
                audio.append(_uint(fields.get(_TRACK_UID, b"")))
        if len(audio) != audio_tracks or not 0 <= audio_track < len(audio) or not audio[audio_track]:
            return None
        for ident, tag in _children(found.get(_TAGS, b"")):
            fields = _children(tag) if ident == _TAG else []
            targets = [_uint(v) for k, v in _children(dict(fields).get(_TARGETS, b"")) if k == _TAG_TRACK_UID]
            if audio[audio_track] not in targets:
                continue
            for kind, simple in fields:
                named = dict(_children(simple)) if kind == _SIMPLE_TAG else {}
                if named.get(_TAG_NAME, b"").decode("utf-8", "replace").strip().upper() == "DURATION":
                    seconds = _seconds(named.get(_TAG_STRING, b""))
                    if seconds:
                        return seconds
    except (ValueError, IndexError, OSError):  # not Matroska, or damaged: FFmpeg's length stands
        return None
    return None


class _Window:
    """``read(at, size)`` of encoded bytes or an open binary file, through a window of ``_WINDOW`` bytes
    (a walk of a browser's recording reads every block's header)."""

    def __init__(self, source: Any, size: int):
        self.source, self.size, self.start, self.window = source, size, 0, b""

    def __call__(self, at: int, size: int) -> bytes:
        if isinstance(self.source, (bytes, bytearray, memoryview)):
            return bytes(self.source[at : at + size])
        if not (self.start <= at and at + size <= self.start + len(self.window)):
            self.source.seek(at)
            self.start, self.window = at, self.source.read(max(size, _WINDOW)) or b""
        return self.window[at - self.start : at - self.start + size]


def _element(read: _Window, at: int) -> tuple[int, int | None, int] | None:
    """(id, size, where its content starts) of the element at ``at``; None when its header runs past
    the end of the file; ValueError for bytes that are no element header."""
    head = read(at, 12)
    if not head or not head[0]:
        raise ValueError("not an EBML element")
    length = 9 - head[0].bit_length()
    if len(head) <= length:
        return None
    if not head[length]:
        raise ValueError("not an EBML element")
    if len(head) < length + 9 - head[length].bit_length():
        return None
    ident, n = _vint(head, 0, True)
    size, m = _vint(head, n, False)
    return ident, size, at + n + m


def _cut_inside(read: _Window) -> str | None:
    if read(0, 4) != _EBML.to_bytes(4, "big"):
        return None
    first = _element(read, 0)
    segment = _element(read, first[2] + first[1]) if first and first[1] is not None else None
    if segment is None or segment[0] != _SEGMENT or segment[1] is not None:
        return None  # a Segment of known size: written whole, its header gives the length to compare
    top = {_SEEK_HEAD, _INFO, _TRACKS, _TAGS, _CLUSTER, _CUES, _CHAPTERS, _ATTACHMENTS, _VOID, _CRC}
    at, inside = segment[2], None  # inside: where the Cluster of unknown size being walked began
    while at < read.size:
        element = _element(read, at)
        if element is None:  # its header cut
            return "inside a Matroska cluster" if inside is not None else "inside a Matroska element"
        ident, size, start = element
        if inside is not None and ident in top and ident not in _IN_CLUSTER:  # (Void, CRC-32: either)
            inside = None  # the Cluster of unknown size ends where the next top-level element begins
        if ident not in (_IN_CLUSTER if inside is not None else top):
            return None  # other bytes (damage, a tag after the file): nothing to tell by
        if size is None:
            if ident != _CLUSTER or inside is not None:
                return None
            inside, at = at, start  # a browser's Cluster: its blocks are walked
            continue
        if start + size > read.size:
            clustered = inside is not None or ident == _CLUSTER
            return "inside a Matroska cluster" if clustered else "inside a Matroska element"
        at = start + size
    return None


def cut_inside(source: Any) -> str | None:
    """Where the Matroska / WebM ``source`` (a path, encoded bytes or a binary file object, left where it
    was) is cut short, when it was written without its sizes (to a pipe: ``ffmpeg ... -f webm -``, a
    live stream, a browser's MediaRecorder, whose Segment has an unknown size, and whose header gives
    no length to compare with): ``"inside a Matroska cluster"`` when the last element (a Cluster, or
    a block of a Cluster of unknown size) runs past the end of the file. None for a whole file, one
    whose Segment has a size (its header's length is compared instead), other bytes than Matroska
    elements at the end, or another format. A file cut exactly between two clusters or blocks (a
    recording whose last chunks never arrived) reads as a whole shorter one: nothing in it tells."""
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            return _cut_inside(_Window(source, len(source)))
        if hasattr(source, "seek"):
            where = source.tell()
            try:
                return _cut_inside(_Window(source, source.seek(0, 2)))
            finally:
                source.seek(where)
        with open(str(source).removeprefix("file:"), "rb") as f:
            return _cut_inside(_Window(f, f.seek(0, 2)))
    except (OSError, ValueError):
        return None
