"""What FFmpeg is handed: a local file is read as that file, and only as audio.

FFmpeg reads a plain name as a URL (``concat:a.wav|b.wav`` decoded ``a.wav``, never the file of that
name) and follows text formats that name other files or addresses: a 44-byte ``ffconcat`` "upload"
was classified as the recording beside it. So a path goes to FFmpeg as ``file:`` + its absolute path
(the file protocol takes the rest literally: spaces, ``%``, ``#``, ``?``, a leading ``-``), and a file
or bytes whose first bytes are such a playlist or manifest is a :class:`SERError` before FFmpeg
opens it. Also the typed errors of decoding: FFmpeg's reason, and a recording too long to hold.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from ..errors import AudioInputError, AudioTooLongError, SERError
from .cut_files import cut_before_audio_error, unfinished_mp4_error
from .wav_header import damaged_wav_error

# the head read to recognise a playlist: FFmpeg's probe sees the first 2 KB..1 MB, a text demuxer
# reads its text up to the first NUL (the probe buffer is a C string)
_HEAD_BYTES = 1 << 16
# (how the text starts, or what it holds) -> what it is: FFmpeg demuxers that open OTHER files or
# network addresses named inside the file
_STARTS = (
    (b"ffconcat version", "an FFmpeg playlist (ffconcat), which names other files to read"),
    (b"#extm3u", "an HLS playlist (#EXTM3U), which names other files or addresses to read"),
    (b"v=0", "an SDP session description, which makes FFmpeg listen on network ports"),
)
_HOLDS = (
    (b"<mpd", "a DASH manifest (<MPD>), which names other files or addresses to read"),
    (b"<compositionplaylist", "an IMF composition playlist, which names other files to read"),
    (b"<assetmap", "an IMF asset map, which names other files to read"),
)


def _id3_end(head: bytes) -> int:
    """Where the ID3v2 tags at the start of ``head`` end (0: none). FFmpeg skips them before it
    probes the format, so an ffconcat playlist behind an empty ID3 tag was followed; the end may lie
    past ``head`` (a tag holding cover art)."""
    end = 0
    while head[end : end + 3] == b"ID3" and len(head) >= end + 10:
        size = head[end + 6 : end + 10]
        if any(b & 0x80 for b in size):  # not a syncsafe size: not a tag FFmpeg skips
            break
        footer = 10 if head[end + 5] & 0x10 else 0
        end += 10 + footer + ((size[0] << 21) | (size[1] << 14) | (size[2] << 7) | size[3])
    return end


def playlist_kind(head: bytes) -> str | None:
    """What ``head`` (a file's first bytes) is when it is a playlist or manifest FFmpeg would follow
    to other files, else None."""
    text = head.split(b"\0", 1)[0].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    for start, kind in _STARTS:
        if text.startswith(start):
            return kind
    if text.startswith(b"<"):  # XML
        return next((kind for mark, kind in _HOLDS if mark in text), None)
    return None


def refuse_playlist(data: bytes, name: str, after_tags: bytes | None = None) -> None:
    """A :class:`SERError` when ``data`` (a file's first bytes, or all of them) is a playlist or
    manifest (:func:`playlist_kind`), also behind ID3v2 tags (``after_tags``: the bytes after them,
    when ``data`` does not reach that far)."""
    view = memoryview(data)
    if after_tags is None:
        after_tags = bytes(view[_id3_end(data) :][:_HEAD_BYTES])
    if kind := playlist_kind(bytes(view[:_HEAD_BYTES])) or playlist_kind(after_tags):
        raise AudioInputError(
            f"not audio: {kind}; only audio and video files are read, pass the recording itself",
            source=name,
        )


def ffmpeg_source(data: Any, name: str) -> Any:
    """``data`` as FFmpeg (torchcodec, the ``ffmpeg`` binary) is to get it: encoded bytes, or an open
    binary file (an upload read where it lies, from its start), as they are, a path as ``file:`` + its
    absolute path; each refused when it is a playlist (:func:`refuse_playlist`)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        refuse_playlist(data, name)
        return bytes(data)
    if hasattr(data, "read"):
        data.seek(0)
        head, after_tags = _heads(data)
        data.seek(0)
        refuse_playlist(head, name, after_tags)
        return data
    try:
        with open(data, "rb") as f:
            head, after_tags = _heads(f)
    except OSError as err:
        raise SERError(
            f"cannot be read ({err.strerror}); check the file and its permissions", source=name
        ) from err
    refuse_playlist(head, name, after_tags)
    return "file:" + os.path.abspath(data)


def _heads(f: Any) -> tuple[bytes, bytes]:
    """The first bytes of the open binary file ``f`` (at its start), and those after its ID3v2 tags."""
    head, end = f.read(_HEAD_BYTES), 0
    f.seek(0)
    while tag := _id3_end(f.read(10)):  # each ID3v2 tag's header, then past it
        end += tag
        f.seek(end)
    f.seek(end)
    return head, f.read(_HEAD_BYTES)


def ffmpeg_error(
    err: Exception, name: str, seconds: float | None = None, data: str | bytes | None = None
) -> AudioInputError:
    """The typed error for a file FFmpeg cannot decode: a video without sound, not audio at all, or
    one too long to hold in memory (``seconds``: its header's duration). ``data`` (the path or bytes
    FFmpeg was given) names a WebM chunk without its header or a file cut short (an M4A without its
    index, an Ogg or ADTS file cut before its first audio), and for bytes the error says how raw PCM
    samples are read."""
    if is_out_of_memory(err):
        return too_long_error(name, seconds)
    if headerless := headerless_error(name):  # bare samples: no header says their rate or format
        return headerless
    if continuation := continuation_error(_first_bytes(data), name):
        return continuation
    if data is not None and (cut := unfinished_mp4_error(data, name) or cut_before_audio_error(data, name)):
        return cut  # an M4A without its index, an Ogg or ADTS cut before its first audio
    no_stream = "audio stream" in str(err).lower()  # torchcodec: "The best audio stream is unknown ..."
    if data is not None and (damaged := damaged_wav_error(data, name, codec_unknown=no_stream)):
        return damaged  # a WAV whose fmt chunk is garbage: "no audio stream (a video without sound ...)"
    if no_stream:
        return AudioInputError(
            "not a readable audio file: FFmpeg finds no audio stream in it (a video without sound, or "
            "not a media file at all); pass a file with sound",
            source=name,
        )
    if "no audio frames were decoded" in str(err).lower():  # torchcodec's words on its own range
        # arguments ("start_seconds is too high(0)"): a FLAC header followed by garbage
        return AudioInputError(
            "not a readable audio file: its header reads, but no audio after it decodes (damaged, or not "
            "audio past the header); check that the file is complete and is audio, or convert it to wav",
            source=name,
        )
    raw = f"; if they are raw PCM samples (no header), {RAW_PCM_HOW}" if isinstance(data, bytes) else ""
    return AudioInputError(
        f"not a readable audio or video file (FFmpeg: {ffmpeg_reason(err)}); "
        f"check that the file is complete and is audio, or convert it to wav{raw}",
        source=name,
    )


# how bytes of bare samples (a microphone's buffer, PyAudio's callback) are read: no header says their
# format or rate (StreamingClassifier.push says it too)
RAW_PCM_HOW = (
    "decode them first, e.g. np.frombuffer(data, np.int16) / 32768 for 16-bit mono PCM "
    "(.reshape(-1, channels) for interleaved channels; np.float32 for float samples), and pass their "
    "rate: classify(samples, sampling_rate=16000)"
)
EBML_MAGIC = b"\x1a\x45\xdf\xa3"  # the start of a WebM / Matroska file's header
MATROSKA_CLUSTER = b"\x1f\x43\xb6\x75"  # a Cluster element: where a MediaRecorder's later chunks start


def continuation_error(head: bytes, name: str) -> AudioInputError | None:
    """The error for encoded bytes that start with a Matroska Cluster, not its EBML header: a browser
    MediaRecorder's second or later chunk (``timeslice``), which cannot be read alone (it was "not a
    readable audio or video file ... convert it to wav"); None for other bytes."""
    if not head.startswith(MATROSKA_CLUSTER):
        return None
    return AudioInputError(
        "is a continuation chunk of a WebM/Matroska stream without its header (it starts with a Cluster, "
        "not the EBML header 1A 45 DF A3): a browser's MediaRecorder puts the header in its first chunk "
        "only. Keep the first chunk's bytes and append each later chunk to them; decode the growing "
        "recording (load_audio(first + later)) and push only its new samples to a StreamingClassifier",
        source=name,
    )


def _first_bytes(data: str | bytes | None) -> bytes:
    """The first 4 bytes of ``data``: bytes, or the file at a path (b"" where it cannot be read)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data[:4])
    if isinstance(data, str) and not data.startswith(("http:", "https:")):
        try:
            with open(data.removeprefix("file:"), "rb") as f:
                return f.read(4)
        except OSError:
            return b""
    return b""


# the endings of headerless audio files (bare samples: telephony and embedded recorders, Asterisk's
# .sln, SoX's .ul/.al/.sw): FFmpeg cannot probe them, so they read as "not a media file at all"
HEADERLESS = {
    ".raw": "s16le", ".pcm": "s16le", ".sln": "s16le", ".sln8": "s16le", ".sln16": "s16le", ".s16": "s16le",
    ".sw": "s16le", ".ulaw": "mulaw", ".mulaw": "mulaw", ".ul": "mulaw", ".mu": "mulaw", ".alaw": "alaw",
    ".al": "alaw", ".u8": "u8", ".ub": "u8",
}  # fmt: skip


def headerless_error(name: str) -> AudioInputError | None:
    """The error for a file FFmpeg could not read whose name ends as headerless audio does (``call.raw``
    was "FFmpeg finds no audio stream in it ... not a media file at all"): it holds samples without
    a rate or format, and the message says how to read it; None for other names."""
    suffix = os.path.splitext(str(name))[1].lower()
    fmt = HEADERLESS.get(suffix)
    if fmt is None:
        return None
    rate = "16000" if suffix == ".sln16" else "8000"
    base = os.path.basename(str(name)) or f"x{suffix}"
    wav = shlex.quote(os.path.splitext(base)[0] + ".wav")
    other = "" if fmt != "s16le" else " (mu-law: -f mulaw, A-law: -f alaw)"
    python = (
        f"; or in Python classify(np.fromfile(path, '<i2'), sampling_rate={rate}) (16-bit little-endian)"
        if fmt == "s16le"
        else ""
    )
    return AudioInputError(
        f"looks like headerless audio ({suffix}): bare samples, without the sampling rate, sample format "
        f"or channel count that FFmpeg needs to read it; convert it naming them, e.g. ffmpeg -f {fmt} "
        f"-ar {rate} -ac 1 -i {shlex.quote(base)} {wav}{other}, with the rate it was recorded at (8000 "
        f"for a phone line){python}",
        source=name,
    )


def ffmpeg_reason(err: Exception) -> str:
    """The useful tail of a torchcodec error ("Invalid data found when processing input")."""
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text.rsplit(", ", 1)[-1][:200]


def is_out_of_memory(err: BaseException) -> bool:
    """A MemoryError, torch's out-of-memory error, or FFmpeg's ENOMEM ("Cannot allocate memory")."""
    return (
        isinstance(err, MemoryError)
        or "out of memory" in str(err).lower()
        or ("cannot allocate memory" in str(err).lower())
    )


def too_long_error(name: str, seconds: float | None) -> AudioTooLongError:
    """A recording that does not fit in memory decoded whole: say so, and what reads it in chunks."""
    length = (
        f" ({seconds / 3600:.1f} hours)"
        if seconds and seconds >= 3600
        else (f" ({seconds / 60:.0f} min)" if seconds else "")
    )
    return AudioTooLongError(
        f"the recording is too long{length} to hold in memory decoded whole; use timeline() or "
        "`ser-hf predict`, which read it in chunks, or cut it into shorter files",
        source=name,
    )
