"""Test-time adaptation from unlabelled clips (``ser_hf.training.adaptation``,
``EmotionClassifier.adapt``, ``ser-hf evaluate --adapt``, ``ser-hf predict --adapt``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_training import _clip

from ser_hf.data.audio import load_audio
from ser_hf.errors import SERError
from ser_hf.inference.classifier import EmotionClassifier
from ser_hf.training.adaptation import adapt_model
from ser_hf.training.functionals import _fit, to_pretrained
from ser_hf.training.linear import functionals_matrix
from ser_hf.training.presets import build_model

SR = 16000
LABELS = ["neutral", "happy", "sad"]
F0 = {0: 140.0, 1: 300.0, 2: 600.0}


@pytest.fixture(scope="module")
def stats_model():
    clips = [_clip(F0[k] * (1 + 0.05 * i), 0.8, 10 * k + i) for k in F0 for i in range(6)]
    y = np.repeat(list(F0), 6)
    model, extractor = to_pretrained(
        _fit(functionals_matrix(clips, "speech-stats"), y, 0.1, 0), LABELS, "speech-stats"
    )
    return model, extractor


def _lowpassed(x: np.ndarray) -> np.ndarray:
    """Another 'microphone': a strong first-order low-pass (spectral tilt)."""
    y = np.copy(x)
    for i in range(1, len(y)):
        y[i] = 0.2 * x[i] + 0.8 * y[i - 1]
    return (y / np.abs(y).max() * 0.3).astype(np.float32)


def _two_voice_tess(root: Path, takes: int, higher: float, seed: int):
    """A TESS-layout corpus of two 'speakers' through one 'microphone' (low-passed): OAF, and YAF
    ``higher`` times her pitch; ``takes`` clips per speaker and class."""
    import soundfile as sf

    from ser_hf.data.corpora import load_corpus

    for speaker in ("OAF", "YAF"):
        for k, name in enumerate(LABELS):
            folder = root / "tess" / f"{speaker}_{name}"
            folder.mkdir(parents=True)
            for w in range(takes):
                clip = _lowpassed(
                    _clip(F0[k] * (higher if speaker == "YAF" else 1.0), 0.8, seed + 10 * k + w)
                )
                sf.write(folder / f"{speaker}_w{w}_{name}.wav", clip, SR)
    return load_corpus("tess", str(root / "tess"), label_scheme="harmonized7")


def _saved(stats_model, folder: Path) -> Path:
    """The module's model and extractor saved as one folder, as ``ser-hf predict --model`` reads it."""
    model, extractor = stats_model
    model.save_pretrained(folder)
    extractor.save_pretrained(folder)
    return folder


def test_adapt_centres_a_functionals_model_on_the_clips_and_reset_restores_it(stats_model):
    model, extractor = stats_model
    clf = EmotionClassifier(model, feature_extractor=extractor, device="cpu")
    before = model.feature_mean.clone()
    clips = [_lowpassed(_clip(F0[k], 0.8, 100 + k)) for k in F0]
    clf.adapt(clips)
    expected = functionals_matrix(clips, "speech-stats").mean(0)
    np.testing.assert_allclose(model.feature_mean.numpy(), expected, rtol=1e-5, atol=1e-4)
    assert clf.adapted_on == 3
    scores = clf.classify(clips[0], top_k=None)
    assert abs(sum(s["score"] for s in scores) - 1) < 1e-5
    clf.reset_adaptation()
    assert torch.equal(model.feature_mean, before) and clf.adapted_on == 0
    # more clips than one batch of the extractor (16), from a generator read once
    many = [_lowpassed(_clip(F0[i % 3] * (1 + 0.02 * i), 0.6, 200 + i)) for i in range(20)]
    clf.adapt(c for c in many)
    assert clf.adapted_on == 20
    expected = functionals_matrix(many, "speech-stats").mean(0)
    np.testing.assert_allclose(model.feature_mean.numpy(), expected, rtol=1e-5, atol=1e-4)
    clf.reset_adaptation()


def test_adapt_needs_several_clips_and_something_to_adapt(stats_model):
    model, extractor = stats_model
    clf = EmotionClassifier(model, feature_extractor=extractor, device="cpu")
    with pytest.raises(SERError, match="at least 2"):
        clf.adapt([_clip(200.0, 0.5, 1)])

    class NoStats(torch.nn.Module):
        def forward(self, input_features):
            return input_features

    with pytest.raises(SERError, match="no normalisation statistics"):
        adapt_model(NoStats(), [{"input_features": torch.zeros(1, 3)}] * 3)


