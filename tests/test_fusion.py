"""Fusion of saved models (``ser_hf.fusion``): one pipeline-ready model whose probabilities are the
members' weighted average, with both kinds of front end in one feature extractor."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from conftest import make_speechlike

from ser_hf.errors import SERError
from ser_hf.inference.fusion import build_fusion
from ser_hf.training.functionals import FunctionalsExtractor, _fit, to_pretrained
from ser_hf.training.presets import build_model

SR = 16000
LABELS = ["low", "mid", "high"]
F0 = {"low": 110.0, "mid": 200.0, "high": 330.0}


def _save_cnn(folder, seed: int, n_mels: int = 32):
    torch.manual_seed(seed)
    model, fe = build_model(
        "cnn-transformer",
        LABELS,
        feature_overrides={"n_mels": n_mels},
        conv_channels=[4, 8],
        d_model=16,
        nhead=2,
        num_layers=1,
        dim_feedforward=32,
    )
    # random but not uniform: scale the head so the members disagree visibly
    with torch.no_grad():
        model.classifier[-1].weight.mul_(20.0)
    model.eval().save_pretrained(folder)
    fe.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    fx = FunctionalsExtractor("ours")
    x, y = [], []
    for label, f0 in enumerate(F0.values()):
        for seed in range(5):
            x.append(fx(make_speechlike(0.8, f0=f0 * (1 + 0.02 * seed), seed=100 * label + seed)))
            y.append(label)
    model, extractor = to_pretrained(_fit(np.stack(x), np.array(y), c=0.1, seed=0), LABELS, "ours")
    functionals = tmp_path_factory.mktemp("functionals")
    model.save_pretrained(functionals)
    extractor.save_pretrained(functionals)
    cnn_a = _save_cnn(tmp_path_factory.mktemp("cnn_a"), seed=1)
    cnn_b = _save_cnn(tmp_path_factory.mktemp("cnn_b"), seed=2)
    return {"functionals": functionals, "cnn_a": cnn_a, "cnn_b": cnn_b}


@pytest.fixture(scope="module")
def fused(members, tmp_path_factory):
    model, extractor = build_fusion([members["functionals"], members["cnn_a"], members["cnn_b"]], [2, 1, 1])
    folder = tmp_path_factory.mktemp("fusion")
    model.save_pretrained(folder)
    extractor.save_pretrained(folder)
    return folder


def _scores(classifier, clip) -> dict[str, float]:
    return {r["label"]: r["score"] for r in classifier(clip, top_k=None)}


def test_fused_pipeline_gives_the_weighted_mean_of_the_members(members, fused):
    from transformers import pipeline

    config = json.loads((fused / "config.json").read_text())
    assert config["model_type"] == "ser_fusion" and config["member_weights"] == [0.5, 0.25, 0.25]
    assert config["auto_map"]["AutoModelForAudioClassification"].endswith("SERFusionForAudioClassification")
    fusion = pipeline("audio-classification", model=str(fused), device="cpu")
    singles = {k: pipeline("audio-classification", model=str(v), device="cpu") for k, v in members.items()}
    for clip in (make_speechlike(1.2, f0=320.0, seed=9), make_speechlike(0.7, f0=115.0, seed=4)):
        got = _scores(fusion, clip)
        parts = {k: _scores(p, clip) for k, p in singles.items()}
        expected = {
            name: 0.5 * parts["functionals"][name] + 0.25 * parts["cnn_a"][name] + 0.25 * parts["cnn_b"][name]
            for name in LABELS
        }
        assert max(abs(got[n] - expected[n]) for n in LABELS) < 1e-5, (got, expected)
        # the members really differ, so a wrong weighting could not pass by accident
        assert max(abs(parts["functionals"][n] - parts["cnn_a"][n]) for n in LABELS) > 0.05


def test_fused_extractor_gives_frames_and_functionals_and_round_trips(fused):
    from ser_hf.models.feature_extraction_functionals import SERFusionFeatureExtractor

    fe = SERFusionFeatureExtractor.from_pretrained(fused)
    saved = json.loads((fused / "preprocessor_config.json").read_text())
    assert saved["functionals"] == "ours" and saved["frame"]["n_mels"] == 32
    assert "_frame_extractor" not in saved
    out = fe(
        [make_speechlike(1.0, seed=1), make_speechlike(0.6, seed=2)], sampling_rate=SR, return_tensors="pt"
    )
    assert (
        out["input_features"].shape[:2] == out["attention_mask"].shape
        and out["input_features"].shape[2] == 32
    )
    assert out["functionals"].shape == (2, 1681)
    # the shorter clip's padding is masked: it has fewer real frames
    assert out["attention_mask"].sum(1).tolist()[1] < out["attention_mask"].sum(1).tolist()[0]
    assert SERFusionFeatureExtractor.from_dict(fe.to_dict()).to_dict() == fe.to_dict()


def test_fused_model_runs_as_remote_code_without_the_package(fused, tmp_path):
    import soundfile as sf
    from test_remote_code import classify_without_ser_hf
    from transformers import pipeline

    wav = tmp_path / "speech.wav"
    sf.write(wav, make_speechlike(1.0, f0=200.0, seed=7), SR, subtype="FLOAT")
    remote = classify_without_ser_hf(wav, [fused], tmp_path)[str(fused)]
    assert remote["model_module"].startswith("transformers_modules.")
    local = _scores(pipeline("audio-classification", model=str(fused)), str(wav))
    assert max(abs(local[k] - remote["scores"][k]) for k in local) <= 1e-5


def test_emotion_classifier_on_a_fusion_shows_frames_and_attention(fused):
    from transformers import pipeline

    from ser_hf import EmotionClassifier

    clf = EmotionClassifier(fused, device="cpu")
    clip = make_speechlike(1.5, f0=200.0, seed=3)
    scores, features, attention = clf.classify_with_attention(clip)
    assert features.shape[1] == 32 and features.shape[0] == 1 + clip.size // 160
    assert attention.ndim == 1 and 1 < attention.size < features.shape[0]
    assert abs(float(attention.sum()) - 1.0) < 1e-5 and (attention >= 0).all()
    via_pipeline = _scores(pipeline("audio-classification", model=str(fused), device="cpu"), clip)
    assert max(abs(s["score"] - via_pipeline[s["label"]]) for s in scores) < 1e-5
    # batched scores equal one-at-a-time scores
    other = make_speechlike(0.8, f0=110.0, seed=8)
    batch = clf.classify_batch([clip, other], top_k=None)
    alone = clf.classify(other, top_k=None)
    assert max(abs(a["score"] - b["score"]) for a, b in zip(batch[1], alone)) < 1e-5


def test_fusion_refuses_members_that_cannot_share_a_front_end(members, tmp_path):
    wider = _save_cnn(tmp_path / "wider", seed=3, n_mels=40)
    with pytest.raises(SERError, match="share one feature extractor"):
        build_fusion([members["cnn_a"], wider])
    torch.manual_seed(0)
    model, fe = build_model(
        "cnn-transformer", ["a", "b", "c"], feature_overrides={"n_mels": 32}, conv_channels=[4, 8], d_model=16
    )
    with pytest.raises(SERError, match="labels") as err:
        build_fusion([members["cnn_a"], (model, fe)])
    assert "another order" not in str(err.value)
    with pytest.raises(SERError, match="member_weights"):
        build_fusion([members["cnn_a"], members["cnn_b"]], [1.0])
    # a mistyped folder: once reported as the Hub being unreachable
    with pytest.raises(SERError, match="no such folder here") as err:
        build_fusion([members["cnn_a"], tmp_path / "cnn_typo"])
    assert "cnn_typo" in str(err.value)


def test_a_member_listing_the_classes_in_another_order_is_matched_by_name(members, tmp_path):
    """Members of the same classes in another order (RAVDESS's loader against an audio folder's sorted
    labels) were refused ("fuse models of one label set", then "the same classes in another order"):
    a fusion averages class by class, so that member's scores are reordered by name."""
    from transformers import pipeline

    from ser_hf.training.loading import load_feature_extractor, load_model

    reversed_ = tmp_path / "reversed"  # cnn_b with its head's rows and its class names reversed
    model, fe = load_model(members["cnn_b"]), load_feature_extractor(members["cnn_b"])
    with torch.no_grad():
        head = model.classifier[-1]
        head.weight.copy_(head.weight.flip(0))
        head.bias.copy_(head.bias.flip(0))
    model.config.id2label = dict(enumerate(LABELS[::-1]))
    model.config.label2id = {name: i for i, name in model.config.id2label.items()}
    model.save_pretrained(reversed_)
    fe.save_pretrained(reversed_)
    clip = make_speechlike(1.2, f0=320.0, seed=9)
    same = _scores(pipeline("audio-classification", model=str(reversed_), device="cpu"), clip)
    assert same == pytest.approx(_scores(pipeline("audio-classification", model=str(members["cnn_b"])), clip))
    fusions = {}
    for name, second in (("plain", members["cnn_b"]), ("reordered", reversed_)):
        fused, extractor = build_fusion([members["cnn_a"], second])
        fused.save_pretrained(tmp_path / name)
        extractor.save_pretrained(tmp_path / name)
        fusions[name] = _scores(pipeline("audio-classification", model=str(tmp_path / name)), clip)
    assert json.loads((tmp_path / "reordered" / "config.json").read_text())["id2label"]["0"] == LABELS[0]
    assert fusions["reordered"] == pytest.approx(fusions["plain"], abs=1e-6)
    a, b = (
        _scores(pipeline("audio-classification", model=str(members[k])), clip) for k in ("cnn_a", "cnn_b")
    )
    assert max(abs(a[n] - b[n]) for n in LABELS) > 0.05  # a fusion in the wrong order could not pass


