"""A recording given as a pipe: a FIFO's path (``mkfifo``, bash's ``<(...)`` as ``/dev/fd/63``,
``/dev/stdin`` fed by ``|``) to the library and to ``ser-hf predict``, and ``predict -`` (stdin)."""

from __future__ import annotations

import io
import json
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import make_speechlike

from ser_hf.cli import main
from ser_hf.errors import SERError

SR = 16000

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")


def _flac(seconds: float, seed: int) -> bytes:
    out = io.BytesIO()
    sf.write(out, make_speechlike(seconds, seed=seed), SR, format="FLAC")
    return out.getvalue()


@pytest.fixture
def fifo(tmp_path):
    """``fifo(name, data)``: the path of a named pipe whose writer (a thread) sends ``data`` once; a
    writer nobody read is let go at the end (the old code never opened the pipe)."""
    made: list[tuple[Path, threading.Thread]] = []

    def make(name: str, data: bytes) -> str:
        path = tmp_path / name
        os.mkfifo(path)

        def write() -> None:
            try:
                with open(path, "wb") as f:
                    f.write(data)
            except OSError:  # the reader closed it early
                pass

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        made.append((path, writer))
        return str(path)

    yield make
    for path, writer in made:
        if writer.is_alive():
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))  # lets the writer's open() return
        writer.join(5)


def _stdin(monkeypatch, data: bytes, tty: bool = False) -> None:
    class Stdin(io.TextIOWrapper):
        def isatty(self) -> bool:
            return tty

    monkeypatch.setattr(sys, "stdin", Stdin(io.BytesIO(data)))


def test_the_library_reads_a_pipes_path_once_as_its_audio(fifo, tmp_path):
    """``load_audio('/dev/fd/3')`` (``classify``'s reading) and ``timeline``'s chunks said "the file is
    empty (0 bytes); re-record or re-export it": a pipe's size is 0. Its bytes are read once now, and
    decode as the file's; audio_info, which would take its header from the audio, says why it cannot."""
    from ser_hf.data.audio import audio_info, load_audio
    from ser_hf.data.chunks import iter_audio_chunks

    data = _flac(1.5, seed=1)
    (tmp_path / "a.flac").write_bytes(data)
    whole = load_audio(tmp_path / "a.flac")
    np.testing.assert_array_equal(load_audio(fifo("p1", data)), whole)
    np.testing.assert_array_equal(np.concatenate(list(iter_audio_chunks(fifo("p2", data), 0.5))), whole)
    with pytest.raises(SERError, match="p3: is a pipe .*read it once"):
        audio_info(fifo("p3", data))
    with pytest.raises(SERError, match="p4: the pipe gave no bytes"):
        load_audio(fifo("p4", b""))


@pytest.mark.parametrize("adapt", [False, True])
def test_predict_reads_a_fifo_among_files_and_dash_as_stdin(model_dir, fifo, tmp_path, monkeypatch, adapt):
    """`cat a.flac | ser-hf predict /dev/stdin` and `ser-hf predict <(cat a.flac)` were "the file is empty
    (0 bytes)", `ser-hf predict -` "file not found". A pipe among files is read once (with --adapt, whose
    two passes read each file twice, too) and gets the file's result, `-` is stdin, its row <stdin>."""
    data = _flac(1.5, seed=1)
    (tmp_path / "a.flac").write_bytes(data)
    _stdin(monkeypatch, data)
    out = tmp_path / "r.json"
    inputs = [str(tmp_path / "a.flac"), fifo("pipe", data), "-"]
    extra = ["--adapt"] if adapt else []
    assert main(["predict", *inputs, "--model", str(model_dir), "--json", str(out), *extra]) == 0
    rows = json.loads(out.read_text())
    assert [r["file"] for r in rows] == [inputs[0], inputs[1], "<stdin>"]
    assert all("error" not in r for r in rows)
    assert len({(r["label"], round(r["score"], 5)) for r in rows}) == 1  # the same recording thrice


