"""Session 23: how adaptation on a recording set-up should use its statistics (``setup_adapt_rule.md``).

For each of session 18's 8 folds, the default's preset is fitted by the package's ``train_linear``
on the TRAINING speakers only, at the C values it chooses on the validation speakers. The
validation speakers' clips, clean and through each held-out condition, are one set-up each,
adapted as a group (A: speaker head, B: main head re-centred, C: main head re-standardised; U: no
adaptation, S: per speaker). One JSON row per (fold, set-up) on stdout; no test speaker is read.

    python setup_adapt.py DATA_DIR r6t:0 ... xc:T->R > setup_adapt_val.jsonl
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score as ua

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-12-03-session16"))
from encoder_states import CONDITIONS, SEED, SPLITS, data_args  # noqa: E402

from ser_hf.data.channel import apply_channel  # noqa: E402
from ser_hf.training.clips import decode_rows, load_rows, make_split  # noqa: E402
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir  # noqa: E402
from ser_hf.training.linear import functionals_matrix, train_linear  # noqa: E402
from ser_hf.training.presets import get_preset  # noqa: E402

PRESET = "voice-encoder-2-voices"


def fit_on_training(clips, labels, groups, tr, va, names, spec, cache):
    """The default's model fitted on ``tr`` only: C and the speaker head's C chosen on ``va`` by
    ``train_linear`` (whose returned model has seen ``va``), then two fits at those C on ``tr``."""
    _, _, info = train_linear(clips, labels, tr, va, names, spec, seed=SEED, cache=cache, groups=groups)
    fixed = lambda c: {**spec, "config": {**spec["config"], "c_grid": [c]}}  # noqa: E731
    main, _, _ = train_linear(clips, labels, tr, [], names, fixed(info["c"]), seed=SEED, cache=cache, groups=groups)
    head, _, _ = train_linear(
        clips, labels, tr, [], names, fixed(info["speaker_head_c"]), seed=SEED, cache=cache, groups=groups
    )
    main.speaker_classifier.load_state_dict(head.speaker_classifier.state_dict())
    return main.eval(), info


def predict(model, x, mean=None, scale=None, head=False):
    """Labels for ``x`` with the main head (``mean``/``scale`` replacing the training ones when
    given) or with the speaker head standardised by ``mean``/``scale``."""
    m = model
    saved = {k: v.clone() for k, v in m.state_dict().items() if k.startswith(("feature_", "speaker_"))}
    with torch.no_grad():
        if head:
            m.speaker_mean.copy_(mean)
            m.speaker_scale.copy_(scale)
            m.speaker_adapted.fill_(1.0)
        else:
            if mean is not None:
                m.feature_mean.copy_(mean)
            if scale is not None:
                m.feature_scale.copy_(scale)
        out = m(input_features=torch.as_tensor(x, dtype=torch.float32)).logits.argmax(-1).numpy()
        m.load_state_dict(saved, strict=False)
    return out


def setup_waves(clips, rows, cond):
    """The rows' clips as one set-up: clean, or through the held-out condition ``cond``."""
    return [clips[r] if cond == "clean" else apply_channel(clips[r], cond, 16000, SEED + r) for r in rows]


def stats(x):
    t = torch.as_tensor(x, dtype=torch.float64)
    sd = t.std(0, correction=0)
    return t.mean(0).float(), torch.where(sd > 0, sd, torch.ones_like(sd)).float()


def score(model, x, y, spk, gender):
    mean, sd = stats(x)
    preds = {
        "U": predict(model, x),
        "A": predict(model, x, mean, sd, head=True),
        "B": predict(model, x, mean=mean),
        "C": predict(model, x, mean, sd),
    }
    s = np.zeros_like(y)
    for who in set(spk):
        rows = spk == who
        s[rows] = predict(model, x[rows], *stats(x[rows]), head=True)
    preds["S"] = s
    out = {v: round(ua(y, p), 4) for v, p in preds.items()}
    for g in sorted(set(gender)):
        out.update({f"{v}_{g}": round(ua(y[gender == g], p[gender == g]), 4) for v, p in preds.items()})
    return out


def main():
    a = argparse.ArgumentParser()
    a.add_argument("data")
    a.add_argument("folds", nargs="+", choices=list(SPLITS))
    args = a.parse_args()
    torch.set_num_threads(2)
    ds = load_rows(data_args(args.data))
    spec = get_preset(PRESET)
    functionals = spec["feature_extractor"]["functionals"]
    names = list(ds.features["emotion"].names)
    labels, speakers = list(ds["emotion"]), np.asarray(ds["speaker"])
    genders, corpora = np.asarray(ds["gender"]), list(ds["corpus"])
    groups = {"corpus": corpora, "gender": list(genders), "speaker": list(speakers)}
    t = time.time()
    clips = decode_rows(ds, range(len(ds)), 16000, None, 2)
    print(f"# decoded {len(clips)} clips: {time.time() - t:.0f} s", file=sys.stderr, flush=True)
    cache = FeatureCache(default_cache_dir())
    y_all = np.asarray(labels)
    for name in args.folds:
        t = time.time()
        sp = make_split(ds, data_args(args.data, SPLITS[name]), SEED)
        tr, va = list(sp.train), list(sp.validation)
        model, info = fit_on_training(clips, labels, groups, tr, va, names, spec, cache)
        y, spk, gender = y_all[va], speakers[va], genders[va]
        for cond in ["clean", *CONDITIONS]:
            waves = setup_waves(clips, va, cond)
            x = functionals_matrix(waves, functionals, cache=cache)
            row = {"fold": name, "setup": cond, "c": info["c"], "c_head": info["speaker_head_c"], "n": len(va)}
            print(json.dumps({**row, **score(model, x, y, spk, gender)}), flush=True)
        print(f"# {name}: {time.time() - t:.0f} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