def test_onnx_export_refuses_a_fusion_with_a_clear_error(fused, tmp_path):
    pytest.importorskip("onnx")
    from ser_hf.inference.onnx_export import export_onnx

    # it was refused with the functionals models' reason ("a ser_fusion model on hand-made values")
    with pytest.raises(
        SERError, match="cannot run as one ONNX graph. Export a frame-feature or turn-encoder member"
    ):
        export_onnx(str(fused), tmp_path / "fusion.onnx")
    assert not (tmp_path / "fusion.onnx").exists()


def test_a_fusion_keeps_what_its_members_were_trained_on(members, tmp_path):
    """The members' corpora and label scheme were lost: the fusion's card said "an unrecorded
    corpus" and published no licence for a model made from RAVDESS."""
    import json

    from ser_hf.hub.cards import make_model_card

    for name, corpora in (("functionals", ["ravdess"]), ("cnn_a", ["ravdess", "tess"])):
        config = json.loads((members[name] / "config.json").read_text())
        config.update(training_corpora=corpora, label_scheme="harmonized7")
        (tmp_path / name).mkdir()
        for f in members[name].iterdir():
            (tmp_path / name / f.name).write_bytes(f.read_bytes())
        (tmp_path / name / "config.json").write_text(json.dumps(config))
    model, extractor = build_fusion([tmp_path / "functionals", tmp_path / "cnn_a"])
    assert model.config.training_corpora == ["ravdess", "tess"] and model.config.label_scheme == "harmonized7"
    model.save_pretrained(tmp_path / "fused")
    extractor.save_pretrained(tmp_path / "fused")
    card = make_model_card(tmp_path / "fused", "someone/fused")
    assert card.data.datasets == ["ravdess", "tess"] and card.data.license
    assert "an unrecorded corpus" not in str(card)


