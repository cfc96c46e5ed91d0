"""Uploads and corpora from strangers (security probe of session 38): a file is read as that file
and only as audio (never an FFmpeg URL or playlist), and a long recording in a small file costs
bounded memory or a typed error, never gigabytes and a raw MemoryError."""

from __future__ import annotations

import os
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
from ser_hf.errors import SERError
from ser_hf.inference.levels import level_db
from ser_hf.inference.media import extract_audio

SR = 16000
FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="needs the ffmpeg binary")
READERS = {
    "load_audio": load_audio,
    "audio_info": audio_info,
    "iter_audio_chunks": lambda p: list(iter_audio_chunks(p, 1.0)),
}


@pytest.fixture(scope="module")
def clf(tmp_path_factory):
    from ser_hf import EmotionClassifier

    folder = save_tiny_bilstm(tmp_path_factory.mktemp("tiny"), ["neutral", "happy", "sad", "angry"])
    return EmotionClassifier(folder, device="cpu")


def _mp3(path: Path, seconds: float = 1.0) -> Path:
    """An MP3 (FFmpeg decodes it; libsndfile is never asked), made with the ffmpeg binary."""
    wav = path.with_name(".src.wav")
    sf.write(wav, make_tone(seconds=seconds), SR)
    cmd = [
        FFMPEG,
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(wav),
        "-c:a",
        "libmp3lame",
        "file:" + str(path),
    ]
    subprocess.run(cmd, check=True)
    wav.unlink()
    return path


@needs_ffmpeg
def test_a_file_name_is_never_read_as_an_ffmpeg_url(tmp_path, monkeypatch):
    """A junk file named concat:a.wav|b.wav was classified as a.wav (FFmpeg read the name as a URL)."""
    monkeypatch.chdir(tmp_path)
    sf.write("a.wav", make_tone(), SR)
    sf.write("b.wav", make_tone(), SR)
    Path("concat:a.wav|b.wav").write_bytes(np.random.default_rng(0).bytes(3000))
    for what, read in {**READERS, "extract_audio": lambda p: extract_audio(p, tmp_path / "out.wav")}.items():
        with pytest.raises(SERError, match=r"concat:a\.wav\|b\.wav: .*not|has no decodable"):
            read("concat:a.wav|b.wav")
        assert not (tmp_path / "out.wav").exists(), what


@needs_ffmpeg
@pytest.mark.parametrize(
    "stem", ["sp ace", "pct%41", "hash#1", "what?", "ünïcode", "-dash", "file:x", "http:y"]
)
def test_odd_file_names_are_read_as_those_files(tmp_path, monkeypatch, stem):
    monkeypatch.chdir(tmp_path)
    _mp3(tmp_path / "x.mp3", 0.5)  # what file:x.mp3 read as a URL would be
    path = _mp3(tmp_path / f"{stem}.mp3", 2.0)
    assert load_audio(path).size == pytest.approx(2 * SR, abs=0.05 * SR)
    assert load_audio(os.path.relpath(path)).size == pytest.approx(2 * SR, abs=0.05 * SR)
    assert audio_info(path)[0] == pytest.approx(2.0, abs=0.1)
    assert sum(c.size for c in iter_audio_chunks(path, 1.0)) == pytest.approx(2 * SR, abs=0.05 * SR)
    assert sf.info(extract_audio(path, tmp_path / "out" / "o.wav")).duration == pytest.approx(2.0, abs=0.1)


PLAYLISTS = {
    "ffconcat": b"ffconcat version 1.0\nfile neighbour.wav\n",
    "HLS": b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:2.0,\nneighbour.wav\n#EXT-X-ENDLIST\n",
    "DASH": b'<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><Period/></MPD>\n',
    "SDP": b"v=0\no=- 0 0 IN IP4 127.0.0.1\nc=IN IP4 127.0.0.1\nm=audio 5004 RTP/AVP 0\n",
}


