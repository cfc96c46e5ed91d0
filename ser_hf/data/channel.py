"""Channel conditions: what a microphone, a room, a phone line or a codec does to a recording.

A condition is a short string, and conditions chain with ``+`` in the order they happen::

    clean                 nothing
    noise:20              white noise at 20 dB SNR          pink:10   pink (1/f) noise at 10 dB SNR
    band:300-3400         only 300-3400 Hz pass             telephone 300-3400 Hz + 8-bit mu-law (G.711)
    mp3:32                an MP3 round trip at 32 kbit/s    opus:12   an Opus round trip at 12 kbit/s
    clip:0.3              hard clipping at 30 % of the peak gain:-20 20 dB quieter
    reverb:0.6            a synthetic room, RT60 0.6 s    eq:10     a random equaliser, gains within +-10 dB
    pitch:-3              another voice: pitch and formants 3 semitones lower, duration kept
    crop:1.3              a random 1.3-s stretch of the clip's speech (the ends' silence trimmed
                          first; shorter speech whole): a part of a sentence, as a window or a short clip
    telephone+noise:20    a phone line, then noise at the far end

Values are bounded where the condition stops meaning a channel: ``gain`` and ``eq`` within 60 dB,
``band`` up to at least 300 Hz, ``crop`` at least 0.1 s, ``mp3`` 8-160 kbit/s (MPEG-2 Layer III, what
MP3 is at speech rates of 16-24 kHz, has no higher rate: 192 or 320 came out as 160) and ``opus``
6-256 kbit/s (libopus's range for one channel).

``ser-hf evaluate --channel SPEC`` scores a model on a corpus passed through a condition, and
``benchmarks/bench_robustness.py`` sweeps them. Noise and rooms are drawn from ``seed``, so a
condition gives the same audio every time. Codecs run through FFmpeg (torchcodec), the rest are
the batched functions of :mod:`ser_hf.data.transforms`.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from ..errors import SERError
from .audio import MIN_SPEECH_S

MAX_GAIN_DB = 60.0  # gain and eq: 60 dB takes speech at -40 dBFS to full scale and back; beyond, no channel
MIN_BAND_TOP_HZ = 300.0  # a band that ends below this holds no voice: every clip came out silent
SNR_RANGE_DB = (-30.0, 100.0)  # noise 30 dB above the speech buries it; 100 dB below adds nothing
MAX_RT60_S = 10.0  # the longest reverberation of real halls; 1,000 s asked for a 16-million-sample response

# name -> (what its value is, a valid example)
CONDITIONS = {
    "clean": (None, "clean"),
    "noise": ("SNR in dB, -30 to 100", "noise:20"),
    "pink": ("SNR in dB, -30 to 100", "pink:10"),
    "band": ("LOW-HIGH in Hz, HIGH at least 300", "band:300-3400"),
    "telephone": (None, "telephone"),
    "mp3": ("kbit/s, 8 to 160", "mp3:32"),
    "opus": ("kbit/s, 6 to 256", "opus:12"),
    "clip": ("fraction of the peak, 0-1", "clip:0.3"),
    "gain": ("dB, -60 to 60", "gain:-20"),
    "reverb": ("RT60 in seconds, up to 10", "reverb:0.6"),
    "eq": ("largest gain in dB, up to 60", "eq:10"),
    "pitch": ("semitones, -12 to 12", "pitch:-3"),
    "crop": (f"seconds, at least {MIN_SPEECH_S:g}", "crop:1.3"),
}


def _error(spec: str, why: str) -> SERError:
    examples = ", ".join(example for _, example in CONDITIONS.values())
    return SERError(f"{why}; a channel condition is one of {examples}, chained with '+'", source=spec)


def parse_channel(spec: str) -> list[tuple[str, tuple[float, ...]]]:
    """``"telephone+noise:20"`` -> ``[("telephone", ()), ("noise", (20.0,))]``; a bad spec raises
    :class:`SERError` listing the valid forms."""
    steps = []
    for part in str(spec).strip().split("+"):
        name, _, value = part.strip().partition(":")
        if name not in CONDITIONS:
            raise _error(spec, f"unknown channel condition {name!r}")
        wants = CONDITIONS[name][0]
        if (wants is None) != (value == ""):
            raise _error(spec, f"{name!r} takes {'no value' if wants is None else 'a value: ' + wants}")
        try:
            numbers = tuple(float(v) for v in value.split("-", 1)) if name == "band" else (
                (float(value),) if value else ()
            )  # fmt: skip
        except ValueError:
            raise _error(spec, f"{value!r} is not a number ({wants})") from None
        if not all(math.isfinite(v) for v in numbers):
            raise _error(spec, f"{value!r} is not a finite number ({wants})")
        if name == "band" and not (len(numbers) == 2 and 0 <= numbers[0] < numbers[1]):
            raise _error(spec, "band needs LOW-HIGH with LOW < HIGH")
        if name == "clip" and not 0 < numbers[0] <= 1:
            raise _error(spec, "clip takes a fraction of the peak between 0 and 1")
        if name in ("mp3", "opus", "reverb", "eq", "crop") and numbers[0] <= 0:
            raise _error(spec, f"{name} needs a positive value ({wants})")
        if name == "band" and numbers[1] < MIN_BAND_TOP_HZ:
            raise _error(
                spec, f"band's HIGH must be at least {MIN_BAND_TOP_HZ:g} Hz: below it no voice is left"
            )
        if name == "crop" and numbers[0] < MIN_SPEECH_S:
            raise _error(
                spec, f"crop takes at least {MIN_SPEECH_S:g} s: a shorter stretch cannot hold a syllable"
            )
        if name in ("gain", "eq") and abs(numbers[0]) > MAX_GAIN_DB:
            raise _error(spec, f"{name} takes at most {MAX_GAIN_DB:g} dB either way")
        if name == "opus" and not 6 <= numbers[0] <= 256:  # libopus refuses more for one channel
            raise _error(spec, "opus takes a bit rate from 6 to 256 kbit/s (libopus's range for mono)")
        if name == "mp3" and not 8 <= numbers[0] <= 160:
            raise _error(
                spec,
                "mp3 takes a bit rate from 8 to 160 kbit/s: MP3 at speech rates (16-24 kHz, MPEG-2 Layer III) "
                "has none higher, and more came out as 160",
            )
        if name in ("noise", "pink") and not SNR_RANGE_DB[0] <= numbers[0] <= SNR_RANGE_DB[1]:
            raise _error(
                spec,
                f"{name} takes an SNR from {SNR_RANGE_DB[0]:g} to {SNR_RANGE_DB[1]:g} dB: below, the noise "
                "overflows the samples; above, nothing is added",
            )
        if name == "reverb" and numbers[0] > MAX_RT60_S:
            raise _error(
                spec, f"reverb takes an RT60 of at most {MAX_RT60_S:g} s (a large concert hall is 2-3 s)"
            )
        if name == "pitch" and not (numbers[0] != 0 and abs(numbers[0]) <= 12):
            raise _error(spec, "pitch takes a shift in semitones, -12 to 12 and not 0")
        steps.append((name, numbers))
    return steps


# the kinds of random training channel, each with how its value is drawn
_DRAW = {
    "noise": lambda rng: f"{rng.uniform(10, 40):.1f}",
    "pink": lambda rng: f"{rng.uniform(10, 40):.1f}",
    "band": lambda rng: f"0-{rng.uniform(3400, 7000):.0f}",
    "mp3": lambda rng: rng.choice([24, 32, 48, 64]),
    "reverb": lambda rng: f"{rng.uniform(0.2, 1.0):.2f}",
    "eq": lambda rng: f"{rng.uniform(3, 12):.1f}",  # another microphone's colour
    "clip": lambda rng: f"{rng.uniform(0.2, 0.7):.2f}",
    "opus": lambda rng: rng.choice([8, 12, 16, 24]),
    "pitch": lambda rng: f"{rng.choice([-1, 1]) * rng.uniform(1.5, 4):.1f}",  # another speaker
    "crop": lambda rng: f"{rng.uniform(1.0, 1.6):.2f}",  # a part of a sentence
}
ALL_KINDS = tuple(_DRAW)
RANDOM_KINDS = ("noise", "pink", "band", "mp3")  # what random_channel draws from by default
ROOM_KINDS = (*RANDOM_KINDS, "reverb")  # the same plus synthetic rooms


def random_channel(rng: random.Random, kinds: Sequence[str] = RANDOM_KINDS) -> str:
    """A channel drawn for a training copy, each of ``kinds`` equally likely: white or pink noise
    at 10-40 dB SNR, a low-pass at 3.4-7 kHz (a phone, a cheap microphone), an MP3 round trip at
    24-64 kbit/s, (``"reverb"``) a synthetic room with RT60 0.2-1.0 s, (``"eq"``) a random
    equaliser of up to 3-12 dB, (``"clip"``) clipping at 20-70 % of the peak or (``"opus"``) an Opus
    round trip at 8-24 kbit/s: the conditions that move a clean-trained model most
    (benchmarks/RESULTS.md); (``"pitch"``) another voice, pitch and formants 1.5-4 semitones
    up or down; or (``"crop"``) a random 1.0-1.6 s stretch of the clip's speech."""
    if not kinds or not set(kinds) <= set(ALL_KINDS):
        raise SERError(
            f"random channel kinds are {', '.join(ALL_KINDS)}", source=f"channel kinds {list(kinds)}"
        )
    kind = rng.choice(list(kinds))
    return f"{kind}:{_DRAW[kind](rng)}"


