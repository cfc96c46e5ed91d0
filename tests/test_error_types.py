"""Typed errors a server can answer apart (a FastAPI probe, session 41): a bad upload is an
``AudioInputError`` (HTTP 422), a too-long one an ``AudioTooLongError`` (413), the server's own problems
(model folder, a path it made, a wrong argument) a plain ``SERError``; all of them stay ``SERError``."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from conftest import make_speechlike, save_tiny_bilstm

import ser_hf
from ser_hf import AudioInputError, AudioTooLongError, NoSpeechError, NoSuchChannelError, SERError

SR = 16000
# a 1x1 PNG, as uploaded by mistake
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND"
    b"\xaeB`\x82"
)


@pytest.fixture(scope="module")
def clf(tmp_path_factory):
    from ser_hf import EmotionClassifier

    folder = save_tiny_bilstm(tmp_path_factory.mktemp("tiny"), ["neutral", "happy", "sad", "angry"])
    return EmotionClassifier(folder, device="cpu")


@pytest.fixture(scope="module")
def two_hours(tmp_path_factory) -> bytes:
    """2 hours of 8-kHz silence: a 180-KB FLAC."""
    path = tmp_path_factory.mktemp("long") / "long2h.flac"
    with sf.SoundFile(path, "w", 8000, 1, subtype="PCM_16") as f:
        block = np.zeros(600 * 8000, np.int16)
        for _ in range(12):
            f.write(block)
    return path.read_bytes()


def _wav(seconds: float = 1.0) -> bytes:
    out = io.BytesIO()
    sf.write(out, make_speechlike(seconds), SR, format="WAV", subtype="PCM_16")
    return out.getvalue()


def test_bad_uploads_are_audio_input_errors(clf, two_hours):
    """Each of the probe's bad uploads was a bare SERError, as a missing model folder is."""
    bad = {
        "empty": b"",
        "random": np.random.default_rng(0).bytes(5000),
        "png": PNG,
        "text": b"# ser_hf - speech emotion recognition\n\nmake demo   # set up\n" * 50,
        "wav header only": _wav()[:44],
        "playlist": b"#EXTM3U\n#EXTINF:1,\nclip.wav\n",
    }
    for what, data in bad.items():
        for upload in (data, io.BytesIO(data)):
            with pytest.raises(AudioInputError) as err:
                clf.classify(upload)
            assert type(err.value) is AudioInputError, (what, err.value)
            assert isinstance(err.value, SERError) and isinstance(err.value, ValueError)
    for upload in (two_hours, io.BytesIO(two_hours)):
        with pytest.raises(AudioTooLongError, match="lasts 120.0 minutes"):
            clf.classify(upload)
    out = clf.classify_batch([b"", two_hours, _wav()], return_exceptions=True)
    assert [type(r) for r in out[:2]] == [AudioInputError, AudioTooLongError] and isinstance(out[2], list)
    with pytest.raises(AudioInputError, match="NaN or infinite"):
        clf.classify(np.full(SR, np.nan, np.float32))
    with pytest.raises(NoSuchChannelError):  # a mono upload, the right channel asked for: the upload's
        clf.classify(_wav(), channel="right")
    assert issubclass(NoSuchChannelError, AudioInputError) and issubclass(AudioTooLongError, AudioInputError)


def test_memory_errors_and_downloads_are_typed(monkeypatch):
    from ser_hf.data import download

    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 4.29 GiB")

    with monkeypatch.context() as m:
        m.setattr(sf.SoundFile, "read", no_memory)
        with pytest.raises(AudioTooLongError, match="too long .*to hold in memory"):
            ser_hf.load_audio(_wav())
    with monkeypatch.context() as m:
        m.setattr(download, "MAX_URL_BYTES", 10)
        m.setattr("urllib.request.urlopen", lambda *a, **k: _Response(b"x" * 100))
        with pytest.raises(AudioTooLongError, match="the download passed"):
            download.fetch_url("https://example.com/a.wav")


class _Response(io.BytesIO):
    headers: dict[str, str] = {}

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)


def test_the_callers_own_mistakes_stay_plain_ser_errors(clf, tmp_path):
    """A missing path, a wrong argument and a broken model folder are not a bad upload."""
    for call in (
        lambda: clf.classify(tmp_path / "missing.wav"),
        lambda: clf.classify(np.zeros(SR, np.int64)),  # PCM width unknown
        lambda: clf.classify({"bytes": "text"}),
        lambda: clf.classify(_wav(), top_k=0),
        lambda: ser_hf.EmotionClassifier(tmp_path / "no_model", device="cpu"),
    ):
        with pytest.raises(SERError) as err:
            call()
        assert not isinstance(err.value, AudioInputError), err.value


