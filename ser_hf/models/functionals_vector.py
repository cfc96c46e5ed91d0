"""One functionals vector per clip (remote code): the blocks of a set of ``FUNCTIONAL_BLOCKS`` in
order, each from ``functionals_statistics.py``, the frame features of :class:`SERFeatureExtractor`,
openSMILE (imported lazily) or a pretrained encoder (``voice_encoder.py``, ``turn_encoder.py``, run
once for a whole batch).

This file is copied next to saved models, so it imports only torch, numpy, transformers and
its single-dot siblings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .configuration_ser import FUNCTIONAL_BLOCKS, FUNCTIONAL_SETS
from .errors import SERError, install_hint
from .feature_extraction_ser import SERFeatureExtractor
from .functionals_statistics import (
    N_COMPARE,
    N_F0_STATS,
    N_LOGMEL_STATS,
    N_MFCC_STATS,
    N_PITCH_STATS,
    N_SPEECH_STATS,
    _semitone_stats,
    f0_functionals,
    pitch_functionals,
    row_functionals,
    speech_pitch,
    speech_row_functionals,
    speech_stats,
    trim_silence,
)
from .turn_encoder import turn_encoder_size, turn_encoder_stats
from .voice_encoder import voice_encoder_size, voice_encoder_stats

BLOCK_SIZES = {  # values per block of FUNCTIONAL_BLOCKS
    "speech": N_SPEECH_STATS,
    "pitch": N_PITCH_STATS,
    "compare": N_COMPARE,
    "logmel": N_LOGMEL_STATS,
    "mfcc": N_MFCC_STATS,
    "mfcc-speech": N_MFCC_STATS,
    "f0": N_F0_STATS,
    "f0-yin": N_F0_STATS,
    "voice-encoder": voice_encoder_size(3),
    "voice-encoder-2": voice_encoder_size(2),
    "voice-encoder-2-range": voice_encoder_size(2, percentiles=True),
    "turn-encoder": turn_encoder_size(4),
    "turn-encoder-2": turn_encoder_size(2),
    "turn-encoder-2-nopos": turn_encoder_size(2),
}
_FUNCTIONAL_TOOLS: dict[tuple, Any] = {}


def functionals_size(functionals: str) -> int:
    """Length of the vector :func:`clip_functionals` returns for the set ``functionals``."""
    if functionals not in FUNCTIONAL_SETS:
        raise SERError(f"functionals must be one of {FUNCTIONAL_SETS}, got {functionals!r}")
    return sum(BLOCK_SIZES[block] for block in FUNCTIONAL_BLOCKS[functionals])


def block_columns(functionals: str, blocks: Sequence[str]) -> np.ndarray:
    """Indices, inside a ``functionals`` vector, of the values of ``blocks`` (e.g. ``["speech", "f0"]``)."""
    order = FUNCTIONAL_BLOCKS[functionals] if functionals in FUNCTIONAL_SETS else ()
    missing = [b for b in blocks if b not in order]
    if not order or missing or not blocks:
        raise SERError(
            f"blocks {list(blocks)} are not blocks of the functionals set {functionals!r}; "
            f"choose from {list(order)}"
        )
    starts = np.cumsum([0] + [BLOCK_SIZES[b] for b in order])
    return np.concatenate([np.arange(starts[i], starts[i + 1]) for i, b in enumerate(order) if b in blocks])


def _functional_tools(functionals: str, sampling_rate: int) -> dict[str, Any]:
    key = (functionals, sampling_rate)
    tools = _FUNCTIONAL_TOOLS.get(key)
    if tools is not None:
        return tools
    tools = {}
    blocks = FUNCTIONAL_BLOCKS[functionals]
    if {"speech", "logmel", "mfcc-speech"} & set(blocks):  # one log-mel front end for all
        tools["logmel"] = SERFeatureExtractor(feature_set="logmel", n_mels=64, sampling_rate=sampling_rate)
    if {"mfcc", "mfcc-speech"} & set(blocks):
        tools["mfcc"] = SERFeatureExtractor(
            feature_set="mfcc", n_mfcc=40, deltas=True, delta_deltas=True, rms=True, zcr=True,
            sampling_rate=sampling_rate,
        )  # fmt: skip
    if "compare" in blocks:
        try:
            import opensmile
        except ImportError as err:
            raise SERError(
                f"the {functionals!r} functionals need openSMILE: {install_hint('opensmile', ('opensmile',))} (its licence "
                "allows research and non-commercial use), or use a model built on 'ours'",
                source="SERFunctionalsFeatureExtractor",
            ) from err
        tools["smile"] = opensmile.Smile(
            feature_set=opensmile.FeatureSet.ComParE_2016,
            feature_level=opensmile.FeatureLevel.Functionals,
        )
    _FUNCTIONAL_TOOLS[key] = tools
    return tools


# the voice encoder's blocks -> (layers, percentiles) of voice_encoder_stats
ENCODER_BLOCKS = {
    "voice-encoder": (3, False),
    "voice-encoder-2": (2, False),
    "voice-encoder-2-range": (2, True),
}
# the turn encoder's blocks -> its layers
TURN_BLOCKS = {"turn-encoder": 4, "turn-encoder-2": 2, "turn-encoder-2-nopos": 2}
UNPLACED_BLOCKS = {"turn-encoder-2-nopos"}  # pooled without the position vectors (TurnEncoder.pooled)


def _prepared(wave: np.ndarray, sampling_rate: int, top_db: float | None, margin_s: float) -> np.ndarray:
    """The clip as every block reads it: silence trimmed (``top_db=None``: not), at least 0.1 s."""
    wave = np.asarray(wave, dtype=np.float32)
    if top_db is not None:
        wave = trim_silence(wave, sampling_rate, top_db, margin_s)
    if wave.size < sampling_rate // 10:  # under 0.1 s: pad so every descriptor has frames
        wave = np.pad(wave, (0, sampling_rate // 10 - wave.size))
    return wave


def batch_functionals(
    waves: Sequence[np.ndarray],
    functionals: str = "compare+ours",
    sampling_rate: int = 16000,
    top_db: float | None = 35.0,
    margin_s: float = 0.1,
    encoder_weights: str | None = None,
    turn_weights: str | None = None,
) -> np.ndarray:
    """``(len(waves), D)``: :func:`clip_functionals` of every clip, the pretrained encoders' blocks (if
    the set has them) computed for all the clips at once, so the voice encoder's windows share the
    LSTM's batches. ``turn_weights``: the turn encoder's file (None: the one shipped)."""
    waves = [_prepared(w, sampling_rate, top_db, margin_s) for w in waves]
    encoded: list[dict[str, np.ndarray]] = [{} for _ in waves]
    for block in FUNCTIONAL_BLOCKS[functionals]:
        if block in ENCODER_BLOCKS:
            layers, percentiles = ENCODER_BLOCKS[block]
            values = voice_encoder_stats(waves, layers, sampling_rate, encoder_weights, percentiles)
        elif block in TURN_BLOCKS:
            values = turn_encoder_stats(
                waves, TURN_BLOCKS[block], sampling_rate, turn_weights, block not in UNPLACED_BLOCKS
            )
        else:
            continue
        for clip, v in zip(encoded, values):
            clip[block] = v
    return np.stack(
        [
            clip_functionals(w, functionals, sampling_rate, None, margin_s, encoder_weights, e or None)
            for w, e in zip(waves, encoded)
        ]
    )


def clip_functionals(
    wave: np.ndarray,
    functionals: str = "compare+ours",
    sampling_rate: int = 16000,
    top_db: float | None = 35.0,
    margin_s: float = 0.1,
    encoder_weights: str | None = None,
    encoded: dict[str, np.ndarray] | None = None,
    turn_weights: str | None = None,
) -> np.ndarray:
    """One mono clip -> its functionals vector: the blocks of ``FUNCTIONAL_BLOCKS[functionals]`` in that
    order (ComParE first, then ours). ``top_db=None``: no trim. ``encoder_weights`` / ``turn_weights``:
    the voice / turn encoder's file (None: the one shipped with the package); ``encoded``: the
    encoders' blocks' values when already computed (:func:`batch_functionals`)."""
    blocks = FUNCTIONAL_BLOCKS[functionals]
    if encoded is None and any(b in ENCODER_BLOCKS or b in TURN_BLOCKS for b in blocks):
        # the encoders run in one place
        return batch_functionals(
            [wave], functionals, sampling_rate, top_db, margin_s, encoder_weights, turn_weights
        )[0]
    size = functionals_size(functionals)
    tools = _functional_tools(functionals, sampling_rate)
    wave = _prepared(wave, sampling_rate, top_db, margin_s)
    frames = {
        name: tool(wave, sampling_rate=sampling_rate, return_tensors="pt")["input_features"][0].numpy()
        for name, tool in tools.items()
        if name != "smile"
    }
    if {"pitch", "f0"} & set(blocks):
        pitch, n_frames = speech_pitch(wave, sampling_rate)
    compute = {
        "speech": lambda: speech_stats(frames["logmel"]),
        "pitch": lambda: _semitone_stats(pitch),
        "compare": lambda: tools["smile"].process_signal(wave, sampling_rate).values[0].astype(np.float64),
        "logmel": lambda: row_functionals(frames["logmel"]),
        "mfcc": lambda: row_functionals(frames["mfcc"]),
        "mfcc-speech": lambda: speech_row_functionals(frames["mfcc"], frames["logmel"]),
        "f0": lambda: pitch_functionals(pitch, n_frames),  # from the tracker above, not librosa
        "f0-yin": lambda: f0_functionals(wave, sampling_rate),
        **{
            block: (lambda block=block: np.asarray(encoded[block], np.float64))  # type: ignore[index]
            for block in (*ENCODER_BLOCKS, *TURN_BLOCKS)
        },
    }
    parts = [compute[block]() for block in blocks]
    vector = np.nan_to_num(np.concatenate(parts), nan=0.0, posinf=0.0, neginf=0.0)
    if vector.size != size:
        raise SERError(f"functionals vector has {vector.size} values, expected {size}")
    return vector
