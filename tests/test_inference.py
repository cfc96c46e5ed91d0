"""EmotionClassifier, timelines and streaming on tiny models and generated audio."""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import EXAMPLES, make_speechlike, make_tone

from ser_hf.cli.predict import cli as predict_cli
from ser_hf.errors import SERError
from ser_hf.inference.bundled import default_model_path
from ser_hf.inference.classifier import EmotionClassifier
from ser_hf.inference.streaming import StreamingClassifier
from ser_hf.inference.timeline import Timeline, plot_timeline
from ser_hf.inference.windows import sliding_windows
from ser_hf.training.presets import build_model

LABELS = ["neutral", "happy", "sad", "angry"]
SR = 16000


def _save_tiny(folder: Path, preset: str = "seed-logmel-bilstm", **overrides) -> Path:
    model, fe = build_model(preset, LABELS, feature_overrides={"max_frames": None, "n_mels": 32}, **overrides)
    model.save_pretrained(folder)
    fe.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return _save_tiny(tmp_path_factory.mktemp("tiny"), conv_channels=[4, 8], lstm_hidden_size=8)


@pytest.fixture(scope="module")
def clf(model_dir) -> EmotionClassifier:
    return EmotionClassifier(model_dir, device="cpu")


def _probs(scores: list[dict]) -> dict[str, float]:
    return {s["label"]: s["score"] for s in scores}


def _assert_valid(scores: list[dict]) -> None:
    assert sorted(s["label"] for s in scores) == sorted(LABELS)
    values = [s["score"] for s in scores]
    assert all(np.isfinite(values)) and abs(sum(values) - 1.0) < 1e-6
    assert values == sorted(values, reverse=True)


def _close(a: list[dict], b: list[dict], atol: float) -> bool:
    pa, pb = _probs(a), _probs(b)
    return all(abs(pa[k] - pb[k]) <= atol for k in LABELS)


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg binary")


# ----------------------------------------------------------------------------- classify
@needs_ffmpeg
def test_classify_accepts_every_input_kind(clf, tmp_path):
    x = make_speechlike(1.5, seed=1)
    ref = clf.classify(x)
    _assert_valid(ref)
    wav = tmp_path / "a.wav"
    sf.write(wav, x, SR, subtype="FLOAT")
    sf.write(tmp_path / "a.flac", x, SR)
    _ffmpeg("-i", str(wav), "-c:a", "libmp3lame", str(tmp_path / "a.mp3"))
    _ffmpeg("-i", str(wav), "-c:a", "libvorbis", str(tmp_path / "a.ogg"))
    _ffmpeg("-i", str(wav), "-c:a", "aac", str(tmp_path / "a.m4a"))
    _ffmpeg(
        "-f", "lavfi", "-i", "color=c=black:s=64x64:d=2", "-i", str(wav), "-shortest", str(tmp_path / "a.mp4")
    )

    # lossless inputs give the reference scores
    assert _close(clf.classify(str(wav)), ref, 1e-5)
    assert _close(clf.classify(tmp_path / "a.flac"), ref, 1e-3)  # 16-bit quantisation
    assert _close(clf.classify(wav.read_bytes()), ref, 1e-5)
    assert _close(clf.classify(torch.from_numpy(x)), ref, 1e-6)
    assert _close(clf.classify(np.stack([x, x], axis=1), sampling_rate=SR), ref, 1e-6)  # stereo (N, 2)
    assert _close(clf.classify({"array": x, "sampling_rate": SR}), ref, 1e-6)
    # lossy codecs, video containers, other rates: valid scores
    for name in ("a.mp3", "a.ogg", "a.m4a", "a.mp4"):
        _assert_valid(clf.classify(tmp_path / name))
    x8k = make_speechlike(1.5, sr=8000, seed=1)
    _assert_valid(clf.classify({"array": x8k, "sampling_rate": 8000}))
    _assert_valid(clf.classify((44100, (make_tone(seconds=1.0, sr=44100) * 32767).astype(np.int16))))
    top = clf.classify(x, top_k=2)
    assert [s["label"] for s in top] == [s["label"] for s in ref[:2]]


def test_samples_without_their_rate_are_taken_at_the_models_with_a_warning_once(model_dir, caplog, tmp_path):
    """classify(array) without sampling_rate silently assumed 16 kHz: a probe's 44.1-kHz clip scored
    neutral 0.72 instead of angry 0.87, while load_audio refuses such samples."""
    clf = EmotionClassifier(model_dir, device="cpu")
    x = make_speechlike(1.5, seed=1)
    told = "samples given without their sampling rate are taken to be at the model's 16000 Hz"
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        first = clf.classify(x)
        clf.classify_batch([x, x])
        clf.timeline(x, min_speech_s=None)
    assert caplog.text.count(told) == 1, caplog.text  # once per classifier, not per call
    assert first == clf.classify(x, sampling_rate=SR)  # the model's rate is still assumed
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        clf.classify(x, sampling_rate=SR)
        clf.classify({"array": x, "sampling_rate": SR})
        EmotionClassifier(model_dir, device="cpu").classify(x, sampling_rate=SR)
    assert told not in caplog.text
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        EmotionClassifier(model_dir, device="cpu").classify(torch.from_numpy(x))  # another classifier
    assert caplog.text.count(told) == 1
    caplog.clear()
    sf.write(tmp_path / "a.wav", x, SR)  # ser-hf predict hands its decoded samples over with their rate
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        assert predict_cli([str(tmp_path / "a.wav"), "--model", str(model_dir), "--json", "-"]) == 0
    assert told[:40] not in caplog.text


