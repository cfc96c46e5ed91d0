"""Several corpora of your own under label scheme ``native``: one ``ClassLabel``, the union of their labels.

Each corpus read with its own labels has its own class list (:func:`ser_hf.data.corpora.load_corpus`);
:func:`one_classlabel` gives them one, so that they concatenate. Labels that differ only in case,
spaces or Unicode form (``Joy`` in one corpus, ``joy`` in another) are one class, named by the
spelling most rows have, as within one corpus; labels that ser_hf reads as one emotion but that are
spelt apart (``anger`` and ``angry``) stay two classes, with a warning naming the ``--label-map`` that
makes them one.
"""

from __future__ import annotations

import logging
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from .labels import _fold, _strip_gender, normalize_emotion

logger = logging.getLogger(__name__)


def one_classlabel(parts: Sequence[Any], corpora: Sequence[str]) -> list[Any]:
    """``parts`` (datasets of :data:`ser_hf.data.rows.COLUMNS`, one per corpus, each with its own
    ``emotion`` ClassLabel) with one ``ClassLabel``: the union of their class names, sorted (kept as it
    is when every part has the same list). Says which corpus has which class."""
    from datasets import ClassLabel

    lists = [list(p.features["emotion"].names) for p in parts]
    rows = [Counter(p["emotion"]) for p in parts]
    spellings: dict[str, Counter] = {}  # folded label -> {spelling: rows}
    holders: dict[str, dict[str, list[str]]] = {}  # folded label -> {spelling: corpora}
    for names, counts, corpus in zip(lists, rows, corpora):
        for i, name in enumerate(names):
            key = _fold(name)
            spellings.setdefault(key, Counter())[name] += counts.get(i, 0)
            holders.setdefault(key, {}).setdefault(name, []).append(corpus)
    # the most rows; on a tie the spelling met first
    chosen = {key: max(c, key=lambda s, c=c: (c[s], -list(c).index(s))) for key, c in spellings.items()}
    for key, c in spellings.items():
        if len(c) > 1:
            logger.warning(
                "labels %s differ only in case, spaces or Unicode form: one class %r (--label-map renames "
                "them otherwise)",
                ", ".join(f"{s!r} ({', '.join(holders[key][s])})" for s in c),
                chosen[key],
            )
    union = lists[0] if all(n == lists[0] for n in lists) else sorted(chosen.values())
    where = {chosen[k]: list(dict.fromkeys(c for cs in holders[k].values() for c in cs)) for k in chosen}
    _warn_of_one_emotion_apart(union, where)
    logger.info(
        "label scheme native: %d classes, the corpora's own labels: %s",
        len(union),
        "; ".join(f"{n} ({', '.join(where[n])})" for n in union),
    )
    index = {name: i for i, name in enumerate(union)}
    out = []
    for part, names in zip(parts, lists):
        ids = [index[chosen[_fold(n)]] for n in names]
        if names == union:
            out.append(part)
            continue
        column = [ids[e] for e in part["emotion"]]
        moved = part.remove_columns("emotion").add_column("emotion", column, feature=ClassLabel(names=union))
        out.append(moved.select_columns(list(part.column_names)))
    return out


def _warn_of_one_emotion_apart(union: Sequence[str], where: dict[str, list[str]]) -> None:
    """Classes ser_hf reads as one emotion (``anger`` of one corpus, ``angry`` of another) stay apart
    under native: each is learnt from its own corpus only. Name them and the map that joins them."""
    by_emotion: dict[str, list[str]] = {}
    for name in union:
        emotion = normalize_emotion(_strip_gender(name))
        if emotion is not None:
            by_emotion.setdefault(emotion, []).append(name)
    for emotion, names in by_emotion.items():
        if len(names) < 2:
            continue
        if set.intersection(*(set(where.get(n, [])) for n in names)):  # one corpus holds them all:
            continue  # its load named them (warn_of_labels_alike)
        target = emotion if emotion in names else names[0]
        pairs = ",".join(f"{n}={target}" for n in names if n != target)
        logger.warning(
            "classes %s are one emotion (%s) by ser_hf's names, but two classes here under label scheme "
            "native, each learnt from its own corpus: make them one with --label-map '%s' (from Python "
            "label_map=), or name a scheme (--label_scheme harmonized7)",
            " and ".join(f"{n!r} ({', '.join(where.get(n, []))})" for n in names),
            emotion,
            pairs,
        )


# letters NFKD does not take apart (Polish ł, Danish ø ...): what a keyboard without them types
_PLAIN = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "ß": "ss", "æ": "ae", "œ": "oe"})


def plain_letters(label: str) -> str:
    """A label without case, accents or the letters of other alphabets' keyboards (``Złość`` ->
    ``zlosc``, ``énervé`` -> ``enerve``)."""
    decomposed = unicodedata.normalize("NFKD", _fold(label).translate(_PLAIN))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _one_letter_apart(a: str, b: str) -> bool:
    if len(a) < len(b):
        a, b = b, a
    if len(a) - len(b) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    return any(a[:i] + a[i + 1 :] == b for i in range(len(a)))


def look_alike(a: str, b: str, pa: str | None = None, pb: str | None = None) -> str | None:
    """Why two labels look like one typed two ways (``zlosc`` / ``złość``: "differ only in accents";
    ``neutralna`` / ``neutralny``: "are one letter apart", for labels of 5 letters or more), or None.
    ``pa``, ``pb``: their :func:`plain_letters`, when known."""
    pa, pb = pa or plain_letters(a), pb or plain_letters(b)
    if _fold(a) == _fold(b):
        return None  # one class already (the loader merges them)
    if pa == pb:
        return "differ only in accents or letters a keyboard may lack"
    if min(len(pa), len(pb)) >= 5 and _one_letter_apart(pa, pb):
        return "are one letter apart"
    return None


def warn_of_labels_alike(corpus: str, counts: Mapping[str, int]) -> None:
    """One corpus's labels that are one emotion by ser_hf's names (``anger`` and ``angry``) or look
    typed two ways (``zlosc`` and ``złość``, ``neutralna`` and ``neutralny``): they stay two classes,
    each learnt from its own clips and an evaluation scores one of them against the model's class;
    name them, with the ``--label-map`` that joins them onto the label most rows have."""
    names = sorted(counts, key=lambda n: -counts[n])  # the most rows first: the map's target
    if len(names) > 500:  # free text, not classes: other warnings say so
        return
    emotion = {n: normalize_emotion(n) for n in names}  # female_angry and male_angry are two on purpose
    plain = {n: plain_letters(n) for n in names}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            one = bool(emotion[a]) and emotion[a] == emotion[b]
            why = "are one emotion by ser_hf's names" if one else look_alike(a, b, plain[a], plain[b])
            if why:
                into, other = (b, a) if one and emotion[b] == b else (a, b)  # the emotion's own name first
                logger.warning(
                    "%s: labels %r (%d rows) and %r (%d rows) %s, but two classes here; if they are one, "
                    "--label-map '%s=%s' (from Python label_map=) makes them one",
                    corpus, a, counts[a], b, counts[b], why, other, into,
                )  # fmt: skip
