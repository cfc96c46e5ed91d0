"""``ser-hf evaluate``: score a saved model on a corpus split, in-domain or cross-corpus.

:func:`evaluate_model` runs a model folder over a ``datasets.Dataset`` from
:func:`ser_hf.data.corpora.load_corpus` (columns ``path``/``audio``, ``emotion`` ClassLabel, ``speaker``,
``gender``, ``corpus``): clips are decoded with :func:`ser_hf.load_audio` in threads, sorted
by length so each batch pads little, turned into features by the model's own feature extractor and
classified in batches; the metrics come from :func:`ser_hf.training.metrics.compute_ser_metrics`.

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

import json
import logging
import os
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..data.audio import is_silent
from ..data.splits import speaker_key, unmatched_speaker_ids
from ..errors import SERError, batch_size_for, torch_device
from .eval_files import write_evaluation  # noqa: F401  (re-exported: the files evaluate writes)
from .loading import load_feature_extractor
from .loading import load_model as load_saved_model
from .scoring import (  # noqa: F401  (label_mapping: re-exported)
    _projection,
    corpus_classes,
    emotion_of,
    label_mapping,
    mask_absent_classes,
    merged_test_classes,
    no_shared_classes,
    training_columns,
)

logger = logging.getLogger(__name__)

_DECODE_CHUNK = 256  # clips decoded at a time: bounds memory on large corpora
SPLIT_FILE = "split.json"  # in a model folder: the speakers it trained and was chosen on


# ----------------------------------------------------------------------------------- loading
def load_model(model_dir: str | os.PathLike, device: str | None = None) -> tuple[Any, Any]:
    """``(model, feature_extractor)`` from a saved folder, in eval mode on ``device``.

    Through :mod:`ser_hf.training.loading`: never the folder's own code, safetensors weights only.
    """
    source = str(model_dir)
    device = torch_device(device)
    if not Path(source).exists():
        shipped = Path(__file__).resolve().parents[1] / "bundled"  # the bundled models' folders, by name
        named = source in ("default", "cnn") or (
            os.sep not in source and (shipped / source.replace("-", "_")).is_dir()
        )
        bundled = f", or ser_hf.bundled_model_path({source!r}) for a bundled model" if named else ""
        raise SERError(
            f"model folder not found; pass the output_dir of a training run{bundled}", source=source
        )
    model = load_saved_model(source)
    feature_extractor = load_feature_extractor(source)
    return model.to(device).eval(), feature_extractor


def model_labels(config: Any) -> list[str]:
    """Class names of a model config in id order."""
    id2label = getattr(config, "id2label", None) or {}
    return [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(len(id2label))]


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
            unreadable[item[1]] = str(err)
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

    Returns:
        :func:`ser_hf.training.metrics.compute_ser_metrics` output over the shared classes, plus ``model``,
        ``model_labels``, ``label_mapping`` (model label -> test label), ``cross_corpus`` (bool),
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
        seen = seen_speakers(source, speakers_all)
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
        raise SERError(no_shared_classes(names_model, names_data, shared), source=source)
    cross = names_model != names_data

    merged = merged_test_classes(names_data, shared, label_scheme_of(dataset))  # calm rows -> neutral
    emotions = [merged.get(e, e) for e in (names_data[e] for e in dataset["emotion"])]
    keep = [i for i, e in enumerate(emotions) if e in set(shared)]
    dropped = dict(Counter(e for e in emotions if e not in set(shared)))
    if dropped:  # calm warned of: from Python the default's evaluation of ravdess8 data lost it unseen
        logger.log(
            logging.WARNING if "calm" in dropped else logging.INFO,
            "left out %d rows of classes the model cannot predict: %s%s", sum(dropped.values()), dropped,
            " (a corpus loaded with label_scheme='harmonized7' counts calm as neutral)" if "calm" in dropped else "",
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
        for start in range(0, len(rows), _DECODE_CHUNK):
            chunk, waves = decode(rows[start : start + _DECODE_CHUNK])
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
            logger.info("evaluated %d / %d clips", min(start + _DECODE_CHUNK, len(rows)), len(rows))

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
        paths_all = dataset["path"] if "path" in columns else [f"row {i}" for i in range(len(dataset))]
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
        metrics["unreadable"] = {str(paths_all[i]): unreadable[i] for i in sorted(unreadable)}
    if silent:
        metrics["silent_left_out"] = len(silent)
    metrics.update(
        model=source,
        model_labels=names_model,
        label_mapping=mapping,
        cross_corpus=cross,
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


# ----------------------------------------------------------------------------------- data selection
def _model_scheme(config: Any) -> str | None:
    """The label scheme the model was trained with, when it is a named scheme."""
    from ..data import labels

    scheme = getattr(config, "label_scheme", None)
    if scheme and scheme != "native":
        try:
            labels.get_scheme(scheme)
            return str(scheme)
        except SERError:
            pass
    names = model_labels(config)
    for name in labels.LABEL_SCHEMES:
        if labels.scheme_names(name) == names:
            return name
    return None


def default_label_scheme(
    corpus_names: Sequence[str], config: Any, loaded_with: Sequence[str] = ()
) -> str | None:
    """Scheme to load the test corpora with when ``--label-scheme`` is not given: in-domain (every corpus
    in the model's training data, or loaded with it: ``loaded_with``, its ``train_args.json`` corpora, a
    cv fold's held-out one too) the model's own, so the numbers match training's or the fold's; else one
    corpus keeps its native scheme (the classes the two share), several take the model's or harmonized7."""
    from ..data.rows import _resolve_name  # 'emo-db' is the emodb a model trained on

    scheme = _model_scheme(config)
    trained_on = {str(c) for c in (getattr(config, "training_corpora", None) or [])}
    trained_on |= {_resolve_name(str(c)) for c in loaded_with}
    if scheme and corpus_names and {_resolve_name(c) for c in corpus_names} <= trained_on:
        return scheme
    if len(corpus_names) == 1:
        return None
    return scheme or "harmonized7"


def load_eval_data(
    corpora: Sequence[str],
    label_scheme: str | None,
    columns: dict[str, str | None] | None = None,
    model_dir: str | os.PathLike | None = None,
) -> Any:
    """Load ``NAME=PATH`` corpora as one dataset (several corpora need a label scheme); a Hub
    dataset is given by its id alone (``owner/name``). ``columns`` (``speaker_column=...``, ...)
    name the columns of data of your own; a corpus of a name the model in ``model_dir`` trained on
    is otherwise read with the columns and the ``--label_map`` its training named (its ``train_args.json``;
    a ``label_map`` in ``columns``, the evaluation's ``--label-map``, wins)."""
    from ..data.corpora import load_corpora, load_corpus
    from ..data.rows import _slug

    given = {k: v for k, v in (columns or {}).items() if v}
    recorded, trained_on = training_columns(model_dir)
    loads: list[dict[str, Any]] = []
    for spec in corpora:
        name, sep, path = (part.strip() for part in spec.partition("="))
        # a column named at training time (local or Hub): without it the clips were one speaker '<corpus>_unknown'
        own = {**(recorded if name.lower() in trained_on or _slug(name) in trained_on else {}), **given}
        if own.get("label_map"):  # which map renamed the classes: scores of other classes are no comparison
            whose = (
                "--label-map"
                if "label_map" in given
                else f"the training's label map ({model_dir}/train_args.json)"
            )
            pairs = ", ".join(f"{k}={v or ''}" for k, v in own["label_map"].items())
            logger.info("%s: classes renamed as loaded by %s: %s", name, whose, pairs)
        if not sep and name.count("/") == 1 and not Path(name).expanduser().exists():
            loads.append({"name": name, "data_dir": None, **own})  # a Hub dataset id
            continue
        if not sep or not name or not path:
            hint = f"a Hub dataset by its id alone: --corpus {name if name.count('/') == 1 else 'owner/name'}"
            empty = sep and name
            raise SERError(
                f"{'an empty PATH is not the working directory' if empty else 'write corpora as NAME=PATH'}: "
                f"e.g. ravdess=data/ravdess, or {hint}",
                source=f"--corpus {spec}",
            )
        loads.append({"name": name, "data_dir": path, **own})
    try:
        if len(loads) == 1:
            return load_corpus(**loads[0], label_scheme=label_scheme)
        return load_corpora(loads, label_scheme=label_scheme or "harmonized7")
    except SERError as err:  # the model's own column, missing from this copy of the data: say whose it is
        missed = [
            f"--{k.replace('_', '-')} {v}"
            for k, v in recorded.items()
            if k.endswith("_column") and k not in given and f"column {v!r}" in str(err)
        ]
        if not missed:
            raise
        raise SERError(
            f"{err}; the model was trained with {', '.join(missed)} (its train_args.json): name this "
            f"corpus's own column with {missed[0].split()[0]} COLUMN"
        ) from err


def select_rows(
    ds: Any,
    split: str,
    subset: str,
    *,
    seed: int = 42,
    num_val_speakers: int = 4,
    model_dir: str | os.PathLike | None = None,
) -> list[int]:
    """Row indices of ``subset`` (``test``/``validation``/``train``) of ``split``.

    ``split``: ``all`` (every row), ``model`` (the ``split.json`` that training wrote into
    ``model_dir``), or any ``--split`` of ``ser_hf.training`` (its
    :func:`~ser_hf.training.clips.make_split` decides, so the rows are those training used):
    ``manifest:PATH`` (a ``split.json``; its row ids are verified against the data),
    ``ravdess-fold:K``, ``kfold:K/N``, ``loso:SPEAKER``. Validation speakers are drawn as training
    draws them (same ``seed`` and ``num_val_speakers``). ``unseen``: every row whose speaker the
    model neither trained nor was chosen on (:func:`seen_speakers`), for any copy of the data.
    """
    if split == "all":
        return list(range(len(ds)))
    if split == "unseen":
        record = split_record(model_dir)
        if record is None:
            raise SERError(
                "the model folder has no split.json naming its training speakers; give --split explicitly",
                source=str(model_dir),
            )
        if record.get("members_without_split"):  # a fusion of members that record no split
            raise SERError(
                f"this fusion's members {record['members_without_split']} record no split.json, so the "
                "speakers they saw are unknown; give --split explicitly",
                source=str(model_dir),
            )
        speakers = list(ds["speaker"])
        seen = set(seen_speakers(model_dir, speakers))
        return [i for i, speaker in enumerate(speakers) if speaker not in seen]
    if split == "model":
        record = split_record(model_dir)
        if record is None:
            raise SERError(
                "the model folder has no split.json; give --split explicitly", source=str(model_dir)
            )
        manifest = Path(str(model_dir)) / SPLIT_FILE
        if record.get("protocol") == "fusion" or "train" not in record:  # or a Hub copy's: no rows
            raise SERError(
                "this split.json names the speakers the model saw (a fusion's, or a Hub copy's), not one "
                "split's rows; use --split unseen (or give --split explicitly)",
                source=str(manifest),
            )
        split = f"manifest:{manifest}"
    if subset not in ("test", "validation", "train"):
        raise SERError("choose test, validation or train", source=f"--subset {subset}")
    from .clips import make_split

    try:
        parts = make_split(
            ds, SimpleNamespace(split=split, num_val_speakers=num_val_speakers, val_fraction=0.1), seed
        )
    except SERError as err:  # the model's split on part of its corpora had no way forward
        if "differs from the one the split was made for" not in str(err):
            raise
        raise SERError(
            f"{err}; --split unseen scores the speakers the model did not see, on any data whose speaker ids "
            "are written as in its split.json (evaluate warns when none match)"
        ) from err
    return list(getattr(parts, subset))


def split_record(model_dir: str | os.PathLike | None) -> dict[str, Any] | None:
    """The ``split.json`` that training (or ``ser-hf fuse``) wrote into ``model_dir``: the speakers
    the model trained and was chosen on. None when the folder has none; an unreadable one is a
    :class:`SERError`."""
    path = None if model_dir is None else Path(str(model_dir)) / SPLIT_FILE
    if path is None or not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise SERError(f"cannot read the model's split record ({err})", source=str(path)) from err
    if not isinstance(record, dict):
        raise SERError("not a split record (a JSON object)", source=str(path))
    return record


def seen_speakers(model_dir: str | os.PathLike | None, speakers: Sequence[str]) -> list[str]:
    """Those of ``speakers`` that the model in ``model_dir`` trained on or was chosen on (the
    training and validation speakers of its ``split.json``): figures on them are not
    speaker-independent. Empty when the folder records no split, or none that can be read."""
    try:
        record = split_record(model_dir) or {}
    except SERError:
        return []
    used = {
        speaker_key(s) for key in ("train_speakers", "validation_speakers") for s in record.get(key) or ()
    }
    return sorted(s for s in {str(s) for s in speakers} if speaker_key(s) in used)


def speaker_id_mismatch(model_dir: str | os.PathLike | None, ds: Any) -> str | None:
    """:func:`~ser_hf.data.splits.unmatched_speaker_ids` of ``ds`` against the model's split.json."""
    try:
        record = split_record(model_dir) or {}
    except SERError:  # said where the record is needed
        return None
    columns = {c: sorted(set(ds[c])) for c in ("speaker", "corpus") if c in ds.column_names}
    return unmatched_speaker_ids(record, columns.get("speaker", []), columns.get("corpus", []))
