"""The timeline's speech detector (Silero VAD v6, ``ser_hf.models.speech_detector``): real speech from
the demo's examples is found, music-like tones and noise are not, and a timeline labels the windows
without speech ``no speech`` instead of giving them an emotion."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import EXAMPLES, make_tone

from ser_hf import EmotionClassifier
from ser_hf.cli.predict import cli as predict_cli
from ser_hf.data.audio import load_audio
from ser_hf.errors import SERError
from ser_hf.inference.timeline import plot_timeline
from ser_hf.models.speech_detector import (
    CONTEXT,
    DTMF_HIGH,
    DTMF_LOW,
    FRAME,
    SpeechTrack,
    keypad_digits,
    speech_detector,
)

SR = 16000
LABELS = ["neutral", "happy", "sad", "angry"]


def _speech(name: str) -> np.ndarray:
    return load_audio(str(EXAMPLES / name), SR)


def _chords(seconds: float, seed: int = 0) -> np.ndarray:
    """Harmonic tones changing twice a second: music-like, no speech."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(SR / 2)) / SR
    parts = []
    for root in rng.choice([220.0, 262.0, 294.0, 330.0, 392.0], int(seconds * 2)):
        parts.append(
            sum(np.sin(2 * np.pi * root * r * h * t) / h**1.5 for r in (1, 1.25, 1.5) for h in range(1, 5))
        )
    x = np.concatenate(parts)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> tuple[Path, list[tuple[float, float]]]:
    """8 s of chords, two real sentences (RAVDESS actors 21 and 22, 3-4 s each), 8 s of chords and noise."""
    noise = np.random.default_rng(1).standard_normal(4 * SR).astype(np.float32) * 0.05
    parts = [_chords(8.0), _speech("03-01-05-02-01-01-21.flac"), _speech("03-01-06-02-02-01-22.flac")]
    parts += [_chords(4.0, seed=2), noise]
    speech = (8.0, 8.0 + (len(parts[1]) + len(parts[2])) / SR)
    path = tmp_path_factory.mktemp("rec") / "show.wav"
    sf.write(path, np.concatenate(parts), SR, subtype="FLOAT")
    return path, [speech]


def test_the_batched_detector_gives_the_frame_by_frame_probabilities_whatever_the_chunks():
    """Silero runs its network a frame at a time; the package runs all frames at once and carries the
    state between chunks: the same probabilities either way."""
    wave = _speech("03-01-03-02-02-01-23.flac")
    detector = speech_detector()
    whole = detector(torch.from_numpy(wave)).numpy()
    padded = np.pad(wave, (CONTEXT, (-len(wave)) % FRAME))
    state, one_by_one = None, []
    with torch.inference_mode():
        for k in range(len(whole)):
            p, state = detector.frames(
                torch.from_numpy(padded[k * FRAME : k * FRAME + CONTEXT + FRAME])[None], state
            )
            one_by_one.append(float(p))
    np.testing.assert_allclose(whole, one_by_one, atol=1e-5)
    track = SpeechTrack()
    for piece in np.split(wave, [1000, 1007, 6007, 20000]):
        track.feed(piece)
    track.finish()
    np.testing.assert_allclose(track.probabilities, whole, atol=1e-5)
    assert whole.max() > 0.9 and whole[:5].max() < 0.2  # the sentence, and the silence before it


# Silero's own probabilities (silero-vad 6.2.3's TorchScript model, `audio_forward` at 16 kHz) for
# frames 30-45 of 03-01-08-02-01-01-24.flac: the package's network must give them
SILERO_FRAMES_30_45 = [0.13744, 0.52719, 0.86905, 0.97489, 0.99067, 0.99649, 0.99404, 0.99032, 0.9991,
                       0.99883, 0.99613, 0.99419, 0.99906, 0.99655, 0.99631, 0.99978]  # fmt: skip


def test_the_package_detector_gives_silero_s_probabilities():
    probs = SpeechTrack.of(_speech("03-01-08-02-01-01-24.flac")).probabilities
    assert len(probs) == 124
    np.testing.assert_allclose(probs[30:46], SILERO_FRAMES_30_45, atol=2e-5)


def test_speech_is_found_in_sentences_and_not_in_tones_or_noise():
    def found(x: np.ndarray) -> float:
        track = SpeechTrack()
        track.feed(x)
        track.finish()
        return track.speech_s(0, len(x))

    for name in sorted(p.name for p in EXAMPLES.glob("*.flac")):
        assert found(_speech(name)) > 0.8, name  # 8 actors, 8 emotions, whispered calm to shouted anger
    noise = np.random.default_rng(0).standard_normal(4 * SR).astype(np.float32) * 0.1
    for x in (noise, make_tone(440.0, 4.0, SR, amp=0.5), _chords(4.0)):
        assert found(x) < 0.25


