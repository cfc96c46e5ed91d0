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
from ser_hf.errors import SERError
from ser_hf.training import evaluation

SPEAKERS = [f"spk{s:02d}" for s in range(1, 7)]
F0 = {"angry": 220.0, "neutral": 120.0, "sad": 160.0}
JAPANESE = {"angry": "怒り", "neutral": "平静", "sad": "悲しみ"}  # a corpus's own labels


def _corpus(root: Path, ext: str = "wav", names: dict[str, str] | None = None) -> Path:
    """6 speakers x 3 classes x 2 clips of 0.5 s, a metadata.csv naming file, label, speaker, voice
    (the labels renamed by ``names``: classes of one's own)."""
    (root / "audio").mkdir(parents=True)
    lines = ["file_name,label,speaker,voice"]  # voice: other ids of the same speakers
    seed = 0
    for s, speaker in enumerate(SPEAKERS):
        for label, f0 in F0.items():
            for k in range(2):
                seed += 1
                name = f"audio/{speaker}_{label}_{k}.{ext}"
                sf.write(root / name, _clip(f0 * (1 + 0.1 * s), 0.5, seed), 16000)
                lines.append(f"{name},{(names or {}).get(label, label)},{speaker},v{s}")
    (root / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
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


def test_the_training_folder_under_another_name_is_recognised(trained, tmp_path, capsys, caplog, monkeypatch):
    data, model, split = trained
    unseen = [s.replace("mine_", "other_") for s in split["test_speakers"]]
    monkeypatch.chdir(data.parent)  # the folder given as the user types it: other=corpA
    metrics = _evaluate(model, f"other={data.name}", tmp_path / "u", "--split", "unseen")
    assert sorted(metrics["per_speaker"]) == unseen and metrics["n"] == 12
    assert split["corpus_folders"] == {"mine": str((data / "audio").resolve())}  # recorded at training
    err = capsys.readouterr().err
    # the folder as given (--corpus other=corpA), not the one its clips lie in, resolved (/tmp/.../corpA/audio)
    assert (
        "corpus 'other' (folder corpA) is the data this model trained on as 'mine' "
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
    seen = sorted(split["train_speakers"] + split["validation_speakers"])  # 4 of the 6 ids here
    assert f"The model's 4 training or validation speaker(s) found in it ({', '.join(seen)})" in err


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
        "24 of its clips have the names of files the model trained or was chosen on, of other speaker ids. "
        "The model's 4 training or validation speaker(s) found in it" in (capsys.readouterr().err)
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
    assert f"corpus 'other' (folder {data}) may be this model's training data under another name" in err
    assert "4 of its speaker ids are, without the corpus name, those of the model's training" in err
    assert "fusion's). The model's 4 training or validation speaker(s) found in it (mine_spk01" in err
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


def test_the_training_label_map_reads_its_training_data_under_another_name(tmp_path, caplog):
    """Probe of session 43: a corpus labelled in Japanese, trained as ``mine=DIR`` with ``--label_map
    怒り=angry,...``, then evaluated as ``other=DIR``: recognised as the training data, but read without
    the map, so its classes 怒り, 平静, 悲しみ shared none with the model's (an error) unless ``--label-map``
    was typed again. The training's map now reads it (an info line says why), the same figures as under
    ``mine``; an explicit ``--label-map`` wins, and other data of the same labels is left alone."""
    data = _corpus(tmp_path / "corpJ", names=JAPANESE)
    model = tmp_path / "model"
    pairs = ",".join(f"{ja}={en}" for en, ja in JAPANESE.items())
    argv = [
        "--corpus",
        f"mine={data}",
        "--preset",
        "speech-stats",
        "--split",
        "kfold:0/3",
        "--label_map",
        pairs,
    ]
    assert train_cli.cli([*argv, "--num_val_speakers", "1", "--output_dir", str(model)]) == 0
    split = json.loads((model / "split.json").read_text())
    mine = _evaluate(model, f"mine={data}", tmp_path / "m", "--split", "unseen")
    with caplog.at_level("INFO", logger="ser_hf.training.evaluation"):
        other = _evaluate(model, f"other={data}", tmp_path / "o", "--split", "unseen")
    assert sorted(other["per_speaker"]) == [s.replace("mine_", "other_") for s in split["test_speakers"]]
    assert other["labels"] == ["angry", "neutral", "sad"] and not other["cross_corpus"]
    assert (other["n"], other["ua"], other["confusion"]) == (12, mine["ua"], mine["confusion"])
    assert "other: classes renamed as loaded by the training's label map" in caplog.text
    assert "the data it trained on as 'mine', recognised by the files or folder" in caplog.text
    # the user's own map wins: 悲しみ= drops the sad clips
    mapped = _evaluate(
        model,
        f"other={data}",
        tmp_path / "d",
        "--split",
        "unseen",
        "--label-map",
        "怒り=angry,平静=neutral,悲しみ=",
    )
    assert mapped["n"] == 8 and "sad" not in mapped["labels"]
    # other recordings labelled the same way are not the model's training data: no map of its
    fresh = _corpus(tmp_path / "fresh", names=JAPANESE)
    for wav in (fresh / "audio").iterdir():
        wav.rename(wav.with_name("take_" + wav.name))
    (fresh / "metadata.csv").write_text(
        (fresh / "metadata.csv").read_text(encoding="utf-8").replace("audio/", "audio/take_"),
        encoding="utf-8",
    )
    with pytest.raises(SERError, match="share no class"):
        _evaluate(model, f"fresh={fresh}", tmp_path / "f")


def test_a_teacher_trained_on_the_test_speakers_under_another_corpus_name_is_named(trained, tmp_path, caplog):
    """``ser-hf train/distill --teacher`` compared speaker ids only: a student trained as ``other=DIR``
    on the folder the teacher trained on as ``mine`` was tested on the teacher's training speakers
    (``other_spk01`` is ``mine_spk01``) without a word. Recognised as evaluate recognises it: a warning."""
    data, model, split = trained
    argv = ["--teacher", str(model), "--corpus", f"other={data}", "--preset", "speech-stats"]
    argv += ["--num_val_speakers", "1"]
    with caplog.at_level("WARNING", logger="ser_hf.training"):
        assert train_cli.cli([*argv, "--split", "loso:spk01", "--output_dir", str(tmp_path / "s1")]) == 0
    assert (
        "trained or was chosen on 1 of this run's test speakers (other_spk01); corpus 'other' is the data it "
        "trained on as 'mine' (24 of its clips are training or validation files in the teacher's split.json)"
    ) in caplog.text
    caplog.clear()
    tested = split["test_speakers"][0].removeprefix("mine_")  # one the teacher never saw
    with caplog.at_level("WARNING", logger="ser_hf.training"):
        assert train_cli.cli([*argv, "--split", f"loso:{tested}", "--output_dir", str(tmp_path / "s4")]) == 0
    assert "test speakers" not in caplog.text
    # its files under other speaker ids cannot be given to the teacher's speakers: said as such
    caplog.clear()
    with caplog.at_level("WARNING", logger="ser_hf.training"):
        voices = [
            *argv,
            "--speaker_column",
            "voice",
            "--split",
            "loso:v0",
            "--output_dir",
            str(tmp_path / "v0"),
        ]
        assert train_cli.cli(voices) == 0
    assert "corpus 'other' may be the data the teacher" in caplog.text
    assert (
        "1 of this run's test speakers (other_v0) cannot be told apart from its training speakers"
        in caplog.text
    )


def test_the_warning_counts_the_models_speakers_not_the_ids_of_the_data(tmp_path):
    """The training folder read with other speaker ids (8 session ids of 8 people, 6 of whom the model
    trained or was chosen on) was warned of as "Its 8 speaker(s) concerned": the count is the model's
    training or validation speakers whose files are there, 6, named as the model knows them."""
    from datasets import Dataset

    from ser_hf.training.eval_inputs import recognised_message, recognised_training_data

    folder = tmp_path / "audio"
    folder.mkdir()
    people = [f"spk{s}" for s in range(8)]
    paths = [folder / f"{p}_{k}.wav" for p in people for k in range(2)]
    for path in paths:
        path.touch()
    model = tmp_path / "model"
    model.mkdir()
    row_ids = [f"mine_{path.stem.split('_')[0]}/{path.name}" for path in paths]
    split = {"train_speakers": [f"mine_{p}" for p in people[:5]], "validation_speakers": ["mine_spk5"]}
    split |= {
        "train": list(range(10)),
        "validation": [10, 11],
        "test": list(range(12, 16)),
        "row_ids": row_ids,
    }
    (model / "split.json").write_text(json.dumps(split | {"corpus_folders": {"mine": str(folder)}}))
    ds = Dataset.from_dict(
        {
            "speaker": [f"other_v{i % 8}" for i in range(16)],
            "corpus": ["other"] * 16,
            "path": list(map(str, paths)),
        }
    )
    for record in (split | {"corpus_folders": {"mine": str(folder)}}, split):  # by its folder, by its files
        (model / "split.json").write_text(json.dumps(record))
        (found,) = recognised_training_data(model, ds)
        message = recognised_message(found)
        assert "The model's 6 training or validation speaker(s) found in it (mine_spk0, mine_spk1" in message
        assert (
            "8 speaker" not in message
            and "under its speaker ids (other_v0, other_v1, other_v2, other_v3 ...)" in message
        )
