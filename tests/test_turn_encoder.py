"""The pretrained encoder behind the ``"turn-encoder"`` functionals blocks: smart-turn v3.2's
Whisper-tiny encoder, shipped with its licences, read the way Whisper reads a clip (its log-mels, its
transformer), and carried by saved models so they run from their folder alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import make_speechlike

from ser_hf.errors import SERError
from ser_hf.models.feature_extraction_functionals import (
    SERFunctionalsFeatureExtractor,
    batch_functionals,
    functionals_size,
)
from ser_hf.models.turn_encoder import (
    WEIGHTS,
    TurnEncoder,
    turn_encoder_size,
    turn_encoder_stats,
    whisper_log_mel,
)

SR = 16000
WINDOW = 8 * SR


@pytest.fixture(scope="module")
def encoder() -> TurnEncoder:
    return TurnEncoder.load(dtype=torch.float32)


def _whisper_mel_of_padded_window(wave: np.ndarray) -> np.ndarray:
    """Whisper's log-mels as smart-turn computes them: the clip left-padded with zeros to 8 s, the
    WHOLE window normalised, a centred STFT (numpy), librosa's Slaney mels, the 8-below-max floor."""
    librosa = pytest.importorskip("librosa")
    x = np.pad(wave.astype(np.float32), (WINDOW - len(wave), 0))
    x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(x.astype(np.float64), 200, mode="reflect"), 400)[
        ::160
    ]
    power = np.abs(np.fft.rfft(frames * np.hanning(401)[:-1], axis=-1)) ** 2
    mel = np.log10(np.maximum(librosa.filters.mel(sr=SR, n_fft=400, n_mels=80) @ power.T, 1e-10))[:, :-1]
    return (np.maximum(mel, mel.max() - 8.0) + 4.0) / 4.0


def test_the_weights_ship_with_their_licences():
    assert WEIGHTS.is_file() and WEIGHTS.stat().st_size > 8_000_000
    licence = WEIGHTS.with_name("turn_encoder_LICENSE.txt").read_text()
    assert (
        "BSD 2-Clause" in licence and "Daily" in licence and "MIT License" in licence and "OpenAI" in licence
    )


@pytest.mark.parametrize("seconds", [0.4, 2.3, 8.0, 9.5])
def test_log_mels_are_those_of_the_padded_window(seconds):
    """Only the clip's own frames are computed, but they equal the frames of the full 8-s window
    smart-turn feeds (a clip over 8 s: its last 8 s)."""
    wave = 0.2 * make_speechlike(seconds, f0=160.0, seed=5)
    got, k = whisper_log_mel(torch.as_tensor(wave))
    full = _whisper_mel_of_padded_window(wave[-WINDOW:])
    assert k == min(400, int(np.ceil(min(len(wave), WINDOW) / 320)))
    assert got.shape == (80, 2 * k)
    np.testing.assert_allclose(got.numpy(), full[:, -2 * k :], atol=1e-4)


def test_the_layers_are_whispers_encoder(encoder):
    """On a clip filling the 8-s window, each layer's states equal transformers' ``WhisperEncoder``
    (Whisper-tiny's shape) loaded with the same weights: the q / k / v order, the attention scale,
    the pre-norm layers and the final layer norm are Whisper's."""
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    config = WhisperConfig(
        num_mel_bins=80, d_model=384, encoder_layers=4, encoder_attention_heads=6, encoder_ffn_dim=1536,
        max_source_positions=400, activation_function="gelu",
    )  # fmt: skip
    reference = WhisperEncoder(config).eval()
    ours = encoder.state_dict()
    state = {
        "conv1.weight": ours["conv1.weight"], "conv1.bias": ours["conv1.bias"],
        "conv2.weight": ours["conv2.weight"], "conv2.bias": ours["conv2.bias"],
        "embed_positions.weight": ours["positions"],
        "layer_norm.weight": ours["norm.weight"], "layer_norm.bias": ours["norm.bias"],
    }  # fmt: skip
    for i in range(4):
        p, h = f"layers.{i}.", f"layers.{i}."
        for name, w, b in zip(
            ("q_proj", "k_proj", "v_proj"), ours[p + "qkv.weight"].split(384), ours[p + "qkv.bias"].split(384)
        ):
            state[f"{h}self_attn.{name}.weight"] = w
            if name != "k_proj":
                state[f"{h}self_attn.{name}.bias"] = b
        for theirs, mine in (("self_attn.out_proj", "out"), ("fc1", "fc1"), ("fc2", "fc2"),
                             ("self_attn_layer_norm", "attn_norm"), ("final_layer_norm", "mlp_norm")):  # fmt: skip
            state[f"{h}{theirs}.weight"], state[f"{h}{theirs}.bias"] = (
                ours[f"{p}{mine}.weight"],
                ours[f"{p}{mine}.bias"],
            )
    reference.load_state_dict(state)
    mel, k = whisper_log_mel(torch.as_tensor(0.2 * make_speechlike(8.0, f0=140.0, seed=2)))
    assert k == 400
    with torch.no_grad():
        expected = reference(mel[None], output_hidden_states=True)
        got = encoder(mel[None])
    for j in range(3):
        torch.testing.assert_close(got[j], expected.hidden_states[j + 1], atol=2e-4, rtol=1e-4)
    torch.testing.assert_close(got[3], expected.last_hidden_state, atol=2e-4, rtol=1e-4)


