"""Corpus rows -> decoded training clips: load, split by speaker, decode every clip ONCE.

:class:`WaveformStore` keeps every decoded clip in one flat float32 tensor (on the training device
when it fits); the dataloader only moves clip indices and labels (:class:`ClipDataset`,
:func:`collate_clips`), and the trainer turns them into model inputs on the device.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.labels import parse_label_map
from ..errors import SERError
from .arguments import DataArguments

SAMPLING_RATE = 16000


logger = logging.getLogger(__name__)


def load_rows(data_args: DataArguments, return_splits: bool = False, return_names: bool = False) -> Any:
    """The labelled rows as a ``datasets.Dataset`` (columns of :mod:`ser_hf.data.corpora`: audio, path,
    emotion (ClassLabel), speaker, gender, corpus, ...). No audio is decoded here.

    Exactly one source: ``--corpus`` (one or more), ``--hub_dataset`` or ``--audiofolder``. Data with
    splits of their own are read as ``--hub_split`` says; without it, their ``train`` split, and with
    ``--split dataset`` or no ``--split``, their validation split too. ``return_splits``: return
    ``(dataset, the split of each row)`` (``[]`` when no source has splits) for :func:`make_split`;
    ``return_names``: with each row's name as ``ser-hf corpus`` gives it last (``parquet DIR
    train[3] clip.wav``, None for rows of files: :func:`ser_hf.data.rows.dataset_row_names`), which
    :func:`decode_rows` names a row by whose path names no one row.
    """
    from ..data import corpora

    sources = [bool(data_args.corpus), bool(data_args.hub_dataset), bool(data_args.audiofolder)]
    if sum(sources) != 1:
        raise SERError(
            "give exactly one data source: --corpus NAME=DIR (repeatable), --hub_dataset PATH_OR_ID or "
            "--audiofolder DIR",
            source="ser-hf train",
        )
    scheme = {} if data_args.label_scheme is None else {"label_scheme": data_args.label_scheme}
    columns = {  # for generic data (a folder or dataset of your own); known corpora have their own
        "audio_column": data_args.audio_column,
        "label_column": data_args.label_column,
        "speaker_column": data_args.speaker_column,
        "gender_column": data_args.gender_column,
        "label_map": parse_label_map(data_args.label_map),
        "split": data_args.hub_split,
        # the data's own validation split is the validation part unless --split says otherwise
        "default_split": "train+validation" if _split_kind(data_args.split) in ("", "dataset") else "train",
        "return_report": True,
    }
    if data_args.corpus:
        specs = []
        for spec in data_args.corpus:
            if "=" not in spec:
                raise SERError(
                    f"corpus spec {spec!r} must be NAME=DIR, e.g. ravdess=/data/ravdess", source=spec
                )
            name, path = spec.split("=", 1)
            specs.append((name.strip().lower(), path.strip()))
        if len(specs) == 1:
            ds, report = corpora.load_corpus(specs[0][0], specs[0][1], **scheme, **columns)
            reports = [report]
        else:
            ds, reports = corpora.load_corpora(specs, **scheme, **columns)
    elif data_args.audiofolder:
        ds, report = corpora.load_corpus("audiofolder", data_args.audiofolder, **scheme, **columns)
        reports = [report]
    else:  # a Hub id, or a folder (save_to_disk, parquet files, audiofolder) that corpora auto-detects
        ds, report = corpora.load_corpus(data_args.hub_dataset, None, **scheme, **columns)
        reports = [report]
    from ..data.dataset_splits import canonical_split

    for r in reports:  # a dataset of one split, "test": its test clips became training clips unsaid
        tests = [s for s in r.splits_read if canonical_split(s) == "test"]
        if tests and data_args.hub_split is None:
            logger.warning(
                "%s: training on its split %r, the only one it has: a test split, by its name",
                r.corpus,
                tests[0],
            )
    from ..data.rows import dataset_row_names

    out = [ds]
    if return_splits:  # a corpus without splits of its own is training data ("")
        row_splits = [s for r in reports for s in (r.row_splits or [""] * r.rows)]
        out.append(row_splits if any(r.row_splits for r in reports) else [])
    if return_names:
        out.append(dataset_row_names(reports, len(ds)))
    return out[0] if len(out) == 1 else tuple(out)


def _split_kind(spec: str | None) -> str:
    return (spec or "").strip().partition(":")[0].lower()


def _fold(folds: Sequence[Any], index: str, what: str) -> Any:
    """Fold ``index`` of ``folds``; a negative or too large one is an error, not Python's indexing."""
    k = int(index)
    if not 0 <= k < len(folds):
        raise SERError(f"fold {k} does not exist: {what} has folds 0 to {len(folds) - 1}")
    return folds[k]


