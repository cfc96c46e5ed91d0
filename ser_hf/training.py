"""Training with ``transformers.Trainer``: ``scripts/train.py``, ``ser-hf train``, ``python -m ser_hf.training``.

One linear flow (:func:`train`): load the corpora -> split by speaker -> decode every clip ONCE into
memory -> (offline augmentation of the training split) -> build the model and feature extractor
-> :class:`SERTrainer` -> best checkpoint -> save the final folder -> test/validation metrics.

The fast data path: the dataloader only moves clip indices and labels. :class:`WaveformStore`
keeps every decoded clip in one flat float32 tensor (on the training device when it fits), and
:class:`SERTrainer` turns a batch of indices into model inputs ON THE TRAINING DEVICE inside
``compute_loss`` (random crop -> waveform augmentation -> batched log-mel/MFCC -> SpecAugment ->
optional mixup -> model). Evaluation goes through the same ``compute_loss`` (Trainer's
``prediction_step`` calls it) with the full clip, no augmentation. Nothing is re-decoded or copied
from numpy per step.

Launch it as ``python scripts/train.py ...``, ``accelerate launch scripts/train.py ...`` or
``torchrun --nproc_per_node N scripts/train.py ...``; arguments are four dataclasses parsed by
``HfArgumentParser`` (command line, or a single ``.json``/``.yaml`` file).

Reproducibility: the data order comes from Trainer's seedable sampler (seed + epoch); crops,
augmentation and mixup draw from a generator seeded by ``(seed, global_step, micro-batch, rank)``;
dropout uses the global RNG that Trainer saves in every checkpoint. A run killed mid-epoch and
resumed with ``--resume`` therefore repeats the lost steps exactly.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import (
    EarlyStoppingCallback,
    HfArgumentParser,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)
from transformers.trainer_utils import get_last_checkpoint

from .errors import SERError
from .inference import PREVIOUS_MODEL_DIR

logger = logging.getLogger(__name__)

SAMPLING_RATE = 16000
# debugging hooks for the tests (documented in tests/test_training.py and tests/test_ddp.py)
DEBUG_SEEN_ENV = "SER_HF_DEBUG_SEEN"  # dir: each rank writes the training indices it saw
DEBUG_KILL_ENV = "SER_HF_DEBUG_KILL_AT_STEP"  # N: SIGKILL the process after optimizer step N


# ----------------------------------------------------------------------------------------------
# Arguments
# ----------------------------------------------------------------------------------------------


@dataclass
class DataArguments:
    """Which audio to train on and how to split it (speaker-independent unless ``split=random``)."""

    corpus: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Corpora as NAME=DIR (ravdess, tess, savee, crema-d, emodb); repeat the flag or give a "
            "comma list, e.g. --corpus ravdess=/data/ravdess,tess=/data/tess."
        },
    )
    hub_dataset: str | None = field(
        default=None,
        metadata={
            "help": "A datasets.Dataset instead of corpora: a folder written by save_to_disk, or a Hub id "
            "(cached/offline). Needs an audio column and an emotion column; speaker for speaker splits."
        },
    )
    hub_split: str = field(default="train", metadata={"help": "Split of --hub_dataset to load."})
    audiofolder: str | None = field(
        default=None,
        metadata={
            "help": "A folder of class subfolders (emotion/clip.wav) loaded with datasets' audiofolder; "
            "no speakers, so only --split random or manifest."
        },
    )
    label_column: str | None = field(
        default=None, metadata={"help": "Label column of a hub dataset (guessed)."}
    )
    speaker_column: str | None = field(
        default=None,
        metadata={"help": "Speaker column of a hub dataset / audiofolder metadata.csv (guessed)."},
    )
    gender_column: str | None = field(default=None, metadata={"help": "Gender column (guessed)."})
    label_scheme: str | None = field(
        default=None,
        metadata={
            "help": "Label scheme (ravdess8, harmonized7, common6, ...); default the corpus's native one."
        },
    )
    split: str = field(
        default="none",
        metadata={
            "help": "ravdess-fold:K (6-fold RAVDESS protocol), kfold:K/N (speaker k-fold), loso:SPEAKER, "
            "manifest:PATH (split.json), random (speaker-DEPENDENT, optimistic), none (all data for "
            "training, validation speakers carved out for early stopping)."
        },
    )
    num_val_speakers: int = field(
        default=4,
        metadata={
            "help": "Validation speakers taken from the TRAINING speakers (gender-balanced); 0 = none."
        },
    )
    val_fraction: float = field(
        default=0.1, metadata={"help": "Validation share for --split random (and test share)."}
    )
    max_seconds: float | None = field(
        default=4.0,
        metadata={
            "help": "Random crop / pad length of training clips in seconds (capped by the extractor's "
            "max_frames); 0 = full clips. Evaluation always uses the full clip."
        },
    )
    cache_dir: str | None = field(
        default=None,
        metadata={"help": "Folder for decoded-waveform caches (one safetensors file per corpus)."},
    )
    decode_workers: int = field(default=8, metadata={"help": "Threads decoding audio files."})
    waveforms_on_device: bool = field(
        default=True,
        metadata={
            "help": "Keep all decoded waveforms on the training device (no host->device copy per step)."
        },
    )

    def __post_init__(self) -> None:
        specs: list[str] = []
        for item in self.corpus:
            specs += [part.strip() for part in str(item).split(",") if part.strip()]
        self.corpus = specs
        if self.max_seconds is not None and self.max_seconds <= 0:
            self.max_seconds = None


@dataclass
class ModelArguments:
    """Which model to build."""

    preset: str = field(
        default="seed-logmel-bilstm",
        metadata={
            "help": "Model preset (see ser_hf.presets.PRESETS), e.g. seed-logmel-bilstm, cnn-transformer."
        },
    )
    config_overrides: str | None = field(
        default=None, metadata={"help": "JSON object of model-config fields, e.g. '{\"lstm_layers\": 2}'."}
    )
    feature_overrides: str | None = field(
        default=None,
        metadata={
            "help": 'JSON object of feature-extractor fields, e.g. \'{"n_mels": 64, "normalize": "global"}\'.'
        },
    )


@dataclass
class AugmentArguments:
    """Augmentation of TRAINING batches (on the device) and optional offline expansion."""

    augment: str = field(
        default="light", metadata={"help": "Augmentation preset: none, light, seed, strong."}
    )
    augment_overrides: str | None = field(
        default=None, metadata={"help": "JSON object of AugmentConfig fields, e.g. '{\"noise_prob\": 0.5}'."}
    )
    offline_copies: int | None = field(
        default=None,
        metadata={
            "help": "Augmented copies per training clip made once before training (default: the preset's). "
            "With copies > 0 the waveform transforms are used offline only; SpecAugment stays on the fly."
        },
    )
    mixup_alpha: float = field(
        default=0.0, metadata={"help": "Mixup of feature batches with Beta(alpha, alpha) weights; 0 = off."}
    )


class TimeBudgetCallback(TrainerCallback):
    """Stop training once a wall-clock budget is spent, at an epoch boundary (after its evaluation),
    so that a shared or time-limited machine still ends with a selected best checkpoint."""

    def __init__(self, minutes: float):
        self.seconds = minutes * 60.0
        self.start = time.monotonic()

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.monotonic()

    def on_epoch_end(self, args, state, control, **kwargs):
        if time.monotonic() - self.start > self.seconds:
            logger.info(
                "time budget of %.1f min spent: stopping after epoch %s", self.seconds / 60, state.epoch
            )
            control.should_training_stop = True
        return control


@dataclass
class SERTrainingArguments(TrainingArguments):
    """``TrainingArguments`` with this project's defaults and a few SER options."""

    output_dir: str | None = field(default="ser_model", metadata={"help": "Checkpoints and the final model."})
    learning_rate: float = field(default=1e-3, metadata={"help": "Initial learning rate."})
    num_train_epochs: float = field(
        default=60.0, metadata={"help": "Maximum epochs (early stopping may end sooner)."}
    )
    per_device_train_batch_size: int = field(default=32, metadata={"help": "Training batch size per device."})
    per_device_eval_batch_size: int = field(
        default=64, metadata={"help": "Evaluation batch size per device."}
    )
    weight_decay: float = field(
        default=1e-4, metadata={"help": "Weight decay (L2 for adam, decoupled for adamw)."}
    )
    lr_scheduler_type: str = field(
        default="reduce_lr_on_plateau",
        metadata={"help": "LR schedule; default ReduceLROnPlateau on validation UA."},
    )
    eval_strategy: str = field(
        default="epoch", metadata={"help": "When to evaluate on the validation speakers."}
    )
    save_strategy: str = field(default="epoch", metadata={"help": "When to write a checkpoint."})
    logging_strategy: str = field(default="epoch", metadata={"help": "When to log the training loss."})
    save_total_limit: int | None = field(
        default=2, metadata={"help": "Checkpoints kept (the best is always kept)."}
    )
    load_best_model_at_end: bool = field(
        default=True, metadata={"help": "End with the best validation model."}
    )
    metric_for_best_model: str | None = field(default="ua", metadata={"help": "Model selection metric."})
    greater_is_better: bool | None = field(default=True, metadata={"help": "Whether larger is better."})
    remove_unused_columns: bool = field(default=False, metadata={"help": "Kept False: the data are indices."})
    report_to: None | str | list[str] = field(default="none", metadata={"help": "Experiment trackers."})
    dataloader_pin_memory: bool = field(default=False, metadata={"help": "Batches are tiny index tensors."})
    optimizer_name: str = field(
        default="adam", metadata={"help": "adam (L2 weight decay) or adamw (decoupled); replaces --optim."}
    )
    class_weights: bool = field(
        default=True, metadata={"help": "Balanced cross-entropy class weights from the TRAINING split."}
    )
    label_smoothing: float = field(
        default=0.0, metadata={"help": "Cross-entropy label smoothing (in the model)."}
    )
    early_stopping_patience: int = field(
        default=10, metadata={"help": "Evaluations without validation improvement before stopping; 0 = off."}
    )
    plateau_patience: int = field(default=3, metadata={"help": "ReduceLROnPlateau patience (evaluations)."})
    plateau_factor: float = field(default=0.5, metadata={"help": "ReduceLROnPlateau factor."})
    tta: int = field(
        default=0,
        metadata={
            "help": "Test-time augmentation: average the probabilities of the full clip and of this many "
            "evenly spaced max_seconds crops (validation and test)."
        },
    )
    resume: bool = field(
        default=False, metadata={"help": "Resume from the last checkpoint in output_dir, if any."}
    )
    gender_aux: bool = field(
        default=False, metadata={"help": "Add the auxiliary gender head (multi-task) and train it."}
    )
    max_train_minutes: float = field(
        default=0.0,
        metadata={
            "help": "Wall-clock budget for training in minutes; when spent, training stops after the "
            "current epoch's evaluation and the best checkpoint is used as usual. 0 = no budget."
        },
    )

    def __post_init__(self) -> None:
        if self.label_smoothing_factor:
            # Trainer's own smoothing pops the labels before forward and silently drops the model's
            # class-weighted loss: smooth inside the model instead
            logger.warning(
                "--label_smoothing_factor is applied as --label_smoothing (inside the model's loss)"
            )
            self.label_smoothing = self.label_smoothing or self.label_smoothing_factor
            self.label_smoothing_factor = 0.0
        if self.optimizer_name not in ("adam", "adamw"):
            raise SERError(f"optimizer_name must be adam or adamw, got {self.optimizer_name!r}")
        if str(self.lr_scheduler_type) == "reduce_lr_on_plateau" and not self.lr_scheduler_kwargs:
            # Trainer's plateau scheduler defaults to mode="min", wrong for UA
            mode = "max" if self.greater_is_better in (True, None) else "min"
            self.lr_scheduler_kwargs = {
                "mode": mode,
                "factor": self.plateau_factor,
                "patience": self.plateau_patience,
            }
        super().__post_init__()


