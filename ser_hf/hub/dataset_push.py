"""Publish a harmonised corpus to the Hugging Face Hub (``ser-hf push-dataset``).

:func:`push_dataset` uploads a corpus loaded by :mod:`ser_hf.data.corpora` (or any dataset with the
same columns) with ``Dataset.push_to_hub``, which embeds the audio bytes into parquet shards, plus a
dataset card (:func:`make_dataset_card`) naming sources, licences, the label scheme and speaker
counts. :func:`dataset_parts` gives the splits pushed: the data's own (``train`` alone for a corpus
folder), or, with ``split=``, the package's speaker-independent train / validation / test (``speaker``,
or any ``ser-hf train --split`` value), as ``datasets`` names them. Credentials, repo ids and the
Hub's errors as in :mod:`ser_hf.hub.repos`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import DatasetCard, DatasetCardData, HfApi

from ..errors import SERError
from .cards import DEFAULT_DATASET_COMMIT_MESSAGE, corpus_info
from .repos import check_repo_id, check_token, create_repo, hub_errors

logger = logging.getLogger("ser_hf.hub.push")  # moved messages keep their logger


SPLIT_HELP = (
    "speaker: the package's speaker-independent splits (a fifth of the speakers to test, another fifth to "
    "validation, gender-balanced, by --seed), pushed as the dataset's train, validation and test splits; "
    "or any value of ser-hf train --split (kfold:K/N, ravdess-fold:K, loco:CORPUS, loso:SPEAKER, "
    "manifest:PATH of a model's split.json, random: by clip, speaker-DEPENDENT, none: validation speakers "
    "only). Default: the data's own splits as they are (a corpus folder: all of it as train)"
)
PARTS = ("train", "validation", "test")


def make_dataset_card(
    ds: Any,
    repo_id: str,
    *,
    label_scheme: str | None = None,
    license: str | None = None,
    made_by: Any = None,
) -> DatasetCard:
    """Dataset card: sources with licences and citations, the label scheme, speaker counts.

    ``ds`` is a ``datasets.Dataset`` (or a ``DatasetDict``: counts cover every split) with the
    columns of :func:`ser_hf.data.corpora.load_corpus` (``audio``, ``emotion``, ``speaker``, ``gender``,
    ``corpus``, ...); counts come from :func:`ser_hf.data.corpora.corpus_summary`. The card carries no ``configs``/``dataset_info``: ``Dataset.push_to_hub`` adds them.
    ``made_by``: the :class:`ser_hf.data.splits.Split` the parts were made by (:func:`dataset_parts`),
    described with its speakers.
    """
    from ..data.corpora import corpus_summary
    from ..data.rows import label_scheme_of

    splits = dict(ds) if hasattr(ds, "keys") else {"train": ds}
    summaries = {name: corpus_summary(split) for name, split in splits.items()}
    label_scheme = label_scheme or next((label_scheme_of(split) for split in splits.values()), None)
    corpora = sorted({c for s in summaries.values() for c in s["per_corpus"]})
    infos = [corpus_info(c) for c in corpora]
    if license:  # the uploader's own corpora: their terms as they give them (a known corpus keeps its own)
        infos = [
            {**i, "license": license, "license_text": f"`{license}` (as the uploader states)"}
            if i["license_text"].startswith("unknown")
            else i
            for i in infos
        ]
    licences = sorted({i["license"] for i in infos})
    first = next(iter(splits.values()))
    labels = getattr(first.features.get("emotion"), "names", None) or list(
        next(iter(summaries.values()))["per_emotion"]
    )
    rows = sum(s["rows"] for s in summaries.values())
    size = "n<1K" if rows < 1000 else "1K<n<10K" if rows < 10000 else "10K<n<100K"
    card_data = DatasetCardData(
        pretty_name=f"{' + '.join(i['name'] for i in infos)} speech emotion ({label_scheme or 'harmonised labels'})",
        license=licences[0] if len(licences) == 1 else licences or None,
        language=sorted({i["language"] for i in infos if i.get("language")}) or None,
        task_categories=["audio-classification"],
        tags=["speech-emotion-recognition", "audio", "ser_hf"],
        size_categories=[size],
    )
    lines = [
        f"# {repo_id.split('/')[-1]}",
        "",
        f"Emotional speech from {', '.join(i['name'] for i in infos) or 'unknown corpora'}, harmonised by "
        f"ser_hf: {rows} clips, one row per clip, audio embedded (decoded at 16 kHz mono).",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        f'ds = load_dataset("{repo_id}", split="{next(iter(splits))}")',
        'ds[0]["audio"]  # decoded on access',
        "```",
        "",
        "## Columns",
        "",
        "- `audio`: the clip (`Audio(sampling_rate=16000, num_channels=1)`).",
        f"- `emotion`: class label, scheme `{label_scheme or 'see below'}`: {', '.join(labels)}.",
        "- `speaker`, `gender` (female / male / unknown), `corpus`, `file` (original file name), and "
        "corpus-specific fields where present (e.g. RAVDESS intensity and statement).",
        "",
        "## Sources and licences",
        "",
    ]
    for info in infos:
        url = f" ([source]({info['url']}))" if info.get("url") else ""
        lines.append(f"- **{info['name']}**{url}: {info['speakers']}. Licence: {info['license_text']}.")
    if len(licences) > 1:
        lines.append("- The corpora have different licences: each row keeps its own (see `corpus`).")
    lines += ["", "## Counts", ""]
    for split, summary in summaries.items():
        lines += [
            f"Split `{split}`: {summary['rows']} clips.",
            "",
            "| corpus | clips | speakers | by gender |",
        ]
        lines += ["| --- | --- | --- | --- |"]
        for corpus, c in summary["per_corpus"].items():
            genders = ", ".join(f"{g} {n}" for g, n in sorted(c["genders"].items()))
            lines.append(f"| {corpus} | {c['rows']} | {c['speakers']} | {genders} |")
        lines += ["", "| emotion | clips |", "| --- | --- |"]
        lines += [f"| {label} | {n} |" for label, n in summary["per_emotion"].items()]
        lines.append("")
    lines += ["## Use", "", *_split_text(made_by, splits)]
    lines += [
        "## Citations",
        "",
        *[f"- {i['citation']}" for i in infos if i.get("citation")],
    ]
    return DatasetCard(f"---\n{card_data.to_yaml()}\n---\n\n" + "\n".join(lines) + "\n")


def _split_text(split: Any, splits: dict[str, Any]) -> list[str]:
    """The card's words on its splits: how they were made and whose speakers each holds."""
    if split is None:
        return [
            "Split by SPEAKER (`speaker` column) for any evaluation: a random clip split puts the same "
            "actors in train and test and inflates scores.",
            "",
        ]
    if not split.speaker_independent:
        return [
            f"The splits were drawn by clip ({split.description}): the same speakers are in train, validation "
            "and test, so test scores are optimistic. Split by SPEAKER (`speaker` column) for an honest evaluation.",
            "",
        ]
    lines = [
        f"The splits are speaker-independent: no speaker is in two of {', '.join(f'`{s}`' for s in splits)} "
        f"(made by ser_hf: {split.description}). Train on `train`, choose settings on `validation`, "
        "report on `test`.",
        "",
    ]
    for name in splits:
        speakers = getattr(split, f"{name}_speakers", None) or []
        shown = ", ".join(speakers[:40]) + (f", ... ({len(speakers)} in all)" if len(speakers) > 40 else "")
        lines.append(f"- `{name}` speakers: {shown}.")
    return [*lines, ""]


