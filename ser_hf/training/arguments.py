"""The training arguments: four dataclasses parsed by ``HfArgumentParser``.

:class:`DataArguments` (corpora, split, decoding), :class:`ModelArguments` (preset, overrides),
:class:`AugmentArguments` (waveform and SpecAugment options) and :class:`SERTrainingArguments`
(Trainer's own plus early stopping, time budget, mixup). :func:`parse_args` reads them from a
command line or one ``.json``/``.yaml`` file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import (
    HfArgumentParser,
    TrainingArguments,
)

from ..errors import SERError

logger = logging.getLogger(__name__)


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
    hub_split: str | None = field(
        default=None,
        metadata={
            "help": "The split(s) to read of data with splits of their own (--hub_dataset, or a --corpus / "
            "--audiofolder that is a save_to_disk DatasetDict, parquet files named train-*/validation-*/test-*, "
            "or an audio folder of train/ validation/ test/ folders): test, or several joined by '+' "
            "(train+validation+test). Default: train, and, without --split, its validation split too, as the "
            "validation part (--split dataset); the test split is left out (said)."
        },
    )
    audiofolder: str | None = field(
        default=None,
        metadata={
            "help": "A folder of class subfolders (emotion/clip.wav), or of clips with a metadata.csv "
            "(file_name, label, speaker, gender); without speakers only --split random or manifest."
        },
    )
    audio_column: str | None = field(
        default=None,
        metadata={
            "help": "Audio / file column of a hub dataset, disk or parquet data, or metadata.csv (guessed)."
        },
    )
    label_column: str | None = field(
        default=None,
        metadata={"help": "Label column of a hub dataset, disk / parquet data or metadata.csv (guessed)."},
    )
    speaker_column: str | None = field(
        default=None,
        metadata={"help": "Speaker column of a hub dataset / audiofolder metadata.csv (guessed)."},
    )
    gender_column: str | None = field(default=None, metadata={"help": "Gender column (guessed)."})
    label_map: str | None = field(
        default=None,
        metadata={
            "help": "Rename classes as the data are loaded: FROM=TO,... (e.g. wut=angry,freude=happy; FROM= "
            "drops a class; FROM matches whatever its case); with a --label_scheme, TO is one of its classes."
        },
    )
    label_scheme: str | None = field(
        default=None,
        metadata={
            "help": "Label scheme (ravdess8, harmonized7, common6, ...; native: the data's own labels); default "
            "the corpus's native one; several corpora: native (the union of their labels) when all are of "
            "your own, else harmonized7 (its renames of your labels logged per corpus)."
        },
    )
    split: str | None = field(
        default=None,
        metadata={
            "help": "ravdess-fold:K (6-fold RAVDESS protocol), kfold:K/N (speaker k-fold; the speakers "
            "are dealt into folds by --seed, so another seed tests other speakers), loso:SPEAKER, "
            "loco:CORPUS (leave one corpus out: train on the others, test on it), manifest:PATH (split.json), random (speaker-DEPENDENT, optimistic), none (all data for "
            "training, validation speakers carved out for early stopping), dataset (the data's own splits: "
            "train to train on, validation to choose on, and test, when --hub_split reads it, to test on). "
            "Default: dataset for data with a validation split of their own, else none."
        },
    )
    num_val_speakers: int | None = field(
        default=None,
        metadata={
            "help": "Validation speakers taken from the TRAINING speakers (gender-balanced); 0 = none. "
            "Default: 4, at most half of a split's training speakers (a 5-speaker corpus's fold: 2 of 4)."
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
        metadata={
            "help": "Cache folder: per-clip feature vectors (default $SER_HF_CACHE, else $XDG_CACHE_HOME/ser_hf or ~/.cache/ser_hf; SER_HF_CACHE=off: none) and, when given, decoded waveforms (one safetensors file per corpus)."
        },
    )
    decode_workers: int = field(default=8, metadata={"help": "Threads decoding audio files."})
    feature_cache: bool = field(
        default=False,
        metadata={
            "help": "Train a log-mel preset from features computed once per clip (and per offline copy), "
            "cached on disk by content and extractor options; crops, SpecAugment and mixup stay on the "
            "fly. Waveform augmentation must then run offline (--offline_copies)."
        },
    )
    waveforms_on_device: bool = field(
        default=True,
        metadata={
            "help": "Keep all decoded waveforms on the training device (no host->device copy per step)."
        },
    )

    def __post_init__(self) -> None:
        specs: list[str] = []
        for item in (
            [self.corpus] if isinstance(self.corpus, str) else self.corpus
        ):  # "ravdess=DIR" is one spec
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
            "help": "Model preset (see ser_hf.training.presets.PRESETS), e.g. seed-logmel-bilstm, cnn-transformer."
        },
    )
    config_overrides: str | None = field(
        default=None,
        metadata={
            "help": "JSON object of model-config fields (the preset's config class's arguments; another key is "
            "refused), e.g. '{\"lstm_layers\": 2}'; for a functionals preset, "
            "fields of its recipe (c_grid, channel_copies, channel_kinds, crop_copies, balance, gender_weights, "
            "gender_gate_blocks, speaker_head, input_clip, rbf_components, speed_copies)."
        },
    )
    feature_overrides: str | None = field(
        default=None,
        metadata={
            "help": "JSON object of feature-extractor fields (another key is refused), e.g. "
            '\'{"n_mels": 64, "normalize": "global"}\'.'
        },
    )
    backbone: str | None = field(
        default=None,
        metadata={
            "help": "A pretrained speech encoder (Hub id or folder: wav2vec2, HuBERT, WavLM, data2vec-audio, "
            "Whisper) under this package's head (weighted layer sum, attention pooling); replaces --preset."
        },
    )
    freeze_layers: int = field(
        default=-1,
        metadata={
            "help": "With --backbone: -1 freezes the encoder; k >= 0 fine-tunes it above its first k layers."
        },
    )
    teacher: str | None = field(
        default=None,
        metadata={
            "help": "Distil from this saved model folder: the training clips (and augmented copies) also "
            "carry the teacher's soft labels (see ser-hf distill)."
        },
    )
    distill_alpha: float = field(
        default=0.5,
        metadata={
            "help": "Weight of the teacher's soft labels in the loss (0 = labels only, 1 = teacher only)."
        },
    )
    distill_temperature: float = field(
        default=2.0, metadata={"help": "Softening temperature of teacher and student distributions."}
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

    def __post_init__(self) -> None:
        copies = self.offline_copies
        if copies is not None and (isinstance(copies, bool) or not isinstance(copies, int) or copies < 0):
            raise SERError(
                f"--offline_copies must be a whole number of copies >= 0 (0: none), got {copies!r}",
                source="--offline_copies",
            )


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
    calibrate: bool = field(
        default=True,
        metadata={
            "help": "Fit a temperature on the validation speakers after training and store it in the "
            "model (calibrated probabilities; the predicted class does not change)."
        },
    )
    hp_search: int = field(
        default=0,
        metadata={
            "help": "Hyperparameter search first: this many Optuna trials (learning rate, weight decay, batch "
            "size, label smoothing) scored by validation UA, then the final run with the best values; the "
            "trials table goes to output_dir. 0 = off."
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
        given = str(self.resume_from_checkpoint or "").strip().lower()
        if given in ("", "false", "none", "true"):  # a config's `resume_from_checkpoint: false` is no path
            self.resume = self.resume or given == "true"  # Trainer's "True": the last checkpoint, as --resume
            self.resume_from_checkpoint = None
        if self.optimizer_name not in ("adam", "adamw"):
            raise SERError(f"optimizer_name must be adam or adamw, got {self.optimizer_name!r}")
        if self.hp_search < 0:  # a negative count once ran no search without a word
            raise SERError(
                "give a number of trials, 1 or more (0: no search)", source=f"--hp_search {self.hp_search}"
            )
        if str(self.lr_scheduler_type) == "reduce_lr_on_plateau" and not self.lr_scheduler_kwargs:
            # Trainer's plateau scheduler defaults to mode="min", wrong for UA
            mode = "max" if self.greater_is_better in (True, None) else "min"
            self.lr_scheduler_kwargs = {
                "mode": mode,
                "factor": self.plateau_factor,
                "patience": self.plateau_patience,
            }
        try:
            super().__post_init__()
        except ValueError as err:  # TrainingArguments' own checks were raw tracebacks
            hint = next((f" ({fix})" for key, fix in _ARGUMENT_FIXES if key in str(err)), "")
            raise SERError(f"{err}{hint}", source="training arguments") from err


# TrainingArguments' checks that this package's defaults can trip, and the fix (the first match)
_ARGUMENT_FIXES = (
    ("round multiple", "make --save_steps a multiple of --eval_steps, or add --load_best_model_at_end false "
     "(ser_hf keeps the best validation model by default)"),
    ("load_best_model_at_end", "ser_hf keeps the best validation model (--load_best_model_at_end true) by "
     "default: add --load_best_model_at_end false, or give --save_strategy and --eval_strategy alike"),
    ("reduce_lr_on_plateau", "ser_hf's default scheduler: add --lr_scheduler_type linear, or keep an eval strategy"),
)  # fmt: skip

ARGUMENT_CLASSES = (DataArguments, ModelArguments, AugmentArguments, SERTrainingArguments)
CONFIG_SUFFIXES = (".json", ".yaml", ".yml")  # a config file given in place of flags


def parse_args(
    argv: Sequence[str] | None = None,
) -> tuple[DataArguments, ModelArguments, AugmentArguments, SERTrainingArguments]:
    """Parse the command line (or one ``.json``/``.yaml`` file) into the four argument dataclasses.

    ``--corpus`` may be repeated; the values are merged (``--corpus a=x --corpus b=y``); given on the
    command line, they replace a config file's corpora.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = HfArgumentParser(ARGUMENT_CLASSES, exit_on_error=False)  # not the 130-line usage
    from_file: list[str] = []
    if argv and argv[0].lower().endswith(CONFIG_SUFFIXES):
        from_file, argv = _file_args(Path(argv[0])), argv[1:]  # the file's fields, then flags overriding them
    file_rest, file_corpora = _take_corpora(from_file)
    merged, corpora = _take_corpora(argv)
    merged = [*file_rest, *merged]
    corpora = corpora or file_corpora  # --corpus flags replace the file's corpora, as other flags do
    if corpora:
        merged += ["--corpus", *corpora]
    try:
        data_args, model_args, aug_args, training_args, rest = parser.parse_args_into_dataclasses(
            merged, return_remaining_strings=True
        )
    except argparse.ArgumentError as err:  # argparse printed every option's usage above its one line
        raise SERError(f"{err}; run with --help for the options", source="command line") from None
    if rest:
        first = (
            " (a config file goes first: python scripts/train.py config.yaml --flag value)"
            if any(str(r).lower().endswith(CONFIG_SUFFIXES) for r in rest)
            else ""
        )
        raise SERError(
            f"unknown arguments {rest}{first}; run with --help for the options", source="command line"
        )
    # a typo fails here, not after the whole corpus is decoded
    from ..data.augment import AugmentConfig
    from ..data.labels import parse_label_map
    from .presets import check_overrides

    check_search_preset(model_args, training_args)  # said after the whole corpus had decoded
    parse_label_map(data_args.label_map, "--label_map")
    overrides = [
        _json_arg(getattr(model_args, n, None), n) for n in ("config_overrides", "feature_overrides")
    ]
    # an unknown key once trained as the preset; a backbone's head keeps its own few
    check_overrides(model_args.preset, *overrides, backbone=model_args.backbone)
    AugmentConfig.from_preset(aug_args.augment, **_json_arg(aug_args.augment_overrides, "augment_overrides"))
    return data_args, model_args, aug_args, training_args


