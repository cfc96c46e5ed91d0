"""``ser-hf extract-audio``: write the audio track of videos as 16 kHz mono WAV."""

from __future__ import annotations

import logging
import sys

from ..data.audio import (
    DEFAULT_SAMPLING_RATE,
    MEDIA_EXTENSIONS,
    VIDEO_EXTENSIONS,
    audio_info,
)
from ..data.media_files import find_media_files
from ..data.tracks import track_index
from ..errors import SERError, output_dir
from ..inference.media import check_output_rate, extract_audio
from .parser import ArgumentParser

logger = logging.getLogger(__name__)


def cli(argv: list[str]) -> int:
    """``ser-hf extract-audio VIDEO... --out DIR``: one 16 kHz mono wav per input."""
    p = ArgumentParser(
        prog="ser-hf extract-audio",
        description="Write the audio track of video (or audio) files as 16 kHz mono 16-bit wav files.",
    )
    p.add_argument("paths", nargs="+", metavar="VIDEO", help="files, folders or glob patterns")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the wav files")
    p.add_argument(
        "--sampling-rate", type=int, default=DEFAULT_SAMPLING_RATE, help="output rate (default 16000)"
    )
    p.add_argument(
        "--track",
        default=None,
        metavar="N",
        help="write audio track N of files with several (an OBS or Zoom export, a film's languages), counted "
        "from 0 as ser-hf predict --track counts; default: the one ser-hf predict reads, with a warning "
        "when a file holds several",
    )
    args = p.parse_args(argv)
    try:
        args.track = track_index(args.track)
    except SERError as err:
        p.error(f"--track: {err}")
    files = find_media_files(args.paths, extensions=VIDEO_EXTENSIONS + MEDIA_EXTENSIONS)
    if not files:
        raise SERError("no audio or video files found", source=" ".join(args.paths))
    check_output_rate(args.sampling_rate, source=f"--sampling-rate {args.sampling_rate}")  # not per file
    out_dir = output_dir(args.out, "--out")
    used: set[str] = set()
    inputs = {path.resolve() for path in files}  # --out in the inputs' folder: never write over one
    failures = 0
    for path in files:
        # clip.mp4 and clip.webm (or a/clip.mp4, b/clip.mp4) must not overwrite each other
        name, k = f"{path.stem}.wav", 1
        while name in used or (out_dir / name).resolve() in inputs:
            name = f"{path.stem}-{path.suffix.lstrip('.')}{f'-{k}' if k > 1 else ''}.wav"
            k += 1
        used.add(name)
        try:
            out = extract_audio(path, out_dir / name, args.sampling_rate, args.track)
            duration, _, _ = audio_info(out)
            print(f"{path} -> {out} ({duration:.2f} s)")
        except Exception as err:
            failures += 1
            message = str(err) if isinstance(err, SERError) else f"{path}: {type(err).__name__}: {err}"
            print(f"error: {message}", file=sys.stderr)
    return 1 if failures else 0
