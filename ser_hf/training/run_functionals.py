"""The functionals presets' way through :func:`~ser_hf.training.run.train`, and two steps both ways share.

A functionals preset is a logistic regression fitted in closed form on the training speakers
(:mod:`ser_hf.training.linear`), its C chosen on the validation speakers, not stepped by ``Trainer``;
:func:`_train_functionals` saves it with the same files and metrics as a Trainer run, and says which
Trainer arguments it never reads. Both ways record the training data in the model's config
(:func:`_record_data`) and may learn from a teacher's soft labels (:func:`_soft_labels`).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SERError
from .arguments import DataArguments, ModelArguments, SERTrainingArguments, _json_arg
from .saving import refuse_refit_of_another_run, remove_stale_run_files, save_model_folder
from .scoring import fit_calibration, score_parts

# its messages keep the logger name they had in ser_hf.training.run (the CLI prints it)
logger = logging.getLogger("ser_hf.training.run")


# training arguments a resumed run takes from its checkpoint (the optimizer's and the scheduler's saved
# state: this package's own optimizer and ReduceLROnPlateau) whatever the command says
_RESUMED_AS_SAVED = (
    "learning_rate", "per_device_train_batch_size", "gradient_accumulation_steps", "weight_decay",
    "optimizer_name", "adam_beta1", "adam_beta2", "adam_epsilon", "lr_scheduler_type", "lr_scheduler_kwargs",
    "plateau_patience", "plateau_factor", "warmup_ratio", "warmup_steps",
)  # fmt: skip

# training arguments a fitted (closed-form, not stepped) preset never reads
_STEPPING_ARGS = (
    *_RESUMED_AS_SAVED, "num_train_epochs", "max_steps", "label_smoothing", "early_stopping_patience",
)  # fmt: skip


def _warn_unused_trainer_args(training_args: Any, preset: str) -> None:
    """Say which of the given Trainer arguments a functionals preset ignores (they changed nothing
    without a word)."""
    import dataclasses

    defaults = {  # fields with a plain default (lr_scheduler_kwargs is derived from the plateau ones)
        f.name: f.default
        for f in dataclasses.fields(training_args)
        if f.name in _STEPPING_ARGS
        and f.name != "lr_scheduler_kwargs"
        and f.default is not dataclasses.MISSING
    }
    given = [f"--{k}" for k, v in defaults.items() if getattr(training_args, k) != v]
    if given:
        logger.warning(
            "%s do(es) not apply to the preset %r: a logistic regression fitted in closed form (its C is "
            "chosen on the validation speakers; --config_overrides '{\"c_grid\": [...]}' sets the choices)",
            ", ".join(given),
            preset,
        )


def _train_functionals(
    ds: Any,
    data_args: DataArguments,
    model_args: ModelArguments,
    training_args: SERTrainingArguments,
    split: Any,
    clips: list[np.ndarray],
    labels: list[int],
    speakers: list[str],
    genders: list[str],
    parts: tuple[list[int], list[int], list[int]],
    skipped: dict[str, int],
    soft: np.ndarray | None = None,
    cache: Any = None,
    corpora: list[str] | None = None,
) -> dict[str, Any]:
    """The ``functionals`` presets: fit on the training speakers, choose C on the validation
    speakers, save the folder and the same metric files as a Trainer run."""
    from .linear import predict_probabilities, train_linear
    from .presets import LINEAR_OPTIONS, get_preset

    train_rows, val_rows, test_rows = parts
    label_names = list(ds.features["emotion"].names)
    present = sorted({label_names[labels[r]] for r in train_rows})
    if len(present) < 2:  # as build_model refuses it for the Trainer presets (was sklearn's ValueError)
        raise SERError(
            f"a classifier needs at least 2 classes; the training rows hold {present}", source="--corpus"
        )
    spec = get_preset(model_args.preset)
    overrides = _json_arg(model_args.config_overrides, "config_overrides")
    unknown = sorted(set(overrides) - set(LINEAR_OPTIONS))
    if unknown:
        raise SERError(
            f"{unknown} are not options of the functionals preset {model_args.preset!r}; it takes "
            f"{', '.join(LINEAR_OPTIONS)}",
            source="--config_overrides",
        )
    spec = {**spec, "config": {**spec["config"], **overrides}}
    _warn_unused_trainer_args(training_args, model_args.preset)
    if training_args.resume:  # no checkpoints: refuse another run's folder, as the Trainer presets do
        refuse_refit_of_another_run(
            training_args.output_dir, split, data_args, model_args, training_args.seed
        )
    model, extractor, info = train_linear(
        clips, labels, train_rows, val_rows, label_names, spec, seed=training_args.seed, cache=cache,
        soft=soft, alpha=model_args.distill_alpha,
        groups={"corpus": corpora or [], "gender": genders, "speaker": speakers},
    )  # fmt: skip
    _record_data(model.config, ds, data_args, split)
    output_dir = Path(training_args.output_dir)
    files = {
        "split.json": split_file(ds, split, data_args.split),
        "train_args.json": {
            "data": dataclasses.asdict(data_args),
            "model": dataclasses.asdict(model_args),
            "regularisation": {k: v for k, v in info.items() if k != "val_probs"},
            "seed": training_args.seed,
        },
    }
    results: dict[str, Any] = {"skipped": skipped, "c": info["c"]}

    # validation: the probabilities of the fit that did not see those speakers
    probs = {"validation": info["val_probs"]} if val_rows else {}
    if test_rows:
        probs["test"] = predict_probabilities(model, extractor, [clips[r] for r in test_rows], cache)
    logger.info("%s", cache.summary())
    temperature = fit_calibration(training_args.calibrate, probs, val_rows, labels)
    model.config.calibration_temperature = temperature
    save_model_folder(model, extractor, output_dir, files)
    remove_stale_run_files(output_dir, searched=False, checkpoints=False)
    results.update(
        score_parts(
            (val_rows, test_rows),
            train_rows,
            probs,
            labels,
            speakers,
            genders,
            label_names,
            data_args.split,
            output_dir,
            temperature,
            corpora,
            _own_labels(ds, split),
        )  # fmt: skip
    )
    return results


def _own_labels(ds: Any, split: Any) -> list[Any] | None:
    """Each scored row's own label (``raw_emotion``: calm before harmonized7 counts it as neutral), in
    the order of the rows :func:`score_parts` reads (training, validation, test)."""
    if "raw_emotion" not in ds.column_names:
        return None
    own = ds["raw_emotion"]
    return [own[i] for i in (*split.train, *split.validation, *split.test)]


def split_file(ds: Any, split: Any, spec: str) -> dict[str, Any]:
    """The model folder's ``split.json``: the split (``--split manifest:<output_dir>/split.json``
    repeats it exactly), the ``--split`` given, and the folders of the training corpora (those of
    its training and validation rows), so that ``ser-hf evaluate`` recognises the same data under
    another corpus name, and each row's label (``row_labels``), so that ``ser-hf cv`` reuses a
    finished fold only on the labels it was trained on."""
    from ..data.splits import corpus_folders, row_labels

    corpora = list(ds["corpus"]) if "corpus" in ds.column_names else []
    trained = {str(corpora[i]) for i in [*split.train, *split.validation]} if corpora else set()
    folders = {c: f for c, f in corpus_folders(ds).items() if c in trained}
    return {
        **split.to_dict(),
        "spec": spec,
        **({"corpus_folders": folders} if folders else {}),
        "row_labels": row_labels(ds),
    }


def _record_data(config: Any, ds: Any, data_args: DataArguments, split: Any) -> None:
    """Write into a model's config the label scheme and the corpora it was trained on: those of its
    training and validation rows (a held-out test corpus is no training data: cards and licences
    read this)."""
    from ..data.rows import label_scheme_of

    config.label_scheme = label_scheme_of(ds) or data_args.label_scheme or "native"
    corpora = list(ds["corpus"]) if "corpus" in ds.column_names else []
    config.training_corpora = sorted(
        {str(corpora[i]) for i in [*split.train, *split.validation]} if corpora else set()
    )


def _soft_labels(
    model_args: ModelArguments,
    clips: list[np.ndarray],
    rows: list[int],
    label_names: list[str],
    cache: Any = None,
) -> np.ndarray | None:
    """``(len(clips), C)`` teacher probabilities on ``rows`` (never test rows; zeros elsewhere),
    softened to ``--distill_temperature``, or None without ``--teacher``."""
    if not model_args.teacher:
        return None
    from .distill import soften, teacher_probabilities

    if not 0.0 <= model_args.distill_alpha <= 1.0 or model_args.distill_temperature <= 0:
        raise SERError(
            "--distill_alpha must lie in [0, 1] and --distill_temperature be positive",
            source=f"alpha {model_args.distill_alpha}, temperature {model_args.distill_temperature}",
        )
    soft = np.zeros((len(clips), len(label_names)), dtype=np.float32)
    soft[rows] = teacher_probabilities(model_args.teacher, [clips[r] for r in rows], label_names, cache=cache)
    return soften(soft, model_args.distill_temperature)
