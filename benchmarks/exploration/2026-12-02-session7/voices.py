"""Other voices (pitch and formants shifted, duration kept) among the training copies of the
default's recipe (exploration, session 7; a copy of session 6's ``balance_rooms.py`` with other jobs).

Every fit is ``ser_hf.training.linear.train_linear`` with the ``speech-stats-mfcc-rooms`` preset
(the default's recipe) and one change to its config. Protocols (splits from the package, seed 42):
  r6t  RAVDESS 6-fold with TESS added to every fold's training data (the default trains on both);
       validation actors are RAVDESS actors of the training side, test actors 4k+1..4k+4
  xc   RAVDESS -> TESS and TESS -> RAVDESS (loco)
For each fit: validation UA clean and through fixed conditions (noise:20, telephone, mp3:32,
reverb:0.6; seeded per clip), the model-choice score = mean(clean, mean of conditions); test UA
clean, per gender. Choices are made on the validation score only.

    python voices.py DATA_DIR pitch|pitch2 > OUT.jsonl
"""

import functools
import json
import sys
import time

import numpy as np
from sklearn.metrics import balanced_accuracy_score

import ser_hf.data.channel as channel
from ser_hf.data.channel import ROOM_KINDS, apply_channel
from ser_hf.training.arguments import DataArguments
from ser_hf.training.clips import decode_rows, load_rows, make_split
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir
from ser_hf.training.functionals import to_pretrained
from ser_hf.training.linear import predict_probabilities, train_linear
from ser_hf.training.presets import get_preset

SR = 16000
data, job = sys.argv[1], sys.argv[2]
VAL_CHANNELS = ["noise:20", "telephone", "mp3:32", "reverb:0.6"]
cache = FeatureCache(default_cache_dir())

# a clip's copies depend on (seed, row, kinds) only: make them once for all folds and variants
_copies = functools.lru_cache(maxsize=None)(
    lambda row, copies, seed, kinds, wave_id: _make(row, copies, seed, kinds)
)
_make_original = channel.channel_copies
CLIPS: list = []


def _make(row, copies, seed, kinds):
    return _make_original(CLIPS[row], copies, seed, row, kinds=kinds)


def memo_copies(wave, copies, seed, row, sampling_rate=16000, kinds=channel.RANDOM_KINDS):
    assert wave is CLIPS[row]
    return _copies(row, copies, seed, tuple(kinds), id(wave))


channel.channel_copies = memo_copies

# the validation speakers are scored with the fit that did not see them (train_linear returns the
# refit on training + validation): keep every fit, the grid's come first, the refit last
import ser_hf.training.functionals as functionals_module  # noqa: E402

FITS: list = []
_fit_original = functionals_module._fit


def recording_fit(*a, **k):
    FITS.append(_fit_original(*a, **k))
    return FITS[-1]


functionals_module._fit = recording_fit

args = DataArguments(
    corpus=[f"ravdess={data}/ravdess", f"tess={data}/tess"], label_scheme="harmonized7", split="none"
)
ds = load_rows(args)
names = list(ds.features["emotion"].names)
y_all = np.asarray(ds["emotion"])
genders = [str(g) for g in ds["gender"]]
corpora = [str(c) for c in ds["corpus"]]
t0 = time.time()
CLIPS.extend(decode_rows(ds, list(range(len(ds))), SR, None, 2))
print(f"# decoded {len(CLIPS)} clips in {time.time() - t0:.0f} s", file=sys.stderr)
_val_degraded: dict = {}


def val_degraded(rows, ch):
    key = (tuple(rows), ch)
    if key not in _val_degraded:
        _val_degraded[key] = [apply_channel(CLIPS[r], ch, SR, seed=r) for r in rows]
    return _val_degraded[key]


def ua(model, extractor, clips, rows):
    pred = predict_probabilities(model, extractor, clips, cache).argmax(1)
    return float(balanced_accuracy_score(y_all[rows], pred)), pred


def fit(protocol, fold, split_spec, variant, config):
    sp = make_split(ds, DataArguments(corpus=args.corpus, split=split_spec), 42)
    spec = get_preset("speech-stats-mfcc-rooms")
    spec = {**spec, "config": {**spec["config"], **config}}
    t = time.time()
    FITS.clear()
    model, extractor, info = train_linear(
        CLIPS, y_all.tolist(), sp.train, sp.validation, names, spec, seed=42, cache=cache,
        groups={"corpus": corpora, "gender": genders},
    )  # fmt: skip
    grid = list(spec["config"]["c_grid"])
    assert len(FITS) == len(grid) + 1
    val_model, _ = to_pretrained(FITS[grid.index(info["c"])], names, extractor.functionals)
    val = {"clean": ua(val_model, extractor, [CLIPS[r] for r in sp.validation], sp.validation)[0]}
    for ch in VAL_CHANNELS:
        val[ch] = ua(val_model, extractor, val_degraded(sp.validation, ch), sp.validation)[0]
    test_ua, pred = ua(model, extractor, [CLIPS[r] for r in sp.test], sp.test)
    g = np.asarray([genders[r] for r in sp.test])
    by_gender = {
        k: float(balanced_accuracy_score(y_all[sp.test][g == k], pred[g == k])) for k in sorted(set(g))
    }
    row = {
        "protocol": protocol, "fold": fold, "variant": variant, "c": info["c"],
        "val_clean": round(val["clean"], 4),
        "val_channels": round(float(np.mean([val[c] for c in VAL_CHANNELS])), 4),
        "val_score": round((val["clean"] + float(np.mean([val[c] for c in VAL_CHANNELS]))) / 2, 4),
        "val": {k: round(v, 4) for k, v in val.items()},
        "test_ua": round(test_ua, 4), "test_by_gender": {k: round(v, 4) for k, v in by_gender.items()},
        "seconds": round(time.time() - t, 1),
    }  # fmt: skip
    print(json.dumps(row), flush=True)


VOICES = [*ROOM_KINDS, "pitch"]
copies = {"pitch": 1, "pitch2": 2}[job]
cfg = {"channel_kinds": VOICES, "channel_copies": copies}
name = f"rooms+pitch+corpus-gender x{copies}"
for target, fold in (("tess", "R->T"), ("ravdess", "T->R")):
    fit("xc", fold, f"loco:{target}", name, cfg)
for k in range(6):
    fit("r6t", k, f"ravdess-fold:{k}", name, cfg)
