"""Wider and gender-directed other voices, and an ensemble of the two bundled recipes
(exploration, session 8; the machinery of session 7's ``voices.py``, with fits that keep their
probabilities so two recipes can be averaged).

Every fit is ``ser_hf.training.linear.train_linear`` with the ``speech-stats-mfcc-rooms`` preset
(the default's recipe) and one change to its config. Protocols (splits from the package, seed 42):
  r6t  RAVDESS 6-fold with TESS added to every fold's training data (the default trains on both);
       validation actors are RAVDESS actors of the training side, test actors 4k+1..4k+4
  xc   RAVDESS -> TESS and TESS -> RAVDESS (loco)
For each fit: validation UA clean and through fixed conditions (noise:20, telephone, mp3:32,
reverb:0.6; seeded per clip), the model-choice score = mean(clean, mean of conditions); test UA
clean, per gender. Choices are made on the validation score only.

Jobs:
  ens    rooms x1 (the default) and voices x2 (the bundled sibling), then the mean of their
         probabilities (validation through the fits that did not see those speakers)
  wide   voices x2 with the voice drawn 3-6 semitones up or down (session 7: 1.5-4)
  swap   voices x2 with female voices moved 2-5 semitones down and male voices 2-5 up
  dann0  the default's recipe (rooms x1) with the logistic regression fitted in torch as a rank-16
         product (16 numbers per clip, then the 7 logits); the control for dann1
  dann1  the same with a gradient-reversal head on the 16 numbers that learns the training clip's
         (corpus, gender) group (DANN, lambda ramped 0 -> 1): the corpus-invariant training of
         issue 11, linear so the saved model stays one matrix (R->T: a gender adversary; r6t:
         ravdess/female, ravdess/male, tess/female; T->R has one group, so dann1 = dann0 there)
  confL  dannL with a domain-confusion loss instead of the reversed gradient (more stable)
  erase  the default's recipe with the (corpus, gender) group erased linearly from the
         standardised features (LEACE), folded back into the one matrix (stable, closed form)
  loud   the default's recipe with loudness normalisation (the trimmed speech scaled to an RMS of
         -20 dBFS) in place of the extractor's peak normalisation; features computed afresh (the
         cache keys do not know of the change)

    python session8.py DATA_DIR ens|wide|swap|dannL|confL|erase|loud > OUT.jsonl
"""

import functools
import json
import sys
import time

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score

import ser_hf.data.channel as channel
from ser_hf.data.channel import ROOM_KINDS
from ser_hf.training.arguments import DataArguments
from ser_hf.training.clips import decode_rows, load_rows, make_split
from ser_hf.training.feature_cache import FeatureCache, default_cache_dir
from ser_hf.training.functionals import to_pretrained
from ser_hf.training.linear import predict_probabilities, train_linear
from ser_hf.training.presets import get_preset

torch.set_num_threads(1)
SR = 16000
data, job = sys.argv[1], sys.argv[2]
VAL_CHANNELS = ["noise:20", "telephone", "mp3:32", "reverb:0.6"]
cache = FeatureCache(default_cache_dir())


class MemoryCache:  # job loud: features in memory only, by clip object (each clip is kept alive here)
    def __init__(self):
        self.store = {}

    def vectors(self, clips, options, compute):
        for c in clips:
            if (id(c), options) not in self.store:
                self.store[id(c), options] = (c, compute(c))
        return np.stack([self.store[id(c), options][1] for c in clips])


if job == "loud":  # RMS of the trimmed clip to -20 dBFS instead of the peak to 0 dBFS
    import ser_hf.models.feature_extraction_functionals as fef

    _trim = fef.trim_silence

    def trim_and_level(wave, *a, **k):
        speech = _trim(wave, *a, **k)
        return (
            speech * (0.1 / max(float(np.sqrt(np.mean(np.square(speech, dtype=np.float64)))), 1e-6))
        ).astype(np.float32)

    fef.trim_silence = trim_and_level
    _tools = fef._functional_tools

    def tools_without_peak(*a, **k):
        tools = _tools(*a, **k)
        for tool in tools.values():
            if hasattr(tool, "peak_normalize"):
                tool.peak_normalize = False
        return tools

    fef._functional_tools = tools_without_peak
    cache = MemoryCache()