def test_classify_accepts_datasets_audio_decoder(clf, tmp_path):
    datasets = pytest.importorskip("datasets")
    x = make_speechlike(1.2, seed=2)
    stereo = np.stack([x, x], axis=1)
    path = tmp_path / "s.wav"
    sf.write(path, stereo, 44100 // 2, subtype="FLOAT")  # 22.05 kHz stereo file
    ds = datasets.Dataset.from_dict({"audio": [str(path)]}).cast_column("audio", datasets.Audio())
    decoder = ds[0]["audio"]
    assert hasattr(decoder, "get_all_samples")
    scores = clf.classify(decoder)
    _assert_valid(scores)
    assert _close(scores, clf.classify(str(path)), 1e-4)


def test_batch_equals_single(clf):
    clips = [make_speechlike(s, seed=i) for i, s in enumerate((0.7, 2.3, 1.1, 0.2, 1.6))]
    single = [clf.classify(c) for c in clips]
    batch = clf.classify_batch(clips, batch_size=3)
    for a, b in zip(single, batch):
        assert _close(a, b, 1e-5)


def test_the_cnn_families_classify_one_clip_a_pass_on_a_cpu_unless_told(clf, monkeypatch):
    """classify_batch's batch of 16 ran the CNN front end at half the speed of 16 single clips on a
    CPU (measured, one and two threads); the functionals models (the default) batch as before."""
    from ser_hf.errors import batch_size_for

    clips = [make_speechlike(0.6 + 0.1 * i, seed=i) for i in range(5)]
    sizes = []
    real = clf._probs
    monkeypatch.setattr(clf, "_probs", lambda c, n, k: sizes.append(len(c)) or real(c, n, k))
    clf.classify_batch(clips)
    assert sizes == [1] * 5
    sizes.clear()
    clf.classify_batch(clips, batch_size=4)  # the user's choice stands
    assert sizes == [4, 1]
    default = EmotionClassifier(device="cpu")
    assert batch_size_for(default.backend.model, "cpu", None) == 16
    assert batch_size_for(clf.backend.model, "cuda", None) == 16
    with pytest.raises(SERError, match="batch size must be 1 or more"):
        clf.classify_batch(clips, batch_size=0)


def test_classify_with_attention_shapes(clf):
    x = make_speechlike(2.0, seed=3)
    scores, feats, weights = clf.classify_with_attention(x)
    assert _close(scores, clf.classify(x), 1e-6)
    assert feats.shape == (1 + len(x) // clf.feature_extractor.hop_length, clf.feature_extractor.feature_size)
    assert 1 <= weights.shape[0] <= feats.shape[0]
    assert abs(float(weights.sum()) - 1.0) < 1e-4 and np.all(weights >= 0)


def test_a_model_loaded_in_bfloat16_classifies(model_dir):
    """A frame model in bfloat16 (as the stock pipeline takes ``dtype=``) gets its features in its
    own dtype (they were float32: torch's "Input type and weight type should be the same")."""
    from transformers import AutoModelForAudioClassification

    model = AutoModelForAudioClassification.from_pretrained(model_dir, dtype=torch.bfloat16)
    clip = make_speechlike(1.5, seed=3)
    half = EmotionClassifier(model, feature_extractor=model_dir, device="cpu").classify(clip)
    _assert_valid(half)
    assert _close(half, EmotionClassifier(model_dir, device="cpu").classify(clip), atol=0.05)


def test_top_k_must_be_a_count_of_labels(clf):
    """0, -1 and 2.5 used to mean 1, 1 and 2 labels without a word; the CLI refused them."""
    from ser_hf.inference.streaming import StreamingClassifier

    clip = make_speechlike(1.0, seed=1)
    assert len(clf.classify(clip, top_k=2)) == 2
    for bad in (0, -1, 2.5, True):
        with pytest.raises(SERError, match="top_k"):
            clf.classify(clip, top_k=bad)
        with pytest.raises(SERError, match="top_k"):
            clf.classify_batch([clip], top_k=bad)
        with pytest.raises(SERError, match="top_k"):
            clf.timeline(clip, top_k=bad)
        with pytest.raises(SERError, match="top_k"):
            StreamingClassifier(clf, top_k=bad)


def test_bad_inputs_raise_serror_naming_the_input(clf, tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(np.random.default_rng(0).bytes(3000))
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    for bad, name in ((junk, "junk.wav"), (empty, "empty.wav"), (tmp_path / "missing.wav", "missing.wav")):
        with pytest.raises(SERError, match=name):
            clf.classify(bad)
        with pytest.raises(SERError, match=name):
            clf.timeline(bad)
    with pytest.raises(SERError, match="NaN"):
        clf.classify(np.full(8000, np.nan, dtype=np.float32))
    # a 0.05 s clip and all-zero silence still give finite scores
    _assert_valid(clf.classify(make_tone(seconds=0.05)))
    _assert_valid(clf.classify(np.zeros(SR, dtype=np.float32)))


def test_missing_model_is_a_clear_error(tmp_path, monkeypatch):
    import ser_hf.inference.bundled as inf

    monkeypatch.setitem(inf.BUNDLED_ALIASES, "default", tmp_path / "nothing")
    with pytest.raises(SERError, match="--model"):
        default_model_path()
    with pytest.raises(SERError, match="--model"):
        EmotionClassifier()
    with pytest.raises(SERError, match="not_a_model"):
        EmotionClassifier(tmp_path / "not_a_model")


def test_cnn_transformer_family_loads(tmp_path):
    torch.manual_seed(0)
    folder = _save_tiny(
        tmp_path / "tr",
        "cnn-transformer",
        conv_channels=[4, 8],
        d_model=16,  # these keys once read hidden_size, num_attention_heads, ...: BERT's names, which this
        nhead=2,  # config stored unused (a default-sized transformer was built); now refused
        num_layers=1,
        dim_feedforward=16,
    )
    c = EmotionClassifier(folder, device="cpu")
    clips = [make_speechlike(1.0, seed=5), make_speechlike(2.0, seed=6)]
    for a, b in zip([c.classify(x) for x in clips], c.classify_batch(clips)):
        _assert_valid(a)
        assert _close(a, b, 1e-5)


# ----------------------------------------------------------------------------- timeline
class BandBackend:
    """A deterministic stand-in for a trained model, so timeline tests can check labels.

    Label by where the log-mel energy sits: low bands (a low tone), middle bands (a high tone),
    or spread out (noise). Records the shape of every batch it sees.
    """

    labels = ["low", "mid", "noise"]

    def __init__(self):
        self.shapes: list[tuple[int, ...]] = []

    def predict_logits(self, feats, mask):
        f = torch.as_tensor(feats).double()
        m = torch.as_tensor(mask).double()[..., None]
        self.shapes.append(tuple(f.shape))
        mean = (f * m).sum(1) / m.sum(1)  # (B, F) mean dB per band over real frames
        third = mean.shape[1] // 3
        low, mid = mean[:, :third].max(1).values, mean[:, third : 2 * third].max(1).values
        spread = -mean.std(1)  # flat spectrum -> high
        return torch.stack([low - mid, mid - low, 3.0 * spread + 40.0], 1).numpy() / 5.0


@pytest.fixture(scope="module")
def band_clf(model_dir) -> EmotionClassifier:
    from transformers import PretrainedConfig

    from ser_hf.models.feature_extraction_ser import SERFeatureExtractor

    backend = BandBackend()
    fe = SERFeatureExtractor(n_mels=32, peak_normalize=False)
    c = EmotionClassifier(model_dir, feature_extractor=fe, backend=backend)
    c.config = PretrainedConfig(id2label=dict(enumerate(BandBackend.labels)))
    c.labels = list(BandBackend.labels)
    return c


# 60 s made of distinct segments: (label, seconds, signal)
def _segments() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [
        ("silence", np.zeros(8 * SR, dtype=np.float32)),
        ("low", make_tone(200.0, 12.0, amp=0.5)),
        ("noise", (0.2 * rng.standard_normal(12 * SR)).astype(np.float32)),
        ("silence", (1e-5 * rng.standard_normal(4 * SR)).astype(np.float32)),
        ("mid", make_tone(2500.0, 12.0, amp=0.3)),
        ("low", make_tone(300.0, 12.0, amp=0.1)),
    ]


def _segment_at(bounds: list[tuple[float, float, str]], start: float, end: float) -> str | None:
    for a, b, label in bounds:
        if a <= start and end <= b:
            return label
    return None  # the window straddles two segments


def test_timeline_windows_follow_the_segments(band_clf, tmp_path):
    segments = _segments()
    audio = np.concatenate([s for _, s in segments])
    bounds, t = [], 0.0
    for label, s in segments:
        bounds.append((t, t + len(s) / SR, label))
        t += len(s) / SR
    path = tmp_path / "sixty.wav"
    sf.write(path, audio, SR, subtype="FLOAT")

    band_clf.backend.shapes.clear()
    # tones, not speech: the speech detector is off (min_speech_s=None) to test the windows alone
    tl = band_clf.timeline(
        path, window_s=4.0, hop_s=2.0, top_k=3, batch_size=4, chunk_s=7.0, min_speech_s=None
    )
    assert isinstance(tl, Timeline)
    assert tl.duration == pytest.approx(60.0)
    starts = [w["start"] for w in tl.windows]
    assert starts == pytest.approx([2.0 * i for i in range(29)])  # 0, 2, ..., 56
    assert all(w["end"] - w["start"] == pytest.approx(4.0) for w in tl.windows)
    inside = 0
    for w in tl.windows:
        expected = _segment_at(bounds, w["start"], w["end"])
        if expected is not None:
            inside += 1
            assert w["label"] == expected, w
            assert w["silent"] == (expected == "silence")
    assert inside >= 20
    # silent windows do not count: the overall label is the most common non-silent segment
    assert tl.label == "low"
    assert all(np.isfinite(w["score"]) for w in tl.windows)
    # bounded memory: the model never sees more than one batch of single windows
    frames = 1 + 4 * SR // band_clf.feature_extractor.hop_length
    assert max(s[0] for s in band_clf.backend.shapes) <= 4
    assert max(s[1] for s in band_clf.backend.shapes) == frames

    # the same recording as an in-memory array gives the same timeline
    tl2 = band_clf.timeline(audio, window_s=4.0, hop_s=2.0, top_k=3, min_speech_s=None)
    assert [w["label"] for w in tl2.windows] == [w["label"] for w in tl.windows]
    assert np.allclose(tl2.probabilities, tl.probabilities, atol=1e-6)

    png = plot_timeline(tl, tmp_path / "plots" / "sixty.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_timeline_window_layout_and_edge_cases(clf):
    x = make_speechlike(9.0, seed=4)  # synthetic: the speech detector finds no speech in it, so it is off
    tl = clf.timeline(x, window_s=4.0, hop_s=2.0, top_k=None, min_speech_s=None)
    # regular windows at 0, 2, 4; a last one ending exactly at 9 s
    assert [(w["start"], w["end"]) for w in tl.windows] == [(0.0, 4.0), (2.0, 6.0), (4.0, 8.0), (5.0, 9.0)]
    # each window's scores are the scores of its own samples
    for w in tl.windows:
        assert _close(w["scores"], clf.classify(x[int(w["start"] * SR) : int(w["end"] * SR)]), 1e-5)
    # a clip shorter than a window: one window covering it
    short = clf.timeline(x[: int(2.5 * SR)], window_s=4.0, top_k=None, min_speech_s=None)
    assert [(w["start"], w["end"]) for w in short.windows] == [(0.0, 2.5)]
    assert _close(short.scores, clf.classify(x[: int(2.5 * SR)]), 1e-5)
    # everything silent: label "silence", no NaN anywhere
    quiet = clf.timeline(np.zeros(6 * SR, dtype=np.float32), window_s=2.0)
    assert quiet.label == "silence" and all(w["silent"] for w in quiet.windows)
    assert np.isfinite(quiet.score)
    # the overall label is the duration-weighted mean of the window probabilities; the last window,
    # which adds 1 s to the one before (a regular step adds 2), counts half (it counted fully)
    probs = np.array(tl.probabilities)
    weights = np.array([4.0, 4.0, 4.0, 4.0 * 1.0 / 2.0])
    # windows that do not overlap (hop 3 s > window 2 s): the last one repeats nothing, full weight
    gaps = clf.timeline(x[: int(7.5 * SR)], window_s=2.0, hop_s=3.0, top_k=None, min_speech_s=None)
    assert [(w["start"], w["end"]) for w in gaps.windows] == [(0.0, 2.0), (3.0, 5.0), (5.5, 7.5)]
    rows = np.array(gaps.probabilities)
    assert gaps.score == pytest.approx(float(rows.mean(0).max()))
    mean = (probs * weights[:, None]).sum(0) / weights.sum()
    assert tl.label == tl.labels[int(np.argmax(mean))]
    assert tl.score == pytest.approx(float(mean.max()))


def test_sliding_windows_over_uneven_chunks():
    signal = np.arange(1000, dtype=np.float32)
    for chunk in (7, 100, 333, 1000, 5000):
        chunks = (signal[i : i + chunk] for i in range(0, len(signal), chunk))
        wins = list(sliding_windows(chunks, 300, 120))
        assert [(a, b) for a, b, _ in wins] == [
            (0, 300),
            (120, 420),
            (240, 540),
            (360, 660),
            (480, 780),
            (600, 900),
            (700, 1000),
        ]
        for a, b, w in wins:
            assert np.array_equal(w, signal[a:b])


def test_plot_timeline_single_window(clf, tmp_path):
    tl = clf.timeline(make_speechlike(1.0), window_s=4.0)
    out = plot_timeline(tl, tmp_path / "one.png")
    assert out.is_file() and out.read_bytes()[:4] == b"\x89PNG"


# ----------------------------------------------------------------------------- streaming
def test_a_stream_with_a_window_longer_than_the_model_reads_warns_once(caplog):
    """The default reads 8 s: a 12-s stream window used to log the same warning at nearly every
    update (62 in 79), telling the user to call timeline()."""
    import logging

    stream = None
    with caplog.at_level(logging.WARNING, logger="ser_hf.inference"):
        stream = StreamingClassifier(EmotionClassifier(device="cpu"), window_s=12.0, update_every_s=2.0)
        updates = [stream.push(make_speechlike(2.0, seed=k), SR) for k in range(10)]
    assert sum(u is not None for u in updates) >= 8
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warned) == 1 and "StreamingClassifier(window_s=12, update_every_s=2)" in warned[0], warned


def test_streaming_matches_classify_on_the_last_window(clf):
    rate = 44100
    rng = np.random.default_rng(0)
    signal = make_speechlike(5.0, sr=rate, seed=7)
    pcm = (np.stack([signal, 0.5 * signal], axis=1) * 32767).astype(np.int16)  # stereo int16, (N, 2)
    stream = StreamingClassifier(clf, window_s=3.0, update_every_s=0.5, min_speech_s=None)  # synthetic voice
    predictions, pos = [], 0
    while pos < len(pcm):
        n = int(rng.integers(200, 9000))
        out = stream.push(pcm[pos : pos + n], rate)
        pos += n
        if out is not None:
            predictions.append(out)
    # one update per 0.5 s of audio once 1 s has arrived
    assert 7 <= len(predictions) <= 9
    assert [p["time"] for p in predictions] == sorted(p["time"] for p in predictions)
    last = stream.predict()
    mono = pcm.astype(np.float32).mean(axis=1) / 32768.0
    expected = clf.classify({"array": mono[-3 * rate :], "sampling_rate": rate})
    assert _close(last["scores"], expected, 1e-6)
    assert last["time"] == pytest.approx(5.0, abs=1e-3)
    assert stream.buffered_seconds == pytest.approx(3.0, abs=1e-4)

    stream.reset()
    assert stream.predict() is None
    assert stream.push(np.zeros(16000, dtype=np.float32), 16000) is not None  # 1 s of silence
    assert stream.last_prediction["label"] == "silence"
    # a stereo stream that ends in a chunk of one frame, (1, 2): one frame of two channels, as the
    # stream's earlier chunks showed (it was read as two samples of one channel)
    stream.reset()
    stream.push(pcm[:4410], rate)
    stream.push(pcm[4410:4411], rate)
    assert stream.buffered_seconds == pytest.approx(4411 / rate)


def test_a_stream_waits_for_min_s_longer_than_its_window(clf):
    """StreamingClassifier(min_s=5, window_s=3) capped min_s at the window without a word: the first
    prediction came at 3 s where the docstring promises none before 5 s."""
    stream = StreamingClassifier(clf, window_s=3.0, update_every_s=0.5, min_s=5.0, min_speech_s=None)
    signal = make_speechlike(7.0, seed=2)
    times = [p["time"] for i in range(0, len(signal), 1600) if (p := stream.push(signal[i : i + 1600], SR))]
    assert times[0] == pytest.approx(5.0) and stream.buffered_seconds == pytest.approx(3.0), times


def test_streaming_rejects_bad_chunks(clf):
    stream = StreamingClassifier(clf)
    with pytest.raises(SERError):
        stream.push(np.array([0.1, np.nan], dtype=np.float32), 16000)
    with pytest.raises(SERError):
        stream.push(np.zeros(100, dtype=np.float32), 0)
    # a list of Python ints was scaled by 2**63 and streamed as silence; None / NaN rates and a NaN
    # window were raw TypeError / ValueError
    pcm = (np.sin(np.arange(32000) / 8.0) * 20000).astype(np.int16)
    with pytest.raises(SERError, match="64-bit integer samples"):
        stream.push(pcm.tolist(), 16000)
    for rate in (None, float("nan"), 16000.7):
        with pytest.raises(SERError, match="invalid sampling rate"):
            stream.push(pcm, rate)
    with pytest.raises(SERError, match="must be positive"):
        StreamingClassifier(clf, window_s=float("nan"))


def test_streaming_takes_device_callback_chunks_as_they_come(model_dir, caplog):
    """Probe findings on live input: updates came every 0.3 s for update_every_s=0.25 in 100-ms chunks
    (the remainder was dropped); a (0, 2) block from a callback raised a NaN error; PyAudio's bytes
    got "type |S3200"; int16 values in a float array streamed as +80 dBFS speech where there was
    silence; a model name in place of the classifier was an AttributeError; an update interval
    longer than the window skipped audio without a word."""
    stream = StreamingClassifier(
        str(model_dir), window_s=2.0, update_every_s=0.25, min_s=0.0, silence_db=None
    )
    signal = make_speechlike(12.0, seed=4)
    updates = [stream.push(signal[i : i + 1600], SR) for i in range(0, len(signal), 1600)]
    assert sum(u is not None for u in updates) == 48  # 12 s / 0.25 s
    fifth = StreamingClassifier(
        stream.classifier, window_s=2.0, update_every_s=0.2, min_s=0.0, silence_db=None
    )
    assert fifth.push(signal[: int(0.6 * SR)], SR) is not None  # 0.4 % 0.2 left 0.1999...: the next 10 ms
    assert fifth.push(signal[:160], SR) is None  # fired again at once
    assert stream.push(np.zeros((0, 2), np.int16), SR) is None
    with pytest.raises(SERError, match="np.frombuffer"):
        stream.push((signal[:1600] * 32767).astype(np.int16).tobytes(), SR)
    with pytest.raises(SERError, match="divide them by 32768"):
        stream.push(signal[:1600] * 32767, SR)
    assert stream.buffered_seconds == pytest.approx(2.0)  # the refused chunks left the buffer as it was
    with pytest.raises(SERError, match="pass an EmotionClassifier"):
        StreamingClassifier(42)
    with pytest.raises(SERError, match="silence_db"):
        StreamingClassifier(stream.classifier, silence_db=float("nan"))
    with caplog.at_level("WARNING"):
        StreamingClassifier(stream.classifier, window_s=2.0, update_every_s=3.0)
    assert "audio between windows is skipped" in caplog.text


def test_restrict_from_another_thread_never_puts_a_name_on_another_classes_score(model_dir):
    """A server thread called restrict() while another classified on the same classifier: 6 of 150
    answers put angry's score under "happy", or failed with IndexError. Each call now scores with
    the classes of one moment: all of them, or the restricted ones."""
    import sys
    import threading

    clf = EmotionClassifier(model_dir, device="cpu")
    clip = make_speechlike(1.0, seed=9)
    full = _probs(clf.classify(clip))
    kept = {k: full[k] for k in ("angry", "neutral")}
    restricted = {k: v / sum(kept.values()) for k, v in kept.items()}
    stop, errors = threading.Event(), []

    def toggle() -> None:
        while not stop.is_set():
            clf.restrict(["angry", "neutral"])
            clf.restrict(None)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    thread = threading.Thread(target=toggle)
    thread.start()
    try:
        for _ in range(300):
            try:
                got = _probs(clf.classify(clip))
            except IndexError as err:
                errors.append(err)
                continue
            want = full if len(got) == len(full) else restricted
            if set(got) != set(want) or any(abs(got[k] - want[k]) > 1e-6 for k in want):
                errors.append(got)
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(switch)
    assert not errors, errors[:3]


# ----------------------------------------------------------------------------- the bundled model
def _bundled() -> Path | None:
    try:
        return default_model_path()
    except SERError:
        return None


def timeline_agreement(model: str | None, tmp_path: Path) -> tuple[int, int, int]:
    """``ser-hf predict`` on a 60 s recording made of the example clips, each tiled to fill its
    share: ``(windows that get the label the model gives their clip alone, windows lying wholly
    inside one clip, clips)``. ``model`` None is the default (``benchmarks/timeline_check.py``
    runs the same check on any model folder)."""
    from ser_hf.data.audio import load_audio

    c = EmotionClassifier(model, device="cpu")
    clips = [load_audio(p) for p in sorted(EXAMPLES.glob("*.flac"))]
    # each clip repeated to fill its share of 60 s, so that whole windows lie inside it
    parts, bounds, t = [], [], 0.0
    share = 60.0 / len(clips)
    for clip in clips:
        label = c.classify(clip)[0]["label"]
        part = np.tile(clip, int(np.ceil(share * SR / len(clip))))[: int(share * SR)]
        parts.append(part)
        bounds.append((t, t + len(part) / SR, label))
        t += len(part) / SR
    sf.write(tmp_path / "sixty.wav", np.concatenate(parts), SR)
    out = tmp_path / "sixty.json"
    argv = [str(tmp_path / "sixty.wav"), "--hop", "1", "--json", str(out)] + (
        ["--model", model] if model else []
    )
    assert predict_cli(argv) == 0
    windows = json.loads(out.read_text())[0]["timeline"]
    checked = agree = 0
    for w in windows:
        expected = _segment_at(bounds, w["start"], w["end"])
        if expected is not None and not w["silent"]:
            checked += 1
            agree += w["label"] == expected
    return agree, checked, len(clips)


@pytest.mark.skipif(_bundled() is None, reason="the bundled model is not in this checkout yet")
def test_bundled_model_timeline_follows_concatenated_examples(tmp_path):
    """The done-when check: ``ser-hf predict`` on a 60 s recording made of the example clips gives
    a timeline whose windows follow the clips (each window inside a clip gets the label the model
    gives that clip alone)."""
    agree, checked, clips = timeline_agreement(None, tmp_path)
    assert checked >= clips
    print(f"timeline agreement: {agree}/{checked} windows inside a clip")
    assert agree / checked >= 0.75, (agree, checked)


def test_bytes_of_wav_in_memory(clf):
    buf = io.BytesIO()
    x = make_tone(330.0, 1.0)
    sf.write(buf, x, SR, format="WAV", subtype="FLOAT")
    assert _close(clf.classify(buf.getvalue()), clf.classify(x), 1e-6)


def test_onnx_runtime_backend_plugs_in(model_dir, tmp_path):
    """``onnx_path=`` runs logits through ONNX Runtime; here a hand-made graph whose logits are the
    time-mean of the first four feature rows, so the expected scores can be computed directly."""
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("Slice", ["input_features", "starts", "ends", "axes"], ["first4"]),
            helper.make_node("ReduceMean", ["first4", "time_axis"], ["logits"], keepdims=0),
        ],
        "mean_of_first_rows",
        [
            helper.make_tensor_value_info("input_features", TensorProto.FLOAT, ["batch", "frames", 32]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "frames"]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 4])],
        initializer=[
            helper.make_tensor("starts", TensorProto.INT64, [1], [0]),
            helper.make_tensor("ends", TensorProto.INT64, [1], [4]),
            helper.make_tensor("axes", TensorProto.INT64, [1], [2]),
            helper.make_tensor("time_axis", TensorProto.INT64, [1], [1]),
        ],
    )
    path = tmp_path / "toy.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)

    c = EmotionClassifier(model_dir, onnx_path=path)
    x = make_speechlike(1.3, seed=9)
    feats = c.feature_extractor(x, sampling_rate=SR, return_tensors="np")["input_features"][0]
    logits = feats[:, :4].astype(np.float64).mean(0)
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    got = _probs(c.classify(x))
    assert np.allclose([got[k] for k in LABELS], expected, atol=1e-5)
    tl = c.timeline(np.tile(x, 4), window_s=2.0)
    assert len(tl.windows) >= 2 and tl.label in LABELS
    with pytest.raises(SERError, match="PyTorch"):
        c.classify_with_attention(x)
    with pytest.raises(SERError, match="missing.onnx"):
        EmotionClassifier(model_dir, onnx_path=tmp_path / "missing.onnx")

    # the command line: ser-hf predict --onnx gives the same scores
    wav = tmp_path / "x.wav"
    sf.write(wav, x, SR, subtype="FLOAT")
    out = tmp_path / "r.json"
    assert predict_cli([str(wav), "--model", str(model_dir), "--onnx", str(path), "--json", str(out)]) == 0
    row = json.loads(out.read_text())[0]
    assert row["label"] == max(got, key=got.get) and row["score"] == pytest.approx(
        max(got.values()), abs=1e-6
    )