def dataset_parts(ds: Any, split: str | None = None, row_splits: Sequence[str] = (), seed: int = 0) -> Any:
    """The splits to push, as ``(DatasetDict, Split or None)``.

    ``split`` None: the data's own splits as they are (``row_splits``: the split each row was read from,
    named as ``datasets`` names it: ``valid`` is ``validation``; rows of data without splits, or no
    ``row_splits``, are ``train``). ``"speaker"``: speaker-independent train / validation / test, a fifth
    of the speakers each for test and validation (:func:`ser_hf.data.folds.speaker_kfold`'s fold 0 of
    5, gender-balanced, ``seed``); any other value as ``ser-hf train --split`` takes it
    (:func:`ser_hf.training.clips.make_split`). An empty part is left out (said)."""
    from datasets import DatasetDict

    from ..data.dataset_splits import canonical_split

    if hasattr(ds, "keys"):
        if split is not None:
            raise SERError(
                f"the data already have splits ({', '.join(ds)}): pass one Dataset "
                "(datasets.concatenate_datasets) to split it by speaker, or no split to push them as they are",
                source=f"split={split!r}",
            )
        return DatasetDict(dict(ds)), None
    if split is None or not str(split).strip():
        if not row_splits:
            return DatasetDict({"train": ds}), None
        names = [canonical_split(s) if s else "train" for s in row_splits]
        order = [*[p for p in PARTS if p in names], *[n for n in dict.fromkeys(names) if n not in PARTS]]
        return DatasetDict({n: ds.select([i for i, x in enumerate(names) if x == n]) for n in order}), None
    made = _make_split(ds, str(split).strip(), row_splits, seed)
    parts = {name: getattr(made, name) for name in PARTS}
    empty = [name for name, rows in parts.items() if not rows]
    if empty:
        logger.info("split %s: no %s rows, so no such split is pushed", split, " or ".join(empty))
    logger.info(
        "pushing %s (%s)",
        ", ".join(f"{name} {len(rows)} rows" for name, rows in parts.items() if rows),
        made.description,
    )
    return DatasetDict({name: ds.select(rows) for name, rows in parts.items() if rows}), made


