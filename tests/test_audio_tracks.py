"""Files with several audio tracks (an OBS, Zoom or video editor's export: track 0 the desktop audio or
silence, track 1 the microphone; a film's languages) were classified on one of them without a word:
a warning now says so, and ``track=`` / ``--track N`` picks one (counted from 0, as channels are)."""

from __future__ import annotations

import csv
import json
import logging
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import make_speechlike

import ser_hf
from ser_hf.cli.extract_audio import cli as extract_audio_cli
from ser_hf.cli.predict import cli as predict_cli
from ser_hf.data.audio import audio_info, load_audio
from ser_hf.data.chunks import iter_audio_chunks
from ser_hf.errors import SERError
from ser_hf.inference.classifier import EmotionClassifier

SR = 16000
SILENCE = ["-f", "lavfi", "-i", f"anullsrc=r={SR}:cl=mono"]


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def _two_tracks(
    speech: Path, out: Path, seconds: float, codec: str = "pcm_s16le", video: bool = False
) -> Path:
    """``out``: audio track 0 silent, track 1 ``speech`` (after a small picture when ``video``)."""
    picture = ["-f", "lavfi", "-i", "color=size=32x32:rate=5"] if video else []
    maps = (["-map", "2:v", "-c:v", "mpeg4"] if video else []) + ["-map", "0:a", "-map", "1:a"]
    _ffmpeg(*SILENCE, "-i", str(speech), *picture, *maps, "-t", str(seconds), "-c:a", codec, str(out))
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("tracks")
    sf.write(d / "speech.wav", make_speechlike(3.5, SR, seed=1), SR, subtype="PCM_16")
    sf.write(d / "long_speech.wav", make_speechlike(14.0, SR, seed=2), SR, subtype="PCM_16")
    _two_tracks(d / "speech.wav", d / "two.mka", 3.5)
    _two_tracks(d / "speech.wav", d / "two.ogg", 3.5, codec="libvorbis")  # libsndfile read its first alone
    _two_tracks(d / "speech.wav", d / "screen.mkv", 3.5, video=True)  # the picture is stream 0
    _two_tracks(d / "long_speech.wav", d / "long.mka", 14.0)
    _ffmpeg("-i", str(d / "speech.wav"), "-c:a", "pcm_s16le", str(d / "one.mka"))
    return d


@pytest.fixture(scope="module")
def clf(model_dir) -> EmotionClassifier:
    return EmotionClassifier(model_dir, device="cpu")


def test_a_file_of_two_tracks_is_read_on_one_with_a_warning_and_track_picks_the_other(files, caplog):
    speech = load_audio(files / "speech.wav")
    for name in ("two.mka", "screen.mkv"):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="ser_hf"):
            first = load_audio(files / name)
        assert np.abs(first).max() == 0  # FFmpeg's choice here: the silent track 0
        assert f"{name}: holds 2 audio tracks and only track 0 (counted from 0) is read" in caplog.text
        assert "track=N" in caplog.text and "--track N" in caplog.text
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="ser_hf"):
            np.testing.assert_allclose(load_audio(files / name, track=1), speech, atol=1e-4)
            np.testing.assert_array_equal(load_audio(files / name, track="0"), first)
            # the bytes, and the reader of long recordings, read the same track
            np.testing.assert_array_equal(
                load_audio((files / name).read_bytes(), track=1), load_audio(files / name, track=1)
            )
            chunks = np.concatenate(list(iter_audio_chunks(files / name, 1.0, track=1)))
            np.testing.assert_allclose(chunks, speech, atol=1e-4)
        assert "audio tracks" not in caplog.text  # a track chosen: nothing to warn of
    # a multiplexed Ogg file: libsndfile read its first stream, silent, and nothing else
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        load_audio(files / "two.ogg")
    assert "two.ogg: holds 2 audio tracks" in caplog.text
    assert np.abs(load_audio(files / "two.ogg", track=0)).max() == 0
    assert np.abs(load_audio(files / "two.ogg", track=1)).max() > 0.1


def test_a_file_of_one_track_gives_no_warning(files, caplog):
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        for name in ("one.mka", "speech.wav"):
            np.testing.assert_array_equal(load_audio(files / name, track=0), load_audio(files / name))
            list(iter_audio_chunks(files / name, 1.0))
    assert "track" not in caplog.text


