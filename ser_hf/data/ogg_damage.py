"""Ogg files damaged in the middle: pages whose bytes were overwritten or lost in a copy (a bad
sector, a download that resumed at the wrong offset), which fail the checksum every Ogg page carries.

libsndfile and FFmpeg skip such a page (as the ``ffmpeg`` program does) and read on, without a word:
a 20-s Opus file with 300 bytes overwritten at 40 % was read as a whole 19-s recording. And
libsndfile, read a block at a time (a timeline's chunks, a long file), read on from the wrong place
after the gap: an Opus file's 19 s came out as 20, one second of it twice.

:func:`repaired_ogg` walks the pages, checking each checksum, and when some fail gives the file
as the decoders read it past the damage, without the damaged pages and without the packets they
cut in two, its pages numbered again in order (and an Opus stream's times moved up by the audio
lost), so that every reader, whole or by blocks, gives the same samples as the ``ffmpeg`` program;
with an :class:`OggDamage` record for the warning (:func:`warn_damaged`). A link of a chained file
whose headers were lost is left out (nothing of it decodes); a file of one link so damaged is left as
it is (its decoding fails, as the ``ffmpeg`` program's does).
"""

from __future__ import annotations

import io
import logging
import os
import zlib
from dataclasses import dataclass, field
from typing import Any

# the warnings keep the logger name of a damaged file's (the CLI prints it, predict's row reports it)
logger = logging.getLogger("ser_hf.data.audio")