def test_adapt_on_no_readable_clip_names_every_clips_reason(stats_model):
    """adapt([b"", b"garbage" * 100]) named the first clip's error alone, as if the other were fine."""
    from ser_hf.errors import AudioInputError

    model, extractor = stats_model
    clf = EmotionClassifier(model, feature_extractor=extractor, device="cpu")
    with pytest.raises(AudioInputError) as err:
        clf.adapt([b"", b"garbage" * 100])
    assert str(err.value).startswith(
        "adapt: none of the 2 clips could be read, so there is nothing to adapt on"
    )
    assert "no audio bytes (empty input)" in str(err.value) and "<700 bytes of audio>: not a readable" in str(
        err.value
    )
    with pytest.raises(
        SERError, match=r"none of the 5 clips could be read.*missing_3\.wav.*; and 2 more$"
    ) as err:
        clf.adapt([f"missing_{i}.wav" for i in range(1, 6)])
    assert "missing_4.wav" not in str(err.value) and not isinstance(err.value, AudioInputError)
    with pytest.raises(
        AudioInputError, match=r"^<0 bytes of audio>: no audio bytes"
    ):  # one clip: its own error
        clf.adapt([b""])


def test_adapting_on_few_clips_warns_that_it_can_lower_accuracy(stats_model, caplog):
    model, extractor = stats_model
    clf = EmotionClassifier(model, feature_extractor=extractor, device="cpu")
    clips = [_clip(F0[k % 3] * (1 + 0.01 * k), 0.5, 700 + k) for k in range(12)]
    with caplog.at_level("WARNING", logger="ser_hf.training.adaptation"):
        clf.adapt(clips[:3])
    assert "adapting on 3 clips" in caplog.text and "LOWER accuracy" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="ser_hf.training.adaptation"):
        clf.adapt(clips)
    assert "LOWER accuracy" not in caplog.text
    clf.reset_adaptation()


def test_adapt_leaves_out_silent_clips_as_the_command_line_does(stats_model, caplog):
    """Silent clips would drag the statistics towards silence; ``ser-hf predict --adapt`` already
    drops them, and ``adapt()`` now does the same, with a warning that counts them."""
    model, extractor = stats_model
    clf = EmotionClassifier(model, feature_extractor=extractor, device="cpu")
    clips = [_lowpassed(_clip(F0[k % 3] * (1 + 0.02 * k), 0.6, 300 + k)) for k in range(12)]
    with caplog.at_level("WARNING", logger="ser_hf.inference"):
        clf.adapt([*clips, *[np.zeros(16000, np.float32)] * 3])
    assert clf.adapted_on == 12 and "left out 3 silent clip(s)" in caplog.text
    with_silence = model.feature_mean.clone()
    caplog.clear()
    with caplog.at_level("WARNING", logger="ser_hf.inference"):
        clf.adapt([*clips, clips[0][:800], clips[1][:1]])  # 50 ms and one sample: adapted on, till now
    assert clf.adapted_on == 12 and "left out 2 clip(s) under 0.1 s" in caplog.text
    assert torch.equal(model.feature_mean, with_silence)
    clf.adapt(clips)
    assert torch.equal(model.feature_mean, with_silence)
    clf.reset_adaptation()
    with pytest.raises(SERError, match="takes a list"):
        clf.adapt("clips_folder")  # one string: formerly read as paths of one character each
    # a broken file among them is left out and named, as ser-hf predict --adapt does (it raised)
    caplog.clear()
    with caplog.at_level("WARNING", logger="ser_hf.inference"):
        clf.adapt([*clips, "no_such_clip.wav"])
    assert clf.adapted_on == 12 and "left out 1 unreadable clip(s): no_such_clip.wav" in caplog.text
    # quiet recordings adapt when the user's threshold says they are speech (it was fixed at -55 dBFS)
    quiet = [c * 10 ** (-60 / 20) for c in clips]
    with pytest.raises(SERError, match="at least 2"):
        clf.adapt(quiet)
    assert clf.adapt(quiet, silence_db=-100).adapted_on == 12
    clf.reset_adaptation()
    # a mistake of the call itself is its own error, not "0 clips, give more clips"
    with pytest.raises(SERError, match="rate"):
        clf.adapt(clips, sampling_rate=-8000)


