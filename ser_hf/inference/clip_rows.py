"""The clips given to ``classify_batch`` and ``adapt``, read one at a time so that one bad row of a
``datasets`` column does not end the reading.

``datasets`` (4 and later) decodes an ``Audio`` column's row as the column is iterated: ``ds["audio"]``
yields torchcodec ``AudioDecoder`` s, and a corrupt file raised torchcodec's ``RuntimeError`` (``Failed
to open input buffer``) from inside ``list(ds["audio"])``, naming no row, before the package saw the
clip; ``return_exceptions=True`` and ``adapt``'s leaving out of unreadable clips never came into play.
A row that ``datasets`` fails to decode is now handed on as it is stored (its ``{"bytes", "path"}``,
what a column cast with ``Audio(decode=False)`` gives), for :func:`~ser_hf.data.audio.load_audio` to
read or refuse with its own error naming the file; the reading goes on from the next row. Any other
iterator that raises is over: its error is an :class:`SERError` naming the position."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import AudioInputError, SERError

logger = logging.getLogger(__name__)

_DECODE_FALSE = "ds.cast_column({name!r}, datasets.Audio(decode=False))"


def readable_items(items: Iterable[Any], what: str) -> Iterable[Any]:
    """``items`` one at a time: a list or tuple as it is; a ``datasets`` column row by row, a row it
    cannot decode as stored (:func:`_stored_row`); any other iterable whose iterator raises ends with
    an :class:`SERError` (an :class:`AudioInputError` for a streaming ``datasets`` column) whose
    ``source`` says which item (counted from 0) failed, chained to the iterator's own error; an
    SERError it raises, as it is. ``what``: the call, as errors name it."""
    if isinstance(items, (list, tuple)):
        return items
    if _is_column(items, "Column"):
        return _column_rows(items, what)
    return _iterator_items(items, what)


def _is_column(items: Any, kind: str) -> bool:
    """``items`` is a ``datasets`` column of that ``kind`` (``Column``: a ``Dataset``'s, indexable;
    ``IterableColumn``: a streaming one's); told without importing ``datasets``."""
    cls = type(items)
    return cls.__module__.split(".")[0] == "datasets" and cls.__name__ == kind


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
    ``{"bytes", "path"}`` (a row without a path named by its position); an :class:`AudioInputError`
    naming the row when the stored row cannot be read apart."""
    name, fields, root = column.column_name, [], column
    while _is_column(root, "Column"):  # a struct's field: ds["meta"]["audio"], read from ds's "meta"
        fields.insert(0, root.column_name)
        root = root.source
    try:
        stored = root.with_format("arrow")[position][fields[0]][0].as_py()
        for field in fields[1:]:
            stored = stored[field]
    except Exception:  # not a dataset's (a subclass, another version's layout): nothing to read apart
        stored = None
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
    return {
        "bytes": stored.get("bytes"),
        "path": stored.get("path") or f"row {position} of the {name!r} column",
    }


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
    if _is_column(items, "IterableColumn"):  # a streaming dataset decoding a corrupt file
        name = getattr(items, "column_name", "audio")
        return AudioInputError(
            f"{over} (datasets decodes the row while iterating): cast the column with "
            f"{_DECODE_FALSE.format(name=name)} so each clip is read by ser_hf and a bad file is its own error",
            source=f"{what}: row {position}",
        )
    return SERError(
        f"{over}: catch the error in the generator (or leave the item out), or pass a list of paths",
        source=f"{what}: item {position}",
    )