ARGUMENT_CLASSES = (DataArguments, ModelArguments, AugmentArguments, SERTrainingArguments)


def parse_args(
    argv: Sequence[str] | None = None,
) -> tuple[DataArguments, ModelArguments, AugmentArguments, SERTrainingArguments]:
    """Parse the command line (or one ``.json``/``.yaml`` file) into the four argument dataclasses.

    ``--corpus`` may be repeated; the values are merged (``--corpus a=x --corpus b=y``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = HfArgumentParser(ARGUMENT_CLASSES)
    if len(argv) == 1 and argv[0].endswith((".json", ".yaml", ".yml")):
        path = Path(argv[0])
        if not path.is_file():
            raise SERError("argument file not found", source=str(path))
        if path.suffix == ".json":
            return parser.parse_json_file(str(path.resolve()))
        return parser.parse_yaml_file(str(path.resolve()))
    merged: list[str] = []
    corpora: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--corpus="):
            corpora.append(arg.split("=", 1)[1])
        elif arg == "--corpus":
            i += 1
            while i < len(argv) and not argv[i].startswith("--"):
                corpora.append(argv[i])
                i += 1
            continue
        else:
            merged.append(arg)
        i += 1
    if corpora:
        merged += ["--corpus", *corpora]
    data_args, model_args, aug_args, training_args, rest = parser.parse_args_into_dataclasses(
        merged, return_remaining_strings=True
    )
    if rest:
        raise SERError(f"unknown arguments {rest}; run with --help for the options", source="ser-hf train")
    return data_args, model_args, aug_args, training_args


def _json_arg(text: str | None, name: str) -> dict[str, Any]:
    if not text:
        return {}
    if isinstance(text, dict):
        return dict(text)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise SERError(
            f"{name} is not valid JSON ({err}); give an object like '{{\"key\": 1}}'", source=name
        ) from err
    if not isinstance(value, dict):
        raise SERError(f"{name} must be a JSON object, got {type(value).__name__}", source=name)
    return value


# ----------------------------------------------------------------------------------------------
# Data: rows, split, decoded waveforms
# ----------------------------------------------------------------------------------------------


def load_rows(data_args: DataArguments) -> Any:
    """The labelled rows as a ``datasets.Dataset`` (columns of :mod:`ser_hf.corpora`: audio, path,
    emotion (ClassLabel), speaker, gender, corpus, ...). No audio is decoded here.

    Exactly one source: ``--corpus`` (one or more), ``--hub_dataset`` or ``--audiofolder``.
    """
    from . import corpora

    sources = [bool(data_args.corpus), bool(data_args.hub_dataset), bool(data_args.audiofolder)]
    if sum(sources) != 1:
        raise SERError(
            "give exactly one data source: --corpus NAME=DIR (repeatable), --hub_dataset PATH_OR_ID or "
            "--audiofolder DIR",
            source="ser-hf train",
        )
    scheme = {} if data_args.label_scheme is None else {"label_scheme": data_args.label_scheme}
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
            return corpora.load_corpus(specs[0][0], specs[0][1], **scheme)
        return corpora.load_corpora(specs, **scheme)
    columns = {
        "label_column": data_args.label_column,
        "speaker_column": data_args.speaker_column,
        "gender_column": data_args.gender_column,
    }
    if data_args.audiofolder:
        return corpora.load_corpus("audiofolder", data_args.audiofolder, **scheme, **columns)
    # a Hub id, or a folder (save_to_disk, parquet files, audiofolder) that corpora auto-detects
    return corpora.load_corpus(data_args.hub_dataset, None, **scheme, split=data_args.hub_split, **columns)


def make_split(ds: Any, data_args: DataArguments, seed: int) -> Any:
    """Turn ``--split`` into a :class:`ser_hf.splits.Split` (row indices + speakers of each part).

    Validation speakers always come from the training speakers of the split (gender-balanced,
    ``num_val_speakers`` of them), so test speakers never influence model selection.
    """
    from . import splits

    spec = data_args.split.strip()
    kind, _, value = spec.partition(":")
    kind = kind.lower()
    n_val = max(0, int(data_args.num_val_speakers))
    try:
        if kind == "manifest":
            path, _, fold = value.partition("@")
            data = json.loads(Path(path).read_text()) if Path(path).is_file() else None
            if data is None:
                raise SERError("split manifest not found", source=path)
            if "splits" in data:  # a SplitManifest of several folds: manifest:PATH@K
                split = splits.SplitManifest.from_json(path).splits[int(fold or 0)]
            else:
                split = splits.Split.from_json(path)
            if split.row_ids is not None:
                split.verify(ds)
            return split
        if kind == "random":
            frac = data_args.val_fraction
            return splits.random_stratified_split(
                ds, train_size=1 - 2 * frac, validation_size=frac, test_size=frac, seed=seed
            )
        if kind == "ravdess-fold":
            return splits.ravdess_protocol_folds(ds, seed=seed, n_validation=n_val)[int(value)]
        if kind in ("kfold", "speaker-fold"):
            fold, _, n = value.partition("/")
            return splits.speaker_kfold(ds, int(n or 5), seed=seed, n_validation=n_val)[int(fold)]
        if kind == "loso":
            folds = splits.leave_one_speaker_out(ds, seed=seed, n_validation=n_val)
            # "06" names "ravdess_06" when only one corpus has that speaker
            matches = [f for f in folds if f.test_speakers == [value]] or [
                f for f in folds if f.test_speakers[0].endswith("_" + value)
            ]
            if len(matches) != 1:
                speakers = sorted(s for f in folds for s in f.test_speakers)
                raise SERError(f"speaker {value!r} not (or not uniquely) in the data; speakers: {speakers}")
            return matches[0]
        if kind == "none":
            speaker_list = [str(x) for x in ds["speaker"]]
            genders = ds["gender"] if "gender" in ds.column_names else ["unknown"] * len(ds)
            gender_of = dict(zip(speaker_list, map(str, genders)))
            pool = sorted(set(speaker_list))
            val = (
                splits.validation_speakers(pool, n_val, seed=seed, speaker_gender=gender_of) if n_val else []
            )
            train_spk = sorted(set(pool) - set(val))
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
            )
    except SERError as err:
        raise SERError(str(err), source=spec) from err
    except (ValueError, IndexError) as err:
        raise SERError(
            f"bad split value ({err}); e.g. ravdess-fold:0, kfold:2/5, loso:06", source=spec
        ) from err
    raise SERError(
        "unknown --split; use ravdess-fold:K, kfold:K/N, loso:SPEAKER, manifest:PATH[@K], random or none",
        source=spec,
    )


def _decode_one(source: Any, sampling_rate: int) -> np.ndarray:
    from .audio import load_audio

    return load_audio(source, sampling_rate)


def _decode_or_none(source: Any, sampling_rate: int) -> np.ndarray | None:
    """Decode a clip, or ``None`` (logged) when it is corrupt: NaN/Inf samples, a broken stream."""
    try:
        return _decode_one(source, sampling_rate)
    except SERError as err:
        logger.warning("%s", err)
        return None


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
) -> list[np.ndarray]:
    """Decode the clips of ``ds`` rows ``indices`` once, in parallel, as float32 mono arrays.

    A clip that cannot be decoded (corrupt samples, broken stream) is logged and returned as an
    EMPTY array, so positions stay aligned; :func:`train` leaves such clips out of every split part.

    Uses the ``path`` column when the files exist (fast: libsndfile), else the encoded bytes of the
    ``audio`` column. With ``cache_dir``, the waveforms of each corpus are stored in one
    safetensors file keyed by a hash of the paths (+ sizes and mtimes) and the rate.
    """
    from .corpora import audio_sources

    indices = list(indices)
    if not indices:
        return []
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
        failed = [keys[j] for j, wave in enumerate(decoded) if wave is None]
        if failed:
            logger.warning(
                "skipped %d clip(s) of %s that could not be decoded (header fine, samples not): %s",
                len(failed),
                name,
                ", ".join(failed[:10]) + (" ..." if len(failed) > 10 else ""),
            )
        # a failed clip keeps its slot as an empty array so positions stay aligned; train() drops it
        decoded = [np.zeros(0, np.float32) if wave is None else wave for wave in decoded]
        for p, wave in zip(positions, decoded):
            out[p] = wave
        logger.info("decoded %d clips of %s", len(positions) - len(failed), name)
        if cache_file is not None:
            from safetensors.torch import save_file

            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(".tmp")
            save_file(
                {
                    "flat": torch.from_numpy(np.concatenate(decoded)),
                    "lengths": torch.tensor([len(w) for w in decoded], dtype=torch.long),
                },
                str(tmp),
            )
            os.replace(tmp, cache_file)
    return out  # type: ignore[return-value]


class WaveformStore:
    """Every clip of a run in one flat float32 tensor, gathered into padded batches by index.

    ``flat`` holds the clips back to back, ``offsets``/``lengths`` ``(num_clips,)`` locate them. Kept
    on the training device, a batch is one gather (no host->device copy, no numpy per step).
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
        return self.flat[gather] * valid, lengths


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


