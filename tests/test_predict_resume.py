"""``ser-hf predict --resume`` and the --csv/--json FILE saved during the run (``cli/predict_resume.py``)."""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import make_speechlike, make_tone

import ser_hf.cli.predict_resume as predict_resume
from ser_hf.cli import main
from ser_hf.errors import from_spreadsheet_text, spreadsheet_text
from ser_hf.inference.classifier import EmotionClassifier

SR = 16000
LABELS = ["neutral", "happy", "sad", "angry"]


@pytest.fixture
def classified(monkeypatch) -> list[str]:
    """The names of the files predict classifies (short clips in batches, long files as timelines)."""
    names_: list[str] = []
    batch, timeline = EmotionClassifier.classify_batch, EmotionClassifier.timeline

    def counted_batch(self, clips, *args, names=None, **kwargs):
        names_.extend(Path(n).name for n in names)
        return batch(self, clips, *args, names=names, **kwargs)

    def counted_timeline(self, audio, *args, **kwargs):
        names_.append(Path(str(audio)).name)
        return timeline(self, audio, *args, **kwargs)

    monkeypatch.setattr(EmotionClassifier, "classify_batch", counted_batch)
    monkeypatch.setattr(EmotionClassifier, "timeline", counted_timeline)
    return names_


def _clip(path: Path, seed: int) -> str:
    sf.write(path, make_speechlike(1.0, seed=seed), SR)
    return str(path)


def _long(path: Path) -> str:
    """10 s: a timeline, written as a file row and its window rows."""
    sf.write(
        path,
        np.concatenate([make_speechlike(4.0, seed=3), np.zeros(2 * SR, np.float32), make_tone(300.0, 4.0)]),
        SR,
    )
    return str(path)


def _names(out: Path, kind: str) -> list[str]:
    if kind == "csv":
        return [Path(r["file"]).name for r in csv.DictReader(out.open()) if r["row"] == "file"]
    return [Path(r["file"]).name for r in json.loads(out.read_text())]


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_resume_classifies_only_the_files_missing_and_keeps_the_rows_it_has(
    model_dir, tmp_path, classified, capsys, kind
):
    """A run over thousands of files that was killed had to start again from the first file: there was
    no --resume. The rows of the earlier run (a timeline's window rows too) stay as they were, byte for
    byte, and only the two new files are classified."""
    old = [_clip(tmp_path / "a.wav", 1), _long(tmp_path / "=ten.wav"), _clip(tmp_path / "b.wav", 2)]
    out = tmp_path / f"results.{kind}"
    args = ["--model", str(model_dir), f"--{kind}", str(out)]
    assert main(["predict", *old, *args]) == 0
    before = out.read_text()
    new = [_clip(tmp_path / "new1.wav", 4), _clip(tmp_path / "new2.wav", 5)]
    classified.clear()
    inputs = [new[0], *old[:2], new[1], old[2]]
    assert main(["predict", *inputs, *args, "--resume"]) == 0
    assert sorted(classified) == ["new1.wav", "new2.wav"]
    assert _names(out, kind) == ["new1.wav", "a.wav", "=ten.wav", "new2.wav", "b.wav"]
    assert "--resume: 3 of 5 file(s) already classified" in capsys.readouterr().out
    if kind == "csv":  # the old lines, the timeline's window rows among them, unchanged
        lines = out.read_text().splitlines(keepends=True)
        old_lines = before.splitlines(keepends=True)
        assert lines[0] == old_lines[0] and "".join(lines[2:-2]) == "".join(old_lines[1:-1])
        assert lines[-1] == old_lines[-1] and lines[-1].startswith(str(tmp_path / "b.wav"))
    else:
        rows = json.loads(out.read_text())
        assert [rows[i] for i in (1, 2, 4)] == json.loads(before)
    # every file there: nothing classified, FILE as it was, and said so (not an empty table and
    # "0 of 0 file(s) classified")
    classified.clear()
    after = out.read_text()
    capsys.readouterr()
    assert main(["predict", *inputs, *args, "--resume"]) == 0
    assert classified == [] and out.read_text() == after
    shown = capsys.readouterr().out
    assert f"--resume: all 5 file(s) were already classified in {out}; nothing left to do" in shown
    assert "file(s) classified" not in shown and "duration_s" not in shown
    # a file left out of this run keeps its row, at the end
    assert main(["predict", new[0], *args, "--resume"]) == 0
    assert _names(out, kind) == ["new1.wav", "a.wav", "=ten.wav", "new2.wav", "b.wav"]
    assert classified == []