def test_model_card_describes_a_fusion(fused):
    from ser_hf.hub.cards import make_model_card

    card = str(make_model_card(fused, "someone/ser-fusion", datasets=["ravdess"]))
    assert "fusion (3 members)" in card
    assert "utterance functionals + linear (logistic regression) (weight 0.5)" in card
    assert "CNN-Transformer (weight 0.25)" in card and "32-band log-mel" in card


def test_a_fusion_of_functionals_models_classifies_as_the_pipeline_does(members, tmp_path):
    """Two functionals members and no frame model: the stock pipeline worked, EmotionClassifier
    (and so predict and the demo) failed with KeyError: 'input_values', blamed on the audio file."""
    from transformers import pipeline

    from ser_hf import EmotionClassifier
    from ser_hf.cli import fuse

    assert (
        fuse.cli(
            [
                "--member",
                str(members["functionals"]),
                str(members["functionals"]),
                "--out",
                str(tmp_path / "f"),
            ]
        )
        == 0
    )
    clip = make_speechlike(1.0, f0=200.0, seed=7)
    ours = {r["label"]: r["score"] for r in EmotionClassifier(str(tmp_path / "f")).classify(clip, top_k=None)}
    stock = _scores(pipeline("audio-classification", model=str(tmp_path / "f")), clip)
    assert ours.keys() == stock.keys() and max(abs(ours[k] - stock[k]) for k in ours) < 1e-5


