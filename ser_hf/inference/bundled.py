"""The models that ship inside the package, by name (:data:`BUNDLED_ALIASES`): ``"default"``
(``"turn-encoder-2-voices-crops"``), ``"turn-encoder-2-voices"`` (the default of session 25),
``"voice-encoder-2-voices"`` (the default of sessions 16-24),
``"speech-stats-mfcc-speech-voices"`` (the default of sessions 11-15),
``"speech-stats-mfcc-rooms"``, ``"speech-stats-mfcc-voices"``,
``"speech-stats-mfcc-channel"``, ``"speech-stats-pitch"``, ``"speech-stats"``, ``"fusion"``, ``"cnn"``,
``"functionals"``."""

from __future__ import annotations

import difflib
import logging
from pathlib import Path
from typing import Any

from ..errors import SERError

logger = logging.getLogger(__name__)


_BUNDLED = Path(__file__).resolve().parent.parent / "bundled"
# the default: the pooled states of the first two layers of a pretrained speech encoder fine-tuned on
# intonation (smart-turn v3.2's Whisper-tiny encoder, int8; models/turn_encoder.py) + logistic
# regression, trained on RAVDESS + TESS (7 harmonised classes) with two copies of every clip, each
# through a random channel (noise, a low-pass, MP3, a room) or as another voice, each (corpus, gender,
# class) weighted alike, and a third copy that is a random 1.0-1.6 s stretch of its speech; chosen on
# validation speakers (sessions 24-26)
BUNDLED_DEFAULT_DIR = _BUNDLED / "turn_encoder_2_voices_crops"
DEFAULT_PRESET = "turn-encoder-2-voices-crops"  # the training preset (recipe) of the default model
# the default of session 25: the same without the stretches
BUNDLED_TURN_ENCODER_2_VOICES_DIR = _BUNDLED / "turn_encoder_2_voices"
# the default of sessions 16-24: the same recipe on a pretrained speaker encoder's first two layers
# (Resemblyzer's, models/voice_encoder.py); higher from RAVDESS to TESS, lower on unseen speakers
BUNDLED_VOICE_ENCODER_2_VOICES_DIR = _BUNDLED / "voice_encoder_2_voices"
# the default of sessions 11-15: speech-frame log-mel statistics, speaker-relative pitch, MFCC
# statistics over the speech frames and log-F0 + logistic regression, the same training recipe;
# higher than the default from RAVDESS to TESS, lower on unseen RAVDESS actors and male voices
BUNDLED_SPEECH_STATS_MFCC_SPEECH_VOICES_DIR = _BUNDLED / "speech_stats_mfcc_speech_voices"
# the default of session 6: whole-clip MFCC statistics, one channel copy (no other voices)
BUNDLED_SPEECH_STATS_MFCC_ROOMS_DIR = _BUNDLED / "speech_stats_mfcc_rooms"
# the same with two copies that may also be other voices (session 7): better across corpora on
# validation, not the default (it failed the timeline check of tests/test_inference.py)
BUNDLED_SPEECH_STATS_MFCC_VOICES_DIR = _BUNDLED / "speech_stats_mfcc_voices"
# the previous defaults: the same without rooms and balance (2026-12-02, session 5), log-mel
# statistics with relative pitch (2026-12-01), without (before)
BUNDLED_SPEECH_STATS_MFCC_CHANNEL_DIR = _BUNDLED / "speech_stats_mfcc_channel"
BUNDLED_SPEECH_STATS_PITCH_DIR = _BUNDLED / "speech_stats_pitch"
BUNDLED_SPEECH_STATS_DIR = _BUNDLED / "speech_stats"
# functionals + logistic regression fused with three CNN-Transformers (RAVDESS only, 8 classes;
# the best in-domain RAVDESS model, weak on other corpora; needs openSMILE)
BUNDLED_FUSION_DIR = _BUNDLED / "fusion"
# the session-1 CNN-Transformer alone (``model="cnn"``): frame features only, exportable to ONNX
BUNDLED_MODEL_DIR = _BUNDLED / "model"
# the functionals + logistic-regression baseline alone (needs openSMILE; ``model="functionals"``)
BUNDLED_FUNCTIONALS_DIR = _BUNDLED / "functionals"
BUNDLED_ALIASES = {
    "default": BUNDLED_DEFAULT_DIR,
    "turn-encoder-2-voices-crops": BUNDLED_DEFAULT_DIR,
    "turn-encoder-2-voices": BUNDLED_TURN_ENCODER_2_VOICES_DIR,
    "voice-encoder-2-voices": BUNDLED_VOICE_ENCODER_2_VOICES_DIR,
    "speech-stats-mfcc-speech-voices": BUNDLED_SPEECH_STATS_MFCC_SPEECH_VOICES_DIR,
    "speech-stats-mfcc-rooms": BUNDLED_SPEECH_STATS_MFCC_ROOMS_DIR,
    "speech-stats-mfcc-voices": BUNDLED_SPEECH_STATS_MFCC_VOICES_DIR,
    "speech-stats-mfcc-channel": BUNDLED_SPEECH_STATS_MFCC_CHANNEL_DIR,
    "speech-stats-pitch": BUNDLED_SPEECH_STATS_PITCH_DIR,
    "speech-stats": BUNDLED_SPEECH_STATS_DIR,
    "fusion": BUNDLED_FUSION_DIR,
    "cnn": BUNDLED_MODEL_DIR,
    "functionals": BUNDLED_FUNCTIONALS_DIR,
}


