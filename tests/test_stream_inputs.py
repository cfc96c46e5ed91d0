"""What a real-time app hands over: a browser MediaRecorder's chunks, raw PCM bytes, a rate with
encoded audio (probe findings, session 43)."""

from __future__ import annotations

import io
import logging
import subprocess

import numpy as np
import pytest
import soundfile as sf

from ser_hf import EmotionClassifier
from ser_hf.data.audio import load_audio
from ser_hf.errors import AudioInputError

CLUSTER = bytes.fromhex("1f43b675")


@pytest.fixture(scope="module")
def live_webm() -> bytes:
    """2 s of Opus in WebM written to a pipe, as a browser's MediaRecorder writes it: no duration."""
    return subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=300:duration=2:sample_rate=48000",
         "-af", "volume=0.5", "-c:a", "libopus", "-f", "webm", "pipe:1"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip


def test_a_mediarecorder_chunk_without_its_header_says_what_it_is(live_webm, tmp_path):
    """MediaRecorder's later chunks start with a Matroska Cluster, not the WebM header: classify(blob2)
    said "not a readable audio or video file ... convert it to wav"."""
    cut = live_webm.find(CLUSTER)
    first, later = live_webm[:cut], live_webm[cut:]
    path = tmp_path / "blob2.webm"
    path.write_bytes(later)
    for source in (later, str(path)):
        with pytest.raises(AudioInputError, match="continuation chunk of a WebM/Matroska stream") as err:
            load_audio(source, 16000)
        assert "Keep the first chunk's bytes and append" in str(err.value)
    assert len(load_audio(first + later, 16000)) == pytest.approx(2 * 16000, abs=400)  # as it says


def test_raw_pcm_bytes_say_how_to_read_them(model_dir):
    """Raw PCM bytes (no header) got only the generic "not a readable audio or video file"."""
    pcm = (np.sin(np.arange(16000) / 5.0) * 8000).astype(np.int16).tobytes()
    with pytest.raises(AudioInputError, match=r"np\.frombuffer\(data, np\.int16\) / 32768.*sampling_rate="):
        EmotionClassifier(model_dir, device="cpu").classify(pcm)


def test_a_rate_given_with_encoded_audio_is_said_to_be_ignored(model_dir, live_webm, tmp_path, caplog):
    """classify(webm_bytes, sampling_rate=8000) read the file at its own 48 kHz without a word."""
    clf = EmotionClassifier(model_dir, device="cpu")
    path, wav = tmp_path / "clip.webm", tmp_path / "clip.wav"
    path.write_bytes(live_webm)
    sf.write(wav, load_audio(live_webm, 44100), 44100)  # a header that gives its length
    for source, rate in ((live_webm, 48000), (str(path), 48000), (open(wav, "rb"), 44100)):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="ser_hf"):
            clf.classify(source, sampling_rate=8000)
        warned = [r.getMessage() for r in caplog.records if "is ignored" in r.getMessage()]
        assert len(warned) == 1 and "sampling_rate=8000" in warned[0] and f"{rate} Hz" in warned[0], warned
        caplog.clear()
        if hasattr(source, "seek"):
            source.seek(0)
        with caplog.at_level(logging.WARNING, logger="ser_hf"):
            clf.classify(source, sampling_rate=rate)  # the file's own rate: nothing to say
            if hasattr(source, "seek"):
                source.seek(0)
            clf.classify(source)
        assert "is ignored" not in caplog.text
    # samples that carry their rate (gradio's tuple, a datasets dict): 8000 was ignored without a word
    samples = load_audio(str(wav), 16000)
    for source in ((16000, samples), (samples, 16000), {"array": samples, "sampling_rate": 16000}):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="ser_hf"):
            clf.classify(source, sampling_rate=8000)
            clf.classify(source, sampling_rate="16000")  # their own rate: nothing to say
        warned = [r.getMessage() for r in caplog.records if "is ignored" in r.getMessage()]
        assert len(warned) == 1 and "sampling_rate=8000" in warned[0] and "16000 Hz" in warned[0], warned
    # timeline() too (it read them at their own rate without a word); not when the rate is theirs
    for source, rate in ((live_webm, 48000), (str(wav), 44100)):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="ser_hf"):
            clf.timeline(source, sampling_rate=8000)
            clf.timeline(source, sampling_rate=rate)
        warned = [r.getMessage() for r in caplog.records if "is ignored" in r.getMessage()]
        assert len(warned) == 1 and "sampling_rate=8000" in warned[0] and f"{rate} Hz" in warned[0], warned


def test_the_header_is_read_once_for_the_limit_and_the_ignored_rate(model_dir, tmp_path, monkeypatch, caplog):
    """classify(encoded, sampling_rate=...) read the file's header twice: for the one-hour limit, then
    again for the warning that the rate is ignored. It is read once now, and the warning is as before."""
    from ser_hf.data import audio as audio_mod

    clf = EmotionClassifier(model_dir, device="cpu")
    wav = tmp_path / "clip.wav"
    sf.write(wav, (np.sin(np.arange(44100) / 5.0) * 0.3).astype(np.float32), 44100)
    data = wav.read_bytes()
    reads: list[str] = []
    header_info = audio_mod._header_info  # what audio_info reads a header with
    monkeypatch.setattr(audio_mod, "_header_info", lambda *args: reads.append(args[1]) or header_info(*args))
    given = {str(wav): str(wav), f"<{len(data)} bytes of audio>": data, "<BytesIO>": io.BytesIO(data)}
    given["up.wav"] = {"bytes": data, "path": "up.wav"}
    for name, source in given.items():
        reads.clear()
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="ser_hf"):
            clf.classify(source, sampling_rate=8000)
        warned = [r.getMessage() for r in caplog.records if "is ignored" in r.getMessage()]
        assert len(warned) == 1 and warned[0].startswith(f"{name}: sampling_rate=8000"), warned
        assert "44100 Hz" in warned[0] and len(reads) == 1, reads
    reads.clear()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        clf.classify_batch([str(wav), data], sampling_rate=8000)
    assert len(reads) == 2 and caplog.text.count("is ignored") == 2