def test_fuse_takes_a_bundled_models_name_as_export_does(members, tmp_path, capsys, caplog):
    """``fuse --member cnn`` was refused (read as a Hub id) while ``export --model cnn`` worked. The same
    model twice is said (it was taken without a word), and the save shows no progress bar."""
    from ser_hf.cli import fuse

    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        assert fuse.cli(["--member", "cnn", "cnn", "--out", str(tmp_path / "f")]) == 0
    out, err = capsys.readouterr()
    assert "fusion of cnn (0.5), cnn (0.5)" in out and "Writing model shards" not in err
    assert "bundled/model given more than once" in caplog.text
    # --member repeated, as --corpus is elsewhere: the second replaced the first, a fusion of one
    argv = [
        "--member",
        "cnn",
        "--weights",
        "3",
        "--member",
        "cnn",
        "--weights",
        "1",
        "--out",
        str(tmp_path / "g"),
    ]
    assert fuse.cli(argv) == 0
    assert "fusion of cnn (0.75), cnn (0.25)" in capsys.readouterr().out
    with pytest.raises(SERError, match="two or more members"):
        fuse.cli(["--member", "cnn", "--out", str(tmp_path / "h")])
    assert json.loads((tmp_path / "f" / "config.json").read_text())["model_type"] == "ser_fusion"


def test_a_fusion_records_the_speakers_its_members_saw(members, tmp_path, caplog):
    """A fusion lost its members' split.json: evaluating it on their training actors gave UA 0.84
    without the warning each member gave, and --split unseen was refused."""
    import shutil

    from ser_hf.cli import fuse
    from ser_hf.training.evaluation import seen_speakers, select_rows

    runs = []
    for name, record in (
        (
            "a",
            {"train_speakers": ["s1"], "validation_speakers": ["s2"], "corpus_folders": {"mine": "/d/mine"}},
        ),
        ("b", {"train_speakers": ["s3"]}),
    ):
        shutil.copytree(members["cnn_a"], tmp_path / name)
        (tmp_path / name / "split.json").write_text(json.dumps(record))
        runs.append(str(tmp_path / name))
    out = tmp_path / "f"
    assert fuse.cli(["--member", *runs, str(members["cnn_b"]), "--out", str(out)]) == 0
    assert seen_speakers(out, ["s1", "s2", "s3", "s4"]) == ["s1", "s2", "s3"]
    # the folders its members trained on, so evaluate recognises them under another corpus name
    assert json.loads((out / "split.json").read_text())["corpus_folders"] == {"mine": "/d/mine"}
    assert f"['{members['cnn_b']}'] record(s) no split.json" in caplog.text
    with pytest.raises(
        SERError, match="names the speakers the model saw .a fusion's, or a Hub copy's.*--split unseen"
    ):
        select_rows(None, "model", "test", model_dir=out)
    # a member without a record: its speakers are unknown, so --split unseen cannot leave them out
    with pytest.raises(
        SERError, match=r"members \[.*cnn_b.*\] record no split.json, so the speakers they saw"
    ):
        select_rows(None, "unseen", "test", model_dir=out)