def make_split(ds: Any, data_args: DataArguments, seed: int, row_splits: Sequence[str] = ()) -> Any:
    """Turn ``--split`` into a :class:`ser_hf.data.splits.Split` (row indices + speakers of each part).

    Validation speakers always come from the training speakers of the split (gender-balanced,
    ``num_val_speakers`` of them), so test speakers never influence model selection; but with
    ``dataset`` the data's own splits are the parts (``row_splits``: the split of each row, from
    :func:`load_rows`). No ``--split`` (None) is ``dataset`` when the rows hold a validation split of
    the data's own, else ``none``; ``data_args.split`` is set to it.
    """
    from ..data import folds
    from ..data.dataset_splits import canonical_split

    if data_args.split is None or not str(data_args.split).strip():
        has_validation = any(canonical_split(s) == "validation" for s in row_splits)
        data_args.split = "dataset" if has_validation else "none"
    spec = data_args.split.strip()
    kind, _, value = spec.partition(":")
    kind = kind.lower()
    # not given (None): the default 4, at most half the training speakers of each split
    cap = data_args.num_val_speakers is None
    n_val = folds.DEFAULT_VALIDATION if cap else max(0, int(data_args.num_val_speakers))
    try:
        if kind == "dataset":
            split = _dataset_split(ds, row_splits, seed)
        else:
            split = _speaker_split(ds, data_args, seed, spec, kind, value, n_val, cap)
        if row_splits:  # which of the data's splits the rows are (evaluate --split model reads them again)
            split.dataset_splits = [s for s in dict.fromkeys(row_splits) if s]
        return split
    except SERError as err:
        # "--split none: cannot take 4 validation speakers ...", not "none: validation_speakers: ...":
        # the option and its value, for the inner source (a function's or protocol's name, a
        # manifest's path the value holds)
        raise SERError(err.bare_message, source=f"--split {spec}") from err
    except (ValueError, IndexError) as err:
        raise SERError(
            f"bad split value ({err}); e.g. ravdess-fold:0, kfold:2/5, loso:06", source=f"--split {spec}"
        ) from err


