"""Session 26 diagnostic: turn-encoder-2 values (cached, int8) of every RAVDESS and TESS clip, with
labels, speakers, gender and trimmed durations -> runs/s26/feats.npz."""

import sys

import numpy as np

from ser_hf.training.evaluation import _decode, load_eval_data
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir
from ser_hf.training.linear import functionals_matrix

ds = load_eval_data(["ravdess=/work/shared/data/ravdess", "tess=/work/shared/data/tess"], "harmonized7")
print(ds)
cols = ds.column_names
src = ds["path"]
waves = _decode(list(src), 16000, 2)
cache = FeatureCache(default_cache_dir())
out = {}
for fs in sys.argv[1:] or ["turn-encoder-2"]:
    out[fs] = functionals_matrix(waves, fs, cache=cache)
    print(fs, out[fs].shape, cache.hits, cache.misses)
names = ds.features["emotion"].names
np.savez(
    "runs/s26/feats.npz",
    y=np.array(ds["emotion"]),
    names=names,
    speaker=np.array(ds["speaker"]),
    corpus=np.array(ds["corpus"]),
    gender=np.array(ds["gender"]),
    dur=np.array([len(w) / 16000 for w in waves]),
    **{k.replace("-", "_"): v for k, v in out.items()},
)
