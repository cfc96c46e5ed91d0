"""Audio given as bytes or a file object (what a web service receives), session 42's probe: a long
upload's timeline in bounded memory, the one-hour limit on the chosen track and on a recording whose
header gives no length, one name for a clip of bytes, and ``audio_info`` of a file object."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import Pipe, make_speechlike, make_tone, save_tiny_bilstm

from ser_hf import load_audio
from ser_hf.data import audio as audio_mod
from ser_hf.data.audio import audio_info
from ser_hf.data.chunks import iter_audio_chunks
from ser_hf.errors import AudioInputError, AudioTooLongError, NoSpeechError, SERError

SR = 16000
FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="needs the ffmpeg binary")


@pytest.fixture(scope="module")
def clf(tmp_path_factory):
    from ser_hf import EmotionClassifier

    folder = save_tiny_bilstm(tmp_path_factory.mktemp("tiny"), ["neutral", "happy", "sad", "angry"])
    return EmotionClassifier(folder, device="cpu")


def _ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def _windows(timeline) -> list[tuple]:
    return [(w["start"], w["end"], w["label"], round(w["score"], 5)) for w in timeline.windows]


def test_timeline_of_bytes_and_file_objects_is_decoded_in_chunks(clf, tmp_path, monkeypatch):
    """timeline(bytes) / (io.BytesIO) decoded the whole upload first (a path went in chunks): a
    2-hour upload took gigabytes. Every form now reads in chunks, with the path's windows."""
    path = tmp_path / "call.flac"
    sf.write(path, np.concatenate([make_speechlike(6.0, seed=1), make_speechlike(7.0, seed=2)]), SR)
    data = path.read_bytes()
    kwargs = {"window_s": 4.0, "chunk_s": 5.0, "min_speech_s": None}
    expected = _windows(clf.timeline(path, **kwargs))

    def whole(*args, **kwargs):
        raise AssertionError("decoded whole")

    monkeypatch.setattr(audio_mod, "_decode_any", whole)
    with open(path, "rb") as f:
        given = {
            f"<{len(data)} bytes of audio>": data,
            "<BytesIO>": io.BytesIO(data),
            str(path): f,  # an open file: its name
            "<Pipe>": Pipe(data),  # cannot seek back: read once
            "up.flac": {"bytes": data, "path": "up.flac"},
        }
        for name, audio in given.items():
            timeline = clf.timeline(audio, **kwargs)
            assert timeline.source == name
            assert _windows(timeline) == expected, name


