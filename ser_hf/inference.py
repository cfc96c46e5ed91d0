"""Inference for users: classify anything, timelines for long audio, streaming, ``ser-hf predict``.

:class:`EmotionClassifier` is the one documented call for every input that
:func:`ser_hf.audio.load_audio` accepts (paths in any format FFmpeg decodes, video files' audio
tracks, bytes, stereo or integer arrays with their rate, ``{"array", "sampling_rate"}`` dicts,
datasets ``AudioDecoder`` objects), including the ones the stock ``audio-classification`` pipeline
rejects::

    from ser_hf import EmotionClassifier

    clf = EmotionClassifier("path/to/model")          # or a Hub id, or the bundled model
    clf.classify("clip.mp4", top_k=3)                  # [{"label": "angry", "score": 0.81}, ...]
    clf.timeline("ten_minutes.wav").windows            # per-window labels over time

Computation runs through a *backend*: any object with ``predict_logits(input_features,
attention_mask, **extra) -> logits`` (``extra``: the feature extractor's other outputs, e.g. a
fusion model's ``functionals``; ``(B, T, F)`` float32 and ``(B, T)`` int64 torch tensors in, on the
backend's ``device`` when it has one, else CPU, where ``np.asarray`` makes them numpy; ``(B, C)``
numpy out). The PyTorch model is the default backend; ``onnx_path=`` swaps in ONNX Runtime, and
``backend=`` accepts any other implementation, so every method below (batching, timelines,
streaming) works unchanged on either.

:class:`StreamingClassifier` takes successive microphone chunks (any rate, int or float, mono or
multichannel) and returns rolling predictions over the last few seconds.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .audio import (
    DEFAULT_SAMPLING_RATE,
    MEDIA_EXTENSIONS,
    VIDEO_EXTENSIONS,
    audio_info,
    find_media_files,
    iter_audio_chunks,
    load_audio,
    resample,
    write_wav,
)
from .errors import SERError

logger = logging.getLogger(__name__)

_BUNDLED = Path(__file__).resolve().parent / "bundled"
# the default: functionals + logistic regression fused with three CNN-Transformers (needs openSMILE)
BUNDLED_FUSION_DIR = _BUNDLED / "fusion"
# the session-1 CNN-Transformer alone (``model="cnn"``): frame features only, exportable to ONNX
BUNDLED_MODEL_DIR = _BUNDLED / "model"
# the functionals + logistic-regression baseline alone (needs openSMILE; ``model="functionals"``)
BUNDLED_FUNCTIONALS_DIR = _BUNDLED / "functionals"
BUNDLED_ALIASES = {
    "fusion": BUNDLED_FUSION_DIR,
    "cnn": BUNDLED_MODEL_DIR,
    "functionals": BUNDLED_FUNCTIONALS_DIR,
}
# where ser_hf.training.save_final_model keeps the previous model while a new one is moved in
PREVIOUS_MODEL_DIR = ".previous-model"
SILENCE_LABEL = "silence"
# Clips shorter than this are zero-padded before feature extraction: the CNN front end of both
# model families pools the time axis several times and needs a few dozen frames to work with.
MIN_CLIP_SECONDS = 0.5
_EPS = 1e-12
SILENT_DB = -240.0  # the level reported for digital silence (log of zero)
# Defaults of silence skipping: a window whose loudest 50 ms is below -55 dBFS, or more than 40 dB
# below the loudest window of the recording, holds no speech worth classifying.
SILENCE_DB = -55.0
SILENCE_REL_DB = 40.0


def bundled_model_path(name: str = "fusion") -> Path:
    """The folder of a model that ships with the package: ``"fusion"`` (the default of
    ``ser-hf predict`` and the demo), ``"cnn"`` or ``"functionals"``.

    Raises:
        SERError: an unknown name, or a package installed without that model.
    """
    if name not in BUNDLED_ALIASES:
        raise SERError(f"no bundled model called {name!r}; choose one of {', '.join(BUNDLED_ALIASES)}")
    folder = BUNDLED_ALIASES[name]
    if not (folder / "config.json").is_file():
        raise SERError(
            "no bundled model in this installation; pass a trained model folder or a Hub id "
            "(--model DIR|HUB_ID on the command line, EmotionClassifier(model=...) in Python)",
            source=str(folder),
        )
    return folder


def default_model_path() -> Path:
    """The folder of the default model (``ser_hf/bundled/fusion``).

    Raises:
        SERError: when the package was installed without the bundled model.
    """
    return bundled_model_path("fusion")


def resolve_model_name(model: Any, default: str = "fusion") -> Any:
    """``None`` -> the bundled ``default`` model's folder; a bundled model's name (``"fusion"``,
    ``"cnn"``, ``"functionals"``) -> its folder, unless a path of that name exists; anything else
    (a folder, a Hub id, a loaded model) unchanged."""
    if model is None:
        return bundled_model_path(default)
    if isinstance(model, str) and model in BUNDLED_ALIASES and not Path(model).exists():
        return bundled_model_path(model)
    return model


def level_db(samples: np.ndarray, sampling_rate: int = DEFAULT_SAMPLING_RATE, frame_s: float = 0.05) -> float:
    """Speech-activity level: RMS of the loudest ``frame_s`` frame, in dB relative to full scale.

    The loudest short frame, not the mean over the whole window, because speech is bursty: a calm,
    quietly recorded sentence (RAVDESS "calm" clips average about -52 dBFS) still has frames far
    above a room's noise floor, while a pause has none. A full-scale sine gives about -3 dB.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0:
        return SILENT_DB
    n = max(1, int(frame_s * sampling_rate))
    usable = (x.size // n) * n
    frames = x[:usable].reshape(-1, n) if usable else x[None, :]
    rms = float(np.sqrt(np.square(frames).mean(axis=1)).max())
    return max(SILENT_DB, 20.0 * math.log10(max(rms, _EPS)))


def _top(probs: np.ndarray, labels: Sequence[str], top_k: int | None) -> list[dict[str, Any]]:
    """[{"label", "score"}] sorted by score, highest first, ``top_k`` of them (all when None)."""
    order = np.argsort(-probs, kind="stable")
    if top_k is not None:
        order = order[: max(1, int(top_k))]
    return [{"label": labels[i], "score": float(probs[i])} for i in order]


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
        import torch

        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.model = model.to(self.device).eval()

    def _forward(
        self, input_features: Any, attention_mask: Any, output_attentions: bool = False, **extra: Any
    ) -> Any:
        import torch

        with torch.inference_mode():
            feats = torch.as_tensor(input_features, dtype=torch.float32, device=self.device)
            mask = torch.as_tensor(attention_mask, dtype=torch.long, device=self.device)
            more = {k: torch.as_tensor(v, dtype=torch.float32, device=self.device) for k, v in extra.items()}
            return self.model(
                input_features=feats, attention_mask=mask, output_attentions=output_attentions, **more
            )

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


@dataclass
class Timeline:
    """Per-window emotions of a long recording, and the overall label.

    ``windows`` holds one dict per window: ``start``/``end`` in seconds, ``label``, ``score``,
    ``scores`` (top-k ``{"label", "score"}``), ``level_db`` (see :func:`level_db`) and ``silent``. Silent windows have the
    label ``"silence"`` and do not count towards the overall label, which is the average of the
    non-silent windows' probabilities weighted by window duration.
    """

    source: str
    duration: float
    window_s: float
    hop_s: float
    label: str
    score: float
    scores: list[dict[str, Any]]
    windows: list[dict[str, Any]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    probabilities: list[list[float]] = field(default_factory=list)  # (windows, num_labels); zeros if silent

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("probabilities")
        return data


class EmotionClassifier:
    """Speech emotion recognition on anything ``load_audio`` accepts.

    Args:
        model: a model folder, a Hub id, a loaded ``PreTrainedModel``, or a bundled model's name:
            None / ``"fusion"`` for the default (functionals + CNN-Transformers; needs openSMILE),
            ``"cnn"`` for the CNN-Transformer alone, ``"functionals"`` for the functionals model alone.
        feature_extractor: a ``SERFeatureExtractor`` (or folder/Hub id); default: the model's own.
        device: ``"cpu"``, ``"cuda"``, ...; default CUDA when available.
        trust_remote_code: passed to ``from_pretrained`` as given (never switched on by ``ser_hf``);
            only needed for models of other packages, ``ser_hf`` models load without it.
        onnx_path: run the logits through this ONNX file with ONNX Runtime instead of PyTorch (the
            model folder still supplies the feature extractor and the label names).
        backend: any object with ``predict_logits(features, mask)`` (overrides the two above).
    """

    def __init__(
        self,
        model: Any = None,
        feature_extractor: Any = None,
        device: str | None = None,
        trust_remote_code: bool = False,
        onnx_path: str | os.PathLike | None = None,
        backend: LogitsBackend | None = None,
    ):
        model = resolve_model_name(model)
        if isinstance(model, (str, os.PathLike)):
            self.source = str(model)
            self.feature_extractor = self._load_feature_extractor(
                feature_extractor or model, trust_remote_code
            )
            if backend is None and onnx_path is None:
                torch_model = self._load_model(model, trust_remote_code)
                self.config = torch_model.config
                backend = TorchBackend(torch_model, device or _default_device())
            else:
                self.config = self._load_config(model, trust_remote_code)
        else:  # an already loaded transformers model
            self.source = getattr(getattr(model, "config", None), "name_or_path", "") or type(model).__name__
            self.config = model.config
            if feature_extractor is None:
                raise SERError(
                    "a model object needs its feature_extractor=...; or pass the model folder instead",
                    source=self.source,
                )
            self.feature_extractor = self._load_feature_extractor(feature_extractor, trust_remote_code)
            if backend is None and onnx_path is None:
                backend = TorchBackend(model, device)
        if backend is None:
            from .onnx_export import OnnxRuntimeBackend  # lazy: onnx_export builds on this module

            backend = OnnxRuntimeBackend(onnx_path)  # type: ignore[arg-type]
        self.backend = backend
        id2label = getattr(self.config, "id2label", None) or {}
        self.labels = [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(len(id2label))]
        if not self.labels:
            raise SERError("the model config has no id2label; it is not a classifier", source=self.source)
        self.sampling_rate = int(getattr(self.feature_extractor, "sampling_rate", DEFAULT_SAMPLING_RATE))

    @classmethod
    def from_pretrained(cls, model: str | os.PathLike | None = None, **kwargs: Any) -> EmotionClassifier:
        """Same as the constructor; reads like the rest of the Hugging Face API."""
        return cls(model, **kwargs)

    # ----------------------------------------------------------------------------- loading
    @staticmethod
    def _load_model(model: str | os.PathLike, trust_remote_code: bool) -> Any:
        from safetensors import SafetensorError
        from transformers import AutoModelForAudioClassification

        folder = Path(model)
        backup = folder / PREVIOUS_MODEL_DIR
        if folder.is_dir() and not (folder / "config.json").is_file() and (backup / "config.json").is_file():
            raise SERError(
                f"a save into this folder was interrupted, so it holds no complete model; the previous "
                f"complete model is in {backup}: load that folder, or save the model again",
                source=str(model),
            )
        if folder.is_dir() and not any(folder.glob("*.safetensors")):
            pickled = sorted(p.name for p in folder.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".ckpt"))
            if pickled:
                # pickle files can run arbitrary code when loaded: refuse them, never unpickle
                raise SERError(
                    f"only pickled weights ({', '.join(pickled)}), no model.safetensors; ser_hf loads "
                    "safetensors only because pickle files can run code. Convert a model you trust with "
                    "model.save_pretrained(folder) (writes model.safetensors)",
                    source=str(model),
                )
        try:
            return AutoModelForAudioClassification.from_pretrained(
                str(model), trust_remote_code=trust_remote_code, use_safetensors=True
            )
        except SafetensorError as err:
            where = folder / "model.safetensors" if folder.is_dir() else model
            raise SERError(
                f"the weights file is corrupt or truncated ({err}); re-download or re-save the model",
                source=str(where),
            ) from err
        except (OSError, ValueError, KeyError) as err:
            raise SERError(_load_hint(err), source=str(model)) from err

    @staticmethod
    def _load_config(model: str | os.PathLike, trust_remote_code: bool) -> Any:
        from transformers import AutoConfig

        try:
            return AutoConfig.from_pretrained(str(model), trust_remote_code=trust_remote_code)
        except (OSError, ValueError, KeyError) as err:
            raise SERError(_load_hint(err), source=str(model)) from err

    @staticmethod
    def _load_feature_extractor(fe: Any, trust_remote_code: bool) -> Any:
        if not isinstance(fe, (str, os.PathLike)):
            return fe
        from transformers import AutoFeatureExtractor

        try:
            return AutoFeatureExtractor.from_pretrained(str(fe), trust_remote_code=trust_remote_code)
        except (OSError, ValueError, KeyError) as err:
            raise SERError(_load_hint(err), source=str(fe)) from err

    # ----------------------------------------------------------------------------- core
    def _load(self, audio: Any, sampling_rate: int | None = None) -> np.ndarray:
        """Any input -> float32 mono at the model's rate."""
        if isinstance(audio, (np.ndarray, list)) or (hasattr(audio, "detach") and hasattr(audio, "cpu")):
            # a bare array is taken to be at the model's rate unless told otherwise
            rate = self.sampling_rate if sampling_rate is None else int(sampling_rate)
            return load_audio(audio, self.sampling_rate, source_rate=rate)
        return load_audio(audio, self.sampling_rate)

    def _pad_short(self, samples: np.ndarray) -> np.ndarray:
        need = int(MIN_CLIP_SECONDS * self.sampling_rate)
        if samples.size >= need:
            return samples
        logger.debug("clip of %d samples zero-padded to %d", samples.size, need)
        return np.pad(samples, (0, need - samples.size))

    def _features(self, clips: Sequence[np.ndarray]) -> tuple[Any, Any, dict[str, Any]]:
        """Padded ``(B, T, F)`` float32 features, ``(B, T)`` int64 mask and the extractor's other
        outputs (a fusion's ``functionals``) of 16 kHz mono clips."""
        device = getattr(self.backend, "device", None)
        kwargs = {"device": device} if device is not None and _accepts_device(self.feature_extractor) else {}
        out = self.feature_extractor(
            [self._pad_short(c) for c in clips],
            sampling_rate=self.sampling_rate,
            return_tensors="pt",
            **kwargs,
        )
        feats = out["input_features"]
        mask = out.get("attention_mask")
        if mask is None:
            mask = np.ones(feats.shape[:2], dtype=np.int64)
        extra = {k: v for k, v in out.items() if k not in ("input_features", "attention_mask")}
        return feats, mask, extra

    def _logits(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        """``(B, num_labels)`` logits of a list of clips (already at the model's rate)."""
        feats, mask, extra = self._features(clips)
        return np.asarray(self.backend.predict_logits(feats, mask, **extra), dtype=np.float32)

    def _probs(self, clips: Sequence[np.ndarray], sources: Sequence[str] | None = None) -> np.ndarray:
        """``(B, num_labels)`` probabilities; raises SERError instead of returning NaN."""
        probs = _softmax(self._logits(clips))
        bad = ~np.isfinite(probs).all(axis=1)
        if bad.any():
            where = sources[int(np.argmax(bad))] if sources else "audio"
            raise SERError(
                "the model produced non-finite scores for this input; check the model", source=where
            )
        return probs

    # ----------------------------------------------------------------------------- public API
    def classify(
        self, audio: Any, sampling_rate: int | None = None, top_k: int | None = None
    ) -> list[dict[str, Any]]:
        """Emotion scores of one clip.

        Args:
            audio: anything :func:`ser_hf.audio.load_audio` accepts; a bare array/tensor is taken to
                be at ``sampling_rate`` (default the model's rate, 16 kHz).
            sampling_rate: the rate of a bare array or tensor.
            top_k: keep the best ``top_k`` labels (default all).

        Returns:
            ``[{"label": str, "score": float}, ...]`` sorted by score; the scores of all labels sum to 1.
        """
        samples = self._load(audio, sampling_rate)
        return _top(self._probs([samples], [_name(audio)])[0], self.labels, top_k)

    def classify_batch(
        self,
        audios: Sequence[Any],
        batch_size: int = 16,
        top_k: int | None = None,
        sampling_rate: int | None = None,
    ) -> list[list[dict[str, Any]]]:
        """:meth:`classify` for many clips, batched (sorted by length so padding stays small).

        The model masks padded frames, so a clip gets the same scores alone and in a batch.
        """
        clips = [self._load(a, sampling_rate) for a in audios]
        names = [_name(a) for a in audios]
        probs = self._probs_batched(clips, names, batch_size)
        return [_top(p, self.labels, top_k) for p in probs]

    def _probs_batched(
        self, clips: Sequence[np.ndarray], names: Sequence[str], batch_size: int
    ) -> np.ndarray:
        order = sorted(range(len(clips)), key=lambda i: len(clips[i]))
        out = np.zeros((len(clips), len(self.labels)), dtype=np.float64)
        step = max(1, int(batch_size))
        for k in range(0, len(order), step):
            idx = order[k : k + step]
            out[idx] = self._probs([clips[i] for i in idx], [names[i] for i in idx])
        return out

    def classify_with_attention(
        self, audio: Any, sampling_rate: int | None = None, top_k: int | None = None
    ) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
        """Scores plus what the demo draws: features ``(T, F)`` and attention weights ``(T',)``.

        ``T'`` is the model's time axis after its CNN pooling (``T' <= T``); weights sum to 1.
        A model without a time axis (the functionals model: one vector per clip) weighs the whole
        clip alike: its ``features`` are ``(T, 0)`` for the clip's ``T`` 10-ms frames and its
        attention is the single weight ``[1.0]`` spanning them.
        """
        if not hasattr(self.backend, "predict_with_attention"):
            raise SERError("attention weights need the PyTorch model, not this backend", source=self.source)
        samples = self._load(audio, sampling_rate)
        feats, mask, extra = self._features([samples])
        logits, weights = self.backend.predict_with_attention(feats, mask, **extra)
        probs = _softmax(np.asarray(logits))[0]
        if not np.isfinite(probs).all():
            raise SERError("the model produced non-finite scores for this input", source=_name(audio))
        if len(feats.shape) == 2:  # utterance-level features: no frames, no attention over time
            frames = 1 + samples.size // max(1, round(0.010 * self.sampling_rate))
            return _top(probs, self.labels, top_k), np.zeros((frames, 0), np.float32), np.ones(1, np.float32)
        feats_np = feats[0].cpu().numpy() if hasattr(feats, "cpu") else np.asarray(feats[0])
        n_real = int(np.asarray(mask[0].cpu() if hasattr(mask, "cpu") else mask[0]).sum())
        return _top(probs, self.labels, top_k), feats_np[:n_real], np.asarray(weights[0], dtype=np.float32)

    # ----------------------------------------------------------------------------- timeline
    def default_window_s(self) -> float:
        """4 s, or the clip length a fixed-length model sees (``max_frames`` frames) when shorter."""
        max_frames = getattr(self.feature_extractor, "max_frames", None)
        hop = getattr(self.feature_extractor, "hop_length", None)
        if max_frames and hop:
            return round(min(4.0, (max_frames - 1) * hop / self.sampling_rate), 3)
        return 4.0

    def timeline(
        self,
        audio: Any,
        window_s: float | None = None,
        hop_s: float | None = None,
        silence_db: float | None = SILENCE_DB,
        silence_rel_db: float | None = SILENCE_REL_DB,
        top_k: int | None = 3,
        batch_size: int = 16,
        sampling_rate: int | None = None,
        chunk_s: float = 60.0,
    ) -> Timeline:
        """Classify a long recording in overlapping windows.

        Windows start every ``hop_s`` seconds; when the last one stops short of the end, one more
        window ending exactly at the end is added, and a clip shorter than ``window_s`` gets one
        window covering all of it. A window is silent (label ``"silence"``, excluded from the
        overall label, not run through the model) when its :func:`level_db` is below ``silence_db``
        dBFS or more than ``silence_rel_db`` dB below the loudest window's. Paths are decoded in chunks of
        ``chunk_s`` seconds and windows classified ``batch_size`` at a time, so memory stays
        bounded for recordings of any length.

        Returns:
            a :class:`Timeline`.
        """
        window_s = float(window_s or self.default_window_s())
        hop_s = float(hop_s or window_s / 2)
        if window_s <= 0 or hop_s <= 0:
            raise SERError(f"window ({window_s} s) and hop ({hop_s} s) must be positive", source=_name(audio))
        sr = self.sampling_rate
        win, hop = max(1, int(round(window_s * sr))), max(1, int(round(hop_s * sr)))
        name = _name(audio)
        if isinstance(audio, (str, os.PathLike)):
            chunks: Iterable[np.ndarray] = iter_audio_chunks(audio, max(chunk_s, 2 * window_s), sr)
        else:
            samples = self._load(audio, sampling_rate)
            step = max(win, int(chunk_s * sr))
            chunks = (samples[i : i + step] for i in range(0, len(samples), step))

        spans: list[tuple[int, int]] = []
        levels: list[float] = []
        probs_rows: dict[int, np.ndarray] = {}
        pending: list[tuple[int, np.ndarray]] = []

        def flush() -> None:
            if pending:
                probs = self._probs([w for _, w in pending], [name] * len(pending))
                for (i, _), p in zip(pending, probs):
                    probs_rows[i] = p
                pending.clear()

        for start, stop, window in _sliding_windows(chunks, win, hop):
            i = len(spans)
            spans.append((start, stop))
            level = level_db(window, sr)
            levels.append(level)
            if silence_db is None or level >= silence_db:
                pending.append((i, window.copy()))
                if len(pending) >= batch_size:
                    flush()
        flush()
        if not spans:
            raise SERError("contains no audio samples (0 s)", source=name)
        total = spans[-1][1]  # the last window always ends at the end of the recording

        loudest = max(levels)
        windows, rows, weights = [], [], []
        for i, ((start, stop), level) in enumerate(zip(spans, levels)):
            silent = i not in probs_rows or (silence_rel_db is not None and level < loudest - silence_rel_db)
            if silent:
                row = np.zeros(len(self.labels))
                top = [{"label": SILENCE_LABEL, "score": 1.0}]
            else:
                row = probs_rows[i]
                top = _top(row, self.labels, top_k)
                weights.append((i, (stop - start) / sr))
            rows.append(row)
            windows.append(
                {
                    "start": round(start / sr, 3),
                    "end": round(stop / sr, 3),
                    "label": top[0]["label"],
                    "score": top[0]["score"],
                    "scores": top,
                    "level_db": round(level, 1),
                    "silent": silent,
                }
            )
        if weights:
            w = np.array([d for _, d in weights])
            overall = (np.stack([rows[i] for i, _ in weights]) * w[:, None]).sum(axis=0) / w.sum()
            overall_top = _top(overall, self.labels, top_k)
        else:
            overall_top = [{"label": SILENCE_LABEL, "score": 1.0}]
        return Timeline(
            source=name,
            duration=round(total / sr, 3),
            window_s=window_s,
            hop_s=hop_s,
            label=overall_top[0]["label"],
            score=overall_top[0]["score"],
            scores=overall_top,
            windows=windows,
            labels=list(self.labels),
            probabilities=[[float(v) for v in r] for r in rows],
        )


def _sliding_windows(
    chunks: Iterable[np.ndarray], win: int, hop: int
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Windows of ``win`` samples every ``hop`` samples over a stream of chunks, in bounded memory.

    Yields ``(start, stop, samples)`` in sample indices. After the regular windows, one more
    window ending at the very end is yielded when the last regular one stopped short of it; a
    stream shorter than ``win`` yields a single window of everything. Only about ``win`` plus one
    chunk of samples are held at any time.
    """
    buf = np.zeros(0, dtype=np.float32)
    buf_start = 0  # absolute index of buf[0]
    next_start = 0
    last_stop = 0
    total = 0
    for chunk in chunks:
        buf = np.concatenate([buf, np.asarray(chunk, dtype=np.float32)])
        total += len(chunk)
        while next_start + win <= total:
            s = next_start - buf_start
            yield next_start, next_start + win, buf[s : s + win]
            last_stop = next_start + win
            next_start += hop
        # keep what later windows need: from the next start, and at least the last `win` samples
        keep_from = max(buf_start, min(next_start, total - win))
        buf = buf[keep_from - buf_start :]
        buf_start = keep_from
    if total == 0:
        return
    if last_stop == 0:  # shorter than one window
        yield 0, total, buf
    elif last_stop < total:
        yield total - win, total, buf[len(buf) - win :]


def plot_timeline(timeline: Timeline, path: str | os.PathLike, title: str | None = None) -> Path:
    """Draw per-window probabilities over time as a stacked area plot and save it as a PNG.

    The x axis is time in seconds (each window is drawn at its centre); silent windows are shaded
    grey; the title gives the file, the overall label and its score.
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    centers = np.array([(w["start"] + w["end"]) / 2 for w in timeline.windows])
    probs = np.array(timeline.probabilities) if timeline.probabilities else np.zeros((len(centers), 0))
    fig, ax = plt.subplots(figsize=(max(6.0, min(20.0, 0.15 * len(centers) + 6)), 3.6), dpi=100)
    try:
        if len(centers) == 1:  # a single window: draw it as a block over its span
            w = timeline.windows[0]
            centers = np.array([w["start"], w["end"]])
            probs = np.repeat(probs, 2, axis=0)
        colors = plt.get_cmap("tab10").colors
        if probs.size:
            ax.stackplot(
                centers,
                probs.T,
                labels=timeline.labels,
                colors=[colors[i % len(colors)] for i in range(probs.shape[1])],
                alpha=0.85,
            )
        for w in timeline.windows:
            if w["silent"]:
                ax.axvspan(w["start"], w["end"], color="0.85", zorder=0, lw=0)
        ax.set_xlim(0, max(timeline.duration, 1e-3))
        ax.set_ylim(0, 1)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("probability")
        head = title or Path(timeline.source).name
        ax.set_title(f"{head}: {timeline.label} ({timeline.score:.2f})", fontsize=10)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


# ================================================================================= streaming
class StreamingClassifier:
    """Rolling predictions over the last ``window_s`` seconds of a live stream.

    Push chunks as they arrive (a microphone callback, ``gr.Audio(streaming=True)``): int16/int32
    /uint8 PCM or float, shaped ``(N,)`` or ``(N, channels)``, at any rate. The raw audio is kept
    in a ring buffer at the stream's own rate and resampled only when a prediction is made, so a
    prediction equals :meth:`EmotionClassifier.classify` on the last ``window_s`` seconds.

    Args:
        classifier: the :class:`EmotionClassifier` (or ONNX variant) to run.
        window_s: seconds of audio each prediction looks at.
        update_every_s: :meth:`push` returns a new prediction after this much new audio.
        min_s: no prediction before this many seconds have arrived.
        silence_db: audio whose :func:`level_db` is below this is reported as ``"silence"``.
        top_k: labels kept in ``scores``.
    """

    def __init__(
        self,
        classifier: EmotionClassifier,
        window_s: float = 3.0,
        update_every_s: float = 0.5,
        min_s: float = 1.0,
        silence_db: float | None = SILENCE_DB,
        top_k: int | None = None,
    ):
        if window_s <= 0 or update_every_s <= 0:
            raise SERError("window_s and update_every_s must be positive", source="StreamingClassifier")
        self.classifier = classifier
        self.window_s = float(window_s)
        self.update_every_s = float(update_every_s)
        self.min_s = min(float(min_s), self.window_s)
        self.silence_db = silence_db
        self.top_k = top_k
        self.reset()

    def reset(self) -> None:
        """Forget the buffered audio (a new recording starts)."""
        self._buf = np.zeros(0, dtype=np.float32)
        self._rate: int | None = None
        self._seconds = 0.0  # stream time received so far
        self._since_update = 0.0
        self.last_prediction: dict[str, Any] | None = None

    @property
    def buffered_seconds(self) -> float:
        return 0.0 if not self._rate else len(self._buf) / self._rate

    def push(self, chunk: Any, sampling_rate: int) -> dict[str, Any] | None:
        """Add a chunk; return a new prediction when ``update_every_s`` of audio arrived since the last.

        Returns:
            ``{"label", "score", "scores", "time", "level_db"}`` (``time``: seconds of stream received)
            or None when it is not time for an update yet.
        """
        rate = int(sampling_rate)
        if rate <= 0:
            raise SERError(f"invalid sampling rate {sampling_rate}", source="stream chunk")
        samples = _chunk_to_mono(chunk)
        if samples.size == 0:
            return None
        if self._rate is not None and rate != self._rate and self._buf.size:
            self._buf = resample(self._buf, self._rate, rate)  # the stream changed rate: keep its past
        self._rate = rate
        capacity = int(math.ceil(self.window_s * rate))
        self._buf = np.concatenate([self._buf, samples])[-capacity:]
        seconds = samples.size / rate
        self._seconds += seconds
        self._since_update += seconds
        if self._since_update + 1e-9 < self.update_every_s or self.buffered_seconds + 1e-9 < self.min_s:
            return None
        self._since_update = 0.0
        return self.predict()

    def predict(self) -> dict[str, Any] | None:
        """The prediction over the buffered audio now (None before any audio arrived)."""
        if not self._buf.size or self._rate is None:
            return None
        level = level_db(self._buf, self._rate)
        if self.silence_db is not None and level < self.silence_db:
            scores = [{"label": SILENCE_LABEL, "score": 1.0}]
        else:
            scores = self.classifier.classify(
                {"array": self._buf, "sampling_rate": self._rate}, top_k=self.top_k
            )
        self.last_prediction = {
            "label": scores[0]["label"],
            "score": scores[0]["score"],
            "scores": scores,
            "time": round(self._seconds, 3),
            "level_db": round(level, 1),
        }
        return self.last_prediction


def _chunk_to_mono(chunk: Any) -> np.ndarray:
    """int/float PCM ``(N,)``, ``(N, C)`` (or ``(C, N)`` with few channels) -> float32 mono."""
    if hasattr(chunk, "detach") and hasattr(chunk, "cpu"):
        chunk = chunk.detach().cpu().numpy()
    x = np.asarray(chunk)
    if x.dtype.kind not in "fiub":
        raise SERError(f"audio chunk of type {x.dtype} is not PCM samples", source="stream chunk")
    if x.dtype == np.uint8:
        x = (x.astype(np.float32) - 128.0) / 128.0
    elif x.dtype.kind in "iu":
        info = np.iinfo(x.dtype)
        x = x.astype(np.float32) / float(max(abs(info.min), info.max + 1))
    else:
        x = x.astype(np.float32)
    if x.ndim == 2:
        channels_first = x.shape[0] < x.shape[1] and x.shape[0] <= 8
        x = x.mean(axis=1 if not channels_first else 0)
    elif x.ndim != 1:
        raise SERError(
            f"audio chunk must be (N,) or (N, channels), got shape {x.shape}", source="stream chunk"
        )
    if not np.isfinite(x).all():
        raise SERError("audio chunk contains NaN or infinite samples", source="stream chunk")
    return x


# ================================================================================= helpers
def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _accepts_device(fe: Any) -> bool:
    import inspect

    try:
        return "device" in inspect.signature(fe.__call__).parameters
    except (TypeError, ValueError):
        return False


def _name(audio: Any) -> str:
    if isinstance(audio, (str, os.PathLike)):
        return str(audio)
    if isinstance(audio, dict) and audio.get("path"):
        return str(audio["path"])
    return f"<{type(audio).__name__}>"


def _load_hint(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return (
        f"cannot load the model ({text[:300]}); pass a folder saved by ser_hf (config.json, "
        "model.safetensors, preprocessor_config.json) or a Hub id you can reach"
    )


# ================================================================================= CLI
def _build_predict_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ser-hf predict",
        description="Classify the emotion of speech in audio or video files, folders (recursive) and globs. "
        "Files longer than the window get a per-window timeline.",
    )
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help="files, folders or glob patterns ('clips/**/*.wav')"
    )
    p.add_argument(
        "--model",
        default=None,
        help="model folder or Hub id (default: the bundled fusion of functionals + logistic regression "
        "with three CNN-Transformers, which needs openSMILE; 'cnn': the bundled CNN-Transformer alone; "
        "'functionals': the functionals model alone)",
    )
    p.add_argument("--onnx", default=None, metavar="FILE", help="run this ONNX export with ONNX Runtime")
    p.add_argument("--top-k", type=int, default=3, help="labels to show per file (default 3)")
    p.add_argument(
        "--window",
        type=float,
        default=None,
        help="timeline window in seconds (default 4, or the model's fixed clip length when shorter)",
    )
    p.add_argument("--hop", type=float, default=None, help="timeline hop in seconds (default window/2)")
    p.add_argument(
        "--silence-db",
        type=float,
        default=SILENCE_DB,
        help=f"audio whose loudest 50 ms is below this dBFS is silence (default {SILENCE_DB})",
    )
    p.add_argument("--timeline-png", default=None, metavar="DIR", help="write a timeline plot per long file")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", default=None, metavar="FILE", help="write results as CSV")
    out.add_argument("--json", default=None, metavar="FILE", help="write results as JSON")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument("--batch-size", type=int, default=16, help="clips per forward pass")
    p.add_argument("--trust-remote-code", action="store_true", help="allow a Hub model's own code to run")
    return p


def load_classifier(
    model: str | None = None,
    onnx: str | None = None,
    device: str | None = None,
    trust_remote_code: bool = False,
) -> EmotionClassifier:
    """The classifier the CLI uses: PyTorch, or ONNX Runtime when ``onnx`` is given.

    With ``onnx``, ``ser_hf.onnx_export.OnnxEmotionClassifier`` is used when that module provides
    it as a subclass of :class:`EmotionClassifier` (same constructor), else
    :class:`ser_hf.onnx_export.OnnxRuntimeBackend` behind a plain :class:`EmotionClassifier`.
    """
    if onnx is None:
        return EmotionClassifier(model, device=device, trust_remote_code=trust_remote_code)
    cls: type[EmotionClassifier] = EmotionClassifier
    try:
        from . import onnx_export

        candidate = getattr(onnx_export, "OnnxEmotionClassifier", None)
        if isinstance(candidate, type) and issubclass(candidate, EmotionClassifier):
            cls = candidate
    except ImportError:
        logger.debug("ser_hf.onnx_export not available: using the built-in ONNX Runtime backend")
    return cls(model, device=device, trust_remote_code=trust_remote_code, onnx_path=onnx)


def _fmt_top(scores: list[dict[str, Any]]) -> str:
    return ", ".join(f"{s['label']} {s['score']:.2f}" for s in scores)


def predict_cli(argv: list[str]) -> int:
    """``ser-hf predict``: print a table (and timelines), optionally write CSV/JSON and PNG plots.

    Returns 0 when every file was classified, 1 when any failed (each failure is one error line
    naming the file; the other files are still classified).
    """
    args = _build_predict_parser().parse_args(argv)
    if args.top_k < 1 or args.batch_size < 1:
        raise SERError("--top-k and --batch-size must be at least 1", source="ser-hf predict")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" bars would clutter the results table
    clf = load_classifier(args.model, args.onnx, args.device, args.trust_remote_code)
    window_s = float(args.window or clf.default_window_s())
    hop_s = float(args.hop or window_s / 2)
    if window_s <= 0 or hop_s <= 0:
        raise SERError("--window and --hop must be positive", source="ser-hf predict")
    files = find_media_files(args.paths)
    if not files:
        raise SERError("no audio or video files found", source=" ".join(args.paths))

    results: list[dict[str, Any]] = []
    failures = 0
    short: list[tuple[int, Path, np.ndarray]] = []  # classified in batches after the loop

    def fail(path: Path, err: BaseException) -> None:
        nonlocal failures
        failures += 1
        message = str(err) if isinstance(err, SERError) else f"{path}: {type(err).__name__}: {err}"
        print(f"error: {message}", file=sys.stderr)
        logger.debug("failure on %s", path, exc_info=err)
        results.append({"file": str(path), "error": message})

    for path in files:
        try:
            samples = None
            try:
                duration, _, _ = audio_info(path)
            except SERError:
                # the header alone does not tell: decoding gives either the audio or the precise
                # error (empty file, not audio, ...)
                samples = load_audio(path, clf.sampling_rate)
                duration = len(samples) / clf.sampling_rate
            if duration > window_s:
                tl = clf.timeline(
                    path if samples is None else samples,
                    window_s,
                    hop_s,
                    silence_db=args.silence_db,
                    top_k=args.top_k,
                    batch_size=args.batch_size,
                )
                tl.source = str(path)
                row = {
                    "file": str(path),
                    "duration": tl.duration,
                    "label": tl.label,
                    "score": tl.score,
                    "top_k": tl.scores,
                    "timeline": tl.windows,
                }
                if args.timeline_png:
                    png = Path(args.timeline_png) / f"{path.stem}.timeline.png"
                    if any(r.get("timeline_png") == str(png) for r in results):  # same name, other folder
                        png = png.with_name(f"{path.stem}-{len(results)}.timeline.png")
                    row["timeline_png"] = str(plot_timeline(tl, png, title=path.name))
                results.append(row)
            else:
                if samples is None:
                    samples = load_audio(path, clf.sampling_rate)
                results.append({"file": str(path), "duration": round(len(samples) / clf.sampling_rate, 3)})
                short.append((len(results) - 1, path, samples))
        except KeyboardInterrupt:
            raise
        except Exception as err:  # one bad file must not stop the others, nor print a traceback
            fail(path, err)
        if len(short) >= args.batch_size:
            failures += _classify_short(clf, short, results, args)
            short.clear()
    failures += _classify_short(clf, short, results, args)

    _print_table(results, clf.labels)
    for row in results:
        if row.get("timeline"):
            print(f"\n{row['file']}: {row['label']} {row['score']:.2f} over {len(row['timeline'])} windows")
            for w in row["timeline"]:
                tag = "  (silence)" if w["silent"] else f"  {_fmt_top(w['scores'])}"
                print(f"  {w['start']:8.2f} - {w['end']:8.2f} s  {w['label']:<10}{tag}")
    if args.csv:
        _write_csv(results, args.csv)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    ok = len(results) - failures
    print(f"\n{ok} of {len(results)} file(s) classified" + (f", {failures} failed" if failures else ""))
    return 1 if failures else 0


def _classify_short(clf: EmotionClassifier, short: list, results: list, args: argparse.Namespace) -> int:
    """Classify the queued short clips in one batched pass; per-file fallback if the batch fails."""
    if not short:
        return 0
    failures = 0
    silence = [{"label": SILENCE_LABEL, "score": 1.0}]
    if args.silence_db is not None:  # silent clips are reported as such, not given a made-up emotion
        for i, _, samples in short:
            if level_db(samples, clf.sampling_rate) < args.silence_db:
                results[i].update(label=SILENCE_LABEL, score=1.0, top_k=silence)
        short = [item for item in short if "label" not in results[item[0]]]
    try:
        probs = clf._probs_batched([s for _, _, s in short], [str(p) for _, p, _ in short], args.batch_size)
        for (i, _, _), p in zip(short, probs):
            top = _top(p, clf.labels, args.top_k)
            results[i].update(label=top[0]["label"], score=top[0]["score"], top_k=top)
    except Exception:
        for i, path, samples in short:  # find the one that failed; the others still get classified
            try:
                top = clf.classify(samples, top_k=args.top_k)
                results[i].update(label=top[0]["label"], score=top[0]["score"], top_k=top)
            except Exception as err:
                failures += 1
                message = str(err) if isinstance(err, SERError) else f"{path}: {type(err).__name__}: {err}"
                print(f"error: {message}", file=sys.stderr)
                results[i] = {"file": str(path), "error": message}
    return failures


def _print_table(results: list[dict[str, Any]], labels: Sequence[str]) -> None:
    rows = [
        (
            r["file"],
            f"{r['duration']:.2f}" if "duration" in r else "-",
            r.get("label", "ERROR"),
            f"{r['score']:.3f}" if "score" in r else "-",
            _fmt_top(r["top_k"]) if "top_k" in r else r.get("error", "")[:80],
        )
        for r in results
    ]
    head = ("file", "duration_s", "label", "score", "top-k")
    widths = [max(len(head[c]), *(len(row[c]) for row in rows)) for c in range(4)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)) + "  " + head[4])
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)) + "  " + row[4])