def _make_split(ds: Any, spec: str, row_splits: Sequence[str], seed: int) -> Any:
    from types import SimpleNamespace

    from ..data import folds
    from ..training.clips import make_split

    if spec.lower() == "speaker":
        speakers = len(set(ds["speaker"]))
        if speakers < 3:
            raise SERError(
                f"the data have {speakers} speaker(s): a speaker-independent train / validation / test needs "
                "3 or more",
                source="--split speaker",
            )
        return folds.speaker_kfold(ds, min(5, speakers), seed=seed, only=[0])[0]
    args = SimpleNamespace(split=spec, num_val_speakers=None, val_fraction=0.1)
    return make_split(ds, args, seed, row_splits)


def _prepare_dataset(ds: Any) -> Any:
    """Check the columns and replace local source paths by bare file names (no home directories on the Hub)."""
    from datasets import Audio

    for split in ds.values() if hasattr(ds, "keys") else [ds]:
        missing = [c for c in ("audio", "emotion") if c not in split.column_names]
        if missing:
            raise SERError(
                f"the dataset has no {', '.join(missing)} column; load it with ser_hf.data.corpora.load_corpus "
                f"(columns: {', '.join(split.column_names)})"
            )
        if not isinstance(split.features["audio"], Audio):
            raise SERError("the audio column must be a datasets.Audio feature")

    def strip_paths(split: Any) -> Any:
        if "path" not in split.column_names:
            return split
        names = [Path(str(p)).name for p in split["path"]]
        return split.remove_columns("path").add_column("file", names)

    if hasattr(ds, "keys"):
        from datasets import DatasetDict

        return DatasetDict({name: strip_paths(split) for name, split in ds.items()})
    return strip_paths(ds)


def load_corpus_specs(
    specs: Sequence[str],
    label_scheme: str | None = None,
    check_audio: bool = False,
    *,
    hub_split: str | None = None,
    default_split: str = "train",
    return_splits: bool = False,
) -> Any:
    """``["ravdess=/data/ravdess", ...]`` -> one Dataset via :mod:`ser_hf.data.corpora` (``check_audio``:
    clips whose samples do not decode are left out, see :func:`ser_hf.data.corpora.load_corpus`).

    ``hub_split`` / ``default_split``: the split(s) read of data with splits of their own (``split`` /
    ``default_split`` of :func:`~ser_hf.data.corpora.load_corpus`). ``return_splits``: return
    ``(dataset, the split each row was read from)``, ``[]`` when no corpus has splits."""
    from ..data import corpora

    pairs = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise SERError("a corpus is given as NAME=PATH, e.g. ravdess=/data/ravdess", source=spec)
        pairs.append((name.strip(), path.strip()))
    kwargs: dict[str, Any] = {"label_scheme": label_scheme} if label_scheme else {}
    kwargs.update(check_audio=check_audio, split=hub_split, default_split=default_split, return_report=True)
    if len(pairs) == 1:
        ds, report = corpora.load_corpus(pairs[0][0], pairs[0][1], **kwargs)
        reports = [report]
    else:
        ds, reports = corpora.load_corpora(pairs, **kwargs)
    if not return_splits:
        return ds
    if not any(r.row_splits for r in reports):
        return ds, []
    return ds, [s for r in reports for s in (r.row_splits or [""] * r.rows)]