def test_predict_resume_classifies_a_pipe_again(model_dir, fifo, tmp_path, monkeypatch, capsys):
    """A pipe's name says nothing of what it gives: --resume classifies `-` again, its new row replacing
    the earlier one, and says so; a file with a row is still skipped."""
    (tmp_path / "a.flac").write_bytes(_flac(1.5, seed=1))
    out = tmp_path / "r.csv"
    args = [str(tmp_path / "a.flac"), "-", "--model", str(model_dir), "--csv", str(out)]
    _stdin(monkeypatch, _flac(1.5, seed=2))
    assert main(["predict", *args]) == 0
    _stdin(monkeypatch, _flac(2.5, seed=3))
    capsys.readouterr()
    assert main(["predict", *args, "--resume"]) == 0
    printed = capsys.readouterr().out
    assert "--resume: 1 of 2 file(s) already classified" in printed
    assert "<stdin> is a pipe, classified again, not resumed" in printed
    rows = [line.split(",") for line in out.read_text().splitlines()[1:]]
    assert [r[0] for r in rows] == [str(tmp_path / "a.flac"), "<stdin>"] and float(rows[1][2]) == 2.5


def test_predict_dash_refuses_a_terminal_and_stdin_taken_by_the_list(monkeypatch, capsys):
    """`-` on a terminal would wait for the keyboard; with `--files-from -` stdin cannot be both."""
    _stdin(monkeypatch, b"", tty=True)
    assert main(["predict", "-"]) == 2
    assert "error: -: stdin is a terminal; pipe or redirect a recording in" in capsys.readouterr().err
    _stdin(monkeypatch, b"")
    with pytest.raises(SystemExit) as usage:  # a usage error, as argparse's: exit 2
        main(["predict", "-", "--files-from", "-"])
    assert usage.value.code == 2 and "stdin cannot hold both" in capsys.readouterr().err
    assert main(["predict", "--help"]) == 0
    assert "cat clip.flac | ser-hf predict -" in " ".join(capsys.readouterr().out.split())


def _lengthless(data: bytes) -> bytes:
    """The FLAC ``data`` with its STREAMINFO's total samples 0 ("unknown"), as a FLAC written to a pipe."""
    out = bytearray(data)
    out[8 + 13] &= 0xF0  # the 36-bit count starts in the low half of STREAMINFO's 14th byte
    out[8 + 14 : 8 + 18] = bytes(4)
    assert sf.info(io.BytesIO(bytes(out))).frames > 2**62  # the header does not tell
    return bytes(out)


def test_classify_holds_a_pipe_s_path_to_the_limit_as_it_holds_a_file_object(model_dir, fifo, monkeypatch):
    """classify(fifo_path) (a FIFO, /dev/stdin, <(...)) was decoded whole however long, where the same
    stream as a file object got the one-hour limit from its header, or, when the header does not tell,
    decoding stopped a minute past it. A pipe's path is now read once and held to the limit as a file
    object is: the same AudioTooLongError, without decoding the rest; a short one is classified as before."""
    from conftest import Pipe

    from ser_hf import EmotionClassifier
    from ser_hf.data import audio as audio_mod
    from ser_hf.errors import AudioTooLongError
    from ser_hf.inference import inputs

    clf = EmotionClassifier(model_dir, device="cpu")
    monkeypatch.setattr(inputs, "CLASSIFY_MAX_S", 3.0)
    short = _flac(1.5, seed=1)
    for i, data in enumerate((short, _lengthless(short))):
        assert clf.classify(fifo(f"short{i}", data)) == clf.classify(short)
    pulled: list[int] = []
    chunks = inputs.iter_audio_chunks

    def counted(*args, **kwargs):
        for chunk in chunks(*args, **kwargs):
            pulled.append(len(chunk))
            yield chunk

    def never(*args, **kwargs):
        raise AssertionError("decoded whole before the limit was checked")

    monkeypatch.setattr(inputs, "iter_audio_chunks", counted)
    monkeypatch.setattr(audio_mod, "_decode_any", never)
    long = _flac(20.0, seed=4)
    for i, (data, what) in enumerate(
        ((long, "lasts 0.3 minutes (20 s)"), (_lengthless(long), "lasts more than 0.05 minutes"))
    ):
        pulled.clear()
        path = fifo(f"long{i}", data)
        with pytest.raises(AudioTooLongError) as piped:
            clf.classify(path)
        assert sum(pulled) <= 6 * SR, f"{sum(pulled) / SR:g} s of the 20 s decoded"
        with pytest.raises(AudioTooLongError) as opened:
            clf.classify(Pipe(data))
        assert str(piped.value).startswith(f"{path}: {what}")
        assert str(piped.value)[len(path) :] == str(opened.value)[len("<Pipe>") :]
        assert piped.value.source == path