def test_resume_classifies_the_files_with_an_error_row_again(model_dir, tmp_path, classified, capsys):
    """An error row (a file not yet copied whole, a network share that dropped) is no result: --resume
    classifies the file again, and its new row replaces the error."""
    good = _clip(tmp_path / "good.wav", 1)
    flaky = tmp_path / "flaky.wav"
    flaky.write_bytes(b"RIFF" + np.random.default_rng(0).bytes(2000))
    out = tmp_path / "results.csv"
    args = [good, str(flaky), "--model", str(model_dir), "--csv", str(out)]
    assert main(["predict", *args]) == 1
    assert [r["error"] != "" for r in csv.DictReader(out.open())] == [False, True]
    _clip(flaky, 2)  # the file is whole now
    classified.clear()
    assert main(["predict", *args, "--resume"]) == 0
    assert classified == ["flaky.wav"]
    rows = list(csv.DictReader(out.open()))
    assert [Path(r["file"]).name for r in rows] == ["good.wav", "flaky.wav"]
    assert rows[1]["label"] in LABELS and rows[1]["error"] == ""
    assert "1 of 2 file(s) already classified" in capsys.readouterr().out


def test_a_file_predict_did_not_write_is_refused_and_left_with_or_without_resume(model_dir, tmp_path, capsys):
    """predict must never replace somebody's spreadsheet: a FILE without predict's header or keys is a
    usage error naming it (exit 2), as is --resume without a FILE or with -."""
    clip = _clip(tmp_path / "a.wav", 1)
    for name, text in (
        ("sheet.csv", "name,score\nx,1\n"),
        ("other.json", '[{"file": "a.wav", "label": "sad", "speaker": 3}]'),
        ("notjson.json", "file,label\n"),
    ):
        out = tmp_path / name
        out.write_text(text)
        option = "--csv" if name.endswith(".csv") else "--json"
        assert main(["predict", clip, "--model", str(model_dir), option, str(out), "--resume"]) == 2
        err = capsys.readouterr().err
        assert f"{out} is not a results file of ser-hf predict" in err and "Traceback" not in err
        assert out.read_text() == text
        # nor a run without --resume, as --help says (it replaced the user's file, exit 0)
        assert main(["predict", clip, "--model", str(model_dir), option, str(out)]) == 2
        assert "so it is left as it is, not replaced" in capsys.readouterr().err
        assert out.read_text() == text
    # predict's own FILE (and an empty one) is replaced by a run without --resume, as before
    for name in ("ours.csv", "ours.json"):
        out, option = tmp_path / name, "--csv" if name.endswith(".csv") else "--json"
        out.write_text("")
        for _ in range(2):
            assert main(["predict", clip, "--model", str(model_dir), option, str(out)]) == 0
        assert "a.wav" in out.read_text()
    # the options record beside a FILE is not one
    record = tmp_path / "ours.csv.options.json"
    text = record.read_text()
    assert main(["predict", clip, "--model", str(model_dir), "--csv", str(record)]) == 2
    assert record.read_text() == text
    for option in (["--csv", "-"], ["--json"], []):
        with pytest.raises(SystemExit) as done:
            main(["predict", clip, "--model", str(model_dir), *option, "--resume"])
        assert done.value.code == 2
        assert "--resume continues an earlier run's results file" in capsys.readouterr().err


