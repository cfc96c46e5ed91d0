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
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import (
    EarlyStoppingCallback,
    TrainerCallback,
    set_seed,
)

from ..data.audio import is_silent
from ..errors import SERError, require_extra
from .arguments import (
    AugmentArguments,
    DataArguments,
    ModelArguments,
    SERTrainingArguments,
    _json_arg,
    check_search_preset,
)
from .clips import (
    SAMPLING_RATE,
    ClipDataset,
    WaveformStore,
    balanced_class_weights,
    collate_clips,
    decode_rows,
    load_rows,
    make_split,
)
from .run_functionals import (
    _RESUMED_AS_SAVED,
    _record_data,
    _soft_labels,
    _train_functionals,
    split_file,
)
from .saving import (
    another_runs_model,
    checkpoint_to_resume,
    data_identity,
    remove_stale_run_files,
    save_final_model,
)
from .scoring import fit_calibration, score_parts
from .trainer import (
    SERTrainer,
    TimeBudgetCallback,
    _crop_samples,
    _DebugCallback,
    _gender_ids,
    _predict,
)

logger = logging.getLogger(__name__)


def _warn_teacher_speakers(teacher: str, ds: Any, test_speakers: list[str]) -> None:
    """Warn when the ``teacher`` trained or was chosen on test speakers of this run: by the speaker ids of
    its split.json, or, as ``ser-hf evaluate`` finds them, its training data here under another corpus
    name (``--corpus other=DIR`` of the folder it trained on as ``mine``: its files or folder;
    :func:`~ser_hf.training.eval_inputs.recognised_training_data`). A warning, as evaluate's: the run is
    sound, only its test figures are not speaker-independent."""
    from .eval_inputs import recognised_training_data, seen_speakers

    recognised = recognised_training_data(teacher, ds)
    if seen := seen_speakers(teacher, test_speakers, recognised):
        renamed = "".join(
            f"; corpus {f['corpus']!r} is the data it trained on as {f['as']!r} ("
            + (f"{f['files']} of its clips are training or validation files" if f["files"] else "its folder")
            + " in the teacher's split.json)"
            for f in recognised
            if not f.get("ambiguous") and set(f["speakers"]) & set(seen)
        )
        logger.warning(
            "the teacher %s trained or was chosen on %d of this run's test speakers (%s%s)%s: the student's "
            "test figures are not speaker-independent; distil from a teacher trained without them",
            teacher, len(seen), ", ".join(seen[:6]), " ..." if len(seen) > 6 else "", renamed,
        )  # fmt: skip
    for found in recognised:  # the same folder with other speaker ids, or a Hub copy's ids alone
        if found.get("ambiguous") and (concerned := sorted(set(found["speakers"]) & set(test_speakers))):
            logger.warning(
                "corpus %r may be the data the teacher %s trained on%s: %s. %d of this run's test speakers (%s) "
                "cannot be told apart from its training speakers: if they are, the student's test figures are "
                "not speaker-independent",
                found["corpus"], teacher, f" as {found['as']!r}" if found.get("as") else "", found["ambiguous"],
                len(concerned), ", ".join(concerned[:6]) + (" ..." if len(concerned) > 6 else ""),
            )  # fmt: skip


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
    require_extra("train", "ser_hf.training.run.train")
    from ..data.augment import AugmentConfig, SpecAugment, WaveformAugmenter
    from ..data.corpora import own_labels as of_your_own
    from ..data.expand import expand_offline
    from ..data.rows import label_scheme_of
    from .feature_cache import FeatureCache, default_cache_dir
    from .metrics import make_compute_metrics
    from .presets import build_model, get_preset

    launched = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if launched > 1 and training_args.world_size == 1:  # each process trained the whole model alone
        raise SERError(
            f"launched as {launched} processes (torchrun / accelerate), but this run is not distributed: "
            "without a GPU, add --use_cpu true (gloo)",
            source="--use_cpu",
        )
    set_seed(training_args.seed)
    output_dir = Path(training_args.output_dir)
    if model_args.backbone:  # a saved ser_hf model given as the encoder: said before any decoding
        from .backbone import check_backbone

        check_backbone(model_args.backbone)

    # 1. rows and the speaker-independent split (metadata only, no audio decoded yet)
    ds, row_splits, row_names = load_rows(data_args, return_splits=True, return_names=True)
    label_names = list(ds.features["emotion"].names)
    split = make_split(ds, data_args, training_args.seed, row_splits)
    if not (training_args.resume or training_args.resume_from_checkpoint) and (
        differ := another_runs_model(output_dir, split, data_args, model_args, training_args.seed)
    ):
        logger.warning(
            "%s holds the model of another run (its %s differ from this one's): this run replaces it when "
            "it finishes; give another --output_dir to keep it",
            output_dir, ", ".join(differ),
        )  # fmt: skip
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
    if model_args.teacher:  # its soft labels carry what it learnt of the speakers it trained on
        _warn_teacher_speakers(model_args.teacher, ds, sorted({speakers[i] for i in split.test}))

    # 2. decode each clip once (rank 0 first, so the cache is written once)
    rows = split.train + split.validation + split.test
    with training_args.main_process_first(desc="decoding audio"):
        clips = decode_rows(ds, rows, SAMPLING_RATE, data_args.cache_dir, data_args.decode_workers, row_names)
    store_labels = [emotions[i] for i in rows]
    store_genders = _gender_ids([genders_raw[i] for i in rows])
    store_speakers = [speakers[i] for i in rows]
    corpus_raw = ds["corpus"] if "corpus" in ds.column_names else ["unknown"] * len(ds)
    store_corpora = [str(corpus_raw[i]) for i in rows]
    own_labels = ds["raw_emotion"] if "raw_emotion" in ds.column_names else None
    store_raw = [own_labels[i] for i in rows] if own_labels is not None else None  # calm before harmonized7
    n_train, n_val = len(split.train), len(split.validation)
    # clips that failed to decode (empty) or are silent take part in nothing: not training,
    # selection or scoring; both are counted in the results
    silent = [len(c) > 0 and is_silent(c) for c in clips]
    skipped = {"undecodable": sum(len(c) == 0 for c in clips), "silent": sum(silent)}
    ok = [len(c) > 0 and not quiet for c, quiet in zip(clips, silent)]
    clips = [c if good else np.zeros(1, np.float32) for c, good in zip(clips, ok)]  # never gathered
    train_rows = [r for r in range(n_train) if ok[r]]
    val_rows = [r for r in range(n_train, n_train + n_val) if ok[r]]
    test_rows = [r for r in range(n_train + n_val, len(rows)) if ok[r]]
    if not all(ok):
        logger.warning(
            "left out %d undecodable and %d silent clip(s) of %d",
            skipped["undecodable"],
            skipped["silent"],
            len(ok),
        )
    if not train_rows:
        raise SERError("no training clip could be decoded; check the corpus files", source="training data")
    n_train = len(train_rows)
    trained = {store_labels[r] for r in train_rows}
    for corpus in sorted(
        {store_corpora[r] for r in test_rows} - {store_corpora[r] for r in train_rows + val_rows}
    ):
        has = sorted({store_labels[r] for r in test_rows if store_corpora[r] == corpus})
        if not set(has) & trained:  # two corpora sharing no class trained and reported UA 0.000
            raise SERError(
                f"the held-out corpus {corpus} has the classes {[label_names[i] for i in has]}, the training "
                f"data {[label_names[i] for i in sorted(trained)]}: they share none, so nothing can be scored",
                source=data_args.split,
            )
        logger.info("held-out corpus %s is scored on its classes %s", corpus, [label_names[i] for i in has])
    if untrained := [n for i, n in enumerate(label_names) if i not in trained]:
        scheme = label_scheme_of(ds) or data_args.label_scheme
        own = not data_args.corpus or all(of_your_own(c.partition("=")[0].strip()) for c in data_args.corpus)
        fix = (  # two corpora of your own, harmonized7: 'fearful', 'disgust', 'surprised' out of nothing
            "map them onto the classes of the training corpora with --label_map (anger=angry)"
            if scheme == "native"
            else "choose a --label_scheme without them (common6 has no calm and no surprise)"
            + (", or --label_scheme native: your own labels as the classes" if own else "")
        )
        logger.warning(  # CREMA-D + EmoDB under harmonized7 got a 'surprised' output without a word
            "no training clip is labelled %s (label scheme %s): the model keeps these outputs but cannot learn "
            "them; train on corpora that have them, or %s",
            untrained, scheme, fix,
        )  # fmt: skip

    # per-clip features on disk, shared by the functionals fit, a teacher and --feature_cache
    cache = FeatureCache(default_cache_dir(data_args.cache_dir))

    # functionals presets: a logistic regression over one vector per clip, no Trainer
    if not model_args.backbone and get_preset(model_args.preset)["family"] == "functionals":
        check_search_preset(model_args, training_args)  # a library caller's arguments, not parsed
        if training_args.process_index != 0:  # a fit is one process's work; two saves clashed
            logger.info(
                "process %d: a logistic-regression preset is fitted by process 0", training_args.process_index
            )
            return {"skipped": skipped}
        # the validation speakers' clips too: the final fit is refitted on training + validation
        soft = _soft_labels(model_args, clips, train_rows + val_rows, label_names, cache)
        return _train_functionals(
            ds, data_args, model_args, training_args, split, clips, store_labels, store_speakers,
            [str(genders_raw[r]) for r in rows], (train_rows, val_rows, test_rows), skipped, soft, cache,
            store_corpora,
        )  # fmt: skip

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
    soft = _soft_labels(model_args, clips, train_rows, label_names, cache)
    store = WaveformStore(clips)

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

    def build(**config: Any) -> tuple[Any, Any]:
        if model_args.backbone:  # a pretrained encoder under our head (no frame-model options)
            from .backbone import build_backbone_model
            from .presets import BACKBONE_OPTIONS

            return build_backbone_model(
                model_args.backbone,
                label_names,
                model_args.freeze_layers,
                **{k: v for k, v in config.items() if k in BACKBONE_OPTIONS},
            )
        return build_model(
            model_args.preset,
            label_names,
            feature_overrides=_json_arg(model_args.feature_overrides, "feature_overrides"),
            **config,
        )

    model, feature_extractor = build(**overrides)
    _record_data(model.config, ds, data_args, split)
    max_samples = _crop_samples(data_args, feature_extractor)
    trainer_extractor = feature_extractor
    if data_args.feature_cache and not model_args.backbone:
        # features once per clip (the disk cache makes it once per clip across runs); the store then
        # holds (frames, F) matrices, crops are in frames, and batches are normalised per batch
        from .feature_cache import CachedFeatures, frame_statistics, raw_frame_features

        if online_waveform:
            raise SERError(
                "training from cached features needs the waveform augmentation offline: add "
                "--offline_copies N (augmented copies made once), or use --augment none",
                source=f"--feature_cache with --augment {aug_args.augment}",
            )
        arrays = raw_frame_features(feature_extractor, clips, cache)
        store = WaveformStore(arrays)
        if feature_extractor.normalize == "global" and feature_extractor.feature_mean is None:
            feature_extractor.feature_mean, feature_extractor.feature_std = frame_statistics(
                [arrays[r] for r in train_rows[:n_train]]
            )
        trainer_extractor = CachedFeatures(feature_extractor)
        max_samples = None if max_samples is None else 1 + max_samples // feature_extractor.hop_length
        logger.info("training from cached features of %d clips", len(arrays))
        del arrays
    elif feature_extractor.normalize == "global" and feature_extractor.feature_mean is None:
        feature_extractor.fit_global_stats(
            store.batch(torch.tensor(train_rows[i : i + 64])) for i in range(0, n_train, 64)
        )
    del clips

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
    searching = training_args.hp_search > 0
    holder: list[SERTrainer] = []

    def model_init(trial: Any = None) -> Any:
        """A fresh model with the trial's label smoothing (Trainer builds the model BEFORE it
        copies the trial's values into its arguments, so they are read from the trial itself);
        the optimizer takes the trial's rate in ``SERTrainer.create_optimizer``."""
        from .hp_search import hp_space

        args = holder[0].args if holder else training_args
        smoothing = hp_space(trial)["label_smoothing"] if trial is not None else args.label_smoothing
        fresh, _ = build(**{**overrides, "label_smoothing": smoothing})
        _record_data(fresh.config, ds, data_args, split)
        return fresh

    trainer = SERTrainer(
        model=None if searching else model,
        model_init=model_init if searching else None,
        args=training_args,
        data_collator=collate_clips,
        train_dataset=ClipDataset(train_rows, store_labels, store_genders),
        eval_dataset=ClipDataset(val_rows, store_labels, store_genders) if has_val else None,
        compute_metrics=make_compute_metrics(label_names),
        callbacks=callbacks,
        optimizer_cls_and_kwargs=(optimizer_cls, optimizer_kwargs),
        store=store,
        feature_extractor=trainer_extractor,
        waveform_augmenter=WaveformAugmenter(aug_config, SAMPLING_RATE) if online_waveform else None,
        # SpecAugment masks feature frames: not for an encoder that reads the waveform itself
        spec_augmenter=SpecAugment(aug_config)
        if aug_config.spec_enabled and not model_args.backbone
        else None,
        max_samples=max_samples,
        mixup_alpha=aug_args.mixup_alpha,
        tta_crops=training_args.tta,
        store_on_device=data_args.waveforms_on_device,
        soft_targets=None if soft is None else torch.from_numpy(soft),
        distill_alpha=model_args.distill_alpha,
        distill_temperature=model_args.distill_temperature,
    )
    holder.append(trainer)
    debug = _DebugCallback(trainer)
    trainer.add_callback(debug)

    def run_files() -> dict[str, Any]:
        """``split.json`` (the manifest: ``--split manifest:<output_dir>/split.json`` repeats this
        split exactly) and ``train_args.json``: saved with the final model, never before it."""
        return {
            "split.json": split_file(ds, split, data_args.split),
            "train_args.json": {
                "data": dataclasses.asdict(data_args),
                "model": dataclasses.asdict(model_args),
                "augment": dataclasses.asdict(aug_args),
                "augment_config": aug_config.to_dict(),
                "training": trainer.args.to_dict(),
            },
        }

    # 6. train (resuming from the last checkpoint of this same run when asked and one exists)
    # what the checkpoints are trained on; settings that change only how fast or where are left out
    described = run_files()["train_args.json"]
    described["data"] = data_identity(described["data"])
    identity = {"split": split.to_dict(), **{k: v for k, v in described.items() if k != "training"}}
    # the Trainer restores a checkpoint's optimizer and scheduler as saved: a resume with another
    # learning rate kept the old one while train_args.json recorded the new (more epochs may change)
    identity["optimisation"] = {k: described["training"].get(k) for k in _RESUMED_AS_SAVED}
    # with a search, --resume continues its trials; the final model trains afresh with the best values
    # (a checkpoint of an earlier final run holds the earlier best values' weights: it was resumed,
    # trained no further, and saved under the new values)
    if searching and training_args.resume:
        logger.info(
            "--resume continues the search's trials; the final model trains afresh with the best values"
        )
    given = training_args.resume_from_checkpoint  # transformers' own flag: that checkpoint ("true": --resume)
    if searching and given:
        raise SERError(
            "a hyperparameter search trains its trials afresh; --resume true continues an interrupted search",
            source=f"--resume_from_checkpoint {given} with --hp-search",
        )
    # the search sets the learning rate and batch size itself: its journal's run is the rest
    searched_run = {k: v for k, v in identity.items() if k != "optimisation"}
    if searching and training_args.resume:  # refused before the folder's checkpoints are touched
        from .hp_search import check_resume

        check_resume(output_dir, searched_run)
    resume = checkpoint_to_resume(
        output_dir,
        identity,
        training_args.resume and not searching,
        write=trainer.is_world_process_zero(),
        checkpoint=str(given) if given else None,
    )
    hp_summary = None
    if searching:
        from .hp_search import run_search

        hp_summary = run_search(
            trainer,
            training_args.hp_search,
            output_dir,
            training_args.seed,
            searched_run,
            training_args.resume,
        )
    trainer.train(resume_from_checkpoint=resume)

    # 7. the final (best) model, and metrics on validation and test
    results: dict[str, Any] = {"best_checkpoint": trainer.state.best_model_checkpoint, "skipped": skipped}
    if hp_summary is not None:
        results["hp_search"] = {k: hp_summary[k] for k in ("best", "best_validation_ua", "n_trials")}
    model = trainer.accelerator.unwrap_model(trainer.model)
    gender_names = [str(genders_raw[i]) for i in rows]
    # the uncalibrated probabilities, predicted before the temperature goes into the model
    probs = {
        name: _predict(trainer, ClipDataset(rows_, store_labels, store_genders))[2]
        for name, rows_ in (("validation", val_rows), ("test", test_rows))
        if rows_
    }
    temperature = fit_calibration(training_args.calibrate, probs, val_rows, store_labels)
    if trainer.is_world_process_zero():
        model.config.calibration_temperature = (
            float(getattr(model.config, "calibration_temperature", 1.0) or 1.0) * temperature
        )
        save_final_model(trainer, output_dir, run_files())  # train_args: the best trial's values
        remove_stale_run_files(output_dir, searched=searching, checkpoints=True)
    results.update(
        score_parts(
            (val_rows, test_rows),
            train_rows,
            probs,
            store_labels,
            store_speakers,
            gender_names,
            label_names,
            data_args.split,
            output_dir if trainer.is_world_process_zero() else None,
            temperature,
            store_corpora,
            store_raw,
        )
    )
    debug.finish()
    return results
