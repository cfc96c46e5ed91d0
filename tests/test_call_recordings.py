"""Call-centre recordings: one side of a stereo call, and a quiet speaker after a loud beep."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import EXAMPLES, make_speechlike, make_tone

from ser_hf.cli.predict import cli as predict_cli
from ser_hf.inference.classifier import EmotionClassifier
from ser_hf.inference.segments import segments_text

SR = 16000


@pytest.fixture(scope="module")
def clf(model_dir) -> EmotionClassifier:
    return EmotionClassifier(model_dir, device="cpu")


@pytest.fixture(scope="module")
def call(tmp_path_factory) -> Path:
    """10 s: a low voice on the left (the agent), a high one on the right (the customer), and each side
    alone as a mono file."""
    d = tmp_path_factory.mktemp("call")
    agent = make_speechlike(10.0, SR, f0=110.0, seed=1)
    customer = make_speechlike(10.0, SR, f0=260.0, seed=2) * 0.8
    sf.write(d / "call.wav", np.stack([agent, customer], axis=1), SR, subtype="FLOAT")
    sf.write(d / "agent.wav", agent, SR, subtype="FLOAT")
    sf.write(d / "customer.wav", customer, SR, subtype="FLOAT")
    return d


def _probs(timeline) -> np.ndarray:
    return np.asarray(timeline.probabilities)


def test_one_side_of_a_call_is_classified_as_that_side_alone(clf, call):
    right = clf.timeline(call / "call.wav", channel="right", min_speech_s=None)
    np.testing.assert_allclose(
        _probs(right), _probs(clf.timeline(call / "customer.wav", min_speech_s=None)), atol=1e-5
    )
    left = clf.timeline(call / "call.wav", channel=0, min_speech_s=None)
    np.testing.assert_allclose(
        _probs(left), _probs(clf.timeline(call / "agent.wav", min_speech_s=None)), atol=1e-5
    )
    assert (
        np.abs(_probs(clf.timeline(call / "call.wav", min_speech_s=None)) - _probs(right)).max() > 1e-3
    )  # the mix differs
    one = clf.classify(call / "call.wav", channel=1)
    assert one == clf.classify(call / "customer.wav")
    assert clf.classify_batch([call / "call.wav"], channel="right") == [one]


def test_predict_channel_option(model_dir, call, tmp_path, capsys):
    out, alone = tmp_path / "out.json", tmp_path / "alone.json"
    model = ["--model", str(model_dir)]
    assert predict_cli([str(call / "call.wav"), *model, "--channel", "right", "--json", str(out)]) == 0
    assert predict_cli([str(call / "customer.wav"), *model, "--json", str(alone)]) == 0
    side, whole = json.loads(out.read_text())[0], json.loads(alone.read_text())[0]
    assert side["timeline"] == whole["timeline"] and (side["label"], side["score"]) == (
        whole["label"],
        whole["score"],
    )
    # a mono file has no second channel: its row is an error naming it, the stereo call is classified
    argv = [str(call / "call.wav"), str(call / "customer.wav"), *model, "--json", str(out), "--window", "20"]
    assert predict_cli([*argv, "--channel", "1"]) == 1
    rows = json.loads(out.read_text())
    assert "label" in rows[0] and "has 1 channel, so channel 1" in rows[1]["error"]
    with pytest.raises(SystemExit) as stop:
        predict_cli([*argv, "--channel", "middle"])
    assert stop.value.code == 2 and "--channel: invalid channel 'middle'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        predict_cli([*argv, "--silence-rel-db", "abc"])
    err = capsys.readouterr().err
    assert "--silence-rel-db: give a positive number of dB or none, not 'abc'" in err and "_rel_db" not in err


@pytest.fixture(scope="module")
def beeped(tmp_path_factory) -> Path:
    """A quiet speaker (speech peaks near -40 dBFS) after a loud 0.5-s 'this call is recorded' beep."""
    speech = make_speechlike(16.0, SR, f0=180.0, seed=3) * 0.03
    beep = make_tone(1400.0, 0.5, SR, amp=0.7)
    path = tmp_path_factory.mktemp("beep") / "beeped.wav"
    sf.write(path, np.concatenate([beep, speech]), SR, subtype="FLOAT")
    return path


@pytest.mark.slow
def test_a_loud_beep_silencing_a_quiet_speaker_is_said_and_can_be_turned_off(clf, beeped, model_dir, caplog):
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        default = clf.timeline(beeped, min_speech_s=None)  # synthetic speech: no detector
    silent = sum(w["silent"] for w in default.windows)
    assert silent >= len(default.windows) - 2  # all but the beep's windows
    assert "taken as silence for being more than 40 dB under the loudest window" in caplog.text
    assert "silence_rel_db=None" in caplog.text
    kept = clf.timeline(beeped, silence_rel_db=None, min_speech_s=None)
    assert not any(w["silent"] for w in kept.windows)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        clf.timeline(beeped.parent / "beeped.wav", silence_rel_db=None, min_speech_s=None)
    assert "taken as silence" not in caplog.text
    out = beeped.parent / "out.json"
    assert (
        predict_cli(
            [
                str(beeped),
                "--model",
                str(model_dir),
                "--silence-rel-db",
                "none",
                "--min-speech",
                "none",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    assert not any(w["silent"] for w in json.loads(out.read_text())[0]["timeline"])


def _predict_sides(call: Path, out: Path, model_dir: Path, *flags: str) -> dict:
    """A predict run over one side of ``call.wav`` writing segments and plots into ``out``; its JSON row."""
    argv = [
        str(call / "call.wav"),
        "--model",
        str(model_dir),
        "--min-speech",
        "none",
        "--json",
        str(out / "r.json"),
    ]
    argv += ["--segments", str(out / "seg"), "--segments-format", "csv", "--timeline-png", str(out / "png")]
    assert predict_cli([*argv, *flags]) == 0
    return json.loads((out / "r.json").read_text())[0]


def test_each_channel_of_a_call_gets_its_own_segments_and_plot(model_dir, call, tmp_path, monkeypatch):
    """The left and the right side, run one after the other into the same folders, wrote the same
    ``call.segments.csv`` and ``call.timeline.png``: the second run silently replaced the first's."""
    from ser_hf.inference import timeline

    titles, plot = [], timeline.plot_timeline
    monkeypatch.setattr(
        timeline, "plot_timeline", lambda tl, path, title=None: titles.append(title) or plot(tl, path, title)
    )
    left = _predict_sides(call, tmp_path, model_dir, "--channel", "left")
    right = _predict_sides(call, tmp_path, model_dir, "--channel", "right")
    seg, png = tmp_path / "seg", tmp_path / "png"
    assert left["segments_files"] == [str(seg / "call.left.segments.csv")]
    assert right["segments_files"] == [str(seg / "call.right.segments.csv")]
    assert (left["timeline_png"], right["timeline_png"]) == (
        str(png / "call.left.timeline.png"),
        str(png / "call.right.timeline.png"),
    )
    assert (seg / "call.left.segments.csv").read_text() == segments_text(
        left["segments"], "csv"
    )  # not replaced
    assert (seg / "call.right.segments.csv").read_text() == segments_text(right["segments"], "csv")
    assert titles == ["call.wav (left channel)", "call.wav (right channel)"]
    # a channel number, a track: named so; the same name in one run still gets -N
    both = _predict_sides(call, tmp_path, model_dir, "--channel", "1", "--track", "0")
    assert both["segments_files"] == [str(seg / "call.track0.ch1.segments.csv")]
    assert titles[-1] == "call.wav (track 0, channel 1)"
    argv = [str(call / "call.wav"), str(call / "call.wav"), "--model", str(model_dir), "--min-speech", "none"]
    assert predict_cli([*argv, "--channel", "right", "--segments", str(tmp_path / "twice")]) == 0
    assert sorted(p.name for p in (tmp_path / "twice").iterdir()) == [
        "call.right-1.segments.vtt",
        "call.right.segments.vtt",
    ]
    # without --channel or --track the names are as they were
    whole = _predict_sides(call, tmp_path, model_dir)
    assert whole["segments_files"] == [str(seg / "call.segments.csv")]
    assert whole["timeline_png"] == str(png / "call.timeline.png") and titles[-1] == "call.wav"