def bundled_model_path(name: str = "default") -> Path:
    """The folder of a model that ships with the package: ``"default"`` (=
    ``"turn-encoder-2-voices-crops"``, the default of ``EmotionClassifier()``, ``ser-hf predict`` and
    the demo), ``"turn-encoder-2-voices"`` (the default of session 25), ``"voice-encoder-2-voices"``
    (the default of sessions 16-24),
    ``"speech-stats-mfcc-speech-voices"``, ``"speech-stats-mfcc-rooms"``, ``"speech-stats-mfcc-channel"``,
    ``"speech-stats-pitch"`` and ``"speech-stats"`` (the previous defaults),
    ``"speech-stats-mfcc-voices"`` (the session-6 default's features trained on other voices too),
    ``"fusion"``, ``"cnn"`` or ``"functionals"``.

    Raises:
        SERError: an unknown name, or a package installed without that model.
    """
    if name not in BUNDLED_ALIASES:
        raise SERError(f"no bundled model called {name!r}; choose one of {', '.join(BUNDLED_ALIASES)}")
    folder = BUNDLED_ALIASES[name]
    if not (folder / "config.json").is_file():
        raise SERError(
            "no bundled model in this installation; pass a trained model folder or a Hub id "
            "(--model DIR|HUB_ID on the command line, EmotionClassifier(model=...) in Python)",
            source=str(folder),
        )
    return folder


def default_model_path() -> Path:
    """The folder of the default model (``ser_hf/bundled/turn_encoder_2_voices_crops``).

    Raises:
        SERError: when the package was installed without the bundled model.
    """
    return bundled_model_path("default")


def bundled_name(model: str) -> str | None:
    """The bundled model's name (a key of :data:`BUNDLED_ALIASES`) that ``model`` spells, in any case,
    with underscores as the folders are spelt (``"Speech_Stats"``: ``"speech-stats"``); None for
    anything else (a path or Hub id with a ``/`` too)."""
    name = _spelt(model)
    return name if "/" not in model and name in BUNDLED_ALIASES else None


def _spelt(model: str) -> str:
    """``model`` spelt as the bundled names are: lower case, hyphens (the folders have underscores)."""
    return model.strip().lower().replace("_", "-")


def resolve_model_name(model: Any, default: str = "default") -> Any:
    """``None`` -> the bundled ``default`` model's folder; a bundled model's name (a key of
    :data:`BUNDLED_ALIASES`, see :func:`bundled_model_path`) -> its folder, unless a path of that
    name exists; anything else (a folder, a Hub id, a loaded model) unchanged."""
    if model is None:
        return bundled_model_path(default)
    if isinstance(model, str) and Path(model).expanduser().is_file():
        raise SERError(
            "a file, not a model folder: pass the folder that holds its config.json", source=model
        )  # it failed inside transformers' config reader ("'utf-8' codec can't decode")
    if (
        isinstance(model, str)
        and model.startswith(("/", "./", "../", "~"))
        and not Path(model).expanduser().exists()
    ):
        raise SERError(
            "model folder not found; check the path (a Hub model is named owner/name)", source=model
        )
    if not isinstance(model, str) or "/" in model or Path(model).exists():
        return model
    if name := bundled_name(model):
        return bundled_model_path(name)
    close = difflib.get_close_matches(_spelt(model), BUNDLED_ALIASES, n=1, cutoff=0.75)
    if close:  # else a Hub id without an owner, as transformers allows; it says if there is none
        raise SERError(
            f"no bundled model and no folder called {model!r}; did you mean {close[0]!r}? Bundled: "
            f"{', '.join(BUNDLED_ALIASES)}",
            source=model,
        )
    return model
