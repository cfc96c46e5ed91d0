"""``ser-hf predict``: classify files, folders and globs; long audio gets a timeline."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..inference.classifier import EmotionClassifier

from ..data.audio import MEDIA_EXTENSIONS, channel_index, too_short, url_scheme
from ..data.tracks import track_index
from ..errors import SERError, output_dir, output_file, require_extra
from ..inference.levels import (
    SILENCE_LABEL,
    TIMELINE_MIN_WINDOWS,
    level_db,
    wants_timeline,
    warn_about_noise,
)
from . import predict_segments as seg
from .file_lists import listed_names
from .predict_adapt import _adaptation_clips, _local, _voice_groups
from .predict_args import build_predict_parser
from .predict_levels import _why_not, quiet_reader, warn_min_speech_over_half, warn_quiet_windows
from .predict_output import _CutShort, _fmt_top, _print_table, _shown, _write_csv, add_warning
from .predict_resume import open_predict_file

logger = logging.getLogger(__name__)
STDIN = "<stdin>"  # the PATH `-`: its rows and messages name it so


def cli(argv: list[str]) -> int:
    """``ser-hf predict``: print a table (and timelines), optionally write CSV/JSON and PNG plots.

    Returns 0 when every file was classified, 1 when any failed (each failure is one error line
    naming the file; the other files are still classified).
    """
    parser = build_predict_parser()
    args = parser.parse_args(argv)
    args.paths = [*getattr(args, "adapt_paths", []), *args.paths]
    if args.null and args.files_from is None:
        parser.error("--null says how --files-from's names end: give --files-from FILE too")
    if args.files_from is not None:
        args.paths += _listed_paths(args.files_from, args.null)
        if not args.paths:
            raise SERError("the list names no file", source=f"--files-from {args.files_from}")
    _check_stdin(args, parser)
    if not args.paths:  # `--json clip.flac` alone: the clip became the FILE, say so, not "PATH required"
        _no_recording_as_output(args, [])
        parser.error("the following arguments are required: PATH")
    spelled = (args.channel, args.track)  # as typed: the output files' names say them (predict_segments)
    try:
        args.channel = channel_index(args.channel)  # a typo is said before the models load
    except SERError as err:
        parser.error(f"--channel: {err}")
    try:
        args.track = track_index(args.track)
    except SERError as err:
        parser.error(f"--track: {err}")
    args.output_tag = seg.output_tag(*spelled, args.channel, args.track)
    if any(v is not None and not 0 < v < float("inf") for v in (args.window, args.hop)):  # NaN too
        raise SERError("--window and --hop take a positive number of seconds", source="--window/--hop")
    seg.check_window_hop(args.window, args.hop)
    seg.check_segment_options(args, parser)
    _no_recording_as_output(args, [p for p in args.paths if p != "-"])  # the files named; a folder's: later
    if sys.stdout is None and "-" in (args.json, args.csv):  # started with fd 1 closed (`>&-`)
        option = "--json" if args.json == "-" else "--csv"
        raise SERError(
            f"stdout is closed, so {option} - has nowhere to go; give {option} FILE", source=option
        )
    for option in ("json", "csv"):
        if getattr(args, option) not in (None, "-"):
            output_file(getattr(args, option), f"--{option}")  # before the work, not after it
    result_file = open_predict_file(args, parser)  # --resume: the earlier rows, read before the models load
    if args.timeline_png:
        require_extra("demo", "ser-hf predict --timeline-png", ("matplotlib",))
        output_dir(args.timeline_png, "--timeline-png")
    if args.onnx:
        require_extra("onnx", "ser-hf predict --onnx", ("onnxruntime",))
    # the library (torch, transformers) loads after the arguments parse: --help answers at once
    from ..data.audio import audio_info, load_audio
    from ..data.media_files import find_media_names
    from ..data.source_kinds import is_stream_path
    from ..inference.inputs import SHORT_WINDOW_S, decoded_within, length_unknown
    from ..inference.onnx_classifier import load_classifier
    from ..inference.seen_files import warn_if_training_files
    from ..inference.timeline import plot_timeline

    if args.top_k < 1 or (args.batch_size is not None and args.batch_size < 1):
        raise SERError("--top-k and --batch-size must be at least 1", source="ser-hf predict")
    clf = load_classifier(args.model, args.onnx, args.device, args.trust_remote_code)
    if args.labels:
        clf.restrict([name.strip() for name in args.labels.split(",") if name.strip()])
    window_s = float(args.window if args.window is not None else clf.default_window_s())
    hop_s = float(args.hop if args.hop is not None else window_s / 2)
    result_file.check_window(window_s, hop_s)  # --resume: the earlier run's too, once the model says
    warn_min_speech_over_half(args.min_speech, window_s)
    # an address stays as given (as a Path it read "https:/host/x.wav"): load_audio fetches http(s)
    files: list[Path | str] = []
    unread: list[OSError] = []  # folders a scan could not read (each a warning; counted in the summary)
    for raw in args.paths:
        if raw == "-":  # standard input, read once (as a pipe given by its path)
            files.append(STDIN)
            continue
        files += [raw] if url_scheme(raw) else find_media_names([raw], unreadable=unread)  # names as typed
    if not files:
        unread_note = f" ({len(unread)} folder(s) could not be read: see the warning)" if unread else ""
        raise SERError(f"no audio or video files found{unread_note}", source=" ".join(args.paths[:5]))
    _no_recording_as_output(args, files)
    # with --json - / --csv - the results own stdout and the human-readable report goes to stderr
    report = sys.stderr if "-" in (args.json, args.csv) else sys.stdout
    streams = [f for f in dict.fromkeys(files) if f == STDIN or is_stream_path(f)]  # `-`, <(...), a FIFO
    result_file.start(files, report, again=streams)  # --resume: the files already classified are skipped
    if result_file.all_done:  # --resume of a finished run: said, FILE left as it is
        if unread:
            print(
                f"{len(unread)} folder(s) could not be read, their files left out (warning above)",
                file=sys.stderr,
            )
        return 0
    # the model's own training files score as if it were perfect (the default's training actors at UA
    # 0.98-1.00): one warning for the run, a count and a few names (the samples classified below are not
    # paths, so classify_batch cannot tell; a timeline's file is not named a second time)
    warn_if_training_files(clf, [f for f in files if f != STDIN], what="files")
    # (the files classified, the files adapted on first or None)
    groups: list[tuple[list[Path | str], list[Path | str] | None]] = [(files, files if args.adapt else None)]
    if args.adapt and args.onnx:
        raise SERError(
            "adapting changes the PyTorch model's statistics, which an ONNX file does not hold; drop --onnx",
            source="--adapt",
        )
    # --adapt reads every file twice (adapting, then classifying; three times to group voices): an
    # address is fetched once, into a folder removed when the files are classified; a pipe is copied
    # there once (it can be read once), then read as a file: its header, its chunks, --adapt's passes
    fetched = tempfile.TemporaryDirectory(prefix="ser-hf-predict-") if args.adapt or streams else None
    local = _fetch_addresses(files, Path(fetched.name)) if fetched and args.adapt else {}
    local.update(_copied_streams(streams, Path(fetched.name)) if fetched else {})
    as_given = _AsGiven(local)  # warnings about a fetched copy name its address
    for handler in logging.getLogger().handlers:
        handler.addFilter(as_given)
    cut_short = _CutShort()  # a truncated or noisy file's row says so (its WARNING named it in the log only)
    said_by = [logging.getLogger(n) for n in ("ser_hf.data", "ser_hf.inference")]  # + chunks.py; levels.py
    for source_logger in said_by:
        source_logger.addHandler(cut_short)
    results: list[dict[str, Any]] = []
    whole_note = seg.whole_clip_note(clf, window_s)  # a long file under 1.5 windows: what the model reads
    short: list[tuple[int, Path | str, np.ndarray]] = []  # classified in batches after the loop

    def classify_groups(groups: list[tuple[list[Path | str], list[Path | str] | None]]) -> None:
        if args.adapt == "voices":  # each voice group adapts on its own files, the rest on all of them
            grouped, rest = _voice_groups(
                files, clf.sampling_rate, args.silence_db, local, args.channel, args.track
            )
            groups = [(g, g) for g in grouped] + ([(rest, files)] if rest else [])
            print(
                f"grouped by voice: {len(grouped)} group(s) of 10 or more files; "
                f"{len(rest)} file(s) adapt on all {len(files)} together",
                file=report,
            )
        for group, adapt_on in groups:
            if adapt_on is not None:
                clf.adapt(
                    _adaptation_clips(
                        adapt_on,
                        clf.sampling_rate,
                        window_s,
                        hop_s,
                        args.silence_db,
                        local,
                        args.channel,
                        args.min_speech,
                        args.track,
                    ),  # fmt: skip
                    sampling_rate=clf.sampling_rate,
                    silence_db=args.silence_db,  # --silence-db for adapting as for classifying
                    min_speech_s=args.min_speech,  # and --min-speech, for a piece adapt cuts again
                )
                print(
                    f"adapted to {clf.adapted_on} unlabelled clip(s) or window(s) of {len(adapt_on)} file(s)",
                    file=report,
                )
            first = len(results)
            for path in group:
                if result_file.skip(path):
                    continue
                source: Path | str = path
                cut_short.forget()  # what the --adapt pass decoding this file said is not this row's
                try:
                    source = _local(local, path)  # a fetched address's copy
                    samples = None
                    try:
                        duration, file_rate, _ = audio_info(source, args.track)
                        if length_unknown(duration, file_rate):  # a browser's WebM, a piped FLAC
                            lasts = TIMELINE_MIN_WINDOWS * window_s
                            samples = decoded_within(
                                source, lasts, clf.sampling_rate, args.channel, args.track
                            )
                            duration = lasts if samples is None else len(samples) / clf.sampling_rate
                    except SERError:
                        # the header alone does not tell: decoding gives either the audio or the precise
                        # error (empty file, not audio, ...)
                        samples = load_audio(
                            source, clf.sampling_rate, channel=args.channel, track=args.track
                        )
                        duration = len(samples) / clf.sampling_rate
                    if wants_timeline(duration, window_s):
                        tl = clf.timeline(
                            source if samples is None else samples,
                            window_s,
                            hop_s,
                            silence_db=args.silence_db,
                            silence_rel_db=args.silence_rel_db,
                            min_speech_s=args.min_speech,
                            top_k=args.top_k,
                            batch_size=args.batch_size,
                            channel=args.channel if samples is None else None,  # samples: that channel
                            track=args.track if samples is None else None,  # of that track
                            sampling_rate=None if samples is None else clf.sampling_rate,  # a file: its own
                        )
                        tl.source = str(path)
                        warn_quiet_windows(
                            _shown(str(path)),
                            tl.windows,
                            args.silence_db,
                            args.silence_rel_db,
                            args.min_speech,
                            quiet_reader(
                                source if samples is None else samples,
                                clf.sampling_rate,
                                args.channel if samples is None else None,
                                args.track if samples is None else None,
                            ),
                        )
                        row = {
                            "file": _shown(str(path)),
                            "duration": tl.duration,
                            "label": tl.label,
                            "score": tl.score,
                            "top_k": tl.scores,
                            "snr_db": tl.snr_db,
                            "timeline": tl.windows,
                        }
                        if warning := cut_short.warning(max(duration, tl.duration), tl.duration):
                            row["warning"] = warning
                        seg.add_segments(row, tl, _file_name(path), results, args, result_file.timeline_png)
                        if args.timeline_png:
                            name = _file_name(path)  # the PNG an earlier row names is not replaced
                            png = result_file.timeline_png(
                                args.timeline_png, seg.output_stem(name, args), results
                            )
                            row["timeline_png"] = str(
                                plot_timeline(tl, png, title=seg.plot_title(name, args))
                            )
                        results.append(row)
                    else:
                        if samples is None:
                            samples = load_audio(
                                source, clf.sampling_rate, channel=args.channel, track=args.track
                            )
                        seconds = round(len(samples) / clf.sampling_rate, 3)
                        if reason := too_short(len(samples) / clf.sampling_rate):  # no emotion to score
                            results.append(
                                {**_error_row(path, SERError(reason, source=str(path))), "duration": seconds}
                            )
                        else:
                            results.append({"file": _shown(str(path)), "duration": seconds})
                            short.append((len(results) - 1, path, samples))
                            whole_note(_shown(str(path)), seconds)
                            if seconds < SHORT_WINDOW_S:  # 0.1 s scored 'sad 0.999' without a word
                                add_warning(
                                    results[-1],
                                    f"only {seconds:g} s: too little speech for a stable emotion score "
                                    "(the models learn from utterances of 1.5-5 s)",
                                )
                        if warning := cut_short.warning(duration, len(samples) / clf.sampling_rate):
                            results[-1]["warning"] = warning
                except KeyboardInterrupt:
                    raise
                except Exception as err:  # one bad file must not stop the others, nor print a traceback
                    if isinstance(err, SERError):  # named by the address, not the fetched copy
                        err = SERError(as_given.named(str(err)))
                    results.append(_error_row(path, err))
                if len(short) >= (args.batch_size or 16):  # decoded clips waiting, classified together
                    _classify_short(clf, short, results, args, cut_short)
                    short.clear()
                result_file.progress(results, first, clf.adapted_on if adapt_on is not None else None)
            _classify_short(clf, short, results, args, cut_short)
            short.clear()
            for row in results[first:] if adapt_on is not None else []:
                if "error" not in row:
                    row["adapted_on"] = clf.adapted_on

    stopped: KeyboardInterrupt | None = None
    try:
        classify_groups(groups)
    except KeyboardInterrupt as stop:  # Ctrl-C (or SIGTERM, from the CLI): write what finished, then stop
        stopped = stop
        results[:] = [r for r in results if "label" in r or "error" in r]  # drop clips queued, not classified
    finally:
        if fetched:
            fetched.cleanup()
        for handler in logging.getLogger().handlers:
            handler.removeFilter(as_given)
        for source_logger in said_by:
            source_logger.removeHandler(cut_short)
    results[:] = _in_input_order(results, files)  # voice groups classify out of order
    # the files first: a reader closing stdout (| head) must not cost the --csv/--json FILE
    # stopped before any file finished (an --adapt pass, a large --batch-size): an existing FILE is kept
    unwritten: OSError | None = (
        None  # a FILE that could not be written (full disk): the table still shows all
    )
    try:
        if result_file.path and (results or stopped is None):  # --resume: with the earlier rows
            result_file.write(result_file.merged(results))
    except OSError as err:
        unwritten = err
    _print_table(results, clf.labels, report)
    times = seg.window_times(window_s, hop_s)
    for row in results:
        if row.get("timeline"):
            print(
                f"\n{row['file']}: {row['label']} {row['score']:.2f} over {len(row['timeline'])} windows"
                + seg.classified_text(row)
                + seg.label_time_text(row),
                file=report,
            )
            for w in row["timeline"]:
                tag = f"  {_fmt_top(w['scores'])}" if not w["silent"] else _why_not(w)
                print(f"  {times(w)} s  {w['label']:<10}{tag}", file=report)
    if args.csv == "-":
        _write_csv(results, "-")
    if args.json == "-":
        sys.stdout.write(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    failures = sum("error" in row for row in results)
    ok = len(results) - failures
    summary = f"\n{ok} of {len(results)} file(s) classified" + (f", {failures} failed" if failures else "")
    print(summary, file=report)
    if unread:
        print(
            f"{len(unread)} folder(s) could not be read, their files left out (warning above)",
            file=sys.stderr,
        )
    if stopped is not None:
        kept = result_file.stopped_note(results)  # what FILE holds now
        todo = len(files) - result_file.kept
        print(f"interrupted after {len(results)} of {todo} file(s); {kept}", file=sys.stderr)
    if unwritten is not None:  # after the table and the summary: `ser-hf predict: error: cannot write ...`
        raise unwritten
    if stopped is not None:
        raise stopped
    return 1 if failures else 0


def _resolved(path: Path | str) -> Path:
    """``path`` resolved, or as given when it cannot be (a symbolic link loop raises RuntimeError)."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(path).absolute()


