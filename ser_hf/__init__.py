"""ser_hf: speech emotion recognition inside the Hugging Face ecosystem.

Importing the package registers both model families and the feature extractor with
``AutoConfig``, ``AutoModelForAudioClassification`` and ``AutoFeatureExtractor``, so
``pipeline("audio-classification", model=folder)`` works on any saved ``ser_hf`` model.
Heavier parts (corpora, training, inference) are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from .configuration_ser import CnnBiLstmAttentionConfig, CnnTransformerConfig
from .errors import SERError
from .feature_extraction_ser import SERFeatureExtractor
from .modeling_ser import (
    CnnBiLstmAttentionForAudioClassification,
    CnnTransformerForAudioClassification,
)


def _register() -> None:
    from transformers import AutoConfig, AutoFeatureExtractor, AutoModelForAudioClassification

    for config_cls, model_cls in (
        (CnnBiLstmAttentionConfig, CnnBiLstmAttentionForAudioClassification),
        (CnnTransformerConfig, CnnTransformerForAudioClassification),
    ):
        AutoConfig.register(config_cls.model_type, config_cls, exist_ok=True)
        AutoModelForAudioClassification.register(config_cls, model_cls, exist_ok=True)
        AutoFeatureExtractor.register(config_cls, SERFeatureExtractor, exist_ok=True)


_register()

__version__ = "0.1.0"

# name -> module that defines it; imported on first access
_LAZY = {
    "load_audio": "ser_hf.audio",
    "PRESETS": "ser_hf.presets",
    "build_model": "ser_hf.presets",
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
    "CnnBiLstmAttentionConfig",
    "CnnTransformerConfig",
    "CnnBiLstmAttentionForAudioClassification",
    "CnnTransformerForAudioClassification",
    *_LAZY,
]
