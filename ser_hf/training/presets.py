"""Named model designs: a model config plus the feature extractor it was designed for.

``build_model("seed-logmel-bilstm", ["neutral", "happy", ...])`` returns a freshly initialised
model and its :class:`SERFeatureExtractor`; ``config.num_features`` always comes from the
extractor's ``feature_size``, so the two cannot disagree. ``preset_table()`` renders the list
(with parameter counts) for the README.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from transformers import PreTrainedModel

from ..models.configuration_ser import CnnBiLstmAttentionConfig, CnnTransformerConfig, CompactSERConfig
from ..models.errors import SERError
from ..models.feature_extraction_ser import SERFeatureExtractor
from ..models.modeling_compact import CompactSERForAudioClassification
from ..models.modeling_ser import (
    CnnBiLstmAttentionForAudioClassification,
    CnnTransformerForAudioClassification,
)

logger = logging.getLogger(__name__)

# the options of a --backbone model's head (the rest of a preset's config has no part in it)
BACKBONE_OPTIONS = (
    "class_weights",
    "label_smoothing",
    "projection_size",
    "attention_hidden_size",
    "classifier_dropout",
)
# the config fields of the functionals presets (what train_linear reads); --config_overrides may set these
LINEAR_OPTIONS = (
    "c_grid",
    "speed_copies",
    "channel_copies",
    "channel_kinds",
    "crop_copies",
    "balance",
    "gender_weights",
    "gender_gate_blocks",
    "speaker_head",
    "input_clip",
    "rbf_components",
)

# "functionals" presets are fitted by ``training/linear.py`` (logistic regression), not built here
FAMILIES: dict[str, tuple[type, type[PreTrainedModel]]] = {
    "cnn_bilstm_attention": (CnnBiLstmAttentionConfig, CnnBiLstmAttentionForAudioClassification),
    "cnn_transformer": (CnnTransformerConfig, CnnTransformerForAudioClassification),
    "compact": (CompactSERConfig, CompactSERForAudioClassification),
}

_LOGMEL = {"feature_set": "logmel", "n_mels": 128, "normalize": "utterance"}
_MFCC_FAMILY = {
    "feature_set": "mfcc",
    "n_mfcc": 40,
    "deltas": True,
    "delta_deltas": True,
    "rms": True,
    "zcr": True,
    "normalize": "utterance",
}

# the residual GELU / 3-layer BiLSTM / 8-head attention design; the 5-block variant changes only
# the conv widths
_RESGELU_CONFIG: dict[str, Any] = {
    "conv_channels": [32, 64, 128, 128],
    "residual": True,
    "activation": "gelu",
    "conv_dropout": 0.2,
    "lstm_hidden_size": 128,
    "lstm_layers": 3,
    "lstm_dropout": 0.3,
    "attention": "multihead",
    "attention_heads": 8,
    "classifier": "mlp",
    "classifier_hidden_size": 128,
    "classifier_dropout": 0.4,
}

PRESETS: dict[str, dict[str, Any]] = {
    "seed-logmel-bilstm": {
        "family": "cnn_bilstm_attention",
        "description": "log-mel 128 x 300 frames, 2 conv blocks [32, 64] (ReLU, BN, Dropout2d), "
        "BiLSTM 128 x 1, additive attention, Linear head",
        "source": "seed-000 design (the baseline of the benchmark protocol)",
        "feature_extractor": {**_LOGMEL, "max_frames": 300},
        "config": {
            "conv_channels": [32, 64],
            "activation": "relu",
            "conv_dropout": 0.2,
            "lstm_hidden_size": 128,
            "lstm_layers": 1,
            "attention": "additive",
            "classifier": "linear",
            "classifier_dropout": 0.3,
        },
    },
    "logmel-bilstm-mha": {
        "family": "cnn_bilstm_attention",
        "description": "the seed design with variable-length input, residual blocks, a 2-layer "
        "BiLSTM and 8-head self-attention before the additive pooling",
        "source": "variant between the two seed designs",
        "feature_extractor": {**_LOGMEL},
        "config": {
            "conv_channels": [32, 64],
            "residual": True,
            "conv_dropout": 0.2,
            "lstm_hidden_size": 128,
            "lstm_layers": 2,
            "lstm_dropout": 0.2,
            "attention": "multihead",
            "attention_heads": 8,
            "classifier": "linear",
            "classifier_dropout": 0.3,
        },
    },
    "resgelu-bilstm-mha": {
        "family": "cnn_bilstm_attention",
        "description": "MFCC 40 + deltas + delta-deltas + RMS + ZCR (122 rows), 4 residual GELU "
        "blocks [32, 64, 128, 128], BiLSTM 128 x 3, 8-head self-attention, MLP head (BN, dropout)",
        "source": "residual GELU / 3-layer BiLSTM / 8-head attention seed design (ResLSTM-SA style)",
        "feature_extractor": {**_MFCC_FAMILY},
        "config": {**_RESGELU_CONFIG},
    },
    "resgelu5-bilstm-mha": {
        "family": "cnn_bilstm_attention",
        "description": "resgelu-bilstm-mha with 5 residual GELU blocks [32, 64, 128, 128, 128] "
        "(32x time and frequency reduction)",
        "source": "5-block variant of the residual GELU seed design",
        "feature_extractor": {**_MFCC_FAMILY},
        "config": {**_RESGELU_CONFIG, "conv_channels": [32, 64, 128, 128, 128]},
    },
    "cnn-transformer": {
        "family": "cnn_transformer",
        "description": "log-mel 128, residual CNN [16, 32, 64, 128] (BN, ReLU, dropout, max-pool), "
        "Transformer d_model 128, 4 heads, 2 layers, masked mean pooling",
        "source": "CNN-Transformer seed design",
        "feature_extractor": {**_LOGMEL},
        "config": {
            "conv_channels": [16, 32, 64, 128],
            "conv_dropout": 0.1,
            "d_model": 128,
            "nhead": 4,
            "num_layers": 2,
            "dim_feedforward": 256,
            "dropout": 0.1,
            "classifier_dropout": 0.2,
        },
    },
    "cnn-transformer-4l": {
        "family": "cnn_transformer",
        "description": "cnn-transformer with 4 Transformer layers and feed-forward width 512",
        "source": "deeper variant of the CNN-Transformer seed design",
        "feature_extractor": {**_LOGMEL},
        "config": {
            "conv_channels": [16, 32, 64, 128],
            "conv_dropout": 0.1,
            "d_model": 128,
            "nhead": 4,
            "num_layers": 4,
            "dim_feedforward": 512,
            "dropout": 0.1,
            "classifier_dropout": 0.2,
        },
    },
    "cnn-only": {
        "family": "cnn_transformer",
        "description": "cnn-transformer without positional encoding and Transformer (ablation: "
        "residual CNN + masked mean pooling)",
        "source": "ablation of the CNN-Transformer seed design",
        "feature_extractor": {**_LOGMEL},
        "config": {
            "conv_channels": [16, 32, 64, 128],
            "conv_dropout": 0.1,
            "d_model": 128,
            "use_transformer": False,
            "classifier_dropout": 0.2,
        },
    },
}


# the CPU family: 64 log-mel bands, each clip standardised per band (robust to level and microphone)
_COMPACT_FEATURES = {"feature_set": "logmel", "n_mels": 64, "normalize": "utterance"}
PRESETS.update(
    {
        "compact": {
            "family": "compact",
            "description": "log-mel 64 (per-clip standardised), 1-D conv stem (stride 2), 4 depthwise-separable "
            "residual blocks of 128 channels (stride 2 in the first), attentive statistics pooling",
            "source": "built for CPU latency and cross-corpus robustness (issues 11 and 12)",
            "feature_extractor": dict(_COMPACT_FEATURES),
            "config": {"channels": 128, "num_blocks": 4, "kernel_size": 5, "dropout": 0.1},
        },
        "compact-small": {
            "family": "compact",
            "description": "the compact design at 64 channels and 3 blocks",
            "source": "speed end of the compact family",
            "feature_extractor": dict(_COMPACT_FEATURES),
            "config": {"channels": 64, "num_blocks": 3, "kernel_size": 5, "dropout": 0.1},
        },
        "compact-gru": {
            "family": "compact",
            "description": "the compact design with a BiGRU of 64 per direction before the pooling",
            "source": "ResLSTM-SA-like recurrent variant of the compact family",
            "feature_extractor": dict(_COMPACT_FEATURES),
            "config": {
                "channels": 128,
                "num_blocks": 3,
                "kernel_size": 5,
                "gru_hidden_size": 64,
                "dropout": 0.1,
            },
        },
    }
)


# the default's recipe: one channel copy of every clip (rooms among the channels), every (corpus,
# gender, class) cell weighted alike; the presets below it add to this
_ROOMS: dict[str, Any] = {
    "c_grid": [0.001, 0.003, 0.01, 0.03, 0.1],
    "channel_copies": 1,
    "channel_kinds": ["noise", "pink", "band", "mp3", "reverb"],
    "balance": "corpus-gender",
}
# the voices recipe: two copies of every clip, each a channel, a room or another voice
_VOICES: dict[str, Any] = {
    **_ROOMS,
    "channel_copies": 2,
    "channel_kinds": [*_ROOMS["channel_kinds"], "pitch"],
}

PRESETS.update(
    {
        "speech-stats": {
            "family": "functionals",
            "description": "448 statistics of 64 log-mel bands over the speech frames only (pauses and "
            "silence left out) + class-balanced logistic regression, C chosen on validation speakers",
            "source": "cross-corpus recipe (RAVDESS -> TESS); 3 k parameters, about 2 ms a clip on 1 thread",
            "feature_extractor": {"functionals": "speech-stats"},
            "config": {"c_grid": [0.001, 0.003, 0.01, 0.03, 0.1]},
        },
        "speech-stats-pitch": {
            "family": "functionals",
            "description": "speech-stats + 5 speaker-relative pitch statistics of the speech frames (semitones "
            "around the clip's median: spread, range, movement; the voice's own height left out)",
            "source": "cross-corpus recipe + prosody; 3 k parameters, about 3 ms a clip on 1 thread",
            "feature_extractor": {"functionals": "speech-stats-pitch"},
            "config": {"c_grid": [0.001, 0.003, 0.01, 0.03, 0.1]},
        },
        "speech-stats-plus": {
            "family": "functionals",
            "description": "speech-stats-pitch + the 1,681 'ours' functionals (9 statistics of 64 log-mels, "
            "40 MFCCs with deltas, RMS and ZCR over the whole clip, 7 of log-F0 from the same pitch tracker; "
            "no librosa, no openSMILE) + one logistic regression",
            "source": "cross-corpus recipe, session 5; 15 k parameters",
            "feature_extractor": {"functionals": "speech-stats-plus"},
            "config": {"c_grid": [0.001, 0.003, 0.01, 0.03, 0.1]},
        },
        "speech-stats-mfcc": {
            "family": "functionals",
            "description": "speech-stats-pitch + 9 statistics of 40 MFCCs with deltas and delta-deltas, RMS and "
            "ZCR over the whole clip + 7 of log-F0 from the same pitch tracker (1,558 functionals; no librosa, "
            "no openSMILE) + one logistic regression",
            "source": "cross-corpus recipe, session 5: speech-stats-plus without its whole-clip log-mel "
            "statistics, chosen on validation speakers; 11 k parameters",
            "feature_extractor": {"functionals": "speech-stats-mfcc"},
            "config": {"c_grid": [0.001, 0.003, 0.01, 0.03, 0.1]},
        },
        "speech-stats-mfcc-channel": {
            "family": "functionals",
            "description": "speech-stats-mfcc trained with one channel copy of every training and validation "
            "clip (white or pink noise at 10-40 dB SNR, a 3.4-7 kHz low-pass or an MP3 round trip); C chosen "
            "on the mean of the clean and the channel-copy validation UA",
            "source": "cross-corpus and channel-robust recipe, session 5: the default of 2026-12-02 (first release)",
            "feature_extractor": {"functionals": "speech-stats-mfcc"},
            "config": {"c_grid": [0.001, 0.003, 0.01, 0.03, 0.1], "channel_copies": 1},
        },
        "speech-stats-mfcc-rooms": {
            "family": "functionals",
            "description": "speech-stats-mfcc-channel whose channel copies also include synthetic rooms (RT60 "
            "0.2-1.0 s), fitted with every (corpus, gender, class) cell weighted alike: two TESS speakers no "
            "longer outweigh the RAVDESS actors, and male voices carry a third of the weight instead of an eighth",
            "source": "cross-corpus, channel- and room-robust recipe, session 6, chosen on validation speakers: "
            "the default of 2026-12-02 (second release) until session 11",
            "feature_extractor": {"functionals": "speech-stats-mfcc"},
            "config": _ROOMS,
        },
        "speech-stats-mfcc-rooms-gender": {
            "family": "functionals",
            "description": "speech-stats-mfcc-rooms as a gender-dependent model: shared weights plus one set per "
            "gender (fitted together by feature augmentation), mixed per clip by a gender gate on the same "
            "features; one set of weights when the training speakers are of one gender",
            "source": "aimed at the male/female gap of the cross-corpus recipe, session 9 (exploration), "
            "session 10 (package)",
            "feature_extractor": {"functionals": "speech-stats-mfcc"},
            "config": {**_ROOMS, "gender_weights": True},
        },
        "speech-stats-mfcc-voices": {
            "family": "functionals",
            "description": "speech-stats-mfcc-rooms with two copies of every clip, each one of noise, pink noise, "
            "a low-pass, MP3, a room or another voice (pitch and formants shifted 1.5-4 semitones up or down, "
            "duration kept)",
            "source": "speaker augmentation for the cross-corpus recipe, session 7, chosen on validation speakers",
            "feature_extractor": {"functionals": "speech-stats-mfcc"},
            "config": _VOICES,
        },
        "speech-stats-mfcc-speech-rooms": {
            "family": "functionals",
            "description": "speech-stats-mfcc-rooms with the MFCC statistics taken over the speech frames only "
            "(the frames the log-mel statistics use), not over the whole clip: pauses inside a clip or a "
            "window do not move them",
            "source": "for timelines that follow the speech and speech with pauses, session 11: its timeline "
            "follows the speech more often than the default's (27 of 32 windows against 24), but its "
            "validation UA is lower (0.594 against 0.602), so it is not the default",
            "feature_extractor": {"functionals": "speech-stats-mfcc-speech"},
            "config": _ROOMS,
        },
        "speech-stats-mfcc-speech-voices": {
            "family": "functionals",
            "description": "speech-stats-mfcc-voices with the MFCC statistics over the speech frames only "
            "(speech-stats-mfcc-speech-rooms' features): two copies of every clip, each a random channel, a "
            "room or another voice; plus a speaker head (a second linear layer on per-speaker standardised "
            "vectors) that adapt switches to",
            "source": "session 11: the voices recipe, which won on validation speakers but failed the timeline "
            "check, on features whose timelines follow the speech; chosen on validation speakers: the default "
            "since session 11. The speaker head, session 13: adapted validation 0.626 against 0.587 for "
            "centring alone; unadapted predictions unchanged",
            "feature_extractor": {"functionals": "speech-stats-mfcc-speech"},
            "config": {**_VOICES, "speaker_head": True},
        },
        "voice-encoder-voices": {
            "family": "functionals",
            "description": "the default's recipe (two copies of every clip, each a random channel, a room or "
            "another voice; corpus-gender balance; a speaker head for adapt) on 1,792 pooled states of a "
            "pretrained speaker encoder (Resemblyzer's, Apache-2.0, shipped with the package): each of its "
            "three LSTM layers' mean and sd over the clip's 1.6-s windows, and their averaged embedding",
            "source": "session 16: information learned from thousands of speakers, chosen on validation "
            "speakers of the training corpora (benchmarks/exploration/2026-12-03-session16)",
            "feature_extractor": {"functionals": "voice-encoder"},
            "config": {**_VOICES, "speaker_head": True},
        },
        "voice-encoder-2-voices": {
            "family": "functionals",
            "description": "voice-encoder-voices on the encoder's first two layers only (1,024 values, two "
            "thirds of the cost)",
            "source": "session 16, the cheaper form of voice-encoder-voices",
            "feature_extractor": {"functionals": "voice-encoder-2"},
            "config": {**_VOICES, "speaker_head": True},
        },
        "voice-encoder-2-range-voices": {
            "family": "functionals",
            "description": "voice-encoder-2-voices with each of the two layers' 10th and 90th percentiles over "
            "the frames beside their mean and sd (2,048 values; the same LSTM passes)",
            "source": "session 19: passed its harness rule on validation speakers of the training corpora, then "
            "failed the 12-run package check (0.6926 against the 0.6965 needed; "
            "benchmarks/exploration/2026-12-04-session19); an option, lower than the default on every test corpus",
            "feature_extractor": {"functionals": "voice-encoder-2-range"},
            "config": {**_VOICES, "speaker_head": True},
        },
        "turn-encoder-voices": {
            "family": "functionals",
            "description": "voice-encoder-2-voices' recipe (copies, balance, speaker head) on the pooled states "
            "of a pretrained speech encoder fine-tuned on intonation instead of the speaker encoder: the four "
            "layers of smart-turn v3.2's Whisper-tiny encoder (BSD-2-Clause / MIT, shipped; 3,072 values)",
            "source": "session 24: passed its harness rule on validation speakers of the training corpora "
            "(0.746 against the default's 0.678, held-out conditions 0.666 against 0.550; "
            "benchmarks/exploration/2026-12-04-session24)",
            "feature_extractor": {"functionals": "turn-encoder"},
            "config": {**_VOICES, "speaker_head": True},
        },
        "turn-encoder-2-voices": {
            "family": "functionals",
            "description": "turn-encoder-voices on the encoder's first two layers only (1,536 values, about "
            "half the cost)",
            "source": "session 25: the four layers take over 10 ms a clip where int8 runs on AVX2 "
            "(benchmarks/exploration/2026-12-04-session25/switch_rule.md)",
            "feature_extractor": {"functionals": "turn-encoder-2"},
            "config": {**_VOICES, "speaker_head": True},
        },
        "turn-encoder-2-voices-crops": {
            "family": "functionals",
            "description": "turn-encoder-2-voices with one more copy of every clip: a random 1.0-1.6 s stretch of "
            "its speech (a part of a sentence, as a short clip or a window of a long recording)",
            "source": "session 26 (benchmarks/exploration/2026-12-05-session26/crops_rule.md)",
            "feature_extractor": {"functionals": "turn-encoder-2"},
            "config": {**_VOICES, "speaker_head": True, "crop_copies": 1},
        },
        "turn-encoder-2-nopos-voices-crops": {
            "family": "functionals",
            "description": "turn-encoder-2-voices-crops on the encoder's states less the position vectors it adds "
            "(whose mean over the clip says only how long it is)",
            "source": "session 46 (benchmarks/exploration/2026-12-07-session46/plan.md); fails the default's "
            "12-run check in session 47",
            "feature_extractor": {"functionals": "turn-encoder-2-nopos"},
            "config": {**_VOICES, "speaker_head": True, "crop_copies": 1},
        },
        "speech-stats-speed": {
            "family": "functionals",
            "description": "speech-stats trained with 0.9x and 1.1x speed-perturbed copies of every "
            "training clip (pitch and tempo together: other vocal tracts)",
            "source": "speaker augmentation for the cross-corpus recipe",
            "feature_extractor": {"functionals": "speech-stats"},
            "config": {"c_grid": [0.001, 0.003, 0.01, 0.03, 0.1], "speed_copies": [0.9, 1.1]},
        },
        "functionals-compare": {
            "family": "functionals",
            "description": "openSMILE ComParE 2016 (6,373) + our 1,681 functionals + logistic regression "
            "(the bundled functionals model's recipe; needs the [opensmile] extra, research licence)",
            "source": "the session-2 classical baseline; a slow teacher for ser-hf distill",
            "feature_extractor": {"functionals": "compare+ours"},
            "config": {"c_grid": [0.001, 0.003, 0.01, 0.03, 0.1]},
        },
        "functionals-ours": {
            "family": "functionals",
            "description": "1,681 functionals of log-mel, MFCC and F0 (no openSMILE) + logistic regression",
            "source": "the session-2 classical baseline without openSMILE",
            "feature_extractor": {"functionals": "ours"},
            "config": {"c_grid": [0.001, 0.003, 0.01, 0.03, 0.1]},
        },
    }
)


def _id2label(id2label: Mapping[int, str] | Sequence[str]) -> dict[int, str]:
    if isinstance(id2label, Mapping):
        mapping = {int(i): str(name) for i, name in id2label.items()}
    elif isinstance(id2label, Sequence) and not isinstance(id2label, str):
        mapping = dict(enumerate(map(str, id2label)))
    else:
        raise SERError(
            f"id2label must be a list of label names or a dict id -> name, got {type(id2label).__name__}"
        )
    if len(mapping) < 2:
        raise SERError("a classifier needs at least 2 labels", source=f"id2label={mapping}")
    if sorted(mapping) != list(range(len(mapping))):
        raise SERError("label ids must be 0 .. n-1", source=f"id2label={mapping}")
    if len(set(mapping.values())) != len(mapping):
        raise SERError("label names must be unique", source=f"id2label={mapping}")
    return mapping


def get_preset(name: str) -> dict[str, Any]:
    """The preset's definition; raises :class:`SERError` naming the known presets otherwise."""
    if name not in PRESETS:
        import difflib

        close = difflib.get_close_matches(str(name), PRESETS, n=1, cutoff=0.75)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise SERError(f"unknown preset; {hint}choose one of {', '.join(PRESETS)}", source=repr(name))
    return PRESETS[name]


