"""Long recordings in ``ser-hf predict``: segments and their files, time per label, the window and hop
checks, the warning for a long file classified whole, and the plot's clock axis."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import make_speechlike

from ser_hf.cli import main
from ser_hf.cli.predict import cli as predict_cli
from ser_hf.inference.segments import segments_text
from ser_hf.inference.timeline import Timeline, clock_step, clock_text

SR = 16000
LABELS = ["neutral", "happy", "sad", "angry"]


def _window(start: float, end: float, label: str, score: float) -> dict:
    silent = label == "silence"
    return {"start": start, "end": end, "label": label, "score": score, "scores": [], "silent": silent}


def _timeline() -> Timeline:
    """10.5 s in 4-s windows every 2 s, plus the window ending at the very end (6.5-10.5)."""
    windows = [
        _window(0, 4, "sad", 0.6),  # centre 2
        _window(2, 6, "sad", 0.8),  # centre 4
        _window(4, 8, "silence", 1.0),  # centre 6
        _window(6, 10, "angry", 0.5),  # centre 8
        _window(6.5, 10.5, "angry", 0.7),  # centre 8.5: nearly the window before it
    ]
    return Timeline("x.wav", 10.5, 4.0, 2.0, "sad", 0.7, [], windows=windows, labels=LABELS)


def test_segments_cut_at_midpoints_between_window_centres_and_merge_equal_labels():
    """Windows overlap, so a user had to write this merge to review a recording in Audacity or ELAN."""
    tl = _timeline()
    assert tl.segments() == [
        # sad: 0-3 (score 0.6) and 3-5 (0.8), weighted by time: (0.6 * 3 + 0.8 * 2) / 5
        {"start": 0.0, "end": 5.0, "label": "sad", "score": 0.68},
        {"start": 5.0, "end": 7.0, "label": "silence", "score": 1.0},
        # angry: 7-8.25 (0.5) and 8.25-10.5 (0.7)
        {"start": 7.0, "end": 10.5, "label": "angry", "score": round((0.5 * 1.25 + 0.7 * 2.25) / 3.5, 4)},
    ]
    assert tl.label_time() == {"sad": 5.0, "angry": 3.5}  # silence left out, most first


def test_segment_formats_exact_text():
    segs = [
        {"start": 0.0, "end": 5.0, "label": "sad", "score": 0.68},
        {"start": 5.0, "end": 3725.25, "label": "a<b", "score": 1.0},
    ]
    assert segments_text(segs, "vtt") == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:05.000\nsad\n\n00:00:05.000 --> 01:02:05.250\na&lt;b\n"
    )
    assert segments_text(segs, "srt") == (
        "1\n00:00:00,000 --> 00:00:05,000\nsad\n\n2\n00:00:05,000 --> 01:02:05,250\na<b\n"
    )
    assert segments_text(segs, "audacity") == "0.000\t5.000\tsad\n5.000\t3725.250\ta<b\n"
    assert segments_text(segs, "csv") == "start,end,label,score\n0.0,5.0,sad,0.68\n5.0,3725.25,a<b,1.0\n"


def test_clock_ticks_for_long_recordings():
    """A 30-minute timeline's axis read 0-1750 s."""
    assert clock_text(95) == "1:35" and clock_text(0) == "0:00" and clock_text(1800) == "30:00"
    assert clock_text(3725) == "1:02:05" and clock_text(65, hours=True) == "0:01:05"
    assert clock_step(1800) == 300 and clock_step(600) == 120 and clock_step(150) == 30