def _listed_paths(source: str, null: bool) -> list[str]:
    """The PATHs of a ``--files-from`` list (``-``: stdin), one a line or, with ``null``, NUL-ended
    (:func:`~.file_lists.listed_names`: a UTF-8 or UTF-16 byte-order mark is read as such)."""
    if source == "-" and sys.stdin is None:  # started with fd 0 closed (`<&-`)
        raise SERError(
            "stdin is closed; pipe the list in (find DIR -name '*.wav' | ser-hf predict -T -) or give "
            "--files-from FILE",
            source="--files-from -",
        )
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as err:
        raise SERError(
            f"cannot read the list of files ({err.strerror})", source=f"--files-from {source}"
        ) from err
    return listed_names(data, null, source=f"--files-from {source}")


def _check_stdin(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """A PATH ``-`` reads the audio from stdin: not also the list of ``--files-from -``, not a closed
    stdin nor a terminal (which would wait for the keyboard)."""
    if "-" not in args.paths:
        return
    if args.files_from == "-":
        parser.error(
            "stdin cannot hold both the --files-from list and the audio of PATH -: give the list as "
            "--files-from FILE, or the recording as its path"
        )
    if sys.stdin is None or sys.stdin.isatty():  # `<&-`, or an interactive shell
        raise SERError(
            f"stdin is {'closed' if sys.stdin is None else 'a terminal'}; pipe or redirect a recording in "
            "(cat clip.flac | ser-hf predict -, ser-hf predict - < clip.flac)",
            source="-",
        )


def _copied_streams(streams: Sequence[Path | str], folder: Path) -> dict[Path | str, Path | SERError]:
    """Each pipe of ``streams`` (:data:`STDIN`, or the path of a FIFO or device) copied once into
    ``folder``: read once, as a pipe can be, its copy read as often as a file is (its header, then its
    chunks; twice with --adapt). A pipe that gives nothing, a terminal: the error for its row."""
    import shutil

    from ..data.source_kinds import read_stream_path
    from ..errors import AudioInputError

    local: dict[Path | str, Path | SERError] = {}
    for path in streams:
        copy = folder / f"pipe-{len(local)}"
        try:
            with open(copy, "wb") as out:
                if path == STDIN:
                    shutil.copyfileobj(sys.stdin.buffer, out)
                else:
                    with open(path, "rb") as f:
                        if f.isatty():
                            read_stream_path(path)  # raises its error: a terminal, not audio
                        shutil.copyfileobj(f, out)
        except SERError as err:
            local[path] = err
            continue
        except OSError as err:
            local[path] = SERError(f"the pipe cannot be read ({err.strerror})", source=str(path))
            continue
        empty = copy.stat().st_size == 0
        local[path] = copy
        if empty:
            local[path] = AudioInputError(
                "the pipe gave no bytes (its writer sent nothing, or it was read already: a pipe is read once)",
                source=str(path),
            )
    return local


def _no_recording_as_output(args: argparse.Namespace, inputs: Sequence[Path | str]) -> None:
    """Refuse a --json / --csv FILE that is a recording (a media name, or one of ``inputs``):
    ``ls *.mp3 | xargs ser-hf predict --json`` took the first recording as --json's FILE and overwrote
    it with JSON."""
    resolved: set[Path] | None = None  # the inputs resolved once, for both options (a list of thousands)
    for option in ("--json", "--csv"):
        path = getattr(args, option[2:])
        if path in (None, "-"):
            continue
        target = _resolved(path)
        if resolved is None:
            resolved = {_resolved(f) for f in inputs if not url_scheme(f)}
        is_input = target in resolved
        if is_input or target.suffix.lower() in MEDIA_EXTENSIONS:
            raise SERError(
                f"{path} is {'one of the files to classify' if is_input else 'an audio or video file name'}: "
                f"{option} takes the FILE right after it and would overwrite it; write '{option} -' for "
                f"stdout, name a {option[2:]} file ({option} results.{option[2:]}), or put {option} after "
                "the files",
                source=option,
            )


def _in_input_order(results: list[dict[str, Any]], files: Sequence[Path | str]) -> list[dict[str, Any]]:
    """``results`` in the order of ``files``, a file given twice at both its places."""
    places: dict[str, list[int]] = {}
    for i, path in enumerate(files):
        places.setdefault(_shown(str(path)), []).append(i)
    keys = [(places.get(row["file"]) or [len(files)]).pop(0) for row in results]
    return [results[j] for j in sorted(range(len(results)), key=keys.__getitem__)]


def _fetch_addresses(files: Sequence[Path | str], folder: Path) -> dict[Path | str, Path | SERError]:
    """Each http(s) address of ``files`` downloaded once into ``folder``: address -> its local copy,
    or the error that fetching it gave (reported as that file's error, not fetched again)."""
    from ..data.audio import fetch_url, url_scheme

    local: dict[Path | str, Path | SERError] = {}
    for path in files:
        if url_scheme(path) in ("http", "https") and path not in local:
            try:
                data = fetch_url(str(path))
            except SERError as err:
                local[path] = err
                continue
            copy = folder / f"{len(local)}-{_file_name(path)[-100:]}"
            copy.write_bytes(data)
            local[path] = copy
    return local


class _AsGiven(logging.Filter):
    """Log records that name a fetched address's temporary copy name the address instead."""

    def __init__(self, local: Mapping[Path | str, Path | SERError]):
        super().__init__()
        self.names = {str(copy): str(path) for path, copy in local.items() if isinstance(copy, Path)}

    def named(self, text: str) -> str:
        """``text`` with each copy's path replaced by its address."""
        for copy, path in self.names.items():
            text = text.replace(copy, path)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.names:
            record.msg, record.args = self.named(record.getMessage()), None
        return True


def _file_name(path: Path | str) -> str:
    """The file name of a path or of an address's path (``x.wav`` of ``https://host/x.wav?sig=1``)."""
    from urllib.parse import urlsplit

    from ..data.audio import url_scheme

    if path == STDIN:
        return "stdin"
    return Path(urlsplit(str(path)).path if url_scheme(path) else path).name or "audio"


def _error_row(path: Path | str, err: BaseException) -> dict[str, str]:
    """A file that failed, as its row of the results (and one line on stderr, no traceback)."""
    message = _shown(str(err) if isinstance(err, SERError) else f"{path}: {type(err).__name__}: {err}")
    print(f"error: {message}", file=sys.stderr)
    logger.debug("failure on %s", path, exc_info=err)
    return {"file": _shown(str(path)), "error": message}


def _classify_short(
    clf: EmotionClassifier, short: list, results: list, args: argparse.Namespace, said: _CutShort
) -> None:
    """Classify the queued short clips in one batched pass; per-file fallback if the batch fails. Each clip's
    noise warnings (``said`` catches their words) are added to its row's ``warning``."""
    if not short:
        return
    silence = [{"label": SILENCE_LABEL, "score": 1.0}]
    if args.silence_db is not None:  # silent clips are reported as such, not given a made-up emotion
        for i, _, samples in short:
            if level_db(samples, clf.sampling_rate) < args.silence_db:
                results[i].update(label=SILENCE_LABEL, score=1.0, top_k=silence, snr_db=None)
        short = [item for item in short if "label" not in results[item[0]]]
    # the speech-to-noise estimate of each clip for its row, and classify's noise warnings (warn=False below)
    snrs = []
    said.take_notes()  # what a file that failed since left is not these clips'
    for i, path, samples in short:
        snrs.append(warn_about_noise(samples, _shown(str(path)), clf.sampling_rate))
        add_warning(results[i], said.take_notes())
    clips, names = [s for _, _, s in short], [str(p) for _, p, _ in short]
    try:  # no warnings from classify: its silence line said -55 dBFS whatever --silence-db said, and the
        # clips too short or too long for it are error rows or timelines here
        batch = clf.classify_batch(
            clips, args.batch_size, args.top_k, clf.sampling_rate, names=names, warn=False
        )
        for (i, _, _), top, snr in zip(short, batch, snrs):
            results[i].update(label=top[0]["label"], score=top[0]["score"], top_k=top, snr_db=snr)
    except Exception:
        # find the one that failed; the others still get classified
        for (i, path, samples), snr in zip(short, snrs):
            try:
                top = clf.classify(samples, clf.sampling_rate, top_k=args.top_k, warn=False)
                results[i].update(label=top[0]["label"], score=top[0]["score"], top_k=top, snr_db=snr)
            except Exception as err:
                results[i] = _error_row(path, err)