class _Killed(BaseException):
    """SIGKILL or the out-of-memory killer: nothing of predict's own runs after it."""


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_a_killed_run_leaves_its_rows_in_file_and_resume_finishes_it(model_dir, tmp_path, monkeypatch, kind):
    """FILE was written once, at the end: a run killed after hours (kill -9, out of memory) left nothing.
    It is saved during the run (here after every file): the killed run leaves the rows it finished, a
    timeline's too, and --resume completes FILE to what a run never killed writes."""
    monkeypatch.setattr(predict_resume, "SAVE_EVERY_S", 0.0)
    monkeypatch.setattr(predict_resume, "SAVE_COST", 0)
    files = [_clip(tmp_path / "a.wav", 1), _long(tmp_path / "ten.wav"), _clip(tmp_path / "b.wav", 2)]
    files += [_clip(tmp_path / "c.wav", 3), _clip(tmp_path / "d.wav", 4)]
    args = [*files, "--model", str(model_dir), "--batch-size", "1"]
    whole = tmp_path / f"whole.{kind}"
    assert main(["predict", *args, f"--{kind}", str(whole)]) == 0
    batch, calls = EmotionClassifier.classify_batch, []

    def killed_at_c(self, clips, *a, names=None, **kw):
        calls.append(names)
        if Path(names[0]).name == "c.wav":
            raise _Killed
        return batch(self, clips, *a, names=names, **kw)

    monkeypatch.setattr(EmotionClassifier, "classify_batch", killed_at_c)
    out = tmp_path / f"results.{kind}"
    with pytest.raises(_Killed):
        main(["predict", *args, f"--{kind}", str(out)])
    assert _names(out, kind) == ["a.wav", "ten.wav", "b.wav"]
    assert list(tmp_path.glob(".ser-hf-*")) == []  # no temporary file left by the saves
    monkeypatch.setattr(EmotionClassifier, "classify_batch", batch)
    assert main(["predict", *args, f"--{kind}", str(out), "--resume"]) == 0
    assert out.read_text() == whole.read_text()
    # a device or FIFO is written once, at the end (its reader would get FILE again at each save)
    assert predict_resume.PredictFile("/dev/null", kind, []).saving is False
    assert predict_resume.PredictFile(str(out), kind, []).saving is True


def test_resume_reads_back_every_name_its_csv_guards(model_dir, tmp_path, monkeypatch, classified):
    """A file named ``'-x.wav`` was written as it is to --csv and read back as ``-x.wav`` (its "guarding"
    ``'`` taken off), so --resume classified it again on every run and added a row each time. A name
    starting with ``'``s then ``= + - @`` is guarded too (``''-x.wav``), and every string comes back."""
    tricky = ["'", "''", "=", "+", "-", "@", "\t", "\r", "a", ",", '"', " "]
    texts = ["'-x", "''=y", "=z", "'plain", "-a", "\tt", "\rc", "'\tt", "'\r", "''plain", ""]
    texts += ["".join(p) for n in (1, 2, 3) for p in itertools.product(tricky, repeat=n)]
    for text in texts:
        cell = spreadsheet_text(text)
        assert from_spreadsheet_text(cell) == text, repr(text)
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), repr(text)  # never a formula
    monkeypatch.chdir(tmp_path)
    names = ["'-x.wav", "''=y.wav", "=z.wav", "'plain.wav", "-a.wav"]
    for i, name in enumerate(names):
        _clip(tmp_path / name, i)
    args = ["--model", str(model_dir), "--csv", "r.csv"]
    assert main(["predict", *args, "--", *names]) == 0
    classified.clear()
    assert main(["predict", *args, "--resume", "--", *names]) == 0
    assert classified == []  # every file matched to its row: none classified again, no row added
    cells = [r["file"] for r in csv.DictReader(open("r.csv", newline="", encoding="utf-8"))]
    assert cells == ["''-x.wav", "'''=y.wav", "'=z.wav", "'plain.wav", "'-a.wav"]


def _raising(stop: type[BaseException]):
    def classify_batch(self, *args, **kwargs):
        raise stop

    return classify_batch


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_a_run_stopped_before_a_file_finished_leaves_an_earlier_file_as_it_was(
    model_dir, tmp_path, monkeypatch, capsys, kind
):
    """A save during the run came when its minute was up even if no file had finished (short clips wait
    for a batch of 16): a run stopped while its first batch was classified had written [] (a CSV header)
    over a complete FILE, and its last line said that FILE was left as it was. Nothing is saved before
    a file of this run finishes: Ctrl-C or SIGKILL then leaves FILE as it was, as the line says."""
    files = [_clip(tmp_path / f"{c}.wav", i) for i, c in enumerate("abc")]
    out = tmp_path / f"results.{kind}"
    args = [*files, "--model", str(model_dir), f"--{kind}", str(out)]
    assert main(["predict", *args]) == 0
    whole = out.read_text()
    monkeypatch.setattr(predict_resume, "SAVE_EVERY_S", 0.0)
    monkeypatch.setattr(predict_resume, "SAVE_COST", 0)
    monkeypatch.setattr(EmotionClassifier, "classify_batch", _raising(KeyboardInterrupt))
    capsys.readouterr()
    assert main(["predict", *args]) == 130  # Ctrl-C while the first batch is classified
    assert (
        "interrupted after 0 of 3 file(s); no --csv/--json FILE written (an existing one is left as it was)"
        in capsys.readouterr().err
    )
    assert out.read_text() == whole
    monkeypatch.setattr(EmotionClassifier, "classify_batch", _raising(_Killed))
    with pytest.raises(_Killed):
        main(["predict", *args])
    assert out.read_text() == whole
    # --resume with a file still to classify: the earlier rows alone are not saved again either
    saves: list[list] = []
    monkeypatch.setattr(predict_resume.PredictFile, "write", lambda self, rows: saves.append(rows))
    monkeypatch.setattr(EmotionClassifier, "classify_batch", _raising(KeyboardInterrupt))
    assert main(["predict", _clip(tmp_path / "d.wav", 4), *args, "--resume"]) == 130
    assert saves == [] and out.read_text() == whole


