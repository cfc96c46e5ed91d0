"""A ``datasets`` audio column given to ``classify_batch`` / ``adapt`` whole (``ds["audio"]``, rows
decoded by ``datasets`` as the column is read) with a corrupt file among its rows; iterators that raise."""

from __future__ import annotations

import io
import logging
import re

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import make_speechlike
from test_inference import _save_tiny

from ser_hf.errors import AudioInputError, SERError
from ser_hf.inference.classifier import EmotionClassifier

datasets = pytest.importorskip("datasets")
SR = 16000
_UNREADABLE = "(?:not a readable audio|the WAV file's header is damaged)"  # a RIFF header over random bytes


@pytest.fixture(scope="module")
def clf(tmp_path_factory) -> EmotionClassifier:
    torch.manual_seed(0)
    folder = _save_tiny(tmp_path_factory.mktemp("tiny"), conv_channels=[4, 8], lstm_hidden_size=8)
    return EmotionClassifier(folder, device="cpu")


@pytest.fixture
def column_files(tmp_path) -> tuple[list[str], str]:
    """Four good WAV files and a corrupt one (a RIFF header over random bytes, as the probe's)."""
    good = []
    for i in range(4):
        good.append(str(tmp_path / f"good{i}.wav"))
        sf.write(good[-1], make_speechlike(0.8 + 0.2 * i, seed=i), SR)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + np.random.default_rng(0).bytes(200))
    return good, str(corrupt)


def _column(paths: list[str]):
    return datasets.Dataset.from_dict({"audio": paths}).cast_column("audio", datasets.Audio())


def test_classify_batch_of_a_datasets_column_gives_a_corrupt_rows_error_in_its_place(clf, column_files):
    """``classify_batch(ds["audio"], return_exceptions=True)`` failed whole with torchcodec's
    ``RuntimeError: ... Failed to open input buffer``, naming no row: datasets decoded the row inside
    the package's ``list(ds["audio"])``. The row's own AudioInputError, naming its file, now takes its
    place and the other rows get the scores they get alone, as for a list of paths."""
    good, corrupt = column_files
    ds = _column([good[0], corrupt, good[1], good[2]])
    out = clf.classify_batch(ds["audio"], return_exceptions=True, top_k=2)
    assert isinstance(out[1], AudioInputError) and "corrupt.wav" in str(out[1])
    assert out[1].source == f"row 1 of the 'audio' column (path {corrupt!r})"
    for i, path in ((0, good[0]), (2, good[1]), (3, good[2])):
        assert [d["label"] for d in out[i]] == [d["label"] for d in clf.classify(path, top_k=2)]
        assert [d["score"] for d in out[i]] == pytest.approx(
            [d["score"] for d in clf.classify(path, top_k=2)], abs=1e-4
        )
    with pytest.raises(
        AudioInputError, match=rf"row 1 of the 'audio' column \(path '.*corrupt.wav'\): {_UNREADABLE}"
    ):
        clf.classify_batch(ds["audio"])
    # a shuffled selection (an indices mapping), two bad rows, the last one bad, names= as a service's ids
    mixed = _column([corrupt, good[3], corrupt]).select([1, 0, 2])
    out = clf.classify_batch(mixed["audio"], names=["a", "b", "c"], return_exceptions=True)
    assert len(out[0]) == 4 and [e.source for e in out[1:]] == [f"{n} ({corrupt})" for n in "bc"]
    # a struct's field (ds["meta"]["audio"])
    nested = datasets.Dataset.from_dict({"meta": [{"audio": p} for p in (corrupt, good[0])]})
    nested = nested.cast_column("meta", {"audio": datasets.Audio()})
    out = clf.classify_batch(nested["meta"]["audio"], return_exceptions=True)
    assert out[0].source == f"row 0 of the 'audio' column (path {corrupt!r})" and len(out[1]) == 4


