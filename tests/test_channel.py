"""Channel conditions (``ser_hf.data.channel``, ``ser-hf evaluate --channel``): what a room, a
phone line or a codec does to a clip, measured on signals whose answer is known."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_adaptation import F0, LABELS, stats_model  # noqa: F401  (the module fixture)
from test_training import _clip

from ser_hf.data import transforms as T
from ser_hf.data.channel import CONDITIONS, apply_channel, parse_channel
from ser_hf.errors import SERError

SR = 16000


def _tones(*freqs: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (sum(np.sin(2 * np.pi * f * t) for f in freqs) * 0.2 / len(freqs)).astype(np.float32)


def _band_power(x: np.ndarray, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return float(spectrum[(f >= low) & (f < high)].mean())


def _power_at(x: np.ndarray, freq: float) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    bin_ = int(round(freq * len(x) / SR))
    return float(spectrum[bin_ - 2 : bin_ + 3].sum())


@pytest.mark.parametrize(
    "spec", [example for name, (_, example) in CONDITIONS.items() if name != "crop"] + ["telephone+pink:20"]
)
def test_every_condition_keeps_the_length_and_repeats_with_its_seed(spec):
    x = _clip(220.0, 0.7, 1)
    y = apply_channel(x, spec, SR, seed=3)
    assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
    np.testing.assert_array_equal(y, apply_channel(x, spec, SR, seed=3))
    if spec != "clean":
        assert not np.allclose(y, x, atol=1e-4)


def test_a_channel_copy_is_the_same_whatever_torchs_thread_count():
    """Rooms and equalisers moved by up to 2e-7 between 1 and 2 threads (FFTs and sums split by thread),
    so `ser-hf cv --parallel 2` and `--parallel 1` trained other fold models (another C for the
    speaker head); every count now gives the one-thread samples, and the count is left as it was."""
    x = _clip(220.0, 1.5, 3)
    before = torch.get_num_threads()
    copies = {}
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            copies[threads] = [
                apply_channel(x, spec, seed=5) for spec in ("reverb:0.6", "eq:10", "band:300-3400")
            ]
            assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(before)
    assert all(np.array_equal(a, b) for a, b in zip(copies[1], copies[2]))
    # torch keeps a thread count per Python thread: two threads making copies at once (evaluate
    # --channel's workers) each get the one-thread samples and keep their own count
    import threading

    results, counts, barrier = {}, {}, threading.Barrier(2)

    def worker(name: str, threads: int) -> None:
        torch.set_num_threads(threads)
        barrier.wait()
        results[name] = [apply_channel(x, "reverb:0.6", seed=5) for _ in range(5)]
        counts[name] = torch.get_num_threads()

    pool = [threading.Thread(target=worker, args=(n, t)) for n, t in (("a", 2), ("b", 2))]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert counts == {"a": 2, "b": 2} and torch.get_num_threads() == before
    assert all(np.array_equal(r, copies[1][0]) for rows in results.values() for r in rows)


def test_crop_takes_a_stretch_of_the_speech_of_the_asked_length():
    """``crop:S``: S seconds from inside the speech (the ends' silence trimmed first), where the seed
    says; speech shorter than S comes back whole; it chains with the other conditions."""
    silence = np.zeros(SR, np.float32)
    speech = _clip(220.0, 3.0, 1)
    x = np.concatenate([silence, speech, silence])
    starts = set()
    for seed in range(6):
        y = apply_channel(x, "crop:1.2", SR, seed=seed)
        assert len(y) == int(1.2 * SR) and y.dtype == np.float32
        start = int(np.flatnonzero(np.isclose(x, y[0]) & np.isclose(np.roll(x, -1), y[1]))[0])
        np.testing.assert_array_equal(x[start : start + len(y)], y)
        assert SR - 0.1 * SR <= start and start + len(y) <= 4 * SR + 0.1 * SR  # inside the speech (+ margin)
        np.testing.assert_array_equal(y, apply_channel(x, "crop:1.2", SR, seed=seed))
        starts.add(start)
    assert len(starts) == 6
    short = apply_channel(np.concatenate([silence, speech[: SR // 2], silence]), "crop:1.2", SR)
    assert 0.5 * SR <= len(short) <= 0.7 * SR + 1  # the half second of speech (+ 0.1-s margins), not padded
    assert len(apply_channel(x, "crop:1.2+noise:20", SR, seed=1)) == int(1.2 * SR)


def test_noise_is_added_at_the_asked_snr_and_pink_noise_is_darker_than_white():
    x = _tones(440.0, seconds=2.0)
    for spec in ("noise:20", "pink:5"):
        noise = apply_channel(x, spec, SR, seed=1) - x
        snr = 10 * np.log10(np.mean(x**2) / np.mean(noise**2))
        assert snr == pytest.approx(float(spec.split(":")[1]), abs=0.05)
    white = apply_channel(x, "noise:0", SR, seed=1) - x
    pink = apply_channel(x, "pink:0", SR, seed=1) - x
    low_to_high = [_band_power(n, 150.0, 250.0) / _band_power(n, 3500.0, 4500.0) for n in (white, pink)]
    assert 0.7 < low_to_high[0] < 1.4 and low_to_high[1] > 10.0  # pink: 1/f, 20x at 20x the frequency
    assert apply_channel(x, "noise:10", SR, seed=1) != pytest.approx(apply_channel(x, "noise:10", SR, seed=2))


def test_telephone_passes_the_voice_band_only():
    x = _tones(100.0, 1000.0, 6000.0)
    y = apply_channel(x, "telephone", SR)
    kept = {f: _power_at(y, f) / _power_at(x, f) for f in (100.0, 1000.0, 6000.0)}
    assert kept[1000.0] > 0.8
    assert kept[100.0] < 0.01 and kept[6000.0] < 0.01  # more than 20 dB down


def test_band_limit_keeps_padding_zero_in_a_batch():
    waves = torch.from_numpy(np.stack([_tones(500.0, 3000.0), _tones(500.0, 3000.0)]))
    lengths = torch.tensor([16000, 9000])
    waves[1, 9000:] = 0
    out = T.band_limit(waves, lengths, SR, torch.tensor([0.0, 1000.0]), torch.tensor([1000.0, 8000.0]))
    assert torch.all(out[1, 9000:] == 0)
    assert _power_at(out[0].numpy(), 500.0) > 10 * _power_at(out[0].numpy(), 3000.0)
    assert _power_at(out[1, :9000].numpy(), 3000.0) > 10 * _power_at(out[1, :9000].numpy(), 500.0)


def test_clipping_flattens_the_peaks_and_gain_scales():
    x = _clip(300.0, 0.5, 2)
    y = apply_channel(x, "clip:0.3", SR)
    assert np.abs(y).max() == pytest.approx(0.3 * np.abs(x).max(), rel=1e-5)
    np.testing.assert_allclose(apply_channel(x, "gain:-20", SR), x * 0.1, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("codec", ["mp3:32", "opus:12"])
def test_codec_round_trips_go_through_ffmpeg_and_stay_aligned(codec):
    x = _tones(440.0, 880.0, seconds=1.5)
    y = apply_channel(x, codec, SR)
    assert np.corrcoef(x[2000:-2000], y[2000:-2000])[0, 1] > 0.95  # no delay added by the codec
    assert not np.allclose(x, y, atol=1e-3)  # and it did encode: lossy


@pytest.mark.parametrize(
    "spec, message",
    [
        ("noise", "takes a value"),
        ("foo:1", "unknown channel condition 'foo'"),
        ("band:3000-300", "LOW < HIGH"),
        ("clip:2", "between 0 and 1"),
        ("telephone:3", "takes no value"),
        ("mp3:fast", "not a number"),
        ("opus:0", "positive"),
        ("crop:0", "positive"),
    ],
)
def test_a_bad_condition_is_refused_with_the_valid_forms(spec, message):
    with pytest.raises(SERError, match=message) as info:
        parse_channel(spec)
    assert spec in str(info.value) and "telephone" in str(info.value) and "noise:20" in str(info.value)


def _tess_tree(root) -> str:
    import soundfile as sf

    for speaker in ("OAF", "YAF"):
        for k, name in enumerate(LABELS):
            folder = root / "tess" / f"{speaker}_{name}"
            folder.mkdir(parents=True)
            for w in range(3):
                clip = _clip(F0[k] * (1.03 if speaker == "YAF" else 1.0), 0.8, 500 + 10 * k + w)
                sf.write(folder / f"{speaker}_w{w}_{name}.wav", clip, SR)
    return str(root / "tess")


def test_evaluate_through_a_channel_degrades_the_audio_it_scores(tmp_path, stats_model):  # noqa: F811
    """The F0-coded toy model is perfect on clean clips; under noise at -20 dB SNR the speech
    frames drown, and a user sees it in the score."""
    from ser_hf.data.corpora import load_corpus
    from ser_hf.training.evaluation import evaluate_model

    model, extractor = stats_model
    ds = load_corpus("tess", _tess_tree(tmp_path), label_scheme="harmonized7")
    clean = evaluate_model(model, ds, feature_extractor=extractor)
    drowned = evaluate_model(model, ds, feature_extractor=extractor, channel="noise:-20")
    assert clean["ua"] == 1.0 and "channel" not in clean
    assert drowned["ua"] < 0.7 and drowned["channel"] == "noise:-20"
    again = evaluate_model(model, ds, feature_extractor=extractor, channel="noise:-20")
    assert again["confusion"] == drowned["confusion"]  # seeded per clip


def test_evaluate_cli_channel_is_recorded_and_a_typo_fails_first(tmp_path, stats_model, capsys):  # noqa: F811
    from ser_hf.cli import evaluate as evaluate_cli

    model, extractor = stats_model
    model.save_pretrained(tmp_path / "m")
    extractor.save_pretrained(tmp_path / "m")
    tree = _tess_tree(tmp_path)
    argv = ["--model", str(tmp_path / "m"), "--corpus", f"tess={tree}", "--device", "cpu"]
    assert evaluate_cli.cli([*argv, "--channel", "telephone", "--out", str(tmp_path / "e")]) == 0
    out = capsys.readouterr().out
    assert "through the channel telephone" in out and "ADAPTED" not in out
    assert json.loads((tmp_path / "e" / "metrics.json").read_text())["channel"] == "telephone"
    # the report said nothing of the channel: read alone, it passed for the clean scores
    report = (tmp_path / "e" / "classification_report.txt").read_text()
    assert report.startswith("scored after the channel telephone\n") and "recall" in report
    # adapted figures said so only in an INFO log and the folder name: now where they are printed
    assert evaluate_cli.cli([*argv, "--adapt", "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert (
        "test-time adaptation per speaker, on the test clips' unlabelled audio: the figures below are ADAPTED"
        in out
    )
    with pytest.raises(SERError, match="unknown channel condition 'phone'"):
        evaluate_cli.cli([*argv, "--channel", "phone", "--corpus", "tess=/does/not/exist"])


def test_bench_robustness_sweeps_conditions_and_writes_ratios_to_clean(tmp_path, stats_model):  # noqa: F811
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_robustness.py"
    spec = importlib.util.spec_from_file_location("bench_robustness", script)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    model, extractor = stats_model
    model.save_pretrained(tmp_path / "m")
    extractor.save_pretrained(tmp_path / "m")
    tree = _tess_tree(tmp_path)
    result = bench.run(str(tmp_path / "m"), [f"tess={tree}"], "all", None, ["clean", "noise:-20"], False, 12)
    assert result["n"] == 12 and [r["channel"] for r in result["rows"]] == ["clean", "noise:-20"]
    assert result["rows"][0]["ua"] > result["rows"][1]["ua"]
    table = bench.markdown(result)
    assert "| noise:-20 |" in table and f"{result['rows'][1]['ua'] / result['rows'][0]['ua']:.2f}" in table


def test_channel_copies_train_a_model_that_holds_up_on_degraded_clips():
    """Trained on clean clips, the toy model falls to chance under noise or a low-pass; with one
    channel copy per clip (the default's recipe) it keeps its answers."""
    from sklearn.metrics import balanced_accuracy_score

    from ser_hf.data.channel import channel_copies
    from ser_hf.training.linear import predict_probabilities, train_linear

    f0 = {0: 140.0, 1: 200.0, 2: 280.0}
    clips = [_clip(f * (1 + 0.04 * (i % 6 - 3)), 0.8, 100 * k + i) for k, f in f0.items() for i in range(24)]
    labels = [k for k in f0 for _ in range(24)]
    order = np.random.default_rng(0).permutation(len(clips)).tolist()
    train, val, test = order[:36], order[36:54], order[54:]
    truth = [labels[i] for i in test]
    ua = {}
    for copies in (0, 1):
        spec = {
            "feature_extractor": {"functionals": "speech-stats"},
            "config": {"c_grid": [0.01, 0.1, 1.0], "channel_copies": copies},
        }
        model, extractor, _ = train_linear(clips, labels, train, val, LABELS, spec, seed=0)
        for ch in ("clean", "noise:10", "band:0-3000"):
            degraded = [apply_channel(clips[i], ch, SR, seed=i) for i in test]
            pred = predict_probabilities(model, extractor, degraded).argmax(1)
            ua[copies, ch] = balanced_accuracy_score(truth, pred)
    assert ua[0, "clean"] == ua[1, "clean"] == 1.0
    assert ua[0, "noise:10"] < 0.6 and ua[0, "band:0-3000"] < 0.6
    assert ua[1, "noise:10"] > 0.9 and ua[1, "band:0-3000"] > 0.9
    # a clip's copies are drawn from (seed, row): the same in every fold and every run
    again = channel_copies(clips[0], 2, seed=0, row=5)
    np.testing.assert_array_equal(again[1], channel_copies(clips[0], 2, seed=0, row=5)[1])
    assert not np.allclose(again[0], channel_copies(clips[0], 2, seed=1, row=5)[0])


def test_channel_copies_with_speed_copies_or_distillation_is_a_clear_error():
    from ser_hf.training.linear import train_linear

    clips = [_clip(150.0 + 40 * k, 0.5, k) for k in range(6)]
    spec = {
        "feature_extractor": {"functionals": "speech-stats"},
        "config": {"channel_copies": 1, "speed_copies": [0.9]},
    }
    with pytest.raises(SERError, match="channel_copies and crop_copies do not combine"):
        train_linear(clips, [0, 1, 2] * 2, [0, 1, 2], [3, 4, 5], LABELS, spec)


def test_crop_copies_add_parts_of_every_clip_drawn_apart_from_the_channel_copies(tmp_path):
    """``crop_copies: 1`` gives every training and validation clip one more copy, a 1.0-1.6 s stretch
    of its speech, drawn from (seed, row) on a stream of its own: the channel copies (and their
    cached values) stay what they were; a bad count is refused with the fix."""
    import random

    from ser_hf.data.channel import channel_copies, random_channel
    from ser_hf.training.feature_cache import FeatureCache
    from ser_hf.training.linear import train_linear

    clips = [_clip(150.0 + 60 * (k % 3), 2.5, k) for k in range(12)]
    labels = [k % 3 for k in range(12)]
    crops = channel_copies(clips[4], 3, seed=0, row=4, kinds=("crop",), stream="crop")
    assert all(SR <= len(c) <= 1.6 * SR for c in crops) and len({len(c) for c in crops}) == 3
    np.testing.assert_array_equal(
        crops[0], channel_copies(clips[4], 1, 0, 4, kinds=("crop",), stream="crop")[0]
    )
    # the channel copies of a preset without crops are drawn exactly as before crops existed
    channel = channel_copies(clips[4], 2, seed=0, row=4, kinds=("noise",))
    rng = random.Random(0 * 1_000_003 + 4)
    first = apply_channel(clips[4], random_channel(rng, ("noise",)), SR, rng.randrange(2**31))
    np.testing.assert_array_equal(channel[0], first)
    seen = {}
    for n_crops in (0, 1):
        cache = FeatureCache(tmp_path / f"crops{n_crops}")
        spec = {
            "feature_extractor": {"functionals": "speech-stats"},
            "config": {
                "c_grid": [0.1],
                "channel_copies": 1,
                "channel_kinds": ["noise"],
                "crop_copies": n_crops,
            },
        }
        train_linear(clips, labels, list(range(9)), [9, 10, 11], LABELS[:3], spec, seed=0, cache=cache)
        seen[n_crops] = {p.name for p in (tmp_path / f"crops{n_crops}").rglob("*.npy")}
    assert len(seen[0]) == 24 and len(seen[1]) == 36  # whole + a channel copy (+ a crop) of all 12 clips
    assert seen[0] < seen[1]  # the same channel copies: their cached values are reused
    for bad in (-1, 1.5, True):
        spec["config"]["crop_copies"] = bad
        with pytest.raises(SERError, match=r"crop_copies.*whole number.*\"crop_copies\": 0"):
            train_linear(clips, labels, list(range(9)), [9, 10, 11], LABELS[:3], spec)


def test_room_copies_draw_synthetic_rooms_and_unknown_kinds_are_refused():
    import random

    from ser_hf.data.channel import ALL_KINDS, ROOM_KINDS, channel_copies, random_channel

    rng = random.Random(0)
    drawn = [random_channel(rng, ROOM_KINDS) for _ in range(200)]
    rooms = [float(s.split(":")[1]) for s in drawn if s.startswith("reverb:")]
    assert 20 < len(rooms) < 80 and all(0.2 <= r <= 1.0 for r in rooms)
    assert {s.split(":")[0] for s in drawn} == set(ROOM_KINDS)
    every = [random_channel(rng, ALL_KINDS) for _ in range(400)]
    assert {s.split(":")[0] for s in every} == set(ALL_KINDS)
    for spec in every:
        parse_channel(spec)  # every drawn channel is a valid condition
    # a room smears the clip: energy moves from the voiced half into the silent half after it
    clip = np.concatenate([_tones(300.0, seconds=0.5), np.zeros(SR // 2, np.float32)])
    room = channel_copies(clip, 1, seed=0, row=1, kinds=("reverb",))[0]
    assert np.abs(room[SR // 2 + 800 :]).max() > 10 * np.abs(clip[SR // 2 + 800 :]).max() + 1e-3
    with pytest.raises(SERError, match="random channel kinds are"):
        random_channel(rng, ("noise", "jet-engine"))


def test_cell_balanced_weights_give_every_corpus_and_class_the_same_weight():
    """2,800 clips of one corpus against 960 of another: balancing by corpus gives each (corpus,
    class) cell the same total weight, so the small corpus counts as much as the big one."""
    from ser_hf.training.functionals import cell_balanced_weights

    y = np.array([0] * 700 + [1] * 2100 + [0] * 480 + [1] * 480)
    groups = np.array(["tess"] * 2800 + ["ravdess"] * 960)
    w = cell_balanced_weights(y, groups)
    assert w.mean() == pytest.approx(1.0)
    totals = [w[(groups == g) & (y == c)].sum() for g in ("tess", "ravdess") for c in (0, 1)]
    assert totals == pytest.approx([len(y) / 4] * 4)


def test_gender_first_balance_gives_male_voices_half_the_weight():
    """RAVDESS (both genders) + TESS (female only): balanced per (corpus, gender) cell, female voices
    would carry two thirds of the weight; balanced by gender first, each gender carries half, each
    female corpus a quarter, and the classes within each are balanced."""
    from ser_hf.training.functionals import cell_balanced_weights

    y = np.array([0] * 100 + [1] * 380 + [0, 1] * 240 + [0] * 700 + [1] * 2100)
    groups = np.array(["male>ravdess"] * 480 + ["female>ravdess"] * 480 + ["female>tess"] * 2800)
    w = cell_balanced_weights(y, groups)
    assert w.mean() == pytest.approx(1.0)
    total = len(y)
    for group, share in (("male>ravdess", 1 / 2), ("female>ravdess", 1 / 4), ("female>tess", 1 / 4)):
        for c in (0, 1):
            assert w[(groups == group) & (y == c)].sum() == pytest.approx(total * share / 2)
    flat = cell_balanced_weights(y, np.char.replace(groups, ">", "/"))
    assert flat[groups == "male>ravdess"].sum() == pytest.approx(total / 3)


def test_balanced_training_needs_its_group_column():
    from ser_hf.training.linear import train_linear

    clips = [_clip(150.0 + 40 * k, 0.5, k) for k in range(6)]
    spec = {"feature_extractor": {"functionals": "speech-stats"}, "config": {"balance": "accent"}}
    with pytest.raises(
        SERError, match="balance is one of 'corpus', 'gender', 'corpus-gender', 'gender/corpus'"
    ):
        train_linear(clips, [0, 1, 2] * 2, [0, 1, 2], [3, 4, 5], LABELS, spec, groups={"corpus": ["a"] * 6})


def test_a_random_equaliser_recolours_the_clip_keeps_its_loudness_and_repeats():
    """Another microphone: the balance between low and high tones moves by several dB, differently
    for each seed, while the loudness stays and the same seed gives the same audio."""
    x = _tones(200.0, 4000.0)
    ratios = []
    for seed in range(4):
        y = apply_channel(x, "eq:12", SR, seed=seed)
        assert np.sqrt(np.mean(y**2)) == pytest.approx(np.sqrt(np.mean(x**2)), rel=1e-3)
        np.testing.assert_array_equal(y, apply_channel(x, "eq:12", SR, seed=seed))
        ratios.append(10 * np.log10(_power_at(y, 200.0) / _power_at(y, 4000.0)))
    flat = 10 * np.log10(_power_at(x, 200.0) / _power_at(x, 4000.0))
    assert max(abs(r - flat) for r in ratios) > 3.0 and np.ptp(ratios) > 3.0
    assert all(abs(r - flat) <= 24.0 + 1e-3 for r in ratios)  # never beyond +-12 dB on each tone
    with pytest.raises(SERError, match="eq needs a positive value"):
        parse_channel("eq:0")


def test_another_voice_moves_the_pitch_by_the_semitones_and_keeps_the_duration():
    """``pitch:-3`` is a lower voice saying the same thing in the same time: a 300 Hz tone comes
    out at 300 * 2^(-3/12) Hz, as long as before; a shift of 0 or beyond an octave is refused."""
    x = _tones(300.0, seconds=1.0)
    for semitones in (-3.0, 4.0):
        y = apply_channel(x, f"pitch:{semitones}", SR)
        assert y.shape == x.shape
        moved = 300.0 * 2 ** (semitones / 12)
        assert _power_at(y, moved) > 20 * _power_at(y, 300.0)
    for spec in ("pitch:0", "pitch:-15"):
        with pytest.raises(SERError, match="-12 to 12 and not 0"):
            parse_channel(spec)


def test_parse_refuses_numbers_the_codecs_or_the_maths_cannot_take():
    """opus:600 reached FFmpeg's avcodec_open2 (a raw RuntimeError); noise:nan and gain:inf passed
    and then blamed the clip ("contains NaN")."""
    from ser_hf.data.channel import parse_channel
    from ser_hf.errors import SERError

    for spec, message in (
        ("opus:600", "6 to 256"),
        ("mp3:1000", "8 to 160"),
        ("noise:nan", "not a finite number"),
        ("gain:inf", "not a finite number"),
    ):
        with pytest.raises(SERError, match=message):
            parse_channel(spec)
    assert parse_channel("opus:12+mp3:32") == [("opus", (12.0,)), ("mp3", (32.0,))]


def test_evaluate_help_names_every_channel_condition_the_parser_takes():
    """eq, pitch and crop worked and were in the README, but ser-hf evaluate --help left them out."""
    from ser_hf.cli.evaluate import _build_parser
    from ser_hf.data.channel import CONDITIONS

    text = " ".join(_build_parser().format_help().split())
    assert all(name in text for name in CONDITIONS if name != "clean")


def test_a_codec_fed_samples_beyond_full_scale_or_nan_does_not_kill_the_process():
    """`evaluate --channel gain:150+mp3:32` aborted the whole process inside LAME (an assertion in
    quantize.c, no exception, no output files), and a NaN sample did the same from Python. Codecs now
    see the samples clipped to [-1, 1], as 16-bit PCM would be, and NaN is refused first. Run in a
    child process, since the old failure was a SIGABRT."""
    import subprocess
    import sys

    script = """
import numpy as np
from ser_hf.data.codecs import codec_round_trip
from ser_hf.errors import SERError
x = (np.random.default_rng(1).standard_normal(16000) * 3e6).astype(np.float32)
for codec in ("mp3", "opus"):
    y = codec_round_trip(x, 16000, codec, 32)
    assert y.shape == x.shape and np.isfinite(y).all() and np.abs(y).max() < 4, np.abs(y).max()  # a full-scale square wave overshoots
x[100] = np.nan
try:
    codec_round_trip(x, 16000, "mp3", 32)
except SERError as err:
    assert "NaN" in str(err)
else:
    raise AssertionError("NaN passed")
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-2000:]


def test_codecs_work_at_any_rate_and_refuse_bit_rates_they_do_not_have():
    """opus at 22050 or 44100 Hz was a raw RuntimeError from the encoder (it takes 8-48 kHz in five
    steps); opus:257-510 passed the parser and failed there too; mp3:160, 192 and 320 gave the same
    bytes at 16 kHz (MPEG-2 Layer III tops out at 160), and mp3 above 64 at 8 kHz the same as 64."""
    from ser_hf.data.codecs import codec_round_trip

    for rate in (22050, 44100):
        t = np.arange(int(1.5 * rate)) / rate
        x = (0.1 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 880 * t)).astype(np.float32)
        y = apply_channel(x, "opus:12", rate)
        assert y.shape == x.shape and np.corrcoef(x[3000:-3000], y[3000:-3000])[0, 1] > 0.95
        assert not np.allclose(x, y, atol=1e-3)
    for spec, message in (("opus:257", "6 to 256"), ("mp3:192", "8 to 160"), ("mp3:320", "MPEG-2")):
        with pytest.raises(SERError, match=message):
            parse_channel(spec)
    x8 = _tones(300.0, 700.0)[:8000]
    with pytest.raises(SERError, match="mp3 at 8000 Hz goes up to 64 kbit/s"):
        codec_round_trip(x8, 8000, "mp3", 128)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("gain:1000", "at most 60 dB"),  # was: "the audio contains NaN or Inf samples", blaming the clip
        ("gain:-61", "at most 60 dB"),
        ("eq:100", "at most 60 dB"),
        ("crop:0.00001", "at least 0.1 s"),  # was: "all 20 decodable clips are silent"
        ("band:0-0.5", "at least 300 Hz"),
        ("noise:-400", "-30 to 100 dB"),  # was: samples of 4e19 (white) or Inf (pink), no word
        ("pink:1e6", "-30 to 100 dB"),
        ("reverb:1000", "at most 10 s"),  # was: a 16-million-sample impulse response per clip
    ],
)
def test_values_that_leave_no_usable_audio_are_refused_by_the_parser(spec, message):
    with pytest.raises(SERError, match=message):
        parse_channel(spec)


def test_integer_or_multichannel_clips_are_refused_instead_of_giving_scale_dependent_output():
    """int16 samples came back at integer scale for most conditions but as near-silence through opus,
    and a (2, N) array gave another shape or error per condition."""
    x = _tones(440.0)
    for wave in ((x * 32767).astype(np.int16), np.stack([x, x])):
        for spec in ("clean", "noise:20", "opus:12"):
            with pytest.raises(SERError, match="one mono clip of float samples.*load_audio"):
                apply_channel(wave, spec, SR)
    bad = x.copy()
    bad[10] = np.inf
    with pytest.raises(SERError, match="NaN or Inf"):
        apply_channel(bad, "noise:20", SR)
