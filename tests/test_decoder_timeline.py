"""``timeline()`` of a torchcodec / datasets ``AudioDecoder`` (session 44): the whole recording was
decoded into memory (``get_all_samples``) before windowing, where a path is read a chunk at a time.
It is read by time range now, giving the path's windows and scores."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from conftest import make_speechlike, save_tiny_bilstm

pytest.importorskip("torchcodec")

LABELS = ["neutral", "happy", "sad", "angry"]
RATE = 44100  # not the model's 16 kHz: the chunks are resampled with context, as a file's are


class _MeanBackend:
    """Costs nothing: each window's logits are its first four features averaged over its frames."""

    def predict_logits(self, features, mask, **extra):
        feats, mask = np.asarray(features, np.float64), np.asarray(mask, np.float64)[..., None]
        return (feats[..., :4] * mask).sum(1) / mask.sum(1)


@pytest.fixture(scope="module")
def clf(tmp_path_factory):
    from ser_hf import EmotionClassifier

    return EmotionClassifier(
        save_tiny_bilstm(tmp_path_factory.mktemp("tiny"), LABELS), backend=_MeanBackend()
    )


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """34.3 s of stereo at 44.1 kHz: speech-like stretches with a silent gap and a quiet one."""
    parts = [make_speechlike(7.0, RATE, seed=1), np.zeros(6 * RATE, np.float32)]
    parts += [make_speechlike(9.0, RATE, f0=220.0, seed=2), 0.01 * make_speechlike(4.0, RATE, seed=3)]
    parts += [make_speechlike(8.3, RATE, f0=120.0, seed=4)]
    left = np.concatenate(parts)
    stereo = np.stack([left, 0.5 * np.roll(left, 999)], axis=1)
    path = tmp_path_factory.mktemp("rec") / "call.wav"
    sf.write(path, stereo, RATE, subtype="PCM_16")
    return path


def test_a_decoders_timeline_is_read_in_ranges_and_is_the_paths(clf, recording, monkeypatch):
    from torchcodec.decoders import AudioDecoder

    ranges, whole = [], []
    in_range = AudioDecoder.get_samples_played_in_range

    def spied(self, start_seconds=0.0, stop_seconds=None):
        ranges.append((start_seconds, stop_seconds))
        return in_range(self, start_seconds, stop_seconds)

    monkeypatch.setattr(AudioDecoder, "get_samples_played_in_range", spied)
    monkeypatch.setattr(AudioDecoder, "get_all_samples", lambda self: whole.append(1) or in_range(self))
    for channel in (None, "right"):
        ranges.clear()
        by_path = clf.timeline(recording, chunk_s=10.0, top_k=None, channel=channel, min_speech_s=None)
        assert not ranges  # libsndfile reads the path
        decoder = AudioDecoder(str(recording))
        by_decoder = clf.timeline(decoder, chunk_s=10.0, top_k=None, channel=channel, min_speech_s=None)
        assert not whole, "the decoder was decoded whole"
        # a range at a time, none longer than a chunk (10 s): memory follows the chunk, not the recording
        read = [(a, b) for a, b in ranges if b is None or b > a]
        assert len(read) >= 4 and all(b is not None and b - a <= 10.0 + 1e-6 for a, b in read), read
        assert by_decoder.duration == pytest.approx(by_path.duration, abs=1e-9)
        assert len(by_decoder.windows) == len(by_path.windows) > 10
        for got, want in zip(by_decoder.windows, by_path.windows):
            assert (got["start"], got["end"], got["label"]) == (want["start"], want["end"], want["label"])
            assert got["score"] == pytest.approx(want["score"], abs=1e-6)
        np.testing.assert_allclose(by_decoder.probabilities, by_path.probabilities, atol=1e-6)
        labels = {w["label"] for w in by_path.windows}
        assert "silence" in labels and len(labels) > 1  # the gap, and windows scored
        assert (by_decoder.label, by_decoder.source) == (by_path.label, "<AudioDecoder>")


def test_a_decoders_errors_are_as_before(clf, recording):
    """A track or a channel the decoder lacks is the same typed error as for the whole decoder."""
    from torchcodec.decoders import AudioDecoder

    from ser_hf.errors import NoSuchChannelError, NoSuchTrackError

    with pytest.raises(NoSuchTrackError, match="<AudioDecoder>"):
        clf.timeline(AudioDecoder(str(recording)), track=1)
    with pytest.raises(NoSuchChannelError, match="<AudioDecoder>"):
        clf.timeline(AudioDecoder(str(recording)), channel=2)