# other voices of session 8: drawn like channel._DRAW["pitch"], other ranges / directions
channel._DRAW["wide"] = lambda rng: f"{rng.choice([-1, 1]) * rng.uniform(3, 6):.1f}"
channel._DRAW["down"] = lambda rng: f"{-rng.uniform(2, 5):.1f}"
channel._DRAW["up"] = lambda rng: f"{rng.uniform(2, 5):.1f}"
channel.ALL_KINDS = tuple(channel._DRAW)
_apply = channel.apply_channel


def apply_more(wave, spec, sampling_rate=16000, seed=0):  # the new kinds are pitch shifts
    kind, _, value = spec.partition(":")
    return _apply(wave, f"pitch:{value}" if kind in ("wide", "down", "up") else spec, sampling_rate, seed)


channel.apply_channel = apply_more

# a clip's copies depend on (seed, row, kinds) only: make them once for all folds and variants
_copies = functools.lru_cache(maxsize=None)(lambda row, copies, seed, kinds: _make(row, copies, seed, kinds))
_make_original = channel.channel_copies
CLIPS: list = []
GENDERS: list = []


def _make(row, copies, seed, kinds):
    if "swap" in kinds:  # female voices go down, male voices up
        kinds = tuple(("down" if GENDERS[row] == "female" else "up") if k == "swap" else k for k in kinds)
    return _make_original(CLIPS[row], copies, seed, row, kinds=kinds)


def memo_copies(wave, copies, seed, row, sampling_rate=16000, kinds=channel.RANDOM_KINDS):
    assert wave is CLIPS[row]
    return _copies(row, copies, seed, tuple(kinds))


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

# jobs dann0 / dann1: fit_linear computes the cell weights from the groups just before each fit
GROUPS: list = []
_cell_balanced = functionals_module.cell_balanced_weights


def stash_groups(y, groups):
    GROUPS.append(np.asarray(groups))
    return _cell_balanced(y, groups)


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, lam):
        ctx.lam = lam
        return z.view_as(z)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.lam * grad, None


