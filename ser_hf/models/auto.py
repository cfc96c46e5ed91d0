"""Registers every model type of this folder with ``AutoConfig``, ``AutoModelForAudioClassification``
and ``AutoFeatureExtractor``, so ``pipeline("audio-classification", model=folder)`` loads ``ser_hf``
folders. ``import ser_hf`` runs this as soon as transformers is imported (see ``ser_hf/__init__.py``);
it is not copied next to saved models.
"""

from __future__ import annotations

from transformers import AutoConfig, AutoFeatureExtractor, AutoModelForAudioClassification

from .configuration_backbone import SERBackboneConfig
from .configuration_ser import (
    CnnBiLstmAttentionConfig,
    CnnTransformerConfig,
    CompactSERConfig,
    FunctionalsLinearConfig,
    SERFusionConfig,
)
from .feature_extraction_functionals import SERFunctionalsFeatureExtractor, SERFusionFeatureExtractor
from .feature_extraction_ser import SERFeatureExtractor
from .modeling_backbone import SERBackboneForAudioClassification
from .modeling_compact import CompactSERForAudioClassification
from .modeling_fusion import SERFusionForAudioClassification
from .modeling_ser import (
    CnnBiLstmAttentionForAudioClassification,
    CnnTransformerForAudioClassification,
    FunctionalsLinearForAudioClassification,
)

# (config, model, feature extractor) of every model type
MODEL_TYPES = (
    (CnnBiLstmAttentionConfig, CnnBiLstmAttentionForAudioClassification, SERFeatureExtractor),
    (CnnTransformerConfig, CnnTransformerForAudioClassification, SERFeatureExtractor),
    (FunctionalsLinearConfig, FunctionalsLinearForAudioClassification, SERFunctionalsFeatureExtractor),
    (SERFusionConfig, SERFusionForAudioClassification, SERFusionFeatureExtractor),
    (CompactSERConfig, CompactSERForAudioClassification, SERFeatureExtractor),
    # the encoder's own feature extractor is saved with the model (feature_extractor_type names it)
    (SERBackboneConfig, SERBackboneForAudioClassification, None),
)

for _config, _model, _extractor in MODEL_TYPES:
    AutoConfig.register(_config.model_type, _config, exist_ok=True)
    AutoModelForAudioClassification.register(_config, _model, exist_ok=True)
    if _extractor is not None:
        AutoFeatureExtractor.register(_config, _extractor, exist_ok=True)

__all__ = [
    "CnnBiLstmAttentionConfig",
    "CnnTransformerConfig",
    "FunctionalsLinearConfig",
    "SERFusionConfig",
    "SERFeatureExtractor",
    "SERFunctionalsFeatureExtractor",
    "SERFusionFeatureExtractor",
    "CnnBiLstmAttentionForAudioClassification",
    "CnnTransformerForAudioClassification",
    "FunctionalsLinearForAudioClassification",
    "SERFusionForAudioClassification",
    "CompactSERConfig",
    "CompactSERForAudioClassification",
    "SERBackboneConfig",
    "SERBackboneForAudioClassification",
    "MODEL_TYPES",
]
