"""Configurations of the model families (CNN-BiLSTM-Attention, CNN-Transformer, the compact CPU
model), of the functionals baseline, and of a fusion (weighted probability average) of saved models of these kinds.

Each config is the single source of truth for its architecture: every hyperparameter is named,
typed, defaulted and documented once here. Labels (``id2label``/``label2id``/``num_labels``) come
from :class:`~transformers.PretrainedConfig`.

This file is copied next to a saved model (remote code), so it imports only transformers and its
single-dot siblings, never ``ser_hf``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from transformers import PretrainedConfig

from .errors import SERError

logger = logging.getLogger(__name__)

# the utterance functionals sets SERFunctionalsFeatureExtractor computes, each as its blocks in
# vector order (feature_extraction_functionals.clip_functionals): "speech" statistics of the speech
# frames' log-mels, "pitch" speaker-relative pitch, "compare" openSMILE ComParE 2016, "logmel" and
# "mfcc" whole-clip row functionals ("mfcc-speech": the same over the speech frames only), "f0" log-F0
# from our pitch tracker, "f0-yin" from librosa's YIN, "voice-encoder" a pretrained speaker encoder's
# pooled states (voice_encoder.py; "voice-encoder-2": its first two layers only; "voice-encoder-2-range":
# those and the two layers' 10th / 90th percentiles), "turn-encoder" a pretrained speech encoder fine-tuned
# on intonation (turn_encoder.py, smart-turn v3.2's Whisper-tiny encoder; "turn-encoder-2": its first two layers;
# "turn-encoder-2-nopos": the same pooled without the position vectors the encoder adds)
FUNCTIONAL_BLOCKS = {
    "ours": ("logmel", "mfcc", "f0-yin"),
    "compare": ("compare",),
    "compare+ours": ("compare", "logmel", "mfcc", "f0-yin"),
    "speech-stats": ("speech",),
    "speech-stats-pitch": ("speech", "pitch"),
    "speech-stats-plus": ("speech", "pitch", "logmel", "mfcc", "f0"),
    "speech-stats-mfcc": ("speech", "pitch", "mfcc", "f0"),
    "speech-stats-mfcc-speech": ("speech", "pitch", "mfcc-speech", "f0"),
    "voice-encoder": ("voice-encoder",),
    "voice-encoder-2": ("voice-encoder-2",),
    "voice-encoder-2-range": ("voice-encoder-2-range",),
    "speech-stats-mfcc-speech-encoder": ("speech", "pitch", "mfcc-speech", "f0", "voice-encoder"),
    "turn-encoder": ("turn-encoder",),
    "turn-encoder-2": ("turn-encoder-2",),
    "turn-encoder-2-nopos": ("turn-encoder-2-nopos",),
    "voice-turn-encoder": ("voice-encoder-2", "turn-encoder"),
    "voice-turn-encoder-2": ("voice-encoder-2", "turn-encoder-2"),
}
FUNCTIONAL_SETS = tuple(FUNCTIONAL_BLOCKS)

ACTIVATIONS = ("relu", "gelu")


def _check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise SERError(f"{name}={value!r} is not supported; use one of {', '.join(map(str, choices))}")


def _check_positive(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SERError(f"{name}={value!r} must be a positive integer")


def _check_probability(name: str, value: Any) -> None:
    if not 0.0 <= float(value) < 1.0:
        raise SERError(f"{name}={value!r} must be in [0, 1)")


class _SERConfigMixin:
    """Validation shared by both families: conv stack, frequency reduction, loss fields."""

    def _validate_common(self) -> None:
        if self.id2label and not self.label2id:
            self.label2id = {name: int(i) for i, name in self.id2label.items()}
        if not self.conv_channels:
            raise SERError("conv_channels is empty; give at least one conv block width, e.g. [32, 64]")
        for width in self.conv_channels:
            _check_positive("conv_channels entry", width)
        _check_positive("num_features", self.num_features)
        _check_positive("pool_size", self.pool_size)
        if self.conv_kernel_size < 1 or self.conv_kernel_size % 2 == 0:
            raise SERError(f"conv_kernel_size={self.conv_kernel_size} must be odd (same-length padding)")
        _check_probability("conv_dropout", self.conv_dropout)
        _check_probability("classifier_dropout", self.classifier_dropout)
        if not 0.0 <= float(self.label_smoothing) < 1.0:
            raise SERError(f"label_smoothing={self.label_smoothing} must be in [0, 1)")
        if self.num_features // self.freq_reduction < 1:
            raise SERError(
                f"num_features={self.num_features} is too small for {len(self.conv_channels)} conv blocks "
                f"pooling frequency by {self.pool_size} (needs >= {self.freq_reduction}); use fewer "
                "blocks or more feature rows"
            )
        if self.class_weights is not None and len(self.class_weights) != self.num_labels:
            logger.warning(  # a fine-tune to other labels failed at its first loss ("8 values, 3 labels")
                "class_weights has %d values and the model %d labels (a model loaded with other labels?): "
                "ignored, the loss is unweighted; give one weight per label to weight it",
                len(self.class_weights), self.num_labels,
            )  # fmt: skip
            self.class_weights = None
        if self.class_weights is not None:
            self.class_weights = [float(w) for w in self.class_weights]
            if any(w < 0 for w in self.class_weights):
                raise SERError("class_weights must be non-negative")
        if self.num_aux_genders < 0:
            raise SERError(f"num_aux_genders={self.num_aux_genders} must be >= 0")

    @property
    def freq_reduction(self) -> int:
        """Factor by which the conv stack shrinks the feature (frequency) axis."""
        return self.pool_size ** len(self.conv_channels)

    @property
    def time_reduction(self) -> int:
        """Factor by which the conv stack shrinks the time axis (1 when ``pool_time`` is False)."""
        return self.pool_size ** len(self.conv_channels) if self.pool_time else 1

    @property
    def conv_output_size(self) -> int:
        """Width of one frame after the conv stack: last channel count x remaining feature rows."""
        return self.conv_channels[-1] * (self.num_features // self.freq_reduction)


class CnnBiLstmAttentionConfig(_SERConfigMixin, PretrainedConfig):
    r"""Configuration of :class:`CnnBiLstmAttentionForAudioClassification` (model family A).

    Data flow: ``input_features`` ``(batch, frames, num_features)`` -> conv blocks on
    ``(batch, 1, frames, num_features)`` -> ``(batch, frames', channels * features')`` -> BiLSTM ->
    attention pooling -> classifier.

    Args:
        num_features (`int`, defaults to 128): feature rows per frame; must equal the feature
            extractor's ``feature_size``.
        conv_channels (`list[int]`, defaults to ``[32, 64]``): output channels of each conv block (one
            entry per block).
        conv_kernel_size (`int`, defaults to 3): odd square kernel of every convolution.
        residual (`bool`, defaults to False): two convolutions per block plus a 1x1 shortcut instead
            of a single convolution.
        activation (`str`, defaults to ``"relu"``): ``"relu"`` or ``"gelu"`` in the conv blocks (and
            the MLP head).
        batch_norm (`bool`, defaults to True): BatchNorm2d after every convolution.
        conv_dropout (`float`, defaults to 0.1): Dropout2d probability at the end of each block.
        pool_size (`int`, defaults to 2): max-pooling factor per block on frequency (and on time when
            ``pool_time``).
        pool_time (`bool`, defaults to True): also pool the time axis (the mask is downsampled the
            same way).
        lstm_hidden_size (`int`, defaults to 128): hidden size of each LSTM direction.
        lstm_layers (`int`, defaults to 1): stacked BiLSTM layers (1 to 3 in the published designs).
        lstm_dropout (`float`, defaults to 0.0): dropout between BiLSTM layers.
        attention (`str`, defaults to ``"additive"``): ``"additive"`` (Linear-tanh-Linear score, masked
            softmax over time, weighted sum) or ``"multihead"`` (masked multi-head self-attention with a
            residual LayerNorm, then the additive pooling).
        attention_heads (`int`, defaults to 8): heads of the multi-head self-attention.
        attention_hidden_size (`int`, defaults to 128): hidden width of the additive scoring MLP.
        attention_dropout (`float`, defaults to 0.1): dropout on the multi-head attention weights.
        classifier (`str`, defaults to ``"linear"``): ``"linear"`` (dropout + Linear) or ``"mlp"``
            (Linear, BatchNorm1d, activation, dropout, Linear).
        classifier_hidden_size (`int`, defaults to 128): hidden width of the MLP head.
        classifier_dropout (`float`, defaults to 0.3): dropout before the output layer.
        class_weights (`list[float]`, *optional*): per-class cross-entropy weights, ``num_labels`` long.
        label_smoothing (`float`, defaults to 0.0): cross-entropy label smoothing.
        num_aux_genders (`int`, defaults to 0): if > 0, an auxiliary gender head on the pooled vector,
            trained only when ``gender_ids`` are passed to ``forward`` (multi-task regulariser).
        aux_gender_loss_weight (`float`, defaults to 0.3): weight of the auxiliary gender loss.
    """

    model_type = "ser_cnn_bilstm_attention"

    def __init__(
        self,
        num_features: int = 128,
        conv_channels: list[int] | None = None,
        conv_kernel_size: int = 3,
        residual: bool = False,
        activation: str = "relu",
        batch_norm: bool = True,
        conv_dropout: float = 0.1,
        pool_size: int = 2,
        pool_time: bool = True,
        lstm_hidden_size: int = 128,
        lstm_layers: int = 1,
        lstm_dropout: float = 0.0,
        attention: str = "additive",
        attention_heads: int = 8,
        attention_hidden_size: int = 128,
        attention_dropout: float = 0.1,
        classifier: str = "linear",
        classifier_hidden_size: int = 128,
        classifier_dropout: float = 0.3,
        class_weights: list[float] | None = None,
        label_smoothing: float = 0.0,
        num_aux_genders: int = 0,
        aux_gender_loss_weight: float = 0.3,
        **kwargs: Any,
    ):
        self.num_features = num_features
        self.conv_channels = list(conv_channels) if conv_channels is not None else [32, 64]
        self.conv_kernel_size = conv_kernel_size
        self.residual = residual
        self.activation = activation
        self.batch_norm = batch_norm
        self.conv_dropout = conv_dropout
        self.pool_size = pool_size
        self.pool_time = pool_time
        self.lstm_hidden_size = lstm_hidden_size
        self.lstm_layers = lstm_layers
        self.lstm_dropout = lstm_dropout
        self.attention = attention
        self.attention_heads = attention_heads
        self.attention_hidden_size = attention_hidden_size
        self.attention_dropout = attention_dropout
        self.classifier = classifier
        self.classifier_hidden_size = classifier_hidden_size
        self.classifier_dropout = classifier_dropout
        self.class_weights = class_weights
        self.label_smoothing = label_smoothing
        self.num_aux_genders = num_aux_genders
        self.aux_gender_loss_weight = aux_gender_loss_weight
        super().__init__(**kwargs)
        self._validate_common()
        _check_choice("activation", activation, ACTIVATIONS)
        _check_choice("attention", attention, ("additive", "multihead"))
        _check_choice("classifier", classifier, ("linear", "mlp"))
        _check_positive("lstm_hidden_size", lstm_hidden_size)
        _check_positive("lstm_layers", lstm_layers)
        _check_positive("attention_heads", attention_heads)
        _check_positive("attention_hidden_size", attention_hidden_size)
        _check_positive("classifier_hidden_size", classifier_hidden_size)
        _check_probability("lstm_dropout", lstm_dropout)
        _check_probability("attention_dropout", attention_dropout)
        if attention == "multihead" and (2 * lstm_hidden_size) % attention_heads:
            raise SERError(
                f"attention_heads={attention_heads} must divide the BiLSTM output width "
                f"2 x lstm_hidden_size = {2 * lstm_hidden_size}"
            )

    def __eq__(self, other: object) -> bool:
        # transformers turns config subclasses into dataclasses whose generated __eq__ compares only
        # the base class's fields; compare everything that gets serialised instead
        return isinstance(other, PretrainedConfig) and self.to_dict() == other.to_dict()


class CnnTransformerConfig(_SERConfigMixin, PretrainedConfig):
    r"""Configuration of :class:`CnnTransformerForAudioClassification` (model family B).

    Data flow: ``input_features`` ``(batch, frames, num_features)`` -> residual conv blocks ->
    ``(batch, frames', channels * features')`` -> Linear to ``d_model`` -> sinusoidal positions ->
    Transformer encoder -> masked mean over time -> classifier.

    Args:
        num_features (`int`, defaults to 128): feature rows per frame; must equal the feature
            extractor's ``feature_size``.
        conv_channels (`list[int]`, defaults to ``[16, 32, 64, 128]``): output channels of each
            residual conv block.
        conv_kernel_size (`int`, defaults to 3): odd square kernel of every convolution.
        conv_dropout (`float`, defaults to 0.1): Dropout2d probability at the end of each block.
        pool_size (`int`, defaults to 2): max-pooling factor per block on frequency (and on time when
            ``pool_time``).
        pool_time (`bool`, defaults to True): also pool the time axis.
        d_model (`int`, defaults to 128): Transformer width.
        nhead (`int`, defaults to 4): attention heads per layer (must divide ``d_model``).
        num_layers (`int`, defaults to 2): Transformer encoder layers.
        dim_feedforward (`int`, defaults to 256): hidden width of each feed-forward block.
        dropout (`float`, defaults to 0.1): dropout inside the Transformer layers and on the input
            projection.
        use_transformer (`bool`, defaults to True): False skips the positional encoding and the
            Transformer (the CNN-only ablation).
        max_positions (`int`, defaults to 4096): longest sequence, in downsampled frames, the model
            accepts (4096 x 16 frames of 10 ms = about 11 minutes); longer input raises an error
            asking to split the audio.
        classifier_dropout (`float`, defaults to 0.1): dropout before the output layer.
        class_weights (`list[float]`, *optional*): per-class cross-entropy weights.
        label_smoothing (`float`, defaults to 0.0): cross-entropy label smoothing.
        num_aux_genders (`int`, defaults to 0): if > 0, an auxiliary gender head on the pooled vector,
            trained only when ``gender_ids`` are passed to ``forward``.
        aux_gender_loss_weight (`float`, defaults to 0.3): weight of the auxiliary gender loss.
    """

    model_type = "ser_cnn_transformer"

    # the conv blocks of this family are always residual with BatchNorm and ReLU
    residual = True
    batch_norm = True
    activation = "relu"

    def __init__(
        self,
        num_features: int = 128,
        conv_channels: list[int] | None = None,
        conv_kernel_size: int = 3,
        conv_dropout: float = 0.1,
        pool_size: int = 2,
        pool_time: bool = True,
        d_model: int = 128,
        nhead: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 256,
        dropout: float = 0.1,
        use_transformer: bool = True,
        max_positions: int = 4096,
        classifier_dropout: float = 0.1,
        class_weights: list[float] | None = None,
        label_smoothing: float = 0.0,
        num_aux_genders: int = 0,
        aux_gender_loss_weight: float = 0.3,
        **kwargs: Any,
    ):
        self.num_features = num_features
        self.conv_channels = list(conv_channels) if conv_channels is not None else [16, 32, 64, 128]
        self.conv_kernel_size = conv_kernel_size
        self.conv_dropout = conv_dropout
        self.pool_size = pool_size
        self.pool_time = pool_time
        self.d_model = d_model
        self.nhead = nhead
        self.num_layers = num_layers
        self.dim_feedforward = dim_feedforward
        self.dropout = dropout
        self.use_transformer = use_transformer
        self.max_positions = max_positions
        self.classifier_dropout = classifier_dropout
        self.class_weights = class_weights
        self.label_smoothing = label_smoothing
        self.num_aux_genders = num_aux_genders
        self.aux_gender_loss_weight = aux_gender_loss_weight
        super().__init__(**kwargs)
        self._validate_common()
        for name in ("d_model", "nhead", "num_layers", "dim_feedforward", "max_positions"):
            _check_positive(name, getattr(self, name))
        _check_probability("dropout", dropout)
        if d_model % nhead:
            raise SERError(f"nhead={nhead} must divide d_model={d_model}")

    def __eq__(self, other: object) -> bool:
        # transformers turns config subclasses into dataclasses whose generated __eq__ compares only
        # the base class's fields; compare everything that gets serialised instead
        return isinstance(other, PretrainedConfig) and self.to_dict() == other.to_dict()


class FunctionalsLinearConfig(PretrainedConfig):
    r"""Configuration of :class:`FunctionalsLinearForAudioClassification`, the classical baseline:
    a (multinomial logistic-regression) linear layer over standardised utterance functionals.

    Args:
        num_features (`int`, defaults to 8054): length of the functionals vector (the feature
            extractor's ``feature_size``).
        functionals (`str`, defaults to ``"compare+ours"``): which functionals set it was fitted on.
        class_weights (`list[float]`, *optional*): per-class cross-entropy weights.
        label_smoothing (`float`, defaults to 0.0): cross-entropy label smoothing.
        gender_labels (`list[str]`, *optional*): a gender-dependent model. A gate (a linear layer
            over the same standardised features) gives each clip a probability per gender, and the
            logits add each gender's own weights, scaled by that probability, to the shared ones.
            The names are the training speakers' genders, e.g. ``["female", "male"]``.
        speaker_head (`bool`, defaults to False): the model also holds a second linear layer, fitted
            on vectors standardised PER TRAINING SPEAKER. It is used only after test-time adaptation
            (``adapt``), which then standardises the input with the adapted speaker's own mean and
            scale; unadapted, the first layer alone classifies.
        input_clip (`float`, *optional*): the standardised values the first layer reads are clipped
            to ``[-input_clip, input_clip]``, so one value far outside the training range (another
            microphone, a long pause) cannot move the logits without bound. The speaker head reads
            unclipped values; it does not combine with ``gender_labels``.
        rbf_components (`int`, defaults to 0): with a positive number the first layer reads, instead
            of the standardised values, their RBF-kernel similarities ``exp(-rbf_gamma * |x - l|^2)``
            to that many landmark vectors ``l`` (a Nystroem kernel map, its normalisation folded into
            the layer): a nonlinear head at the cost of one more matrix product. The speaker head
            stays linear; it does not combine with ``gender_labels``.
        rbf_gamma (`float`, *optional*): the kernel's width; ``1 / num_features`` when not given.
    """

    model_type = "ser_functionals_linear"

    def __init__(
        self,
        num_features: int = 8054,
        functionals: str = "compare+ours",
        class_weights: list[float] | None = None,
        label_smoothing: float = 0.0,
        gender_labels: list[str] | None = None,
        speaker_head: bool = False,
        input_clip: float | None = None,
        rbf_components: int = 0,
        rbf_gamma: float | None = None,
        **kwargs: Any,
    ):
        self.num_features = num_features
        self.functionals = functionals
        self.class_weights = class_weights
        self.label_smoothing = label_smoothing
        self.gender_labels = list(gender_labels) if gender_labels else None
        self.speaker_head = bool(speaker_head)
        self.input_clip = None if input_clip is None else float(input_clip)
        self.rbf_components = int(rbf_components)
        self.rbf_gamma = (
            None if not self.rbf_components else float(rbf_gamma or 1.0 / max(int(num_features), 1))
        )
        super().__init__(**kwargs)
        if self.id2label and not self.label2id:
            self.label2id = {name: int(i) for i, name in self.id2label.items()}
        _check_positive("num_features", num_features)
        _check_choice("functionals", functionals, FUNCTIONAL_SETS)
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise SERError(f"label_smoothing={label_smoothing} must be in [0, 1)")
        if self.gender_labels is not None and (
            len(self.gender_labels) < 2 or len(set(self.gender_labels)) != len(self.gender_labels)
        ):
            raise SERError(
                f"gender_labels={gender_labels} must name two or more distinct genders (or be None for "
                "one set of weights)"
            )
        if self.speaker_head and self.gender_labels:
            raise SERError("speaker_head does not combine with gender_labels (a gender-dependent model)")
        if self.input_clip is not None and not self.input_clip > 0:
            raise SERError(
                f"input_clip={input_clip} must be a positive number of standard deviations (or None)"
            )
        if self.input_clip is not None and self.gender_labels:
            raise SERError("input_clip does not combine with gender_labels (a gender-dependent model)")
        if self.rbf_components < 0 or (self.rbf_gamma is not None and not self.rbf_gamma > 0):
            raise SERError(
                f"rbf_components={rbf_components} must be 0 (a linear head) or a number of landmarks, and "
                f"rbf_gamma={rbf_gamma} positive"
            )
        if self.rbf_components and self.gender_labels:
            raise SERError("rbf_components does not combine with gender_labels (a gender-dependent model)")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PretrainedConfig) and self.to_dict() == other.to_dict()


MEMBER_CONFIGS: dict[str, type[PretrainedConfig]] = {
    cls.model_type: cls for cls in (CnnBiLstmAttentionConfig, CnnTransformerConfig, FunctionalsLinearConfig)
}


class SERFusionConfig(PretrainedConfig):
    r"""Configuration of :class:`SERFusionForAudioClassification`: several trained models (members)
    whose class probabilities are averaged with fixed weights.

    Args:
        members (`list[dict]`): each member's full config (``config.to_dict()``, with its
            ``model_type``: one of the CNN-BiLSTM-Attention, CNN-Transformer or functionals types).
        member_weights (`list[float]`, *optional*): one non-negative weight per member (default
            equal); stored normalised to sum to 1.

    Every member must have the same labels; ``id2label`` defaults to the first member's, and a member
    that lists them in another order has its scores reordered by name.
    """

    model_type = "ser_fusion"

    def __init__(
        self,
        members: list[dict[str, Any]] | None = None,
        member_weights: list[float] | None = None,
        **kwargs: Any,
    ):
        # through JSON, as config.json stores them (id2label keys become strings), so a config
        # built in memory equals the one loaded from disk
        members = [json.loads(json.dumps(m, default=str)) for m in (members or [])]
        for i, member in enumerate(members):
            if member.get("model_type") not in MEMBER_CONFIGS:
                raise SERError(
                    f"fusion member {i} has model_type {member.get('model_type')!r}; members must be one of "
                    f"{', '.join(MEMBER_CONFIGS)} (the compact and backbone families cannot be fused)"
                )
        weights = [1.0] * len(members) if member_weights is None else [float(w) for w in member_weights]
        if len(weights) != len(members) or any(w < 0 for w in weights) or (members and sum(weights) <= 0):
            raise SERError(
                f"member_weights={member_weights} must be {len(members)} non-negative numbers, not all zero"
            )
        total = sum(weights) or 1.0
        self.members = members
        self.member_weights = [w / total for w in weights]
        if members and "id2label" not in kwargs and "num_labels" not in kwargs:
            kwargs["id2label"] = members[0].get("id2label")
        super().__init__(**kwargs)
        if self.id2label and not self.label2id:
            self.label2id = {name: int(i) for i, name in self.id2label.items()}
        mine = [self.id2label[i] for i in range(len(self.id2label))]
        labels = self.member_labels()
        for i, theirs in enumerate(labels):
            # the same classes in another order (RAVDESS's loader against an audio folder's sorted
            # labels) are matched by name: the fusion reorders that member's scores
            if sorted(theirs) != sorted(labels[0]) or len(set(theirs)) != len(theirs):
                raise SERError(
                    f"fusion member 0 has labels {labels[0]}, member {i} {theirs}: fuse models of one label set"
                )
        # 'the fusion has LABEL_0 ...' named labels no user gave
        if labels and sorted(labels[0]) != sorted(mine):
            raise SERError(
                f"a fusion's labels are its members' ({labels[0]}): it cannot take {len(mine)} other labels "
                "(load it without num_labels / id2label)"
            )

    def member_configs(self) -> list[PretrainedConfig]:
        """The members' configs, rebuilt from their dicts."""
        return [MEMBER_CONFIGS[m["model_type"]].from_dict(m) for m in self.members]

    def member_labels(self) -> list[list[str]]:
        """Each member's class names in its own output order."""
        return [[c.id2label[k] for k in range(len(c.id2label))] for c in self.member_configs()]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PretrainedConfig) and self.to_dict() == other.to_dict()


