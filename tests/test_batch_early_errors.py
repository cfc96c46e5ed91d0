"""``classify_batch(return_exceptions=False)`` with a bad LAST clip (session 44): the batch was decoded
and scored a group at a time, so a missing or corrupt file at the end raised only after every group
before it had been scored, work then thrown away. What a clip's header tells (missing, not audio, over
the hour) now fails the call before anything is scored, and every raised error names the clip's
position as well as its name or path."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from conftest import make_speechlike, save_tiny_bilstm

from ser_hf.errors import AudioInputError, AudioTooLongError, NoSpeechError, SERError

SR = 16000
LABELS = ["neutral", "happy", "sad", "angry"]


class _CountingBackend:
    """Costs nothing and counts its forward calls: each clip's logits are its first four features
    averaged over its frames."""

    def __init__(self):
        self.calls = 0

    def predict_logits(self, features, mask, **extra):
        self.calls += 1
        feats, mask = np.asarray(features, np.float64), np.asarray(mask, np.float64)[..., None]
        return (feats[..., :4] * mask).sum(1) / mask.sum(1)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return save_tiny_bilstm(tmp_path_factory.mktemp("tiny"), LABELS)


@pytest.fixture
def clf(folder, monkeypatch):
    from ser_hf import EmotionClassifier
    from ser_hf.inference import classifier

    monkeypatch.setattr(classifier, "BATCH_HELD_S", 1.0)  # each 1.5-s clip a group of its own
    return EmotionClassifier(folder, backend=_CountingBackend())


@pytest.fixture
def good(tmp_path):
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"good{i}.wav")
        sf.write(paths[-1], make_speechlike(1.5, seed=i), SR)
    return paths


def test_a_missing_or_corrupt_last_clip_fails_before_any_clip_is_scored(clf, good, tmp_path):
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF not really a wave file" * 10)
    for last, kind, reason in (
        (tmp_path / "gone.wav", SERError, "file not found"),
        (corrupt, AudioInputError, "not a readable audio"),
        (corrupt.read_bytes(), AudioInputError, "not a readable audio"),
    ):
        clf.backend.calls = 0
        with pytest.raises(kind, match=reason) as raised:
            clf.classify_batch([*good, last])
        assert clf.backend.calls == 0, "clips were scored before the bad one was found"
        text = str(raised.value)
        assert text.endswith("(classify_batch: clip 3 of 4, counted from 0)"), text
        if not isinstance(last, bytes):
            assert text.startswith(f"{last}: ") and raised.value.source == str(last)
    # named as the caller names it, the path in brackets; the same error in its place otherwise
    names = ["req-0", "req-1", "req-2", "req-3"]
    with pytest.raises(SERError, match=r"^req-3 \(.*gone\.wav\): .*\(classify_batch: clip 3 of 4"):
        clf.classify_batch([*good, tmp_path / "gone.wav"], names=names)
    out = clf.classify_batch([*good, tmp_path / "gone.wav"], names=names, return_exceptions=True)
    assert [len(r) for r in out[:3]] == [4, 4, 4] and out[3].source == f"req-3 ({tmp_path / 'gone.wav'})"


def test_a_last_clip_over_the_hour_fails_from_its_header_before_any_scoring(clf, good, monkeypatch):
    from ser_hf.inference import inputs

    monkeypatch.setattr(inputs, "CLASSIFY_MAX_S", 1.6)  # the 1.5-s clips are within it
    long = good[0].parent / "long.wav"
    sf.write(long, make_speechlike(2.0, seed=9), SR)
    with pytest.raises(AudioTooLongError, match=r"long\.wav: lasts .*clip 3 of 4, counted from 0\)$"):
        clf.classify_batch([*good, long])
    assert clf.backend.calls == 0


def test_what_decoding_alone_finds_still_names_the_clips_position(clf, good, tmp_path):
    """A silent clip under ``require_speech`` is known only once decoded: it fails in its turn, named
    with its position; ``return_exceptions=True`` is unchanged."""
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(SR, np.float32), SR)
    with pytest.raises(
        NoSpeechError, match=r"silent\.wav: .*\(classify_batch: clip 1 of 4, counted from 0\)$"
    ):
        clf.classify_batch([good[0], silent, good[1], good[2]], require_speech=True)
    out = clf.classify_batch([good[0], silent], require_speech=True, return_exceptions=True)
    assert isinstance(out[1], NoSpeechError) and "classify_batch" not in str(out[1]) and len(out[0]) == 4
