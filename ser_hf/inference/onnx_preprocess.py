"""Running an exported turn-encoder graph (the default's ``ser-hf export``) on audio, in numpy alone: no
torch, no ser_hf. ``ser-hf export`` writes this file beside the graph (``default.onnx`` ->
``default_preprocess.py``) so that a product can run the model with numpy and onnxruntime only::

    import onnxruntime as ort
    from default_preprocess import classify, read_audio
    session = ort.InferenceSession("default.onnx")       # or default.int8.onnx
    wave, rate = read_audio("clip.wav")                  # any rate, mono or stereo
    print(classify(session, wave, rate))                 # [{"label": "happy", "score": 0.91}, ...]

``classify`` follows ``ser-hf predict``'s rules for one clip:

- The sampling rate is required: a clip at another rate than 16 kHz is resampled as the package
  resamples (torchaudio's band-limited sinc, Hann window, 6 zero crossings, rolloff 0.99; within
  1e-4 of it); a 44.1-kHz clip read as 16 kHz got confident wrong labels.
- A clip shorter than 0.1 s raises :class:`TooShortError` (too short to hold speech; ``predict``
  gives it an error row). A silent clip (its loudest 50 ms below -55 dBFS, the samples' mean removed
  first) gets ``[{"label": "silence", "score": 1.0}]`` without running the model (2 s of digital
  zeros scored ``fearful`` 0.59).
- Stereo (a ``(samples, channels)`` or ``(channels, samples)`` array: the shorter axis holds the
  channels) is averaged; integer PCM is scaled to [-1, 1); NaN or infinite samples, more than two
  dimensions and float samples far outside [-1, 1] (integer values stored as floats) raise ValueError.
- One clip, one label: the model reads the clip's last 8 s (after trimming silence at both ends), so
  the graph always gets an even number of frames from 2 to 800, the most it accepts. For a longer
  recording, classify windows of it, as ``ser-hf predict`` does for one of 6 s or more (4-s windows
  every 2 s; predict also labels ``silence`` a window 40 dB below the loudest and ``no speech`` one
  its speech detector finds none in, which this file does not)::

      for start, stop, piece in windows(wave, rate):          # 4-s windows every 2 s
          print(start / rate, stop / rate, classify(session, piece, rate)[0])

Lower down, ``turn_inputs(clips, rate)`` gives the graph's two inputs (what ``classify`` feeds it) and
refuses a silent or too short clip (:class:`NoSpeechError`, a ValueError). It computes what the
package computes (``TurnEncoderInputs``: trim the silence, then smart-turn's Whisper log-mels of the
last 8 s), in float64 as the package does: the values agree within 1e-4. The labels are in the
graph's metadata: ``json.loads(session.get_modelmeta().custom_metadata_map["ser_hf.id2label"])``;
``ser_hf.feature_extractor`` holds ``trim_db`` and ``trim_margin_s`` (``classify`` reads both). An
``.int8.onnx`` graph runs one clip per call (its scores move with the other clips of a batch).

Speed: the log-mels (and the resampling) multiply small matrices, which numpy hands to its BLAS; with
its default of one thread per core, a 3-s clip's inputs took 15-24 ms instead of 1-2 ms on a busy
machine. In a latency-critical service set ``OPENBLAS_NUM_THREADS=1`` (``MKL_NUM_THREADS=1`` for
an MKL numpy) in the environment before numpy is imported, or wrap the calls in
``threadpoolctl.threadpool_limits(1)``.

``read_audio`` reads a file with soundfile when it is installed (WAV of any PCM or float format, FLAC,
OGG), else WAV of 8/16/24/32-bit integers or 32/64-bit floats with numpy, WAVE_FORMAT_EXTENSIBLE
included (ffmpeg's and sox's 24- and 32-bit WAV); compressed WAV (A-law, ADPCM, ...) needs soundfile.
"""

from __future__ import annotations

import functools
import json
import math
import os
import struct
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

SAMPLING_RATE = 16000
WINDOW_SAMPLES = 8 * SAMPLING_RATE  # smart-turn's fixed window: the last 8 s of a clip
HOP, N_FFT, N_MELS = 160, 400, 80
MIN_FRAMES, MAX_FRAMES = 2, WINDOW_SAMPLES // HOP  # what the graph accepts (an even count between them)
MIN_SPEECH_S = 0.1  # a clip shorter than this cannot hold a syllable: refused, as ser-hf predict does
SILENCE_DB = -55.0  # a clip whose loudest 50 ms is below this (dBFS) is silence, as ser-hf predict says
SILENCE_LABEL = "silence"
MIN_RATE, MAX_RATE = 1000, 768_000  # Hz: the rates the package accepts
_FLOAT_PEAK_LIMIT = 16.0  # float samples beyond this are integer PCM stored as floats
_MAX_KERNEL = 12_000_000  # the package's limit on the resampling kernel (rates as the nearest 10 Hz past it)


