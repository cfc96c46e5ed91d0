"""Text a matplotlib plot can draw: class names in a script the default font lacks (喜び, 怒り).

matplotlib's default font (DejaVu Sans) has no CJK glyphs: a confusion matrix or timeline of
Japanese classes came out as empty boxes, with one ``Glyph ... missing`` warning per character.
:func:`drawable_text` finds an installed font that has the glyphs and adds it as a fallback
(matplotlib >= 3.6), or else draws the classes as ``class 1`` ... ``class N`` and logs, once per
plot, which class is which and how to get the names drawn.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

logger = logging.getLogger(__name__)

FONT_HINT = (
    "install a font that has them (e.g. fonts-noto-cjk for Chinese, Japanese or Korean, fonts-noto-core "
    "for other scripts), then delete matplotlib's font cache (~/.cache/matplotlib) so it finds the font"
)
# tried first, in this order, before every other installed font
_PREFERRED = ("Noto Sans CJK", "Noto Sans", "Source Han Sans", "IPAexGothic", "IPAGothic", "WenQuanYi")


@functools.lru_cache(maxsize=256)
def _charmap(path: str) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    try:
        return frozenset(FT2Font(path).get_charmap())
    except (OSError, RuntimeError, ValueError):  # a broken or unreadable font file
        return frozenset()


def _needed(texts: Sequence[str]) -> set[int]:
    """The code points beyond ASCII that drawing ``texts`` takes (spaces and controls need none)."""
    return {
        ord(c)
        for t in texts
        for c in t
        if ord(c) > 0x7F and not c.isspace() and unicodedata.category(c)[0] not in "CZ"
    }


@functools.lru_cache(maxsize=64)
def _fallback_font(lacking: frozenset[int]) -> str | None:
    """The family name of an installed font that has every code point in ``lacking``, else None."""
    from matplotlib import font_manager

    def rank(entry) -> int:
        return next((i for i, p in enumerate(_PREFERRED) if entry.name.startswith(p)), len(_PREFERRED))

    for entry in sorted(font_manager.fontManager.ttflist, key=rank):
        # matplotlib's "Last Resort" font has a box for every code point: it draws no text
        if not entry.name.startswith("Last Resort") and lacking <= _charmap(entry.fname):
            return entry.name
    return None


@contextmanager
def drawable_text(labels: Sequence[str], where: str, *other: str) -> Iterator[Callable[[str], str]]:
    """Draw a plot of ``labels`` (and ``other`` text: a title, a file name) inside this block.

    Yields ``say(text)``: the text to draw for a class name or any other string. When the default
    font has the glyphs it returns the text unchanged; when another installed font has them it
    does too, with that font added as a fallback for the figures made inside the block; else it
    returns ``class K`` (K from 1, in ``labels`` order) for a class and other text with ``?`` for
    each character no font draws, and one warning names ``where`` (the plot), which class is
    which, and the fix. matplotlib's per-glyph warnings are silenced inside the block.
    """
    import matplotlib
    from matplotlib import font_manager

    names = [str(n) for n in labels]
    needed = _needed([*names, *other])
    family = matplotlib.rcParams["font.family"]
    default = font_manager.findfont(font_manager.FontProperties(family=family))
    lacking = frozenset(needed - _charmap(default))
    font = _fallback_font(lacking) if lacking else None
    shown: dict[str, str] = {}
    if lacking and font is None:
        unreadable = [n for n in names if _needed([n]) & lacking]
        shown = {n: f"class {i}" for i, n in enumerate(names, 1) if unreadable}
        others = [t for t in other if _needed([t]) & lacking]
        logger.warning(
            "%s: no installed font draws %s, so the plot %s; %s",
            where,
            ", ".join([*unreadable, *others]),
            "calls the classes " + ", ".join(f"{v} = {k}" for k, v in shown.items())
            if shown
            else "shows ? for those characters",
            FONT_HINT,
        )

    def say(text: str) -> str:
        if text in shown:
            return shown[text]
        if lacking and font is None:
            return "".join("?" if ord(c) in lacking else c for c in text)
        return text

    rc = {"font.family": [*([family] if isinstance(family, str) else family), font]} if font else {}
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)
        yield say
