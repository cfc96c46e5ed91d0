"""Training a linear model over utterance functionals through ``ser-hf train`` / ``ser-hf cv``.

The ``functionals`` presets (``speech-stats``, ``functionals-ours``) are not trained by gradient
descent: each clip becomes one functionals vector, a class-balanced logistic regression is fitted
for every regularisation strength of the preset's grid on the TRAINING speakers and scored on the
VALIDATION speakers, the best strength is refitted on training + validation speakers, and the
result is saved as a :class:`~ser_hf.models.modeling_ser.FunctionalsLinearForAudioClassification`
folder with the same files as a Trainer run (``split.json``, ``val_metrics.json``,
``test_metrics.json``), so ``ser-hf cv`` (in-domain or cross-corpus) and ``ser-hf evaluate``
treat both alike. Seconds on a CPU once the clips are decoded.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data.channel import RANDOM_KINDS
from ..errors import SERError
from ..models import voice_encoder
from ..models.feature_extraction_functionals import (
    ENCODER_BLOCKS,
    FUNCTIONAL_BLOCKS,
    TURN_BLOCKS,
    batch_functionals,
    block_columns,
)
from ..models.turn_encoder import INT8
from .feature_cache import FeatureCache

logger = logging.getLogger(__name__)

DEFAULT_C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1)


def functionals_matrix(
    clips: Sequence[np.ndarray],
    functionals: str,
    sampling_rate: int = 16000,
    trim_db: float | None = 35.0,
    trim_margin_s: float = 0.1,
    cache: FeatureCache | None = None,
) -> np.ndarray:
    """``(n, D)``: the functionals vector of every clip (16 clips at a time: memory does not grow
    with the number of clips), from ``cache`` when it holds them."""
    options = f"functionals={functionals}|sr={sampling_rate}|trim_db={trim_db}|margin={trim_margin_s}"
    if any(block in TURN_BLOCKS for block in FUNCTIONAL_BLOCKS[functionals]):
        options += f"|turn={INT8}"  # the turn encoder's numeric path (its bfloat16 values are not these)
    if any(block in ENCODER_BLOCKS for block in FUNCTIONAL_BLOCKS[functionals]):
        # the voice encoder's LSTMs: their bfloat16 states are not float32's
        options += f"|voice={voice_encoder.fast_dtype()}"
    return (cache or FeatureCache(None)).vectors(
        clips,
        options,
        lambda cs: batch_functionals(cs, functionals, sampling_rate, trim_db, trim_margin_s),
        many=True,
    )


def extractor_matrix(extractor: Any, clips: Sequence[np.ndarray], cache: FeatureCache | None) -> np.ndarray:
    """:func:`functionals_matrix` with the options of a saved ``SERFunctionalsFeatureExtractor``."""
    return functionals_matrix(
        clips,
        extractor.functionals,
        extractor.sampling_rate,
        extractor.trim_db,
        extractor.trim_margin_s,
        cache,
    )


# config.balance -> the group columns it reads: every (group, class) cell weighted alike, or, for a
# name with "/", level by level in the columns' order (cell_balanced_weights on nested names)
BALANCE = {
    "corpus": ("corpus",),
    "gender": ("gender",),
    "corpus-gender": ("corpus", "gender"),
    "gender/corpus": ("gender", "corpus"),
}


def fit_linear(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray | None,
    y_val: np.ndarray | None,
    c_grid: Sequence[float] = DEFAULT_C_GRID,
    seed: int = 0,
    soft_train: np.ndarray | None = None,
    alpha: float = 0.0,
    soft_val: np.ndarray | None = None,
    x_val_copies: np.ndarray | None = None,
    copies: int = 0,
    groups_train: np.ndarray | None = None,
    groups_val: np.ndarray | None = None,
    genders_train: np.ndarray | None = None,
    genders_val: np.ndarray | None = None,
    gate_columns: np.ndarray | None = None,
    input_clip: float | None = None,
    rbf_components: int = 0,
    log_prefix: str = "",
) -> tuple[Any, float, dict[float, float], np.ndarray | None]:
    """Pick C on the validation rows (UA), refit on training + validation rows (``log_prefix``
    starts each line the search logs).

    With ``soft_train`` / ``soft_val`` (a teacher's probabilities for those rows) and ``alpha > 0``
    every fit is a distillation fit; C is still chosen by UA on the validation rows' labels.

    ``copies`` > 0: ``x_train`` ends with that many channel copies of each training clip (copy-major
    after the originals), ``x_val_copies`` holds as many of each validation clip. C is then the
    strength per ORIGINAL clip (divided by ``1 + copies`` in the fit), it is chosen on the mean of
    the clean and the copies' validation UA (robust to the channel, not only right on clean audio),
    and the refit also takes the validation copies.

    ``groups_train`` / ``groups_val`` (a group name per row of ``x_train`` / ``x_val``, e.g. the
    corpus): every fit weighs each (group, class) cell alike (:func:`cell_balanced_weights`)
    instead of balancing the classes only; validation copies take their clip's group.

    ``input_clip``: every fit clips its standardised values to ``[-input_clip, input_clip]``.
    ``rbf_components``: every fit is a kernel head (an RBF map to that many landmarks, :func:`_fit`).

    ``genders_train`` / ``genders_val`` (the speaker's gender per row, copies as the groups): every
    fit is the gender-dependent model (:class:`~ser_hf.training.functionals.GenderGatedLinear`)
    when the rows name two or more genders; its gender gate reads only ``gate_columns`` (indices
    into the vectors) when given.

    Returns ``(classifier, best_c, {c: validation UA}, validation probabilities of the best C's
    training-only fit or None)``; without validation rows the middle of the grid is used.
    """
    from .functionals import _fit, cell_balanced_weights

    def weights(y: np.ndarray, groups: np.ndarray | None) -> np.ndarray | None:
        return None if groups is None else cell_balanced_weights(y, groups)

    if genders_train is not None:  # a gender-dependent preset: say once (not per C) when it cannot be
        from ..data.labels import normalize_gender

        named = sorted({normalize_gender(g) for g in genders_train} - {"unknown"})
        if len(named) < 2:
            logger.warning(
                "gender weights: the training rows name %s, so the model has one set of weights (no "
                "gender-dependent part); give the corpus's gender column (--gender_column) for one",
                named or "no gender",
            )
    scores: dict[float, float] = {}
    val_probs = None
    scale = 1.0 / (1 + copies)
    if x_val is not None and len(x_val):
        missing = sorted(set(y_train.tolist()) - set(y_val.tolist()))
        if missing:  # one validation speaker with one class: every C scored 1.000, chosen on a tie
            logger.warning(
                "%sthe validation clips hold %d of the %d training classes (class ids %s missing), so C is "
                "chosen on those alone; choose validation speakers who hold every class (--num_val_speakers, "
                "or a split file)",
                log_prefix, len(set(y_val.tolist())), len(set(y_train.tolist())), missing,
            )  # fmt: skip
        fitted = {}
        for c in c_grid:
            fitted[c] = _fit(
                x_train, y_train, c * scale, seed, soft_train, alpha, weights(y_train, groups_train),
                genders_train, gate_columns, input_clip, rbf_components,
            )  # fmt: skip
            scores[c] = _ua(y_val, fitted[c].predict(x_val))
            if copies:
                noisy = _ua(np.tile(y_val, copies), fitted[c].predict(x_val_copies))
                logger.info(
                    "%sC=%g: validation UA %.3f clean, %.3f through channels", log_prefix, c, scores[c], noisy
                )
                scores[c] = (scores[c] + noisy) / 2
            else:
                logger.info("%sC=%g: validation UA %.3f", log_prefix, c, scores[c])
        best = max(c_grid, key=lambda c: (scores[c], -c))
        _warn_at_the_edge(best, scores, log_prefix)
        val_probs = _full_probabilities(fitted[best], x_val, int(max(y_train.max(), y_val.max())) + 1)

        def refit_rows(train: np.ndarray | None, val: np.ndarray | None) -> np.ndarray | None:
            """A per-row column for the refit: training rows, validation rows, their copies."""
            return None if train is None else np.concatenate([train, val] + [val] * copies)

        x_all = np.concatenate([x_train, x_val] + ([x_val_copies] if copies else []))
        y_all, g_all = refit_rows(y_train, y_val), refit_rows(groups_train, groups_val)
        s_all = refit_rows(genders_train, genders_val)
        soft_all = None if soft_train is None else np.concatenate([soft_train, soft_val])
    else:
        best = list(c_grid)[len(c_grid) // 2]
        logger.warning("%sno validation clips to choose C on: C=%g is fixed", log_prefix, best)
        x_all, y_all, soft_all, g_all, s_all = x_train, y_train, soft_train, groups_train, genders_train
    clf = _fit(
        x_all, y_all, best * scale, seed, soft_all, alpha, weights(y_all, g_all), s_all, gate_columns, input_clip,
        rbf_components,
    )  # fmt: skip
    return clf, best, scores, val_probs


def _warn_at_the_edge(best: float, scores: dict[float, float], log_prefix: str = "") -> None:
    """Warn when the chosen C is the grid's smallest or largest and scored above its neighbour: the
    best C may lie beyond the grid (a probe: nothing said so)."""
    grid = sorted(scores)
    if len(grid) < 2 or best not in (grid[0], grid[-1]):
        return
    neighbour = grid[1] if best == grid[0] else grid[-2]
    if scores[best] > scores[neighbour]:
        logger.warning(
            "%sC=%g, the %s of the grid %s, scored best on validation (UA %.3f, %.3f at C=%g): a C beyond "
            "the grid may score higher; widen it with --config_overrides '{\"c_grid\": [...]}'",
            log_prefix, best, "smallest" if best == grid[0] else "largest", [float(c) for c in grid],
            scores[best], scores[neighbour], neighbour,
        )  # fmt: skip


def speaker_standardised(x: np.ndarray, keys: Sequence[str]) -> np.ndarray:
    """``x`` with the rows of each key (a speaker, or a speaker's copies of one kind) standardised on
    their own mean and scale (a scale of 0 stays 1): what ``adapt`` does to one speaker's clips."""
    keys = np.asarray(keys)
    out = np.empty(x.shape, dtype=np.float64)
    for key in np.unique(keys):
        rows = keys == key
        scale = x[rows].std(0)
        out[rows] = (x[rows] - x[rows].mean(0)) / np.where(scale > 0, scale, 1.0)
    return out


def _ua(y: np.ndarray, predicted: np.ndarray) -> float:
    """Balanced accuracy, without scikit-learn's warning per C about classes the validation clips
    lack (said once by :func:`fit_linear`)."""
    import warnings

    from sklearn.metrics import balanced_accuracy_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return float(balanced_accuracy_score(y, predicted))


def _full_class_speakers(
    speakers: np.ndarray,
    labels: np.ndarray,
    train_source: Sequence[int],
    val_rows: Sequence[int],
    label_names: Sequence[str] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """Masks over the training vectors (``train_source``: each vector's clip) and the validation
    clips: True where the clip's speaker holds every class the training data is built on. A class
    counts when most speakers hold it, or the speakers holding it hold most of the clips; speakers
    lacking one are left out (a corpus whose speakers hold 3 of 7 classes: their mean is not their
    centre), while a class few speakers and few clips hold (one stray label) leaves nobody out.
    Fitted on few speakers, the head is said in a warning; when no training vector would be left,
    nobody is left out."""
    rows = sorted(set(train_source)) + list(val_rows)
    held: dict[str, set] = {}
    clips: Counter = Counter()
    for r in rows:
        held.setdefault(str(speakers[r]), set()).add(int(labels[r]))
        clips[str(speakers[r])] += 1
    total = sum(clips.values())
    classes = set(labels[sorted(set(train_source))].tolist())
    holders = {c: [s for s, have in held.items() if c in have] for c in classes}
    needed = {
        c
        for c, who in holders.items()
        if 2 * len(who) >= len(held) or 2 * sum(clips[s] for s in who) >= total
    }
    partial = {s for s, have in held.items() if not needed <= have}
    keep_t = np.asarray([speakers[r] not in partial for r in train_source], dtype=bool)
    keep_v = np.asarray([speakers[r] not in partial for r in val_rows], dtype=bool)

    def named(ids: Any) -> str:
        return ", ".join(str(label_names[i]) if i < len(label_names) else f"class {i}" for i in sorted(ids))

    if partial and keep_t.any():
        kept = len(held) - len(partial)
        lacking = "; ".join(f"{s} lacks {named(needed - held[s])}" for s in sorted(partial)[:4])
        lacking += f"; {len(partial) - 4} more" if len(partial) > 4 else ""
        if 2 * kept < len(held) or kept < 3:  # a stray label left one speaker of six in (probe of session 42)
            logger.warning(
                "speaker head: fitted on %d of %d speakers only, so adapt (which switches to it) will be "
                "unreliable: the others lack classes that most speakers or clips have (%s)",
                kept, len(held), lacking,
            )  # fmt: skip
        else:
            logger.info(
                "speaker head: %d of %d speakers left out of its fit, lacking classes that most speakers or "
                "clips have (%s)",
                len(partial), len(held), lacking,
            )  # fmt: skip
    elif partial:
        logger.warning("speaker head: no speaker holds every class; fitted on all of them")
        keep_t[:], keep_v[:] = True, True
    return keep_t, keep_v


def _full_probabilities(clf: Any, x: np.ndarray, num_classes: int) -> np.ndarray:
    """``predict_proba`` spread over all ``num_classes`` ids (classes absent in training get 0)."""
    classes = [int(c) for c in clf[-1].classes_]  # a teacher's soft targets may name classes no row has
    probs = np.zeros((len(x), max(num_classes, max(classes) + 1)))
    probs[:, classes] = clf.predict_proba(x)
    return probs


def train_linear(
    clips: Sequence[np.ndarray],
    labels: Sequence[int],
    train_rows: Sequence[int],
    val_rows: Sequence[int],
    label_names: Sequence[str],
    spec: dict[str, Any],
    seed: int = 0,
    soft: np.ndarray | None = None,
    alpha: float = 0.0,
    cache: FeatureCache | None = None,
    groups: dict[str, Sequence[str]] | None = None,
) -> tuple[Any, Any, dict[str, Any]]:
    """Fit the preset ``spec`` (``feature_extractor.functionals``, ``config.c_grid``) and return
    ``(model, feature_extractor, info)`` ready for ``save_pretrained``; ``info["val_probs"]`` are
    the validation rows' probabilities from the fit that did NOT see them.

    ``soft`` (one row of teacher probabilities per clip, already softened) with ``alpha > 0``
    distils; a speed copy of a clip takes its original's soft labels.

    ``config.balance`` (``"corpus"``, ``"gender"`` or ``"corpus-gender"``) weighs every (group,
    class) cell of the training data alike, the groups read from ``groups`` (``{"corpus": [...],
    "gender": [...]}``, one entry per clip); ``"gender/corpus"`` balances level by level instead:
    each gender carries an equal share of the weight, each corpus an equal share of its gender's,
    then each class; ``config.channel_kinds`` chooses what the channel copies
    are drawn from (:data:`~ser_hf.data.channel.RANDOM_KINDS` by default); ``config.crop_copies``
    adds that many more copies of every clip, each a random 1.0-1.6 s stretch of its speech
    (``crop``, :func:`~ser_hf.data.channel.random_channel`); ``config.gender_weights``
    (needs ``groups["gender"]``) fits the gender-dependent model: shared weights plus one set per
    gender, mixed by a gender gate (one set of weights when the training data has one gender);
    ``config.gender_gate_blocks`` (e.g. ``["speech", "pitch", "f0"]``) lets the gate read only
    those blocks of the functionals vector. ``config.speaker_head`` (needs ``groups["speaker"]``)
    also fits a second model on vectors standardised per speaker (each training and validation
    speaker on its own clips, each kind of copy apart), its C chosen on validation speakers
    standardised the same way; it is saved as the speaker head that ``adapt`` switches to.
    ``config.input_clip`` (a number of standard deviations, e.g. 2) clips the first model's
    standardised values to that range in every fit and in the saved model (not the speaker head's).
    ``config.rbf_components`` (a number of landmarks, e.g. 1000) makes the first model a kernel head:
    an RBF map of its standardised values to that many landmarks before the regression (the speaker
    head stays linear)."""
    from ..data.augment import whole_count
    from .functionals import to_pretrained

    functionals = spec["feature_extractor"]["functionals"]
    c_grid = spec["config"].get("c_grid", DEFAULT_C_GRID)
    factors = tuple(spec["config"].get("speed_copies", ()))
    n_copies = spec["config"].get("channel_copies", 0) or 0
    n_crops = spec["config"].get("crop_copies", 0) or 0
    for key, n in (("channel_copies", n_copies), ("crop_copies", n_crops)):
        if not whole_count(n):
            raise SERError(
                f"{key}={n!r} must be a whole number of copies >= 0 (e.g. 1); without them: "
                f"--config_overrides '{{\"{key}\": 0}}'",
                source=f"preset {key}",
            )
    n_copies, n_crops = int(n_copies), int(n_crops)  # 2.0 from a YAML or JSON config
    kinds = tuple(spec["config"].get("channel_kinds", RANDOM_KINDS))
    balance = spec["config"].get("balance")
    distilling = soft is not None and alpha > 0
    # the preset's options are checked before any clip is processed
    if (n_copies or n_crops) and (distilling or factors):
        raise SERError(
            "channel_copies and crop_copies do not combine with distillation or speed copies; distil into "
            "or add speed copies to a preset without them (e.g. speech-stats-mfcc)",
            source="preset",
        )
    parts = BALANCE.get(balance, ()) if isinstance(balance, str) else ()
    if balance and (not parts or not groups or not all(p in groups for p in parts)):
        raise SERError(
            f"balance is one of {', '.join(map(repr, BALANCE))}, and needs those columns per clip",
            source=f"preset balance {balance!r}",
        )
    if balance and distilling:
        raise SERError("corpus or gender balancing does not combine with distillation", source="preset")
    gender_weights = bool(spec["config"].get("gender_weights", False))
    if gender_weights and (distilling or not groups or len(groups.get("gender") or ()) != len(clips)):
        raise SERError(
            "gender_weights needs each clip's gender (the corpus's gender column) and does not combine "
            "with distillation",
            source="preset gender_weights",
        )
    gate_blocks = spec["config"].get("gender_gate_blocks")
    if gate_blocks is not None and not gender_weights:
        raise SERError(
            "gender_gate_blocks needs gender_weights (it chooses what the gender gate reads)", source="preset"
        )
    gate_columns = None if gate_blocks is None else block_columns(functionals, gate_blocks)
    speaker_head = bool(spec["config"].get("speaker_head", False))
    if speaker_head and (
        distilling or gender_weights or not groups or len(groups.get("speaker") or ()) != len(clips)
    ):
        raise SERError(
            "speaker_head needs each clip's speaker (the corpus's speaker column) and does not combine "
            "with distillation or gender_weights; for those, turn it off: --config_overrides "
            "'{\"speaker_head\": false}'",
            source="preset speaker_head",
        )
    input_clip = spec["config"].get("input_clip")
    if input_clip is not None and (
        isinstance(input_clip, bool)
        or not isinstance(input_clip, (int, float))
        or not input_clip > 0
        or gender_weights
    ):
        raise SERError(
            f"input_clip={input_clip!r} must be a positive number of standard deviations (e.g. 2), and does "
            "not combine with gender_weights; to train without it: --config_overrides '{\"input_clip\": null}'",
            source="preset input_clip",
        )
    rbf_components = spec["config"].get("rbf_components") or 0
    if (
        isinstance(rbf_components, bool)
        or not isinstance(rbf_components, int)
        or rbf_components < 0
        or (rbf_components and gender_weights)
    ):
        raise SERError(
            f"rbf_components={rbf_components!r} must be a whole number of landmarks (e.g. 1000), and does not "
            "combine with gender_weights; for a linear head: --config_overrides '{\"rbf_components\": 0}'",
            source="preset rbf_components",
        )
    rows = list(train_rows) + list(val_rows)
    if not train_rows:
        raise SERError("no training clips", source="train_linear")
    x = functionals_matrix([clips[r] for r in rows], functionals, cache=cache)
    y = np.asarray([labels[r] for r in rows])
    n = len(train_rows)
    has_val = bool(len(val_rows))
    x_train = x[:n]
    source = list(train_rows)  # the clip of every training vector: the originals, then their copies
    kind = [0] * n  # which copy each training vector is (0: the clip itself)
    if factors:  # speed-perturbed copies (pitch and tempo: other vocal tracts) of TRAINING clips only
        from .functionals import speed_copies

        copies = [
            functionals_matrix(speed_copies(clips[r], factors), functionals, cache=cache) for r in train_rows
        ]  # (n, len(factors), D)
        x_train = np.concatenate([x_train, np.concatenate(copies)])
        source += [r for r in train_rows for _ in factors]
        kind += [k + 1 for _ in train_rows for k in range(len(factors))]
        logger.info("speed copies %s: %d training vectors", factors, len(x_train))
    x_val_copies = None
    n_total = n_copies + n_crops
    # channel copies (noise, band limits, MP3, rooms, voices), then crops, of training AND validation clips
    if n_total:
        from ..data.channel import channel_copies

        def copies_of(part: Sequence[int]) -> np.ndarray:  # copy-major: every clip's copy k, then k + 1
            made = [
                channel_copies(clips[r], n_copies, seed, r, kinds=kinds)
                + channel_copies(clips[r], n_crops, seed, r, kinds=("crop",), stream="crop")
                for r in part
            ]
            return functionals_matrix([m[k] for k in range(n_total) for m in made], functionals, cache=cache)

        x_train = np.concatenate([x_train, copies_of(train_rows)])
        source += list(train_rows) * n_total
        kind += [len(factors) + 1 + k for k in range(n_total) for _ in train_rows]
        x_val_copies = copies_of(val_rows) if has_val else None
        logger.info(
            "%d channel + %d crop copies per clip: %d training vectors", n_copies, n_crops, len(x_train)
        )

    def per_vector(per_clip: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        """A per-clip column for the training vectors and the validation rows."""
        if per_clip is None:
            return None, None
        return per_clip[source], per_clip[list(val_rows)] if has_val else None

    soft_train, soft_val = per_vector(np.asarray(soft) if distilling else None)
    group_of = None
    if balance:  # one group name per clip, e.g. "ravdess/male"
        join = ">" if "/" in balance else "/"  # ">": balanced level by level (cell_balanced_weights)
        group_of = np.asarray([join.join(str(groups[p][r]) for p in parts) for r in range(len(clips))])
    gender_of = np.asarray([str(g) for g in groups["gender"]]) if gender_weights else None
    clf, best, scores, val_probs = fit_linear(
        x_train, np.asarray(labels)[source], x[n:] if has_val else None, y[n:] if has_val else None, c_grid,
        seed, soft_train, alpha, soft_val, x_val_copies, n_total, *per_vector(group_of), *per_vector(gender_of),
        gate_columns, input_clip, rbf_components,
    )  # fmt: skip
    speaker_clf = None
    if speaker_head:
        spk = np.asarray([str(s) for s in groups["speaker"]])
        # a speaker's own mean is its centre only when its clips hold every class: speakers of a
        # corpus with fewer classes (anger / fear / neutral only) stay out of the speaker head's fit
        keep_t, keep_v = _full_class_speakers(spk, np.asarray(labels), source, list(val_rows), label_names)
        val_spk = spk[list(val_rows)][keep_v] if has_val else None
        xs_val, y_val_s, xs_val_copies = None, None, None
        if has_val and keep_v.any():
            xs_val, y_val_s = speaker_standardised(x[n:][keep_v], val_spk), y[n:][keep_v]
            if x_val_copies is not None:  # copy-major: copy k of every validation clip, then k + 1
                xs_val_copies = speaker_standardised(
                    x_val_copies[np.tile(keep_v, n_total)],
                    [f"{s}\x00{k}" for k in range(n_total) for s in val_spk],
                )
        if has_val and not keep_v.any():
            logger.info("speaker head: no validation speaker holds every class (its fit leaves them out)")
        train_keys = np.asarray([f"{spk[r]}\x00{k}" for r, k in zip(source, kind)])
        groups_t, groups_v = per_vector(group_of)
        speaker_clf, best_s, scores_s, _ = fit_linear(
            speaker_standardised(x_train[keep_t], train_keys[keep_t]), np.asarray(labels)[source][keep_t],
            xs_val, y_val_s, c_grid, seed, None, 0.0, None, xs_val_copies, n_total,
            None if groups_t is None else groups_t[keep_t],
            None if groups_v is None or xs_val is None else groups_v[keep_v],
            log_prefix="speaker head (used after adapt): ",
        )  # fmt: skip
        logger.info("speaker head (used after adapt): C=%g", best_s)
    model, extractor = to_pretrained(clf, list(label_names), functionals, speaker_clf)
    model.config.regularisation_c = best
    if val_probs is not None and val_probs.shape[1] < len(label_names):
        val_probs = np.pad(val_probs, ((0, 0), (0, len(label_names) - val_probs.shape[1])))
    info = {"c": best, "validation_ua_by_c": {str(k): v for k, v in scores.items()}, "val_probs": val_probs}
    if speaker_clf is not None:
        info["speaker_head_c"] = best_s
        info["speaker_head_validation_ua_by_c"] = {str(k): v for k, v in scores_s.items()}
    return model, extractor, info


def predict_probabilities(
    model: Any, extractor: Any, clips: Sequence[np.ndarray], cache: FeatureCache | None = None
) -> np.ndarray:
    """Class probabilities ``(n, C)`` of a functionals model (features from ``cache`` when stored)."""
    import torch

    if not len(clips):
        return np.zeros((0, model.config.num_labels))
    x = torch.from_numpy(extractor_matrix(extractor, clips, cache).astype(np.float32))
    with torch.no_grad():
        return torch.softmax(model(input_features=x).logits.float(), -1).numpy()
