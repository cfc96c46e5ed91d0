"""The fusion of several trained models into one (remote code): a fixed weighted average of class probabilities.

This file is copied next to a saved fusion model, so it imports only torch, transformers and its
single-dot siblings, never ``ser_hf``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from .configuration_ser import (
    CnnBiLstmAttentionConfig,
    CnnTransformerConfig,
    FunctionalsLinearConfig,
    SERFusionConfig,
)
from .errors import SERError
from .modeling_ser import (
    CnnBiLstmAttentionForAudioClassification,
    CnnTransformerForAudioClassification,
    FunctionalsLinearForAudioClassification,
    SERPreTrainedModel,
)

# ----------------------------------------------------------------------------------------------
# Fusion: a fixed weighted average of several trained models' class probabilities
# ----------------------------------------------------------------------------------------------

_MEMBER_MODELS: dict[str, type[SERPreTrainedModel]] = {
    CnnBiLstmAttentionConfig.model_type: CnnBiLstmAttentionForAudioClassification,
    CnnTransformerConfig.model_type: CnnTransformerForAudioClassification,
    FunctionalsLinearConfig.model_type: FunctionalsLinearForAudioClassification,
}


class SERFusionForAudioClassification(SERPreTrainedModel):
    """Several trained members in one model: probabilities ``sum_i w_i softmax(logits_i)``.

    Frame-feature members (both families) read ``input_features`` ``(batch, frames, features)``
    and ``attention_mask``; functionals members read ``functionals`` ``(batch, num_features)``.
    :class:`SERFusionFeatureExtractor` returns all three. The output ``logits`` are the log of the
    averaged probabilities, so ``softmax(logits)`` (what the pipeline computes) is that average.
    With ``output_attentions=True``, ``attentions[0]`` is the frame members' attention over time,
    averaged with their weights (members on another time axis than the first are left out).
    The weights are fixed (``config.member_weights``); nothing here is trained.
    """

    config_class = SERFusionConfig
    config: SERFusionConfig

    @property
    def cpu_batch_size(self) -> int | None:  # the strictest member's
        sizes = [m.cpu_batch_size for m in self.members if m.cpu_batch_size]
        return min(sizes) if sizes else None

    def __init__(self, config: SERFusionConfig):
        super().__init__(config)
        self.members = nn.ModuleList(_MEMBER_MODELS[c.model_type](c) for c in config.member_configs())
        # per member, its output index of each of the fusion's classes (None: already in that order)
        mine = [config.id2label[i] for i in range(len(config.id2label))]
        self._orders = [
            None if theirs == mine else [theirs.index(name) for name in mine]
            for theirs in config.member_labels()
        ]
        self.post_init()

    def forward(
        self,
        input_features: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        functionals: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
        output_hidden_states: bool | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput | tuple:
        """Average the members' probabilities; ``labels`` give the negative log-likelihood."""
        if self._wants_states(output_hidden_states):  # the members' states differ in shape and meaning
            raise SERError(
                "a fusion has no hidden states of its own: call its members (model.members[i]) with "
                "output_hidden_states=True"
            )
        output_attentions = (
            output_attentions if output_attentions is not None else self.config.output_attentions
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        probs = None
        attention, attention_weight = None, 0.0
        for weight, member, order in zip(self.config.member_weights, self.members, self._orders):
            if isinstance(member, FunctionalsLinearForAudioClassification):
                if functionals is None:
                    raise SERError(
                        "this fusion has a functionals member but got no `functionals` input; "
                        "use the feature extractor saved with it (SERFusionFeatureExtractor)"
                    )
                out = member(input_features=functionals, return_dict=True)
            else:
                if input_features is None:
                    raise SERError("this fusion has a frame-feature member but got no `input_features`")
                out = member(
                    input_features=input_features,
                    attention_mask=attention_mask,
                    output_attentions=output_attentions,
                    return_dict=True,
                )
                if output_attentions and out.attentions:
                    weights = out.attentions[0].float()
                    if attention is None:
                        attention, attention_weight = weight * weights, weight
                    elif weights.shape == attention.shape:
                        attention, attention_weight = attention + weight * weights, attention_weight + weight
            p = weight * torch.softmax(out.logits.float(), dim=-1)
            if order is not None:  # the member lists the classes in another order: matched by name
                p = p[:, order]
            probs = p if probs is None else probs + p
        if probs is None:
            raise SERError("this fusion has no members")
        attentions = None
        if output_attentions and attention is not None:
            attentions = (attention / max(attention_weight, 1e-12),)
        # log of the averaged probabilities; the NLL of the average is the fusion's loss
        return self._output(torch.log(probs.clamp_min(1e-30)), labels, None, None, attentions, return_dict)

    def _loss(self, logits, labels, gender_logits, gender_ids):
        return F.nll_loss(logits, labels.long()) if labels is not None else None


SERFusionForAudioClassification.register_for_auto_class("AutoModelForAudioClassification")
