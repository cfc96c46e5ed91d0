"""Utterance functionals and the fusion front end (remote code).

``SERFunctionalsFeatureExtractor`` turns each clip into one vector of statistics of frame
descriptors (our log-mel / MFCC / F0 functionals, optionally openSMILE ComParE 2016, imported
lazily); ``SERFusionFeatureExtractor`` returns the frame features of :class:`SERFeatureExtractor`
plus those functionals, so each member of a fusion reads what it was trained on.

This file is copied next to saved models, so it imports only torch, numpy, transformers and
its single-dot siblings.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import BatchFeature, SequenceFeatureExtractor

from .configuration_ser import FUNCTIONAL_BLOCKS, FUNCTIONAL_SETS
from .errors import SERError
from .feature_extraction_ser import SERFeatureExtractor
from .turn_encoder import WEIGHTS as TURN_ENCODER_WEIGHTS
from .turn_encoder import turn_encoder_size, turn_encoder_stats
from .voice_encoder import WEIGHTS as VOICE_ENCODER_WEIGHTS
from .voice_encoder import voice_encoder_size, voice_encoder_stats

VOICE_ENCODER_LICENSE = "voice_encoder_LICENSE.txt"
TURN_ENCODER_LICENSE = "turn_encoder_LICENSE.txt"
_ENCODER_FILES = (  # the extractor's attribute for a saved model's copy, the shipped file, its licence, blocks
    ("_encoder_weights", VOICE_ENCODER_WEIGHTS, VOICE_ENCODER_LICENSE, "voice-encoder"),
    ("_turn_weights", TURN_ENCODER_WEIGHTS, TURN_ENCODER_LICENSE, "turn-encoder"),
)

logger = logging.getLogger(__name__)

# ----------- utterance functionals: the classical recipe (statistics of frame descriptors + a linear model)

N_COMPARE = 6373  # openSMILE ComParE 2016 functionals
N_MFCC_STATS = 9 * 122  # 9 functionals of 40 MFCCs, their deltas and delta-deltas, RMS and ZCR
N_F0_STATS = 7  # of log-F0
N_LOGMEL_STATS = 9 * 64  # 9 functionals of 64 log-mels over the whole clip
N_OURS = N_LOGMEL_STATS + N_MFCC_STATS + N_F0_STATS
N_SPEECH_STATS = 7 * 64  # 7 statistics of 64 log-mel bands over the speech frames
SPEECH_DB = 35.0  # speech frames: mean log-mel level within this many dB of the loudest frame
N_PITCH_STATS = 5  # speaker-relative pitch: std, p10, p90, p90 - p10, mean |delta| (semitones)
PITCH_HZ = (60, 500)  # the pitch tracker's search range
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


def trim_silence(
    wave: np.ndarray | torch.Tensor,
    sampling_rate: int = 16000,
    top_db: float = 35.0,
    margin_s: float = 0.1,
    frame_ms: float = 10.0,
) -> np.ndarray:
    """``wave`` without the leading/trailing frames quieter than ``top_db`` below its loudest frame.

    ``margin_s`` of context is kept on both sides; silence and clips under two frames come back whole;
    the energies leave out the samples' mean (a microphone's DC offset is no sound)."""
    x = torch.as_tensor(np.asarray(wave, dtype=np.float32)).flatten()
    hop = max(1, round(sampling_rate * frame_ms / 1000.0))
    n = x.numel() // hop
    if n < 2:
        return x.numpy()
    frames = (x[: n * hop] - x[: n * hop].mean()).reshape(n, hop)
    energy_db = 10.0 * frames.pow(2).mean(1).clamp_min(1e-10).log10()
    keep = torch.nonzero(energy_db > energy_db.max() - top_db).flatten()
    if keep.numel() == 0:
        return x.numpy()
    margin = round(margin_s * sampling_rate)
    start = max(0, int(keep[0]) * hop - margin)
    stop = min(x.numel(), (int(keep[-1]) + 1) * hop + margin)
    return x[start:stop].numpy()


def row_functionals(frames: np.ndarray) -> np.ndarray:
    """``(T, D)`` frame descriptors -> ``(9 * D,)``: mean, std, 5/25/50/75/95th percentiles, the
    5-95 range and the least-squares slope over time (per half-duration), functional-major."""
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 2 or frames.shape[0] < 1:
        raise SERError(f"expected (frames, features) with at least one frame, got {frames.shape}")
    q = np.percentile(frames, [5, 25, 50, 75, 95], axis=0)
    t = np.linspace(-1.0, 1.0, frames.shape[0])[:, None]
    denom = float((t**2).sum()) or 1.0
    slope = (t * (frames - frames.mean(0))).sum(0) / denom
    return np.concatenate([frames.mean(0), frames.std(0), q.reshape(-1), q[4] - q[0], slope])


def speech_frames(logmel: np.ndarray, speech_db: float = SPEECH_DB) -> np.ndarray:
    """``(T,)`` boolean: the SPEECH frames of ``(T, B)`` dB log-mel frames, those whose mean level is
    within ``speech_db`` of the loudest frame."""
    level = np.asarray(logmel, dtype=np.float64).mean(axis=1)
    return level >= level.max() - speech_db if level.size else np.zeros(0, dtype=bool)


def speech_row_functionals(
    frames: np.ndarray, logmel: np.ndarray, speech_db: float = SPEECH_DB
) -> np.ndarray:
    """:func:`row_functionals` of the frames of ``frames`` that are speech by :func:`speech_frames`
    of the same clip's ``logmel`` (all frames when fewer than two are): pauses inside a clip, and a
    window of a long recording that holds more pause than the clip alone, leave them unchanged."""
    n = min(len(frames), len(logmel))
    keep = speech_frames(np.asarray(logmel)[:n], speech_db)
    return row_functionals(np.asarray(frames)[:n][keep] if keep.sum() >= 2 else frames)


def speech_stats(logmel: np.ndarray, speech_db: float = SPEECH_DB) -> np.ndarray:
    """``(T, B)`` dB log-mel frames -> ``(7 * B,)`` statistics over the SPEECH frames only.

    Speech frames are those whose mean level is within ``speech_db`` of the loudest frame, so
    pauses and leading/trailing silence (digital zeros in one corpus, a noise floor in another)
    never enter the statistics. Per band: mean, std, 10/50/90th percentiles, and the mean
    absolute and standard deviation of the frame-to-frame difference (over speech frames).
    Statistic-major, like :func:`row_functionals`.
    """
    frames = np.asarray(logmel, dtype=np.float64)
    speech = frames[speech_frames(frames, speech_db)]
    if speech.shape[0] < 2:
        speech = np.concatenate([speech, speech]) if speech.shape[0] else np.zeros((2, frames.shape[1]))
    delta = np.diff(speech, axis=0)
    q = np.percentile(speech, [10, 50, 90], axis=0)
    return np.concatenate([speech.mean(0), speech.std(0), q.reshape(-1), np.abs(delta).mean(0), delta.std(0)])


def detect_pitch(
    waves: torch.Tensor,
    sampling_rate: int = 16000,
    frame_time: float = 0.02,
    win_length: int = 5,
    freq_low: int = PITCH_HZ[0],
    freq_high: int = PITCH_HZ[1],
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(batch, time)`` waveforms -> (pitch in Hz, frame energy), each ``(batch, frames)``.

    The algorithm of torchaudio's ``detect_pitch_frequency`` (BSD-2-Clause): its cross-correlation
    normalised by both frames' energies, the same near-maximum rule at half the lags, the same
    median smoothing; equal to it on speech frames (tested). The loop over every lag is replaced by
    one FFT cross-correlation and cumulative energies (5-6x faster, ``benchmarks/bench_features.py``).
    Written here because a saved model's code may import only torch, numpy and transformers.
    Frame ``j`` of both outputs covers samples ``j * N .. j * N + N`` with
    ``N = ceil(sampling_rate * frame_time)``; clips shorter than ``win_length`` frames give none.
    """
    eps = 1e-9
    x = torch.as_tensor(waves, dtype=torch.float32)
    x = x.reshape(-1, x.shape[-1])
    lags = math.ceil(sampling_rate / freq_low)
    size = math.ceil(sampling_rate * frame_time)
    n = math.ceil(x.shape[-1] / size)
    x = torch.nn.functional.pad(x, (0, lags + n * size - x.shape[-1]))
    frames = x[:, : n * size].reshape(x.shape[0], n, size)
    segments = x.unfold(-1, size + lags, size)[:, :n]  # each frame and the lags after it
    nfft = 1 << (size + lags + size - 1).bit_length()
    corr = torch.fft.irfft(torch.fft.rfft(segments, nfft) * torch.fft.rfft(frames, nfft).conj(), nfft)[
        ..., 1 : lags + 1
    ]  # sum_k frame[k] * x[start + lag + k], lag = 1..lags
    power = torch.nn.functional.pad(x.square().cumsum(-1), (1, 0))
    window_energy = power[:, size:] - power[:, :-size]  # energy of x[p : p + size] at every p
    e_lag = window_energy[:, 1:].unfold(-1, lags, size)[:, :n]  # at start + lag, lag = 1..lags
    e_frame = frames.square().sum(-1, keepdim=True)
    nccf = corr / (eps + e_frame.clamp_min(0).sqrt()).square() / (eps + e_lag.clamp_min(0).sqrt()).square()
    lag_min = math.ceil(sampling_rate / freq_high)
    best_value, best_index = nccf[..., lag_min:].max(-1)
    half_value, half_index = nccf[..., lag_min : lags // 2].max(-1)
    indices = torch.where(half_value > 0.99 * best_value, half_index, best_index) + lag_min + 1
    pad = (win_length - 1) // 2
    indices = torch.cat([indices[:, :1].expand(-1, pad), indices], -1)
    if indices.shape[-1] < win_length:
        return x.new_zeros(x.shape[0], 0), x.new_zeros(x.shape[0], 0)
    indices = indices.unfold(-1, win_length, 1).median(-1).values
    pitch = sampling_rate / (eps + indices.to(torch.float32))
    return pitch, e_frame[:, : pitch.shape[-1], 0]


def speech_pitch(
    wave: np.ndarray | torch.Tensor, sampling_rate: int = 16000, speech_db: float = SPEECH_DB
) -> tuple[np.ndarray, int]:
    """``(pitch in Hz of the SPEECH frames, number of frames)`` of one clip (:func:`detect_pitch`).

    Speech frames are those within ``speech_db`` of the loudest 20-ms frame (all frames if fewer
    than 4); no frames at all for a clip shorter than the tracker's smoothing window.
    """
    x = torch.as_tensor(np.asarray(wave, dtype=np.float32)).flatten()
    x = x / x.abs().max().clamp_min(1e-8)
    pitch, energy = detect_pitch(x[None], sampling_rate)
    pitch, level = pitch[0].numpy(), 10 * np.log10(np.maximum(energy[0].numpy(), 1e-10))
    if pitch.size == 0:
        return pitch, 0
    keep = level > level.max() - speech_db
    return np.clip(pitch[keep] if keep.sum() > 3 else pitch, 40, None), pitch.size


def relative_pitch_stats(
    wave: np.ndarray | torch.Tensor, sampling_rate: int = 16000, speech_db: float = SPEECH_DB
) -> np.ndarray:
    """5 statistics of the pitch of the SPEECH frames (:func:`speech_pitch`), in semitones relative
    to the clip's median pitch: std, p10, p90, p90 - p10 and the mean absolute frame-to-frame change.

    Relative, so the voice's own height (and with it most of the speaker's gender) is left out;
    what remains is how the pitch moves, which carries arousal and emotion across voices.
    """
    return _semitone_stats(speech_pitch(wave, sampling_rate, speech_db)[0])


def _semitone_stats(pitch: np.ndarray) -> np.ndarray:
    if pitch.size == 0:  # shorter than the smoothing window (clip_functionals pads to 0.1 s)
        return np.zeros(N_PITCH_STATS)
    st = 12 * np.log2(pitch / np.median(pitch))
    p10, p90 = np.percentile(st, [10, 90])
    return np.array([st.std(), p10, p90, p90 - p10, np.abs(np.diff(st)).mean() if st.size > 1 else 0.0])


def pitch_functionals(pitch: np.ndarray, frames: int) -> np.ndarray:
    """The 7 log-F0 statistics of :func:`f0_functionals` from the speech frames' ``pitch`` (Hz,
    :func:`speech_pitch`) instead of librosa's YIN: mean, std, p5, p50, p95, p95 - p5 and the share
    of the clip's frames that are speech."""
    if pitch.size < 3:
        return np.array([np.log(150.0)] * 5 + [0.0, 0.0])
    lf = np.log(pitch)
    p5, p50, p95 = np.percentile(lf, [5, 50, 95])
    return np.array([lf.mean(), lf.std(), p5, p50, p95, p95 - p5, pitch.size / max(1, frames)])


def f0_functionals(wave: np.ndarray, sampling_rate: int = 16000) -> np.ndarray:
    """7 statistics of the log-F0 contour (librosa's YIN, 60-500 Hz): mean, std, p5, p50, p95,
    p95 - p5 and the share of frames with a plausible F0."""
    try:
        import librosa
    except ImportError as err:
        raise SERError("the 'ours' functionals need librosa: pip install librosa") from err
    f0 = librosa.yin(
        np.asarray(wave, dtype=np.float32),
        fmin=60,
        fmax=500,
        sr=sampling_rate,
        frame_length=1024,
        hop_length=sampling_rate // 100,
    )
    voiced = f0[(f0 > 65) & (f0 < 490)]
    if voiced.size < 3:
        voiced = np.full(3, 150.0)
    lf = np.log(voiced)
    p5, p50, p95 = np.percentile(lf, [5, 50, 95])
    return np.array([lf.mean(), lf.std(), p5, p50, p95, p95 - p5, voiced.size / max(1, f0.size)])


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
                f"the {functionals!r} functionals need openSMILE: pip install 'ser-hf[opensmile]' (its licence "
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
TURN_BLOCKS = {"turn-encoder": 4, "turn-encoder-2": 2}  # the turn encoder's blocks -> its layers


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
            values = turn_encoder_stats(waves, TURN_BLOCKS[block], sampling_rate, turn_weights)
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


class _ShipsEncoders:
    """``from_pretrained`` / ``save_pretrained`` of an extractor whose functionals read a pretrained
    encoder: a copy of the encoder's weights and licence is saved beside the model and read from its
    folder or Hub repo (``voice_encoder.safetensors``, ``turn_encoder.safetensors``), so the model runs
    as remote code without ser_hf."""

    def _encoders(self) -> Any:
        return self

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Any, **kwargs: Any) -> Any:
        from transformers.utils import cached_file

        extractor = super().from_pretrained(pretrained_model_name_or_path, **kwargs)
        target = None if isinstance(extractor, tuple) else extractor._encoders()
        options = {
            k: kwargs[k] for k in ("cache_dir", "token", "revision", "local_files_only") if k in kwargs
        }
        for attr, shipped, _ in target._weight_files() if target is not None else ():
            found = cached_file(
                pretrained_model_name_or_path,
                shipped.name,
                _raise_exceptions_for_missing_entries=False,
                **options,
            )
            setattr(target, attr, found)
        return extractor

    def save_pretrained(self, save_directory: Any, *args: Any, **kwargs: Any) -> Any:
        import shutil

        out = super().save_pretrained(save_directory, *args, **kwargs)
        target = self._encoders()
        for attr, shipped, licence_name in target._weight_files() if target is not None else ():
            weights = Path(getattr(target, attr) or shipped)
            licence = weights.with_name(licence_name)
            if not licence.is_file():  # e.g. a Hub cache holding the weights only
                licence = shipped.with_name(licence_name)
            for src in (weights, licence):
                dst = Path(save_directory) / src.name
                if src.is_file() and src.resolve() != dst.resolve():
                    shutil.copyfile(src, dst)
        return out


