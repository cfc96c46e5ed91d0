"""A WAV file whose ``fmt `` chunk is garbage (its rate, channels or sample size overwritten, the chunk
cut short): ``classify`` refused a 3-s clip whose rate read 1 Hz as over the one-hour limit
(AudioTooLongError), and load_audio / predict said "FFmpeg finds no audio stream in it (a video
without sound ...)" or "Invalid data found". Each is now an AudioInputError that names the file, says
its header is damaged and what in it, and how to recover the samples (session 45)."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest
import soundfile as sf
from conftest import make_speechlike

from ser_hf import load_audio
from ser_hf.errors import AudioInputError, AudioTooLongError

SR = 16000
FMT = 20  # where the fmt chunk's body starts in a plain 44-byte-header WAV


def _wav(seconds: float = 3.0) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, make_speechlike(seconds, seed=3), SR, format="WAV", subtype="PCM_16")
    data = buf.getvalue()
    assert data[12:16] == b"fmt " and data[16:20] == b"\x10\0\0\0"
    return data


def _damaged(offset: int, fmt: str, value: int) -> bytes:
    data = bytearray(_wav())
    struct.pack_into(fmt, data, FMT + offset, value)
    return bytes(data)


DAMAGED = {  # name -> (the file's bytes, what the message names)
    "rate 0": (_damaged(4, "<I", 0), "a sampling rate of 0 Hz"),
    "rate 1": (_damaged(4, "<I", 1), "a sampling rate of 1 Hz"),
    "rate 4294967295": (_damaged(4, "<I", 0xFFFFFFFF), "a sampling rate of 4294967295 Hz"),
    "channels 0": (_damaged(2, "<H", 0), "0 channels"),
    "channels 65535": (_damaged(2, "<H", 0xFFFF), "65535 channels"),
    "bits 0": (_damaged(14, "<H", 0), "0 bits per sample"),
    "format code 0": (_damaged(0, "<H", 0), "format code 0"),
    "unknown format code": (_damaged(0, "<H", 0x1234), "format code 0x1234"),
    "fmt chunk of 8 bytes": (_damaged(-4, "<I", 8), "its fmt chunk is 8 bytes"),
    "fmt chunk past the end": (_damaged(-4, "<I", 0xFFFFFFF0), "runs past the end of the file"),
    "cut inside the fmt chunk": (_wav()[: FMT + 6], "runs past the end of the file"),
    "all of it random": (
        _wav()[:FMT] + np.random.default_rng(5).bytes(16) + _wav()[FMT + 16 :],
        "which no speech recording has",
    ),
}


@pytest.fixture(scope="module")
def clf(model_dir):
    from ser_hf import EmotionClassifier

    return EmotionClassifier(model_dir, device="cpu")


@pytest.mark.parametrize("kind", list(DAMAGED))
def test_a_damaged_wav_header_is_said_to_be_damaged(tmp_path, kind):
    data, what = DAMAGED[kind]
    path = tmp_path / "damaged.wav"
    path.write_bytes(data)
    for source, name in ((path, str(path)), (data, f"<{len(data)} bytes of audio>")):
        with pytest.raises(AudioInputError) as err:
            load_audio(source)
        message = str(err.value)
        assert not isinstance(err.value, AudioTooLongError), message
        assert message.startswith(f"{name}: the WAV file's header is damaged: "), message
        assert what in message and "ffmpeg -f s16le" in message and "-skip_initial_bytes 44" in message
        # the repair command names the file as given, so it runs from where the user is (not its bare name)
        shown = str(path) if isinstance(source, type(path)) else "damaged.wav"
        assert f"-skip_initial_bytes 44 -i {shown} fixed.wav" in message, message


def test_classify_and_predict_say_a_wav_header_is_damaged_not_too_long(clf, model_dir, tmp_path, capsys):
    """A rate of 1 Hz made the header of a 3-s clip give 48,000 s: classify said it was over the hour."""
    from ser_hf.cli.predict import cli as predict_cli

    for kind in ("rate 1", "rate 0", "channels 0"):
        path = tmp_path / f"{kind.replace(' ', '_')}.wav"
        path.write_bytes(DAMAGED[kind][0])
        for source in (path, path.read_bytes()):
            with pytest.raises(AudioInputError, match="the WAV file's header is damaged") as err:
                clf.classify(source)
            assert not isinstance(err.value, AudioTooLongError)
        out = clf.classify_batch([path, _wav()], return_exceptions=True)
        assert type(out[0]) is AudioInputError and isinstance(out[1], list)
    assert predict_cli([str(tmp_path / "rate_1.wav"), "--model", str(model_dir), "--json", "-"]) == 1
    (row,) = json.loads(capsys.readouterr().out)
    assert "header is damaged: its fmt chunk gives a sampling rate of 1 Hz" in row["error"]


def test_a_sane_wav_header_still_reads_and_a_long_one_is_still_too_long(clf, tmp_path):
    """Fields the decoders do not use (block align, byte rate) left as they are; a valid header that
    gives more than an hour is still over the limit."""
    assert len(load_audio(_wav())) == 3 * SR
    assert len(load_audio(_damaged(12, "<H", 0))) == 3 * SR  # block align 0: read as before
    assert len(load_audio(_damaged(8, "<I", 0))) == 3 * SR  # byte rate 0
    long = bytearray(_wav())
    struct.pack_into("<I", long, FMT + 4, 1000)  # 48,000 samples at 1 kHz: 48 s
    assert len(load_audio(bytes(long))) == 48 * SR
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros(3700 * 1000, np.int16), 1000, subtype="PCM_16")  # 3,700 s at 1 kHz
    with pytest.raises(AudioTooLongError, match="lasts 61.7 minutes"):
        clf.classify(path)