def _quiet_side(path: Path, quiet: np.ndarray, loud: np.ndarray) -> Path:
    sf.write(path, np.stack([loud, quiet], axis=1), SR, subtype="FLOAT")
    return path


def test_a_side_mostly_under_silence_db_with_loud_windows_is_said(model_dir, tmp_path, caplog):
    """A quiet customer (speech near -60 dBFS) after a loud beep: 24 of 29 windows ``silence`` and no
    hint that --silence-db hid them. One warning per file; none for the side that mostly listens (digital
    silence between its turns) nor for a recording that is quiet throughout. Real sentences: with
    --min-speech none too, the hint asks the speech detector, which finds none in a synthetic voice."""
    from ser_hf.inference.levels import level_db

    speech = np.concatenate(_ravdess(sorted(p.name for p in EXAMPLES.glob("*.flac"))[:6], -20.0))[: 20 * SR]
    beep = np.concatenate([make_tone(1400.0, 0.5, SR, amp=0.7), np.zeros(19 * SR + SR // 2, np.float32)])
    quiet = np.where(beep != 0, beep, speech * (10 ** (-60 / 20) / 10 ** (level_db(speech, SR) / 20)))
    listens = np.concatenate([speech[: 6 * SR], np.zeros(14 * SR, np.float32)])  # talks 6 s of 20 at -20 dBFS
    stereo = _quiet_side(tmp_path / "call.wav", quiet.astype(np.float32), listens)
    mono_quiet = tmp_path / "quiet.wav"  # quiet throughout: its loudest window is -65 dBFS
    sf.write(mono_quiet, speech * (10 ** (-65 / 20) / 10 ** (level_db(speech, SR) / 20)), SR, subtype="FLOAT")
    argv = ["--model", str(model_dir), "--window", "2", "--hop", "1", "--min-speech", "none"]
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        assert predict_cli([str(stereo), *argv, "--channel", "right"]) == 0
    said = [r.getMessage() for r in caplog.records if "--silence-db" in r.getMessage()]
    assert len(said) == 1 and "call.wav: " in said[0] and " of 19 windows are silence" in said[0]
    assert "--silence-db -" in said[0].split("quiet speaker")[1] and "--silence-rel-db none" in said[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        assert predict_cli([str(stereo), *argv, "--channel", "left"]) == 0  # talks 6 s, then listens
        assert predict_cli([str(mono_quiet), *argv]) == 0
    assert not [r for r in caplog.records if "--silence-db" in r.getMessage()]


def _ravdess(names: list[str], db: float) -> list[np.ndarray]:
    """The demo's RAVDESS sentences, each scaled so that its loudest 50 ms is at ``db`` dBFS."""
    from ser_hf.data.audio import load_audio
    from ser_hf.inference.levels import level_db

    clips = [load_audio(str(EXAMPLES / name), SR) for name in names]
    return [(c * 10 ** ((db - level_db(c, SR)) / 20)).astype(np.float32) for c in clips]


def _quiet_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "windows are silence for their level" in r.getMessage()]


def test_speech_with_long_pauses_of_quiet_noise_is_not_said_to_be_a_quiet_speaker(
    model_dir, tmp_path, caplog
):
    """Sentences joined by 8-s pauses of steady noise at -68 dB RMS (over half the windows ``silence``,
    close under --silence-db) were said to be "a quiet speaker", and following the advice gave those
    windows ``no speech``: the speech detector finds no speech in them, so nothing is said."""
    rng = np.random.default_rng(0)
    parts = []
    for clip in _ravdess(sorted(p.name for p in EXAMPLES.glob("*.flac"))[:4], -12.0):
        parts += [clip, rng.standard_normal(8 * SR).astype(np.float32) * 10 ** (-68 / 20)]
    sf.write(tmp_path / "pauses.wav", np.concatenate(parts), SR, subtype="FLOAT")
    out = tmp_path / "out.json"
    argv = [str(tmp_path / "pauses.wav"), "--model", str(model_dir), "--window", "4", "--hop", "2"]
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        assert predict_cli([*argv, "--json", str(out)]) == 0
    windows = json.loads(out.read_text())[0]["timeline"]
    assert sum(w["label"] == "silence" and -70 < w["level_db"] < -55 for w in windows) * 2 > len(windows)
    assert not _quiet_warnings(caplog)


@pytest.mark.slow
def test_a_quiet_voice_after_a_beep_is_said_with_options_that_classify_it(model_dir, tmp_path, caplog):
    """Real sentences 50 dB under a loud beep (loudest 50 ms at -62 dBFS), between pauses of digital
    silence: the warning names the options, and with them the quiet windows are classified (the speech
    detector misses speech this quiet, so the advice includes --min-speech none when it does)."""
    beep = make_tone(1400.0, 0.5, SR, amp=0.7)
    parts = [beep, np.zeros(SR, np.float32)]
    for clip in _ravdess(sorted(p.name for p in EXAMPLES.glob("*.flac"))[:5], -62.0):
        parts += [clip, np.zeros(2 * SR, np.float32)]
    sf.write(tmp_path / "quiet.wav", np.concatenate(parts), SR, subtype="FLOAT")
    out = tmp_path / "out.json"
    argv = [str(tmp_path / "quiet.wav"), "--model", str(model_dir), "--window", "2", "--hop", "1"]
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        assert predict_cli([*argv, "--json", str(out)]) == 0
    said = _quiet_warnings(caplog)
    assert len(said) == 1 and "quiet.wav: " in said[0]
    advice = said[0].split("far microphone), ")[1].split(" classifies them")[0]
    flags = [f for f in advice.split() if f.startswith("--")]
    options = sum(([f, advice.split(f + " ")[1].split()[0]] for f in flags), [])
    assert options[:2] == ["--silence-db", options[1]] and "--silence-rel-db" in options
    assert predict_cli([*argv, *options, "--json", str(out)]) == 0
    quiet = [w for w in json.loads(out.read_text())[0]["timeline"] if -70 < w["level_db"] < -55]
    assert quiet and sum(not w["silent"] for w in quiet) * 2 > len(quiet)  # most of them classified
    assert "speech found in " in said[0]  # the detector was asked


def test_with_min_speech_none_the_quiet_side_hint_still_asks_the_speech_detector(model_dir, tmp_path, caplog):
    """`--min-speech none` left the quiet-side hint to the levels alone: one side of a call, sentences
    between 8-s pauses of steady noise (over half its windows `silence`, close under --silence-db), was
    said to be "a quiet speaker", whose windows hold no speech. The hint asks the detector with the option
    too (only the few windows it checks): nothing said there, and a quiet voice is said, speech found."""
    rng = np.random.default_rng(0)
    left = []
    for clip in _ravdess(sorted(p.name for p in EXAMPLES.glob("*.flac"))[:4], -12.0):
        left += [clip, rng.standard_normal(8 * SR).astype(np.float32) * 10 ** (-68 / 20)]
    left = np.concatenate(left)
    right = make_speechlike(len(left) / SR, SR, f0=220.0, seed=3) * 0.3  # the other side talks on
    sf.write(tmp_path / "call.wav", np.stack([left, right], axis=1), SR, subtype="FLOAT")
    out = tmp_path / "out.json"
    argv = [
        "--model",
        str(model_dir),
        "--min-speech",
        "none",
        "--json",
        str(out),
        "--window",
        "4",
        "--hop",
        "2",
    ]
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        assert predict_cli([str(tmp_path / "call.wav"), "--channel", "left", *argv]) == 0
    windows = json.loads(out.read_text())[0]["timeline"]
    assert sum(w["label"] == "silence" and -70 < w["level_db"] < -55 for w in windows) * 2 > len(windows)
    assert not _quiet_warnings(caplog)
    beep = make_tone(1400.0, 0.5, SR, amp=0.7)  # a quiet voice after a beep is still said
    parts = [beep, np.zeros(SR, np.float32)]
    for clip in _ravdess(sorted(p.name for p in EXAMPLES.glob("*.flac"))[:5], -62.0):
        parts += [clip, np.zeros(2 * SR, np.float32)]
    sf.write(tmp_path / "quiet.wav", np.concatenate(parts), SR, subtype="FLOAT")
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        assert predict_cli([str(tmp_path / "quiet.wav"), *argv, "--window", "2", "--hop", "1"]) == 0
    said = _quiet_warnings(caplog)
    assert len(said) == 1 and "quiet.wav: " in said[0] and "speech found in " in said[0], said
    assert "--min-speech none" not in said[0]  # it is given already


def test_a_headerless_telephony_file_is_said_so_with_how_to_read_it(model_dir, tmp_path, capsys):
    """``call.raw`` (bare 16-bit samples) read "FFmpeg finds no audio stream in it (a video without sound,
    or not a media file at all)", and the table cut that mid-sentence ("... no audio stream in ")."""
    raw = tmp_path / "call.raw"
    (make_speechlike(3.0, 8000) * 20000).astype("<i2").tofile(raw)
    (tmp_path / "ulaw.ulaw").write_bytes(bytes(range(256)) * 100)
    (tmp_path / "junk.wav").write_bytes(b"not audio at all " * 500)
    rows = tmp_path / "r.json"
    argv = [str(raw), str(tmp_path / "ulaw.ulaw"), str(tmp_path / "junk.wav"), "--model", str(model_dir)]
    assert predict_cli([*argv, "--json", str(rows)]) == 1
    errors = [r["error"] for r in json.loads(rows.read_text())]
    assert (
        "looks like headerless audio (.raw)" in errors[0]
        and "ffmpeg -f s16le -ar 8000 -ac 1 -i call.raw call.wav" in errors[0]
    )
    assert "classify(np.fromfile(path, '<i2'), sampling_rate=8000)" in errors[0]
    assert "ffmpeg -f mulaw -ar 8000 -ac 1 -i ulaw.ulaw ulaw.wav" in errors[1]
    assert "looks like headerless" not in errors[2]  # a .wav that is not audio: as before
    table = capsys.readouterr().out
    for path, error in zip(argv, errors):  # each cut at a word, ended "...", without the file's name
        assert error.startswith(f"{path}: ")
        reason = error[len(path) + 2 :]
        cell = next(line for line in table.splitlines() if line.startswith(path))
        shown = cell[cell.index(reason[:20]) :]
        assert shown.endswith("...") and reason.startswith(shown[:-3]) and reason[len(shown) - 3] in " ,;:"


def test_a_folder_of_headerless_files_says_what_they_are_and_how_to_convert_them(model_dir, tmp_path, caplog):
    """``ser-hf predict hl/`` on a phone system's .raw/.ulaw files said only "left out 3 file(s) that are
    not audio or video by their extension": the ones named like headerless audio are said to be that,
    with how to convert them, once; a folder of other files is left as it was (an INFO line)."""
    from ser_hf.errors import SERError

    hl = tmp_path / "hl"
    hl.mkdir()
    (make_speechlike(3.0, 8000) * 20000).astype("<i2").tofile(hl / "call.raw")
    (hl / "call.ulaw").write_bytes(bytes(range(256)) * 100)
    (hl / "notes.txt").write_text("agent 12, 3 min")
    with caplog.at_level(logging.INFO, logger="ser_hf"), pytest.raises(SERError, match="no audio or video"):
        predict_cli([str(hl), "--model", str(model_dir)])
    said = [r for r in caplog.records if "left out" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.WARNING
    text = said[0].getMessage()
    assert "left out 3 file(s)" in text and "2 of them named like headerless audio (.raw, .ulaw)" in text
    assert "ffmpeg -f s16le -ar 8000 -ac 1 -i call.raw call.wav" in text
    (hl / "call.raw").unlink()
    (hl / "call.ulaw").unlink()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ser_hf"), pytest.raises(SERError, match="no audio or video"):
        predict_cli([str(hl), "--model", str(model_dir)])
    said = [r for r in caplog.records if "left out" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.INFO and "named like" not in said[0].getMessage()
