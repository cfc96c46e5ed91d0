"""Offline augmentation: N augmented copies of each TRAINING clip, as arrays or a new dataset.

Pass only the training split (after the speaker split): copies of validation or test clips would
leak them into training. The copies are drawn by a :class:`~ser_hf.data.augment.WaveformAugmenter`.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..errors import SERError
from .augment import AugmentConfig, WaveformAugmenter

logger = logging.getLogger(__name__)


def _to_clip_list(
    waveforms: Sequence[np.ndarray] | torch.Tensor | np.ndarray, lengths: Sequence[int] | torch.Tensor | None
) -> list[np.ndarray]:
    if isinstance(waveforms, (torch.Tensor, np.ndarray)) and np.ndim(waveforms) == 2:
        padded = torch.as_tensor(waveforms).detach().cpu().float().numpy()
        lens = [padded.shape[1]] * padded.shape[0] if lengths is None else [int(n) for n in lengths]
        return [padded[i, : lens[i]] for i in range(padded.shape[0])]
    clips = [np.asarray(w, dtype=np.float32) for w in waveforms]
    for i, clip in enumerate(clips):
        if clip.ndim != 1:
            raise SERError(f"clip {i} is shaped {clip.shape}; pass mono 1-D arrays", source="expand_offline")
    if lengths is not None:
        clips = [clip[: int(n)] for clip, n in zip(clips, lengths)]
    return clips


def expand_offline(
    waveforms: Sequence[np.ndarray] | torch.Tensor | np.ndarray,
    lengths: Sequence[int] | torch.Tensor | None,
    labels: Sequence[Any],
    copies: int,
    config: AugmentConfig,
    seed: int = 0,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
    sampling_rate: int = 16000,
    include_original: bool = False,
) -> tuple[list[np.ndarray], list[Any], list[int]]:
    """``copies`` augmented versions of every clip given, computed in batches on ``device``.

    Pass the TRAINING split only: the function augments whatever it receives, and augmented copies
    of validation or test clips would leak into training.

    Args:
        waveforms: a list of 1-D float arrays, or a padded (B, N) array/tensor with ``lengths``.
        lengths: real samples per clip for a padded input (None: whole arrays).
        labels: one label per clip (any type), copied to its augmented versions.
        copies: augmented versions per clip (the seed design used 2, another design 6).
        config: the transforms (``crop_seconds`` etc. apply as on the fly).
        seed: for the torch generator; the result is reproducible for the same seed and batch size.
        batch_size: rows per augmentation call (clips are sorted by length to limit padding).
        device: where the batches are augmented ("cuda" when available).
        sampling_rate: of the waveforms.
        include_original: also return each clip itself (first, unaugmented).

    Returns:
        ``(arrays, labels, source_index)``: float32 1-D arrays trimmed to their real length, their
        labels, and the index of the clip each came from; rows of one source are contiguous, in
        source order (original first when included, then copy 0, 1, ...).
    """
    clips = _to_clip_list(waveforms, lengths)
    if len(labels) != len(clips):
        raise SERError(f"{len(labels)} labels for {len(clips)} clips", source="expand_offline")
    if copies < 0:
        raise SERError(f"copies must be >= 0, got {copies}", source="expand_offline")
    device = torch.device(device)
    per_source = copies + int(include_original)
    outputs: list[np.ndarray | None] = [None] * (len(clips) * per_source)
    jobs = [(i, c) for i in range(len(clips)) for c in range(copies)]
    jobs.sort(key=lambda job: (len(clips[job[0]]), job))
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    augmenter = WaveformAugmenter(config, sampling_rate).to(device).train()
    for start in range(0, len(jobs), max(1, batch_size)):
        chunk = jobs[start : start + max(1, batch_size)]
        lens = torch.tensor([len(clips[i]) for i, _ in chunk], dtype=torch.long)
        batch = torch.zeros(len(chunk), max(1, int(lens.max())), dtype=torch.float32)
        for row, (i, _) in enumerate(chunk):
            batch[row, : lens[row]] = torch.from_numpy(clips[i])
        out, out_lens = augmenter(batch.to(device), lens.to(device), generator=generator)
        out, out_lens = out.cpu().numpy(), out_lens.cpu().tolist()
        for row, (i, c) in enumerate(chunk):
            outputs[i * per_source + int(include_original) + c] = out[row, : out_lens[row]].copy()
    if include_original:
        for i, clip in enumerate(clips):
            outputs[i * per_source] = clip.copy()
    source_index = [i for i in range(len(clips)) for _ in range(per_source)]
    logger.info(
        "offline augmentation: %d clips -> %d rows (%d copies each)", len(clips), len(outputs), copies
    )
    return outputs, [labels[i] for i in source_index], source_index  # type: ignore[return-value]


def augmented_dataset(
    arrays: Sequence[np.ndarray],
    labels: Sequence[Any],
    source_index: Sequence[int],
    sampling_rate: int = 16000,
    label_feature: Any = None,
    audio_feature: bool = True,
    label_column: str = "emotion",
    audio_column: str = "audio",
) -> Any:
    """A ``datasets.Dataset`` of offline-augmented clips, ready for ``save_to_disk``.

    Columns: ``audio`` (an ``Audio(sampling_rate, num_channels=1)`` feature when ``audio_feature``,
    stored as float WAV bytes and decoded on demand like a corpus; else raw float32 sequences), ``emotion`` (cast to
    ``label_feature``, e.g. the training split's ``ClassLabel``, when given) and ``source_index``.
    """
    import datasets

    if audio_feature:
        import soundfile

        # 32-bit float WAV bytes: lossless, and no clipping of copies that a gain pushed past 1.0
        # (datasets' own encoding writes 16-bit PCM)
        audio = []
        for a in arrays:
            buffer = io.BytesIO()
            soundfile.write(
                buffer, np.asarray(a, dtype=np.float32), sampling_rate, format="WAV", subtype="FLOAT"
            )
            audio.append({"bytes": buffer.getvalue(), "path": None})
        audio_type: Any = datasets.Audio(sampling_rate=sampling_rate, num_channels=1)
    else:
        audio = [np.asarray(a, dtype=np.float32) for a in arrays]
        audio_type = datasets.List(datasets.Value("float32"))
    label_type = label_feature
    if label_type is None:
        label_type = (
            datasets.Value("int64")
            if all(isinstance(v, (int, np.integer)) for v in labels)
            else datasets.Value("string")
        )
    features = datasets.Features(
        {audio_column: audio_type, label_column: label_type, "source_index": datasets.Value("int64")}
    )
    return datasets.Dataset.from_dict(
        {audio_column: audio, label_column: list(labels), "source_index": [int(i) for i in source_index]},
        features=features,
    )


def expand_dataset(
    dataset: Any,
    copies: int,
    config: AugmentConfig,
    seed: int = 0,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
    audio_column: str = "audio",
    label_column: str = "emotion",
    include_original: bool = False,
) -> Any:
    """Offline expansion of a TRAINING ``datasets.Dataset`` (decoded audio column + label column).

    Decodes every clip, runs :func:`expand_offline`, and returns :func:`augmented_dataset` with the
    source's label feature plus its other light columns (speaker, gender, ...) copied by
    ``source_index``, so the result can be concatenated with or replace the training split.
    """
    if audio_column not in dataset.column_names or label_column not in dataset.column_names:
        raise SERError(
            f"dataset needs columns {audio_column!r} and {label_column!r}; it has {dataset.column_names}",
            source="expand_dataset",
        )
    arrays, rates = [], set()
    for row in dataset.select_columns([audio_column]):
        audio = row[audio_column]
        if isinstance(audio, (list, np.ndarray)):
            arrays.append(np.asarray(audio, dtype=np.float32))
            continue
        arrays.append(np.asarray(audio["array"], dtype=np.float32).reshape(-1))
        rates.add(int(audio["sampling_rate"]))
    if len(rates) > 1:
        raise SERError(
            f"clips have several sampling rates {sorted(rates)}; cast the column with Audio(sampling_rate=16000)",
            source="expand_dataset",
        )
    sampling_rate = rates.pop() if rates else 16000
    labels = dataset[label_column]
    out, out_labels, source_index = expand_offline(
        arrays, None, labels, copies, config, seed, batch_size, device, sampling_rate, include_original
    )
    result = augmented_dataset(
        out,
        out_labels,
        source_index,
        sampling_rate,
        label_feature=dataset.features[label_column],
        label_column=label_column,
        audio_column=audio_column,
    )
    extra = [c for c in dataset.column_names if c not in (audio_column, label_column, "source_index")]
    if extra:
        meta = dataset.select_columns(extra).select(source_index)
        for name in extra:
            result = result.add_column(name, meta[name], feature=meta.features[name])
    return result
