"""Test-time adaptation from UNLABELLED clips: re-estimate a model's normalisation statistics.

Users often have many clips of one speaker or one microphone. Their features sit away from the
training corpora's (another voice, room, channel), which shifts every prediction the same way.
:func:`adapt_model` re-estimates, on the user's clips and never on labels:

* the standardisation mean of every linear functionals model (``feature_mean`` of
  :class:`~ser_hf.models.modeling_ser.FunctionalsLinearForAudioClassification`; the scale stays
  the training one), i.e. per-speaker feature centring;
* for a functionals model with a speaker head (``config.speaker_head``), the speaker's mean AND
  scale, and the switch to that head (fitted on per-speaker standardised training vectors);
* the running statistics of every BatchNorm layer (frame models: AdaBN).

It works on fusions too (each member adapts). Adapt on clips that hold a MIX of emotions: the
statistics of clips that are all angry would read anger as this speaker's neutral.
:func:`restore_model` undoes it. Both are safe beside forwards of other threads through a classifier's
PyTorch backend (see :mod:`ser_hf.training.adaptation_lock`).

Many voices without speaker labels: :func:`voice_groups` groups the clips by the voice encoder's
speaker embedding, so each group adapts on its own (``evaluate --adapt voices``).
"""

from __future__ import annotations

import copy
import itertools
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import SERError
from ..models.fitted_heads import changed_heads
from .adaptation_lock import CLIPS, SAVED, statistics_lock
from .cv_results import ADAPTED_DIRS

logger = logging.getLogger(__name__)

FEW_CLIPS = 10  # below this, adaptation was measured to hurt (benchmarks/RESULTS.md, session 13)
# cosine distance at which voice_groups cuts its tree; chosen on validation set-ups in session 23
# (benchmarks/exploration/2026-12-04-session23/voice_groups_rule.md; 0.3 and 0.4 scored within 0.01)
VOICE_DISTANCE = 0.35
_EMBEDDING = 256  # the "voice-encoder" block ends with the encoder's speaker embedding
MODES = tuple(ADAPTED_DIRS)  # "speaker", "corpus", "voices": the groups adapted on
_CHUNK = 16  # clips per voice-encoder call in voice_groups
# voice_groups clusters at most this many clips (average linkage holds the distance of every pair:
# 4,000 clips take 64 MB, 40,000 would take 6.4 GB); the others join their nearest clustered clip's group
_MAX_CLUSTERED = 4000


def adapt_mode(adapt: bool | str | None) -> str | None:
    """``adapt`` of ``evaluate`` / ``cv`` as the group adapted on: ``"speaker"`` (``True``),
    ``"corpus"`` (every speaker of a corpus together), ``"voices"`` (a corpus's clips grouped by
    :func:`voice_groups`), or None (no adaptation)."""
    if not adapt:
        return None
    mode = "speaker" if adapt is True else adapt
    if mode not in MODES:
        raise SERError(f"adapt is True, 'speaker', 'corpus' or 'voices', got {adapt!r}", source="adapt")
    return mode


def voice_groups(
    waves: Iterable[np.ndarray],
    sampling_rate: int = 16000,
    distance: float = VOICE_DISTANCE,
    min_clips: int = FEW_CLIPS,
) -> np.ndarray:
    """Group unlabelled clips by voice: one group id per clip, ``-1`` for clips left in groups of
    fewer than ``min_clips`` (adapt those on all the clips together). ``waves`` is read once, 16
    clips at a time, so a generator that decodes them one at a time works.

    The clips' speaker embeddings (the voice encoder's, on silence-trimmed clips) are
    clustered by average linkage on cosine distance, the tree cut at ``distance``. At the default
    cut the groups are few and broad (session 23, validation set-ups of four speakers: 1.5 groups of
    10+ clips each, not reliably one per gender; speaker purity 0.45), not one per speaker: adapting per
    group scored 0.632 against 0.625 for the whole set-up together and 0.678 per true speaker.
    Past 4,000 clips a seeded sample of 4,000 is clustered and each other clip joins the group of
    its most similar sampled clip, so memory stays bounded.

    ``waves``: sample arrays at ``sampling_rate``, or what ``adapt`` takes (paths, bytes, ...),
    decoded one at a time (at 16 kHz, the voice encoder's rate, whatever ``sampling_rate``).
    """
    from ..data.audio import load_audio, refuse_single, resample
    from ..models.feature_extraction_functionals import batch_functionals

    refuse_single(waves, "voice_groups", "pass the clips as a list (or a generator) of paths or arrays")
    rate = 16000  # the voice encoder's
    it = (
        resample(w.astype(np.float32, copy=False), sampling_rate, rate)
        if isinstance(w, np.ndarray) and w.dtype.kind == "f" and w.ndim == 1
        else load_audio(w, rate, source_rate=sampling_rate)
        for w in waves
    )
    chunks = [
        batch_functionals(batch, "voice-encoder", rate)[:, -_EMBEDDING:]
        for batch in iter(lambda: list(itertools.islice(it, _CHUNK)), [])
    ]
    emb = np.concatenate(chunks) if chunks else np.zeros((0, _EMBEDDING))
    ids = np.full(len(emb), -1)
    if len(emb) < max(2, min_clips):
        return ids
    labels = _cluster(emb, distance)
    big = [g for g in np.unique(labels) if (labels == g).sum() >= min_clips]
    for k, g in enumerate(big):
        ids[labels == g] = k
    logger.info(
        "voice groups: %d of %d clips in %d group(s) of %d or more",
        (ids >= 0).sum(),
        len(emb),
        len(big),
        min_clips,
    )
    return ids


