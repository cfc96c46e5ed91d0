"""Configuration of the pretrained-encoder family (``model_type`` ``ser_backbone``)."""

from __future__ import annotations

from typing import Any

from transformers import PretrainedConfig

from .errors import SERError

# encoders whose hidden states the family can pool (the transformers model types)
SUPPORTED_BACKBONES = ("wav2vec2", "hubert", "wavlm", "data2vec-audio", "whisper")


class SERBackboneConfig(PretrainedConfig):
    r"""Configuration of :class:`~.modeling_backbone.SERBackboneForAudioClassification`: a
    pretrained speech encoder with this package's head.

    Data flow: the encoder's own input (``input_values`` of wav2vec2 / HuBERT / WavLM /
    data2vec-audio, or the log-mel ``input_features`` of the Whisper encoder) -> every hidden state
    of the encoder -> a learned softmax-weighted sum over the layers -> linear projection ->
    masked additive attention pooling over the real frames -> dropout -> linear head. The loss uses
    ``class_weights`` and ``label_smoothing`` like the other families.

    Args:
        backbone (`str`): the encoder's Hub id or folder it was built from (a record; the weights
            live in this model's own safetensors).
        backbone_config (`dict`): the encoder's full config (``config.to_dict()``), so the model is
            rebuilt from this folder alone, without the Hub.
        freeze_layers (`int`, defaults to -1): -1 freezes the whole encoder (a frozen-feature
            probe); k >= 0 freezes the convolutional front end and the first k transformer layers and
            fine-tunes the rest (0: everything but the front end).
        projection_size (`int`, defaults to 256): width after the layer-weighted sum.
        attention_hidden_size (`int`, defaults to 128): hidden width of the pooling attention.
        classifier_dropout (`float`, defaults to 0.1): dropout before the head.
        class_weights (`list[float]`, *optional*): per-class cross-entropy weights.
        label_smoothing (`float`, defaults to 0.0): cross-entropy label smoothing.
    """

    model_type = "ser_backbone"

    def __init__(
        self,
        backbone: str = "",
        backbone_config: dict[str, Any] | None = None,
        freeze_layers: int = -1,
        projection_size: int = 256,
        attention_hidden_size: int = 128,
        classifier_dropout: float = 0.1,
        class_weights: list[float] | None = None,
        label_smoothing: float = 0.0,
        **kwargs: Any,
    ):
        self.backbone = backbone
        self.backbone_config = dict(backbone_config or {})
        self.freeze_layers = int(freeze_layers)
        self.projection_size = projection_size
        self.attention_hidden_size = attention_hidden_size
        self.classifier_dropout = classifier_dropout
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]
        self.label_smoothing = label_smoothing
        self.num_aux_genders = 0
        super().__init__(**kwargs)
        if self.id2label and not self.label2id:
            self.label2id = {name: int(i) for i, name in self.id2label.items()}
        kind = self.backbone_config.get("model_type")
        if self.backbone_config and kind not in SUPPORTED_BACKBONES:
            raise SERError(
                f"encoder type {kind!r} is not supported; use one of {', '.join(SUPPORTED_BACKBONES)}",
                source=self.backbone or "backbone_config",
            )
        if self.freeze_layers < -1:
            raise SERError(f"freeze_layers={self.freeze_layers} must be -1 (all) or a layer count >= 0")


SERBackboneConfig.register_for_auto_class()
