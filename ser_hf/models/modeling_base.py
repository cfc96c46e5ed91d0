"""``SERPreTrainedModel``, the base every model family of this folder shares (remote code).

It owns the weight initialisation and the tail of every ``forward``: the loss (class weights, label
smoothing, the auxiliary gender loss), the calibration temperature, the output.

This file is copied next to a saved model (remote code), so it imports only torch, transformers
and its single-dot siblings, never ``ser_hf``.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from .errors import SERError

# ----------------------------------------------------------------------------------------------
# Pretrained base: initialisation and the loss shared by both families
# ----------------------------------------------------------------------------------------------


class SERPreTrainedModel(PreTrainedModel):
    """Weight initialisation (Kaiming for convolutions, Xavier for linear layers, orthogonal
    recurrent weights) and the loss, shared by every frame family."""

    base_model_prefix = "ser"
    main_input_name = "input_features"
    # clips per forward pass that run fastest on a CPU (None: any); the CNN front end of both frame
    # families ran a batch of 16 at half the speed of 16 single clips (oneDNN, one or two threads)
    cpu_batch_size: int | None = None
    input_modalities = ("audio",)
    # Trainer would pass num_items_in_batch and skip gradient-accumulation scaling
    accepts_loss_kwargs = False
    supports_gradient_checkpointing = False

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        # torch.nn.init is guarded by transformers during from_pretrained: loaded tensors are kept
        if isinstance(module, (nn.Conv1d, nn.Conv2d)):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
            if getattr(module, "running_mean", None) is not None:
                nn.init.zeros_(module.running_mean)
                nn.init.ones_(module.running_var)
                nn.init.zeros_(module.num_batches_tracked)
        elif isinstance(module, (nn.LSTM, nn.GRU)):
            for name, param in module.named_parameters():
                if name.startswith("weight_ih"):
                    nn.init.xavier_uniform_(param)
                elif name.startswith("weight_hh"):
                    nn.init.orthogonal_(param)
                else:
                    nn.init.zeros_(param)
        elif isinstance(module, nn.MultiheadAttention):
            nn.init.xavier_uniform_(module.in_proj_weight)
            nn.init.zeros_(module.in_proj_bias)

    def _output(
        self,
        logits: torch.Tensor,
        labels: torch.Tensor | None,
        gender_logits: torch.Tensor | None,
        gender_ids: torch.Tensor | None,
        attentions: tuple[torch.Tensor, ...] | None,
        return_dict: bool,
        hidden_states: tuple[torch.Tensor, ...] | None = None,
    ) -> SequenceClassifierOutput | tuple:
        """The tail every family shares: the loss on the raw logits, then the output logits divided
        by ``config.calibration_temperature`` (temperature scaling fitted on validation speakers after
        training, ``ser_hf.training.calibration``; absent or 1.0 = uncalibrated). ``hidden_states``
        (``output_hidden_states=True``): what each family's layers hand on, as its docstring says."""
        loss = self._loss(logits, labels, gender_logits, gender_ids)
        temperature = float(getattr(self.config, "calibration_temperature", 1.0) or 1.0)
        if temperature != 1.0:
            logits = logits / temperature
        if not return_dict:
            return tuple(v for v in (loss, logits, hidden_states, attentions) if v is not None)
        return SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=hidden_states, attentions=attentions
        )

    def _wants_states(self, output_hidden_states: bool | None) -> bool:
        return bool(
            self.config.output_hidden_states if output_hidden_states is None else output_hidden_states
        )

    def _loss(
        self,
        logits: torch.Tensor,
        labels: torch.Tensor | None,
        gender_logits: torch.Tensor | None,
        gender_ids: torch.Tensor | None,
    ) -> torch.Tensor | None:
        """Cross-entropy with ``config.class_weights`` and ``config.label_smoothing`` (plus the
        weighted auxiliary gender loss when the head exists and ``gender_ids`` are given)."""
        if labels is None:
            return None
        weight, weights = None, self.config.class_weights
        if weights is not None and len(weights) != logits.shape[-1]:  # another label set's: a fine-tune
            warnings.warn(
                f"config.class_weights: {len(weights)} values, {logits.shape[-1]} labels; ignored",
                stacklevel=2,
            )
        elif weights is not None:
            weight = torch.tensor(weights, dtype=logits.dtype, device=logits.device)
        loss = F.cross_entropy(
            logits, labels.long(), weight=weight, label_smoothing=float(self.config.label_smoothing)
        )
        if gender_logits is not None and gender_ids is not None:
            # -100 marks clips with unknown gender
            gender_ids = gender_ids.long()
            if bool((gender_ids != -100).any()):
                aux = F.cross_entropy(gender_logits, gender_ids, ignore_index=-100)
                loss = loss + self.config.aux_gender_loss_weight * aux
        return loss

    def _lengths(self, input_features: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        if input_features.dim() != 3 or input_features.shape[-1] != self.config.num_features:
            raise SERError(
                f"input_features has shape {tuple(input_features.shape)}; expected (batch, frames, "
                f"{self.config.num_features}) — is the feature extractor the one saved with this model?"
            )
        if attention_mask is None:
            return torch.full(
                (input_features.shape[0],), input_features.shape[1], device=input_features.device
            )
        return attention_mask.long().sum(dim=-1).clamp(min=1)
