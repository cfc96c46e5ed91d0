"""Publish a harmonised corpus to the Hugging Face Hub (``ser-hf push-dataset``).

:func:`push_dataset` uploads a corpus loaded by :mod:`ser_hf.data.corpora` (or any dataset with the
same columns) with ``Dataset.push_to_hub``, which embeds the audio bytes into parquet shards, plus a
dataset card (:func:`make_dataset_card`) naming sources, licences, the label scheme and speaker
counts. Credentials, repo ids and the Hub's errors as in :mod:`ser_hf.hub.repos`.
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


def make_dataset_card(
    ds: Any, repo_id: str, *, label_scheme: str | None = None, license: str | None = None
) -> DatasetCard:
    """Dataset card: sources with licences and citations, the label scheme, speaker counts.

    ``ds`` is a ``datasets.Dataset`` (or a ``DatasetDict``: counts cover every split) with the
    columns of :func:`ser_hf.data.corpora.load_corpus` (``audio``, ``emotion``, ``speaker``, ``gender``,
    ``corpus``, ...); counts come from :func:`ser_hf.data.corpora.corpus_summary`. The card carries no ``configs``/``dataset_info``: ``Dataset.push_to_hub`` adds them.
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
    lines += [
        "## Use",
        "",
        "Split by SPEAKER (`speaker` column) for any evaluation: a random clip split puts the same "
        "actors in train and test and inflates scores.",
        "",
        "## Citations",
        "",
        *[f"- {i['citation']}" for i in infos if i.get("citation")],
    ]
    return DatasetCard(f"---\n{card_data.to_yaml()}\n---\n\n" + "\n".join(lines) + "\n")


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
    specs: Sequence[str], label_scheme: str | None = None, check_audio: bool = False
) -> Any:
    """``["ravdess=/data/ravdess", ...]`` -> one Dataset via :mod:`ser_hf.data.corpora` (``check_audio``:
    clips whose samples do not decode are left out, see :func:`ser_hf.data.corpora.load_corpus`)."""
    from ..data import corpora

    pairs = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise SERError("a corpus is given as NAME=PATH, e.g. ravdess=/data/ravdess", source=spec)
        pairs.append((name.strip(), path.strip()))
    kwargs: dict[str, Any] = {"label_scheme": label_scheme} if label_scheme else {}
    kwargs["check_audio"] = check_audio
    if len(pairs) == 1:
        return corpora.load_corpus(pairs[0][0], pairs[0][1], **kwargs)
    return corpora.load_corpora(pairs, **kwargs)


def push_dataset(
    ds_or_corpus_spec: Any,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    label_scheme: str | None = None,
    commit_message: str = DEFAULT_DATASET_COMMIT_MESSAGE,
    license: str | None = None,
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

    ``Dataset.push_to_hub`` uploads the data (audio bytes embedded in parquet) and writes the
    card's ``configs`` and ``dataset_info``; the card is committed after it with those kept, so a
    failed data upload leaves no card that describes data the repo lacks.

    Returns:
        the dataset's URL on the endpoint.
    """
    check_repo_id(repo_id)
    token = check_token(token)  # before every clip is decoded (minutes on a whole corpus)
    if isinstance(ds_or_corpus_spec, (str, list, tuple)):
        specs = [ds_or_corpus_spec] if isinstance(ds_or_corpus_spec, str) else list(ds_or_corpus_spec)
        ds = load_corpus_specs(specs, label_scheme, check_audio=True)  # no corrupt clip goes up
    else:
        ds = ds_or_corpus_spec
    ds = _prepare_dataset(ds)
    card = make_dataset_card(ds, repo_id, label_scheme=label_scheme, license=license)
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
    logger.info("pushed %s rows to %s", getattr(ds, "num_rows", "?"), url)
    return str(url)
