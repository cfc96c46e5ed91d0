"""The stock `pipeline("audio-classification")` on saved ser_hf models of every frame family."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio.functional as AF
from conftest import make_speechlike
from transformers import pipeline

from ser_hf.training.presets import build_model

LABELS = ["neutral", "happy", "sad", "angry", "fearful"]

# tiny versions of the two families' presets (same code paths, a few thousand parameters)
TINY = {
    "cnn_bilstm_attention": (
        "resgelu-bilstm-mha",
        {"n_mfcc": 16, "n_mels": 32},
        dict(
            conv_channels=[4, 8],
            lstm_hidden_size=8,
            lstm_layers=2,
            attention_heads=4,
            attention_hidden_size=8,
            classifier_hidden_size=8,
        ),
    ),
    "cnn_transformer": (
        "cnn-transformer",
        {"n_mels": 32},
        dict(conv_channels=[4, 4, 8, 8], d_model=16, nhead=2, num_layers=1, dim_feedforward=16),
    ),
    "compact": ("compact", {"n_mels": 32}, dict(channels=16, num_blocks=2, attention_hidden_size=8)),
}


def save_tiny_model(family: str, folder: Path) -> Path:
    """Save a randomly initialised tiny model of ``family`` plus its extractor into ``folder``."""
    preset, features, config = TINY[family]
    torch.manual_seed(0)
    model, extractor = build_model(preset, LABELS, feature_overrides=features, **config)
    with torch.no_grad():  # spread the scores so that comparisons mean something
        model.classifier[-1].weight.mul_(3.0)
    model.save_pretrained(folder)
    extractor.save_pretrained(folder)
    return folder


def as_dict(result: list[dict]) -> dict[str, float]:
    return {r["label"]: r["score"] for r in result}


def assert_valid(result: list[dict]) -> dict[str, float]:
    scores = as_dict(result)
    assert set(scores) == set(LABELS)
    assert abs(sum(scores.values()) - 1.0) < 1e-5
    return scores


def assert_scores_close(a: dict[str, float], b: dict[str, float], tol: float = 1e-5) -> None:
    assert a.keys() == b.keys()
    assert max(abs(a[k] - b[k]) for k in a) <= tol, (a, b)


@pytest.fixture(scope="module", params=list(TINY))
def classifier(request, tmp_path_factory):
    folder = save_tiny_model(request.param, tmp_path_factory.mktemp(request.param))
    return pipeline("audio-classification", model=str(folder), device="cpu")


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return make_speechlike(seconds=1.2, seed=3)


def direct_scores(classifier, audio: np.ndarray) -> dict[str, float]:
    """The same clip through the extractor and the model, without the pipeline."""
    extractor, model = classifier.feature_extractor, classifier.model
    inputs = extractor(audio, sampling_rate=extractor.sampling_rate, return_tensors="pt")
    with torch.no_grad():
        probs = model(**inputs).logits.softmax(-1)[0]
    return {model.config.id2label[i]: float(p) for i, p in enumerate(probs)}


def test_pipeline_uses_our_model_and_labels(classifier):
    # the package's own classes (registered on import), not a copy of remote code
    assert classifier.model.__class__.__module__ in (
        "ser_hf.models.modeling_ser",
        "ser_hf.models.modeling_compact",
    )
    assert type(classifier.model).__name__ in (
        "CnnBiLstmAttentionForAudioClassification",
        "CnnTransformerForAudioClassification",
        "CompactSERForAudioClassification",
    )
    assert classifier.model.config.id2label == dict(enumerate(LABELS))


def test_nan_or_empty_samples_are_the_callers_audio_error_in_the_stock_pipeline(classifier, speech):
    """A server on the stock pipeline that answers ``AudioInputError`` as a bad upload (the README's
    pattern) got a plain ``SERError`` for NaN samples: its 500, not the client's 422."""
    from ser_hf import AudioInputError

    bad = speech.copy()
    bad[100] = np.nan
    with pytest.raises(AudioInputError, match="NaN or Inf"):
        classifier(bad)
    with pytest.raises(AudioInputError, match="empty"):
        classifier.feature_extractor(np.zeros(0, np.float32), sampling_rate=16000)


def test_array_matches_direct_call(classifier, speech):
    scores = assert_valid(classifier(speech, top_k=None))
    assert_scores_close(scores, direct_scores(classifier, speech))
    # not a constant model: a different signal gets different scores
    other = as_dict(classifier(make_speechlike(seconds=0.7, f0=260.0, seed=9), top_k=None))
    assert max(abs(scores[k] - other[k]) for k in scores) > 1e-4


def test_wav_and_mp3_paths(classifier, speech, tmp_path):
    wav = tmp_path / "clip.wav"
    sf.write(wav, speech, 16000, subtype="FLOAT")
    assert_scores_close(assert_valid(classifier(str(wav), top_k=None)), direct_scores(classifier, speech))
    if shutil.which("ffmpeg") is None:
        pytest.fail("FFmpeg is required (the pipeline decodes files with it): apt-get install ffmpeg")
    mp3 = tmp_path / "clip.mp3"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(wav), str(mp3)], check=True)
    top = classifier(str(mp3), top_k=2)
    assert len(top) == 2 and top[0]["label"] in LABELS and top[0]["score"] >= top[1]["score"]
    assert_valid(classifier(str(mp3), top_k=None))


@pytest.mark.parametrize("rate", [8000, 44100])
def test_dict_input_at_other_rates_is_resampled(classifier, rate):
    audio = make_speechlike(seconds=1.0, sr=rate, seed=5)
    scores = assert_valid(classifier({"array": audio, "sampling_rate": rate}, top_k=None))
    at_16k = AF.resample(torch.from_numpy(audio), rate, 16000).numpy()
    assert_scores_close(scores, direct_scores(classifier, at_16k))


def test_batch_of_different_lengths_equals_single_calls(classifier):
    batch = [make_speechlike(seconds=s, seed=i) for i, s in enumerate((1.6, 0.4, 1.0, 0.15))]
    batched = classifier(batch, batch_size=4, top_k=None)
    assert len(batched) == len(batch)
    for audio, result in zip(batch, batched):
        assert_scores_close(assert_valid(result), as_dict(classifier(audio, top_k=None)))


@pytest.mark.parametrize("model", ["default", "speech-stats-mfcc-speech-voices"])
def test_a_clip_under_half_a_second_scores_the_same_in_the_pipeline_and_classify(model):
    """classify zero-padded clips under 0.5 s before the extractor, the stock pipeline did not: a
    0.3-s clip got another top label from the README's pipeline than from classify and the demo."""
    from ser_hf import EmotionClassifier
    from ser_hf.inference.bundled import resolve_model_name

    short = make_speechlike(seconds=0.3, seed=4)
    ours = as_dict(
        [
            {"label": r["label"], "score": r["score"]}
            for r in EmotionClassifier(model).classify(short, top_k=None)
        ]
    )
    stock = as_dict(pipeline("audio-classification", model=str(resolve_model_name(model)))(short, top_k=None))
    assert_scores_close(stock, ours)
