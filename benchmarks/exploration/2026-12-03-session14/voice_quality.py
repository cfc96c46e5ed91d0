"""Session 14, fifth candidate (``decision_rule.md``): 6 periodicity (HNR) statistics of every clip and
of its two channel copies, appended to session 13's vectors; the result is scored by
``robust_inputs.py --variants A``.

    python voice_quality.py DATA_DIR runs/s13_matrices.npz runs/s14_vq_matrices.npz
"""

import math
import sys
import time
from multiprocessing import Pool

import numpy as np
import torch

from ser_hf.data.channel import channel_copies
from ser_hf.models.feature_extraction_functionals import PITCH_HZ, SPEECH_DB, trim_silence
from ser_hf.training.clips import decode_rows, load_rows
from ser_hf.training.presets import get_preset

PRESET, SEED = "speech-stats-mfcc-speech-voices", 42


def periodicity(wave, sampling_rate=16000, frame_time=0.02):
    """Per 20-ms frame: the peak of the normalised cross-correlation (the pitch tracker's, before
    its lag rule and median smoothing) and the frame energy; as ``detect_pitch`` computes them."""
    eps = 1e-9
    x = torch.as_tensor(np.asarray(wave, dtype=np.float32)).flatten()
    x = (x / x.abs().max().clamp_min(1e-8))[None]
    lags = math.ceil(sampling_rate / PITCH_HZ[0])
    size = math.ceil(sampling_rate * frame_time)
    n = math.ceil(x.shape[-1] / size)
    x = torch.nn.functional.pad(x, (0, lags + n * size - x.shape[-1]))
    frames = x[:, : n * size].reshape(1, n, size)
    segments = x.unfold(-1, size + lags, size)[:, :n]
    nfft = 1 << (size + lags + size - 1).bit_length()
    corr = torch.fft.irfft(torch.fft.rfft(segments, nfft) * torch.fft.rfft(frames, nfft).conj(), nfft)[
        ..., 1 : lags + 1
    ]
    power = torch.nn.functional.pad(x.square().cumsum(-1), (1, 0))
    window_energy = power[:, size:] - power[:, :-size]
    e_lag = window_energy[:, 1:].unfold(-1, lags, size)[:, :n]
    e_frame = frames.square().sum(-1, keepdim=True)
    nccf = corr / (eps + e_frame.clamp_min(0).sqrt()).square() / (eps + e_lag.clamp_min(0).sqrt()).square()
    lag_min = math.ceil(sampling_rate / PITCH_HZ[1])
    return nccf[0, :, lag_min:].max(-1).values.numpy(), e_frame[0, :, 0].numpy()


def hnr_stats(wave):
    wave = trim_silence(wave, 16000)
    if wave.size < 1600:
        wave = np.pad(wave, (0, 1600 - wave.size))
    r, energy = periodicity(wave)
    level = 10 * np.log10(np.maximum(energy, 1e-10))
    keep = level > level.max() - SPEECH_DB
    r = r[keep] if keep.sum() > 3 else r
    hnr = 10 * np.log10(np.clip(r, 0.01, 0.99) / (1 - np.clip(r, 0.01, 0.99)))
    p10, p50, p90 = np.percentile(hnr, [10, 50, 90])
    return np.array([hnr.mean(), hnr.std(), p10, p50, p90, (r > 0.5).mean()])


def one(args):
    row, wave, n, kinds = args
    made = channel_copies(wave, n, SEED, row, kinds=kinds)
    return [hnr_stats(wave)] + [hnr_stats(m) for m in made]


def main(data, matrices, out):
    from ser_hf.training.arguments import DataArguments

    t = time.time()
    cfg = get_preset(PRESET)["config"]
    args = DataArguments(corpus=[f"ravdess={data}/ravdess", f"tess={data}/tess"], label_scheme="harmonized7", split="none")
    ds = load_rows(args)
    clips = decode_rows(ds, list(range(len(ds))), 16000, None, 2)
    n, kinds = cfg["channel_copies"], tuple(cfg["channel_kinds"])
    with Pool(2) as pool:
        rows = pool.map(one, [(r, c, n, kinds) for r, c in enumerate(clips)], chunksize=32)
    v = np.asarray(rows)  # (clips, 1 + n, 6)
    d = dict(np.load(matrices))
    assert len(v) == len(d["x"]), "the vectors must be session 13's, in the same row order"
    d["x"] = np.concatenate([d["x"], v[:, 0]], 1)
    d["copies"] = np.concatenate([d["copies"], np.transpose(v[:, 1:], (1, 0, 2))], 2)
    np.savez(out, **d)
    print(f"# {len(clips)} clips, {n} copies each, 6 values appended, {time.time() - t:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:4])