def test_adabn_re_estimates_batchnorm_statistics_of_a_frame_model():
    torch.manual_seed(0)
    model, extractor = build_model("compact-small", LABELS)
    model.eval()
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    before = [bn.running_mean.clone() for bn in norms]
    clf = EmotionClassifier(model, feature_extractor=extractor, device="cpu")
    clips = [_lowpassed(_clip(F0[k], 0.8, 200 + k)) for k in F0]
    plain = clf.classify(clips[0], top_k=None)
    clf.adapt(clips)
    assert all(not torch.equal(bn.running_mean, b) for bn, b in zip(norms, before))
    adapted = clf.classify(clips[0], top_k=None)
    assert {s["label"]: s["score"] for s in plain} != {s["label"]: s["score"] for s in adapted}
    clf.reset_adaptation()
    assert all(torch.equal(bn.running_mean, b) for bn, b in zip(norms, before))
    assert all(bn.momentum == 0.1 for bn in norms) and not model.training
    assert clf.classify(clips[0], top_k=None) == plain


def test_evaluate_adapts_per_speaker_and_leaves_the_model_as_it_was(tmp_path, stats_model):

    from ser_hf.training.evaluation import evaluate_model

    model, extractor = stats_model
    ds = _two_voice_tess(tmp_path, takes=3, higher=1.1, seed=300)
    before = model.feature_mean.clone()
    plain = evaluate_model(model, ds, feature_extractor=extractor)
    adapted = evaluate_model(model, ds, feature_extractor=extractor, adapt=True)
    assert adapted["adapted"].startswith("per speaker") and "adapted" not in plain
    assert adapted["n"] == plain["n"] == 18
    assert torch.equal(model.feature_mean, before)  # restored after scoring

    # adapt="corpus": one recording set-up, both speakers' clips together; the same as adapting on
    # every clip by hand and scoring after, and not the same as per speaker (their voices differ)
    from ser_hf.data.rows import audio_sources
    from ser_hf.training.adaptation import restore_model

    by_corpus, rows = evaluate_model(
        model, ds, feature_extractor=extractor, adapt="corpus", return_predictions=True
    )
    assert by_corpus["adapted"] == "per corpus, on the test clips' unlabelled audio"
    _, per_speaker = evaluate_model(
        model, ds, feature_extractor=extractor, adapt=True, return_predictions=True
    )
    waves = [load_audio(a, SR) for a in audio_sources(ds, range(len(ds)))]
    adapt_model(model, [extractor(w, sampling_rate=SR, return_tensors="pt") for w in waves])
    _, by_hand = evaluate_model(model, ds, feature_extractor=extractor, return_predictions=True)
    restore_model(model)
    probs = np.array([r["probs"] for r in rows])
    assert np.abs(probs - np.array([r["probs"] for r in by_hand])).max() < 1e-6
    assert np.abs(probs - np.array([r["probs"] for r in per_speaker])).max() > 1e-3
    assert torch.equal(model.feature_mean, before)
    with pytest.raises(SERError, match="'speaker', 'corpus' or 'voices'"):
        evaluate_model(model, ds, feature_extractor=extractor, adapt="room")


def test_evaluate_scores_a_speaker_of_one_clip_unadapted(tmp_path, stats_model, caplog):
    """One test speaker with a single clip stopped `ser-hf evaluate --adapt` (and `cv --adapt`) after
    every other speaker was scored, with no metrics written; that speaker is now scored unadapted."""
    from ser_hf.training.evaluation import evaluate_model

    model, extractor = stats_model
    ds = _two_voice_tess(tmp_path, takes=3, higher=1.1, seed=300)
    lone = ds["speaker"][-1]
    ds = ds.select([i for i, s in enumerate(ds["speaker"]) if s != lone] + [len(ds) - 1])
    _, plain = evaluate_model(model, ds, feature_extractor=extractor, return_predictions=True)
    metrics, adapted = evaluate_model(
        model, ds, feature_extractor=extractor, adapt=True, return_predictions=True
    )
    assert metrics["n"] == len(ds) == 10
    by_path = {r["path"]: np.array(r["probs"]) for r in plain}
    lone_path = ds["path"][-1]
    assert (
        np.abs(
            np.array(next(r["probs"] for r in adapted if r["path"] == lone_path)) - by_path[lone_path]
        ).max()
        < 1e-6
    )
    assert (
        max(np.abs(np.array(r["probs"]) - by_path[r["path"]]).max() for r in adapted) > 1e-3
    )  # the rest adapted
    assert f"speaker '{lone}' has 1 decodable clip(s), too few to adapt on" in caplog.text