@pytest.fixture(scope="module")
def ten(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("long")
    audio = np.concatenate([make_speechlike(4.0, seed=3), np.zeros(2 * SR, np.float32), make_speechlike(4.0)])
    sf.write(folder / "ten.wav", audio, SR)
    return folder / "ten.wav"


def test_predict_writes_segments_files_and_json_rows_with_segments(model_dir, ten, tmp_path, capsys):
    out = tmp_path / "segs"
    argv = [str(ten), "--model", str(model_dir), "--json", str(tmp_path / "r.json"), "--segments", str(out)]
    argv += ["--min-speech", "none"]  # synthetic voices, which the speech detector does not take for speech
    assert predict_cli([*argv, "--segments-format", "vtt,audacity,srt,csv"]) == 0
    (row,) = json.loads((tmp_path / "r.json").read_text())
    segs = row["segments"]
    assert segs[0]["start"] == 0 and segs[-1]["end"] == row["duration"] == 10.0
    assert all(a["end"] == b["start"] and a["label"] != b["label"] for a, b in zip(segs, segs[1:]))
    assert sum(row["label_time"].values()) == pytest.approx(
        sum(s["end"] - s["start"] for s in segs if s["label"] != "silence")
    )
    names = sorted(Path(f).name for f in row["segments_files"])
    assert names == ["ten.labels.txt", "ten.segments.csv", "ten.segments.srt", "ten.segments.vtt"]
    assert (out / "ten.segments.vtt").read_text() == segments_text(segs, "vtt")
    assert (out / "ten.labels.txt").read_text() == segments_text(segs, "audacity")
    assert "; speech: " in capsys.readouterr().out.split("over 4 windows")[1].splitlines()[0]  # label shares
    # the same name from another folder gets -N, as the PNGs do
    other = tmp_path / "other"
    other.mkdir()
    (other / "ten.wav").write_bytes(ten.read_bytes())
    assert (
        predict_cli([str(ten), str(other / "ten.wav"), "--model", str(model_dir), "--segments", str(out)])
        == 0
    )
    assert (out / "ten-1.segments.vtt").exists()
    capsys.readouterr()


@pytest.mark.parametrize(
    "flags, option",
    [(["--hop", "1e-9"], "--hop"), (["--hop", "0.005"], "--hop"), (["--window", "0.01"], "--window")],
)
def test_a_hop_under_10_ms_or_a_window_under_100_ms_is_a_usage_error(model_dir, ten, flags, option, capsys):
    """`--hop 1e-9` ran without limit (one window per sample); `--window 0.01` printed `0.01 - 0.01 s`."""
    assert main(["predict", str(ten), "--model", str(model_dir), *flags]) == 2
    assert option in capsys.readouterr().err


def test_unknown_segment_format_is_a_usage_error(model_dir, ten, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        predict_cli(
            [str(ten), "--model", str(model_dir), "--segments", str(tmp_path), "--segments-format", "ass"]
        )
    assert stop.value.code == 2 and "'ass'" in capsys.readouterr().err


def test_a_segments_format_without_segments_dir_is_a_usage_error(model_dir, ten, capsys):
    """`--segments-format srt` alone classified the file and wrote no segments, without a word."""
    with pytest.raises(SystemExit) as stop:
        predict_cli([str(ten), "--model", str(model_dir), "--segments-format", "srt"])
    assert stop.value.code == 2 and "give --segments DIR too" in capsys.readouterr().err


def test_dense_hop_warning_counts_the_hop_as_run(caplog):
    """`--hop 1e-9` said 'runs the model 1000000000 times per second'; the hop is one sample at least."""
    from ser_hf.inference.inputs import warn_if_window_odd

    with caplog.at_level(logging.WARNING):
        warn_if_window_odd(4.0, None, "x.wav", 1e-9)
    assert "16000 times per second" in caplog.text and "rounded to 6.25e-05 s" in caplog.text


def test_window_times_show_milliseconds_when_the_hop_needs_them(model_dir, ten, capsys):
    assert predict_cli([str(ten), "--model", str(model_dir), "--window", "4", "--hop", "1.005"]) == 0
    assert "   1.005 -    5.005 s" in capsys.readouterr().out


def test_a_long_file_classified_whole_warns_that_the_model_reads_its_last_seconds(
    model_dir, ten, monkeypatch, caplog, capsys
):
    """`--window 500` labelled a 10-minute file from its last 8 s, one row, no word: a file under 1.5
    windows is classified whole. (The tiny model reads all; the turn encoder's 8 s stand in here.)"""
    import ser_hf.inference.inputs as inputs

    monkeypatch.setattr(inputs, "reads_seconds", lambda fe: 8.0)
    with caplog.at_level(logging.WARNING):
        assert (
            predict_cli([str(ten), str(ten), "--model", str(model_dir), "--window", "500", "--json", "-"])
            == 0
        )
    rows = json.loads(capsys.readouterr().out)
    assert all("timeline" not in r for r in rows)
    assert caplog.text.count("scored on about its last 8 s only") == 1  # once a run
    assert "ten.wav" in caplog.text and "--window 6 or less" in caplog.text  # 1.5 windows fit in 10 s


def test_plot_timeline_on_a_core_install_names_the_extra(tmp_path, monkeypatch):
    """`plot_timeline` from Python without matplotlib raised a bare ModuleNotFoundError (the CLI checks
    first; a notebook user got no hint of `ser-hf[demo]`)."""
    from ser_hf.errors import SERError, install_hint
    from ser_hf.inference.timeline import plot_timeline

    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)  # as if not installed
    with pytest.raises(SERError) as err:
        plot_timeline(_timeline(), tmp_path / "x.png")
    assert install_hint("demo") in str(err.value) and "ser-hf[" not in str(err.value)
    assert not (tmp_path / "x.png").exists()
