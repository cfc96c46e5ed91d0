"""Long recordings in bounded memory: successive chunks of a file, of its encoded bytes or of an open
file (a web upload), decoded as :func:`load_audio` would.

The timeline reads a 10-minute call this way, so that it never becomes one giant tensor.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..errors import AudioInputError, SERError
from .audio import (
    AUDIO_EXTENSIONS,
    DEFAULT_SAMPLING_RATE,
    UNKNOWN_FRAMES,
    _decode_path,
    _ffmpeg_error,
    _pick,
    _resampled_blocks,
    _warn_if_cut_short,
    channel_index,
    check_channel,
    load_audio,
)
from .cut_files import cut_before_audio_error, warn_cut_mid_frame
from .ffmpeg_decode import _decode_until_damage, read_to_damage
from .ffmpeg_input import ffmpeg_source
from .ogg_chain import ogg_parts
from .ogg_damage import warn_damaged
from .resampling import check_rate
from .source_kinds import _describe, encoded_input, is_file_object, resolve_stream
from .tracks import check_track, holds_video, libsndfile_track, open_track, track_index, track_length
from .wav_header import check_file_rate

logger = logging.getLogger(__name__)


def iter_audio_chunks(
    source: str | os.PathLike | bytes | BinaryIO,
    chunk_seconds: float,
    sampling_rate: int = DEFAULT_SAMPLING_RATE,
    channel: int | str | None = None,
    track: int | str | None = None,
    name: str | None = None,
) -> Iterator[np.ndarray]:
    """Yield successive float32 mono chunks of ``chunk_seconds`` from a file, from its encoded bytes or
    from an open binary file / ``io.BytesIO`` (a web upload: read where it lies when it can seek and is
    at its start, else read once, as :func:`load_audio` reads it), in bounded memory (its channels
    averaged, or the one ``channel`` names, of its audio ``track``, as :func:`load_audio` reads it).
    ``name``: what messages call it (default: its path, or what :func:`load_audio` calls it).

    The last chunk may be shorter. Used for long recordings so that a 10-minute file never becomes
    one giant tensor; a recording whose container does not give its length (a browser's WebM, a FLAC
    written to a pipe) is read in chunks too, up to its end.
    """
    channel, track = channel_index(channel), track_index(track)
    if isinstance(source, (str, os.PathLike)):
        name, p = name or str(source), Path(source)
        try:
            usable = p.is_file() and p.stat().st_size > 0
        except OSError:  # a name too long for the file system: a raw OSError from timeline()
            usable = False
        data: Any = resolve_stream(p)  # a pipe (/dev/stdin, <(...)): read once, its bytes in chunks
        if not isinstance(data, bytes):
            data = str(source)
            if not usable:  # raises the precise error (missing, a folder, empty, bad name)
                _decode_path(p, sampling_rate, channel)
    else:
        name = name or _describe(source)
        data = encoded_input(source, name)
        if not (is_file_object(data) or isinstance(data, bytes) and data):  # empty, the text of a file
            load_audio({"bytes": data, "path": name})  # raises the precise error
    yield from _chunks(data, name, chunk_seconds, sampling_rate, channel, track)


def _opened(data: Any) -> Any:
    """``data`` as libsndfile reads it: a path as it is, bytes as a file, a file object from its start."""
    if isinstance(data, bytes):
        return io.BytesIO(data)
    if is_file_object(data):
        data.seek(0)
    return data


def _chunks(
    data: Any, name: str, chunk_seconds: float, sampling_rate: int, channel: int | None, track: int | None
) -> Iterator[np.ndarray]:
    """:func:`iter_audio_chunks` of ``data``: a path (str), non-empty encoded bytes or a binary file object."""
    import soundfile as sf

    if ogg := ogg_parts(data):  # a chained Ogg: link after link; a damaged one read past its damage
        links, damage = ogg
        parts = (
            c for link in links for c in _chunks(link, name, chunk_seconds, sampling_rate, channel, track)
        )
        held = 0
        for chunk in _reblocked(parts, max(1, round(chunk_seconds * sampling_rate))):
            held += len(chunk)
            yield chunk
        if damage is not None:
            warn_damaged(name, damage, held / sampling_rate)
        return
    try:
        info = sf.info(_opened(data))
    except Exception:
        info = None
    # a cut MP3's header promises more than it holds; a multiplexed Ogg: FFmpeg picks the track; a FLAC
    # of unknown length: libsndfile fails at its end, after its first chunks
    known = info is not None and info.format != "MP3" and info.frames < UNKNOWN_FRAMES
    resume = 0  # the samples libsndfile gave before a FLAC's damage: FFmpeg reads on from there
    if known and libsndfile_track(info.format, _opened(data), track, name):
        yielded = 0
        try:  # resampled with context: the chunks join as the whole file
            with sf.SoundFile(_opened(data)) as f:
                check_file_rate(int(f.samplerate), name, data)
                check_channel(f.channels, channel, name)  # a channel it lacks, said first
                _warn_if_cut_short(f, name, data)  # a WAV's header, an Ogg's cut page
                for chunk in _resampled_blocks(f, sampling_rate, chunk_seconds, channel):
                    if not np.all(np.isfinite(chunk)):
                        raise AudioInputError(
                            "contains NaN or infinite samples; the recording is corrupt", source=name
                        )
                    yielded += len(chunk)
                    yield chunk
            return
        except Exception as err:
            if isinstance(err, SERError):
                raise
            resume = yielded if info.format == "FLAC" else 0  # a FLAC cut short: up to its cut
            # corrupt after its first chunk (not a FLAC): what came before is already classified
            if yielded and not resume:
                raise AudioInputError(
                    f"not a readable audio file after {chunk_seconds:g} s (libsndfile: {err}); check "
                    "that the file is complete, or convert it to wav",
                    source=name,
                ) from err
        # libsndfile cannot read its first chunk: FFmpeg decodes what it can, as load_audio does
    source = ffmpeg_source(data, name)  # a path as that file (not a URL), no playlist of other files
    try:
        decoder = open_track(source, name, sampling_rate, track)  # its audio track ``track``
    except SERError:
        raise
    except Exception:  # decode whole: the precise error (no audio track, not audio, no FFmpeg), or a
        # name FFmpeg refuses (not UTF-8) (rare)
        given = Path(data) if isinstance(data, str) else {"bytes": _read(data), "path": name}
        whole = load_audio(given, sampling_rate, channel=channel, track=track)
        step = int(chunk_seconds * sampling_rate)
        for start in range(0, len(whole), step):
            yield whole[start : start + step]
        return
    meta = decoder.metadata
    # a Matroska track's own length, where FFmpeg gives the file's; None: a browser's WebM, a stale tag
    duration = track_length(data, decoder)
    # a video's audio may start after its picture (a dubbed track): read from where it starts
    begin = float(meta.begin_stream_seconds or 0.0)
    if meta.sample_rate:
        check_file_rate(int(meta.sample_rate), name, data)
    if meta.num_channels:
        check_channel(int(meta.num_channels), channel, name)
    # the times of a timeline are the audio's, not the picture's; an audio file's own start (an MP3
    # encoder's delay) was warned about on every call, in words about video
    video = (
        Path(data).suffix.lower() not in AUDIO_EXTENSIONS if isinstance(data, str) else holds_video(decoder)
    )
    if begin > 0.05 and video:
        logger.warning(
            "%s: its audio starts %.2f s into the file: times count from the start of the audio "
            "(add %.2f s for the video's clock)",
            name,
            begin,
            begin,
        )
    start, decoded, end = begin + resume / sampling_rate, resume, begin + duration if duration else None
    while True:
        # past the header's duration too: an MP3 without a Xing header has only FFmpeg's estimate
        # (50.9 s of a 61-s recording), so reading goes on while audio comes
        stop = min(start + chunk_seconds, end) if end is not None and start < end else start + chunk_seconds
        try:
            chunk = _pick(decoder.get_samples_played_in_range(start, stop).data.numpy(), channel, name, 0)
        except RuntimeError as err:
            first = start == begin
            if not first and (end is None or start >= end):  # the end of the audio, after its header's
                # duration, or of a recording whose length no header gave (an ADTS file's is guessed)
                warn_cut_mid_frame(data, name, decoded / sampling_rate)
                return
            # a file cut short: its header (an MP3's frame count) promised more audio than it holds;
            # what decodes of this chunk before the damage is read too (of an MP3's first chunk as well,
            # as load_audio reads a cut MP3: a 61-s MP3 cut mid-frame at 59 s was an error)
            tail = (
                None
                if first and not read_to_damage(decoder)
                else _decode_until_damage(decoder, start, channel=channel)
            )
            if tail is None and first:
                raise cut_before_audio_error(data, name) or _ffmpeg_error(err, name) from err
            if tail is not None:
                decoded += tail[0].size
                yield tail[0]
            if not warn_cut_mid_frame(data, name, decoded / sampling_rate):  # an ADTS file's length is
                _warn_ends_early(name, decoded / sampling_rate, duration)  # a guess from its size
            return
        if chunk.size:
            decoded += chunk.size
            yield chunk.astype(np.float32, copy=False)
        elif end is None or start >= end:
            warn_cut_mid_frame(data, name, decoded / sampling_rate)  # an Ogg's cut page is dropped
            return
        start = stop


def _warn_ends_early(name: str, held_s: float, duration: float | None) -> None:
    """The warning of a file whose audio stops decoding after ``held_s`` seconds, before the
    ``duration`` its header gives; a header that gives none (0 s) is no length to compare with (a
    chained Ogg's "0.0 s its header gives" was a 29-s clip's): its ``cut_short`` record is then
    (None, ``held_s``)."""
    if duration:
        message, args = "%s: the audio ends after %.1f s, not at the %.1f s its header gives", (duration,)
    else:
        message, args = (
            "%s: the audio cannot be decoded after %.1f s (damaged or cut short); read up to there",
            (),
        )
    logger.warning(message, name, held_s, *args, extra={"cut_short": (duration or None, held_s)})


def _reblocked(chunks: Iterator[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """``chunks`` joined and cut again into chunks of ``size`` samples (the last one shorter)."""
    held = np.zeros(0, np.float32)
    for chunk in chunks:
        held = np.concatenate([held, chunk])
        while len(held) >= size:
            yield held[:size]
            held = held[size:]
    if len(held):
        yield held


def _read(data: Any) -> Any:
    """The bytes of ``data`` (bytes, or a file object read from its start)."""
    return data if isinstance(data, bytes) else _opened(data).read()


def decoder_chunks(
    decoder: Any,
    chunk_seconds: float,
    sampling_rate: int = DEFAULT_SAMPLING_RATE,
    channel: int | str | None = None,
    track: int | str | None = None,
    name: str | None = None,
) -> Iterator[np.ndarray]:
    """:func:`iter_audio_chunks` of a torchcodec (or ``datasets``) ``AudioDecoder``: its samples read by
    time range (``get_samples_played_in_range``) and resampled to ``sampling_rate`` as a file's chunks
    are, so they join as :func:`load_audio` gives the decoder whole and memory stays bounded (a
    timeline decoded the whole recording first). A decoder that cannot read its first range is
    decoded whole, as :func:`load_audio` reads it (its precise error)."""
    channel, track = channel_index(channel), track_index(track)
    name = name or _describe(decoder)
    check_track(1, track, name)  # a decoder is opened on one track
    try:
        f = _DecoderFile(decoder, name)
    except Exception:
        whole = load_audio(decoder, sampling_rate, channel=channel)  # raises what it cannot decode
        step = max(1, int(chunk_seconds * sampling_rate))
        yield from (whole[start : start + step] for start in range(0, len(whole), step))
        return
    check_rate(f.samplerate, name)
    check_channel(f.channels, channel, name)
    for chunk in _resampled_blocks(f, sampling_rate, chunk_seconds, channel):
        if not np.all(np.isfinite(chunk)):
            raise AudioInputError("contains NaN or infinite samples; the recording is corrupt", source=name)
        yield chunk.astype(np.float32, copy=False)


class _DecoderFile:
    """An ``AudioDecoder`` as :func:`_resampled_blocks` reads a ``soundfile.SoundFile``: ``read(frames)``
    gives its next frames ``(frames, channels)``, each range starting where the last one stopped (the
    same time, so no sample is lost or repeated); from where :meth:`get_all_samples` starts."""

    def __init__(self, decoder: Any, name: str):
        meta = getattr(decoder, "metadata", None)
        self.decoder, self.name = decoder, name
        self.start = max(0.0, float(getattr(meta, "begin_stream_seconds", None) or 0.0))
        first = decoder.get_samples_played_in_range(self.start, self.start)  # its rate (datasets' way)
        self.samplerate, self.channels = int(first.sample_rate), int(first.data.shape[0])
        self.frames, self.done = 0, False  # read so far; its end reached

    def read(self, frames: int, dtype: str = "float32", always_2d: bool = True) -> np.ndarray:
        parts: list[np.ndarray] = []
        wanted = frames
        while wanted > 0 and not self.done:
            begin = self.start + self.frames / self.samplerate
            stop = self.start + (self.frames + wanted) / self.samplerate
            try:
                got = self.decoder.get_samples_played_in_range(begin, stop).data.numpy()
            except RuntimeError as err:  # past its end: "No audio frames were decoded"
                if not self.frames:  # its first range: load_audio's error
                    raise AudioInputError(
                        f"the AudioDecoder could not decode its source ({err})", source=self.name
                    ) from err
                got = np.zeros((self.channels, 0), np.float32)
            if not got.shape[-1]:
                self.done = True
                break
            parts.append(got.T)
            self.frames += got.shape[-1]
            wanted -= got.shape[-1]
        if not parts:
            return np.zeros((0, self.channels), dtype)
        return np.concatenate(parts).astype(dtype, copy=False)
