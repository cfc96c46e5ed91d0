"""The clips given to ``classify_batch`` and ``adapt``, read one at a time so that one bad row of a
``datasets`` column does not end the reading, each row named by its number.

``datasets`` (4 and later) decodes an ``Audio`` column's row as the column is iterated: ``ds["audio"]``
yields torchcodec ``AudioDecoder`` s, and a corrupt file raised torchcodec's ``RuntimeError`` (``Failed
to open input buffer``) from inside ``list(ds["audio"])``, naming no row, before the package saw the
clip. A row that ``datasets`` fails to decode is handed on as it is stored (its ``{"bytes", "path"}``,
what a column cast with ``Audio(decode=False)`` gives), for :func:`~ser_hf.data.audio.load_audio` to
read or refuse with its own error; the reading goes on from the next row. A streaming dataset's column
(``IterableColumn``), whose iterator is over once it raises, is read with the column cast to
``Audio(decode=False)`` and each row decoded here by the column's own ``Audio`` feature (its
``sampling_rate`` and ``num_channels``, as ``datasets`` would), a row that fails handed on as stored.
Every row of a ``datasets`` column is named by its number (``row 17 of the 'audio' column (path
'x.wav')``: rows may share a path name, or have none). Any other iterator that raises is over: its
error is an :class:`SERError` naming the position."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import AudioInputError, SERError

logger = logging.getLogger(__name__)

_DECODE_FALSE = "ds.cast_column({name!r}, datasets.Audio(decode=False))"


def readable_items(items: Iterable[Any], what: str) -> Iterable[Any]:
    """The items of :func:`named_items`, without their names."""
    if isinstance(items, (list, tuple)):
        return items
    return (item for item, _ in named_items(items, what))


def named_items(items: Iterable[Any], what: str) -> Iterator[tuple[Any, str | None]]:
    """``items`` one at a time, each with the name of its row (:func:`row_name`) when it is a row of a
    ``datasets`` column, else None: a list or tuple as it is; a whole ``Dataset`` / ``IterableDataset``
    as its one ``Audio`` column; a ``datasets`` column row by row, a row it cannot decode as stored
    (:func:`_stored_row`); a streaming column undecoded, each row decoded here (:func:`_stream_rows`);
    any other iterable whose iterator raises ends with an :class:`SERError` (an
    :class:`AudioInputError` for a streaming ``datasets`` column) whose ``source`` says which item
    (counted from 0) failed, chained to the iterator's own error; an SERError it raises, as it is.
    ``what``: the call, as errors name it."""
    items = audio_column(items, what)
    if isinstance(items, (list, tuple)):
        return ((item, None) for item in items)
    if _is_column(items, "Column"):
        return _named_rows(_column_rows(items, what), items.column_name)
    if _is_column(items, "IterableColumn") and (rows := _stream_rows(items, what)) is not None:
        return _named_rows(rows, items.column_name)
    return ((item, None) for item in _iterator_items(items, what))


def _named_rows(rows: Iterable[Any], column: str) -> Iterator[tuple[Any, str]]:
    return ((row, row_name(row, position, column)) for position, row in enumerate(rows))


def row_name(row: Any, position: int, column: str) -> str:
    """How messages name row ``position`` of a ``datasets`` ``column``: its number, and the path
    ``datasets`` stored with it when there is one (a decoded row's, an undecoded row's, a path's)."""
    if isinstance(row, dict):
        path = row.get("path")
    elif isinstance(row, str):
        path = row
    else:  # datasets' AudioDecoder keeps what it decoded
        path = (getattr(row, "_hf_encoded", None) or {}).get("path")
    path = path if isinstance(path, str) and path else None
    return f"row {position} of the {column!r} column" + (f" (path {path!r})" if path else "")


def _is_column(items: Any, kind: str) -> bool:
    """``items`` is a ``datasets`` object of that ``kind`` (``Column``: a ``Dataset``'s, indexable;
    ``IterableColumn``: a streaming one's; ``Dataset``, ``IterableDataset``); told without importing
    ``datasets``."""
    cls = type(items)
    return cls.__module__.split(".")[0] == "datasets" and cls.__name__ == kind


def audio_column(items: Any, what: str) -> Any:
    """A whole ``Dataset`` / ``IterableDataset``: its one ``Audio`` column (``ds["audio"]``); one with
    none or several is an :class:`SERError` saying which to pass. Anything else as it is."""
    if not (_is_column(items, "Dataset") or _is_column(items, "IterableDataset")):
        return items
    features = getattr(items, "features", None) or {}
    audio = [name for name, feature in features.items() if type(feature).__name__ == "Audio"]
    if len(audio) == 1:
        return items[audio[0]]
    columns = list(features) or getattr(items, "column_names", None) or []
    if audio:
        why = f"{len(audio)} Audio columns ({', '.join(map(repr, audio))})"
    else:
        why = f"no column cast to datasets.Audio (its columns: {', '.join(map(repr, columns)) or 'unknown'})"
    example = audio[0] if audio else "audio"
    raise SERError(
        f"{what} was given a whole {type(items).__name__} with {why}: pass the column of its clips, "
        f"e.g. ds[{example!r}]"
        + ("" if audio else f" after ds = ds.cast_column({example!r}, datasets.Audio())"),
        source=f"{what}: {type(items).__name__}",
    )


def _column_rows(column: Any, what: str) -> Iterator[Any]:
    """The rows of a ``datasets`` ``Column`` as its own iterator gives them (15 ms a row for audio,
    where ``column[i]`` took 90 ms); after a row it fails to decode, that row as stored and a new
    iterator from the next row (the failed one is over)."""
    total, position = len(column), 0
    rows = iter(column)
    while position < total:
        try:
            row = next(rows)
        except StopIteration:
            return
        except SERError:
            raise
        except Exception as err:  # torchcodec's RuntimeError on a corrupt file, an OSError on a missing one
            yield _stored_row(column, position, err, what)
            position += 1
            rows = _rows_from(column, position)
            continue
        yield row
        position += 1


def _rows_from(column: Any, start: int) -> Iterator[Any]:
    """The rows of ``column`` from ``start`` on: a new ``Column`` over the rest of its dataset (a cheap
    ``select``), or, for a column of a column (a struct's field), by index."""
    total = len(column)
    select = getattr(column.source, "select", None)
    if select is None or start >= total:
        return map(column.__getitem__, range(start, total))
    return iter(type(column)(select(range(start, total)), column.column_name))


def _stored_row(column: Any, position: int, err: Exception, what: str) -> dict[str, Any]:
    """Row ``position`` of ``column`` (of a struct's field too) as ``datasets`` stores it, undecoded:
    ``{"bytes", "path"}``; an :class:`AudioInputError` naming the row when the stored row cannot be
    read apart."""
    fields, root = [], column
    while _is_column(root, "Column"):  # a struct's field: ds["meta"]["audio"], read from ds's "meta"
        fields.insert(0, root.column_name)
        root = root.source
    try:
        stored = root.with_format("arrow")[position][fields[0]][0].as_py()
        for field in fields[1:]:
            stored = stored[field]
    except Exception:  # not a dataset's (a subclass, another version's layout): nothing to read apart
        stored = None
    return _as_stored(stored, column.column_name, position, err, what)


def _as_stored(stored: Any, name: str, position: int, err: Exception, what: str) -> dict[str, Any]:
    """``stored``, the undecoded row ``position`` of the column ``name`` that ``datasets`` failed to
    decode (``err``), as ``{"bytes", "path"}`` for ser_hf to read; an :class:`AudioInputError` when
    it holds neither."""
    reason = _reason(err)
    if not isinstance(stored, dict) or (stored.get("bytes") is None and not stored.get("path")):
        raise AudioInputError(
            f"datasets could not decode row {position} of the {name!r} column ({reason}), and the row as "
            f"stored cannot be read apart from it: cast the column with {_DECODE_FALSE.format(name=name)} "
            "so each clip is read by ser_hf and a bad file is its own error",
            source=f"{what}: row {position}",
        ) from err
    logger.debug(
        "row %d of the %r column: datasets could not decode it (%s); read as stored", position, name, reason
    )
    return {"bytes": stored.get("bytes"), "path": stored.get("path")}


def _stream_rows(column: Any, what: str) -> Iterator[Any] | None:
    """The rows of a streaming dataset's top-level ``Audio`` column, read with decoding off (its
    iterator decoded each row and was over at the first corrupt one) and each decoded here by the
    column's own feature, as ``datasets`` decodes it (its ``sampling_rate``, ``num_channels``,
    ``stream_index``; a private repo's token), a row that fails handed on as stored (a numpy / torch
    format gives its rows as decoded anyway). None where the column is not that (a struct's field, a
    table format, no features known: after a ``map``): read as it is."""
    source, name = column.source, column.column_name
    feature = (getattr(source, "features", None) or {}).get(name)
    formatting = getattr(source, "_formatting", None)
    if (
        not _is_column(source, "IterableDataset")
        or type(feature).__name__ != "Audio"
        or not getattr(feature, "decode", False)
        or getattr(formatting, "is_table", False)  # pandas, arrow: rows of tables
    ):
        return None
    try:
        raw = source.select_columns([name]).with_format(None)
        raw = raw.cast_column(name, dataclasses.replace(feature, decode=False))
    except Exception as err:  # another version's API: read as it is
        logger.debug("streaming column %r not read undecoded (%s)", name, _reason(err))
        return None
    tokens = getattr(source, "_token_per_repo_id", None)
    return _decoded_stream(raw, feature, name, tokens, what)


def _decoded_stream(raw: Any, feature: Any, name: str, tokens: Any, what: str) -> Iterator[Any]:
    for position, example in enumerate(_iterator_items(raw, what)):
        stored = example[name]
        try:
            row = feature.decode_example(stored, token_per_repo_id=tokens)
        except Exception as err:  # torchcodec's RuntimeError on a corrupt file, an OSError on a missing one
            row = _as_stored(stored, name, position, err, what)
        yield row


def _reason(err: Exception) -> str:
    """``err`` in one line: its class and the first line of its message."""
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0] if text else '(no message)'}"