def test_quiet_speech_is_not_silence_but_pauses_are(clf):
    """RAVDESS 'calm' clips average about -52 dBFS: still speech, not silence."""
    from ser_hf.data.audio import load_audio

    calm = load_audio(next(EXAMPLES.glob("03-01-02-*.flac")))
    tl = clf.timeline(calm, window_s=2.0, hop_s=1.0)
    assert not any(w["silent"] for w in tl.windows) and tl.label in LABELS
    # the same clip with a 6 s pause of faint room noise in the middle: the pause is skipped
    noise = (3e-4 * np.random.default_rng(0).standard_normal(6 * SR)).astype(np.float32)
    tl = clf.timeline(np.concatenate([calm, noise, calm]), window_s=2.0, hop_s=1.0)
    pause = [w for w in tl.windows if w["start"] >= len(calm) / SR and w["end"] <= len(calm) / SR + 6]
    assert pause and all(w["silent"] and w["label"] == "silence" for w in pause)
    assert sum(not w["silent"] for w in tl.windows) >= 4
    # a microphone's DC offset (0.005, -46 dBFS, inaudible) is no sound: the pause stays silent
    # (its windows were scored as confident emotions), and a clip of DC alone is silence
    offset = np.concatenate([calm, noise, calm]) + np.float32(0.005)
    tl = clf.timeline(offset, window_s=2.0, hop_s=1.0)
    assert [w["silent"] for w in tl.windows] == [
        w["silent"]
        for w in clf.timeline(np.concatenate([calm, noise, calm]), window_s=2.0, hop_s=1.0).windows
    ]
    from ser_hf.inference.levels import SILENCE_DB, level_db

    assert level_db(np.full(SR, 0.005, dtype=np.float32)) < SILENCE_DB


