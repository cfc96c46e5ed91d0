"""`ser-hf` used from shell scripts: xargs, pipes, `timeout`/systemd, exit codes, `--version`."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import make_speechlike, save_tiny_bilstm

import ser_hf
from ser_hf.cli import main

SR = 16000
REPO = Path(__file__).resolve().parents[1]


def _clips(folder: Path, count: int, seconds: float = 1.0, suffix: str = ".wav") -> list[Path]:
    paths = [folder / f"{i}{suffix}" for i in range(count)]
    for i, path in enumerate(paths):
        sf.write(path, make_speechlike(seconds, seed=i), SR, format="FLAC" if suffix == ".flac" else "WAV")
    return paths


def _run(args: list[str], **kwargs) -> subprocess.Popen:
    """``ser-hf ARGS`` in a fresh process, as a script runs it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-c", *args], env=env, text=True, **kwargs)


def test_xargs_never_turns_a_recording_into_the_output_file(model_dir, tmp_path, capsys):
    """`ls *.flac | xargs ser-hf predict --json` took the first recording as --json's FILE and
    overwrote it with JSON (exit 0, the recording never classified)."""
    a, b = _clips(tmp_path, 2, suffix=".flac")
    before = a.read_bytes()
    for option in ("--json", "--csv"):
        assert main(["predict", option, str(a), str(b), "--model", str(model_dir)]) == 2
        err = capsys.readouterr().err
        assert a.read_bytes() == before, option
        assert f"{option} -" in err and "after the files" in err and "Traceback" not in err
    # the only recording given after the option: refused as the FILE, not "PATH is required"
    assert main(["predict", "--json", str(a), "--model", str(model_dir)]) == 2
    assert a.read_bytes() == before and "an audio or video file name" in capsys.readouterr().err
    # a recording without an audio extension, named both as input and as output
    take = tmp_path / "take1"
    take.write_bytes(before)
    assert main(["predict", str(take), str(b), "--csv", str(take), "--model", str(model_dir)]) == 2
    assert take.read_bytes() == before and "one of the files to classify" in capsys.readouterr().err
    # the ways that write results still do
    out = tmp_path / "out.json"
    assert main(["predict", str(a), str(b), "--model", str(model_dir), "--json", str(out)]) == 0
    assert [Path(r["file"]).name for r in json.loads(out.read_text())] == ["0.flac", "1.flac"]
    capsys.readouterr()
    assert main(["predict", str(a), "--model", str(model_dir), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_rows_follow_the_inputs_as_given_a_repeated_file_included(model_dir, tmp_path, capsys):
    """`predict x y x --csv -` gave the rows y, x, x."""
    x, y = _clips(tmp_path, 2)
    handler = signal.getsignal(signal.SIGTERM)
    assert main(["predict", str(x), str(y), str(x), "--model", str(model_dir), "--csv", "-"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [Path(r["file"]).name for r in rows] == ["0.wav", "1.wav", "0.wav"]
    assert signal.getsignal(signal.SIGTERM) is handler  # main() called from Python leaves SIGTERM as it was
    # from a worker thread (a notebook's or a service's), where Python refuses signal handlers
    codes: list[int] = []
    worker = threading.Thread(
        target=lambda: codes.append(main(["predict", str(y), "--model", str(model_dir)]))
    )
    worker.start()
    worker.join(120)
    assert codes == [0] and signal.getsignal(signal.SIGTERM) is handler


def test_file_names_are_written_as_typed_and_read_back_to_the_file(model_dir, tmp_path, monkeypatch, capsys):
    """`find ./fmt | xargs ser-hf predict --json -` wrote "fmt/a.wav" (`./` dropped, `x//y` collapsed), so
    the rows never joined the user's list. A name with a backslash reads back to that file (a first fix
    wrote every backslash doubled, a name no file has); a byte that is not UTF-8 is written `\\xNN`."""
    (tmp_path / "fmt").mkdir()
    (clip,) = _clips(tmp_path / "fmt", 1)
    plain = os.fsencode(tmp_path / "fmt" / "0.wav")
    os.link(plain, os.fsencode(tmp_path / "fmt") + b"/back\\slash.wav")  # a real backslash
    os.link(plain, os.fsencode(tmp_path / "fmt") + b"/lat\xe9.wav")  # the byte 0xE9, not UTF-8
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "./fmt//0.wav", "./fmt", "--model", str(model_dir), "--json", "-"]) == 0
    names = [r["file"] for r in json.loads(capsys.readouterr().out)]
    assert names == ["./fmt//0.wav", "./fmt/0.wav", "./fmt/back\\slash.wav", "./fmt/lat\\xe9.wav"]
    assert all(os.path.exists(name) for name in names[:3])
    assert main(["predict", "fmt/", "--model", str(model_dir), "--csv", "-"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["file"] for r in rows] == ["fmt/0.wav", "fmt/back\\slash.wav", "fmt/lat\\xe9.wav"]
    assert os.path.exists(rows[1]["file"])


def test_files_from_gives_a_whole_list_to_one_run(model_dir, tmp_path, monkeypatch, capsys):
    """The README advised `xargs ... ser-hf predict --json results.json`: xargs split 1,000 files into
    several runs, each replacing the FILE (272 rows left, exit 0). --files-from reads the whole list
    (stdin, or NUL-ended names as find -print0 writes them) into one run."""
    clips = _clips(tmp_path, 3, seconds=0.5)
    names = [str(c) for c in clips] * 100
    stdin = io.TextIOWrapper(io.BytesIO(("\n".join(names) + "\n\n").encode()))
    monkeypatch.setattr(sys, "stdin", stdin)
    out = tmp_path / "results.json"
    assert main(["predict", "--files-from", "-", "--model", str(model_dir), "--json", str(out)]) == 0
    assert [r["file"] for r in json.loads(out.read_text())] == names  # 300 rows, in the list's order
    assert "300 of 300 file(s) classified" in capsys.readouterr().out
    odd = tmp_path / "two\nlines.wav"
    odd.write_bytes(clips[0].read_bytes())
    listing = tmp_path / "list0"
    listing.write_bytes(os.fsencode(odd) + b"\0" + os.fsencode(clips[1]) + b"\0")
    args = ["predict", "--null", "--files-from", str(listing), "--model", str(model_dir), "--csv", "-"]
    assert main(args) == 0
    assert [r["file"] for r in csv.DictReader(io.StringIO(capsys.readouterr().out))] == [
        str(odd),
        str(clips[1]),
    ]
    # a list saved on Windows (CR LF line ends): the files were "not found", the CR invisible
    (tmp_path / "crlf.txt").write_bytes(os.fsencode(clips[0]) + b"\r\n" + os.fsencode(clips[1]) + b"\r\n")
    args = ["predict", "-T", str(tmp_path / "crlf.txt"), "--model", str(model_dir), "--json", "-"]
    assert main(args) == 0
    assert [r["file"] for r in json.loads(capsys.readouterr().out)] == [str(clips[0]), str(clips[1])]
    # the advice where users look: one run with --files-from, and why not xargs
    assert main(["predict", "--help"]) == 0
    text = capsys.readouterr().out
    assert "ser-hf predict --files-from - --csv results.csv" in text and "xargs may split" in text
    readme = (REPO / "README.md").read_text()
    assert "--files-from -" in readme and "xargs may split" in readme


def test_files_from_lists_windows_writes_with_a_byte_order_mark(model_dir, tmp_path, capsys):
    """Notepad's UTF-8 list (a BOM) made its first file "\\ufeffpred/...: file not found"; Windows
    PowerShell 5's `dir -Name > list.txt` (UTF-16) made every file "the path holds a NUL character",
    plus an empty one. Both are read as the names they hold; --null lists too."""
    clips = []
    for i, name in enumerate(("Wut – Jürgen ß.wav", "悲しみ😢.wav")):
        clips.append(tmp_path / name)
        sf.write(clips[-1], make_speechlike(0.5, seed=i), SR)
    lines = "\r\n".join(str(c) for c in clips) + "\r\n"
    for name, data in (
        ("bom.txt", b"\xef\xbb\xbf" + lines.encode()),
        ("utf16.txt", lines.encode("utf-16")),  # with its byte-order mark, as PowerShell writes it
        ("utf16be.txt", b"\xfe\xff" + lines.encode("utf-16-be")),
    ):
        (tmp_path / name).write_bytes(data)
        args = ["predict", "-T", str(tmp_path / name), "--model", str(model_dir), "--json", "-"]
        assert main(args) == 0, capsys.readouterr().err
        assert [r["file"] for r in json.loads(capsys.readouterr().out)] == [str(c) for c in clips]
    for name, data in (
        ("bom0", b"\xef\xbb\xbf" + b"".join(os.fsencode(c) + b"\0" for c in clips)),
        ("utf16_0", "".join(f"{c}\0" for c in clips).encode("utf-16")),
    ):
        (tmp_path / name).write_bytes(data)
        args = ["predict", "--null", "-T", str(tmp_path / name), "--model", str(model_dir), "--json", "-"]
        assert main(args) == 0, capsys.readouterr().err
        assert [r["file"] for r in json.loads(capsys.readouterr().out)] == [str(c) for c in clips]


def test_files_from_reads_utf16_without_a_byte_order_mark(model_dir, tmp_path, capsys):
    """A UTF-16 list without a byte-order mark (.NET's Encoding.Unicode.GetBytes, some export tools)
    made every file "the path holds a NUL character". Its NUL bytes tell little- from big-endian: it is
    read as the names it holds (--null too); a UTF-8 --null list of short names stays UTF-8, and a list
    with those NULs that is no UTF-16 is the clear error (exit 2), not a row per garbled name."""
    clips = []
    for i, name in enumerate(("Wut – Jürgen ß.wav", "悲しみ😢.wav", "一.wav")):
        clips.append(tmp_path / name)
        sf.write(clips[-1], make_speechlike(0.5, seed=i), SR)
    lines = "\r\n".join(str(c) for c in clips) + "\r\n"
    ended = "".join(f"{c}\0" for c in clips)
    for name, data, null in (
        ("le.txt", lines.encode("utf-16-le"), []),
        ("be.txt", lines.encode("utf-16-be"), []),
        ("le0", ended.encode("utf-16-le"), ["--null"]),
        ("be0", ended.encode("utf-16-be"), ["--null"]),
    ):
        (tmp_path / name).write_bytes(data)
        args = ["predict", *null, "-T", str(tmp_path / name), "--model", str(model_dir), "--json", "-"]
        assert main(args) == 0, capsys.readouterr().err
        assert [r["file"] for r in json.loads(capsys.readouterr().out)] == [str(c) for c in clips]
    from ser_hf.cli.file_lists import listed_names

    assert listed_names(b"a.wav\0b.wav\0cd.mp3\0", True, "-T x") == ["a.wav", "b.wav", "cd.mp3"]
    # names of 1 or 3 bytes put a NUL in half the units (find -print0 of ./x ./y): still UTF-8
    assert listed_names(b"./x\0./y\0", True, "-T x") == ["./x", "./y"]
    assert listed_names(b"001\x00002\x00", True, "-T x") == ["001", "002"]
    assert listed_names("a.wav".encode("utf-16-le"), False, "-T x") == ["a.wav"]  # one name, no separator
    (tmp_path / "bad.txt").write_bytes(lines.encode("utf-16-le") + b"\x00\xd8" + "x.wav".encode("utf-16-le"))
    assert main(["predict", "-T", str(tmp_path / "bad.txt"), "--model", str(model_dir)]) == 2
    err = capsys.readouterr().err
    assert "has the NUL bytes of UTF-16-LE text without a byte-order mark but is not UTF-16 text" in err
    assert "save the list as UTF-8" in err


def test_a_clip_too_short_for_speech_is_an_error_row_not_an_emotion(model_dir, tmp_path, capsys):
    """A 5-ms clip got a confident emotion in the JSON; only a log line said it meant nothing."""
    (speech,) = _clips(tmp_path, 1)
    blip, quiet = tmp_path / "blip.wav", tmp_path / "quiet.wav"
    sf.write(blip, np.random.default_rng(0).uniform(-0.3, 0.3, 80).astype(np.float32), SR)  # 5 ms
    sf.write(quiet, np.zeros(SR, np.float32), SR)
    args = [str(speech), str(blip), str(quiet), "--model", str(model_dir)]
    assert main(["predict", *args, "--json", "-"]) == 1
    captured = capsys.readouterr()
    rows = {Path(r["file"]).name: r for r in json.loads(captured.out)}
    assert "label" not in rows["blip.wav"] and "too short to hold speech" in rows["blip.wav"]["error"]
    assert rows["blip.wav"]["duration"] == 0.005
    assert rows["quiet.wav"]["label"] == "silence" and "label" in rows["0.wav"]
    assert "2 of 3 file(s) classified, 1 failed" in captured.err
    assert main(["predict", *args, "--csv", "-"]) == 1
    blip_row = next(r for r in csv.DictReader(io.StringIO(capsys.readouterr().out)) if r["file"] == str(blip))
    assert blip_row["label"] == "" and "too short" in blip_row["error"]


def test_csv_top_k_cells_keep_labels_as_written(tmp_path, capsys):
    """The top_k cell of --csv read `"\\u00e9nerv\\u00e9"` for a model labelled in French."""
    model = save_tiny_bilstm(tmp_path / "fr", ["neutre", "énervé"])
    (clip,) = _clips(tmp_path, 1)
    assert main(["predict", str(clip), "--model", str(model), "--csv", "-"]) == 0
    (row,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    assert '"énervé"' in row["top_k"] and "\\u00e9" not in row["top_k"]


def test_version_and_the_exit_codes_are_where_a_user_looks(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"ser-hf {ser_hf.__version__}\n"
    assert main(["predict", "--help"]) == 0  # argparse's SystemExit(0) ends as the command's 0
    text = capsys.readouterr().out
    for line in ("0    every file classified", "1    one or more files failed", "2    a usage error"):
        assert line in text
    assert "130  Ctrl-C, 143 SIGTERM" in text and "too short to hold speech" in text
    readme = (REPO / "README.md").read_text()
    assert "ser-hf predict` exits 0" in readme
    # when FILE is written, so that a re-run does not replace a complete earlier FILE unawares
    assert "--csv/--json FILE is written at the end, and saved during the run every minute" in text
    assert "unless it is given --resume" in text
    assert "saved during the run every minute or so" in readme and "unless it is given `--resume`" in readme


@pytest.mark.parametrize("command", ["evaluate", "train", "export", "cv"])
def test_every_command_that_writes_results_says_its_exit_statuses(command, capsys):
    """Only `predict --help` had an "exit status:" part; the README promises exit 74 for a write
    failure of every command, and train, evaluate, export and cv said nothing of it."""
    try:
        assert main([command, "--help"]) == 0  # train answers from its stored help
    except SystemExit as done:
        assert done.code == 0
    text = capsys.readouterr().out
    epilog = text[text.index("exit status:") :]
    for status in ("0 ", "2 ", "74 ", "130 ", "141 "):
        assert f"\n  {status}" in epilog, (command, status)


def test_sigterm_writes_the_finished_rows_and_exits_143(model_dir, tmp_path):
    """SIGTERM (`timeout`, systemd) mid-run lost every finished row and left the old --csv in place;
    Ctrl-C kept them. The process sends itself a real SIGTERM while reading the 4th of 8 files."""
    paths = _clips(tmp_path, 8)
    out = tmp_path / "out.csv"
    from ser_hf.cli.predict_output import CSV_FIELDS

    out.write_text(",".join(CSV_FIELDS) + "\nold.wav,0.0,1.0,1.0,sad,0.9,[],,file,,,\n")  # an old run's
    code = (
        "import os, signal, sys\n"
        "import ser_hf.data.audio as audio\n"
        "from ser_hf.cli import main\n"
        "real, calls = audio.audio_info, []\n"
        "def audio_info(path, *args, **kwargs):\n"
        "    calls.append(path)\n"
        "    if len(calls) == 4:\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return real(path, *args, **kwargs)\n"
        "audio.audio_info = audio_info\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    args = ["predict", *map(str, paths), "--model", str(model_dir), "--batch-size", "3", "--csv", str(out)]
    proc = _run([code, *args], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    assert [Path(r["file"]).name for r in csv.DictReader(out.open())] == ["0.wav", "1.wav", "2.wav"]
    assert "interrupted after 3 of 8 file(s)" in err and "terminated (SIGTERM)" in err
    assert "Traceback" not in err


def test_a_reader_closing_the_pipe_ends_the_command_quietly(model_dir, tmp_path):
    """`ser-hf predict ... --csv - | head -2` ended in a BrokenPipeError traceback."""
    paths = _clips(tmp_path, 2)
    args = [
        "import sys; from ser_hf.cli import main; sys.exit(main(sys.argv[1:]))",
        "predict",
        *map(str, paths),
    ]
    proc = _run(
        [*args, "--model", str(model_dir), "--csv", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # the reader is gone before the first row
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141, err[-2000:]
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err


@pytest.mark.parametrize("option", ["--help", "--version"])
def test_usage_and_version_end_quietly_on_a_closed_pipe_and_in_one_line_on_a_full_device(option):
    """`ser-hf --help | head -1`, `ser-hf --version | head -0` and `ser-hf --help > /dev/full` ended in a
    BrokenPipeError / OSError traceback: those prints sat outside the guard the commands have."""
    main_code = "import sys; from ser_hf.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = _run([main_code, option], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141, err[-2000:]
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err
    if Path("/dev/full").exists():
        with open("/dev/full", "w") as full:
            proc = _run([main_code, option], stdout=full, stderr=subprocess.PIPE)
            err = proc.communicate(timeout=120)[1]
        assert proc.returncode == 74 and "Traceback" not in err, err[-2000:]
        assert err.splitlines() == [
            f"ser-hf {option[2:]}: error: cannot write to stdout (No space left on device)"
        ]


@pytest.mark.parametrize("command", ["predict", "corpus"])
def test_a_commands_help_on_a_closed_pipe_or_a_full_device_is_not_lost_silently(command):
    """`ser-hf predict --help > /dev/full` exited 0 with nothing said (argparse drops the OSError of its
    own write), while `ser-hf --help > /dev/full` and `ser-hf train --help` said so and exited 74."""
    main_code = "import sys; from ser_hf.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = _run([main_code, command, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line
    err = proc.stderr.read()
    assert proc.wait(timeout=120) in (0, 141), err[-2000:]  # 0 when the text fit the pipe before it closed
    assert "Traceback" not in err and "Exception ignored" not in err
    if Path("/dev/full").exists():
        with open("/dev/full", "w") as full:
            proc = _run([main_code, command, "--help"], stdout=full, stderr=subprocess.PIPE)
            err = proc.communicate(timeout=120)[1]
        assert proc.returncode == 74, err[-2000:]
        assert err.splitlines() == [
            f"ser-hf {command}: error: cannot write to stdout (No space left on device)"
        ]


def test_silence_db_sets_the_one_threshold_predict_speaks_of(model_dir, tmp_path, capsys, caplog):
    """`predict --silence-db -60` classified a clip at -57 dBFS, as asked, and still logged that it "holds
    no speech (below -55)": classify's own threshold, not the user's (probe of session 36)."""
    from ser_hf.inference.levels import level_db

    clip = make_speechlike(1.0, seed=4)
    clip *= 10 ** ((-57 - level_db(clip, SR)) / 20)
    sf.write(tmp_path / "quiet.wav", clip, SR)
    args = [str(tmp_path / "quiet.wav"), "--model", str(model_dir), "--silence-db", "-60", "--json", "-"]
    with caplog.at_level("WARNING"):
        assert main(["predict", *args]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["label"] != "silence" and "holds no speech" not in caplog.text


def test_a_broken_pipe_that_is_not_stdout_is_an_error_not_a_quiet_end(tmp_path):
    """Every BrokenPipeError ended a command with a quiet exit 141, one from a socket (push) too."""
    code = (
        "import sys\n"
        "import ser_hf.cli.corpus as corpus\n"
        "from ser_hf.cli import main\n"
        "def cli(argv):\n"
        "    raise BrokenPipeError('the Hub closed the connection')\n"
        "corpus.cli = cli\n"
        "sys.exit(main(['corpus']))\n"
    )
    proc = _run([code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode not in (0, 141) and "the Hub closed the connection" in err


@pytest.mark.skipif(not __import__("shutil").which("ffmpeg"), reason="needs the ffmpeg binary")
def test_a_recording_whose_header_gives_no_length_gets_its_timeline(model_dir, tmp_path, capsys):
    """A browser's WebM and a FLAC written to a pipe give no length in their header: predict took a
    12-minute WebM for a short clip (one row from its last 8 s, decoded whole) and gave a piped FLAC's
    row 'truncated: header says 192153584101141.16 s'. Now the first 6 s tell: a long one gets its
    timeline, a short one stays one clip, and neither row warns."""
    import shutil

    ffmpeg = shutil.which("ffmpeg")
    wav = {}
    for seconds in (12.0, 3.0):
        wav[seconds] = tmp_path / f"{seconds:g}.wav"
        sf.write(wav[seconds], make_speechlike(seconds, seed=1), SR)
    made = {}
    for seconds, fmt, codec in ((12.0, "webm", "libopus"), (3.0, "webm", "libopus"), (12.0, "flac", "flac")):
        made[(seconds, fmt)] = out = tmp_path / f"piped_{seconds:g}.{fmt}"
        with open(out, "wb") as fh:
            cmd = [
                ffmpeg,
                "-nostdin",
                "-loglevel",
                "error",
                "-i",
                str(wav[seconds]),
                "-c:a",
                codec,
                "-f",
                fmt,
            ]
            subprocess.run([*cmd, "pipe:"], stdout=fh, check=True)
    args = [str(p) for p in made.values()]
    assert main(["predict", *args, "--model", str(model_dir), "--json", "-"]) == 0
    rows = {Path(r["file"]).name: r for r in json.loads(capsys.readouterr().out)}
    for name in ("piped_12.webm", "piped_12.flac"):
        assert len(rows[name]["timeline"]) >= 4, rows[name]
        assert 11.5 < rows[name]["duration"] < 12.5 and "warning" not in rows[name], rows[name]
    assert "timeline" not in rows["piped_3.webm"] and "warning" not in rows["piped_3.webm"]
    assert 2.9 < rows["piped_3.webm"]["duration"] < 3.1


@pytest.mark.parametrize("command", ["corpus", "bench"])
def test_help_shows_no_restructuredtext_quotes(command, capsys):
    """`corpus --help` and `bench --help` took their description from a docstring and showed its
    ``double backquotes`` (a README probe)."""
    try:
        assert main([command, "--help"]) == 0
    except SystemExit as done:
        assert done.code == 0
    text = capsys.readouterr().out
    assert f"ser-hf {command}" in text and "``" not in text


def test_an_unknown_option_close_to_one_names_it(capsys):
    """`predict --top_k 3` said only "unrecognized arguments: --top_k" (train takes both spellings)."""
    for typed, meant in (("--top_k", "--top-k"), ("--modle", "--model")):
        try:
            code = main(["predict", typed, "3", "a.wav"])
        except SystemExit as done:
            code = done.code
        assert code == 2
        assert f"did you mean {meant} for {typed}?" in capsys.readouterr().err