def _init_keys(cls: type) -> list[str]:
    """The named arguments of ``cls.__init__`` (not ``self`` nor ``**kwargs``), in order."""
    import inspect

    params = inspect.signature(cls.__init__).parameters.values()
    return [p.name for p in params if p.name != "self" and p.kind is not p.VAR_KEYWORD]


def _refuse_unknown(
    given: Mapping[str, Any], own: list[str], generic: set[str], what: str, flag: str
) -> None:
    import difflib

    valid = {*own, *generic}
    unknown = sorted(k for k in given if k not in valid)
    if not unknown:
        return
    close = {
        k: m[0] for k in unknown if (m := difflib.get_close_matches(str(k), sorted(valid), n=1, cutoff=0.7))
    }
    hint = "; ".join(f"did you mean {m!r} for {k!r}?" for k, m in close.items())
    raise SERError(
        f"{unknown} are not options of {what}; {hint + ' ' if hint else ''}it takes {', '.join(own)}",
        source=flag,
    )


def check_overrides(
    preset: str,
    config_overrides: Mapping[str, Any] | None,
    feature_overrides: Mapping[str, Any] | None,
    backbone: str | None = None,
) -> None:
    """Refuse ``config_overrides`` / ``feature_overrides`` keys that the preset's model config or
    feature extractor does not take (transformers keeps any key, unused). The generic
    ``PretrainedConfig`` keys (``num_labels``, ``id2label``, ``problem_type``, ...) stay allowed. A
    functionals preset takes its recipe's options (``LINEAR_OPTIONS``) and no feature fields; a
    ``backbone`` run its head's (``BACKBONE_OPTIONS``) and none (the encoder's own extractor).

    Raises:
        SERError: an unknown preset, or a key no option of it (naming the close match and the valid keys).
    """
    from transformers import PretrainedConfig

    spec = None if backbone else get_preset(preset)
    if spec is None or spec["family"] not in FAMILIES:  # options of their own; feature fields do nothing
        if backbone:  # the rest of the preset's config is not used: an override of it did nothing
            what, own = "a --backbone model's head (SERBackboneConfig)", BACKBONE_OPTIONS
            why = f"--backbone {backbone} reads audio through the encoder's own feature extractor"
            fix = "drop --feature_overrides"
        else:  # a functionals preset: its recipe's options, its own features
            what, own = f"the functionals preset {preset!r}", LINEAR_OPTIONS
            why, fix = (
                f"{what} computes its own fixed functionals",
                "drop --feature_overrides, or use a frame or compact preset",
            )
        _refuse_unknown(config_overrides or {}, list(own), set(), what, "--config_overrides")
        if feature_overrides:  # once ignored without a word
            raise SERError(
                f"{why}, so feature-extractor fields do nothing; {fix}", source="--feature_overrides"
            )
        return
    config_cls = FAMILIES[spec["family"]][0]
    generic = {
        *_init_keys(PretrainedConfig),
        *PretrainedConfig().to_dict(),
        "num_labels",
        "output_attentions",
    }
    what = f"the {spec['family']} model config of preset {preset!r} ({config_cls.__name__})"
    _refuse_unknown(config_overrides or {}, _init_keys(config_cls), generic, what, "--config_overrides")
    # feature_size is derived from the options (a given one is checked); padding_side is the base class's
    _refuse_unknown(
        feature_overrides or {}, _init_keys(SERFeatureExtractor), {"feature_size", "padding_side"},
        "the feature extractor (SERFeatureExtractor)", "--feature_overrides",
    )  # fmt: skip


