"""The card a push publishes: the model folder's own ``README.md`` when it has one, else a generated one.

A bundled model ships the card its authors wrote (the default's puts its cross-corpus results, where
it fails, first); a user may hand-edit one. :func:`card_for_push` publishes that card, with its YAML
front matter parsed and kept, and only what names the repository brought up to date: the
``model-index`` name, the ``pipeline_tag`` / ``library_name`` / ``custom_code`` tag a Hub copy needs when
missing, and a short section on loading this repository with the stock pipeline (the folder's card
loads the folder). ``regenerate=True`` (``ser-hf push --regenerate-card``), a folder without a
``README.md`` (what ``ser-hf train`` writes) or one that transformers' ``Trainer`` generated get
:func:`ser_hf.hub.cards.make_model_card`'s card instead.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import ModelCard

from ..errors import SERError
from .cards import MODEL_TAGS, PIPELINE_TAG, make_model_card

logger = logging.getLogger(__name__)

CARD_FILE = "README.md"
# transformers' Trainer.create_model_card writes this comment: a stub to proofread, not an author's card
TRAINER_STUB = "This model card has been generated automatically according to the information the Trainer"
_YAML_BLOCK = re.compile(r"^(\s*---[ \t]*(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(?:\r\n|\n|$))")
_SECTION_START = "<!-- ser-hf push: loading this repository (rewritten by every push) -->"
_SECTION_END = "<!-- end of ser-hf push's section -->"
# what a push changes in the folder's own card (own_card), as its messages say it
_CHANGED = (
    "its model-index name, a missing pipeline_tag / library_name / custom_code tag and its "
    "'Loading this repository' section updated"
)
_SECTION = re.compile(re.escape(_SECTION_START) + r"[\S\s]*?" + re.escape(_SECTION_END) + r"\n*")


def folder_card_path(model_dir: str | Path) -> Path | None:
    """The folder's ``README.md`` when it is an author's model card (not empty, not the Trainer's stub)."""
    path = Path(model_dir) / CARD_FILE
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        logger.info("%s is empty: generating the model card", path)
        return None
    if TRAINER_STUB in text:
        logger.info("%s is transformers' Trainer stub: generating the model card in its place", path)
        return None
    return path


def card_for_push(
    model_dir: str | Path,
    repo_id: str,
    eval_json: str | Path | Mapping[str, Any] | None = None,
    cv_json: str | Path | Mapping[str, Any] | None = None,
    *,
    datasets: Sequence[str] | None = None,
    license: str | None = None,
    protocol: str | None = None,
    regenerate: bool = False,
) -> str:
    """The text of the model card ``ser-hf push`` uploads as ``README.md`` (and ``--card-only`` prints).

    The folder's own ``README.md`` (see :func:`folder_card_path` and :func:`own_card`) unless
    ``regenerate``; with it, the results and corpora options, which only a generated card holds, are an
    :class:`SERError` naming both ways out. Otherwise :func:`~ser_hf.hub.cards.make_model_card`'s card."""
    path = None if regenerate else folder_card_path(model_dir)
    if path is None:
        card = make_model_card(
            model_dir, repo_id, eval_json, cv_json, datasets=datasets, license=license, protocol=protocol
        )
        return str(card)
    given = [
        flag
        for flag, value in (
            ("--eval-json", eval_json),
            ("--cv-json", cv_json),
            ("--datasets", datasets),
            ("--license", license),
            ("--protocol", protocol),
        )
        if value is not None
    ]
    if given:
        named = given[0] if len(given) == 1 else f"{', '.join(given[:-1])} and {given[-1]}"
        raise SERError(
            f"the folder has its own model card, which a push uploads with only {_CHANGED}, and {named} "
            f"only {'goes' if len(given) == 1 else 'go'} into a generated card: pass --regenerate-card to "
            f"upload a card generated with {'it' if len(given) == 1 else 'them'} in its place, or write what "
            f"{'it says' if len(given) == 1 else 'they say'} into README.md and leave "
            f"{'it' if len(given) == 1 else 'them'} out",
            source=str(path),
        )
    logger.info(
        "the model card is %s, the folder's own, with only %s (--regenerate-card uploads a generated one "
        "instead)",
        path,
        _CHANGED,
    )
    return own_card(path, repo_id)


def own_card(path: Path, repo_id: str) -> str:
    """The text of ``path``'s card for the repo ``repo_id``: its YAML kept (checked to parse), the
    ``model-index`` name set to the repo's name, ``pipeline_tag`` / ``library_name`` / the ``custom_code``
    tag added when missing, and the section on loading this repository written (replaced on a card
    pushed before). The rest is the author's text as it is; the front matter is edited line by line
    (comments and number formats kept) and written out again only where that cannot reach."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise SERError(
            f"the model card is not UTF-8 text ({err.reason} at byte {err.start}); save it as UTF-8, or pass "
            "--regenerate-card to upload a generated card instead",
            source=str(path),
        ) from err
    text = text.removeprefix("\ufeff")  # a byte-order mark (Notepad's "UTF-8 with BOM") hid the front matter
    match = _YAML_BLOCK.search(text)
    if match is None and re.match(r"\s*---[ \t]*(?:\r\n|\r|\n|$)", text):
        raise SERError(
            "the model card's YAML front matter has an opening --- line but no closing one; end it with a "
            "line of --- (or remove the first line), or pass --regenerate-card to upload a generated card "
            "instead",
            source=str(path),
        )
    try:
        data = (yaml.safe_load(match.group(2)) if match else None) or {}
    except yaml.YAMLError as err:
        raise SERError(
            f"the model card's YAML front matter does not parse ({str(err).splitlines()[0]}); fix it, or pass "
            "--regenerate-card to upload a generated card instead",
            source=str(path),
        ) from err
    if not isinstance(data, dict):
        raise SERError(
            "the model card's front matter is not a YAML mapping (key: value lines between the --- lines); "
            "fix it, or pass --regenerate-card",
            source=str(path),
        )
    body = text[match.end() :] if match else text
    updated = dict(data)
    updated.setdefault("pipeline_tag", PIPELINE_TAG)
    updated.setdefault("library_name", "transformers")
    tags = updated.get("tags") or []
    tags = [tags] if isinstance(tags, str) else list(tags)
    if MODEL_TAGS[0] not in tags:  # custom_code: the repo carries the model's code (auto_map)
        updated["tags"] = [MODEL_TAGS[0], *tags]
    name = repo_id.split("/")[-1]
    if isinstance(updated.get("model-index"), list):
        updated["model-index"] = [
            {**entry, "name": name} if isinstance(entry, dict) else entry for entry in updated["model-index"]
        ]
    header = _edited_header(match.group(2), data, updated) if match else None
    if header is None:  # no front matter, or one the line edits cannot reach: written out again
        header = yaml.safe_dump(updated, sort_keys=False, allow_unicode=True, width=10**6).rstrip("\n")
    card_text = f"---\n{header}\n---\n{_with_loading_section(body, repo_id)}"
    try:
        ModelCard(card_text, ignore_metadata_errors=False)  # the checks only: str() of it re-writes the YAML
    except Exception as err:  # huggingface_hub's checks of model-index and the other fields
        raise SERError(
            f"the model card's metadata is not valid for the Hub ({str(err).splitlines()[0]}); fix the front "
            "matter, or pass --regenerate-card to upload a generated card instead",
            source=str(path),
        ) from err
    return card_text


def _edited_header(header: str, data: dict[str, Any], updated: dict[str, Any]) -> str | None:
    """``header`` (which reads as ``data``) with line edits that make it read as ``updated`` (the
    author's layout, comments and number formats kept), or None when they do not."""
    try:
        edited = _line_edits(header.splitlines(), data, updated)
        return edited if yaml.safe_load(edited) == updated else None
    except (yaml.YAMLError, LookupError, TypeError, AttributeError):
        return None


def _line_edits(lines: list[str], data: dict[str, Any], updated: dict[str, Any]) -> str:
    keys = {m.group(1): i for i, line in enumerate(lines) if (m := re.match(r"([\w-]+):", line))}
    if "model-index" in keys:  # the `- name:` of each entry, at the indentation of the list's items
        items = None
        for i in range(keys["model-index"] + 1, len(lines)):
            if re.match(r"[\w-]+:", lines[i]):
                break
            if (m := re.match(r"(\s*)- name:", lines[i])) and items in (None, m.group(1)):
                items = m.group(1)
                lines[i] = f"{items}- name: {updated['model-index'][0]['name']}"
    if "tags" in keys and lines[keys["tags"]].strip() == "tags:":
        nxt = lines[keys["tags"] + 1] if keys["tags"] + 1 < len(lines) else "- "
        indent = re.match(r"\s*", nxt).group(0)
        if updated["tags"] != data["tags"]:
            lines.insert(keys["tags"] + 1, f"{indent}- {MODEL_TAGS[0]}")
    lines += [f"{key}: {updated[key]}" for key in ("pipeline_tag", "library_name") if key not in keys]
    lines += ["tags:", f"- {MODEL_TAGS[0]}"] if "tags" not in keys else []
    return "\n".join(lines)


def _with_loading_section(body: str, repo_id: str) -> str:
    """``body`` with the section that loads ``repo_id`` before its first ``## `` heading (at its end
    without one); an earlier push's section is replaced, a body that already loads the repo is kept."""
    body = _SECTION.sub("", body)
    if f'model="{repo_id}"' in body or f"model='{repo_id}'" in body:
        return body
    snippets = (  # only a card with code of its own has snippets that may load another place
        " (the snippets above and below may load the local folder this card was written for)"
        if "```" in body or "~~~" in body
        else ""
    )
    section = "\n".join(
        [
            _SECTION_START,
            "## Loading this repository",
            "",
            "This repository carries the model's code, so the stock pipeline loads it without `ser_hf` "
            f"installed{snippets}:",
            "",
            "```python",
            "from transformers import pipeline",
            "",
            f'classifier = pipeline("audio-classification", model="{repo_id}", trust_remote_code=True)',
            'classifier("speech.wav", top_k=3)',
            "```",
            _SECTION_END,
            "",
            "",
        ]
    )
    heading = re.search(r"^## ", body, flags=re.M)
    if heading is None:
        return body.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    return body[: heading.start()] + section + body[heading.start() :]