class SERTrainer(Trainer):
    """``Trainer`` whose batches are clip indices turned into model inputs on the training device.

    ``compute_loss`` (training, and evaluation through ``prediction_step``) gathers the clips from
    the :class:`WaveformStore`, and in training mode crops them to ``max_samples``, applies the
    waveform augmenter, computes features with ``feature_extractor.batch_features``, applies
    SpecAugment and optional mixup; in eval mode it uses the full clips without augmentation.
    """

    def __init__(
        self,
        *args: Any,
        store: WaveformStore,
        feature_extractor: Any,
        waveform_augmenter: torch.nn.Module | None = None,
        spec_augmenter: torch.nn.Module | None = None,
        max_samples: int | None = None,
        mixup_alpha: float = 0.0,
        tta_crops: int = 0,
        store_on_device: bool = True,
        **kwargs: Any,
    ):
        super().__init__(*args, processing_class=feature_extractor, **kwargs)
        self.store = store
        self.feature_extractor = feature_extractor
        self.waveform_augmenter = waveform_augmenter
        self.spec_augmenter = spec_augmenter
        self.max_samples = max_samples
        self.mixup_alpha = float(mixup_alpha)
        self.tta_crops = int(tta_crops)
        self.store_on_device = store_on_device
        self.seen_indices: list[int] = []
        self._micro_step = (-1, 0)

    # -- randomness that survives a resume: a function of (seed, step, micro-batch, rank) only
    def _step_seed(self) -> int:
        step = self.state.global_step
        last_step, micro = self._micro_step
        micro = micro + 1 if last_step == step else 0
        self._micro_step = (step, micro)
        return (self.args.seed * 1_000_003 + step * 1009 + micro * 101 + self.args.process_index) % (2**62)

    @staticmethod
    def _generator(seed: int, device: torch.device) -> torch.Generator:
        gen = torch.Generator(device=device)
        gen.manual_seed(seed)
        return gen

    def _features(self, waves: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.feature_extractor.batch_features(waves, lengths)

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, torch.Tensor],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, Any]:
        inputs = dict(inputs)
        index = inputs.pop("index")
        labels = inputs.pop("labels")
        genders = inputs.pop("gender_ids", None)
        device = labels.device
        if self.store_on_device and self.store.device != device:
            self.store.to(device)
        config = self.accelerator.unwrap_model(model).config
        extra = {}
        if getattr(config, "num_aux_genders", 0) and genders is not None:
            extra["gender_ids"] = genders.masked_fill(genders >= config.num_aux_genders, -100)

        if not model.training:
            return self._eval_loss(model, index, labels, extra, return_outputs)

        seed = self._step_seed()
        if os.environ.get(DEBUG_SEEN_ENV):
            self.seen_indices += index.tolist()
        crop_gen = self._generator(seed, torch.device("cpu"))
        waves, lengths = self.store.batch(index, self.max_samples, generator=crop_gen)
        waves, lengths = waves.to(device), lengths.to(device)
        if self.waveform_augmenter is not None:
            self.waveform_augmenter.train()
            waves, lengths = self.waveform_augmenter(
                waves, lengths, generator=self._generator(seed + 1, device)
            )
        features, mask = self._features(waves, lengths)
        if self.spec_augmenter is not None:
            self.spec_augmenter.train()
            features = self.spec_augmenter(features, mask, generator=self._generator(seed + 2, device))
        if self.mixup_alpha > 0:
            return self._mixup_loss(model, config, features, mask, labels, seed, return_outputs)
        outputs = model(input_features=features, attention_mask=mask, labels=labels, **extra)
        return (outputs.loss, outputs) if return_outputs else outputs.loss

    def _mixup_loss(self, model, config, features, mask, labels, seed, return_outputs):
        """Mix pairs of feature sequences; the soft-target loss keeps the model's class weights and smoothing.

        The auxiliary gender loss is skipped on mixed batches (the mixed clip has two speakers).
        """
        rng = np.random.default_rng(seed)
        lam = float(rng.beta(self.mixup_alpha, self.mixup_alpha))
        perm = torch.from_numpy(rng.permutation(labels.shape[0])).to(labels.device)
        # both sequences start at frame 0; the union of their masks covers the mixed frames
        mixed = lam * features + (1.0 - lam) * features[perm]
        mixed_mask = torch.maximum(mask, mask[perm])
        outputs = model(input_features=mixed, attention_mask=mixed_mask)
        weight = None
        if config.class_weights is not None:
            weight = torch.tensor(config.class_weights, dtype=outputs.logits.dtype, device=labels.device)
        smoothing = float(config.label_smoothing)
        ce = torch.nn.functional.cross_entropy
        logits = outputs.logits
        loss = lam * ce(logits, labels, weight=weight, label_smoothing=smoothing) + (1.0 - lam) * ce(
            logits, labels[perm], weight=weight, label_smoothing=smoothing
        )
        outputs.loss = loss
        return (loss, outputs) if return_outputs else loss

    def _eval_loss(self, model, index, labels, extra, return_outputs):
        if self.waveform_augmenter is not None:
            self.waveform_augmenter.eval()
        if self.spec_augmenter is not None:
            self.spec_augmenter.eval()
        device = labels.device
        waves, lengths = self.store.batch(index)
        features, mask = self._features(waves.to(device), lengths.to(device))
        outputs = model(input_features=features, attention_mask=mask, labels=labels, **extra)
        if self.tta_crops > 0 and self.max_samples is not None:
            outputs.logits = self._tta_logits(model, index, outputs.logits)
        return (outputs.loss, outputs) if return_outputs else outputs.loss

    def _tta_logits(self, model, index, logits):
        """log of the mean probability over the full clip and ``tta_crops`` evenly spaced crops."""
        probs = [logits.float().softmax(-1)]
        lengths = self.store.lengths[index.to(self.store.device)]
        slack = (lengths - self.max_samples).clamp_min(0)
        for k in range(self.tta_crops):
            frac = (k + 0.5) / self.tta_crops
            starts = (slack.float() * frac).long()
            waves, lens = self.store.batch(index, self.max_samples, starts=starts)
            features, mask = self._features(waves.to(logits.device), lens.to(logits.device))
            probs.append(model(input_features=features, attention_mask=mask).logits.float().softmax(-1))
        return torch.stack(probs).mean(0).clamp_min(1e-12).log()