def _dataset_split(ds: Any, row_splits: Sequence[str], seed: int) -> Any:
    """The data's own splits as the parts: its validation split the validation part, its test split
    (when read) the test part, the rest training."""
    from ..data import splits
    from ..data.dataset_splits import canonical_split

    read = [s for s in dict.fromkeys(row_splits) if s]
    if not read:
        raise SERError(
            "the data have no splits of their own (a save_to_disk DatasetDict, a Hub dataset, parquet files "
            "named train-*/validation-*/test-*, an audio folder of train/ validation/ test/ folders): choose "
            "another --split (none, kfold:K/N, ...)"
        )
    part_of = {"validation": "validation", "test": "test"}
    parts: dict[str, list[int]] = {"train": [], "validation": [], "test": []}
    for i, name in enumerate(row_splits):
        parts[part_of.get(canonical_split(name), "train") if name else "train"].append(i)
    names = {p: [s for s in read if (part_of.get(canonical_split(s), "train")) == p] for p in parts}
    if not parts["validation"]:
        raise SERError(
            f"the splits read ({', '.join(read)}) hold no validation split; read it with --hub_split "
            "train+validation, or draw validation speakers from the training ones with --split none"
        )
    speakers = [str(x) for x in ds["speaker"]]
    spk = {p: sorted({speakers[i] for i in rows}) for p, rows in parts.items()}
    shared = sorted(
        (set(spk["train"]) & set(spk["validation"]))
        | (set(spk["test"]) & (set(spk["train"]) | set(spk["validation"])))
    )
    if shared:
        logger.warning(
            "the data's own splits share speakers (%s%s): its validation%s figures are not speaker-independent; "
            "--split none or kfold:K/N split by speaker",
            ", ".join(shared[:5]), " ..." if len(shared) > 5 else "", " and test" if parts["test"] else "",
        )  # fmt: skip
    left = ", ".join(names["test"]) if parts["test"] else None
    description = (
        f"the data's own splits: {'+'.join(names['train'] or ['the corpora without splits'])} to train, "
        f"{'+'.join(names['validation'])} to validate" + (f", {left} to test" if left else "")
    )
    logger.info("split dataset: %s (%d / %d / %d clips)", description, *(len(parts[p]) for p in parts))
    return splits.Split(
        protocol="dataset_splits",
        train=parts["train"],
        validation=parts["validation"],
        test=parts["test"],
        train_speakers=spk["train"],
        validation_speakers=spk["validation"],
        test_speakers=spk["test"],
        speaker_independent=not shared,
        description=description,
        seed=seed,
        row_ids=splits._meta(ds).row_ids,  # so manifest:split.json checks it is the same data
    )