def _iterator_items(items: Iterable[Any], what: str) -> Iterator[Any]:
    """``items``'s items, an exception its iterator raises turned into an SERError naming the position."""
    iterator = iter(items)
    position = 0
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except SERError:
            raise
        except Exception as err:
            raise _iterator_error(items, position, err, what) from err
        yield item
        position += 1


def _iterator_error(items: Any, position: int, err: Exception, what: str) -> SERError:
    """The error of an iterator that raised at ``position``: which item, the iterator's own error, and
    that the items after it cannot be read (``return_exceptions=True`` cannot hold it in its place)."""
    reason = _reason(err)
    over = (
        f"the iterable given could not be read past this item (counted from 0): its iterator raised "
        f"{reason}; an iterator that raises is over, so the items after it cannot be read either"
    )
    if _is_column(items, "IterableDataset"):  # the stream read undecoded: it failed to read, not decode
        return SERError(
            f"{over}: the streaming dataset could not be read (check the connection or the data files)",
            source=f"{what}: row {position}",
        )
    if _is_column(items, "IterableColumn"):  # a streaming dataset decoding a corrupt file
        name = getattr(items, "column_name", "audio")
        return AudioInputError(
            f"{over} (datasets decodes the row while iterating): cast the column with "
            f"{_DECODE_FALSE.format(name=name)} (before any map) so each clip is read by ser_hf and a bad "
            "file is its own error",
            source=f"{what}: row {position}",
        )
    return SERError(
        f"{over}: catch the error in the generator (or leave the item out), or pass a list of paths",
        source=f"{what}: item {position}",
    )