def _cluster(emb: np.ndarray, distance: float) -> np.ndarray:
    """Average-linkage clusters of ``emb`` on cosine distance, cut at ``distance``; past
    ``_MAX_CLUSTERED`` clips, a seeded sample is clustered and every clip takes the cluster of its
    most similar sampled clip (memory stays bounded on a large folder)."""
    from sklearn.cluster import AgglomerativeClustering

    tree = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance
    )
    if len(emb) <= _MAX_CLUSTERED:
        return tree.fit_predict(emb)
    sample = np.sort(np.random.default_rng(0).choice(len(emb), _MAX_CLUSTERED, replace=False))
    sampled = tree.fit_predict(emb[sample])
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True).clip(1e-12)
    labels = np.empty(len(emb), dtype=int)
    for k in range(0, len(emb), 1024):
        labels[k : k + 1024] = sampled[(unit[k : k + 1024] @ unit[sample].T).argmax(1)]
    logger.info(
        "voice groups: %d clips clustered, the other %d joined them", len(sample), len(emb) - len(sample)
    )
    return labels


def _functionals_models(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if type(m).__name__ == "FunctionalsLinearForAudioClassification"]


def _batch_norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def _save_state(model: nn.Module, clips: int) -> None:
    state = getattr(model, SAVED, None)
    if state is not None:  # adapted already: the training statistics are saved, the count is new
        state[CLIPS] = clips
        return
    state = {CLIPS: clips}
    for i, m in enumerate(_functionals_models(model)):
        state[f"f{i}"] = m.feature_mean.detach().clone()
        if m.speaker_classifier is not None:
            state[f"s{i}"] = (m.speaker_mean.clone(), m.speaker_scale.clone(), m.speaker_adapted.clone())
    for i, bn in enumerate(_batch_norms(model)):
        if bn.running_mean is not None:
            state[f"b{i}"] = (
                bn.running_mean.clone(),
                bn.running_var.clone(),
                bn.num_batches_tracked.clone(),
                bn.momentum,
            )
    object.__setattr__(model, SAVED, state)


@torch.no_grad()
def _restore(model: nn.Module) -> None:
    state = getattr(model, SAVED, None)
    if state is None:
        return
    for i, m in enumerate(_functionals_models(model)):
        m.feature_mean.copy_(state[f"f{i}"])
        if f"s{i}" in state:
            for buffer, saved in zip((m.speaker_mean, m.speaker_scale, m.speaker_adapted), state[f"s{i}"]):
                buffer.copy_(saved)
    for i, bn in enumerate(_batch_norms(model)):
        if f"b{i}" in state:
            mean, var, count, momentum = state[f"b{i}"]
            bn.momentum = momentum
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)
            bn.num_batches_tracked.copy_(count)
    object.__delattr__(model, SAVED)


@torch.no_grad()
def _install(model: nn.Module, adapted: nn.Module) -> None:
    """Copy the statistics of ``adapted`` (a copy of ``model`` that adapted) into ``model``."""
    for m, new in zip(_functionals_models(model), _functionals_models(adapted)):
        m.feature_mean.copy_(new.feature_mean)
        if m.speaker_classifier is not None:
            for buffer, value in zip(
                (m.speaker_mean, m.speaker_scale, m.speaker_adapted),
                (new.speaker_mean, new.speaker_scale, new.speaker_adapted),
            ):
                buffer.copy_(value)
    for bn, new in zip(_batch_norms(model), _batch_norms(adapted)):
        if bn.running_mean is not None:
            bn.momentum = new.momentum
            bn.running_mean.copy_(new.running_mean)
            bn.running_var.copy_(new.running_var)
            bn.num_batches_tracked.copy_(new.num_batches_tracked)