def _keypad(seconds: float, snr_db: float, seed: int = 0) -> np.ndarray:
    """Random DTMF digits (60-150 ms tones, 50-150 ms apart, -20 to +2.6 dB, the two tones up to 4 dB
    apart) in white noise."""
    rng = np.random.default_rng(seed)
    parts, n = [], int(seconds * SR)
    while sum(map(len, parts)) < n:
        t = np.arange(int(rng.uniform(0.06, 0.15) * SR)) / SR
        low, high = rng.choice(DTMF_LOW[:4]), rng.choice(DTMF_HIGH[:3])  # the 12 keys of a phone
        amp = 0.1 * 10 ** rng.uniform(-1, 0.3)
        twist = 10 ** (rng.uniform(-4, 4) / 20)
        parts += [amp * (np.sin(2 * np.pi * low * t) + twist * np.sin(2 * np.pi * high * t))]
        parts += [np.zeros(int(rng.uniform(0.05, 0.15) * SR))]
    x = np.concatenate(parts)[:n]
    noise = rng.standard_normal(n) * np.sqrt(np.mean(x**2) / 10 ** (snr_db / 10))
    return (x + noise).astype(np.float32)


@pytest.mark.slow
def test_keypad_tones_on_a_noisy_line_are_not_speech_and_speech_after_them_is():
    """Silero takes DTMF digits in noise for speech (a call's keypad stretch got `fearful`): the
    keypad rule leaves them out, and a sentence 0.6 s after the last key counts in full."""
    keys = _keypad(
        12.0, snr_db=10.0
    )  # seed 0: Silero alone takes every window for speech (seeds 0-7: 4 of 8)
    track = SpeechTrack.of(keys)
    silero = track.probabilities >= 0.5
    for start in range(0, len(keys) - 4 * SR + 1, SR):
        frames = silero[-(-start // FRAME) : (start + 4 * SR) // FRAME]
        assert frames.sum() * FRAME / SR >= 0.25  # what a window held by Silero alone: speech
        assert track.speech_s(start, start + 4 * SR) < 0.25, start / SR  # now: no 4-s window holds speech
    digits = keypad_digits(keys[: len(keys) // FRAME * FRAME].reshape(-1, FRAME))
    assert (
        digits >= 0
    ).mean() > 0.3  # the tones are found: they fill half the time, with frames across their edges
    sentence = _speech("03-01-04-02-01-02-24.flac")
    call = np.concatenate([keys, np.zeros(int(0.7 * SR), dtype=np.float32), sentence])
    after = len(call) - len(sentence)
    whole = SpeechTrack.of(call)
    found = (whole.probabilities >= 0.5)[-(-after // FRAME) :].sum() * FRAME / SR
    assert (
        whole.speech_s(after, len(call)) == pytest.approx(found) and found > 1.5
    )  # every frame Silero finds
    # the rule looks back only: the same count however the call arrives
    chunked = SpeechTrack()
    for i in range(0, len(call), 1234):
        chunked.feed(call[i : i + 1234])
    chunked.finish()
    assert [chunked.speech_s(s, s + 4 * SR) for s in range(0, len(call) - 4 * SR, SR)] == [
        SpeechTrack.of(call).speech_s(s, s + 4 * SR) for s in range(0, len(call) - 4 * SR, SR)
    ]
    # speech has no keypad digit two frames in a row: the demo's sentences lose no frame to the rule
    for name in sorted(p.name for p in EXAMPLES.glob("*.flac")):
        wave = _speech(name)
        track = SpeechTrack.of(wave)
        assert track.speech_s(0, len(wave)) == pytest.approx(
            (track.probabilities >= 0.5).sum() * FRAME / SR
        ), name


def test_a_timeline_labels_windows_without_speech_and_leaves_them_out(model_dir, recording):
    path, [(start, end)] = recording
    clf = EmotionClassifier(model_dir, device="cpu")
    tl = clf.timeline(path, window_s=4.0, hop_s=2.0, top_k=None, chunk_s=5.0)
    for w, row in zip(tl.windows, tl.probabilities):
        if w["end"] <= start - 0.5 or w["start"] >= end + 0.5:  # chords or noise only
            assert w["label"] == "no speech" and w["silent"] and w["speech_s"] < 0.25, w
            assert not any(row)
        elif start <= w["start"] and w["end"] <= end:  # speech only
            assert w["label"] in LABELS and not w["silent"] and w["speech_s"] > 1.0, w
    classified = [w for w in tl.windows if not w["silent"]]
    assert 2 <= len(classified) < len(tl.windows) - 4 and tl.label in LABELS
    # the overall label is the speech windows' alone: without the detector, music windows sway it
    everything = clf.timeline(path, window_s=4.0, hop_s=2.0, top_k=None, min_speech_s=None)
    assert not any(w["silent"] for w in everything.windows) and everything.scores != tl.scores
    # the same windows when the file is read in other chunks or from memory
    for other in (
        load_audio(str(path), SR),
        {"chunk_s": 3.3},
        {"chunk_s": 60.0},
    ):  # chunks not of 512 samples
        again = clf.timeline(
            other if isinstance(other, np.ndarray) else path, window_s=4.0, hop_s=2.0, top_k=None,
            **({} if isinstance(other, np.ndarray) else other),
        )  # fmt: skip
        assert [w["speech_s"] for w in again.windows] == [w["speech_s"] for w in tl.windows]  # exactly
        assert [w["label"] for w in again.windows] == [w["label"] for w in tl.windows]
    # segments keep "no speech" stretches; the time per label leaves them out
    assert tl.segments()[0]["label"] == "no speech" and tl.segments()[-1]["label"] == "no speech"
    assert "no speech" not in tl.label_time() and sum(tl.label_time().values()) < end - start + 4.0
    # music alone: nothing classified, the overall label says so
    music = clf.timeline(_chords(12.0), window_s=4.0)
    assert music.label == "no speech" and all(w["label"] == "no speech" for w in music.windows)
    same = clf.timeline(path, window_s=4.0, hop_s=2.0, top_k=None, chunk_s=5.0, min_speech_s=np.float32(0.25))
    assert same.windows == tl.windows  # a numpy number is a number
    for bad in (-1.0, "abc", float("nan")):  # "abc" was a bare TypeError
        with pytest.raises(SERError, match="min_speech_s"):
            clf.timeline(path, min_speech_s=bad)
    with pytest.raises(SERError, match="min_speech_s"):
        clf.adapt([path, path], min_speech_s="0.25")
    png = plot_timeline(tl, path.parent / "show.png")  # no speech shaded apart from silence, in the legend
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_predict_reports_windows_without_speech(model_dir, recording, tmp_path, capsys, caplog):
    path, _ = recording
    out = tmp_path / "r.json"
    assert predict_cli([str(path), "--model", str(model_dir), "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text(encoding="utf-8"))
    labels = [w["label"] for w in row["timeline"]]
    assert (
        labels[0] == "no speech" and labels[-1] == "no speech" and set(labels) - {"no speech"} <= set(LABELS)
    )
    assert all(isinstance(w["speech_s"], float) for w in row["timeline"])
    printed = capsys.readouterr().out
    assert "s of speech found)" in printed  # the table says why a window has no emotion
    classified = sum(not w["silent"] for w in row["timeline"])
    assert f"over {len(row['timeline'])} windows ({classified} classified)" in printed
    assert (
        predict_cli([str(path), "--model", str(model_dir), "--json", str(out), "--min-speech", "none"]) == 0
    )
    assert all(
        w["label"] in LABELS and w["speech_s"] is None for w in json.loads(out.read_text())[0]["timeline"]
    )
    with pytest.raises(SystemExit) as stop:
        predict_cli([str(path), "--model", str(model_dir), "--min-speech", "-2"])
    assert stop.value.code == 2 and "--min-speech" in capsys.readouterr().err
    # more than half the window: held to half of it, and said (it was silent)
    with caplog.at_level("WARNING", logger="ser_hf"):
        assert (
            predict_cli([str(path), "--model", str(model_dir), "--json", str(out), "--min-speech", "3"]) == 0
        )
    assert "--min-speech 3 is more than half the 4-s window" in caplog.text


@pytest.mark.slow
def test_adapting_on_a_long_recording_leaves_out_its_windows_without_speech(recording, caplog, capsys):
    """`adapt` and `ser-hf predict --adapt` read a long recording by the windows the timeline classifies:
    music and noise windows are not the speaker's statistics either."""
    path, _ = recording
    clf = EmotionClassifier()
    classified = sum(not w["silent"] for w in clf.timeline(path, top_k=None).windows)
    windows = len(clf.timeline(path, top_k=None, min_speech_s=None).windows)
    assert 2 <= classified < windows
    with caplog.at_level("WARNING", logger="ser_hf"):
        clf.adapt([path, path])
    assert clf.adapted_on == 2 * classified and "window(s) without speech" in caplog.text
    clf.reset_adaptation().adapt([path, path], min_speech_s=None)
    assert clf.adapted_on == 2 * windows
    assert predict_cli([str(path), "--adapt", "--json", "-"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["adapted_on"] == classified and sum(not w["silent"] for w in row["timeline"]) == classified


def test_a_live_stream_says_no_speech_over_music_and_classifies_speech(model_dir):
    """The live tab (StreamingClassifier) gave hold music and a tone an emotion; it runs the detector on
    each window now, at the stream's own rate (44.1 kHz here, resampled for the detector)."""
    from ser_hf import StreamingClassifier

    rate = 44100
    clf = EmotionClassifier(model_dir, device="cpu")
    music = load_audio(_chords(3.0), rate, source_rate=SR)
    speech = load_audio(str(EXAMPLES / "03-01-04-02-01-02-24.flac"), rate)
    stream = StreamingClassifier(clf, window_s=3.0, update_every_s=0.5)
    labels = []
    for part in (music, speech):
        for i in range(0, len(part), 4410):
            if (out := stream.push(part[i : i + 4410], rate)) is not None:
                labels.append((out["label"], out["speech_s"]))
    assert labels[0][0] == "no speech" and labels[-1][0] in LABELS and labels[-1][1] > 1.0, labels
    assert StreamingClassifier(clf, min_speech_s=None).push(music, rate)["speech_s"] is None
    for bad in (float("nan"), "abc"):
        with pytest.raises(SERError, match="min_speech_s"):
            StreamingClassifier(clf, min_speech_s=bad)


def test_a_stream_and_the_timeline_agree_on_speech_at_the_tails_of_utterances(model_dir):
    """At an utterance's end the stream said `no speech` (0.1 s of speech found) where timeline() on the
    whole recording classified the window (0.54 s): the detector read each stream window alone and
    missed speech that began before it. It is one state carried through the whole stream now."""
    from ser_hf import StreamingClassifier

    clf = EmotionClassifier(model_dir, device="cpu")
    gap = np.zeros(2 * SR, np.float32)
    names = ("03-01-02-02-01-01-22.flac", "03-01-03-02-02-01-23.flac", "03-01-04-02-01-02-24.flac")
    parts = [part for name in names for part in (_speech(name), gap)]
    ends = np.cumsum([len(p) for p in parts]) / SR
    tails = [(ends[i], ends[i + 1]) for i in range(0, len(parts), 2)]  # the gap after each utterance
    signal = np.concatenate(parts)
    tl = clf.timeline(signal, window_s=3.0, hop_s=0.5, top_k=None)
    timeline = {round(w["end"], 2): (w["label"] == "no speech", w["speech_s"]) for w in tl.windows}
    rate = 48000  # resampled for the detector, as the timeline's 16 kHz
    pcm = load_audio(signal, rate, source_rate=SR)
    stream = StreamingClassifier(clf, window_s=3.0, update_every_s=0.5)
    streamed = {}
    for i in range(0, len(pcm), rate // 10):
        if (out := stream.push(pcm[i : i + rate // 10], rate)) is not None and out["time"] >= 3.0:
            streamed[round(out["time"], 2)] = (out["label"] == "no speech", out["speech_s"])
    assert len(streamed) >= 30 and set(streamed) <= set(timeline)
    at_tails = [t for t in streamed if any(a < t <= b for a, b in tails)]  # windows ending after speech
    differ = [(t, streamed[t], timeline[t]) for t in at_tails if streamed[t][0] != timeline[t][0]]
    assert len(at_tails) >= 10 and not differ, differ
    heard = [t for t in at_tails if streamed[t][1] is not None]  # not silence
    assert heard and max(abs(streamed[t][1] - timeline[t][1]) for t in heard) <= 0.1


def test_a_stream_gives_each_window_the_timeline_s_decision_and_label_however_it_is_cut(model_dir):
    """The stream's detector read each window and the 2 s before it, the timeline's the whole recording:
    at a soft onset after a pause of hiss the stream found 0.544 s of speech and classified the window
    the timeline found 0.224 s in and called `no speech` (2 of 177 windows of the demo's recordings).
    The stream's detector is one state carried from its first sample now: every window's label, speech
    decision and seconds of speech are the timeline's, in chunks of any size, and at 48 kHz its decisions."""
    from ser_hf import StreamingClassifier

    clf = EmotionClassifier(model_dir, device="cpu")
    gap = np.zeros(2 * SR, np.float32)
    signal = np.concatenate(
        [_speech("03-01-03-02-02-01-23.flac"), gap, _speech("03-01-04-02-01-02-24.flac"), gap]
    )
    signal += (
        np.random.default_rng(0).standard_normal(len(signal)).astype(np.float32) * 0.003
    )  # a line's hiss

    def windows(source, rate, sizes=None, window_s=3.0, hop_s=0.5) -> dict[float, tuple[str, float | None]]:
        """{end: (label, speech_s)} of the timeline (sizes None) or of a stream pushed chunks of ``sizes``
        seconds in turn, its windows of ``window_s`` from the first that is whole."""
        if sizes is None:
            tl = clf.timeline(source, window_s, hop_s, top_k=None, sampling_rate=rate)
            return {round(w["end"], 3): (w["label"], w["speech_s"]) for w in tl.windows}
        stream, got, i = StreamingClassifier(clf, window_s=window_s, update_every_s=hop_s), {}, 0
        for size in itertools.cycle(sizes):
            if i >= len(source):
                return got
            if (out := stream.push(source[i : i + round(size * rate)], rate)) and out[
                "time"
            ] >= window_s - 1e-9:
                got[round(out["time"], 3)] = (out["label"], out["speech_s"])
            i += round(size * rate)

    def compare(streamed, timeline, labels=True):
        assert len(streamed) >= 6 and set(streamed) <= set(timeline), (sorted(streamed), sorted(timeline))
        for end, (label, speech) in streamed.items():
            assert (label == "no speech") == (timeline[end][0] == "no speech"), (
                end,
                label,
                speech,
                timeline[end],
            )
            assert speech is None or speech == timeline[end][1], (end, label, speech, timeline[end])
            assert not labels or label == timeline[end][0], (end, label, timeline[end])

    whole = windows(signal, SR)
    assert any(label == "no speech" for label, _ in whole.values())  # the soft onset's window is here
    for sizes in ((0.1,), (0.37, 0.13), (0.5,), (1.5,)):  # each lands on the timeline's 0.5-s steps
        compare(windows(signal, SR, sizes), whole)
    # 0.37-s chunks, a prediction each: windows of 2.96 s (8 chunks) end where a 0.37-s hop's do
    compare(windows(signal, SR, (0.37,), 2.96, 0.37), windows(signal, SR, None, 2.96, 0.37))
    # 48 kHz, resampled for the detector as the timeline resamples the whole recording; a window's scores
    # are classify() of the window at 48 kHz, which may differ from the timeline's by a rounding
    pcm = load_audio(signal, 48000, source_rate=SR)
    compare(windows(pcm, 48000, (0.37, 0.13)), windows(pcm, 48000), labels=False)


def test_a_beep_louder_than_quiet_speech_is_not_its_reference(model_dir):
    """The relative silence rule compared every window with the loudest one, a beep included: a beep
    40 dB over a quiet speaker silenced the whole call, and its label was `no speech`. The loudest
    window that may hold speech is the reference now (the beep's windows are `no speech`)."""
    clf = EmotionClassifier(model_dir, device="cpu")
    speech = np.concatenate([_speech(f) for f in ("03-01-04-02-01-02-24.flac", "03-01-05-02-01-01-21.flac")])
    quiet = speech * (10 ** (-40 / 20) / np.abs(speech).max())  # loudest 50 ms about -49 dBFS: 40+ dB under
    beep = make_tone(1400.0, 4.0, SR, amp=0.7)
    tl = clf.timeline(np.concatenate([beep, quiet]).astype(np.float32), window_s=4.0, hop_s=2.0, top_k=None)
    assert tl.windows[0]["label"] == "no speech"
    assert tl.label in LABELS and sum(not w["silent"] for w in tl.windows) >= 2, [
        (w["label"], w["level_db"], w["speech_s"]) for w in tl.windows
    ]


def test_adapt_counts_digital_silence_as_silence_not_as_no_speech(recording, caplog):
    path, _ = recording
    wave = load_audio(str(path), SR)
    with_gap = np.concatenate([wave, np.zeros(12 * SR, np.float32)])
    clf = EmotionClassifier()
    with caplog.at_level("WARNING", logger="ser_hf"):
        clf.adapt([with_gap, with_gap])
    assert "silent clip(s) or window(s)" in caplog.text  # the gap's windows, said as silence
