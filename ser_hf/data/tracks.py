"""Files with several audio tracks: an OBS, Zoom or video editor's export (track 0 the desktop audio
or silence, track 1 the microphone), a film with a track per language.

FFmpeg decodes one of them (its "best" audio stream); it was classified without a word. Now
:func:`open_track` says so (a warning naming the file, its number of tracks, the one read and how
to pick another) and reads the track a user picks (``track=``, ``--track``), counted from 0 among
the audio tracks as ``--channel`` counts channels (FFmpeg's ``-map 0:a:N`` counts them so too). A
multiplexed Ogg file, whose first stream libsndfile reads alone, goes to FFmpeg
(:func:`several_ogg_streams`).
"""

from __future__ import annotations

import io
import logging
import os
from typing import Any, BinaryIO

from ..errors import NoSuchTrackError, SERError
from .cut_files import length_is_a_guess
from .matroska import audio_track_seconds, is_matroska
from .samples import counted_from_zero

logger = logging.getLogger(__name__)

_OGG_HEAD_BYTES = 1 << 16  # the first pages of an Ogg file, where every stream's first page lies


def track_index(track: Any) -> int | None:
    """A user's track choice as a 0-based index among the audio tracks: ``None`` (FFmpeg's choice,
    with a warning when there are several) or a track number ``N`` (``"1"`` too)."""
    if track is None or (isinstance(track, str) and track.strip().lower() in ("none", "")):
        return None
    index = counted_from_zero(track)
    if index is None:
        raise SERError(
            f"invalid track {track!r}; give an audio track number counted from 0 (0 = the first audio "
            "track, 1 = the second), or none for FFmpeg's choice"
        )
    return index


def check_track(count: int, track: int | None, name: str) -> None:
    """A :class:`NoSuchTrackError` when a file of ``count`` audio tracks lacks ``track``."""
    if track is not None and track >= count:
        pick = "0" if count == 1 else f"one from 0 to {count - 1}"
        raise NoSuchTrackError(
            f"has {count} audio track{'s' if count != 1 else ''}, so track {track} (counted from 0, 0 = the "
            f"first) is not there; pick {pick}, or leave the track out",
            source=name,
        )


def ogg_streams(head: bytes) -> int:
    """How many logical streams the Ogg file whose first bytes are ``head`` holds: its pages that
    begin a stream, which all come first (0: not Ogg)."""
    count, at = 0, 0
    while head[at : at + 4] == b"OggS" and len(head) >= at + 27 and head[at + 5] & 0x02:
        count += 1
        table = head[at + 27 : at + 27 + head[at + 26]]
        at += 27 + len(table) + sum(table)
    return count


def several_ogg_streams(data: str | BinaryIO) -> bool:
    """Whether ``data`` (a path, or an ``io.BytesIO`` or open binary file from its start) is an Ogg file
    of several streams, whose first one alone libsndfile reads (a silent track 0, never a word of the
    microphone's track 1)."""
    if isinstance(data, io.BytesIO):
        with data.getbuffer() as view:
            return ogg_streams(bytes(view[:_OGG_HEAD_BYTES])) > 1
    if hasattr(data, "read"):  # an upload: its head, and back to its start for the reader
        data.seek(0)
        head = data.read(_OGG_HEAD_BYTES)
        data.seek(0)
        return ogg_streams(head) > 1
    try:
        with open(data, "rb") as f:
            return ogg_streams(f.read(_OGG_HEAD_BYTES)) > 1
    except OSError:
        return False


def libsndfile_track(file_format: str, data: str | BinaryIO, track: int | None, name: str) -> bool:
    """Whether libsndfile reads ``data`` (of libsndfile's ``file_format``) as its one audio track: not a
    multiplexed Ogg file, whose first stream alone it reads (FFmpeg then picks the track); a
    :class:`NoSuchTrackError` when ``track`` asks for another than a WAV's, FLAC's or Ogg's one."""
    if file_format == "OGG" and several_ogg_streams(data):
        return False
    check_track(1, track, name)
    return True


def audio_streams(decoder: Any) -> list[int] | None:
    """The stream numbers of the audio tracks in the file that a torchcodec ``AudioDecoder`` opened, in
    the file's order; None when this torchcodec cannot list them."""
    try:
        from torchcodec._core import AudioStreamMetadata, get_container_metadata

        streams = get_container_metadata(decoder._decoder).streams
    except Exception:  # pragma: no cover - another torchcodec
        return None
    return [i for i, stream in enumerate(streams) if isinstance(stream, AudioStreamMetadata)]


def track_seconds(source: Any, decoder: Any) -> float | None:
    """The length of the audio track a torchcodec ``AudioDecoder`` opened on ``source`` (a path, encoded
    bytes or a binary file object: the one FFmpeg was handed) reads, as a Matroska / WebM file's
    ``DURATION`` tag of that track gives it (FFmpeg gives each track the file's length: a 4-s track
    beside a 75-minute one lasted 75 minutes); None when the file does not say."""
    streams = audio_streams(decoder)
    if not streams or decoder.stream_index not in streams:
        return None
    seconds = audio_track_seconds(source, streams.index(decoder.stream_index), len(streams))
    longest = decoder.metadata.duration_seconds or decoder.metadata.duration_seconds_from_header
    return seconds if seconds and (not longest or seconds <= longest + 1.0) else None