def dann_fit(
    x, y, c, seed, soft=None, alpha=0.0, sample_weight=None, lam=0.0, rank=16, steps=300, confusion=False
):
    """``_fit``'s contract (a fitted StandardScaler -> LogisticRegression pipeline) from a torch fit:
    the weighted softmax loss + sklearn's L2 at the same C (on both factors), plus lam x a
    gradient-reversed (corpus, gender) head on the rank-``rank`` projection; ``confusion``: instead
    of reversing the adversary's gradient, the projection is pushed towards the adversary's
    UNIFORM output (domain confusion, Tzeng et al. 2015; the adversary learns on detached z)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    groups = GROUPS[-1]
    assert soft is None and sample_weight is not None and len(groups) == len(x)
    scaler = StandardScaler().fit(x)
    xs = torch.from_numpy(scaler.transform(x).astype(np.float32))
    classes = np.unique(y)
    yi = torch.from_numpy(np.searchsorted(classes, y))
    _, gi = np.unique(groups, return_inverse=True)
    gi, n_groups = torch.from_numpy(gi), int(gi.max()) + 1
    w = torch.from_numpy(sample_weight / sample_weight.sum()).float()
    torch.manual_seed(seed)
    proj = torch.nn.Linear(x.shape[1], rank, bias=False)
    head = torch.nn.Linear(rank, len(classes))
    # the adversary: a small MLP on a faster clock (a linear one, on the same clock, is outrun by
    # the projection and ends up with MORE group information in the logits on a toy problem)
    adv = torch.nn.Sequential(
        torch.nn.Linear(rank, 32), torch.nn.ReLU(), torch.nn.Linear(32, max(n_groups, 2))
    )
    opt = torch.optim.Adam(
        [{"params": [*proj.parameters(), *head.parameters()]}, {"params": adv.parameters(), "lr": 0.05}],
        lr=0.01,
    )
    l2 = 1.0 / (2 * c * len(x))  # sklearn: 0.5 |w|^2 + C sum_i s_i CE_i, with mean(s) = 1
    for step in range(steps):
        z = proj(xs)
        loss = (torch.nn.functional.cross_entropy(head(z), yi, reduction="none") * w).sum()
        loss = loss + l2 * (proj.weight.square().sum() + head.weight.square().sum())
        if lam > 0 and n_groups > 1 and confusion:
            ramp = lam * (2 / (1 + np.exp(-10 * step / steps)) - 1)
            g_loss = torch.nn.functional.cross_entropy(adv(z.detach()), gi, reduction="none")
            frozen = {k: v.detach() for k, v in adv.named_parameters()}
            log_p = torch.func.functional_call(adv, frozen, (z,)).log_softmax(-1)[:, :n_groups]
            loss = loss + (g_loss * w).sum() - ramp * (log_p.mean(-1) * w).sum()
        elif lam > 0 and n_groups > 1:
            ramp = lam * (2 / (1 + np.exp(-10 * step / steps)) - 1)
            g_loss = torch.nn.functional.cross_entropy(adv(_Reverse.apply(z, ramp)), gi, reduction="none")
            loss = loss + (g_loss * w).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    lr = LogisticRegression()
    with torch.no_grad():
        lr.coef_ = (head.weight @ proj.weight).double().numpy()
        lr.intercept_ = head.bias.double().numpy()
    lr.classes_, lr.n_features_in_ = classes, x.shape[1]
    return make_pipeline(scaler, lr)


def erase_fit(x, y, c, seed, soft=None, alpha=0.0, sample_weight=None):
    """``_fit`` on features from which the training clip's (corpus, gender) group is erased
    linearly (LEACE, Belrose et al. 2023: whiten, project out the group-mean directions, unwhiten,
    so that no linear classifier tells the groups apart better than their sizes), folded back
    into one StandardScaler -> LogisticRegression. Group means are class-balanced (the mean of
    the group's per-class means), so a group's mix of emotions is not erased with it."""
    groups = GROUPS[-1]
    assert soft is None and len(groups) == len(x)
    names_g = sorted(set(groups))
    clf = _plain_fit(x, y, c, seed, sample_weight=sample_weight)
    if len(names_g) < 2:
        return clf
    scaler = clf[0]
    xs = scaler.transform(x)
    means = np.stack([
        np.mean([xs[(groups == g) & (y == k)].mean(0) for k in np.unique(y[groups == g])], 0) for g in names_g
    ])  # fmt: skip
    mu = means.mean(0)
    vals, vecs = np.linalg.eigh(np.cov(xs, rowvar=False))
    vals = np.clip(vals, 1e-4 * vals.mean(), None)
    whiten = (vecs / np.sqrt(vals)) @ vecs.T
    unwhiten = (vecs * np.sqrt(vals)) @ vecs.T
    basis, _ = np.linalg.qr(whiten @ (means - mu).T)  # (d, G); its span is what the groups' means move in
    eraser = np.eye(x.shape[1]) - unwhiten @ basis @ basis.T @ whiten
    erased = (xs - mu) @ eraser.T + mu
    fitted = _plain_fit(erased, y, c, seed, sample_weight=sample_weight)
    lr = fitted[-1]
    lr.intercept_ = lr.intercept_ + lr.coef_ @ (mu - eraser @ mu)
    lr.coef_ = lr.coef_ @ eraser
    return make_pipeline(scaler, lr)


if job == "erase":
    from sklearn.pipeline import make_pipeline

    functionals_module.cell_balanced_weights = stash_groups
    _plain_fit = _fit_original  # the sklearn fit (functionals_module._fit records fits now)
    _fit_original = erase_fit
if job.startswith(("dann", "conf")):
    functionals_module.cell_balanced_weights = stash_groups
    _fit_original = functools.partial(dann_fit, lam=float(job[4:]), confusion=job.startswith("conf"))

args = DataArguments(
    corpus=[f"ravdess={data}/ravdess", f"tess={data}/tess"], label_scheme="harmonized7", split="none"
)
ds = load_rows(args)
names = list(ds.features["emotion"].names)
y_all = np.asarray(ds["emotion"])
GENDERS.extend(str(g) for g in ds["gender"])
corpora = [str(c) for c in ds["corpus"]]
t0 = time.time()
CLIPS.extend(decode_rows(ds, list(range(len(ds))), SR, None, 2))
print(f"# decoded {len(CLIPS)} clips in {time.time() - t0:.0f} s", file=sys.stderr)
_val_degraded: dict = {}


def val_degraded(rows, ch):
    key = (tuple(rows), ch)
    if key not in _val_degraded:
        _val_degraded[key] = [_apply(CLIPS[r], ch, SR, seed=r) for r in rows]
    return _val_degraded[key]


def probs(model, extractor, clips):
    return predict_probabilities(model, extractor, clips, cache)


def report(protocol, fold, variant, sp, p, seconds, c=None):
    """One jsonl row from probabilities ``p`` = {"clean": val, ch: val through ch, "test": test}."""
    val = {
        k: float(balanced_accuracy_score(y_all[sp.validation], p[k].argmax(1)))
        for k in ["clean", *VAL_CHANNELS]
    }
    pred = p["test"].argmax(1)
    g = np.asarray([GENDERS[r] for r in sp.test])
    yt = y_all[sp.test]
    by_gender = {k: float(balanced_accuracy_score(yt[g == k], pred[g == k])) for k in sorted(set(g))}
    channels = float(np.mean([val[c] for c in VAL_CHANNELS]))
    row = {
        "protocol": protocol, "fold": fold, "variant": variant, "c": c,
        "val_clean": round(val["clean"], 4), "val_channels": round(channels, 4),
        "val_score": round((val["clean"] + channels) / 2, 4),
        "val": {k: round(v, 4) for k, v in val.items()},
        "test_ua": round(float(balanced_accuracy_score(yt, pred)), 4),
        "test_by_gender": {k: round(v, 4) for k, v in by_gender.items()},
        "seconds": round(seconds, 1),
    }  # fmt: skip
    print(json.dumps(row), flush=True)


def fit(protocol, fold, split_spec, variant, config):
    sp = make_split(ds, DataArguments(corpus=args.corpus, split=split_spec), 42)
    spec = get_preset("speech-stats-mfcc-rooms")
    spec = {**spec, "config": {**spec["config"], **config}}
    t = time.time()
    FITS.clear()
    model, extractor, info = train_linear(
        CLIPS, y_all.tolist(), sp.train, sp.validation, names, spec, seed=42, cache=cache,
        groups={"corpus": corpora, "gender": GENDERS},
    )  # fmt: skip
    grid = list(spec["config"]["c_grid"])
    assert len(FITS) == len(grid) + 1
    val_model, _ = to_pretrained(FITS[grid.index(info["c"])], names, extractor.functionals)
    p = {"clean": probs(val_model, extractor, [CLIPS[r] for r in sp.validation])}
    for ch in VAL_CHANNELS:
        p[ch] = probs(val_model, extractor, val_degraded(sp.validation, ch))
    p["test"] = probs(model, extractor, [CLIPS[r] for r in sp.test])
    report(protocol, fold, variant, sp, p, time.time() - t, info["c"])
    return sp, p


FOLDS = [("xc", "R->T", "loco:tess"), ("xc", "T->R", "loco:ravdess")]
FOLDS += [("r6t", k, f"ravdess-fold:{k}") for k in range(6)]
ROOMS = {"channel_kinds": list(ROOM_KINDS), "channel_copies": 1}
for protocol, fold, split_spec in FOLDS:
    if job.startswith(("dann", "conf")):
        # C fixed at 0.01 (the rooms fits' usual choice): six torch fits per fold would take too long
        fit(
            protocol,
            fold,
            split_spec,
            f"rooms x1, torch rank 16, {'confusion' if job.startswith('conf') else 'lambda'} {job[4:]}",
            {**ROOMS, "c_grid": [0.01]},
        )
    elif job == "erase":
        fit(protocol, fold, split_spec, "rooms x1, (corpus, gender) erased (LEACE)", ROOMS)
    elif job == "loud":
        fit(protocol, fold, split_spec, "rooms x1, loudness-normalised", ROOMS)
    elif job == "ens":
        sp, p_rooms = fit(protocol, fold, split_spec, "rooms x1", ROOMS)
        sp, p_voices = fit(
            protocol,
            fold,
            split_spec,
            "voices x2",
            {"channel_kinds": [*ROOM_KINDS, "pitch"], "channel_copies": 2},
        )
        p = {k: (p_rooms[k] + p_voices[k]) / 2 for k in p_rooms}
        report(protocol, fold, "mean of rooms x1 and voices x2", sp, p, 0.0)
    else:
        fit(
            protocol,
            fold,
            split_spec,
            f"{job} x2",
            {"channel_kinds": [*ROOM_KINDS, job], "channel_copies": 2},
        )
