"""The gender-dependent functionals model (``speech-stats-mfcc-rooms-gender``): shared weights plus
one set per gender, mixed per clip by a gender gate, fitted in scikit-learn and saved as a
``FunctionalsLinearForAudioClassification`` that gives the same probabilities."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from test_training import _clip, make_ravdess_tree

from ser_hf.errors import SERError
from ser_hf.models.configuration_ser import FunctionalsLinearConfig
from ser_hf.training.functionals import GenderGatedLinear, _fit, cell_balanced_weights, to_pretrained

LABELS = ["neutral", "happy", "sad"]


def _flipped_cue(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectors whose class shows on feature 1 with the opposite sign for the two genders (feature 0
    tells the gender): one set of weights cannot use the cue, one set per gender can."""
    rng = np.random.default_rng(seed)
    genders = np.where(np.arange(n) % 2 == 0, "female", "male").astype(object)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 8))
    x[:, 0] += np.where(genders == "male", 3.0, -3.0)
    x[:, 1] += 2.0 * (2 * y - 1) * np.where(genders == "male", 1.0, -1.0)
    return x, y, genders


def test_a_cue_that_flips_with_gender_is_learnt_and_the_saved_model_gives_the_same_scores(tmp_path):
    from transformers import AutoModelForAudioClassification

    x, y, genders = _flipped_cue(400, 0)
    x_test, y_test, _ = _flipped_cue(400, 1)
    weights = cell_balanced_weights(y, genders)
    plain = _fit(x, y, 1.0, 0, sample_weight=weights)
    gated = _fit(x, y, 1.0, 0, sample_weight=weights, genders=genders)
    assert isinstance(gated, GenderGatedLinear) and list(gated.gate.classes_) == ["female", "male"]
    assert (plain.predict(x_test) == y_test).mean() < 0.7
    assert (gated.predict(x_test) == y_test).mean() > 0.9
    # two of three label names seen in training (scikit-learn's binary model): the third gets 0
    model, _ = to_pretrained(gated, LABELS, "speech-stats")
    assert model.config.gender_labels == ["female", "male"]
    model.save_pretrained(tmp_path)
    loaded = AutoModelForAudioClassification.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        probs = torch.softmax(loaded(input_features=torch.tensor(x_test, dtype=torch.float32)).logits, -1)
    np.testing.assert_allclose(probs[:, :2].numpy(), gated.predict_proba(x_test), atol=1e-5)
    assert float(probs[:, 2].max()) < 1e-6


def test_a_gate_limited_to_some_columns_ignores_the_others():
    """``gate_columns``: the gate reads only those values (say, the statistics of the speech
    frames), so a value outside them that moves with the gender in training (say, how much pause a
    clip holds) cannot sway it at test; the saved model keeps the zeros and the probabilities."""
    x, y, genders = _flipped_cue(400, 4)
    x[:, 7] = np.where(genders == "male", 4.0, -4.0) + np.random.default_rng(4).normal(size=400)
    limited = _fit(x, y, 1.0, 0, genders=genders, gate_columns=np.arange(7))
    everything = _fit(x, y, 1.0, 0, genders=genders)
    assert np.all(limited.gate.coef_[:, 7] == 0) and np.all(everything.gate.coef_[:, 7] != 0)
    x_test, y_test, g_test = _flipped_cue(200, 5)
    x_test[:, 7] = np.where(g_test == "male", -4.0, 4.0)  # the pause cue turned around at test
    male = limited.gate.classes_.tolist().index("male")

    def right(clf: GenderGatedLinear) -> np.ndarray:
        said_male = clf.gate.predict_proba(clf.scaler.transform(x_test)).argmax(1) == male
        return said_male == (g_test == "male")

    assert right(limited).mean() > 0.95 and right(everything).mean() < right(limited).mean()
    assert (limited.predict(x_test) == y_test).mean() > 0.9
    model, _ = to_pretrained(limited, LABELS, "speech-stats")
    assert torch.all(model.gender_gate.weight[:, 7] == 0)
    with torch.no_grad():
        probs = torch.softmax(model(input_features=torch.tensor(x_test, dtype=torch.float32)).logits, -1)
    np.testing.assert_allclose(probs[:, :2].numpy(), limited.predict_proba(x_test), atol=1e-5)


def test_block_columns_name_the_values_of_each_block():
    from ser_hf.models.feature_extraction_functionals import block_columns, clip_functionals

    cols = block_columns("speech-stats-mfcc", ["speech", "pitch", "f0"])
    assert len(cols) == 448 + 5 + 7 and cols[0] == 0 and cols[-1] == 1557 and 453 not in cols
    # the log-F0 block: the last 7 values; its median is the clip's pitch
    low, high = (clip_functionals(_clip(f0, 1.0, 0), "speech-stats-mfcc") for f0 in (110.0, 220.0))
    f0 = block_columns("speech-stats-mfcc", ["f0"])
    assert np.exp(high[f0][3]) > 1.6 * np.exp(low[f0][3])
    with pytest.raises(SERError, match="choose from"):
        block_columns("speech-stats-mfcc", ["compare"])


