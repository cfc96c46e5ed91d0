"""Utterance-level functionals + a linear classifier: the classical SER baseline, cross-validated.

The deep families (``modeling_ser``) learn from frame-level features. The classical alternative,
the INTERSPEECH ComParE recipe, summarises each utterance by statistics ("functionals") of its
frame-level descriptors and fits a regularised linear model. On 2 CPU cores it trains a whole
6-fold cross-validation of RAVDESS in about 19 minutes, and it is a strong, cheap reference point for the deep models.

Per clip (``clip_functionals``):

1. ``trim_silence``: leading/trailing frames more than ``top_db`` below the loudest frame are
   cut (RAVDESS clips carry ~1.5 s of silence; the mean clip goes from 3.7 s to 2.2 s).
2. Our descriptors, computed with :class:`~ser_hf.models.feature_extraction_ser.SERFeatureExtractor`:
   64 log-mel bands, and 40 MFCCs + deltas + delta-deltas + RMS + ZCR (122 rows); each row is
   summarised by mean, std, 5/25/50/75/95th percentiles, the 5-95 range and the linear slope over
   time (9 functionals; 1,674 values), plus 7 statistics of the log-F0 contour (librosa YIN).
3. Optionally the 6,373 ComParE 2016 functionals from openSMILE (``pip install opensmile``;
   openSMILE's licence allows research and non-commercial use only).

Training clips can be multiplied with speed-perturbed copies (0.9x / 1.1x, pitch and tempo
together: a cheap stand-in for other vocal tracts); copies are made for training rows only.

:func:`functionals_cv` runs the folds: for each fold the regularisation strength (and the feature
set and set of speed copies, when several are given) is chosen on that fold's VALIDATION speakers only, the model is
refitted on training + validation speakers, and scored once on the test speakers. The results go
through the same ``aggregate``/``write_results`` (``cv_results``) as ``ser-hf cv``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.labels import normalize_gender
from ..errors import SERError
from ..models.feature_extraction_functionals import (
    FUNCTIONAL_SETS,
    N_COMPARE,
    SERFunctionalsFeatureExtractor,
    _functional_tools,
    clip_functionals,
    f0_functionals,
    row_functionals,
    trim_silence,
)
from .saving import write_json

__all__ = [
    "FEATURE_SETS",
    "FunctionalsExtractor",
    "clip_functionals",
    "extract_all",
    "f0_functionals",
    "functionals_cv",
    "row_functionals",
    "to_pretrained",
    "trim_silence",
]

logger = logging.getLogger(__name__)

FEATURE_SETS = FUNCTIONAL_SETS


class FunctionalsExtractor:
    """Clip waveform (16 kHz mono float) -> one functionals vector (``clip_functionals``)."""

    def __init__(self, feature_set: str = "compare+ours", sampling_rate: int = 16000, top_db: float = 35.0):
        if feature_set not in FEATURE_SETS:
            raise SERError(f"feature_set must be one of {FEATURE_SETS}, got {feature_set!r}")
        self.feature_set = feature_set
        self.sampling_rate = sampling_rate
        self.top_db = top_db
        _functional_tools(feature_set, sampling_rate)  # fail now (e.g. no openSMILE), not mid-run

    def __call__(self, wave: np.ndarray, trimmed: bool = False) -> np.ndarray:
        return clip_functionals(wave, self.feature_set, self.sampling_rate, None if trimmed else self.top_db)


def speed_copies(wave: np.ndarray, factors: Sequence[float]) -> list[np.ndarray]:
    """``wave`` played ``factor`` times faster (tempo and pitch) for each factor, by resampling."""
    from ..data.transforms import speed_perturb

    x = torch.as_tensor(np.asarray(wave, dtype=np.float32))[None]
    out = []
    for factor in factors:
        y, n = speed_perturb(x, torch.tensor([x.shape[1]]), torch.tensor([float(factor)]))
        out.append(y[0, : int(n[0])].numpy())
    return out


def _extract_part(args: tuple) -> tuple[list[int], np.ndarray, dict[float, dict[int, np.ndarray]]]:
    feature_set, sampling_rate, top_db, part, waves, copy_factors, wanted = args
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one part a process; run in the caller's process it is restored below
    try:
        extractor = FunctionalsExtractor(feature_set, sampling_rate, top_db)
        base, copies = [], {f: {} for f in copy_factors}
        for i, wave in zip(part, waves):
            trimmed = trim_silence(wave, sampling_rate, top_db)
            base.append(extractor(trimmed, trimmed=True))
            if i in wanted:
                for factor, copy in zip(copy_factors, speed_copies(trimmed, copy_factors)):
                    copies[factor][i] = extractor(copy, trimmed=True)
        return list(part), np.stack(base), copies
    finally:
        torch.set_num_threads(threads)


def extract_all(
    waves: Sequence[np.ndarray],
    extractor: FunctionalsExtractor,
    copy_factors: Sequence[float] = (0.9, 1.1),
    copy_rows: Sequence[int] | None = None,
    workers: int = 1,
) -> tuple[np.ndarray, dict[float, dict[int, np.ndarray]]]:
    """Functionals of every clip, and of speed-perturbed copies of ``copy_rows`` (training rows).

    ``workers`` > 1 splits the clips over that many processes. Returns
    ``(X (n, D), {factor: {row: vector}})``.
    """
    started = time.perf_counter()
    wanted = set(range(len(waves)) if copy_rows is None else copy_rows)
    n_parts = max(1, min(workers, len(waves)))
    jobs = []
    for k in range(n_parts):
        part = list(range(k, len(waves), n_parts))
        jobs.append(
            (
                extractor.feature_set,
                extractor.sampling_rate,
                extractor.top_db,
                part,
                [waves[i] for i in part],
                tuple(copy_factors),
                wanted & set(part),
            )
        )
    if n_parts == 1:
        results = [_extract_part(jobs[0])]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(n_parts, mp_context=ctx) as pool:
            results = list(pool.map(_extract_part, jobs))
    base: list[np.ndarray | None] = [None] * len(waves)
    copies: dict[float, dict[int, np.ndarray]] = {f: {} for f in copy_factors}
    for part, vectors, part_copies in results:
        for i, v in zip(part, vectors):
            base[i] = v
        for f in copy_factors:
            copies[f].update(part_copies[f])
    logger.info("functionals of %d clips (+ copies) in %.0f s", len(waves), time.perf_counter() - started)
    return np.stack(base), copies


def distillation_weights(
    labels: np.ndarray, soft: np.ndarray, alpha: float, class_weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample-weight form of the distillation loss for a classifier fitted by weighted likelihood.

    Returns ``(rows, classes, weights)`` flattened: clip ``i`` repeated once per class ``c`` with
    weight ``w_i * ((1 - alpha) * [c == y_i] + alpha * soft[i, c])``; pairs of weight 0 are left out.
    """
    n, c = soft.shape
    onehot = np.eye(c)[labels]
    w = (1.0 - alpha) * onehot + alpha * soft
    if class_weight is not None:
        w = w * class_weight[labels][:, None]
    rows, classes = np.nonzero(w > 0)
    return rows, classes, w[rows, classes]


