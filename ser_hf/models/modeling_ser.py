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

The blocks live in ``modeling_layers.py`` and the shared base ``SERPreTrainedModel`` in
``modeling_base.py``; both are copied with this file, and their names are importable from here.

This file is copied next to a saved model (remote code), so it imports only torch, transformers
and its single-dot siblings, never ``ser_hf``.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from .configuration_ser import (
    CnnBiLstmAttentionConfig,
    CnnTransformerConfig,
    FunctionalsLinearConfig,
)
from .errors import SERError
from .modeling_base import SERPreTrainedModel
from .modeling_layers import (  # noqa: F401  (ConvBlock, reverse_padded: re-exported)
    _ACTIVATIONS,
    AdditiveAttentionPooling,
    BiLstm,
    ConvBlock,
    ConvFrontEnd,
    lengths_to_mask,
    masked_mean,
    reverse_padded,
    sinusoidal_positions,
)

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
