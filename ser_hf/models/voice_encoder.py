"""A pretrained speaker encoder's pooled states: the ``"voice-encoder"`` functionals block.

The encoder is Resemblyzer's voice encoder (Resemble AI, Apache-2.0; weights from its 0.1.4 wheel,
``voice_encoder.safetensors`` beside this file, its licence in ``voice_encoder_LICENSE.txt``): a GE2E
speaker-verification model, three LSTM layers of 256 units on 40-band mel power frames (25-ms
windows every 10 ms), trained on thousands of speakers (LibriSpeech, VoxCeleb 1 and 2). It was
trained to tell voices apart; its layers also carry how a voice is being used, and emotion is
measured to be readable from them across corpora (``benchmarks/RESULTS.md``).

A clip (already silence-trimmed by the extractor) is cut into 1.6-s windows (160 frames, the length
the encoder was trained on), each run from a zero state. Pooled over every frame of every window: each layer's mean and standard
deviation, then the windows' embeddings averaged and re-normed as Resemblyzer's
``embed_utterance`` does: 3 x 512 + 256 = 1,792 values (``layers=2``: the first two layers' 1,024).
``percentiles=True`` appends each pooled layer's 10th and 90th percentiles over the same frames
(``layers=2``: 1,024 more; session 19).

This file is copied next to saved models, so it imports only torch, numpy and its single-dot siblings.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import torch

from .errors import SERError

WEIGHTS = Path(__file__).with_name("voice_encoder.safetensors")
WINDOW = 160  # frames per window (1.6 s)
HIDDEN = 256
N_MELS = 40
_QUANTILES = torch.tensor([0.1, 0.9], dtype=torch.float64)


def voice_encoder_size(layers: int = 3, percentiles: bool = False) -> int:
    """Values per clip: mean and sd of each of ``layers`` layers, plus the embedding with all 3,
    plus each layer's 10th and 90th percentiles with ``percentiles``."""
    return (4 if percentiles else 2) * HIDDEN * layers + (HIDDEN if layers == 3 else 0)


@functools.lru_cache(maxsize=1)
def _mel_matrix(sampling_rate: int = 16000, n_fft: int = 400) -> torch.Tensor:
    """librosa's default mel filterbank (Slaney's mel scale and area norm), ``(n_fft // 2 + 1, 40)``:
    what Resemblyzer's ``librosa.feature.melspectrogram`` applies (written out: no librosa at run time)."""

    def mel(f: np.ndarray) -> np.ndarray:  # linear below 1 kHz, logarithmic above
        f = np.asarray(f, dtype=np.float64)
        return np.where(
            f < 1000.0, 3.0 * f / 200.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
        )

    def hz(m: np.ndarray) -> np.ndarray:
        return np.where(m < 15.0, 200.0 * m / 3.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)))

    edges = hz(np.linspace(mel(0.0), mel(sampling_rate / 2), N_MELS + 2))
    freqs = np.linspace(0.0, sampling_rate / 2, n_fft // 2 + 1)
    ramps = edges[:, None] - freqs[None, :]
    gaps = np.diff(edges)
    lower, upper = -ramps[:-2] / gaps[:-1, None], ramps[2:] / gaps[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper)) * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return torch.from_numpy(weights.T.astype(np.float32))


def mel_power(wave: torch.Tensor, sampling_rate: int = 16000) -> torch.Tensor:
    """Resemblyzer's input for one clip: volume raised to -30 dBFS when quieter (never lowered),
    then 40-band mel power frames, ``(frames, 40)``."""
    x = wave.to(torch.float32)
    change = -30.0 - 10.0 * math.log10(float((x.double() ** 2).mean()) + 1e-12)
    if change > 0:
        x = x * 10.0 ** (change / 20.0)
    n_fft, hop = sampling_rate * 25 // 1000, sampling_rate // 100
    spec = torch.stft(
        x, n_fft, hop, window=_window(n_fft), center=True, pad_mode="constant", return_complex=True
    )
    return (spec.real**2 + spec.imag**2).T @ _mel_matrix(sampling_rate, n_fft)


@functools.lru_cache(maxsize=2)
def _window(n_fft: int) -> torch.Tensor:
    return torch.hann_window(n_fft)


def fast_dtype() -> torch.dtype:
    """bfloat16 where the CPU computes it natively (AVX512-BF16 / AMX: the LSTM runs about 3x faster,
    its states within about 1e-3 of float32's), else float32; ``SER_HF_ENCODER_DTYPE=float32``
    forces float32."""
    import os

    if os.environ.get("SER_HF_ENCODER_DTYPE", "").lower() in ("float32", "fp32"):
        return torch.float32
    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - builds without oneDNN
        native = False
    return torch.bfloat16 if native else torch.float32


