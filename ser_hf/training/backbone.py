"""Building the pretrained-encoder family for ``ser-hf train --backbone NAME_OR_PATH``.

:func:`build_backbone_model` loads the encoder's weights and its own feature extractor (a Hub id,
cached or online, or a local folder), wraps them in
:class:`~ser_hf.models.modeling_backbone.SERBackboneForAudioClassification`, and returns the
extractor inside :class:`BackboneFeatures`, which gives it the ``batch_features`` that
:class:`~ser_hf.training.trainer.SERTrainer` calls on each batch. The saved folder holds the
encoder's own ``preprocessor_config.json``, so the stock pipeline loads it as it loads the encoder.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..errors import SERError
from .loading import load_feature_extractor, load_model

logger = logging.getLogger(__name__)


def encoder_extractor_kwargs(extractor: Any) -> dict[str, Any]:
    """How to call a pretrained encoder's own extractor on a batch of clips of different lengths:
    padded (Whisper: to its 30-s window) and with the real lengths in ``attention_mask``."""
    whisper = type(extractor).__name__.startswith("Whisper")
    return {"padding": "max_length" if whisper else True, "return_attention_mask": True}


class BackboneFeatures:
    """The encoder's feature extractor with a batched ``batch_features(waves, lengths)``.

    Each batch goes through the encoder's own extractor (per-utterance normalisation for
    wav2vec2-style encoders, Whisper's log-mel), exactly as the pipeline will feed the saved model.
    """

    normalize = None  # no global statistics to fit
    max_frames = None

    def __init__(self, extractor: Any):
        self.extractor = extractor
        self.sampling_rate = int(extractor.sampling_rate)

    def batch_features(
        self, waveforms: torch.Tensor, lengths: torch.Tensor | None = None, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        device = waveforms.device
        lengths = lengths if lengths is not None else torch.full((waveforms.shape[0],), waveforms.shape[1])
        clips = [w[: int(n)].detach().float().cpu().numpy() for w, n in zip(waveforms, lengths)]
        out = self.extractor(
            clips,
            sampling_rate=self.sampling_rate,
            return_tensors="pt",
            **encoder_extractor_kwargs(self.extractor),
        )
        inputs = out["input_features"] if "input_features" in out else out["input_values"]
        return inputs.to(device), out["attention_mask"].to(device)

    def save_pretrained(self, *args: Any, **kwargs: Any) -> Any:
        return self.extractor.save_pretrained(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # everything else is the encoder's extractor's
        return getattr(self.__dict__["extractor"], name)


def check_backbone(backbone: str) -> None:
    """Refuse, before any audio is decoded, a folder that holds a ser_hf classifier (a saved or
    bundled model) rather than a speech encoder: transformers' AutoModel ends in a list of hundreds
    of config classes for it."""
    config = Path(backbone).expanduser() / "config.json"
    try:
        model_type = str(json.loads(config.read_text(encoding="utf-8")).get("model_type", ""))
    except (OSError, ValueError, AttributeError):
        return  # a Hub id, or no readable config: loading says what is wrong
    if model_type.startswith("ser_"):
        raise SERError(
            f"this folder holds a ser_hf emotion classifier ({model_type}), not a speech encoder: --backbone "
            "takes a pretrained encoder (a Hub id such as facebook/wav2vec2-base, or its folder). To fit a "
            "saved model's recipe to your own data, train with its preset (its train_args.json names it): "
            "ser-hf train --preset PRESET --audiofolder DATA",
            source=f"--backbone {backbone}",
        )


def build_backbone_model(
    backbone: str,
    id2label: Sequence[str],
    freeze_layers: int = -1,
    **config_overrides: Any,
) -> tuple[Any, BackboneFeatures]:
    """The encoder ``backbone`` (Hub id or folder) with this package's head, and its extractor."""
    from transformers import AutoModel

    from ..models.configuration_backbone import SERBackboneConfig
    from ..models.modeling_backbone import SERBackboneForAudioClassification

    # never the encoder folder's own code; safetensors only
    hint = (
        "--backbone takes a pretrained speech encoder: a Hub id (needs the Hub or its local cache) or a "
        "folder holding the encoder (config.json, model.safetensors) and its preprocessor_config.json"
    )
    encoder = load_model(backbone, auto_class=AutoModel, hint=hint)
    extractor = load_feature_extractor(backbone, hint=hint)
    if hasattr(encoder, "get_encoder") and encoder.config.model_type == "whisper":
        encoder = encoder.get_encoder()
    if type(extractor).__name__.startswith("Whisper"):
        extractor.return_attention_mask = True  # the pipeline then passes the real length
    labels = {i: str(name) for i, name in enumerate(id2label)}
    config = SERBackboneConfig(
        backbone=str(backbone),
        backbone_config=encoder.config.to_dict(),
        freeze_layers=freeze_layers,
        id2label=labels,
        label2id={name: i for i, name in labels.items()},
        **config_overrides,
    )
    model = SERBackboneForAudioClassification(config)
    missing, unexpected = model.encoder.load_state_dict(encoder.state_dict(), strict=False)
    if unexpected or [m for m in missing if "masked_spec_embed" not in m]:
        raise SERError(
            f"the encoder's weights do not fit (missing {missing[:3]}, unexpected {unexpected[:3]})",
            source=f"--backbone {backbone}",
        )
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    logger.info(
        "built %s + SER head: %s parameters, %s trainable (freeze_layers=%d)",
        backbone, f"{sum(p.numel() for p in model.parameters()):,}", f"{trainable:,}", freeze_layers,
    )  # fmt: skip
    return model, BackboneFeatures(extractor)
