"""The inputs of an exported turn-encoder graph (the default's ``ser-hf export``) from audio, in numpy
alone: no torch, no ser_hf. ``ser-hf export`` writes this file beside the graph
(``default.onnx`` -> ``default_preprocess.py``) so that a product can run the model with numpy and
onnxruntime only::

    import onnxruntime as ort
    from default_preprocess import read_wav, turn_inputs   # this file, as ser-hf export names it
    session = ort.InferenceSession("default.onnx")
    wave, rate = read_wav("clip.wav")                      # PCM WAV; resample to 16 kHz yourself
    logits, probs = session.run(None, turn_inputs([wave])) # one clip per call with an .int8.onnx

It computes what the package computes (``TurnEncoderInputs``: trim the silence, then smart-turn's
Whisper log-mels of the last 8 s), in float64 as the package does: the values agree within 1e-4.
The labels are in the graph's metadata: ``json.loads(session.get_modelmeta().custom_metadata_map
["ser_hf.id2label"])``; ``ser_hf.feature_extractor`` holds ``trim_db`` and ``trim_margin_s``.
"""

from __future__ import annotations

import math
import wave as wave_module
from collections.abc import Sequence

import numpy as np

SAMPLING_RATE = 16000
WINDOW_SAMPLES = 8 * SAMPLING_RATE  # smart-turn's fixed window: the last 8 s of a clip
HOP, N_FFT, N_MELS = 160, 400, 80


def trim_silence(wave: np.ndarray, rate: int = SAMPLING_RATE, top_db: float = 35.0, margin_s: float = 0.1):
    """The clip without its leading and trailing 10-ms frames more than ``top_db`` below the loudest
    (energies without the samples' mean), ``margin_s`` kept on both sides."""
    x = np.asarray(wave, dtype=np.float32).ravel()
    hop = max(1, round(rate * 10.0 / 1000.0))
    n = x.size // hop
    if n < 2:
        return x
    head = x[: n * hop]
    frames = (head - head.mean(dtype=np.float32)).reshape(n, hop)
    energy_db = 10.0 * np.log10(np.maximum((frames.astype(np.float32) ** 2).mean(1), 1e-10))
    keep = np.flatnonzero(energy_db > energy_db.max() - top_db)
    if keep.size == 0:
        return x
    margin = round(margin_s * rate)
    return x[max(0, int(keep[0]) * hop - margin) : min(x.size, (int(keep[-1]) + 1) * hop + margin)]


def mel_matrix(rate: int = SAMPLING_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """librosa's default (Slaney) mel filterbank, ``(n_fft // 2 + 1, n_mels)``: Whisper's with 80 bands."""

    def mel(f):
        f = np.asarray(f, dtype=np.float64)
        return np.where(
            f < 1000.0, 3.0 * f / 200.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
        )

    def hz(m):
        return np.where(m < 15.0, 200.0 * m / 3.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)))

    edges = hz(np.linspace(mel(0.0), mel(rate / 2), n_mels + 2))
    ramps = edges[:, None] - np.linspace(0.0, rate / 2, n_fft // 2 + 1)[None, :]
    gaps = np.diff(edges)
    lower, upper = -ramps[:-2] / gaps[:-1, None], ramps[2:] / gaps[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper)) * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.T.astype(np.float32).astype(np.float64)


def whisper_log_mel(wave: np.ndarray) -> np.ndarray:
    """``(2k, 80)`` log-mels of the clip's own frames (k = ceil(samples / 320), at most 400), as
    smart-turn computes them on the clip left-padded with zeros to 8 s: the whole window normalised to
    zero mean and unit variance, a centred 400-point Hann STFT (reflected at the window's edges),
    Slaney mels, log10, floored 8 below the maximum, then (x + 4) / 4."""
    x = np.asarray(wave, dtype=np.float32).astype(np.float64)[-WINDOW_SAMPLES:]
    k = max(1, min(WINDOW_SAMPLES // (2 * HOP), math.ceil(len(x) / (2 * HOP))))
    mean = x.sum() / WINDOW_SAMPLES
    sd = math.sqrt(float(np.float32(x.dot(x) / WINDOW_SAMPLES - mean**2)) + 1e-7)
    x = (x - mean) / sd
    start = HOP * (WINDOW_SAMPLES // HOP - 2 * k) - N_FFT // 2  # the first kept frame's first sample
    pad = WINDOW_SAMPLES - len(x) - max(start, 0)
    x = np.concatenate([np.full(pad, -mean / sd), x]) if pad >= 0 else x[-pad:]
    x = np.pad(x, (max(-start, 0), N_FFT // 2), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP][: 2 * k]
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)
    spec = np.fft.rfft(frames * hann, axis=-1)
    power = spec.real**2 + spec.imag**2
    mel = np.log10(np.maximum(power @ mel_matrix(), 1e-10))
    return ((np.maximum(mel, mel.max() - 8.0) + 4.0) / 4.0).astype(np.float32)


def turn_inputs(
    clips: Sequence[np.ndarray], trim_db: float | None = 35.0, trim_margin_s: float = 0.1
) -> dict[str, np.ndarray]:
    """The graph's ``input_features`` ``(batch, frames, 80)`` and ``attention_mask`` ``(batch, frames)``
    of mono float32 clips at 16 kHz in [-1, 1] (``trim_db`` / ``trim_margin_s``: the model's
    ``ser_hf.feature_extractor`` values; ``trim_db=None``: no trimming)."""
    mels = []
    for clip in clips:
        x = np.asarray(clip, dtype=np.float32).ravel()
        if trim_db is not None:
            x = trim_silence(x, SAMPLING_RATE, trim_db, trim_margin_s)
        if x.size < SAMPLING_RATE // 10:  # under 0.1 s: padded
            x = np.pad(x, (0, SAMPLING_RATE // 10 - x.size))
        mels.append(whisper_log_mel(x))
    frames = max(m.shape[0] for m in mels)
    features = np.zeros((len(mels), frames, N_MELS), dtype=np.float32)
    mask = np.zeros((len(mels), frames), dtype=np.int64)
    for i, m in enumerate(mels):
        features[i, : len(m)], mask[i, : len(m)] = m, 1
    return {"input_features": features, "attention_mask": mask}


def read_wav(path: str) -> tuple[np.ndarray, int]:
    """A PCM WAV file (8/16/32-bit) as mono float32 in [-1, 1] and its rate (the standard library's reader)."""
    with wave_module.open(path, "rb") as f:
        width, channels, rate = f.getsampwidth(), f.getnchannels(), f.getframerate()
        raw = f.readframes(f.getnframes())
    if width == 1:
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width in (2, 4):
        x = np.frombuffer(raw, f"<i{width}").astype(np.float32) / float(2 ** (8 * width - 1))
    else:
        raise ValueError(f"{path}: {8 * width}-bit WAV; convert it to 16-bit PCM")
    return x.reshape(-1, channels).mean(1), rate