def test_require_speech_refuses_what_classify_only_warns_about(clf, caplog):
    """2 s of digital silence got `fearful 0.59` and a 50-ms clip `sad 0.97` from the default model, with
    a log line only; a server had no call to ask. By default they still get the model's scores."""
    silence, blip, speech = np.zeros(2 * SR, np.float32), make_speechlike(0.05), make_speechlike(1.5)
    with caplog.at_level("WARNING", logger="ser_hf"):
        scores = clf.classify(silence, SR)
    assert [s["label"] for s in scores] and {s["label"] for s in scores} <= set(clf.labels)
    assert (
        "holds no speech (loudest 50 ms at -240 dBFS, below -55): its emotion scores mean nothing"
        in caplog.text
    )
    with pytest.raises(NoSpeechError, match=r"holds no speech \(loudest 50 ms at -240 dBFS, below -55\)"):
        clf.classify(silence, SR, require_speech=True)
    with pytest.raises(NoSpeechError, match="is 50 ms long, too short to hold speech"):
        clf.classify(blip, SR, require_speech=True)
    # a 3-sample clip was "0 ms long", one of 99.9 ms "100 ms long" (too short: under 100 ms)
    with pytest.raises(NoSpeechError, match=r"is 0\.18 ms long, too short to hold speech"):
        clf.classify(make_speechlike(1.0)[:3], SR, require_speech=True)
    # 3 samples at 48 kHz were "0.06 ms long (1 sample)": counted after resampling to the model's rate
    with pytest.raises(NoSpeechError, match=r"is 0\.06 ms long, too short to hold speech"):
        clf.classify(make_speechlike(1.0, sr=48000)[:3], 48000, require_speech=True)
    with pytest.raises(NoSpeechError, match="is 99 ms long, too short to hold speech"):
        clf.classify(make_speechlike(1.0)[: SR // 10 - 1], SR, require_speech=True)
    assert clf.classify(speech, SR, require_speech=True) == clf.classify(speech, SR)
    out = clf.classify_batch(
        [silence, speech, blip],
        sampling_rate=SR,
        require_speech=True,
        return_exceptions=True,
        names=["a", "b", "c"],
    )
    assert [type(r) for r in out] == [NoSpeechError, list, NoSpeechError]
    assert str(out[0]).startswith("a: holds no speech") and out[1] == clf.classify(speech, SR)
    assert isinstance(out[0], AudioInputError)
    with pytest.raises(NoSpeechError):
        clf.classify_batch([speech, silence], sampling_rate=SR, require_speech=True)


def test_require_speech_refuses_loud_noise_and_tones_by_the_speech_detector(clf, examples_dir):
    """White noise and a steady tone at a speech level passed the level rules and got an emotion under
    ``require_speech=True`` (a server's question "is there speech to score?"); the speech detector that
    ``timeline`` uses now answers it. Real speech, at 16 kHz or resampled from 48 kHz, is still scored."""
    rng = np.random.default_rng(0)
    t = np.arange(3 * SR) / SR
    noise = (0.1 * rng.standard_normal(3 * SR)).astype(np.float32)
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for clip in (noise, tone):
        assert clf.classify(clip, SR)  # scored by default, as before
        with pytest.raises(
            NoSpeechError,
            match=r"holds no speech by the speech detector \(its most speech-like 32 ms at probability 0\.0\d, under 0\.1",
        ):
            clf.classify(clip, SR, require_speech=True)
    out = clf.classify_batch([noise, tone], sampling_rate=SR, require_speech=True, return_exceptions=True)
    assert [type(r) for r in out] == [NoSpeechError, NoSpeechError]
    real = sorted(examples_dir.glob("*.flac"))[0]
    assert clf.classify(real, require_speech=True) == clf.classify(real)
    speech48k = ser_hf.load_audio(real, sampling_rate=48000)
    assert clf.classify(speech48k, 48000, require_speech=True) == clf.classify(speech48k, 48000)


def test_a_device_this_machine_lacks_is_a_typed_error_before_any_work():
    """`EmotionClassifier(device="mps")` on a machine without an Apple GPU raised torch's own
    RuntimeError (`PyTorch is not linked with support for mps devices`); cuda and typos were typed."""
    import torch

    from ser_hf.errors import SERError, torch_device

    if torch.backends.mps.is_available():
        pytest.skip("this machine has an Apple GPU")
    with pytest.raises(
        SERError, match=r"device 'mps': this machine has no usable Apple GPU \(MPS\); use cpu"
    ):
        torch_device("mps")
    assert torch_device("cpu") == "cpu"
