"""What an evaluation published on a model card was measured on, in words: the corpora it scored,
its clips, the model's classes it was scored on, and whether the clips passed through a channel or
the model adapted to them first (then its figures are not the model's plain held-out results)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .results import corpora_from


def evaluation_scope(evaluation: Mapping[str, Any] | None, labels: Sequence[str]) -> tuple[list[str], str]:
    """The corpora a ``ser-hf evaluate`` result scored (its ``corpora``; none recorded in a run's own
    test metrics) and the words that follow its split's name on the card:

    - its clips and the model's classes it was scored on (of ``labels``): ``", 240 clips, all 8
      classes"``, or when the corpus lacks some (its ``label_mapping`` counts the model's classes that
      merge, calm -> neutral; its ``masked_classes`` takes out those a corpus the model never trained
      on has no clips of) ``", 9 clips, scored on 4 of the model's 8 classes (angry, ...)"``;
    - ``", after the channel noise:0"`` when the clips passed through a ``--channel`` condition;
    - ``", adapted per speaker, ... (test-time adaptation: not the model's plain result)"`` for
      ``--adapt``.
    """
    if not evaluation:
        return [], ""
    corpora = corpora_from({"corpora": evaluation.get("corpora")})
    n_classes = len(labels)
    mapped = evaluation.get("label_mapping")  # model classes that count: calm -> neutral is no class lost
    targets = {str(name): str(name) for name in evaluation.get("labels") or ()}
    if isinstance(mapped, Mapping) and mapped:  # the model's classes (the data's names may be fewer: merged)
        targets = {str(m): str(d) for m, d in mapped.items()}
    masked = evaluation.get("masked_classes")
    masked = {str(c): set(map(str, v)) for c, v in masked.items()} if isinstance(masked, Mapping) else {}
    per_corpus = {c: sorted(m for m, d in targets.items() if d not in out) for c, out in masked.items()}
    parts = []
    if isinstance(evaluation.get("n"), int):
        parts.append(f"{evaluation['n']} clips")
    if len(per_corpus) > 1:  # corpora scored on different classes
        parts += [
            f"{c} scored on {len(names)} of the model's {n_classes} classes ({', '.join(names)})"
            for c, names in per_corpus.items()
        ]
    else:
        scored = next(iter(per_corpus.values())) if per_corpus else sorted(targets)
        if 0 < len(scored) < n_classes:
            parts.append(f"scored on {len(scored)} of the model's {n_classes} classes ({', '.join(scored)})")
        elif scored and parts:
            parts.append(f"all {n_classes} classes")
    if evaluation.get("channel"):
        parts.append(f"after the channel {evaluation['channel']}")
    if evaluation.get("adapted"):
        parts.append(f"adapted {evaluation['adapted']} (test-time adaptation: not the model's plain result)")
    return corpora, "".join(f", {part}" for part in parts)
