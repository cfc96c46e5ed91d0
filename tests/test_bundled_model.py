"""The bundled model: loads in the stock pipeline, classifies the example clips, and its copies of
the remote-code files are the package's own (a saved folder carries them; they must not drift)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import ser_hf  # noqa: F401  (registers the model classes)

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "ser_hf" / "bundled" / "model"
EXAMPLES = sorted((REPO / "demo" / "examples").glob("*.flac"))
CODE_FILES = ["configuration_ser.py", "modeling_ser.py", "feature_extraction_ser.py", "errors.py"]


@pytest.mark.parametrize("name", CODE_FILES)
def test_bundled_code_matches_the_package(name):
    assert (BUNDLED / name).read_text() == (REPO / "ser_hf" / name).read_text(), (
        f"ser_hf/bundled/model/{name} differs from ser_hf/{name}: copy the package file over"
    )


def test_bundled_model_classifies_the_examples_through_the_stock_pipeline():
    from transformers import pipeline

    clf = pipeline("audio-classification", model=str(BUNDLED))
    labels = set(clf.model.config.id2label.values())
    assert labels == {"neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"}
    assert len(EXAMPLES) == 8
    for path in EXAMPLES:
        scores = clf(str(path), top_k=8)
        values = np.array([s["score"] for s in scores])
        assert np.all(np.isfinite(values)) and abs(values.sum() - 1.0) < 1e-4
        assert {s["label"] for s in scores} == labels


def test_examples_come_from_the_bundled_models_test_actors():
    """The docs say the example clips are unseen speakers for the bundled model: keep that true."""
    split = json.loads((BUNDLED / "split.json").read_text())
    seen = set(split["train_speakers"]) | set(split["validation_speakers"])
    actors = {f"ravdess_{p.stem.split('-')[-1]}" for p in EXAMPLES}
    assert actors <= set(split["test_speakers"]) and not actors & seen
