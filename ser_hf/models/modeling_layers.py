"""The building blocks of the two frame families (remote code): masks, sinusoidal positions, the conv
front end, the length-aware BiLSTM and the masked pooling.

Frames are ``(batch, time, dim)`` with ``(batch,)`` lengths or a ``(batch, time)`` bool mask (True on
real frames, real frames first). No block lets padded frames change a real frame's values, so a clip
classified alone and inside a padded batch gets the same logits (``modeling_ser.py``).

This file is copied next to a saved model (remote code), so it imports only torch, transformers
and its single-dot siblings, never ``ser_hf``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .configuration_ser import CnnBiLstmAttentionConfig, CnnTransformerConfig

_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU}


def lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """``(batch,)`` lengths -> ``(batch, max_len)`` bool mask, True on the first ``length`` frames."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence of ``x`` ``(batch, time, dim)`` within its own length.

    Padding stays at the end, so a forward RNN over the result reads each clip from its real last
    frame; applying the function twice gives ``x`` back. Pure tensor ops (ONNX-exportable, unlike
    ``pack_padded_sequence``).
    """
    steps = torch.arange(x.shape[1], device=x.device)[None, :]
    last = lengths[:, None] - 1
    index = torch.where(steps <= last, last - steps, steps)
    return x.gather(1, index[..., None].expand_as(x))


def sinusoidal_positions(length: int, dim: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """The Vaswani et al. sinusoidal encoding ``(length, dim)``.

    Computed on the fly instead of kept as a buffer: transformers builds models on the meta device
    in ``from_pretrained`` and non-persistent buffers come back uninitialised.
    """
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freqs = torch.exp(
        torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim)
    )
    table = torch.zeros(length, dim, device=device, dtype=torch.float32)
    table[:, 0::2] = torch.sin(position * freqs)
    table[:, 1::2] = torch.cos(position * freqs)[:, : dim // 2]
    return table.to(dtype)


# ----------------------------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------------------------


class ConvBlock(nn.Module):
    """One conv block: (Conv-BN-act) or residual (Conv-BN-act-Conv-BN + 1x1 shortcut, act), then
    MaxPool over (time, frequency) and Dropout2d.

    ``forward(x (batch, in_ch, time, freq), mask (batch, time) bool)`` returns
    ``(batch, out_ch, time', freq')``; padded frames are zero before and after the pooling.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        residual: bool,
        activation: str,
        batch_norm: bool,
        pool: tuple[int, int],
        dropout: float,
    ):
        super().__init__()
        pad = kernel_size // 2
        self.residual = residual
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size, padding=pad, bias=not batch_norm)
        self.norm1 = nn.BatchNorm2d(out_channels) if batch_norm else nn.Identity()
        self.act = _ACTIVATIONS[activation]()
        if residual:
            self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size, padding=pad, bias=not batch_norm)
            self.norm2 = nn.BatchNorm2d(out_channels) if batch_norm else nn.Identity()
            self.shortcut = (
                nn.Sequential(
                    nn.Conv2d(in_channels, out_channels, 1, bias=not batch_norm),
                    nn.BatchNorm2d(out_channels) if batch_norm else nn.Identity(),
                )
                if in_channels != out_channels
                else nn.Identity()
            )
        self.pool = nn.MaxPool2d(pool) if pool != (1, 1) else nn.Identity()
        self.dropout = nn.Dropout2d(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # BatchNorm shifts zeros away from zero: re-zero padded frames so the next convolution
        # sees the same zeros at the clip's end that it sees when the clip is alone
        keep = mask[:, None, :, None]
        h = self.act(self.norm1(self.conv1(x))).masked_fill(~keep, 0.0)
        if self.residual:
            h = self.norm2(self.conv2(h))
            h = self.act(h + self.shortcut(x)).masked_fill(~keep, 0.0)
        return self.dropout(self.pool(h))


class ConvFrontEnd(nn.Module):
    """The conv stack shared by both families.

    ``forward(features (batch, time, num_features), lengths (batch,))`` returns
    ``(frames (batch, time', channels * features'), lengths' (batch,))``.
    """

    def __init__(self, config: CnnBiLstmAttentionConfig | CnnTransformerConfig):
        super().__init__()
        pool = (config.pool_size if config.pool_time else 1, config.pool_size)
        self.time_pool = pool[0]
        widths = [1, *config.conv_channels]
        self.blocks = nn.ModuleList(
            ConvBlock(
                widths[i],
                widths[i + 1],
                config.conv_kernel_size,
                residual=config.residual,
                activation=config.activation,
                batch_norm=config.batch_norm,
                pool=pool,
                dropout=config.conv_dropout,
            )
            for i in range(len(config.conv_channels))
        )
        # every pooling stage must keep at least one frame
        self.min_frames = config.time_reduction

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if features.shape[1] < self.min_frames:
            # very short clips: pad inside the model; the padding is masked like any other
            features = F.pad(features, (0, 0, 0, self.min_frames - features.shape[1]))
        mask = lengths_to_mask(lengths, features.shape[1])
        x = features.masked_fill(~mask[..., None], 0.0)[:, None]  # (batch, 1, time, freq)
        for block in self.blocks:
            x = block(x, mask)
            # floor like MaxPool2d; a clip shorter than the pooling window keeps its one frame
            lengths = torch.clamp(torch.div(lengths, self.time_pool, rounding_mode="floor"), min=1)
            mask = lengths_to_mask(lengths, x.shape[2])
            x = x.masked_fill(~mask[:, None, :, None], 0.0)
        batch, channels, time, freq = x.shape
        return x.permute(0, 2, 1, 3).reshape(batch, time, channels * freq), lengths


class BiLstm(nn.Module):
    """Stacked bidirectional LSTM that respects each clip's length.

    Each layer runs a forward LSTM on the padded batch (padding comes after the real frames, so it
    cannot reach them) and a backward LSTM on the batch reversed within each clip's length.
    ``forward(x (batch, time, in_dim), lengths (batch,))`` -> ``(batch, time, 2 * hidden)``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, dropout: float):
        super().__init__()
        self.forward_layers = nn.ModuleList()
        self.backward_layers = nn.ModuleList()
        for i in range(num_layers):
            width = input_size if i == 0 else 2 * hidden_size
            self.forward_layers.append(nn.LSTM(width, hidden_size, batch_first=True))
            self.backward_layers.append(nn.LSTM(width, hidden_size, batch_first=True))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        for i, (fwd, bwd) in enumerate(zip(self.forward_layers, self.backward_layers)):
            if i > 0:
                x = self.dropout(x)
            ahead, _ = fwd(x)
            behind, _ = bwd(reverse_padded(x, lengths))
            x = torch.cat([ahead, reverse_padded(behind, lengths)], dim=-1)
        return x


class AdditiveAttentionPooling(nn.Module):
    """Masked additive attention pooling: ``score_t = v . tanh(W h_t)``, softmax over real frames.

    ``forward(h (batch, time, dim), mask (batch, time) bool)`` returns
    ``(pooled (batch, dim), weights (batch, time))``; weights are 0 on padding and sum to 1.
    """

    def __init__(self, dim: int, hidden_size: int):
        super().__init__()
        self.proj = nn.Linear(dim, hidden_size)
        self.score = nn.Linear(hidden_size, 1)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores = self.score(torch.tanh(self.proj(h))).squeeze(-1)
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1).masked_fill(~mask, 0.0)
        pooled = torch.bmm(weights[:, None, :], h.masked_fill(~mask[..., None], 0.0)).squeeze(1)
        return pooled, weights


def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of ``h`` ``(batch, time, dim)`` over real frames -> ``(pooled (batch, dim), weights
    (batch, time))`` where weights are ``1/length`` on real frames and 0 on padding."""
    weights = mask.to(h.dtype) / mask.sum(dim=1, keepdim=True).clamp(min=1).to(h.dtype)
    return torch.bmm(weights[:, None, :], h.masked_fill(~mask[..., None], 0.0)).squeeze(1), weights
