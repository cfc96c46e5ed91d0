"""Whether a model's heads are still the ones ser_hf fitted.

A saved model's ``calibration_temperature`` was fitted for its ``classifier``, and a speaker head
(``speaker_classifier``, used after ``adapt``) beside that classifier, on the same labels. Loaded
with new labels (``from_pretrained(..., num_labels=5, ignore_mismatched_sizes=True)``) and trained
with a stock ``Trainer``, the classifier changes, the speaker head is drawn at random and never
trained (the unadapted forward does not use it), and both records go stale without a word: once
adapted, such a model classified through the random layer, at chance.

So every save by ser_hf records the norm of each head in ``config.fitted_heads``; :func:`changed_heads`
compares the loaded weights with it (a relative 1e-3: loading in bfloat16 moves a norm far less,
re-initialising or fine-tuning far more). A model saved without the record (older versions, a
plain ``save_pretrained``) is trusted as before.
"""

from __future__ import annotations

import math
from typing import Any

HEADS = ("classifier", "speaker_classifier")
TOLERANCE = 1e-3


def head_norms(model: Any) -> dict[str, float]:
    """The L2 norm of the weights and biases of each head ``model`` has, by name."""
    norms = {}
    for name in HEADS:
        module = getattr(model, name, None)
        if module is not None:
            norms[name] = math.sqrt(
                sum(float(p.detach().double().square().sum()) for p in module.parameters())
            )
    return norms


def record_fitted_heads(model: Any) -> None:
    """Write :func:`head_norms` into ``model.config.fitted_heads`` (ser_hf's saves call it)."""
    if getattr(model, "config", None) is not None and (norms := head_norms(model)):
        model.config.fitted_heads = norms


def changed_heads(model: Any) -> list[str]:
    """The heads whose weights are not those recorded at ser_hf's save (none without a record)."""
    recorded = getattr(getattr(model, "config", None), "fitted_heads", None)
    if not isinstance(recorded, dict):
        return []
    return _differing(recorded, head_norms(model))


def _differing(recorded: dict[str, Any], now: dict[str, float]) -> list[str]:
    """The heads of ``recorded`` whose norm ``now`` (when known) is not the recorded one."""
    return [
        name
        for name, norm in recorded.items()
        if name in now and not math.isclose(now[name], float(norm), rel_tol=TOLERANCE)
    ]


def changed_heads_in_folder(folder: Any) -> list[str]:
    """:func:`changed_heads` of a saved model folder, read from its ``config.json`` and safetensors
    (no model built): what a model card checks. The heads' parameters are the tensors under their
    name, less BatchNorm's running statistics (buffers, which adaptation moves)."""
    import json
    from pathlib import Path

    from safetensors import safe_open

    folder = Path(folder)
    try:
        recorded = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("fitted_heads")
    except (OSError, ValueError, AttributeError):
        return []
    if not isinstance(recorded, dict):
        return []
    squares = dict.fromkeys(recorded, 0.0)
    for weights in sorted(folder.glob("*.safetensors")):
        with safe_open(str(weights), framework="pt") as f:
            for key in f.keys():
                head = key.split(".", 1)[0]
                if head in squares and not key.endswith(
                    ("running_mean", "running_var", "num_batches_tracked")
                ):
                    squares[head] += float(f.get_tensor(key).double().square().sum())
    return _differing(recorded, {name: math.sqrt(sq) for name, sq in squares.items() if sq > 0})