def test_a_silent_clip_is_scored_with_a_warning_naming_it(clf, tmp_path, caplog):
    """A clip with no speech still gets scores (the output keeps its shape), but the log says which
    file holds no speech; quiet speech (a RAVDESS 'calm' clip, about -52 dBFS) raises no warning."""
    import logging

    silent = tmp_path / "empty_room.wav"
    sf.write(silent, np.zeros(SR, dtype=np.float32), SR)
    calm = next(EXAMPLES.glob("03-01-02-*.flac"))
    with caplog.at_level(logging.WARNING, logger="ser_hf.inference.classifier"):
        assert len(clf.classify(str(silent))) == len(LABELS)
        clf.classify(str(calm))
        clf.classify_batch([str(calm), str(silent)])
    warned = [r.getMessage() for r in caplog.records if "holds no speech" in r.getMessage()]
    assert len(warned) == 2 and all("empty_room.wav" in m for m in warned)
    # samples already in memory are named as the caller says (predict passes the file names)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ser_hf.inference.classifier"):
        batch = clf.classify_batch([np.zeros(SR, dtype=np.float32)], names=["mic 3, 14:02"])
    assert len(batch[0]) == len(LABELS) and "mic 3, 14:02" in caplog.text
    with pytest.raises(SERError, match="2 names for 1 clips"):
        clf.classify_batch([np.zeros(SR, dtype=np.float32)], names=["a", "b"])


