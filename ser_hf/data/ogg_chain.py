"""Chained Ogg files: Ogg streams one after another in one file (an internet-radio dump, Opus or
Vorbis files joined with ``cat``), each a whole Ogg file of its own (a *link*).

libsndfile read the first link alone, without a word; FFmpeg (torchcodec) read the first link too, or
failed at the second's headers, and the timeline said the file was cut short ("header says 0.00 s,
holds 29.20 s" of a 58-s file). :func:`ogg_link_bytes` finds the links by walking the file's page
headers (a page that begins a stream after pages of audio starts a new link), so that
:mod:`ser_hf.data.audio` and :mod:`ser_hf.data.chunks` decode them one after another;
:func:`ogg_parts` gives them so, of a file read past its damaged pages too (:mod:`ser_hf.data.ogg_damage`).
"""

from __future__ import annotations

from typing import Any

from .ogg_damage import OggDamage, _Reader, read_ogg_source, repaired_ogg

_OGG_BOS, _OGG_HEADER = 0x02, 27


def _links(reader: _Reader) -> list[tuple[int, int]]:
    """The byte ranges of the links of the Ogg file ``reader`` reads ([] when it is not Ogg): a page that
    begins a stream after a page of audio begins the next link. The walk stops at bytes that are not
    a page (a cut page, a tag after the last page): the last link runs to there."""
    links: list[tuple[int, int]] = []
    start, at, audio = 0, 0, False
    while True:
        head = reader.read(at, _OGG_HEADER)
        if len(head) < _OGG_HEADER or head[:4] != b"OggS":
            break
        table = reader.read(at + _OGG_HEADER, head[26])
        if len(table) < head[26]:
            break
        if head[5] & _OGG_BOS and audio:
            links.append((start, at))
            start, audio = at, False
        audio = audio or not head[5] & _OGG_BOS
        at += _OGG_HEADER + len(table) + sum(table)
    if at > start:
        links.append((start, at))
    return links


def ogg_link_bytes(source: Any) -> list[bytes] | None:
    """The links of the chained Ogg ``source`` (a path, encoded bytes or a binary file object, left where
    it was), each as encoded bytes (the last one up to the file's end, so a cut last link reads as
    cut); None for a file of one link, another format, or what cannot be read."""
    return read_ogg_source(source, _split)


def _split(reader: _Reader, size: int) -> list[bytes] | None:
    if reader.read(0, 4) != b"OggS":
        return None
    links = _links(reader)
    if len(links) < 2:
        return None
    starts = [start for start, _ in links]
    ends = [*starts[1:], size]  # what follows the last whole page stays with the last link
    return [reader.read(start, end - start) for start, end in zip(starts, ends, strict=True)]


def ogg_parts(source: Any) -> tuple[list[bytes], OggDamage | None] | None:
    """What is decoded one after another of the Ogg ``source`` (a path, encoded bytes or a binary file
    object, left where it was), as encoded bytes: the links of a chained file; a file with damaged
    pages as it reads past them (:func:`~ser_hf.data.ogg_damage.repaired_ogg`), with the record of
    the damage for its warning. None for a whole Ogg file of one link, or another format."""
    repaired = repaired_ogg(source)
    if repaired is None:
        links = ogg_link_bytes(source)
        return None if links is None else (links, None)
    data, damage = repaired
    return ogg_link_bytes(data) or [data], damage