@pytest.mark.parametrize("kind", PLAYLISTS)
def test_playlists_that_name_other_files_are_refused(tmp_path, monkeypatch, kind):
    """A 44-byte ffconcat "upload" u1.wav was classified as the neighbour.wav beside it."""
    monkeypatch.chdir(tmp_path)
    sf.write("neighbour.wav", make_tone(seconds=2.0), SR)
    Path("u1.wav").write_bytes(PLAYLISTS[kind])
    readers = {**READERS, "extract_audio": lambda p: extract_audio(p, tmp_path / "out.wav")}
    for read in readers.values():
        with pytest.raises(SERError, match=f"u1.wav: not audio: an? .*{kind}"):
            read("u1.wav")
    for data in (PLAYLISTS[kind], {"bytes": PLAYLISTS[kind], "path": "u1.wav"}):
        with pytest.raises(SERError, match=f"not audio: an? .*{kind}"):
            load_audio(data)
    with pytest.raises(SERError, match=f"not audio: an? .*{kind}"):
        audio_info(PLAYLISTS[kind])


def test_a_playlist_behind_id3_tags_is_refused(tmp_path, monkeypatch):
    """FFmpeg skips ID3v2 tags before probing: an ffconcat playlist behind an empty tag (or one longer
    than the 64 KB read first) was followed to the file beside it."""
    monkeypatch.chdir(tmp_path)
    sf.write("neighbour.wav", make_tone(seconds=2.0), SR)
    playlist = PLAYLISTS["ffconcat"]

    def tag(size: int, fill: bytes = b"\0") -> bytes:
        syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
        return b"ID3\x04\x00\x00" + syncsafe + fill * size

    for name, data in {
        "empty_tag.mp3": tag(20) + playlist,
        "newline_tag.mp3": tag(20, b"\n") + playlist,
        "two_tags.mp3": tag(20) + tag(5) + playlist,
        "cover_art.mp3": tag(200_000) + playlist,
    }.items():
        Path(name).write_bytes(data)
        for read in READERS.values():
            with pytest.raises(SERError, match=f"{name}: not audio: an FFmpeg playlist"):
                read(name)
        with pytest.raises(SERError, match="not audio: an FFmpeg playlist"):
            load_audio(data)


