"""The pretrained speaker encoder behind the ``"voice-encoder"`` functionals block: the weights that ship
inside the package are Resemblyzer's, read the way Resemblyzer reads a clip, and pooled so that a
clip's values do not depend on the batch it came in, its loudness when quiet, or how it is cut."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import make_speechlike

from ser_hf.errors import SERError
from ser_hf.models.feature_extraction_functionals import (
    SERFunctionalsFeatureExtractor,
    clip_functionals,
    functionals_size,
    trim_silence,
)
from ser_hf.models.voice_encoder import WEIGHTS, VoiceEncoder, mel_power, voice_encoder_size

SR = 16000


@pytest.fixture(scope="module")
def encoder() -> VoiceEncoder:
    return VoiceEncoder.load(dtype=torch.float32)


@pytest.fixture(scope="module")
def fast() -> VoiceEncoder:
    """As the extractor loads it: bfloat16 where the CPU computes it natively."""
    return VoiceEncoder.load()


def test_the_weights_ship_with_their_licence():
    assert WEIGHTS.is_file() and WEIGHTS.stat().st_size > 5_000_000
    licence = WEIGHTS.with_name("voice_encoder_LICENSE.txt").read_text()
    assert "Apache License" in licence and "Version 2.0" in licence


def test_mel_frames_are_resemblyzers():
    """Resemblyzer feeds ``librosa.feature.melspectrogram`` (25-ms windows, 10-ms hop, 40 bands) of
    the clip raised to -30 dBFS when quieter."""
    librosa = pytest.importorskip("librosa")
    wave = 0.01 * make_speechlike(1.2, f0=180.0, seed=3)  # about -50 dBFS: raised
    gain = 10 ** ((-30 - 10 * np.log10(np.mean(wave.astype(np.float64) ** 2))) / 20)
    expected = librosa.feature.melspectrogram(
        y=wave.astype(np.float64) * gain, sr=SR, n_fft=400, hop_length=160, n_mels=40
    ).T
    got = mel_power(torch.as_tensor(wave)).numpy()
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-4 * np.abs(expected).max()


def test_each_window_embeds_as_the_original_three_layer_lstm(encoder):
    """The three one-layer LSTMs are Resemblyzer's ``nn.LSTM(40, 256, 3)`` split by layer: on one
    1.6-s window the embedding is ReLU(linear(last state)), L2-normed, as its ``forward``."""
    from safetensors.torch import load_file

    state = load_file(str(WEIGHTS))
    lstm = torch.nn.LSTM(40, 256, 3, batch_first=True)
    lstm.load_state_dict(
        {f"{n}_l{i}": state[f"layers.{i}.{n}_l0"] for i in range(3) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    )  # fmt: skip
    wave = torch.as_tensor(make_speechlike(1.55, f0=140.0, seed=1))  # 156 frames: one window
    with torch.inference_mode():
        _, (hidden, _) = lstm(mel_power(wave)[None])
        e = torch.relu(encoder.linear(hidden[-1]))[0]
    expected = (e / e.norm()).numpy()
    values = encoder([wave])[0].numpy()
    assert values.shape == (voice_encoder_size(3),) == (1792,)
    assert np.abs(values[-256:] - expected).max() < 1e-5
    assert voice_encoder_size(2) == 1024
    assert np.allclose(encoder([wave], layers=2)[0].numpy(), values[:1024], atol=1e-6)


def test_a_clip_scores_alike_alone_and_in_a_batch_of_other_lengths(encoder):
    clips = [
        torch.as_tensor(make_speechlike(s, f0=f, seed=i))
        for i, (s, f) in enumerate([(0.4, 120), (3.7, 220), (1.6, 300)])
    ]
    together = encoder(clips).numpy()
    alone = np.stack([encoder([c])[0].numpy() for c in clips])
    assert np.abs(together - alone).max() < 1e-5
    # a 3.7-s clip is three windows: its values are not those of its first window alone
    assert np.abs(alone[1] - encoder([clips[1][: 160 * 160]])[0].numpy()).max() > 1e-3


def test_quiet_recordings_read_alike_but_voices_do_not(encoder):
    clip = make_speechlike(1.5, f0=150.0, seed=5)
    quiet = encoder([torch.as_tensor(0.05 * clip)])[0].numpy()
    quieter = encoder([torch.as_tensor(0.005 * clip)])[0].numpy()
    assert np.abs(quiet - quieter).max() < 1e-3  # both raised to -30 dBFS
    other = encoder([torch.as_tensor(0.05 * make_speechlike(1.5, f0=260.0, seed=5))])[0].numpy()
    assert np.abs(quiet - other).max() > 0.05


def test_the_fast_encoder_reads_like_float32(encoder, fast):
    """Where the CPU has native bfloat16 the LSTMs run in it; a clip's values move by far less than
    a change of voice moves them (previous test: > 0.05)."""
    clip = torch.as_tensor(make_speechlike(2.5, f0=170.0, seed=11))
    alone = fast([clip])[0].numpy()
    assert np.abs(alone - encoder([clip])[0].numpy()).max() < 0.01
    # in a batch its windows share the LSTM's calls with others: bfloat16's rounding may move its
    # values by as much again (float32 gets the same values: the test above), never by a voice's
    others = [
        torch.as_tensor(make_speechlike(s, f0=f, seed=k))
        for k, (s, f) in enumerate(((4.0, 120.0), (0.5, 260.0)))
    ]
    assert np.abs(fast([others[0], clip, others[1]])[1].numpy() - alone).max() < 0.01


def test_the_extractor_block_reads_the_trimmed_clip(fast):
    """``"voice-encoder"`` sets go through the extractor like every functionals set: silence trimmed
    first, one vector per clip, the encoder's values in the block's place."""
    speech = make_speechlike(1.3, f0=210.0, seed=8)
    padded = np.concatenate([np.zeros(SR, np.float32), speech, np.zeros(SR // 2, np.float32)])
    for name, size in (
        ("voice-encoder", 1792),
        ("voice-encoder-2", 1024),
        ("speech-stats-mfcc-speech-encoder", 1558 + 1792),
    ):
        assert functionals_size(name) == size
    extractor = SERFunctionalsFeatureExtractor(functionals="voice-encoder")
    got = extractor([padded, speech], sampling_rate=SR)["input_features"]
    assert got.shape == (2, 1792)
    direct = fast([torch.as_tensor(trim_silence(c, SR, 35.0, 0.1)) for c in (padded, speech)]).numpy()
    assert np.abs(got - direct).max() < 1e-5
    both = clip_functionals(padded, "speech-stats-mfcc-speech-encoder", SR)
    assert np.abs(both[:1558] - clip_functionals(padded, "speech-stats-mfcc-speech", SR)).max() < 1e-9
    alone = fast([torch.as_tensor(trim_silence(padded, SR, 35.0, 0.1))])[0].numpy()
    assert np.abs(both[1558:] - alone).max() < 1e-5


def test_the_range_block_adds_each_layers_percentiles_over_every_frame(encoder):
    """``"voice-encoder-2-range"``: the two layers' mean and sd as ``"voice-encoder-2"``, then each
    layer's 10th and 90th percentiles over every frame of every 1.6-s window (each window from a
    zero state), so a two-window clip is not read as its first window."""
    wave = torch.as_tensor(make_speechlike(2.4, f0=190.0, seed=12))  # 241 frames: two windows
    got = encoder([wave], layers=2, percentiles=True)[0].numpy()
    assert got.shape == (voice_encoder_size(2, percentiles=True),) == (2048,)
    assert np.abs(got[:1024] - encoder([wave], layers=2)[0].numpy()).max() < 1e-6
    mel = mel_power(wave)
    states = [[], []]
    with torch.inference_mode():
        for start in (0, 160):
            h = mel[None, start : start + 160]
            for j in range(2):
                h, _ = encoder.layers[j](h)
                states[j].append(h[0].numpy())
    expected = np.concatenate([np.percentile(np.concatenate(s), q, axis=0) for s in states for q in (10, 90)])
    assert np.abs(got[1024:] - expected).max() < 1e-5
    assert (got[1024 + 256 : 1536] > got[1024:1280]).all()  # p90 above p10 in every unit
    extractor = SERFunctionalsFeatureExtractor(functionals="voice-encoder-2-range")
    assert functionals_size("voice-encoder-2-range") == 2048
    assert extractor([wave.numpy()], sampling_rate=SR)["input_features"].shape == (1, 2048)


@pytest.mark.slow
def test_float32_runs_in_onnx_runtime_with_the_same_values_as_torch(encoder, monkeypatch):
    """Where onnx + onnxruntime are installed the float32 LSTMs run there, the clips' windows as one
    batch: every block (2 or 3 layers, with percentiles) equals torch's on clips of one window,
    exact windows and a partial last window (the range test above checks both against a
    window-by-window loop); ``SER_HF_ENCODER_RUNTIME=torch`` keeps torch."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    clips = [
        torch.as_tensor(make_speechlike(s, f0=f, seed=i))
        for i, (s, f) in enumerate([(0.3, 130), (3.2, 210), (4.1, 170)])
    ]
    assert encoder.runtime() == "onnxruntime"
    fast = {
        (n, p): encoder(clips, layers=n, percentiles=p).numpy()
        for n, p in ((2, False), (3, False), (2, True))
    }
    monkeypatch.setenv("SER_HF_ENCODER_RUNTIME", "torch")
    assert encoder.runtime() == "torch"
    for (n, p), got in fast.items():
        assert np.abs(got - encoder(clips, layers=n, percentiles=p).numpy()).max() < 1e-5
    bf16 = VoiceEncoder.load(dtype=torch.bfloat16)
    monkeypatch.delenv("SER_HF_ENCODER_RUNTIME")
    assert bf16.runtime() == "torch"  # bfloat16 stays in torch, where it is native and fastest
    # a core install (no onnxruntime) runs torch and gets the same values
    import ser_hf.models.voice_encoder as voice_encoder

    monkeypatch.setattr(voice_encoder, "_onnx_installed", lambda: False)
    assert encoder.runtime() == "torch"
    assert np.abs(encoder(clips, layers=2).numpy() - fast[(2, False)]).max() < 1e-5


