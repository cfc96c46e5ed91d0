"""A WAV file whose header is damaged: its ``fmt `` chunk (the sample format, channels and rate)
overwritten with garbage or cut short. libsndfile and FFmpeg refuse such a file in words about other
things ("FFmpeg finds no audio stream in it (a video without sound ...)", "Invalid data found"),
and a rate of a few Hz made a 3-s clip's header give 15 hours, which ``classify`` refused as too long.
:func:`damaged_wav_error` says what is damaged and how to recover the samples; it is asked only once
decoding or the header's reading has failed, so a file that reads costs nothing more.
"""

from __future__ import annotations

import shlex
from typing import Any

from ..errors import AudioInputError
from .cut_files import _read, _size
from .resampling import MAX_RATE, MIN_RATE, check_rate
from .samples import _MAX_CHANNELS

_HEAD_BYTES = 1 << 14  # the fmt chunk comes first in a WAV, after a few small chunks at most
_PCM, _FLOAT, _EXTENSIBLE = 0x0001, 0x0003, 0xFFFE


def _chunks(head: bytes, big: bool) -> dict[bytes, tuple[int, int]]:
    """The chunks of the RIFF file whose first bytes are ``head``: id -> (where its body starts, its
    size), the first of each id, as far as ``head`` goes."""
    found: dict[bytes, tuple[int, int]] = {}
    at = 12
    while at + 8 <= len(head):
        size = int.from_bytes(head[at + 4 : at + 8], "big" if big else "little")
        found.setdefault(head[at : at + 4], (at + 8, size))
        at += 8 + size + (size & 1)  # a chunk of odd size is padded to an even one
    return found


def wav_header_damage(source: Any, codec_unknown: bool = False) -> tuple[str, int] | None:
    """What is damaged in the header of the WAV file ``source`` (a path, encoded bytes or a binary
    file object), and where its samples start (the data chunk's body; 44 when it is not found); None
    for a header that is whole and sane, or another format. ``codec_unknown``: FFmpeg found no audio
    stream in it, so its format code (else sane) is one FFmpeg does not know."""
    head = _read(source, 0, _HEAD_BYTES)
    if head[:4] not in (b"RIFF", b"RIFX", b"RF64") or head[8:12] != b"WAVE":
        return None
    big = head[:4] == b"RIFX"
    chunks = _chunks(head, big)
    data_at = chunks.get(b"data", (44, 0))[0]
    if b"fmt " not in chunks:
        return "it has no fmt chunk (the sample format, channels and rate)", data_at
    at, size = chunks[b"fmt "]
    body = head[at : at + 16]
    if size < 16:
        return f"its fmt chunk is {size} bytes, not the 16 or more that give the sample format", data_at
    if len(body) < 16 or at + size > max(_size(source), len(head)):
        return f"its fmt chunk ({size} bytes) runs past the end of the file", data_at
    order = "big" if big else "little"
    tag, channels, rate = (int.from_bytes(body[i:j], order) for i, j in ((0, 2), (2, 4), (4, 8)))
    bits = int.from_bytes(body[14:16], order)
    wrong = []
    if tag == 0:
        wrong.append("format code 0 (none)")
    if not 1 <= channels <= _MAX_CHANNELS:
        wrong.append(f"{channels} channels")
    if not MIN_RATE <= rate <= MAX_RATE:
        wrong.append(
            f"a sampling rate of {rate} Hz (outside {MIN_RATE} Hz - {MAX_RATE // 1000} kHz, where speech is recorded)"
        )
    if (tag in (_PCM, _EXTENSIBLE) and not 1 <= bits <= 64) or (tag == _FLOAT and bits not in (32, 64)):
        wrong.append(f"{bits} bits per sample")
    if wrong:
        return f"its fmt chunk gives {' and '.join(wrong)}, which no speech recording has", data_at
    if codec_unknown:
        return f"its fmt chunk gives format code {tag:#06x}, a codec FFmpeg does not know", data_at
    return None


def damaged_wav_error(source: Any, name: str, codec_unknown: bool = False) -> AudioInputError | None:
    """The error for a WAV file whose header is damaged (:func:`wav_header_damage`), naming what is
    damaged and the fix; None for a whole header or another format."""
    damage = wav_header_damage(source, codec_unknown)
    if damage is None:
        return None
    what, data_at = damage
    path = name.removeprefix("file:")
    base = shlex.quote(
        path if path and not path.startswith("<") else "damaged.wav"
    )  # as given: runs from here
    return AudioInputError(
        f"the WAV file's header is damaged: {what} (the file was corrupted while written or "
        "copied, or another program wrote a format of its own); re-export or convert it again from its source (e.g. ffmpeg -i "
        "original fixed.wav). If its samples are intact and you know their format, read them past the "
        f"header as raw PCM: ffmpeg -f s16le -ar 16000 -ac 1 -skip_initial_bytes {data_at} -i {base} "
        "fixed.wav (16-bit mono at 16 kHz: give the recording's own)",
        source=name,
    )


def check_file_rate(rate: int, name: str, source: Any) -> int:
    """:func:`~ser_hf.data.resampling.check_rate` of the rate the header of ``source`` (a path, encoded
    bytes or a binary file object) gives; for a WAV, the error says what else in its header is wrong."""
    try:
        return check_rate(rate, name)
    except AudioInputError as err:  # a rate of 1 Hz: "likely damaged", now what in it and the fix
        raise damaged_wav_error(source, name) or err from None
