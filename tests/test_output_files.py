"""Where `ser-hf` writes its results when the place is not a plain file in a roomy folder: a device, a
FIFO, a pipe, a symbolic link, a long name, a full disk or stdout, a closed stdin or stdout."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
from conftest import make_speechlike

from ser_hf.cli import main
from ser_hf.cli.predict_output import _write_file
from ser_hf.errors import SERError

SR = 16000
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clips") / "a.wav"
    sf.write(path, make_speechlike(1.0, seed=1), SR)
    return path


def _full_device(folder: Path) -> Path:
    """A device that answers every write with ENOSPC: a copy of /dev/full where this user may make one
    (root: the code before the fix replaced the device it was given, never the real /dev/full)."""
    copy = folder / "full"
    try:
        os.mknod(copy, stat.S_IFCHR | 0o666, os.makedev(1, 7))
        return copy
    except OSError:
        if os.geteuid() == 0:
            pytest.skip("cannot make a device here")
        return Path("/dev/full")  # a user cannot replace it: the old code failed on /dev, not on the device


def _run(code: str, args: list[str], **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", code, *args], env=env, text=True, timeout=120, **kwargs)


MAIN = "import sys; from ser_hf.cli import main; sys.exit(main(sys.argv[1:]))"


def test_csv_and_json_go_where_a_shell_redirection_would(model_dir, clip, tmp_path, capsys):
    """--csv FILE replaced whatever was at FILE with a plain file: a FIFO's reader never got the data,
    a symbolic link became a file (its target unchanged), and a legal 252-byte name failed (Errno 36:
    the temporary name was 9 bytes longer)."""
    args = [str(clip), "--model", str(model_dir)]
    # a symbolic link: the link stays, its file gets the rows
    target, link = tmp_path / "real.csv", tmp_path / "link.csv"
    from ser_hf.cli.predict_output import CSV_FIELDS

    target.write_text(",".join(CSV_FIELDS) + "\n")  # an earlier run's (one that classified nothing)
    link.symlink_to(target.name)
    assert main(["predict", *args, "--csv", str(link)]) == 0
    assert link.is_symlink() and [r["file"] for r in csv.DictReader(target.open())] == [str(clip)]
    # a FIFO (mkfifo): it stays one, and its reader gets the JSON
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so that the writer's open does not wait
    try:
        assert main(["predict", *args, "--json", str(fifo)]) == 0
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)
        assert json.loads(os.read(reader, 1 << 16))[0]["file"] == str(clip)
    finally:
        os.close(reader)
    # a name of 252 bytes, and the mode: a new file 0666 minus the umask, a replaced one keeps its own
    long = tmp_path / ("r" * 248 + ".csv")
    assert main(["predict", *args, "--csv", str(long)]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(long.stat().st_mode) == 0o666 & ~umask
    long.chmod(0o640)
    assert main(["predict", *args, "--csv", str(long)]) == 0
    assert stat.S_IMODE(long.stat().st_mode) == 0o640
    # the record of the options --resume checks: beside the link's file; none for a FIFO, nor for a name
    # too long to take its suffix (a warning)
    files = ["real.csv", "real.csv.options.json", "link.csv", "fifo", long.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)
    capsys.readouterr()


def test_a_pipe_gets_the_rows(model_dir, clip, tmp_path, capsys):
    """`--csv >(cat)` (bash passes /dev/fd/63) failed with FileNotFoundError '/dev/fd/.63.tmp'."""
    read_end, write_end = os.pipe()
    try:
        assert main(["predict", str(clip), "--model", str(model_dir), "--csv", f"/dev/fd/{write_end}"]) == 0
        os.close(write_end)
        rows = list(csv.DictReader(io.StringIO(os.read(read_end, 1 << 16).decode())))
    finally:
        os.close(read_end)
    assert [r["file"] for r in rows] == [str(clip)]
    capsys.readouterr()


def test_a_full_disk_is_one_line_after_the_table(model_dir, clip, tmp_path, capsys):
    """A full disk at --csv/--json FILE ended the run with a traceback (OSError Errno 28) and no table:
    the results were lost. Now the table is printed, then one line names the file (exit 74)."""
    full = _full_device(tmp_path)
    assert main(["predict", str(clip), "--model", str(model_dir), "--csv", str(full)]) == 74
    out, err = capsys.readouterr()
    assert "1 of 1 file(s) classified" in out and str(clip) in out
    assert f"ser-hf predict: error: cannot write {full} (No space left on device)" in err
    assert "Traceback" not in err and stat.S_ISCHR(os.stat(full).st_mode)  # a device still


def test_a_failed_write_keeps_the_old_file_and_names_it(tmp_path):
    """The write behind --csv/--json: a file that cannot be completed leaves the previous one whole
    and no temporary file, and the error names the user's file (a full disk's names none)."""
    old = tmp_path / "results.json"
    old.write_text("[]")

    def write(fh):
        fh.write("[{")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as caught:
        _write_file(old, write)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(old)
    assert old.read_text() == "[]" and [p.name for p in tmp_path.iterdir()] == ["results.json"]


class _FullStdout(io.TextIOWrapper):
    """stdout on a full disk: every write to the file fails with ENOSPC."""

    def __init__(self) -> None:
        class Raw(io.RawIOBase):
            def writable(self) -> bool:
                return True

            def write(self, data) -> int:
                raise OSError(errno.ENOSPC, "No space left on device")

        super().__init__(io.BufferedWriter(Raw()), encoding="utf-8")


def test_a_full_stdout_is_one_line_not_a_traceback(model_dir, clip, monkeypatch, capsys):
    """`ser-hf predict clip > file-on-a-full-disk`: the table fits stdout's buffer, so the write fails
    at the last flush, which ended in a traceback (OSError Errno 28)."""
    full = _FullStdout()
    monkeypatch.setattr(sys, "stdout", full)
    try:
        assert main(["predict", str(clip), "--model", str(model_dir)]) == 74
    finally:
        monkeypatch.undo()
        full.buffer.raw.write = lambda data: len(data)  # so that closing it at exit is quiet
    err = capsys.readouterr().err
    assert "ser-hf predict: error: cannot write to stdout (No space left on device)" in err
    assert "Traceback" not in err


def test_predict_to_dev_full_and_with_stdout_closed(model_dir, clip, tmp_path):
    """`ser-hf predict clip --json - > /dev/full` and `ser-hf train --help > /dev/full`: a traceback
    ending in OSError Errno 28;
    `ser-hf predict clip --csv out.csv >&-` wrote the CSV, then failed with AttributeError
    ('NoneType' object has no attribute 'flush')."""
    args = [str(clip), "--model", str(model_dir)]
    with open("/dev/full", "w") as full:  # writing to it is safe: it is opened, never replaced
        proc = _run(MAIN, ["predict", *args, "--json", "-"], stdout=full, stderr=subprocess.PIPE)
        assert proc.returncode == 74, proc.stderr[-2000:]
        assert "ser-hf predict: error: cannot write to stdout (No space left on device)" in proc.stderr
        assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
        # its help is longer than stdout's buffer: the write fails in print(), naming no file
        proc = _run(MAIN, ["train", "--help"], stdout=full, stderr=subprocess.PIPE)
        assert proc.returncode == 74 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert proc.stderr.strip() == "ser-hf train: error: cannot write to stdout (No space left on device)"
    out = tmp_path / "out.csv"
    proc = _run(
        MAIN,
        ["predict", *args, "--csv", str(out)],
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(1),  # the child starts with fd 1 closed, as under `>&-`
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [r["file"] for r in csv.DictReader(out.open())] == [str(clip)]


def test_a_closed_stdin_or_stdout_for_the_list_or_the_results_is_a_usage_error(
    model_dir, clip, monkeypatch, capsys
):
    """`ser-hf predict -T - <&-` failed with AttributeError: 'NoneType' object has no attribute 'buffer'."""
    monkeypatch.setattr(sys, "stdin", None)
    assert main(["predict", "-T", "-", "--model", str(model_dir)]) == 2
    err = capsys.readouterr().err
    assert "--files-from -: stdin is closed" in err and "Traceback" not in err
    monkeypatch.setattr(sys, "stdout", None)
    assert main(["predict", str(clip), "--model", str(model_dir), "--json", "-"]) == 2
    assert "stdout is closed, so --json - has nowhere to go" in capsys.readouterr().err


def test_a_missing_folder_under_proc_is_one_line(model_dir, clip, capsys):
    """Written through as a device would be, /proc/no-such/x.csv ended in a raw FileNotFoundError."""
    assert main(["predict", str(clip), "--model", str(model_dir), "--csv", "/proc/no-such-dir/x.csv"]) == 74
    err = capsys.readouterr().err
    assert "/proc/no-such-dir/x.csv" in err and "Traceback" not in err


def test_a_waveform_cache_that_cannot_be_written_costs_speed_not_the_run(tmp_path, caplog):
    """`train --cache_dir /sys/x` ended training after decoding (exit 74, no model): the decoded clips'
    cache had no OSError guard, unlike the feature cache."""
    import logging

    import numpy as np

    from ser_hf.training.clips import _store_waveforms

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="ser_hf"):
        _store_waveforms(blocker / "sub" / "clips.safetensors", [np.zeros(16000, np.float32)])
    assert "decoded clips not cached in" in caplog.text and "--cache_dir" in caplog.text
    good = tmp_path / "cache" / "clips.safetensors"
    _store_waveforms(good, [np.zeros(16000, np.float32)])
    assert good.is_file()
    import safetensors.torch
    from safetensors import SafetensorError

    def full_disk(*args, **kwargs):  # what safetensors raises when the disk fills: no OSError
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    caplog.clear()
    with pytest.MonkeyPatch.context() as patch, caplog.at_level(logging.WARNING, logger="ser_hf"):
        patch.setattr(safetensors.torch, "save_file", full_disk)
        _store_waveforms(tmp_path / "cache2" / "clips.safetensors", [np.zeros(16000, np.float32)])
    assert (
        "No space left on device" in caplog.text and not (tmp_path / "cache2" / "clips.safetensors").exists()
    )


def test_a_hub_teacher_is_fetched_before_the_clips_are_decoded(monkeypatch):
    """`train --teacher owner/name` was "not a saved model folder (no config.json)" after decoding every
    clip, while fuse --member and evaluate --model take a Hub id."""
    from ser_hf.cli import train as train_cli
    from ser_hf.hub import fetch

    asked = []
    monkeypatch.setattr(
        fetch, "fetch_model", lambda repo: asked.append(repo) or Path("/cache/owner--teacher")
    )
    argv = train_cli.resolve_teacher(["--teacher", "owner/teacher", "--preset", "speech-stats"])
    assert asked == ["owner/teacher"] and argv[:2] == ["--teacher", "/cache/owner--teacher"]


def test_a_teacher_that_is_no_model_is_refused_before_the_data_loads(tmp_path):
    """`distill --teacher NOT_A_MODEL` (or a folder without a model) was refused only after every clip
    had decoded; now at once, naming the value and what a teacher may be."""
    from ser_hf.cli import distill as distill_cli

    argv = ["--preset", "speech-stats", "--corpus", f"ravdess={tmp_path / 'nowhere'}"]
    (tmp_path / "empty").mkdir()
    for teacher in ("NOT_A_MODEL", str(tmp_path / "empty")):
        with pytest.raises(SERError, match="not a saved model folder.*bundled name") as err:
            distill_cli.cli(["--teacher", teacher, *argv, "--output_dir", str(tmp_path / "out")])
        assert err.value.source == f"--teacher {teacher}"
    assert not (tmp_path / "out").exists()


def test_a_hub_model_not_cached_offline_is_one_line_that_names_offline_mode(tmp_path, capsys):
    """With HF_HUB_OFFLINE=1 (as here), `evaluate --model user/repo` ended in huggingface_hub's
    LocalEntryNotFoundError traceback, and `predict --model user/repo` quoted transformers' text about
    local directories, neither saying that offline mode kept the Hub from being asked."""
    clip = tmp_path / "a.wav"
    sf.write(clip, make_speechlike(1.0, seed=1), SR)
    for argv in (
        ["evaluate", "--model", "someone/not-cached", "--corpus", f"ravdess={tmp_path}"],
        ["predict", "--model", "someone/not-cached", str(clip)],
        [
            "distill",
            "--teacher",
            "someone/not-cached",
            "--preset",
            "speech-stats",
            "--corpus",
            f"ravdess={tmp_path}",
        ],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "offline mode is on (HF_HUB_OFFLINE=1)" in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1, err


def test_a_results_file_keeps_a_file_name_that_is_not_utf8(tmp_path):
    """cv_results.json is written readable (ensure_ascii=False); a Linux file name that is not UTF-8
    (its bytes as surrogates) must not fail the write, and reads back as the same name."""
    from ser_hf.training.saving import write_whole

    name = os.fsdecode(b"clip_\xe4.wav")  # Latin-1 bytes: a surrogate in Python
    path = tmp_path / "cv_results.json"
    write_whole(path, json.dumps({"rows": [name, "Jürgen"]}, ensure_ascii=False))
    assert json.loads(path.read_text(encoding="utf-8"))["rows"] == [name, "Jürgen"]
    assert "Jürgen" in path.read_text(encoding="utf-8")  # readable, not \u00fc


def test_the_table_lines_up_names_with_combining_marks_and_wide_characters():
    """A name macOS wrote decomposed (e + a combining acute) counted one column too many, and 話者
    two too few, so the label column of their rows was out of line with the others."""
    import unicodedata

    from ser_hf.cli.predict_output import _print_table

    names = ["plain.wav", unicodedata.normalize("NFD", "Zoë_é.wav"), "話者さくら.wav"]
    rows = [{"file": n, "duration": 1.0, "label": "angry", "score": 0.9, "top_k": []} for n in names]
    out = io.StringIO()
    _print_table(rows, ["angry"], out)

    def column(line: str) -> int:  # the terminal column where "angry" starts
        before = line[: line.index("angry")]
        return sum(
            0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) == "W" else 1
            for c in before
        )

    lines = out.getvalue().splitlines()[1:]
    assert len(lines) == 3 and len({column(line) for line in lines}) == 1, out.getvalue()


def test_a_staged_write_leaves_the_process_umask_alone(tmp_path, monkeypatch):
    """Each staged write set the umask to 0 and back to read it: a file another thread created in
    between got mode 0666. The umask is read from /proc/self/status (Linux), elsewhere once."""
    from ser_hf.training import saving

    umask = os.umask(0o027)
    try:
        expected = 0o666 & ~0o027
        calls: list[int] = []
        monkeypatch.setattr(saving.os, "umask", lambda mask: calls.append(mask) or 0o027)
        saving.write_whole(tmp_path / "a.json", "{}")
        assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == expected and calls == []
        # no /proc (macOS): read once the old way, and kept
        real_open = open
        monkeypatch.setattr("builtins.open", lambda f, *a, **k: (_ for _ in ()).throw(OSError()) if str(f) == "/proc/self/status" else real_open(f, *a, **k))  # fmt: skip
        saving._umask_once.cache_clear()
        for name in ("b.json", "c.json"):
            saving.write_whole(tmp_path / name, "{}")
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected
        assert len(calls) == 2  # set and set back, once
    finally:
        os.umask(umask)
        saving._umask_once.cache_clear()


def test_evaluates_class_table_lines_up_class_names_in_wide_characters():
    """`ser-hf evaluate` of a model of Japanese classes printed 喜び's row 2 columns right of the
    others (str.ljust counts code points, a terminal shows 喜 two columns wide)."""
    import unicodedata

    from ser_hf.training.metrics import format_table

    row = {"recall": 1.0, "precision": 1.0, "f1": 1.0, "support": 3}
    metrics = {"n": 9, "wa": 1.0, "ua": 1.0, "f1_macro": 1.0, "f1_weighted": 1.0}
    metrics["per_class"] = {"喜び": row, "悲しみ": row, "neutral": row}
    lines = [line for line in format_table(metrics).splitlines() if line.startswith("  ") and "1.000" in line]

    def column(line: str) -> int:
        before = line[: line.index("1.000")]
        return sum(2 if unicodedata.east_asian_width(c) == "W" else 1 for c in before)

    assert len(lines) == 3 and len({column(line) for line in lines}) == 1, lines
