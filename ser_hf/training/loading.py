"""The package's one way to load a model, its config or its feature extractor from a folder or a Hub
id: never a folder's own code unless the caller passes ``trust_remote_code=True`` (transformers
otherwise ASKS on stdin, and a piped "y" ran it), safetensors weights only (pickled ones are never
unpickled), and each failure a :class:`SERError` that says what to do: an interrupted save, code
the folder brings, pickled, corrupt or mismatched weights, a config.json that cannot be read.

Every command and API that loads a model goes through here (evaluate, export, distill's teacher,
fusion members, ``--backbone`` encoders, cards, push, ``EmotionClassifier``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import SERError
from .saving import PREVIOUS_MODEL_DIR, quiet_loading

SER_HINT = (
    "pass a folder saved by ser_hf (config.json, model.safetensors, preprocessor_config.json) or a Hub id "
    "you can reach"
)
_PICKLES = (".bin", ".pt", ".pth", ".ckpt")


def load_model(
    model: str | os.PathLike,
    trust_remote_code: bool = False,
    auto_class: Any = None,
    hint: str = SER_HINT,
) -> Any:
    """``auto_class.from_pretrained(model)`` (default ``AutoModelForAudioClassification``) from
    safetensors, without the folder's code unless ``trust_remote_code``; ``hint`` ends the message
    of a folder or id that does not load."""
    from safetensors import SafetensorError
    from transformers import AutoModelForAudioClassification

    from ..models import auto  # noqa: F401  (registers the ser_hf model types with the Auto classes)

    folder = Path(model)
    backup = folder / PREVIOUS_MODEL_DIR
    if folder.is_dir() and not (folder / "config.json").is_file() and (backup / "config.json").is_file():
        raise SERError(
            f"a save into this folder was interrupted, so it holds no complete model; the previous "
            f"complete model is in {backup}: load that folder, or save the model again",
            source=str(model),
        )
    _check_json(folder, "config.json")
    if folder.is_dir() and not any(folder.glob("*.safetensors")):
        pickled = sorted(p.name for p in folder.iterdir() if p.suffix in _PICKLES)
        if pickled:
            raise SERError(_pickle_message(f"only pickled weights ({', '.join(pickled)})"), source=str(model))
    try:
        with quiet_loading():
            return (auto_class or AutoModelForAudioClassification).from_pretrained(
                str(model), trust_remote_code=bool(trust_remote_code), use_safetensors=True
            )
    except SafetensorError as err:
        where = folder / "model.safetensors" if folder.is_dir() else model
        raise SERError(
            f"the weights file is corrupt or truncated ({err}); re-download or re-save the model",
            source=str(where),
        ) from err
    except (OSError, ValueError, KeyError) as err:
        raise SERError(_load_hint(err, folder, trust_remote_code, hint), source=str(model)) from err
    except RecursionError as err:  # a RuntimeError too: not the shape mismatch below
        raise SERError(f"cannot load the model ({err}); {hint}", source=str(model)) from err
    except RuntimeError as err:  # weights of other shapes than config.json says (a raw traceback)
        raise SERError(
            "the weights do not fit config.json (another model's config, or an edited one): "
            f"{str(err).splitlines()[0][:300]}; re-save the model with save_pretrained",
            source=str(model),
        ) from err


def load_config(model: str | os.PathLike, trust_remote_code: bool = False) -> Any:
    from transformers import AutoConfig

    from ..models import auto  # noqa: F401

    _check_json(Path(model), "config.json")
    try:
        return AutoConfig.from_pretrained(str(model), trust_remote_code=bool(trust_remote_code))
    except (OSError, ValueError, KeyError) as err:
        raise SERError(_load_hint(err, Path(model), trust_remote_code), source=str(model)) from err


def load_feature_extractor(fe: Any, trust_remote_code: bool = False, hint: str = SER_HINT) -> Any:
    """``fe`` itself unless it is a folder or Hub id, else ``AutoFeatureExtractor.from_pretrained``
    without the folder's code unless ``trust_remote_code``."""
    if not isinstance(fe, (str, os.PathLike)):
        return fe
    from transformers import AutoFeatureExtractor

    from ..models import auto  # noqa: F401

    _check_json(Path(fe), "preprocessor_config.json", "config.json")
    try:
        return AutoFeatureExtractor.from_pretrained(str(fe), trust_remote_code=bool(trust_remote_code))
    except (OSError, ValueError, KeyError) as err:
        raise SERError(_load_hint(err, Path(fe), trust_remote_code, hint), source=str(fe)) from err


def _check_json(folder: Path, *names: str) -> None:
    """A folder's JSON files that transformers would read, read first: a file nested too deeply
    (``"[" * 200000``) was "maximum recursion depth exceeded" under "the weights do not fit"."""
    for name in names:
        path = folder / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except RecursionError:
            why = "it is nested too deeply to be a model config"
        except (ValueError, OSError) as err:  # UnicodeDecodeError is a ValueError
            why = (
                f"it is not valid JSON ({str(err).splitlines()[0][:200] if str(err) else type(err).__name__})"
            )
        else:
            if isinstance(data, dict):
                continue
            why = f"it holds a JSON {type(data).__name__}, not a model config (an object of settings)"
        raise SERError(
            f"{name} cannot be read: {why}; re-download the model, or re-save it with save_pretrained",
            source=str(path),
        )


def _pickle_message(found: str) -> str:
    # pickle files can run arbitrary code when loaded: refuse them, never unpickle
    return (
        f"{found}, no model.safetensors; ser_hf loads safetensors only because "
        "pickle files can run code. Convert a model you trust with model.save_pretrained(folder) "
        "(writes model.safetensors)"
    )


def _remote_code(folder: Path) -> list[str]:
    """The code modules a folder's configs name in their ``auto_map`` (a Hub id: none known)."""
    refs: list[str] = []
    for name in ("config.json", "preprocessor_config.json"):
        try:
            auto_map = json.loads((folder / name).read_text(encoding="utf-8")).get("auto_map") or {}
            refs += [str(v if isinstance(v, str) else next(iter(v or []), "")) for v in auto_map.values()]
        except (OSError, ValueError, AttributeError, RecursionError):
            continue
    return sorted({r for r in refs if r})


def _load_hint(err: Exception, folder: Path, trust_remote_code: bool = False, hint: str = SER_HINT) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if not trust_remote_code and "custom code" in str(err):
        refs = _remote_code(folder)
        named = f" ({', '.join(refs[:3])} in its auto_map)" if refs else ""
        return (
            f"this model needs code of its own{named}, and ser_hf never runs a model's code unless "
            "told to: use a model saved by ser_hf (its model types load without their folder's code); "
            "only for code you have read and trust: EmotionClassifier(..., trust_remote_code=True) (on the "
            "command line, ser-hf predict --trust-remote-code; other commands never run it)"
        )
    if "cannot be loaded with `safetensors`" in str(err):  # a Hub repo with pickled weights only
        return _pickle_message("pickled weights only (or none)")
    if not folder.exists() and _offline():  # transformers' text never says the Hub was not asked
        return (
            f"no folder {str(folder)!r} here, and offline mode is on (HF_HUB_OFFLINE=1), so the Hub was not "
            "asked: check the path, or unset HF_HUB_OFFLINE to download a Hub model"
            + ("" if hint == SER_HINT else f" ({hint})")
        )
    return f"cannot load the model ({text[:300]}); {hint}"


def _offline() -> bool:
    """Whether huggingface_hub's offline mode (``HF_HUB_OFFLINE``) is on."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)
