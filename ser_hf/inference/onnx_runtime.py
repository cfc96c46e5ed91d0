"""ONNX Runtime as a backend of :class:`~ser_hf.inference.classifier.EmotionClassifier`.

:class:`OnnxRuntimeBackend` runs an exported ``.onnx`` file (inputs ``input_features`` and
``attention_mask``, outputs ``logits`` and ``probabilities``); it needs only ``onnxruntime`` and
numpy, so the classifier can load it lazily for ``onnx_path=``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SERError, install_hint

logger = logging.getLogger(__name__)

# the export's defaults (here, not in onnx_export, so `ser-hf export --help` needs no torch)
DEFAULT_OPSET = 18
FP32_TOLERANCE = 1e-4  # max abs difference of probabilities an fp32 export may have
INPUT_NAMES = ("input_features", "attention_mask")


OUTPUT_NAMES = ("logits", "probabilities")
META_PREFIX = "ser_hf."
TURN_INPUT_KIND = "turn-encoder-log-mels"  # ser_hf.input of a turn-encoder graph (``onnx_turn``)


def make_session(
    onnx_path: str | os.PathLike, providers: Sequence[str] | None = None, threads: int | None = None
) -> Any:
    """An ``onnxruntime.InferenceSession`` (CPU unless ``providers`` say otherwise).

    ``threads`` sets intra-op threads (None: ONNX Runtime's default, one per core).
    """
    try:
        import onnxruntime as ort
    except ImportError as err:
        raise SERError(
            f"ONNX inference needs onnxruntime: {install_hint('onnx')}", source=str(onnx_path)
        ) from err
    if not Path(onnx_path).is_file():
        raise SERError("ONNX file not found; export one with 'ser-hf export'", source=str(onnx_path))
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    options.log_severity_level = 3  # warnings about unused initialisers etc. are noise for users
    try:
        return ort.InferenceSession(
            str(onnx_path), sess_options=options, providers=list(providers or ["CPUExecutionProvider"])
        )
    except Exception as err:
        raise SERError(f"not a loadable ONNX model ({err})", source=str(onnx_path)) from err


def _as_numpy(x: Any, dtype: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.ascontiguousarray(np.asarray(x, dtype=dtype))


class OnnxRuntimeBackend:
    """Logits from an exported model with ONNX Runtime; the ``LogitsBackend`` of ``inference``.

    Works on any graph with a features input (and optionally a mask input); a ``ser_hf`` export
    also brings its metadata (labels, configs, the shortest time axis it accepts). An int8 export
    (``ser_hf.quantization`` other than ``none``) runs each clip of a batch alone, cut to its own
    frames: ONNX Runtime's dynamic int8 scales activations over the whole input, so a clip's scores
    would otherwise depend on the clips beside it.
    """

    def __init__(
        self,
        onnx_path: str | os.PathLike,
        providers: Sequence[str] | None = None,
        threads: int | None = None,
    ):
        self.path = str(onnx_path)
        self.session = make_session(onnx_path, providers, threads)
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        names = [i.name for i in self.session.get_inputs()]
        self._features_name = next((n for n in names if "feature" in n), names[0])
        self._mask_name = next((n for n in names if "mask" in n), None)
        # (B, T, F) with F fixed for a ser_hf export: None for a dynamic axis
        self._features_shape = [
            d if isinstance(d, int) else None
            for d in next(i.shape for i in self.session.get_inputs() if i.name == self._features_name)
        ]
        outputs = [o.name for o in self.session.get_outputs()]
        self._logits_name = "logits" if "logits" in outputs else outputs[0]
        shape = next(o.shape for o in self.session.get_outputs() if o.name == self._logits_name)
        self.num_labels = shape[-1] if shape and isinstance(shape[-1], int) else None
        self.min_frames = int(self.metadata.get(META_PREFIX + "min_frames", 1))
        self.input_kind = self.metadata.get(META_PREFIX + "input")
        self.one_clip_per_call = self.metadata.get(META_PREFIX + "quantization", "none") != "none"

    def check_labels(self, labels: Sequence[str]) -> None:
        """Refuse class names that are not this graph's: another count, or (for a ser_hf export, whose
        metadata names its classes) the same classes in another order, which would put a model folder's
        names on the graph's scores without a word. Other names (renamed classes) are a warning."""
        meta = self.meta_json("id2label")
        graph = [str(meta[k]) for k in sorted(meta, key=int)] if meta else None
        if graph is not None and len(graph) == len(labels) and graph != list(labels):
            if sorted(graph) == sorted(labels):  # the same classes in another order
                raise SERError(
                    f"the ONNX file was exported with the classes {graph}, the model folder names "
                    f"{list(labels)}: pass the folder it was exported from, or no folder (its metadata has them)",
                    source=self.path,
                )
            logger.warning(  # renamed classes (translated labels): the folder's names, by position
                "%s: the ONNX file names its classes %s, the model folder %s; the folder's names are used, in order",
                self.path,
                graph,
                list(labels),
            )
        if self.num_labels is not None and self.num_labels != len(labels):
            raise SERError(
                f"the ONNX model gives {self.num_labels} scores but the labels name {len(labels)}; "
                "export the model again or pass its own folder",
                source=self.path,
            )

    def meta_json(self, key: str) -> Any:
        """A JSON value of the ``ser_hf.<key>`` metadata entry, or None."""
        value = self.metadata.get(META_PREFIX + key)
        return None if value is None else json.loads(value)

    def predict_logits(self, input_features: Any, attention_mask: Any, **extra: Any) -> np.ndarray:
        """``(B, T, F)`` features and ``(B, T)`` mask (numpy or torch) -> ``(B, num_labels)`` logits."""
        if extra:
            raise SERError(
                f"this ONNX graph reads frame features only, but the feature extractor also gives "
                f"{', '.join(sorted(extra))}; use the feature extractor of the exported model",
                source=self.path,
            )
        feats = _as_numpy(input_features, np.float32)
        if self.input_kind == TURN_INPUT_KIND and feats.ndim != 3:
            raise SERError(
                "this ONNX file is a turn-encoder graph (the default's export): it reads the clip's "
                "log-mels, not the model's pooled values; run it with OnnxEmotionClassifier(path) "
                "(from ser_hf.inference.onnx_classifier) or ser-hf predict --onnx",
                source=self.path,
            )
        mask = (
            np.ones(feats.shape[:2], dtype=np.int64)
            if attention_mask is None
            else _as_numpy(attention_mask, np.int64)
        )
        if self.one_clip_per_call and len(feats) > 1:
            lengths = mask.sum(1)
            return np.concatenate(
                [
                    self._run(feats[i : i + 1, : lengths[i]], mask[i : i + 1, : lengths[i]])
                    for i in range(len(feats))
                ]
            )
        return self._run(feats, mask)

    def _check_features(self, feats: np.ndarray) -> None:
        """Features of another model's extractor (an .onnx paired with the wrong model folder) are
        an error naming both shapes, not ONNX Runtime's "Invalid rank for input"."""
        expected = self._features_shape
        if len(expected) == feats.ndim and all(
            e is None or e == got for e, got in zip(expected[2:], feats.shape[2:])
        ):
            return
        shown = "(" + ", ".join("?" if e is None else str(e) for e in expected) + ")"
        raise SERError(
            f"this ONNX graph reads features of shape {shown}, but the feature extractor gives "
            f"{tuple(feats.shape)}: the .onnx file was exported from another model; load it with the "
            "model folder it was exported from (or export this model: ser-hf export)",
            source=self.path,
        )

    def _run(self, feats: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self._check_features(feats)
        if feats.shape[1] < self.min_frames:  # what the PyTorch model does inside: masked zero frames
            extra = self.min_frames - feats.shape[1]
            feats = np.pad(feats, ((0, 0), (0, extra), (0, 0)))
            mask = np.pad(mask, ((0, 0), (0, extra)))
        feeds = {self._features_name: feats}
        if self._mask_name is not None:
            feeds[self._mask_name] = mask
        return np.asarray(self.session.run([self._logits_name], feeds)[0], dtype=np.float32)
