"""One channel of a stereo recording (the customer's side of a call), and the inputs a web service hands
over (open files, uploads) or gets wrong (a NUL in a name, text as bytes, an infinite rate, booleans)."""

from __future__ import annotations

import io
import subprocess

import numpy as np
import pytest
import soundfile as sf
from conftest import make_tone

from ser_hf.data.audio import load_audio
from ser_hf.data.chunks import iter_audio_chunks
from ser_hf.errors import SERError

SR = 16000


def peak_freq(x: np.ndarray, sr: int = SR) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spec)])


@pytest.fixture(scope="module")
def call(tmp_path_factory):
    """A 3-s 8-kHz stereo call: 300 Hz on the left (the agent), 1,000 Hz on the right (the customer),
    as WAV, as 8-bit mu-law WAV and as Ogg (read by FFmpeg, not libsndfile's WAV route)."""
    d = tmp_path_factory.mktemp("call")
    left, right = make_tone(300.0, 3.0, 8000), make_tone(1000.0, 3.0, 8000) * 0.5
    sf.write(d / "call.wav", np.stack([left, right], axis=1), 8000, subtype="PCM_16")
    for name, codec in [("call_mulaw.wav", ["-c:a", "pcm_mulaw"]), ("call.m4a", ["-c:a", "aac"])]:
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-y", "-i", str(d / "call.wav"), *codec, str(d / name)],
            check=True,
        )
    return d


@pytest.mark.parametrize("name", ["call.wav", "call_mulaw.wav", "call.m4a"])
def test_one_channel_of_a_stereo_call_is_read_alone(call, name):
    path = call / name
    mixed = load_audio(path)
    assert abs(peak_freq(load_audio(path, channel="left")) - 300) < 15
    assert abs(peak_freq(load_audio(path, channel=1)) - 1000) < 15
    assert abs(peak_freq(load_audio(path, channel="right")) - 1000) < 15
    # the mix holds both tones (the default is unchanged: the channels averaged)
    spec = np.abs(np.fft.rfft(mixed))
    freqs = np.fft.rfftfreq(len(mixed), 1 / SR)
    assert spec[np.abs(freqs - 300) < 10].max() > 0.2 * spec.max()
    assert spec[np.abs(freqs - 1000) < 10].max() > 0.2 * spec.max()
    # bytes and the long-recording route read the same channel as the path
    np.testing.assert_allclose(
        load_audio(path.read_bytes(), channel=1), load_audio(path, channel=1), atol=1e-6
    )
    chunks = np.concatenate(list(iter_audio_chunks(path, 1.0, channel="right")))
    np.testing.assert_allclose(chunks[: SR * 2], load_audio(path, channel=1)[: SR * 2], atol=2e-3)


def test_a_channel_the_recording_lacks_is_a_typed_error_naming_it(call, tmp_path):
    with pytest.raises(SERError, match=r"call\.wav.*has 2 channels, so channel 2"):
        load_audio(call / "call.wav", channel=2)
    with pytest.raises(SERError, match=r"has 2 channels, so channel 5"):
        list(iter_audio_chunks(call / "call.m4a", 1.0, channel=5))
    sf.write(tmp_path / "mono.wav", make_tone(300.0, 1.0, SR), SR)
    assert load_audio(tmp_path / "mono.wav", channel="left").size == SR  # a mono file's one channel
    with pytest.raises(SERError, match="has 1 channel, so channel 1"):
        load_audio(tmp_path / "mono.wav", channel="right")
    assert load_audio(tmp_path / "mono.wav", channel="none").size == SR  # what the messages offer: averaged
    for bad in ("middle", -1, 1.5, True):
        with pytest.raises(SERError, match="invalid channel"):
            load_audio(tmp_path / "mono.wav", channel=bad)


def test_a_missing_channel_is_a_public_error_class(call):
    """A missing channel raised ``ser_hf.data.audio._NoSuchChannel``: a private name in a service's log
    (``type(err).__name__``) and nothing a caller could import to catch it alone."""
    import ser_hf

    stereo = np.stack([make_tone(300.0, 1.0, SR)] * 2, axis=1)
    routes = [
        lambda: load_audio(call / "call.wav", channel=2),  # libsndfile, from the header
        lambda: load_audio((call / "call.wav").read_bytes(), channel=2),
        lambda: load_audio(stereo, source_rate=SR, channel=2),  # samples in memory
        lambda: list(iter_audio_chunks(call / "call.m4a", 1.0, channel=5)),  # FFmpeg, a timeline's reader
    ]
    for route in routes:
        with pytest.raises(ser_hf.NoSuchChannelError) as raised:
            route()
        assert isinstance(raised.value, SERError) and type(raised.value).__name__ == "NoSuchChannelError"
    assert (
        "NoSuchChannelError" in ser_hf.__all__
        and ser_hf.errors.NoSuchChannelError is ser_hf.NoSuchChannelError
    )


def test_arrays_pick_a_channel_on_either_layout():
    left, right = make_tone(300.0, 1.0, SR), make_tone(1000.0, 1.0, SR)
    frames_last = np.stack([left, right], axis=1)  # (samples, 2), soundfile's layout
    np.testing.assert_allclose(load_audio(frames_last, source_rate=SR, channel=1), right, atol=1e-6)
    np.testing.assert_allclose(load_audio(frames_last.T, source_rate=SR, channel=0), left, atol=1e-6)
    np.testing.assert_allclose(load_audio((SR, frames_last), channel="right"), right, atol=1e-6)


def test_an_open_file_or_upload_reads_as_its_path(call):
    path = call / "call_mulaw.wav"
    want = load_audio(path)
    with open(path, "rb") as f:  # what a web framework's UploadFile.file is
        np.testing.assert_array_equal(load_audio(f), want)
    np.testing.assert_array_equal(load_audio(io.BytesIO(path.read_bytes())), want)
    with (
        open(path) as text,
        pytest.raises(SERError, match=r"call_mulaw\.wav.*binary mode \(open\(path, 'rb'\)\)"),
    ):
        load_audio(text)  # open()'s default text mode: a raw UnicodeDecodeError
    closed = open(path, "rb")
    closed.close()
    with pytest.raises(SERError, match="cannot be read .*ValueError"):
        load_audio(closed)
    with pytest.raises(SERError, match=r"call_mulaw\.wav.*nothing left to read.*seek\(0\) first"):
        with open(path, "rb") as f:
            f.read()
            load_audio(f)  # read already: nothing left (was "no audio bytes (empty input)")


def test_what_a_service_gets_wrong_is_a_serror_not_a_raw_python_error():
    clip = make_tone(300.0, 1.0, SR)
    with pytest.raises(SERError, match="NUL character"):
        load_audio("/tmp/a\x00b.wav")
    with pytest.raises(SERError, match="audio bytes must be bytes, not str"):
        load_audio({"bytes": "abc"})
    with pytest.raises(SERError, match="invalid sampling rate inf"):
        load_audio(clip, source_rate=float("inf"))
    with pytest.raises(SERError, match="boolean samples"):
        load_audio(clip > 0, source_rate=SR)
    with pytest.raises(SERError, match="no audio samples"):  # was "contains 2 NaN ... samples"
        load_audio(np.zeros((0, 2), np.float32), source_rate=SR)