def _speaker_split(
    ds: Any, data_args: Any, seed: int, spec: str, kind: str, value: str, n_val: int, cap: bool
) -> Any:
    """The speaker (or clip) split ``spec`` names; ``cap``: ``n_val`` is the default (at most half the
    training speakers)."""
    from ..data import folds, splits

    if kind == "manifest":
        path, _, fold = value.partition("@")
        data = json.loads(Path(path).read_text(encoding="utf-8")) if Path(path).is_file() else None
        if data is None:
            raise SERError("split manifest not found", source=path)
        try:
            if "splits" in data:  # a SplitManifest of several folds: manifest:PATH@K
                split = _fold(splits.SplitManifest.from_json(path).splits, fold or "0", "the manifest")
            else:
                split = splits.Split.from_json(path)
        except (KeyError, TypeError, AttributeError) as err:
            raise SERError(
                f"not a ser_hf split manifest (no {err} entry); write one with ser-hf train", source=path
            ) from err
        if split.row_ids is not None:
            split.verify(ds)
        bad = [
            r
            for part in (split.train, split.validation, split.test)
            for r in part
            if not 0 <= int(r) < len(ds)
        ]
        if bad:
            raise SERError(f"row {bad[0]} is not a row of this data (0 to {len(ds) - 1})", source=path)
        return split
    if kind == "random":
        frac = data_args.val_fraction
        return folds.random_stratified_split(
            ds, train_size=1 - 2 * frac, validation_size=frac, test_size=frac, seed=seed
        )
    # the fold asked for alone (the same as in the full list): its validation warnings, not every fold's
    if kind == "ravdess-fold":
        k = _fold(range(6), value, "the RAVDESS protocol")
        (split,) = folds.ravdess_protocol_folds(
            ds, seed=seed, n_validation=n_val, only=[k], cap_validation=cap
        )
        return split
    if kind in ("kfold", "speaker-fold"):
        fold, _, n = value.partition("/")
        k = _fold(range(max(int(n or 5), 2)), fold, f"kfold:K/{n or 5}")  # 0 or 1 folds: speaker_kfold says
        return folds.speaker_kfold(
            ds, int(n or 5), seed=seed, n_validation=n_val, only=[k], cap_validation=cap
        )[0]
    if kind == "loco":  # cross-corpus: train on the other corpora, test on every clip of this one
        from ..data.rows import _slug  # the corpus as its rows name it: loco:My-Lab is my_lab

        return folds.leave_one_corpus_out(
            ds, _slug(value.strip()), seed=seed, n_validation=n_val, cap_validation=cap
        )
    if kind == "loso":
        speakers = sorted(set(splits._meta(ds).speaker))
        # "06" names "ravdess_06" when only one corpus has that speaker
        matches = [s for s in speakers if s == value] or [s for s in speakers if s.endswith("_" + value)]
        if len(matches) != 1:
            raise SERError(f"speaker {value!r} not (or not uniquely) in the data; speakers: {speakers}")
        # the fold of that speaker alone: its validation warnings, not every other fold's
        return folds.leave_one_speaker_out(
            ds, seed=seed, n_validation=n_val, only=matches, cap_validation=cap
        )[0]
    if kind == "none":
        speaker_list = [str(x) for x in ds["speaker"]]
        genders = ds["gender"] if "gender" in ds.column_names else ["unknown"] * len(ds)
        gender_of = dict(zip(speaker_list, map(str, genders)))
        corpus_of = dict(zip(speaker_list, map(str, ds["corpus"]))) if "corpus" in ds.column_names else None
        pool = sorted(set(speaker_list))
        n_val = min(n_val, folds.default_validation_count(len(pool))) if cap else n_val
        val = (
            folds.validation_speakers(
                pool, n_val, seed=seed, speaker_gender=gender_of, speaker_corpus=corpus_of
            )
            if n_val
            else []
        )
        train_spk = sorted(set(pool) - set(val))
        folds.warn_few_training_speakers(train_spk, val, "--split none")
        return splits.Split(
            protocol="all_data",
            train=[i for i, x in enumerate(speaker_list) if x not in set(val)],
            validation=[i for i, x in enumerate(speaker_list) if x in set(val)],
            test=[],
            train_speakers=train_spk,
            validation_speakers=val,
            test_speakers=[],
            speaker_independent=True,
            description=f"all data for training; {len(val)} validation speakers for early stopping",
            seed=seed,
            row_ids=splits._meta(ds).row_ids,  # so manifest:split.json checks it is the same data
        )
    from ..data.dataset_splits import is_split_word

    hint = (
        f" (the data's own {spec!r} split is read with --hub_split {spec}; --split dataset makes the data's "
        "own splits the parts)"
        if is_split_word(spec)
        else ""
    )
    raise SERError(
        "unknown split; use ravdess-fold:K, kfold:K/N, loso:SPEAKER, loco:CORPUS, manifest:PATH[@K], random, "
        f"none or dataset{hint}"
    )


def _decode_one(source: Any, sampling_rate: int) -> np.ndarray:
    from ..data.audio import load_audio

    return load_audio(source, sampling_rate)


def _decode_or_none(source: Any, sampling_rate: int) -> np.ndarray | str:
    """Decode a clip, or why not (without the name it gives) when it is corrupt: NaN/Inf samples, a
    broken stream."""
    try:
        return _decode_one(source, sampling_rate)
    except SERError as err:  # named by the caller: its path may name no one row
        return err.bare_message


def _cache_key(paths: Sequence[str], sampling_rate: int) -> str:
    h = hashlib.sha1(str(sampling_rate).encode())
    for p in paths:
        h.update(b"\0" + str(p).encode())
        try:
            st = os.stat(p)
            h.update(f"{st.st_size}:{int(st.st_mtime)}".encode())
        except OSError:
            pass
    return h.hexdigest()[:20]


