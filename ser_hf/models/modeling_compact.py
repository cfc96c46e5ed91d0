"""The compact model: 1-D depthwise-separable convolutions over log-mel frames (remote code).

Built for CPUs: a 3-s clip is about 150 frames after the stem's stride, every convolution is 1-D
over time, and BatchNorm folds into the convolutions at inference. Padding never changes a
clip's scores: padded frames are zeroed before every convolution, each stride maps lengths as
``ceil(length / stride)``, residual paths subsample (no averaging across the clip's end), and the
pooling attention is masked.

Shapes: ``input_features`` ``(batch, frames, num_features)``, ``attention_mask`` ``(batch, frames)``
(1 = real frame, real frames first). Inside, ``(batch, channels, time)``.

This file is copied next to a saved model (remote code), so it imports only torch, transformers
and its single-dot siblings, never ``ser_hf``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from .configuration_ser import CompactSERConfig
from .modeling_ser import SERPreTrainedModel, lengths_to_mask


def _strided_lengths(lengths: torch.Tensor, stride: int) -> torch.Tensor:
    """Real frames after a same-padded convolution with ``stride``: ``ceil(length / stride)``."""
    return torch.div(lengths + stride - 1, stride, rounding_mode="floor")


class SeparableBlock(nn.Module):
    """Depthwise conv (``kernel_size`` frames, optional stride) -> BN -> ReLU -> pointwise conv
    -> BN -> dropout, plus the (subsampled) input, then ReLU."""

    def __init__(self, channels: int, kernel_size: int, stride: int, dropout: float):
        super().__init__()
        self.stride = stride
        self.depthwise = nn.Conv1d(
            channels,
            channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            groups=channels,
            bias=False,
        )
        self.bn1 = nn.BatchNorm1d(channels)
        self.pointwise = nn.Conv1d(channels, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm1d(channels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.depthwise(x)))
        y = self.dropout(self.bn2(self.pointwise(y)))
        return F.relu(x[..., :: self.stride] + y)


class AttentiveStatsPooling(nn.Module):
    """``(batch, dim, time)`` + mask -> ``(batch, 2 * dim)``: attention-weighted mean and standard
    deviation over real frames; also returns the weights ``(batch, time)``."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.score = nn.Sequential(nn.Conv1d(dim, hidden, 1), nn.Tanh(), nn.Conv1d(hidden, 1, 1))

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores = self.score(h)[:, 0].masked_fill(~mask, torch.finfo(h.dtype).min)
        weights = torch.softmax(scores, dim=-1)
        mean = torch.einsum("bdt,bt->bd", h, weights)
        var = torch.einsum("bdt,bt->bd", (h - mean[..., None]) ** 2, weights)
        return torch.cat([mean, var.clamp(min=1e-6).sqrt()], dim=-1), weights


class CompactSERForAudioClassification(SERPreTrainedModel):
    """Conv stem -> depthwise-separable residual blocks -> (BiGRU) -> attentive stats pooling -> head.

    ``forward`` returns :class:`SequenceClassifierOutput` with ``logits (batch, num_labels)``; with
    ``output_attentions=True``, ``attentions[0]`` is the pooling weights ``(batch, frames')`` over
    the downsampled time axis (0 on padding, summing to 1).
    """

    config_class = CompactSERConfig
    config: CompactSERConfig

    def __init__(self, config: CompactSERConfig):
        super().__init__(config)
        c = config.channels
        self.stem = nn.Sequential(
            nn.Conv1d(
                config.num_features,
                c,
                config.kernel_size,
                stride=config.stem_stride,
                padding=config.kernel_size // 2,
                bias=False,
            ),
            nn.BatchNorm1d(c),
            nn.ReLU(),
        )
        self.blocks = nn.ModuleList(
            SeparableBlock(c, config.kernel_size, config.block_stride if i == 0 else 1, config.dropout)
            for i in range(config.num_blocks)
        )
        self.gru = (
            nn.GRU(c, config.gru_hidden_size, batch_first=True, bidirectional=True)
            if config.gru_hidden_size
            else None
        )
        dim = 2 * config.gru_hidden_size if config.gru_hidden_size else c
        self.pooling = AttentiveStatsPooling(dim, config.attention_hidden_size)
        self.classifier = nn.Sequential(
            nn.Dropout(config.classifier_dropout), nn.Linear(2 * dim, config.num_labels)
        )
        self.gender_classifier = (
            nn.Linear(2 * dim, config.num_aux_genders) if config.num_aux_genders else None
        )
        self.post_init()

    def forward(
        self,
        input_features: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
        gender_ids: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
    ) -> SequenceClassifierOutput | tuple:
        """Classify ``input_features`` ``(batch, frames, num_features)``.

        Args:
            attention_mask: ``(batch, frames)``, 1 on real frames (default: all real).
            labels: ``(batch,)`` class ids; the loss uses ``config.class_weights`` and
                ``config.label_smoothing``.
            gender_ids: ``(batch,)`` for the auxiliary gender head (-100 = unknown).
        """
        output_attentions = (
            output_attentions if output_attentions is not None else self.config.output_attentions
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        lengths = self._lengths(input_features, attention_mask)
        mask = lengths_to_mask(lengths, input_features.shape[1])
        x = input_features.masked_fill(~mask[..., None], 0.0).transpose(1, 2)
        h = self.stem(x)
        lengths = _strided_lengths(lengths, self.config.stem_stride)
        mask = lengths_to_mask(lengths, h.shape[-1])
        for block in self.blocks:
            h = block(h.masked_fill(~mask[:, None], 0.0))
            if block.stride > 1:
                lengths = _strided_lengths(lengths, block.stride)
                mask = lengths_to_mask(lengths, h.shape[-1])
        h = h.masked_fill(~mask[:, None], 0.0)
        if self.gru is not None:
            packed = nn.utils.rnn.pack_padded_sequence(
                h.transpose(1, 2), lengths.cpu(), batch_first=True, enforce_sorted=False
            )
            out, _ = self.gru(packed)
            h = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=h.shape[-1])[0]
            h = h.transpose(1, 2)
        pooled, weights = self.pooling(h, mask)
        logits = self.classifier(pooled)
        gender_logits = self.gender_classifier(pooled) if self.gender_classifier is not None else None
        attentions = (weights,) if output_attentions else None
        states = (h.transpose(1, 2),) if self._wants_states(output_hidden_states) else None  # (B, T', C)
        return self._output(logits, labels, gender_logits, gender_ids, attentions, return_dict, states)


CompactSERForAudioClassification.register_for_auto_class("AutoModelForAudioClassification")
