"""Audio input: anything a user may hand us -> float32 mono at the model's rate.

One entry point, :func:`load_audio`, accepts

- a path (``str``/``Path``) to any file FFmpeg decodes: wav, flac, mp3, ogg, m4a, and the audio
  track of mp4/webm/mkv videos; or an ``http(s)://`` address of such a file (fetched, as the stock
  pipeline does);
- raw encoded bytes (the content of such a file);
- a numpy array or torch tensor of samples, with ``sampling_rate=`` (1-D, ``(samples, channels)`` or
  ``(channels, samples)``; integer PCM is scaled to [-1, 1));
- a ``{"array" | "raw": samples, "sampling_rate": sr}`` dict (the transformers/datasets convention), or
  a ``{"path": ..., "bytes": ...}`` dict (``datasets.Audio(decode=False)``);
- a ``(sampling_rate, samples)`` tuple (what ``gr.Audio(type="numpy")`` hands over);
- a datasets/torchcodec ``AudioDecoder``;
- an open binary file or ``io.BytesIO`` (what a web framework's upload hands over).

Stereo and multichannel audio is averaged to mono (``channel=`` keeps one: ``"left"``, ``"right"`` or a
number counted from 0), any rate is resampled (torchaudio), and empty,
non-audio, NaN/Inf-filled or unreadable input raises :class:`~ser_hf.errors.SERError` whose message
names the input and the problem. Decoding tries libsndfile first (fast for wav/flac/ogg), then
FFmpeg through torchcodec (:mod:`ser_hf.data.ffmpeg_decode`: mp3, m4a, video containers, everything
else); samples in memory are scaled and mixed down by :mod:`ser_hf.data.samples`; what kind of
source was handed (a path, a pipe, an open file, bytes) and the name errors give it, by
:mod:`ser_hf.data.source_kinds`.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..errors import AudioInputError, NoSuchChannelError, NoSuchTrackError, SERError
from .cut_files import cut_before_audio_error, unfinished_mp4_error, warn_cut_mid_frame
from .download import MAX_URL_BYTES, URL_DEADLINE_S, URL_TIMEOUT_S, fetch_url, url_scheme  # noqa: F401
from .ffmpeg_decode import _decode_ffmpeg
from .ffmpeg_input import ffmpeg_error as _ffmpeg_error  # noqa: F401 (chunks, tests)
from .ffmpeg_input import ffmpeg_reason as _ffmpeg_reason  # noqa: F401
from .ffmpeg_input import ffmpeg_source, too_long_error
from .ogg_chain import ogg_link_bytes, ogg_parts
from .ogg_damage import warn_damaged
from .resampling import MAX_RATE, MIN_RATE, check_rate, effective_rates, resample  # noqa: F401
from .samples import (  # noqa: F401  (some only re-exported: callers import them from here)
    _MAX_CHANNELS,
    FLOAT_PEAK_LIMIT,
    MIN_SPEECH_S,
    SILENT_PEAK,
    _as_array,
    _is_clip,
    _pick,
    _rate,
    _to_float,
    _to_mono,
    channel_index,
    check_channel,
    is_silent,
    refuse_single,
    too_short,
)
from .source_kinds import (
    _describe,
    _readable_path,
    file_position,
    is_file_object,
    is_stream_path,
    read_file_object,
    resolve_stream,
)
from .tracks import check_track, libsndfile_track, open_track, track_index, track_length
from .unicode_names import not_found_message
from .wav_header import damaged_wav_error

logger = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".wma", ".aiff", ".aif")
# telephony and Apple formats FFmpeg reads
AUDIO_EXTENSIONS += (".au", ".caf", ".gsm", ".amr", ".awb", ".spx")
VIDEO_EXTENSIONS = (".mp4", ".webm", ".mkv", ".mov", ".avi", ".m4v")
VIDEO_EXTENSIONS += (".mts", ".m2ts", ".mxf", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp")  # cameras, broadcast
MEDIA_EXTENSIONS = AUDIO_EXTENSIONS + VIDEO_EXTENSIONS
DEFAULT_SAMPLING_RATE = 16000
_WHOLE_READ_SAMPLES = 2**25  # samples x channels read at once (128 MB as float32); more go by blocks
_BLOCK_SAMPLES = 2**23  # of this many samples x channels (32 MB), at least a second, at most a minute
# libsndfile's length of a FLAC whose length is unknown (written to a pipe): 2**63 - 1 frames; it fails
# to read such a file's last block ("Internal psf_fseek() failed"), FFmpeg reads it
UNKNOWN_FRAMES = 2**62


def _decode_soundfile(
    data: str | io.BytesIO,
    sampling_rate: int | None = None,
    channel: int | None = None,
    track: int | None = None,
    name: str | None = None,
) -> tuple[np.ndarray, int] | None:
    """(mono samples, rate), or None when libsndfile cannot read it. A file whose samples would pass
    ``_WHOLE_READ_SAMPLES`` (a 250-KB FLAC of 10 min at 192 kHz x 8 channels holds 920 M) is mixed
    down and resampled to ``sampling_rate`` block by block, so memory follows the output. ``name``:
    what messages call it (default: the path)."""
    import soundfile as sf

    seconds = None
    name = name or (data if isinstance(data, str) else "<audio bytes>")
    try:
        with sf.SoundFile(data) as f:
            seconds = f.frames / f.samplerate if f.samplerate else None
            if f.format == "MP3":  # libsndfile read a VBR MP3 without a Xing header to about half its
                return None  # length (its estimate); FFmpeg decodes it whole, as timeline() always did
            if not libsndfile_track(f.format, data, track, name):  # a multiplexed Ogg: FFmpeg's
                return None
            rate = check_rate(int(f.samplerate), name)
            check_channel(f.channels, channel, name)  # before reading it
            _warn_if_cut_short(f, name, data)
            if f.frames * f.channels <= _WHOLE_READ_SAMPLES or sampling_rate is None:
                return _pick(f.read(dtype="float32", always_2d=True), channel, name, 1), rate
            return _resample_by_blocks(f, sampling_rate, channel), sampling_rate
    except (NoSuchChannelError, NoSuchTrackError):
        raise
    except MemoryError as err:  # the file is fine, only long: FFmpeg failed as well, "check the file"
        raise too_long_error(name, seconds) from err
    except Exception:  # libsndfile can't read it (m4a, video, corrupt): let FFmpeg try
        return None


def _warn_if_cut_short(f: Any, data: str | io.BytesIO, source: Any = None) -> None:
    """A WAV whose data chunk announces more bytes than the file holds (a copy or download cut
    short), or an Ogg ``source`` that ends inside a page, decodes what is there; say so, as a cut
    MP3's timeline does."""
    if f.format == "OGG" and source is not None and f.samplerate:
        warn_cut_mid_frame(source, str(data), f.frames / f.samplerate)
    found = re.search(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", f.extra_info, re.MULTILINE)
    # a WAV written to a pipe (ffmpeg -f wav -, arecord) announces 0 or the largest size, 0x7FFFFFFF or
    # 0xFFFFFFFF: it is whole, its length unknown when the header was written
    if found and int(found.group(2)) + 64 < int(found.group(1)) < 0x7FFFF000:
        held = f.frames / f.samplerate
        announced = held * int(found.group(1)) / int(found.group(2))
        logger.warning(
            "%s: the file is cut short: its header announces %.2f s of audio, it holds %.2f s; "
            "the clip is read as it is",
            data if isinstance(data, str) else "<audio bytes>",
            announced,
            held,
            extra={"cut_short": (announced, held)},  # (header's s, held s): predict's row says so
        )


def _resample_by_blocks(f: Any, target: int, channel: int | None = None) -> np.ndarray:
    """The open ``soundfile.SoundFile`` ``f`` mixed down and resampled to ``target`` a block at a time,
    as the whole file would be (:func:`_resampled_blocks`), so memory follows the output."""
    seconds = min(60.0, max(1.0, _BLOCK_SAMPLES / f.channels / f.samplerate))
    blocks = _resampled_blocks(f, target, seconds, channel)
    return np.concatenate(list(blocks)).astype(np.float32, copy=False)


def _resampled_blocks(
    f: Any, target: int, seconds: float, channel: int | None = None
) -> Iterator[np.ndarray]:
    """The open ``soundfile.SoundFile`` ``f`` mixed down (or its ``channel``) and resampled to ``target``, about ``seconds``
    at a time, each block as the whole file would give it: resampled with context on both sides
    (longer than the resampling filter) and its output trimmed to the block, whose length is a whole
    number of the rates' period, so blocks join without clicks and the length is the whole file's.
    The file is read once, in order (a seek is not exact in every codec: GSM 6.10 shifted)."""
    rate, out_rate = effective_rates(f.samplerate, target)  # what resample() converts between
    g = math.gcd(rate, out_rate)
    period, out_period = rate // g, out_rate // g  # input / output samples that align exactly
    context = period * math.ceil(4096 / period)  # the sinc kernel spans ~6 input samples per output
    block = period * max(1, round(seconds * f.samplerate) // period)

    def read() -> np.ndarray:
        return _pick(f.read(block, dtype="float32", always_2d=True), channel, str(f.name), 1)

    before, current = np.zeros(0, np.float32), read()
    while current.size:
        after = read()
        frames = np.concatenate([before, current, after[:context]])
        out = frames if f.samplerate == target else resample(frames, f.samplerate, target)
        first = before.size // period * out_period
        yield out[first : None if not after.size else first + current.size // period * out_period]
        before, current = np.concatenate([before, current])[-context:], after


def _decode_path(
    path: Path, sampling_rate: int | None, channel: int | None = None, track: int | None = None
) -> tuple[np.ndarray, int]:
    name = str(path)
    _readable_path(path)
    if not path.exists():
        raise SERError(not_found_message(path), source=name)
    if path.is_dir():
        raise SERError(
            "is a directory, not an audio file; pass a file (the CLI accepts folders)", source=name
        )
    if isinstance(piped := resolve_stream(path), bytes):  # a pipe's size is 0: its bytes, read once,
        return _decode_bytes(piped, name, sampling_rate, channel, track)  # decoded under its path
    if path.stat().st_size == 0:
        raise AudioInputError("the file is empty (0 bytes); re-record or re-export it", source=name)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # a name of bytes that are not UTF-8 (legal on Linux): libsndfile
        return _decode_bytes(path.read_bytes(), name, sampling_rate, channel, track)  # and FFmpeg refuse it
    decoded = _decode_chained(name, name, sampling_rate, channel, track)
    decoded = decoded or _decode_soundfile(name, sampling_rate, channel, track)
    if decoded is None:
        decoded = _decode_ffmpeg(name, name, sampling_rate, channel, track)
    return decoded


def _decode_chained(
    data: Any, name: str, sampling_rate: int | None, channel: int | None = None, track: int | None = None
) -> tuple[np.ndarray, int] | None:
    """A chained Ogg file (:mod:`ser_hf.data.ogg_chain`: streams one after another, an internet-radio
    dump or Opus files joined with ``cat``) decoded link after link, at ``sampling_rate`` (default: the
    first link's rate), and an Ogg file with damaged pages read past them, with a warning
    (:mod:`ser_hf.data.ogg_damage`); None for another file. libsndfile and FFmpeg read a chained file's
    first link alone, and a damaged file past its damage without a word."""
    parts = ogg_parts(data)
    if parts is None:
        return None
    links, damage = parts
    decoded = [_decode_bytes(link, name, sampling_rate, channel, track) for link in links]
    rate = sampling_rate or decoded[0][1]
    samples = np.concatenate([resample(part, part_rate, rate) for part, part_rate in decoded])
    if len(links) > 1:
        logger.info(
            "%s: chains %d Ogg streams; read one after another, %.2f s", name, len(links), len(samples) / rate
        )
    if damage is not None:
        warn_damaged(name, damage, len(samples) / rate)
    return samples.astype(np.float32, copy=False), rate


def _decode_location(
    source: str | os.PathLike, sampling_rate: int | None, channel: int | None = None, track: int | None = None
) -> tuple[np.ndarray, int]:
    """A path, or an http(s) URL (fetched, as the stock pipeline does); other URLs are an error
    that shows them as given (as a path, ``s3://x`` read "s3:/x: file not found")."""
    scheme, text = url_scheme(source), os.fspath(source)
    if not text:  # "" was read as the current folder: ".: is a directory"
        raise SERError("an empty path; give the path of an audio or video file", source="''")
    if scheme is None:
        return _decode_path(Path(source), sampling_rate, channel, track)
    if scheme not in ("http", "https"):
        raise SERError(
            f"{scheme}:// addresses are not read; download the file (e.g. "
            "huggingface_hub.hf_hub_download for hf://) and pass its path",
            source=text,
        )
    return _decode_bytes(fetch_url(text), text, sampling_rate, channel, track)


def _decode_bytes(
    data: bytes, name: str, sampling_rate: int | None, channel: int | None = None, track: int | None = None
) -> tuple[np.ndarray, int]:
    if not isinstance(data, (bytes, bytearray, memoryview)):  # {"bytes": "abc"}: a raw TypeError
        raise SERError(f"audio bytes must be bytes, not {type(data).__name__}", source=name)
    if len(data) == 0:
        raise AudioInputError("no audio bytes (empty input)", source=name)
    decoded = _decode_chained(data, name, sampling_rate, channel, track)
    decoded = decoded or _decode_soundfile(io.BytesIO(data), sampling_rate, channel, track, name)
    if decoded is None:
        try:
            decoded = _decode_ffmpeg(bytes(data), name, sampling_rate, channel, track)
        except SERError as err:  # os.fsencode(path) read as the content of a file
            if len(data) <= 4096 and b"\0" not in data and os.path.isfile(os.fsdecode(bytes(data))):
                message = str(err).removeprefix(f"{name}: ")
                raise AudioInputError(
                    f"{message}; these bytes are a file name: pass it as str or Path", source=name
                ) from err
            raise
    return decoded


def _decode_any(
    source: Any, sampling_rate: int | None, name: str, channel: int | None = None, track: int | None = None
) -> tuple[np.ndarray, int]:
    """Return (mono float32 samples, their rate) for any supported input (its ``channel`` if given, of
    its audio track ``track``: samples in memory are one track)."""
    if isinstance(source, (str, os.PathLike)):
        return _decode_location(source, sampling_rate, channel, track)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _decode_bytes(bytes(source), name, sampling_rate, channel, track)
    if is_file_object(source):  # an open file, io.BytesIO, a web upload
        at = file_position(source)
        data = read_file_object(source, name)  # named as _describe names it: open(fd) has a number for a name
        try:
            return _decode_bytes(data, name, sampling_rate, channel, track)
        except SERError as err:  # its header sniffed first: a valid upload was "not a readable audio file"
            if at:
                err.args = (
                    f"{err} (read from byte {at}, where the file object was: seek(0) first to read it whole)",
                )
            raise
    if isinstance(source, dict):
        samples = source.get("array", source.get("raw"))
        if samples is not None:
            rate = source.get("sampling_rate")
            if rate is None:
                raise SERError("audio dict has samples but no 'sampling_rate'; add it", source=name)
            return _decode_any(samples, _rate(rate, name), name, channel, track)
        if source.get("bytes") is not None:
            return _decode_bytes(
                source["bytes"], str(source.get("path") or name), sampling_rate, channel, track
            )
        if source.get("path"):
            return _decode_location(source["path"], sampling_rate, channel, track)
        raise SERError("audio dict needs 'array' + 'sampling_rate', 'bytes' or 'path'", source=name)
    check_track(1, track, name)  # samples in memory, or a decoder opened on one track
    if isinstance(source, tuple) and len(source) == 2 and np.isscalar(source[0]) != np.isscalar(source[1]):
        # gradio's (sampling_rate, samples), channels last; torchaudio's first; soundfile.read's and
        # librosa.load's (samples, sampling_rate)
        rate, samples = source if np.isscalar(source[0]) else source[::-1]
        return _to_mono(_to_float(_as_array(samples, name), name), name, channel=channel), _rate(rate, name)
    if hasattr(source, "get_all_samples"):  # torchcodec / datasets AudioDecoder
        try:
            decoded = source.get_all_samples()
        except Exception as err:
            raise AudioInputError(
                f"the AudioDecoder could not decode its source ({err})", source=name
            ) from err
        return _pick(decoded.data.numpy(), channel, name, 0).astype(np.float32), int(decoded.sample_rate)
    if hasattr(source, "detach") and hasattr(source, "cpu"):  # torch tensor
        source = _as_array(source, name)
    if isinstance(source, list) and any(_is_clip(x) for x in source):
        # [clip, clip]: two equal-length clips read as one stereo clip, averaged, without a word
        raise SERError(
            f"a list of {len(source)} clips where one clip goes; pass one clip "
            "(EmotionClassifier.classify_batch takes a list of clips; stereo goes as one 2-D array)",
            source=name,
        )
    if isinstance(source, (list, np.ndarray)):
        if sampling_rate is None:
            raise SERError(
                "raw samples need their sampling rate: pass source_rate=... to load_audio, or a "
                "{'array': x, 'sampling_rate': sr} dict",
                source=name,
            )
        samples = _as_array(source, name)
        if samples.dtype == object:
            raise SERError("samples must be numbers, not objects", source=name)
        return _to_mono(_to_float(samples, name), name, channel=channel), _rate(sampling_rate, name)
    raise SERError(
        "unsupported audio input; pass a path, bytes, an array with its rate, a (rate, samples) or "
        "(samples, rate) tuple, an {'array', 'sampling_rate'} dict or an AudioDecoder",
        source=name,
    )


def load_audio(
    source: Any,
    sampling_rate: int = DEFAULT_SAMPLING_RATE,
    *,
    source_rate: int | None = None,
    channel: int | str | None = None,
    track: int | str | None = None,
) -> np.ndarray:
    """Decode ``source`` into a float32 mono signal at ``sampling_rate``.

    Args:
        source: a path, encoded bytes, an array/tensor (give ``source_rate``), an audio dict, a
            ``(rate, samples)`` tuple, an ``AudioDecoder`` or an open binary file / ``io.BytesIO``
            (see the module docstring).
        sampling_rate: the rate to return (the model's rate, 16 kHz by default).
        source_rate: the rate of raw samples when ``source`` is an array or tensor.
        channel: None averages the channels; ``0``/``"left"``, ``1``/``"right"`` or any channel
            number (counted from 0) keeps that one alone (the customer's side of a stereo call).
        track: which audio track of a file with several (an OBS or Zoom export, a film's languages) is
            read, counted from 0 as channels are (``1``: the second); None reads FFmpeg's choice (the
            first, most often) and logs a warning when the file holds several.

    Returns:
        ``np.ndarray`` of shape ``(samples,)``, dtype float32.

    Raises:
        SERError: empty, non-audio, unreadable or NaN/Inf-filled input, naming the input;
            :class:`~ser_hf.errors.NoSuchTrackError` (or ``NoSuchChannelError``) for a track (a channel)
            the file lacks.
    """
    name, channel, track = _describe(source), channel_index(channel), track_index(track)
    try:
        return _load(source, sampling_rate, source_rate, channel, name, track)
    except MemoryError as err:  # decoded, but mixing or resampling it does not fit either
        raise too_long_error(name, None) from err


def _load(
    source: Any,
    sampling_rate: int,
    source_rate: int | None,
    channel: int | None,
    name: str,
    track: int | None,
) -> np.ndarray:
    if isinstance(source, (list, np.ndarray)) or (hasattr(source, "detach") and hasattr(source, "cpu")):
        samples, rate = _decode_any(source, source_rate, name, channel, track)
    else:
        samples, rate = _decode_any(source, sampling_rate, name, channel, track)
    check_rate(rate, name)
    if samples.size == 0:
        raise AudioInputError("contains no audio samples (0 s); re-record or re-export it", source=name)
    if not np.all(np.isfinite(samples)):
        bad = int(np.size(samples) - np.count_nonzero(np.isfinite(samples)))
        raise AudioInputError(
            f"contains {bad} NaN or infinite samples; the recording is corrupt, re-export it", source=name
        )
    samples = resample(np.ascontiguousarray(samples, dtype=np.float32), rate, sampling_rate)
    return samples.astype(np.float32, copy=False)


def audio_info(
    path: str | os.PathLike | bytes | BinaryIO, track: int | None = None
) -> tuple[float, int, int]:
    """(duration in seconds, sampling rate, channels) of a file, of a file's encoded bytes (a parquet or
    Hub dataset's audio, a web upload) or of an open binary file / ``io.BytesIO`` (left where it was),
    read from its header (of its audio ``track``: as in :func:`load_audio`, without its warning)."""
    name = _describe(path)
    if isinstance(path, (bytes, bytearray, memoryview)):
        target: Any = bytes(path)
    elif is_file_object(path):
        return _file_object_info(path, name, track)
    elif isinstance(path, (str, os.PathLike)):
        target = str(path)
        _readable_path(Path(path))
        if is_stream_path(path):  # its header read here would be lost to the decoding after it
            raise SERError(
                "is a pipe (or a device), read once: its header cannot be read apart from its audio; read "
                "it once (data = open(path, 'rb').read()) and pass data to audio_info and to load_audio or "
                "classify, or pass the path to load_audio or classify alone",
                source=name,
            )
        if not Path(path).is_file():
            raise SERError("not an existing file", source=name)
    else:
        raise SERError(
            f"audio_info reads a path, encoded bytes or an open binary file, not {type(path).__name__}; "
            "for samples in memory, their length over their rate is the duration",
            source=name,
        )
    return _header_info(target, name, track)


def _header_info(target: Any, name: str, track: Any) -> tuple[float, int, int]:
    """:func:`audio_info` of ``target``: a path (str), encoded bytes or a binary file object."""
    import soundfile as sf

    if links := ogg_link_bytes(_rewound(target)):  # a chained Ogg: its links' lengths added up
        infos = [_header_info(link, name, track) for link in links]
        seconds = sum(info[0] for info in infos) if all(info[0] for info in infos) else 0.0
        return seconds, infos[0][1], infos[0][2]
    try:
        data = io.BytesIO(target) if isinstance(target, bytes) else _rewound(target)
        info = sf.info(data)
        if libsndfile_track(info.format, data, track_index(track), name):
            return float(info.duration), int(info.samplerate), int(info.channels)
    except NoSuchTrackError:
        raise
    except Exception:
        pass
    source = ffmpeg_source(_rewound(target), name)  # a path as that file (not a URL), no playlist
    try:
        decoder = open_track(_rewound(source), name, None, track_index(track), warn=False)
    except NoSuchTrackError:
        raise
    except Exception as err:
        raise (
            unfinished_mp4_error(target, name)
            or cut_before_audio_error(target, name)
            or damaged_wav_error(target, name, codec_unknown="audio stream" in str(err).lower())
            or AudioInputError(f"not a readable audio or video file ({type(err).__name__})", source=name)
        ) from err
    meta = decoder.metadata  # a Matroska track's own length, where FFmpeg gives the file's
    duration = track_length(target, decoder) or 0.0  # 0: none given, or one the track plays past
    return float(duration), int(meta.sample_rate or 0), int(meta.num_channels or 0)


def _rewound(source: Any) -> Any:
    """``source``; a file object back at its start first (libsndfile has read some of it)."""
    if is_file_object(source):
        source.seek(0)
    return source


def _file_object_info(f: Any, name: str, track: int | None) -> tuple[float, int, int]:
    """:func:`audio_info` of an open file: its header read where it lies, the file left where it was;
    a typed error naming the fix for one that cannot seek back (its header would be lost to decoding)
    or is open in text mode."""
    try:
        where, text = (f.tell() if f.seekable() else None), not isinstance(f.read(0), bytes)
    except Exception as err:  # a closed file, an object without seekable() or tell()
        where, text = None, isinstance(err, ValueError) and "closed" in str(err)
    if text:
        raise SERError(
            "the file object is open in text mode or closed; pass an open file in binary mode "
            "(open(path, 'rb')) or the path itself",
            source=name,
        )
    if where is None:
        raise SERError(
            "the file object cannot seek back (a pipe, a socket), so reading its header here would take it "
            "from what is decoded next; read it once (data = f.read()) and pass data to audio_info and to "
            "load_audio or classify",
            source=name,
        )
    try:  # from where it is, as load_audio reads it
        return _header_info(f if where == 0 else f.read(), name, track)
    finally:
        f.seek(where)


def write_wav(
    path: str | os.PathLike, samples: np.ndarray, sampling_rate: int = DEFAULT_SAMPLING_RATE
) -> None:
    """Write float samples as a 16-bit PCM wav file."""
    import soundfile as sf

    sf.write(str(path), np.asarray(samples, dtype=np.float32), sampling_rate, subtype="PCM_16")
