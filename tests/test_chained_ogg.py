"""Chained Ogg files: two Ogg streams one after another in one file (an internet-radio dump, Opus or
Vorbis files joined with `cat`). Only the first was read (libsndfile's, FFmpeg's first link), and
predict's row said `truncated: header says 0.00 s, holds 12.00 s` of a 20-s file (regression probe of
session 45). Every link is now read, one after another."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
from conftest import make_speechlike

from ser_hf import load_audio
from ser_hf.data.audio import audio_info
from ser_hf.data.chunks import iter_audio_chunks

SR = 16000
FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(FFMPEG is None, reason="needs the ffmpeg binary")


def _encode(tmp_path, seconds: float, seed: int, *args: str) -> bytes:
    wav, out = tmp_path / f"s{seed}.wav", tmp_path / f"s{seed}.ogg"
    sf.write(wav, make_speechlike(seconds, seed=seed), SR)
    cmd = [FFMPEG, "-nostdin", "-loglevel", "error", "-y", "-i", str(wav), *args, str(out)]
    subprocess.run(cmd, check=True)
    return out.read_bytes()


def test_a_chained_ogg_is_read_link_after_link(model_dir, tmp_path, caplog, capsys):
    from ser_hf.cli.predict import cli as predict_cli

    first = _encode(tmp_path, 12.0, 1, "-c:a", "libopus")
    (tmp_path / "radio.ogg").write_bytes(first + _encode(tmp_path, 8.0, 2, "-c:a", "libopus"))
    (tmp_path / "mixed.ogg").write_bytes(first + _encode(tmp_path, 8.0, 3, "-c:a", "libvorbis"))
    (tmp_path / "single.ogg").write_bytes(first)
    for name in ("radio.ogg", "mixed.ogg"):
        path = tmp_path / name
        caplog.clear()
        with caplog.at_level("WARNING"):
            for source in (path, path.read_bytes()):
                assert len(load_audio(source)) / SR == pytest.approx(20.0, abs=0.05), name
                chunks = list(iter_audio_chunks(source, 2.0))
                assert len(np.concatenate(chunks)) / SR == pytest.approx(20.0, abs=0.05), name
                assert all(len(c) == 2 * SR for c in chunks[:-1])
                assert audio_info(source)[0] == pytest.approx(20.0, abs=0.05), name
        assert "header" not in caplog.text and "cut short" not in caplog.text, caplog.text
    assert len(load_audio(tmp_path / "single.ogg")) == 12 * SR  # one stream: as before
    paths = [str(tmp_path / n) for n in ("radio.ogg", "mixed.ogg", "single.ogg")]
    assert predict_cli([*paths, "--model", str(model_dir), "--json", "-"]) == 0
    rows = {r["file"].rsplit("/", 1)[-1]: r for r in json.loads(capsys.readouterr().out)}
    assert all("warning" not in r for r in rows.values()), rows
    assert rows["radio.ogg"]["duration"] == pytest.approx(20.0, abs=0.05)
    assert rows["mixed.ogg"]["duration"] == pytest.approx(20.0, abs=0.05)
    assert rows["single.ogg"]["duration"] == pytest.approx(12.0, abs=0.05)


def test_audio_that_stops_decoding_is_not_said_to_have_a_header_length_of_0_s(caplog):
    """Audio that stops decoding where no header gives a length (0 s) was said to end "not at the 0.0 s
    its header gives", and its row said `truncated: header says 0.00 s` (the regression probe's chained
    Ogg read by FFmpeg alone). A header's length is still compared with."""
    import logging

    from ser_hf.cli.predict_output import _CutShort
    from ser_hf.data.chunks import _warn_ends_early

    for duration, said, row in [
        (None, "cannot be decoded after 29.2 s", "truncated: the file is cut short, holds 29.20 s"),
        (0.0, "cannot be decoded after 29.2 s", "truncated: the file is cut short, holds 29.20 s"),
        (61.0, "not at the 61.0 s its header gives", "truncated: header says 61.00 s, holds 29.20 s"),
    ]:
        caplog.clear()
        catcher = _CutShort()
        logging.getLogger().addHandler(catcher)
        try:
            with caplog.at_level("WARNING"):
                _warn_ends_early("x.ogg", 29.2, duration)
        finally:
            logging.getLogger().removeHandler(catcher)
        assert said in caplog.text and "0.0 s its header" not in caplog.text
        assert catcher.warning(0.0, 29.2) == row
