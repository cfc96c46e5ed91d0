"""Decoding through FFmpeg (torchcodec): what libsndfile cannot read (MP3, M4A, the audio track of
a video, everything else), mixed down to mono or one channel kept, of one audio track
(:mod:`ser_hf.data.tracks`); a cut MP3, FLAC, AAC (ADTS or an M4A whose index comes first) or Opus
read up to its damage, with a warning, and an Ogg or ADTS file that ends inside a page or frame
said to be cut short (:mod:`ser_hf.data.cut_files`).

:func:`~ser_hf.data.audio.load_audio` and the timeline's chunks (:mod:`ser_hf.data.chunks`) decode
through it; :mod:`ser_hf.data.ffmpeg_input` says what FFmpeg is handed and the errors it raises.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..errors import SERError
from .cut_files import cut_before_audio_error, warn_cut_mid_frame
from .ffmpeg_input import ffmpeg_error as _ffmpeg_error
from .ffmpeg_input import ffmpeg_source, is_out_of_memory, too_long_error
from .matroska import is_matroska
from .samples import _pick, check_channel
from .tracks import open_track, track_length
from .wav_header import check_file_rate

# the warnings of a damaged file keep the logger name they had in ser_hf.data.audio (the CLI prints it)
logger = logging.getLogger("ser_hf.data.audio")


def _decode_ffmpeg(
    data: str | bytes,
    name: str,
    sampling_rate: int | None,
    channel: int | None = None,
    track: int | None = None,
) -> tuple[np.ndarray, int]:
    try:
        from torchcodec.decoders import AudioDecoder  # noqa: F401
    except Exception as err:  # pragma: no cover - depends on the machine
        raise SERError(
            f"cannot decode this format without FFmpeg ({err}); install FFmpeg (apt-get install ffmpeg) "
            "or convert the file to wav/flac",
            source=name,
        ) from err
    source = ffmpeg_source(data, name)  # a path as that file (not a URL), no playlist of other files
    try:
        decoder = open_track(source, name, sampling_rate, track)  # its audio track ``track``
    except SERError:
        raise
    except Exception as err:
        raise _ffmpeg_error(err, name, data=data) from err
    if decoder.metadata.sample_rate:  # a 1-Hz header made 2,000 s of a 4-KB file
        check_file_rate(int(decoder.metadata.sample_rate), name, data)
    if decoder.metadata.num_channels:  # a channel it lacks: said before decoding
        check_channel(int(decoder.metadata.num_channels), channel, name)
    try:
        decoded = decoder.get_all_samples()
    except Exception as err:
        header = decoder.metadata.duration_seconds_from_header
        if is_out_of_memory(err):
            raise too_long_error(name, header) from err
        # a cut MP3, FLAC or AAC (the first 3 MB of an upload): what it holds up to the cut
        held = _decode_until_damage(decoder, channel=channel) if read_to_damage(decoder) else None
        if held is None:
            raise cut_before_audio_error(data, name) or _ffmpeg_error(err, name) from err
        if warn_cut_mid_frame(data, name, len(held[0]) / held[1]):  # an ADTS file gives no length
            return held
        gives = f" (its header gives {header:.2f} s)" if header else ""  # 0 s, or none: no length
        logger.warning(
            "%s: the audio is damaged or cut short after %.2f s%s; the clip is read up to there",
            name,
            len(held[0]) / held[1],
            gives,
            extra={"cut_short": (header or None, len(held[0]) / held[1])},  # predict's row says so
        )
        return held
    samples = _pick(decoded.data.numpy(), channel, name, 0).astype(np.float32, copy=False)
    held_s = len(samples) / int(decoded.sample_rate)
    if not warn_cut_mid_frame(data, name, held_s):  # an Ogg's cut page is dropped
        warn_cut_matroska(data, decoder, name, held_s)  # so is a WebM's cut cluster
    return samples, int(decoded.sample_rate)


def _cut_margin(header_s: float) -> float:
    """How much less audio than its header gives a file may hold and be whole (an encoder's delay), as
    ``ser-hf predict``'s row allows."""
    return max(0.25, 0.05 * header_s)


def warn_cut_matroska(data: Any, decoder: Any, name: str, held_s: float) -> bool:
    """Warn, and return True, when the Matroska / WebM ``data`` (what FFmpeg was handed: a path, bytes
    or a binary file object) holds less audio (``held_s`` seconds) than its header gives its track:
    cut short (an upload or copy interrupted), which FFmpeg reads up to the cut without a word (a
    6-s WebM cut at 60 % was classified as a whole 3.6-s clip; only predict's row said "truncated").
    Its ``cut_short`` record is (the header's seconds, ``held_s``)."""
    header = decoder.metadata.duration_seconds_from_header or decoder.metadata.duration_seconds
    if not header or header - held_s <= _cut_margin(header) or not is_matroska(data):
        return False
    length = track_length(data, decoder)  # the track's own (FFmpeg gives each track the file's)
    if not length or length - held_s <= _cut_margin(length):
        return False
    logger.warning(
        "%s: the file is cut short: its header gives %.2f s of audio, it holds %.2f s (an upload or copy "
        "interrupted); the clip is read up to the cut",
        name,
        length,
        held_s,
        extra={"cut_short": (length, held_s)},  # predict's row says so
    )
    return True


def read_to_damage(decoder: Any) -> bool:
    """Whether a file ``decoder`` fails to decode whole is read up to its damage instead: an MP3, FLAC,
    AAC or Opus stream, whose frames each decode alone (FFmpeg's "Could not push packet to decoder" at
    a FLAC's or ADTS AAC's cut last frame, or at one damaged Opus packet, failed the whole file, where
    a cut WAV or MP3 was read)."""
    return decoder.metadata.codec in ("mp3", "flac", "aac", "opus")


def _decode_until_damage(
    decoder: Any,
    begin: float | None = None,
    step_s: float = 0.1,
    channel: int | None = None,
    coarse_s: float = 10.0,
) -> tuple[np.ndarray, int] | None:
    """What ``decoder`` decodes from ``begin`` (default: the stream's start) up to the first frame it
    cannot (mono, its rate): ``coarse_s`` at a time, then from the stretch that fails ``step_s`` at a
    time (half an hour of a cut FLAC took 43 s in 0.1-s steps, 6 s so); None when not even the first
    step decodes."""
    begin = float(decoder.metadata.begin_stream_seconds or 0.0) if begin is None else begin
    pieces, rate, step = [], None, max(coarse_s, step_s)
    while True:
        try:
            got = decoder.get_samples_played_in_range(begin, begin + step)
        except Exception:
            if step <= step_s:
                break
            step = step_s  # the damage lies in this stretch: up to it in small steps
            continue
        if not got.data.shape[-1]:
            break
        pieces.append(_pick(got.data.numpy(), channel, "<audio>", 0))
        rate, begin = int(got.sample_rate), begin + step
    if not pieces or rate is None:
        return None
    return np.concatenate(pieces).astype(np.float32, copy=False), rate