@pytest.mark.parametrize("kind", ["csv", "json"])
@pytest.mark.parametrize(
    ("option", "suffix", "named"),
    [
        ("--timeline-png", ".timeline.png", lambda row: row["timeline_png"]),
        ("--segments", ".segments.vtt", lambda row: row["segments_files"]),
    ],
)
def test_resume_never_replaces_the_timeline_png_or_segments_of_an_earlier_row(
    model_dir, tmp_path, kind, option, suffix, named
):
    """--resume with --timeline-png (then --segments) looked for a clash of names among this run's rows
    only: x/long.wav kept from the earlier run and y/long.wav classified now both got long.timeline.png
    (long.segments.vtt), y's over x's. The new one takes another name, as in one run with both files (a
    CSV names no such file: resuming one replaces none already in DIR)."""
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    x = _long(tmp_path / "x" / "long.wav")
    y = str(tmp_path / "y" / "long.wav")
    sf.write(y, np.concatenate([make_tone(200.0, 5.0), make_speechlike(5.0, seed=9)]), SR)
    folder, out = tmp_path / "files", tmp_path / f"r.{kind}"
    args = ["--model", str(model_dir), f"--{kind}", str(out), option, str(folder)]
    assert main(["predict", x, *args]) == 0
    x_file = (folder / f"long{suffix}").read_bytes()
    assert main(["predict", x, y, *args, "--resume"]) == 0
    assert (folder / f"long{suffix}").read_bytes() == x_file
    assert sorted(p.name for p in folder.iterdir()) == [f"long-1{suffix}", f"long{suffix}"]
    # the names one run with both files gives (a resumed run named the second long-0)
    fresh = tmp_path / "fresh"
    again = ["--model", str(model_dir), f"--{kind}", str(tmp_path / f"f.{kind}"), option, str(fresh)]
    assert main(["predict", x, y, *again]) == 0
    assert sorted(p.name for p in fresh.iterdir()) == sorted(p.name for p in folder.iterdir())
    if kind == "json":
        rows = json.loads(out.read_text())
        expected = [str(folder / f"long{suffix}"), str(folder / f"long-1{suffix}")]
        if option == "--segments":  # a list of the files written, one per format
            expected = [[name] for name in expected]
        assert [named(r) for r in rows] == expected