def build_model(
    preset: str,
    id2label: Mapping[int, str] | Sequence[str],
    *,
    feature_overrides: Mapping[str, Any] | None = None,
    **config_overrides: Any,
) -> tuple[PreTrainedModel, SERFeatureExtractor]:
    """Build a freshly initialised model and its feature extractor from a named preset.

    Args:
        preset: a key of :data:`PRESETS`.
        id2label: label names in id order (list) or a dict id -> name.
        feature_overrides: feature-extractor arguments replacing the preset's (e.g.
            ``{"max_frames": None}``); ``num_features`` follows the resulting ``feature_size``.
        **config_overrides: model-config fields replacing the preset's (e.g. ``lstm_layers=2``,
            ``class_weights=[...]``).

    Returns:
        ``(model, feature_extractor)``; the model is in training mode, as built.

    Raises:
        SERError: a key of ``config_overrides`` or ``feature_overrides`` that the model does not take.
    """
    spec = get_preset(preset)
    if spec["family"] not in FAMILIES:
        raise SERError(
            f"preset {preset!r} is a {spec['family']} model fitted by ser-hf train (logistic regression), "
            "not built by build_model",
            source="build_model",
        )
    check_overrides(preset, config_overrides, feature_overrides)  # a typo once trained as the preset
    extractor = SERFeatureExtractor(**{**spec["feature_extractor"], **(feature_overrides or {})})
    if "num_features" in config_overrides and config_overrides["num_features"] != extractor.feature_size:
        raise SERError(
            f"num_features={config_overrides['num_features']} differs from the feature extractor's "
            f"feature_size={extractor.feature_size}; change the features with feature_overrides instead"
        )
    labels = _id2label(id2label)
    config_cls, model_cls = FAMILIES[spec["family"]]
    config = config_cls(
        **{**spec["config"], **config_overrides},
        num_features=extractor.feature_size,
        id2label=labels,
        label2id={name: i for i, name in labels.items()},
    )
    model = model_cls(config)
    logger.info("built %s (%s parameters)", preset, f"{count_parameters(model):,}")
    return model, extractor


