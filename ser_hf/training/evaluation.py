"""``ser-hf evaluate``: score a saved model on a corpus split, in-domain or cross-corpus.

:func:`evaluate_model` runs a model folder over a ``datasets.Dataset`` from
:func:`ser_hf.data.corpora.load_corpus` (columns ``path``/``audio``, ``emotion`` ClassLabel, ``speaker``,
``gender``, ``corpus``): clips are decoded with :func:`ser_hf.load_audio` in threads, sorted
by length so each batch pads little, turned into features by the model's own feature extractor and
classified in batches; the metrics come from :func:`ser_hf.training.metrics.compute_ser_metrics`.
What it scores (the model folder, the corpora, a split's rows) is loaded and chosen in
:mod:`ser_hf.training.eval_inputs`, whose names are importable from here too; what ``evaluate``
writes, in :mod:`ser_hf.training.eval_files`.

Cross-corpus. When the model's classes (``config.id2label``) differ from the dataset's label
scheme, the evaluation is restricted to the classes the two share
(:func:`ser_hf.data.labels.cross_scheme_mapping`): test rows of other classes are dropped, model classes
without a counterpart are masked out of the softmax, and the probabilities of model classes that
map onto the same test class (``calm`` -> ``neutral``, ``female_angry`` + ``male_angry`` ->
``angry``) are summed. The mapping is returned and printed.

CLI::

    ser-hf evaluate --model runs/fold_0 --corpus ravdess=data/ravdess --split ravdess-fold:0
    ser-hf evaluate --model runs/fold_0 --corpus ravdess=data/ravdess --split model   # its split.json
    ser-hf evaluate --model runs/ravdess --corpus emodb=data/emodb                    # cross-corpus
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..data.audio import is_silent
from ..data.labels import harmonisation
from ..data.rows import row_labels
from ..errors import SERError, batch_size_for
from .eval_files import write_evaluation  # noqa: F401  (re-exported: the files evaluate writes)
from .eval_inputs import (  # noqa: F401  (some only re-exported: callers import them from here)
    SPLIT_FILE,
    default_label_scheme,
    load_eval_data,
    load_model,
    model_labels,
    recognised_message,
    recognised_training_data,
    seen_speakers,
    select_rows,
    speaker_id_mismatch,
    split_record,
)
from .scoring import (  # noqa: F401  (label_mapping: re-exported)
    _projection,
    chance_ua,
    corpus_classes,
    dropped_hint,
    emotion_of,
    label_mapping,
    mask_absent_classes,
    merged_test_classes,
    no_shared_classes,
    training_columns,
)

logger = logging.getLogger(__name__)


def _cross_corpus(
    trained_on: set[str], corpora: Any, recognised: Sequence[dict[str, Any]] | None
) -> bool | None:
    """Whether a scored corpus is none the model trained on (its training data under another name,
    recognised by its files or folder, count as trained on); None when the model records no
    training corpora or the rows name none."""
    if not trained_on or corpora is None:
        return None
    known = trained_on | {str(f["corpus"]) for f in recognised or () if f.get("as")}
    return bool(set(map(str, corpora.tolist())) - known)


_DECODE_CHUNK = 256  # clips decoded at a time: bounds memory on large corpora


# ----------------------------------------------------------------------------------- decoding
def _decode(
    sources: Sequence[Any],
    sampling_rate: int,
    workers: int,
    channel: str | None = None,
    seeds: Sequence[int] = (),
    unreadable: dict[int, str] | None = None,
) -> list[np.ndarray | None]:
    """Decoded clips, each passed through the ``channel`` condition (seeded by ``seeds``: its row).

    With ``unreadable``, a clip whose samples cannot be decoded (a header that reads but truncated or
    corrupt data, NaN samples) is None and ``unreadable[its row]`` says why; without it, it raises."""
    from ..data.audio import load_audio
    from ..data.channel import apply_channel

    def load(item: tuple[Any, int]) -> np.ndarray | None:
        try:
            wave = load_audio(item[0], sampling_rate)
        except SERError as err:
            if unreadable is None:
                raise
            # without its name: the row's path names it (a dataset row's, as ser-hf corpus)
            unreadable[item[1]] = err.bare_message
            return None
        return wave if channel is None else apply_channel(wave, channel, sampling_rate, item[1])

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(load, zip(sources, list(seeds) or [0] * len(sources))))


def _clip_inputs(
    feature_extractor: Any, waves: list[Any], sampling_rate: int, device: Any, fe_kwargs: dict[str, Any]
) -> list[dict[str, Any]]:
    """One feature-extractor output per clip (what :func:`adapt_model` reads); an extractor with
    ``clips_per_call`` (functionals: one vector per clip, no padding) takes that many clips at a
    time and its rows are split."""
    step = getattr(feature_extractor, "clips_per_call", 1)
    out = []
    for start in range(0, len(waves), step):
        batch = waves[start : start + step]
        got = feature_extractor(
            batch if step > 1 else batch[0], sampling_rate=sampling_rate, return_tensors="pt", **fe_kwargs
        )
        out += [{k: v[j : j + 1].to(device) for k, v in got.items()} for j in range(len(batch))]
    return out


# ----------------------------------------------------------------------------------- evaluation
def evaluate_model(
    model: str | os.PathLike | Any,
    dataset: Any,
    *,
    feature_extractor: Any = None,
    batch_size: int | None = None,
    device: str | None = None,
    num_workers: int = 4,
    return_predictions: bool = False,
    adapt: bool | str = False,
    channel: str | None = None,
    class_inventory: dict[str, Sequence[str]] | None = None,
    row_names: Sequence[str] | None = None,
    recognised: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any] | tuple[dict[str, Any], list[dict[str, Any]]]:
    """Score a model on every row of ``dataset`` (select the split's rows before calling).

    Args:
        model: a saved model folder, or a loaded ``PreTrainedModel`` (then give ``feature_extractor``).
        dataset: a ``datasets.Dataset`` with ``emotion`` (ClassLabel) and ``path`` or ``audio``;
            ``speaker``, ``gender`` and ``corpus`` give per-group scores when present.
        feature_extractor: the model's extractor (default: loaded from the model folder).
        batch_size: clips per forward pass (None: 1 for the CNN families on a CPU, else 32).
        device: ``"cpu"`` / ``"cuda"``; default CUDA when available.
        num_workers: threads decoding audio.
        return_predictions: also return one dict per scored clip (path, true, predicted, score).
        adapt: test-time adaptation: before scoring each SPEAKER's clips (``True`` or
            ``"speaker"``), or each corpus's clips, all its speakers together (``"corpus"``: one
            recording set-up, many voices), re-estimate the model's normalisation statistics on
            those clips' audio (never their labels; see :mod:`ser_hf.training.adaptation`).
            Reported separately from the plain score.
        channel: pass every clip through this channel condition first (:mod:`ser_hf.data.channel`,
            e.g. ``"telephone"``, ``"noise:20"``, ``"mp3:32"``; noise drawn from each clip's row
            number, so the result repeats); adaptation then sees the same degraded audio.
        class_inventory: ``{corpus: its class names}`` over ALL its loaded rows (:func:`corpus_classes`
            of the data before a split selected ``dataset``'s rows): a corpus the model never trained
            on is scored on the classes it has, and the rows selected must not change which. Default:
            the classes of every row of ``dataset``.
        row_names: how a clip that cannot be decoded is named where its ``path`` names no one row
            (rows of a dataset's bytes sharing one name, or without any): ``ser-hf evaluate`` gives
            each row as its corpus's dataset holds it (``parquet /data/mine[17] audio.wav``, as
            ``ser-hf corpus`` names a skipped one); default ``row 17 (path 'audio.wav')`` of ``dataset``.
        recognised: :func:`recognised_training_data` of the model and the data (a loaded model's caller
            gives it; a model folder's is found here): a corpus holding the model's training data under
            another name is no other corpus for ``cross_corpus``.

    Returns:
        :func:`ser_hf.training.metrics.compute_ser_metrics` output over the shared classes, plus ``model``,
        ``model_labels``, ``label_mapping`` (model label -> test label), ``label_sets_differ`` (the
        model's classes are not the data's: a mapping is applied), ``cross_corpus`` (a test corpus is
        none the model trained on, by ``training_corpora``, its config's record, and ``test_corpora``;
        None when the model records none; before session 45 it meant ``label_sets_differ``),
        ``harmonised_from`` (``{corpus: {class: {the corpus's own label: rows scored}}}``: labels the
        label scheme merged as the data were loaded, RAVDESS calm -> neutral under harmonized7),
        ``chance_ua`` (the expected UA of guessing uniformly among the classes each row is scored on, or
        those its corpus's rows hold when fewer),
        ``dropped`` (test class -> rows left out because the model cannot predict it),
        ``seen_speakers`` (for a model folder whose ``split.json`` names speakers scored here; warned of),
        ``unreadable`` (path -> reason, when clips whose audio could not be decoded were skipped) and
        ``per_corpus`` when the data mix corpora. With ``return_predictions``, ``(metrics, rows)``.

    Raises:
        SERError: fewer than two shared classes, no rows left, no clip decodable, a bad model folder.
    """
    import torch

    from ..data.rows import audio_sources, label_scheme_of
    from .metrics import compute_ser_metrics

    seen: list[str] = []
    if isinstance(model, (str, os.PathLike)):
        source = str(model)
        model, loaded_fe = load_model(model, device)
        feature_extractor = feature_extractor or loaded_fe
        speakers_all = (
            sorted({str(s) for s in dataset["speaker"]}) if "speaker" in dataset.column_names else []
        )
        recognised = recognised_training_data(source, dataset)
        for found in recognised:  # its training data under another corpus name
            logger.warning("%s", recognised_message(found))
        seen = seen_speakers(source, speakers_all, recognised)
        if mismatch := speaker_id_mismatch(source, dataset):
            logger.warning("%s", mismatch)
        if seen:  # from Python, the default scored its own training actors at UA 1.0 silently
            logger.warning(
                "%d of the %d speakers evaluated took part in this model's training or validation (%s): these "
                "figures are not speaker-independent", len(seen), len(speakers_all), ", ".join(seen[:6]),
            )  # fmt: skip
    else:
        source = getattr(model.config, "name_or_path", "") or type(model).__name__
        if feature_extractor is None:
            raise SERError("a loaded model needs feature_extractor=...", source=source)
        model = model.to(device or next(model.parameters()).device).eval()
    run_device = next(model.parameters()).device
    batch_size = batch_size_for(model, run_device, batch_size, fallback=32)
    if "emotion" not in dataset.column_names:
        raise SERError(
            "the dataset has no 'emotion' column; load it with ser_hf.load_corpus", source="dataset"
        )
    if len(dataset) == 0:
        raise SERError("the dataset has no rows to evaluate (check --split and --subset)", source="dataset")
    if channel is not None:
        from ..data.channel import parse_channel

        parse_channel(channel)  # a bad condition fails before any decoding

    names_model = model_labels(model.config)
    names_data = list(dataset.features["emotion"].names)
    mapping, shared = label_mapping(names_model, names_data, label_scheme_of(dataset))
    if len(shared) < 2:
        trained_map = training_columns(source)[0].get("label_map")  # new data in the training's own labels
        raise SERError(no_shared_classes(names_model, names_data, shared, trained_map), source=source)
    differ = names_model != names_data

    merged = merged_test_classes(names_data, shared, label_scheme_of(dataset))  # calm rows -> neutral
    emotions = [merged.get(e, e) for e in (names_data[e] for e in dataset["emotion"])]
    keep = [i for i, e in enumerate(emotions) if e in set(shared)]
    dropped = dict(Counter(e for e in emotions if e not in set(shared)))
    if dropped:  # the figures leave these rows out: said, with why where the reason is likelier a label
        hint = dropped_hint(dropped, mapping)
        logger.warning(
            "left out %d rows of classes the model cannot predict: %s%s%s", sum(dropped.values()), dropped,
            " (a corpus loaded with label_scheme='harmonized7' counts calm as neutral)" if "calm" in dropped else "",
            f"; {hint}" if hint else "",
        )  # fmt: skip
    if not keep:
        raise SERError(f"no test rows of the shared classes {shared}", source=source)
    if len({emotions[i] for i in keep}) < 2:  # 40 German clips, 35 skipped as unknown labels: UA 0.000 of 5
        logger.warning(
            "%s: all %d test rows are %r, so UA is that class's recall; if the data hold other emotions, check "
            "the labels (the corpus load's warning names the files it skipped)",
            source, len(keep), emotions[keep[0]],
        )  # fmt: skip

    proj = _projection(names_model, shared, mapping)
    allowed = torch.as_tensor(proj.sum(axis=1) > 0, device=run_device)
    proj_t = torch.as_tensor(proj, dtype=torch.float32, device=run_device)
    sampling_rate = int(getattr(feature_extractor, "sampling_rate", 16000))
    fe_kwargs: dict[str, Any] = {}
    from ..models.feature_extraction_ser import SERFeatureExtractor

    if isinstance(feature_extractor, SERFeatureExtractor):
        fe_kwargs["device"] = run_device  # features on the GPU as well when evaluating there

    # length order keeps padding small; by the file header duration when known, else per chunk
    durations = dataset["duration"] if "duration" in dataset.column_names else None
    if durations is not None and all(d is not None for d in (durations[i] for i in keep)):
        keep = sorted(keep, key=lambda i: durations[i])
    probs = np.zeros((len(dataset), len(shared)), dtype=np.float64)
    unreadable: dict[int, str] = {}  # row -> why its samples could not be decoded (skipped, counted)

    silent: set[int] = set()  # as in training: silence is no emotion, so it is left out and counted

    def decode(rows: list[int]) -> tuple[list[int], list[np.ndarray]]:
        """The rows whose audio decodes to more than silence, and their clips (the others recorded
        in ``unreadable`` / ``silent``)."""
        waves = _decode(audio_sources(dataset, rows), sampling_rate, num_workers, channel, rows, unreadable)
        silent.update(rows[j] for j, w in enumerate(waves) if w is not None and is_silent(w))
        ok = [j for j, wave in enumerate(waves) if wave is not None and rows[j] not in silent]
        return [rows[j] for j in ok], [waves[j] for j in ok]

    def score(rows: list[int]) -> None:
        scored = 0
        for start in range(0, len(rows), _DECODE_CHUNK):
            chunk, waves = decode(rows[start : start + _DECODE_CHUNK])
            scored += len(chunk)
            order = np.argsort([len(w) for w in waves], kind="stable")
            for b in range(0, len(order), batch_size):
                batch = [int(j) for j in order[b : b + batch_size]]
                inputs = feature_extractor(
                    [waves[j] for j in batch], sampling_rate=sampling_rate, return_tensors="pt", **fe_kwargs
                )
                inputs = {k: v.to(run_device) for k, v in inputs.items()}
                with torch.inference_mode():
                    logits = model(**inputs).logits.float()
                # classes without a counterpart in the test labels are masked out of the softmax;
                # classes mapping onto the same test class pool their probability
                logits = logits.masked_fill(~allowed, float("-inf"))
                p = torch.softmax(logits, dim=-1) @ proj_t
                probs[[chunk[j] for j in batch]] = p.cpu().numpy()
            # "evaluated 71 / 71 clips" came before "n 70": a clip that did not decode is read, not scored
            read = min(start + _DECODE_CHUNK, len(rows))
            others = "" if scored == read else " (the others did not decode or are silent)"
            logger.info("read %d / %d clips, scored %d%s", read, len(rows), scored, others)

    from .adaptation import adapt_mode

    adapt_by = adapt_mode(adapt)
    if adapt_by:
        from .adaptation import adapt_model, restore_model

        if adapt_by == "speaker" and "speaker" not in dataset.column_names:
            raise SERError("--adapt adapts per speaker: the dataset has no speaker column", source="dataset")
        groups: dict[str, list[int]] = {}
        column = "corpus" if adapt_by == "voices" else adapt_by  # voices: grouped within each corpus
        names = dataset[column] if column in dataset.column_names else [""] * len(dataset)
        for i in keep:
            groups.setdefault(str(names[i]), []).append(i)
        try:
            for group, rows in groups.items():
                rows, waves = decode(rows)
                if not rows:
                    continue
                inputs = _clip_inputs(feature_extractor, waves, sampling_rate, run_device, fe_kwargs)
                # (clips adapted on, clips scored): the group itself, or with voices, all the corpus's
                # clips for those outside every voice group, then each voice group on its own
                parts = [(range(len(rows)), range(len(rows)))]
                if adapt_by == "voices":
                    from .adaptation import voice_groups

                    ids = voice_groups(waves, sampling_rate)
                    parts = [(range(len(rows)), np.flatnonzero(ids < 0))]
                    parts += [(np.flatnonzero(ids == g),) * 2 for g in range(ids.max() + 1)]
                for adapt_on, scored in parts:
                    if len(adapt_on) < 2 and len(scored):  # one clip's statistics are its own features
                        logger.warning(
                            "adapt: %s %r has %d decodable clip(s), too few to adapt on: scored unadapted",
                            column,
                            group,
                            len(adapt_on),
                        )
                        restore_model(model)
                    elif len(scored):
                        adapt_model(model, [inputs[j] for j in adapt_on])
                    score([rows[j] for j in scored])
        finally:
            restore_model(model)
    else:
        score(keep)
    columns = dataset.column_names
    if unreadable:
        labels = row_labels(dataset["path"] if "path" in columns else None, row_names, unreadable)
        unreadable = {i: f"{labels[i]}: {why}" for i, why in unreadable.items()}
        logger.warning(
            "skipped %d clip(s) whose audio could not be decoded: %s",
            len(unreadable),
            "; ".join(unreadable[i] for i in sorted(unreadable)[:5])
            + (" ..." if len(unreadable) > 5 else ""),
        )
        keep = [i for i in keep if i not in unreadable]
        if not keep:
            raise SERError(
                f"none of the {len(unreadable)} clips could be decoded, e.g. {unreadable[min(unreadable)]}",
                source=source,
            )
    if silent:
        logger.warning("left out %d silent clip(s) (peak below -80 dBFS), as training does", len(silent))
        keep = [i for i in keep if i not in silent]
        if not keep:
            raise SERError(f"all {len(silent)} decodable clips are silent", source=source)
    keep = sorted(keep)  # report in dataset order
    shared_index = {name: j for j, name in enumerate(shared)}
    y_true = np.array([shared_index[emotions[i]] for i in keep])
    kept = dataset.select(keep)
    corpora = np.array([str(c) for c in kept["corpus"]]) if "corpus" in columns else None
    y_prob, masked = probs[keep], {}
    trained_on = set(getattr(model.config, "training_corpora", None) or [])  # unrecorded: none known unseen
    if corpora is not None and trained_on:  # a corpus the model never saw is scored on the classes it has
        if class_inventory is None:
            class_inventory = corpus_classes(dataset["corpus"], [names_data[e] for e in dataset["emotion"]])
        present = {c: {merged.get(n, n) for n in names} for c, names in class_inventory.items()}
        y_prob, masked = mask_absent_classes(y_prob, y_true, corpora.tolist(), trained_on, shared, present)
    y_pred = y_prob.argmax(axis=1)
    speakers = [str(s) for s in kept["speaker"]] if "speaker" in columns else None
    genders = [str(g) for g in kept["gender"]] if "gender" in columns else None
    metrics = compute_ser_metrics(y_true, y_pred, shared, speakers=speakers, genders=genders, y_prob=y_prob)
    if corpora is not None:
        if len(set(corpora.tolist())) > 1:
            metrics["per_corpus"] = {
                c: {
                    k: compute_ser_metrics(y_true[corpora == c], y_pred[corpora == c], shared)[k]
                    for k in ("n", "wa", "ua", "f1_macro")
                }
                for c in sorted(set(corpora.tolist()))
            }
    if adapt_by:
        per = (
            "voice group (clips grouped by the voice encoder's embedding)"
            if adapt_by == "voices"
            else adapt_by
        )
        metrics["adapted"] = f"per {per}, on the test clips' unlabelled audio"
    if channel is not None:
        metrics["channel"] = channel
    if unreadable:
        metrics["unreadable"] = {labels[i]: unreadable[i] for i in sorted(unreadable)}
    if silent:
        metrics["silent_left_out"] = len(silent)
    metrics.update(
        model=source,
        model_labels=names_model,
        label_mapping=mapping,
        label_sets_differ=differ,
        cross_corpus=_cross_corpus(trained_on, corpora, recognised),
        training_corpora=sorted(trained_on) or None,
        test_corpora=sorted(set(corpora.tolist())) if corpora is not None else None,
        harmonised_from=harmonisation(
            corpora.tolist() if corpora is not None else [""] * len(keep),
            kept["raw_emotion"] if "raw_emotion" in columns else [None] * len(keep),
            [names_data[e] for e in kept["emotion"]],
        ),
        chance_ua=chance_ua(
            y_true,
            [
                len(shared) - len(masked.get(str(c), ()))
                for c in (corpora if corpora is not None else [""] * len(keep))
            ],
            corpora,
        ),
        dropped=dropped,
        merged_test_classes=merged,
        **({"masked_classes": masked} if masked else {}),
        # per corpus with classes left out: the classes it was scored on (its inventory's)
        **({"scored_classes": {c: [n for n in shared if n in present[c]] for c in masked}} if masked else {}),
        **({"seen_speakers": [s for s in seen if s in set(speakers or [])]} if seen else {}),
    )
    if not return_predictions:
        return metrics
    paths = kept["path"] if "path" in columns else [str(i) for i in keep]
    rows = [
        {
            "path": str(path),
            "speaker": speakers[n] if speakers else "",
            **({"gender": genders[n]} if genders else {}),
            **({"corpus": str(corpora[n])} if corpora is not None else {}),
            "true": shared[int(t)],
            "predicted": shared[int(p)],
            "score": float(y_prob[n, int(p)]),
            "probs": [float(v) for v in y_prob[n]],
        }
        for n, (path, t, p) in enumerate(zip(paths, y_true, y_pred))
    ]
    return metrics, rows
