"""Session 24: time a clip's values, one thread, in one run: the default's extractor against the
port's (``turn_rule.md``, the amendment). Each clip goes through every candidate in turn, in a new
random order per round, so none always follows another.

    python turn_speed.py DATA_DIR PC
"""

import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "2026-12-03-session16"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from encoder_states import data_args  # noqa: E402
from turn_port import Encoder, port_values  # noqa: E402

from ser_hf.models.feature_extraction_functionals import batch_functionals  # noqa: E402
from ser_hf.training.clips import decode_rows, load_rows  # noqa: E402


def main():
    data, pc = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    enc4, enc2 = Encoder(pc, layers=4).eval(), Encoder(pc, layers=2).eval()
    ds = load_rows(data_args(data))
    rows = list(range(0, 1440, 72)) + list(range(1440, 4238, 280))  # 20 RAVDESS, 10 TESS clips
    clips = decode_rows(ds, rows, 16000, None, 1)
    bf16 = torch.bfloat16
    run = {
        "default (voice-encoder-2)": lambda c: batch_functionals([c], "voice-encoder-2", 16000),
        "P12 (port, 2 layers)": lambda c: port_values(enc2, [c], None, True, bf16),
        "P (port, 4 layers)": lambda c: port_values(enc4, [c], None, True, bf16),
    }
    times = {k: [] for k in run}
    for c in clips[:3]:
        for f in run.values():
            f(c)
    rng = random.Random(0)
    for _ in range(3):
        for c in clips:
            names = list(run)
            rng.shuffle(names)
            for k in names:
                t = time.perf_counter()
                run[k](c)
                times[k].append(time.perf_counter() - t)
    base = np.median(times["default (voice-encoder-2)"])
    secs = np.mean([len(c) for c in clips]) / 16000
    print(f"{len(clips)} clips (mean {secs:.2f} s) x 3 rounds, one thread, bfloat16 where native")
    for k, t in times.items():
        print(
            f"{k:28s} p50 {np.median(t) * 1e3:5.1f} ms  p95 {np.percentile(t, 95) * 1e3:5.1f} ms  {np.median(t) / base:.2f}x the default"
        )
    for k in ("P12 (port, 2 layers)", "P (port, 4 layers)"):
        both = np.array(times[k]) + np.array(times["default (voice-encoder-2)"])
        print(
            f"B + {k:24s} p50 {np.median(both) * 1e3:5.1f} ms  (the two measured separately, summed per clip)"
        )


if __name__ == "__main__":
    main()
