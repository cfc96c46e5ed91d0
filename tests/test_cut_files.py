"""Recordings cut short (an upload or copy interrupted: the first bytes of a file, `head -c`) in the
formats whose header gives no length (Ogg Opus, ADTS AAC) and in M4A, and a Matroska track whose
DURATION tag is shorter than the track (session 44's fixes; a cut FLAC and MP3: test_upload_audio)."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import make_speechlike

from ser_hf import load_audio
from ser_hf.data.audio import audio_info
from ser_hf.data.chunks import iter_audio_chunks
from ser_hf.data.source_kinds import _describe
from ser_hf.errors import AudioInputError, AudioTooLongError

SR = 16000
FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(FFMPEG is None, reason="needs the ffmpeg binary")


@pytest.fixture(scope="module")
def clf(model_dir):
    from ser_hf import EmotionClassifier

    return EmotionClassifier(model_dir, device="cpu")


def _encode(tmp_path, name: str, *args: str, seconds: float = 8.0) -> bytes:
    """8 s of speech-like audio encoded by ffmpeg with ``args`` as ``name``; its bytes."""
    wav = tmp_path / f"speech{seconds:g}.wav"
    if not wav.exists():
        sf.write(wav, make_speechlike(seconds, seed=7), SR)
    out = tmp_path / name
    cmd = [FFMPEG, "-nostdin", "-loglevel", "error", "-y", "-i", str(wav), *args, str(out)]
    subprocess.run(cmd, check=True)
    return out.read_bytes()


def _ffmpeg_seconds(data: bytes) -> float:
    """The seconds the ffmpeg program decodes from ``data`` (as `ffmpeg -i cut.opus -f wav -`)."""
    cmd = [FFMPEG, "-nostdin", "-loglevel", "quiet", "-i", "pipe:", "-f", "wav", "pipe:"]
    info = sf.info(io.BytesIO(subprocess.run(cmd, input=data, capture_output=True).stdout))
    return info.frames / info.samplerate


def _row(model_dir, path, capsys) -> dict:
    from ser_hf.cli.predict import cli as predict_cli

    assert predict_cli([str(path), "--model", str(model_dir), "--json", "-"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    return row


def _read_everywhere(path, caplog, said: str) -> list[float]:
    """The seconds load_audio (path, bytes) and the timeline's chunks (path, bytes) read of ``path``,
    each with the warning ``said``."""
    seconds = []
    for source in (path, path.read_bytes()):
        for read in (load_audio, lambda s: np.concatenate(list(iter_audio_chunks(s, 2.0)))):
            caplog.clear()
            with caplog.at_level("WARNING"):
                seconds.append(len(read(source)) / SR)
            assert said in caplog.text, (type(source), read)
    return seconds


def test_a_cut_ogg_opus_is_read_up_to_its_cut_with_a_warning(model_dir, tmp_path, caplog, capsys):
    """A cut Ogg Opus read as a whole shorter recording: the page cut off is dropped without a word
    (by libsndfile and FFmpeg), so nothing said it was truncated. It now says so, in the log and in
    predict's row, and is read as far as the ffmpeg program decodes it."""
    data = _encode(tmp_path, "whole.opus", "-c:a", "libopus", "-b:a", "48k")
    (tmp_path / "cut.opus").write_bytes(data[: len(data) // 2])
    with caplog.at_level("WARNING"):
        whole = load_audio(tmp_path / "whole.opus")
    assert len(whole) == 8 * SR and "cut short" not in caplog.text
    expected = _ffmpeg_seconds(data[: len(data) // 2])
    assert 2.0 < expected < 6.0
    said = "the file is cut short (it ends inside an Ogg page: an upload or copy interrupted)"
    for seconds in _read_everywhere(tmp_path / "cut.opus", caplog, said):
        assert seconds == pytest.approx(expected, abs=0.05)
    caplog.clear()
    with caplog.at_level("WARNING"):
        load_audio(tmp_path / "cut.opus")
    assert f"cut.opus: {said}; the clip is read up to the cut, {expected:.2f} s" in caplog.text
    row = _row(model_dir, tmp_path / "cut.opus", capsys)
    assert row["warning"] == f"truncated: the file is cut short, holds {expected:.2f} s"
    assert "warning" not in _row(model_dir, tmp_path / "whole.opus", capsys)


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        crc &= 0xFFFFFFFF
    return crc


def test_an_opus_packet_damaged_no_longer_fails_the_whole_file(tmp_path, caplog):
    """One undecodable Opus packet (its Ogg page whole, its checksum right) failed the whole file:
    "not a readable audio or video file (FFmpeg: Could not push packet to decoder ...)". It is read up
    to the damage now, as an MP3 or FLAC is, with a warning."""
    data = bytearray(_encode(tmp_path, "whole.opus", "-c:a", "libopus", "-b:a", "48k"))
    pages, at = [], 0
    while at < len(data):
        table = data[at + 27 : at + 27 + data[at + 26]]
        pages.append((at, 27 + len(table) + sum(table), 27 + len(table)))
        at += pages[-1][1]
    at, size, head = pages[len(pages) // 2]  # a page in the middle: its first packet made invalid
    data[at + head : at + head + 2] = b"\xff\x00"  # code 3 with no frames
    data[at + 22 : at + 26] = b"\0\0\0\0"
    data[at + 22 : at + 26] = _ogg_crc(bytes(data[at : at + size])).to_bytes(4, "little")
    with caplog.at_level("WARNING"):
        read = load_audio(bytes(data))
    assert 1.0 < len(read) / SR < 7.0 and "the audio is damaged or cut short after" in caplog.text


def test_a_cut_adts_aac_is_read_up_to_its_cut_with_a_warning(model_dir, tmp_path, caplog, capsys):
    """A cut ADTS AAC (.aac) failed whole: "not a readable audio or video file (FFmpeg: Could not push
    packet to decoder: Invalid data ...)" (load_audio, classify, predict's row), and a timeline read it
    without a word. It is now read up to its cut (as far as the ffmpeg program decodes, within 0.1 s),
    with a warning; cut before its first audio, the error says so."""
    data = _encode(tmp_path, "whole.aac", "-c:a", "aac", "-b:a", "64k")
    (tmp_path / "cut.aac").write_bytes(data[: len(data) // 2])
    expected = _ffmpeg_seconds(data[: len(data) // 2])
    assert 2.0 < expected < 6.0
    for seconds in _read_everywhere(tmp_path / "cut.aac", caplog, "it ends inside an ADTS frame"):
        assert seconds == pytest.approx(expected, abs=0.15)
    row = _row(model_dir, tmp_path / "cut.aac", capsys)
    assert row["warning"].startswith("truncated: the file is cut short, holds") and row["label"]
    with caplog.at_level("WARNING"):
        caplog.clear()
        assert load_audio(tmp_path / "whole.aac").size and "cut short" not in caplog.text
    with pytest.raises(AudioInputError, match=r"up\.aac: is cut short before any audio that decodes"):
        load_audio({"bytes": data[:300], "path": "up.aac"})


def test_a_cut_m4a_is_a_clear_error_or_read_up_to_its_cut(clf, tmp_path, caplog):
    """An M4A cut short (its index, the moov box, written after the audio, lost) was torchcodec's raw
    "Could not open input file ... Invalid data found when processing input"; it is an error naming
    the file as cut short and saying why nothing of it reads. One written with its index first
    (-movflags +faststart) failed whole as well: it is read up to its cut."""
    data = _encode(tmp_path, "whole.m4a", "-c:a", "aac", "-b:a", "64k")
    (tmp_path / "cut.m4a").write_bytes(data[: len(data) // 2])
    said = r"cut\.m4a: the MP4/M4A file is cut short .*index \(the moov box.*-movflags \+faststart"
    for read in (
        lambda: load_audio(tmp_path / "cut.m4a"),
        lambda: load_audio({"bytes": data[: len(data) // 2], "path": "cut.m4a"}),
        lambda: list(iter_audio_chunks(tmp_path / "cut.m4a", 2.0)),
        lambda: clf.classify(tmp_path / "cut.m4a"),
    ):
        with pytest.raises(AudioInputError, match=said):
            read()
    with pytest.raises(AudioInputError, match="the MP4/M4A file is cut short"):
        audio_info(tmp_path / "cut.m4a")
    fast = _encode(tmp_path, "fast.m4a", "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart")
    (tmp_path / "fast_cut.m4a").write_bytes(fast[: len(fast) // 2])
    expected = _ffmpeg_seconds(fast[: len(fast) // 2])
    for source in (tmp_path / "fast_cut.m4a", fast[: len(fast) // 2]):
        caplog.clear()
        with caplog.at_level("WARNING"):
            assert len(load_audio(source)) / SR == pytest.approx(expected, abs=0.15)
        assert "the audio is damaged or cut short after" in caplog.text
    assert clf.classify(tmp_path / "fast_cut.m4a")


def _stale_tag(tmp_path) -> list:
    """12-s Matroska files whose DURATION tag says 2 s: one edited, one written to a pipe with the tag
    (FFmpeg then takes the stream's length from it)."""
    _encode(tmp_path, "long.mka", "-c:a", "flac", "-write_crc32", "0", seconds=12.0)
    data = (tmp_path / "long.mka").read_bytes()
    found = re.search(rb"00:00:12\.0+", data)
    edited = (
        data[: found.start()] + b"00:00:02.".ljust(found.end() - found.start(), b"0") + data[found.end() :]
    )
    (tmp_path / "edited.mka").write_bytes(edited)
    wav = tmp_path / "speech12.wav"
    with open(tmp_path / "piped.mka", "wb") as out:
        cmd = [FFMPEG, "-nostdin", "-loglevel", "error", "-i", str(wav), "-c:a", "flac"]
        cmd += ["-metadata:s:a:0", "DURATION=00:00:02.000000000", "-f", "matroska", "pipe:"]
        subprocess.run(cmd, stdout=out, check=True)
    return [tmp_path / "edited.mka", tmp_path / "piped.mka"]


def test_a_stale_matroska_duration_tag_shorter_than_the_track(clf, model_dir, tmp_path, monkeypatch, capsys):
    """A Matroska DURATION tag saying 2 s of a 12-s track was trusted: audio_info said 2 s, predict
    scored the track as one clip on its last 8 s (no timeline), the timeline's first chunk was 2 s,
    and classify's one-hour limit passed it whatever its length. A length the track plays past is no
    longer trusted: FFmpeg's length of the file, else none (found by decoding)."""
    from ser_hf.inference import inputs

    monkeypatch.setattr(inputs, "CLASSIFY_MAX_S", 10.0)
    for path in _stale_tag(tmp_path):
        assert audio_info(path)[0] in (0.0, pytest.approx(12.0, abs=0.05)), path.name  # 0: not given
        assert [len(c) / SR for c in iter_audio_chunks(path, 4.0)] == [4.0, 4.0, 4.0], path.name
        for source in (path, path.read_bytes(), io.BytesIO(path.read_bytes())):
            with pytest.raises(AudioTooLongError):
                clf.classify(source)
        row = _row(model_dir, path, capsys)
        assert row["duration"] == pytest.approx(12.0, abs=0.05) and len(row["timeline"]) == 5, path.name
    assert audio_info(tmp_path / "edited.mka")[0] == pytest.approx(12.0, abs=0.05)


def _warned(source, caplog) -> tuple[float, str]:
    """(the seconds load_audio reads of ``source``, what it logged)."""
    caplog.clear()
    with caplog.at_level("WARNING"):
        seconds = len(load_audio(source)) / SR
    return seconds, caplog.text


def test_a_cut_webm_is_said_to_be_cut_by_load_audio_and_classify(clf, tmp_path, caplog):
    """A WebM cut short (the first 60 % of an upload) was read by load_audio and classify as a whole
    shorter clip, without a word (only predict's row, comparing lengths, said "truncated"). Its header
    gives its length: the warning says it, with predict's cut_short record."""
    for codec in ("libopus", "libvorbis"):
        data = _encode(tmp_path, f"whole_{codec}.webm", "-c:a", codec)
        assert "cut short" not in _warned(data, caplog)[1]
        (tmp_path / "cut.webm").write_bytes(data[: len(data) * 6 // 10])
        for source in (tmp_path / "cut.webm", data[: len(data) * 6 // 10]):
            seconds, said = _warned(source, caplog)
            assert 3.0 < seconds < 6.5, codec
            assert re.search(
                rf"cut short: its header gives 8\.0\d s of audio, it holds {seconds:.2f} s", said
            )
            ((header, held),) = [r.cut_short for r in caplog.records if hasattr(r, "cut_short")]
            assert header == pytest.approx(8.0, abs=0.02) and held == seconds
        caplog.clear()
        with caplog.at_level("WARNING"):
            assert clf.classify(tmp_path / "cut.webm")
        assert "cut.webm: the file is cut short: its header gives 8.0" in caplog.text


def _pages(data: bytes) -> list[int]:
    """Where each Ogg page of ``data`` starts."""
    starts, at = [], 0
    while at < len(data):
        starts.append(at)
        table = data[at + 27 : at + 27 + data[at + 26]]
        at += 27 + len(table) + sum(table)
    return starts


def test_an_ogg_cut_on_a_page_boundary_is_said_to_be_cut(model_dir, tmp_path, caplog, capsys):
    """An Ogg file cut exactly between two pages read as a whole shorter recording (a cut inside a
    page was said): its last page lacks the end-of-stream mark every whole stream ends with. Whole Ogg
    files (Opus, Vorbis, FLAC; to a file or a pipe) are not flagged."""
    for name, args in (
        ("opus", ("-c:a", "libopus")),
        ("ogg", ("-c:a", "libvorbis")),
        ("oga", ("-c:a", "flac")),
    ):
        data = _encode(tmp_path, f"whole.{name}", *args)
        piped = subprocess.run(
            [
                FFMPEG,
                "-nostdin",
                "-loglevel",
                "error",
                "-i",
                str(tmp_path / "speech8.wav"),
                *args,
                "-f",
                "ogg",
                "-",
            ],
            capture_output=True,
            check=True,
        ).stdout
        for whole in (data, piped):
            assert "cut short" not in _warned(whole, caplog)[1], name
        cut = next(at for at in _pages(data) if at > len(data) // 2)
        (tmp_path / f"cut.{name}").write_bytes(data[:cut])
        said = "the file is cut short (it ends on an Ogg page without the end-of-stream mark a whole stream ends with"
        for seconds in _read_everywhere(tmp_path / f"cut.{name}", caplog, said):
            assert 2.0 < seconds < 7.0, name
    row = _row(model_dir, tmp_path / "cut.opus", capsys)
    assert row["warning"].startswith("truncated: the file is cut short, holds")


def _unknown_cluster_sizes(data: bytes) -> bytes:
    """``data`` (a WebM of one Segment of unknown size) with its Clusters' sizes unknown too, as a
    browser's MediaRecorder writes them (each size field all ones, of its own length)."""
    from ser_hf.data.matroska import _vint

    out = bytearray(data)
    _, n = _vint(out, 0, True)
    size, m = _vint(out, n, False)
    at = n + m + size  # the Segment
    _, n = _vint(out, at, True)
    _, m = _vint(out, at + n, False)
    at += n + m
    while at < len(out):
        ident, n = _vint(out, at, True)
        size, m = _vint(out, at + n, False)
        if ident == 0x1F43B675:
            out[at + n : at + n + m] = bytes([0xFF >> (m - 1)]) + b"\xff" * (
                m - 1
            )  # its length's mark, then ones
        at += n + m + size
    return bytes(out)


def test_a_cut_webm_written_to_a_pipe_is_said_to_be_cut(model_dir, tmp_path, caplog, capsys):
    """A WebM / MKA written without its sizes (ffmpeg to a pipe, a live stream, a browser's MediaRecorder)
    gives no length to compare with, so one cut short (the first 60 % of an upload) was read as a
    whole shorter clip without a word, by path, bytes, an open file or a pipe alike. Its last cluster
    (or block) running past the end of the file now says it is cut; whole, nothing is said."""
    import os
    import threading

    wav = tmp_path / "speech8.wav"
    sf.write(wav, make_speechlike(8.0, seed=7), SR)
    for fmt, codec in (("webm", "libopus"), ("matroska", "libvorbis")):
        cmd = [FFMPEG, "-nostdin", "-loglevel", "error", "-i", str(wav), "-c:a", codec, "-f", fmt, "pipe:"]
        piped = subprocess.run(cmd, capture_output=True, check=True).stdout
        for data in (piped, _unknown_cluster_sizes(piped)):
            seconds, said = _warned(data, caplog)
            assert "cut short" not in said and seconds == pytest.approx(8.0, abs=0.01)
            cut = data[: len(data) * 6 // 10]
            (tmp_path / "cut.webm").write_bytes(cut)
            read, write = os.pipe()
            writer = threading.Thread(target=lambda w=write, c=cut: (os.write(w, c), os.close(w)))
            writer.start()
            with open(read, "rb") as pipe:  # a file object that cannot seek: read once
                sources = [tmp_path / "cut.webm", cut, io.BytesIO(cut), pipe]
                for source in sources:
                    seconds, said = _warned(source, caplog)
                    assert 3.0 < seconds < 6.0, (fmt, type(source))
                    named = source if isinstance(source, Path) else _describe(source)  # <pipe>, not "12"
                    assert (
                        f" {named}: the file is cut short (it ends inside a Matroska cluster: an upload or copy "
                        f"interrupted); the clip is read up to the cut, {seconds:.2f} s" in said
                    )
            writer.join()
            caplog.clear()
            with caplog.at_level("WARNING"):
                held = sum(len(c) for c in iter_audio_chunks(io.BytesIO(cut), 2.0)) / SR
            assert (
                f"inside a Matroska cluster: an upload or copy interrupted); the clip is read up to the cut, {held:.2f} s"
                in caplog.text
            )
    row = _row(model_dir, tmp_path / "cut.webm", capsys)
    assert row["warning"] == f"truncated: the file is cut short, holds {row['duration']:.2f} s"
