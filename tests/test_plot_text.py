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
    assert "fonts-noto-cjk" in lines[0] and lines[0].startswith(
        f"{tmp_path / 'confusion.png'}: no installed font"
    )


@pytest.mark.skipif(_cjk_font_installed(), reason="a CJK font is installed: the names are drawn")
def test_the_font_warning_names_the_file_written_not_its_temporary_name(tmp_path, caplog, monkeypatch):
    """cv's and evaluate's plots are drawn into a temporary file, moved into place when whole: the
    warning named that (``/x/cvout/.ser-hf-5907c32e-zi_68u6h.png: no installed font draws 喜び``)."""
    from ser_hf.training import cv_results
    from ser_hf.training.eval_files import write_evaluation
    from ser_hf.training.metrics import compute_ser_metrics

    y_true, probs = np.arange(8) % 4, np.full((8, 4), 0.1) + np.eye(4)[np.arange(8) % 4] * 0.6
    metrics = compute_ser_metrics(y_true, probs.argmax(1), JAPANESE, y_prob=probs)
    predictions = [
        {"path": f"{i}.wav", "speaker": "s", "true": JAPANESE[t], "predicted": JAPANESE[t], "score": 0.7, "probs": list(p)}
        for i, (t, p) in enumerate(zip(y_true, probs))
    ]  # fmt: skip
    monkeypatch.setattr(
        cv_results, "results_markdown", lambda result, meta: ""
    )  # the plot is what counts here
    with caplog.at_level(logging.WARNING):
        write_evaluation(metrics, predictions, tmp_path / "ev", "評価")
        cv_results.write_results({**metrics, "n_folds": 2}, tmp_path / "cv")
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    named = sorted(line.split(": no installed font")[0] for line in lines)
    assert named == [str(tmp_path / "cv" / "confusion_cv.png"), *(str(tmp_path / "ev" / f) for f in ("confusion.png", "reliability.png"))]  # fmt: skip
    assert (tmp_path / "ev" / "metrics.json").is_file() and (tmp_path / "cv" / "confusion_cv.png").is_file()


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