def decode_rows(
    ds: Any,
    indices: Sequence[int],
    sampling_rate: int = SAMPLING_RATE,
    cache_dir: str | None = None,
    workers: int = 8,
    row_names: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """Decode the clips of ``ds`` rows ``indices`` once, in parallel, as float32 mono arrays.

    A clip that cannot be decoded (corrupt samples, broken stream) is logged and returned as an
    EMPTY array, so positions stay aligned; :func:`train` leaves such clips out of every split part.
    It is named by its path where no other row has it, else by its ``row_names`` entry (rows of a
    dataset sharing one path name, or without any: ``parquet DIR train[3] clip.wav``, as
    :func:`load_rows` gives them), else by its row number.

    Uses the ``path`` column when the files exist (fast: libsndfile), else the encoded bytes of the
    ``audio`` column. With ``cache_dir``, the waveforms of each corpus are stored in one
    safetensors file keyed by a hash of the paths (+ sizes and mtimes) and the rate.
    """
    from ..data.rows import audio_sources

    indices = list(indices)
    if not indices:
        return []
    from ..data.rows import row_labels

    paths = ds["path"] if "path" in ds.column_names else [None] * len(ds)
    corpus = ds["corpus"] if "corpus" in ds.column_names else ["data"] * len(ds)
    sources = audio_sources(ds, indices)  # aligned with indices: a file path or {"bytes", "path"}
    use_paths = all(isinstance(source, str) for source in sources)

    out: list[np.ndarray | None] = [None] * len(indices)
    groups: dict[str, list[int]] = {}
    for pos, i in enumerate(indices):
        groups.setdefault(str(corpus[i]), []).append(pos)
    for name, positions in groups.items():
        keys = [str(paths[indices[p]] or f"{name}#{indices[p]}") for p in positions]
        cache_file = None
        if cache_dir and use_paths:
            cache_file = Path(cache_dir) / f"waves-{name}-{_cache_key(keys, sampling_rate)}.safetensors"
            if cache_file.is_file():
                from safetensors.torch import load_file

                stored = load_file(str(cache_file))
                flat, lengths = stored["flat"].numpy(), stored["lengths"].tolist()
                offsets = np.concatenate([[0], np.cumsum(lengths)])
                for j, p in enumerate(positions):
                    out[p] = flat[offsets[j] : offsets[j + 1]]
                logger.info("loaded %d decoded clips of %s from %s", len(positions), name, cache_file)
                continue
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            decoded = list(pool.map(lambda p: _decode_or_none(sources[p], sampling_rate), positions))
        why = {indices[p]: wave for p, wave in zip(positions, decoded) if isinstance(wave, str)}
        labels = row_labels(paths if "path" in ds.column_names else None, row_names, why)
        for i, reason in why.items():
            logger.warning("%s: %s", labels[i], reason)
        failed = [labels[i] for i in why]
        if failed:
            logger.warning(
                "skipped %d clip(s) of %s that could not be decoded (header fine, samples not): %s",
                len(failed),
                name,
                ", ".join(failed[:10]) + (" ..." if len(failed) > 10 else ""),
            )
        # a failed clip keeps its slot as an empty array so positions stay aligned; train() drops it
        decoded = [np.zeros(0, np.float32) if isinstance(wave, str) else wave for wave in decoded]
        for p, wave in zip(positions, decoded):
            out[p] = wave
        logger.info("decoded %d clips of %s", len(positions) - len(failed), name)
        if cache_file is not None:
            _store_waveforms(cache_file, decoded)
    return out  # type: ignore[return-value]


def _store_waveforms(cache_file: Path, decoded: list[np.ndarray]) -> None:
    """Keep a run's decoded clips for the next run; a cache that cannot be written costs speed, not the
    run (``--cache_dir /sys/x`` ended training after decoding, with no model)."""
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    tmp = cache_file.with_suffix(".tmp")
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        lengths = torch.tensor([len(w) for w in decoded], dtype=torch.long)
        save_file({"flat": torch.from_numpy(np.concatenate(decoded)), "lengths": lengths}, str(tmp))
        os.replace(tmp, cache_file)
    except (OSError, SafetensorError) as err:  # safetensors' I/O errors (a full disk) are no OSError
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        logger.warning(
            "decoded clips not cached in %s (%s): the next run decodes them again; give --cache_dir a "
            "writable folder, or SER_HF_CACHE=off",
            cache_file.parent,
            getattr(err, "strerror", None) or err,
        )


class WaveformStore:
    """Every clip of a run in one flat float32 tensor, gathered into padded batches by index.

    ``flat`` holds the clips back to back, ``offsets``/``lengths`` ``(num_clips,)`` locate them. Kept
    on the training device, a batch is one gather (no host->device copy, no numpy per step). The
    clips may also be feature matrices ``(frames, F)`` (``--feature_cache``): lengths, crops and
    offsets are then in frames.
    """

    def __init__(self, clips: Sequence[np.ndarray]):
        if not clips:
            raise SERError("no clips to train on", source="WaveformStore")
        lengths = torch.tensor([len(c) for c in clips], dtype=torch.long)
        if int(lengths.min()) < 1:
            raise SERError("a clip has no samples", source="WaveformStore")
        self.flat = torch.from_numpy(np.concatenate([np.asarray(c, dtype=np.float32) for c in clips]))
        self.lengths = lengths
        self.offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)[:-1]])

    def __len__(self) -> int:
        return int(self.lengths.numel())

    @property
    def device(self) -> torch.device:
        return self.flat.device

    def to(self, device: torch.device | str) -> WaveformStore:
        self.flat = self.flat.to(device)
        self.lengths = self.lengths.to(device)
        self.offsets = self.offsets.to(device)
        return self

    def batch(
        self,
        index: torch.Tensor,
        max_samples: int | None = None,
        generator: torch.Generator | None = None,
        starts: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Clips ``index`` ``(B,)`` as a zero-padded ``(B, N)`` batch and their ``(B,)`` lengths.

        With ``max_samples``, longer clips are cropped to it: at ``starts`` (samples) when given,
        else at a random offset drawn from ``generator``; shorter clips are zero padded. The result
        is on the store's device.
        """
        index = index.to(self.device, torch.long)
        lengths = self.lengths[index]
        offsets = self.offsets[index]
        if max_samples is not None:
            slack = (lengths - max_samples).clamp_min(0)
            if starts is None:
                # drawn on the CPU so the crops do not depend on where the store lives
                u = torch.rand(index.shape[0], generator=generator)
                starts = torch.minimum((u.to(self.device) * (slack + 1).float()).long(), slack)
            else:
                starts = torch.minimum(starts.to(self.device, torch.long), slack)
            offsets = offsets + starts
            lengths = lengths.clamp(max=max_samples)
        width = int(lengths.max()) if index.numel() else 0
        pos = torch.arange(width, device=self.device)
        valid = pos[None, :] < lengths[:, None]
        gather = torch.where(valid, offsets[:, None] + pos[None, :], torch.zeros_like(pos)[None, :])
        return self.flat[gather] * (valid if self.flat.dim() == 1 else valid[..., None]), lengths


class ClipDataset(torch.utils.data.Dataset):
    """Rows of the store used by one split: each item is ``{"index", "labels", "gender_ids"}``."""

    def __init__(self, store_rows: Sequence[int], labels: Sequence[int], genders: Sequence[int]):
        self.rows = [int(i) for i in store_rows]
        self.labels = [int(v) for v in labels]
        self.genders = [int(v) for v in genders]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, int]:
        row = self.rows[i]
        return {"index": row, "labels": self.labels[row], "gender_ids": self.genders[row]}


def collate_clips(items: list[dict[str, int]]) -> dict[str, torch.Tensor]:
    """Stack index/label/gender ints into ``(B,)`` int64 tensors (the waveforms stay in the store)."""
    return {key: torch.tensor([item[key] for item in items], dtype=torch.long) for key in items[0]}


def balanced_class_weights(labels: Sequence[int], num_classes: int) -> list[float]:
    """``n / (C_present * count_c)`` per class (scikit-learn's "balanced"); 0 for absent classes."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(num_classes)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return [float(w) for w in weights]


# ----------------------------------------------------------------------------------------------
# Trainer
# ----------------------------------------------------------------------------------------------
