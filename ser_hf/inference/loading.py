"""Loading a classifier's parts from a folder or a Hub id, each failure a :class:`SERError` that says
what to do: an interrupted save, pickled weights (never unpickled), corrupt or mismatched weights."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import SERError
from ..training.saving import PREVIOUS_MODEL_DIR, quiet_loading


def load_model(model: str | os.PathLike, trust_remote_code: bool) -> Any:
    from safetensors import SafetensorError
    from transformers import AutoModelForAudioClassification

    folder = Path(model)
    backup = folder / PREVIOUS_MODEL_DIR
    if folder.is_dir() and not (folder / "config.json").is_file() and (backup / "config.json").is_file():
        raise SERError(
            f"a save into this folder was interrupted, so it holds no complete model; the previous "
            f"complete model is in {backup}: load that folder, or save the model again",
            source=str(model),
        )
    if folder.is_dir() and not any(folder.glob("*.safetensors")):
        pickled = sorted(p.name for p in folder.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".ckpt"))
        if pickled:
            # pickle files can run arbitrary code when loaded: refuse them, never unpickle
            raise SERError(
                f"only pickled weights ({', '.join(pickled)}), no model.safetensors; ser_hf loads "
                "safetensors only because pickle files can run code. Convert a model you trust with "
                "model.save_pretrained(folder) (writes model.safetensors)",
                source=str(model),
            )
    try:
        with quiet_loading():
            return AutoModelForAudioClassification.from_pretrained(
                str(model), trust_remote_code=trust_remote_code, use_safetensors=True
            )
    except SafetensorError as err:
        where = folder / "model.safetensors" if folder.is_dir() else model
        raise SERError(
            f"the weights file is corrupt or truncated ({err}); re-download or re-save the model",
            source=str(where),
        ) from err
    except (OSError, ValueError, KeyError) as err:
        raise SERError(_load_hint(err), source=str(model)) from err
    except RuntimeError as err:  # weights of other shapes than config.json says (a raw traceback)
        raise SERError(
            "the weights do not fit config.json (another model's config, or an edited one): "
            f"{str(err).splitlines()[0][:300]}; re-save the model with save_pretrained",
            source=str(model),
        ) from err


def load_config(model: str | os.PathLike, trust_remote_code: bool) -> Any:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(str(model), trust_remote_code=trust_remote_code)
    except (OSError, ValueError, KeyError) as err:
        raise SERError(_load_hint(err), source=str(model)) from err


def load_feature_extractor(fe: Any, trust_remote_code: bool) -> Any:
    if not isinstance(fe, (str, os.PathLike)):
        return fe
    from transformers import AutoFeatureExtractor

    try:
        return AutoFeatureExtractor.from_pretrained(str(fe), trust_remote_code=trust_remote_code)
    except (OSError, ValueError, KeyError) as err:
        raise SERError(_load_hint(err), source=str(fe)) from err


def _load_hint(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return (
        f"cannot load the model ({text[:300]}); pass a folder saved by ser_hf (config.json, "
        "model.safetensors, preprocessor_config.json) or a Hub id you can reach"
    )
