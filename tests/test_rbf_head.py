"""The RBF kernel head of a functionals model (``config.rbf_components``): the linear layer reads the
standardised vector's kernel similarities to landmark vectors, so the saved model draws the curved
class boundaries of scikit-learn's ``Nystroem -> LogisticRegression`` it was fitted as."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from test_training import _clip

from ser_hf.errors import SERError
from ser_hf.models.configuration_ser import FunctionalsLinearConfig
from ser_hf.models.modeling_ser import FunctionalsLinearForAudioClassification
from ser_hf.training.functionals import _fit, to_pretrained
from ser_hf.training.linear import predict_probabilities, train_linear

LABELS = ["neutral", "happy", "sad", "angry"]  # "angry" never in training: probability 0


def _rings(n: int = 240, d: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three classes on concentric shells of radius 1, 2.5 and 4: no straight line separates them."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    direction = rng.standard_normal((n, d))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    x = direction * (1.0 + 1.5 * y)[:, None] + 0.15 * rng.standard_normal((n, d))
    return x, y


def _probs(model, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return torch.softmax(model(torch.as_tensor(x, dtype=torch.float32)).logits, -1).numpy()


@pytest.mark.parametrize("input_clip", [None, 1.5])
def test_the_saved_model_gives_the_fitted_kernel_pipelines_probabilities(tmp_path, input_clip):
    x, y = _rings()
    clf = _fit(x, y, 1.0, 0, input_clip=input_clip, rbf_components=60)
    model, _ = to_pretrained(clf, LABELS, "speech-stats")
    assert (model.config.rbf_components, model.config.input_clip) == (60, input_clip)
    test, _ = _rings(60, seed=1)
    test[:5] *= 3  # far outside the training range as well
    probs = _probs(model, test)
    np.testing.assert_allclose(probs[:, :3], clf.predict_proba(test), atol=1e-4)
    assert probs[:, 3].max() < 1e-6
    model.save_pretrained(tmp_path)
    loaded = FunctionalsLinearForAudioClassification.from_pretrained(tmp_path)
    assert loaded.config.rbf_components == 60 and loaded.config.rbf_gamma == pytest.approx(1 / 6)
    np.testing.assert_allclose(_probs(loaded, test), probs, atol=1e-6)


def test_the_kernel_head_separates_classes_a_linear_head_cannot():
    x, y = _rings()
    test, truth = _rings(150, seed=2)
    kernel, _ = to_pretrained(_fit(x, y, 10.0, 0, rbf_components=100), LABELS, "speech-stats")
    linear, _ = to_pretrained(_fit(x, y, 10.0, 0), LABELS, "speech-stats")
    assert (_probs(kernel, test).argmax(1) == truth).mean() > 0.9
    assert (_probs(linear, test).argmax(1) == truth).mean() < 0.6


def test_train_linear_with_rbf_components_saves_a_kernel_model_beside_the_speaker_head(tmp_path, caplog):
    clips = [
        _clip(f0 * (1 + 0.03 * i), 0.6, 10 * k + i)
        for k, f0 in enumerate((140.0, 280.0, 560.0))
        for i in range(8)
    ]
    labels = [k for k in range(3) for _ in range(8)]
    speakers = [f"s{i % 4}" for i in range(24)]
    train = [r for r in range(24) if r % 4 < 3]
    val = [r for r in range(24) if r % 4 == 3]
    spec = {
        "feature_extractor": {"functionals": "speech-stats"},
        "config": {"c_grid": [0.1, 1.0], "rbf_components": 40, "speaker_head": True},
    }
    with caplog.at_level(logging.INFO, logger="ser_hf.training.linear"):
        model, extractor, _ = train_linear(
            clips, labels, train, val, LABELS[:3], spec, seed=0, groups={"speaker": speakers}
        )
    # the speaker head's C search logged lines identical to the main head's (then "UA 0.523" read as a
    # contradiction of the main search's figures); each now says which head it is
    searched = [r.getMessage() for r in caplog.records if "validation UA" in r.getMessage()]
    assert (
        len(searched) == 4 and sum(m.startswith("speaker head (used after adapt): C=") for m in searched) == 2
    )
    # no more landmarks than the refit's rows (training + validation)
    assert model.config.rbf_components == 24
    assert model.config.speaker_head and model.speaker_classifier.in_features == model.config.num_features
    model.save_pretrained(tmp_path)
    extractor.save_pretrained(tmp_path)
    loaded = FunctionalsLinearForAudioClassification.from_pretrained(tmp_path)
    probs = predict_probabilities(loaded, extractor, [clips[r] for r in val])
    assert (probs.argmax(1) == np.asarray(labels)[val]).mean() > 0.5


@pytest.mark.parametrize("bad", [-1, 2.5, "1000", True])
def test_a_bad_rbf_components_is_refused_with_the_fix(bad):
    spec = {
        "feature_extractor": {"functionals": "speech-stats"},
        "config": {"c_grid": [0.1], "rbf_components": bad},
    }
    clips = [_clip(140.0, 0.4, i) for i in range(4)]
    with pytest.raises(SERError, match=r"rbf_components.*\{\"rbf_components\": 0\}"):
        train_linear(clips, [0, 1, 0, 1], [0, 1], [2, 3], LABELS, spec)


def test_rbf_components_does_not_combine_with_gender_weights():
    spec = {
        "feature_extractor": {"functionals": "speech-stats"},
        "config": {"c_grid": [0.1], "rbf_components": 50, "gender_weights": True},
    }
    clips = [_clip(140.0, 0.4, i) for i in range(4)]
    with pytest.raises(SERError, match="gender_weights"):
        train_linear(
            clips, [0, 1, 0, 1], [0, 1], [2, 3], LABELS, spec, groups={"gender": ["f", "m", "f", "m"]}
        )
    x, y = _rings()
    with pytest.raises(SERError, match="rbf_components"):
        _fit(x, y, 1.0, 0, genders=np.where(np.arange(len(y)) % 2, "male", "female"), rbf_components=50)
    with pytest.raises(SERError, match="rbf_components"):
        FunctionalsLinearConfig(num_features=4, functionals="speech-stats", rbf_components=-3)
    with pytest.raises(SERError, match="rbf_components"):
        FunctionalsLinearConfig(
            num_features=4, functionals="speech-stats", rbf_components=8, gender_labels=["female", "male"]
        )


def test_adapting_a_kernel_model_recentres_it_and_restoring_gives_back_its_predictions():
    from ser_hf.training.adaptation import adapt_model, restore_model

    x, y = _rings()
    model, _ = to_pretrained(_fit(x, y, 10.0, 0, rbf_components=100), LABELS, "speech-stats")
    speaker, truth = _rings(60, seed=3)
    speaker += 3.0  # one speaker's clips, all shifted alike (another voice or microphone)
    before = _probs(model, speaker)
    adapt_model(
        model, [{"input_features": torch.as_tensor(row[None], dtype=torch.float32)} for row in speaker]
    )
    adapted = _probs(model, speaker)
    assert (adapted.argmax(1) == truth).mean() > (before.argmax(1) == truth).mean() + 0.2
    restore_model(model)
    np.testing.assert_allclose(_probs(model, speaker), before, atol=1e-6)