def test_classify_batch_can_return_a_bad_clips_error_in_its_place(clf, tmp_path):
    """One unreadable clip failed a service's whole batch; with return_exceptions=True its error
    takes its place and the other clips get the scores they get alone."""
    calm = str(next(EXAMPLES.glob("03-01-02-*.flac")))
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really")
    audios = [calm, str(broken), str(tmp_path / "gone.wav"), calm]
    with pytest.raises(SERError, match="broken.wav"):
        clf.classify_batch(audios)
    out = clf.classify_batch(audios, return_exceptions=True, top_k=2)
    assert isinstance(out[1], SERError) and "broken.wav" in str(out[1])
    assert isinstance(out[2], SERError) and "gone.wav" in str(out[2])
    assert out[0] == out[3] and len(out[0]) == 2
    assert [d["score"] for d in out[0]] == pytest.approx(
        [d["score"] for d in clf.classify(calm, top_k=2)], abs=1e-5
    )
    assert all(isinstance(r, SERError) for r in clf.classify_batch([str(broken)], return_exceptions=True))


def test_classify_batch_names_a_bad_clips_error_as_the_caller_does(clf, tmp_path):
    """``names=`` named a clip in warnings only: a service passing request ids got errors (message and
    ``source``) naming ``bad.wav``, ``<2 bytes of audio>`` or ``<ndarray of shape (32000,)>``."""
    (tmp_path / "bad.wav").write_bytes(b"junk" * 100)
    loud = make_speechlike(1.0, seed=4) * 1e30
    audios = [str(tmp_path / "bad.wav"), str(tmp_path / "missing.wav"), b"xx", loud, make_speechlike(1.0)]
    names = ["req-1", "req-2", "req-6", "huge", "req-7"]
    out = clf.classify_batch(audios, names=names, return_exceptions=True)
    want = [f"req-1 ({audios[0]})", f"req-2 ({audios[1]})", "req-6", "huge"]  # a path stays, in brackets
    assert [err.source for err in out[:4]] == want
    assert all(str(err).startswith(f"{w}: ") for err, w in zip(out[:4], want))
    assert "not a readable audio" in str(out[0]) and "file not found" in str(out[1])
    assert "float samples reach" in str(out[3]) and "ndarray" not in str(out[3])
    # bad samples are bad input, as NaN ones are (a service's 422): it was a plain SERError (a service probe)
    assert type(out[3]).__name__ == "AudioInputError" == type(out[0]).__name__
    assert len(out[4]) == len(LABELS)
    with pytest.raises(SERError, match=r"^req-1 \(.*bad\.wav\): not a readable audio") as raised:
        clf.classify_batch(audios, names=names)
    assert raised.value.source == want[0]
    # without names, and with a name that is the path, errors read as before
    assert str(clf.classify_batch(audios[:1], return_exceptions=True)[0]).startswith(f"{audios[0]}: not")
    assert clf.classify_batch(audios[:1], names=audios[:1], return_exceptions=True)[0].source == audios[0]


