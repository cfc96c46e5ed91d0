"""Label schemes: which emotion classes a model predicts, in which fixed order, and how the native
labels of each corpus map onto them.

Every corpus loader first turns its native codes into a *canonical raw emotion* (one of
:data:`CANONICAL_EMOTIONS`; e.g. SAVEE ``sa`` -> ``sad``, TESS ``ps`` -> ``pleasant_surprise``,
EmoDB ``L`` -> ``boredom``), stored in the ``raw_emotion`` column. A scheme then maps each canonical
emotion to one of its classes, or to ``None`` (the row is dropped).

Schemes (class order = id order, stored with a trained model as ``id2label``):

=================  ==========================================================================
``ravdess8``       neutral calm happy sad angry fearful disgust surprised (RAVDESS native);
                   pleasant_surprise -> surprised; boredom dropped.
``harmonized7``    neutral happy sad angry fearful disgust surprised (multi-corpus setting);
                   calm -> neutral, pleasant_surprise -> surprised; boredom dropped.
``common6``        angry disgust fearful happy neutral sad (shared by RAVDESS, TESS, SAVEE,
                   CREMA-D); calm -> neutral as in harmonized7; surprise and boredom dropped.
``nocalm7``        the harmonized7 classes, but calm rows are DROPPED instead of merged.
``emodb7``         neutral happy sad angry fearful disgust boredom (EmoDB native); calm ->
                   neutral; surprise dropped.
``gender_emotion`` gender x emotion joint classes (``female_angry`` ...), females first, on the
                   base scheme harmonized7; ``gender_emotion:<base>`` picks another base (e.g.
                   ``gender_emotion:common6``). Rows of unknown gender are dropped.
=================  ==========================================================================

Boredom (EmoDB only) has no counterpart in the English corpora, so every scheme except
``emodb7`` drops it rather than forcing it onto neutral. Each corpus has a native default
(:data:`CORPUS_DEFAULT_SCHEME`): RAVDESS ravdess8, TESS/SAVEE harmonized7, CREMA-D common6, EmoDB
emodb7.

For cross-corpus evaluation, :func:`cross_scheme_mapping` maps a trained model's labels onto a
test corpus's scheme and :func:`shared_classes` names the classes the evaluation is restricted to.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import SERError

CANONICAL_EMOTIONS: tuple[str, ...] = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
    "pleasant_surprise",
    "boredom",
)
GENDERS: tuple[str, ...] = ("female", "male", "unknown")

# spelling variants seen in corpora and Hub datasets -> canonical emotion (keys are normalised:
# lower case, spaces/hyphens -> underscores); single-letter corpus codes are NOT here on purpose:
# they mean different things in different corpora and are decoded by each loader.
_ALIASES: dict[str, str] = {
    **{name: name for name in CANONICAL_EMOTIONS},
    "neu": "neutral",
    "neutrality": "neutral",
    "calmness": "calm",
    "hap": "happy",
    "happiness": "happy",
    "joy": "happy",
    "happy_joy": "happy",
    "sadness": "sad",
    "anger": "angry",
    "ang": "angry",
    "fear": "fearful",
    "fea": "fearful",
    "afraid": "fearful",
    "fearfulness": "fearful",
    "disgusted": "disgust",
    "dis": "disgust",
    "surprise": "surprised",
    "sur": "surprised",
    "pleasant_surprised": "pleasant_surprise",
    "pleasantly_surprised": "pleasant_surprise",
    "ps": "pleasant_surprise",
    "bored": "boredom",
    "boredome": "boredom",
}


def normalize_emotion(raw: str) -> str | None:
    """Canonical emotion for a label spelling (``"Anger"``, ``"Pleasant_surprise"``, ``"ps"``...).

    Returns ``None`` when the spelling is unknown.
    """
    key = re.sub(r"[\s\-]+", "_", str(raw).strip().lower())
    return _ALIASES.get(key)


@dataclass(frozen=True)
class LabelScheme:
    """One label scheme: class names in id order and the canonical-emotion -> class mapping."""

    name: str
    names: tuple[str, ...]
    mapping: dict[str, str | None] = field(repr=False)
    description: str = ""
    by_gender: bool = False  # classes are "<gender>_<emotion>" (needs the row's gender)


def _scheme(
    name: str, names: tuple[str, ...], overrides: dict[str, str | None], description: str
) -> LabelScheme:
    mapping: dict[str, str | None] = {e: (e if e in names else None) for e in CANONICAL_EMOTIONS}
    mapping.update(overrides)
    bad = {v for v in mapping.values() if v is not None and v not in names}
    assert not bad, f"scheme {name} maps onto unknown classes {bad}"
    return LabelScheme(name, names, mapping, description)


_H7 = ("neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised")

LABEL_SCHEMES: dict[str, LabelScheme] = {
    s.name: s
    for s in (
        _scheme(
            "ravdess8",
            ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"),
            {"pleasant_surprise": "surprised"},
            "RAVDESS native 8 classes; pleasant surprise -> surprised; boredom dropped",
        ),
        _scheme(
            "harmonized7",
            _H7,
            {"calm": "neutral", "pleasant_surprise": "surprised"},
            "7 classes for multi-corpus training: calm -> neutral, pleasant surprise -> surprised; boredom dropped",
        ),
        _scheme(
            "common6",
            ("angry", "disgust", "fearful", "happy", "neutral", "sad"),
            {"calm": "neutral"},
            "6 classes all four English corpora share: calm -> neutral; surprise and boredom dropped",
        ),
        _scheme(
            "nocalm7",
            _H7,
            {"calm": None, "pleasant_surprise": "surprised"},
            "harmonized7 classes, but calm rows are dropped instead of merged into neutral; boredom dropped",
        ),
        _scheme(
            "emodb7",
            ("neutral", "happy", "sad", "angry", "fearful", "disgust", "boredom"),
            {"calm": "neutral"},
            "EmoDB native 7 classes (with boredom): calm -> neutral; surprise dropped",
        ),
    )
}

GENDER_EMOTION_BASE = "harmonized7"

CORPUS_DEFAULT_SCHEME: dict[str, str] = {
    "ravdess": "ravdess8",
    "tess": "harmonized7",
    "savee": "harmonized7",
    "cremad": "common6",
    "emodb": "emodb7",
}


def _gender_emotion(base_name: str) -> LabelScheme:
    base = get_scheme(base_name)
    if base.by_gender:
        raise SERError(
            "a gender_emotion scheme cannot be built on another gender_emotion scheme", source=base_name
        )
    names = tuple(f"{g}_{e}" for g in ("female", "male") for e in base.names)
    name = "gender_emotion" if base_name == GENDER_EMOTION_BASE else f"gender_emotion:{base_name}"
    return LabelScheme(
        name,
        names,
        dict(base.mapping),
        f"gender x emotion joint classes on {base_name}; rows of unknown gender dropped",
        by_gender=True,
    )


def get_scheme(scheme: str | LabelScheme) -> LabelScheme:
    """The :class:`LabelScheme` named ``scheme`` (``"gender_emotion"`` or ``"gender_emotion:<base>"``
    included). Raises :class:`SERError` for an unknown name."""
    if isinstance(scheme, LabelScheme):
        return scheme
    key = str(scheme).strip()
    if key in LABEL_SCHEMES:
        return LABEL_SCHEMES[key]
    if key == "gender_emotion":
        return _gender_emotion(GENDER_EMOTION_BASE)
    if key.startswith("gender_emotion:"):
        return _gender_emotion(key.split(":", 1)[1])
    known = [*LABEL_SCHEMES, "gender_emotion", "gender_emotion:<base>"]
    raise SERError(f"unknown label scheme; choose one of {', '.join(known)}", source=repr(scheme))


def scheme_names(scheme: str | LabelScheme) -> list[str]:
    """Class names of ``scheme`` in id order (index = class id)."""
    return list(get_scheme(scheme).names)


def id2label(scheme: str | LabelScheme) -> dict[int, str]:
    """``{id: name}`` for a model config."""
    return dict(enumerate(get_scheme(scheme).names))


def label2id(scheme: str | LabelScheme) -> dict[str, int]:
    """``{name: id}`` for a model config."""
    return {name: i for i, name in enumerate(get_scheme(scheme).names)}


def normalize_gender(gender: str | None) -> str:
    """``"female"``, ``"male"`` or ``"unknown"`` from spellings like ``F``, ``Male``, ``w``."""
    if gender is None:
        return "unknown"
    g = str(gender).strip().lower()
    if g in {"f", "female", "woman", "w", "weiblich"}:
        return "female"
    if g in {"m", "male", "man", "männlich"}:
        return "male"
    return "unknown"


def map_label(raw_emotion: str, scheme: str | LabelScheme, gender: str | None = None) -> str | None:
    """Class of ``scheme`` for a native label, or ``None`` when the scheme drops that row.

    ``raw_emotion`` is any known spelling (``"anger"``, ``"ps"``, ``"Fear"``) or a class name of
    the scheme itself. For a gender_emotion scheme, ``gender`` is required and a row of unknown
    gender maps to ``None``. Raises :class:`SERError` for a label that ser_hf does not know (pass a
    ``label_map`` to the loader to translate it).
    """
    s = get_scheme(scheme)
    canonical = normalize_emotion(raw_emotion)
    if canonical is None and s.by_gender:
        # an already joint label such as "female_angry"
        g, _, rest = str(raw_emotion).partition("_")
        if normalize_gender(g) != "unknown" and normalize_emotion(rest) is not None:
            canonical, gender = normalize_emotion(rest), g
    if canonical is None:
        if str(raw_emotion) in s.names:
            return str(raw_emotion)
        raise SERError(
            f"unknown emotion label for scheme {s.name}; known labels: {', '.join(CANONICAL_EMOTIONS)} "
            "(and common spellings); translate it with --label-map 'your_label=angry' (from Python "
            "label_map={'your_label': 'angry'})",
            source=repr(raw_emotion),
        )
    target = s.mapping.get(canonical)
    if target is None:
        return None
    if s.by_gender:
        g = normalize_gender(gender)
        return None if g == "unknown" else f"{g}_{target}"
    return target


def _strip_gender(label: str) -> str:
    g, sep, rest = label.partition("_")
    if sep and g in ("female", "male") and normalize_emotion(rest) is not None:
        return rest
    return label


def cross_scheme_mapping(
    model_id2label: dict | list | str, target_scheme: str | LabelScheme
) -> dict[str, str]:
    """``{model label: target-scheme label}`` for the model labels that have a counterpart in
    ``target_scheme``; labels without one (``surprised`` for an ``emodb7`` test set, ``boredom``
    for ``harmonized7``) are left out. Merges follow the target scheme (``calm`` -> ``neutral`` for
    ``harmonized7``).

    ``model_id2label`` is a model config's ``id2label`` (dict), a list of names in id order, or a
    scheme name. Gender-joint model labels (``female_angry``) map to their emotion. Evaluate only
    on test rows whose label is among the mapping's values (see :func:`shared_classes`) and map
    predictions through this dict (a prediction outside it counts as wrong).
    """
    if isinstance(model_id2label, str):
        labels = scheme_names(model_id2label)
    elif isinstance(model_id2label, dict):
        labels = [model_id2label[k] for k in sorted(model_id2label, key=lambda k: int(k))]
    else:
        labels = list(model_id2label)
    target = get_scheme(target_scheme)
    if target.by_gender:
        raise SERError(
            "cross-corpus evaluation maps onto an emotion scheme, not a gender_emotion one",
            source=target.name,
        )
    out: dict[str, str] = {}
    for label in labels:
        emotion = _strip_gender(str(label))
        if normalize_emotion(emotion) is None:
            continue  # a label ser_hf does not know has no counterpart
        mapped = map_label(emotion, target)
        if mapped is not None:
            out[str(label)] = mapped
    return out


def shared_classes(scheme_a: str | LabelScheme | list | dict, scheme_b: str | LabelScheme) -> list[str]:
    """Classes of ``scheme_b`` (in its id order) that a model trained on ``scheme_a`` can predict:
    the classes a cross-corpus evaluation is restricted to.

    E.g. ``shared_classes("ravdess8", "emodb7")`` -> neutral happy sad angry fearful disgust.
    """
    reachable = set(cross_scheme_mapping(scheme_a, scheme_b).values())
    return [n for n in scheme_names(scheme_b) if n in reachable]


def harmonisation(
    corpora: Sequence[Any],
    raw_labels: Sequence[Any],
    classes: Sequence[Any],
    *,
    as_written: bool = False,
) -> dict[str, dict[str, dict[str, int]]]:
    """What the label scheme merged as the corpora were loaded, one entry per row of the three lists:
    ``{corpus: {class: {the corpus's own label: rows}}}`` for each own label counted as a class of
    another name (RAVDESS ``calm`` -> ``neutral`` and TESS ``pleasant_surprise`` -> ``surprised``
    under harmonized7: ``{"ravdess": {"neutral": {"calm": 192}}, "tess": {"surprised":
    {"pleasant_surprise": 400}}}``). A label that is its class (whatever its case or spacing, or with
    a gender_emotion scheme's gender before it) is no merge and left out.

    ``raw_labels`` are the ``raw_emotion`` column (canonical words: a folder's ``joy`` is ``happy``
    there, so a spelling of the class is no merge), or, ``as_written``, the labels as the data give
    them: then a label the scheme renames (``joy`` -> ``happy``, ``anger`` -> ``angry``) counts too."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for corpus, raw, cls in zip(corpora, raw_labels, classes):
        if raw is None or cls is None:
            continue
        bare = _strip_gender(str(cls))
        if _fold(raw) == _fold(bare) or (
            not as_written and (normalize_emotion(str(raw)) or 0) == normalize_emotion(bare)
        ):
            continue  # its own class, whatever its spelling (a folder's "Anger" is the class angry)
        into = out.setdefault(str(corpus), {}).setdefault(str(cls), {})
        into[str(raw)] = into.get(str(raw), 0) + 1
    return {c: {k: dict(sorted(v.items())) for k, v in sorted(m.items())} for c, m in sorted(out.items())}


def harmonisation_lines(merged: dict[str, dict[str, dict[str, int]]]) -> list[str]:
    """``harmonisation`` as one line per corpus: ``ravdess: calm (192) -> neutral``."""
    return [
        f"{corpus}: "
        + "; ".join(f"{raw} ({n}) -> {cls}" for cls, raws in classes.items() for raw, n in raws.items())
        for corpus, classes in merged.items()
        if classes
    ]


LABEL_MAP_HELP = (
    "rename the corpus's classes as it is loaded: FROM=TO,... (e.g. angry=怒り,happy=喜び to name them as a "
    "model of your own does, or wut=angry; FROM= drops a class; FROM matches whatever its case); with a "
    "label scheme (--label-scheme; corpus: --scheme), TO must be one of its classes or an emotion name, "
    "or, for ser-hf evaluate, a class of the model (FROM, a class of the scheme, is then renamed to it)"
)


def _fold(label: Any) -> str:
    """A label's spelling without case, runs of spaces or Unicode form (``" Angry "`` -> ``"angry"``)."""
    # composed before and after casefolding: macOS writes folder names decomposed, so "énervé" from a
    # folder and from a CSV differed
    composed = unicodedata.normalize("NFC", " ".join(str(label).split()))
    return unicodedata.normalize("NFC", composed.casefold())


def parse_label_map(
    text: str | dict[str, Any] | None, source: str = "--label-map"
) -> dict[str, str | None] | None:
    """``"angry=怒り, happy=喜び, calm="`` (the CLIs' ``--label-map``) -> ``load_corpus(label_map=...)``:
    ``{"angry": "怒り", "happy": "喜び", "calm": None}`` (``FROM=`` drops that class); None for no text.

    A JSON object (``{"wut": "angry", "calm": null}``: a config file's ``label_map:`` mapping, which
    ``ser-hf train config.yaml`` passes on as JSON) is read too; null or "" drops the class. Two keys
    that are one label whatever their case, spaces or Unicode form (``Angry=x,angry=y``) and map to
    different classes are an error: a key matches the label whatever its case."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    pairs: list[tuple[str, str]] = []  # (FROM, TO)
    if isinstance(text, dict) or text.lstrip().startswith("{"):
        for raw, target in _json_map(text, source).items():
            pairs.append((raw.strip(), (target or "").strip()))
    else:
        for pair in text.split(","):
            raw, sep, target = (part.strip() for part in pair.partition("="))
            if not pair.strip():
                continue
            if not sep or not raw:
                raise SERError(
                    f"{pair.strip()!r} is not FROM=TO; write --label-map 'angry=怒り,happy=喜び' (FROM= drops a class)",
                    source=source,
                )
            pairs.append((raw, target))
    mapping: dict[str, str | None] = {}
    folded: dict[str, str] = {}  # folded FROM -> FROM as first written
    for raw, target in pairs:
        if not raw:
            raise SERError("an empty FROM label; write FROM=TO (FROM= drops a class)", source=source)
        first = folded.setdefault(_fold(raw), raw)
        if first in mapping and mapping[first] != (target or None):
            if raw == first:
                raise SERError(f"{raw!r} is mapped twice ({mapping[raw]!r} and {target!r})", source=source)
            raise SERError(
                f"{first!r} is mapped twice ({mapping[first]!r}, and as {raw!r} to {target or None!r}): FROM "
                "matches a label whatever its case, spaces and Unicode form, so both are one label; keep one",
                source=source,
            )
        mapping.setdefault(first, target or None)
    return mapping


def _json_map(text: str | dict[str, Any], source: str) -> dict[str, str | None]:
    """A ``{FROM: TO}`` JSON object (or dict) checked: string keys, string or null values."""
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError as err:
        raise SERError(
            f'not a valid JSON object ({err}); write FROM=TO,... or {{"wut": "angry", "calm": null}}',
            source=source,
        ) from err
    if not isinstance(value, dict):
        raise SERError(
            f"a label map is FROM=TO,... or a JSON object, not {type(value).__name__}", source=source
        )
    bad = [k for k, v in value.items() if not isinstance(v, (str, type(None)))]
    if bad:
        raise SERError(
            f'{bad[0]!r} maps to {value[bad[0]]!r}: a label map\'s values are class names (null or "" drops the class)',
            source=source,
        )
    return {str(k): v for k, v in value.items()}


def class_renames(
    label_map: dict[str, str | None] | None,
    scheme: str | LabelScheme | None,
    model_classes: Any = None,
) -> tuple[dict[str, str | None] | None, dict[str, str], dict[str, str]]:
    """``(the map applied before the scheme, {scheme class: new name}, {scheme class: its map key})``.

    With a label scheme, a map value is one of its classes or an emotion name (``wut=angry``), applied
    to the data's labels before the scheme. A value that is one of ``model_classes`` (the classes of a
    model the data are scored with) but that the scheme cannot place (``怒り``; ``boredom`` for
    ``ravdess8``), or places in the very class its key names (``angry=anger``), instead RENAMES the
    scheme's class its key names, in place (same id), to the model's name: ``ser-hf evaluate
    --label-map angry=怒り`` scores RAVDESS's angry clips as the model's 怒り. Nothing is renamed without a scheme (the map renames the labels themselves), for a
    gender_emotion scheme, or without ``model_classes``.

    Raises:
        SERError: a rename whose key is not a class of the scheme (``calm`` for harmonized7, which
            merges it into neutral), or two renames of one class or onto one name.
    """
    if not label_map or scheme is None or not model_classes:
        return label_map, {}, {}
    s = get_scheme(scheme)
    if s.by_gender:
        return label_map, {}, {}
    model = {_fold(m): str(m) for m in model_classes}
    before: dict[str, str | None] = {}
    renames: dict[str, str] = {}
    keys: dict[str, str] = {}
    for key, value in label_map.items():
        target = model.get(_fold(value)) if value is not None else None
        if (
            value is not None
            and target is None
            and normalize_emotion(value) is None
            and not _placed(value, s)
        ):
            raise SERError(
                f"label_map sends {key!r} to {value!r}, which is neither a class of scheme {s.name}, a known "
                f"emotion, nor a class of the model ({', '.join(map(str, model_classes))}); name one of the "
                f"model's classes (or nothing, {key}=, to drop those rows)",
                source="label_map",
            )
        canonical = normalize_emotion(key)
        cls = s.mapping.get(canonical) if canonical else (key if key in s.names else None)
        if target is None or (_placed(value, s) and not _same_class(key, cls, canonical, value, target, s)):
            before[key] = value
            continue
        if cls is None or (canonical or key) != cls:
            why = (
                f"it merges {key!r} into {cls!r}: rename {cls!r} ({cls}={target})"
                if cls is not None
                else ("it drops those rows" if canonical else "it is no emotion name ser_hf knows")
            )
            raise SERError(
                f"label_map renames {key!r} to the model's class {target!r}, but {key!r} is not a class of "
                f"scheme {s.name} ({why}); its classes are {', '.join(s.names)} (--label-scheme picks "
                "another scheme)",
                source="label_map",
            )
        twin = next((c for c, v in renames.items() if c != cls and v == target), None)
        if renames.get(cls, target) != target or twin is not None:
            first = cls if twin is None else twin
            what = f"class {cls!r} twice" if twin is None else f"two classes to {target!r}"
            raise SERError(
                f"label_map renames {what} ({keys[first]}={renames[first]}, {key}={target}): keep one",
                source="label_map",
            )
        renames[cls], keys[cls] = target, key
    return before, renames, keys


def _same_class(
    key: str, cls: str | None, canonical: str | None, value: str, target: str, scheme: LabelScheme
) -> bool:
    """Whether the map ``key=value`` names a class of ``scheme`` (``cls``) by a model's other name for
    it (``angry=anger``: the scheme places ``anger`` in ``angry`` too): renamed in place to ``target``,
    so the scores name the model's classes; a map into another class (``calm=neutral``) or of a label
    the scheme merges is applied before the scheme."""
    if cls is None or (canonical or key) != cls or target == cls:
        return False
    try:
        return map_label(value, scheme, gender="female") == cls
    except SERError:
        return False


def _placed(value: str, scheme: LabelScheme) -> bool:
    """Whether ``scheme`` puts the label ``value`` into one of its classes."""
    try:
        return map_label(value, scheme, gender="female") is not None
    except SERError:
        return False
