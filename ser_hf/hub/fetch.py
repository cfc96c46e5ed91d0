"""Downloads from the Hub: :func:`fetch_model` gives a Hub model as a local folder, for the commands
that read a model's files beside its weights (``ser-hf evaluate`` reads ``split.json``)."""

from __future__ import annotations

from pathlib import Path

from .cards import REPO_ID
from .repos import hub_errors

# what evaluation reads: config, preprocessor, weights, the published split, the licences beside them and
# the model's own code (a model of another library's type loads through its auto_map)
MODEL_PATTERNS = ("*.json", "*.safetensors", "*.txt", "*.md", "*.py")


def is_repo_id(name: str) -> bool:
    """``owner/name`` as the Hub spells a repository: not a path that exists, nor a mistyped path under a
    folder that exists here (``runs/m1x`` is "model folder not found", not a Hub error)."""
    return bool(REPO_ID.fullmatch(name)) and not Path(name).exists() and not Path(name.split("/")[0]).is_dir()


def fetch_model(repo_id: str, revision: str | None = None) -> Path:
    """The local folder of Hub model ``repo_id`` (downloaded into the Hugging Face cache once); Hub
    and network errors come back as :class:`~ser_hf.errors.SERError` with the fix."""
    from huggingface_hub import snapshot_download

    with hub_errors("download the model", repo_id):
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=list(MODEL_PATTERNS)))