def track_length(source: Any, decoder: Any) -> float | None:
    """The length in seconds of the audio track a torchcodec ``AudioDecoder`` opened on ``source`` (as
    :func:`track_seconds` takes it): a Matroska / WebM track's ``DURATION`` tag, else FFmpeg's length;
    None when none is given. In a Matroska / WebM file a length the track plays past is no length: a
    tag copied from a shorter file (``ffmpeg -c copy`` to a pipe keeps the input's tags, and FFmpeg
    then takes its length from them) said 2 s of a 30-s track, which was scored as a 2-s clip on its
    last 8 s, never given a timeline, and passed the one-hour limit whatever its length. The next
    length is tried, and None (a length to be found by decoding) when the track plays past them all,
    or when FFmpeg's length is only a guess (an ADTS AAC: :func:`cut_files.length_is_a_guess`)."""
    if length_is_a_guess(source):  # an ADTS AAC's, from its size: a 43-s file with a quiet start, 164 s
        return None
    meta = decoder.metadata
    tag = track_seconds(source, decoder)
    lengths = (tag, meta.duration_seconds, meta.duration_seconds_from_header)
    checked = tag is not None or is_matroska(source)
    for seconds in dict.fromkeys(float(s) for s in lengths if s):  # each once, in that order
        if not (checked and _plays_past(source, decoder, seconds)):
            return seconds
    return None


def _plays_past(source: Any, decoder: Any, seconds: float, margin_s: float = 0.25) -> bool:
    """Whether the track of ``decoder`` holds audio more than ``margin_s`` past ``seconds`` from its
    start: a seek there (the file's index, a few packets decoded) by a decoder of its own, as one
    that fails there cannot go back to the start (torchcodec), ``source`` (a file object) left
    where it was."""
    from torchcodec.decoders import AudioDecoder

    at = float(decoder.metadata.begin_stream_seconds or 0.0) + seconds + margin_s
    where = source.tell() if hasattr(source, "seek") else None
    if isinstance(source, str) and not source.startswith("file:"):
        source = "file:" + os.path.abspath(source)  # a path as that file, never a URL
    try:
        probe = AudioDecoder(_from_start(source), stream_index=decoder.stream_index)
        return probe.get_samples_played_in_range(at, at + 0.5).data.shape[-1] > 0
    except Exception:  # torchcodec: "No audio frames were decoded": the track ends before
        return False
    finally:
        if where is not None:
            source.seek(where)


def holds_video(decoder: Any) -> bool:
    """Whether the file a torchcodec ``AudioDecoder`` opened holds a picture (a video), as far as this
    torchcodec tells."""
    try:
        from torchcodec._core import VideoStreamMetadata, get_container_metadata

        streams = get_container_metadata(decoder._decoder).streams
    except Exception:  # pragma: no cover - another torchcodec
        return False
    return any(isinstance(stream, VideoStreamMetadata) for stream in streams)


def open_track(
    source: str | bytes | BinaryIO,
    name: str,
    sampling_rate: int | None,
    track: int | None = None,
    warn: bool = True,
) -> Any:
    """A torchcodec ``AudioDecoder`` of ``source`` on its audio track ``track`` (None: FFmpeg's choice,
    with a warning when the file holds several and ``warn``). Raises the decoder's own error for a file
    FFmpeg cannot open (the caller words it), :class:`NoSuchTrackError` for a track it lacks."""
    from torchcodec.decoders import AudioDecoder

    # channels are averaged by the caller, not by FFmpeg's downmix (which scales stereo by -3 dB each)
    decoder = AudioDecoder(_from_start(source), sample_rate=sampling_rate)
    streams = audio_streams(decoder)
    if track is not None:
        if streams is None:  # pragma: no cover - another torchcodec
            raise SERError(
                "this torchcodec cannot list a file's audio tracks; upgrade it (pip install -U torchcodec) "
                "to pick one",
                source=name,
            )
        check_track(len(streams), track, name)
        if streams[track] != decoder.stream_index:
            decoder = AudioDecoder(
                _from_start(source), stream_index=streams[track], sample_rate=sampling_rate
            )
    elif warn and streams and len(streams) > 1 and decoder.stream_index in streams:
        used = streams.index(decoder.stream_index)
        logger.warning(
            "%s: holds %d audio tracks and only track %d (counted from 0) is read; pick another with "
            "track=N (--track N of ser-hf predict and extract-audio)",
            name,
            len(streams),
            used,
            extra={"audio_tracks": (len(streams), used)},  # predict's row says so
        )
    return decoder


def _from_start(source: Any) -> Any:
    """``source``; an open file (an upload FFmpeg reads where it lies) back at its start first: FFmpeg
    reads it from where it is, and seeks from its start."""
    if hasattr(source, "seek") and not isinstance(source, (str, bytes)):
        source.seek(0)
    return source