def test_voice_groups_put_each_voice_together_and_leave_small_groups_out(monkeypatch):
    """Real speech (two demo actors, a man and a woman): takes of each, cut 20 ms apart, group by voice."""
    from ser_hf.training import adaptation
    from ser_hf.training.adaptation import voice_groups

    examples = Path(__file__).resolve().parent.parent / "demo" / "examples"
    names = ("03-01-03-02-02-01-23.flac", "03-01-04-02-01-02-24.flac")
    waves = [load_audio(examples / name, SR)[320 * k :] for name in names for k in range(12)]
    who = np.repeat([0, 1], 12)
    ids = voice_groups(waves, SR)
    assert sorted(set(ids.tolist())) == [0, 1]
    assert all(len(set(ids[who == v].tolist())) == 1 for v in (0, 1)) and ids[0] != ids[-1]
    # groups below min_clips are left to the whole set's statistics (-1), as are too few clips
    assert (voice_groups(waves, SR, min_clips=13) == -1).all()
    # a large set: a sample is clustered and the other clips join their nearest sampled clip's group
    monkeypatch.setattr(adaptation, "_MAX_CLUSTERED", 6)
    sampled = voice_groups(waves, SR)
    assert sorted(set(sampled.tolist())) == [0, 1] and all(
        len(set(sampled[who == v].tolist())) == 1 for v in (0, 1)
    )
    assert (voice_groups(waves[:5], SR) == -1).all()


@pytest.mark.slow
def test_voice_groups_take_what_adapt_takes(tmp_path):
    """The README has users pass their clips to voice_groups, then adapt per group: paths work as
    they do for adapt (they used to fail with numpy's "could not convert string to float")."""
    import soundfile as sf

    from ser_hf.training.adaptation import voice_groups

    examples = Path(__file__).resolve().parent.parent / "demo" / "examples"
    names = ("03-01-03-02-02-01-23.flac", "03-01-04-02-01-02-24.flac")
    waves = [load_audio(examples / name, SR)[320 * k :] for name in names for k in range(12)]
    paths = []
    for i, wave in enumerate(waves):
        sf.write(tmp_path / f"{i:02d}.wav", wave, SR)
        paths.append(tmp_path / f"{i:02d}.wav")
    grouped = voice_groups(paths, SR).tolist()
    assert grouped == voice_groups(waves, SR).tolist() and sorted(set(grouped)) == [0, 1]
    # clips at another rate, as the docstring allows (8 kHz was refused: "the voice encoder reads 16 kHz")
    from ser_hf.data.audio import resample

    assert voice_groups([resample(w, SR, 8000) for w in waves], 8000).tolist() == grouped
    with pytest.raises(SERError, match="takes a list, got one str"):
        voice_groups(str(tmp_path), SR)
    with pytest.raises(SERError, match="takes a list, got one dict"):  # one clip as adapt takes it
        voice_groups({"array": waves[0], "sampling_rate": SR}, SR)
    with pytest.raises(SERError, match="missing.wav"):
        voice_groups([*paths[:3], tmp_path / "missing.wav"], SR)


def test_evaluate_adapts_per_voice_group_and_the_rest_on_the_whole_corpus(tmp_path, stats_model, monkeypatch):
    """adapt="voices": each voice group adapts on its own clips; clips outside every group take
    the whole corpus's statistics; the same as doing each by hand."""

    from ser_hf.data.rows import audio_sources
    from ser_hf.training import adaptation
    from ser_hf.training.adaptation import restore_model
    from ser_hf.training.evaluation import evaluate_model

    model, extractor = stats_model
    ds = _two_voice_tess(tmp_path, takes=4, higher=1.15, seed=700)
    speakers = np.asarray(ds["speaker"])
    # a known grouping: the OAF clips are one voice group, the YAF clips fall outside any group
    monkeypatch.setattr(adaptation, "voice_groups", lambda waves, sr: np.where(speakers == "tess_OAF", 0, -1))
    before = model.feature_mean.clone()
    metrics, rows = evaluate_model(
        model, ds, feature_extractor=extractor, adapt="voices", return_predictions=True
    )
    assert metrics["adapted"].startswith("per voice group") and metrics["n"] == 24
    assert torch.equal(model.feature_mean, before)

    waves = [load_audio(a, SR) for a in audio_sources(ds, range(len(ds)))]
    inputs = [extractor(w, sampling_rate=SR, return_tensors="pt") for w in waves]
    expected = {}
    for adapt_on, scored in (
        (speakers == "tess_OAF", speakers == "tess_OAF"),
        (speakers != "", speakers != "tess_OAF"),
    ):
        adapt_model(model, [inputs[j] for j in np.flatnonzero(adapt_on)])
        _, by_hand = evaluate_model(model, ds, feature_extractor=extractor, return_predictions=True)
        restore_model(model)
        expected.update({r["path"]: r["probs"] for r, s in zip(by_hand, scored) if s})
    got = {r["path"]: r["probs"] for r in rows}
    assert np.abs(np.array([got[p] for p in expected]) - np.array(list(expected.values()))).max() < 1e-6
    # and not the whole corpus together for the grouped clips
    _, together = evaluate_model(
        model, ds, feature_extractor=extractor, adapt="corpus", return_predictions=True
    )
    assert (
        np.abs(np.array([r["probs"] for r in together]) - np.array([got[r["path"]] for r in together])).max()
        > 1e-3
    )


