"""``ser-hf evaluate`` of a model's own training data under another corpus name.

Probe of session 42: a model trained on ``--corpus mine=corpA`` (or ``--audiofolder corpA``, the
corpus ``corpa``) and evaluated as ``--corpus other=corpA --split unseen`` scored all 200 clips, its
training speakers among them, as unseen (UA 0.916 against 0.672 on the 50 truly unseen clips), with no
warning: the speaker ids ``other_spk01`` match none of split.json's ``mine_spk01``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import soundfile as sf
from test_training import _clip

from ser_hf.cli import evaluate as evaluate_cli
from ser_hf.cli import train as train_cli
from ser_hf.data.corpora import load_corpus
from ser_hf.training import evaluation

SPEAKERS = [f"spk{s:02d}" for s in range(1, 7)]
F0 = {"angry": 220.0, "neutral": 120.0, "sad": 160.0}


def _corpus(root: Path, ext: str = "wav") -> Path:
    """6 speakers x 3 classes x 2 clips of 0.5 s, a metadata.csv naming file, label, speaker, voice."""
    (root / "audio").mkdir(parents=True)
    lines = ["file_name,label,speaker,voice"]  # voice: other ids of the same speakers
    seed = 0
    for s, speaker in enumerate(SPEAKERS):
        for label, f0 in F0.items():
            for k in range(2):
                seed += 1
                name = f"audio/{speaker}_{label}_{k}.{ext}"
                sf.write(root / name, _clip(f0 * (1 + 0.1 * s), 0.5, seed), 16000)
                lines.append(f"{name},{label},{speaker},v{s}")
    (root / "metadata.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, dict]:
    """A speech-stats model trained on ``mine=DIR``, kfold:0/3 (2 test speakers, 1 validation)."""
    root = tmp_path_factory.mktemp("renamed")
    data = _corpus(root / "corpA")
    out = root / "model"
    argv = ["--corpus", f"mine={data}", "--preset", "speech-stats", "--split", "kfold:0/3"]
    assert train_cli.cli([*argv, "--num_val_speakers", "1", "--output_dir", str(out)]) == 0
    split = json.loads((out / "split.json").read_text())
    return data, out, split


def _evaluate(model: Path, corpus: str, out: Path, *extra: str) -> dict:
    argv = ["--model", str(model), "--corpus", corpus, "--device", "cpu", "--out", str(out), *extra]
    assert evaluate_cli.cli(argv) == 0
    return json.loads((out / "metrics.json").read_text())


def test_the_training_folder_under_another_name_is_recognised(trained, tmp_path, capsys, caplog):
    data, model, split = trained
    unseen = [s.replace("mine_", "other_") for s in split["test_speakers"]]
    metrics = _evaluate(model, f"other={data}", tmp_path / "u", "--split", "unseen")
    assert sorted(metrics["per_speaker"]) == unseen and metrics["n"] == 12
    assert split["corpus_folders"] == {"mine": str((data / "audio").resolve())}  # recorded at training
    err = capsys.readouterr().err
    assert (
        f"corpus 'other' (folder {(data / 'audio').resolve()}) is the data this model trained on as 'mine' "
        "(24 of its clips are training or validation files in its split.json): its 4 speaker(s)"
    ) in err
    assert "(24 clips)" in err and "--split unseen leaves them out, as under the name 'mine'" in err
    # every split: the seen speakers are named and recorded, as under the training name
    metrics = _evaluate(model, f"other={data}", tmp_path / "a")
    assert "4 of the 6 speakers evaluated took part in this model's training" in capsys.readouterr().err
    assert len(metrics["seen_speakers"]) == 4 and not set(metrics["seen_speakers"]) & set(unseen)
    with caplog.at_level("WARNING", logger="ser_hf.training.evaluation"):  # from Python too
        result = evaluation.evaluate_model(str(model), load_corpus("other", data), device="cpu")
    assert result["seen_speakers"] == metrics["seen_speakers"]
    assert "is the data this model trained on as 'mine'" in caplog.text
    # the same folder read with other speaker ids: the files cannot be given to speakers, so a warning
    _evaluate(model, f"other={data}", tmp_path / "v", "--split", "unseen", "--speaker-column", "voice")
    err = capsys.readouterr().err
    assert "may be this model's training data under another name: its folder is the one the model" in err
    assert "none of its speaker ids is one of 'mine''s" in err and "as --corpus mine=PATH" in err


def test_a_copy_in_another_format_and_an_old_split_json_are_recognised_by_their_files(
    trained, tmp_path, capsys
):
    """A split.json written before session 42 (no corpus_folders) still recognises its rows, in a copy
    of the data re-encoded as FLAC; a corpus of other recordings whose ids happen to be the same is
    left alone, unwarned."""
    data, model, split = trained
    old = Path(shutil.copytree(model, tmp_path / "old"))
    (old / "split.json").write_text(json.dumps({k: v for k, v in split.items() if k != "corpus_folders"}))
    copy = _corpus(tmp_path / "copy", ext="flac")
    metrics = _evaluate(old, f"copy={copy}", tmp_path / "c", "--split", "unseen")
    assert len(metrics["per_speaker"]) == 2 and metrics["n"] == 12
    assert "is the data this model trained on as 'mine' (24 of its clips" in capsys.readouterr().err
    _evaluate(old, f"copy={copy}", tmp_path / "w", "--split", "unseen", "--speaker-column", "voice")
    assert (
        "24 of its clips have the names of files the model trained or was chosen on, of other speaker ids"
        in (capsys.readouterr().err)
    )
    other = _corpus(tmp_path / "fresh")
    for wav in (other / "audio").iterdir():  # other recordings: other file names, the same speaker ids
        wav.rename(wav.with_name("take_" + wav.name))
    meta = other / "metadata.csv"
    meta.write_text(meta.read_text().replace("audio/", "audio/take_"))
    metrics = _evaluate(old, f"fresh={other}", tmp_path / "f", "--split", "unseen")
    assert metrics["n"] == 36 and "training data" not in capsys.readouterr().err


def test_without_files_to_compare_the_ids_alone_give_a_warning_and_a_folder_record_recognises(
    trained, tmp_path, capsys
):
    """A Hub copy's split.json lists speakers, no files: the ids without the corpus name match, which
    cannot tell the data apart, so a warning says so (they stay unseen); a record naming the folder
    (a fusion of members trained on it) recognises it."""
    from ser_hf.hub.push import published_split

    data, model, split = trained
    hub = Path(shutil.copytree(model, tmp_path / "hub"))
    (hub / "split.json").write_bytes(published_split(model))
    metrics = _evaluate(hub, f"other={data}", tmp_path / "h", "--split", "unseen")
    assert metrics["n"] == 36
    err = capsys.readouterr().err
    assert "corpus 'other' (folder" in err and "may be this model's training data under another name" in err
    assert "4 of its speaker ids are, without the corpus name, those of the model's training" in err
    assert "its split.json lists no files to compare" in err and "cannot be told apart" in err
    record = json.loads(published_split(model)) | {"corpus_folders": split["corpus_folders"]}
    (hub / "split.json").write_text(json.dumps(record))
    metrics = _evaluate(hub, f"other={data}", tmp_path / "g", "--split", "unseen")
    assert metrics["n"] == 12
    assert (
        "is the data this model trained on as 'mine' (its folder in its split.json)"
        in capsys.readouterr().err
    )


def test_evaluate_does_not_warn_of_validation_speakers_the_test_part_does_not_use(trained, tmp_path, caplog):
    """``evaluate --split kfold:0/4`` printed training's "4 validation speakers leave 2 to train on";
    the test part is drawn without them (the same rows), the validation part still says it."""
    data, model, split = trained
    with caplog.at_level("WARNING", logger="ser_hf.data.folds"):
        metrics = _evaluate(
            model, f"mine={data}", tmp_path / "t", "--split", "kfold:0/3", "--num-val-speakers", "4"
        )
    assert sorted(metrics["per_speaker"]) == split["test_speakers"]
    assert "validation speaker" not in caplog.text
    with caplog.at_level("WARNING", logger="ser_hf.data.folds"):
        _evaluate(model, f"mine={data}", tmp_path / "v", "--split", "kfold:0/3", "--subset", "validation",
                  "--num-val-speakers", "4")  # fmt: skip
    assert "validation speakers leave 1 to train on" in caplog.text
