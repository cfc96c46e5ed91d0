"""Inference: saved folder -> ``EmotionClassifier`` (clips, batches, timelines, streams, ONNX).

``bundled`` (the models shipped in the package, by name), ``classifier``, ``timeline``,
``streaming``, ``media`` (audio tracks of videos), ``onnx_runtime`` / ``onnx_export`` /
``onnx_classifier`` and ``fusion`` (several saved models packed into one). Old
``ser_hf.inference`` names resolve lazily for one release (see ``ser_hf/_compat.py``).
"""

from .._compat import package_getattr

__getattr__ = package_getattr(__name__)
