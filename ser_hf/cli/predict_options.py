"""The options of ``ser-hf predict`` that change a file's row, recorded beside the --csv/--json FILE
so that ``--resume`` can compare them with its own.

``--resume`` with another ``--model`` (``--top-k``, ``--channel``, ...) gave a FILE of two kinds of rows
without a word. The record is a small JSON file beside FILE, ``FILE.options.json``, not a line in it:
FILE stays the plain CSV or JSON array a spreadsheet, ``csv`` or ``jq`` reads (a comment line is no
CSV, and an object around the array would break every reader of the array). A FILE without a record
(written by a version before it, or copied without it) still resumes, with a warning.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from ..errors import SERError
from ..inference.bundled import BUNDLED_ALIASES, bundled_name

RECORD_SUFFIX = ".options.json"
WRITTEN_BY = "ser-hf predict"  # the record's "written_by" starts so: another file of that name is left alone
# the options whose None is the word "none" a user types (for the others, None is: not given)
NONE_TYPED = ("--silence-rel-db", "--min-speech")


def record_path(path: str) -> Path:
    """The record of FILE ``path``: ``FILE.options.json`` beside it (beside the file a symbolic link
    names, which is the file replaced: resuming through the link or its file finds the same record)."""
    return Path(f"{os.path.realpath(path) if os.path.islink(path) else path}{RECORD_SUFFIX}")


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """This run's options that change the rows, known before the models load (``--window`` and
    ``--hop`` default to the model's: :meth:`~.predict_resume.PredictFile.check_window` adds them)."""
    labels = (
        sorted({name.strip() for name in args.labels.split(",") if name.strip()}) if args.labels else None
    )
    return {
        "--model": _model(args.model),
        "--onnx": _path(args.onnx) if args.onnx else None,
        "--labels": labels or None,
        "--top-k": args.top_k,
        "--silence-db": args.silence_db,
        "--silence-rel-db": args.silence_rel_db,
        "--min-speech": args.min_speech,
        "--channel": args.channel,
        "--track": args.track,
        "--adapt": args.adapt,
    }


def read_record(path: str) -> tuple[dict[str, Any] | None, str]:
    """The options recorded beside FILE ``path``, or None and why not (no record, or one unreadable)."""
    record = record_path(path)
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"there is no {record} (FILE written by an earlier version, or copied without it)"
    except (OSError, ValueError) as err:  # UnicodeDecodeError and json's errors are ValueErrors
        return None, f"{record} could not be read ({getattr(err, 'strerror', None) or err})"
    if not ours(data):
        return None, f"{record} is not a record of ser-hf predict's options"
    return data["options"], ""


def ours(data: Any) -> bool:
    """Whether ``data`` (a record file's JSON) is a record that ``ser-hf predict`` wrote."""
    return (
        isinstance(data, dict)
        and str(data.get("written_by", "")).startswith(WRITTEN_BY)
        and isinstance(data.get("options"), dict)
    )


def record_text(options: dict[str, Any]) -> str:
    """The record of ``options``, as written beside FILE."""
    from .. import __version__

    return json.dumps({"written_by": f"{WRITTEN_BY} {__version__}", "options": options}, indent=2) + "\n"


def refuse_other_options(recorded: dict[str, Any], options: dict[str, Any], path: str, source: str) -> None:
    """Raise a usage error naming each of ``options`` whose recorded value differs, both values, and
    the fix. Options the record lacks (a record of an older version) are not compared.

    Raises:
        SERError: an option differs.
    """
    differ = _differ(recorded, options)
    if not differ:
        return
    each = "; ".join(f"{k} was {_shown(k, recorded[k])}, now {_shown(k, options[k])}" for k in differ)
    earlier = ", ".join(_typed(k, recorded[k]) for k in differ)
    raise SERError(
        f"{path} holds the rows of a run with other options ({each}), so --resume would mix two kinds of "
        f"rows in it; resume with that run's options ({earlier}; recorded in {record_path(path)}), or "
        "write this run's results to another FILE",
        source=source,
    )


def same_options(recorded: dict[str, Any], options: dict[str, Any]) -> bool:
    """Whether a record holds ``options`` (each as the run uses it: see ``_same``), so is kept as it is."""
    return recorded.keys() == options.keys() and not _differ(recorded, options)


def _differ(recorded: dict[str, Any], options: dict[str, Any]) -> list[str]:
    return [k for k in options if k in recorded and _same(k, recorded[k]) != _same(k, options[k])]


def _same(option: str, value: Any) -> Any:
    """``value`` as it reads back from the record (4 and 4.0 alike, a tuple a list), as the run uses
    it: a bundled model's folder named by its path is that model (a record of a version that kept
    the path too), and --labels as the classes match them (``EmotionClassifier.restrict``: in any
    case, a corpus's spelling as its class, ``Angry`` and ``anger`` as ``angry``)."""
    value = json.loads(json.dumps(value))
    if option == "--model" and isinstance(value, str) and value.startswith("/"):
        return _bundled_folder(value) or value
    if option == "--labels" and isinstance(value, list):
        from ..data.labels import normalize_emotion

        return sorted({str(normalize_emotion(name) or name).strip().lower() for name in value})
    return value


def _shown(option: str, value: Any) -> str:
    if value is None:
        return "none" if option in NONE_TYPED else "not given"
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _typed(option: str, value: Any) -> str:
    """``value`` as the option a user types (``--top-k 3``; ``without --channel``)."""
    if value is None and option not in NONE_TYPED:
        return f"without {option}"
    if option == "--adapt" and value == "all":
        return option
    return f"{option} {_shown(option, value)}"


def _path(path: str) -> str:
    return os.path.realpath(Path(path).expanduser())


def _model(model: str | None) -> str:
    """The model ``--model`` names, as one value whatever its spelling: a bundled model's name (not
    ``default``, whose model a later version may change), a folder's real path, or a Hub id."""
    if model is None:
        return _bundled_name("default")
    if Path(model).expanduser().exists() or model.startswith(("/", "./", "../", "~")):
        # a folder here wins over a bundled name, as the classifier loads it; a bundled model's own is its name
        return _bundled_folder(_path(model)) or _path(model)
    name = bundled_name(model)
    return _bundled_name(name) if name else model


def _bundled_folder(path: str) -> str | None:
    """The name of the bundled model whose folder ``path`` (a real path) is, or None."""
    name = next((k for k, f in BUNDLED_ALIASES.items() if os.path.realpath(f) == path), None)
    return _bundled_name(name) if name else None


def _bundled_name(name: str) -> str:
    folder = BUNDLED_ALIASES[name]
    return next((k for k, f in BUNDLED_ALIASES.items() if f == folder and k != "default"), name)
