"""Session 15, after the test figures (a diagnosis, no labels read): how far the clips of unseen
RAVDESS actors and of TESS lie from the kernel head's landmarks, and how the head's predictions
spread over the classes, for the RAVDESS-only 6-fold models (trained on RAVDESS only).

    python landmark_distance.py runs/s13_matrices.npz runs/cv_speech_stats_mfcc_speech_voices_rbf
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch

from ser_hf.models.modeling_ser import FunctionalsLinearForAudioClassification


def main(matrices, run):
    d = np.load(matrices)
    x, speaker = torch.as_tensor(d["x"], dtype=torch.float32), d["speaker"]
    for fold in sorted(Path(run).glob("fold_*")):
        test = set(json.load(open(fold / "split.json"))["test_speakers"])
        model = FunctionalsLinearForAudioClassification.from_pretrained(fold).eval()
        z = (x - model.feature_mean) / model.feature_scale
        lm = model.rbf_landmarks
        with torch.no_grad():
            sq = ((z * z).sum(-1, keepdim=True) - 2 * z @ lm.T + (lm * lm).sum(-1)).clamp(min=0)
            near = torch.exp(-model.config.rbf_gamma * sq.min(1).values).numpy()  # the nearest landmark's similarity
            pred = model(x).logits.argmax(1).numpy()
        for name, rows in (("unseen RAVDESS actors", np.isin(speaker, list(test))), ("TESS", np.char.startswith(speaker.astype(str), "tess"))):
            share = np.bincount(pred[rows], minlength=model.config.num_labels) / rows.sum()
            print(f"{fold.name} {name:22s} nearest-landmark similarity median {np.median(near[rows]):.3f} "
                  f"(p10 {np.percentile(near[rows], 10):.3f}); |z| median {np.median(np.linalg.norm(z[rows].numpy(), axis=1)):.1f}; "
                  f"largest predicted-class share {share.max():.2f}")  # fmt: skip


if __name__ == "__main__":
    main(*sys.argv[1:3])
