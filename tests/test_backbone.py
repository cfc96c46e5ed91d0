"""The pretrained-encoder family with tiny, randomly initialised encoders saved to a temp folder
(nothing can be downloaded here): wav2vec2 and the Whisper encoder are trained for 2 steps through
`ser-hf train --backbone FOLDER`, saved, reloaded in the stock pipeline with the encoder's own
feature extractor, and loaded as remote code with `ser_hf` blocked; HuBERT, WavLM and
data2vec-audio are built and run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from test_training import EMOTION_F0, _clip, make_ravdess_tree

from ser_hf.cli import train as train_cli
from ser_hf.errors import SERError

pytestmark = pytest.mark.slow

TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
        "conv_dim": [16, 16], "conv_stride": [5, 4], "conv_kernel": [10, 8], "num_conv_pos_embeddings": 16,
        "num_conv_pos_embedding_groups": 2, "vocab_size": 8}  # fmt: skip


def _save_encoder(kind: str, folder: Path) -> Path:
    import transformers as tf

    torch.manual_seed(0)
    if kind == "whisper":
        config = tf.WhisperConfig(d_model=32, encoder_layers=2, decoder_layers=1, encoder_attention_heads=2,
                                  decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                                  num_mel_bins=80, max_source_positions=1500, vocab_size=64, pad_token_id=0,
                                  bos_token_id=1, eos_token_id=2, decoder_start_token_id=3)  # fmt: skip
        tf.WhisperModel(config).save_pretrained(folder)
        tf.WhisperFeatureExtractor(feature_size=80).save_pretrained(folder)
        return folder
    config_cls, model_cls = {
        "wav2vec2": (tf.Wav2Vec2Config, tf.Wav2Vec2Model),
        "hubert": (tf.HubertConfig, tf.HubertModel),
        "wavlm": (tf.WavLMConfig, tf.WavLMModel),
        "data2vec-audio": (tf.Data2VecAudioConfig, tf.Data2VecAudioModel),
    }[kind]
    extra = {"num_buckets": 16, "max_bucket_distance": 50} if kind == "wavlm" else {}
    model_cls(config_cls(**TINY, feat_extract_norm="layer", **extra)).save_pretrained(folder)
    tf.Wav2Vec2FeatureExtractor(return_attention_mask=True).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_ravdess_tree(tmp_path_factory.mktemp("ravdess"), actors=4, seconds=0.6)


@pytest.mark.parametrize("kind, freeze", [("wav2vec2", 1), ("whisper", -1)])
def test_train_two_steps_save_and_reload_everywhere(kind, freeze, corpus, tmp_path):
    from transformers import AutoFeatureExtractor, pipeline

    from ser_hf import EmotionClassifier

    encoder = _save_encoder(kind, tmp_path / f"tiny-{kind}")
    out = tmp_path / "model"
    argv = ["--corpus", f"ravdess={corpus}", "--split", "loso:04", "--num_val_speakers", "1"]
    argv += ["--backbone", str(encoder), "--freeze_layers", str(freeze), "--max_steps", "2"]
    argv += ["--per_device_train_batch_size", "4", "--max_seconds", "0.5", "--output_dir", str(out)]
    argv += ["--use_cpu", "true", "--disable_tqdm", "true", "--eval_strategy", "steps", "--eval_steps", "1"]
    argv += ["--save_strategy", "steps", "--save_steps", "1"]
    before = {k: v.clone() for k, v in _encoder_state(encoder, kind).items()}
    assert train_cli.cli(argv) == 0

    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "ser_backbone" and config["backbone"] == str(encoder)
    assert config["backbone_config"]["model_type"] == kind
    fe_type = json.loads((out / "preprocessor_config.json").read_text())["feature_extractor_type"]
    assert fe_type == ("WhisperFeatureExtractor" if kind == "whisper" else "Wav2Vec2FeatureExtractor")
    # frozen layers kept the pretrained weights; with freeze_layers=1 the top layer was trained
    from safetensors.torch import load_file

    saved = load_file(out / "model.safetensors")
    first = next(k for k in before if f".{k}".find(".layers.0.") >= 0 and "weight" in k)
    assert torch.equal(saved[f"encoder.{first}"], before[first])
    if freeze >= 0:
        top = [k for k in before if ".layers.1." in f".{k}" and k.endswith("weight") and "norm" not in k]
        assert any(not torch.equal(saved[f"encoder.{k}"], before[k]) for k in top), "layer 1 was fine-tuned"

    clip = _clip(EMOTION_F0["happy"], 1.0, seed=3)
    piped = pipeline("audio-classification", model=str(out), device="cpu")(clip, top_k=None)
    assert {p["label"] for p in piped} == set(config["label2id"]) and abs(
        sum(p["score"] for p in piped) - 1
    ) < 1e-4
    assert type(AutoFeatureExtractor.from_pretrained(out)).__name__ == fe_type
    ours = {
        p["label"]: p["score"] for p in EmotionClassifier(str(out), device="cpu").classify(clip, top_k=None)
    }
    assert all(abs(ours[p["label"]] - p["score"]) < 1e-4 for p in piped)
    # a batch with padding scores each clip as alone
    clf = EmotionClassifier(str(out), device="cpu")
    short = _clip(EMOTION_F0["sad"], 0.6, seed=4)
    batch = clf.classify_batch([clip, short], top_k=None)
    alone = clf.classify(short, top_k=None)
    assert all(
        abs(a["score"] - b["score"]) < 1e-4
        for a, b in zip(sorted(batch[1], key=lambda x: x["label"]), sorted(alone, key=lambda x: x["label"]))
    )

    # remote code: a fresh process in which ser_hf cannot be imported
    np.save(tmp_path / "clip.npy", clip)
    code = (
        "import sys, json\nsys.modules['ser_hf'] = None\n"
        "import numpy as np\nfrom transformers import pipeline\n"
        f"clf = pipeline('audio-classification', model={str(out)!r}, trust_remote_code=True, device='cpu')\n"
        f"print(json.dumps(clf(np.load({str(tmp_path / 'clip.npy')!r}), top_k=None)))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    remote = {p["label"]: p["score"] for p in json.loads(proc.stdout.strip().splitlines()[-1])}
    assert all(abs(remote[p["label"]] - p["score"]) < 1e-4 for p in piped)


def _encoder_state(folder: Path, kind: str) -> dict[str, torch.Tensor]:
    from transformers import AutoModel

    model = AutoModel.from_pretrained(folder)
    if kind == "whisper":
        model = model.get_encoder()
    return dict(model.state_dict())


@pytest.mark.parametrize("kind", ["hubert", "wavlm", "data2vec-audio"])
def test_other_encoders_build_and_classify(kind, tmp_path):
    from ser_hf.training.backbone import build_backbone_model

    model, features = build_backbone_model(str(_save_encoder(kind, tmp_path / kind)), ["a", "b", "c"])
    assert not any(p.requires_grad for p in model.encoder.parameters())  # frozen by default
    waves = torch.from_numpy(np.stack([_clip(200.0, 0.8, seed=1), _clip(300.0, 0.8, seed=2)]))
    inputs, mask = features.batch_features(waves, torch.tensor([12800, 8000]))
    out = model.eval()(
        input_values=inputs, attention_mask=mask, labels=torch.tensor([0, 2]), output_attentions=True
    )
    assert out.logits.shape == (2, 3) and torch.isfinite(out.loss)
    real = int(model.encoder._get_feat_extract_output_lengths(mask[1].sum()))
    assert 0 < real < out.attentions[0].shape[1] and out.attentions[0][1][real:].abs().sum() == 0  # padding


def test_a_missing_backbone_is_a_clear_error(tmp_path):
    from ser_hf.training.backbone import build_backbone_model

    with pytest.raises(SERError, match="--backbone"):
        build_backbone_model(str(tmp_path / "nothing-here"), ["a", "b"])


def test_a_saved_ser_hf_model_as_backbone_is_refused_before_decoding(tmp_path):
    """`train --backbone <a bundled or saved ser_hf model>` (the flag a user tries for "start from my
    model") decoded the whole corpus, then ended in transformers' ValueError listing hundreds of
    config classes. The corpus here is an empty folder: reading it would fail first, otherwise."""
    bundled = Path(__file__).resolve().parents[1] / "ser_hf" / "bundled"
    for folder in (bundled / "model", bundled / "turn_encoder_2_voices_crops"):
        with pytest.raises(SERError, match="holds a ser_hf emotion classifier.*--preset") as err:
            train_cli.cli(["--backbone", str(folder), "--corpus", f"ravdess={tmp_path}", "--output_dir",
                           str(tmp_path / "out")])  # fmt: skip
        assert "--backbone" in str(err.value)
