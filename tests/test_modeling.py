"""Both model families: shapes, masking invariance, loss, short clips, save/load, attention weights."""

from __future__ import annotations

import inspect

import pytest
import torch
import torch.nn.functional as F
from transformers import AutoConfig, AutoModelForAudioClassification
from transformers.utils import find_labels

import ser_hf  # noqa: F401  (registers the Auto classes)
from ser_hf.errors import SERError
from ser_hf.models.configuration_ser import CnnBiLstmAttentionConfig, CnnTransformerConfig
from ser_hf.models.modeling_ser import (
    CnnBiLstmAttentionForAudioClassification,
    CnnTransformerForAudioClassification,
    reverse_padded,
)
from ser_hf.training.presets import FAMILIES, PRESETS, build_model, count_parameters, preset_table

# presets built by build_model; the "functionals" ones are fitted by ser-hf train (tests/test_linear.py)
BUILT = [name for name, spec in PRESETS.items() if spec["family"] in FAMILIES]

LABELS = ["neutral", "happy", "sad", "angry"]
N_FEATURES = 24


def tiny_a(**overrides) -> CnnBiLstmAttentionForAudioClassification:
    kwargs = dict(
        num_features=N_FEATURES,
        conv_channels=[4, 8],
        lstm_hidden_size=8,
        attention_heads=4,
        attention_hidden_size=8,
        classifier_hidden_size=8,
        id2label=dict(enumerate(LABELS)),
    )
    kwargs.update(overrides)
    return _perturbed(CnnBiLstmAttentionForAudioClassification(CnnBiLstmAttentionConfig(**kwargs)))


def tiny_b(**overrides) -> CnnTransformerForAudioClassification:
    kwargs = dict(
        num_features=N_FEATURES,
        conv_channels=[4, 4, 8, 8],
        d_model=16,
        nhead=2,
        num_layers=2,
        dim_feedforward=16,
        id2label=dict(enumerate(LABELS)),
    )
    kwargs.update(overrides)
    return _perturbed(CnnTransformerForAudioClassification(CnnTransformerConfig(**kwargs)))