def test_fuse_into_a_trained_folder_leaves_nothing_of_the_old_model(members, tmp_path):
    """fuse saved straight into --out: a fusion written over a trained model kept that model's
    val_metrics.json (its card showed the old UA), split.json, train_args.json, checkpoints and
    modeling code, and a kill between the two saves left new weights with the old extractor."""
    from ser_hf.cli import fuse

    out = tmp_path / "trained"
    out.mkdir()
    for f in members["cnn_a"].iterdir():
        (out / f.name).write_bytes(f.read_bytes())
    for name in (
        "val_metrics.json",
        "test_metrics.json",
        "split.json",
        "train_args.json",
        "modeling_compact.py",
    ):
        (out / name).write_text("{}")
    (out / "checkpoint-10").mkdir()
    (out / ".final-abc123").mkdir()  # a save killed before: its staging folder
    assert fuse.cli(["--member", str(members["functionals"]), str(members["cnn_a"]), "--out", str(out)]) == 0
    left = {p.name for p in out.iterdir()}
    old = {"val_metrics.json", "test_metrics.json", "train_args.json", "modeling_compact.py"}
    assert not left & {*old, "checkpoint-10", ".final-abc123", ".previous-model"}, left
    assert json.loads((out / "split.json").read_text())["protocol"] == "fusion"  # its own, not the old one
    assert {"config.json", "model.safetensors", "preprocessor_config.json"} <= left
    assert (out / "model.safetensors").stat().st_mode & 0o044 == 0o044  # readable, as trained models


def test_a_fusion_of_turn_encoder_models_ships_the_encoders_weights_and_licence(tmp_path):
    """A fusion with a turn-encoder member (the default's family) saved no turn_encoder.safetensors
    and no licence beside it, so a pushed copy failed to load without ser_hf ("the turn encoder's
    weights are missing"); it now ships them as a single such model does, and reads its own copy."""
    from transformers import AutoFeatureExtractor

    from ser_hf.cli import fuse

    out = tmp_path / "f"
    assert (
        fuse.cli(
            [
                "--member",
                "turn-encoder-2-voices-crops",
                "--member",
                "turn-encoder-2-voices",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert (out / "turn_encoder.safetensors").is_file() and (out / "turn_encoder_LICENSE.txt").is_file()
    extractor = AutoFeatureExtractor.from_pretrained(out, trust_remote_code=True)
    assert extractor._functionals_extractor._turn_weights == str(out / "turn_encoder.safetensors")


def test_a_fusion_loaded_with_other_labels_says_its_labels_are_its_members():
    """``AutoConfig.from_pretrained(fusion, num_labels=3, id2label={...})`` was refused with "the fusion
    has ['LABEL_0', 'LABEL_1', 'LABEL_2']", names the user never gave."""
    from transformers import AutoConfig

    from ser_hf.inference.bundled import bundled_model_path

    with pytest.raises(
        SERError, match="a fusion.s labels are its members. .*cannot take 3 other labels"
    ) as err:
        AutoConfig.from_pretrained(
            str(bundled_model_path("fusion")), num_labels=3, id2label={0: "neg", 1: "neu", 2: "pos"},
            label2id={"neg": 0, "neu": 1, "pos": 2},
        )  # fmt: skip
    assert "LABEL_0" not in str(err.value)
