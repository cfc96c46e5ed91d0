"""The two model families as transformers models (plus the functionals baseline and a fusion).

Family A, :class:`CnnBiLstmAttentionForAudioClassification`: conv blocks -> BiLSTM -> attention
pooling (additive, or multi-head self-attention then additive) -> Linear or MLP head.
Family B, :class:`CnnTransformerForAudioClassification`: residual conv blocks -> Linear to
``d_model`` -> sinusoidal positions -> Transformer encoder -> masked mean -> head.

Shapes: ``input_features`` ``(batch, frames, num_features)`` and ``attention_mask``
``(batch, frames)`` (1 = real frame, real frames first). The CNN sees ``(batch, 1, frames,
num_features)``: time is the height axis, features the width axis.

Padding never changes a clip's scores: padded frames are zeroed before the first convolution and
after every conv stage, the mask is downsampled with the same floor arithmetic as the max-pooling,
the backward LSTM reads each clip reversed within its own length, and every attention and
pooling step is masked. A clip classified alone and inside a padded batch gets the same logits.

This file is copied next to a saved model (remote code), so it imports only torch, transformers
and its single-dot siblings, never ``ser_hf``.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from .configuration_ser import (
    CnnBiLstmAttentionConfig,
    CnnTransformerConfig,
    FunctionalsLinearConfig,
)
from .errors import SERError

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


# ----------------------------------------------------------------------------------------------
# Pretrained base: initialisation and the loss shared by both families
# ----------------------------------------------------------------------------------------------


class SERPreTrainedModel(PreTrainedModel):
    """Weight initialisation (Kaiming for convolutions, Xavier for linear layers, orthogonal
    recurrent weights) and the loss, shared by every frame family."""

    base_model_prefix = "ser"
    main_input_name = "input_features"
    # clips per forward pass that run fastest on a CPU (None: any); the CNN front end of both frame
    # families ran a batch of 16 at half the speed of 16 single clips (oneDNN, one or two threads)
    cpu_batch_size: int | None = None
    input_modalities = ("audio",)
    # Trainer would pass num_items_in_batch and skip gradient-accumulation scaling
    accepts_loss_kwargs = False
    supports_gradient_checkpointing = False

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        # torch.nn.init is guarded by transformers during from_pretrained: loaded tensors are kept
        if isinstance(module, (nn.Conv1d, nn.Conv2d)):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
            if getattr(module, "running_mean", None) is not None:
                nn.init.zeros_(module.running_mean)
                nn.init.ones_(module.running_var)
                nn.init.zeros_(module.num_batches_tracked)
        elif isinstance(module, (nn.LSTM, nn.GRU)):
            for name, param in module.named_parameters():
                if name.startswith("weight_ih"):
                    nn.init.xavier_uniform_(param)
                elif name.startswith("weight_hh"):
                    nn.init.orthogonal_(param)
                else:
                    nn.init.zeros_(param)
        elif isinstance(module, nn.MultiheadAttention):
            nn.init.xavier_uniform_(module.in_proj_weight)
            nn.init.zeros_(module.in_proj_bias)

    def _output(
        self,
        logits: torch.Tensor,
        labels: torch.Tensor | None,
        gender_logits: torch.Tensor | None,
        gender_ids: torch.Tensor | None,
        attentions: tuple[torch.Tensor, ...] | None,
        return_dict: bool,
        hidden_states: tuple[torch.Tensor, ...] | None = None,
    ) -> SequenceClassifierOutput | tuple:
        """The tail every family shares: the loss on the raw logits, then the output logits divided
        by ``config.calibration_temperature`` (temperature scaling fitted on validation speakers after
        training, ``ser_hf.training.calibration``; absent or 1.0 = uncalibrated). ``hidden_states``
        (``output_hidden_states=True``): what each family's layers hand on, as its docstring says."""
        loss = self._loss(logits, labels, gender_logits, gender_ids)
        temperature = float(getattr(self.config, "calibration_temperature", 1.0) or 1.0)
        if temperature != 1.0:
            logits = logits / temperature
        if not return_dict:
            return tuple(v for v in (loss, logits, hidden_states, attentions) if v is not None)
        return SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=hidden_states, attentions=attentions
        )

    def _wants_states(self, output_hidden_states: bool | None) -> bool:
        return bool(
            self.config.output_hidden_states if output_hidden_states is None else output_hidden_states
        )

    def _loss(
        self,
        logits: torch.Tensor,
        labels: torch.Tensor | None,
        gender_logits: torch.Tensor | None,
        gender_ids: torch.Tensor | None,
    ) -> torch.Tensor | None:
        """Cross-entropy with ``config.class_weights`` and ``config.label_smoothing`` (plus the
        weighted auxiliary gender loss when the head exists and ``gender_ids`` are given)."""
        if labels is None:
            return None
        weight, weights = None, self.config.class_weights
        if weights is not None and len(weights) != logits.shape[-1]:  # another label set's: a fine-tune
            warnings.warn(
                f"config.class_weights: {len(weights)} values, {logits.shape[-1]} labels; ignored",
                stacklevel=2,
            )
        elif weights is not None:
            weight = torch.tensor(weights, dtype=logits.dtype, device=logits.device)
        loss = F.cross_entropy(
            logits, labels.long(), weight=weight, label_smoothing=float(self.config.label_smoothing)
        )
        if gender_logits is not None and gender_ids is not None:
            # -100 marks clips with unknown gender
            gender_ids = gender_ids.long()
            if bool((gender_ids != -100).any()):
                aux = F.cross_entropy(gender_logits, gender_ids, ignore_index=-100)
                loss = loss + self.config.aux_gender_loss_weight * aux
        return loss

    def _lengths(self, input_features: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        if input_features.dim() != 3 or input_features.shape[-1] != self.config.num_features:
            raise SERError(
                f"input_features has shape {tuple(input_features.shape)}; expected (batch, frames, "
                f"{self.config.num_features}) — is the feature extractor the one saved with this model?"
            )
        if attention_mask is None:
            return torch.full(
                (input_features.shape[0],), input_features.shape[1], device=input_features.device
            )
        return attention_mask.long().sum(dim=-1).clamp(min=1)


# ----------------------------------------------------------------------------------------------
# Family A
# ----------------------------------------------------------------------------------------------


class CnnBiLstmAttentionForAudioClassification(SERPreTrainedModel):
    """CNN -> BiLSTM -> attention pooling -> classifier.

    ``forward`` returns :class:`SequenceClassifierOutput` with ``logits (batch, num_labels)``; with
    ``output_attentions=True``, ``attentions[0]`` is the pooling weights ``(batch, frames')`` over the
    downsampled time axis (0 on padding, summing to 1).
    """

    config_class = CnnBiLstmAttentionConfig
    cpu_batch_size = 1
    config: CnnBiLstmAttentionConfig

    def __init__(self, config: CnnBiLstmAttentionConfig):
        super().__init__(config)
        self.cnn = ConvFrontEnd(config)
        self.lstm = BiLstm(
            config.conv_output_size, config.lstm_hidden_size, config.lstm_layers, config.lstm_dropout
        )
        width = 2 * config.lstm_hidden_size
        if config.attention == "multihead":
            self.self_attention = nn.MultiheadAttention(
                width, config.attention_heads, dropout=config.attention_dropout, batch_first=True
            )
            self.attention_norm = nn.LayerNorm(width)
        self.pooling = AdditiveAttentionPooling(width, config.attention_hidden_size)
        if config.classifier == "mlp":
            self.classifier = nn.Sequential(
                nn.Linear(width, config.classifier_hidden_size),
                nn.BatchNorm1d(config.classifier_hidden_size),
                _ACTIVATIONS[config.activation](),
                nn.Dropout(config.classifier_dropout),
                nn.Linear(config.classifier_hidden_size, config.num_labels),
            )
        else:
            self.classifier = nn.Sequential(
                nn.Dropout(config.classifier_dropout), nn.Linear(width, config.num_labels)
            )
        self.gender_classifier = (
            nn.Linear(width, config.num_aux_genders) if config.num_aux_genders > 0 else None
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

        ``attention_mask`` ``(batch, frames)`` marks real frames; ``labels`` ``(batch,)`` adds the
        loss; ``gender_ids`` ``(batch,)`` (-100 = unknown) adds the auxiliary gender loss when the
        config has a gender head; ``output_hidden_states=True`` returns the CNN's and the LSTM's frames.
        """
        output_attentions = (
            output_attentions if output_attentions is not None else self.config.output_attentions
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        lengths = self._lengths(input_features, attention_mask)
        frames, lengths = self.cnn(input_features, lengths)
        mask = lengths_to_mask(lengths, frames.shape[1])
        h = self.lstm(frames, lengths).masked_fill(~mask[..., None], 0.0)
        if self.config.attention == "multihead":
            attended, _ = self.self_attention(h, h, h, key_padding_mask=~mask, need_weights=False)
            h = self.attention_norm(h + attended).masked_fill(~mask[..., None], 0.0)
        pooled, weights = self.pooling(h, mask)
        logits = self.classifier(pooled)
        gender_logits = self.gender_classifier(pooled) if self.gender_classifier is not None else None
        attentions = (weights,) if output_attentions else None
        states = (frames, h) if self._wants_states(output_hidden_states) else None  # CNN, then LSTM
        return self._output(logits, labels, gender_logits, gender_ids, attentions, return_dict, states)


# ----------------------------------------------------------------------------------------------
# Family B
# ----------------------------------------------------------------------------------------------


class CnnTransformerForAudioClassification(SERPreTrainedModel):
    """Residual CNN -> Linear to ``d_model`` -> sinusoidal positions -> Transformer -> masked mean
    -> classifier.

    With ``output_attentions=True``, ``attentions[0]`` ``(batch, frames')`` is the last layer's
    self-attention averaged over heads and over real query frames: how much attention each
    downsampled frame receives (0 on padding, summing to 1). With ``use_transformer=False`` it is
    the uniform mean-pooling weights. ``output_hidden_states=True``: the first layer's input, then
    each layer's output ``(batch, frames', d_model)``, as transformers' encoders return them.
    """

    config_class = CnnTransformerConfig
    cpu_batch_size = 1
    config: CnnTransformerConfig

    def __init__(self, config: CnnTransformerConfig):
        super().__init__(config)
        self.cnn = ConvFrontEnd(config)
        self.projection = nn.Linear(config.conv_output_size, config.d_model)
        self.input_dropout = nn.Dropout(config.dropout)
        if config.use_transformer:
            layer = nn.TransformerEncoderLayer(
                config.d_model,
                config.nhead,
                dim_feedforward=config.dim_feedforward,
                dropout=config.dropout,
                batch_first=True,
            )
            self.encoder = nn.TransformerEncoder(layer, config.num_layers, enable_nested_tensor=False)
        self.classifier = nn.Sequential(
            nn.LayerNorm(config.d_model),
            nn.Dropout(config.classifier_dropout),
            nn.Linear(config.d_model, config.num_labels),
        )
        self.gender_classifier = (
            nn.Linear(config.d_model, config.num_aux_genders) if config.num_aux_genders > 0 else None
        )
        self.post_init()

    def _last_layer_attention(self, layer: nn.TransformerEncoderLayer, h: torch.Tensor, mask: torch.Tensor):
        """Attention received per key frame ``(batch, time)`` in ``layer`` for its input ``h``."""
        query = layer.norm1(h) if layer.norm_first else h
        _, weights = layer.self_attn(
            query, query, query, key_padding_mask=~mask, need_weights=True, average_attn_weights=True
        )  # (batch, query, key)
        weights = weights.masked_fill(~mask[..., None], 0.0)
        return weights.sum(dim=1) / mask.sum(dim=1, keepdim=True).to(weights.dtype)

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
        """Classify ``input_features`` ``(batch, frames, num_features)``; arguments as in
        :meth:`CnnBiLstmAttentionForAudioClassification.forward`."""
        output_attentions = (
            output_attentions if output_attentions is not None else self.config.output_attentions
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        lengths = self._lengths(input_features, attention_mask)
        frames, lengths = self.cnn(input_features, lengths)
        time = frames.shape[1]
        if time > self.config.max_positions:
            raise SERError(
                f"the input has {time} frames after downsampling, more than max_positions="
                f"{self.config.max_positions}; split long audio into shorter windows"
            )
        mask = lengths_to_mask(lengths, time)
        h = self.projection(frames)
        weights = None
        if self.config.use_transformer:
            h = self.input_dropout(h + sinusoidal_positions(time, h.shape[-1], h.device, h.dtype)[None])
            states = [h]  # the input of the first layer, then each layer's output
            layers = self.encoder.layers
            for i, layer in enumerate(layers):
                if output_attentions and i == len(layers) - 1:
                    weights = self._last_layer_attention(layer, h, mask)
                h = layer(h, src_key_padding_mask=~mask)
                states.append(h)
        else:
            h = self.input_dropout(h)
            states = [h]
        # masked_fill, not a product: fused attention kernels may leave NaN on padded rows
        pooled, mean_weights = masked_mean(h.masked_fill(~mask[..., None], 0.0), mask)
        if weights is None:
            weights = mean_weights
        logits = self.classifier(pooled)
        gender_logits = self.gender_classifier(pooled) if self.gender_classifier is not None else None
        attentions = (weights,) if output_attentions else None
        states = tuple(states) if self._wants_states(output_hidden_states) else None
        return self._output(logits, labels, gender_logits, gender_ids, attentions, return_dict, states)


# ----------------------------------------------------------------------------------------------
# The classical baseline: a linear layer over utterance functionals
# ----------------------------------------------------------------------------------------------


class FunctionalsLinearForAudioClassification(SERPreTrainedModel):
    """``(input_features - feature_mean) / feature_scale`` -> Linear -> logits.

    ``input_features`` is one functionals vector per clip, ``(batch, num_features)``, from
    ``SERFunctionalsFeatureExtractor``. With weights copied from a scikit-learn multinomial
    ``LogisticRegression`` behind a ``StandardScaler`` (``ser_hf.training.functionals.to_pretrained``), the
    softmax of the logits equals its ``predict_proba``. There is no frame axis, so no attentions.

    With ``config.gender_labels`` it is a gender-dependent model: ``gender_gate`` gives each clip a
    probability per gender, and ``gender_classifier`` holds one weight matrix per gender, so the
    logits are ``classifier(x) + sum_g p_g * W_g x``. The gate standardises with the TRAINING
    statistics (``gate_mean`` / ``gate_scale``), which test-time adaptation leaves alone: adapting
    to one speaker re-centres x on that speaker, and would otherwise remove what tells the gender.

    With ``config.speaker_head`` it also holds ``speaker_classifier``, a linear layer fitted on
    vectors standardised per training speaker. Test-time adaptation (``ser_hf.adapt_model``) writes
    the adapted speaker's mean and scale into ``speaker_mean`` / ``speaker_scale`` and sets
    ``speaker_adapted``; from then on ``speaker_classifier((x - speaker_mean) / speaker_scale)``
    gives the logits. Unadapted (``speaker_adapted`` 0, as saved after training) the logits are the
    first layer's, exactly as without the head.

    With ``config.input_clip`` the standardised values are clipped to ``[-input_clip, input_clip]``
    before the first layer (as they were in training); the speaker head reads them unclipped.

    With ``config.rbf_components`` the first layer reads ``exp(-rbf_gamma * |x - l|^2)`` for each of
    the ``rbf_landmarks`` ``l`` (standardised training vectors) instead of ``x``: the softmax then
    equals the ``predict_proba`` of a scikit-learn ``Nystroem -> StandardScaler ->
    LogisticRegression``, whose normalisation and second scaler are folded into ``classifier``.
    """

    config_class = FunctionalsLinearConfig
    config: FunctionalsLinearConfig

    def __init__(self, config: FunctionalsLinearConfig):
        super().__init__(config)
        # persistent buffers: saved in safetensors, so from_pretrained's meta device restores them
        self.register_buffer("feature_mean", torch.zeros(config.num_features))
        self.register_buffer("feature_scale", torch.ones(config.num_features))
        width = config.rbf_components or config.num_features
        if config.rbf_components:
            self.register_buffer("rbf_landmarks", torch.zeros(config.rbf_components, config.num_features))
        self.classifier = nn.Linear(width, config.num_labels)
        genders = len(config.gender_labels or ())
        if genders:
            self.register_buffer("gate_mean", torch.zeros(config.num_features))
            self.register_buffer("gate_scale", torch.ones(config.num_features))
        self.gender_gate = nn.Linear(config.num_features, genders) if genders else None
        self.gender_classifier = (
            nn.Linear(config.num_features, genders * config.num_labels, bias=False) if genders else None
        )
        self.speaker_classifier = None
        if config.speaker_head:
            self.register_buffer("speaker_mean", torch.zeros(config.num_features))
            self.register_buffer("speaker_scale", torch.ones(config.num_features))
            self.register_buffer("speaker_adapted", torch.zeros(()))
            self.speaker_classifier = nn.Linear(config.num_features, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_features: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
        output_hidden_states: bool | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput | tuple:
        """Classify functionals vectors ``(batch, num_features)``; ``attention_mask`` is ignored.
        ``output_hidden_states=True``: ``hidden_states[0]`` is the standardised vector the first
        layer reads ``(batch, num_features)``, a clip embedding."""
        if input_features.dim() != 2 or input_features.shape[-1] != self.config.num_features:
            raise SERError(
                f"input_features has shape {tuple(input_features.shape)}; expected (batch, "
                f"{self.config.num_features}) functionals — is the feature extractor the one saved "
                "with this model?"
            )
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        raw = input_features.to(self.feature_mean.dtype)
        if raw.dtype == torch.float16 and not (
            torch.isfinite(raw).all() and torch.isfinite(self.feature_scale).all()
        ):
            raise SERError(  # openSMILE's values pass 65,504: every score would be NaN
                "this model's functionals do not fit in float16 (some are infinite there); load it in "
                "float32 or bfloat16 (dtype=torch.bfloat16)"
            )
        x = (raw - self.feature_mean) / self.feature_scale
        if self.config.input_clip is not None:
            x = x.clamp(-self.config.input_clip, self.config.input_clip)
        if self.config.rbf_components:  # |x - l|^2 = |x|^2 - 2 x.l + |l|^2, one matrix product
            landmarks = self.rbf_landmarks
            sq = (x * x).sum(-1, keepdim=True) - 2 * x @ landmarks.T + (landmarks * landmarks).sum(-1)
            logits = self.classifier(torch.exp(-self.config.rbf_gamma * sq.clamp(min=0)))
        else:
            logits = self.classifier(x)
        if self.gender_gate is not None:  # (batch, genders, 1) * (batch, genders, labels), summed
            gate = self.gender_gate((raw - self.gate_mean) / self.gate_scale)
            gate = torch.softmax(gate, dim=-1).unsqueeze(-1)
            per_gender = self.gender_classifier(x).view(x.shape[0], gate.shape[1], -1)
            logits = logits + (gate * per_gender).sum(1)
        if self.speaker_classifier is not None:  # a select, not an if: traced and exported as one graph
            adapted = self.speaker_classifier((raw - self.speaker_mean) / self.speaker_scale)
            logits = torch.where(self.speaker_adapted > 0, adapted, logits)
        states = (x,) if self._wants_states(output_hidden_states) else None
        return self._output(logits, labels, None, None, None, return_dict, states)


CnnBiLstmAttentionForAudioClassification.register_for_auto_class("AutoModelForAudioClassification")
CnnTransformerForAudioClassification.register_for_auto_class("AutoModelForAudioClassification")
FunctionalsLinearForAudioClassification.register_for_auto_class("AutoModelForAudioClassification")