def test_adapt_on_a_datasets_column_leaves_a_corrupt_row_out(clf, column_files, caplog):
    """``adapt(ds["audio"])`` raised torchcodec's RuntimeError for one corrupt row; it now leaves the
    row out and names it, as it does an unreadable path."""
    good, corrupt = column_files
    ds = _column([*good, corrupt, *good, *good])
    with caplog.at_level(logging.WARNING, logger="ser_hf.inference"):
        clf.adapt(ds["audio"])
    try:
        assert clf.adapted_on == 12
        assert (
            "left out 1 unreadable clip(s): row 4 of the 'audio' column (path " in caplog.text
            and re.search(rf"corrupt.wav'\): {_UNREADABLE}", caplog.text)
        )
    finally:
        clf.reset_adaptation()


def test_an_iterator_that_raises_is_a_typed_error_naming_the_item(clf, column_files):
    """An iterator's own error (a streaming dataset decoding a corrupt row of a struct's field, a
    caller's generator) cannot be skipped, since the iterator is over: it was raised bare from inside
    the package. It is now an SERError naming the item that failed (chained to the iterator's error);
    for a streaming column an AudioInputError with the ``Audio(decode=False)`` route."""
    good, corrupt = column_files
    nested = datasets.Dataset.from_dict({"meta": [{"audio": p} for p in (good[0], corrupt, good[1])]})
    streaming = nested.cast_column("meta", {"audio": datasets.Audio()}).to_iterable_dataset()["meta"]["audio"]
    with pytest.raises(AudioInputError, match=r"decode=False") as err:
        clf.classify_batch(streaming, return_exceptions=True)
    assert err.value.source == "classify_batch: row 1" and isinstance(err.value.__cause__, RuntimeError)

    def clips():
        yield good[0]
        raise OSError(f"cannot open {good[1]}")

    for call in (clf.classify_batch, clf.adapt):
        with pytest.raises(SERError, match=r"its iterator raised OSError: cannot open .*good1\.wav") as err:
            call(clips())
        assert err.value.source.endswith(": item 1") and isinstance(err.value.__cause__, OSError)
    assert clf.adapted_on == 0
    # the undecoded route: each bad row its own error, named by its row
    undecoded = _column([good[0], corrupt]).cast_column("audio", datasets.Audio(decode=False))
    out = clf.classify_batch(undecoded["audio"], return_exceptions=True)
    assert len(out[0]) == 4 and out[1].source == f"row 1 of the 'audio' column (path {corrupt!r})"


def _encoded(seconds: float, seed: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, make_speechlike(seconds, seed=seed), SR, format="WAV")
    return buf.getvalue()


_BAD = b"RIFF\x24\x00\x00\x00WAVEfmt " + np.random.default_rng(0).bytes(200)


@pytest.fixture
def shared_names() -> list[dict]:
    """Rows of encoded bytes (as a Hub or parquet dataset holds them) that share one path name, or
    have none; rows 1 and 3 corrupt."""
    return [
        {"bytes": _encoded(1.0, 0), "path": "x.wav"},
        {"bytes": _BAD, "path": "x.wav"},
        {"bytes": _encoded(1.0, 1), "path": "x.wav"},
        {"bytes": _BAD, "path": None},
        {"bytes": _encoded(1.0, 2), "path": None},
    ]


def _rows_dataset(rows: list[dict], **audio):
    data = {"audio": rows, "label": list(range(len(rows)))}
    return datasets.Dataset.from_dict(data).cast_column("audio", datasets.Audio(**audio))


