"""What computes logits from a batch of features: the PyTorch model (:class:`TorchBackend`), ONNX
Runtime (``onnx_runtime.OnnxRuntimeBackend``) or anything with ``predict_logits``."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch

from ..training.adaptation_lock import statistics_lock


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class LogitsBackend(Protocol):
    """What computes logits from features: the PyTorch model, ONNX Runtime, anything else."""

    def predict_logits(
        self, input_features: np.ndarray, attention_mask: np.ndarray, **extra: Any
    ) -> np.ndarray:
        """``(B, T, F)`` float32 features and ``(B, T)`` int64 mask (torch tensors) -> ``(B, C)`` numpy logits.

        ``extra`` holds the feature extractor's other outputs (a fusion's ``functionals``)."""
        ...


class TorchBackend:
    """Runs a transformers audio-classification model (``ser_hf`` families or any compatible one)."""

    def __init__(self, model: Any, device: Any = None):

        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.model = model.to(self.device).eval()

    def model_inputs(self, input_features: Any, attention_mask: Any, **extra: Any) -> dict[str, Any]:
        """The extractor's outputs as the model's keyword arguments: tensors of the right dtypes on
        the backend's device (features in the model's floating dtype: a model loaded in bfloat16
        or float16 gets its features so, as transformers' pipeline gives them)."""
        dtype = getattr(self.model, "dtype", torch.float32)
        dtype = dtype if isinstance(dtype, torch.dtype) and dtype.is_floating_point else torch.float32
        features = {} if input_features is None else {"input_features": input_features}  # see _features
        return {
            **{k: torch.as_tensor(v, dtype=dtype, device=self.device) for k, v in features.items()},
            "attention_mask": torch.as_tensor(attention_mask, dtype=torch.long, device=self.device),
            **{k: torch.as_tensor(v, dtype=dtype, device=self.device) for k, v in extra.items()},
        }

    def _forward(
        self, input_features: Any, attention_mask: Any, output_attentions: bool = False, **extra: Any
    ) -> Any:

        model = self.model  # read once: the lock and the forward are the same model's
        lock = statistics_lock(model)  # an adapt() installs its statistics whole between forwards
        with torch.inference_mode():
            inputs = self.model_inputs(input_features, attention_mask, **extra)
            lock.acquire_read()
            try:
                return model(**inputs, output_attentions=output_attentions)
            finally:
                lock.release_read()

    def predict_logits(self, input_features: Any, attention_mask: Any, **extra: Any) -> np.ndarray:
        return self._forward(input_features, attention_mask, **extra).logits.float().cpu().numpy()

    def predict_with_attention(
        self, input_features: Any, attention_mask: Any, **extra: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """Logits ``(B, C)`` and the attention weights over time ``(B, T')`` (ones when absent)."""
        out = self._forward(input_features, attention_mask, output_attentions=True, **extra)
        logits = out.logits.float().cpu().numpy()
        attentions = getattr(out, "attentions", None)
        if attentions:
            weights = attentions[0].float().cpu().numpy()
        else:  # a model without attention pooling: uniform weights over the real frames
            weights = np.asarray(attention_mask, dtype=np.float32)
            weights = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1.0)
        return logits, weights