def test_loading_is_quiet_and_the_classifier_says_what_it_is(capfd):
    """No "Loading weights" progress bar from a ser_hf load; the repr names model, labels, backend."""
    from ser_hf.inference.classifier import EmotionClassifier

    clf = EmotionClassifier(device="cpu")
    captured = capfd.readouterr()
    assert "Loading weights" not in captured.err + captured.out
    text = repr(clf)
    assert text.startswith("EmotionClassifier(model=") and "turn_encoder_2_voices_crops" in text
    assert "'neutral'" in text and "TorchBackend(cpu)" in text and "sampling_rate=16000" in text
    from transformers.utils import logging as hf_logging

    assert hf_logging.is_progress_bar_enabled()  # the user's own setting is left as it was


def test_restrict_scores_only_the_classes_asked_for(model_dir):
    """A user whose recordings hold only some emotions gets only those, renormalised: the model's
    probabilities of the kept classes over their sum, in one clip, a batch and a timeline."""
    clf = EmotionClassifier(model_dir, device="cpu")
    clips = [make_speechlike(s, seed=i) for i, s in enumerate((1.2, 2.0, 0.8))]
    full = [_probs(clf.classify(c)) for c in clips]
    assert clf.restrict(["Anger", "sad", "neutral"]) is clf  # a corpus's spelling of angry
    assert clf.labels == ["neutral", "sad", "angry"] and "restricted from 4" in repr(clf)
    for f, scores, batched in zip(full, [clf.classify(c) for c in clips], clf.classify_batch(clips)):
        kept = {k: f[k] for k in clf.labels}
        want = {k: v / sum(kept.values()) for k, v in kept.items()}
        assert [s["label"] for s in scores] == sorted(want, key=want.get, reverse=True)
        assert all(abs(s["score"] - want[s["label"]]) < 1e-6 for s in scores)
        assert {s["label"] for s in batched} == set(want)
    timeline = clf.timeline(make_speechlike(9.0, seed=3), top_k=None, min_speech_s=None)
    assert timeline.labels == ["neutral", "sad", "angry"]
    assert all(
        {s["label"] for s in w["scores"]} <= {"neutral", "sad", "angry", "silence"} for w in timeline.windows
    )
    with pytest.raises(SERError, match="'boredom' is not one of this model's classes"):
        clf.restrict(["boredom", "sad"])
    with pytest.raises(SERError, match="at least two"):
        clf.restrict(["sad"])
    # calm is this model's neutral, as the harmonised classes (and evaluate) count it; it was refused
    assert clf.restrict(["calm", "angry"]).labels == ["neutral", "angry"]
    assert clf.restrict(None).labels == LABELS and _probs(clf.classify(clips[0])) == pytest.approx(full[0])