class _DebugCallback(TrainerCallback):
    """Test hooks, off unless their environment variables are set.

    ``SER_HF_DEBUG_SEEN=DIR``: each rank writes ``seen_rank{R}.json`` (the training indices it
    computed a loss on) and ``written_rank{R}.json`` (every path under ``output_dir`` it created,
    opened for writing or renamed, seen through a Python audit hook). ``SER_HF_DEBUG_KILL_AT_STEP=N``:
    SIGKILL this process right after optimizer step N (the resume test).
    """

    def __init__(self, trainer: SERTrainer):
        self.trainer = trainer
        kill = os.environ.get(DEBUG_KILL_ENV)
        self.kill_at = int(kill) if kill else None
        self.written: list[str] = []
        if os.environ.get(DEBUG_SEEN_ENV):
            root = os.path.abspath(trainer.args.output_dir)
            sys.addaudithook(self._audit(root))

    def _audit(self, root: str):
        written = self.written

        def hook(event: str, args: tuple) -> None:
            if event == "open":
                path, mode, flags = args
                writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                    isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
                )
                paths = [path] if writing else []
            elif event in ("os.mkdir", "os.rename", "os.replace"):
                paths = [args[0]] if event == "os.mkdir" else [args[1]]
            else:
                return
            for p in paths:
                if isinstance(p, (str, os.PathLike)) and os.path.abspath(os.fspath(p)).startswith(root):
                    written.append(os.path.relpath(os.path.abspath(os.fspath(p)), root))

        return hook

    def on_step_end(self, args, state, control, **kwargs):
        if self.kill_at is not None and state.global_step >= self.kill_at:
            logger.warning("%s=%d: killing this process (test of resume)", DEBUG_KILL_ENV, self.kill_at)
            os.kill(os.getpid(), signal.SIGKILL)

    def finish(self) -> None:
        """Write the debug files (called at the very end of :func:`train`, after the final save)."""
        folder = os.environ.get(DEBUG_SEEN_ENV)
        if folder:
            rank = self.trainer.args.process_index
            Path(folder).mkdir(parents=True, exist_ok=True)
            (Path(folder) / f"seen_rank{rank}.json").write_text(json.dumps(self.trainer.seen_indices))
            (Path(folder) / f"written_rank{rank}.json").write_text(json.dumps(sorted(set(self.written))))


