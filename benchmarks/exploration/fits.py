"""What every cross-corpus exploration since session 6 does, in one module (sessions 6-8 copied it
into ``balance_rooms.py``, ``voices.py`` and ``session8.py``, which are kept as they ran; from session 9
on a dated script imports this and changes one thing).

Every fit is ``ser_hf.training.linear.train_linear`` with the ``speech-stats-mfcc-rooms`` preset (the
default's recipe) and one change to its config or to its ``_fit``. Protocols (splits from the
package, seed 42):
  r6t  RAVDESS 6-fold with TESS added to every fold's training data (the default trains on both);
       validation actors are RAVDESS actors of the training side, test actors 4k+1..4k+4
  xc   RAVDESS -> TESS and TESS -> RAVDESS (loco)
For each fit: validation UA clean and through fixed conditions (noise:20, telephone, mp3:32,
reverb:0.6; seeded per clip), scored with the fit that did NOT see the validation speakers; the
model-choice score = mean(clean, mean of conditions); test UA clean, per gender.

    import fits
    ex = fits.Exploration(DATA_DIR)
    for protocol, fold, split in fits.FOLDS:
        ex.fit(protocol, fold, split, "variant name", fits.ROOMS)

``ex.fit`` scores the classifiers ``_fit`` returned (the grid's fit of the chosen C for validation,
the refit for test) through their own ``predict_proba``, so a ``_fit`` replaced by
``fits.replace_fit`` may return any object with ``predict``, ``predict_proba``, ``[0]`` (the
scaler) and ``[-1]`` (with ``classes_``, ``coef_`` and ``intercept_``: the package turns it into the
saved linear model, which the exploration does not use).
"""

import functools
import json
import sys
import time

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score

import ser_hf.data.channel as channel
import ser_hf.training.functionals as functionals_module
from ser_hf.data.channel import ROOM_KINDS
from ser_hf.training.arguments import DataArguments
from ser_hf.training.clips import decode_rows, load_rows, make_split
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir
from ser_hf.training.linear import _full_probabilities, functionals_matrix, train_linear
from ser_hf.training.presets import get_preset

SR = 16000
VAL_CHANNELS = ["noise:20", "telephone", "mp3:32", "reverb:0.6"]
FOLDS = [("xc", "R->T", "loco:tess"), ("xc", "T->R", "loco:ravdess")]
FOLDS += [("r6t", k, f"ravdess-fold:{k}") for k in range(6)]
ROOMS = {"channel_kinds": list(ROOM_KINDS), "channel_copies": 1}  # the default's recipe
VOICES = {"channel_kinds": [*ROOM_KINDS, "pitch"], "channel_copies": 2}  # the voices bundle's
torch.set_num_threads(1)

CLIPS: list = []  # every clip of both corpora, decoded once
FITS: list = []  # every _fit of the current train_linear call: the grid's first, the refit last
GROUPS: list = []  # the group name per row ("ravdess/female") of each _fit of the current call
_apply = channel.apply_channel
_make_copies = channel.channel_copies
_fit = functionals_module._fit
_cell_balanced = functionals_module.cell_balanced_weights


# a clip's copies depend on (seed, row, kinds) only: make them once for all folds and variants
@functools.cache
def _copies(row, copies, seed, kinds):
    return _make_copies(CLIPS[row], copies, seed, row, kinds=kinds)


def _memo_copies(wave, copies, seed, row, sampling_rate=16000, kinds=channel.RANDOM_KINDS):
    assert wave is CLIPS[row]
    return _copies(row, copies, seed, tuple(kinds))


def _recording_fit(*a, **k):
    FITS.append(_fit(*a, **k))
    return FITS[-1]


def _stash_groups(y, groups):  # fit_linear computes the cell weights just before each _fit
    GROUPS.append(np.asarray(groups))
    return _cell_balanced(y, groups)


def replace_fit(fit):
    """Use ``fit`` (``_fit``'s signature; ``GROUPS[-1]`` holds its rows' groups) for every fit."""
    global _fit
    _fit = fit


channel.channel_copies = _memo_copies
functionals_module._fit = _recording_fit
functionals_module.cell_balanced_weights = _stash_groups


