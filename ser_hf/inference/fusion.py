"""Fuse saved models into one: a fixed weighted average of their class probabilities.

The fused folder is an ordinary ``ser_hf`` model (``SERFusionForAudioClassification`` + its
``SERFusionFeatureExtractor``): it loads in the stock ``audio-classification`` pipeline, in
``EmotionClassifier``, ``ser-hf evaluate`` and the demo, and carries its remote code. The members'
weights are copied unchanged, so the fusion's probabilities equal
``sum_i w_i * member_i(clip)`` exactly as ``benchmarks/ensemble_cv.py`` computes them.

    ser-hf fuse --member runs/cv_functionals/fold_5/model runs/cv_b/fold_5 \\
        --weights 1 1 --out my_fusion
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import SERError
from ..models.configuration_ser import SERFusionConfig
from ..models.feature_extraction_functionals import (
    _TYPE_KEYS,
    SERFunctionalsFeatureExtractor,
    SERFusionFeatureExtractor,
)
from ..models.feature_extraction_ser import SERFeatureExtractor
from ..models.modeling_fusion import SERFusionForAudioClassification
from ..training.loading import load_feature_extractor, load_model
from .bundled import resolve_model_name

logger = logging.getLogger(__name__)


def build_fusion(
    members: Sequence[str | os.PathLike | tuple[Any, Any]], weights: Sequence[float] | None = None
) -> tuple[SERFusionForAudioClassification, SERFusionFeatureExtractor]:
    """One model from saved ``ser_hf`` models (folders, or ``(model, feature_extractor)`` pairs).

    Frame-feature members must share one feature extractor configuration and functionals members
    one functionals set (each member reads exactly the features it was trained on).

    Raises:
        SERError: a member of another kind, different labels, or front ends that cannot be shared.
    """
    if not members:
        raise SERError("give at least one member model to fuse")
    loaded = []
    for member in members:
        member = resolve_model_name(member)  # a bundled model's name ("cnn") is its folder
        if isinstance(member, (str, os.PathLike)):
            try:  # never the folder's own code; safetensors only
                model, fe = load_model(member), load_feature_extractor(member)
            except SERError as err:
                if not Path(str(member)).exists():  # read as a Hub id: the network error hides the typo
                    raise SERError(
                        "no such folder here (and no Hub model of that name could be loaded); check the "
                        "path, or give a Hub id as user/name",
                        source=str(member),
                    ) from err
                raise
            loaded.append((str(member), model, fe))
        else:
            model, fe = member
            loaded.append((type(model).__name__, model, fe))
    folders = [str(Path(source).resolve()) for source, _, _ in loaded if Path(source).is_dir()]
    if twice := sorted({f for f in folders if folders.count(f) > 1}):  # a slip, or a weight meant
        logger.warning(
            "%s given more than once: it counts as that many members (its weight added up); give each "
            "model once, with --weights for its share", ", ".join(twice),
        )  # fmt: skip
    frame, functionals = None, None
    for source, _model, fe in loaded:
        if isinstance(fe, SERFunctionalsFeatureExtractor):
            options = {
                "functionals": fe.functionals,
                "trim_db": fe.trim_db,
                "trim_margin_s": fe.trim_margin_s,
                "sampling_rate": fe.sampling_rate,
            }
            if functionals is not None and options != functionals:
                raise SERError(
                    f"its functionals {options} differ from another member's {functionals}; a fusion's "
                    "functionals members must share one functionals set (models of one functionals preset)",
                    source=source,
                )
            functionals = options
        elif isinstance(fe, SERFeatureExtractor):
            options = {k: v for k, v in fe.to_dict().items() if k not in _TYPE_KEYS}
            if frame is not None and options != frame:
                raise SERError(
                    "its feature extractor differs from another frame member's; frame members of a fusion "
                    "must share one feature extractor configuration",
                    source=source,
                )
            frame = options
        else:
            raise SERError(
                f"members must be ser_hf models; this one has a {type(fe).__name__}", source=source
            )
    config = SERFusionConfig(
        members=[model.config.to_dict() for _, model, _ in loaded],
        member_weights=list(weights) if weights is not None else None,
    )
    # what the members were trained on, for the card and its licence (they were lost)
    recorded = [getattr(model.config, "training_corpora", None) for _, model, _ in loaded]
    if all(recorded):
        config.training_corpora = sorted({str(c) for corpora in recorded for c in corpora})
    schemes = {getattr(model.config, "label_scheme", None) for _, model, _ in loaded}
    if len(schemes) == 1 and None not in schemes:
        config.label_scheme = schemes.pop()
    fusion = SERFusionForAudioClassification(config)
    for target, (_, model, _) in zip(fusion.members, loaded):
        target.load_state_dict(model.state_dict())
    fusion.eval()
    front = functionals or {"functionals": None, "sampling_rate": frame["sampling_rate"]}
    extractor = SERFusionFeatureExtractor(frame=frame, **front)
    return fusion, extractor
