"""Long recordings in bounded memory: successive chunks of a file, decoded as :func:`load_audio` would.

The timeline reads a 10-minute call this way, so that it never becomes one giant tensor.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import AudioInputError, SERError
from .audio import (
    AUDIO_EXTENSIONS,
    DEFAULT_SAMPLING_RATE,
    _decode_path,
    _ffmpeg_error,
    _pick,
    _resampled_blocks,
    _warn_if_cut_short,
    channel_index,
    check_channel,
    load_audio,
)
from .ffmpeg_decode import _decode_until_damage
from .ffmpeg_input import ffmpeg_source
from .resampling import check_rate
from .tracks import libsndfile_track, open_track, track_index

logger = logging.getLogger(__name__)


def iter_audio_chunks(
    path: str | os.PathLike,
    chunk_seconds: float,
    sampling_rate: int = DEFAULT_SAMPLING_RATE,
    channel: int | str | None = None,
    track: int | str | None = None,
) -> Iterator[np.ndarray]:
    """Yield successive float32 mono chunks of ``chunk_seconds`` from a file, in bounded memory
    (its channels averaged, or the one ``channel`` names, of its audio ``track``, as
    :func:`load_audio` reads it).

    The last chunk may be shorter. Used for long recordings so that a 10-minute file never becomes
    one giant tensor.
    """
    name, channel, track = str(path), channel_index(channel), track_index(track)
    p = Path(path)
    try:
        usable = p.is_file() and p.stat().st_size > 0
    except OSError:  # a name too long for the file system: a raw OSError from timeline()
        usable = False
    if not usable:
        _decode_path(
            p, sampling_rate, channel
        )  # raises the precise error (missing, a folder, empty, bad name)
    import soundfile as sf

    try:
        info = sf.info(name)
    except Exception:
        info = None
    # a cut MP3's header promises more than it holds; a multiplexed Ogg: FFmpeg picks the track
    if info is not None and info.format != "MP3" and libsndfile_track(info.format, name, track, name):
        yielded = False
        try:
            with sf.SoundFile(name) as f:  # resampled with context: the chunks join as the whole file
                check_rate(int(f.samplerate), name)
                check_channel(f.channels, channel, name)  # a channel it lacks, said first
                _warn_if_cut_short(f, name)
                for chunk in _resampled_blocks(f, sampling_rate, chunk_seconds, channel):
                    if not np.all(np.isfinite(chunk)):
                        raise AudioInputError(
                            "contains NaN or infinite samples; the recording is corrupt", source=name
                        )
                    yielded = True
                    yield chunk
            return
        except Exception as err:
            if isinstance(err, SERError):
                raise
            if yielded:  # corrupt after its first chunk: what came before is already classified
                raise AudioInputError(
                    f"not a readable audio file after {chunk_seconds:g} s (libsndfile: {err}); check "
                    "that the file is complete, or convert it to wav",
                    source=name,
                ) from err
        # libsndfile cannot read its first chunk: FFmpeg decodes what it can, as load_audio does
    source = ffmpeg_source(name, name)  # a path as that file (not a URL), no playlist of other files
    try:
        decoder = open_track(source, name, sampling_rate, track)  # its audio track ``track``
        duration = decoder.metadata.duration_seconds or decoder.metadata.duration_seconds_from_header
        # a video's audio may start after its picture (a dubbed track): read from where it starts
        begin = float(decoder.metadata.begin_stream_seconds or 0.0)
    except SERError:
        raise
    except Exception:
        duration = None
    if duration and decoder.metadata.sample_rate:
        check_rate(int(decoder.metadata.sample_rate), name)
    if duration and decoder.metadata.num_channels:
        check_channel(int(decoder.metadata.num_channels), channel, name)
    if not duration:  # decode whole: the precise error (no audio track, not audio, no FFmpeg), or a
        # container without a duration header, or a name FFmpeg refuses (not UTF-8) (all rare)
        samples = load_audio(p, sampling_rate, channel=channel, track=track)
        step = int(chunk_seconds * sampling_rate)
        for start in range(0, len(samples), step):
            yield samples[start : start + step]
        return
    # the times of a timeline are the audio's, not the picture's; an audio file's own start (an MP3
    # encoder's delay) was warned about on every call, in words about video
    if begin > 0.05 and p.suffix.lower() not in AUDIO_EXTENSIONS:
        logger.warning(
            "%s: its audio starts %.2f s into the file: times count from the start of the audio "
            "(add %.2f s for the video's clock)",
            name,
            begin,
            begin,
        )
    start, decoded, end = begin, 0, begin + duration
    while True:
        # past the header's duration too: an MP3 without a Xing header has only FFmpeg's estimate
        # (50.9 s of a 61-s recording), so reading goes on while audio comes
        stop = min(start + chunk_seconds, end) if start < end else start + chunk_seconds
        try:
            chunk = _pick(decoder.get_samples_played_in_range(start, stop).data.numpy(), channel, name, 0)
        except RuntimeError as err:
            if start >= end:  # the end of the audio, after its header's duration
                return
            # a file cut short: its header (an MP3's frame count) promised more audio than it holds;
            # what decodes of this chunk before the damage is read too (of an MP3's first chunk as well,
            # as load_audio reads a cut MP3: a 61-s MP3 cut mid-frame at 59 s was an error)
            first = start == begin
            tail = (
                None
                if first and decoder.metadata.codec != "mp3"
                else _decode_until_damage(decoder, start, channel=channel)
            )
            if tail is None and first:
                raise _ffmpeg_error(err, name) from err
            if tail is not None:
                decoded += tail[0].size
                yield tail[0]
            logger.warning(
                "%s: the audio ends after %.1f s, not at the %.1f s its header gives",
                name,
                decoded / sampling_rate,
                duration,
                extra={"cut_short": (duration, decoded / sampling_rate)},
            )
            return
        if chunk.size:
            decoded += chunk.size
            yield chunk.astype(np.float32, copy=False)
        elif start >= end:
            return
        start = stop