def test_timeline_of_a_long_upload_stays_in_bounded_memory(clf, tmp_path):
    """20 minutes given as bytes: decoded whole, the peak was 154 MB (numpy's, at 16 kHz mono; 2 hours of
    a browser's WebM took 2 GB of RSS); in chunks of 60 s it is 25 MB, whatever the length."""
    path = tmp_path / "quiet20min.flac"
    with sf.SoundFile(path, "w", SR, 1, subtype="PCM_16") as f:
        for _ in range(20):
            f.write(np.zeros(60 * SR, np.int16))
    data = path.read_bytes()
    tracemalloc.start()
    try:
        timeline = clf.timeline(data, min_speech_s=None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert timeline.duration == pytest.approx(1200.0) and timeline.label == "silence"
    assert peak < 40e6, f"{peak / 1e6:.0f} MB for 20 minutes of bytes (decoded whole: 154 MB)"


@needs_ffmpeg
def test_a_recording_without_a_length_in_its_header_is_read_in_chunks_to_its_end(tmp_path):
    """A browser's WebM (Matroska written to a pipe) gives no duration; as bytes it was decoded whole."""
    wav = tmp_path / "speech.wav"
    sf.write(wav, make_speechlike(5.0, seed=3), SR)
    piped = tmp_path / "piped.mka"
    with open(piped, "wb") as out:
        cmd = [FFMPEG, "-nostdin", "-loglevel", "error", "-i", str(wav), "-c:a", "flac", "-f", "matroska"]
        subprocess.run([*cmd, "pipe:"], stdout=out, check=True)
    assert audio_info(piped)[0] == 0.0  # the header does not tell
    chunks = list(iter_audio_chunks(piped.read_bytes(), 1.0))
    assert len(chunks) >= 5
    np.testing.assert_allclose(np.concatenate(chunks), load_audio(piped), atol=1e-6)
    # a FLAC written to a pipe: libsndfile failed at its end, after its first chunk ("not a readable
    # audio file after 1 s"), a path too
    flac = tmp_path / "piped.flac"
    with open(flac, "wb") as out:
        cmd = [FFMPEG, "-nostdin", "-loglevel", "error", "-i", str(wav), "-c:a", "flac", "-f", "flac"]
        subprocess.run([*cmd, "pipe:"], stdout=out, check=True)
    assert sf.info(str(flac)).frames > 2**62
    for source in (flac, flac.read_bytes()):
        np.testing.assert_allclose(
            np.concatenate(list(iter_audio_chunks(source, 1.0))), load_audio(flac), atol=1e-6
        )


@pytest.fixture(scope="module")
def two_tracks(tmp_path_factory) -> tuple[Path, Path]:
    """M4A files of two audio tracks: ``short_first`` 2 s then 10 s, ``long_first`` 10 s then 2 s."""
    if FFMPEG is None:
        pytest.skip("needs the ffmpeg binary")
    d = tmp_path_factory.mktemp("tracks")
    sf.write(d / "speech.wav", make_speechlike(10.0, seed=4), SR)
    sf.write(d / "tone.wav", make_tone(seconds=2.0), SR)
    files = []
    for name, first, second in (("short_first", "tone", "speech"), ("long_first", "speech", "tone")):
        out = d / f"{name}.m4a"
        inputs = ["-i", str(d / f"{first}.wav"), "-i", str(d / f"{second}.wav")]
        _ffmpeg(*inputs, "-map", "0:a", "-map", "1:a", "-c:a", "aac", str(out))
        files.append(out)
    return files[0], files[1]


def test_the_one_hour_limit_reads_the_length_of_the_chosen_track(clf, two_tracks, monkeypatch):
    """refuse_overlong read the default track's length, not that of track=: a long track 1 behind a
    short track 0 was decoded whole, and a short track 1 behind a long track 0 was refused."""
    from ser_hf.inference import inputs

    short_first, long_first = two_tracks
    assert audio_info(short_first, track=1)[0] == pytest.approx(10.0, abs=0.1)
    monkeypatch.setattr(inputs, "CLASSIFY_MAX_S", 5.0)
    for audio in (short_first, short_first.read_bytes()):
        with pytest.raises(AudioTooLongError, match=r"lasts 0\.2 minutes \(10 s\)"):
            clf.classify(audio, track=1)
        assert clf.classify(audio, track=0)  # its 2-s track
        result = clf.classify_batch([audio], track=1, return_exceptions=True)[0]
        assert isinstance(result, AudioTooLongError), result
    for fresh in (lambda: long_first, lambda: io.BytesIO(long_first.read_bytes())):
        assert clf.classify(fresh(), track=1)  # its 2-s track, classified
        with pytest.raises(AudioTooLongError):
            clf.classify(fresh())


def test_adapt_reads_the_chosen_track_of_every_clip(clf, two_tracks, monkeypatch, caplog):
    """adapt(track=1) checked the first clip's track 1 against the one-hour limit, then the default
    track of every later clip (a variable of its loop took the name): a short track 1 behind a long
    track 0 was refused from the second clip on."""
    from ser_hf.inference import inputs

    _, long_first = two_tracks  # track 0: 10 s, track 1: 2 s
    monkeypatch.setattr(inputs, "CLASSIFY_MAX_S", 5.0)
    try:
        with caplog.at_level("WARNING"):
            clf.adapt([long_first, long_first, long_first], track=1)
        assert clf.adapted_on == 3 and "unreadable" not in caplog.text
    finally:
        clf.reset_adaptation()


@needs_ffmpeg
def test_a_recording_of_unknown_length_stops_decoding_at_the_limit(clf, tmp_path, monkeypatch):
    """A FLAC written to a pipe (its length unknown) was decoded whole, however long, before any limit;
    decoding now stops once past it, with AudioTooLongError naming the source and the fix."""
    from ser_hf.inference import inputs

    path = tmp_path / "piped.flac"
    with open(path, "wb") as out:
        cmd = [FFMPEG, "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=220:r=16000"]
        subprocess.run([*cmd, "-t", "600", "-c:a", "flac", "-f", "flac", "pipe:"], stdout=out, check=True)
    assert sf.info(str(path)).frames > 2**62  # the header does not tell
    monkeypatch.setattr(inputs, "CLASSIFY_MAX_S", 90.0)
    pulled = []

    def counted(*args, **kwargs):
        for chunk in iter_audio_chunks(*args, **kwargs):
            pulled.append(len(chunk))
            yield chunk

    monkeypatch.setattr(inputs, "iter_audio_chunks", counted, raising=False)  # (none before)
    data = path.read_bytes()
    for audio, name in ((path, str(path)), (data, f"<{len(data)} bytes of audio>")):
        pulled.clear()
        with pytest.raises(AudioTooLongError) as err:
            clf.classify(audio)
        assert str(err.value).startswith(
            f"{name}: lasts more than 1.5 minutes (its header does not give its length; decoding stopped "
            "there), more than the 1.5 minutes classify() decodes whole"
        )
        assert "use timeline()" in str(err.value)
        assert sum(pulled) <= 120 * SR, f"{sum(pulled) / SR:.0f} s of the 600 s decoded"
    result = clf.classify_batch([io.BytesIO(data)], return_exceptions=True)[0]
    assert isinstance(result, AudioTooLongError)
    # under the limit, it is classified as its samples are
    monkeypatch.setattr(inputs, "CLASSIFY_MAX_S", 3600.0)
    short = tmp_path / "short.flac"
    with open(short, "wb") as out:
        subprocess.run([*cmd, "-t", "2", "-c:a", "flac", "-f", "flac", "pipe:"], stdout=out, check=True)
    assert clf.classify(short.read_bytes()) == clf.classify(load_audio(short))


@needs_ffmpeg
def test_a_recording_of_unknown_length_exactly_at_the_limit_is_within_it(clf, tmp_path, monkeypatch):
    """predict's length of a length-less recording and classify's one-hour limit were two decoding
    loops that disagreed at the limit itself (one called a recording of exactly N s longer than N s).
    One rule now: N s is within N s, one sample more is past it, for both."""
    from ser_hf.inference import inputs

    cmd = [FFMPEG, "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=220:r=16000"]
    piped = {}
    for frames in (3 * SR, 3 * SR + 1):
        path = piped[frames] = tmp_path / f"{frames}.flac"
        with open(path, "wb") as out:
            args = ["-af", f"atrim=end_sample={frames}", "-c:a", "flac", "-f", "flac", "pipe:"]
            subprocess.run([*cmd, *args], stdout=out, check=True)
        assert sf.info(str(path)).frames > 2**62  # the header does not tell
    exact = inputs.decoded_within(piped[3 * SR], 3.0, SR)
    assert exact is not None and len(exact) == 3 * SR
    assert inputs.decoded_within(piped[3 * SR + 1], 3.0, SR) is None
    monkeypatch.setattr(inputs, "CLASSIFY_MAX_S", 3.0)
    assert clf.classify(piped[3 * SR].read_bytes())
    with pytest.raises(AudioTooLongError, match="lasts more than 0.05 minutes"):
        clf.classify(piped[3 * SR + 1].read_bytes())


def test_a_clip_of_bytes_has_one_name_in_every_message(clf):
    """NoSpeechError called bytes "<bytes>", decoding errors "<N bytes of audio>", audio_info
    "<encoded bytes>"."""
    buf = io.BytesIO()
    sf.write(buf, np.zeros(SR, np.float32), SR, format="WAV")
    silent = buf.getvalue()
    name = f"<{len(silent)} bytes of audio>"
    with pytest.raises(NoSpeechError) as err:
        clf.classify(silent, require_speech=True)
    assert err.value.source == name and str(err.value).startswith(f"{name}: holds no speech")
    result = clf.classify_batch([silent], require_speech=True, return_exceptions=True)[0]
    assert isinstance(result, NoSpeechError) and result.source == name
    garbage = b"not audio" * 100
    for read in (load_audio, audio_info, clf.classify):
        with pytest.raises(SERError) as err:
            read(garbage)
        assert err.value.source == "<900 bytes of audio>", read
    with pytest.raises(
        SERError,
        match=re.escape("could be read, so there is nothing to adapt on: <900 bytes of audio>: not a"),
    ):
        clf.adapt([garbage, b""])


def test_adapt_says_a_clip_over_the_limit_is_too_long_and_names_it_once(clf, tmp_path, monkeypatch, caplog):
    """adapt() left out a clip past the one-hour limit as "unreadable", its name twice: "left out 1
    unreadable clip(s): long.wav (long.wav: lasts ...)". It is now too long, named once."""
    from ser_hf.inference import inputs

    long, ok = tmp_path / "long.wav", tmp_path / "ok.wav"
    sf.write(long, make_speechlike(12.0, seed=1), SR)
    sf.write(ok, make_speechlike(2.0, seed=2), SR)
    monkeypatch.setattr(inputs, "CLASSIFY_MAX_S", 5.0)
    with caplog.at_level("WARNING", logger="ser_hf.inference"):
        clf.adapt([long, ok, ok])
    assert clf.adapted_on == 2
    assert (
        f"adapt: left out 1 clip(s) too long to decode whole: {long}: lasts 0.2 minutes (12 s)" in caplog.text
    )
    assert "unreadable" not in caplog.text and caplog.text.count(str(long)) == 1
    clf.reset_adaptation()
    with pytest.raises(AudioTooLongError) as err:
        clf.adapt([long, long.read_bytes()])
    name = f"<{len(long.read_bytes())} bytes of audio>"
    assert str(err.value).startswith(
        f"adapt: all 2 clips are too long to decode whole, so there is nothing to adapt on: {long}: lasts 0.2 "
    )
    assert str(err.value).count(str(long)) == 1 and str(err.value).count(name) == 1
    with pytest.raises(
        SERError, match=r"none of the 2 clips could be used \(1 too long to decode whole, 1 unreadable\)"
    ):
        clf.adapt([long, b"not audio" * 10])


def _os_pipe(data: bytes):
    """A pipe's read end holding ``data`` (a subprocess's stdout): a file object named by a number."""
    import os

    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    return os.fdopen(read, "rb")


def test_a_file_object_without_a_path_is_named_by_what_it_reads(clf, tmp_path):
    """A subprocess's stdout (a pipe), a socket's makefile() or a BufferedReader over a stream were named
    ``<BufferedReader>`` in messages, rows and a timeline's source; a file opened by path keeps its path."""
    import socket

    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(SR, np.float32), SR)
    data = silent.read_bytes()
    first, second = socket.socketpair()
    second.sendall(data)
    second.close()
    given = {
        "<pipe>": _os_pipe(data),
        "<socket>": first.makefile("rb"),
        "<file object>": io.BufferedReader(io.BytesIO(data)),
        str(silent): open(bytes(silent), "rb"),  # a name of bytes
        "<BytesIO>": io.BytesIO(data),
    }
    for name, audio in given.items():
        with audio, pytest.raises(NoSpeechError) as err:
            clf.classify(audio, require_speech=True)
        assert err.value.source == name and str(err.value).startswith(f"{name}: holds no speech")
    first.close()
    with _os_pipe(b"not audio" * 100) as pipe:
        (row,) = clf.classify_batch([pipe], return_exceptions=True)
    assert str(row).startswith("<pipe>: not a readable audio") and "BufferedReader" not in str(row)
    with _os_pipe(data) as pipe:
        assert clf.timeline(pipe, min_speech_s=None).source == "<pipe>"