@torch.no_grad()
def _perturbed(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random non-trivial BatchNorm statistics and biases: fresh BN layers are the identity in eval
    mode and would hide a padding leak (BN(0) = 0)."""
    gen = torch.Generator().manual_seed(seed)
    for tensor in [*model.parameters(), *(b for b in model.buffers() if b.is_floating_point())]:
        tensor.add_(0.2 * torch.randn(tensor.shape, generator=gen))
    for module in model.modules():
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            module.running_var.abs_().add_(0.5)
    return model.eval()


def padded_batch(clips: list[torch.Tensor], pad_value: float) -> tuple[torch.Tensor, torch.Tensor]:
    longest = max(c.shape[0] for c in clips)
    features = torch.full((len(clips), longest, clips[0].shape[1]), pad_value)
    mask = torch.zeros(len(clips), longest, dtype=torch.long)
    for i, clip in enumerate(clips):
        features[i, : clip.shape[0]] = clip
        mask[i, : clip.shape[0]] = 1
    return features, mask


def clips(lengths=(61, 40, 23), seed: int = 1) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(n, N_FEATURES, generator=gen) for n in lengths]


VARIANTS = {
    "a-default": lambda: tiny_a(),
    "a-residual-gelu": lambda: tiny_a(residual=True, activation="gelu"),
    "a-multihead-mlp": lambda: tiny_a(attention="multihead", classifier="mlp"),
    "a-lstm2-multihead": lambda: tiny_a(lstm_layers=2, attention="multihead", residual=True),
    "a-lstm3-mlp": lambda: tiny_a(lstm_layers=3, classifier="mlp", activation="gelu"),
    "a-no-time-pool-no-bn": lambda: tiny_a(pool_time=False, batch_norm=False),
    "a-4-blocks": lambda: tiny_a(conv_channels=[4, 4, 8, 8], residual=True),
    "b-transformer": lambda: tiny_b(),
    "b-cnn-only": lambda: tiny_b(use_transformer=False),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_padding_never_changes_scores(name):
    # seeded: transformers' init drew other weights each run, and float32 batched-vs-single rounding
    # once passed 1e-5 (1.9e-5 on a logit of 0.87); a padding leak moves logits by 1e-2 or more
    torch.manual_seed(0)
    model = VARIANTS[name]()
    batch = clips()
    alone = [model(c[None], output_attentions=True) for c in batch]
    for pad_value in (0.0, 7.5):
        features, mask = padded_batch(batch, pad_value)
        out = model(features, attention_mask=mask, output_attentions=True)
        assert out.logits.shape == (len(batch), len(LABELS))
        for i, single in enumerate(alone):
            torch.testing.assert_close(out.logits[i], single.logits[0], atol=5e-5, rtol=0)
            n = single.attentions[0].shape[1]
            torch.testing.assert_close(out.attentions[0][i, :n], single.attentions[0][0], atol=1e-5, rtol=0)


def test_padding_invariance_test_can_fail():
    """Without the mask, the padded clip's scores do change: the invariance above is real work."""
    model = tiny_a()
    batch = clips()
    features, _ = padded_batch(batch, 7.5)
    unmasked = model(features).logits[2]
    alone = model(batch[2][None]).logits[0]
    assert (unmasked - alone).abs().max() > 1e-3


@pytest.mark.parametrize("family", ["a", "b"])
def test_attention_weights_sum_to_one_over_real_frames(family):
    model = tiny_a(attention="multihead") if family == "a" else tiny_b()
    features, mask = padded_batch(clips((64, 33)), 0.0)
    weights = model(features, attention_mask=mask, output_attentions=True).attentions[0]
    reduction = model.config.time_reduction
    assert weights.shape == (2, 64 // reduction)
    real = 33 // reduction
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(2))
    assert weights[1, real:].abs().max() < 1e-7
    assert (weights[1, :real] > 0).all()
    assert model(features, attention_mask=mask).attentions is None


@pytest.mark.parametrize("make", [tiny_a, tiny_b], ids=["a", "b"])
@pytest.mark.parametrize("frames", [1, 6])
def test_short_clips_classify(make, frames):
    model = make()
    clip = torch.randn(1, frames, N_FEATURES)
    logits = model(clip).logits
    assert logits.shape == (1, len(LABELS)) and torch.isfinite(logits).all()
    # and the same inside a batch with a long clip
    features, mask = padded_batch([clip[0], torch.randn(80, N_FEATURES)], 3.0)
    torch.testing.assert_close(model(features, attention_mask=mask).logits[0], logits[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("make", [tiny_a, tiny_b], ids=["a", "b"])
def test_loss_is_weighted_smoothed_cross_entropy(make):
    weights, smoothing = [1.0, 2.0, 0.5, 3.0], 0.1
    model = make(class_weights=weights, label_smoothing=smoothing)
    features, mask = padded_batch(clips((40, 30, 20, 50)), 0.0)
    labels = torch.tensor([0, 3, 1, 3])
    out = model(features, attention_mask=mask, labels=labels)
    expected = F.cross_entropy(out.logits, labels, weight=torch.tensor(weights), label_smoothing=smoothing)
    torch.testing.assert_close(out.loss, expected)
    plain_model = make()
    plain = plain_model(features, attention_mask=mask, labels=labels)
    torch.testing.assert_close(plain.loss, F.cross_entropy(plain.logits, labels))
    loss, logits = plain_model(features, attention_mask=mask, labels=labels, return_dict=False)
    torch.testing.assert_close((loss, logits), (plain.loss, plain.logits))


def test_class_weights_of_another_label_set_are_ignored_with_a_warning(tmp_path, caplog):
    """A saved model fine-tuned to other labels (``from_pretrained(num_labels=3, id2label=...,
    ignore_mismatched_sizes=True)``) kept the 8 class weights of its first training and failed at the
    first loss; they are now dropped with a warning and the loss is plain cross-entropy."""
    from transformers import AutoModelForAudioClassification

    tiny_a(class_weights=[1.0, 2.0, 0.5, 1.5]).save_pretrained(tmp_path)
    with caplog.at_level("WARNING"):
        model = AutoModelForAudioClassification.from_pretrained(
            tmp_path, num_labels=2, id2label={0: "neg", 1: "pos"}, label2id={"neg": 0, "pos": 1},
            ignore_mismatched_sizes=True,
        )  # fmt: skip
    assert (
        model.config.class_weights is None
        and "class_weights has 4 values and the model 2 labels" in caplog.text
    )
    out = model(torch.randn(2, 20, N_FEATURES), labels=torch.tensor([0, 1]))
    torch.testing.assert_close(out.loss, F.cross_entropy(out.logits, torch.tensor([0, 1])))
    # given id2label alone, transformers sets the labels after the config is built: the loss ignores them
    model = AutoModelForAudioClassification.from_pretrained(
        tmp_path, id2label={0: "neg", 1: "pos"}, label2id={"neg": 0, "pos": 1}, ignore_mismatched_sizes=True
    )
    with pytest.warns(UserWarning, match="class_weights: 4 values, 2 labels; ignored"):
        out = model(torch.randn(2, 20, N_FEATURES), labels=torch.tensor([0, 1]))
    torch.testing.assert_close(out.loss, F.cross_entropy(out.logits, torch.tensor([0, 1])))


def test_auxiliary_gender_head_adds_to_loss_only_with_gender_ids():
    model = tiny_a(num_aux_genders=2, aux_gender_loss_weight=0.5)
    features, mask = padded_batch(clips((40, 30)), 0.0)
    labels = torch.tensor([1, 2])
    base = model(features, attention_mask=mask, labels=labels).loss
    unknown = model(features, attention_mask=mask, labels=labels, gender_ids=torch.tensor([-100, -100])).loss
    with_gender = model(features, attention_mask=mask, labels=labels, gender_ids=torch.tensor([0, 1])).loss
    torch.testing.assert_close(unknown, base)
    assert with_gender > base


def test_forward_fits_trainer():
    """No **kwargs (Trainer would skip loss scaling) and only `labels` looks like a label column
    (a second one would make evaluation skip the loss when it is missing)."""
    for cls in (CnnBiLstmAttentionForAudioClassification, CnnTransformerForAudioClassification):
        params = inspect.signature(cls.forward).parameters.values()
        assert all(p.kind is not inspect.Parameter.VAR_KEYWORD for p in params)
        assert cls.accepts_loss_kwargs is False
        assert find_labels(cls) == ["labels"]
        assert cls.main_input_name == "input_features"


@pytest.mark.parametrize("make", [tiny_a, tiny_b], ids=["a", "b"])
def test_training_step_updates_every_block(make):
    torch.manual_seed(0)
    model = make(attention="multihead") if make is tiny_a else make()
    model.train()
    features, mask = padded_batch(clips((40, 30, 20)), 0.0)
    model(features, attention_mask=mask, labels=torch.tensor([0, 1, 2])).loss.backward()
    without_grad = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert without_grad == []


@pytest.mark.parametrize("make", [tiny_a, tiny_b], ids=["a", "b"])
def test_save_and_reload_give_identical_logits(make, tmp_path):
    """Also guards the meta-device trap: the positional encoding must survive from_pretrained."""
    model = make()
    features, mask = padded_batch(clips(), 0.0)
    before = model(features, attention_mask=mask).logits
    model.save_pretrained(tmp_path)
    reloaded = type(model).from_pretrained(tmp_path).eval()
    torch.testing.assert_close(reloaded(features, attention_mask=mask).logits, before, atol=0, rtol=0)
    auto = AutoModelForAudioClassification.from_pretrained(tmp_path).eval()
    assert type(auto) is type(model)
    assert auto.config.id2label == dict(enumerate(LABELS))
    assert auto.config.label2id == {name: i for i, name in enumerate(LABELS)}
    torch.testing.assert_close(auto(features, attention_mask=mask).logits, before, atol=0, rtol=0)
    assert type(AutoConfig.from_pretrained(tmp_path)) is type(model.config)


def test_reverse_padded_reverses_within_length():
    x = torch.arange(10.0).reshape(2, 5, 1)
    out = reverse_padded(x, torch.tensor([5, 3]))
    assert out[:, :, 0].tolist() == [[4, 3, 2, 1, 0], [7, 6, 5, 8, 9]]
    torch.testing.assert_close(reverse_padded(out, torch.tensor([5, 3])), x)


@pytest.mark.parametrize(
    "bad",
    [
        dict(activation="tanh"),
        dict(attention="dot"),
        dict(conv_channels=[]),
        dict(lstm_layers=0),
        dict(conv_kernel_size=4),
        dict(attention="multihead", lstm_hidden_size=6, attention_heads=8),
        dict(num_features=3, conv_channels=[4, 8]),
    ],
)
def test_invalid_config_a_raises(bad):
    with pytest.raises(SERError):
        CnnBiLstmAttentionConfig(**bad)


def test_invalid_config_b_and_input_shape_raise():
    with pytest.raises(SERError, match="nhead"):
        CnnTransformerConfig(d_model=30, nhead=4)
    with pytest.raises(SERError, match="expected"):
        tiny_b()(torch.randn(1, 20, N_FEATURES + 1))


# ---------------------------------------------------------------------------------------------
# presets: each built once
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built_presets():
    torch.manual_seed(0)
    return {name: build_model(name, LABELS) for name in BUILT}


@pytest.mark.parametrize("name", BUILT)
def test_preset_builds_and_classifies(name, built_presets, speechlike_batch):
    model, extractor = built_presets[name]
    model.eval()
    assert model.config.num_features == extractor.feature_size
    assert model.config.id2label == dict(enumerate(LABELS))
    inputs = extractor(speechlike_batch, sampling_rate=16000, return_tensors="pt")
    with torch.no_grad():
        out = model(**inputs, output_attentions=True)
    assert out.logits.shape == (len(speechlike_batch), len(LABELS))
    torch.testing.assert_close(out.attentions[0].sum(dim=1), torch.ones(len(speechlike_batch)))
    assert count_parameters(model) > 10_000


def test_seed_preset_is_the_seed_design(built_presets):
    model, extractor = built_presets["seed-logmel-bilstm"]
    assert (extractor.feature_set, extractor.feature_size, extractor.max_frames) == ("logmel", 128, 300)
    c = model.config
    assert (c.conv_channels, c.lstm_hidden_size, c.lstm_layers, c.attention, c.classifier) == (
        [32, 64],
        128,
        1,
        "additive",
        "linear",
    )
    model, extractor = built_presets["resgelu-bilstm-mha"]
    assert extractor.feature_size == 40 * 3 + 2
    c = model.config
    assert (c.residual, c.activation, c.lstm_layers, c.attention, c.attention_heads, c.classifier) == (
        True,
        "gelu",
        3,
        "multihead",
        8,
        "mlp",
    )
    assert built_presets["cnn-transformer"][0].config.conv_channels == [16, 32, 64, 128]


def test_build_model_overrides_and_errors():
    model, extractor = build_model(
        "cnn-transformer",
        {0: "calm", 1: "angry"},
        feature_overrides={"n_mels": 32},
        conv_channels=[4, 8],
        d_model=16,
        nhead=2,
        label_smoothing=0.1,
    )
    assert model.config.num_features == extractor.feature_size == 32
    assert model.config.label_smoothing == 0.1 and model.config.label2id == {"calm": 0, "angry": 1}
    with pytest.raises(SERError, match="unknown preset"):
        build_model("no-such-preset", LABELS)
    with pytest.raises(SERError, match="unique"):
        build_model("cnn-only", ["a", "a"])
    with pytest.raises(SERError, match="feature_size"):
        build_model("cnn-only", LABELS, num_features=64)


def test_preset_table_lists_every_preset_with_parameters(monkeypatch, built_presets):
    import ser_hf.training.presets as presets

    # reuse the models built once (with 4 labels) instead of building all presets again
    monkeypatch.setattr(presets, "build_model", lambda name, labels: built_presets[name])
    table = preset_table(num_labels=len(LABELS))
    for name, (model, _) in built_presets.items():
        assert f"`{name}`" in table and f"{count_parameters(model):,}" in table
    # the logistic-regression presets: one weight per functional and class, plus the biases
    assert "| `speech-stats` | functionals | speech-stats 448 |" in table
    assert "| `speech-stats-pitch` | functionals | speech-stats-pitch 453 |" in table
    assert "| `speech-stats-mfcc-channel` | functionals | speech-stats-mfcc 1558 |" in table
    assert f"| {len(LABELS) * 449:,} |" in table
    # the gender-dependent preset: shared weights, a 2-gender gate and one more matrix per gender
    c, d = len(LABELS), 1558
    gender_row = table.split("`speech-stats-mfcc-rooms-gender`")[1].splitlines()[0]
    assert gender_row.endswith(f"| {c * (d + 1) + 2 * (d + 1) + 2 * c * d:,} |")


@pytest.fixture(scope="module")
def speechlike_batch():
    from conftest import make_speechlike

    return [make_speechlike(seconds=s, seed=i) for i, s in enumerate((0.8, 1.3))]


@pytest.mark.parametrize("cls", [CnnBiLstmAttentionConfig, CnnTransformerConfig])
def test_config_round_trip_and_equality(cls, tmp_path):
    config = cls(conv_channels=[8, 8], class_weights=[1, 2], id2label={0: "sad", 1: "happy"})
    config.save_pretrained(tmp_path)
    reloaded = cls.from_pretrained(tmp_path)
    assert reloaded == config
    assert (reloaded.conv_channels, reloaded.class_weights) == ([8, 8], [1.0, 2.0])
    assert reloaded.label2id == {"sad": 0, "happy": 1}
    assert cls(conv_channels=[8, 16]) != cls(conv_channels=[8, 8])


def test_output_hidden_states_returns_each_familys_layers():
    """The usual way to pull embeddings out of a transformers model: the CNN-Transformer raised
    TypeError on it, the others returned no hidden_states."""
    features, mask = padded_batch(clips(), 0.0)
    model_b = tiny_b()
    with torch.no_grad():
        b = model_b(features, attention_mask=mask, output_hidden_states=True)
        a = tiny_a()(features, attention_mask=mask, output_hidden_states=True)
        plain = model_b(features, attention_mask=mask)
    assert len(b.hidden_states) == 3 and all(
        h.shape[:2] == b.hidden_states[0].shape[:2] for h in b.hidden_states
    )
    assert b.hidden_states[-1].shape[-1] == 16 and plain.hidden_states is None
    torch.testing.assert_close(b.logits, plain.logits)  # asking for them changes no score
    assert len(a.hidden_states) == 2 and a.hidden_states[1].shape[0] == 3
    loss, logits, states = tiny_b()(features, attention_mask=mask, labels=torch.tensor([0, 1, 2]),
                                    output_hidden_states=True, return_dict=False)  # fmt: skip
    assert logits.shape == (3, len(LABELS)) and len(states) == 3


def test_the_bundled_default_gives_its_clip_embedding_and_a_fusion_says_where_states_are():
    from transformers import AutoFeatureExtractor

    from ser_hf.inference.bundled import resolve_model_name

    folder = str(resolve_model_name("default"))
    model = AutoModelForAudioClassification.from_pretrained(folder).eval()
    fe = AutoFeatureExtractor.from_pretrained(folder)
    inputs = fe([torch.randn(16000).numpy() * 0.1], sampling_rate=16000, return_tensors="pt")
    with torch.no_grad():
        out = model(**inputs, output_hidden_states=True)
    assert out.hidden_states[0].shape == inputs["input_features"].shape
    fusion = AutoModelForAudioClassification.from_pretrained(str(resolve_model_name("fusion")))
    with pytest.raises(SERError, match=r"call its members \(model.members\[i\]\)"):
        fusion(input_features=torch.zeros(1, 50, 128), output_hidden_states=True)
    fusion.config.output_hidden_states = True  # as from_pretrained(..., output_hidden_states=True) sets it
    with pytest.raises(SERError, match="no hidden states of its own"):
        fusion(input_features=torch.zeros(1, 50, 128))
