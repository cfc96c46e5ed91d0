"""ser_hf: speech emotion recognition inside the Hugging Face ecosystem.

Importing the package registers both model families, the functionals baseline, the fusion of
saved models and their feature extractors with
``AutoConfig``, ``AutoModelForAudioClassification`` and ``AutoFeatureExtractor``, so
``pipeline("audio-classification", model=folder)`` works on any saved ``ser_hf`` model.
Heavier parts (corpora, training, inference) are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from .configuration_ser import (
    CnnBiLstmAttentionConfig,
    CnnTransformerConfig,
    FunctionalsLinearConfig,
    SERFusionConfig,
)
from .errors import SERError
from .feature_extraction_ser import (
    SERFeatureExtractor,
    SERFunctionalsFeatureExtractor,
    SERFusionFeatureExtractor,
)
from .modeling_ser import (
    CnnBiLstmAttentionForAudioClassification,
    CnnTransformerForAudioClassification,
    FunctionalsLinearForAudioClassification,
    SERFusionForAudioClassification,
)


def _register() -> None:
    from transformers import AutoConfig, AutoFeatureExtractor, AutoModelForAudioClassification

    for config_cls, model_cls, extractor_cls in (
        (CnnBiLstmAttentionConfig, CnnBiLstmAttentionForAudioClassification, SERFeatureExtractor),
        (CnnTransformerConfig, CnnTransformerForAudioClassification, SERFeatureExtractor),
        (FunctionalsLinearConfig, FunctionalsLinearForAudioClassification, SERFunctionalsFeatureExtractor),
        (SERFusionConfig, SERFusionForAudioClassification, SERFusionFeatureExtractor),
    ):
        AutoConfig.register(config_cls.model_type, config_cls, exist_ok=True)
        AutoModelForAudioClassification.register(config_cls, model_cls, exist_ok=True)
        AutoFeatureExtractor.register(config_cls, extractor_cls, exist_ok=True)


_register()

__version__ = "0.1.0"

# name -> module that defines it; imported on first access
_LAZY = {
    "load_audio": "ser_hf.audio",
    "PRESETS": "ser_hf.presets",
    "build_model": "ser_hf.presets",
    "build_fusion": "ser_hf.fusion",
    "load_corpus": "ser_hf.corpora",
    "load_corpora": "ser_hf.corpora",
    "LABEL_SCHEMES": "ser_hf.labels",
    "EmotionClassifier": "ser_hf.inference",
    "StreamingClassifier": "ser_hf.inference",
    "compute_ser_metrics": "ser_hf.metrics",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ser_hf' has no attribute {name!r}")


__all__ = [
    "SERError",
    "SERFeatureExtractor",
    "SERFunctionalsFeatureExtractor",
    "SERFusionFeatureExtractor",
    "SERFusionConfig",
    "SERFusionForAudioClassification",
    "FunctionalsLinearConfig",
    "FunctionalsLinearForAudioClassification",
    "CnnBiLstmAttentionConfig",
    "CnnTransformerConfig",
    "CnnBiLstmAttentionForAudioClassification",
    "CnnTransformerForAudioClassification",
    *_LAZY,
]