def test_audio_info_reads_a_file_object_and_leaves_it_where_it_was(tmp_path):
    """audio_info(io.BytesIO(...)) was a bare TypeError; load_audio read the same object."""
    path = tmp_path / "clip.wav"
    sf.write(path, make_tone(seconds=1.5), SR)
    expected = audio_info(path)
    buf = io.BytesIO(path.read_bytes())
    assert audio_info(buf) == expected and buf.tell() == 0
    with open(path, "rb") as f:
        assert audio_info(f) == expected and f.tell() == 0
        f.seek(0)
        np.testing.assert_array_equal(load_audio(f), load_audio(path))  # still whole for decoding
    with pytest.raises(SERError, match=r"<Pipe>: the file object cannot seek back.*data = f\.read\(\)"):
        audio_info(Pipe(path.read_bytes()))
    with open(path, encoding="latin-1") as text:
        with pytest.raises(SERError, match=r"text mode.*open\(path, 'rb'\)"):
            audio_info(text)
    with pytest.raises(SERError, match="audio_info reads a path, encoded bytes or an open binary file"):
        audio_info(np.zeros(10))


@needs_ffmpeg
def test_the_one_hour_limit_reads_a_matroska_track_s_own_length(
    clf, model_dir, tmp_path, monkeypatch, capsys
):
    """FFmpeg gives every track of a Matroska file the file's length: a 2-s speech track beside a 10-s
    track (4 s beside 75 minutes, with the one-hour limit) was refused by classify(track=0), and
    `predict --track 0` read it as a timeline "truncated: header says 10 s". Each track's DURATION tag
    now gives its length; a Matroska without the tags (written to a pipe) is read as before."""
    from ser_hf.cli.predict import cli as predict_cli
    from ser_hf.inference import inputs

    sf.write(tmp_path / "speech.wav", make_speechlike(2.0, seed=4), SR)
    sf.write(tmp_path / "long.wav", make_speechlike(10.0, seed=5) * 0.1, SR)
    mkv = tmp_path / "tracks.mkv"
    both = [
        "-i",
        str(tmp_path / "speech.wav"),
        "-i",
        str(tmp_path / "long.wav"),
        "-map",
        "0:a",
        "-map",
        "1:a",
    ]
    _ffmpeg(*both, "-c:a", "flac", str(mkv))
    assert audio_info(mkv, track=0)[0] == pytest.approx(2.0, abs=0.05)
    assert audio_info(mkv, track=1)[0] == pytest.approx(10.0, abs=0.05)
    monkeypatch.setattr(inputs, "CLASSIFY_MAX_S", 5.0)
    data = mkv.read_bytes()
    for fresh in (lambda: mkv, lambda: data, lambda: io.BytesIO(data)):
        assert clf.classify(fresh(), track=0) == clf.classify(tmp_path / "speech.wav")  # its 2-s track
        with pytest.raises(AudioTooLongError, match=r"lasts 0\.2 minutes \(10 s\)"):
            clf.classify(fresh(), track=1)
    assert predict_cli([str(mkv), "--track", "0", "--model", str(model_dir), "--json", "-"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["duration"] == pytest.approx(2.0, abs=0.05) and "warning" not in row and "timeline" not in row
    assert predict_cli([str(mkv), "--track", "1", "--model", str(model_dir), "--json", "-"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["timeline"] and row["duration"] == pytest.approx(10.0, abs=0.05) and "warning" not in row
    # written to a pipe, the muxer writes no DURATION tags: FFmpeg's length of the file, as before
    with open(tmp_path / "piped.mkv", "wb") as out:
        cmd = [FFMPEG, "-nostdin", "-loglevel", "error", *both, "-c:a", "flac", "-f", "matroska", "pipe:"]
        subprocess.run(cmd, stdout=out, check=True)
    piped = audio_info(tmp_path / "piped.mkv", track=0)[0]
    assert piped == audio_info(tmp_path / "piped.mkv", track=1)[0] and piped != pytest.approx(2.0, abs=0.5)


def test_a_flac_cut_short_is_read_up_to_its_cut(clf, tmp_path, caplog):
    """A FLAC cut short (the first bytes of an upload, `head -c`) failed whole: "FFmpeg: Could not push
    packet to decoder", where a cut WAV or MP3 was read. It is now read up to its cut, with a warning,
    from a path, bytes or a timeline's chunks; a FLAC of garbage is still the clear error."""
    x = make_speechlike(20.0, seed=6)
    sf.write(tmp_path / "whole.flac", x, SR)
    data = (tmp_path / "whole.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(data[: len(data) // 2])
    whole = load_audio(tmp_path / "whole.flac")
    for source in (tmp_path / "cut.flac", data[: len(data) // 2]):
        caplog.clear()
        with caplog.at_level("WARNING"):
            cut = load_audio(source)
        assert 6 * SR < len(cut) < 14 * SR and "cut short after" in caplog.text
        np.testing.assert_allclose(cut, whole[: len(cut)], atol=1e-6)
        for chunk_s in (3.0, 30.0):  # libsndfile reads the first chunks, then FFmpeg; FFmpeg from the start
            caplog.clear()
            with caplog.at_level("WARNING"):
                read = np.concatenate(list(iter_audio_chunks(source, chunk_s)))
            assert abs(len(read) - len(cut)) <= 0.1 * SR and "the audio ends after" in caplog.text, chunk_s
            np.testing.assert_allclose(read, whole[: len(read)], atol=1e-6)
    timeline = clf.timeline(data[: len(data) // 2], window_s=2.0)
    assert timeline.duration == pytest.approx(len(cut) / SR, abs=0.1) and timeline.windows
    assert clf.classify(tmp_path / "cut.flac") == clf.classify(cut, sampling_rate=SR)
    first_frame = data.index(b"\xff\xf8", 4)  # the header, then noise where the frames were
    garbage = data[:first_frame] + np.random.default_rng(0).integers(0, 256, 50000, np.uint8).tobytes()
    for read in (load_audio, lambda d: list(iter_audio_chunks(d, 3.0))):
        with pytest.raises(AudioInputError, match="its header reads, but no audio after it"):
            read(garbage)  # not torchcodec's "start_seconds is too high(0)"


def test_an_upload_read_before_is_said_to_be_so_not_blamed_as_broken(tmp_path):
    """A service that sniffed an upload's header (or saved it) then passed the file object got "not a
    readable audio file" or "no audio bytes (empty input)" for a good file, and FastAPI's UploadFile
    itself "audio bytes must be bytes, not coroutine" with a never-awaited coroutine warning."""
    import warnings

    path = tmp_path / "a.wav"
    sf.write(path, make_speechlike(1.0, seed=1), 16000)
    with open(path, "rb") as f:
        f.read(100)  # the header, sniffed
        with pytest.raises(
            AudioInputError, match=r"read from byte 100, where the file object was: seek\(0\)"
        ):
            load_audio(f, 16000)
        f.seek(0)
        assert len(load_audio(f, 16000)) == 16000  # whole once rewound
    done = io.BytesIO(path.read_bytes())
    done.read()
    with pytest.raises(SERError, match=r"nothing left to read: the file object is at its end \(byte \d+\)"):
        load_audio(done, 16000)

    class UploadFile:  # Starlette's: an async read()
        async def read(self, size: int = -1) -> bytes:
            return path.read_bytes()

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "coroutine ... was never awaited"
        with pytest.raises(SERError, match=r"read\(\) is async.*upload\.file"):
            load_audio(UploadFile(), 16000)