def test_training_options_of_a_functionals_preset_from_the_command_line(tmp_path):
    """``--config_overrides`` sets the recipe's fields of a functionals preset (here the gate's
    blocks and a one-value C grid) and refuses a field the recipe does not have, by name."""
    import json

    from ser_hf.cli import train as train_cli
    from ser_hf.models.feature_extraction_functionals import block_columns
    from ser_hf.models.modeling_ser import FunctionalsLinearForAudioClassification

    corpus = make_ravdess_tree(tmp_path / "ravdess", actors=4, seconds=0.6)
    argv = [
        "--corpus",
        f"ravdess={corpus}",
        "--preset",
        "speech-stats-mfcc-rooms-gender",
        "--split",
        "loso:04",
    ]
    argv += ["--num_val_speakers", "1", "--use_cpu", "true"]
    overrides = {"gender_gate_blocks": ["speech", "pitch", "f0"], "c_grid": [0.03]}
    out = tmp_path / "model"
    assert train_cli.cli(argv + ["--output_dir", str(out), "--config_overrides", json.dumps(overrides)]) == 0
    assert json.loads((out / "train_args.json").read_text())["regularisation"]["c"] == 0.03
    gate = FunctionalsLinearForAudioClassification.from_pretrained(out).gender_gate.weight.detach()
    mfcc = block_columns("speech-stats-mfcc", ["mfcc"])
    assert torch.all(gate[:, mfcc] == 0) and bool(gate[:, :448].abs().sum() > 0)
    with pytest.raises(SERError, match="'lstm_layers'.*c_grid"):
        train_cli.cli(
            argv + ["--output_dir", str(tmp_path / "x"), "--config_overrides", '{"lstm_layers": 2}']
        )
    with pytest.raises(SERError, match="gender_gate_blocks needs gender_weights"):
        train_cli.cli(
            argv + ["--output_dir", str(tmp_path / "y"), "--config_overrides", '{"gender_weights": false, '
            '"gender_gate_blocks": ["f0"]}']
        )  # fmt: skip


def test_three_classes_and_clips_of_unknown_gender():
    """Multinomial weights per gender, and rows of unknown gender fit the shared weights only."""
    rng = np.random.default_rng(2)
    x, _, genders = _flipped_cue(300, 2)
    y = rng.integers(0, 3, 300)
    x[np.arange(300), 2 + y] += 2.0
    genders[:20] = "unknown"
    gated = _fit(x, y, 0.5, 0, genders=genders)
    assert list(gated.gate.classes_) == ["female", "male"]
    model, _ = to_pretrained(gated, LABELS, "speech-stats")
    with torch.no_grad():
        probs = torch.softmax(model(input_features=torch.tensor(x, dtype=torch.float32)).logits, -1)
    np.testing.assert_allclose(probs.numpy(), gated.predict_proba(x), atol=1e-5)
    assert (gated.predict(x) == y).mean() > 0.8


def test_one_known_gender_fits_one_set_of_weights(caplog):
    from ser_hf.training.linear import fit_linear

    x, y, _ = _flipped_cue(100, 3)
    genders = np.array(["female"] * 90 + ["unknown"] * 10, dtype=object)
    clf = _fit(x, y, 1.0, 0, genders=genders)
    assert not isinstance(clf, GenderGatedLinear)
    # the gender preset on a corpus with one gender said so at INFO, once per C: now one warning
    fit_linear(
        x[:80], y[:80], x[80:], y[80:], [0.1, 1.0], genders_train=genders[:80], genders_val=genders[80:]
    )
    said = [r for r in caplog.records if "gender weights" in r.getMessage()]
    assert len(said) == 1 and said[0].levelname == "WARNING" and "['female']" in said[0].getMessage()
    model, _ = to_pretrained(clf, LABELS, "speech-stats")
    assert model.config.gender_labels is None and model.gender_gate is None
    with pytest.raises(SERError, match="two or more distinct genders"):
        FunctionalsLinearConfig(num_features=8, functionals="speech-stats", gender_labels=["female"])