class SERFunctionalsFeatureExtractor(_ShipsEncoders, SequenceFeatureExtractor):
    """Waveforms -> one functionals vector per clip, ``input_features`` ``(batch, feature_size)``.

    The front end of :class:`FunctionalsLinearForAudioClassification`: silence trimming
    (``trim_db`` below the loudest 10-ms frame, ``trim_margin_s`` kept), then
    :func:`clip_functionals` with the set ``functionals`` (``"ours"``: 1,681 values from this
    file's log-mel/MFCC features and YIN F0; ``"compare"``: openSMILE's 6,373 ComParE 2016
    functionals, which need ``pip install opensmile``; ``"compare+ours"``: both;
    ``"speech-stats"``: 448 statistics of 64 log-mel bands over the speech frames only, the
    fast, corpus-robust set of :func:`speech_stats`; ``"speech-stats-pitch"``: those plus the 5
    speaker-relative pitch statistics of :func:`relative_pitch_stats`; ``"speech-stats-mfcc"``: those
    plus whole-clip statistics of 40 MFCCs with deltas, RMS and ZCR and 7 of log-F0;
    ``"speech-stats-mfcc-speech"``: the same with the MFCC statistics over the speech frames only;
    ``"voice-encoder"``: 1,792 pooled states of a pretrained speaker encoder, :mod:`.voice_encoder`,
    ``"voice-encoder-2"`` its first two layers' 1,024; ``"speech-stats-mfcc-speech-encoder"``: both;
    ``"turn-encoder(-2)"``: pooled states of :mod:`.turn_encoder`, which reads the last 8 s).
    """

    model_input_names = ["input_features"]
    # one vector per clip, no padding: callers that need one output per clip may still pass this
    # many clips per call (the voice encoder then shares the LSTM's batches among them)
    clips_per_call = 16

    def __init__(
        self,
        functionals: str = "compare+ours",
        sampling_rate: int = 16000,
        trim_db: float | None = 35.0,
        trim_margin_s: float = 0.1,
        padding_value: float = 0.0,
        **kwargs: Any,
    ):
        saved_size = kwargs.pop("feature_size", None)
        size = functionals_size(functionals)
        if saved_size is not None and int(saved_size) != size:
            raise SERError(
                f"preprocessor_config.json says feature_size={saved_size}; {functionals!r} gives {size}"
            )
        kwargs.pop("return_attention_mask", None)
        super().__init__(
            feature_size=size,
            sampling_rate=int(sampling_rate),
            padding_value=padding_value,
            return_attention_mask=False,
            **kwargs,
        )
        self.functionals = functionals
        self.trim_db = trim_db
        self.trim_margin_s = trim_margin_s
        self._encoder_weights: str | None = None  # a saved model's copy of the voice encoder
        self._turn_weights: str | None = None  # ... and of the turn encoder

    def _weight_files(self) -> list[tuple[str, Path, str]]:
        """(attribute, shipped weights, licence file name) of each pretrained encoder the set reads."""
        blocks = FUNCTIONAL_BLOCKS[self.functionals]
        return [f[:3] for f in _ENCODER_FILES if any(b.startswith(f[3]) for b in blocks)]

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.pop("_encoder_weights", None)
        out.pop("_turn_weights", None)
        return out

    def __call__(
        self,
        raw_speech: np.ndarray | torch.Tensor | list[float] | list[np.ndarray] | list[torch.Tensor],
        sampling_rate: int | None = None,
        return_tensors: str | None = None,
        max_length: int | None = None,
        truncation: bool = False,
        **kwargs: Any,
    ) -> BatchFeature:
        """Functionals of one clip or a batch (arguments as :meth:`SERFeatureExtractor.__call__`)."""
        if sampling_rate is not None and int(sampling_rate) != self.sampling_rate:
            raise SERError(
                f"audio at {sampling_rate} Hz but this extractor expects {self.sampling_rate} Hz; "
                "resample first (ser_hf.load_audio does)"
            )
        batch, lengths = SERFeatureExtractor._to_batch(self, raw_speech, None, max_length, truncation)
        vectors = batch_functionals(
            [batch[i, : int(lengths[i])].numpy() for i in range(batch.shape[0])],
            self.functionals,
            self.sampling_rate,
            self.trim_db,
            self.trim_margin_s,
            self._encoder_weights,
            self._turn_weights,
        ).astype(np.float32)
        return BatchFeature({"input_features": vectors}, tensor_type=return_tensors)