# ----------------------------------------------------------------------------------------------
# The training run
# ----------------------------------------------------------------------------------------------


def _gender_ids(genders: Sequence[Any]) -> list[int]:
    table = {"female": 0, "f": 0, "male": 1, "m": 1}
    return [table.get(str(g).lower(), 2) for g in genders]


def _crop_samples(data_args: DataArguments, feature_extractor: Any) -> int | None:
    limits = []
    if data_args.max_seconds:
        limits.append(int(round(data_args.max_seconds * feature_extractor.sampling_rate)))
    max_frames = getattr(feature_extractor, "max_frames", None)
    if max_frames:
        # frames beyond max_frames are cut by the extractor: crop at random instead of always the start
        limits.append((int(max_frames) - 1) * feature_extractor.hop_length + 1)
    return min(limits) if limits else None


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2, default=_json_default))
    os.replace(tmp, path)


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return str(value)


def _back_up_model(output_dir: Path, names: Sequence[str]) -> None:
    """Keep the complete model now in ``output_dir`` in ``output_dir/.previous-model`` (hard links,
    a copy where links are not possible) before a new save overwrites it. Does nothing when the
    folder holds no complete model, so the backup of an earlier interrupted save is kept."""
    if not (output_dir / "config.json").is_file():
        return
    staging = Path(tempfile.mkdtemp(prefix=".previous-", dir=output_dir))
    for name in names:
        if (output_dir / name).is_file():
            try:
                os.link(output_dir / name, staging / name)
            except OSError:
                shutil.copy2(output_dir / name, staging / name)
    backup = output_dir / PREVIOUS_MODEL_DIR
    shutil.rmtree(backup, ignore_errors=True)
    os.rename(staging, backup)  # the backup appears complete or not at all