def test_the_gender_preset_trains_on_clips_saves_and_adapts(tmp_path):
    """``train_linear`` with the preset: the groups' gender reaches every fit (channel copies take
    their clip's gender), the saved model is the gated one and loads as remote code without the
    package (as from the Hub), and test-time adaptation still works."""
    import soundfile as sf
    from test_remote_code import classify_without_ser_hf
    from transformers import pipeline

    from ser_hf.hub.cards import make_model_card
    from ser_hf.inference.classifier import EmotionClassifier
    from ser_hf.training.linear import predict_probabilities, train_linear
    from ser_hf.training.presets import get_preset

    f0 = {"male": 120.0, "female": 230.0}
    clips, labels, genders = [], [], []
    for gender, base in f0.items():
        for k in range(3):
            for i in range(6):
                clips.append(_clip(base * (1 + 0.25 * k) * (1 + 0.02 * i), 0.6, 100 * k + i + len(clips)))
                labels.append(k)
                genders.append(gender)
    order = np.random.default_rng(0).permutation(len(clips)).tolist()
    train, val, test = order[:20], order[20:28], order[28:]
    spec = get_preset("speech-stats-mfcc-rooms-gender")
    groups = {"corpus": ["toy"] * len(clips), "gender": genders}
    model, extractor, info = train_linear(clips, labels, train, val, LABELS, spec, seed=0, groups=groups)
    assert model.config.gender_labels == ["female", "male"]
    assert info["val_probs"].shape == (len(val), 3)
    probs = predict_probabilities(model, extractor, [clips[i] for i in test])
    assert np.allclose(probs.sum(1), 1.0) and (probs.argmax(1) == [labels[i] for i in test]).mean() >= 0.75
    folder = tmp_path / "gated"
    model.save_pretrained(folder)
    extractor.save_pretrained(folder)
    sf.write(tmp_path / "clip.wav", clips[test[0]], 16000, subtype="FLOAT")
    local = {r["label"]: r["score"] for r in pipeline("audio-classification", model=str(folder))(
        str(tmp_path / "clip.wav"), top_k=None)}  # fmt: skip
    assert max(abs(local[k] - p) for k, p in zip(LABELS, probs[0])) < 1e-4
    remote = classify_without_ser_hf(tmp_path / "clip.wav", [folder], tmp_path)[str(folder)]
    assert max(abs(local[k] - remote["scores"][k]) for k in local) <= 1e-5
    card = str(make_model_card(folder, "someone/ser-gated"))
    assert "gender-dependent linear" in card and "(female, male)" in card
    # adapting to one speaker re-centres the emotion weights' input, not the gender gate's: the
    # clips of a male voice keep the gate's answer (else the gate would see an average voice)
    gate_out = []
    model.gender_gate.register_forward_hook(lambda m, i, out: gate_out.append(out.detach().clone()))
    male = [clips[i] for i in range(len(clips)) if genders[i] == "male"]
    clf = EmotionClassifier(model, feature_extractor=extractor, device="cpu")
    clf.classify(male[0], top_k=None)
    before = model.feature_mean.clone()
    clf.adapt(male)
    scores = clf.classify(male[0], top_k=None)
    assert abs(sum(s["score"] for s in scores) - 1) < 1e-5 and not torch.equal(model.feature_mean, before)
    torch.testing.assert_close(gate_out[-1], gate_out[0])
    assert gate_out[-1].argmax(-1).item() == model.config.gender_labels.index("male")
    with pytest.raises(SERError, match="needs those columns per clip"):
        train_linear(clips, labels, train, val, LABELS, spec, groups={"corpus": groups["corpus"]})
    unbalanced = {**spec, "config": {**spec["config"], "balance": None}}
    with pytest.raises(SERError, match="gender_weights needs each clip's gender"):
        train_linear(clips, labels, train, val, LABELS, unbalanced, groups={"corpus": groups["corpus"]})


def test_a_c_at_the_edge_of_the_grid_is_said(caplog):
    """A C chosen at the grid's end (scoring above its neighbour) may be bettered beyond it: said, with
    the option that widens the grid; a C inside the grid, or one tied with its neighbour, is not."""
    from ser_hf.training.linear import _warn_at_the_edge, fit_linear

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    x = rng.normal(size=(300, 300))
    x[np.arange(300), y] += 1.5  # 60 training clips, 300 dimensions: the larger C scores higher here
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        _, best, scores, _ = fit_linear(x[:60], y[:60], x[60:], y[60:], [0.01, 0.1])
    assert best == 0.1 and scores[0.1] > scores[0.01]
    said = [r.getMessage() for r in caplog.records if "grid" in r.getMessage()]
    assert len(said) == 1 and "C=0.1, the largest of the grid [0.01, 0.1]" in said[0] and "c_grid" in said[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        _warn_at_the_edge(0.1, {0.01: 0.4, 0.1: 0.5, 1.0: 0.45})  # inside
        _warn_at_the_edge(0.01, {0.01: 0.5, 0.1: 0.5})  # a tie goes to the smaller C: not past the edge
    assert not caplog.records
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        _warn_at_the_edge(0.01, {0.01: 0.6, 0.1: 0.5})
    assert "the smallest of the grid" in caplog.text
