"""The audio track of video files, as 16 kHz mono WAV (``ser-hf extract-audio``)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ..data.audio import DEFAULT_SAMPLING_RATE, load_audio, write_wav
from ..data.ffmpeg_input import ffmpeg_source
from ..data.tracks import open_track, track_index
from ..errors import AudioInputError, SERError
from ..training.saving import staged_file

logger = logging.getLogger(__name__)


def check_output_rate(sampling_rate: Any, source: str) -> None:
    """The rate ``extract_audio`` writes: a whole number of Hz from 1000 to 384000."""
    if not isinstance(sampling_rate, int) or not 1000 <= sampling_rate <= 384000:
        raise SERError(f"give a whole number of Hz from 1000 to 384000, not {sampling_rate!r}", source=source)


def extract_audio(
    path: str | os.PathLike,
    out_path: str | os.PathLike,
    sampling_rate: int = DEFAULT_SAMPLING_RATE,
    track: int | str | None = None,
) -> Path:
    """Write the audio track of ``path`` (video or audio) as a mono 16-bit wav at ``sampling_rate``:
    the one :func:`load_audio` reads (``track``: as there; a file of several says so in a warning).

    Uses the ``ffmpeg`` binary when present (streams, so any length fits in memory), else decodes
    with :func:`load_audio` and writes with :func:`write_wav`.
    """
    src, out, track = Path(path), Path(out_path), track_index(track)
    check_output_rate(sampling_rate, source="extract_audio")
    if not src.is_file():
        load_audio(src, sampling_rate, track=track)  # raises the precise error (missing, directory)
    # written beside the target, which it replaces only when complete: a failed extraction never
    # removes or truncates a wav an earlier run wrote there
    with staged_file(out, suffix=".wav") as tmp:  # the format a writer without ffmpeg picks
        _extract(src, tmp, sampling_rate, track)
    return out


def _stream_of(src: Path, track: int | None) -> list[str]:
    """ffmpeg's ``-map`` of the audio stream :func:`load_audio` reads of ``src`` (its ``track``; the
    ffmpeg binary's own choice, the one with the most channels, may be another); [] when FFmpeg's
    libraries cannot open it (the binary then says why)."""
    try:
        decoder = open_track(ffmpeg_source(src, str(src)), str(src), None, track)
    except SERError:
        raise
    except Exception:
        return []
    return ["-map", f"0:{decoder.stream_index}"]


def _extract(src: Path, out: Path, sampling_rate: int, track: int | None = None) -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        write_wav(out, load_audio(src, sampling_rate, track=track), sampling_rate)
        return
    stream = _stream_of(src, track)
    cmd = [
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-protocol_whitelist",  # what the input may open: files, never a network address
        "file",
        "-i",
        ffmpeg_source(src, str(src)),  # as that file (not a URL), no playlist of other files
        *stream,
        "-vn",
        "-ac",
        "1",
        "-ar",
        str(sampling_rate),
        "-c:a",
        "pcm_s16le",
        "-f",
        "wav",
        "file:" + os.path.abspath(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0 or not out.is_file() or out.stat().st_size <= 44:
        reason = (proc.stderr.strip().splitlines() or ["no audio track"])[-1][:200]
        raise AudioInputError(f"has no decodable audio track (FFmpeg: {reason})", source=str(src))
