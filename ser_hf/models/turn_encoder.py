"""A pretrained speech encoder trained on intonation: the ``"turn-encoder"`` functionals blocks.

The encoder is smart-turn v3.2's (Daily, BSD-2-Clause; weights from the ``pipecat-ai`` 1.14.0 wheel,
``turn_encoder.safetensors`` beside this file, made by ``scripts/convert_smart_turn.py``, the
licences in ``turn_encoder_LICENSE.txt``): the encoder of OpenAI's Whisper-tiny (MIT; trained on
680,000 hours in about 100 languages), fine-tuned on about 270,000 clips in 23 languages to tell
from intonation and pace whether a speaker has finished a turn. It ships as int8 weights with a
scale per output channel; the linear layers run them as PyTorch's dynamic int8 on every CPU (one set
of values wherever a model is fitted or run; a 3-s clip takes about 5 ms through the pipeline with two
layers, 7.5 ms with four, on one thread).

A clip (already silence-trimmed by the extractor; its last 8 s when longer) is placed at the end of
smart-turn's 8-s window, as smart-turn pads, and its Whisper log-mels (80 bands, 10-ms frames, the
waveform normalised over the padded window) go through two convolutions and the transformer layers
over the clip's own positions only (20 ms each; the padding is not attended). Pooled over those
positions: the mean and standard deviation of the residual stream after each layer (the fourth: the
final layer norm's output), 768 values per layer (``layers=2``: 1,536; ``layers=4``: 3,072).

This file is copied next to saved models, so it imports only torch, numpy and its single-dot siblings.
"""

from __future__ import annotations

import functools
import math
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import SERError
from .voice_encoder import _mel_matrix, load_weights

WEIGHTS = Path(__file__).with_name("turn_encoder.safetensors")
WIDTH, HEADS, LAYERS = 384, 6, 4
WINDOW_SAMPLES = 8 * 16000  # smart-turn's fixed window
HOP = 160  # samples per mel frame; an encoder position is two frames
N_FFT = 400
N_MELS = 80
INT8 = torch.qint8  # the package's numeric path (TurnEncoder.load)


def turn_encoder_size(layers: int = LAYERS) -> int:
    """Values per clip: the mean and sd of each of ``layers`` layers' states."""
    return 2 * WIDTH * layers


@functools.lru_cache(maxsize=1)
def _hann() -> torch.Tensor:
    return torch.hann_window(N_FFT, periodic=True, dtype=torch.float64)


