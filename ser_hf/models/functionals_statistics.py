"""The statistics of one clip behind the functionals vectors (remote code): silence trimming, the
row functionals of frame descriptors, speech-frame statistics, the batched pitch tracker and its
speaker-relative and log-F0 statistics.

Pure functions of numpy arrays or torch tensors; ``functionals_vector.py`` puts them together into the
sets of ``FUNCTIONAL_BLOCKS``. This file is copied next to saved models, so it imports only torch,
numpy, transformers and its single-dot siblings (and librosa, lazily, for ``f0_functionals`` only).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .errors import SERError

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
