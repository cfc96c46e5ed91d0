"""ser_hf: speech emotion recognition inside the Hugging Face ecosystem.

Importing the package registers every model type of :mod:`ser_hf.models` with ``AutoConfig``,
``AutoModelForAudioClassification`` and ``AutoFeatureExtractor`` (as soon as transformers is
imported), so ``pipeline("audio-classification", model=folder)`` works on any saved ``ser_hf``
model.
Heavier parts (corpora, training, inference) are imported on first use. The tree follows the
data flow: ``data`` -> ``models`` -> ``training`` -> ``inference`` -> ``hub`` / ``bench`` / ``cli``
(see ARCHITECTURE.md).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from typing import TYPE_CHECKING, Any

from . import _compat
from .errors import (
    AudioInputError,
    AudioTooLongError,
    NoSpeechError,
    NoSuchChannelError,
    NoSuchTrackError,
    SERError,
)

_compat.install()

__version__ = "0.1.0"


# ---------------------------------------------------------------------------- registration
# The Auto classes need transformers (and torch), which take seconds to import. `import ser_hf`
# therefore registers the model types right away only when transformers is already loaded, and
# otherwise the moment it gets imported (every way of loading a model imports it), so that
# `ser-hf --help` and the light parts of the package stay fast.
_REGISTRATION = {"done": False, "pending": False}


def _models_initializing() -> bool:
    """Whether a module of ``ser_hf.models`` is being imported right now (registering then would
    import it a second time, half-initialised)."""
    return any(
        getattr(getattr(module, "__spec__", None), "_initializing", False)
        for name, module in list(sys.modules.items())
        if name.startswith("ser_hf.models")
    )


def _register() -> None:
    if _REGISTRATION["done"]:
        return
    if _models_initializing():
        _REGISTRATION["pending"] = True  # done when that module finishes (see _AfterImport)
        return
    _REGISTRATION["done"], _REGISTRATION["pending"] = True, False
    importlib.import_module("ser_hf.models.auto")


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs :func:`_register` after ``transformers`` (or a pending ``ser_hf.models`` module) loads."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if _REGISTRATION["done"] or not (name == "transformers" or name.startswith("ser_hf.models.")):
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module

        def exec_module(module: Any) -> None:
            run(module)
            if name == "transformers" or _REGISTRATION["pending"]:
                # this module is still marked as initialising until exec_module returns
                spec._initializing = False
                _register()

        loader.exec_module = exec_module
        return spec


if "transformers" in sys.modules:
    _register()
else:
    sys.meta_path.insert(0, _AfterImport())

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
    "CnnBiLstmAttentionConfig": "ser_hf.models.configuration_ser",
    "CnnTransformerConfig": "ser_hf.models.configuration_ser",
    "CompactSERConfig": "ser_hf.models.configuration_ser",
    "FunctionalsLinearConfig": "ser_hf.models.configuration_ser",
    "SERFusionConfig": "ser_hf.models.configuration_ser",
    "SERFeatureExtractor": "ser_hf.models.feature_extraction_ser",
    "SERFunctionalsFeatureExtractor": "ser_hf.models.feature_extraction_functionals",
    "SERFusionFeatureExtractor": "ser_hf.models.feature_extraction_functionals",
    "CnnBiLstmAttentionForAudioClassification": "ser_hf.models.modeling_ser",
    "CnnTransformerForAudioClassification": "ser_hf.models.modeling_ser",
    "FunctionalsLinearForAudioClassification": "ser_hf.models.modeling_ser",
    "CompactSERForAudioClassification": "ser_hf.models.modeling_compact",
    "SERBackboneConfig": "ser_hf.models.configuration_backbone",
    "SERBackboneForAudioClassification": "ser_hf.models.modeling_backbone",
    "SERFusionForAudioClassification": "ser_hf.models.modeling_fusion",
    "bundled_model_path": "ser_hf.inference.bundled",
    "plot_timeline": "ser_hf.inference.timeline",
}


if TYPE_CHECKING:  # what type checkers and IDEs see of _LAZY; at run time __getattr__ imports them
    from .data.audio import load_audio as load_audio
    from .data.corpora import load_corpora as load_corpora
    from .data.corpora import load_corpus as load_corpus
    from .data.labels import LABEL_SCHEMES as LABEL_SCHEMES
    from .inference.bundled import bundled_model_path as bundled_model_path
    from .inference.bundled import default_model_path as default_model_path
    from .inference.classifier import EmotionClassifier as EmotionClassifier
    from .inference.fusion import build_fusion as build_fusion
    from .inference.streaming import StreamingClassifier as StreamingClassifier
    from .inference.timeline import plot_timeline as plot_timeline
    from .models.configuration_backbone import SERBackboneConfig as SERBackboneConfig
    from .models.configuration_ser import CnnBiLstmAttentionConfig as CnnBiLstmAttentionConfig
    from .models.configuration_ser import CnnTransformerConfig as CnnTransformerConfig
    from .models.configuration_ser import CompactSERConfig as CompactSERConfig
    from .models.configuration_ser import FunctionalsLinearConfig as FunctionalsLinearConfig
    from .models.configuration_ser import SERFusionConfig as SERFusionConfig
    from .models.feature_extraction_functionals import (
        SERFunctionalsFeatureExtractor as SERFunctionalsFeatureExtractor,
    )
    from .models.feature_extraction_functionals import SERFusionFeatureExtractor as SERFusionFeatureExtractor
    from .models.feature_extraction_ser import SERFeatureExtractor as SERFeatureExtractor
    from .models.modeling_backbone import (
        SERBackboneForAudioClassification as SERBackboneForAudioClassification,
    )
    from .models.modeling_compact import CompactSERForAudioClassification as CompactSERForAudioClassification
    from .models.modeling_fusion import SERFusionForAudioClassification as SERFusionForAudioClassification
    from .models.modeling_ser import (
        CnnBiLstmAttentionForAudioClassification as CnnBiLstmAttentionForAudioClassification,
    )
    from .models.modeling_ser import (
        CnnTransformerForAudioClassification as CnnTransformerForAudioClassification,
    )
    from .models.modeling_ser import (
        FunctionalsLinearForAudioClassification as FunctionalsLinearForAudioClassification,
    )
    from .training.metrics import compute_ser_metrics as compute_ser_metrics
    from .training.presets import PRESETS as PRESETS
    from .training.presets import build_model as build_model


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if f"{__name__}.{name}" in _compat.MOVED:  # `from ser_hf import corpora` (old flat module)
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'ser_hf' has no attribute {name!r}")


def __dir__() -> list[str]:
    """What ``dir(ser_hf)`` and tab completion offer: the module's attributes and the lazy names."""
    return sorted({*globals(), *__all__})


__all__ = [
    "SERError",
    "AudioInputError",
    "AudioTooLongError",
    "NoSpeechError",
    "NoSuchChannelError",
    "NoSuchTrackError",
    *_LAZY,
]
