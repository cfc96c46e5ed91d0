"""``ser-hf predict``'s options: the parser alone (no torch), so ``--help`` answers at once."""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from ..data.audio import MIN_SPEECH_S
from ..inference.levels import TIMELINE_MIN_WINDOWS
from . import predict_segments as seg
from .parser import ArgumentParser
from .predict_levels import add_level_options


class _AdaptAction(argparse.Action):
    """``--adapt [all|voices]``; any other word after it is a PATH, so ``--adapt FILES...`` works."""

    def __call__(self, parser: Any, namespace: Any, value: Any, option_string: Any = None) -> None:
        if value in (None, "all", "voices"):
            setattr(namespace, self.dest, value or "all")
        else:
            setattr(namespace, self.dest, "all")
            namespace.adapt_paths = [*getattr(namespace, "adapt_paths", []), value]


def build_predict_parser() -> argparse.ArgumentParser:
    description = (
        "Classify the emotion of speech in audio or video files, folders (recursive) and globs. Recordings "
        "of 1.5 windows or more (6 s with the default 4-s window) get a per-window timeline. A silent clip "
        f"gets the label 'silence'; a clip under {MIN_SPEECH_S:g} s (too short to hold speech) gets an error "
        "row, as an unreadable file does (the 'error' field or column, no label). A file cut short (its header "
        "promises more audio than it holds) is classified on what it holds, its row's 'warning' saying so; "
        "so does the row of noisy speech, of a steady tone (mains hum) as loud as the speech and of a tone alone."
    )
    p = ArgumentParser(
        prog="ser-hf predict",
        description=textwrap.fill(description, 79),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""exit status:
  0    every file classified (silent clips included)
  1    one or more files failed: each has an error row, the others are classified
  2    a usage error (a bad option, no such model, an output FILE that would overwrite a
       recording) or nothing to classify
  74   a result could not be written (a full disk or stdout, a read-only folder): one line names
       the file; the table is printed all the same
  130  Ctrl-C, 143 SIGTERM: the files finished by then are in the table and in --csv/--json
       (none finished yet: an existing --csv/--json FILE is left as it was)
  141  the reader of stdout closed it early (| head)

--csv/--json FILE is written at the end, and saved during the run every minute or so (a temporary
file then replaces FILE whole, so a save cut short leaves the last one; a symbolic link's file is
replaced, the link kept): a run killed with SIGKILL (kill -9, out of memory, a lost machine) leaves
the rows of all but about its last minute. A device, FIFO or pipe such as /dev/stdout or
--csv >(gzip > x.gz) is written through once, at the end, as '> FILE' would. A re-run replaces an
earlier FILE (from its first save) unless it is given --resume:
  ser-hf predict --files-from list.txt --csv results.csv --resume
keeps FILE's rows with a label and classifies only the other files (those with an error row, or no
row: matched by the name as the row writes it, see below), then writes FILE with all of them in the
order of the inputs; rows of files not given this time stay, at its end. The options that change
the rows (--model, --onnx, --labels, --top-k, --window, --hop, --silence-db, --silence-rel-db,
--min-speech, --channel, --track, --adapt) are recorded beside FILE, in FILE.options.json: resumed
with others, FILE is refused (exit 2, naming each); a FILE without that record (an earlier version's)
resumes with a warning. A FILE that ser-hf predict did not write is refused (exit 2), never
replaced; a FILE that does not exist yet classifies every file.

file names: each PATH is written as typed (./a.wav stays ./a.wav, x//a.wav stays so); a file
found in a folder is the folder as typed joined with its path inside it; a byte of a name that is
not UTF-8 is written \\xNN.

a long list of files: give it to ONE run with --files-from:
  find DIR -name '*.mp3' | ser-hf predict --files-from - --csv results.csv
  find DIR -name '*.mp3' -print0 | ser-hf predict --null --files-from - --csv results.csv
xargs may split a long list into several runs: each replaces the --csv/--json FILE (only the last
run's rows are left), and --json - / --csv - then print one array / one header per run.

--csv and --json take an optional FILE: when paths follow the option, give it one
(--json results.json, or --json - for stdout) or put the option after the files.""",
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files, folders or glob patterns ('clips/**/*.wav'), or http(s) addresses (downloaded); '-': a "
        "recording on stdin (cat clip.flac | ser-hf predict -), read once, its row named <stdin>; a pipe's "
        "path (<(...), /dev/stdin, a FIFO) is read once too; --resume classifies a pipe again",
    )
    p.add_argument(
        "--files-from",
        "-T",
        default=None,
        metavar="FILE",
        help="also read PATHs from FILE ('-': stdin), one a line, as tar -T and rsync --files-from do; "
        "empty lines are skipped, each line is kept exactly (spaces too; the CR of a Windows line end is "
        "dropped); the whole list goes to this "
        "one run",
    )
    p.add_argument(
        "--null",
        "--from0",
        action="store_true",
        help="--files-from's names end with a NUL byte, not a newline (find -print0; as tar --null, rsync "
        "--from0): any name, one holding a newline too",
    )
    p.add_argument(
        "--model",
        default=None,
        help="model folder or Hub id, or a bundled model's name (default: 'default', the "
        "turn-encoder-2-voices-crops model, a pretrained speech encoder's states (fine-tuned on intonation) "
        "trained on RAVDESS + TESS for speech, voices, rooms and microphones it never saw and on parts of "
        "sentences; 'turn-encoder-2-voices': the same without the parts (session 25); 'voice-encoder-2-voices': the "
        "same on a pretrained speaker encoder (the default of sessions 16-24); "
        "'speech-stats-mfcc-speech-voices': the default of sessions 11-15, "
        "log-mel, pitch and MFCC statistics, the same training; 'speech-stats-mfcc-voices': the same on "
        "whole-clip MFCC statistics; "
        "'speech-stats-mfcc-rooms', 'speech-stats-mfcc-channel', 'speech-stats-pitch', 'speech-stats': the previous "
        "defaults; 'fusion': the best in-domain RAVDESS model, "
        "needs openSMILE; 'cnn': the CNN-Transformer; 'functionals': the functionals model)",
    )
    p.add_argument("--onnx", default=None, metavar="FILE", help="run this ONNX export with ONNX Runtime")
    p.add_argument("--top-k", type=int, default=3, help="labels to show per file (default 3)")
    p.add_argument(
        "--labels",
        default=None,
        metavar="A,B,...",
        help="score only these of the model's classes (e.g. angry,neutral,sad): the others are masked "
        "out, so no clip goes to an emotion your recordings cannot hold",
    )
    p.add_argument(
        "--window",
        type=float,
        default=None,
        help="timeline window in seconds (0.1 or more; default 4, or the model's fixed clip length when shorter); "
        f"recordings of {TIMELINE_MIN_WINDOWS:g} windows or more get a timeline",
    )
    p.add_argument(
        "--hop", type=float, default=None, help="timeline hop in seconds (default window/2; 0.01 or more)"
    )
    add_level_options(p)
    p.add_argument(
        "--channel",
        default=None,
        metavar="left|right|N",
        help="classify one channel of stereo or multichannel files (left = 0, right = 1, or a channel number "
        "counted from 0; the customer's side of a call recording); default: the channels averaged",
    )
    p.add_argument(
        "--track",
        default=None,
        metavar="N",
        help="classify audio track N of files with several (an OBS, Zoom or video editor's export: track 0 "
        "the desktop audio, track 1 the microphone; a film's languages), counted from 0 as --channel counts; "
        "default: FFmpeg's choice (most often the first), the row's warning saying when a file holds "
        "several; a file without track N gets an error row",
    )
    p.add_argument("--timeline-png", default=None, metavar="DIR", help="write a timeline plot per long file")
    seg.add_segment_options(p)
    out = p.add_mutually_exclusive_group()
    out.add_argument(
        "--csv",
        nargs="?",
        const="-",
        default=None,
        metavar="FILE",
        help="write results as CSV ('-' or no FILE: stdout): a row per file, a long file's with its label_time "
        "(seconds per label, as JSON text), then a row per window, each with its snr_db (the speech-to-noise "
        "estimate in dB: under 24 counts as noisy; empty without speech); a text cell starting with = + - @ (or ' then "
        "one) gets a leading ' so that a spreadsheet shows it as text, not a formula (--json: names as below)",
    )
    out.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="FILE",
        help="write results as JSON ('-' or no FILE: stdout, the table then goes to stderr)",
    )
    p.add_argument(
        "--adapt",
        nargs="?",
        const="all",
        action=_AdaptAction,
        metavar="{all,voices}",
        help="test-time adaptation: first re-estimate the model's normalisation statistics on ALL the given "
        "files (unlabelled; for files of one speaker or microphone that hold a mix of emotions; one long "
        "recording adapts on its windows), then classify them; --adapt voices: group the files by voice "
        "first (the voice encoder's speaker embedding; groups of 10+ files), each group adapting on its own "
        "files and the rest on all of them",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the --csv/--json FILE of an earlier run that stopped: keep its rows with a label, classify "
        "only the files without one, write FILE with all of them (an earlier run with other options: refused; see below)",
    )
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="clips per forward pass (default: 1 for the CNN families on a CPU, where it is fastest, else 16)",
    )
    p.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="allow a model folder's or Hub model's own code (its auto_map) to run",
    )
    return p