def test_a_corrupt_rows_error_names_its_row_number(clf, shared_names, caplog):
    """Rows whose path is shared (``x.wav`` for every row) or None: a corrupt row's error said
    ``x.wav: not a readable ...`` (or ``<audio dict>`` undecoded), naming no row the user could find.
    It now starts with the row's number and its path, in ``classify_batch``'s list, in its raised
    error and in ``adapt``'s report; the whole ``Dataset`` (its one Audio column) too, where it was
    refused as "one clip's samples of shape (5, 2)"."""
    ds = _rows_dataset(shared_names)
    first, fourth = "row 1 of the 'audio' column (path 'x.wav')", "row 3 of the 'audio' column"
    for given in (ds["audio"], ds.cast_column("audio", datasets.Audio(decode=False))["audio"], ds):
        out = clf.classify_batch(given, return_exceptions=True, warn=False)
        assert [e.source for e in (out[1], out[3])] == [first, fourth]
        assert re.match(rf"{re.escape(first)}: {_UNREADABLE}", str(out[1]))
        assert re.match(rf"{re.escape(fourth)}: {_UNREADABLE}", str(out[3]))
        assert all(len(out[i]) == 4 for i in (0, 2, 4))
    with pytest.raises(
        AudioInputError, match=rf"^row 1 of the 'audio' column \(path 'x\.wav'\): {_UNREADABLE}"
    ):
        clf.classify_batch(ds["audio"], warn=False)
    with caplog.at_level(logging.WARNING, logger="ser_hf.inference"):
        clf.adapt(ds)
    try:
        assert clf.adapted_on == 3
        assert re.search(rf"left out 2 unreadable clip\(s\): {re.escape(first)}: {_UNREADABLE}", caplog.text)
        assert re.search(rf"; {re.escape(fourth)}: {_UNREADABLE}", caplog.text)
    finally:
        clf.reset_adaptation()


def test_a_whole_dataset_without_one_audio_column_says_which_column_to_pass(clf, shared_names):
    plain = datasets.Dataset.from_dict({"file": ["a.wav", "b.wav"], "label": [0, 1]})
    with pytest.raises(SERError, match=r"no column cast to datasets.Audio .*'file'.*pass the column"):
        clf.classify_batch(plain)
    two = (
        _rows_dataset(shared_names[:2])
        .add_column("other", shared_names[:2])
        .cast_column("other", datasets.Audio())
    )
    with pytest.raises(SERError, match=r"2 Audio columns \('audio', 'other'\): .* e\.g\. ds\['audio'\]"):
        clf.adapt(two)


def test_a_streaming_column_is_read_past_a_corrupt_row(clf, shared_names, tmp_path, caplog):
    """A streaming dataset (``load_dataset("parquet", ..., streaming=True)``) decodes a row inside its
    own iterator, which is over once a corrupt row raised: ``classify_batch`` raised an error saying to
    cast the column with ``Audio(decode=False)``, and nothing was scored. The column is now read
    undecoded and each row decoded by the column's own Audio feature (its ``sampling_rate``: the same
    scores as the in-memory dataset's at 8 kHz), a corrupt row its own error named by its number, and
    ``adapt`` leaves it out."""
    _rows_dataset(shared_names).to_parquet(str(tmp_path / "rows.parquet"))
    stream = datasets.load_dataset(
        "parquet", data_files=str(tmp_path / "rows.parquet"), split="train", streaming=True
    )
    stream = stream.cast_column("audio", datasets.Audio(sampling_rate=8000))
    in_memory = clf.classify_batch(
        _rows_dataset(shared_names, sampling_rate=8000)["audio"], return_exceptions=True
    )
    at_16k = clf.classify_batch(_rows_dataset(shared_names)["audio"], return_exceptions=True)
    for given in (stream["audio"], stream, stream.with_format("torch")["audio"]):
        out = clf.classify_batch(given, return_exceptions=True, warn=False)
        assert [e.source for e in (out[1], out[3])] == [
            "row 1 of the 'audio' column (path 'x.wav')",
            "row 3 of the 'audio' column",
        ]
        for i in (0, 2, 4):
            assert [d["score"] for d in out[i]] == pytest.approx([d["score"] for d in in_memory[i]], abs=1e-6)
    assert [d["score"] for d in out[0]] != pytest.approx([d["score"] for d in at_16k[0]], abs=1e-6)
    with pytest.raises(
        AudioInputError, match=rf"^row 1 of the 'audio' column \(path 'x\.wav'\): {_UNREADABLE}"
    ):
        clf.classify_batch(stream["audio"], warn=False)
    with caplog.at_level(logging.WARNING, logger="ser_hf.inference"):
        clf.adapt(stream["audio"])
    try:
        assert (
            clf.adapted_on == 3
            and "left out 2 unreadable clip(s): row 1 of the 'audio' column" in caplog.text
        )
    finally:
        clf.reset_adaptation()