def cell_balanced_weights(y: np.ndarray, groups: Sequence[str]) -> np.ndarray:
    """One weight per row so that every (group, class) cell present carries the same total weight
    (mean weight 1): class-balanced within each group (a corpus, a gender) and group-balanced
    overall, so 2,800 clips of two TESS speakers weigh no more than 960 RAVDESS clips.

    Nested group names (``"female>ravdess"``, levels split by ``>``) are balanced level by level
    instead: each top-level group carries the same total weight, then each subgroup within its
    group, then each class within its subgroup."""
    groups = [str(g) for g in groups]
    if not any(">" in g for g in groups):
        keys = [f"{g}\x00{int(c)}" for g, c in zip(groups, y)]
        _, inverse, counts = np.unique(np.asarray(keys), return_inverse=True, return_counts=True)
        return len(keys) / (len(counts) * counts[inverse]).astype(np.float64)
    paths = [(*g.split(">"), int(c)) for g, c in zip(groups, y)]  # the class is the last level
    children: dict[tuple, set] = {}
    for path in paths:
        for k in range(len(path)):
            children.setdefault(path[:k], set()).add(path[k])
    leaves = Counter(paths)
    share = np.asarray([np.prod([len(children[p[:k]]) for k in range(len(p))]) * leaves[p] for p in paths])
    return len(paths) / share.astype(np.float64)