class VoiceEncoder(torch.nn.Module):
    """The three LSTM layers (each its own module, so every layer's outputs can be pooled) and the
    embedding projection of Resemblyzer's ``VoiceEncoder``."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = torch.nn.ModuleList(
            [torch.nn.LSTM(N_MELS if i == 0 else HIDDEN, HIDDEN, 1, batch_first=True) for i in range(3)]
        )
        self.linear = torch.nn.Linear(HIDDEN, HIDDEN)

    @classmethod
    def load(cls, path: str | Path = WEIGHTS, dtype: torch.dtype | None = None) -> VoiceEncoder:
        """The encoder from ``path``, its LSTMs in ``dtype`` (None: :func:`fast_dtype`)."""
        from safetensors.torch import load_file

        path = Path(path)
        if not path.is_file():
            raise SERError(
                f"the voice encoder's weights are missing ({path}); they ship inside the ser-hf package: "
                "reinstall it (pip install --force-reinstall ser-hf), or load this model with ser_hf installed",
                source=str(path),
            )
        encoder = cls()
        encoder.load_state_dict(load_file(str(path)))
        encoder.layers.to(dtype or fast_dtype())
        return encoder.eval()

    @torch.inference_mode()
    def forward(
        self,
        waves: list[torch.Tensor],
        layers: int = 3,
        sampling_rate: int = 16000,
        percentiles: bool = False,
    ) -> torch.Tensor:
        """Pooled states of each clip, ``(len(waves), voice_encoder_size(layers, percentiles))``. One
        window at a time: on a CPU a batch of one steps through an LSTM faster than a padded batch."""
        dtype = self.layers[0].weight_hh_l0.dtype
        out = []
        for wave in waves:
            mel = mel_power(wave, sampling_rate)
            sums = torch.zeros(2 * layers, HIDDEN, dtype=torch.float64)
            embedding = torch.zeros(HIDDEN, dtype=torch.float64)
            kept: list[list[torch.Tensor]] = [[] for _ in range(layers)]
            for start in range(0, max(len(mel), 1), WINDOW):
                h = mel[None, start : start + WINDOW].to(dtype)
                for j, lstm in enumerate(self.layers[:layers]):
                    h, _ = lstm(h)
                    hd = h[0].to(torch.float64)
                    sums[2 * j] += hd.sum(0)
                    sums[2 * j + 1] += (hd * hd).sum(0)
                    if percentiles:
                        kept[j].append(hd)
                if layers == 3:
                    e = torch.relu(self.linear(h[0, -1].float())).to(torch.float64)
                    embedding += e / e.norm().clamp_min(1e-8)
            frames = max(len(mel), 1)
            feats = []
            for j in range(layers):
                mean = sums[2 * j] / frames
                feats += [mean, (sums[2 * j + 1] / frames - mean * mean).clamp_min(0).sqrt()]
            if layers == 3:
                feats.append(embedding / embedding.norm().clamp_min(1e-8))
            for j in range(layers if percentiles else 0):
                states = torch.cat(kept[j]) if kept[j] else torch.zeros(1, HIDDEN, dtype=torch.float64)
                feats += list(torch.quantile(states, _QUANTILES, dim=0))
            out.append(torch.cat(feats))
        return torch.stack(out).to(torch.float32)


@functools.lru_cache(maxsize=2)
def shared_encoder(weights: str = str(WEIGHTS)) -> VoiceEncoder:
    """One encoder per weights file and process (5.7 MB), loaded on first use."""
    return VoiceEncoder.load(weights)


def voice_encoder_stats(
    wave: np.ndarray,
    layers: int = 3,
    sampling_rate: int = 16000,
    weights: str | Path | None = None,
    percentiles: bool = False,
) -> np.ndarray:
    """The block's values for one mono clip (float64, as the other functionals blocks); ``weights``:
    a saved model's copy of the encoder (None: the one beside this file)."""
    if sampling_rate != 16000:
        raise SERError(f"the voice encoder reads 16 kHz audio, got {sampling_rate} Hz; resample first")
    encoder = shared_encoder(str(weights or WEIGHTS))
    clip = torch.as_tensor(np.asarray(wave, np.float32))
    return encoder([clip], layers, percentiles=percentiles)[0].numpy().astype(np.float64)