def check_search_preset(model_args: Any, training_args: Any) -> None:
    """Refuse ``--hp-search`` with a logistic-regression (functionals) preset.

    Raises:
        SERError: naming the preset and what the search is for."""
    from .presets import get_preset

    functionals = get_preset(model_args.preset)["family"] == "functionals"
    if training_args.hp_search and not model_args.backbone and functionals:
        raise SERError(
            "the logistic-regression presets already choose their regularisation on the validation "
            "speakers; --hp-search searches the Trainer presets' hyperparameters",
            source=f"--preset {model_args.preset} --hp-search {training_args.hp_search}",
        )


def _take_corpora(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """``argv`` without its ``--corpus`` values, and those values (repeated flags merged)."""
    rest: list[str] = []
    corpora: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--corpus="):
            corpora.append(arg.split("=", 1)[1])
        elif arg == "--corpus":
            i += 1
            # a config file after the corpora is no corpus
            while (
                i < len(argv)
                and not argv[i].startswith("--")
                and not argv[i].lower().endswith(CONFIG_SUFFIXES)
            ):
                corpora.append(argv[i])
                i += 1
            continue
        else:
            rest.append(arg)
        i += 1
    return rest, corpora


def _file_args(path: Path) -> list[str]:
    """A ``.json`` / ``.yaml`` config as the command line it stands for (``key: value`` ->
    ``--key value``), so its fields are checked as flags are: an unknown key or a value of the wrong
    type is the same error, and flags after the file override it."""
    if not path.is_file():
        raise SERError("argument file not found", source=str(path))
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
        else:
            import yaml

            data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception as err:  # json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError
        raise SERError(f"not a readable config ({str(err).splitlines()[0]})", source=str(path)) from err
    if not isinstance(data, dict) or not data:
        raise SERError("a config holds `name: value` fields, e.g. `preset: compact`", source=str(path))
    fields = {f.name for cls in ARGUMENT_CLASSES for f in dataclasses.fields(cls)}
    # argparse takes a prefix of a flag (`num_train: 1` as --num_train_epochs); a file's keys are exact
    if unknown := [k for k in data if str(k).replace("-", "_") not in fields]:
        raise SERError(f"unknown fields {unknown}; run ser-hf train --help for the options", source=str(path))
    args: list[str] = []
    for key, value in data.items():
        if value is None:
            continue
        if value is False and key.endswith("_strategy"):
            value = "no"  # YAML reads `save_strategy: no` as false
        elif isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, dict):
            value = json.dumps(value)
        args += [f"--{key}", *map(str, value)] if isinstance(value, list) else [f"--{key}", str(value)]
    return args


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