class NoSpeechError(ValueError):
    """A clip with no emotion to score: silent (``turn_inputs``; ``classify`` labels it ``silence``)."""


class TooShortError(NoSpeechError):
    """A clip shorter than :data:`MIN_SPEECH_S` (0.1 s): too short to hold speech."""


def check_rate(rate: Any) -> int:
    """``rate`` as a whole number of Hz from 1 kHz to 768 kHz, else ValueError."""
    try:
        value = float("nan") if isinstance(rate, bool) else float(rate)
    except (TypeError, ValueError):
        value = float("nan")
    if not (value == int(value) if math.isfinite(value) else False) or not MIN_RATE <= value <= MAX_RATE:
        raise ValueError(
            f"invalid sampling rate {rate!r}: give the clip's rate in Hz ({MIN_RATE} to {MAX_RATE}), e.g. "
            "the one read_audio returns; 16000 for the model's own"
        )
    return int(value)


def to_mono(samples: Any) -> np.ndarray:
    """``samples`` as 1-D float32 as the package reads an array: integer PCM scaled to [-1, 1), a
    ``(samples, channels)`` or ``(channels, samples)`` array averaged over its channels (the shorter
    axis, up to 64), NaN or infinite samples and floats far outside [-1, 1] refused (ValueError)."""
    x = np.asarray(samples)
    if x.dtype.kind not in "fiu":
        raise ValueError(f"samples of type {x.dtype} are not audio: pass floats in [-1, 1] or integer PCM")
    if x.dtype.kind in "iu" and x.dtype.itemsize == 8:
        raise ValueError(
            "64-bit integer samples (what a Python list of ints becomes): their PCM width is unknown; pass "
            "np.asarray(x, np.int16) for 16-bit PCM (np.int32 for 32-bit), or floats in [-1, 1]"
        )
    if x.ndim not in (1, 2):
        raise ValueError(f"expected 1-D samples or a 2-D (samples, channels) array, got shape {x.shape}")
    if x.dtype.kind == "f":
        finite = np.isfinite(x)
        if not finite.all():
            raise ValueError(
                f"{x.size - int(finite.sum())} of the {x.size} samples are NaN or infinite: the clip is "
                "damaged (a failed decode or a division by zero); check how it was produced"
            )
        peak = float(np.abs(x).max()) if x.size else 0.0
        if peak > _FLOAT_PEAK_LIMIT:
            raise ValueError(
                f"float samples reach {peak:g}, and floats are read as [-1, 1]: these look like integer PCM "
                "stored as floats; divide them by 32768 for 16-bit audio, or pass the integer array itself"
            )
        x = x.astype(np.float32, copy=False)
    elif x.dtype == np.uint8:  # 8-bit WAV is unsigned, centred on 128
        x = (x.astype(np.float32) - 128.0) / 128.0
    else:
        info = np.iinfo(x.dtype)
        x = x.astype(np.float32) / float(max(abs(info.min), info.max + 1))
    if x.ndim == 1:
        return x
    if x.size == 0:
        return x.reshape(-1)[:0]
    rows, cols = x.shape
    axis = 0 if rows < cols and rows <= 64 else 1
    return x.mean(axis=axis) if x.shape[axis] > 1 else np.take(x, 0, axis=axis)