class Exploration:
    """Both corpora decoded, the feature cache, and ``fit``, which prints one jsonl row per fit."""

    def __init__(self, data: str, preset: str = "speech-stats-mfcc-rooms"):
        self.args = DataArguments(
            corpus=[f"ravdess={data}/ravdess", f"tess={data}/tess"], label_scheme="harmonized7", split="none"
        )
        self.preset = preset
        self.cache = FeatureCache(default_cache_dir())
        self.ds = load_rows(self.args)
        self.names = list(self.ds.features["emotion"].names)
        self.y = np.asarray(self.ds["emotion"])
        self.genders = [str(g) for g in self.ds["gender"]]
        self.corpora = [str(c) for c in self.ds["corpus"]]
        t0 = time.time()
        CLIPS[:] = decode_rows(self.ds, list(range(len(self.ds))), SR, None, 2)
        print(f"# decoded {len(CLIPS)} clips in {time.time() - t0:.0f} s", file=sys.stderr)
        self._degraded: dict = {}

    def degraded(self, rows, ch):
        if (tuple(rows), ch) not in self._degraded:
            self._degraded[tuple(rows), ch] = [_apply(CLIPS[r], ch, SR, seed=r) for r in rows]
        return self._degraded[tuple(rows), ch]

    def probabilities(self, clf, clips, functionals):
        x = functionals_matrix(clips, functionals, cache=self.cache)
        return _full_probabilities(clf, x, len(self.names))

    def report(self, protocol, fold, variant, sp, p, seconds, c=None, **extra):
        """One jsonl row from probabilities ``p`` = {"clean": val, ch: val through ch, "test": test}."""
        val = {
            k: float(balanced_accuracy_score(self.y[sp.validation], p[k].argmax(1)))
            for k in ["clean", *VAL_CHANNELS]
        }
        pred = p["test"].argmax(1)
        g = np.asarray([self.genders[r] for r in sp.test])
        yt = self.y[sp.test]
        by_gender = {k: float(balanced_accuracy_score(yt[g == k], pred[g == k])) for k in sorted(set(g))}
        channels = float(np.mean([val[c] for c in VAL_CHANNELS]))
        row = {
            "protocol": protocol, "fold": fold, "variant": variant, "c": c,
            "val_clean": round(val["clean"], 4), "val_channels": round(channels, 4),
            "val_score": round((val["clean"] + channels) / 2, 4),
            "val": {k: round(v, 4) for k, v in val.items()},
            "test_ua": round(float(balanced_accuracy_score(yt, pred)), 4),
            "test_by_gender": {k: round(v, 4) for k, v in by_gender.items()},
            "seconds": round(seconds, 1), **extra,
        }  # fmt: skip
        print(json.dumps(row), flush=True)

    def fit(self, protocol, fold, split_spec, variant, config):
        """Fit the preset with ``config`` merged into its own on one fold; report and return
        ``(split, probabilities, fits of the chosen C: (validation fit, refit))``."""
        sp = make_split(self.ds, DataArguments(corpus=self.args.corpus, split=split_spec), 42)
        spec = get_preset(self.preset)
        spec = {**spec, "config": {**spec["config"], **config}}
        t = time.time()
        FITS.clear()
        GROUPS.clear()
        _, extractor, info = train_linear(
            CLIPS, self.y.tolist(), sp.train, sp.validation, self.names, spec, seed=42, cache=self.cache,
            groups={"corpus": self.corpora, "gender": self.genders},
        )  # fmt: skip
        grid = list(spec["config"]["c_grid"])
        assert len(FITS) == len(grid) + 1
        val_fit, refit = FITS[grid.index(info["c"])], FITS[-1]
        f = extractor.functionals
        p = {"clean": self.probabilities(val_fit, [CLIPS[r] for r in sp.validation], f)}
        for ch in VAL_CHANNELS:
            p[ch] = self.probabilities(val_fit, self.degraded(sp.validation, ch), f)
        p["test"] = self.probabilities(refit, [CLIPS[r] for r in sp.test], f)
        self.report(protocol, fold, variant, sp, p, time.time() - t, info["c"])
        return sp, p, (val_fit, refit)
