"""``OnnxEmotionClassifier``: :class:`~ser_hf.inference.classifier.EmotionClassifier` with ONNX
Runtime computing the network, and :func:`load_classifier`, the classifier ``ser-hf predict`` uses.

Features still come from :class:`SERFeatureExtractor` (torch), so ``classify``,
``classify_batch``, ``timeline`` and ``ser-hf predict --onnx`` behave the same.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from ..errors import SERError
from ..training.loading import load_config, load_feature_extractor
from .bundled import bundled_model_path, resolve_model_name
from .classifier import EmotionClassifier
from .levels import DEFAULT_SAMPLING_RATE
from .onnx_runtime import TURN_INPUT_KIND, OnnxRuntimeBackend
from .onnx_turn import TurnEncoderInputs, turn_layers

logger = logging.getLogger(__name__)

INPUT_NAMES = ("input_features", "attention_mask")


class OnnxEmotionClassifier(EmotionClassifier):
    """:class:`~ser_hf.inference.classifier.EmotionClassifier` with ONNX Runtime computing the network.

    Two ways to call it::

        OnnxEmotionClassifier("model.onnx")                       # features + labels from the file
        OnnxEmotionClassifier("model.onnx", "model_dir")          # feature extractor from a folder
        OnnxEmotionClassifier("model_dir", onnx_path="model.onnx")  # as ``ser-hf predict --onnx``

    Features are computed by the ``SERFeatureExtractor`` (torch, CPU; for a turn-encoder graph, such
    as the default's, :class:`~ser_hf.inference.onnx_turn.TurnEncoderInputs`: trimmed clips' log-mels);
    the feature extractor is, in this order: ``feature_extractor``, the model folder's, the one
    stored in the ONNX metadata, the bundled CNN-Transformer's. Labels come from the model folder's
    ``config.json`` when a folder is given, else from the ONNX metadata (else the bundled
    CNN-Transformer).

    Args:
        model: the ``.onnx`` file (when ``onnx_path`` is None) or a model folder / Hub id.
        feature_extractor: a ``SERFeatureExtractor`` or a folder holding one.
        device: ``"cuda"`` selects ONNX Runtime's CUDA provider (when ``providers`` is None).
        trust_remote_code: passed to ``from_pretrained`` when a folder or Hub id is loaded.
        onnx_path: the ``.onnx`` file when ``model`` names the model folder.
        backend: any ``predict_logits`` backend (testing).
        providers: ONNX Runtime execution providers (default CPU).
        threads: intra-op threads of the ONNX Runtime session (default: all cores).
    """

    def __init__(
        self,
        model: Any = None,
        feature_extractor: Any = None,
        device: str | None = None,
        trust_remote_code: bool = False,
        onnx_path: str | os.PathLike | None = None,
        backend: Any = None,
        *,
        providers: Sequence[str] | None = None,
        threads: int | None = None,
    ):
        from transformers import PretrainedConfig

        if onnx_path is None:
            if not isinstance(model, (str, os.PathLike)):
                raise SERError("give the .onnx file to run", source="OnnxEmotionClassifier")
            onnx_path, model = model, None
        elif model is not None:
            model = resolve_model_name(model)  # a bundled model's name ("default", "cnn") -> its folder
        if device is not None:
            device = onnx_device(device)
        if providers is None and device is not None and device.startswith("cuda"):
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        self.onnx_path = str(onnx_path)
        ort_backend = OnnxRuntimeBackend(onnx_path, providers, threads)
        self.backend = backend or ort_backend

        # the folder that supplies what the ONNX file lacks
        folder: Any = model
        if (
            isinstance(feature_extractor, (str, os.PathLike))
            and (Path(feature_extractor) / "config.json").is_file()
        ):
            folder = folder or feature_extractor
        meta_fe = ort_backend.meta_json("feature_extractor")
        meta_config = ort_backend.meta_json("config")
        meta_labels = ort_backend.meta_json("id2label")
        turn = ort_backend.input_kind == TURN_INPUT_KIND  # the turn encoder's graph reads log-mels
        if folder is None and (meta_fe is None and feature_extractor is None or meta_labels is None):
            folder = bundled_model_path("cnn")  # a bare graph without ser_hf metadata

        from_meta = feature_extractor is None and (folder is None or isinstance(folder, nn.Module))
        if feature_extractor is None:
            if folder is not None and not isinstance(folder, nn.Module):
                feature_extractor = folder
            elif meta_fe is not None and turn:
                from ..models.feature_extraction_functionals import SERFunctionalsFeatureExtractor

                feature_extractor = SERFunctionalsFeatureExtractor.from_dict(meta_fe)
            elif meta_fe is not None:
                from ..models.feature_extraction_ser import SERFeatureExtractor

                feature_extractor = SERFeatureExtractor.from_dict(meta_fe)
            else:
                raise SERError("no feature extractor: pass the model folder as well", source=self.onnx_path)
        self.feature_extractor = load_feature_extractor(feature_extractor, trust_remote_code)
        if turn:
            if turn_layers(self.feature_extractor) is None:
                raise SERError(
                    "this ONNX file holds a turn-encoder model, which reads the turn encoder's log-mels; "
                    "pass the folder it was exported from, or no folder (its metadata has the settings)",
                    source=self.onnx_path,
                )
            self.feature_extractor = TurnEncoderInputs(self.feature_extractor)

        if isinstance(folder, nn.Module):
            self.config = folder.config
        elif folder is not None:
            self.config = load_config(folder, trust_remote_code)
        elif meta_config is not None:
            self.config = _config_from_dict(meta_config)
        else:
            self.config = PretrainedConfig(id2label={int(k): v for k, v in meta_labels.items()})
        self.source = str(folder) if isinstance(folder, (str, os.PathLike)) else self.onnx_path

        id2label = getattr(self.config, "id2label", None) or {}
        self.labels = [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(len(id2label))]
        if not self.labels:
            raise SERError("no label names (id2label) for this model", source=self.source)
        self.model_labels = list(self.labels)
        ort_backend.check_labels(self.labels)
        self.sampling_rate = int(getattr(self.feature_extractor, "sampling_rate", 16000))
        if backend is None and not turn and not from_meta:  # a folder's extractor: the graph's?
            self._check_graph_inputs()


def onnx_device(device: str) -> str:
    """``device`` for ONNX Runtime: ``cpu``, or ``cuda`` / ``cuda:N`` when this onnxruntime has its
    CUDA provider; a typed error for anything else, before any work."""
    import onnxruntime as ort
    import torch

    try:
        kind = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise SERError(f"not a device name ({err}); use cpu or cuda", source=f"device {device!r}") from err
    if kind.type not in ("cpu", "cuda"):
        raise SERError("ONNX Runtime runs on cpu or cuda here", source=f"device {device!r}")
    if kind.type == "cuda" and "CUDAExecutionProvider" not in ort.get_available_providers():
        raise SERError(
            "this onnxruntime has no CUDA provider (pip install onnxruntime-gpu on a CUDA machine); use cpu",
            source=f"device {device!r}",
        )
    return str(device)


def _config_from_dict(data: dict[str, Any]) -> Any:
    from ..models.configuration_ser import CnnBiLstmAttentionConfig, CnnTransformerConfig

    classes = {c.model_type: c for c in (CnnBiLstmAttentionConfig, CnnTransformerConfig)}
    cls = classes.get(data.get("model_type"))
    if cls is None:
        from transformers import PretrainedConfig

        return PretrainedConfig(id2label={int(k): v for k, v in (data.get("id2label") or {}).items()})
    return cls.from_dict(data)


# ================================================================================= parity


def load_classifier(
    model: str | None = None,
    onnx: str | None = None,
    device: str | None = None,
    trust_remote_code: bool = False,
) -> EmotionClassifier:
    """The classifier the CLI uses: PyTorch, or ONNX Runtime (:class:`OnnxEmotionClassifier`) when
    ``onnx`` names an exported file."""
    cls = EmotionClassifier if onnx is None else OnnxEmotionClassifier
    kwargs = {} if onnx is None else {"onnx_path": onnx}
    return cls(model, device=device, trust_remote_code=trust_remote_code, **kwargs)


def read_clips(model: str, clips: Sequence[Any]) -> tuple[list[np.ndarray], list[str], dict[str, str]]:
    """``(samples, names, unreadable)``: the clips decoded at ``model``'s rate, and the reason each of the
    others could not be read (``{clip: reason}``, the reason without the clip's name).

    Raises:
        SERError: none of them could be read.
    """
    from ..data.audio import load_audio

    try:  # the model's rate, without loading the model before the export
        settings = json.loads((Path(model) / "preprocessor_config.json").read_text(encoding="utf-8"))
        rate = int(settings.get("sampling_rate") or DEFAULT_SAMPLING_RATE)
    except (OSError, ValueError, TypeError, AttributeError):
        rate = DEFAULT_SAMPLING_RATE
    samples, names, unreadable = [], [], {}
    for clip in clips:
        try:
            samples.append(load_audio(clip, rate))
        except SERError as err:  # the reason alone where it names the clip: the key names it
            named = err.source is not None and Path(err.source) == Path(str(clip))
            unreadable[str(clip)] = err.bare_message if named else str(err)
            continue
        names.append(str(clip))
    if not samples:
        reasons = [f"{clip}: {reason}" for clip, reason in list(unreadable.items())[:3]]
        raise SERError(
            "none of the clips could be read (" + "; ".join(reasons) + ")",
            source="--check-clips",  # each clip named in the reasons
        )
    return samples, names, unreadable


def agreement_on_clips(
    model: str, onnx_files: Sequence[str], samples: Sequence[np.ndarray], names: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """How exported graphs answer on a user's own clips (:func:`read_clips`) beside the package's PyTorch
    classifier (the export's parity check uses generated clips): per ``.onnx`` file, ``n``,
    ``top1_agreement`` and the largest and mean absolute difference of the class probabilities."""
    reference = EmotionClassifier(model, device="cpu")
    rate = reference.sampling_rate

    def matrix(classifier: EmotionClassifier, warn: bool) -> np.ndarray:  # (clips, classes), as reference
        results = classifier.classify_batch(samples, top_k=None, sampling_rate=rate, names=names, warn=warn)
        return np.array([[{s["label"]: s["score"] for s in r}[n] for n in reference.labels] for r in results])

    expected = matrix(reference, warn=True)  # a clip's warnings once, not again for each graph
    out = {}
    for path in onnx_files:
        got = matrix(OnnxEmotionClassifier(model, onnx_path=path), warn=False)
        diff = np.abs(got - expected)
        out[str(path)] = {
            "n": len(samples),
            "top1_agreement": float(np.mean(got.argmax(1) == expected.argmax(1))),
            "max_abs_diff": float(diff.max()),
            "mean_abs_diff": float(diff.mean()),
        }
    return out
