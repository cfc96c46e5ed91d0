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
      on has no clips of) ``", 9 clips, scored on 4 of the model's 8 classes (angry, ...)"``, and a
      class the model has that the data merges into another (``", calm counted as neutral"``: TESS has
      no calm, so the 8-class model's calm answers are scored as neutral);
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
    # the model's classes the data has none of by that name, scored as the class they merge into
    counted = set().union(*per_corpus.values()) if per_corpus else set(targets)
    merged = sorted((m, d) for m, d in targets.items() if m != d and m in counted)
    if merged:
        parts.append(" and ".join(f"{m} counted as {d}" for m, d in merged))
    if evaluation.get("channel"):
        parts.append(f"after the channel {evaluation['channel']}")
    if evaluation.get("adapted"):
        parts.append(f"adapted {evaluation['adapted']} (test-time adaptation: not the model's plain result)")
    return corpora, "".join(f", {part}" for part in parts)


def corpus_scope(
    evaluation: Mapping[str, Any] | None, own_split_independent: bool = True
) -> tuple[list[str], str, list[str]]:
    """What ``ser-hf evaluate`` (since session 45: ``test_corpora``, ``training_corpora``,
    ``cross_corpus``, ``harmonised_from``, ``chance_ua``) or a run's test metrics record of the data:
    the words for the card's results row and protocol (``["cross-corpus (the model never trained on
    TESS)", "labels merged as loaded: ravdess: calm (192) -> neutral", "chance UA 0.143"]``), the brief
    tag its model-index metric names take (``"cross-corpus"``) and the sentences under the results.

    A corpus the model trained on is said to be one: its figure is not corpus-independent, and
    speaker-independent only when the split held the model's speakers out (``--split unseen``, the
    model's own test split; a run's own test metrics by its ``split.json``: ``own_split_independent``).
    Results without these fields (an older ``metrics.json``; its ``cross_corpus`` then meant the
    model's classes differ from the data's) give nothing."""
    from ..data.labels import harmonisation_lines
    from .card_facts import corpus_info

    if not evaluation:
        return [], "", []
    parts: list[str] = []
    notes: list[str] = []
    tag = ""
    tested = [str(c) for c in evaluation.get("test_corpora") or ()]
    trained = [str(c) for c in evaluation.get("training_corpora") or ()]
    cross = evaluation.get("cross_corpus")

    def names(corpora: Sequence[str]) -> str:
        return " + ".join(corpus_info(c)["name"] for c in corpora)

    if tested and "test_corpora" in evaluation:  # an older file's cross_corpus meant label_sets_differ
        if cross is None or not trained:
            tag = "training corpora unrecorded"
            parts.append(f"the model records no training corpora: {names(tested)} may be one it trained on")
            notes.append(
                f"The model records no training corpora, so whether {names(tested)} is a corpus it trained on "
                "is not known: these figures are not shown to be cross-corpus."
            )
        else:
            unseen = [c for c in tested if c not in trained] if cross else []
            if cross and not unseen:  # its training data found under another name counts as trained on
                unseen = tested
            seen = [c for c in tested if c not in unseen]
            split = str(evaluation.get("split") or "")
            if "model" not in evaluation:  # a run's own test metrics: its split.json says
                held_out = own_split_independent
            else:
                held_out = split == "unseen" or (
                    split.startswith("model") and evaluation.get("subset") in (None, "test")
                )
            if unseen:
                parts.append(f"cross-corpus (the model never trained on {names(unseen)})")
                notes.append(
                    f"{names(unseen)}: a corpus the model never trained on (it trained on {names(trained)}), "
                    "so its figures are cross-corpus: neither its speakers nor its recordings were seen in training."
                )
            if seen:
                parts.append(f"in-domain ({names(seen)}: a corpus the model trained on)")
                said = (
                    f"{names(seen)}: a corpus the model trained on, so its figures are not corpus-independent"
                )
                notes.append(
                    f"{said}; the split ({split or 'test'}) held out the speakers the model trained or was "
                    "chosen on, so they are speaker-independent."
                    if held_out
                    else f"{said}, and the split ({split or 'unrecorded'}) did not hold out the speakers the "
                    "model trained on, so they are not shown to be speaker-independent either (evaluate with "
                    "--split unseen)."
                )
            tag = (
                "cross-corpus"
                if unseen and not seen
                else "in-domain"
                if seen and not unseen
                else "partly cross-corpus"
            ) + ("" if held_out or not seen else ", speakers not held out")
    merged = evaluation.get("harmonised_from")
    lines = harmonisation_lines(merged) if isinstance(merged, Mapping) else []
    if lines:
        scheme = evaluation.get("label_scheme")
        parts.append("labels merged as loaded: " + "; ".join(lines))
        notes.append(
            "Labels merged as the data were loaded"
            + (f" (label scheme {scheme})" if isinstance(scheme, str) and scheme else "")
            + ": "
            + "; ".join(lines)
            + "; those clips are scored as the class they were merged into."
        )
    chance = evaluation.get("chance_ua")
    if isinstance(chance, (int, float)) and not isinstance(chance, bool):
        parts.append(f"chance UA {chance:.3f}")
        notes.append(
            f"Chance UA (a uniform guess among the classes each clip is scored on): {chance:.3f}; "
            "compare UA with it, not with zero."
        )
    return parts, tag, notes
