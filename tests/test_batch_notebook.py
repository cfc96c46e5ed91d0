"""``classify_batch`` in a notebook (session 43's probe): scoring the model's own training files said
nothing (the default scored its training actors at UA 0.98-1.00), 40 paths of a long recording were all
decoded before any was scored (+1.3 GB), 20 long files gave 20 warnings, a clip at -55.42 dBFS was
"at -55 dBFS, below -55", and ``plot_timeline`` could not draw into a notebook's axes."""

from __future__ import annotations

import json
import logging
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import EXAMPLES, make_speechlike, save_tiny_bilstm

SR = 16000
LABELS = ["neutral", "happy", "sad", "angry"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A tiny model whose split.json lists a.wav (training) and b.wav (validation); c.wav is a test file."""
    folder = save_tiny_bilstm(tmp_path_factory.mktemp("tiny"), LABELS)
    record = {
        "train_speakers": ["mine_s1"],
        "validation_speakers": ["mine_s2"],
        "test_speakers": ["mine_s3"],
        "train": [0],
        "validation": [1],
        "test": [2],
        "row_ids": ["mine_s1/a.wav", "mine_s2/b.wav", "mine_s3/c.wav"],
    }
    (folder / "split.json").write_text(json.dumps(record))
    return folder


class _MeanBackend:
    """A backend that costs nothing (the tiny BiLSTM takes seconds for a long clip): each clip's logits
    are its first four features averaged over its frames, so every clip has its own scores."""

    def predict_logits(self, features, mask, **extra):
        feats, mask = np.asarray(features, np.float64), np.asarray(mask, np.float64)[..., None]
        return (feats[..., :4] * mask).sum(1) / mask.sum(1)


def _clf(folder):
    """The tiny model's folder (its extractor, labels and split.json) on a backend that costs nothing."""
    from ser_hf import EmotionClassifier

    return EmotionClassifier(folder, backend=_MeanBackend())


def _warnings(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and text in r.getMessage()]


def test_clips_that_are_the_models_training_files_are_named_once(folder, tmp_path, caplog):
    """Scoring the files a model trained on gives figures that measure nothing: one warning per
    classifier says how many clips, names the split.json and says so; re-encoded copies count (a.flac)."""
    paths = {}
    for i, name in enumerate(["a.flac", "b.wav", "c.wav", "d.wav"]):
        paths[name] = tmp_path / name
        sf.write(paths[name], make_speechlike(1.5, seed=i), SR)
    clf = _clf(folder)
    with caplog.at_level("WARNING"):
        clf.classify_batch(list(paths.values()))
    (said,) = _warnings(caplog, "trained or was validated on")
    assert "2 of the 4 clips (a.flac, b.wav) have the names of files" in said
    assert str(folder / "split.json") in said and "no measure of its accuracy" in said
    assert "--split unseen" in said
    caplog.clear()
    with caplog.at_level("WARNING"):
        clf.classify_batch(list(paths.values()))
        clf.classify(paths["a.flac"])
    assert not _warnings(caplog, "trained or was validated on")  # once per classifier
    with caplog.at_level("WARNING"):
        _clf(folder).classify(str(paths["b.wav"]))
        _clf(folder).timeline(paths["a.flac"], min_speech_s=None)
        _clf(folder).classify_batch([paths["c.wav"], paths["d.wav"]])  # a test file and another
    said = _warnings(caplog, "trained or was validated on")
    assert len(said) == 2 and said[0].startswith("b.wav has the name of a file") and "a.flac" in said[1]


def test_a_datasets_audio_column_of_training_files_is_named_too(folder, tmp_path, caplog):
    """README's `classify_batch(ds["audio"])`: datasets 4 decodes the column into torchcodec
    AudioDecoders, which the check read as samples in memory, so a model's training files scored
    near-perfect without the warning (a probe: UA 0.997 on the default's own actors, unflagged)."""
    pytest.importorskip("torchcodec")
    from datasets import Audio, Dataset

    paths = [tmp_path / "a.wav", tmp_path / "c.wav"]
    for i, path in enumerate(paths):
        sf.write(path, make_speechlike(1.5, seed=i), SR)
    ds = Dataset.from_dict({"audio": [str(p) for p in paths]}).cast_column("audio", Audio(sampling_rate=SR))
    assert hasattr(ds[0]["audio"], "get_all_samples")  # decoded: an AudioDecoder, no dict
    with caplog.at_level("WARNING"):
        _clf(folder).classify_batch(ds["audio"])
    (said,) = _warnings(caplog, "trained or was validated on")
    assert "1 of the 2 clips (a.wav) has the name of a file" in said


def test_predict_names_the_models_training_files_once_for_the_run(folder, tmp_path, capsys, caplog):
    """`ser-hf predict` on a model's own training files said nothing (it classifies decoded samples, which
    carry no name), while `classify` of the same paths warned: one warning for the run now, with the
    count and the first few names, however many files match, a long file (a timeline) included."""
    from ser_hf.cli import main

    paths = []
    for i, rel in enumerate(["x/a.wav", "y/a.flac", "x/b.wav", "y/b.wav", "c.wav", "z/a.wav"]):
        paths.append(tmp_path / rel)
        paths[-1].parent.mkdir(exist_ok=True)
        sf.write(paths[-1], make_speechlike(1.6 if rel == "z/a.wav" else 1.0, seed=i), SR)  # z/a: a timeline
    with caplog.at_level("WARNING"):
        code = main(["predict", "--model", str(folder), "--window", "1", "--json", "-", *map(str, paths)])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert [Path(r["file"]).name for r in rows] == [p.name for p in paths] and "timeline" in rows[-1]
    (said,) = _warnings(caplog, "trained or was validated on")
    assert said.startswith("5 of the 6 files (a.wav, a.flac, b.wav ...) have the names of files")
    assert str(folder / "split.json") in said and "--split unseen" in said


def test_the_split_record_is_read_once_and_never_for_samples_in_memory(folder, tmp_path, monkeypatch, caplog):
    """Arrays cannot be a training file by name: the split.json is not read for them; it is read once,
    on the first clip given by path."""
    from ser_hf.training import eval_inputs

    reads = []
    record = eval_inputs.split_record
    monkeypatch.setattr(eval_inputs, "split_record", lambda *a: reads.append(a) or record(*a))
    sf.write(tmp_path / "a.wav", make_speechlike(1.5), SR)
    sf.write(tmp_path / "x.wav", make_speechlike(1.5, seed=4), SR)
    clf = _clf(folder)
    with caplog.at_level("WARNING"):
        clf.classify_batch([make_speechlike(1.5), make_speechlike(1.6, seed=2)], sampling_rate=SR)
        assert not reads and not _warnings(caplog, "trained or was validated on")
        clf.classify(tmp_path / "x.wav")
        clf.classify(tmp_path / "a.wav")
        clf.classify_batch([tmp_path / "x.wav", tmp_path / "a.wav"])
    assert len(reads) == 1 and len(_warnings(caplog, "trained or was validated on")) == 1


def test_the_default_names_its_training_actors_and_not_its_test_actors(tmp_path, caplog):
    """The bundled default trained on RAVDESS actors 1-20; the example clips are actors 21-24."""
    from ser_hf import EmotionClassifier

    examples = sorted(EXAMPLES.glob("*.flac"))[:2]
    clf = EmotionClassifier(device="cpu")
    with caplog.at_level("WARNING"):
        clf.classify_batch(examples)
    assert not _warnings(caplog, "trained or was validated on")
    seen = tmp_path / "03-01-02-02-01-01-02.flac"  # actor 2's file name: a training file
    shutil.copy(examples[1], seen)
    with caplog.at_level("WARNING"):
        clf.classify_batch([*examples, seen])
    (said,) = _warnings(caplog, "trained or was validated on")
    assert "1 of the 3 clips (03-01-02-02-01-01-02.flac)" in said
    assert "ser-hf evaluate --model default --corpus NAME=DIR --split unseen" in said


def test_a_batch_of_long_files_is_decoded_a_group_at_a_time(folder, tmp_path, monkeypatch):
    """12 paths of a 100-s recording: all 12 were decoded (77 MB of samples) before the first was
    scored (a probe's 40 paths of 229 s: +1.3 GB). Decoded and scored a group at a time, the peak stays
    near one group's, and the results are each clip's own, in the order given."""
    from ser_hf.inference import classifier

    monkeypatch.setattr(classifier, "BATCH_HELD_S", 150.0, raising=False)  # groups of 2 of these clips
    long_a, long_b = tmp_path / "long_a.wav", tmp_path / "long_b.wav"
    sf.write(long_a, np.tile(make_speechlike(5.0, seed=1), 20), SR, subtype="PCM_16")
    sf.write(long_b, np.tile(make_speechlike(5.0, seed=2), 20), SR, subtype="PCM_16")
    clf = _clf(folder)
    alone = [clf.classify(p, warn=False) for p in (long_a, long_b)]
    assert alone[0] != alone[1]
    tracemalloc.start()
    try:
        results = clf.classify_batch([long_a, long_b] * 6, warn=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    whole = 12 * 100 * SR * 4
    assert peak < 0.4 * whole, f"{peak / 1e6:.0f} MB at the peak (all 12 decoded: {whole / 1e6:.0f} MB)"
    for i, result in enumerate(results):
        assert [d["label"] for d in result] == [d["label"] for d in alone[i % 2]]
        assert [d["score"] for d in result] == pytest.approx([d["score"] for d in alone[i % 2]], abs=1e-6)


def test_long_clips_of_a_batch_get_one_warning(folder, monkeypatch, caplog):
    """20 long files gave 20 "reads only about its last 8 s" warnings: one now, with the count and three names."""
    from ser_hf.inference import inputs

    monkeypatch.setattr(inputs, "reads_seconds", lambda fe: 8.0)  # as the turn encoder reads
    clf = _clf(folder)
    clips = [np.tile(make_speechlike(2.0, seed=i), 6) for i in range(5)]  # 12 s each
    with caplog.at_level("WARNING"):
        clf.classify_batch(clips, sampling_rate=SR, names=[f"n{i}.wav" for i in range(5)])
    (said,) = _warnings(caplog, "reads only about its last 8 s")
    assert said.startswith(
        "5 clips are longer than this model reads: n0.wav (12 s), n1.wav (12 s), n2.wav (12 s)"
    )
    assert "and 2 more" in said and "timeline()" in said
    caplog.clear()
    with caplog.at_level("WARNING"):
        clf.classify(clips[0], sampling_rate=SR)
    (said,) = _warnings(caplog, "reads only about its last 8 s")
    assert "is 12 s long" in said


def test_a_level_just_under_the_threshold_is_not_rounded_onto_it(folder, caplog):
    """A clip at -55.42 dBFS "holds no speech (loudest 50 ms at -55 dBFS, below -55)"."""
    from ser_hf.inference.levels import level_db

    clip = make_speechlike(1.0, seed=3)
    clip = (clip * 10 ** ((-55.42 - level_db(clip, SR)) / 20)).astype(np.float32)
    with caplog.at_level("WARNING"):
        _clf(folder).classify(clip, sampling_rate=SR)
    (said,) = _warnings(caplog, "holds no speech")
    assert "(loudest 50 ms at -55.4 dBFS, below -55)" in said


def test_plot_timeline_is_public_and_draws_into_a_notebooks_axes(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import ser_hf
    from ser_hf import plot_timeline
    from ser_hf.errors import SERError
    from ser_hf.inference.timeline import Timeline

    assert "plot_timeline" in ser_hf.__all__
    windows = [
        {"start": s, "end": s + 4.0, "label": "sad", "score": 0.8, "scores": [], "silent": False}
        for s in (0.0, 2.0, 4.0)
    ]
    probs = [[0.1, 0.05, 0.8, 0.05]] * 3
    tl = Timeline("x.wav", 8.0, 4.0, 2.0, "sad", 0.8, [], windows=windows, labels=LABELS, probabilities=probs)
    fig, (top, bottom) = plt.subplots(2)
    try:
        assert plot_timeline(tl, ax=bottom) is bottom
        assert bottom.get_title() == "x.wav: sad (0.80)" and bottom.collections and not top.collections
        assert plt.fignum_exists(fig.number)  # the caller's figure stays open
        assert plot_timeline(tl, tmp_path / "both.png", ax=top) == tmp_path / "both.png"
        assert (tmp_path / "both.png").stat().st_size > 0
    finally:
        plt.close(fig)
    assert plot_timeline(tl, tmp_path / "tl.png").is_file()
    with pytest.raises(SERError, match="ax="):
        plot_timeline(tl)