def test_missing_weights_name_the_fix(tmp_path):
    with pytest.raises(SERError, match="reinstall"):
        VoiceEncoder.load(tmp_path / "voice_encoder.safetensors")


@pytest.fixture(scope="module")
def encoder_model(tmp_path_factory):
    """A ``"voice-encoder-2"`` model fitted on 3 generated voices and saved."""
    from ser_hf.training.functionals import _fit, to_pretrained

    extractor = SERFunctionalsFeatureExtractor(functionals="voice-encoder-2")
    f0s = {"low": 110.0, "mid": 200.0, "high": 330.0}
    clips = [
        make_speechlike(0.9, f0=f0 * (1 + 0.02 * s), seed=100 * k + s)
        for k, f0 in enumerate(f0s.values())
        for s in range(6)
    ]
    x = extractor(clips, sampling_rate=SR)["input_features"]
    clf = _fit(x.astype(np.float64), np.repeat(np.arange(3), 6), c=0.1, seed=0)
    model, saved_extractor = to_pretrained(clf, list(f0s), "voice-encoder-2")
    folder = tmp_path_factory.mktemp("encoder_model")
    model.save_pretrained(folder)
    saved_extractor.save_pretrained(folder)
    return folder, clf, extractor


def test_a_saved_encoder_model_carries_the_weights_and_runs_without_the_package(encoder_model, tmp_path):
    import json

    import soundfile as sf
    from test_remote_code import classify_without_ser_hf
    from transformers import pipeline

    folder, clf, extractor = encoder_model
    assert (folder / "voice_encoder.safetensors").read_bytes() == WEIGHTS.read_bytes()
    assert (folder / "voice_encoder_LICENSE.txt").is_file()
    assert "_encoder_weights" not in json.loads((folder / "preprocessor_config.json").read_text())
    # a push uploads the encoder's weights and their licence with the model
    from ser_hf.hub.push import model_files

    uploaded = {p.name for p in model_files(folder)}
    assert {"voice_encoder.safetensors", "voice_encoder_LICENSE.txt", "voice_encoder.py"} <= uploaded
    # a loaded model saved again, into its own folder or another, keeps both files
    again = SERFunctionalsFeatureExtractor.from_pretrained(folder)
    again.save_pretrained(folder)
    again.save_pretrained(tmp_path / "copy")
    assert (tmp_path / "copy" / "voice_encoder.safetensors").read_bytes() == WEIGHTS.read_bytes()
    assert (tmp_path / "copy" / "voice_encoder_LICENSE.txt").is_file()
    clip = make_speechlike(1.2, f0=320.0, seed=999)
    expected = clf.predict_proba(extractor(clip, sampling_rate=SR)["input_features"].astype(np.float64))[0]
    local = {
        r["label"]: r["score"] for r in pipeline("audio-classification", model=str(folder))(clip, top_k=None)
    }
    assert max(abs(local[k] - p) for k, p in zip(["low", "mid", "high"], expected)) < 1e-4
    assert max(local, key=local.get) == "high"
    # the stock pipeline on remote code, in a process where ser_hf cannot be imported, reads the
    # folder's copy of the encoder and scores alike
    wav = tmp_path / "speech.wav"
    sf.write(wav, clip, SR, subtype="FLOAT")
    remote = classify_without_ser_hf(wav, [folder], tmp_path)[str(folder)]
    assert remote["model_module"].startswith("transformers_modules.")
    assert max(abs(local[k] - remote["scores"][k]) for k in local) <= 1e-5