def test_restrict_matches_a_models_own_class_names_whatever_their_case(tmp_path, caplog):
    """A model trained on a corpus of its own ('ANGRY', 'Fear') refused restrict(['angry', 'fear']),
    though corpora, label_map and evaluate match labels whatever their case. A name matched as
    another spelling of a class (fearful for Fear) is said (a probe's restrict(['angry']) on a model
    of 'anger' matched without a word)."""
    model, fe = build_model(
        "seed-logmel-bilstm", ["ANGRY", "Fear", "sad", "Other"], conv_channels=[4, 8], lstm_hidden_size=8
    )  # 'Other' names no emotion the package knows (normalize_emotion gives None)
    model.save_pretrained(tmp_path)
    fe.save_pretrained(tmp_path)
    clf = EmotionClassifier(tmp_path, device="cpu")
    assert clf.restrict(["angry", " fear"]).labels == ["ANGRY", "Fear"]
    assert clf.restrict(["Anger", "SADNESS"]).labels == ["ANGRY", "sad"]  # a corpus's spelling, any case
    with caplog.at_level("INFO", logger="ser_hf"):
        assert clf.restrict(["fearful", "sad"]).labels == ["Fear", "sad"]  # the usual name of the model's own
    said = [r.getMessage() for r in caplog.records]
    assert said == ["'fearful' is scored as the model's 'Fear' (one emotion by ser_hf's names)"]
    assert clf.restrict(["other", "sad"]).labels == ["sad", "Other"]
    with pytest.raises(SERError, match="'happy' is not one of this model's classes"):
        clf.restrict(["happy", "sad"])


