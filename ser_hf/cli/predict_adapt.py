"""``ser-hf predict --adapt``: the clips adapting reads, and ``--adapt voices``' groups."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import SERError
from ..inference.levels import TIMELINE_MIN_WINDOWS, level_db, wants_timeline
from ..inference.windows import sliding_windows


def _local(local: Mapping[Path | str, Path | SERError] | None, path: Path | str) -> Path | str:
    """What to decode for ``path``: its fetched copy, else ``path``; raises the error its fetch gave."""
    source = (local or {}).get(path, path)
    if isinstance(source, SERError):
        raise source
    return source


def _adaptation_clips(
    files: Sequence[Path | str],
    sampling_rate: int,
    window_s: float,
    hop_s: float,
    silence_db: float,
    local: Mapping[Path | str, Path | SERError] | None = None,
    channel: int | None = None,
    min_speech_s: float | None = None,
    track: int | None = None,
) -> Iterator[np.ndarray]:
    """What ``--adapt`` re-estimates the statistics on, decoded one at a time as ``adapt`` consumes
    them (a large folder is never held in memory, and each file is decoded once for it): the
    decodable, non-silent files, a long recording's windows in its place (it is classified by
    window: several long calls were adapted on their last 8 s each), less the windows the timeline
    finds no speech in (``min_speech_s``, as ``timeline`` takes it). Files that fail are left to the
    classification pass, which reports them. ``local``: fetched addresses' copies; ``channel``,
    ``track``: as ``load_audio`` takes them.

    Raises:
        SERError: (while consumed) fewer than 2 such clips.
    """
    from ..data.audio import load_audio

    win, hop = round(window_s * sampling_rate), round(hop_s * sampling_rate)
    count = 0
    failed: list[str] = []  # why files were left out, for the error when too few are left
    for path in files:
        try:
            wave = load_audio(_local(local, path), sampling_rate, channel=channel, track=track)
        except SERError as err:
            failed.append(str(err))
            continue
        pieces: Iterable[np.ndarray] = [wave]
        if wants_timeline(wave.size / sampling_rate, window_s):  # the windows the timeline classifies
            pieces = _speech_windows(wave, win, hop, sampling_rate, min_speech_s)
        for piece in pieces:
            if piece.size and level_db(piece, sampling_rate) > silence_db:
                count += 1
                yield piece
    if count < 2:
        # a path that is not there (`--adapt foo a.wav`, foo meant as --adapt's value) was not named
        unread = (
            f" ({len(failed)} could not be read: {'; '.join(failed[:2])}{' ...' if len(failed) > 2 else ''})"
        )
        raise SERError(
            "--adapt needs at least 2 decodable, non-silent clips of the same speaker or microphone (or one "
            f"recording of {TIMELINE_MIN_WINDOWS:g} windows or more){unread if failed else ''}; classify "
            "without --adapt",
            source=" ".join(str(f) for f in files[:3]) + (" ..." if len(files) > 3 else ""),
        )


def _speech_windows(
    wave: np.ndarray, win: int, hop: int, sampling_rate: int, min_speech_s: float | None
) -> Iterator[np.ndarray]:
    """The timeline's windows of ``wave`` but those it labels ``no speech`` (music, a tone, noise)."""
    from ..models.speech_detector import speech_track

    track = speech_track(sampling_rate, min_speech_s, wave)
    for start, stop, window in sliding_windows([wave], win, hop):
        if track is None or track.holds_speech(start, stop, min_speech_s):
            yield window


def _voice_groups(
    files: Sequence[Path | str],
    sampling_rate: int,
    silence_db: float,
    local: Mapping[Path | str, Path | SERError] | None = None,
    channel: int | None = None,
    track: int | None = None,
) -> tuple[list[list[Path | str]], list[Path | str]]:
    """``--adapt voices``: the voice groups of the decodable, non-silent files (``voice_groups``)
    and the files left out (small groups, silent or broken files). ``local``: fetched addresses' copies."""
    from ..data.audio import load_audio
    from ..training.adaptation import voice_groups

    used: list[Path | str] = []

    def clips() -> Iterator[np.ndarray]:
        for path in files:
            try:
                wave = load_audio(_local(local, path), sampling_rate, channel=channel, track=track)
            except SERError:
                continue  # reported by the classification pass
            if wave.size and level_db(wave, sampling_rate) > silence_db:
                used.append(path)
                yield wave

    ids = voice_groups(clips(), sampling_rate)
    grouped = [[p for p, i in zip(used, ids) if i == g] for g in range(int(ids.max(initial=-1)) + 1)]
    placed = {p for g in grouped for p in g}
    return grouped, [p for p in files if p not in placed]
