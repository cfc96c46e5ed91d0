"""Knowledge distillation: a fast student learns from a teacher's soft labels.

``ser-hf distill --teacher DIR --preset P ...`` (or ``ser-hf train --teacher DIR``) runs the normal
training of preset ``P`` with one change: every TRAINING clip (and every offline-augmented copy)
also carries the teacher's class probabilities, computed once before training, and the loss is

    (1 - alpha) * the preset's own loss on the labels  +  alpha * T^2 * KL(teacher_T || student_T)

with both distributions softened by the temperature ``T`` (Hinton et al., 2015). The logistic-
regression presets, which have no gradient loop here, fit the same mixture as sample weights:
each clip is repeated once per class (``functionals.distillation_weights``) with weight ``(1 - alpha) * [c == label] + alpha * p_teacher(c)``
(times the clip's balanced class weight). Validation and test speakers never reach the teacher,
so a student is chosen and scored exactly like any other model; ``ser-hf cv --teacher-preset``
trains the teacher inside each fold so its numbers stay speaker-independent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SERError
from .loading import load_feature_extractor, load_model

logger = logging.getLogger(__name__)


def label_map(teacher_labels: Sequence[str], student_labels: Sequence[str]) -> list[int]:
    """For every teacher class, the student class of the same name, or -1 (mass dropped).

    Raises :class:`SERError` naming both label sets when they share fewer than two classes."""
    index = {name.lower(): i for i, name in enumerate(student_labels)}
    mapping = [index.get(str(name).lower(), -1) for name in teacher_labels]
    if sum(m >= 0 for m in mapping) < 2:
        raise SERError(
            f"the teacher's labels {list(teacher_labels)} share fewer than two classes with the student's "
            f"{list(student_labels)}; train the teacher on the same label scheme (--label_scheme)",
            source="--teacher",
        )
    dropped = [str(t) for t, m in zip(teacher_labels, mapping) if m < 0]
    unseen = sorted(set(range(len(student_labels))) - set(mapping))
    if dropped or unseen:  # e.g. a 7-class teacher (calm folded into neutral) for an 8-class student
        logger.warning(
            "the teacher and the student do not share every class: %s%s; train them on the same label "
            "scheme (--label_scheme) for a full teacher",
            f"the teacher's {dropped} are dropped" if dropped else "",
            (", " if dropped else "")
            + (
                f"the student's {[student_labels[i] for i in unseen]} get no teacher probability"
                if unseen
                else ""
            ),
        )
    return mapping


def teacher_probabilities(
    teacher_dir: str | Path,
    clips: Sequence[np.ndarray],
    student_labels: Sequence[str],
    sampling_rate: int = 16000,
    cache: Any = None,
) -> np.ndarray:
    """``(len(clips), len(student_labels))``: the teacher's probabilities over the student's classes.

    Clip by clip (memory does not grow with the corpus); an empty clip gets an all-zero row.
    Teacher classes the student lacks are dropped and each row renormalised. A functionals teacher
    reads its vectors through ``cache`` (a :class:`~ser_hf.training.feature_cache.FeatureCache`).
    """
    import torch

    path = Path(teacher_dir)
    if not (path / "config.json").is_file():
        raise SERError(
            "not a saved model folder (no config.json); give the output_dir of a finished training run",
            source=str(path),
        )
    model = load_model(path).eval()  # never the folder's own code; safetensors only
    extractor = load_feature_extractor(path)
    teacher_labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    # (teacher classes, student classes): 1 where the names match; unmatched teacher mass is dropped
    to_student = np.zeros((len(teacher_labels), len(student_labels)), dtype=np.float32)
    for t, s in enumerate(label_map(teacher_labels, student_labels)):
        if s >= 0:
            to_student[t, s] = 1.0
    ok = [i for i, c in enumerate(clips) if len(c)]
    if type(extractor).__name__ == "SERFunctionalsFeatureExtractor":
        from .linear import predict_probabilities

        probs = predict_probabilities(model, extractor, [clips[i] for i in ok], cache)
    else:
        rows = []
        with torch.inference_mode():
            for i in ok:
                feats = extractor(np.asarray(clips[i]), sampling_rate=sampling_rate, return_tensors="pt")
                rows.append(torch.softmax(model(**feats).logits.float(), -1)[0].numpy())
        probs = np.stack(rows) if rows else np.zeros((0, len(teacher_labels)), dtype=np.float32)
    out = np.zeros((len(clips), len(student_labels)), dtype=np.float32)
    mapped = probs @ to_student
    out[ok] = mapped / np.maximum(mapped.sum(-1, keepdims=True), 1e-8)
    logger.info("teacher %s: soft labels for %d clips", path, len(clips))
    return out


def soften(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``p^(1/T)`` renormalised: the teacher's distribution at temperature ``T``."""
    if temperature == 1.0:
        return probs
    powered = np.power(np.clip(probs, 1e-12, 1.0), 1.0 / temperature) * (probs > 0)
    return powered / np.maximum(powered.sum(-1, keepdims=True), 1e-12)