def test_level_db_reads_a_long_clip_in_bounded_memory():
    """level_db made a float64 copy of the whole clip: 4.29 GB for 10 hours, a raw MemoryError."""
    x = make_speechlike(3.0) * 0.3 + 0.01  # a DC offset, removed first
    n = int(0.05 * SR)
    frames = (x.astype(np.float64) - x.astype(np.float64).mean())[: len(x) // n * n].reshape(-1, n)
    expected = 20 * np.log10(np.sqrt(np.square(frames).mean(axis=1)).max())
    assert level_db(x, SR) == pytest.approx(expected, abs=1e-9)
    assert level_db(x[:100], SR) == pytest.approx(20 * np.log10(np.std(x[:100].astype(np.float64))), abs=1e-9)
    long = np.broadcast_to(np.float32(0.25), (20 * 60 * SR,))  # 20 min; held in no memory at all
    tracemalloc.start()
    try:
        assert level_db(long, SR) == -240.0  # a constant is DC: no sound
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40e6, f"{peak / 1e6:.0f} MB for 20 min (was 154 MB: a float64 copy, then another)"


@pytest.fixture(scope="module")
def twenty_minutes(tmp_path_factory) -> Path:
    """20 minutes of silence in a FLAC of a few KB (a 235-KB FLAC held 10 hours)."""
    path = tmp_path_factory.mktemp("long") / "sil20min.flac"
    with sf.SoundFile(path, "w", SR, 1, subtype="PCM_16") as f:
        block = np.zeros(60 * SR, np.int16)
        for _ in range(20):
            f.write(block)
    return path


def test_a_memory_error_while_decoding_says_the_recording_is_too_long(twenty_minutes, monkeypatch):
    """libsndfile's MemoryError was swallowed, FFmpeg then failed too: "not a readable audio file ...
    check that the file is complete" for a file that is fine, only long."""

    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 4.29 GiB")

    monkeypatch.setattr(sf.SoundFile, "read", no_memory)
    with pytest.raises(
        SERError, match=r"sil20min.flac: the recording is too long \(20 min\) to hold in memory.*timeline"
    ):
        load_audio(twenty_minutes)


@needs_ffmpeg
def test_ffmpeg_running_out_of_memory_says_the_recording_is_too_long(tmp_path, monkeypatch):
    from torchcodec.decoders import AudioDecoder

    path = _mp3(tmp_path / "long.mp3", 3.0)

    def no_memory(self):
        raise RuntimeError("Could not decode: Cannot allocate memory")

    monkeypatch.setattr(AudioDecoder, "get_all_samples", no_memory)
    with pytest.raises(
        SERError, match=r"long.mp3: the recording is too long .*to hold in memory.*ser-hf predict"
    ):
        load_audio(path)


def test_classify_refuses_a_file_longer_than_it_decodes_whole(clf, twenty_minutes, monkeypatch):
    from ser_hf.inference import inputs

    monkeypatch.setattr(inputs, "CLASSIFY_MAX_S", 600.0)

    def never(*args, **kwargs):
        raise AssertionError("decoded before the header was checked")

    monkeypatch.setattr(audio_mod, "_decode_any", never)
    with pytest.raises(
        SERError,
        match=r"sil20min.flac: lasts 20.0 minutes \(1200 s\), more than the 10 minutes .*use timeline\(\)",
    ):
        clf.classify(twenty_minutes)
    results = clf.classify_batch([twenty_minutes], return_exceptions=True)
    assert isinstance(results[0], SERError) and "timeline()" in str(results[0])


def test_classify_refuses_long_bytes_and_streams_from_their_header(clf, twenty_minutes, monkeypatch):
    """The one-hour limit held for paths only: a 1.3-MB FLAC of 2 hours given as bytes or io.BytesIO
    (a web upload) was decoded whole (18 s, 1.1 -> 3.1 GB) and labelled neutral 0.97."""
    import io

    from torchcodec.decoders import AudioDecoder

    from ser_hf.inference import inputs

    monkeypatch.setattr(inputs, "CLASSIFY_MAX_S", 600.0)
    data = twenty_minutes.read_bytes()
    monkeypatch.setattr(inputs, "fetch_url", lambda url: data, raising=False)
    decode_any = audio_mod._decode_any

    def never(*args, **kwargs):
        raise AssertionError("decoded before the header was checked")

    monkeypatch.setattr(audio_mod, "_decode_any", never)
    too_long = (
        r"lasts 20.0 minutes \(1200 s\), more than the 10 minutes classify\(\) decodes whole.*timeline\(\)"
    )
    given = {
        f"<{len(data)} bytes of audio>": data,
        "<BytesIO>": io.BytesIO(data),
        "<Pipe>": Pipe(data),
        "up.flac": {"bytes": data, "path": "up.flac"},
        "https://example.com/long.flac": "https://example.com/long.flac",
        "<AudioDecoder>": AudioDecoder(str(twenty_minutes)),
    }
    for name, audio in given.items():
        with pytest.raises(SERError, match=re.escape(name) + ": " + too_long):
            clf.classify(audio)
    results = clf.classify_batch([data, io.BytesIO(data)], return_exceptions=True)
    assert all(isinstance(r, SERError) and "timeline()" in str(r) for r in results), results
    with pytest.raises(SERError, match=too_long):
        clf.classify_with_attention(io.BytesIO(data))
    # adapt leaves it out as unreadable, saying why, and adapts on the others
    monkeypatch.setattr(audio_mod, "_decode_any", decode_any)
    clip = io.BytesIO()
    sf.write(clip, make_speechlike(2.0), SR, format="WAV")
    with pytest.raises(SERError, match=r"none of the 1 clip|lasts 20.0 minutes.*adapt\(\) decodes whole"):
        clf.adapt([data])
    # a short clip from a stream that cannot seek back is read once and classified as before
    assert clf.classify(Pipe(clip.getvalue())) == clf.classify(clip.getvalue())
    with pytest.raises(SERError, match=r"<Pipe>: no audio bytes"):
        clf.classify(Pipe(b""))


@needs_ffmpeg
def test_a_flac_of_unknown_length_is_not_refused_as_long(clf, tmp_path):
    """A FLAC written to a pipe (ffmpeg ... -f flac pipe:) leaves its length unknown; libsndfile gives
    2**63 - 1 frames, and classify refused a 1-s clip as "lasts 9607679205057.1 minutes"."""
    path = tmp_path / "piped.flac"
    with open(path, "wb") as out:
        cmd = [FFMPEG, "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=220:r=16000"]
        subprocess.run([*cmd, "-t", "1", "-c:a", "flac", "-f", "flac", "pipe:"], stdout=out, check=True)
    assert sf.info(str(path)).frames > 2**62  # the header does not tell
    expected = clf.classify(load_audio(path))
    assert len(load_audio(path)) == SR
    for audio in (path, path.read_bytes()):
        assert clf.classify(audio) == expected


def test_file_name_bytes_are_told_to_be_passed_as_str(tmp_path):
    path = tmp_path / "clip.wav"
    sf.write(path, make_tone(), SR)
    with pytest.raises(SERError, match="these bytes are a file name: pass it as str or Path"):
        load_audio(os.fsencode(path))
    with pytest.raises(SERError) as err:  # bytes that are no file name get no such hint
        load_audio(b"not audio at all")
    assert "file name" not in str(err.value)


def test_a_long_stream_chunk_is_converted_a_block_at_a_time(clf):
    """push(10 hours of int16 at once) converted all of it to float32 (2.15 GB) to keep 3 s. The speech
    detector, carried through the stream, reads all of it now, 5 s at a time, and keeps the frames of
    the window only; with the detector off, only the window's seconds are converted."""
    from ser_hf import StreamingClassifier

    rate = 48000
    stereo = (
        np.stack([make_speechlike(20.0, sr=rate, seed=1), make_speechlike(20.0, sr=rate, seed=2)], 1) * 30000
    )
    stereo = stereo.astype(np.int16)
    stream = StreamingClassifier(clf, 3.0, 0.5)
    got = stream.push(stereo, rate)
    assert got["time"] == pytest.approx(20.0), "the stream's clock counts the whole chunk"
    expected = stereo[-3 * rate :].astype(np.float32).mean(axis=1) / 32768  # the window's 3 s
    np.testing.assert_allclose(stream._buf, expected, atol=1e-7)
    pieces = StreamingClassifier(clf, 3.0, 0.5)  # the detector read the whole chunk, as a stream of it
    last = [pieces.push(stereo[i : i + rate // 10], rate) for i in range(0, len(stereo), rate // 10)][-1]
    assert got["speech_s"] == last["speech_s"]
    # a normal chunk (shorter than the window) is read as before
    small = StreamingClassifier(clf, 3.0, 0.5)
    small.push(stereo[: rate // 2], rate)
    np.testing.assert_allclose(
        small._buf, stereo[: rate // 2].astype(np.float32).mean(axis=1) / 32768, atol=1e-7
    )
    ten_minutes = np.broadcast_to(np.int16(0), (600 * SR,))  # no memory of its own
    for min_speech_s in (0.25, None):
        stream = StreamingClassifier(clf, 3.0, 0.5, min_speech_s=min_speech_s)
        tracemalloc.start()
        try:
            got = stream.push(ten_minutes, SR)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert got["label"] == "silence" and got["time"] == pytest.approx(600.0)
        assert peak < 8e6, f"{peak / 1e6:.0f} MB for 10 min of int16 (was 38 MB of float32 and more)"