def save_final_model(trainer: SERTrainer, output_dir: str | Path) -> None:
    """Write model (safetensors) + feature extractor into ``output_dir`` without ever leaving half a model.

    Everything is written to a temporary folder first. The model already in ``output_dir`` is then
    kept in ``output_dir/.previous-model`` (hard links), and the new files are moved in one by one
    with ``os.replace`` (atomic per file): ``config.json`` is removed first and moved last, so an
    interrupted save leaves a folder that refuses to load (naming the backup) rather than one with
    mixed weights, and the previous model stays complete in ``.previous-model``. A save that
    finishes removes the backup.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".final-", dir=output_dir))
    try:
        model = trainer.accelerator.unwrap_model(trainer.model)
        model.save_pretrained(str(tmp))
        trainer.feature_extractor.save_pretrained(str(tmp))
        files = sorted(p for p in tmp.iterdir() if p.is_file())
        _back_up_model(output_dir, [p.name for p in files])
        (output_dir / "config.json").unlink(missing_ok=True)
        for path in sorted(files, key=lambda p: p.name == "config.json"):
            os.replace(path, output_dir / path.name)
        shutil.rmtree(output_dir / PREVIOUS_MODEL_DIR, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _predict(trainer: SERTrainer, dataset: ClipDataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true ids, predicted ids, probabilities) of a split, in dataset order."""
    out = trainer.predict(dataset, metric_key_prefix="predict")
    expected = np.asarray([dataset.labels[r] for r in dataset.rows])
    if not np.array_equal(np.asarray(out.label_ids).reshape(-1), expected):
        # per-speaker metrics pair predictions with rows by position: the order must be the dataset's
        raise RuntimeError("predictions came back in another order than the dataset's rows")
    logits = out.predictions[0] if isinstance(out.predictions, (tuple, list)) else out.predictions
    logits = np.asarray(logits, dtype=np.float64)
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    return np.asarray(out.label_ids).reshape(-1), probs.argmax(-1), probs