def test_the_block_pools_each_layer_and_tells_voices_apart():
    """Per layer, the mean and sd over the clip's positions; a voice an octave higher moves the
    values several times more than faint noise added to the same voice."""
    low, high = (0.2 * make_speechlike(2.0, f0=f0, seed=1) for f0 in (120.0, 240.0))
    again = low + 0.001 * np.random.default_rng(0).standard_normal(low.shape).astype(np.float32)
    values = turn_encoder_stats([low, high, again], layers=2)
    assert values.shape == (3, turn_encoder_size(2)) == (3, 1536) and np.isfinite(values).all()
    assert (values[:, 384:768] >= 0).all()  # the first layer's sd
    assert np.abs(values[0] - values[2]).mean() < 0.5 * np.abs(values[0] - values[1]).mean()
    four = turn_encoder_stats([low], layers=4)
    np.testing.assert_allclose(four[0, :1536], values[0], atol=1e-5)
    assert functionals_size("voice-turn-encoder-2") == 1024 + 1536


def test_a_saved_model_carries_the_weights_and_runs_from_its_folder(tmp_path):
    extractor = SERFunctionalsFeatureExtractor(functionals="voice-turn-encoder-2")
    extractor.save_pretrained(tmp_path)
    for name in ("turn_encoder.safetensors", "turn_encoder_LICENSE.txt", "turn_encoder.py"):
        assert (tmp_path / name).is_file()
    again = SERFunctionalsFeatureExtractor.from_pretrained(tmp_path)
    assert again._turn_weights == str(tmp_path / "turn_encoder.safetensors")
    wave = 0.2 * make_speechlike(1.5, f0=180.0, seed=4)
    np.testing.assert_array_equal(
        again(wave, sampling_rate=SR)["input_features"][0],
        batch_functionals([wave], "voice-turn-encoder-2").astype(np.float32)[0],
    )


def test_missing_weights_and_other_rates_raise_clear_errors(tmp_path):
    with pytest.raises(SERError, match="turn encoder's weights are missing"):
        TurnEncoder.load(tmp_path / "turn_encoder.safetensors")
    with pytest.raises(SERError, match="16 kHz"):
        turn_encoder_stats([np.zeros(8000, np.float32)], sampling_rate=8000)
    with pytest.raises(SERError, match="torch.qint8 or torch.float32"):
        TurnEncoder.load(dtype=torch.bfloat16)


def test_the_package_runs_int8_whatever_the_cpu(encoder, monkeypatch):
    """The linear layers run as dynamic int8 by default, also where float32 is forced for the other
    encoders (a laptop without native bfloat16), so a model fitted on one CPU reads the same values
    on another; those values stay within a few per cent of float32's."""
    wave = torch.as_tensor(0.2 * make_speechlike(3.0, f0=170.0, seed=6))
    int8 = TurnEncoder.load()
    monkeypatch.setenv("SER_HF_ENCODER_DTYPE", "float32")
    again = TurnEncoder.load()
    assert all(
        type(m).__module__.startswith("torch.ao.nn.quantized")
        for m in (int8.layers[0].qkv, int8.layers[3].fc2)
    )
    got, same, f32 = int8.pooled([wave]), again.pooled([wave]), encoder.pooled([wave])
    torch.testing.assert_close(got, same, atol=0, rtol=0)
    assert 0 < (got - f32).abs().mean() / f32.abs().mean() < 0.05
    assert np.corrcoef(got[0].numpy(), f32[0].numpy())[0, 1] > 0.995


class _Values(torch.nn.Module):
    """A head that returns the pooled values it is given, so a graph's pooling can be compared."""

    def forward(self, input_features, return_dict=True):
        return type("Out", (), {"logits": input_features})()


def test_the_nopos_block_pools_the_states_less_their_positions_alone_and_in_the_onnx_graph(encoder):
    """``turn-encoder-2-nopos`` (session 46): the two layers' states less the position vectors the
    encoder added, pooled; a clip's values are those of a plain computation, and the exported graph's
    padded batch gives each clip the same values as the package's path (one clip at a time)."""
    from ser_hf.inference.onnx_turn import TurnEncoderGraph, TurnEncoderInputs

    clips = [0.2 * make_speechlike(s, f0=f, seed=3) for s, f in ((0.7, 150.0), (2.6, 210.0))]
    mel, k = whisper_log_mel(torch.as_tensor(clips[1]))
    with torch.no_grad():
        states = [h[0] - encoder.positions[-k:] for h in encoder(mel[None])[:2]]
    plain = torch.cat([t for h in states for t in (h.mean(0), h.std(0, unbiased=False))])
    nopos = encoder.pooled([torch.as_tensor(c) for c in clips], positions=False)
    placed = encoder.pooled([torch.as_tensor(c) for c in clips])[:, :1536]
    torch.testing.assert_close(nopos[1, :1536], plain, atol=1e-4, rtol=1e-4)
    assert (nopos[:, :1536] - placed).abs().max() > 0.1  # the positions were there, and are gone
    assert functionals_size("turn-encoder-2-nopos") == 1536

    extractor = SERFunctionalsFeatureExtractor(functionals="turn-encoder-2-nopos", trim_db=None)
    inputs = TurnEncoderInputs(extractor)(clips, sampling_rate=SR, return_tensors="pt")
    for positions, expected in ((False, nopos), (True, encoder.pooled([torch.as_tensor(c) for c in clips]))):
        graph = TurnEncoderGraph(_Values(), TurnEncoder.load(layers=2, dtype=torch.float32), positions)
        with torch.no_grad():
            got, _ = graph(inputs["input_features"], inputs["attention_mask"])
        torch.testing.assert_close(got, expected[:, :1536], atol=1e-4, rtol=1e-4)
