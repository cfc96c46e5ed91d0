"""Plots of classes in a script the default font lacks: a font that has them, else ``class K``.

No CJK font is installed where the tests run: Japanese classes take the ``class K`` path; a
character that DejaVu Sans lacks and matplotlib's bundled STIX fonts have takes the fallback one.
"""

from __future__ import annotations

import logging
import warnings

import matplotlib
import numpy as np
import pytest

from ser_hf.inference.timeline import Timeline, plot_timeline
from ser_hf.training.metrics import plot_confusion
from ser_hf.training.plot_text import drawable_text

JAPANESE = ["喜び", "平静", "怒り", "悲しみ"]


def _glyph_warnings(record) -> list[str]:
    return [str(w.message) for w in record if "missing from font" in str(w.message)]


def _cjk_font_installed() -> bool:
    from matplotlib import font_manager

    return any("CJK" in f.name for f in font_manager.fontManager.ttflist)


@pytest.mark.skipif(_cjk_font_installed(), reason="a CJK font is installed: the names are drawn")
def test_a_confusion_matrix_of_japanese_classes_says_which_class_is_which(tmp_path, caplog):
    """It drew an empty box for every character and wrote 9 'Glyph ... missing' warnings."""
    with warnings.catch_warnings(record=True) as record, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        path = plot_confusion(np.eye(4) * 3 + 1, JAPANESE, tmp_path / "confusion.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert _glyph_warnings(record) == []
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 1, lines
    assert "class 1 = 喜び, class 2 = 平静, class 3 = 怒り, class 4 = 悲しみ" in lines[0]
    assert "fonts-noto-cjk" in lines[0] and "confusion.png" in lines[0]


@pytest.mark.skipif(_cjk_font_installed(), reason="a CJK font is installed: the names are drawn")
def test_a_timeline_of_a_japanese_file_warns_once(tmp_path, caplog):
    windows = [
        {"start": 0.0, "end": 2.0, "silent": False, "label": "怒り", "score": 0.7},
        {"start": 1.0, "end": 3.0, "silent": False, "label": "怒り", "score": 0.6},
    ]
    probs = [[0.1, 0.1, 0.7, 0.1], [0.2, 0.1, 0.6, 0.1]]
    timeline = Timeline(
        source="会話.flac", duration=3.0, window_s=2.0, hop_s=1.0, label="怒り", score=0.65,
        scores=[{"label": "怒り", "score": 0.65}], windows=windows, labels=JAPANESE, probabilities=probs,
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as record, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        plot_timeline(timeline, tmp_path / "tl.png")
    assert _glyph_warnings(record) == []
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 1 and "会話.flac" in lines[0] and "class 3 = 怒り" in lines[0], lines


def test_ascii_classes_are_drawn_as_they_are_and_another_font_fills_in_missing_glyphs(tmp_path, caplog):
    family = list(matplotlib.rcParams["font.family"])
    with caplog.at_level(logging.WARNING), drawable_text(["angry", "Zoë"], "x.png", "fold 0") as say:
        assert say("angry") == "angry" and say("Zoë") == "Zoë" and say("fold 0") == "fold 0"
        assert list(matplotlib.rcParams["font.family"]) == family  # nothing changed
    # U+1D81 (ᶁ): DejaVu Sans lacks it, matplotlib's STIXGeneral has it
    with warnings.catch_warnings(record=True) as record, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        with drawable_text(["aᶁ", "b"], "y.png") as say:
            assert say("aᶁ") == "aᶁ"
            assert "STIXGeneral" in matplotlib.rcParams["font.family"]
        plot_confusion(np.eye(2), ["aᶁ", "b"], tmp_path / "stix.png")
    assert list(matplotlib.rcParams["font.family"]) == family
    assert _glyph_warnings(record) == [] and caplog.records == []