def count_parameters(model: PreTrainedModel) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def preset_table(num_labels: int = 8) -> str:
    """Markdown table of every preset with its feature size and parameter count for ``num_labels``."""
    rows = [
        "| preset | family | features | design | parameters |",
        "| --- | --- | --- | --- | ---: |",
    ]
    for name, spec in PRESETS.items():
        if spec["family"] not in FAMILIES:  # a linear layer over one functionals vector per clip
            from ..models.feature_extraction_functionals import functionals_size

            size = functionals_size(spec["feature_extractor"]["functionals"])
            params = num_labels * (size + 1)
            if spec["config"].get("gender_weights"):  # a 2-gender gate and one more matrix per gender
                params += 2 * (size + 1) + 2 * num_labels * size
            rows.append(
                f"| `{name}` | {spec['family']} | {spec['feature_extractor']['functionals']} {size} | "
                f"{spec['description']} | {params:,} |"
            )
            continue
        model, extractor = build_model(name, [f"class_{i}" for i in range(num_labels)])
        frames = f" x {extractor.max_frames}" if extractor.max_frames else ""
        features = f"{extractor.feature_set} {extractor.feature_size}{frames}"
        rows.append(
            f"| `{name}` | {spec['family']} | {features} | {spec['description']} | "
            f"{count_parameters(model):,} |"
        )
    return "\n".join(rows)
