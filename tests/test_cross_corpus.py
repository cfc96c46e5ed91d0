"""The cross-corpus protocol end to end on two small generated corpora (a RAVDESS tree and a TESS
tree whose emotions are coded by pitch), with the fast ``speech-stats`` preset fitted through
``ser-hf cv --folds corpus``; the ``speech-stats`` functionals themselves; and a corpus that
shares no class with a model."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from test_training import _clip, make_ravdess_tree

from ser_hf.cli import cv as cv_cli
from ser_hf.data.labels import scheme_names
from ser_hf.errors import SERError
from ser_hf.inference.bundled import DEFAULT_PRESET
from ser_hf.models.feature_extraction_functionals import (
    N_SPEECH_STATS,
    clip_functionals,
    detect_pitch,
    relative_pitch_stats,
)
from ser_hf.training.cross_validation import fold_splits

SR = 16000
TESS_F0 = {"neutral": 140.0, "happy": 300.0, "sad": 600.0}  # the same pitch code as the RAVDESS tree


def make_tess_tree(root: Path, words: int = 8, seconds: float = 0.8) -> Path:
    """``OAF_<emotion>/OAF_<word>_<emotion>.wav`` and the same for YAF (two female speakers)."""
    seed = 1000
    for speaker in ("OAF", "YAF"):
        for emotion, f0 in TESS_F0.items():
            folder = root / f"{speaker}_{emotion}"
            folder.mkdir(parents=True, exist_ok=True)
            for w in range(words):
                seed += 1
                clip = _clip(f0 * (1.1 if speaker == "YAF" else 1.0), seconds, seed)
                sf.write(folder / f"{speaker}_word{w}_{emotion}.wav", clip, SR, subtype="PCM_16")
    return root


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("corpora")
    return make_ravdess_tree(root / "ravdess", actors=6, seconds=0.8), make_tess_tree(root / "tess")


@pytest.mark.slow
def test_cross_corpus_protocol_trains_on_one_corpus_and_tests_on_every_clip_of_the_other(
    corpora, tmp_path, capsys
):
    ravdess, tess = corpora
    out = tmp_path / "xc"
    argv = ["--corpus", f"ravdess={ravdess}", "--corpus", f"tess={tess}", "--folds", "corpus"]
    argv += ["--preset", DEFAULT_PRESET, "--adapt", "--out", str(out)]  # the default's recipe
    argv += ["--", "--use_cpu", "true", "--report_to", "none"]
    assert cv_cli.cli(argv) == 0, (out / "fold_0" / "train.log").read_text()[-3000:]
    printed = capsys.readouterr().out
    assert "with test-time adaptation (2 folds)" in printed
    # the genders per direction: a mean over folds mixed RAVDESS's women with TESS's
    assert re.search(r"by gender \(ravdess\): female UA [\d.]+ \(\d+ clips\), male UA", printed)
    assert re.search(r"by gender \(tess\): female UA [\d.]+ \(\d+ clips\)", printed)

    result = json.loads((out / "cv_results.json").read_text())
    assert result["meta"]["label_scheme"] == "harmonized7"
    assert result["labels"] == scheme_names("harmonized7")
    folds = {tuple(f["test_speakers"]): f for f in result["folds"]}
    # fold 0 tests on every RAVDESS clip, fold 1 on every TESS clip: both directions
    assert tuple(f"ravdess_{a:02d}" for a in range(1, 7)) in folds
    assert ("tess_OAF", "tess_YAF") in folds
    for k, test_corpus in enumerate(("ravdess", "tess")):
        split = json.loads((out / f"fold_{k}" / "split.json").read_text())
        assert all(s.startswith(test_corpus) for s in split["test_speakers"])
        # model selection saw only the training corpus
        assert not any(
            s.startswith(test_corpus) for s in split["train_speakers"] + split["validation_speakers"]
        )
    # the pitch code carries over between the corpora: far above chance (1/3) both ways
    assert min(f["ua"] for f in result["folds"]) > 0.8
    # female: RAVDESS actors 2, 4, 6 (actor 6 has 4 extra sad clips) and both TESS speakers
    assert result["per_gender"]["female"]["n"] == 3 * 3 * 4 + 4 + 2 * 3 * 8

    # --adapt: each fold model also scored per test speaker on its unlabelled clips, beside the
    # plain scores, on the same test clips
    adapted = result["adapted"]
    assert adapted["n_folds"] == 2 and [f["n"] for f in adapted["folds"]] == [f["n"] for f in result["folds"]]
    for k in range(2):
        metrics = json.loads((out / f"fold_{k}" / "adapted" / "metrics.json").read_text())
        assert "per speaker" in metrics["adapted"]
    assert adapted["mean"]["ua"] > 0.6 and set(adapted["per_gender"]) == {"female", "male"}
    assert "## With test-time adaptation (reported separately)" in (out / "cv_results.md").read_text()


@pytest.mark.slow
def test_a_saved_cross_corpus_fold_is_a_pipeline_model(corpora, tmp_path):
    from transformers import pipeline

    ravdess, tess = corpora
    out = tmp_path / "xc"
    argv = ["--corpus", f"ravdess={ravdess}", "--corpus", f"tess={tess}", "--folds", "corpus", "--only", "1"]
    argv += ["--preset", "speech-stats", "--out", str(out), "--", "--use_cpu", "true", "--report_to", "none"]
    assert cv_cli.cli(argv) == 0
    clf = pipeline("audio-classification", model=str(out / "fold_1"))
    assert clf.model.config.model_type == "ser_functionals_linear"
    assert clf.model.config.functionals == "speech-stats"
    assert "adapted" not in json.loads((out / "cv_results.json").read_text())
    # the held-out corpus is no training data (it was recorded as such: cards named its licence)
    tested = json.loads((out / "fold_1" / "split.json").read_text())["test_speakers"]
    assert clf.model.config.training_corpora == sorted({"ravdess", "tess"} - {tested[0].split("_")[0]})

    # the same command with --adapt later: the finished fold is scored, not retrained
    log = (out / "fold_1" / "train.log").read_text()
    assert cv_cli.cli(argv[:-5] + ["--adapt", *argv[-5:]]) == 0
    assert (out / "fold_1" / "train.log").read_text() == log
    assert json.loads((out / "cv_results.json").read_text())["adapted"]["n_folds"] == 1
    # and with --adapt corpus: both TESS speakers together, into its own folder, beside the other
    assert cv_cli.cli(argv[:-5] + ["--adapt", "corpus", *argv[-5:]]) == 0
    assert (out / "fold_1" / "train.log").read_text() == log
    result = json.loads((out / "cv_results.json").read_text())
    assert result["adapted"]["n_folds"] == result["adapted_corpus"]["n_folds"] == 1
    by_corpus = json.loads((out / "fold_1" / "adapted_corpus" / "metrics.json").read_text())
    assert by_corpus["adapted"].startswith("per corpus") and by_corpus["n"] == result["folds"][0]["n"]
    assert (
        "## With test-time adaptation (reported separately), per corpus"
        in (out / "cv_results.md").read_text()
    )
    # and --adapt voices: the TESS clips grouped by voice first, into a third folder
    assert cv_cli.cli(argv[:-5] + ["--adapt", "voices", *argv[-5:]]) == 0
    result = json.loads((out / "cv_results.json").read_text())
    assert result["adapted_voices"]["n_folds"] == 1 and result["adapted_corpus"]["n_folds"] == 1
    by_voice = json.loads((out / "fold_1" / "adapted_voices" / "metrics.json").read_text())
    assert by_voice["adapted"].startswith("per voice group") and by_voice["n"] == result["folds"][0]["n"]
    assert "(reported separately), per voice group" in (out / "cv_results.md").read_text()
    scores = clf(_clip(600.0, 1.0, 7), top_k=None)
    assert scores[0]["label"] == "sad" and abs(sum(s["score"] for s in scores) - 1) < 1e-4


def test_the_cross_corpus_protocol_needs_two_corpora():
    with pytest.raises(SERError, match="two or more corpora"):
        fold_splits("corpus", ["ravdess=/a"])
    splits, protocol = fold_splits("corpus", ["ravdess=/a", "tess=/b", "savee=/c"])
    assert splits == ["loco:ravdess", "loco:tess", "loco:savee"] and "leave one corpus out" in protocol
    # a folder's name as its rows carry it: "My-Lab" was loco:my-lab, a fold that failed after the others
    assert fold_splits("corpus", ["tess=/b", "My-Lab=/c"])[0] == ["loco:tess", "loco:my_lab"]
    with pytest.raises(SERError, match="two corpora have the name 'mine'"):  # ran and counted mine twice
        fold_splits("corpus", ["ravdess=/a", "mine=/c", "Mine=/c"])


def test_speech_stats_ignore_silence_before_after_and_inside_the_speech():
    """Pauses and silence (digital zeros in one corpus, a noise floor in another) must not move
    the features: only frames within 35 dB of the loudest enter the statistics."""
    speech = _clip(220.0, 1.0, 3)
    rng = np.random.default_rng(0)
    floor = 1e-4 * rng.standard_normal(SR // 2).astype(np.float32)  # -80 dB noise floor
    padded = np.concatenate(
        [np.zeros(SR // 2, np.float32), speech[: SR // 2], floor, speech[SR // 2 :], floor]
    )
    a = clip_functionals(speech, "speech-stats", SR, top_db=None)
    b = clip_functionals(padded, "speech-stats", SR, top_db=None)
    assert a.shape == b.shape == (N_SPEECH_STATS,)
    means = slice(0, 64)  # the per-band means over speech frames
    assert np.abs(a[means] - b[means]).max() < 2.5  # dB (frames straddling a pause edge differ)
    # while the band means over ALL frames of the padded clip are tens of dB away
    from ser_hf.models.feature_extraction_ser import SERFeatureExtractor

    frames = SERFeatureExtractor(n_mels=64)(padded, sampling_rate=SR, return_tensors="np")["input_features"][
        0
    ]
    assert np.abs(a[means] - frames.mean(0)).max() > 10.0


def test_mfcc_statistics_over_the_speech_frames_ignore_a_pause_inside_the_clip():
    """``speech-stats-mfcc-speech`` = ``speech-stats-mfcc`` with its MFCC statistics over the speech
    frames only: a pause inside the clip (as in a window of a long recording) barely moves them,
    while it moves the whole-clip statistics of ``speech-stats-mfcc``; the other blocks are equal."""
    from ser_hf.models.feature_extraction_functionals import block_columns

    speech = _clip(220.0, 1.0, 3)
    floor = 1e-4 * np.random.default_rng(1).standard_normal(SR).astype(np.float32)
    paused = np.concatenate([speech[: SR // 2], floor, speech[SR // 2 :]])
    mfcc = block_columns("speech-stats-mfcc", ["mfcc"])
    assert np.array_equal(mfcc, block_columns("speech-stats-mfcc-speech", ["mfcc-speech"]))
    moved = {}
    for name in ("speech-stats-mfcc", "speech-stats-mfcc-speech"):
        a, b = (clip_functionals(x, name, SR) for x in (speech, paused))
        moved[name] = np.abs(a[mfcc[:40]] - b[mfcc[:40]]).max()  # the 40 MFCC means
    # (the pause's edges differ a little: frames straddling them; here 2.7 against 255)
    assert moved["speech-stats-mfcc-speech"] < 0.05 * moved["speech-stats-mfcc"]
    whole, speech_only = (
        clip_functionals(paused, n, SR) for n in ("speech-stats-mfcc", "speech-stats-mfcc-speech")
    )
    rest = np.setdiff1d(np.arange(whole.size), mfcc)
    np.testing.assert_array_equal(whole[rest], speech_only[rest])


def _voice(f0: np.ndarray, seed: int = 0) -> np.ndarray:
    """A harmonic 'voice' following the contour ``f0`` (Hz per sample), with a little noise."""
    phase = 2 * np.pi * np.cumsum(f0) / SR
    wave = sum(np.sin(k * phase) / k for k in range(1, 6))
    rng = np.random.default_rng(seed)
    return (0.3 * wave / np.abs(wave).max() + 1e-3 * rng.standard_normal(f0.size)).astype(np.float32)


def test_pitch_tracker_matches_torchaudio_and_finds_the_voice():
    """The batched FFT tracker is torchaudio's detect_pitch_frequency (same lags, same rule, same
    smoothing) without its 267-pass loop; both must find a known gliding pitch."""
    import torch
    import torchaudio.functional as AF

    t = np.arange(int(1.5 * SR)) / SR
    contour = 150.0 * 2 ** (np.sin(2 * np.pi * 1.5 * t) / 2)  # 106-212 Hz, +-6 semitones
    waves = torch.from_numpy(np.stack([_voice(contour, 1), _voice(contour * 1.7, 2)]))
    ours, energy = detect_pitch(waves, SR)
    theirs = AF.detect_pitch_frequency(waves, SR, frame_time=0.02, win_length=5, freq_low=60, freq_high=500)
    assert ours.shape == theirs.shape == energy.shape
    assert (ours - theirs).abs().lt(1e-2).float().mean() >= 0.98
    single, _ = detect_pitch(waves[1:], SR)
    torch.testing.assert_close(single[0], ours[1])
    truth = contour[(np.arange(ours.shape[1]) * 320 + 160).clip(max=contour.size - 1)]
    cents = 1200 * np.abs(np.log2(ours[0].numpy() / truth))
    assert np.median(cents) < 50  # within half a semitone on most frames


def test_relative_pitch_leaves_out_the_voice_height_and_keeps_its_movement():
    """A voice an octave higher with the same melody gives the same statistics; a monotone and
    a +-6-semitone glide are told apart, and pauses do not enter them."""
    t = np.arange(2 * SR) / SR
    glide = 150.0 * 2 ** (np.sin(2 * np.pi * 1.0 * t) / 2)
    low, high = relative_pitch_stats(_voice(glide), SR), relative_pitch_stats(_voice(2 * glide), SR)
    np.testing.assert_allclose(low, high, atol=0.5)  # semitones
    assert 8.0 < low[3] < 13.0  # p90 - p10 of a +-6-semitone sine
    flat = relative_pitch_stats(_voice(np.full(t.size, 150.0)), SR)
    assert flat[0] < 0.5 and flat[3] < 1.0 and low[0] > 3.0
    paused = np.concatenate([np.zeros(SR // 2, np.float32), _voice(glide)])
    np.testing.assert_allclose(relative_pitch_stats(paused, SR), low, atol=0.5)
    both = clip_functionals(_voice(glide), "speech-stats-pitch", SR)
    np.testing.assert_allclose(both[:N_SPEECH_STATS], clip_functionals(_voice(glide), "speech-stats", SR))
    assert both.shape == (N_SPEECH_STATS + 5,)
    # too short for the tracker's smoothing, or silent: zeros, not NaN or an exception
    for odd in (np.zeros(50, np.float32), np.zeros(SR, np.float32)):
        assert np.array_equal(relative_pitch_stats(odd, SR), np.zeros(5))


def test_speech_stats_plus_is_the_pitch_set_then_whole_clip_functionals_and_log_f0():
    """speech-stats-plus = speech-stats-pitch, then the 'ours' log-mel / MFCC statistics, then log-F0
    statistics read off the same pitch tracker (no librosa): a 180 Hz voice has log-F0 log(180)."""
    import builtins
    from unittest import mock

    from ser_hf.models.feature_extraction_functionals import N_OURS, functionals_size

    t = np.arange(2 * SR) / SR
    voice = np.concatenate([np.zeros(SR // 4, np.float32), _voice(180.0 * 2 ** (np.sin(2 * np.pi * t) / 12))])
    real_import = builtins.__import__

    def no_librosa(name, *args, **kwargs):
        if name.startswith("librosa"):
            raise ImportError("no librosa here")
        return real_import(name, *args, **kwargs)

    with mock.patch("builtins.__import__", no_librosa):
        plus = clip_functionals(voice, "speech-stats-plus", SR)
    assert plus.shape == (functionals_size("speech-stats-plus"),) == (N_SPEECH_STATS + 5 + N_OURS,)
    np.testing.assert_allclose(plus[: N_SPEECH_STATS + 5], clip_functionals(voice, "speech-stats-pitch", SR))
    ours = clip_functionals(voice, "ours", SR)  # librosa's YIN for its last 7 values
    np.testing.assert_allclose(plus[N_SPEECH_STATS + 5 : -7], ours[:-7])
    log_f0 = plus[-7:]
    assert abs(log_f0[3] - np.log(180.0)) < 0.03  # the median, within half a semitone
    assert abs(log_f0[3] - ours[-4]) < 0.03  # and where YIN finds it
    assert 0.1 < log_f0[5] < 0.35  # p95 - p5 of a +-1-semitone wobble, in log units (0.115 = 2 st)
    assert 0.5 < log_f0[6] <= 1.0  # the share of speech frames: the leading pause is not speech


def test_a_corpus_sharing_no_class_with_the_model_is_a_clear_error(tmp_path):
    from ser_hf.data.corpora import load_corpus
    from ser_hf.training.evaluation import evaluate_model
    from ser_hf.training.presets import build_model

    folder = tmp_path / "bored" / "boredom"
    folder.mkdir(parents=True)
    for i in range(2):
        sf.write(folder / f"clip{i}.wav", _clip(200.0, 0.5, i), SR)
    ds = load_corpus("audiofolder", str(tmp_path / "bored"))
    model, extractor = build_model("compact-small", ["happy", "sad"])
    with pytest.raises(SERError) as err:
        evaluate_model(model.eval(), ds, feature_extractor=extractor)
    message = str(err.value)
    assert "happy" in message and "sad" in message and "boredom" in message and "--label-scheme" in message


def test_the_ravdess_protocol_with_tess_added_trains_on_both_and_chooses_on_ravdess_actors(tmp_path, capsys):
    """The default trains on RAVDESS + TESS, so its in-domain protocol is the RAVDESS 6-fold with
    TESS added to every fold's training data: test actors as in the RAVDESS-only protocol,
    validation (the choice of C) on RAVDESS actors only, labels harmonised."""
    ravdess = make_ravdess_tree(tmp_path / "ravdess", actors=24, seconds=0.5)
    tess = make_tess_tree(tmp_path / "tess", words=4, seconds=0.5)
    out = tmp_path / "r6t"
    argv = ["--corpus", f"ravdess={ravdess}", "--corpus", f"tess={tess}", "--folds", "ravdess", "--only", "0"]
    argv += ["--preset", "speech-stats", "--out", str(out), "--", "--use_cpu", "true", "--report_to", "none"]
    assert cv_cli.cli(argv) == 0, (out / "fold_0" / "train.log").read_text()[-3000:]
    split = json.loads((out / "fold_0" / "split.json").read_text())
    assert split["test_speakers"] == [f"ravdess_{a:02d}" for a in range(1, 5)]
    assert {"tess_OAF", "tess_YAF"} <= set(split["train_speakers"])
    assert len(split["validation_speakers"]) == 4
    assert all(s.startswith("ravdess_") for s in split["validation_speakers"])
    result = json.loads((out / "cv_results.json").read_text())
    assert result["meta"]["label_scheme"] == "harmonized7" and result["folds"][0]["ua"] > 0.8
    assert "tess added to every fold's training data" in result["meta"]["protocol"]


def test_a_held_out_corpus_is_scored_on_its_own_classes_in_cv_as_evaluate_scores_it(
    corpora, tmp_path, capsys
):
    """CREMA-D has no surprise: held out in a leave-one-corpus-out fold its clips could go to
    ``surprised`` (UA 0.264), while ``ser-hf evaluate`` of the same fold model on the same clips
    masked it (UA 0.333). Here the held-out TESS copy has no sad clips: both routes now score it on
    neutral and happy, and give the same figures."""
    from ser_hf.cli import evaluate as evaluate_cli

    ravdess, tess = corpora
    no_sad = tmp_path / "tess_no_sad"
    shutil.copytree(tess, no_sad, ignore=lambda folder, names: [n for n in names if n.endswith("_sad")])
    out = tmp_path / "xc"
    argv = [
        "--corpus",
        f"ravdess={ravdess}",
        "--corpus",
        f"tess={no_sad}",
        "--folds",
        "corpus",
        "--only",
        "1",
    ]
    argv += ["--preset", "speech-stats", "--out", str(out), "--", "--use_cpu", "true", "--report_to", "none"]
    assert cv_cli.cli(argv) == 0
    printed = capsys.readouterr().out
    assert "tess scored without " in printed and "its test clips hold" not in printed  # said once
    fold = json.loads((out / "fold_1" / "test_metrics.json").read_text())
    assert fold["speakers"] == ["tess_OAF", "tess_YAF"]
    log = (out / "fold_1" / "train.log").read_text()  # the RAVDESS tree has 3 of the 7 classes
    assert "no training clip is labelled ['angry', 'fearful', 'disgust', 'surprised']" in log
    assert "sad" in fold["masked_classes"]["tess"] and "neutral" not in fold["masked_classes"]["tess"]
    assert sum(fold["confusion"][fold["labels"].index("neutral")]) > 0
    assert all(row[fold["labels"].index("sad")] == 0 for row in fold["confusion"])  # never predicted
    capsys.readouterr()
    alone = tmp_path / "alone"
    model = str(out / "fold_1")
    assert evaluate_cli.cli(["--model", model, "--corpus", f"tess={no_sad}", "--out", str(alone)]) == 0
    evaluated = json.loads((alone / "metrics.json").read_text())
    assert evaluated["n"] == fold["n"] and evaluated["ua"] == pytest.approx(fold["ua"])
    assert evaluated["wa"] == pytest.approx(fold["wa"])


def test_corpora_that_share_no_class_are_refused_not_scored_zero(corpora, tmp_path, capsys):
    """Training on one corpus's neutral and happy and testing on another's sad reported UA 0.000."""
    from ser_hf.data.corpora import load_corpus

    ravdess, tess = corpora
    sad_only, no_sad = tmp_path / "sad_only", tmp_path / "no_sad"
    shutil.copytree(
        ravdess,
        sad_only,
        ignore=lambda f, names: [n for n in names if n.startswith("03-01-0") and n[7] != "4"],
    )
    shutil.copytree(tess, no_sad, ignore=lambda f, names: [n for n in names if n.endswith("_sad")])
    argv = [
        "--corpus",
        f"tess={no_sad}",
        "--corpus",
        f"ravdess={sad_only}",
        "--folds",
        "corpus",
        "--only",
        "0",
    ]
    argv += ["--preset", "speech-stats", "--out", str(tmp_path / "xc")]
    assert set(load_corpus("ravdess", sad_only)["emotion"]) == {
        load_corpus("ravdess", ravdess).features["emotion"].str2int("sad")
    }
    assert cv_cli.cli([*argv, "--", "--use_cpu", "true", "--num_val_speakers", "0"]) != 0
    printed = capsys.readouterr()
    assert "they share none, so nothing can be scored" in printed.out + printed.err


def test_the_held_out_corpus_mask_keeps_every_row_a_distribution():
    """Only unseen corpora with two or more classes are masked; a row whose probability all sat on
    masked classes (float32 underflow) was all zeros and its argmax a class the corpus lacks."""
    from ser_hf.training.scoring import mask_absent_classes

    probs = np.array([[1.0, 0.0, 0.0], [0.2, 0.5, 0.3], [0.6, 0.3, 0.1], [0.6, 0.3, 0.1]], np.float32)
    y_true = np.array([1, 2, 0, 0])
    masked, names = mask_absent_classes(probs, y_true, ["x", "x", "seen", "one"], {"seen"}, ["a", "b", "c"])
    assert names == {"x": ["a"]}  # "seen" trained on, "one" has a single class: both left as they were
    assert masked[0].tolist() == [0.0, 0.5, 0.5] and masked[1] == pytest.approx([0.0, 0.5 / 0.8, 0.3 / 0.8])
    assert masked[2:].tolist() == probs[2:].astype(np.float64).tolist()


def test_a_fold_whose_test_speakers_lack_classes_says_so(tmp_path, capsys, monkeypatch):
    """A fold whose test speakers held one class of three printed UA 1.000 and went into the mean
    without a word (probe of session 36: a user's own corpus with speakers of one class)."""
    import ser_hf.cli.cv as cv_module

    per_class = {"angry": {"support": 8}, "happy": {"support": 0}, "sad": {"support": 0}}
    metrics = {"wa": 1.0, "ua": 1.0, "f1_macro": 1.0, "per_class": per_class}

    def one_fold(*args, on_fold, **kwargs):
        on_fold(0, {"seconds": 6.0}, metrics, False)
        return None, []

    monkeypatch.setattr(cv_module, "run_cross_validation", one_fold)
    cv_cli.cli(["--corpus", f"mine={tmp_path}", "--preset", "speech-stats", "--out", str(tmp_path / "cv")])
    assert "fold 0: WA 1.000  UA 1.000" in (out := capsys.readouterr().out)
    assert "its test clips hold 1 of the 3 classes (angry)" in out


def test_a_held_out_class_no_training_clip_had_is_said_in_the_fold_metrics(tmp_path, monkeypatch, capsys):
    """Trained on a corpus of 4 classes and tested on TESS's 7, fearful/disgust/surprised scored recall
    0 by construction; only train.log said so, not test_metrics.json nor the cv line."""
    from ser_hf.training.scoring import score_parts

    names = ["neutral", "happy", "sad", "fearful"]
    labels = [0, 1, 2] * 4 + [0, 1, 2, 3, 3]  # 12 training rows (mine), 5 test rows (tess)
    corpora = ["mine"] * 12 + ["tess"] * 5
    probs = {"test": np.full((5, 4), 0.25)}
    results = score_parts(
        ([], list(range(12, 17))), list(range(12)), probs, labels, ["s"] * 17, ["female"] * 17, names,
        "loco:tess", tmp_path, corpora=corpora,
    )  # fmt: skip
    assert results["test"]["untrained_classes"] == {"fearful": 2}
    assert json.loads((tmp_path / "test_metrics.json").read_text())["untrained_classes"] == {"fearful": 2}

    # and ser-hf train's summary says it under the test line, as cv does per fold (the log alone did)
    from ser_hf.cli import train as train_cli

    monkeypatch.setattr("ser_hf.training.run.train", lambda *args: results)
    assert train_cli.cli(["--corpus", "ravdess=x", "--output_dir", str(tmp_path / "out")]) == 0
    assert (
        "fearful (2 test clips): no training clip has it, recall 0 by construction" in capsys.readouterr().out
    )


def test_cv_adapt_scores_the_folds_with_their_training_label_map(tmp_path, monkeypatch):
    """``ser-hf cv ... --adapt -- --label_map wut=angry,calm=`` scored fold_K/adapted with the labels
    unmapped (calm back, Wut left out) beside the plain scores as if comparable. No fold is trained
    here: the fold runner records the commands it is given."""
    from ser_hf.training import cross_validation as cv

    given: list[list[str] | None] = []
    monkeypatch.setattr(cv, "check_split", lambda *argvs: None)
    monkeypatch.setattr(cv, "run_fold", lambda cmd, fold_dir, env, teacher, adapt: given.append(adapt) or {"returncode": 1})  # fmt: skip
    extra = ["--label_map", "wut=angry,calm=", "--num_train_epochs", "1"]
    result, failed = cv.run_cross_validation(
        [f"mine={tmp_path}"], "speech-stats", tmp_path / "cv", folds="2", extra=extra, adapt=True
    )
    assert result is None and failed == [0, 1] and len(given) == 2
    for command in given:
        assert command[command.index("--label-map") + 1] == "wut=angry,calm="


def test_cv_says_for_every_fold_when_its_validation_speakers_leave_few_to_train_on(
    corpora, tmp_path, caplog, monkeypatch
):
    """A user's 6-speaker corpus in 5 folds: each fold's 4 validation speakers left 1 to train on
    (C chosen on fits to one speaker), and the terminal said so for fold 0 only (the others in their
    train.log). Every fold's split is now built before any fold runs, so each fold's warning is said.
    (Since session 50 the default takes at most half the training speakers: 4 is asked for here.)"""
    import logging

    import ser_hf.training.cross_validation as cv_module

    ran = []

    def no_training(command, fold_dir, *args, **kwargs):  # the folds themselves are not the point
        ran.append(fold_dir.name)
        return {"returncode": 1, "seconds": 0.0, "log": str(fold_dir / "train.log")}

    monkeypatch.setattr(cv_module, "run_fold", no_training)
    ravdess, _ = corpora  # 6 actors
    argv = ["--corpus", f"ravdess={ravdess}", "--folds", "5", "--preset", "speech-stats"]
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        cv_cli.cli([*argv, "--out", str(tmp_path / "cv"), "--", "--num_val_speakers", "4"])
    assert ran == [f"fold_{k}" for k in range(5)]
    few = [r.getMessage() for r in caplog.records if "validation speakers leave" in r.getMessage()]
    assert [re.search(r"speaker k-fold (\d) of 5", m).group(1) for m in few] == [str(k) for k in range(5)]
    assert all("--num-val-speakers" in m for m in few)
