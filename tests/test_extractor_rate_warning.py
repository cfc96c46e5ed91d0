"""Samples given to a feature extractor without ``sampling_rate`` are taken to be at its rate: it says so.

A ``datasets`` user calling ``fe(a8k_array)`` got ``angry`` 0.77 where the resampled clip gives 0.98,
without a word (transformers' own extractors warn). Now each of ours warns once per extractor, naming
the rate it assumed and the fix; and no path inside ser_hf (classify, classify_batch, the stock
pipeline, ``ser-hf evaluate``, training) calls an extractor without the rate, so none of them warns.
"""

from __future__ import annotations

import logging
import weakref
from pathlib import Path

import pytest
import soundfile as sf
from conftest import make_speechlike

from ser_hf.models import feature_functions
from ser_hf.models.feature_extraction_functionals import SERFusionFeatureExtractor

SR = 16000
BUNDLED = Path(__file__).resolve().parents[1] / "ser_hf" / "bundled"


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    """No extractor has warned yet (a cached classifier's might have, in another test)."""
    monkeypatch.setattr(feature_functions, "_TOLD_RATE", weakref.WeakSet(), raising=False)


def rate_warnings(caplog) -> list[str]:
    """The warnings our extractors logged (also from a saved model's remote-code copy)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING
        and r.name.rsplit(".", 1)[-1] in ("feature_extraction_ser", "feature_extraction_functionals")
    ]


def _default_extractor():
    from transformers import AutoFeatureExtractor

    from ser_hf.inference.bundled import bundled_model_path

    return AutoFeatureExtractor.from_pretrained(str(bundled_model_path("default")))


def _frame_extractor():
    from transformers import AutoFeatureExtractor

    return AutoFeatureExtractor.from_pretrained(str(BUNDLED / "model"))


def _fusion_extractor():
    return SERFusionFeatureExtractor(frame={"n_mels": 32}, functionals="speech-stats")


@pytest.mark.parametrize("make", [_default_extractor, _frame_extractor, _fusion_extractor])
def test_an_extractor_called_without_a_rate_says_once_what_it_assumed_and_with_one_says_nothing(make, caplog):
    clip = make_speechlike(1.0)
    extractor = make()
    with caplog.at_level(logging.WARNING):
        extractor(clip, sampling_rate=SR, return_tensors="np")
        assert rate_warnings(caplog) == []
        extractor(clip, return_tensors="np")
        extractor([clip, clip[:8000]], return_tensors="np")  # a datasets.map batch: not said again
    said = rate_warnings(caplog)
    assert len(said) == 1, said  # the fusion once, not once more per part
    assert "sampling_rate" in said[0] and "16000 Hz" in said[0], said
    assert "ser_hf.load_audio(" in said[0] and "sampling_rate=16000" in said[0], said
    assert type(extractor).__name__ in said[0]

    caplog.clear()  # another extractor (another model, maybe another rate) says it again
    with caplog.at_level(logging.WARNING):
        make()(clip, return_tensors="np")
    assert len(rate_warnings(caplog)) == 1


def test_classify_classify_batch_and_the_stock_pipeline_pass_the_rate(tmp_path, caplog):
    from transformers import pipeline

    from ser_hf.inference.bundled import bundled_model_path
    from ser_hf.inference.classifier import EmotionClassifier

    clip = make_speechlike(1.0)
    path = tmp_path / "clip.wav"
    sf.write(path, make_speechlike(1.2, sr=8000, seed=1), 8000)  # resampled by the classifier
    with caplog.at_level(logging.WARNING):
        clf = EmotionClassifier()
        clf.classify(clip, sampling_rate=SR)
        clf.classify(clip)  # the classifier's own warning, not the extractor's
        clf.classify(str(path))
        clf.classify_batch([clip, str(path), {"array": clip, "sampling_rate": SR}])
        clf.classify_batch([clip, clip[:9000]])
        stock = pipeline("audio-classification", model=str(bundled_model_path("default")), device="cpu")
        stock(clip, top_k=None)
        stock({"raw": make_speechlike(1.0, sr=8000), "sampling_rate": 8000}, top_k=None)
        stock([clip, clip[:9000]], top_k=None)
    assert rate_warnings(caplog) == []
    assert any("without their sampling rate" in r.getMessage() for r in caplog.records)  # warnings reach us

    with caplog.at_level(logging.WARNING):  # the classifier's extractor had not been told before
        clf.feature_extractor(clip)
    assert len(rate_warnings(caplog)) == 1


def _ravdess_tree(root: Path, actors: int = 4) -> Path:
    codes = {1: "neutral", 3: "happy", 4: "sad", 5: "angry"}
    seed = 0
    for actor in range(1, actors + 1):
        folder = root / f"Actor_{actor:02d}"
        folder.mkdir(parents=True)
        for code in codes:
            for rep in (1, 2):
                seed += 1
                wave = make_speechlike(0.6, f0=100 + 30 * code, seed=seed)
                sf.write(folder / f"03-01-{code:02d}-01-01-{rep:02d}-{actor:02d}.wav", wave, SR)
    return root


def test_evaluate_and_training_pass_the_rate(model_dir, tmp_path, caplog, capsys):
    from ser_hf.cli import evaluate as evaluate_cli
    from ser_hf.cli import train as train_cli

    tree = _ravdess_tree(tmp_path / "ravdess")
    with caplog.at_level(logging.WARNING):
        # --adapt: adaptation's own extractor calls, then the scoring's
        argv = ["--model", str(model_dir), "--corpus", f"ravdess={tree}", "--adapt", "speaker"]
        assert evaluate_cli.cli([*argv, "--device", "cpu", "--out", str(tmp_path / "eval")]) == 0
        common = ["--corpus", f"ravdess={tree}", "--num_val_speakers", "1", "--split", "loso:04"]
        model = tmp_path / "trained"
        assert train_cli.cli([*common, "--preset", "speech-stats", "--output_dir", str(model)]) == 0
        argv = ["--model", str(model), "--corpus", f"ravdess={tree}", "--adapt", "speaker"]
        assert evaluate_cli.cli([*argv, "--out", str(tmp_path / "eval_trained")]) == 0
    capsys.readouterr()
    assert rate_warnings(caplog) == []

    from transformers import AutoFeatureExtractor

    with caplog.at_level(logging.WARNING):  # the CLI left the extractors' warnings audible
        AutoFeatureExtractor.from_pretrained(str(model))(make_speechlike(0.6))
    assert len(rate_warnings(caplog)) == 1