class GenderGatedLinear:
    """A fitted gender-dependent linear model, the scikit-learn side of
    ``FunctionalsLinearForAudioClassification`` with ``config.gender_labels``: ``[0]`` the
    ``StandardScaler``, ``[-1]`` the ``LogisticRegression`` of the shared weights, ``gate`` a
    ``LogisticRegression`` from the same standardised vector to the gender, and ``gender_coef``
    one ``(len(classes_), D)`` matrix per gender (``gate.classes_`` order). For a standardised x the
    class scores are ``shared(x) + sum_g p_g(x) * gender_coef[g] @ x``, softmaxed."""

    def __init__(self, scaler: Any, shared: Any, gate: Any, gender_coef: list[np.ndarray]):
        self.scaler, self.shared, self.gate, self.gender_coef = scaler, shared, gate, gender_coef

    def __getitem__(self, i: int) -> Any:
        return (self.scaler, self.shared)[i]

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        xs = self.scaler.transform(x)
        coef, intercept = _class_rows(self.shared.coef_, self.shared.intercept_, len(self.shared.classes_))
        z = xs @ coef.T + intercept
        p = self.gate.predict_proba(xs)
        for k, w in enumerate(self.gender_coef):
            z = z + p[:, k : k + 1] * (xs @ w.T)
        return z

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        z = self.decision_function(x)
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.shared.classes_[self.decision_function(x).argmax(1)]