def test_predict_adapt_adapts_on_all_the_given_files_then_classifies_them(tmp_path, stats_model, capsys):
    """`ser-hf predict --adapt` = EmotionClassifier.adapt(every file) then classify; on clips from
    'another microphone' it recovers emotions the plain model misses; one short file is refused."""
    import json

    import soundfile as sf

    from ser_hf.cli import predict

    folder = _saved(stats_model, tmp_path / "model")
    clips = tmp_path / "clips"
    clips.mkdir()
    truth = {}
    for k, name in enumerate(LABELS):
        for w in range(3):
            path = clips / f"{name}_{w}.wav"
            sf.write(path, _lowpassed(_clip(F0[k] * (1 + 0.03 * w), 0.8, 500 + 10 * k + w)), SR)
            truth[str(path)] = name

    def run_on(path: Path, *extra: str) -> list[dict]:
        code = predict.cli([str(path), "--model", str(folder), "--device", "cpu", "--json", "-", *extra])
        assert code == 0
        return json.loads(capsys.readouterr().out)

    def run(*extra: str) -> list[dict]:
        return run_on(clips, *extra)

    plain, adapted = run(), run("--adapt")
    assert all(r["adapted_on"] == 9 for r in adapted) and "adapted_on" not in plain[0]
    # the README's order, `--adapt FILES...`: the folder after --adapt is a path, not a mode
    code = predict.cli(["--adapt", str(clips), "--model", str(folder), "--device", "cpu", "--json", "-"])
    assert code == 0 and json.loads(capsys.readouterr().out) == adapted
    correct = lambda rows: sum(r["label"] == truth[r["file"]] for r in rows)  # noqa: E731
    assert correct(adapted) > correct(plain), (correct(adapted), correct(plain))

    reference = EmotionClassifier(str(folder), device="cpu").adapt(sorted(truth))
    for row in adapted:
        assert row["label"] == reference.classify(row["file"], top_k=1)[0]["label"]

    one = tmp_path / "one"
    one.mkdir()
    sf.write(one / "a.wav", _clip(200.0, 0.8, 1), SR)
    with pytest.raises(SERError, match="--adapt needs at least 2") as err:
        predict.cli([str(one), "--model", str(folder), "--device", "cpu", "--adapt"])
    assert "could not be read" not in str(err.value)
    # `--adapt foo a.wav` (foo meant as --adapt's value) took foo for a file: the error names why it is out
    with pytest.raises(SERError, match=r"\(1 could not be read: .*foo.*not found") as err:
        predict.cli(["--adapt", str(tmp_path / "foo"), str(one / "a.wav"), "--model", str(folder)])

    # one long recording adapts on its windows (4-s windows, 2-s hop over 10 s: 4 windows)
    long = np.concatenate([_lowpassed(_clip(F0[k % 3], 2.0, 600 + k)) for k in range(5)])
    sf.write(one / "a.wav", long, SR)
    (row,) = run_on(one, "--adapt", "--min-speech", "none")  # synthetic: the speech detector finds none
    assert row["adapted_on"] == 4 and len(row["timeline"]) == 4
    # so do several: each was one clip (two calls: 2 clips, each read as its last seconds only)
    sf.write(one / "b.wav", long[::-1].copy(), SR)
    rows = run_on(one, "--adapt", "--min-speech", "none")
    assert [r["adapted_on"] for r in rows] == [8, 8]


