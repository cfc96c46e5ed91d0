"""Clipped inputs of a functionals model (``config.input_clip``): the standardised values the linear
layer reads are clipped to ``[-input_clip, input_clip]`` in training and in the saved model, so one
value far outside the training range cannot move the prediction without bound."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_training import _clip

from ser_hf.errors import SERError
from ser_hf.models.configuration_ser import FunctionalsLinearConfig
from ser_hf.models.modeling_ser import FunctionalsLinearForAudioClassification
from ser_hf.training.functionals import _fit, to_pretrained
from ser_hf.training.linear import predict_probabilities, train_linear

LABELS = ["neutral", "happy", "sad"]


def _vectors(n: int = 90, d: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.standard_normal((n, d)) + 1.5 * np.eye(3, d)[y]
    return x, y


def _probs(model, x: np.ndarray) -> np.ndarray:  # the model's softmax over the classes
    with torch.no_grad():
        return torch.softmax(model(torch.as_tensor(x, dtype=torch.float32)).logits, -1).numpy()


def test_the_saved_model_clips_as_the_fit_did(tmp_path):
    x, y = _vectors()
    clf = _fit(x, y, 1.0, 0, input_clip=2.0)
    model, _ = to_pretrained(clf, LABELS, "speech-stats")
    assert model.config.input_clip == 2.0
    test, _ = _vectors(30, seed=1)
    test[:, 0] *= 20  # values far outside the training range, where clipping changes the logits
    np.testing.assert_allclose(_probs(model, test), clf.predict_proba(test), atol=1e-4)
    model.save_pretrained(tmp_path)
    loaded = FunctionalsLinearForAudioClassification.from_pretrained(tmp_path)
    assert loaded.config.input_clip == 2.0
    np.testing.assert_allclose(_probs(loaded, test), _probs(model, test), atol=1e-6)


def test_an_outlying_value_moves_the_clipped_prediction_only_up_to_the_clip():
    x, y = _vectors()
    clipped, _ = to_pretrained(_fit(x, y, 1.0, 0, input_clip=2.0), LABELS, "speech-stats")
    plain, _ = to_pretrained(_fit(x, y, 1.0, 0), LABELS, "speech-stats")
    assert plain.config.input_clip is None
    far = np.tile(x[:1], (2, 1))  # a "neutral" clip whose "happy" value lies 6 and 60 units out
    far[0, 1], far[1, 1] = 6.0, 60.0
    with torch.no_grad():
        clipped_logits, plain_logits = (
            m(torch.as_tensor(far, dtype=torch.float32)).logits for m in (clipped, plain)
        )
    torch.testing.assert_close(clipped_logits[0], clipped_logits[1])
    assert (plain_logits[1] - plain_logits[0]).abs().max() > 5.0


def test_train_linear_with_input_clip_saves_a_clipping_model():
    clips = [
        _clip(f0 * (1 + 0.03 * i), 0.6, 10 * k + i)
        for k, f0 in enumerate((140.0, 280.0, 560.0))
        for i in range(6)
    ]
    labels = [k for k in range(3) for _ in range(6)]
    train = [r for r in range(18) if r % 6 < 4]
    val = [r for r in range(18) if r % 6 >= 4]
    spec = {
        "feature_extractor": {"functionals": "speech-stats"},
        "config": {"c_grid": [0.1], "input_clip": 2},
    }
    model, extractor, _ = train_linear(clips, labels, train, val, LABELS, spec, seed=0)
    assert model.config.input_clip == 2.0
    probs = predict_probabilities(model, extractor, [clips[r] for r in val])
    assert (probs.argmax(1) == np.asarray(labels)[val]).mean() > 0.5


@pytest.mark.parametrize("bad", [0, -1.0, "2", True])
def test_a_bad_input_clip_is_refused_with_the_fix(bad):
    spec = {
        "feature_extractor": {"functionals": "speech-stats"},
        "config": {"c_grid": [0.1], "input_clip": bad},
    }
    clips = [_clip(140.0, 0.4, i) for i in range(4)]
    with pytest.raises(SERError, match="input_clip"):
        train_linear(clips, [0, 1, 0, 1], [0, 1], [2, 3], LABELS, spec)


def test_input_clip_does_not_combine_with_gender_weights():
    spec = {
        "feature_extractor": {"functionals": "speech-stats"},
        "config": {"c_grid": [0.1], "input_clip": 2.0, "gender_weights": True},
    }
    clips = [_clip(140.0, 0.4, i) for i in range(4)]
    groups = {"gender": ["female", "male", "female", "male"]}
    with pytest.raises(SERError, match="gender_weights"):
        train_linear(clips, [0, 1, 0, 1], [0, 1], [2, 3], LABELS, spec, groups=groups)
    x, y = _vectors()
    with pytest.raises(SERError, match="input_clip"):
        _fit(x, y, 1.0, 0, genders=np.where(np.arange(len(y)) % 2, "male", "female"), input_clip=2.0)
    with pytest.raises(SERError, match="input_clip"):
        FunctionalsLinearConfig(num_features=4, functionals="speech-stats", input_clip=-2.0)