_TYPE_KEYS = ("feature_extractor_type", "auto_map", "processor_class")


class SERFusionFeatureExtractor(_ShipsEncoders, SequenceFeatureExtractor):
    """The front end of :class:`SERFusionForAudioClassification`: frame features and functionals.

    Returns ``input_features`` ``(batch, frames, feature_size)`` and ``attention_mask`` from a
    :class:`SERFeatureExtractor` built from ``frame`` (its saved options), plus ``functionals``
    ``(batch, n)`` from a :class:`SERFunctionalsFeatureExtractor` with the set ``functionals``,
    ``trim_db`` and ``trim_margin_s``. Either part may be None when no member needs it.
    """

    model_input_names = ["input_features", "attention_mask", "functionals"]

    def __init__(
        self,
        frame: dict[str, Any] | None = None,
        functionals: str | None = "compare+ours",
        sampling_rate: int = 16000,
        trim_db: float | None = 35.0,
        trim_margin_s: float = 0.1,
        padding_value: float = 0.0,
        **kwargs: Any,
    ):
        kwargs.pop("feature_size", None)
        kwargs.pop("return_attention_mask", None)
        sampling_rate = int(sampling_rate)
        self.frame = None if frame is None else {k: v for k, v in dict(frame).items() if k not in _TYPE_KEYS}
        self.functionals = functionals
        self.trim_db = trim_db
        self.trim_margin_s = trim_margin_s
        if self.frame is None and functionals is None:
            raise SERError("a fusion feature extractor needs frame options, a functionals set or both")
        self._frame_extractor = None if self.frame is None else SERFeatureExtractor(**self.frame)
        self._functionals_extractor = (
            None
            if functionals is None
            else SERFunctionalsFeatureExtractor(functionals, sampling_rate, trim_db, trim_margin_s)
        )
        if self._frame_extractor is not None and self._frame_extractor.sampling_rate != sampling_rate:
            raise SERError(
                f"the frame features expect {self._frame_extractor.sampling_rate} Hz, the fusion {sampling_rate} Hz"
            )
        size = self._frame_extractor.feature_size if self._frame_extractor is not None else 0
        super().__init__(
            feature_size=size,
            sampling_rate=sampling_rate,
            padding_value=float(padding_value),
            return_attention_mask=self._frame_extractor is not None,
            **kwargs,
        )

    @property
    def hop_length(self) -> int | None:
        """The frame hop in samples (None without frame features)."""
        return None if self._frame_extractor is None else self._frame_extractor.hop_length

    @property
    def max_frames(self) -> int | None:
        """The frame part's fixed clip length in frames, if any."""
        return None if self._frame_extractor is None else self._frame_extractor.max_frames

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.pop("_frame_extractor", None)
        out.pop("_functionals_extractor", None)
        return out

    def _encoders(self) -> Any:  # a member's pretrained encoder ships beside the fusion
        return self._functionals_extractor

    def __call__(
        self,
        raw_speech: np.ndarray | torch.Tensor | list[float] | list[np.ndarray] | list[torch.Tensor],
        sampling_rate: int | None = None,
        return_tensors: str | None = None,
        device: str | torch.device | None = None,
        **kwargs: Any,
    ) -> BatchFeature:
        """Frame features and/or functionals of one clip or a batch (inputs as
        :meth:`SERFeatureExtractor.__call__`; ``device`` applies to the frame features)."""
        data: dict[str, Any] = {}
        common = {"sampling_rate": sampling_rate, "return_tensors": return_tensors, **kwargs}
        if self._frame_extractor is not None:
            data.update(self._frame_extractor(raw_speech, device=device, **common))
        if self._functionals_extractor is not None:  # padding etc. mean nothing to one vector per clip
            functionals = self._functionals_extractor(raw_speech, **common)["input_features"]
            if device is not None and hasattr(functionals, "to"):
                functionals = functionals.to(device)
            data["functionals"] = functionals
        return BatchFeature(data, tensor_type=return_tensors)


SERFunctionalsFeatureExtractor.register_for_auto_class()
SERFusionFeatureExtractor.register_for_auto_class()