def whisper_log_mel(wave: torch.Tensor) -> tuple[torch.Tensor, int]:
    """``(80, 2k)`` Whisper log-mels of the clip's own frames and k, its encoder positions.

    As smart-turn computes them on the clip left-padded with zeros to 8 s: the whole window
    normalised to zero mean and unit variance, a centred 400-point STFT (reflected at the window's
    edges), Slaney mels, log10, floored 8 below the maximum, then (x + 4) / 4. Only the last 2k
    frames, which hold the clip, are computed (equal to the whole window's within 5e-6).
    """
    x = wave.to(torch.float64)[-WINDOW_SAMPLES:]
    k = max(1, min(WINDOW_SAMPLES // (2 * HOP), math.ceil(len(x) / (2 * HOP))))
    mean = x.sum() / WINDOW_SAMPLES
    sd = torch.sqrt((x.square().sum() / WINDOW_SAMPLES - mean**2).float().double() + 1e-7)
    x = (x - mean) / sd
    start = HOP * (WINDOW_SAMPLES // HOP - 2 * k) - N_FFT // 2  # the first kept frame's first sample
    pad = WINDOW_SAMPLES - len(x) - max(start, 0)
    x = torch.cat([(-mean / sd).expand(pad), x]) if pad >= 0 else x[-pad:]
    x = nn.functional.pad(x[None], (max(-start, 0), N_FFT // 2), mode="reflect")[0]
    spec = torch.fft.rfft(x.unfold(0, N_FFT, HOP)[: 2 * k] * _hann(), dim=-1)
    spec = spec.real.square() + spec.imag.square()
    mel = torch.log10((spec @ _mel_matrix(16000, N_FFT, N_MELS).double()).clamp_min(1e-10))
    return ((torch.maximum(mel, mel.max() - 8.0) + 4.0) / 4.0).T.float(), k


def _quantize_linear(encoder: nn.Module) -> None:
    """Every linear layer as PyTorch's dynamic int8 (weights per output channel), in place. The
    eager-mode API warns that it moves to torchao; it is in every torch this package supports."""
    try:
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
    except ImportError as err:  # pragma: no cover - a future torch without eager-mode quantisation
        raise SERError(
            f"this torch ({torch.__version__}) has no dynamic int8 quantisation ({err}); "
            "the turn encoder needs torch.ao.quantization (torch 2.4 to at least 2.14)"
        ) from err
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(deprecated|torchao).*")
        quantize_dynamic(encoder, {nn.Linear: per_channel_dynamic_qconfig}, inplace=True)


class _Layer(nn.Module):
    """One pre-LN transformer layer of Whisper's encoder (the key projection has no bias)."""

    def __init__(self) -> None:
        super().__init__()
        self.attn_norm, self.mlp_norm = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
        self.qkv = nn.Linear(WIDTH, 3 * WIDTH)
        self.out = nn.Linear(WIDTH, WIDTH)
        self.fc1, self.fc2 = nn.Linear(WIDTH, 4 * WIDTH), nn.Linear(4 * WIDTH, WIDTH)

    def forward(self, x: torch.Tensor, attend: torch.Tensor | None = None) -> torch.Tensor:
        """``attend`` (B, 1, 1, n) bool: the positions each clip's attention may read (None: all)."""
        b, n, _ = x.shape
        q, k, v = (
            t.view(b, n, HEADS, -1).transpose(1, 2) for t in self.qkv(self.attn_norm(x)).split(WIDTH, -1)
        )
        x = x + self.out(
            nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attend)
            .transpose(1, 2)
            .reshape(b, n, WIDTH)
        )
        return x + self.fc2(nn.functional.gelu(self.fc1(self.mlp_norm(x))))


class TurnEncoder(nn.Module):
    """Whisper-tiny's convolutions, positions and the first ``layers`` transformer layers."""

    def __init__(self, layers: int = LAYERS) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(N_MELS, WIDTH, 3, padding=1)
        self.conv2 = nn.Conv1d(WIDTH, WIDTH, 3, stride=2, padding=1)
        self.positions = nn.Parameter(torch.zeros(WINDOW_SAMPLES // (2 * HOP), WIDTH), requires_grad=False)
        self.layers = nn.ModuleList([_Layer() for _ in range(layers)])
        self.norm = nn.LayerNorm(WIDTH)

    @classmethod
    def load(cls, path: str | Path = WEIGHTS, layers: int = LAYERS, dtype: torch.dtype = INT8) -> TurnEncoder:
        """The encoder's first ``layers`` layers from ``path`` (int8 weights dequantised), run in
        ``dtype``: ``torch.qint8`` (the package's path, on every CPU: one set of values wherever a
        model is fitted or run): the linear layers as PyTorch's dynamic int8 (weights per output
        channel, activations quantised per call), the rest in float32; ``torch.float32``: all float."""
        if dtype not in (INT8, torch.float32):
            raise SERError(f"the turn encoder runs in torch.qint8 or torch.float32, not {dtype}")
        stored = load_weights(path, "turn encoder")
        state = {}
        for name, value in stored.items():
            if name.endswith(".scale"):
                continue
            if value.dtype == torch.int8:  # per output channel (dim 0): value * scale
                scale = stored[name[: -len(".int8")] + ".scale"]
                value = value.float() * scale.view(-1, *([1] * (value.dim() - 1)))
                name = name[: -len(".int8")]
            state[name] = value
        encoder = cls(layers)
        wanted = encoder.state_dict()
        encoder.load_state_dict({k: v for k, v in state.items() if k in wanted})
        if dtype == INT8:
            _quantize_linear(encoder)
        return encoder.eval()

    def forward(self, mel: torch.Tensor, frames: torch.Tensor | None = None) -> list[torch.Tensor]:
        """``mel`` (1, 80, 2k) -> each layer's states (1, k, 384) at positions 400-k .. 399.

        A batch of clips padded on the right (zeros after each clip's frames): ``frames`` (B, 1), each
        clip's own frame count 2k; its states then sit at its first k steps, at positions 400-k ..
        399, its attention reads only those, and the steps after them hold padding."""
        x = nn.functional.gelu(self.conv2(nn.functional.gelu(self.conv1(mel)))).transpose(1, 2)
        attend = None
        if frames is None:
            x = x + self.positions[-x.shape[1] :]
        else:
            k, steps = frames // 2, torch.arange(x.shape[1], device=x.device)[None]
            x = x + self.placed(k, x.shape[1])
            attend = (steps < k)[:, None, None, :]
        states = []
        for layer in self.layers:
            x = layer(x, attend)
            states.append(x)
        if len(self.layers) == LAYERS:
            states[-1] = self.norm(x)
        return states

    def placed(self, k: torch.Tensor, steps: int) -> torch.Tensor:
        """``(B, steps, 384)``: the position vectors :meth:`forward` adds to each clip's first ``steps``
        states (a clip of k positions sits at 400-k .. 399; steps past k hold the last position)."""
        last = self.positions.shape[0] - 1
        at = last + 1 - k.view(-1, 1) + torch.arange(steps, device=k.device)
        return self.positions[at.clamp(max=last)]

    @torch.inference_mode()
    def pooled(self, waves: list[torch.Tensor], positions: bool = True) -> torch.Tensor:
        """``(len(waves), turn_encoder_size(layers))``: per layer, the mean and sd over the clip's
        positions, in the encoder's numeric path (:meth:`load`). ``positions=False``: of the states less
        the position vectors the input added (a pre-LN layer's residual stream carries them unchanged,
        and their mean over the last k of 400 positions says only how long the clip is); the final
        layer norm's output (the fourth layer's values) keeps them."""
        out = []
        for wave in waves:
            mel, k = whisper_log_mel(wave)
            feats = []
            for i, h in enumerate(self.forward(mel[None])):
                h = h[0]
                if not positions and i < LAYERS - 1:
                    h = h - self.positions[-k:]
                mean = h.mean(0)
                feats += [mean, (h - mean).square().mean(0).sqrt()]  # the sd; torch.std is slower here
            out.append(torch.cat(feats))
        return torch.stack(out)


@functools.lru_cache(maxsize=4)
def shared_turn_encoder(weights: str = str(WEIGHTS), layers: int = LAYERS) -> TurnEncoder:
    """One encoder per weights file, layer count and process, loaded on first use."""
    return TurnEncoder.load(weights, layers)


def turn_encoder_stats(
    waves: list[np.ndarray],
    layers: int = LAYERS,
    sampling_rate: int = 16000,
    weights: str | Path | None = None,
    positions: bool = True,
) -> np.ndarray:
    """The block's values of each mono clip, ``(len(waves), size)`` float64 (as the other functionals
    blocks); ``weights``: a saved model's copy of the encoder (None: the one beside this file);
    ``positions``: as :meth:`TurnEncoder.pooled`."""
    if sampling_rate != 16000:
        raise SERError(f"the turn encoder reads 16 kHz audio, got {sampling_rate} Hz; resample first")
    encoder = shared_turn_encoder(str(weights or WEIGHTS), layers)
    clips = [torch.as_tensor(np.asarray(wave, np.float32)) for wave in waves]
    return encoder.pooled(clips, positions).numpy().astype(np.float64)
