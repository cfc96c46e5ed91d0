"""ser_hf: speech emotion recognition inside the Hugging Face ecosystem.

Importing the package registers every model type of :mod:`ser_hf.models` with ``AutoConfig``,
``AutoModelForAudioClassification`` and ``AutoFeatureExtractor``, so
``pipeline("audio-classification", model=folder)`` works on any saved ``ser_hf`` model.
Heavier parts (corpora, training, inference) are imported on first use. The tree follows the
data flow: ``data`` -> ``models`` -> ``training`` -> ``inference`` -> ``hub`` / ``bench`` / ``cli``
(see ARCHITECTURE.md).
"""

from __future__ import annotations

import importlib
from typing import Any

from . import _compat
from .errors import SERError
from .models import (
    CnnBiLstmAttentionConfig,
    CnnBiLstmAttentionForAudioClassification,
    CnnTransformerConfig,
    CnnTransformerForAudioClassification,
    CompactSERConfig,
    CompactSERForAudioClassification,
    FunctionalsLinearConfig,
    FunctionalsLinearForAudioClassification,
    SERFeatureExtractor,
    SERFunctionalsFeatureExtractor,
    SERFusionConfig,
    SERFusionFeatureExtractor,
    SERFusionForAudioClassification,
)

_compat.install()

__version__ = "0.1.0"

# name -> module that defines it; imported on first access
_LAZY = {
    "load_audio": "ser_hf.data.audio",
    "PRESETS": "ser_hf.training.presets",
    "build_model": "ser_hf.training.presets",
    "build_fusion": "ser_hf.inference.fusion",
    "load_corpus": "ser_hf.data.corpora",
    "load_corpora": "ser_hf.data.corpora",
    "LABEL_SCHEMES": "ser_hf.data.labels",
    "EmotionClassifier": "ser_hf.inference.classifier",
    "StreamingClassifier": "ser_hf.inference.streaming",
    "compute_ser_metrics": "ser_hf.training.metrics",
    "default_model_path": "ser_hf.inference.bundled",
    "bundled_model_path": "ser_hf.inference.bundled",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if f"{__name__}.{name}" in _compat.MOVED:  # `from ser_hf import corpora` (old flat module)
        return importlib.import_module(f"{__name__}.{name}")
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
    "CompactSERConfig",
    "CompactSERForAudioClassification",
    *_LAZY,
]