def train(
    data_args: DataArguments,
    model_args: ModelArguments,
    aug_args: AugmentArguments,
    training_args: SERTrainingArguments,
) -> dict[str, Any]:
    """Train one model end to end; return ``{"validation": metrics, "test": metrics, ...}``.

    Writes into ``training_args.output_dir``: checkpoints, the final model + feature extractor
    (loads with ``pipeline("audio-classification", model=output_dir)``), ``split.json``,
    ``train_args.json``, ``val_metrics.json`` and ``test_metrics.json`` (when there is a test split).
    """
    from .augment import AugmentConfig, SpecAugment, WaveformAugmenter, expand_offline
    from .metrics import compute_ser_metrics, make_compute_metrics
    from .presets import build_model

    set_seed(training_args.seed)
    output_dir = Path(training_args.output_dir)

    # 1. rows and the speaker-independent split (metadata only, no audio decoded yet)
    ds = load_rows(data_args)
    label_names = list(ds.features["emotion"].names)
    split = make_split(ds, data_args, training_args.seed)
    if not split.train:
        raise SERError("the split leaves no training clips", source=data_args.split)
    speakers = [str(s) for s in ds["speaker"]]
    genders_raw = ds["gender"] if "gender" in ds.column_names else ["unknown"] * len(ds)
    emotions = list(ds["emotion"])
    logger.info(
        "split %s: %d train / %d validation / %d test clips; test speakers %s",
        data_args.split,
        len(split.train),
        len(split.validation),
        len(split.test),
        sorted({speakers[i] for i in split.test}),
    )

    # 2. decode each clip once (rank 0 first, so the cache is written once)
    rows = split.train + split.validation + split.test
    with training_args.main_process_first(desc="decoding audio"):
        clips = decode_rows(ds, rows, SAMPLING_RATE, data_args.cache_dir, data_args.decode_workers)
    store_labels = [emotions[i] for i in rows]
    store_genders = _gender_ids([genders_raw[i] for i in rows])
    store_speakers = [speakers[i] for i in rows]
    n_train, n_val = len(split.train), len(split.validation)
    # clips that failed to decode (empty) take part in nothing: not training, selection or scoring
    ok = [len(c) > 0 for c in clips]
    clips = [c if good else np.zeros(1, np.float32) for c, good in zip(clips, ok)]  # never gathered
    train_rows = [r for r in range(n_train) if ok[r]]
    val_rows = [r for r in range(n_train, n_train + n_val) if ok[r]]
    test_rows = [r for r in range(n_train + n_val, len(rows)) if ok[r]]
    if not all(ok):
        logger.warning("left out %d undecodable clip(s) of %d", ok.count(False), len(ok))
    if not train_rows:
        raise SERError("no training clip could be decoded; check the corpus files", source="training data")
    n_train = len(train_rows)

    # 3. augmentation config; offline expansion of the TRAINING rows only
    aug_config = AugmentConfig.from_preset(
        aug_args.augment, **_json_arg(aug_args.augment_overrides, "augment_overrides")
    )
    copies = aug_config.offline_copies if aug_args.offline_copies is None else aug_args.offline_copies
    if copies > 0 and aug_config.waveform_enabled:
        device = training_args.device
        arrays, _, source = expand_offline(
            [clips[r] for r in train_rows],
            None,
            [store_labels[r] for r in train_rows],
            copies,
            aug_config,
            seed=training_args.seed,
            device=device,
        )
        base = len(clips)
        clips = clips + list(arrays)
        for s in source:
            store_labels.append(store_labels[train_rows[s]])
            store_genders.append(store_genders[train_rows[s]])
            store_speakers.append(store_speakers[train_rows[s]])
        train_rows = train_rows + list(range(base, len(clips)))
        online_waveform = False
        logger.info("offline augmentation: %d training clips -> %d", n_train, len(train_rows))
    else:
        online_waveform = aug_config.waveform_enabled
    store = WaveformStore(clips)
    del clips

    # 4. model and features; class weights and global feature statistics from the TRAINING split
    overrides = _json_arg(model_args.config_overrides, "config_overrides")
    if training_args.class_weights and "class_weights" not in overrides:
        overrides["class_weights"] = balanced_class_weights(
            [store_labels[r] for r in train_rows[:n_train]], len(label_names)
        )
    if training_args.label_smoothing:
        overrides["label_smoothing"] = training_args.label_smoothing
    if training_args.gender_aux and "num_aux_genders" not in overrides:
        overrides["num_aux_genders"] = 2
    model, feature_extractor = build_model(
        model_args.preset,
        label_names,
        feature_overrides=_json_arg(model_args.feature_overrides, "feature_overrides"),
        **overrides,
    )
    from .corpora import label_scheme_of

    model.config.label_scheme = label_scheme_of(ds) or data_args.label_scheme or "native"
    model.config.training_corpora = (
        sorted({str(c) for c in ds["corpus"]}) if "corpus" in ds.column_names else []
    )
    if feature_extractor.normalize == "global" and feature_extractor.feature_mean is None:
        feature_extractor.fit_global_stats(
            store.batch(torch.tensor(train_rows[i : i + 64])) for i in range(0, n_train, 64)
        )
    max_samples = _crop_samples(data_args, feature_extractor)

    # 5. Trainer
    has_val = n_val > 0
    if not has_val:
        logger.warning(
            "no validation speakers: no early stopping, no plateau schedule, the last model is kept"
        )
        training_args = dataclasses.replace(
            training_args,
            eval_strategy="no",
            load_best_model_at_end=False,
            lr_scheduler_type="constant",
            lr_scheduler_kwargs={},
            early_stopping_patience=0,
        )
    optimizer_cls = torch.optim.Adam if training_args.optimizer_name == "adam" else torch.optim.AdamW
    optimizer_kwargs = {
        "lr": training_args.learning_rate,
        "betas": (training_args.adam_beta1, training_args.adam_beta2),
        "eps": training_args.adam_epsilon,
    }
    callbacks: list[TrainerCallback] = []
    if has_val and training_args.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(training_args.early_stopping_patience))
    if training_args.max_train_minutes > 0:
        callbacks.append(TimeBudgetCallback(training_args.max_train_minutes))
    trainer = SERTrainer(
        model=model,
        args=training_args,
        data_collator=collate_clips,
        train_dataset=ClipDataset(train_rows, store_labels, store_genders),
        eval_dataset=ClipDataset(val_rows, store_labels, store_genders) if has_val else None,
        compute_metrics=make_compute_metrics(label_names),
        callbacks=callbacks,
        optimizer_cls_and_kwargs=(optimizer_cls, optimizer_kwargs),
        store=store,
        feature_extractor=feature_extractor,
        waveform_augmenter=WaveformAugmenter(aug_config, SAMPLING_RATE) if online_waveform else None,
        spec_augmenter=SpecAugment(aug_config) if aug_config.spec_enabled else None,
        max_samples=max_samples,
        mixup_alpha=aug_args.mixup_alpha,
        tta_crops=training_args.tta,
        store_on_device=data_args.waveforms_on_device,
    )
    debug = _DebugCallback(trainer)
    trainer.add_callback(debug)

    if trainer.is_world_process_zero():
        output_dir.mkdir(parents=True, exist_ok=True)
        # the manifest: `--split manifest:<output_dir>/split.json` repeats this split exactly
        _write_json(output_dir / "split.json", {**split.to_dict(), "spec": data_args.split})
        _write_json(
            output_dir / "train_args.json",
            {
                "data": dataclasses.asdict(data_args),
                "model": dataclasses.asdict(model_args),
                "augment": dataclasses.asdict(aug_args),
                "augment_config": aug_config.to_dict(),
                "training": training_args.to_dict(),
            },
        )

    # 6. train (resuming from the last checkpoint when asked and one exists)
    resume = None
    if training_args.resume:
        resume = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
        logger.info("resuming from %s", resume) if resume else logger.info(
            "--resume: no checkpoint yet, starting fresh"
        )
    trainer.train(resume_from_checkpoint=resume)

    # 7. the final (best) model, and metrics on validation and test
    results: dict[str, Any] = {"best_checkpoint": trainer.state.best_model_checkpoint}
    if trainer.is_world_process_zero():
        save_final_model(trainer, output_dir)
    for name, rows_, filename in (
        ("validation", val_rows, "val_metrics.json"),
        ("test", test_rows, "test_metrics.json"),
    ):
        if not rows_:
            continue
        y_true, y_pred, probs = _predict(trainer, ClipDataset(rows_, store_labels, store_genders))
        metrics = compute_ser_metrics(
            y_true,
            y_pred,
            label_names,
            speakers=[store_speakers[r] for r in rows_],
            genders=[str(genders_raw[rows[r]]) for r in rows_],
            y_prob=probs,
        )
        metrics["split"] = data_args.split
        metrics["speakers"] = sorted({store_speakers[r] for r in rows_})
        results[name] = metrics
        logger.info(
            "%s: WA %.3f  UA %.3f  macro-F1 %.3f  (n=%d)",
            name,
            metrics["wa"],
            metrics["ua"],
            metrics["f1_macro"],
            len(rows_),
        )
        if trainer.is_world_process_zero():
            _write_json(output_dir / filename, metrics)
    debug.finish()
    return results


