"""From a classifier's decoded clips to the scores a call returns: their features on the backend's
device (a pretrained encoder's own extractor, short clips padded), the softmax over the classes kept
(:meth:`~ser_hf.inference.classifier.EmotionClassifier.restrict`'s: :func:`class_indices`), non-finite
scores refused, and the ``top_k`` labels sorted by score."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import SERError
from ..models.feature_extraction_ser import MIN_CLIP_SECONDS
from .backends import _softmax
from .fork_threads import note_threads

logger = logging.getLogger("ser_hf.inference.inputs")  # moved messages keep their logger


def _pad_short(samples: np.ndarray, rate: int) -> np.ndarray:
    """A pretrained encoder's stock extractor (the backbone family) does not pad short clips as
    our frame extractor does (``MIN_CLIP_SECONDS``), and its CNN needs the frames: pad them here."""
    need = int(MIN_CLIP_SECONDS * rate)
    return samples if samples.size >= need else np.pad(samples, (0, need - samples.size))


def clip_features(classifier: Any, clips: Sequence[np.ndarray]) -> tuple[Any, Any, dict[str, Any]]:
    """Padded ``(B, T, F)`` float32 features, ``(B, T)`` int64 mask and the extractor's other
    outputs (a fusion's ``functionals``) of ``classifier``'s 16 kHz mono clips."""
    note_threads()  # before the first torch operation: a fork after it gets one thread
    device = getattr(classifier.backend, "device", None)
    fe = classifier.feature_extractor
    kwargs = {"device": device} if device is not None and _accepts_device(fe) else {}
    if type(fe).__module__.startswith("transformers.models."):
        # a pretrained encoder's own extractor (the backbone family): pad the batch, keep lengths
        from ..training.backbone import encoder_extractor_kwargs

        kwargs.update(encoder_extractor_kwargs(fe))
        clips = [_pad_short(c, classifier.sampling_rate) for c in clips]
    out = fe(
        clips,
        sampling_rate=classifier.sampling_rate,
        return_tensors="pt",
        **kwargs,
    )
    # a fusion of functionals models has no frame features: only its ``functionals``
    key = next((k for k in ("input_features", "input_values") if k in out), None)
    feats = out[key] if key else None
    mask = out.get("attention_mask")
    if mask is None:
        mask = np.ones(feats.shape[:2] if key else (len(clips), 1), dtype=np.int64)
    extra = {k: v for k, v in out.items() if k not in (key, "attention_mask")}
    return feats, mask, extra


def _accepts_device(fe: Any) -> bool:
    import inspect

    try:
        return "device" in inspect.signature(fe.__call__).parameters
    except (TypeError, ValueError):
        return False


def softmax_kept(logits: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    """Softmax over the classes ``keep`` (``restrict()``'s; all when None)."""
    logits = np.asarray(logits)
    return _softmax(logits if keep is None else logits[..., keep])


def finite_probs(logits: np.ndarray, sources: Sequence[str] | None, keep: np.ndarray | None) -> np.ndarray:
    """``(B, len(keep))`` probabilities of ``logits``; raises SERError instead of returning NaN."""
    probs = softmax_kept(logits, keep)
    bad = ~np.isfinite(probs).all(axis=1)
    if bad.any():
        where = sources[int(np.argmax(bad))] if sources else "audio"
        raise SERError("the model produced non-finite scores for this input; check the model", source=where)
    return probs


def _top(probs: np.ndarray, labels: Sequence[str], top_k: int | None) -> list[dict[str, Any]]:
    """[{"label", "score"}] sorted by score, highest first, ``top_k`` of them (all when None)."""
    order = np.argsort(-probs, kind="stable")
    if top_k is not None:
        order = order[: check_top_k(top_k)]
    return [{"label": labels[i], "score": float(probs[i])} for i in order]


def check_top_k(top_k: Any) -> int:
    """``top_k`` as a count of labels, 1 or more (0, -1 and 2.5 used to mean 1, 1 and 2)."""
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise SERError("give a whole number of labels, 1 or more (None: all)", source=f"top_k={top_k!r}")
    return int(top_k)


def class_indices(names: Sequence[Any], model_labels: Sequence[str], source: str) -> np.ndarray:
    """The sorted indices in ``model_labels`` of ``names`` (:meth:`EmotionClassifier.restrict`): as
    given, in any case, by a corpus's spelling (``"anger"`` for ``angry``), or the class the
    harmonised classes merge a name into (``"calm"`` is a model's ``neutral``)."""
    from ..data.labels import CANONICAL_EMOTIONS, map_label, normalize_emotion

    index = {name: i for i, name in enumerate(model_labels)}
    folded = {  # case, as corpora merge it, and the usual name of each class ('Fear': 'fearful')
        **{(normalize_emotion(name) or name).strip().lower(): i for name, i in index.items()},
        **{name.strip().lower(): i for name, i in index.items()},
    }
    keep = set()
    for name in names:  # as given, then 'fear' or its usual name 'fearful', whatever the model's case
        spellings = (str(name).strip().lower(), str(normalize_emotion(name) or name).strip().lower())
        i = index.get(name, next((folded[s] for s in spellings if s in folded), None))
        if i is not None and str(name).strip().lower() != model_labels[i].strip().lower():
            logger.info(
                "%r is scored as the model's %r (one emotion by ser_hf's names)", name, model_labels[i]
            )
        if i is None and normalize_emotion(name) in CANONICAL_EMOTIONS:  # calm, on a model without calm
            i = folded.get(map_label(normalize_emotion(name), "harmonized7") or "")
            if i is not None:
                logger.info("%r is scored as %r (the harmonised classes merge them)", name, model_labels[i])
        if i is None:
            raise SERError(
                f"{name!r} is not one of this model's classes {list(model_labels)}; restrict to some of those",
                source=source,
            )
        keep.add(i)
    if len(keep) < 2:
        raise SERError("restrict to at least two classes (one class would always score 1)", source=source)
    return np.array(sorted(keep))