def _write_csv(results: list[dict[str, Any]], path: str) -> None:
    """One row per file (top-k as JSON text); long files add one row per window below their file row."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fields = ["file", "start", "end", "duration", "label", "score", "top_k", "error"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for r in results:
            writer.writerow(
                {
                    "file": r["file"],
                    "start": 0.0 if "duration" in r else "",
                    "end": r.get("duration", ""),
                    "duration": r.get("duration", ""),
                    "label": r.get("label", ""),
                    "score": r.get("score", ""),
                    "top_k": json.dumps(r["top_k"]) if "top_k" in r else "",
                    "error": r.get("error", ""),
                }
            )
            for w in r.get("timeline", []):
                writer.writerow(
                    {
                        "file": r["file"],
                        "start": w["start"],
                        "end": w["end"],
                        "duration": round(w["end"] - w["start"], 3),
                        "label": w["label"],
                        "score": w["score"],
                        "top_k": json.dumps(w["scores"]),
                        "error": "",
                    }
                )


def extract_audio(
    path: str | os.PathLike, out_path: str | os.PathLike, sampling_rate: int = DEFAULT_SAMPLING_RATE
) -> Path:
    """Write the audio track of ``path`` (video or audio) as a mono 16-bit wav at ``sampling_rate``.

    Uses the ``ffmpeg`` binary when present (streams, so any length fits in memory), else decodes
    with :func:`load_audio` and writes with :func:`write_wav`.
    """
    src, out = Path(path), Path(out_path)
    if not src.is_file():
        load_audio(src, sampling_rate)  # raises the precise error (missing, directory)
    out.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        write_wav(out, load_audio(src, sampling_rate), sampling_rate)
        return out
    cmd = [
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(src),
        "-vn",
        "-ac",
        "1",
        "-ar",
        str(sampling_rate),
        "-c:a",
        "pcm_s16le",
        "-f",
        "wav",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0 or not out.is_file() or out.stat().st_size <= 44:
        out.unlink(missing_ok=True)
        reason = (proc.stderr.strip().splitlines() or ["no audio track"])[-1][:200]
        raise SERError(f"has no decodable audio track (FFmpeg: {reason})", source=str(src))
    return out


def extract_audio_cli(argv: list[str]) -> int:
    """``ser-hf extract-audio VIDEO... --out DIR``: one 16 kHz mono wav per input."""
    p = argparse.ArgumentParser(
        prog="ser-hf extract-audio",
        description="Write the audio track of video (or audio) files as 16 kHz mono 16-bit wav files.",
    )
    p.add_argument("paths", nargs="+", metavar="VIDEO", help="files, folders or glob patterns")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the wav files")
    p.add_argument(
        "--sampling-rate", type=int, default=DEFAULT_SAMPLING_RATE, help="output rate (default 16000)"
    )
    args = p.parse_args(argv)
    files = find_media_files(args.paths, extensions=VIDEO_EXTENSIONS + MEDIA_EXTENSIONS)
    out_dir = Path(args.out)
    used: set[str] = set()
    failures = 0
    for path in files:
        name = f"{path.stem}.wav"
        if name in used:  # clip.mp4 and clip.webm must not overwrite each other
            name = f"{path.stem}-{path.suffix.lstrip('.')}.wav"
        used.add(name)
        try:
            out = extract_audio(path, out_dir / name, args.sampling_rate)
            duration, _, _ = audio_info(out)
            print(f"{path} -> {out} ({duration:.2f} s)")
        except Exception as err:
            failures += 1
            message = str(err) if isinstance(err, SERError) else f"{path}: {type(err).__name__}: {err}"
            print(f"error: {message}", file=sys.stderr)
    return 1 if failures else 0