def push_dataset(
    ds_or_corpus_spec: Any,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    label_scheme: str | None = None,
    commit_message: str = DEFAULT_DATASET_COMMIT_MESSAGE,
    license: str | None = None,
    split: str | None = None,
    hub_split: str | None = None,
    seed: int = 0,
) -> str:
    """Upload a harmonised corpus with its dataset card.

    Args:
        ds_or_corpus_spec: a ``datasets.Dataset`` / ``DatasetDict`` with ``audio`` and ``emotion``
            columns, or ``"name=path"`` corpus spec(s) loaded with :mod:`ser_hf.data.corpora`; every clip
            of those is decoded once and the ones whose samples do not decode are left out (logged),
            so the dataset never carries a file its users cannot read.
        repo_id: the dataset repo, ``"user/name"``.
        label_scheme: scheme used to load corpus specs, and named on the card.
        license: the data's Hub licence id (e.g. ``cc-by-4.0``) for the card; default: the known
            corpora's licences ("other", "unknown" for a corpus the package does not know).
        split: the dataset's splits (:func:`dataset_parts`): None, the data's own as they are (a corpus
            folder: ``train``); ``"speaker"``, speaker-independent ``train`` / ``validation`` / ``test``
            (the card names their speakers); or any ``ser-hf train --split`` value.
        hub_split: the split(s) to read of corpus specs with splits of their own (``test``,
            ``train+validation``); default all of ``train``, ``validation`` and ``test`` they have.
        seed: the draw of ``split="speaker"``'s speakers (and of a ``kfold`` / ``random`` split).

    ``Dataset.push_to_hub`` uploads the data (audio bytes embedded in parquet) and writes the
    card's ``configs`` and ``dataset_info``; the card is committed after it with those kept, so a
    failed data upload leaves no card that describes data the repo lacks.

    Returns:
        the dataset's URL on the endpoint.
    """
    check_repo_id(repo_id)
    token = check_token(token)  # before every clip is decoded (minutes on a whole corpus)
    row_splits: list[str] = []
    if isinstance(ds_or_corpus_spec, (str, list, tuple)):
        specs = [ds_or_corpus_spec] if isinstance(ds_or_corpus_spec, str) else list(ds_or_corpus_spec)
        ds, row_splits = load_corpus_specs(  # no corrupt clip goes up
            specs,
            label_scheme,
            check_audio=True,
            hub_split=hub_split,
            default_split="train+validation+test",  # the data's own splits: all of them go up
            return_splits=True,
        )
    else:
        ds = ds_or_corpus_spec
    ds, made = dataset_parts(ds, split, row_splits, seed)
    ds = _prepare_dataset(ds)
    card = make_dataset_card(ds, repo_id, label_scheme=label_scheme, license=license, made_by=made)
    api = HfApi(token=token)
    with hub_errors("push the dataset", repo_id):
        url = create_repo(api, repo_id, private=private, repo_type="dataset")
        ds.push_to_hub(repo_id, private=private, token=token, commit_message=commit_message)
        pushed = DatasetCard.load(repo_id, repo_type="dataset", token=token)  # push_to_hub's metadata
        for key in ("configs", "dataset_info"):
            if pushed.data.get(key) is not None:
                card.data[key] = pushed.data.get(key)
        api.upload_file(
            path_or_fileobj=str(card).encode(),
            path_in_repo="README.md",
            repo_id=repo_id,
            repo_type="dataset",
            commit_message="Add dataset card",
        )
    logger.info("pushed %s to %s", ", ".join(f"{name} {len(part)} rows" for name, part in ds.items()), url)
    return str(url)
