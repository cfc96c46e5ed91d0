"""The model folder: everything a saved model needs, and nothing else (remote code).

``configuration_ser.py``, ``modeling_ser.py`` (both frame families and the functionals model),
``modeling_compact.py`` (the CPU family), ``modeling_fusion.py``, ``feature_extraction_ser.py`` (log-mel / MFCC),
``feature_extraction_functionals.py`` (functionals, fusion front end) and ``errors.py`` import only
torch, numpy, transformers and each other with single-dot imports, so ``save_pretrained`` copies
them next to the weights and the Hub can run them without ``ser_hf``. This ``__init__`` is not
copied: it registers the classes with the Auto classes when the package is imported.
"""

from __future__ import annotations

from transformers import AutoConfig, AutoFeatureExtractor, AutoModelForAudioClassification

from .configuration_ser import (
    CnnBiLstmAttentionConfig,
    CnnTransformerConfig,
    CompactSERConfig,
    FunctionalsLinearConfig,
    SERFusionConfig,
)
from .feature_extraction_functionals import SERFunctionalsFeatureExtractor, SERFusionFeatureExtractor
from .feature_extraction_ser import SERFeatureExtractor
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
)

for _config, _model, _extractor in MODEL_TYPES:
    AutoConfig.register(_config.model_type, _config, exist_ok=True)
    AutoModelForAudioClassification.register(_config, _model, exist_ok=True)
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
    "MODEL_TYPES",
]