def test_predict_adapt_voices_adapts_each_voice_group_on_its_own_files(
    tmp_path, stats_model, capsys, monkeypatch
):
    """`ser-hf predict --adapt voices`: the files of a voice group adapt on that group, the others on
    every file; rows come back in the files' order."""
    import json

    import soundfile as sf

    from ser_hf.cli import predict
    from ser_hf.training import adaptation

    folder = _saved(stats_model, tmp_path / "model")
    clips = tmp_path / "clips"
    clips.mkdir()
    for i in range(14):  # 12 low-passed, 2 plain: the grouping below puts the first 10 together
        wave = _clip(F0[i % 3] * (1 + 0.02 * i), 0.8, 900 + i)
        sf.write(clips / f"c{i:02d}.wav", _lowpassed(wave) if i < 12 else wave, SR)
    files = sorted(str(p) for p in clips.iterdir())
    monkeypatch.setattr(
        adaptation, "voice_groups", lambda waves, sr: np.array([0] * 10 + [-1] * (len(list(waves)) - 10))
    )
    code = predict.cli(
        [str(clips), "--model", str(folder), "--device", "cpu", "--json", "-", "--adapt", "voices"]
    )
    assert code == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert "1 group(s) of 10 or more files; 4 file(s) adapt on all 14 together" in captured.err
    assert [r["file"] for r in rows] == files
    assert [r["adapted_on"] for r in rows] == [10] * 10 + [14] * 4
    grouped = EmotionClassifier(str(folder), device="cpu").adapt(files[:10])
    everyone = EmotionClassifier(str(folder), device="cpu").adapt(files)
    for row in rows:
        reference = grouped if row["adapted_on"] == 10 else everyone
        (top,) = reference.classify(row["file"], top_k=1)
        assert row["label"] == top["label"] and abs(row["score"] - top["score"]) < 1e-5
    # not what adapting on all of them gives for the grouped files
    assert any(abs(r["score"] - everyone.classify(r["file"], top_k=1)[0]["score"]) > 1e-3 for r in rows[:10])


def test_adapt_reads_a_clip_longer_than_the_model_reads_by_its_windows(caplog):
    """The default reads a clip's last 8 s: adapted on two 45-s calls, it learnt the statistics of 16 s of
    them and then classified their windows, which looked otherwise (a call went from happy to angry)."""
    clf = EmotionClassifier()
    calls = [
        np.concatenate([_clip(F0[k % 3] * (1 + 0.01 * c), 2.0, 700 + 10 * c + k) for k in range(10)])
        for c in (0, 1)
    ]
    with caplog.at_level("INFO", logger="ser_hf.inference"):
        clf.adapt(calls, min_speech_s=None)  # synthetic calls: the speech detector finds no speech in them
    assert clf.adapted_on == 2 * 9  # 20 s in 4-s windows every 2 s
    assert "2 clip(s) longer than the model reads, adapted on their 4-s windows" in caplog.text
    clf.reset_adaptation()


@pytest.mark.parametrize(
    "seconds, window_s, spans_s",
    [
        (
            21.3,
            4.0,
            [(a, a + 4.0) for a in range(0, 17, 2)] + [(17.3, 21.3)],
        ),  # the last window ends at the end
        (20.0, 4.0, [(a, a + 4.0) for a in range(0, 17, 2)]),  # windows fit exactly: none added
        (9.5, 3.0, [(0, 3), (1.5, 4.5), (3, 6), (4.5, 7.5), (6, 9), (6.5, 9.5)]),
        (10.0, 12.0, [(0, 10.0)]),  # a window longer than the clip: the whole clip (was an IndexError)
    ],
)
def test_adapt_reads_a_long_clip_by_the_windows_the_timeline_classifies(seconds, window_s, spans_s):
    """`adaptation_waves` cuts a clip longer than the model reads into the timeline's windows (hop half
    the window, one more ending at the very end), by the one rule `timeline()` cuts with."""
    from types import SimpleNamespace

    from ser_hf.inference.adapting import adaptation_waves

    wave = np.random.default_rng(0).uniform(-0.5, 0.5, round(seconds * SR)).astype(np.float32)
    turn_encoder = SimpleNamespace(functionals="turn-encoder")  # reads the last 8 s of a clip
    pieces = list(adaptation_waves([wave], lambda w: w, SR, turn_encoder, window_s, None, None))
    expected = [wave[round(a * SR) : round(b * SR)] for a, b in spans_s]
    assert [len(p) for p in pieces] == [len(e) for e in expected]
    assert all(np.array_equal(p, e) for p, e in zip(pieces, expected))