def _effective_rates(rate: int, target: int) -> tuple[int, int]:
    """The package's rates for a pair whose exact ratio would need a huge kernel: the nearest 10 Hz."""
    g = math.gcd(rate, target)
    if (rate // g) * (target // g) <= _MAX_KERNEL:
        return rate, target
    for step in (10, 100, 1000):
        near = [max(step, round(r / step) * step) for r in (rate, target)]
        k = math.gcd(*near)
        if (near[0] // k) * (near[1] // k) <= _MAX_KERNEL:
            break
    return near[0], near[1]


@functools.lru_cache(maxsize=4)
def _sinc_kernel(orig: int, new: int, zeros: int = 6, rolloff: float = 0.99) -> tuple[np.ndarray, int]:
    """torchaudio's ``sinc_interp_hann`` kernel ``(new, 2 * width + orig)`` for rates reduced by their gcd."""
    base = min(orig, new) * rolloff
    width = math.ceil(zeros * orig / base)
    idx = np.arange(-width, width + orig, dtype=np.float64)[None, :] / orig
    t = (np.arange(0, -new, -1, dtype=np.float64)[:, None] / new + idx) * base
    t = np.clip(t, -zeros, zeros)
    window = np.cos(t * math.pi / zeros / 2) ** 2
    t *= math.pi
    safe = np.where(t == 0, 1.0, t)
    kernel = np.where(t == 0, 1.0, np.sin(safe) / safe) * window * (base / orig)
    return kernel.T.astype(np.float32), width  # (2 * width + orig, new): frames @ kernel


def resample(wave: np.ndarray, rate: int, target: int = SAMPLING_RATE) -> np.ndarray:
    """A 1-D float32 signal from ``rate`` to ``target`` Hz as the package resamples it
    (``torchaudio.functional.resample``'s defaults); memory follows the signal."""
    rate, target = _effective_rates(check_rate(rate), check_rate(target))
    x = np.asarray(wave, dtype=np.float32)
    if rate == target:
        return x
    g = math.gcd(rate, target)
    orig, new = rate // g, target // g
    kernel, width = _sinc_kernel(orig, new)
    padded = np.pad(x, (width, width + orig))
    frames = np.lib.stride_tricks.sliding_window_view(padded, kernel.shape[0])[::orig]  # (len // orig + 1, K)
    step = max(1, (1 << 22) // kernel.shape[0])  # rows per product: 16 MB of frames at a time
    out = np.concatenate([(frames[i : i + step] @ kernel).reshape(-1) for i in range(0, len(frames), step)])
    return out[: math.ceil(np.float32(new * x.size / orig))]  # torchaudio's length, its float32 rounding


def level_db(wave: np.ndarray, rate: int = SAMPLING_RATE, frame_s: float = 0.05) -> float:
    """The package's speech-activity level: RMS of the loudest ``frame_s`` frame in dBFS (the samples'
    mean removed first; -240 for digital silence)."""
    x = np.asarray(wave)
    if x.size == 0:
        return -240.0
    mean = float(np.mean(x, dtype=np.float64))
    n = max(1, int(frame_s * rate))
    usable = (x.size // n) * n or x.size
    n = min(n, usable)
    block = n * max(1, (1 << 20) // n)
    power = 0.0
    for start in range(0, usable, block):
        frames = x[start : min(start + block, usable)].astype(np.float64) - mean
        power = max(power, float(np.square(frames).reshape(-1, n).mean(axis=1).max()))
    return max(-240.0, 20.0 * math.log10(max(math.sqrt(power), 1e-12)))


def prepare(wave: Any, rate: int, clip: str = "the clip") -> np.ndarray:
    """One clip at ``rate`` Hz as the model's input audio: mono float32 at 16 kHz (:func:`to_mono`,
    :func:`resample`); :class:`TooShortError` under 0.1 s (``clip``: how its errors name it)."""
    mono, rate = to_mono(wave), check_rate(rate)
    x = resample(mono, rate)
    if x.size < MIN_SPEECH_S * SAMPLING_RATE:
        ms = math.floor(100_000 * mono.size / rate) / 100  # 0.18, not 0: never rounded up to the limit
        raise TooShortError(
            f"{clip} is {ms:g} ms long ({mono.size} samples at {rate} Hz), too short to hold speech "
            f"(under {1000 * MIN_SPEECH_S:.0f} ms): it has no emotion to score"
        )
    return x


def is_silent(wave: np.ndarray, rate: int = SAMPLING_RATE) -> bool:
    """Whether ``ser-hf predict`` labels the clip ``silence``: its loudest 50 ms below :data:`SILENCE_DB`."""
    return level_db(wave, rate) < SILENCE_DB


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


@functools.lru_cache(maxsize=1)
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
    clips: Sequence[Any],
    rate: int,
    trim_db: float | None = 35.0,
    trim_margin_s: float = 0.1,
    names: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """The graph's ``input_features`` ``(batch, frames, 80)`` and ``attention_mask`` ``(batch, frames)``
    of a list of clips at ``rate`` Hz (:func:`prepare`: resampled to 16 kHz, stereo averaged), the
    frames an even count from 2 to 800 (the last 8 s). ``trim_db`` / ``trim_margin_s``: the model's
    ``ser_hf.feature_extractor`` values (``trim_db=None``: no trimming). A clip under 0.1 s raises
    :class:`TooShortError`, a silent one :class:`NoSpeechError` (``classify`` labels it ``silence``),
    naming its position in ``clips`` (from 0) and its name in ``names`` (file names, say) if given."""
    if isinstance(clips, np.ndarray) and clips.ndim == 1 or (len(clips) and np.ndim(clips[0]) == 0):
        raise ValueError("turn_inputs takes a list of clips, got one clip's samples: pass [wave]")
    rate = check_rate(rate)
    if not len(clips):
        raise ValueError("turn_inputs takes a list of clips, got none")
    if names is not None and len(names) != len(clips):
        raise ValueError(f"turn_inputs got {len(names)} names for {len(clips)} clips: give one name a clip")
    mels = []
    for i, clip in enumerate(clips):
        which = f"clip {i} of {len(clips)}" + (f" ({names[i]})" if names is not None else "")
        try:
            x = prepare(clip, rate, which)
        except NoSpeechError:
            raise
        except ValueError as err:  # damaged samples, a bad shape: which clip
            raise ValueError(f"{which}: {err}") from None
        if is_silent(x):
            raise NoSpeechError(
                f"{which} is silent (loudest 50 ms at {level_db(x):.0f} dBFS, below {SILENCE_DB:g}): ser-hf "
                f"predict labels it {SILENCE_LABEL!r} without running the model; classify() does too"
            )
        mels.append(_log_mels(x, trim_db, trim_margin_s))
    frames = max(m.shape[0] for m in mels)
    features = np.zeros((len(mels), frames, N_MELS), dtype=np.float32)
    mask = np.zeros((len(mels), frames), dtype=np.int64)
    for i, m in enumerate(mels):
        features[i, : len(m)], mask[i, : len(m)] = m, 1
    return {"input_features": features, "attention_mask": mask}


def _log_mels(x: np.ndarray, trim_db: float | None, trim_margin_s: float) -> np.ndarray:
    if trim_db is not None:
        x = trim_silence(x, SAMPLING_RATE, trim_db, trim_margin_s)
    if x.size < SAMPLING_RATE // 10:  # trimmed under 0.1 s: padded, as the package pads it
        x = np.pad(x, (0, SAMPLING_RATE // 10 - x.size))
    return whisper_log_mel(x)  # the last 8 s: 2 to 800 frames, an even count, as the graph accepts


def classify(session: Any, wave: Any, rate: int, top_k: int | None = None) -> list[dict[str, Any]]:
    """``[{"label", "score"}, ...]`` of one clip at ``rate`` Hz, best first, from an
    ``onnxruntime.InferenceSession`` of the exported graph (labels and trimming from its metadata):
    ``[{"label": "silence", "score": 1.0}]`` for a silent clip, :class:`TooShortError` under 0.1 s."""
    x = prepare(wave, rate)
    if is_silent(x):
        return [{"label": SILENCE_LABEL, "score": 1.0}]
    meta = session.get_modelmeta().custom_metadata_map
    labels = json.loads(meta["ser_hf.id2label"])
    settings = json.loads(meta.get("ser_hf.feature_extractor") or "{}")
    mel = _log_mels(x, settings.get("trim_db", 35.0), settings.get("trim_margin_s", 0.1))
    inputs = {"input_features": mel[None], "attention_mask": np.ones((1, len(mel)), np.int64)}
    probs = session.run(None, inputs)[1][0]
    order = np.argsort(-probs, kind="stable")[:top_k]
    return [{"label": labels[str(int(i))], "score": float(probs[i])} for i in order]


def windows(
    wave: Any, rate: int, window_s: float = 4.0, hop_s: float = 2.0
) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(start, stop, samples)`` (sample indices at ``rate``) of ``window_s``-second windows every
    ``hop_s`` seconds, and one more ending at the very end: ``ser-hf predict``'s timeline windows (a
    clip shorter than a window is one window). Stereo is averaged first."""
    x = to_mono(wave)
    win, hop = max(1, round(window_s * check_rate(rate))), max(1, round(hop_s * rate))
    if x.size <= win:
        if x.size:
            yield 0, x.size, x
        return
    stop = 0
    for start in range(0, x.size - win + 1, hop):
        stop = start + win
        yield start, stop, x[start:stop]
    if stop < x.size:
        yield x.size - win, x.size, x[-win:]


def read_audio(path: str) -> tuple[np.ndarray, int]:
    """An audio file as mono float32 in [-1, 1] (channels averaged) and its rate: with soundfile when it
    is installed (WAV of any PCM or float format, FLAC, OGG), else a WAV of 8, 16, 24 or 32-bit integers
    or 32/64-bit floats (WAVE_FORMAT_EXTENSIBLE too, as ffmpeg and sox write 24/32-bit) read with numpy;
    a ValueError naming the fix for any other file."""
    try:
        import soundfile
    except ImportError:
        soundfile = None
    if soundfile is not None:
        try:
            samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
        except RuntimeError as err:  # soundfile.LibsndfileError: an M4A, MP3 on old libsndfile, not audio
            raise ValueError(
                f"{path}: not a file soundfile reads ({err}); convert it: ffmpeg -i IN -c:a pcm_s16le OUT.wav"
            ) from err
        return (samples.mean(1) if samples.shape[1] > 1 else samples[:, 0]), int(rate)
    x, rate = _read_wav(path)
    return (x.mean(1) if x.shape[1] > 1 else x[:, 0]), rate


_WAV_CODECS = {
    2: "ADPCM",
    6: "A-law",
    7: "mu-law",
    0x11: "IMA ADPCM",
    0x50: "MPEG",
    0x55: "MP3",
    0xFFFE: "other",
}
_WAV_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")  # KSDATAFORMAT_SUBTYPE_* after the format tag


def _read_wav(path: str) -> tuple[np.ndarray, int]:
    """A RIFF (or RF64) WAV's samples ``(frames, channels)`` as float32 and its rate, in numpy: its chunks
    walked to ``fmt `` and ``data`` (``LIST``, ``fact`` and others skipped), PCM integers of 1-4 bytes or
    IEEE floats of 4 or 8, plain or WAVE_FORMAT_EXTENSIBLE; a ValueError naming the fix for others."""

    def refuse(why: str) -> ValueError:
        return ValueError(
            f"{path}: {why}: without soundfile only WAV of 8/16/24/32-bit integer or 32/64-bit float "
            "samples is read; pip install soundfile (FLAC, OGG, other WAV), or convert it: "
            "ffmpeg -i IN -c:a pcm_s16le OUT.wav"
        )

    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64", b"BW64") or head[8:] != b"WAVE":
            raise refuse("not a WAV file (no RIFF/WAVE header)")
        fmt, size64, data = b"", None, None
        while not (fmt and data):
            chunk = f.read(8)
            if len(chunk) < 8:
                raise refuse(f"a WAV file without a {'data' if fmt else 'fmt'} chunk")
            name, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if name == b"data":
                data = (f.tell(), size)
            if name in (b"fmt ", b"ds64"):
                body = f.read(size + (size & 1))[:size]  # chunks are padded to an even length
                fmt = body if name == b"fmt " else fmt
                size64 = int.from_bytes(body[8:16], "little") if name == b"ds64" else size64  # RF64's
            elif not (fmt and data):
                f.seek(size + (size & 1), 1)  # LIST, fact, ...; a data chunk before fmt
        if len(fmt) < 16:
            raise refuse("a WAV file with a damaged fmt chunk")
        tag, channels, rate, _, align, bits = struct.unpack("<HHIIHH", fmt[:16])
        if tag == 0xFFFE and len(fmt) >= 40 and fmt[26:40] == _WAV_GUID_TAIL:  # WAVE_FORMAT_EXTENSIBLE
            tag = int.from_bytes(fmt[24:26], "little")  # its sub-format: 1 PCM, 3 float
        width = align // channels if channels else 0
        kind = {1: "integer", 3: "float"}.get(tag)
        if kind is None or width * channels != align or width not in ((1, 2, 3, 4) if tag == 1 else (4, 8)):
            what = f"{bits}-bit {kind}" if kind else _WAV_CODECS.get(tag, f"format {tag:#06x}")
            raise refuse(f"a WAV file of {what} samples")
        start, size = data
        size = size64 if size == 0xFFFFFFFF and size64 else size
        f.seek(start)
        left = os.fstat(f.fileno()).st_size - start  # a WAV written to a pipe gives no size: to its end
        raw = f.read(min(size, left) // align * align)
    if tag == 3:
        x = np.frombuffer(raw, f"<f{width}").astype(np.float32)
    elif width == 1:  # 8-bit WAV is unsigned, centred on 128
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 3:  # 24-bit little-endian: into the top three bytes of an int32
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        x = ((b[:, 0] << 8 | b[:, 1] << 16 | b[:, 2] << 24) >> 8).astype(np.float32) / float(2**23)
    else:
        x = np.frombuffer(raw, f"<i{width}").astype(np.float32) / float(2 ** (8 * width - 1))
    return x.reshape(-1, channels), rate


read_wav = read_audio  # the name of earlier versions of this file