def test_csv_has_a_long_files_label_time_and_resume_keeps_it(model_dir, tmp_path, classified):
    """A long file's seconds per label (``label_time``) were in --json and the table only: --csv had no
    such column. Its file row holds them as JSON text, as --json gives them (a short file's row and the
    window rows: empty), and --resume reads them back and writes them again unchanged."""
    files = [_clip(tmp_path / "a.wav", 1), _long(tmp_path / "long.wav")]
    args = ["--model", str(model_dir), "--min-speech", "none"]  # synthetic: the speech detector finds none
    assert main(["predict", *files, *args, "--json", str(tmp_path / "r.json")]) == 0
    label_time = json.loads((tmp_path / "r.json").read_text())[1]["label_time"]
    assert label_time and set(label_time) <= set(LABELS)
    out = tmp_path / "r.csv"
    assert main(["predict", *files, *args, "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open(newline="", encoding="utf-8")))
    expected = [("a.wav", "file"), ("long.wav", "file"), ("long.wav", "window")]
    assert [(Path(r["file"]).name, r["row"]) for r in rows[:3]] == expected
    assert json.loads(rows[1]["label_time"]) == label_time  # same labels, seconds and order as --json
    assert rows[0]["label_time"] == "" and all(r["label_time"] == "" for r in rows[2:])
    before = out.read_text(encoding="utf-8")
    classified.clear()
    new = _clip(tmp_path / "new.wav", 4)
    assert main(["predict", *files, new, *args, "--csv", str(out), "--resume"]) == 0
    assert classified == ["new.wav"]
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    assert "".join(lines[:-1]) == before  # label_time read back and written again, byte for byte


@pytest.mark.parametrize("missing", [["label_time", "snr_db"], ["snr_db"]])
def test_resume_takes_a_csv_written_before_label_time_or_snr_db(
    model_dir, tmp_path, classified, monkeypatch, missing
):
    """A --csv FILE of a version before ``label_time`` or ``snr_db`` (its header one or two columns shorter) is
    still one that --resume continues: its rows are kept, their files not classified again, and FILE is written
    with the new header, those rows' new cells empty (their run did not record them)."""
    monkeypatch.chdir(tmp_path)
    _clip(tmp_path / "a.wav", 1)
    _long(tmp_path / "long.wav")
    top = '"[{""label"": ""sad"", ""score"": 0.4}, {""label"": ""happy"", ""score"": 0.3}]"'
    more = "," * (2 - len(missing))  # a label_time cell in a file of session 43
    old = [
        "file,start,end,duration,label,score,top_k,error,row,warning" + ("" if more == "" else ",label_time"),
        f"a.wav,0.0,1.0,1.0,sad,0.4,{top},,file,{more}",
        f"long.wav,0.0,10.0,10.0,sad,0.4,{top},,file,{more}",
        f"long.wav,0.0,4.0,4.0,sad,0.4,{top},,window,{more}",
        f"long.wav,2.0,6.0,4.0,sad,0.4,{top},,window,{more}",
        f"gone.wav,,,,,,,cannot read gone.wav,file,{more}",
    ]
    Path("r.csv").write_text("".join(line + "\r\n" for line in old), encoding="utf-8")
    _clip(tmp_path / "b.wav", 2)
    args = ["--model", str(model_dir), "--csv", "r.csv", "--resume"]
    assert main(["predict", "a.wav", "long.wav", "b.wav", *args]) == 0
    assert classified == ["b.wav"]
    lines = Path("r.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == old[0] + "".join("," + name for name in missing)
    # the earlier rows as they were, with their new cells empty; b.wav's row after long.wav's, gone.wav's at the end
    empty = "," * len(missing)
    assert lines[1:5] == [line + empty for line in old[1:5]] and lines[-1] == old[-1] + empty
    b_row = next(csv.reader([lines[5]]))
    assert (
        b_row[0] == "b.wav" and b_row[8] == "file" and b_row[10] == "" and float(b_row[11]) > 0
    )  # its snr_db


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_resume_refuses_a_file_of_a_run_with_other_options(model_dir, tmp_path, classified, capsys, kind):
    """--resume compared no options: resumed with another --top-k, --channel or --window, FILE got rows of
    two kinds without a word. The options that change the rows are recorded beside FILE (which stays a
    plain CSV / JSON array); --resume with others is a usage error naming each, both values and the fix,
    FILE left as it was and no file classified; with the same options (a default given as its value
    too) it continues."""
    old = [_clip(tmp_path / "a.wav", 1), _clip(tmp_path / "b.wav", 2)]
    out = tmp_path / f"results.{kind}"
    args = ["--model", str(model_dir), f"--{kind}", str(out)]
    assert main(["predict", *old, *args, "--top-k", "2"]) == 0
    before = out.read_text()
    assert _names(out, kind) == ["a.wav", "b.wav"]  # FILE itself: the rows only
    new = _clip(tmp_path / "new.wav", 3)
    classified.clear()
    capsys.readouterr()
    assert main(["predict", *old, new, *args, "--resume", "--channel", "left"]) == 2
    err = capsys.readouterr().err
    assert "--top-k was 2, now 3" in err and "--channel was not given, now 0" in err
    assert "resume with that run's options (--top-k 2, without --channel" in err
    assert "or write this run's results to another FILE" in err and "Traceback" not in err
    assert classified == [] and out.read_text() == before
    # --window and --hop default to the model's: compared once it has loaded
    assert main(["predict", *old, new, *args, "--resume", "--top-k", "2", "--window", "1.5"]) == 2
    err = capsys.readouterr().err
    assert "--window was 4, now 1.5" in err and "--top-k" not in err.split("options (")[1].split(")")[0]
    assert classified == [] and out.read_text() == before
    assert main(["predict", *old, new, *args, "--resume", "--top-k", "2", "--window", "4"]) == 0
    assert classified == ["new.wav"]
    assert _names(out, kind) == ["a.wav", "b.wav", "new.wav"]


def test_resume_of_a_file_without_a_record_of_its_options_warns_and_continues(
    model_dir, tmp_path, classified, caplog
):
    """A FILE of a version before the record (or copied without it) still resumes, with a warning that
    the options could not be checked; no record is written for it then (its earlier rows' options are
    not known), so the next --resume warns again rather than vouch for them."""
    out = tmp_path / "results.csv"
    args = ["--model", str(model_dir), "--csv", str(out)]
    assert main(["predict", _clip(tmp_path / "a.wav", 1), *args]) == 0
    record = tmp_path / "results.csv.options.json"
    record.unlink(missing_ok=True)  # as a FILE of the version before it
    classified.clear()
    caplog.clear()
    assert main(["predict", str(tmp_path / "a.wav"), _clip(tmp_path / "b.wav", 2), *args, "--resume"]) == 0
    assert classified == ["b.wav"]
    assert f"the options of the run that wrote {out} could not be checked" in caplog.text
    assert not record.exists()
    assert main(["predict", str(tmp_path / "a.wav"), *args, "--resume", "--top-k", "1"]) == 0  # unchecked
    # a run without --resume replaces FILE, and records its options again
    assert main(["predict", str(tmp_path / "a.wav"), *args]) == 0 and record.exists()
    assert main(["predict", str(tmp_path / "a.wav"), *args, "--resume", "--top-k", "1"]) == 2


def test_resume_takes_labels_in_another_case_or_spelling_as_the_same_options(
    model_dir, tmp_path, classified, capsys
):
    """--labels Angry,Neutral then --resume --labels angry,neutral was refused as other options, though
    the classes are matched in any case (and a corpus's spelling, ``anger``, as its class): the same
    classes resume; other classes are still refused."""
    out = tmp_path / "results.csv"
    args = ["--model", str(model_dir), "--csv", str(out)]
    assert main(["predict", _clip(tmp_path / "a.wav", 1), *args, "--labels", "Angry,Neutral"]) == 0
    classified.clear()
    capsys.readouterr()
    new = [str(tmp_path / "a.wav"), _clip(tmp_path / "b.wav", 2)]
    assert main(["predict", *new, *args, "--resume", "--labels", "neutral, anger"]) == 0
    assert classified == ["b.wav"] and "other options" not in capsys.readouterr().err
    assert (
        main(["predict", *new, _clip(tmp_path / "c.wav", 3), *args, "--resume", "--labels", "angry,sad"]) == 2
    )
    assert "--labels was Angry,Neutral, now angry,sad" in capsys.readouterr().err


def test_resume_takes_the_bundled_models_folder_as_its_name():
    """--model default (or a bundled model's name) then --resume --model with that model's folder (or
    the reverse) was refused as other options, though it is the same model; another model is refused."""
    from ser_hf.cli.predict_args import build_predict_parser
    from ser_hf.cli.predict_options import refuse_other_options, run_options
    from ser_hf.errors import SERError
    from ser_hf.inference.bundled import bundled_model_path

    def options(*argv: str) -> dict:
        return json.loads(json.dumps(run_options(build_predict_parser().parse_args(["a.wav", *argv]))))

    default, folder = options(), options("--model", str(bundled_model_path("default")))
    for recorded, now in [
        (default, folder),
        (folder, default),
        (options("--model", "cnn"), options("--model", str(bundled_model_path("cnn")))),
        ({**default, "--model": str(bundled_model_path())}, default),
    ]:
        refuse_other_options(recorded, now, "r.csv", "--csv r.csv --resume")  # the same model
    with pytest.raises(SERError, match="--model was turn-encoder-2-voices-crops, now cnn"):
        refuse_other_options(default, options("--model", str(bundled_model_path("cnn"))), "r.csv", "x")
