"""How many unlabelled clips does adaptation need? Measured AFTER the choice, on the TEST actors of
the r6t fold models of ``ser-hf cv ... -- --config_overrides '{"speaker_head": true}'`` (reported,
not used to choose anything).

For each test actor, ``n`` of its clips are drawn at random (10 draws), the statistics are taken on
them only, and ALL the actor's clips are classified: with the speaker head (what ``adapt`` does now)
and with centring only on the first head (what ``adapt`` did before). UA over the fold's 4 actors.

    python few_clips.py DATA_DIR runs/r6t_speech_stats_mfcc_speech_voices_spk

The features are those of the fold models' own extractor, so the same script measures any r6t run
with a speaker head (session 18: ``runs/r6t_voice_encoder_2_voices``, the default since session 16).
"""

import json
import sys

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score as ua

from ser_hf.models.feature_extraction_functionals import SERFunctionalsFeatureExtractor
from ser_hf.models.modeling_ser import FunctionalsLinearForAudioClassification
from ser_hf.training.arguments import DataArguments
from ser_hf.training.clips import decode_rows, load_rows
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir
from ser_hf.training.linear import extractor_matrix

data, runs = sys.argv[1], sys.argv[2]
ds = load_rows(DataArguments(corpus=[f"ravdess={data}/ravdess"], label_scheme="harmonized7", split="none"))
speakers = np.asarray(ds["speaker"])
y = np.asarray(ds["emotion"])
clips = decode_rows(ds, list(range(len(ds))), 16000, None, 2)
x = extractor_matrix(SERFunctionalsFeatureExtractor.from_pretrained(f"{runs}/fold_0"), clips, FeatureCache(default_cache_dir()))
rng = np.random.default_rng(0)
sizes = [3, 5, 10, 20, None]
rows = {}
for fold in range(6):
    model = FunctionalsLinearForAudioClassification.from_pretrained(f"{runs}/fold_{fold}").eval()
    w1, b1 = model.classifier.weight.detach().double().numpy(), model.classifier.bias.detach().double().numpy()
    w2 = model.speaker_classifier.weight.detach().double().numpy()
    b2 = model.speaker_classifier.bias.detach().double().numpy()
    scale1 = model.feature_scale.double().numpy()
    actors = [f"ravdess_{a:02d}" for a in range(4 * fold + 1, 4 * fold + 5)]
    for n in sizes:
        for draw in range(1 if n is None else 10):
            truth, head, centred, plain = [], [], [], []
            for actor in actors:
                idx = np.flatnonzero(speakers == actor)
                pick = idx if n is None else rng.choice(idx, n, replace=False)
                mu, sd = x[pick].mean(0), x[pick].std(0)
                sd = np.where(sd > 0, sd, 1.0)
                truth += list(y[idx])
                head += list((((x[idx] - mu) / sd) @ w2.T + b2).argmax(1))
                centred += list((((x[idx] - mu) / scale1) @ w1.T + b1).argmax(1))
                plain += list((((x[idx] - model.feature_mean.double().numpy()) / scale1) @ w1.T + b1).argmax(1))
            key = "all" if n is None else n
            r = rows.setdefault(key, {"head": [], "centring": [], "none": []})
            r["head"].append(ua(truth, head))
            r["centring"].append(ua(truth, centred))
            r["none"].append(ua(truth, plain))
    print(f"# fold {fold} done", file=sys.stderr, flush=True)
for key, r in rows.items():
    print(json.dumps({"clips_per_speaker": key, **{k: round(float(np.mean(v)), 4) for k, v in r.items()}}))