# ----------------------------------------------------------------------------------------------
# Entry points
# ----------------------------------------------------------------------------------------------


def cli(argv: list[str] | None = None) -> int:
    """``ser-hf train``: parse arguments, train, print the validation/test metrics."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        HfArgumentParser(ARGUMENT_CLASSES).print_help()
        print(
            "\nexamples:\n"
            "  ser-hf train --corpus ravdess=data/ravdess --split ravdess-fold:0 --output_dir runs/fold0\n"
            "  torchrun --nproc_per_node 2 scripts/train.py --corpus ravdess=data/ravdess --split none\n"
            "  python scripts/train.py config.yaml"
        )
        return 0
    data_args, model_args, aug_args, training_args = parse_args(argv)
    results = train(data_args, model_args, aug_args, training_args)
    if training_args.process_index == 0:
        for name in ("validation", "test"):
            if name in results:
                m = results[name]
                print(
                    f"{name:<10} WA {m['wa']:.3f}  UA {m['ua']:.3f}  macro-F1 {m['f1_macro']:.3f}  (n={m['n']})"
                )
        print(f"model saved to {training_args.output_dir}")
    return 0


def main() -> None:
    """``python scripts/train.py`` / ``python -m ser_hf.training``: logging + :func:`cli` + exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    fraction = os.environ.get("SER_HF_CUDA_MEMORY_FRACTION")
    if fraction and torch.cuda.is_available():
        # several fold processes share one GPU (ser-hf cv --parallel): cap each one's share so the
        # caching allocator of one cannot starve the others into out-of-memory errors
        torch.cuda.set_per_process_memory_fraction(float(fraction))
    try:
        code = cli(sys.argv[1:])
    except SERError as err:
        print(f"ser-hf train: error: {err}", file=sys.stderr)
        code = 2
    sys.exit(code)


if __name__ == "__main__":
    # `python -m ser_hf.training`: run the package's copy of this module (one set of classes and loggers)
    from ser_hf.training import main as _main

    _main()
