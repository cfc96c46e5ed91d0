"""Training: presets -> ``SERTrainer`` -> saved folder -> metrics; evaluation and cross-validation.

``arguments`` (the four argument dataclasses), ``clips`` (load, split, decode once), ``trainer``
(``SERTrainer`` builds model inputs on the device), ``saving`` (never a half-written folder),
``loading`` (the one way a model folder is loaded: never its own code, safetensors only),
``run`` (the linear ``train()``), ``presets``, ``metrics``, ``evaluation``, ``cross_validation``
and ``functionals`` (the classical baseline). Old ``ser_hf.training`` names resolve lazily for one
release (see ``ser_hf/_compat.py``).
"""

from .._compat import package_getattr

__getattr__ = package_getattr(__name__)