def channel_copies(
    wave: np.ndarray,
    copies: int,
    seed: int,
    row: int,
    sampling_rate: int = 16000,
    kinds: Sequence[str] = RANDOM_KINDS,
    stream: str = "",
) -> list[np.ndarray]:
    """``copies`` versions of one clip, each through its own :func:`random_channel` of ``kinds``;
    drawn from ``(seed, row)``, so a clip gets the same copies in every fold and every run
    (``stream``: another, independent set of draws for the same clip)."""
    rng = random.Random(f"{stream}:{int(seed)}:{int(row)}" if stream else int(seed) * 1_000_003 + int(row))
    return [
        apply_channel(wave, random_channel(rng, kinds), sampling_rate, rng.randrange(2**31))
        for _ in range(copies)
    ]


_ONE_AT_A_TIME = threading.RLock()  # reentrant: a nested call waits on no one


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """torch on one thread while a copy is made, one copy at a time, the count restored after: its FFTs
    and sums split their work by thread count, so a channel copy's samples moved with it (up to 2e-7),
    and so did the copies' feature-cache keys and a model's chosen C (``ser-hf cv --parallel 2`` and
    ``--parallel 1`` trained other fold models). Every count now gives the one-thread samples. The lock:
    torch's count is partly per thread and partly the process's, so copies made at once by several
    threads (``evaluate --channel``'s workers) could each restore the other's."""
    import torch

    with _ONE_AT_A_TIME:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)