def restore_model(model: nn.Module) -> nn.Module:
    """Put back the training statistics (a no-op on a model that was never adapted). Waits for an
    :func:`adapt_model` of the same model running on another thread, then restores; a forward
    through a classifier running meanwhile sees the adapted statistics or the training ones in full."""
    lock = statistics_lock(model)
    with lock.changing:
        if getattr(model, SAVED, None) is not None:  # never adapted: no write lock (a reset from a
            with lock.writing():  # thread inside a forward waited for its own read lock for good)
                _restore(model)
    return model


def _private_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` to adapt, sharing its parameters (adaptation only writes buffers), with
    the training statistics: its hooks and train-mode BatchNorm never touch the shared model."""
    copied = copy.deepcopy(model, {id(p): p for p in model.parameters()})
    _restore(copied)
    return copied


@torch.no_grad()
def adapt_model(model: nn.Module, inputs: Iterable[Mapping[str, Any]], min_clips: int = 2) -> nn.Module:
    """Re-estimate ``model``'s normalisation statistics on ``inputs`` (one feature-extractor output
    per clip, as tensors); labels are never used. Returns the model, in eval mode.

    The statistics are computed on a private copy of the model (sharing its parameters), so forwards
    of other threads meanwhile neither enter them nor run in train mode, then installed at once: a
    forward through a classifier sees the old statistics or the new ones in full. Adapting and
    :func:`restore_model` of one model run one at a time.

    Raises:
        SERError: with fewer than ``min_clips`` clips (statistics of one clip are its own
            features, which would cancel what the model should see), or for a model with
            nothing to adapt.
    """
    functionals, norms = _functionals_models(model), _batch_norms(model)
    if not functionals and not norms:
        raise SERError(
            f"{type(model).__name__} has no normalisation statistics to adapt (no functionals "
            "standardisation, no BatchNorm)",
            source="adapt",
        )
    inputs = list(inputs)
    if len(inputs) < min_clips:
        raise SERError(
            f"adaptation needs at least {min_clips} unlabelled clips of the speaker or microphone, got "
            f"{len(inputs)}; give more clips (a mix of emotions) or classify without adapting",
            source="adapt",
        )
    if len(inputs) < FEW_CLIPS:
        logger.warning(
            "adapting on %d clips: statistics of fewer than %d clips can LOWER accuracy (measured: 3 or 5 "
            "clips of a speaker below no adaptation, 10 or more above it); give more clips if you have them",
            len(inputs),
            FEW_CLIPS,
        )
    lock = statistics_lock(model)
    with lock.changing:
        adapted = _private_copy(model)
        _estimate(adapted, inputs)
        with lock.writing():
            _save_state(model, len(inputs))
            _install(model, adapted)
            model.eval()
    logger.info(
        "adapted %d functionals standardisation(s) and %d BatchNorm layer(s) on %d clips",
        len(functionals),
        len(norms),
        len(inputs),
    )
    return model


@torch.no_grad()
def _estimate(model: nn.Module, inputs: list[Mapping[str, Any]]) -> None:
    """Re-estimate the statistics of ``model`` (the private copy) on ``inputs``, in place."""
    functionals, norms = _functionals_models(model), _batch_norms(model)
    seen: dict[int, list[torch.Tensor]] = {id(m): [] for m in functionals}
    hooks = [
        m.register_forward_pre_hook(
            lambda mod, args, kwargs: seen[id(mod)].append(
                (kwargs.get("input_features") if "input_features" in kwargs else args[0]).detach().double()
            ),
            with_kwargs=True,
        )
        for m in functionals
    ]
    for bn in norms:  # cumulative average over the clips, starting afresh
        bn.reset_running_stats()
        bn.momentum = None
    model.eval()
    for bn in norms:
        bn.train()
    try:
        for features in inputs:
            model(**features)
    finally:
        for h in hooks:
            h.remove()
        model.eval()
    for m in functionals:
        stacked = torch.cat(seen[id(m)])
        mean = stacked.mean(0)
        m.feature_mean.copy_(mean.to(m.feature_mean.dtype))
        if m.speaker_classifier is not None and (changed := changed_heads(m)):
            logger.warning(
                "adapt: the speaker head was fitted beside another classifier than this model's (%s changed "
                "since ser_hf saved it): adapting the plain standardisation, not switching to that head",
                " and ".join(changed),
            )
        elif m.speaker_classifier is not None:  # the speaker's own standardisation, then its head
            scale = stacked.std(0, correction=0)
            m.speaker_mean.copy_(mean.to(m.speaker_mean.dtype))
            m.speaker_scale.copy_(
                torch.where(scale > 0, scale, torch.ones_like(scale)).to(m.speaker_scale.dtype)
            )
            m.speaker_adapted.fill_(1.0)
