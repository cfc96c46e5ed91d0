"""The bundled models (the default CNN-Transformer in ``bundled/model`` and the functionals +
logistic-regression model in ``bundled/functionals``): load in the stock pipeline, classify the
example clips, never saw the examples' actors, and their copies of the remote-code files are the
package's own (a saved folder carries them; they must not drift)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import ser_hf  # noqa: F401  (registers the model classes)

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "ser_hf" / "bundled" / "model"
FUNCTIONALS = REPO / "ser_hf" / "bundled" / "functionals"
BUNDLES = {"model": BUNDLED, "functionals": FUNCTIONALS}
EXAMPLES = sorted((REPO / "demo" / "examples").glob("*.flac"))
CODE_FILES = ["configuration_ser.py", "modeling_ser.py", "feature_extraction_ser.py", "errors.py"]


@pytest.mark.parametrize("bundle", sorted(BUNDLES))
@pytest.mark.parametrize("name", CODE_FILES)
def test_bundled_code_matches_the_package(name, bundle):
    assert (BUNDLES[bundle] / name).read_text() == (REPO / "ser_hf" / name).read_text(), (
        f"ser_hf/bundled/{bundle}/{name} differs from ser_hf/{name}: copy the package file over"
    )


@pytest.mark.parametrize("bundle", sorted(BUNDLES))
def test_bundled_model_classifies_the_examples_through_the_stock_pipeline(bundle):
    from transformers import pipeline

    if bundle == "functionals":
        pytest.importorskip("opensmile")
    clf = pipeline("audio-classification", model=str(BUNDLES[bundle]))
    labels = set(clf.model.config.id2label.values())
    assert labels == {"neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"}
    assert len(EXAMPLES) == 8
    for path in EXAMPLES:
        scores = clf(str(path), top_k=8)
        values = np.array([s["score"] for s in scores])
        assert np.all(np.isfinite(values)) and abs(values.sum() - 1.0) < 1e-4
        assert {s["label"] for s in scores} == labels


@pytest.mark.parametrize("bundle", sorted(BUNDLES))
def test_examples_come_from_the_bundled_models_test_actors(bundle):
    """The docs say the example clips are unseen speakers for the bundled models: keep that true."""
    split = json.loads((BUNDLES[bundle] / "split.json").read_text())
    seen = set(split["train_speakers"]) | set(split["validation_speakers"])
    actors = {f"ravdess_{p.stem.split('-')[-1]}" for p in EXAMPLES}
    assert actors <= set(split["test_speakers"]) and not actors & seen


def test_functionals_alias_loads_the_bundled_functionals_model():
    pytest.importorskip("opensmile")
    from ser_hf import EmotionClassifier

    clf = EmotionClassifier("functionals", device="cpu")
    assert clf.config.model_type == "ser_functionals_linear"
    scores = clf.classify(str(EXAMPLES[0]))
    assert abs(sum(s["score"] for s in scores) - 1.0) < 1e-4