def _class_rows(coef: np.ndarray, intercept: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's binary model (one row: the logit of ``classes_[1]`` against ``classes_[0]``)
    as two rows whose softmax is its ``predict_proba``; several classes are returned as they are."""
    if n_classes == 2 and len(coef) == 1:
        return np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    return coef, intercept


def _fit_gender_gated(
    x: np.ndarray,
    y: np.ndarray,
    c: float,
    seed: int,
    sample_weight: np.ndarray | None,
    genders: np.ndarray,
    gate_columns: np.ndarray | None = None,
) -> GenderGatedLinear | None:
    """Shared + per-gender weights by feature augmentation (Daume III 2007): each standardised
    row x of gender g is fitted as ``[x, x * [g = g_1], x * [g = g_2], ...]`` by one logistic
    regression (a direction that works for every gender is cheapest in the shared weights under the
    same L2 penalty), and a class-balanced gate learns the gender from x. Rows of unknown gender
    (:func:`~ser_hf.data.labels.normalize_gender` says ``"unknown"``) fit the shared weights only.
    ``gate_columns`` (indices into x, e.g.
    :func:`~ser_hf.models.feature_extraction_functionals.block_columns` of the speech-frame blocks):
    the gate reads only those values (its weights on the others are 0). None when fewer than two
    genders are known."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    genders = np.asarray([normalize_gender(g) for g in genders])
    levels = sorted(set(genders) - {"unknown"})
    if len(levels) < 2:  # fit_linear warned once
        return None
    scaler = StandardScaler().fit(x)
    xs = scaler.transform(x)
    parts = [xs] + [xs * (genders == g)[:, None] for g in levels]
    balance = None if sample_weight is not None else "balanced"
    lr = LogisticRegression(C=c, max_iter=3000, class_weight=balance, random_state=seed)
    lr.fit(np.hstack(parts), y, sample_weight=sample_weight)
    d = x.shape[1]
    blocks = [lr.coef_[:, d * (k + 1) : d * (k + 2)] for k in range(len(levels))]
    lr.coef_, lr.n_features_in_ = lr.coef_[:, :d].copy(), d
    known = np.isin(genders, levels)
    cols = np.arange(d) if gate_columns is None else np.asarray(gate_columns)
    gate = LogisticRegression(C=0.01, max_iter=3000, class_weight="balanced", random_state=seed)
    gate.fit(xs[known][:, cols], genders[known])
    full = np.zeros((len(gate.coef_), d))
    full[:, cols] = gate.coef_
    gate.coef_, gate.n_features_in_ = full, d  # the same gate on the whole standardised vector
    zeros = np.zeros_like(lr.intercept_)
    return GenderGatedLinear(scaler, lr, gate, [_class_rows(b, zeros, len(lr.classes_))[0] for b in blocks])


def _fit(*args: Any, **kwargs: Any):
    """:func:`_fit_linear` with BLAS on one thread: the L-BFGS steps are many small vector operations,
    which OpenBLAS's threads slow down (2 cores, idle: a 128 x 1,681 fit 0.18-0.23 s with its 2
    threads, 0.02 s with one; 4,000 x 1,024 0.26 s against 0.18 s; 12,000 x 1,024 0.34-0.43 s against
    0.27-0.35 s; busy with other processes: 3-15x, 3.2-5.2 s against 0.2 s for the first)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_linear(*args, **kwargs)


def _fit_linear(
    x: np.ndarray,
    y: np.ndarray,
    c: float,
    seed: int,
    soft: np.ndarray | None = None,
    alpha: float = 0.0,
    sample_weight: np.ndarray | None = None,
    genders: np.ndarray | None = None,
    gate_columns: np.ndarray | None = None,
    input_clip: float | None = None,
    rbf_components: int = 0,
):
    """A class-balanced ``StandardScaler -> LogisticRegression``; with ``input_clip`` the standardised
    values are clipped to ``[-input_clip, input_clip]`` between the two (a ``FunctionTransformer``);
    with ``rbf_components`` a ``Nystroem`` RBF-kernel map (that many landmarks drawn from the rows,
    gamma 1 / dimensions) and a second ``StandardScaler`` come before the regression;
    with ``sample_weight`` (e.g.
    :func:`cell_balanced_weights`; not with distillation) those weights replace the class balancing; with ``soft`` (teacher
    probabilities, one row per clip) and ``alpha > 0`` it fits the distillation mixture as
    sample weights (:func:`distillation_weights`). With ``genders`` (one name per row) naming two or
    more genders it is the gender-dependent :class:`GenderGatedLinear` (:func:`_fit_gender_gated`;
    its gate reads ``gate_columns`` only, when given)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    if genders is not None and (input_clip is not None or rbf_components):
        raise SERError(
            "input_clip and rbf_components do not combine with the gender-dependent model (genders)"
        )
    if genders is not None and (soft is None or alpha <= 0):
        gated = _fit_gender_gated(x, y, c, seed, sample_weight, genders, gate_columns)
        if gated is not None:
            return gated
    front = [StandardScaler()]
    if input_clip is not None:
        front.append(FunctionTransformer(np.clip, kw_args={"a_min": -input_clip, "a_max": input_clip}))
    if rbf_components:
        from sklearn.kernel_approximation import Nystroem

        landmarks = min(int(rbf_components), len(x))
        front += [
            Nystroem(gamma=1.0 / x.shape[1], n_components=landmarks, random_state=seed),
            StandardScaler(),
        ]
    if soft is None or alpha <= 0:
        balance = None if sample_weight is not None else "balanced"
        clf = make_pipeline(
            *front, LogisticRegression(C=c, max_iter=3000, class_weight=balance, random_state=seed)
        )
        return clf.fit(x, y, logisticregression__sample_weight=sample_weight)
    from .clips import balanced_class_weights

    balanced = np.asarray(balanced_class_weights(y, soft.shape[1]))
    rows, classes, weights = distillation_weights(y, soft, alpha, balanced)
    clf = make_pipeline(*front, LogisticRegression(C=c, max_iter=3000, random_state=seed))
    clf[:-1].fit(x)  # the scaler sees each clip once, not once per class
    clf[-1].fit(clf[:-1].transform(x[rows]), classes, sample_weight=weights)
    return clf


def input_clip_of(clf: Any) -> float | None:
    """The clip level of a pipeline fitted by :func:`_fit` (None when it does not clip)."""
    steps = getattr(clf, "steps", [])[1:-1]
    return next((float(step.kw_args["a_max"]) for _, step in steps if getattr(step, "kw_args", None)), None)


def kernel_map_of(clf: Any) -> tuple[Any, Any] | None:
    """``(Nystroem, the StandardScaler after it)`` of a pipeline fitted by :func:`_fit` with
    ``rbf_components``, or None."""
    steps = [step for _, step in getattr(clf, "steps", [])]
    k = next((i for i, step in enumerate(steps) if hasattr(step, "normalization_")), None)
    return None if k is None else (steps[k], steps[k + 1])


def _logit_rows(clf: Any, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """``(weight, bias)`` over all ``n_labels`` ids of a fitted ``LogisticRegression`` (``clf[-1]``);
    label ids it never saw get a finite, hopeless logit (probability ~e-4000 -> 0)."""
    lr = clf[-1]
    classes = [int(c) for c in lr.classes_]
    coef, intercept = _class_rows(lr.coef_, lr.intercept_, len(classes))
    weight = np.zeros((n_labels, coef.shape[1]))
    bias = np.full(n_labels, -1e4)
    weight[classes], bias[classes] = coef, intercept
    return weight, bias


def to_pretrained(clf: Any, label_names: Sequence[str], functionals: str, speaker_clf: Any = None):
    """A fitted ``make_pipeline(StandardScaler(), LogisticRegression())`` -> ``(model, feature_extractor)``
    that ``save_pretrained`` into a folder the ``audio-classification`` pipeline loads.

    ``functionals`` is the set the classifier was fitted on; the saved extractor computes it. Label
    names the classifier never saw in training get probability 0 (a -1e4 logit).

    A pipeline that clips its standardised values (:func:`_fit`'s ``input_clip``) gives a model whose
    ``config.input_clip`` clips them the same way. One with an RBF-kernel map (``rbf_components``)
    gives a model with its landmarks (``config.rbf_components``), the map's normalisation and the
    scaler after it folded into the layer: logits = ((k N^T - m) / s) W^T + b = k ((W / s) N)^T +
    (b - (W / s) m), k the kernel row.

    ``speaker_clf``, a second such pipeline fitted on per-speaker standardised vectors, becomes the
    model's speaker head (``config.speaker_head``; used after ``adapt``), its scaler folded into the
    layer's weights.
    """
    from ..models.configuration_ser import FunctionalsLinearConfig
    from ..models.modeling_ser import FunctionalsLinearForAudioClassification

    scaler, lr = clf[0], clf[-1]
    classes = [int(c) for c in lr.classes_]
    if not set(classes) <= set(range(len(label_names))):
        raise SERError(
            f"the classifier's classes {classes} are not ids into the {len(label_names)} label names"
        )
    gate = getattr(clf, "gate", None)
    d = int(scaler.n_features_in_)
    kernel = kernel_map_of(clf)
    config = FunctionalsLinearConfig(
        num_features=d,
        functionals=functionals,
        id2label=dict(enumerate(label_names)),
        label2id={n: i for i, n in enumerate(label_names)},
        gender_labels=None if gate is None else [str(g) for g in gate.classes_],
        speaker_head=speaker_clf is not None,
        input_clip=input_clip_of(clf),
        rbf_components=0 if kernel is None else len(kernel[0].components_),
        rbf_gamma=None if kernel is None else kernel[0].gamma,
    )
    model = FunctionalsLinearForAudioClassification(config)
    scale = np.where(scaler.scale_ == 0, 1.0, scaler.scale_)
    weight, bias = _logit_rows(clf, len(label_names))
    if kernel is not None:
        nystroem, inner = kernel
        per_scale = weight / np.where(inner.scale_ == 0, 1.0, inner.scale_)
        weight, bias = per_scale @ nystroem.normalization_, bias - per_scale @ inner.mean_
    with torch.no_grad():
        # the head's scaler folded into its layer: W (z - m) / s + b = (W / s) z + (b - W m / s),
        # z the speaker-standardised x
        if speaker_clf is not None:
            w2, b2 = _logit_rows(speaker_clf, len(label_names))
            s2 = np.where(speaker_clf[0].scale_ == 0, 1.0, speaker_clf[0].scale_)
            model.speaker_classifier.weight.copy_(torch.as_tensor(w2 / s2, dtype=torch.float32))
            model.speaker_classifier.bias.copy_(
                torch.as_tensor(b2 - (w2 / s2) @ speaker_clf[0].mean_, dtype=torch.float32)
            )
            model.speaker_mean.copy_(torch.as_tensor(scaler.mean_, dtype=torch.float32))
            model.speaker_scale.copy_(torch.as_tensor(scale, dtype=torch.float32))
        model.feature_mean.copy_(torch.as_tensor(scaler.mean_, dtype=torch.float32))
        model.feature_scale.copy_(torch.as_tensor(scale, dtype=torch.float32))
        model.classifier.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
        model.classifier.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
        if kernel is not None:
            model.rbf_landmarks.copy_(torch.as_tensor(kernel[0].components_, dtype=torch.float32))
        if gate is not None:  # the gate's softmax is its predict_proba; each gender's rows go to its classes
            gate_w, gate_b = _class_rows(gate.coef_, gate.intercept_, len(gate.classes_))
            model.gender_gate.weight.copy_(torch.as_tensor(gate_w, dtype=torch.float32))
            model.gender_gate.bias.copy_(torch.as_tensor(gate_b, dtype=torch.float32))
            model.gate_mean.copy_(model.feature_mean)  # kept when adaptation moves feature_mean
            model.gate_scale.copy_(model.feature_scale)
            per_gender = np.zeros((len(gate.classes_), len(label_names), d))
            for k, w in enumerate(clf.gender_coef):
                per_gender[k, classes] = w
            flat = per_gender.reshape(-1, d)
            model.gender_classifier.weight.copy_(torch.as_tensor(flat, dtype=torch.float32))
    model.eval()
    return model, SERFunctionalsFeatureExtractor(functionals=functionals)


def _stack(
    rows: Sequence[int], x: np.ndarray, y: np.ndarray, copies: dict[float, dict[int, np.ndarray]], cols: slice
) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [x[rows][:, cols]], [y[rows]]
    for per_row in copies.values():
        xs.append(np.stack([per_row[r] for r in rows])[:, cols])
        ys.append(y[rows])
    return np.concatenate(xs), np.concatenate(ys)


def feature_columns(feature_set: str, extracted: str, n_columns: int) -> slice:
    """Columns of ``feature_set`` inside vectors extracted with ``extracted`` (ComParE first)."""
    if feature_set == extracted:
        return slice(0, n_columns)
    if extracted == "compare+ours":
        return slice(0, N_COMPARE) if feature_set == "compare" else slice(N_COMPARE, n_columns)
    raise SERError(f"feature set {feature_set!r} is not part of the extracted {extracted!r} vectors")


def functionals_cv(
    x: np.ndarray,
    y: np.ndarray,
    copies: dict[float, dict[int, np.ndarray]],
    splits: Sequence[Any],
    label_names: Sequence[str],
    out: str | Path,
    *,
    speakers: Sequence[str],
    genders: Sequence[str],
    extracted: str = "compare+ours",
    feature_sets: Sequence[str] = ("compare+ours",),
    c_grid: Sequence[float] = (0.003, 0.01),
    seed: int = 0,
    allow_speaker_dependent: bool = False,
    save_models: bool = False,
    copy_sets: Sequence[Sequence[float]] | None = None,
) -> list[Path]:
    """Nested selection per fold on validation speakers, refit on train + validation, test once.

    ``C`` values are per original clip: with ``k`` copies per clip the fitted ``C`` is
    ``C / (1 + k)``, so the regularisation does not weaken as copies are added. ``copy_sets``: the
    sets of speed factors (subsets of ``copies``) to choose between too (default: all of them).
    ``save_models`` also saves each fold's final model to ``fold_K/model`` (pipeline-ready).
    ``allow_speaker_dependent`` admits a random clip split, for the inflated contrast number only.
    Writes ``fold_K/{test_metrics,val_selection,split}.json`` under ``out`` and returns the fold dirs.
    """
    from sklearn.metrics import balanced_accuracy_score

    from .metrics import compute_ser_metrics

    out = Path(out)
    copy_sets = [tuple(sorted(copies))] if copy_sets is None else [tuple(sorted(cs)) for cs in copy_sets]
    for cs in copy_sets:
        if not set(cs) <= set(copies):
            raise SERError(f"copy set {cs} asks for speed factors that were not extracted ({sorted(copies)})")
    fold_dirs = []
    speakers = np.asarray(speakers)
    genders = np.asarray(genders)
    for split in splits:
        fold = split.fold if split.fold is not None else len(fold_dirs)
        if not split.speaker_independent and not allow_speaker_dependent:
            raise SERError(f"fold {fold} is not speaker-independent; refusing to report it")
        if not split.validation:
            raise SERError(f"fold {fold} has no validation speakers to select the model on")
        started = time.perf_counter()
        scores, candidates = {}, {}
        for cs in copy_sets:
            use = {f: copies[f] for f in cs}
            for fs in feature_sets:
                cols = feature_columns(fs, extracted, x.shape[1])
                xtr, ytr = _stack(split.train, x, y, use, cols)
                for c in c_grid:
                    clf = _fit(xtr, ytr, c / (1 + len(cs)), seed)
                    pred = clf.predict(x[split.validation][:, cols])
                    key = f"{fs}|C={c}|copies={','.join(map(str, cs)) or 'none'}"
                    scores[key] = float(balanced_accuracy_score(y[split.validation], pred))
                    candidates[key] = (fs, c, cs)
        # ties go to the earliest candidate (fewest copies, first feature set, smallest C)
        best = max(scores, key=lambda k: (scores[k], -list(scores).index(k)))
        fs, c, cs = candidates[best]
        cols = feature_columns(fs, extracted, x.shape[1])
        rows = sorted(split.train + split.validation)
        clf = _fit(*_stack(rows, x, y, {f: copies[f] for f in cs}, cols), c / (1 + len(cs)), seed)
        test = list(split.test)
        # classes absent from training (a small corpus) get probability 0
        prob = np.zeros((len(test), len(label_names)))
        prob[:, clf[-1].classes_] = clf.predict_proba(x[test][:, cols])
        metrics = compute_ser_metrics(
            y[test],
            prob.argmax(1),
            label_names,
            speakers=list(speakers[test]),
            genders=list(genders[test]),
            y_prob=prob,
        )
        metrics["speakers"] = sorted(set(speakers[test].tolist()))
        fold_dir = out / f"fold_{fold}"
        fold_dir.mkdir(parents=True, exist_ok=True)
        write_json(fold_dir / "test_metrics.json", metrics)  # readable UTF-8, written whole
        write_json(
            fold_dir / "val_selection.json",
            {"validation_ua": scores, "chosen": {"feature_set": fs, "C": c, "copies": list(cs)}},
        )
        split.to_json(fold_dir / "split.json")
        if save_models:
            model, extractor = to_pretrained(clf, label_names, fs)
            model.save_pretrained(fold_dir / "model")
            extractor.save_pretrained(fold_dir / "model")
        fold_dirs.append(fold_dir)
        logger.info(
            "fold %s: chose %s (val UA %.3f) -> test UA %.3f WA %.3f (%.0f s)",
            fold,
            best,
            scores[best],
            metrics["ua"],
            metrics["wa"],
            time.perf_counter() - started,
        )
    return fold_dirs