def apply_channel(wave: np.ndarray, spec: str, sampling_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """One mono float clip through the condition ``spec`` (same rate; same length but for ``crop``);
    the same samples whatever torch's thread count. ``wave`` is what :func:`~ser_hf.data.audio.load_audio`
    returns: 1-D float samples in [-1, 1]. Integer PCM (which came out at integer scale, or as
    near-silence through Opus) and several channels are refused with :class:`SERError`: pass them
    through ``load_audio((samples, rate), sampling_rate=rate)`` first. Codecs see the samples clipped
    to [-1, 1] (16-bit PCM), at any rate (one their encoder lacks goes through the next one up)."""
    x = np.asarray(wave)
    if x.dtype.kind != "f" or x.ndim != 1:
        raise SERError(
            f"a channel takes one mono clip of float samples in [-1, 1], got {x.dtype} samples shaped "
            f"{x.shape}; convert integer PCM or several channels with load_audio((samples, rate), "
            "sampling_rate=rate) first",
            source=f"channel {spec}",
        )
    if not np.isfinite(x).all():
        raise SERError("the clip has NaN or Inf samples; no channel can take them", source=f"channel {spec}")
    with _one_torch_thread():
        return _apply_channel(wave, spec, sampling_rate, seed)


def _apply_channel(wave: np.ndarray, spec: str, sampling_rate: int, seed: int) -> np.ndarray:
    import torch

    from . import transforms as T
    from .codecs import codec_round_trip

    x = np.asarray(wave, dtype=np.float32)
    generator = torch.Generator().manual_seed(int(seed))
    for name, values in parse_channel(spec):
        if name == "clean" or x.size == 0:
            continue
        if name in ("mp3", "opus"):
            x = codec_round_trip(x, sampling_rate, name, values[0])
            continue
        if name == "crop":
            from ..models.feature_extraction_functionals import trim_silence

            x, n = trim_silence(x, sampling_rate), round(values[0] * sampling_rate)
            start = int(torch.randint(len(x) - n + 1, (1,), generator=generator)) if len(x) > n else 0
            x = np.ascontiguousarray(x[start : start + n], dtype=np.float32)
            continue
        w = torch.from_numpy(np.ascontiguousarray(x))[None]
        n = torch.tensor([w.shape[1]])
        if name in ("noise", "pink"):
            w = T.add_noise(w, n, torch.tensor([values[0]]), generator, color=float(name == "pink"))
        elif name == "band":
            w = T.band_limit(w, n, sampling_rate, torch.tensor([values[0]]), torch.tensor([values[1]]))
        elif name == "telephone":
            w = T.band_limit(w, n, sampling_rate, torch.tensor([300.0]), torch.tensor([3400.0]))
            peak = w.abs().max().clamp(min=1e-8)
            w = T.mu_law(w / peak) * peak
        elif name == "clip":
            w = T.clip_peaks(w, n, torch.tensor([values[0]]))
        elif name == "gain":
            w = T.apply_gain(w, torch.tensor([values[0]]))
        elif name == "eq":
            w = T.random_eq(w, n, sampling_rate, torch.tensor([values[0]]), generator)
        elif name == "pitch":
            w = T.pitch_shift(w, n, torch.tensor([values[0]]))
        elif name == "reverb":
            rirs = T.synthetic_rirs(torch.tensor([values[0]]), torch.tensor([0.0]), sampling_rate, generator)
            w = T.reverberate(w, n, rirs)
        x = w[0].numpy().astype(np.float32, copy=False)
    return x