def test_a_config_that_does_not_fit_its_weights_is_a_clear_error(tmp_path):
    """An edited config.json (other layer sizes, another label) was a raw RuntimeError traceback from
    ``EmotionClassifier(dir)`` and ``ser-hf predict``."""
    folder = _save_tiny(tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    config["lstm_hidden_size"] = 64
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(SERError, match="the weights do not fit config.json"):
        EmotionClassifier(folder, device="cpu")
    from ser_hf.training.evaluation import load_model

    with pytest.raises(SERError, match="the weights do not fit config.json"):  # the same loader
        load_model(folder, "cpu")


def test_models_loaded_from_several_threads_show_no_progress_bar():
    """A service creating classifiers from several threads got transformers' "Loading weights" bar:
    one load's end turned the bars back on while another load ran (probe of session 36)."""
    import threading

    from transformers.utils import logging as hf_logging

    from ser_hf.training.saving import quiet_loading

    first_in, first_out, seen = threading.Event(), threading.Event(), []

    def first() -> None:
        with quiet_loading():
            first_in.set()
            assert first_out.wait(10)

    hf_logging.enable_progress_bar()
    t = threading.Thread(target=first)
    t.start()
    assert first_in.wait(10)
    with quiet_loading():  # a second load starts while the first runs, and outlives it
        first_out.set()
        t.join(10)
        seen.append(hf_logging.is_progress_bar_enabled())
    assert seen == [False] and hf_logging.is_progress_bar_enabled()  # restored after the last load


def test_a_pool_forked_after_the_classifier_ran_classifies_instead_of_hanging(tmp_path):
    """multiprocessing's fork pool (Linux's default) or datasets.map(num_proc=2), started after the
    classifier ran on two torch threads, hung for good at 0 % CPU in the children's first torch
    operation (OpenMP's pool after fork); the children now run torch on one thread and answer as the
    parent does. Run in a child process with OMP_NUM_THREADS (and the suite's OMP_WAIT_POLICY) unset, under
    a timeout."""
    import os
    import sys

    script = tmp_path / "pool.py"
    script.write_text(
        "import multiprocessing as mp\n"
        "import numpy as np, torch\n"
        "from ser_hf import EmotionClassifier\n"
        "torch.set_num_threads(2)\n"
        "clip = (0.1 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)).astype(np.float32)\n"
        "clf = EmotionClassifier('speech-stats', device='cpu')\n"
        "def job(_):\n"
        "    return clf.classify(clip, top_k=None)\n"
        "def threads(_):\n"
        "    return torch.get_num_threads()\n"
        "if __name__ == '__main__':\n"
        "    with mp.get_context('fork').Pool(1) as pool:  # no classifier ran yet: threads left alone\n"
        "        assert pool.map(threads, [0]) == [2]\n"
        "    here = clf.classify(clip, top_k=None)\n"
        "    torch.ones(512, 512) @ torch.ones(512, 512)\n"
        "    with mp.get_context('fork').Pool(2) as pool:\n"
        "        there = pool.map(job, range(2))\n"
        "    assert [[d['label'] for d in r] for r in there] == [[d['label'] for d in here]] * 2\n"
        "    print('ok', torch.get_num_threads())\n"
    )
    unset = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0 and "ok 2" in done.stdout, done.stderr[-2000:]  # the parent keeps its threads


def test_a_stream_keeps_one_channel_and_says_how_to_read_interleaved_bytes(clf):
    """StreamingClassifier had no channel= (a TypeError), averaged a stereo call's two sides, and its
    bytes hint (np.frombuffer(data, np.int16)) read interleaved stereo as mono at twice the length."""
    rate = 16000
    left, right = (
        make_speechlike(4.0, sr=rate, f0=110.0, seed=1),
        make_speechlike(4.0, sr=rate, f0=260.0, seed=2),
    )
    pcm = (np.stack([left, right], axis=1) * 32767).astype(np.int16)
    stream = StreamingClassifier(clf, window_s=3.0, update_every_s=0.5, channel="right", min_speech_s=None)
    for i in range(0, len(pcm), 1600):
        stream.push(pcm[i : i + 1600], rate)
    expected = clf.classify({"array": pcm[-3 * rate :, 1], "sampling_rate": rate})
    assert _close(stream.predict()["scores"], expected, 1e-6)
    with pytest.raises(SERError, match="has 1 channel, so channel 1"):
        StreamingClassifier(clf, channel=1).push(pcm[:, 0], rate)
    with pytest.raises(SERError, match=r"reshape\(-1, channels\) for interleaved stereo"):
        stream.push(pcm.tobytes(), rate)


def test_a_stream_calls_a_pause_with_room_noise_silence_as_the_timeline_does(clf, caplog):
    """The live stream had no relative silence rule: every pause of a call (room noise at -50 dBFS,
    above -55) got an emotion where timeline() says silence; min_s=0.02 scored 20 ms of audio."""
    rate = 16000
    speech = 3 * make_speechlike(4.0, sr=rate, seed=3)  # loudest 50 ms about -4 dBFS
    noise = (np.random.default_rng(0).standard_normal(4 * rate) * 10 ** (-50 / 20)).astype(np.float32)
    signal = np.concatenate([speech, noise])
    labels = {}
    for rel in (40.0, None):
        # a synthetic voice, which the speech detector takes for no speech: the level rules alone
        stream = StreamingClassifier(
            clf, window_s=2.0, update_every_s=0.5, silence_rel_db=rel, min_speech_s=None
        )
        out = [stream.push(signal[i : i + 800], rate) for i in range(0, len(signal), 800)]
        labels[rel] = [p["label"] for p in out if p is not None and p["time"] >= 6.5]  # windows of noise only
    assert labels[40.0] and set(labels[40.0]) == {"silence"}
    assert "silence" not in labels[None]
    timeline = clf.timeline(
        {"array": signal, "sampling_rate": rate}, window_s=2.0, hop_s=0.5, min_speech_s=None
    )
    assert all(w["label"] == "silence" for w in timeline.windows if w["start"] >= 4.5)
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        short = StreamingClassifier(clf, window_s=3.0, update_every_s=0.02, min_s=0.02)
    assert "min_s=0.02" in caplog.text and "predictions start after 0.1 s" in caplog.text
    assert short.push(speech[:320], rate) is None  # 20 ms: no prediction
