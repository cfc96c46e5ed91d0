"""The pretrained-encoder family: any wav2vec2 / HuBERT / WavLM / data2vec-audio encoder or the
Whisper encoder, with a learned weighted sum of its layers, masked attention pooling and this
package's head and loss (:class:`~.configuration_backbone.SERBackboneConfig` has the data flow).

The encoder is built from ``config.backbone_config``; pretrained weights come in through
``ser_hf.training.backbone.build_backbone_model`` (from the Hub or a folder) or with the saved
model's own safetensors, so a saved folder loads offline, in the stock pipeline with the encoder's
own feature extractor, and as remote code.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoConfig, AutoModel
from transformers.modeling_outputs import SequenceClassifierOutput

from .configuration_backbone import SERBackboneConfig
from .errors import SERError
from .modeling_ser import AdditiveAttentionPooling, SERPreTrainedModel


def build_encoder(backbone_config: dict) -> nn.Module:
    """A randomly initialised encoder of the given config (the Whisper model's encoder alone)."""
    config = AutoConfig.for_model(**backbone_config)
    if config.model_type == "whisper":
        from transformers.models.whisper.modeling_whisper import WhisperEncoder

        return WhisperEncoder(config)
    return AutoModel.from_config(
        config, trust_remote_code=False
    )  # a known type: never a config's auto_map code


class SERBackboneForAudioClassification(SERPreTrainedModel):
    """A pretrained speech encoder + layer weighting + attention pooling + linear head.

    ``forward`` takes the encoder's own input (``input_values`` or ``input_features``, both names
    accepted) and its ``attention_mask``; it returns :class:`SequenceClassifierOutput` with
    ``logits`` and, with ``output_attentions``, the pooling weights over the encoder frames.
    """

    config_class = SERBackboneConfig
    config: SERBackboneConfig
    _no_split_modules: list[str] = []

    def __init__(self, config: SERBackboneConfig):
        super().__init__(config)
        if not config.backbone_config:
            raise SERError("SERBackboneConfig needs backbone_config (the encoder's config as a dict)")
        self.encoder = build_encoder(config.backbone_config)
        enc = self.encoder.config
        self.is_whisper = enc.model_type == "whisper"
        hidden = enc.d_model if self.is_whisper else enc.hidden_size
        layers = (enc.encoder_layers if self.is_whisper else enc.num_hidden_layers) + 1
        self.layer_weights = nn.Parameter(torch.zeros(layers))
        self.projector = nn.Linear(hidden, config.projection_size)
        self.pooling = AdditiveAttentionPooling(config.projection_size, config.attention_hidden_size)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(config.projection_size, config.num_labels)
        self.gender_classifier = None
        self.post_init()
        self.freeze(config.freeze_layers)

    @property
    def main_input_name(self) -> str:  # what the pipeline passes first
        return "input_features" if self.is_whisper else "input_values"

    def _init_weights(self, module: nn.Module) -> None:
        # only the head: the encoder keeps its pretrained (or its own) initialisation
        if module is self.projector or module is self.classifier:
            super()._init_weights(module)
        elif isinstance(module, AdditiveAttentionPooling):
            super()._init_weights(module.proj)
            super()._init_weights(module.score)

    def freeze(self, freeze_layers: int) -> None:
        """-1: freeze the whole encoder; k >= 0: the front end and the first k layers."""
        for p in self.encoder.parameters():
            p.requires_grad = freeze_layers >= 0
        if freeze_layers < 0:
            return
        front = (
            ["conv1", "conv2", "embed_positions"]
            if self.is_whisper
            else ["feature_extractor", "feature_projection"]
        )
        layers = self.encoder.layers if self.is_whisper else self.encoder.encoder.layers
        frozen = [getattr(self.encoder, name) for name in front if hasattr(self.encoder, name)]
        frozen += list(layers[:freeze_layers])
        for module in frozen:
            for p in module.parameters() if isinstance(module, nn.Module) else [module]:
                p.requires_grad = False

    def _frame_mask(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor | None, inputs: torch.Tensor
    ) -> torch.Tensor:
        batch, frames = hidden.shape[:2]
        if attention_mask is None:
            return torch.ones(batch, frames, dtype=torch.bool, device=hidden.device)
        if self.is_whisper:
            # Whisper's extractor gives a mask per log-mel frame, or per SAMPLE when called without
            # return_attention_mask (as the pipeline calls it): bring it to log-mel frames, then to
            # encoder frames (the second convolution has stride 2)
            n_in, n_mask = inputs.shape[-1], attention_mask.shape[-1]
            mel = (attention_mask.long().sum(-1) * n_in + n_mask - 1) // n_mask
            lengths = (mel + 1) // 2
            mask = torch.arange(frames, device=hidden.device)[None] < lengths[:, None]
        else:
            mask = self.encoder._get_feature_vector_attention_mask(frames, attention_mask).bool()
        return mask | ~mask.any(-1, keepdim=True)  # a clip with no real frame attends to all

    def forward(
        self,
        input_values: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        input_features: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
        output_hidden_states: bool | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput | tuple:
        inputs = input_values if input_values is not None else input_features
        if inputs is None:
            raise SERError("give the encoder's input: input_values (waveforms) or input_features (Whisper)")
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        if self.is_whisper:
            out = self.encoder(inputs, output_hidden_states=True)
        else:
            # encoders with group norm in the front end (wav2vec2-base) are meant to get zero padding
            # and no mask (transformers' documented use); the pooling below still masks the padding
            layer_norm = getattr(self.encoder.config, "feat_extract_norm", "layer") == "layer"
            wav_mask = attention_mask.long() if attention_mask is not None and layer_norm else None
            out = self.encoder(inputs, attention_mask=wav_mask, output_hidden_states=True)
        states = torch.stack(out.hidden_states, dim=0)  # (layers, B, T, H)
        weights = torch.softmax(self.layer_weights, dim=0).to(states.dtype)
        hidden = (weights[:, None, None, None] * states).sum(0)
        h = self.projector(hidden)
        mask = self._frame_mask(h, attention_mask, inputs)
        pooled, attention = self.pooling(h, mask)
        logits = self.classifier(self.dropout(pooled))
        attentions = (attention,) if output_attentions else None
        # the encoder's own hidden states
        states = tuple(out.hidden_states) if self._wants_states(output_hidden_states) else None
        return self._output(logits, labels, None, None, attentions, return_dict, states)


SERBackboneForAudioClassification.register_for_auto_class("AutoModelForAudioClassification")
