"""Speaker-independent fold generators, on metadata only (never decodes audio).

* :func:`speaker_kfold`: leave-N-speakers-out k-fold, gender-balanced (and corpus-balanced) folds.
* :func:`ravdess_protocol_folds`: the benchmark protocol exactly: fold k (k = 0..5) tests on
  actors 4k+1..4k+4; validation actors are carved from the 20 training actors only.
* :func:`leave_one_speaker_out`, :func:`leave_one_corpus_out`.
* :func:`validation_speakers`: pick validation speakers from training speakers only.
* :func:`random_stratified_split`: 70/15/15 by clip, stratified by emotion; it LEAKS speakers
  (speaker-dependent) and logs a warning saying so.

Each returns :class:`~ser_hf.data.splits.Split` objects holding row INDEX lists.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import SERError
from .splits import Split, _Meta, _meta

logger = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- helpers


DEFAULT_VALIDATION = 4  # validation speakers drawn when none is asked for, at most half the training ones


def default_validation_count(n_training: int) -> int:
    """The validation speakers drawn from ``n_training`` training speakers when no number is asked for:
    4, at most half of them (at least one), so validation never outnumbers training: the former fixed 4
    of a 5-speaker corpus's k-fold trained every fold on one speaker (3 validation speakers)."""
    return min(DEFAULT_VALIDATION, max(1, n_training // 2))


def warn_few_training_speakers(train: Sequence[str], validation: Sequence[str], source: str) -> None:
    """More validation speakers than training speakers (the default 4 of a 6-speaker corpus leave 2
    to learn from) is named, with the option that changes it."""
    if len(validation) > len(train):
        logger.warning(
            "%s: %d validation speakers leave %d to train on; give fewer with --num-val-speakers",
            source, len(validation), len(train),
        )  # fmt: skip


def _warn_thin_corpora(meta: _Meta, min_speakers: int = 3) -> None:
    """Warn for corpora whose speakers cannot fill train, validation and test separately."""
    per_corpus: dict[str, set[str]] = {}
    for s, c in zip(meta.speaker, meta.corpus):
        per_corpus.setdefault(c, set()).add(s)
    for corpus, speakers in sorted(per_corpus.items()):
        unknown = [s for s in speakers if s.endswith("_unknown")]
        if unknown:
            logger.warning(
                "corpus %s has rows without a speaker id (%s): they form one pseudo-speaker, so no "
                "speaker-independent split is possible within it; name the speaker column of its metadata.csv "
                "(or Hub / parquet data) with --speaker-column COLUMN (from Python speaker_column=); a folder of "
                "class sub-folders names no speakers: list its files in a metadata.csv with file_name, label "
                "and speaker columns, or split by clip (--split random)",
                corpus,
                unknown[0],
            )
        elif len(speakers) < min_speakers:
            logger.warning(
                "corpus %s has only %d speakers (%s): it cannot support a speaker-independent split with "
                "separate training, validation and test speakers; results on it are close to speaker-"
                "dependent. Use it in leave_one_corpus_out or together with other corpora",
                corpus,
                len(speakers),
                ", ".join(sorted(speakers)),
            )


def _strata_order(
    speakers: Sequence[str], meta: _Meta, rng: np.random.Generator, balance_gender: bool
) -> list[str]:
    """Speakers shuffled within (corpus, gender) strata, strata concatenated: dealing this list
    round-robin gives every fold the same share of each corpus and gender (+-1)."""
    spk_gender, spk_corpus = meta.speaker_gender(), meta.speaker_corpus()
    strata: dict[tuple[str, str], list[str]] = {}
    for s in sorted(set(speakers)):
        key = (spk_corpus.get(s, ""), spk_gender.get(s, "unknown") if balance_gender else "")
        strata.setdefault(key, []).append(s)
    order: list[str] = []
    for key in sorted(strata):
        group = strata[key]
        order += [group[i] for i in rng.permutation(len(group))]
    return order


def validation_speakers(
    train_speakers: Sequence[str],
    n: int = 4,
    seed: int = 0,
    balance_gender: bool = True,
    speaker_gender: Mapping[str, str] | None = None,
    speaker_corpus: Mapping[str, str] | None = None,
) -> list[str]:
    """Pick ``n`` validation speakers from ``train_speakers`` only (never from test speakers).

    With ``balance_gender`` (and ``speaker_gender`` = ``{speaker: gender}``) the pick alternates
    female/male (e.g. 2 + 2 for n = 4) while both are available, then fills from whichever
    remains. Deterministic for a seed. At least one speaker always stays in training, and with
    ``speaker_corpus`` (``{speaker: corpus}``) at least one of every corpus: a speaker whose corpus
    would be left without training speakers is passed over (fewer than ``n`` when nothing else is
    left), so two female TESS speakers beside male-only corpora are never both taken.
    """
    pool = sorted(set(map(str, train_speakers)))
    if n <= 0:
        return []
    if n >= len(pool):
        raise SERError(
            f"cannot take {n} validation speakers from {len(pool)} training speakers (one must stay in "
            "training): take fewer (--num-val-speakers), name the corpus's speaker column (--speaker-column) "
            "or split by clip (--split random)",
            source="validation_speakers",
        )
    rng = np.random.default_rng(seed)
    left = Counter(speaker_corpus.get(s, s) for s in pool) if speaker_corpus else None

    def takes_last(s: str) -> bool:  # would taking s leave its corpus with no training speaker?
        if left is None:
            return False
        corpus = speaker_corpus.get(s, s)
        if left[corpus] <= 1:
            return True
        left[corpus] -= 1
        return False

    if not balance_gender or speaker_gender is None:
        picked = [pool[i] for i in rng.permutation(len(pool)) if not takes_last(pool[i])]
        return _fewer(sorted(picked[:n]), n)
    groups: dict[str, list[str]] = {}
    for s in pool:
        groups.setdefault(speaker_gender.get(s, "unknown"), []).append(s)
    queues = {g: [members[i] for i in rng.permutation(len(members))] for g, members in sorted(groups.items())}
    # female and male alternate (which goes first is drawn, so odd n is not always female-heavy);
    # unknown-gender speakers only fill what is left
    primary = [g for g in ("female", "male") if g in queues]
    if len(primary) == 2 and rng.integers(2):
        primary.reverse()
    others = [g for g in queues if g not in ("female", "male")]
    picked: list[str] = []
    while len(picked) < n:
        active = [g for g in primary if queues[g]] or [g for g in others if queues[g]]
        if not active:
            break
        for g in active:
            while len(picked) < n and queues[g]:
                s = queues[g].pop(0)
                if not takes_last(s):
                    picked.append(s)
                    break
    return _fewer(sorted(picked), n)


def _fewer(picked: list[str], n: int) -> list[str]:
    if len(picked) < n:
        logger.warning(
            "%d validation speaker(s) instead of %d: the others are the last training speakers of their corpora",
            len(picked),
            n,
        )
    return picked


def _refuse_blank_speaker_cells(meta: _Meta, protocol: str) -> None:
    """A corpus with named speakers and rows without one (an empty speaker cell: ``<corpus>_unknown``)
    cannot be split by speaker: the pseudo-speaker holds clips of any of them, so it would sit in one
    part while its people sit in another, under a split called speaker-independent. (A corpus with no
    speaker ids at all is one pseudo-speaker, said by :func:`_warn_thin_corpora`.)"""
    spk_corpus = meta.speaker_corpus()
    for blank in sorted(s for s in spk_corpus if s.endswith("_unknown")):
        corpus = spk_corpus[blank]
        if named := [s for s, c in spk_corpus.items() if c == corpus and s != blank]:
            raise SERError(
                f"corpus {corpus}: {len(meta.indices_of([blank]))} row(s) have no speaker id (an empty speaker "
                f"cell) beside {len(named)} named speakers; a split by speaker cannot place them (they may be "
                "any of those people, in training and in test): fill in their speakers, leave them out of "
                "the metadata table, or split by clip (--split random)",
                source=protocol,
            )


def _make_split(
    meta: _Meta,
    protocol: str,
    test_spk: Sequence[str],
    n_validation: int,
    seed: int,
    balance_gender: bool,
    description: str,
    fold: int | None,
    train_pool: Sequence[str] | None = None,
    validation_pool: Sequence[str] | None = None,
    cap_validation: bool = False,
) -> Split:
    """One speaker-independent split: ``test_spk`` to test, ``n_validation`` validation speakers
    from the rest (``validation_pool`` of them), the others to train. ``cap_validation``: the number
    is the default, not one asked for: at most half the training speakers (:func:`default_validation_count`)."""
    _refuse_blank_speaker_cells(meta, protocol)
    test_set = set(test_spk)
    train_spk = sorted(set(train_pool if train_pool is not None else meta.speaker) - test_set)
    pool = train_spk if validation_pool is None else sorted(set(validation_pool) & set(train_spk))
    if not train_spk:
        raise SERError("no training speakers left after taking the test speakers", source=protocol)
    n_val = min(n_validation, len(pool), len(train_spk) - 1)
    if cap_validation:
        n_val = min(n_val, default_validation_count(len(train_spk)))
        if n_val < n_validation:
            logger.info(
                "%s: %d validation speaker(s) of the %d training speakers (the default %d, at most half)",
                protocol, n_val, len(train_spk), n_validation,
            )  # fmt: skip
    elif n_val < n_validation:
        logger.warning(
            "%s: only %d training speakers; using %d validation speaker(s) instead of %d",
            protocol,
            len(train_spk),
            n_val,
            n_validation,
        )
    # every training corpus keeps a training speaker (two female TESS speakers beside male-only corpora)
    corpus_of = {s: c for s, c in zip(meta.speaker, meta.corpus) if s in set(train_spk)}
    val_spk = validation_speakers(
        pool,
        n_val,
        seed=seed,
        balance_gender=balance_gender,
        speaker_gender=meta.speaker_gender(),
        speaker_corpus=corpus_of,
    )
    train_spk = sorted(set(train_spk) - set(val_spk))
    warn_few_training_speakers(train_spk, val_spk, description)
    return Split(
        protocol=protocol,
        train=meta.indices_of(train_spk),
        validation=meta.indices_of(val_spk),
        test=meta.indices_of(sorted(test_set)),
        train_speakers=train_spk,
        validation_speakers=val_spk,
        test_speakers=sorted(test_set),
        speaker_independent=True,
        description=description,
        seed=seed,
        fold=fold,
        row_ids=meta.row_ids,
    )


def _gender_text(speakers: Sequence[str], meta: _Meta) -> str:
    counts = Counter(meta.speaker_gender().get(s, "unknown") for s in speakers)
    return " + ".join(f"{n} {g}" for g, n in sorted(counts.items()))


# ----------------------------------------------------------------------------- protocols


def speaker_kfold(
    ds_or_columns: Any,
    n_folds: int = 5,
    seed: int = 0,
    balance_gender: bool = True,
    n_validation: int | None = None,
    only: Sequence[int] | None = None,
    cap_validation: bool = False,
) -> list[Split]:
    """Leave-N-speakers-out k-fold: every speaker is a test speaker in exactly one fold.

    Speakers are dealt to folds within (corpus, gender) strata, so each fold's test set holds the
    same number of each gender (and corpus) up to one when ``balance_gender``. Validation speakers
    (default: as many as the fold's test speakers, gender-balanced) come from that fold's training
    speakers only.

    Returns ``n_folds`` :class:`Split` objects (``protocol="speaker_kfold"``); ``only``: the folds of
    these numbers alone (each the same as in the full list, its validation warnings only).
    ``cap_validation`` (every protocol here): ``n_validation`` is a default, not a number asked for,
    so it takes at most half of a fold's training speakers (the command line's 4 when not given).
    """
    meta = _meta(ds_or_columns)
    _warn_thin_corpora(meta)
    speakers = sorted(set(meta.speaker))
    if n_folds < 2 or n_folds > len(speakers):
        raise SERError(
            f"the number of folds must be between 2 and the number of speakers ({len(speakers)})",
            source=f"{n_folds} folds",
        )
    rng = np.random.default_rng(seed)
    order = _strata_order(speakers, meta, rng, balance_gender)
    folds: list[list[str]] = [order[i::n_folds] for i in range(n_folds)]
    splits = []
    for k, test_spk in enumerate(folds):
        if only is not None and k not in only:
            continue
        n_val = len(test_spk) if n_validation is None else n_validation
        splits.append(
            _make_split(
                meta,
                "speaker_kfold",
                test_spk,
                n_val,
                seed + k,
                balance_gender,
                f"speaker k-fold {k} of {n_folds} (kfold:{k}/{n_folds}, seed {seed}): test {len(test_spk)} speakers "
                f"({_gender_text(test_spk, meta)})",
                k,
                cap_validation=cap_validation,
            )
        )
    return splits


def _actor_number(speaker: str) -> int | None:
    m = re.search(r"(\d+)$", speaker)
    return int(m.group(1)) if m else None


def ravdess_protocol_folds(
    ds_or_columns: Any,
    seed: int = 0,
    n_validation: int = 4,
    balance_gender: bool = True,
    only: Sequence[int] | None = None,
    cap_validation: bool = False,
) -> list[Split]:
    """The benchmark protocol (``benchmark-protocol.md``) exactly: 6 folds, fold k (k = 0..5) tests
    on RAVDESS actors 4k+1..4k+4 (2 male, 2 female); ``n_validation`` validation actors
    (default 4: 2 female + 2 male) are drawn from that fold's 20 training actors only, with
    ``seed + k``. Rows of other corpora in the dataset stay in training (never validation: the
    protocol's validation actors are RAVDESS actors). ``only``: the folds of these numbers alone.
    """
    meta = _meta(ds_or_columns)
    ravdess = {s for s, c in zip(meta.speaker, meta.corpus) if c == "ravdess"} or set(meta.speaker)
    by_actor: dict[int, str] = {}
    for s in ravdess:
        a = _actor_number(s)
        if a is None or a in by_actor:
            raise SERError(
                f"speaker {s!r} is not a unique RAVDESS actor id (expected e.g. ravdess_01)",
                source="ravdess_protocol",
            )
        by_actor[a] = s
    missing = sorted(set(range(1, 25)) - set(by_actor))
    if missing:
        raise SERError(
            f"the RAVDESS protocol needs actors 1-24; missing {missing}", source="ravdess_protocol"
        )
    splits = []
    for k in range(6) if only is None else sorted(set(only) & set(range(6))):
        test_spk = [by_actor[a] for a in range(4 * k + 1, 4 * k + 5)]
        splits.append(
            _make_split(
                meta,
                "ravdess_protocol",
                test_spk,
                n_validation,
                seed + k,
                balance_gender,
                f"RAVDESS protocol fold {k}: test actors {4 * k + 1}-{4 * k + 4}",
                k,
                validation_pool=sorted(ravdess),
                cap_validation=cap_validation,
            )
        )
    return splits


def leave_one_speaker_out(
    ds_or_columns: Any,
    seed: int = 0,
    n_validation: int = 2,
    balance_gender: bool = True,
    only: Sequence[str] | None = None,
    cap_validation: bool = False,
) -> list[Split]:
    """One fold per speaker: test on that speaker, validate on ``n_validation`` training speakers.
    ``only``: the folds of these test speakers alone (each the same as in the full list), so the
    warnings about a fold's validation speakers are of the folds asked for."""
    meta = _meta(ds_or_columns)
    _warn_thin_corpora(meta)
    speakers = sorted(set(meta.speaker))
    if len(speakers) < 2:
        raise SERError("leave-one-speaker-out needs at least 2 speakers", source="leave_one_speaker_out")
    wanted = set(speakers if only is None else only)
    return [
        _make_split(
            meta,
            "leave_one_speaker_out",
            [s],
            n_validation,
            seed + k,
            balance_gender,
            f"leave one speaker out: test {s}",
            k,
            cap_validation=cap_validation,
        )
        for k, s in enumerate(speakers)
        if s in wanted
    ]


def leave_one_corpus_out(
    ds_or_columns: Any,
    test_corpus: str,
    seed: int = 0,
    n_validation: int = 4,
    balance_gender: bool = True,
    cap_validation: bool = False,
) -> Split:
    """Train on every other corpus, test on ``test_corpus`` (cross-corpus evaluation); validation
    speakers come from the training corpora only."""
    meta = _meta(ds_or_columns)
    corpora = sorted(set(meta.corpus))
    if test_corpus not in corpora:
        raise SERError(
            f"no rows of corpus {test_corpus!r}; the dataset holds {corpora}", source="leave_one_corpus_out"
        )
    if len(corpora) < 2:
        raise SERError("leave-one-corpus-out needs at least two corpora", source="leave_one_corpus_out")
    test_spk = sorted({s for s, c in zip(meta.speaker, meta.corpus) if c == test_corpus})
    train_pool = sorted({s for s, c in zip(meta.speaker, meta.corpus) if c != test_corpus})
    split = _make_split(
        meta,
        "leave_one_corpus_out",
        test_spk,
        n_validation,
        seed,
        balance_gender,
        f"leave one corpus out: train on {', '.join(c for c in corpora if c != test_corpus)}, test on {test_corpus}",
        None,
        train_pool=train_pool,
        cap_validation=cap_validation,
    )
    return split


def random_stratified_split(
    ds_or_columns: Any,
    train_size: float = 0.70,
    validation_size: float = 0.15,
    test_size: float = 0.15,
    seed: int = 0,
) -> Split:
    """Random clip split stratified by emotion (default 70/15/15).

    SPEAKER-DEPENDENT: the same speakers appear in train, validation and test, so its scores are
    inflated and not comparable with speaker-independent results; a warning is logged every call.
    """
    from sklearn.model_selection import train_test_split

    meta = _meta(ds_or_columns)
    total = train_size + validation_size + test_size
    if not np.isclose(total, 1.0) or min(train_size, validation_size, test_size) < 0:
        raise SERError(f"sizes must be >= 0 and sum to 1 (got {total:.3f})", source="random_stratified_split")
    logger.warning(
        "random_stratified_split is SPEAKER-DEPENDENT: clips of the same speakers land in train, "
        "validation and test, which inflates scores (compare only with other speaker-dependent numbers)"
    )
    idx = np.arange(len(meta))
    labels = np.asarray(meta.emotion)
    counts = Counter(labels.tolist())
    stratify = labels if min(counts.values()) >= 3 else None
    if stratify is None:
        logger.warning(
            "random_stratified_split: a class has fewer than 3 clips; splitting without stratification"
        )
    rest_size = validation_size + test_size
    if rest_size == 0:
        train_idx, val_idx, test_idx = idx, idx[:0], idx[:0]
    else:
        train_idx, rest = train_test_split(idx, test_size=rest_size, random_state=seed, stratify=stratify)
        if validation_size == 0 or test_size == 0:
            val_idx, test_idx = (rest, rest[:0]) if test_size == 0 else (rest[:0], rest)
        else:
            rest_strat = (
                labels[rest]
                if stratify is not None and min(Counter(labels[rest].tolist()).values()) >= 2
                else None
            )
            val_idx, test_idx = train_test_split(
                rest, test_size=test_size / rest_size, random_state=seed, stratify=rest_strat
            )

    def spk(ix: np.ndarray) -> list[str]:
        return sorted({meta.speaker[i] for i in ix})

    return Split(
        protocol="random_stratified",
        train=train_idx.tolist(),
        validation=val_idx.tolist(),
        test=test_idx.tolist(),
        train_speakers=spk(train_idx),
        validation_speakers=spk(val_idx),
        test_speakers=spk(test_idx),
        speaker_independent=False,
        description=f"random stratified clip split {train_size:.0%}/{validation_size:.0%}/{test_size:.0%} "
        f"(seed {seed}); SPEAKER-DEPENDENT",
        seed=seed,
        row_ids=meta.row_ids,
    )
