"""Ogg files damaged in the middle (some bytes overwritten: a bad copy, a download resumed at the wrong
offset), whose pages fail their checksum. libsndfile and FFmpeg skip such a page and read on without a
word: a 12-s Opus file with 300 bytes overwritten at 40 % was read as a whole 11-s clip, and the
timeline's block reads (libsndfile) gave another length, a second of it twice. Now every reader
gives what the `ffmpeg` program decodes, with a warning naming the file (session 46)."""

from __future__ import annotations

import io
import json
import random
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
from conftest import make_speechlike

from ser_hf import load_audio
from ser_hf.data.chunks import iter_audio_chunks

SR = 16000
FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(FFMPEG is None, reason="needs the ffmpeg binary")


def _encode(tmp_path, name: str, *args: str, seconds: float = 12.0, seed: int = 3) -> bytes:
    wav = tmp_path / f"speech{seed}.wav"
    sf.write(wav, make_speechlike(seconds, seed=seed), SR)
    out = tmp_path / name
    subprocess.run(
        [FFMPEG, "-nostdin", "-loglevel", "error", "-y", "-i", str(wav), *args, str(out)], check=True
    )
    return out.read_bytes()


def _damaged(data: bytes, at: float, size: int = 300) -> bytes:
    """``data`` with ``size`` bytes of noise written over it at ``at`` of its length."""
    rng = random.Random(1)
    out = bytearray(data)
    start = int(len(out) * at)
    out[start : start + size] = bytes(rng.randrange(256) for _ in range(min(size, len(out) - start)))
    return bytes(out)


def _ffmpeg(data: bytes) -> np.ndarray:
    """What the ffmpeg program decodes of ``data`` (16 kHz mono), as `ffmpeg -i x.opus x.wav` does."""
    cmd = [
        FFMPEG,
        "-nostdin",
        "-loglevel",
        "quiet",
        "-i",
        "pipe:",
        "-ar",
        str(SR),
        "-ac",
        "1",
        "-f",
        "wav",
        "pipe:",
    ]
    return sf.read(io.BytesIO(subprocess.run(cmd, input=data, capture_output=True).stdout), dtype="float32")[
        0
    ]


def _read(source, caplog) -> tuple[np.ndarray, np.ndarray, list]:
    """(load_audio's samples, the timeline's chunks joined, the ``damaged`` records logged by both)."""
    caplog.clear()
    with caplog.at_level("WARNING"):
        whole = load_audio(source)
        if hasattr(source, "seek"):
            source.seek(0)
        chunks = np.concatenate(list(iter_audio_chunks(source, 3.0)))
    return whole, chunks, [r.damaged for r in caplog.records if hasattr(r, "damaged")]


@pytest.mark.parametrize("codec", ["libopus", "libvorbis"])
def test_an_ogg_damaged_in_the_middle_is_read_past_it_with_a_warning(tmp_path, caplog, codec):
    data = _encode(tmp_path, "whole.ogg", "-c:a", codec)
    whole, chunks, records = _read(tmp_path / "whole.ogg", caplog)
    assert len(whole) == len(chunks) == 12 * SR and not records and "damaged" not in caplog.text
    bad = _damaged(data, 0.4)
    (tmp_path / "bad.ogg").write_bytes(bad)
    expected = _ffmpeg(bad)
    assert 9.5 * SR < len(expected) < 11.9 * SR  # the ffmpeg program skips the damaged page
    for source in (tmp_path / "bad.ogg", bad, io.BytesIO(bad)):
        samples, chunks, records = _read(source, caplog)
        assert len(samples) == len(chunks) == len(expected), type(source)  # no second read twice
        assert np.corrcoef(samples, expected)[0, 1] > 0.99 and np.abs(chunks - samples).max() < 1e-4
        assert len(records) == 2, caplog.text  # load_audio's and the timeline's
        at, lost, held = records[0]
        assert 3.0 < at < 5.5 and held == pytest.approx(len(samples) / SR)
        assert lost == pytest.approx(12.0 - held, abs=0.01)
    said = caplog.text
    assert "<BytesIO>: the file is damaged at " in said
    assert (
        f"the clip is read past the damage without them, as ffmpeg reads it: {held:.2f} s of the 12.00 s"
        in said
    )


def test_damage_in_a_chained_ogg_and_up_to_the_end_is_said(tmp_path, caplog):
    """A chained file damaged in its second link is read link after link past the damage; a file whose
    last pages are overwritten (a stream without its end) is said to be damaged, not read as whole."""
    first = _encode(tmp_path, "a.ogg", "-c:a", "libopus", seconds=6.0, seed=1)
    second = _encode(tmp_path, "b.ogg", "-c:a", "libvorbis", seconds=6.0, seed=2)
    bad = first + _damaged(second, 0.5)
    samples, chunks, records = _read(bad, caplog)
    assert 10.0 * SR < len(samples) == len(chunks) < 12.0 * SR and len(records) == 2
    assert 8.0 < records[0][0] < 10.5  # in the second link
    end = _damaged(first, 0.93, 5000)
    samples, chunks, records = _read(end, caplog)
    assert len(samples) == len(chunks) == len(_ffmpeg(end)) < 6 * SR and len(records) == 2
    assert "cut short" not in caplog.text  # its end was overwritten, not cut


def test_predict_row_says_the_file_is_damaged(model_dir, tmp_path, capsys):
    from ser_hf.cli.predict import cli as predict_cli

    (tmp_path / "bad.opus").write_bytes(_damaged(_encode(tmp_path, "x.opus", "-c:a", "libopus"), 0.4))
    assert predict_cli([str(tmp_path / "bad.opus"), "--model", str(model_dir), "--json", "-"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    held = row["duration"]
    assert held < 11.9 and row["warning"].startswith("damaged at ")
    assert row["warning"].endswith(f" s lost), holds {held:.2f} s") and "truncated" not in row["warning"]