class CompactSERConfig(PretrainedConfig):
    r"""Configuration of :class:`CompactSERForAudioClassification`: a small, fast model for CPUs.

    Data flow: ``input_features`` ``(batch, frames, num_features)`` (log-mel frames) -> 1-D conv
    stem over time (``num_features`` -> ``channels``, stride ``stem_stride``) -> ``num_blocks``
    depthwise-separable residual blocks (the first with stride ``block_stride``) -> optional
    bidirectional GRU -> attentive statistics pooling (attention-weighted mean and standard
    deviation over time) -> dropout -> linear head. Every step is masked, so a clip scores the
    same alone and inside a padded batch.

    Args:
        num_features (`int`, defaults to 64): feature rows per frame (the extractor's ``feature_size``).
        channels (`int`, defaults to 128): width of the stem and of every block.
        num_blocks (`int`, defaults to 4): depthwise-separable residual blocks.
        kernel_size (`int`, defaults to 5): odd kernel (frames) of the stem and depthwise convolutions.
        stem_stride (`int`, defaults to 2): time stride of the stem.
        block_stride (`int`, defaults to 2): time stride of the first block.
        gru_hidden_size (`int`, defaults to 0): hidden size per direction of an optional BiGRU
            after the blocks (0: none).
        attention_hidden_size (`int`, defaults to 64): hidden width of the pooling attention.
        dropout (`float`, defaults to 0.1): dropout inside each block.
        classifier_dropout (`float`, defaults to 0.3): dropout before the head.
        class_weights (`list[float]`, *optional*): per-class cross-entropy weights.
        label_smoothing (`float`, defaults to 0.0): cross-entropy label smoothing.
        num_aux_genders (`int`, defaults to 0): if > 0, an auxiliary gender head on the pooled vector.
        aux_gender_loss_weight (`float`, defaults to 0.3): weight of the auxiliary gender loss.
    """

    model_type = "ser_compact"

    def __init__(
        self,
        num_features: int = 64,
        channels: int = 128,
        num_blocks: int = 4,
        kernel_size: int = 5,
        stem_stride: int = 2,
        block_stride: int = 2,
        gru_hidden_size: int = 0,
        attention_hidden_size: int = 64,
        dropout: float = 0.1,
        classifier_dropout: float = 0.3,
        class_weights: list[float] | None = None,
        label_smoothing: float = 0.0,
        num_aux_genders: int = 0,
        aux_gender_loss_weight: float = 0.3,
        **kwargs: Any,
    ):
        self.num_features = num_features
        self.channels = channels
        self.num_blocks = num_blocks
        self.kernel_size = kernel_size
        self.stem_stride = stem_stride
        self.block_stride = block_stride
        self.gru_hidden_size = gru_hidden_size
        self.attention_hidden_size = attention_hidden_size
        self.dropout = dropout
        self.classifier_dropout = classifier_dropout
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]
        self.label_smoothing = label_smoothing
        self.num_aux_genders = num_aux_genders
        self.aux_gender_loss_weight = aux_gender_loss_weight
        super().__init__(**kwargs)
        if self.id2label and not self.label2id:
            self.label2id = {name: int(i) for i, name in self.id2label.items()}
        for name in ("num_features", "channels", "kernel_size", "stem_stride", "block_stride"):
            _check_positive(name, getattr(self, name))
        for name in ("num_blocks", "gru_hidden_size", "num_aux_genders"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise SERError(f"{name}={getattr(self, name)!r} must be an integer >= 0")
        _check_positive("attention_hidden_size", attention_hidden_size)
        if kernel_size % 2 == 0:
            raise SERError(f"kernel_size={kernel_size} must be odd (same-length padding)")
        _check_probability("dropout", dropout)
        _check_probability("classifier_dropout", classifier_dropout)
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise SERError(f"label_smoothing={label_smoothing} must be in [0, 1)")
        if self.class_weights is not None and any(w < 0 for w in self.class_weights):
            raise SERError("class_weights must be non-negative")

    @property
    def time_reduction(self) -> int:
        """Factor by which the model shrinks the time axis."""
        return self.stem_stride * (self.block_stride if self.num_blocks else 1)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PretrainedConfig) and self.to_dict() == other.to_dict()


CnnBiLstmAttentionConfig.register_for_auto_class()
CnnTransformerConfig.register_for_auto_class()
FunctionalsLinearConfig.register_for_auto_class()
SERFusionConfig.register_for_auto_class()
CompactSERConfig.register_for_auto_class()