_HEADER = 27  # the fixed part of an Ogg page's header
_BOS, _EOS, _CONTINUED = 0x02, 0x04, 0x01
_WINDOW = 1 << 20  # bytes of a file read at a time
_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _crc(page: bytes | bytearray) -> int:
    """The Ogg checksum of ``page`` (its checksum field read as 0): CRC-32 of polynomial 0x04C11DB7,
    not reflected, started at 0; zlib's reflected CRC of the bytes with their bits reversed, its
    result reversed (C speed: every page of a 40-MB, one-hour Vorbis file in about 0.1 s)."""
    body = bytes(page[:22]) + b"\0\0\0\0" + bytes(page[26:])
    value = zlib.crc32(body.translate(_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{value:032b}"[::-1], 2)


class _Reader:
    """``read(at, size)`` of a path (``file:`` too), encoded bytes or a binary file object (left where
    it was), through a window of ``_WINDOW`` bytes."""

    def __init__(self, source: Any):
        self.view = memoryview(source) if isinstance(source, (bytes, bytearray, memoryview)) else None
        self.file, self.start, self.window = source, 0, b""

    def read(self, at: int, size: int) -> bytes:
        if self.view is not None:
            return bytes(self.view[at : at + size])
        if not (self.start <= at and at + size <= self.start + len(self.window)):
            self.file.seek(at)
            self.start, self.window = at, self.file.read(max(size, _WINDOW)) or b""
        return self.window[at - self.start : at - self.start + size]


@dataclass
class _Page:
    """One whole page of a right checksum: where it lies, its bytes (its header alone, in the first
    look at a file), its length, and the link of a chained file it belongs to."""

    at: int
    data: bytearray
    length: int
    link: int = 0
    gap: bool = False  # a page of its stream was lost before it

    @property
    def flags(self) -> int:
        return self.data[5]

    @property
    def serial(self) -> bytes:
        return bytes(self.data[14:18])

    @property
    def sequence(self) -> int:
        return int.from_bytes(self.data[18:22], "little")

    @property
    def granule(self) -> int:
        return int.from_bytes(self.data[6:14], "little", signed=True)

    @property
    def table(self) -> bytearray:
        return self.data[_HEADER : _HEADER + self.data[26]]


def _page_at(read: _Reader, at: int, size: int) -> tuple[bytearray | None, bool]:
    """(the page at ``at`` when it is whole and its checksum right, else None; whether a page header
    there runs past the end of the file: a page cut off)."""
    head = read.read(at, _HEADER)
    if len(head) < _HEADER or head[:4] != b"OggS" or head[4] != 0:
        return None, len(head) < _HEADER and b"OggS".startswith(head[:4])
    table = read.read(at + _HEADER, head[26])
    end = at + _HEADER + head[26] + sum(table)
    if len(table) < head[26] or end > size:
        return None, True
    page = bytearray(read.read(at, end - at))
    return (page if _crc(page) == int.from_bytes(page[22:26], "little") else None), False


def _next_page(read: _Reader, at: int, size: int) -> tuple[int, bytearray] | None:
    """The next whole page of a right checksum at or after ``at`` (what libogg resyncs to)."""
    while at < size:
        block = read.read(at, min(_WINDOW, size - at))
        found = block.find(b"OggS")
        if found < 0:
            at += max(len(block) - 3, 1)
            continue
        page, _ = _page_at(read, at + found, size)
        if page is not None:
            return at + found, page
        at += found + 1
    return None


@dataclass
class OggDamage:
    """What :func:`repaired_ogg` found: the damaged stretches of the file (their number, their bytes),
    where the first lies in the audio (``at_s``, when the stream says), and how long the whole
    stream is by its pages (``stream_s``: its last page's time, the links of a chained file added)."""

    places: int = 0
    damaged_bytes: int = 0
    at_s: float | None = None
    stream_s: float | None = None
    placed: bool = field(default=False, repr=False)
    tail: int | None = field(default=None, repr=False)  # where a page cut off, or bytes after the end, begin
    _links: list[dict[bytes, dict[str, Any]]] = field(default_factory=list, repr=False)


def _stream_info(page: bytes | bytearray) -> dict[str, Any]:
    """A stream's codec, what turns its granule positions into seconds, and how many header packets
    come before its audio (None: not known), from its first page."""
    packet = bytes(page[_HEADER + page[26] :])
    if packet.startswith(b"OpusHead") and len(packet) >= 12:
        skip = int.from_bytes(packet[10:12], "little")
        return {"codec": "opus", "rate": 48000, "skip": skip, "headers": 2}
    if packet.startswith(b"\x01vorbis") and len(packet) >= 16:
        return {"codec": "vorbis", "rate": int.from_bytes(packet[12:16], "little"), "skip": 0, "headers": 3}
    if packet.startswith(b"\x7fFLAC") and packet[9:13] == b"fLaC" and len(packet) >= 34:
        info, count = packet[17:], int.from_bytes(packet[7:9], "big")  # STREAMINFO; metadata packets
        rate = (info[10] << 12) | (info[11] << 4) | (info[12] >> 4)
        return {"codec": "flac", "rate": rate, "skip": 0, "headers": 1 + count if count else None}
    return {"codec": None, "rate": 0, "skip": 0, "headers": None}


def _in_headers(link: dict[bytes, dict[str, Any]]) -> bool:
    """Whether a stream of the link has not had all its header packets yet (of an unknown count: no
    page of audio yet; a stream that ended, a Skeleton's, has had them): damage there leaves nothing
    of the link to decode."""
    return any(
        not info.get("ended") and (info["headers"] > 0 if info["headers"] is not None else not info["last"])
        for info in link.values()
    )


def _seconds(link: dict[bytes, dict[str, Any]]) -> float | None:
    """The length of a link by the last page of its first stream of a known rate; None when none."""
    for info in link.values():
        if info["rate"] > 0:
            return max(info["last"] - info["skip"], 0) / info["rate"]
    return None


def _scan(
    read: _Reader, size: int, keep: bool
) -> tuple[list[_Page], list[tuple[int, int]], OggDamage] | None:
    """The whole pages of right checksum that decode (their bytes when ``keep``, else their headers),
    the damaged stretches (bytes that are not such pages, with one after them, or up to the end of
    a stream without its last page; the pages of a link whose headers were lost, or of a stream
    whose first page was) and the record; None when the file is not Ogg, or nothing of it decodes
    past its damage (its one link's headers lost)."""
    pages: list[_Page] = []
    damaged: list[tuple[int, int]] = []
    damage, links, broken = OggDamage(), [], set()
    at, audio = 0, False  # audio: a page of audio (a time past 0) seen in the current link
    while at < size:
        data, cut = _page_at(read, at, size)
        if data is None:
            after = _next_page(read, at + 1, size)
            if after is None:  # the end: a page cut off (said by cut_files), other bytes after a stream
                # that ended (a tag), or damage up to the end of a stream that does not end
                if audio and not cut and not all(info.get("ended") for info in links[-1].values()):
                    damaged.append((at, size))
                    _place(damage, pages, links)
                else:
                    damage.tail = at
                break
            if not links:
                return None
            damaged.append((at, after[0]))
            _place(damage, pages, links)
            if _in_headers(links[-1]):  # its headers lost: none of the link decodes
                broken.add(len(links) - 1)
            at, data = after
        page = _Page(at, data if keep else data[: _HEADER + data[26]], len(data))
        if page.flags & _BOS:
            if audio or not links:
                links.append({})
                audio = False
            links[-1][page.serial] = {**_stream_info(data), "last": 0}
        elif not links or page.serial not in links[-1]:  # a stream whose first page was lost
            damaged.append((at, at + len(data)))
            _place(damage, pages, links)
            at += len(data)
            continue
        info = links[-1][page.serial]
        if info["headers"] is not None:
            info["headers"] -= sum(1 for lace in page.table if lace < 255)
        if page.granule > 0 and not page.flags & _BOS:
            info["last"], audio = page.granule, True
        info["ended"] = bool(page.flags & _EOS)
        page.link = len(links) - 1
        pages.append(page)
        at += len(data)
    if broken:
        damaged += [(p.at, p.at + p.length) for p in pages if p.link in broken]
        pages = [p for p in pages if p.link not in broken]
    if not pages:
        return None
    damage._links, damaged = links, _merged(damaged)
    damage.places, damage.damaged_bytes = len(damaged), sum(end - start for start, end in damaged)
    lengths = [_seconds(link) for link in links]
    damage.stream_s = sum(s for s in lengths if s is not None) if None not in lengths else None
    return pages, damaged, damage


def _merged(stretches: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The byte ranges ``stretches`` in order, those that touch joined."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(stretches):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def _place(damage: OggDamage, pages: list[_Page], links: list[dict[bytes, dict[str, Any]]]) -> None:
    """Sets where the first damage lies (once): the time of the last page of audio before it, in its
    stream's rate, the links before its link added; None when no stream of a known rate says."""
    if damage.placed or not pages:
        return
    damage.placed, last = True, pages[-1]
    info = links[last.link].get(last.serial, {})
    earlier = [_seconds(link) for link in links[: last.link]]
    if info.get("rate") and None not in earlier:
        damage.at_s = sum(earlier) + max(info["last"] - info["skip"], 0) / info["rate"]  # type: ignore[arg-type]


def _opus_samples(packet: bytes) -> int:
    """The samples (at 48 kHz) of an Opus packet, from its TOC byte (RFC 6716, 3.1)."""
    if not packet:
        return 0
    config = packet[0] >> 3
    if config < 12:
        frame = (480, 960, 1920, 2880)[config % 4]
    elif config < 16:
        frame = (480, 960)[config % 2]
    else:
        frame = (120, 240, 480, 960)[config % 4]
    code = packet[0] & 3
    frames = 1 if code == 0 else 2 if code < 3 else (packet[1] & 0x3F if len(packet) > 1 else 0)
    return frame * frames


def _flac_samples(packet: bytes) -> int:
    """The samples of an Ogg FLAC packet holding a FLAC frame, from the frame's header (its block
    size code, or the size after its coded frame number); 0 for another packet (metadata)."""
    if len(packet) < 5 or packet[0] != 0xFF or packet[1] & 0xFE != 0xF8:
        return 0
    code = packet[2] >> 4
    if code == 1:
        return 192
    if 2 <= code <= 5:
        return 576 << (code - 2)
    if code >= 8:
        return 256 << (code - 8)
    if code not in (6, 7):
        return 0
    first = packet[4]
    length = 1 if first < 0x80 else next((n for n in range(2, 8) if not first & (0x80 >> n)), 7)
    at = 4 + length
    if len(packet) < at + code - 5:
        return 0
    return int.from_bytes(packet[at : at + code - 5], "big") + 1


_SAMPLES = {"opus": _opus_samples, "flac": _flac_samples}  # codecs whose readers take times from pages


def _cut_packets(page: _Page, head: bool, tail: bool) -> bool:
    """Drops from ``page`` the part of a packet begun on a lost page (``head``: its first segments,
    up to the first one under 255 bytes) and a packet it begins that ends on a lost page (``tail``:
    its last segments after the last one under 255), so that no decoder joins halves of two packets;
    True when the dropped part goes on on the next page (the page was all of it)."""
    table, body = list(page.table), page.data[_HEADER + page.data[26] :]
    ends = [i for i, lace in enumerate(table) if lace < 255]
    first, last = 0, len(table)
    goes_on = bool(head and page.flags & _CONTINUED and not ends)
    if head and page.flags & _CONTINUED:
        first = ends[0] + 1 if ends else len(table)
    if tail and table and table[-1] == 255:
        last = ends[-1] + 1 if ends else 0
    last = max(last, first)
    start, stop = sum(table[:first]), sum(table[:last])
    flags = page.flags & ~_CONTINUED if head else page.flags
    page.data = bytearray(page.data[:5]) + bytes([flags]) + page.data[6:26]
    page.data += bytes([last - first]) + bytes(table[first:last]) + body[start:stop]
    return goes_on


def _mend_gaps(pages: list[_Page]) -> None:
    """Marks each page after a lost page of its stream (its sequence number skips) and drops the halves
    of the packets the loss cut in two: the end of the page before, the start of the page after (and
    of the pages after it while they are all the middle of one packet)."""
    by_serial: dict[bytes, list[_Page]] = {}
    for page in pages:
        by_serial.setdefault(page.serial, []).append(page)
    for group in by_serial.values():
        carry = False  # the page before was all one packet's middle: this one starts with its rest
        for before, page in zip(group, group[1:], strict=False):
            if page.flags & _BOS:  # the next link of a chained file, of the same serial (cat a.opus a.opus)
                carry = False
                continue
            skipped = page.sequence != before.sequence + 1
            if skipped:
                _cut_packets(before, head=False, tail=True)
            if skipped or carry:
                carry, page.gap = _cut_packets(page, head=True, tail=False), True


def _ended_packets(page: _Page, partial: bytes) -> tuple[list[bytes], bytes]:
    """The packets that end on ``page`` (``partial``: the start of one begun on the page before) and
    the start of the one it leaves unfinished."""
    at, ended = _HEADER + page.data[26], []
    current = partial if page.flags & _CONTINUED else b""
    for lace in page.table:
        current += bytes(page.data[at : at + lace])
        at += lace
        if lace < 255:
            ended.append(current)
            current = b""
    return ended, current


def _moved_times(pages: list[_Page], infos: dict[bytes, dict[str, Any]]) -> None:
    """Moves the granule positions of each Opus or FLAC stream's pages after a gap up by the samples the
    gap lost (the time the page gives, less the samples of the packets read since the last page
    before the gap), so that their readers, which take times from the pages (libsndfile's Opus
    reader, FFmpeg's), read on without a jump. A Vorbis stream's packets give their samples only
    through its setup header; libsndfile reads it on without a jump, FFmpeg by time ranges may not."""
    lost: dict[bytes, int] = {}
    previous: dict[bytes, int] = {}
    pending: dict[
        bytes, tuple[int, int, bytes]
    ] = {}  # serial -> (time before the gap, samples since, partial)
    for page in pages:
        serial = page.serial
        if page.flags & _BOS:
            lost[serial], previous[serial] = 0, 0
            pending.pop(serial, None)
            continue
        samples = _SAMPLES.get(infos.get(serial, {}).get("codec") or "")
        if samples is None:
            continue
        granule = page.granule
        if page.gap or serial in pending:
            anchor, since, partial = pending.get(serial, (previous[serial], 0, b""))
            ended, partial = _ended_packets(page, partial)
            since += sum(samples(packet) for packet in ended)
            pending[serial] = (anchor, since, partial)
            if granule >= 0:
                lost[serial] += max(granule - since - anchor, 0)
                del pending[serial]
        if granule >= 0:
            previous[serial] = granule
            if lost[serial]:
                page.data[6:14] = (granule - lost[serial]).to_bytes(8, "little", signed=True)


def _repaired(pages: list[_Page], damage: OggDamage, tail: bytes, last_lost: bool) -> bytes:
    """The pages of right checksum as one stream per serial without gaps (:func:`_mend_gaps`), an Opus
    or FLAC stream's times moved up (:func:`_moved_times`), numbered again in order, every checksum
    computed again; ``tail`` (a page cut off at the end, or other bytes) after them as it was. When
    the file's last page was lost (``last_lost``), the page before it ends its stream."""
    _mend_gaps(pages)
    _moved_times(pages, {serial: info for link in damage._links for serial, info in link.items()})
    kept = [p for p in pages if p.data[26] or p.flags & (_BOS | _EOS)]
    counts: dict[bytes, int] = {}
    for page in kept:
        if page.flags & _BOS:
            counts[page.serial] = page.sequence
        page.data[18:22] = counts[page.serial].to_bytes(4, "little")
        counts[page.serial] += 1
    if last_lost:
        for page in {page.serial: page for page in kept}.values():
            page.data[5] |= _EOS
    out = bytearray()
    for page in kept:
        page.data[22:26] = _crc(page.data).to_bytes(4, "little")
        out += page.data
    return bytes(out + tail)


def repaired_ogg(source: Any) -> tuple[bytes, OggDamage] | None:
    """The Ogg ``source`` (a path, encoded bytes or a binary file object, left where it was) as it reads
    past its damaged pages (:mod:`this module's <ser_hf.data.ogg_damage>` words), with what was found;
    None for another format, a whole file, or damage in its headers."""
    return read_ogg_source(source, _repair)


def read_ogg_source(source: Any, walk: Any) -> Any:
    """``walk(reader, size)`` of a path (``file:`` too), encoded bytes or a binary file object (left
    where it was); None for a pipe (read once, by its decoder) or what cannot be read."""
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            return walk(_Reader(source), len(source))
        if hasattr(source, "seek"):
            where = source.tell()
            try:
                return walk(_Reader(source), source.seek(0, io.SEEK_END))
            finally:
                source.seek(where)
        path = str(source).removeprefix("file:")
        if not os.path.isfile(path):  # a pipe is read once, by its reader
            return None
        with open(path, "rb") as f:
            return walk(_Reader(f), f.seek(0, io.SEEK_END))
    except (OSError, ValueError, TypeError, IndexError, io.UnsupportedOperation):
        return None


def _repair(read: _Reader, size: int) -> tuple[bytes, OggDamage] | None:
    if read.read(0, 4) != b"OggS":
        return None
    scanned = _scan(read, size, keep=False)  # a whole file: its headers looked at, nothing kept
    if scanned is None or not scanned[1]:
        return None
    scanned = _scan(read, size, keep=True)
    if scanned is None:
        return None
    pages, damaged, damage = scanned
    tail = b"" if damage.tail is None else read.read(damage.tail, size - damage.tail)
    return _repaired(pages, damage, tail, last_lost=damaged[-1][1] == size), damage


def warn_damaged(name: str, damage: OggDamage, held_s: float) -> None:
    """The warning that ``name`` is damaged in the middle and was read past its damage (``held_s``
    seconds read), with its ``damaged`` record (where, the seconds lost, the seconds held) that
    ``ser-hf predict``'s row reports."""
    where = f" at {damage.at_s:.1f} s" if damage.at_s is not None else ""
    places = "" if damage.places == 1 else f" in {damage.places} places, the first"
    lost = damage.stream_s - held_s if damage.stream_s is not None else None
    lost = lost if lost is not None and lost > 0.01 else None  # a page of a wrong checksum held little
    of = f" of the {damage.stream_s:.2f} s its pages give ({lost:.2f} s lost)" if lost is not None else ""
    logger.warning(
        "%s: the file is damaged%s%s (%s bytes of its Ogg pages overwritten or lost: a bad copy or "
        "download); the clip is read past the damage without them, as ffmpeg reads it: %.2f s%s",
        name,
        places,
        where,
        f"{damage.damaged_bytes:,}",
        held_s,
        of,
        extra={"damaged": (damage.at_s, lost, held_s)},  # predict's row says so
    )