def test_a_track_the_file_lacks_is_a_typed_error_naming_it_and_the_fix(files):
    routes = [
        (lambda: load_audio(files / "two.mka", track=2), r"two\.mka: has 2 audio tracks, so track 2"),
        (lambda: load_audio(files / "screen.mkv", track=2), r"screen\.mkv: has 2 audio tracks, so track 2"),
        (
            lambda: list(iter_audio_chunks(files / "long.mka", 1.0, track=5)),
            r"has 2 audio tracks, so track 5",
        ),
        (lambda: load_audio(files / "speech.wav", track=1), r"speech\.wav: has 1 audio track, so track 1"),
        (lambda: load_audio(files / "one.mka", track=1), r"one\.mka: has 1 audio track, so track 1"),
        (lambda: load_audio(load_audio(files / "speech.wav"), source_rate=SR, track=1), "has 1 audio track"),
        (lambda: audio_info(files / "two.mka", track=3), "has 2 audio tracks, so track 3"),
    ]
    for route, message in routes:
        with pytest.raises(ser_hf.NoSuchTrackError, match=message) as raised:
            route()
        assert isinstance(raised.value, SERError) and "pick" in str(raised.value)
    with pytest.raises(SERError, match="pick one from 0 to 1, or leave the track out"):
        load_audio(files / "two.mka", track=2)
    for bad in ("second", -1, 1.5, True):
        with pytest.raises(SERError, match="invalid track"):
            load_audio(files / "two.mka", track=bad)


def test_a_long_recordings_timeline_reads_the_chosen_track(clf, files, caplog):
    alone = clf.timeline(files / "long_speech.wav", min_speech_s=None)
    chosen = clf.timeline(files / "long.mka", track=1, chunk_s=5.0, min_speech_s=None)  # read in chunks
    assert not any(w["silent"] for w in chosen.windows)
    np.testing.assert_allclose(np.asarray(chosen.probabilities), np.asarray(alone.probabilities), atol=1e-4)
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        default = clf.timeline(files / "long.mka", chunk_s=5.0, min_speech_s=None)
    assert all(w["silent"] for w in default.windows) and "long.mka: holds 2 audio tracks" in caplog.text
    assert clf.classify(files / "two.mka", track=1) == clf.classify(files / "speech.wav")
    assert clf.classify_batch([files / "two.mka"], track=1) == [clf.classify(files / "speech.wav")]


def test_predict_warns_of_several_tracks_and_track_picks_the_speech(model_dir, files, capsys):
    argv = [str(files / n) for n in ("two.mka", "one.mka", "long.mka")] + ["--model", str(model_dir)]
    assert predict_cli([*argv, "--json", "-"]) == 0
    rows = {Path(r["file"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert rows["two.mka"]["label"] == "silence" and rows["long.mka"]["label"] == "silence"
    for name in ("two.mka", "long.mka"):
        assert rows[name]["warning"] == "2 audio tracks, track 0 read: --track N picks another"
    assert "warning" not in rows["one.mka"]
    assert predict_cli([*argv, "--csv", "-"]) == 0
    warnings = {
        Path(r["file"]).name: r["warning"]
        for r in csv.DictReader(capsys.readouterr().out.splitlines())
        if r["row"] == "file"
    }
    assert warnings["two.mka"].startswith("2 audio tracks") and warnings["one.mka"] == ""
    assert predict_cli([*argv]) == 0
    assert "[2 audio tracks, track 0 read" in capsys.readouterr().out  # the table
    # --track 1: the microphone's speech; the one-track file has no track 1: its row is an error
    assert (
        predict_cli([*argv, "--track", "1", "--min-speech", "none", "--json", "-"]) == 1
    )  # synthetic speech
    rows = {Path(r["file"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert rows["two.mka"]["label"] != "silence" and "warning" not in rows["two.mka"]
    assert rows["long.mka"]["timeline"] and not any(w["silent"] for w in rows["long.mka"]["timeline"])
    assert "one.mka: has 1 audio track, so track 1" in rows["one.mka"]["error"]
    with pytest.raises(SystemExit) as stop:
        predict_cli([*argv, "--track", "second"])
    assert stop.value.code == 2 and "--track: invalid track 'second'" in capsys.readouterr().err


def test_predict_help_and_extract_audio_track(files, tmp_path, capsys):
    with pytest.raises(SystemExit):
        predict_cli(["--help"])
    assert "--track N" in capsys.readouterr().out
    assert extract_audio_cli([str(files / "two.mka"), "--out", str(tmp_path / "a"), "--track", "1"]) == 0
    np.testing.assert_allclose(
        load_audio(tmp_path / "a" / "two.wav"), load_audio(files / "speech.wav"), atol=1e-4
    )
    assert extract_audio_cli([str(files / "two.mka"), "--out", str(tmp_path / "b"), "--track", "2"]) == 1
    assert "two.mka: has 2 audio tracks, so track 2" in capsys.readouterr().err
