"""Call-centre recordings: one side of a stereo call, and a quiet speaker after a loud beep."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import make_speechlike, make_tone

from ser_hf.cli.predict import cli as predict_cli
from ser_hf.inference.classifier import EmotionClassifier

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
