"""``SERTrainer``: ``transformers.Trainer`` that builds model inputs on the training device.

Inside ``compute_loss`` a batch of clip indices becomes: random crop -> waveform augmentation ->
batched log-mel/MFCC -> SpecAugment -> optional mixup -> model. Evaluation goes through the same
path with the full clip and no augmentation. Also here: the time-budget and debugging callbacks,
and :func:`save_final_model`, which never leaves a half-written model folder behind.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import (
    Trainer,
    TrainerCallback,
)
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from .arguments import DataArguments
from .clips import ClipDataset, WaveformStore
from .saving import failed_checkpoint

# debugging hooks for the tests (documented in tests/test_training.py and tests/test_ddp.py)
DEBUG_SEEN_ENV = "SER_HF_DEBUG_SEEN"  # dir: each rank writes the training indices it saw
DEBUG_KILL_ENV = "SER_HF_DEBUG_KILL_AT_STEP"  # N: SIGKILL the process after optimizer step N


logger = logging.getLogger(__name__)


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
        soft_targets: torch.Tensor | None = None,
        distill_alpha: float = 0.5,
        distill_temperature: float = 2.0,
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
        self.soft_targets = soft_targets  # (store rows, C) teacher probabilities at T, or None
        self.distill_alpha = float(distill_alpha)
        self.distill_temperature = float(distill_temperature)
        self.seen_indices: list[int] = []
        self._micro_step = (-1, 0)

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        """The Trainer's checkpoint; one that cannot be written (a full disk: torch.save's RuntimeError,
        safetensors' error) ends the run with an OSError naming its folder and the fix (one line and
        exit 74 from the CLI, not a traceback), the half-written folder removed (:func:`failed_checkpoint`)."""
        try:
            super()._save_checkpoint(model, trial)
        except Exception as err:
            folder = (
                Path(self._get_output_dir(trial=trial)) / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
            )
            failure = failed_checkpoint(err, folder)
            if failure is None:
                raise
            raise failure from err

    def create_optimizer(self, model: Any = None) -> Any:
        # the rate is read when the optimizer is built, so a hyperparameter-search trial (which sets
        # args.learning_rate after __init__) trains with its own rate
        if self.optimizer is None and self.optimizer_cls_and_kwargs is not None:
            self.optimizer_cls_and_kwargs[1]["lr"] = self.args.learning_rate
        return super().create_optimizer(model)

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
            return self._mixup_loss(model, config, features, mask, labels, seed, return_outputs, index)
        outputs = model(input_features=features, attention_mask=mask, labels=labels, **extra)
        if self.soft_targets is not None:
            outputs.loss = self._distill(outputs.loss, outputs.logits, self.soft_targets[index.cpu()])
        return (outputs.loss, outputs) if return_outputs else outputs.loss

    def _distill(self, hard_loss: torch.Tensor, logits: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """``(1 - alpha) * hard_loss + alpha * T^2 * KL(teacher_T || student_T)`` (Hinton et al.);
        ``soft_targets`` hold the teacher's probabilities already softened to ``T``."""
        t = self.distill_temperature
        teacher = teacher.to(logits.device, logits.dtype)
        log_student = torch.log_softmax(logits / t, -1)
        kl = torch.nn.functional.kl_div(log_student, teacher, reduction="batchmean")
        return (1.0 - self.distill_alpha) * hard_loss + self.distill_alpha * t * t * kl

    def _mixup_loss(self, model, config, features, mask, labels, seed, return_outputs, index=None):
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
        if self.soft_targets is not None and index is not None:
            teacher = self.soft_targets[index.cpu()]
            loss = self._distill(loss, logits, lam * teacher + (1.0 - lam) * teacher[perm.cpu()])
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
